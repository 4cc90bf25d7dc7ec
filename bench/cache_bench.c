/* cache_bench.c - semantic cache core: insert rate, lookup latency (hit and
 * miss, p50/p99) next to the bare index it wraps (the anchor: the cache's own
 * overhead is the difference), and RSS / bytes per entry.
 *
 * usage: cache_bench [--n N] [--dim D] [--queries Q] [--storage f32|f16|i8]
 *                    [--efc E] [--m M] [--ef EF] [--body BYTES] [--threads T]
 * Vectors are clustered random unit vectors (1000 centres + noise), closer to
 * real sentence embeddings than uniform noise; hit queries are stored vectors
 * with small noise, miss queries are fresh random vectors. --threads T stores
 * from T threads at once. */
#include "cache/cache.h"
#include "core/util.h"
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const float *g_centres;
static int g_dim, g_n_centres = 1000;

static uint64_t xorshift(uint64_t *st)
{
    *st ^= *st << 13;
    *st ^= *st >> 7;
    *st ^= *st << 17;
    return *st;
}

static float gauss(uint64_t *st)
{
    double u = (double)(xorshift(st) >> 11) / 9007199254740992.0 + 1e-12;
    double w = (double)(xorshift(st) >> 11) / 9007199254740992.0;
    return (float)(sqrt(-2 * log(u)) * cos(6.283185307179586 * w));
}

static void normalize(float *v, int d)
{
    double s = 0;
    for (int i = 0; i < d; i++)
        s += (double)v[i] * v[i];
    float k = (float)(1 / sqrt(s));
    for (int i = 0; i < d; i++)
        v[i] *= k;
}

/* Entry i's vector: its cluster centre plus noise seeded by i, so any thread
 * can rebuild it (cosine between two members of a cluster is ~0.35). */
static void entry_vector(int i, float *v)
{
    uint64_t st = 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1) + 12345;
    const float *ctr = g_centres + (size_t)(i % g_n_centres) * g_dim;
    for (int k = 0; k < g_dim; k++)
        v[k] = ctr[k] + 1.4f * gauss(&st) / sqrtf((float)g_dim);
    normalize(v, g_dim);
}

typedef struct store_job {
    cache *c;
    int from, to, body_len;
    const char *body, *part;
    int failed;
} store_job;

static void *store_range(void *arg)
{
    store_job *j = arg;
    float *v = malloc((size_t)g_dim * sizeof *v);
    char exact[65], err[256], name[32];
    for (int i = j->from; i < j->to; i++) {
        entry_vector(i, v);
        int len = snprintf(name, sizeof name, "q%d", i);
        util_sha256_hex(name, (size_t)len, exact);
        cache_request r = {
            .tenant = "t", .exact_key = exact, .partition_key = j->part, .query_vec = v};
        if (cache_store(j->c, &r, NULL, j->body, (size_t)j->body_len, err, sizeof err)) {
            fprintf(stderr, "store %d: %s\n", i, err);
            j->failed = 1;
            break;
        }
    }
    free(v);
    return NULL;
}

/* CPU seconds used by the process: on a shared, loaded machine this is the
 * fair measure of work (wall time includes waiting for a core). */
static double cpu_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6)) kb = atol(line + 6);
    if (f) fclose(f);
    return kb;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void report(const char *name, uint64_t *ns, int n)
{
    qsort(ns, (size_t)n, sizeof *ns, cmp_u64);
    printf("%-30s p50 %7.1f us  p99 %7.1f us  (n=%d)\n", name, ns[n / 2] / 1e3,
           ns[(int)(n * 0.99)] / 1e3, n);
}

int main(int argc, char **argv)
{
    int n = 100000, dim = 512, queries = 2000, efc = 200, m = 16, ef = 64, body_len = 400;
    int threads = 1;
    const char *storage = "f32";
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        if (!strcmp(a, "--n"))
            n = atoi(v);
        else if (!strcmp(a, "--dim"))
            dim = atoi(v);
        else if (!strcmp(a, "--queries"))
            queries = atoi(v);
        else if (!strcmp(a, "--storage"))
            storage = v;
        else if (!strcmp(a, "--efc"))
            efc = atoi(v);
        else if (!strcmp(a, "--m"))
            m = atoi(v);
        else if (!strcmp(a, "--ef"))
            ef = atoi(v);
        else if (!strcmp(a, "--body"))
            body_len = atoi(v);
        else if (!strcmp(a, "--threads"))
            threads = atoi(v);
        else {
            fprintf(stderr, "unknown option %s\n", a);
            return 2;
        }
    }
    if (threads < 1) threads = 1;
    if (threads > 16) threads = 16;
    long rss0 = rss_kb();
    cache_options o;
    cache_options_default(&o, dim);
    o.index.m = m;
    o.index.ef_construction = efc;
    o.index.ef_search = ef;
    o.index.storage = !strcmp(storage, "f16")  ? HNSW_STORE_F16
                      : !strcmp(storage, "i8") ? HNSW_STORE_I8
                                               : HNSW_STORE_F32;
    char err[256];
    cache *c = cache_open(&o, err, sizeof err);
    if (!c) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    uint64_t st = 42;
    float *centres = malloc((size_t)g_n_centres * dim * sizeof *centres);
    for (int i = 0; i < g_n_centres * dim; i++)
        centres[i] = gauss(&st);
    for (int i = 0; i < g_n_centres; i++)
        normalize(centres + (size_t)i * dim, dim);
    g_centres = centres;
    g_dim = dim;
    char *body = malloc((size_t)body_len + 1);
    memset(body, 'x', (size_t)body_len);
    body[body_len] = 0;
    char part[65], exact[65];
    util_sha256_hex("partition", 9, part);

    pthread_t tid[16];
    store_job jobs[16];
    uint64_t t0 = util_now_ns();
    double cpu0 = cpu_sec();
    for (int t = 0; t < threads; t++) {
        jobs[t] = (store_job){c,
                              (int)((long long)n * t / threads),
                              (int)((long long)n * (t + 1) / threads),
                              body_len,
                              body,
                              part,
                              0};
        pthread_create(&tid[t], NULL, store_range, &jobs[t]);
    }
    int failed = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(tid[t], NULL);
        failed |= jobs[t].failed;
    }
    if (failed) return 1;
    double secs = (util_now_ns() - t0) / 1e9, cpu_store = cpu_sec() - cpu0;
    long rss1 = rss_kb();
    cache_stats s;
    cache_stats_get(c, &s);
    printf("entries %d  dim %d  storage %s  M %d  efc %d  ef %d  body %d B\n", n, dim, storage, m,
           efc, ef, body_len);
    printf("insert: %.1f s, %.0f inserts/s with %d storing thread(s); %.0f us CPU per insert\n",
           secs, n / secs, threads, cpu_store * 1e6 / n);
    printf("memory: RSS %.1f MB (+%.1f MB): %.0f bytes/entry; cache accounting %.0f bytes/entry\n",
           rss1 / 1024.0, (rss1 - rss0) / 1024.0, (rss1 - rss0) * 1024.0 / n, (double)s.bytes / n);

    /* Query set: every (n/keep)-th stored entry. */
    int keep = queries < n ? queries : n;
    float *kept = malloc((size_t)keep * dim * sizeof *kept);
    char(*kept_keys)[65] = malloc((size_t)keep * sizeof *kept_keys);
    for (int q = 0; q < keep; q++) {
        int i = (int)((long long)q * n / keep);
        entry_vector(i, kept + (size_t)q * dim);
        char name[32];
        int len = snprintf(name, sizeof name, "q%d", i);
        util_sha256_hex(name, (size_t)len, kept_keys[q]);
    }
    float *v = malloc((size_t)dim * sizeof *v);
    float **hitq = malloc((size_t)queries * sizeof *hitq);
    uint64_t *ns = malloc((size_t)queries * sizeof *ns);
    for (int q = 0; q < queries; q++) { /* stored vector + small noise (cos ~0.9998) */
        hitq[q] = malloc((size_t)dim * sizeof **hitq);
        const float *src = kept + (size_t)(q % keep) * dim;
        for (int k = 0; k < dim; k++)
            hitq[q][k] = src[k] + 0.02f * gauss(&st) / sqrtf((float)dim);
        normalize(hitq[q], dim);
    }
    int hits = 0;
    for (int q = 0; q < queries; q++) {
        char name[32];
        int len = snprintf(name, sizeof name, "new%d", q);
        util_sha256_hex(name, (size_t)len, exact);
        cache_request r = {
            .tenant = "t", .exact_key = exact, .partition_key = part, .query_vec = hitq[q]};
        cache_hit h;
        uint64_t a = util_now_ns();
        int rc = cache_lookup(c, &r, 0.95f, &h);
        ns[q] = util_now_ns() - a;
        if (rc == 1) {
            hits++;
            free(h.body);
        }
    }
    report("cache_lookup semantic hit", ns, queries);
    printf("  hit rate %.3f (near-duplicates found = index recall at this ef)\n",
           (double)hits / queries);
    for (int q = 0; q < queries; q++) {
        cache_request r = {.tenant = "t", .exact_key = kept_keys[q % keep], .partition_key = part};
        cache_hit h;
        uint64_t a = util_now_ns();
        int rc = cache_lookup(c, &r, 0.95f, &h);
        ns[q] = util_now_ns() - a;
        if (rc == 1) free(h.body);
    }
    report("cache_lookup exact hit", ns, queries);
    for (int q = 0; q < queries; q++) {
        for (int k = 0; k < dim; k++)
            v[k] = gauss(&st);
        normalize(v, dim);
        char name[32];
        int len = snprintf(name, sizeof name, "miss%d", q);
        util_sha256_hex(name, (size_t)len, exact);
        cache_request r = {
            .tenant = "t", .exact_key = exact, .partition_key = part, .query_vec = v};
        cache_hit h;
        uint64_t a = util_now_ns();
        int rc = cache_lookup(c, &r, 0.95f, &h);
        ns[q] = util_now_ns() - a;
        if (rc == 1) free(h.body);
    }
    report("cache_lookup miss", ns, queries);

    /* Anchor: the bare index on the same vectors, same parameters. */
    if (n <= 200000) {
        hnsw_params hp;
        hnsw_params_default(&hp, dim);
        hp.m = m;
        hp.ef_construction = efc;
        hp.ef_search = ef;
        hp.storage = o.index.storage;
        hnsw_index *h = hnsw_new(&hp, err, sizeof err);
        uint64_t b0 = util_now_ns();
        double bcpu0 = cpu_sec();
        for (int i = 0; i < n; i++) {
            entry_vector(i, v);
            hnsw_insert(h, (uint64_t)i, v);
        }
        double bsecs = (util_now_ns() - b0) / 1e9, bcpu = cpu_sec() - bcpu0;
        printf("anchor hnsw_insert, 1 thread: %.0f inserts/s, %.0f us CPU per insert "
               "(cache store CPU / index insert CPU = %.2f)\n",
               n / bsecs, bcpu * 1e6 / n, cpu_store / bcpu);
        hnsw_result res[8];
        for (int q = 0; q < queries; q++) {
            uint64_t a = util_now_ns();
            hnsw_search(h, hitq[q], 8, ef, res);
            ns[q] = util_now_ns() - a;
        }
        report("anchor hnsw_search k=8 (hits)", ns, queries);
        hnsw_free(h);
    }
    cache_close(c);
    for (int q = 0; q < queries; q++)
        free(hitq[q]);
    free(hitq);
    free(ns);
    free(kept);
    free(kept_keys);
    free(centres);
    free(v);
    free(body);
    return 0;
}
