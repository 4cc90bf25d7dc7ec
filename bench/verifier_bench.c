/* verifier_bench.c - time the cache hit decision on 8 candidates.
 *
 * Queries and candidates are real question texts (the QQP held-out sample in
 * tests/data/cache): each lookup takes one question as the request and the
 * next 8 as candidates (similarity 0.9, so every one is scored), and runs
 * cache_select with the shipped verifier. Anchors in the same run: the same
 * cache_select without a verifier (threshold only) and 8 dot products of
 * 512-d vectors (what the cosine of 8 candidates costs).
 * usage: verifier_bench [MODEL] [PAIRS.csv] [LOOKUPS] */
#include "cache/select.h"
#include "cache/verify.h"
#include "core/util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *what, double *us, int n)
{
    qsort(us, (size_t)n, sizeof *us, cmp_d);
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += us[i];
    printf("%-44s mean %7.2f us  p50 %7.2f us  p99 %7.2f us\n", what, sum / n, us[n / 2],
           us[n * 99 / 100]);
}

int main(int argc, char **argv)
{
    const char *model = argc > 1 ? argv[1] : "config/cache_verifier.model";
    const char *csv = argc > 2 ? argv[2] : "tests/data/cache/qqp_heldout_sample.csv";
    int lookups = argc > 3 ? atoi(argv[3]) : 3000;
    char err[256];
    cache_verifier *v = cache_verifier_load(model, err, sizeof err);
    if (!v) {
        fprintf(stderr, "verifier_bench: %s\n", err);
        return 1;
    }
    size_t len;
    char *text = util_read_file(csv, &len, err, sizeof err);
    if (!text) {
        fprintf(stderr, "verifier_bench: %s\n", err);
        return 1;
    }
    /* the questions: every quoted field of the CSV */
    char *qs[4096];
    int nq = 0;
    for (char *p = text; (p = strchr(p, '"')) && nq < 4096;) {
        char *s = ++p, *w = p;
        while (*p && !(*p == '"' && p[1] != '"')) {
            if (*p == '"') p++;
            *w++ = *p++;
        }
        if (!*p) break;
        *w = 0;
        p++;
        qs[nq++] = s;
    }
    if (nq < 16) {
        fprintf(stderr, "verifier_bench: too few questions in %s\n", csv);
        return 1;
    }
    enum { K = 8, DIM = 512 };
    cache_candidate cv[K];
    cache_candidates cands = {K, cv};
    float *vecs = malloc(sizeof(float) * (K + 1) * DIM);
    for (int i = 0; i < (K + 1) * DIM; i++)
        vecs[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
    double *t_ver = malloc(sizeof(double) * (size_t)lookups), *t_sel = malloc(sizeof(double) * (size_t)lookups),
           *t_dot = malloc(sizeof(double) * (size_t)lookups);
    volatile float sink = 0;
    int hits = 0;
    for (int pass = 0; pass < 2; pass++) { /* pass 0 warms up */
        for (int l = 0; l < lookups; l++) {
            int q = (l * 9) % (nq - K - 1);
            memset(cv, 0, sizeof cv);
            for (int k = 0; k < K; k++) {
                cv[k].query_text = qs[q + 1 + k];
                cv[k].similarity = 0.9f;
                cv[k].tier = CACHE_TIER_SEMANTIC;
            }
            cache_select_input in;
            cache_select_input_default(&in);
            in.query = qs[q];
            in.query_len = strlen(qs[q]);
            in.threshold = 0.75f;
            in.min_probability = 2.0f; /* nothing passes: all 8 are scored */
            cache_selection sel;
            uint64_t t0 = util_now_ns();
            in.verifier = v;
            cache_select(&in, &cands, &sel);
            uint64_t t1 = util_now_ns();
            in.verifier = NULL;
            hits += cache_select(&in, &cands, &sel) >= 0;
            uint64_t t2 = util_now_ns();
            for (int k = 0; k < K; k++) {
                float s = 0;
                for (int d = 0; d < DIM; d++)
                    s += vecs[d] * vecs[(k + 1) * DIM + d];
                sink += s;
            }
            uint64_t t3 = util_now_ns();
            if (pass) {
                t_ver[l] = (double)(t1 - t0) / 1e3;
                t_sel[l] = (double)(t2 - t1) / 1e3;
                t_dot[l] = (double)(t3 - t2) / 1e3;
            }
        }
    }
    printf("%d lookups, 8 candidates each, %d questions from %s\n", lookups, nq, csv);
    report("cache_select + verifier (8 scored)", t_ver, lookups);
    report("cache_select, threshold only (anchor)", t_sel, lookups);
    report("8 x 512-d dot products (anchor)", t_dot, lookups);
    (void)sink;
    (void)hits;
    free(t_ver);
    free(t_sel);
    free(t_dot);
    free(vecs);
    free(text);
    cache_verifier_free(v);
    return 0;
}
