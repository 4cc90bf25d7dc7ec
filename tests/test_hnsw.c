/* test_hnsw.c - the HNSW index (its kernels: test_vec.c): snapshot round trips
 * and damage, recall against exact search (random and clustered data, all storage
 * types), deletion + reinsertion, label replacement, edge cases, filtered
 * search and concurrent inserts/deletes/searches. */
#include "index/hnsw.h"

#include <pthread.h>
#include <stdint.h>

#include "test.h"

/* ---- data ---------------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}
static double rnd_unit(void)
{
    return ((double)(rnd() >> 11) + 0.5) / 9007199254740992.0;
}
static double rnd_normal(void)
{
    return sqrt(-2 * log(rnd_unit())) * cos(6.283185307179586 * rnd_unit());
}

static void normalize(float *v, int d)
{
    double s = 0;
    for (int i = 0; i < d; i++)
        s += (double)v[i] * v[i];
    s = 1 / sqrt(s);
    for (int i = 0; i < d; i++)
        v[i] = (float)(v[i] * s);
}

static float *random_unit(int n, int d)
{
    float *v = malloc((size_t)n * d * sizeof *v);
    for (size_t i = 0; i < (size_t)n * d; i++)
        v[i] = (float)rnd_normal();
    for (int i = 0; i < n; i++)
        normalize(v + (size_t)i * d, d);
    return v;
}

/* n points around nc random centres: centre + noise of relative size `spread`. */
static float *clustered(int n, int d, int nc, double spread)
{
    float *c = random_unit(nc, d), *v = malloc((size_t)n * d * sizeof *v);
    for (int i = 0; i < n; i++) {
        const float *ci = c + (size_t)(rnd() % (uint64_t)nc) * d;
        for (int j = 0; j < d; j++)
            v[(size_t)i * d + j] = ci[j] + (float)(spread * rnd_normal() / sqrt(d));
        normalize(v + (size_t)i * d, d);
    }
    free(c);
    return v;
}

static double dotd(const float *a, const float *b, int d)
{
    double s = 0;
    for (int i = 0; i < d; i++)
        s += (double)a[i] * b[i];
    return s;
}

/* Exact top-k labels (indices into data) among alive[i] != 0. */
static void exact_topk(const float *data, const char *alive, int n, int d, const float *q, int k,
                       int *out)
{
    double *best = malloc(k * sizeof *best);
    for (int i = 0; i < k; i++)
        best[i] = -1e9, out[i] = -1;
    for (int i = 0; i < n; i++) {
        if (alive && !alive[i]) continue;
        double s = dotd(data + (size_t)i * d, q, d);
        if (s <= best[k - 1]) continue;
        int j = k - 1;
        while (j > 0 && best[j - 1] < s) {
            best[j] = best[j - 1];
            out[j] = out[j - 1];
            j--;
        }
        best[j] = s;
        out[j] = i;
    }
    free(best);
}

/* Recall@k of h over nq queries: fraction of the exact top-k found in the top-k. */
static double recall_at(hnsw_index *h, const float *data, const char *alive, int n, int d,
                        const float *qs, int nq, int k, int ef)
{
    int *truth = malloc(k * sizeof *truth);
    hnsw_result *res = malloc(k * sizeof *res);
    long hit = 0, total = 0;
    for (int qi = 0; qi < nq; qi++) {
        const float *q = qs + (size_t)qi * d;
        exact_topk(data, alive, n, d, q, k, truth);
        int got = hnsw_search(h, q, k, ef, res);
        for (int i = 0; i < k; i++) {
            if (truth[i] < 0) continue;
            total++;
            for (int j = 0; j < got; j++)
                if (res[j].label == (uint64_t)truth[i]) {
                    hit++;
                    break;
                }
        }
    }
    free(truth);
    free(res);
    return total ? (double)hit / total : 1.0;
}

static hnsw_index *build(const float *data, int n, int d, hnsw_storage st, int use_hnsw)
{
    hnsw_params p;
    hnsw_params_default(&p, d);
    p.storage = st;
    p.use_hnsw = use_hnsw;
    p.initial_capacity = 256; /* forces several chunk growths */
    p.ef_construction = 100;
    char err[200];
    hnsw_index *h = hnsw_new(&p, err, sizeof err);
    if (!h) return NULL;
    for (int i = 0; i < n; i++)
        if (hnsw_insert(h, (uint64_t)i, data + (size_t)i * d)) {
            hnsw_free(h);
            return NULL;
        }
    return h;
}

/* ---- index --------------------------------------------------------------- */

static void test_empty_and_edges(void)
{
    hnsw_params p;
    hnsw_params_default(&p, 8);
    char err[200] = "";
    hnsw_index *h = hnsw_new(&p, err, sizeof err);
    CHECK(h != NULL, "%s", err);
    if (!h) return;
    float q[8] = {1, 0, 0, 0, 0, 0, 0, 0};
    hnsw_result r[4];
    CHECK_EQ_INT(hnsw_search(h, q, 3, 0, r), 0);
    CHECK_EQ_INT(hnsw_count(h), 0);
    CHECK_EQ_INT(hnsw_delete(h, 7), -1);
    CHECK_EQ_INT(hnsw_search(h, q, 0, 0, r), 0);
    CHECK_EQ_INT(hnsw_insert(h, 7, q), 0);
    CHECK_EQ_INT(hnsw_search(h, q, 4, 0, r), 1); /* k > count */
    CHECK(r[0].label == 7 && fabsf(r[0].similarity - 1) < 1e-6, "label %llu sim %g",
          (unsigned long long)r[0].label, r[0].similarity);
    float nanv[8] = {NAN, 0, 0, 0, 0, 0, 0, 0};
    CHECK_EQ_INT(hnsw_insert(h, 8, nanv), -1);
    CHECK_EQ_INT(hnsw_delete(h, 7), 0);
    CHECK_EQ_INT(hnsw_count(h), 0);
    CHECK_EQ_INT(hnsw_search(h, q, 4, 0, r), 0); /* the only node is deleted */
    CHECK_EQ_INT(hnsw_insert(h, 9, q), 0);
    CHECK_EQ_INT(hnsw_search(h, q, 4, 0, r), 1);
    CHECK_EQ_INT(r[0].label, 9);
    hnsw_free(h);

    p.dim = 0;
    CHECK(hnsw_new(&p, err, sizeof err) == NULL, "dim 0 accepted");
    CHECK(strstr(err, "dimension") != NULL, "message: %s", err);
    hnsw_params_default(&p, 8);
    p.m = 1;
    CHECK(hnsw_new(&p, err, sizeof err) == NULL, "m 1 accepted");
    hnsw_params_default(&p, 8);
    p.storage = (hnsw_storage)9;
    CHECK(hnsw_new(&p, err, sizeof err) == NULL, "bad storage accepted");
    hnsw_free(NULL);
}

static void test_recall_random_64d(void)
{
    int n = 5000, d = 64, nq = 200;
    float *data = random_unit(n, d), *qs = random_unit(nq, d);
    hnsw_index *h = build(data, n, d, HNSW_STORE_F32, 1);
    CHECK(h != NULL, "build failed");
    if (h) {
        CHECK_EQ_INT(hnsw_count(h), n);
        double r1 = recall_at(h, data, NULL, n, d, qs, nq, 1, 128);
        double r10 = recall_at(h, data, NULL, n, d, qs, nq, 10, 128);
        printf("     random 5000x64: recall@1 %.3f recall@10 %.3f\n", r1, r10);
        CHECK(r1 >= 0.95, "recall@1 %.3f", r1);
        CHECK(r10 >= 0.93, "recall@10 %.3f", r10);
        hnsw_free(h);
    }
    free(data);
    free(qs);
}

static void test_recall_random_512d_storages(void)
{
    int n = 2000, d = 512, nq = 100;
    float *data = random_unit(n, d), *qs = random_unit(nq, d);
    const char *names[] = {"f32", "f16", "i8"};
    for (int st = 0; st < 3; st++) {
        hnsw_index *h = build(data, n, d, (hnsw_storage)st, 1);
        CHECK(h != NULL, "build failed");
        if (!h) continue;
        double r1 = recall_at(h, data, NULL, n, d, qs, nq, 1, 200);
        double r10 = recall_at(h, data, NULL, n, d, qs, nq, 10, 200);
        /* similarity error of the stored precision, on a near-duplicate query */
        hnsw_result r[1];
        double maxerr = 0;
        for (int i = 0; i < 50; i++) {
            const float *v = data + (size_t)i * d;
            hnsw_search(h, v, 1, 0, r);
            double e = fabs(r[0].similarity - dotd(v, data + (size_t)r[0].label * d, d));
            if (e > maxerr) maxerr = e;
        }
        hnsw_stats s;
        hnsw_get_stats(h, &s);
        printf("     random 2000x512 %s: recall@1 %.3f recall@10 %.3f max sim error %.2e, %zu "
               "bytes/slot\n",
               names[st], r1, r10, maxerr, s.bytes_per_slot);
        CHECK(r1 >= 0.93, "%s recall@1 %.3f", names[st], r1);
        CHECK(r10 >= 0.9, "%s recall@10 %.3f", names[st], r10);
        CHECK(maxerr < (st == 0 ? 1e-5 : st == 1 ? 1e-3 : 3e-3), "%s error %g", names[st], maxerr);
        hnsw_free(h);
    }
    free(data);
    free(qs);
}

static void test_recall_clustered(void)
{
    int n = 4000, d = 128, nq = 200;
    float *data = clustered(n, d, 40, 0.6), *qs = clustered(nq, d, 40, 0.6);
    hnsw_index *h = build(data, n, d, HNSW_STORE_F32, 1);
    CHECK(h != NULL, "build failed");
    if (h) {
        double r1 = recall_at(h, data, NULL, n, d, qs, nq, 1, 128);
        double r10 = recall_at(h, data, NULL, n, d, qs, nq, 10, 128);
        printf("     clustered 4000x128: recall@1 %.3f recall@10 %.3f\n", r1, r10);
        CHECK(r1 >= 0.95, "recall@1 %.3f", r1);
        CHECK(r10 >= 0.93, "recall@10 %.3f", r10);
        hnsw_free(h);
    }
    free(data);
    free(qs);
}

static void test_delete_reinsert_keeps_recall(void)
{
    int n = 4000, d = 64, nq = 200;
    float *data = random_unit(n, d), *qs = random_unit(nq, d);
    char *alive = malloc(n);
    memset(alive, 1, n);
    hnsw_index *h = build(data, n, d, HNSW_STORE_F32, 1);
    CHECK(h != NULL, "build failed");
    if (!h) return;
    hnsw_stats s0, s1, s2;
    hnsw_get_stats(h, &s0);
    /* delete 30% */
    int deleted = 0;
    for (int i = 0; i < n; i++)
        if (rnd() % 10 < 3) {
            CHECK_EQ_INT(hnsw_delete(h, (uint64_t)i), 0);
            alive[i] = 0;
            deleted++;
        }
    CHECK_EQ_INT(hnsw_count(h), n - deleted);
    double r_del = recall_at(h, data, alive, n, d, qs, nq, 10, 128);
    /* no deleted label is ever returned */
    hnsw_result r[10];
    int leaked = 0;
    for (int qi = 0; qi < nq; qi++) {
        int got = hnsw_search(h, qs + (size_t)qi * d, 10, 64, r);
        for (int j = 0; j < got; j++)
            leaked += !alive[r[j].label];
    }
    CHECK_EQ_INT(leaked, 0);
    hnsw_vacuum(h);
    hnsw_get_stats(h, &s1);
    CHECK_EQ_INT(s1.deleted, 0);
    CHECK_EQ_INT(s1.free_slots, deleted);
    double r_vac = recall_at(h, data, alive, n, d, qs, nq, 10, 128);
    /* reinsert the deleted ones (new vectors under the old labels) */
    float *fresh = random_unit(n, d);
    for (int i = 0; i < n; i++)
        if (!alive[i]) {
            memcpy(data + (size_t)i * d, fresh + (size_t)i * d, d * sizeof(float));
            CHECK_EQ_INT(hnsw_insert(h, (uint64_t)i, data + (size_t)i * d), 0);
            alive[i] = 1;
        }
    hnsw_get_stats(h, &s2);
    CHECK_EQ_INT(hnsw_count(h), n);
    CHECK(s2.slots_used == s0.slots_used, "slots not reused: %zu -> %zu", s0.slots_used,
          s2.slots_used);
    double r1 = recall_at(h, data, alive, n, d, qs, nq, 1, 128);
    double r10 = recall_at(h, data, alive, n, d, qs, nq, 10, 128);
    printf("     delete 30%%: recall@10 %.3f before vacuum, %.3f after; reinserted: recall@1 %.3f "
           "recall@10 %.3f\n",
           r_del, r_vac, r1, r10);
    CHECK(r_del >= 0.9, "after delete %.3f", r_del);
    CHECK(r_vac >= 0.9, "after vacuum %.3f", r_vac);
    CHECK(r1 >= 0.95, "recall@1 %.3f", r1);
    CHECK(r10 >= 0.92, "recall@10 %.3f", r10);
    /* several rounds of churn through the incremental vacuum */
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < n; i++)
            if (rnd() % 5 == 0) {
                for (int j = 0; j < d; j++)
                    data[(size_t)i * d + j] = (float)rnd_normal();
                normalize(data + (size_t)i * d, d);
                hnsw_delete(h, (uint64_t)i);
                CHECK_EQ_INT(hnsw_insert(h, (uint64_t)i, data + (size_t)i * d), 0);
            }
    hnsw_get_stats(h, &s2);
    double rc = recall_at(h, data, alive, n, d, qs, nq, 10, 128);
    printf("     after 3 churn rounds: recall@10 %.3f, slots used %zu for %d live\n", rc,
           s2.slots_used, n);
    CHECK(rc >= 0.92, "recall@10 after churn %.3f", rc);
    CHECK(s2.slots_used < (size_t)n * 13 / 10, "slots grew to %zu", s2.slots_used);
    hnsw_free(h);
    free(fresh);
    free(alive);
    free(data);
    free(qs);
}

static void test_label_replaced(void)
{
    int d = 32;
    float *v = random_unit(3, d);
    hnsw_params p;
    hnsw_params_default(&p, d);
    hnsw_index *h = hnsw_new(&p, NULL, 0);
    CHECK(h != NULL, "new");
    if (!h) return;
    hnsw_insert(h, 1, v);
    hnsw_insert(h, 2, v + d);
    hnsw_insert(h, 1, v + 2 * d); /* label 1 now holds the third vector */
    CHECK_EQ_INT(hnsw_count(h), 2);
    hnsw_result r[3];
    int n = hnsw_search(h, v, 3, 0, r);
    CHECK_EQ_INT(n, 2);
    for (int i = 0; i < n; i++)
        if (r[i].label == 1) CHECK_NEAR(r[i].similarity, dotd(v, v + 2 * d, d), 1e-5);
    n = hnsw_search(h, v + 2 * d, 1, 0, r);
    CHECK(n == 1 && r[0].label == 1 && r[0].similarity > 0.9999f, "got %llu %g",
          (unsigned long long)r[0].label, r[0].similarity);
    hnsw_free(h);
    free(v);
}

static void test_linear_scan_is_exact(void)
{
    int n = 1500, d = 48, nq = 50, k = 10;
    float *data = random_unit(n, d), *qs = random_unit(nq, d);
    hnsw_index *h = build(data, n, d, HNSW_STORE_F32, 0);
    CHECK(h != NULL, "build failed");
    if (!h) return;
    char *alive = malloc(n);
    memset(alive, 1, n);
    for (int i = 0; i < n; i += 7) {
        hnsw_delete(h, (uint64_t)i);
        alive[i] = 0;
    }
    int truth[10], mism = 0;
    hnsw_result r[10];
    for (int qi = 0; qi < nq; qi++) {
        const float *q = qs + (size_t)qi * d;
        exact_topk(data, alive, n, d, q, k, truth);
        int got = hnsw_search(h, q, k, 0, r);
        if (got != k) mism++;
        for (int i = 0; i < got; i++) {
            if (r[i].label != (uint64_t)truth[i]) mism++;
            if (fabs(r[i].similarity - dotd(q, data + (size_t)truth[i] * d, d)) > 1e-5) mism++;
        }
    }
    CHECK_EQ_INT(mism, 0);
    hnsw_vacuum(h);
    hnsw_stats s;
    hnsw_get_stats(h, &s);
    CHECK_EQ_INT(s.free_slots, (n + 6) / 7);
    hnsw_free(h);
    free(alive);
    free(data);
    free(qs);
}

static int accept_even(uint64_t label, void *arg)
{
    (void)arg;
    return label % 2 == 0;
}

static void test_filtered_search(void)
{
    int n = 3000, d = 64, nq = 100, k = 5;
    float *data = random_unit(n, d), *qs = random_unit(nq, d);
    hnsw_index *h = build(data, n, d, HNSW_STORE_F32, 1);
    CHECK(h != NULL, "build failed");
    if (!h) return;
    char *even = malloc(n);
    for (int i = 0; i < n; i++)
        even[i] = i % 2 == 0;
    int truth[5], bad = 0;
    long hit = 0;
    hnsw_result r[5];
    for (int qi = 0; qi < nq; qi++) {
        const float *q = qs + (size_t)qi * d;
        exact_topk(data, even, n, d, q, k, truth);
        int got = hnsw_search_filtered(h, q, k, 64, accept_even, NULL, r);
        for (int i = 0; i < got; i++) {
            bad += r[i].label % 2 != 0;
            for (int j = 0; j < k; j++)
                hit += r[i].label == (uint64_t)truth[j];
        }
    }
    CHECK_EQ_INT(bad, 0);
    CHECK((double)hit / (nq * k) >= 0.9, "filtered recall@5 %.3f", (double)hit / (nq * k));
    hnsw_free(h);
    free(even);
    free(data);
    free(qs);
}

/* ---- concurrency --------------------------------------------------------- */

typedef struct conc {
    hnsw_index *h;
    const float *data;
    int n, d, first, count, stop;
    long searches, bad;
} conc;

static void *writer(void *arg)
{
    conc *c = arg;
    for (int round = 0; round < 2; round++)
        for (int i = c->first; i < c->first + c->count; i++) {
            if (hnsw_insert(c->h, (uint64_t)i, c->data + (size_t)i * c->d)) c->bad++;
            if (i % 3 == 0 && hnsw_delete(c->h, (uint64_t)i)) c->bad++;
        }
    return NULL;
}

static void *reader(void *arg)
{
    conc *c = arg;
    hnsw_result r[10];
    uint64_t seed = (uint64_t)c->first + 1;
    while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        int qi = (int)((seed >> 33) % (uint64_t)c->n);
        int got = hnsw_search(c->h, c->data + (size_t)qi * c->d, 10, 32, r);
        for (int j = 0; j < got; j++) {
            if (r[j].label >= (uint64_t)c->n) c->bad++;
            if (j && r[j].similarity > r[j - 1].similarity) c->bad++;
        }
        c->searches++;
    }
    return NULL;
}

static void *vacuum_thread(void *h)
{
    hnsw_vacuum(h);
    return NULL;
}

static void run_concurrent(int use_hnsw, hnsw_storage st)
{
    int n = 3000, d = 32, nw = 2, nr = 2;
    float *data = random_unit(n, d);
    hnsw_params p;
    hnsw_params_default(&p, d);
    p.initial_capacity = 64;
    p.use_hnsw = use_hnsw;
    p.storage = st;
    p.ef_construction = 64;
    hnsw_index *h = hnsw_new(&p, NULL, 0);
    CHECK(h != NULL, "new");
    if (!h) return;
    for (int i = 0; i < 200; i++)
        hnsw_insert(h, (uint64_t)i, data + (size_t)i * d);
    conc w[2], rd[2];
    pthread_t tw[2], tr[2];
    for (int i = 0; i < nr; i++) {
        rd[i] = (conc){h, data, n, d, i, 0, 0, 0, 0};
        pthread_create(&tr[i], NULL, reader, &rd[i]);
    }
    for (int i = 0; i < nw; i++) {
        w[i] = (conc){h, data, n, d, 200 + i * (n - 200) / nw, (n - 200) / nw, 0, 0, 0};
        pthread_create(&tw[i], NULL, writer, &w[i]);
    }
    for (int i = 0; i < nw; i++)
        pthread_join(tw[i], NULL);
    pthread_t tv;
    pthread_create(&tv, NULL, vacuum_thread, h);
    pthread_join(tv, NULL);
    for (int i = 0; i < nr; i++) {
        __atomic_store_n(&rd[i].stop, 1, __ATOMIC_RELEASE);
        pthread_join(tr[i], NULL);
    }
    long bad = 0, searches = 0;
    for (int i = 0; i < nw; i++)
        bad += w[i].bad;
    for (int i = 0; i < nr; i++)
        bad += rd[i].bad, searches += rd[i].searches;
    CHECK_EQ_INT(bad, 0);
    CHECK(searches > 0, "no searches ran");
    /* final state: exactly the labels not deleted, and findable */
    char *alive = malloc(n);
    int live = 0;
    for (int i = 0; i < n; i++)
        live += alive[i] = (i < 200 || i % 3 != 0);
    CHECK_EQ_INT(hnsw_count(h), live);
    double r1 = recall_at(h, data, alive, n, d, data, 300, 1, 64);
    printf("     concurrent (%s): %ld searches during %d-thread writes; self-recall@1 %.3f\n",
           use_hnsw ? "hnsw" : "linear", searches, nw, r1);
    CHECK(r1 >= 0.9, "recall@1 %.3f", r1);
    hnsw_free(h);
    free(alive);
    free(data);
}

static void test_concurrent(void)
{
    run_concurrent(1, HNSW_STORE_F32);
}
static void test_concurrent_linear_f16(void)
{
    run_concurrent(0, HNSW_STORE_F16);
}

/* ---- snapshots ------------------------------------------------------------ */

typedef struct mem_stream {
    unsigned char *p;
    size_t len, cap, pos;
} mem_stream;

static int mem_write(void *ctx, const void *data, size_t n)
{
    mem_stream *m = ctx;
    if (m->len + n > m->cap) {
        size_t cap = m->cap ? m->cap : 4096;
        while (cap < m->len + n)
            cap *= 2;
        unsigned char *q = realloc(m->p, cap);
        if (!q) return -1;
        m->p = q;
        m->cap = cap;
    }
    memcpy(m->p + m->len, data, n);
    m->len += n;
    return 0;
}

static int mem_read(void *ctx, void *data, size_t n)
{
    mem_stream *m = ctx;
    if (n > m->len - m->pos) return -1;
    memcpy(data, m->p + m->pos, n);
    m->pos += n;
    return 0;
}

static uint64_t relabel_even(void *arg, uint64_t label)
{
    (void)arg;
    return label % 2 ? HNSW_DROP : label + 1000000;
}

static int same_results(hnsw_index *a, hnsw_index *b, const float *qs, int nq, int d,
                        uint64_t shift)
{
    hnsw_result ra[10], rb[10];
    int diff = 0;
    for (int i = 0; i < nq; i++) {
        int na = hnsw_search(a, qs + (size_t)i * d, 10, 0, ra);
        int nb = hnsw_search(b, qs + (size_t)i * d, 10, 0, rb);
        if (na != nb) diff++;
        for (int j = 0; j < na && j < nb; j++)
            if (ra[j].label + shift != rb[j].label || ra[j].similarity != rb[j].similarity) diff++;
    }
    return diff;
}

static void test_snapshot_round_trip(void)
{
    const int n = 3000, d = 32;
    struct {
        hnsw_storage st;
        int use_hnsw;
    } kinds[] = {{HNSW_STORE_F32, 1}, {HNSW_STORE_F16, 1}, {HNSW_STORE_I8, 1}, {HNSW_STORE_F16, 0}};
    float *data = random_unit(n, d), *qs = random_unit(200, d), *more = random_unit(100, d);
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        hnsw_index *h = build(data, n, d, kinds[k].st, kinds[k].use_hnsw);
        CHECK(h != NULL, "build");
        if (!h) continue;
        for (int i = 0; i < n; i += 10) /* deleted, and some slots reused */
            hnsw_delete(h, (uint64_t)i);
        for (int i = 0; i < 50; i++)
            hnsw_insert(h, (uint64_t)(n + i), more + (size_t)i * d);
        mem_stream m = {0};
        CHECK_EQ_INT(hnsw_save(h, mem_write, &m), 0);
        hnsw_params p;
        hnsw_params_default(&p, d);
        p.storage = kinds[k].st;
        p.use_hnsw = kinds[k].use_hnsw;
        p.ef_construction = 100;
        char err[200] = "";
        hnsw_index *g = hnsw_load(&p, mem_read, &m, NULL, NULL, err, sizeof err);
        CHECK(g != NULL, "kind %zu: %s", k, err);
        if (!g) {
            hnsw_free(h);
            free(m.p);
            continue;
        }
        CHECK_EQ_INT(m.pos, m.len);
        CHECK_EQ_INT(hnsw_count(g), hnsw_count(h));
        CHECK_EQ_INT(hnsw_count(g), n - n / 10 + 50);
        CHECK_EQ_INT(same_results(h, g, qs, 200, d, 0), 0);
        /* the loaded graph keeps working: inserts, deletes, its own snapshot */
        for (int i = 50; i < 100; i++)
            CHECK_EQ_INT(hnsw_insert(g, (uint64_t)(n + i), more + (size_t)i * d), 0);
        hnsw_result r[1];
        int found = 0;
        for (int i = 50; i < 100; i++)
            found += hnsw_search(g, more + (size_t)i * d, 1, 0, r) == 1 &&
                     r[0].label == (uint64_t)(n + i);
        CHECK_EQ_INT(found, 50);
        CHECK_EQ_INT(hnsw_delete(g, 1), 0);

        /* relabelled: odd labels dropped (deleted, still routing), even ones shifted */
        m.pos = 0;
        hnsw_index *e = hnsw_load(&p, mem_read, &m, relabel_even, NULL, err, sizeof err);
        CHECK(e != NULL, "relabel: %s", err);
        if (e) {
            hnsw_result rr[10];
            int odd = 0, got = 0;
            for (int i = 0; i < 200; i++) {
                int nr = hnsw_search(e, qs + (size_t)i * d, 10, 0, rr);
                got += nr;
                for (int j = 0; j < nr; j++)
                    odd += rr[j].label < 1000000 || rr[j].label % 2;
            }
            CHECK(odd == 0 && got == 2000, "%d odd of %d results", odd, got);
            CHECK_EQ_INT(hnsw_delete(e, 1000000 + 2), 0);
            CHECK_EQ_INT(hnsw_delete(e, 3), -1);
            hnsw_vacuum(e);
            hnsw_free(e);
        }
        /* parameters that shape the graph must match */
        m.pos = 0;
        p.storage = kinds[k].st == HNSW_STORE_F32 ? HNSW_STORE_F16 : HNSW_STORE_F32;
        CHECK(hnsw_load(&p, mem_read, &m, NULL, NULL, err, sizeof err) == NULL &&
                  strstr(err, "written for"),
              "storage mismatch: %s", err);
        hnsw_free(g);
        hnsw_free(h);
        free(m.p);
    }
    free(data);
    free(qs);
    free(more);
}

/* Damaged bytes in the structure (links, labels, levels, the free list)
 * give an error or a graph that is safe to use; truncation always an error. */
static void test_snapshot_damage(void)
{
    const int n = 600, d = 16;
    float *data = random_unit(n, d), *qs = random_unit(5, d);
    hnsw_index *h = build(data, n, d, HNSW_STORE_F32, 1);
    for (int i = 0; i < n; i += 7)
        hnsw_delete(h, (uint64_t)i);
    mem_stream m = {0};
    hnsw_save(h, mem_write, &m);
    hnsw_params p;
    hnsw_params_default(&p, d);
    char err[200];
    size_t vec_end = 48 + (size_t)n * d * 4; /* header + vectors: values are not checkable */
    unsigned char *copy = malloc(m.len);
    int rejected = 0, loaded = 0;
    for (int iter = 0; iter < 400; iter++) {
        memcpy(copy, m.p, m.len);
        size_t at = vec_end + rnd() % (m.len - vec_end);
        copy[at] ^= (unsigned char)(1u << (rnd() % 8));
        if (iter % 3 == 0) copy[vec_end + rnd() % (m.len - vec_end)] = 0xff;
        mem_stream r = {copy, m.len, m.len, 0};
        hnsw_index *g = hnsw_load(&p, mem_read, &r, NULL, NULL, err, sizeof err);
        if (!g) {
            rejected++;
            continue;
        }
        loaded++;
        hnsw_result res[10];
        for (int q = 0; q < 5; q++)
            hnsw_search(g, qs + (size_t)q * d, 10, 0, res);
        hnsw_insert(g, 99999, qs);
        hnsw_delete(g, 99999);
        hnsw_vacuum(g);
        hnsw_free(g);
    }
    CHECK(rejected > 100, "only %d of 400 damaged snapshots rejected (%d loaded)", rejected,
          loaded);
    int accepted = 0;
    for (size_t cut = 0; cut < m.len; cut += m.len / 37 + 1) {
        mem_stream r = {m.p, cut, cut, 0};
        hnsw_index *g = hnsw_load(&p, mem_read, &r, NULL, NULL, err, sizeof err);
        if (g) accepted++;
        hnsw_free(g);
    }
    CHECK_EQ_INT(accepted, 0);
    free(copy);
    free(m.p);
    free(data);
    free(qs);
    hnsw_free(h);
}

/* An argument runs only the cases whose name contains it (e.g. "concurrent"
 * for the ThreadSanitizer build in bench/hnsw_tsan.sh). */
static const char *only;
#define RUN_IF(fn)                                                                                 \
    do {                                                                                           \
        if (!only || strstr(#fn, only)) RUN(fn);                                                   \
    } while (0)

int main(int argc, char **argv)
{
    only = argc > 1 ? argv[1] : NULL;
    RUN_IF(test_empty_and_edges);
    RUN_IF(test_recall_random_64d);
    RUN_IF(test_recall_random_512d_storages);
    RUN_IF(test_recall_clustered);
    RUN_IF(test_delete_reinsert_keeps_recall);
    RUN_IF(test_label_replaced);
    RUN_IF(test_linear_scan_is_exact);
    RUN_IF(test_filtered_search);
    RUN_IF(test_snapshot_round_trip);
    RUN_IF(test_snapshot_damage);
    RUN_IF(test_concurrent);
    RUN_IF(test_concurrent_linear_f16);
    TEST_MAIN_END();
}
