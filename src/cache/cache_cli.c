/* cache_cli.c - `semrouter cache stats|export|import|clear`: maintenance of a
 * persist file while the router is stopped (the file is locked while a router
 * uses it, and these commands say so). The file is opened through cache_open
 * with an exact linear-scan index, so nothing here differs from what the
 * router will load. */
#include "cache/assemble.h"
#include "cache/cache.h"
#include "cache/replay.h"
#include "core/buf.h"
#include "cache/persist.h"
#include "core/log.h"
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: semrouter cache <command> -p PERSIST_PATH [options]\n\n"
            "Maintains a semantic-cache persist file (semantic_cache.persist_path) while the\n"
            "router is stopped.\n\n"
            "commands:\n"
            "  stats                 entries, partitions, memory and file size\n"
            "  export [-o FILE]      write entries as JSON lines (default: standard output)\n"
            "  import [-i FILE]      add entries from JSON lines (default: standard input)\n"
            "  clear                 remove entries and compact the file\n"
            "  replay [--include-usage]  a chat.completion on stdin -> the SSE stream a cache\n"
            "                        hit would send, on stdout (no -p needed)\n"
            "  assemble              an SSE stream on stdin -> the chat.completion that would be\n"
            "                        cached, on stdout; exit 1 when the stream is not clean\n\n"
            "options:\n"
            "  -p, --persist-path PATH   the cache file (required)\n"
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

int cache_cli_main(int argc, char **argv)
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
    int dim = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "semrouter cache: option %s needs a value (or is unknown)\n", a);
            return 2;
        }
        if (!strcmp(a, "-p") || !strcmp(a, "--persist-path"))
            path = argv[++i];
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
        cache_stats s;
        cache_stats_get(c, &s);
        printf("file: %s\nfile_bytes: %llu\ndimension: %d\nentries: %zu\npartitions: %zu\n"
               "memory_bytes: %zu\n",
               path, (unsigned long long)s.file_bytes, dim, s.entries, s.partitions, s.bytes);
        if (tenant) {
            FILE *null = fopen("/dev/null", "w");
            long long n = null ? cache_export(c, tenant, null, err, sizeof err) : -1;
            if (null) fclose(null);
            printf("tenant_entries: %lld\n", n);
        }
    } else if (!strcmp(cmd, "export")) {
        FILE *out = file ? fopen(file, "w") : stdout;
        long long n = out ? cache_export(c, tenant, out, err, sizeof err) : -1;
        if (!out) snprintf(err, sizeof err, "cannot create %s", file);
        if (out && out != stdout && fclose(out)) n = -1;
        if (n < 0) {
            fprintf(stderr, "semrouter cache export: %s\n", err);
            rc = 1;
        } else {
            fprintf(stderr, "exported %lld entries\n", n);
        }
    } else if (!strcmp(cmd, "import")) {
        FILE *in = fmemopen(input, input_len ? input_len : 1, "r");
        long long skipped = 0;
        long long n = in ? cache_import(c, tenant, in, &skipped, err, sizeof err) : -1;
        if (!in) snprintf(err, sizeof err, "out of memory");
        if (in) fclose(in);
        if (n < 0) {
            fprintf(stderr, "semrouter cache import: %s\n", err);
            rc = 1;
        } else {
            fprintf(stderr, "imported %lld entries, skipped %lld lines\n", n, skipped);
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
