/* Tests for src/cache/cache.c and persist.c: tiers, partitions, context check,
 * TTL, eviction policies, persistence (torn tail, corruption, compaction),
 * export/import, concurrency. Vectors are random unit vectors (near-orthogonal
 * in 64 dimensions) so each test knows exactly which entry should match. */
#include "cache/cache.h"
#include "core/util.h"
#include "test.h"
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define DIM 64

static int64_t fake_now = 1000;
static int64_t fake_clock(void *ctx)
{
    (void)ctx;
    return fake_now;
}

static void unit(float *v)
{
    double s = 0;
    for (int i = 0; i < DIM; i++)
        s += (double)v[i] * v[i];
    float inv = (float)(1.0 / sqrt(s));
    for (int i = 0; i < DIM; i++)
        v[i] *= inv;
}

/* Deterministic random unit vector for a seed. */
static void vec_of(unsigned seed, float *v)
{
    unsigned x = seed * 2654435761u + 1;
    for (int i = 0; i < DIM; i++) {
        x = x * 1664525u + 1013904223u;
        v[i] = (float)((x >> 8) & 0xffff) / 65536.0f - 0.5f;
    }
    unit(v);
}

/* v moved towards another random direction by amount (0 = same). */
static void near_of(unsigned seed, float amount, float *v)
{
    float w[DIM];
    vec_of(seed, v);
    vec_of(seed + 7777, w);
    for (int i = 0; i < DIM; i++)
        v[i] += amount * w[i];
    unit(v);
}

static float dot(const float *a, const float *b)
{
    float s = 0;
    for (int i = 0; i < DIM; i++)
        s += a[i] * b[i];
    return s;
}

static void key_of(const char *name, char out[65])
{
    util_sha256_hex(name, strlen(name), out);
}

typedef struct req {
    char exact[65], part[65];
    float vec[DIM];
    float ctx[4 * DIM];
    cache_request r;
} req;

/* A request: exact key from name, partition from part, vector from seed. */
static req *mk(req *q, const char *tenant, const char *name, const char *part, unsigned seed)
{
    memset(q, 0, sizeof *q);
    key_of(name, q->exact);
    key_of(part, q->part);
    vec_of(seed, q->vec);
    q->r.tenant = tenant;
    q->r.exact_key = q->exact;
    q->r.partition_key = q->part;
    q->r.query_vec = q->vec;
    return q;
}

static cache *open_cache(size_t max_entries, cache_eviction ev, int64_t ttl, const char *path)
{
    cache_options o;
    cache_options_default(&o, DIM);
    o.max_entries = max_entries;
    o.eviction = ev;
    o.ttl_seconds = ttl;
    o.persist_path = path;
    o.clock = fake_clock;
    char err[256] = "";
    cache *c = cache_open(&o, err, sizeof err);
    if (!c) printf("     cache_open: %s\n", err);
    return c;
}

static int store(cache *c, req *q, const char *body)
{
    char err[256] = "";
    int rc = cache_store(c, &q->r, "query", body, strlen(body), err, sizeof err);
    if (rc) printf("     cache_store: %s\n", err);
    return rc;
}

/* Looks q up; returns 1 on a hit whose body equals want (NULL = any), else 0. */
static int hits(cache *c, req *q, const char *want, cache_tier *tier)
{
    cache_hit h;
    int rc = cache_lookup(c, &q->r, -1, &h);
    if (rc != 1) return 0;
    int ok = !want || (h.len == strlen(want) && !strcmp(h.body, want));
    if (tier) *tier = h.tier;
    free(h.body);
    return ok;
}

static void exact_hit(void)
{
    cache *c = open_cache(0, CACHE_EVICT_FIFO, 0, NULL);
    req a, q;
    CHECK_EQ_INT(store(c, mk(&a, "t", "q1", "p", 1), "{\"answer\":1}"), 0);
    mk(&q, "t", "q1", "p", 1);
    q.r.query_vec = NULL; /* exact tier needs no vector */
    cache_hit h;
    CHECK_EQ_INT(cache_lookup(c, &q.r, -1, &h), 1);
    CHECK_EQ_INT(h.tier, CACHE_TIER_EXACT);
    CHECK_NEAR(h.similarity, 1.0, 1e-6);
    CHECK_STR(h.body, "{\"answer\":1}");
    CHECK_EQ_INT(h.len, 12);
    CHECK_EQ_INT(h.inserted_at, 1000);
    free(h.body);
    cache_stats s;
    cache_stats_get(c, &s);
    CHECK_EQ_INT(s.entries, 1);
    CHECK_EQ_INT(s.hits, 1);
    CHECK_EQ_INT(s.exact_hits, 1);
    cache_close(c);
}

static void semantic_hit_and_threshold(void)
{
    cache *c = open_cache(0, CACHE_EVICT_FIFO, 0, NULL);
    req a, b, q;
    store(c, mk(&a, "t", "q1", "p", 1), "A");
    store(c, mk(&b, "t", "q2", "p", 2), "B");
    /* A paraphrase: other exact key, vector close to entry 1. */
    mk(&q, "t", "q1-paraphrase", "p", 0);
    near_of(1, 0.2f, q.vec);
    float sim = dot(q.vec, a.vec);
    CHECK(sim > 0.9f && sim < 0.999f, "test vector similarity %f", sim);
    cache_hit h;
    CHECK_EQ_INT(cache_lookup(c, &q.r, 0.8f, &h), 1);
    CHECK_EQ_INT(h.tier, CACHE_TIER_SEMANTIC);
    CHECK_STR(h.body, "A");
    CHECK_NEAR(h.similarity, sim, 1e-4);
    free(h.body);
    /* Same query under a stricter (e.g. per-category) threshold: miss. */
    CHECK_EQ_INT(cache_lookup(c, &q.r, sim + 0.01f, &h), 0);
    CHECK(h.body == NULL, "body set on a miss");
    /* A different meaning: far vector, miss at the default threshold. */
    near_of(1, 1.5f, q.vec);
    CHECK(dot(q.vec, a.vec) < 0.8f, "far vector too close");
    CHECK_EQ_INT(hits(c, &q, NULL, NULL), 0);
    /* No vector (e.g. input over the embedding window): semantic tier skipped. */
    near_of(1, 0.01f, q.vec);
    q.r.query_vec = NULL;
    CHECK_EQ_INT(hits(c, &q, NULL, NULL), 0);
    cache_stats s;
    cache_stats_get(c, &s);
    CHECK_EQ_INT(s.semantic_hits, 1);
    CHECK_EQ_INT(s.misses, 3);
    cache_close(c);
}

static void partitions_and_tenants_are_isolated(void)
{
    cache *c = open_cache(0, CACHE_EVICT_FIFO, 0, NULL);
    req a, q;
    store(c, mk(&a, "alice", "q1", "p", 1), "A");
    /* Same vector, other partition. */
    CHECK_EQ_INT(hits(c, mk(&q, "alice", "other", "p2", 1), NULL, NULL), 0);
    /* Same vector and partition key string, other tenant (keys normally embed
     * the tenant; the cache checks it anyway). */
    CHECK_EQ_INT(hits(c, mk(&q, "bob", "other", "p", 1), NULL, NULL), 0);
    /* Same exact key, other tenant. */
    CHECK_EQ_INT(hits(c, mk(&q, "bob", "q1", "p", 1), NULL, NULL), 0);
    CHECK_EQ_INT(hits(c, mk(&q, "alice", "other", "p", 1), "A", NULL), 1);
    cache_close(c);
}

static void context_must_match(void)
{
    cache *c = open_cache(0, CACHE_EVICT_FIFO, 0, NULL);
    req a, q;
    /* Follow-up 50 stored under first turn 10. */
    mk(&a, "t", "follow-under-10", "p", 50);
    a.r.n_context = 1;
    vec_of(10, a.ctx);
    a.r.context_vecs = a.ctx;
    store(c, &a, "F10");
    /* The same follow-up under an unrelated first turn: miss. */
    mk(&q, "t", "follow-under-11", "p", 50);
    q.r.n_context = 1;
    vec_of(11, q.ctx);
    q.r.context_vecs = q.ctx;
    CHECK_EQ_INT(hits(c, &q, NULL, NULL), 0);
    /* Under a paraphrase of the first turn: hit. */
    near_of(10, 0.15f, q.ctx);
    CHECK(dot(q.ctx, a.ctx) > 0.95f, "context paraphrase too far");
    CHECK_EQ_INT(hits(c, &q, "F10", NULL), 1);
    /* A first turn just under the context threshold: miss. */
    near_of(10, 0.6f, q.ctx);
    CHECK(dot(q.ctx, a.ctx) < 0.9f && dot(q.ctx, a.ctx) > 0.7f, "ctx sim %f", dot(q.ctx, a.ctx));
    CHECK_EQ_INT(hits(c, &q, NULL, NULL), 0);
    /* Different number of earlier turns: miss (none, and two). */
    q.r.n_context = 0;
    CHECK_EQ_INT(hits(c, &q, NULL, NULL), 0);
    vec_of(10, q.ctx);
    vec_of(10, q.ctx + DIM);
    q.r.n_context = 2;
    CHECK_EQ_INT(hits(c, &q, NULL, NULL), 0);
    cache_close(c);
}

/* One follow-up stored under many first turns: the right one is found even
 * when it is not among the first candidates of the vector search. */
static void context_found_among_many_identical_followups(void)
{
    cache *c = open_cache(0, CACHE_EVICT_FIFO, 0, NULL);
    req a;
    char name[32], body[32];
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof name, "f-%d", i);
        snprintf(body, sizeof body, "F%d", i);
        mk(&a, "t", name, "p", 50);
        a.r.n_context = 1;
        vec_of(1000 + (unsigned)i, a.ctx);
        a.r.context_vecs = a.ctx;
        store(c, &a, body);
    }
    for (int i = 0; i < 100; i += 33) {
        mk(&a, "t", "new-wording", "p", 50);
        a.r.n_context = 1;
        vec_of(1000 + (unsigned)i, a.ctx);
        a.r.context_vecs = a.ctx;
        snprintf(body, sizeof body, "F%d", i);
        CHECK(hits(c, &a, body, NULL) == 1, "follow-up under first turn %d not found", i);
    }
    cache_close(c);
}

/* A partition past the flat-scan size moves to its HNSW index; evictions then
 * delete from the index, and every entry is still found on both tiers. */
static void large_partition_uses_the_index(void)
{
    cache *c = open_cache(650, CACHE_EVICT_FIFO, 0, NULL);
    req a, q;
    char name[32], body[32];
    for (int i = 0; i < 700; i++) {
        snprintf(name, sizeof name, "e%d", i);
        snprintf(body, sizeof body, "B%d", i);
        store(c, mk(&a, "t", name, "big", (unsigned)i + 1), body);
    }
    store(c, mk(&a, "t", "small", "other", 5000), "S"); /* a small partition beside it */
    int bad = 0;
    for (int i = 0; i < 700; i += 7) {
        snprintf(name, sizeof name, "e%d", i);
        snprintf(body, sizeof body, "B%d", i);
        int want = i >= 51; /* 0..50 were evicted (the last store evicted one more) */
        if (hits(c, mk(&q, "t", "paraphrase", "big", (unsigned)i + 1), want ? body : NULL, NULL) !=
            want)
            bad++;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(hits(c, mk(&q, "t", "para", "other", 5000), "S", NULL), 1);
    cache_stats s;
    cache_stats_get(c, &s);
    CHECK_EQ_INT(s.entries, 650);
    CHECK_EQ_INT(s.partitions, 2);
    cache_close(c);
}

static void ttl_expires_entries(void)
{
    fake_now = 1000;
    cache *c = open_cache(0, CACHE_EVICT_FIFO, 10, NULL);
    req a, q;
    store(c, mk(&a, "t", "q1", "p", 1), "A");
    fake_now = 1009;
    CHECK_EQ_INT(hits(c, &a, "A", NULL), 1);
    CHECK_EQ_INT(hits(c, mk(&q, "t", "para", "p", 1), "A", NULL), 1);
    fake_now = 1010;
    CHECK_EQ_INT(hits(c, &a, NULL, NULL), 0);
    CHECK_EQ_INT(hits(c, &q, NULL, NULL), 0);
    CHECK_EQ_INT(cache_purge_expired(c), 1);
    cache_stats s;
    cache_stats_get(c, &s);
    CHECK_EQ_INT(s.entries, 0);
    CHECK_EQ_INT(s.expirations, 1);
    cache_close(c);
    fake_now = 1000;
}

/* Stores e1..e3 in a 3-entry cache, runs the hits given, stores e4, and
 * returns which of e1..e3 was evicted (checked on both tiers). */
static int evicted_after(cache_eviction ev, const int *hit_seq, int n_hits)
{
    cache *c = open_cache(3, ev, 0, NULL);
    req e[5];
    char name[16], body[16];
    for (int i = 1; i <= 3; i++) {
        snprintf(name, sizeof name, "e%d", i);
        snprintf(body, sizeof body, "B%d", i);
        store(c, mk(&e[i], "t", name, "p", (unsigned)i), body);
        fake_now++;
    }
    for (int i = 0; i < n_hits; i++)
        CHECK(hits(c, &e[hit_seq[i]], NULL, NULL), "e%d missing", hit_seq[i]);
    store(c, mk(&e[4], "t", "e4", "p", 4), "B4");
    int gone = 0;
    for (int i = 1; i <= 4; i++) {
        req q;
        snprintf(name, sizeof name, "e%d-paraphrase", i);
        int exact = hits(c, &e[i], NULL, NULL);
        int semantic = hits(c, mk(&q, "t", name, "p", (unsigned)i), NULL, NULL);
        CHECK(exact == semantic, "e%d: exact %d semantic %d disagree", i, exact, semantic);
        if (!exact) {
            CHECK(gone == 0, "two entries evicted");
            gone = i;
        }
    }
    cache_stats s;
    cache_stats_get(c, &s);
    CHECK_EQ_INT(s.entries, 3);
    CHECK_EQ_INT(s.evictions, 1);
    cache_close(c);
    return gone;
}

static void eviction_fifo(void)
{
    int seq[] = {1, 1, 1};
    CHECK_EQ_INT(evicted_after(CACHE_EVICT_FIFO, seq, 3), 1);
}

static void eviction_lru(void)
{
    int seq[] = {1, 3, 2, 1, 3};
    CHECK_EQ_INT(evicted_after(CACHE_EVICT_LRU, seq, 5), 2);
    int none[] = {0};
    CHECK_EQ_INT(evicted_after(CACHE_EVICT_LRU, none, 0), 1);
}

static void eviction_lfu(void)
{
    int seq[] = {2, 2, 1, 1, 1, 3}; /* e3 used once, most recently: still the least frequent */
    CHECK_EQ_INT(evicted_after(CACHE_EVICT_LFU, seq, 6), 3);
    int tie[] = {3, 2, 1}; /* all used once: least recently used among them */
    CHECK_EQ_INT(evicted_after(CACHE_EVICT_LFU, tie, 3), 3);
}

static void store_replaces_same_exact_key(void)
{
    cache *c = open_cache(0, CACHE_EVICT_FIFO, 0, NULL);
    req a;
    store(c, mk(&a, "t", "q", "p", 1), "old");
    store(c, mk(&a, "t", "q", "p", 1), "new");
    CHECK_EQ_INT(hits(c, &a, "new", NULL), 1);
    req q;
    CHECK_EQ_INT(hits(c, mk(&q, "t", "para", "p", 1), "new", NULL), 1);
    cache_stats s;
    cache_stats_get(c, &s);
    CHECK_EQ_INT(s.entries, 1);
    cache_close(c);
}

static void bad_input_is_an_error(void)
{
    cache_options o;
    cache_options_default(&o, 0);
    char err[256] = "";
    CHECK(cache_open(&o, err, sizeof err) == NULL && err[0], "dim 0 accepted");
    cache_options_default(&o, DIM);
    o.similarity_threshold = 1.5f;
    err[0] = 0;
    CHECK(cache_open(&o, err, sizeof err) == NULL && err[0], "threshold 1.5 accepted");
    cache_options_default(&o, DIM);
    o.persist_path = "/nonexistent-dir/x/cache.log";
    err[0] = 0;
    CHECK(cache_open(&o, err, sizeof err) == NULL && err[0], "bad path accepted");

    cache *c = open_cache(0, CACHE_EVICT_FIFO, 0, NULL);
    req a;
    mk(&a, "t", "q", "p", 1);
    a.r.exact_key = "not-hex";
    CHECK_EQ_INT(cache_store(c, &a.r, NULL, "x", 1, err, sizeof err), -1);
    cache_hit h;
    CHECK_EQ_INT(cache_lookup(c, &a.r, -1, &h), -1);
    mk(&a, "t", "q", "p", 1);
    a.r.n_context = 2; /* without vectors */
    CHECK_EQ_INT(cache_store(c, &a.r, NULL, "x", 1, err, sizeof err), -1);
    cache_close(c);
}

static char tmp_path[256];
static void make_tmp(const char *name)
{
    snprintf(tmp_path, sizeof tmp_path, "/tmp/semrouter-test-cache-%d-%s", (int)getpid(), name);
    unlink(tmp_path);
}

static long file_size(const char *p)
{
    struct stat st;
    return stat(p, &st) ? -1 : (long)st.st_size;
}

static void persistence_round_trip(void)
{
    make_tmp("roundtrip");
    cache *c = open_cache(8, CACHE_EVICT_FIFO, 0, tmp_path);
    CHECK(c != NULL, "open");
    if (!c) return;
    req a;
    char name[16], body[32];
    for (int i = 0; i < 10; i++) { /* 0 and 1 are evicted */
        snprintf(name, sizeof name, "e%d", i);
        snprintf(body, sizeof body, "{\"n\":%d}", i);
        mk(&a, i % 2 ? "alice" : "bob", name, "p", (unsigned)i);
        a.r.n_context = i == 5;
        vec_of(500, a.ctx);
        a.r.context_vecs = a.ctx;
        store(c, &a, body);
    }
    CHECK_EQ_INT(cache_clear(c, "bob"), 4); /* 2 4 6 8 */
    cache_close(c);

    c = open_cache(8, CACHE_EVICT_FIFO, 0, tmp_path);
    CHECK(c != NULL, "reopen");
    if (!c) return;
    cache_stats s;
    cache_stats_get(c, &s);
    CHECK_EQ_INT(s.entries, 4); /* 3 5 7 9 */
    for (int i = 0; i < 10; i++) {
        snprintf(name, sizeof name, "e%d", i);
        snprintf(body, sizeof body, "{\"n\":%d}", i);
        mk(&a, i % 2 ? "alice" : "bob", name, "p", (unsigned)i);
        a.r.n_context = i == 5;
        vec_of(500, a.ctx);
        a.r.context_vecs = a.ctx;
        int want = i % 2 == 1 && i >= 3;
        CHECK(hits(c, &a, want ? body : NULL, NULL) == want, "entry %d exact", i);
        req q;
        mk(&q, a.r.tenant, "paraphrase", "p", (unsigned)i);
        q.r.n_context = a.r.n_context;
        memcpy(q.ctx, a.ctx, sizeof a.ctx);
        q.r.context_vecs = q.ctx;
        CHECK(hits(c, &q, want ? body : NULL, NULL) == want, "entry %d semantic", i);
    }
    cache_close(c);
    unlink(tmp_path);
}

/* max_entries_per_tenant: a tenant filling the cache evicts its own oldest entries, never
 * another tenant's, under every policy; the global max_entries still holds. */
static void tenant_quota_evicts_only_own_entries(void)
{
    static const cache_eviction pols[] = {CACHE_EVICT_FIFO, CACHE_EVICT_LRU, CACHE_EVICT_LFU};
    for (int pi = 0; pi < 3; pi++) {
        cache_options o;
        cache_options_default(&o, DIM);
        o.max_entries = 100;
        o.max_entries_per_tenant = 5;
        o.eviction = pols[pi];
        o.clock = fake_clock;
        char err[256] = "";
        cache *c = cache_open(&o, err, sizeof err);
        CHECK(c != NULL, "open: %s", err);
        if (!c) return;
        req a, b;
        char name[32];
        mk(&a, "alice", "alice's only question", "p", 1);
        store(c, &a, "{\"who\":\"alice\"}");
        for (int i = 0; i < 50; i++) { /* bob floods */
            snprintf(name, sizeof name, "bob %d", i);
            mk(&b, "bob", name, "p", (unsigned)(100 + i));
            store(c, &b, "{\"who\":\"bob\"}");
        }
        CHECK(hits(c, &a, "{\"who\":\"alice\"}", NULL), "policy %d: alice's entry survives bob's flood", pi);
        cache_stats st;
        cache_stats_get(c, &st);
        CHECK_EQ_INT(st.entries, 6); /* alice 1 + bob's quota 5 */
        for (int i = 0; i < 50; i++) {
            snprintf(name, sizeof name, "bob %d", i);
            mk(&b, "bob", name, "p", (unsigned)(100 + i));
            CHECK(hits(c, &b, NULL, NULL) == (i >= 45), "policy %d: bob %d", pi, i);
        }
        cache_close(c);
    }
}

/* cache_delete removes one entry of its own tenant only, and the removal survives a restart. */
static void delete_is_per_tenant_and_persisted(void)
{
    make_tmp("delete");
    cache *c = open_cache(16, CACHE_EVICT_LRU, 0, tmp_path);
    CHECK(c != NULL, "open");
    if (!c) return;
    req a, b;
    mk(&a, "alice", "shared question", "p", 1);
    mk(&b, "bob", "bob question", "p", 2);
    store(c, &a, "{\"who\":\"alice\"}");
    store(c, &b, "{\"who\":\"bob\"}");
    CHECK_EQ_INT(cache_delete(c, "bob", a.exact), 0); /* alice's entry, asked for by bob */
    CHECK_EQ_INT(cache_delete(c, "", a.exact), 0);
    CHECK(hits(c, &a, "{\"who\":\"alice\"}", NULL), "alice's entry kept");
    CHECK_EQ_INT(cache_delete(c, "alice", "zz"), -1);
    CHECK_EQ_INT(cache_delete(c, "alice", "g000000000000000000000000000000000000000000000000000000000000000"), -1);
    CHECK_EQ_INT(cache_delete(c, "alice", a.exact), 1);
    CHECK(!hits(c, &a, NULL, NULL), "deleted entry misses");
    req para;
    mk(&para, "alice", "paraphrase", "p", 1); /* same vector: the semantic tier forgot it too */
    CHECK(!hits(c, &para, NULL, NULL), "deleted entry misses on the semantic tier");
    CHECK_EQ_INT(cache_delete(c, "alice", a.exact), 0);
    CHECK_EQ_INT(cache_delete(c, NULL, b.exact), 1); /* NULL = any tenant (admins) */
    store(c, &b, "{\"who\":\"bob again\"}");
    cache_close(c);
    c = open_cache(16, CACHE_EVICT_LRU, 0, tmp_path);
    CHECK(c != NULL, "reopen");
    if (!c) return;
    CHECK(!hits(c, &a, NULL, NULL), "deletion survives the restart");
    CHECK(hits(c, &b, "{\"who\":\"bob again\"}", NULL), "later store survives");
    cache_close(c);
    unlink(tmp_path);
}

static void persistence_torn_tail_and_garbage(void)
{
    make_tmp("torn");
    cache *c = open_cache(0, CACHE_EVICT_FIFO, 0, tmp_path);
    req a;
    char name[16];
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof name, "e%d", i);
        store(c, mk(&a, "t", name, "p", (unsigned)i), "body");
    }
    cache_close(c);
    long good = file_size(tmp_path);
    /* A torn record: the first 200 bytes of a valid one, as after a power cut. */
    FILE *f = fopen(tmp_path, "r+b");
    char rec[200];
    fseek(f, 16, SEEK_SET);
    CHECK_EQ_INT(fread(rec, 1, sizeof rec, f), sizeof rec);
    fseek(f, 0, SEEK_END);
    fwrite(rec, 1, sizeof rec, f);
    fwrite("\x00\xffgarbage", 1, 9, f);
    fclose(f);

    c = open_cache(0, CACHE_EVICT_FIFO, 0, tmp_path);
    CHECK(c != NULL, "reopen after torn tail");
    if (!c) return;
    cache_stats s;
    cache_stats_get(c, &s);
    CHECK_EQ_INT(s.entries, 5);
    CHECK_EQ_INT(s.file_bytes, good); /* the tail was cut off */
    store(c, mk(&a, "t", "e5", "p", 5), "body");
    cache_close(c);

    /* A flipped byte inside the second record: that record is lost, the rest kept. */
    f = fopen(tmp_path, "r+b");
    long rec_size = (good - 16) / 5;
    fseek(f, 16 + rec_size + 120, SEEK_SET);
    fputc(0x5a, f);
    fclose(f);
    c = open_cache(0, CACHE_EVICT_FIFO, 0, tmp_path);
    CHECK(c != NULL, "reopen after corruption");
    if (!c) return;
    cache_stats_get(c, &s);
    CHECK_EQ_INT(s.entries, 5);
    CHECK_EQ_INT(hits(c, mk(&a, "t", "e1", "p", 1), NULL, NULL), 0);
    CHECK_EQ_INT(hits(c, mk(&a, "t", "e5", "p", 5), "body", NULL), 1);
    CHECK_EQ_INT(hits(c, mk(&a, "t", "e0", "p", 0), "body", NULL), 1);
    cache_close(c);
    /* The damaged file was compacted: a clean reopen with the same entries. */
    c = open_cache(0, CACHE_EVICT_FIFO, 0, tmp_path);
    cache_stats_get(c, &s);
    CHECK_EQ_INT(s.entries, 5);
    CHECK_EQ_INT(s.file_bytes, 16 + 5 * rec_size);
    cache_close(c);

    /* Not a cache file at all: a clear error, the file untouched. */
    f = fopen(tmp_path, "wb");
    fputs("hello, I am somebody's notes\n", f);
    fclose(f);
    cache_options o;
    cache_options_default(&o, DIM);
    o.persist_path = tmp_path;
    char err[256] = "";
    CHECK(cache_open(&o, err, sizeof err) == NULL && strstr(err, "not a semrouter cache file"),
          "err: %s", err);
    CHECK_EQ_INT(file_size(tmp_path), 29);
    unlink(tmp_path);
}

/* A child process stores entries and acknowledges each one on a pipe; it is
 * killed with SIGKILL mid-stream. Every acknowledged entry must be in the
 * file when it is reopened. */
static void persistence_survives_kill_9(void)
{
    make_tmp("kill9");
    int fds[2];
    CHECK(pipe(fds) == 0, "pipe");
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        cache *c = open_cache(0, CACHE_EVICT_FIFO, 0, tmp_path);
        req a;
        char name[32];
        for (int i = 0;; i++) {
            snprintf(name, sizeof name, "k%d", i);
            if (store(c, mk(&a, "t", name, "p", (unsigned)i), name)) _exit(1);
            if (write(fds[1], &i, sizeof i) != sizeof i) _exit(1);
        }
    }
    close(fds[1]);
    int acked = -1, v;
    while (acked < 300 && read(fds[0], &v, sizeof v) == sizeof v)
        acked = v;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    while (read(fds[0], &v, sizeof v) == sizeof v)
        acked = v; /* acks sent before death */
    close(fds[0]);
    CHECK(acked >= 300, "child acknowledged only %d stores", acked);
    cache *c = open_cache(0, CACHE_EVICT_FIFO, 0, tmp_path);
    CHECK(c != NULL, "reopen after kill -9");
    if (!c) return;
    cache_stats s;
    cache_stats_get(c, &s);
    CHECK(s.entries >= (size_t)acked + 1, "%zu entries, %d acknowledged", s.entries, acked + 1);
    int missing = 0;
    req a;
    char name[32];
    for (int i = 0; i <= acked; i++) {
        snprintf(name, sizeof name, "k%d", i);
        if (!hits(c, mk(&a, "t", name, "p", (unsigned)i), name, NULL)) missing++;
    }
    CHECK_EQ_INT(missing, 0);
    cache_close(c);
    unlink(tmp_path);
}

static void persistence_compacts(void)
{
    make_tmp("compact");
    cache_options o;
    cache_options_default(&o, DIM);
    o.persist_path = tmp_path;
    o.max_entries = 10;
    o.compact_min_bytes = 4096;
    o.clock = fake_clock;
    char err[256];
    cache *c = cache_open(&o, err, sizeof err);
    req a;
    char name[16];
    for (int i = 0; i < 200; i++) {
        snprintf(name, sizeof name, "e%d", i);
        store(c, mk(&a, "t", name, "p", (unsigned)i), "some body text");
    }
    cache_stats s;
    cache_stats_get(c, &s);
    CHECK_EQ_INT(s.entries, 10);
    long rec = 16 + 104 + DIM * 4 + 2 + 6 + 15 + 7; /* one INSERT record, padded to 8 */
    CHECK(s.file_bytes < (uint64_t)(16 + 40 * rec), "file not compacted: %llu bytes",
          (unsigned long long)s.file_bytes);
    cache_close(c);
    c = cache_open(&o, err, sizeof err);
    cache_stats_get(c, &s);
    CHECK_EQ_INT(s.entries, 10);
    for (int i = 190; i < 200; i++) {
        snprintf(name, sizeof name, "e%d", i);
        CHECK(hits(c, mk(&a, "t", name, "p", (unsigned)i), "some body text", NULL), "e%d lost", i);
    }
    CHECK_EQ_INT(hits(c, mk(&a, "t", "e189", "p", 189), NULL, NULL), 0);
    cache_close(c);
    unlink(tmp_path);
}

static void persistence_locks_the_file(void)
{
    make_tmp("lock");
    cache *c = open_cache(0, CACHE_EVICT_FIFO, 0, tmp_path);
    cache_options o;
    cache_options_default(&o, DIM);
    o.persist_path = tmp_path;
    char err[256] = "";
    CHECK(cache_open(&o, err, sizeof err) == NULL && strstr(err, "in use"), "err: %s", err);
    cache_close(c);
    unlink(tmp_path);
}

/* ---- the vector-index snapshot (PERSIST_PATH.hnsw) ---- */

#define SNAP_N 1500 /* > FLAT_MAX: the "big" partition has an HNSW index */

static char snap_path[300];

static void snap_fill(cache *c)
{
    req a;
    char name[32], body[48];
    for (int i = 0; i < SNAP_N; i++) {
        snprintf(name, sizeof name, "big%d", i);
        snprintf(body, sizeof body, "{\"big\":%d,\"t\":\"caf\xc3\xa9 \xe2\x80\x9cq\xe2\x80\x9d\"}", i);
        store(c, mk(&a, "t", name, "big", 10000u + (unsigned)i), body);
    }
    for (int i = 0; i < 20; i++) {
        snprintf(name, sizeof name, "small%d", i);
        snprintf(body, sizeof body, "{\"small\":%d}", i);
        store(c, mk(&a, "t", name, "small", 20000u + (unsigned)i), body);
    }
    /* replaced entries: the same exact key with another vector (their old nodes are dead) */
    for (int i = 0; i < 10; i++) {
        snprintf(name, sizeof name, "big%d", i);
        snprintf(body, sizeof body, "{\"big\":%d,\"v\":2}", i);
        store(c, mk(&a, "t", name, "big", 30000u + (unsigned)i), body);
    }
}

/* What a batch of paraphrase and unrelated queries returns, in order. */
typedef struct lookup_trace {
    int hit[400];
    float sim[400];
    char body[400][48];
} lookup_trace;

static void snap_trace(cache *c, lookup_trace *t)
{
    memset(t, 0, sizeof *t);
    for (int j = 0; j < 400; j++) {
        req q;
        mk(&q, "t", "a question never stored", "big", 0);
        if (j < 300)
            near_of(10000u + (unsigned)j * 5, 0.3f + 0.002f * (float)j, q.vec);
        else
            vec_of(90000u + (unsigned)j, q.vec);
        cache_hit h;
        t->hit[j] = cache_lookup(c, &q.r, 0.5f, &h);
        if (t->hit[j] == 1) {
            t->sim[j] = h.similarity;
            snprintf(t->body[j], sizeof t->body[j], "%s", h.body);
            free(h.body);
        }
    }
}

/* Every live entry found by its own vector (under another exact key, so the
 * semantic tier answers); the replaced entries' old vectors find nothing. */
static int snap_self_misses(cache *c, int extra)
{
    int bad = 0;
    req q;
    char body[48];
    for (int i = 0; i < SNAP_N + extra; i++) {
        unsigned seed = i < 10 ? 30000u + (unsigned)i : 10000u + (unsigned)i;
        if (i < 10)
            snprintf(body, sizeof body, "{\"big\":%d,\"v\":2}", i);
        else if (i < SNAP_N)
            snprintf(body, sizeof body, "{\"big\":%d,\"t\":\"caf\xc3\xa9 \xe2\x80\x9cq\xe2\x80\x9d\"}", i);
        else
            snprintf(body, sizeof body, "{\"late\":%d}", i);
        if (!hits(c, mk(&q, "t", "paraphrase", "big", seed), body, NULL)) bad++;
    }
    for (int i = 0; i < 10; i++)
        if (hits(c, mk(&q, "t", "paraphrase", "big", 10000u + (unsigned)i), NULL, NULL)) bad++;
    for (int i = 0; i < 20; i++) {
        snprintf(body, sizeof body, "{\"small\":%d}", i);
        if (!hits(c, mk(&q, "t", "paraphrase", "small", 20000u + (unsigned)i), body, NULL)) bad++;
    }
    return bad;
}

static ino_t inode_of(const char *p)
{
    struct stat st;
    return stat(p, &st) ? 0 : st.st_ino;
}

static void snapshot_restores_the_index(void)
{
    make_tmp("snap");
    snprintf(snap_path, sizeof snap_path, "%s.hnsw", tmp_path);
    unlink(snap_path);
    cache *c = open_cache(0, CACHE_EVICT_FIFO, 0, tmp_path);
    CHECK(c != NULL, "open");
    if (!c) return;
    snap_fill(c);
    static lookup_trace before, after;
    snap_trace(c, &before);
    int nhits = 0;
    for (int j = 0; j < 400; j++)
        nhits += before.hit[j] == 1;
    CHECK(nhits > 100 && nhits < 400, "%d of 400 queries hit: the trace tells nothing", nhits);
    cache_close(c);
    CHECK(file_size(snap_path) > SNAP_N * DIM * 4, "snapshot %s: %ld bytes", snap_path,
          file_size(snap_path));

    c = open_cache(0, CACHE_EVICT_FIFO, 0, tmp_path);
    CHECK(c != NULL, "reopen");
    if (!c) return;
    cache_stats s;
    cache_stats_get(c, &s);
    CHECK_EQ_INT(s.entries, SNAP_N + 20);
    CHECK_EQ_INT(s.index_restored, SNAP_N); /* the big partition's graph, reused whole */
    CHECK_EQ_INT(s.index_inserted, 20);     /* the small partition is a flat scan: rebuilt */
    snap_trace(c, &after);
    int diff = 0;
    for (int j = 0; j < 400; j++)
        diff += before.hit[j] != after.hit[j] || before.sim[j] != after.sim[j] ||
                strcmp(before.body[j], after.body[j]);
    CHECK_EQ_INT(diff, 0);
    CHECK_EQ_INT(snap_self_misses(c, 0), 0);
    ino_t ino = inode_of(snap_path);
    cache_close(c); /* nothing changed: the snapshot is not rewritten */
    CHECK(ino && inode_of(snap_path) == ino, "snapshot rewritten without a change");

    /* an exact-scan open (what `semrouter cache import` does) leaves the snapshot alone */
    cache_options o;
    cache_options_default(&o, DIM);
    o.persist_path = tmp_path;
    o.index.use_hnsw = 0;
    char err[256] = "";
    c = cache_open(&o, err, sizeof err);
    CHECK(c != NULL, "exact-scan open: %s", err);
    if (!c) return;
    req a;
    store(c, mk(&a, "t", "added offline", "big", 40000), "{\"offline\":true}");
    cache_stats_get(c, &s);
    CHECK_EQ_INT(s.index_restored, 0);
    cache_close(c);
    CHECK(inode_of(snap_path) == ino, "an exact-scan cache touched the snapshot");
    c = open_cache(0, CACHE_EVICT_FIFO, 0, tmp_path);
    cache_stats_get(c, &s);
    CHECK_EQ_INT(s.index_restored, SNAP_N);
    CHECK_EQ_INT(s.index_inserted, 20 + 1);
    CHECK_EQ_INT(hits(c, mk(&a, "t", "paraphrase", "big", 40000), "{\"offline\":true}", NULL), 1);
    cache_close(c);
}

/* A router killed with -9 after its start: the snapshot predates what it
 * stored and replaced since; its matching nodes are reused, the rest inserted. */
static void snapshot_stale_after_kill_9(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        cache *c = open_cache(0, CACHE_EVICT_FIFO, 0, tmp_path);
        if (!c) _exit(2);
        req a;
        char name[32], body[48];
        for (int i = SNAP_N; i < SNAP_N + 200; i++) {
            snprintf(name, sizeof name, "late%d", i);
            snprintf(body, sizeof body, "{\"late\":%d}", i);
            if (store(c, mk(&a, "t", name, "big", 10000u + (unsigned)i), body)) _exit(1);
        }
        /* five more replaced: the snapshot's nodes for them are stale */
        for (int i = 10; i < 15; i++) {
            snprintf(name, sizeof name, "big%d", i);
            snprintf(body, sizeof body, "{\"big\":%d,\"v\":2}", i);
            if (store(c, mk(&a, "t", name, "big", 30000u + (unsigned)i), body)) _exit(1);
        }
        raise(SIGKILL); /* no cache_close: no new snapshot */
        _exit(3);
    }
    int st = -1;
    waitpid(pid, &st, 0);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "child status %d", st);
    cache *c = open_cache(0, CACHE_EVICT_FIFO, 0, tmp_path);
    CHECK(c != NULL, "reopen");
    if (!c) return;
    cache_stats s;
    cache_stats_get(c, &s);
    CHECK_EQ_INT(s.entries, SNAP_N + 200 + 20 + 1); /* + the offline one */
    CHECK_EQ_INT(s.index_restored, SNAP_N + 1 - 5);
    CHECK_EQ_INT(s.index_inserted, 200 + 5 + 20);
    int bad = 0;
    req q;
    char body[48];
    for (int i = 10; i < 15; i++) {
        snprintf(body, sizeof body, "{\"big\":%d,\"v\":2}", i);
        if (!hits(c, mk(&q, "t", "paraphrase", "big", 30000u + (unsigned)i), body, NULL)) bad++;
        if (hits(c, mk(&q, "t", "paraphrase", "big", 10000u + (unsigned)i), NULL, NULL)) bad++;
    }
    CHECK_EQ_INT(bad, 0);
    cache_close(c);
    cache_stats_get(c = open_cache(0, CACHE_EVICT_FIFO, 0, tmp_path), &s);
    CHECK_EQ_INT(s.index_restored, SNAP_N + 1 + 200); /* written at close */
    cache_close(c);
}

static void snapshot_damage_means_a_rebuild(void)
{
    /* start from a cache like the first test's */
    unlink(tmp_path);
    unlink(snap_path);
    cache *c = open_cache(0, CACHE_EVICT_FIFO, 0, tmp_path);
    if (!c) return;
    snap_fill(c);
    cache_close(c);
    long size = file_size(snap_path);
    CHECK(size > 0, "no snapshot");
    cache_stats s;
    const char *what[] = {"flipped byte in a vector", "flipped byte in the upper links", "truncated",
                          "not a snapshot", "empty"};
    for (int k = 0; k < 5; k++) {
        c = open_cache(0, CACHE_EVICT_FIFO, 0, tmp_path); /* rewrites a good snapshot */
        cache_close(c);
        FILE *f = fopen(snap_path, "r+b");
        if (!f) break;
        if (k == 0 || k == 1) {
            /* vectors come right after the section header, links after them */
            long at = k == 0 ? 24 + 40 + SNAP_N * 48 + 48 + 1000 : size - 2000;
            fseek(f, at, SEEK_SET);
            int ch = fgetc(f);
            fseek(f, at, SEEK_SET);
            fputc(ch ^ 0x10, f);
        }
        fclose(f);
        if (k == 2) CHECK_EQ_INT(truncate(snap_path, size / 3), 0);
        if (k == 3) {
            f = fopen(snap_path, "wb");
            fputs("SRHNSW01 but then \xe2\x80\x9cnot really\xe2\x80\x9d \xf0\x9f\x98\x80\n", f);
            fclose(f);
        }
        if (k == 4) CHECK_EQ_INT(truncate(snap_path, 0), 0);
        c = open_cache(0, CACHE_EVICT_FIFO, 0, tmp_path);
        CHECK(c != NULL, "%s: reopen", what[k]);
        if (!c) return;
        cache_stats_get(c, &s);
        CHECK(s.entries == SNAP_N + 20 && s.index_restored == 0 && s.index_inserted == SNAP_N + 20,
              "%s: %zu entries, %zu restored, %zu inserted", what[k], s.entries, s.index_restored,
              s.index_inserted);
        CHECK(snap_self_misses(c, 0) == 0, "%s: entries not found after the rebuild", what[k]);
        cache_close(c); /* the rebuilt index is written again */
        c = open_cache(0, CACHE_EVICT_FIFO, 0, tmp_path);
        cache_stats_get(c, &s);
        CHECK(s.index_restored == SNAP_N, "%s: %zu restored after the rewrite", what[k],
              s.index_restored);
        cache_close(c);
    }
    unlink(tmp_path);
    unlink(snap_path);
}

static void export_import(void)
{
    make_tmp("export");
    cache *c = open_cache(0, CACHE_EVICT_FIFO, 0, tmp_path);
    req a;
    store(c, mk(&a, "alice", "a1", "pa", 1), "{\"x\":\"A1\\n\"}");
    mk(&a, "alice", "a2", "pa", 2);
    a.r.n_context = 1;
    vec_of(9, a.ctx);
    a.r.context_vecs = a.ctx;
    store(c, &a, "A2");
    store(c, mk(&a, "bob", "b1", "pb", 3), "B1");
    char *text = NULL;
    size_t text_len = 0;
    FILE *out = open_memstream(&text, &text_len);
    char err[256];
    CHECK_EQ_INT(cache_export(c, "alice", out, err, sizeof err), 2);
    fclose(out);
    CHECK(strstr(text, "\"tenant\":\"alice\"") && !strstr(text, "bob"), "export: %s", text);
    CHECK(strstr(text, "\"vector\":\""), "no vector exported");
    cache_close(c);
    unlink(tmp_path);

    cache *d = open_cache(0, CACHE_EVICT_FIFO, 0, NULL);
    FILE *in = fmemopen(text, text_len, "r");
    long long skipped = -1;
    CHECK_EQ_INT(cache_import(d, NULL, in, &skipped, err, sizeof err), 2);
    CHECK_EQ_INT(skipped, 0);
    fclose(in);
    CHECK_EQ_INT(hits(d, mk(&a, "alice", "a1", "pa", 1), "{\"x\":\"A1\\n\"}", NULL), 1);
    CHECK_EQ_INT(hits(d, mk(&a, "alice", "a1-para", "pa", 1), "{\"x\":\"A1\\n\"}", NULL), 1);
    mk(&a, "alice", "a2-para", "pa", 2);
    a.r.n_context = 1;
    vec_of(9, a.ctx);
    a.r.context_vecs = a.ctx;
    CHECK_EQ_INT(hits(d, &a, "A2", NULL), 1);
    cache_close(d);

    /* Malformed lines are skipped and counted, the good ones kept. */
    d = open_cache(0, CACHE_EVICT_FIFO, 0, NULL);
    char *mixed = NULL;
    size_t mixed_len = 0;
    out = open_memstream(&mixed, &mixed_len);
    fprintf(out, "not json\n{\"tenant\":1}\n%s", text);
    fclose(out);
    in = fmemopen(mixed, mixed_len, "r");
    CHECK_EQ_INT(cache_import(d, "alice", in, &skipped, err, sizeof err), 2);
    CHECK_EQ_INT(skipped, 2);
    fclose(in);
    cache_close(d);
    free(mixed);
    free(text);
}

typedef struct worker {
    cache *c;
    int id, n, hits;
} worker;

static void *storer(void *arg)
{
    worker *w = arg;
    req a;
    char name[32];
    for (int i = 0; i < w->n; i++) {
        snprintf(name, sizeof name, "w%d-%d", w->id, i);
        mk(&a, "t", name, i % 3 ? "p" : "p2", (unsigned)(w->id * 100000 + i));
        store(w->c, &a, name);
    }
    return NULL;
}

static void *looker(void *arg)
{
    worker *w = arg;
    req a;
    char name[32];
    for (int i = 0; i < w->n; i++) {
        int k = i % 500;
        snprintf(name, sizeof name, "w%d-%d", k % 2, k);
        mk(&a, "t", "lookup", k % 3 ? "p" : "p2", (unsigned)((k % 2) * 100000 + k));
        cache_hit h;
        if (cache_lookup(w->c, &a.r, -1, &h) == 1) {
            if (strcmp(h.body, name)) w->hits = -1000000; /* a wrong answer */
            w->hits++;
            free(h.body);
        }
    }
    return NULL;
}

static void concurrent_lookups_and_stores(void)
{
    /* 1500 entries: both partitions outgrow the flat scan, so vector inserts
     * into HNSW, evictions out of it and searches all overlap. */
    cache *c = open_cache(1500, CACHE_EVICT_LRU, 0, NULL);
    worker w[4] = {{c, 0, 1500, 0}, {c, 1, 1500, 0}, {c, 0, 3000, 0}, {c, 1, 3000, 0}};
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, i < 2 ? storer : looker, &w[i]);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    CHECK(w[2].hits >= 0 && w[3].hits >= 0, "a lookup returned another entry's body");
    cache_stats s;
    cache_stats_get(c, &s);
    CHECK_EQ_INT(s.entries, 1500);
    CHECK_EQ_INT(s.stores, 3000);
    CHECK_EQ_INT(s.evictions, 1500);
    CHECK_EQ_INT(s.hits + s.misses, 6000);
    cache_close(c);
}

int main(void)
{
    RUN(exact_hit);
    RUN(semantic_hit_and_threshold);
    RUN(partitions_and_tenants_are_isolated);
    RUN(context_must_match);
    RUN(context_found_among_many_identical_followups);
    RUN(large_partition_uses_the_index);
    RUN(ttl_expires_entries);
    RUN(eviction_fifo);
    RUN(eviction_lru);
    RUN(eviction_lfu);
    RUN(store_replaces_same_exact_key);
    RUN(bad_input_is_an_error);
    RUN(persistence_round_trip);
    RUN(tenant_quota_evicts_only_own_entries);
    RUN(delete_is_per_tenant_and_persisted);
    RUN(persistence_torn_tail_and_garbage);
    RUN(persistence_survives_kill_9);
    RUN(persistence_compacts);
    RUN(persistence_locks_the_file);
    RUN(snapshot_restores_the_index);
    RUN(snapshot_stale_after_kill_9);
    RUN(snapshot_damage_means_a_rebuild);
    RUN(export_import);
    RUN(concurrent_lookups_and_stores);
    TEST_MAIN_END();
}
