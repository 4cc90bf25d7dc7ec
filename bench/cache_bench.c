/* cache_bench.c - semantic cache core: insert rate, lookup latency (hit and
 * miss, p50/p99) next to the bare index search it wraps (the anchor: the
 * cache's own overhead is the difference), and RSS / bytes per entry.
 *
 * usage: cache_bench [--n N] [--dim D] [--queries Q] [--storage f32|f16|i8]
 *                    [--efc E] [--m M] [--ef EF] [--body BYTES] [--threads T]
 * Vectors are clustered random unit vectors (1000 centres + noise), closer to
 * real sentence embeddings than uniform noise; hit queries are stored vectors
 * with small noise, miss queries are fresh vectors. */
#include "cache/cache.h"
#include "core/util.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static double rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}
static float gauss(void)
{
    double u = rnd() + 1e-12, v = rnd();
    return (float)(sqrt(-2 * log(u)) * cos(6.283185307179586 * v));
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
    printf("%-28s p50 %7.1f us  p99 %7.1f us  (n=%d)\n", name, ns[n / 2] / 1e3,
           ns[(int)(n * 0.99)] / 1e3, n);
}

int main(int argc, char **argv)
{
    int n = 100000, dim = 512, queries = 2000, efc = 200, m = 16, ef = 64, body_len = 400;
    const char *storage = "f32";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--n"))
            n = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--dim"))
            dim = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--queries"))
            queries = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--storage"))
            storage = argv[i + 1];
        else if (!strcmp(argv[i], "--efc"))
            efc = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--m"))
            m = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--ef"))
            ef = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--body"))
            body_len = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "unknown option %s\n", argv[i]);
            return 2;
        }
    }
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
    int n_centres = 1000;
    float *centres = malloc((size_t)n_centres * dim * sizeof *centres);
    for (int i = 0; i < n_centres * dim; i++)
        centres[i] = gauss();
    for (int i = 0; i < n_centres; i++)
        normalize(centres + (size_t)i * dim, dim);
    /* Entry i's vector is regenerated from its seed when needed (no 2 GB copy). */
    float *v = malloc((size_t)dim * sizeof *v);
    char *body = malloc((size_t)body_len + 1);
    memset(body, 'x', (size_t)body_len);
    body[body_len] = 0;
    char exact[65], part[65];
    util_sha256_hex("partition", 9, part);
    int keep = queries < n ? queries : n;
    float *kept = malloc((size_t)keep * dim * sizeof *kept);
    char(*kept_keys)[65] = malloc((size_t)keep * sizeof *kept_keys);

    uint64_t t0 = util_now_ns();
    for (int i = 0; i < n; i++) {
        const float *ctr = centres + (size_t)(i % n_centres) * dim;
        for (int k = 0; k < dim; k++)
            v[k] = ctr[k] + 0.35f * gauss() / sqrtf((float)dim) * 4;
        normalize(v, dim);
        char name[32];
        int len = snprintf(name, sizeof name, "q%d", i);
        util_sha256_hex(name, (size_t)len, exact);
        cache_request r = {
            .tenant = "t", .exact_key = exact, .partition_key = part, .query_vec = v};
        if (cache_store(c, &r, NULL, body, (size_t)body_len, err, sizeof err)) {
            fprintf(stderr, "store %d: %s\n", i, err);
            return 1;
        }
        int slot = (int)((long long)i * keep / n);
        if ((long long)slot * n / keep == i && slot < keep) {
            memcpy(kept + (size_t)slot * dim, v, (size_t)dim * sizeof *v);
            memcpy(kept_keys[slot], exact, 65);
        }
    }
    double secs = (util_now_ns() - t0) / 1e9;
    long rss1 = rss_kb();
    cache_stats s;
    cache_stats_get(c, &s);
    printf("entries %d  dim %d  storage %s  M %d  efc %d  ef %d  body %d B\n", n, dim, storage, m,
           efc, ef, body_len);
    printf("insert: %.1f s, %.0f inserts/s\n", secs, n / secs);
    printf(
        "memory: RSS %.1f MB (+%.1f MB), %.0f bytes/entry RSS; cache accounting %.0f bytes/entry\n",
        rss1 / 1024.0, (rss1 - rss0) / 1024.0, (rss1 - rss0) * 1024.0 / n, (double)s.bytes / n);

    uint64_t *ns = malloc((size_t)queries * sizeof *ns);
    int hits = 0;
    /* Semantic hits: stored vectors plus small noise, new exact keys. */
    for (int q = 0; q < queries; q++) {
        const float *src = kept + (size_t)(q % keep) * dim;
        for (int k = 0; k < dim; k++)
            v[k] = src[k] + 0.02f * gauss() / sqrtf((float)dim);
        normalize(v, dim);
        char name[32];
        int len = snprintf(name, sizeof name, "new%d", q);
        util_sha256_hex(name, (size_t)len, exact);
        cache_request r = {
            .tenant = "t", .exact_key = exact, .partition_key = part, .query_vec = v};
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
    printf("  hit rate %.3f (recall of near-duplicates)\n", (double)hits / queries);
    for (int q = 0; q < queries; q++) {
        cache_request r = {.tenant = "t",
                           .exact_key = kept_keys[q % keep],
                           .partition_key = part,
                           .query_vec = NULL};
        cache_hit h;
        uint64_t a = util_now_ns();
        int rc = cache_lookup(c, &r, 0.95f, &h);
        ns[q] = util_now_ns() - a;
        if (rc == 1) free(h.body);
    }
    report("cache_lookup exact hit", ns, queries);
    for (int q = 0; q < queries; q++) {
        for (int k = 0; k < dim; k++)
            v[k] = gauss();
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

    /* Anchor: the bare index search on an index of the same vectors. */
    hnsw_params hp;
    hnsw_params_default(&hp, dim);
    hp.m = m;
    hp.ef_construction = efc;
    hp.ef_search = ef;
    hp.storage = o.index.storage;
    int anchor_n = n < 100000 ? n : 100000;
    if (n <= 200000) {
        hnsw_index *h = hnsw_new(&hp, err, sizeof err);
        rng_state = 0x9E3779B97F4A7C15ull;
        for (int i = 0; i < n_centres * dim; i++)
            centres[i] = gauss();
        for (int i = 0; i < n_centres; i++)
            normalize(centres + (size_t)i * dim, dim);
        uint64_t b0 = util_now_ns();
        for (int i = 0; i < anchor_n; i++) {
            const float *ctr = centres + (size_t)(i % n_centres) * dim;
            for (int k = 0; k < dim; k++)
                v[k] = ctr[k] + 0.35f * gauss() / sqrtf((float)dim) * 4;
            normalize(v, dim);
            hnsw_insert(h, (uint64_t)i, v);
        }
        double bsecs = (util_now_ns() - b0) / 1e9;
        printf("anchor hnsw_insert alone: %.0f inserts/s (cache store / index insert = %.2f)\n",
               anchor_n / bsecs, (n / secs) / (anchor_n / bsecs));
        hnsw_result res[8];
        for (int q = 0; q < queries; q++) {
            const float *src = kept + (size_t)(q % keep) * dim;
            for (int k = 0; k < dim; k++)
                v[k] = src[k] + 0.02f * gauss() / sqrtf((float)dim);
            normalize(v, dim);
            uint64_t a = util_now_ns();
            hnsw_search(h, v, 8, ef, res);
            ns[q] = util_now_ns() - a;
        }
        report("anchor hnsw_search k=8", ns, queries);
        hnsw_free(h);
    }
    cache_close(c);
    free(ns);
    free(kept);
    free(kept_keys);
    free(centres);
    free(v);
    free(body);
    return 0;
}
