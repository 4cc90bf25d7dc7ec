/* cache.c - `semrouter cache stats|export|import|clear`: maintenance of a
 * persist file while the router is stopped (the file is locked while a router
 * uses it, and these commands say so). The file is opened through cache_open
 * with an exact linear-scan index, so nothing here differs from what the
 * router will load. */
#include "cli/cli.h"
#include "cache/assemble.h"
#include "cache/cache.h"
#include "cache/milvus.h"
#include "cache/replay.h"
#include "core/buf.h"
#include "cache/persist.h"
#include "core/log.h"
#include "core/progress.h"
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: semrouter cache <command> -p PERSIST_PATH [options]\n"
            "       semrouter cache stats|clear|purge -c CONFIG [--tenant T] [--json]\n\n"
            "Maintains a semantic-cache persist file (semantic_cache.persist_path) while the\n"
            "router is stopped.\n\n"
            "commands:\n"
            "  stats [--json]        entries by tenant, partitions, memory, file size, ages\n"
            "  export [-o FILE]      write entries as JSON lines (default: standard output)\n"
            "  import [-i FILE]      add entries from JSON lines (default: standard input)\n"
            "  clear                 remove entries and compact the file\n"
            "  replay [--include-usage]  a chat.completion on stdin -> the SSE stream a cache\n"
            "                        hit would send, on stdout (no -p needed)\n"
            "  assemble              an SSE stream on stdin -> the chat.completion that would be\n"
            "                        cached, on stdout; exit 1 when the stream is not clean\n\n"
            "options:\n"
            "  -p, --persist-path PATH   the cache file (required for the memory backend)\n"
            "  -c, --config FILE         a router config with backend_type milvus: stats, clear\n"
            "                            and purge (expired rows) work on its Milvus collection\n"
            "  --tenant T                only entries of tenant T\n"
            "  --dim N                   embedding dimension (default: read from the file, "
            "else 512)\n");
}

static int first_dim_fn(void *ctx, const cache_record *rec, uint64_t offset, uint32_t size)
{
    (void)offset;
    (void)size;
    if (rec->type != CACHE_REC_INSERT) return 0;
    *(int *)ctx = rec->dim;
    return 1;
}

/* Dimension of the first entry in the file, 0 when there is none. */
static int file_dim(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    fclose(f);
    cache_log *l = cache_log_open(path, 0, err, errlen);
    if (!l) return -1;
    int dim = 0, damaged;
    long long n = cache_log_replay(l, first_dim_fn, &dim, &damaged, err, errlen);
    cache_log_close(l);
    return n < 0 ? -1 : dim;
}

/* Reads all of f into a malloc'd buffer. */
static char *slurp(FILE *f, size_t *len)
{
    buf b;
    buf_init(&b);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(&b, chunk, n);
    *len = b.len;
    if (b.oom || ferror(f)) {
        buf_free(&b);
        return NULL;
    }
    return buf_steal(&b);
}

/* ---- streams that watch what passes through them (progress, stats) ---- */

/* Reading an in-memory input, reporting the bytes consumed. */
typedef struct mem_reader {
    const char *data;
    size_t len, pos;
    progress *prog;
} mem_reader;

static ssize_t mem_read(void *cookie, char *out, size_t n)
{
    mem_reader *r = cookie;
    size_t left = r->len - r->pos;
    if (n > left) n = left;
    memcpy(out, r->data + r->pos, n);
    r->pos += n;
    progress_set(r->prog, r->pos);
    return (ssize_t)n;
}

/* Writing export lines: counts them (progress), forwards them to out (may be NULL) and
 * tallies tenants and ages for `stats`. */
#define MAX_TENANTS_SHOWN 8
typedef struct line_tap {
    FILE *out;
    progress *prog;
    buf line;
    long long lines, with_ttl;
    int64_t oldest, newest;
    int n_tenants;
    char tenant[64][96];
    long long tenant_count[64];
    long long other_tenants; /* entries of tenants past the table */
} line_tap;

static void tap_line(line_tap *t, const char *s, size_t n)
{
    cJSON *j = cJSON_ParseWithLength(s, n);
    const cJSON *te = cJSON_GetObjectItemCaseSensitive(j, "tenant");
    const cJSON *ins = cJSON_GetObjectItemCaseSensitive(j, "inserted_at");
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(j, "expires_at");
    if (cJSON_IsNumber(ins)) {
        int64_t v = (int64_t)ins->valuedouble;
        if (!t->oldest || v < t->oldest) t->oldest = v;
        if (v > t->newest) t->newest = v;
    }
    if (cJSON_IsNumber(exp) && exp->valuedouble > 0) t->with_ttl++;
    const char *name = cJSON_IsString(te) ? te->valuestring : "";
    int k = 0;
    while (k < t->n_tenants && strcmp(t->tenant[k], name)) k++;
    if (k == t->n_tenants && t->n_tenants < 64) snprintf(t->tenant[t->n_tenants++], sizeof t->tenant[0], "%s", name);
    if (k < t->n_tenants) t->tenant_count[k]++;
    else t->other_tenants++;
    cJSON_Delete(j);
}

static ssize_t tap_write(void *cookie, const char *data, size_t n)
{
    line_tap *t = cookie;
    if (t->out && fwrite(data, 1, n, t->out) != n) return -1;
    for (size_t i = 0; i < n; i++) {
        const char *nl = memchr(data + i, '\n', n - i);
        size_t upto = nl ? (size_t)(nl - data) : n;
        if (!t->out) buf_append(&t->line, data + i, upto - i); /* stats: keep the line */
        if (!nl) break;
        if (!t->out) {
            tap_line(t, t->line.data ? t->line.data : "", t->line.len);
            buf_reset(&t->line);
        }
        t->lines++;
        progress_add(t->prog, 1);
        i = upto;
    }
    return (ssize_t)n;
}

/* Runs cache_export through a line_tap; returns the count or -1 with err. */
static long long export_tapped(cache *c, const char *tenant, line_tap *t, char *err, size_t errlen)
{
    cookie_io_functions_t io = {.write = tap_write};
    FILE *f = fopencookie(t, "w", io);
    if (!f) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    long long n = cache_export(c, tenant, f, err, errlen);
    if (fclose(f) && n >= 0) {
        snprintf(err, errlen, "write error");
        n = -1;
    }
    buf_free(&t->line);
    return n;
}

static void human_bytes(char *out, size_t cap, double v)
{
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int i = 0;
    while (v >= 1024 && i < 4) v /= 1024, i++;
    snprintf(out, cap, i ? "%.1f %s" : "%.0f %s", v, u[i]);
}

static void utc_time(char *out, size_t cap, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!t || !gmtime_r(&tt, &tm)) snprintf(out, cap, "-");
    else strftime(out, cap, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

static int cmp_tenant_desc(const void *a, const void *b, void *ctx)
{
    const long long *cnt = ctx;
    long long x = cnt[*(const int *)a], y = cnt[*(const int *)b];
    return x < y ? 1 : x > y ? -1 : 0;
}

/* `cache stats`: aligned "name  value" lines a person reads at a glance, or one JSON object. */
static int print_stats(cache *c, const char *path, int dim, const char *tenant, int json)
{
    cache_stats s;
    cache_stats_get(c, &s);
    line_tap t = {0};
    char err[256];
    if (export_tapped(c, tenant, &t, err, sizeof err) < 0) {
        fprintf(stderr, "semrouter cache stats: %s\n", err);
        return 1;
    }
    int order[64];
    for (int i = 0; i < t.n_tenants; i++) order[i] = i;
    qsort_r(order, (size_t)t.n_tenants, sizeof order[0], cmp_tenant_desc, t.tenant_count);
    if (json) {
        buf b;
        buf_init(&b);
        buf_puts(&b, "{\"file\":");
        buf_json_str(&b, path, strlen(path));
        buf_printf(&b, ",\"file_bytes\":%llu,\"dimension\":%d,\"entries\":%zu,\"partitions\":%zu,\"memory_bytes\":%zu",
                   (unsigned long long)s.file_bytes, dim, s.entries, s.partitions, s.bytes);
        if (tenant) buf_printf(&b, ",\"tenant_entries\":%lld", t.lines);
        buf_puts(&b, ",\"tenants\":{");
        for (int i = 0; i < t.n_tenants; i++) {
            if (i) buf_putc(&b, ',');
            buf_json_str(&b, t.tenant[order[i]], strlen(t.tenant[order[i]]));
            buf_printf(&b, ":%lld", t.tenant_count[order[i]]);
        }
        buf_printf(&b, "},\"other_tenants_entries\":%lld,\"with_ttl\":%lld,\"oldest\":%lld,\"newest\":%lld}\n",
                   t.other_tenants, t.with_ttl, (long long)t.oldest, (long long)t.newest);
        fwrite(b.data, 1, b.len, stdout);
        buf_free(&b);
        return 0;
    }
    char disk[32], mem[32], old[40], nw[40];
    human_bytes(disk, sizeof disk, (double)s.file_bytes);
    human_bytes(mem, sizeof mem, (double)s.bytes);
    utc_time(old, sizeof old, t.oldest);
    utc_time(nw, sizeof nw, t.newest);
    printf("cache file   %s\n", path);
    printf("on disk      %s\n", disk);
    printf("entries      %zu in %zu partition%s\n", s.entries, s.partitions, s.partitions == 1 ? "" : "s");
    if (tenant) printf("tenant       %s: %lld entries\n", tenant, t.lines);
    printf("tenants      ");
    if (!t.n_tenants) printf("-");
    for (int i = 0; i < t.n_tenants && i < MAX_TENANTS_SHOWN; i++)
        printf("%s%s %lld", i ? " · " : "", t.tenant[order[i]][0] ? t.tenant[order[i]] : "(global)",
               t.tenant_count[order[i]]);
    long long rest = t.other_tenants;
    for (int i = MAX_TENANTS_SHOWN; i < t.n_tenants; i++) rest += t.tenant_count[order[i]];
    if (rest) printf(" · %lld more in other tenants", rest);
    printf("\n");
    printf("dimension    %d\n", dim);
    printf("memory       %s when loaded\n", mem);
    printf("oldest       %s\n", old);
    printf("newest       %s\n", nw);
    printf("with a TTL   %lld of %lld\n", t.with_ttl, t.lines);
    return 0;
}

/* replay / assemble: stream conversions, for debugging and the e2e tests. */
static int stream_tool(const char *cmd, int include_usage)
{
    size_t len;
    char *in = slurp(stdin, &len);
    if (!in) {
        fprintf(stderr, "semrouter cache %s: cannot read standard input\n", cmd);
        return 1;
    }
    buf out;
    buf_init(&out);
    int rc = 0;
    if (!strcmp(cmd, "replay")) {
        if (cache_replay_sse(in, len, include_usage, &out)) {
            fprintf(stderr, "semrouter cache replay: input is not a chat.completion object\n");
            rc = 1;
        }
    } else {
        cache_assembler *a = cache_assembler_new(0);
        if (!a)
            rc = 1;
        else {
            cache_assembler_feed(a, in, len);
            if (!cache_assembler_finish(a, &out)) {
                fprintf(stderr, "semrouter cache assemble: not cacheable: %s\n",
                        cache_assembler_error(a));
                rc = 1;
            }
            cache_assembler_free(a);
        }
    }
    if (!rc) fwrite(out.data, 1, out.len, stdout);
    buf_free(&out);
    free(in);
    return rc;
}

/* Dimension of the first line's "vector" (base64 f32 or array), 0 if none. */
static int first_line_dim(const char *text)
{
    const char *nl = strchr(text, '\n');
    cJSON *j = cJSON_ParseWithLength(text, nl ? (size_t)(nl - text) : strlen(text));
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "vector");
    int dim = 0;
    if (cJSON_IsArray(v)) {
        dim = cJSON_GetArraySize(v);
    } else if (cJSON_IsString(v)) {
        size_t n = strlen(v->valuestring), pad = 0;
        while (n > pad && v->valuestring[n - 1 - pad] == '=')
            pad++;
        dim = (int)((n / 4 * 3 - pad) / 4);
    }
    cJSON_Delete(j);
    return dim > 0 && dim <= 65536 ? dim : 0;
}

int cli_cache(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1], *path = NULL, *tenant = NULL, *file = NULL;
    if (!strcmp(cmd, "replay") || !strcmp(cmd, "assemble")) {
        int include_usage = 0;
        for (int i = 2; i < argc; i++) {
            if (!strcmp(argv[i], "--include-usage") && !strcmp(cmd, "replay")) {
                include_usage = 1;
            } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
                usage(stdout);
                return 0;
            } else {
                fprintf(stderr, "semrouter cache %s: unknown option %s\n", cmd, argv[i]);
                return 2;
            }
        }
        return stream_tool(cmd, include_usage);
    }
    int dim = 0, json = 0;
    const char *config = NULL;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--json") && !strcmp(cmd, "stats")) {
            json = 1;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "semrouter cache: option %s needs a value (or is unknown)\n", a);
            return 2;
        }
        if (!strcmp(a, "-p") || !strcmp(a, "--persist-path"))
            path = argv[++i];
        else if (!strcmp(a, "-c") || !strcmp(a, "--config"))
            config = argv[++i];
        else if (!strcmp(a, "--tenant"))
            tenant = argv[++i];
        else if (!strcmp(a, "-o") && !strcmp(cmd, "export"))
            file = argv[++i];
        else if (!strcmp(a, "-i") && !strcmp(cmd, "import"))
            file = argv[++i];
        else if (!strcmp(a, "--dim")) {
            char *end;
            long d = strtol(argv[++i], &end, 10);
            if (*end || d <= 0 || d > 65536) {
                fprintf(stderr, "semrouter cache: --dim must be a number in 1..65536\n");
                return 2;
            }
            dim = (int)d;
        } else {
            fprintf(stderr, "semrouter cache: unknown option %s for %s\n", a, cmd);
            return 2;
        }
    }
    if (config) return milvus_cli(cmd, config, tenant, json);
    if (strcmp(cmd, "stats") && strcmp(cmd, "export") && strcmp(cmd, "import") &&
        strcmp(cmd, "clear")) {
        fprintf(stderr, "semrouter cache: unknown command '%s'\n", cmd);
        usage(stderr);
        return 2;
    }
    if (!path) {
        fprintf(stderr, "semrouter cache %s: -p PERSIST_PATH is required\n", cmd);
        return 2;
    }
    if (strcmp(cmd, "import")) { /* only import may create the file */
        FILE *f = fopen(path, "rb");
        if (!f) {
            fprintf(stderr, "semrouter cache %s: cannot open %s\n", cmd, path);
            return 1;
        }
        fclose(f);
    }
    char err[512] = "";
    int fdim = file_dim(path, err, sizeof err);
    if (fdim < 0) {
        fprintf(stderr, "semrouter cache %s: %s\n", cmd, err);
        return 1;
    }
    if (dim && fdim && dim != fdim) {
        fprintf(stderr, "semrouter cache %s: %s holds %d-d vectors, not %d\n", cmd, path, fdim,
                dim);
        return 1;
    }
    /* Import into an empty file: the input's first vector tells the dimension. */
    char *input = NULL;
    size_t input_len = 0;
    if (!strcmp(cmd, "import")) {
        FILE *in = file ? fopen(file, "r") : stdin;
        input = in ? slurp(in, &input_len) : NULL;
        if (in && in != stdin) fclose(in);
        if (!input) {
            fprintf(stderr, "semrouter cache import: cannot read %s\n",
                    file ? file : "standard input");
            return 1;
        }
        if (!dim && !fdim) dim = first_line_dim(input);
    }
    if (!dim) dim = fdim ? fdim : 512;

    cache_options o;
    cache_options_default(&o, dim);
    o.persist_path = path;
    o.index.use_hnsw = 0; /* offline: an exact scan, nothing to build */
    cache *c = cache_open(&o, err, sizeof err);
    if (!c) {
        fprintf(stderr, "semrouter cache %s: %s\n", cmd, err);
        return 1;
    }
    int rc = 0;
    if (!strcmp(cmd, "stats")) {
        rc = print_stats(c, path, dim, tenant, json);
    } else if (!strcmp(cmd, "export")) {
        FILE *out = file ? fopen(file, "w") : stdout;
        cache_stats st;
        cache_stats_get(c, &st);
        line_tap t = {.out = out, .prog = out ? progress_new("exporting", st.entries, "entries") : NULL};
        long long n = out ? export_tapped(c, tenant, &t, err, sizeof err) : -1;
        if (!out) snprintf(err, sizeof err, "cannot create %s", file);
        if (out && out != stdout && fclose(out)) n = -1;
        if (n < 0) {
            progress_abort(t.prog);
            fprintf(stderr, "semrouter cache export: %s\n", err);
            rc = 1;
        } else {
            progress_done(t.prog, "exported %lld entries", n);
        }
    } else if (!strcmp(cmd, "import")) {
        mem_reader r = {input, input_len, 0, progress_new("importing", input_len, PROGRESS_BYTES)};
        cookie_io_functions_t io = {.read = mem_read};
        FILE *in = fopencookie(&r, "r", io);
        long long skipped = 0;
        long long n = in ? cache_import(c, tenant, in, &skipped, err, sizeof err) : -1;
        if (!in) snprintf(err, sizeof err, "out of memory");
        if (in) fclose(in);
        if (n < 0) {
            progress_abort(r.prog);
            fprintf(stderr, "semrouter cache import: %s\n", err);
            rc = 1;
        } else {
            progress_done(r.prog, "imported %lld entries, skipped %lld lines", n, skipped);
            rc = skipped ? 1 : 0;
        }
    } else {
        size_t n = cache_clear(c, tenant);
        if (cache_compact(c, err, sizeof err)) {
            fprintf(stderr, "semrouter cache clear: %s\n", err);
            rc = 1;
        }
        printf("removed %zu entries\n", n);
    }
    cache_close(c);
    free(input);
    return rc;
}
