/* hnsw.c - Hierarchical Navigable Small World graph (Malkov & Yashunin) over
 * unit-norm vectors, similarity = inner product; or, with use_hnsw = 0, an
 * exact linear scan over the same storage.
 *
 * Storage. Nodes are numbered slots. Slot data lives in chunks that never move
 * (chunk k holds c0 * 2^k slots), so growing the index never invalidates a
 * pointer a concurrent search holds; only the small chunk table grows. Per
 * slot: the vector (f32, f16, or int8 + one f32 scale), the level-0 link list
 * (header word + 2*M ids), the label, the level and a pointer to the upper
 * link lists (level * (1 + M) words, malloc'd, NULL for level-0 nodes). A link
 * list header holds the neighbour count (low 16 bits) and the node's flags:
 *   DELETED   the label was removed; the node still routes searches but is
 *             never returned and never chosen as a new neighbour;
 *   UNLINK    the node is in the running vacuum batch (see below);
 *   INSERTED  its insert finished (all links written).
 *
 * Concurrency (no lock is held across a whole search or insert):
 *  - Link lists are read without locks: every id and header is read with an
 *    acquire load and written with a release store, and a node's vector, label
 *    and level are written before its id is stored in any list, so whatever id
 *    a reader sees refers to a fully written node. A reader may see a list
 *    mid-update (a mix of old and new ids); each id is still a valid node, and
 *    that costs at most a little recall for that one search (hnswlib has the
 *    same property).
 *  - Writers lock a node (striped mutexes, LOCK_STRIPES) only to modify its
 *    lists or flags, and never hold two node locks at once, so there is no lock
 *    order to get wrong. A full list is shrunk with the selection heuristic
 *    while its lock is held (~M^2 dot products).
 *  - `mu` guards the label map, slot allocation, the free list and counters:
 *    held for a few hash operations, never across graph work.
 *  - `entry_mu` serializes entry-point changes; an insert holds it for its
 *    whole duration only when its level is above the current top (1/M of
 *    inserts raise a level once per ~M-fold growth, as in hnswlib).
 *  - Vectors are immutable while reachable. Slots are reused only after a
 *    grace period (a two-counter epoch scheme, op_enter/op_exit/synchronize,
 *    like userspace RCU): every search and insert runs inside an op; the
 *    vacuum (1) marks a batch of deleted nodes UNLINK and moves the entry point
 *    off them, (2) waits for ops that might not see the marks, (3) rewrites
 *    every list that points into the batch (neighbour repair: the survivors plus
 *    the removed nodes' neighbours, pruned by the heuristic), (4) waits for ops
 *    that might still hold a batch node, (5) frees the batch slots. The vacuum
 *    runs incrementally (a bounded slice after inserts and deletes, when enough
 *    deletions accumulated) or to completion in hnsw_vacuum(). Waiting for a
 *    grace period never blocks searches; it only waits for ops in flight.
 *
 * Reduced precision. HNSW_STORE_F16 keeps only half-precision vectors (2 B per
 * dimension, half of f32) and scores them against the f32 query in f32
 * arithmetic: relative error per component <= 2^-11, for unit vectors the
 * similarity error is ~1e-4, below anything a cache threshold can tell apart.
 * HNSW_STORE_I8 keeps int8 + one scale per vector (1 B per dimension; error
 * ~3e-4 at 512-d). Both score asymmetrically (f32 query x stored vector), so
 * the returned similarities are the exact inner products of the query with the
 * stored (rounded) vectors; keeping an f32 copy for re-scoring would cost more
 * memory than f32 storage alone and defeat the purpose, so we do not. */
#include "index/hnsw.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/vec.h"

#define MAX_LEVEL 15
#define MAX_CHUNKS 40
#define LOCK_STRIPES 4096
#define NO_ID UINT32_MAX

#define F_COUNT 0xffffu
#define F_DELETED (1u << 16)
#define F_UNLINK (1u << 17)
#define F_INSERTED (1u << 18)

#define VACUUM_SLICE 64 /* work units per incremental vacuum step */

#define LOAD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

typedef struct chunk {
    uint32_t first, n;
    unsigned char *vec; /* n * vec_bytes */
    uint32_t *links0;   /* n * (1 + m0) */
    uint64_t *label;
    uint32_t **upper;
    uint8_t *level;
    float *scale; /* I8 only */
} chunk;

typedef struct cand {
    float s;
    uint32_t id;
} cand;

/* Per-operation scratch, pooled so the hot path allocates nothing. */
typedef struct search_ctx {
    struct search_ctx *next;
    uint16_t *visited;
    size_t nvisited;
    uint16_t tag;
    cand *cand, *res, *tmp;
    size_t cand_cap, res_cap, tmp_cap;
    uint32_t *ids, *sel;
    float *buf_a, *buf_b;
} search_ctx;

/* What a search may return: nodes without any `exclude` flag that the
 * optional accept callback takes. Queries exclude DELETED|UNLINK; inserts
 * exclude only UNLINK, so deleted nodes can still be chosen as neighbours
 * (they route until the vacuum unlinks them; a graph of nothing but deleted
 * nodes must still connect a new one). */
typedef struct search_filter {
    uint32_t exclude;
    int (*accept)(uint64_t label, void *arg);
    void *arg;
} search_filter;

struct hnsw_index {
    hnsw_params p;
    int m, m0;
    size_t vec_bytes;
    double level_mult;
    const vec_kernels *k;

    int c0_log2;
    chunk chunks[MAX_CHUNKS];
    int nchunks;
    uint32_t capacity; /* slots in allocated chunks */
    uint32_t next_id;  /* slots [0, next_id) were handed out at least once */

    uint64_t entry; /* 0 = empty, else (top level + 1) << 32 | entry id */
    uint64_t level_counter;

    pthread_mutex_t mu; /* label map, slots, free list, counters */
    uint64_t *map_keys;
    uint32_t *map_vals; /* slot, MAP_EMPTY or MAP_TOMB */
    size_t map_cap, map_used, map_tomb;
    uint32_t *free_ids;
    size_t nfree, free_cap;
    size_t live, deleted; /* deleted: marked but not yet taken by a vacuum batch */
    size_t flagged;       /* nodes with DELETED set that are not yet freed */
    size_t upper_bytes;

    pthread_mutex_t entry_mu;
    pthread_mutex_t ctx_mu;
    search_ctx *ctx_free;
    size_t nctx;

    /* grace periods */
    uint64_t epoch;
    int64_t readers[2];

    /* vacuum, guarded by vacuum_mu */
    pthread_mutex_t vacuum_mu;
    int vac_phase;
    uint32_t *vac_batch;
    size_t vac_n;
    uint32_t vac_cursor, vac_end;

    pthread_mutex_t locks[LOCK_STRIPES];
};

#define MAP_EMPTY UINT32_MAX
#define MAP_TOMB (UINT32_MAX - 1)

/* ---- slots ------------------------------------------------------------- */

static inline chunk *slot_chunk(const hnsw_index *h, uint32_t id, uint32_t *off)
{
    uint64_t x = (uint64_t)id + ((uint64_t)1 << h->c0_log2);
    int k = 63 - __builtin_clzll(x) - h->c0_log2;
    *off = (uint32_t)(x - ((uint64_t)1 << (k + h->c0_log2)));
    return (chunk *)&h->chunks[k];
}

static inline uint32_t *links0(const hnsw_index *h, uint32_t id)
{
    uint32_t off;
    chunk *c = slot_chunk(h, id, &off);
    return c->links0 + (size_t)off * (1 + h->m0);
}

static inline uint32_t *list_at(const hnsw_index *h, uint32_t id, int level)
{
    uint32_t off;
    chunk *c = slot_chunk(h, id, &off);
    if (level == 0) return c->links0 + (size_t)off * (1 + h->m0);
    return c->upper[off] + (size_t)(level - 1) * (1 + h->m);
}

static inline pthread_mutex_t *node_lock(hnsw_index *h, uint32_t id)
{
    return &h->locks[id & (LOCK_STRIPES - 1)];
}

static inline const unsigned char *slot_vec(const hnsw_index *h, uint32_t id)
{
    uint32_t off;
    chunk *c = slot_chunk(h, id, &off);
    return c->vec + (size_t)off * h->vec_bytes;
}

/* Similarity of f32 query q with stored node id. The _st form is inlined with
 * a constant storage type in the search loop so the switch disappears. */
static inline __attribute__((always_inline)) float score_st(const hnsw_index *h, const float *q,
                                                            uint32_t id, hnsw_storage st)
{
    uint32_t off;
    chunk *c = slot_chunk(h, id, &off);
    const unsigned char *v = c->vec + (size_t)off * h->vec_bytes;
    size_t d = (size_t)h->p.dim;
    switch (st) {
    case HNSW_STORE_F16:
        return h->k->dot_f32_f16(q, (const uint16_t *)v, d);
    case HNSW_STORE_I8:
        return h->k->dot_f32_i8(q, (const int8_t *)v, d) * c->scale[off];
    default:
        return h->k->dot_f32(q, (const float *)v, d);
    }
}

static inline float score(const hnsw_index *h, const float *q, uint32_t id)
{
    return score_st(h, q, id, h->p.storage);
}

/* The node's vector as f32: a pointer into storage for f32, else decoded into buf. */
static const float *node_f32(const hnsw_index *h, uint32_t id, float *buf)
{
    uint32_t off;
    chunk *c = slot_chunk(h, id, &off);
    const unsigned char *v = c->vec + (size_t)off * h->vec_bytes;
    size_t d = (size_t)h->p.dim;
    if (h->p.storage == HNSW_STORE_F32) return (const float *)v;
    if (h->p.storage == HNSW_STORE_F16) {
        h->k->f16_to_f32((const uint16_t *)v, buf, d);
    } else {
        float sc = c->scale[off];
        for (size_t i = 0; i < d; i++)
            buf[i] = (float)((const int8_t *)v)[i] * sc;
    }
    return buf;
}

static void store_vector(hnsw_index *h, uint32_t id, const float *vec)
{
    uint32_t off;
    chunk *c = slot_chunk(h, id, &off);
    unsigned char *v = c->vec + (size_t)off * h->vec_bytes;
    size_t d = (size_t)h->p.dim;
    if (h->p.storage == HNSW_STORE_F32)
        memcpy(v, vec, d * sizeof(float));
    else if (h->p.storage == HNSW_STORE_F16)
        h->k->f32_to_f16(vec, (uint16_t *)v, d);
    else
        c->scale[off] = vec_quantize_i8(vec, (int8_t *)v, d);
}

static size_t slot_bytes(const hnsw_index *h)
{
    return h->vec_bytes + (size_t)(1 + h->m0) * 4 + 8 + sizeof(uint32_t *) + 1 +
           (h->p.storage == HNSW_STORE_I8 ? 4 : 0);
}

static void chunk_free(chunk *c)
{
    if (c->upper)
        for (uint32_t i = 0; i < c->n; i++)
            free(c->upper[i]);
    free(c->vec);
    free(c->links0);
    free(c->label);
    free(c->upper);
    free(c->level);
    free(c->scale);
    memset(c, 0, sizeof *c);
}

/* Adds the next chunk. Called with mu held. */
static int grow_chunks(hnsw_index *h)
{
    if (h->nchunks == MAX_CHUNKS) return -1;
    int k = h->nchunks;
    uint64_t n = (uint64_t)1 << (h->c0_log2 + k);
    uint64_t first = ((uint64_t)1 << h->c0_log2) * (((uint64_t)1 << k) - 1);
    if (first + n >= NO_ID - 1) return -1;
    chunk c = {.first = (uint32_t)first, .n = (uint32_t)n};
    size_t vb = h->vec_bytes * n;
    c.vec = aligned_alloc(64, (vb + 63) & ~(size_t)63); /* untouched until a slot is used */
    c.links0 = calloc(n * (1 + h->m0), 4);
    c.label = calloc(n, 8);
    c.upper = calloc(n, sizeof(uint32_t *));
    c.level = calloc(n, 1);
    if (h->p.storage == HNSW_STORE_I8) c.scale = calloc(n, sizeof(float));
    if (!c.vec || !c.links0 || !c.label || !c.upper || !c.level ||
        (h->p.storage == HNSW_STORE_I8 && !c.scale)) {
        chunk_free(&c);
        return -1;
    }
    h->chunks[k] = c;
    h->nchunks = k + 1;
    STORE(&h->capacity, (uint32_t)(first + n));
    return 0;
}

/* ---- grace periods ----------------------------------------------------- */

/* Enters an op (search or insert); returns the counter to pass to op_exit. */
static int op_enter(hnsw_index *h)
{
    for (;;) {
        uint64_t e = __atomic_load_n(&h->epoch, __ATOMIC_SEQ_CST);
        int i = (int)(e & 1);
        __atomic_fetch_add(&h->readers[i], 1, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&h->epoch, __ATOMIC_SEQ_CST) == e) return i;
        __atomic_fetch_sub(&h->readers[i], 1, __ATOMIC_SEQ_CST);
    }
}

static void op_exit(hnsw_index *h, int i)
{
    __atomic_fetch_sub(&h->readers[i], 1, __ATOMIC_RELEASE);
}

/* Returns once every op that entered before the call has exited. The caller
 * holds vacuum_mu and is not inside an op. */
static void synchronize(hnsw_index *h)
{
    uint64_t e = __atomic_fetch_add(&h->epoch, 1, __ATOMIC_SEQ_CST);
    int i = (int)(e & 1);
    while (__atomic_load_n(&h->readers[i], __ATOMIC_ACQUIRE) != 0)
        sched_yield();
}

/* ---- label map (open addressing, linear probing; under mu) ------------- */

static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static size_t map_find(const hnsw_index *h, uint64_t label)
{
    size_t mask = h->map_cap - 1;
    for (size_t i = mix64(label) & mask;; i = (i + 1) & mask) {
        uint32_t v = h->map_vals[i];
        if (v == MAP_EMPTY) return SIZE_MAX;
        if (v != MAP_TOMB && h->map_keys[i] == label) return i;
    }
}

static int map_rehash(hnsw_index *h, size_t cap)
{
    uint64_t *keys = malloc(cap * sizeof *keys);
    uint32_t *vals = malloc(cap * sizeof *vals);
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return -1;
    }
    for (size_t i = 0; i < cap; i++)
        vals[i] = MAP_EMPTY;
    for (size_t i = 0; i < h->map_cap; i++) {
        if (h->map_vals[i] >= MAP_TOMB) continue;
        size_t j = mix64(h->map_keys[i]) & (cap - 1);
        while (vals[j] != MAP_EMPTY)
            j = (j + 1) & (cap - 1);
        keys[j] = h->map_keys[i];
        vals[j] = h->map_vals[i];
    }
    free(h->map_keys);
    free(h->map_vals);
    h->map_keys = keys;
    h->map_vals = vals;
    h->map_cap = cap;
    h->map_tomb = 0;
    return 0;
}

/* Makes room for one more key. */
static int map_reserve(hnsw_index *h)
{
    if ((h->map_used + h->map_tomb + 1) * 10 <= h->map_cap * 7) return 0;
    size_t cap = h->map_cap;
    while ((h->map_used + 1) * 10 > cap * 5)
        cap *= 2;
    return map_rehash(h, cap);
}

static void map_put_new(hnsw_index *h, uint64_t label, uint32_t slot)
{
    size_t mask = h->map_cap - 1;
    size_t i = mix64(label) & mask;
    while (h->map_vals[i] < MAP_TOMB)
        i = (i + 1) & mask;
    if (h->map_vals[i] == MAP_TOMB) h->map_tomb--;
    h->map_keys[i] = label;
    h->map_vals[i] = slot;
    h->map_used++;
}

static void map_remove_at(hnsw_index *h, size_t i)
{
    h->map_vals[i] = MAP_TOMB;
    h->map_used--;
    h->map_tomb++;
}

/* ---- search scratch ---------------------------------------------------- */

static void ctx_destroy(search_ctx *c)
{
    if (!c) return;
    free(c->visited);
    free(c->cand);
    free(c->res);
    free(c->tmp);
    free(c->ids);
    free(c->sel);
    free(c->buf_a);
    free(c->buf_b);
    free(c);
}

static int grow_cands(cand **a, size_t *cap, size_t need)
{
    return array_grow(a, cap, need, sizeof **a, 64);
}

static int ctx_fit_visited(search_ctx *c, size_t n)
{
    if (n <= c->nvisited) return 0;
    size_t old = c->nvisited;
    if (array_grow(&c->visited, &c->nvisited, n, sizeof *c->visited, 1024)) return -1;
    memset(c->visited + old, 0, (c->nvisited - old) * sizeof *c->visited);
    return 0;
}

static search_ctx *ctx_get(hnsw_index *h)
{
    pthread_mutex_lock(&h->ctx_mu);
    search_ctx *c = h->ctx_free;
    if (c) h->ctx_free = c->next;
    pthread_mutex_unlock(&h->ctx_mu);
    if (!c) {
        c = calloc(1, sizeof *c);
        if (!c) return NULL;
        size_t idn = (size_t)(h->m0 + 1) * (h->m0 + 1);
        c->ids = malloc(idn * sizeof *c->ids);
        c->sel = malloc(idn * sizeof *c->sel);
        c->buf_a = malloc((size_t)h->p.dim * sizeof(float));
        c->buf_b = malloc((size_t)h->p.dim * sizeof(float));
        if (!c->ids || !c->sel || !c->buf_a || !c->buf_b ||
            grow_cands(&c->cand, &c->cand_cap, 256) || grow_cands(&c->tmp, &c->tmp_cap, idn)) {
            ctx_destroy(c);
            return NULL;
        }
        pthread_mutex_lock(&h->ctx_mu);
        h->nctx++;
        pthread_mutex_unlock(&h->ctx_mu);
    }
    if (ctx_fit_visited(c, LOAD(&h->capacity))) {
        ctx_destroy(c);
        pthread_mutex_lock(&h->ctx_mu);
        h->nctx--;
        pthread_mutex_unlock(&h->ctx_mu);
        return NULL;
    }
    return c;
}

static void ctx_put(hnsw_index *h, search_ctx *c)
{
    pthread_mutex_lock(&h->ctx_mu);
    c->next = h->ctx_free;
    h->ctx_free = c;
    pthread_mutex_unlock(&h->ctx_mu);
}

static inline void visited_reset(search_ctx *c)
{
    if (++c->tag == 0) {
        memset(c->visited, 0, c->nvisited * sizeof *c->visited);
        c->tag = 1;
    }
}

/* Marks id visited; returns 1 when it already was. An id beyond the array
 * (the index grew during this op) grows it; if that fails, treat as visited. */
static inline int visit(search_ctx *c, uint32_t id)
{
    if (id >= c->nvisited && ctx_fit_visited(c, (size_t)id + 1)) return 1;
    if (c->visited[id] == c->tag) return 1;
    c->visited[id] = c->tag;
    return 0;
}

/* ---- heaps: cand is a max-heap (best first), res a min-heap (worst on top) */

static inline void maxheap_push(cand *a, size_t *n, cand x)
{
    size_t i = (*n)++;
    while (i) {
        size_t p = (i - 1) / 2;
        if (a[p].s >= x.s) break;
        a[i] = a[p];
        i = p;
    }
    a[i] = x;
}

static inline void maxheap_pop(cand *a, size_t *n)
{
    cand x = a[--*n];
    size_t i = 0, nn = *n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= nn) break;
        if (c + 1 < nn && a[c + 1].s > a[c].s) c++;
        if (a[c].s <= x.s) break;
        a[i] = a[c];
        i = c;
    }
    a[i] = x;
}

static inline void minheap_push(cand *a, size_t *n, cand x)
{
    size_t i = (*n)++;
    while (i) {
        size_t p = (i - 1) / 2;
        if (a[p].s <= x.s) break;
        a[i] = a[p];
        i = p;
    }
    a[i] = x;
}

/* Replaces the root (the worst) with x and sifts it down. */
static inline void minheap_replace_top(cand *a, size_t n, cand x)
{
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && a[c + 1].s < a[c].s) c++;
        if (a[c].s >= x.s) break;
        a[i] = a[c];
        i = c;
    }
    a[i] = x;
}

static inline void minheap_pop(cand *a, size_t *n)
{
    --*n;
    if (*n) minheap_replace_top(a, *n, a[*n]);
}

/* Pops the min-heap into descending order in place; returns n. */
static size_t minheap_sort_desc(cand *a, size_t n)
{
    size_t total = n;
    while (n > 1) {
        cand top = a[0];
        minheap_pop(a, &n);
        a[n] = top;
    }
    return total;
}

static int cand_cmp_desc(const void *x, const void *y)
{
    float a = ((const cand *)x)->s, b = ((const cand *)y)->s;
    return (a < b) - (a > b);
}

/* ---- graph primitives -------------------------------------------------- */

static inline int list_read(const uint32_t *list, uint32_t *out, int maxn)
{
    int n = (int)(LOAD(list) & F_COUNT);
    if (n > maxn) n = maxn;
    for (int i = 0; i < n; i++)
        out[i] = LOAD(list + 1 + i);
    return n;
}

/* Caller holds the node's lock. */
static void list_write(uint32_t *list, const uint32_t *ids, int n)
{
    for (int i = 0; i < n; i++)
        STORE(list + 1 + i, ids[i]);
    uint32_t hdr = __atomic_load_n(list, __ATOMIC_RELAXED);
    STORE(list, (hdr & ~F_COUNT) | (uint32_t)n);
}

static void set_flag(hnsw_index *h, uint32_t id, uint32_t flag)
{
    pthread_mutex_lock(node_lock(h, id));
    uint32_t *hdr = links0(h, id);
    STORE(hdr, __atomic_load_n(hdr, __ATOMIC_RELAXED) | flag);
    pthread_mutex_unlock(node_lock(h, id));
}

static inline int result_ok(const hnsw_index *h, uint32_t id, const search_filter *f)
{
    if (LOAD(links0(h, id)) & f->exclude) return 0;
    if (f->accept) {
        uint32_t off;
        chunk *c = slot_chunk(h, id, &off);
        return f->accept(c->label[off], f->arg);
    }
    return 1;
}

static inline void prefetch_vec(const hnsw_index *h, uint32_t id, size_t lines)
{
    const char *p = (const char *)slot_vec(h, id);
    for (size_t i = 0; i < lines; i++)
        __builtin_prefetch(p + 64 * i, 0, 3);
}

/* Greedy walk on one upper level towards q. */
static uint32_t greedy(hnsw_index *h, search_ctx *ctx, const float *q, uint32_t cur, float *cur_s,
                       int level)
{
    for (int changed = 1; changed;) {
        changed = 0;
        int n = list_read(list_at(h, cur, level), ctx->ids, h->m);
        for (int i = 0; i < n; i++)
            prefetch_vec(h, ctx->ids[i], 1);
        for (int i = 0; i < n; i++) {
            float s = score(h, q, ctx->ids[i]);
            if (s > *cur_s) {
                *cur_s = s;
                cur = ctx->ids[i];
                changed = 1;
            }
        }
    }
    return cur;
}

/* Best-first search of one level from ep. Leaves up to ef acceptable nodes in
 * ctx->res (a min-heap) and returns their count. Unacceptable nodes (deleted,
 * filtered out) are traversed but not returned. */
static inline __attribute__((always_inline)) size_t
search_layer_st(hnsw_index *h, search_ctx *ctx, const float *q, uint32_t ep, float ep_s, size_t ef,
                int level, const search_filter *f, int check, hnsw_storage st)
{
    size_t nc = 0, nr = 0, lines = (h->vec_bytes + 63) / 64;
    int maxn = level ? h->m : h->m0;
    if (grow_cands(&ctx->res, &ctx->res_cap, ef + 1)) return 0;
    visited_reset(ctx);
    visit(ctx, ep);
    maxheap_push(ctx->cand, &nc, (cand){ep_s, ep});
    if (!check || result_ok(h, ep, f)) minheap_push(ctx->res, &nr, (cand){ep_s, ep});
    uint32_t *nb = ctx->ids;
    while (nc) {
        cand c = ctx->cand[0];
        if (nr >= ef && c.s < ctx->res[0].s) break;
        maxheap_pop(ctx->cand, &nc);
        int n = list_read(list_at(h, c.id, level), nb, maxn), u = 0;
        /* Prefetch the head of every unvisited neighbour, then the whole
         * vector of the next one while scoring the current one: measured
         * best among the variants tried (bench/hnsw.sh). */
        for (int i = 0; i < n; i++) {
            if (visit(ctx, nb[i])) continue;
            nb[u++] = nb[i];
            prefetch_vec(h, nb[i], 4);
        }
        for (int i = 0; i < u; i++) {
            if (i + 1 < u) prefetch_vec(h, nb[i + 1], lines);
            float s = score_st(h, q, nb[i], st);
            if (nr < ef || s > ctx->res[0].s) {
                if (nc + 1 > ctx->cand_cap && grow_cands(&ctx->cand, &ctx->cand_cap, nc + 1))
                    continue;
                maxheap_push(ctx->cand, &nc, (cand){s, nb[i]});
                if (!check || result_ok(h, nb[i], f)) {
                    minheap_push(ctx->res, &nr, (cand){s, nb[i]});
                    if (nr > ef) minheap_pop(ctx->res, &nr);
                }
            }
        }
    }
    return nr;
}

/* search_layer_st specialized per storage type, and without the per-node flag
 * check when no node carries a flag and no filter is set (like hnswlib's
 * no-deletions path): that check is one more cache miss per candidate. */
static size_t search_layer(hnsw_index *h, search_ctx *ctx, const float *q, uint32_t ep, float ep_s,
                           size_t ef, int level, const search_filter *f)
{
    int check = f->accept || __atomic_load_n(&h->flagged, __ATOMIC_ACQUIRE) != 0;
#define SEARCH_CASE(ST)                                                                            \
    return check ? search_layer_st(h, ctx, q, ep, ep_s, ef, level, f, 1, ST)                       \
                 : search_layer_st(h, ctx, q, ep, ep_s, ef, level, f, 0, ST)
    switch (h->p.storage) {
    case HNSW_STORE_F16:
        SEARCH_CASE(HNSW_STORE_F16);
    case HNSW_STORE_I8:
        SEARCH_CASE(HNSW_STORE_I8);
    default:
        SEARCH_CASE(HNSW_STORE_F32);
    }
#undef SEARCH_CASE
}

/* The HNSW selection heuristic: walks cands (sorted by descending similarity
 * to the base node) and keeps one only if it is closer to the base than to
 * every neighbour kept so far, which spreads links over directions and keeps
 * clustered data navigable. Writes up to mmax ids to out. */
static int select_neighbors(hnsw_index *h, search_ctx *ctx, const cand *cands, size_t n, int mmax,
                            uint32_t self, uint32_t *out)
{
    int kept = 0;
    for (size_t i = 0; i < n && kept < mmax; i++) {
        uint32_t id = cands[i].id;
        if (id == self) continue;
        int good = 1;
        if (kept) {
            const float *v = node_f32(h, id, ctx->buf_b);
            for (int j = 0; j < kept && good; j++)
                if (score(h, v, out[j]) > cands[i].s) good = 0;
        }
        if (good) out[kept++] = id;
    }
    return kept;
}

/* Adds new_id to node's list at level, shrinking a full list with the heuristic. */
static void link_back(hnsw_index *h, search_ctx *ctx, uint32_t node, uint32_t new_id, int level)
{
    int mmax = level ? h->m : h->m0;
    pthread_mutex_t *lk = node_lock(h, node);
    pthread_mutex_lock(lk);
    uint32_t *list = list_at(h, node, level);
    int n = (int)(__atomic_load_n(list, __ATOMIC_RELAXED) & F_COUNT);
    for (int i = 0; i < n; i++)
        if (list[1 + i] == new_id) {
            pthread_mutex_unlock(lk);
            return;
        }
    if (n < mmax) {
        STORE(list + 1 + n, new_id);
        STORE(list, (__atomic_load_n(list, __ATOMIC_RELAXED) & ~F_COUNT) | (uint32_t)(n + 1));
        pthread_mutex_unlock(lk);
        return;
    }
    const float *base = node_f32(h, node, ctx->buf_a);
    size_t nc = 0;
    for (int i = 0; i < n; i++) {
        uint32_t id = list[1 + i];
        if (LOAD(links0(h, id)) & F_UNLINK) continue; /* leaving anyway */
        ctx->tmp[nc++] = (cand){score(h, base, id), id};
    }
    ctx->tmp[nc++] = (cand){score(h, base, new_id), new_id};
    qsort(ctx->tmp, nc, sizeof *ctx->tmp, cand_cmp_desc);
    int k = select_neighbors(h, ctx, ctx->tmp, nc, mmax, node, ctx->sel);
    list_write(list, ctx->sel, k);
    pthread_mutex_unlock(lk);
}

static inline uint64_t entry_make(uint32_t id, int level)
{
    return ((uint64_t)(level + 1) << 32) | id;
}

/* Links node id (vector q, top level `level`) into the graph. */
static void graph_insert(hnsw_index *h, search_ctx *ctx, uint32_t id, int level, const float *q)
{
    uint64_t e = LOAD(&h->entry);
    int hold = 0;
    if (e == 0 || level > (int)(e >> 32) - 1) {
        pthread_mutex_lock(&h->entry_mu);
        hold = 1;
        e = LOAD(&h->entry);
        if (e == 0) {
            STORE(&h->entry, entry_make(id, level));
            pthread_mutex_unlock(&h->entry_mu);
            return;
        }
        if (level <= (int)(e >> 32) - 1) {
            pthread_mutex_unlock(&h->entry_mu);
            hold = 0;
        }
    }
    uint32_t cur = (uint32_t)e;
    int top = (int)(e >> 32) - 1;
    float cur_s = score(h, q, cur);
    for (int l = top; l > level; l--)
        cur = greedy(h, ctx, q, cur, &cur_s, l);
    for (int l = level < top ? level : top; l >= 0; l--) {
        static const search_filter construction = {F_UNLINK, NULL, NULL};
        size_t nr =
            search_layer(h, ctx, q, cur, cur_s, (size_t)h->p.ef_construction, l, &construction);
        minheap_sort_desc(ctx->res, nr);
        if (nr) {
            cur = ctx->res[0].id;
            cur_s = ctx->res[0].s;
        }
        uint32_t sel[256];
        int k = select_neighbors(h, ctx, ctx->res, nr, h->m, id, sel);
        pthread_mutex_lock(node_lock(h, id));
        list_write(list_at(h, id, l), sel, k);
        pthread_mutex_unlock(node_lock(h, id));
        for (int i = 0; i < k; i++)
            link_back(h, ctx, sel[i], id, l);
    }
    if (hold) {
        STORE(&h->entry, entry_make(id, level));
        pthread_mutex_unlock(&h->entry_mu);
    }
}

/* ---- vacuum -------------------------------------------------------------- */

/* Rewrites id's lists that point into the vacuum batch. Returns work units. */
static int repair_node(hnsw_index *h, search_ctx *ctx, uint32_t id)
{
    uint32_t hdr = LOAD(links0(h, id));
    if (!(hdr & F_INSERTED) || (hdr & F_UNLINK)) return 1;
    uint32_t off;
    chunk *c = slot_chunk(h, id, &off);
    int top = c->level[off], work = 1;
    for (int l = 0; l <= top; l++) {
        int mmax = l ? h->m : h->m0;
        pthread_mutex_t *lk = node_lock(h, id);
        pthread_mutex_lock(lk);
        uint32_t *list = list_at(h, id, l);
        int n = (int)(__atomic_load_n(list, __ATOMIC_RELAXED) & F_COUNT), gone = 0;
        for (int i = 0; i < n; i++)
            if (LOAD(links0(h, list[1 + i])) & F_UNLINK) gone++;
        if (!gone) {
            pthread_mutex_unlock(lk);
            continue;
        }
        /* candidates: surviving neighbours + the removed neighbours' neighbours */
        visited_reset(ctx);
        visit(ctx, id);
        size_t nc = 0;
        const float *base = node_f32(h, id, ctx->buf_a);
        for (int i = 0; i < n; i++) {
            uint32_t x = list[1 + i];
            int removed = (LOAD(links0(h, x)) & F_UNLINK) != 0;
            if (!removed) {
                if (!visit(ctx, x)) ctx->tmp[nc++] = (cand){score(h, base, x), x};
                continue;
            }
            uint32_t two[512];
            int n2 = list_read(list_at(h, x, l), two, mmax);
            for (int j = 0; j < n2; j++) {
                uint32_t y = two[j];
                if (visit(ctx, y) || (LOAD(links0(h, y)) & F_UNLINK)) continue;
                ctx->tmp[nc++] = (cand){score(h, base, y), y};
            }
        }
        qsort(ctx->tmp, nc, sizeof *ctx->tmp, cand_cmp_desc);
        if (nc > (size_t)(3 * mmax)) nc = (size_t)(3 * mmax);
        int k = select_neighbors(h, ctx, ctx->tmp, nc, mmax, id, ctx->sel);
        list_write(list, ctx->sel, k);
        pthread_mutex_unlock(lk);
        work += 8;
    }
    return work;
}

/* Picks a new entry point when the current one is in the batch. */
static void move_entry_off_batch(hnsw_index *h)
{
    pthread_mutex_lock(&h->entry_mu);
    uint64_t e = LOAD(&h->entry);
    if (e && (LOAD(links0(h, (uint32_t)e)) & F_UNLINK)) {
        uint32_t n = LOAD(&h->next_id), best = NO_ID;
        int best_level = -1;
        for (uint32_t id = 0; id < n; id++) {
            uint32_t hdr = LOAD(links0(h, id));
            if (!(hdr & F_INSERTED) || (hdr & F_UNLINK)) continue;
            uint32_t off;
            chunk *c = slot_chunk(h, id, &off);
            if (c->level[off] > best_level) {
                best_level = c->level[off];
                best = id;
            }
        }
        STORE(&h->entry, best == NO_ID ? 0 : entry_make(best, best_level));
    }
    pthread_mutex_unlock(&h->entry_mu);
}

static size_t vacuum_threshold(const hnsw_index *h)
{
    size_t live = __atomic_load_n(&h->live, __ATOMIC_RELAXED);
    return live / 10 > 64 ? live / 10 : 64;
}

/* Advances the vacuum by about `budget` work units (budget < 0: until no
 * deleted node is left). Caller holds vacuum_mu and is outside any op. */
static void vacuum_run(hnsw_index *h, long budget)
{
    search_ctx *ctx = NULL;
    long work = 0;
    for (;;) {
        if (h->vac_phase == 0) {
            size_t pending = __atomic_load_n(&h->deleted, __ATOMIC_RELAXED);
            if (pending == 0 || (budget >= 0 && pending < vacuum_threshold(h))) break;
            uint32_t n = LOAD(&h->next_id);
            size_t cap = pending + 64, nb = 0;
            uint32_t *batch = malloc(cap * sizeof *batch);
            if (!batch) break;
            for (uint32_t id = 0; id < n && nb < cap; id++) {
                uint32_t hdr = LOAD(links0(h, id));
                if ((hdr & (F_DELETED | F_INSERTED)) == (F_DELETED | F_INSERTED) &&
                    !(hdr & F_UNLINK))
                    batch[nb++] = id;
            }
            if (!nb) {
                free(batch);
                break; /* deletions of inserts still in flight: next time */
            }
            for (size_t i = 0; i < nb; i++)
                set_flag(h, batch[i], F_UNLINK);
            pthread_mutex_lock(&h->mu);
            __atomic_fetch_sub(&h->deleted, nb, __ATOMIC_RELAXED);
            pthread_mutex_unlock(&h->mu);
            if (h->p.use_hnsw) move_entry_off_batch(h);
            synchronize(h); /* every op from now on sees the UNLINK marks */
            h->vac_batch = batch;
            h->vac_n = nb;
            __atomic_store_n(&h->vac_phase, 1, __ATOMIC_RELAXED);
            h->vac_cursor = 0;
            h->vac_end = h->p.use_hnsw ? LOAD(&h->next_id) : 0;
        }
        if (h->vac_cursor < h->vac_end && !ctx && !(ctx = ctx_get(h))) break;
        while (h->vac_cursor < h->vac_end && (budget < 0 || work < budget))
            work += repair_node(h, ctx, h->vac_cursor++);
        if (h->vac_cursor < h->vac_end) break;
        synchronize(h); /* nobody can still be looking at a batch node */
        for (size_t i = 0; i < h->vac_n; i++) {
            uint32_t id = h->vac_batch[i], off;
            chunk *c = slot_chunk(h, id, &off);
            pthread_mutex_lock(node_lock(h, id));
            if (c->upper[off]) {
                __atomic_fetch_sub(&h->upper_bytes, (size_t)c->level[off] * (1 + h->m) * 4,
                                   __ATOMIC_RELAXED);
                free(c->upper[off]);
                c->upper[off] = NULL;
            }
            c->level[off] = 0;
            STORE(links0(h, id), 0u);
            pthread_mutex_unlock(node_lock(h, id));
        }
        __atomic_fetch_sub(&h->flagged, h->vac_n, __ATOMIC_RELEASE);
        pthread_mutex_lock(&h->mu);
        if (h->nfree + h->vac_n > h->free_cap) {
            size_t cap = (h->nfree + h->vac_n) * 2;
            uint32_t *f = realloc(h->free_ids, cap * sizeof *f);
            if (f) {
                h->free_ids = f;
                h->free_cap = cap;
            }
        }
        /* if the free list could not grow, the slots are leaked until free */
        for (size_t i = 0; i < h->vac_n && h->nfree < h->free_cap; i++)
            h->free_ids[h->nfree++] = h->vac_batch[i];
        pthread_mutex_unlock(&h->mu);
        free(h->vac_batch);
        h->vac_batch = NULL;
        h->vac_n = 0;
        __atomic_store_n(&h->vac_phase, 0, __ATOMIC_RELAXED);
        if (budget >= 0) break;
    }
    if (ctx) ctx_put(h, ctx);
}

static void maybe_vacuum(hnsw_index *h)
{
    if (!__atomic_load_n(&h->vac_phase, __ATOMIC_RELAXED) &&
        __atomic_load_n(&h->deleted, __ATOMIC_RELAXED) < vacuum_threshold(h))
        return;
    if (pthread_mutex_trylock(&h->vacuum_mu)) return;
    vacuum_run(h, VACUUM_SLICE);
    pthread_mutex_unlock(&h->vacuum_mu);
}

void hnsw_vacuum(hnsw_index *h)
{
    pthread_mutex_lock(&h->vacuum_mu);
    vacuum_run(h, -1);
    pthread_mutex_unlock(&h->vacuum_mu);
}

/* ---- public API ---------------------------------------------------------- */

void hnsw_params_default(hnsw_params *p, int dim)
{
    memset(p, 0, sizeof *p);
    p->dim = dim;
    p->m = 16;
    p->ef_construction = 200;
    p->ef_search = 64;
    p->use_hnsw = 1;
    p->storage = HNSW_STORE_F32;
    p->initial_capacity = 1024;
    p->seed = 42;
}

hnsw_index *hnsw_new(const hnsw_params *p, char *err, size_t errlen)
{
    char dummy[8];
    if (!err) {
        err = dummy;
        errlen = sizeof dummy;
    }
    if (!p) {
        snprintf(err, errlen, "hnsw: no parameters given");
        return NULL;
    }
    if (p->dim < 1 || p->dim > 65536) {
        snprintf(err, errlen, "hnsw: dimension %d is out of range (1..65536)", p->dim);
        return NULL;
    }
    if (p->use_hnsw && (p->m < 2 || p->m > 100)) {
        snprintf(err, errlen, "hnsw: m = %d is out of range (2..100)", p->m);
        return NULL;
    }
    if (p->use_hnsw && (p->ef_construction < 1 || p->ef_construction > 100000)) {
        snprintf(err, errlen, "hnsw: ef_construction = %d is out of range (1..100000)",
                 p->ef_construction);
        return NULL;
    }
    if (p->ef_search < 1 || p->ef_search > 100000) {
        snprintf(err, errlen, "hnsw: ef_search = %d is out of range (1..100000)", p->ef_search);
        return NULL;
    }
    if (p->storage != HNSW_STORE_F32 && p->storage != HNSW_STORE_F16 &&
        p->storage != HNSW_STORE_I8) {
        snprintf(err, errlen, "hnsw: unknown storage type %d", (int)p->storage);
        return NULL;
    }
    hnsw_index *h = calloc(1, sizeof *h);
    if (!h) goto oom;
    h->p = *p;
    h->m = p->use_hnsw ? p->m : 16;
    h->m0 = 2 * h->m;
    h->level_mult = 1.0 / log((double)h->m);
    h->k = vec_kernels_best();
    size_t d = (size_t)p->dim;
    h->vec_bytes = p->storage == HNSW_STORE_F32 ? d * 4 : p->storage == HNSW_STORE_F16 ? d * 2 : d;
    size_t c0 = p->initial_capacity < 64 ? 64 : p->initial_capacity;
    if (c0 > ((size_t)1 << 20)) c0 = (size_t)1 << 20; /* larger indexes grow by chunks */
    h->c0_log2 = 0;
    while (((size_t)1 << h->c0_log2) < c0)
        h->c0_log2++;
    pthread_mutex_init(&h->mu, NULL);
    pthread_mutex_init(&h->entry_mu, NULL);
    pthread_mutex_init(&h->ctx_mu, NULL);
    pthread_mutex_init(&h->vacuum_mu, NULL);
    for (int i = 0; i < LOCK_STRIPES; i++)
        pthread_mutex_init(&h->locks[i], NULL);
    h->map_cap = 64;
    h->map_keys = malloc(h->map_cap * sizeof *h->map_keys);
    h->map_vals = malloc(h->map_cap * sizeof *h->map_vals);
    if (!h->map_keys || !h->map_vals || grow_chunks(h)) {
        hnsw_free(h);
        goto oom;
    }
    for (size_t i = 0; i < h->map_cap; i++)
        h->map_vals[i] = MAP_EMPTY;
    return h;
oom:
    snprintf(err, errlen, "hnsw: out of memory creating an index of dimension %d", p->dim);
    return NULL;
}

void hnsw_free(hnsw_index *h)
{
    if (!h) return;
    for (int i = 0; i < h->nchunks; i++)
        chunk_free(&h->chunks[i]);
    while (h->ctx_free) {
        search_ctx *c = h->ctx_free;
        h->ctx_free = c->next;
        ctx_destroy(c);
    }
    free(h->map_keys);
    free(h->map_vals);
    free(h->free_ids);
    free(h->vac_batch);
    pthread_mutex_destroy(&h->mu);
    pthread_mutex_destroy(&h->entry_mu);
    pthread_mutex_destroy(&h->ctx_mu);
    pthread_mutex_destroy(&h->vacuum_mu);
    for (int i = 0; i < LOCK_STRIPES; i++)
        pthread_mutex_destroy(&h->locks[i]);
    free(h);
}

static int random_level(hnsw_index *h)
{
    uint64_t n = __atomic_fetch_add(&h->level_counter, 1, __ATOMIC_RELAXED);
    uint64_t r = mix64(h->p.seed * 0x9e3779b97f4a7c15ULL + n + 1);
    double u = ((double)(r >> 11) + 1.0) * (1.0 / 9007199254740992.0); /* (0, 1] */
    int l = (int)(-log(u) * h->level_mult);
    return l > MAX_LEVEL ? MAX_LEVEL : l;
}

/* Marks slot deleted. Called with mu held. */
static void mark_deleted_locked(hnsw_index *h, uint32_t slot)
{
    set_flag(h, slot, F_DELETED);
    __atomic_fetch_sub(&h->live, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&h->deleted, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&h->flagged, 1, __ATOMIC_RELEASE);
}

int hnsw_insert(hnsw_index *h, uint64_t label, const float *vec)
{
    if (!h || !vec) return -1;
    for (int i = 0; i < h->p.dim; i++)
        if (!isfinite(vec[i])) return -1;
    int level = h->p.use_hnsw ? random_level(h) : 0;
    uint32_t *upper = NULL;
    if (level) {
        upper = calloc((size_t)level * (1 + h->m), 4);
        if (!upper) return -1;
    }
    search_ctx *ctx = h->p.use_hnsw ? ctx_get(h) : NULL;
    if (h->p.use_hnsw && !ctx) {
        free(upper);
        return -1;
    }
    int rd = op_enter(h);
    pthread_mutex_lock(&h->mu);
    uint32_t slot;
    int fresh = 0;
    if (map_reserve(h)) goto fail;
    if (h->nfree) {
        slot = h->free_ids[--h->nfree];
    } else {
        if (h->next_id == h->capacity && grow_chunks(h)) goto fail;
        slot = h->next_id;
        fresh = 1;
    }
    size_t at = map_find(h, label);
    if (at != SIZE_MAX) {
        mark_deleted_locked(h, h->map_vals[at]);
        map_remove_at(h, at);
    }
    map_put_new(h, label, slot);
    __atomic_fetch_add(&h->live, 1, __ATOMIC_RELAXED);
    if (upper)
        __atomic_fetch_add(&h->upper_bytes, (size_t)level * (1 + h->m) * 4, __ATOMIC_RELAXED);
    if (fresh) STORE(&h->next_id, slot + 1);
    pthread_mutex_unlock(&h->mu);

    /* The slot is private until linked: no list holds it (a freed slot's grace
     * period has passed) and its header lacks INSERTED, so linear scans and
     * the vacuum skip it; the release stores that link it publish these. */
    uint32_t off;
    chunk *c = slot_chunk(h, slot, &off);
    c->label[off] = label;
    c->level[off] = (uint8_t)level;
    c->upper[off] = upper;
    store_vector(h, slot, vec);

    if (h->p.use_hnsw) graph_insert(h, ctx, slot, level, vec);
    set_flag(h, slot, F_INSERTED);
    op_exit(h, rd);
    if (ctx) ctx_put(h, ctx);
    maybe_vacuum(h);
    return 0;
fail:
    pthread_mutex_unlock(&h->mu);
    op_exit(h, rd);
    if (ctx) ctx_put(h, ctx);
    free(upper);
    return -1;
}

int hnsw_delete(hnsw_index *h, uint64_t label)
{
    if (!h) return -1;
    pthread_mutex_lock(&h->mu);
    size_t at = map_find(h, label);
    if (at == SIZE_MAX) {
        pthread_mutex_unlock(&h->mu);
        return -1;
    }
    mark_deleted_locked(h, h->map_vals[at]);
    map_remove_at(h, at);
    pthread_mutex_unlock(&h->mu);
    maybe_vacuum(h);
    return 0;
}

/* Exact top-k over every live slot. */
static int linear_search(hnsw_index *h, search_ctx *ctx, const float *q, int k,
                         const search_filter *f, hnsw_result *out)
{
    if (grow_cands(&ctx->res, &ctx->res_cap, (size_t)k + 1)) return 0;
    size_t nr = 0;
    uint32_t n = LOAD(&h->next_id);
    for (uint32_t id = 0; id < n; id++) {
        uint32_t hdr = LOAD(links0(h, id));
        if (!(hdr & F_INSERTED) || (hdr & (F_DELETED | F_UNLINK))) continue;
        if (f->accept && !result_ok(h, id, f)) continue;
        float s = score(h, q, id);
        if (nr < (size_t)k)
            minheap_push(ctx->res, &nr, (cand){s, id});
        else if (s > ctx->res[0].s)
            minheap_replace_top(ctx->res, nr, (cand){s, id});
    }
    minheap_sort_desc(ctx->res, nr);
    for (size_t i = 0; i < nr; i++) {
        uint32_t off;
        chunk *c = slot_chunk(h, ctx->res[i].id, &off);
        out[i].label = c->label[off];
        out[i].similarity = ctx->res[i].s;
    }
    return (int)nr;
}

int hnsw_search_filtered(hnsw_index *h, const float *query, int k, int ef,
                         int (*accept)(uint64_t label, void *arg), void *arg, hnsw_result *out)
{
    if (!h || !query || !out || k <= 0) return 0;
    search_filter filt = {F_DELETED | F_UNLINK, accept, arg}, *f = &filt;
    size_t efv = (size_t)(ef > 0 ? ef : h->p.ef_search);
    if (efv < (size_t)k) efv = (size_t)k;
    search_ctx *ctx = ctx_get(h);
    if (!ctx) return 0;
    int rd = op_enter(h), n = 0;
    if (!h->p.use_hnsw) {
        n = linear_search(h, ctx, query, k, f, out);
    } else {
        uint64_t e = LOAD(&h->entry);
        if (e) {
            uint32_t cur = (uint32_t)e;
            float cur_s = score(h, query, cur);
            for (int l = (int)(e >> 32) - 1; l > 0; l--)
                cur = greedy(h, ctx, query, cur, &cur_s, l);
            size_t nr = search_layer(h, ctx, query, cur, cur_s, efv, 0, f);
            minheap_sort_desc(ctx->res, nr);
            for (size_t i = 0; i < nr && i < (size_t)k; i++) {
                uint32_t off;
                chunk *c = slot_chunk(h, ctx->res[i].id, &off);
                out[i].label = c->label[off];
                out[i].similarity = ctx->res[i].s;
                n++;
            }
        }
    }
    op_exit(h, rd);
    ctx_put(h, ctx);
    return n;
}

int hnsw_search(hnsw_index *h, const float *query, int k, int ef, hnsw_result *out)
{
    return hnsw_search_filtered(h, query, k, ef, NULL, NULL, out);
}

size_t hnsw_count(const hnsw_index *h)
{
    return h ? __atomic_load_n(&h->live, __ATOMIC_RELAXED) : 0;
}

void hnsw_get_stats(hnsw_index *h, hnsw_stats *st)
{
    memset(st, 0, sizeof *st);
    if (!h) return;
    pthread_mutex_lock(&h->mu);
    st->live = h->live;
    st->free_slots = h->nfree;
    st->slots_used = h->next_id;
    st->capacity = h->capacity;
    st->upper_bytes = h->upper_bytes;
    pthread_mutex_unlock(&h->mu);
    st->deleted = st->slots_used - st->free_slots - st->live;
    uint64_t e = LOAD(&h->entry);
    st->max_level = e ? (int)(e >> 32) - 1 : -1;
    st->bytes_per_slot = slot_bytes(h);
    st->memory_bytes = hnsw_memory_bytes(h);
}

/* Bytes in use: slots handed out so far (a chunk's untouched tail is only
 * reserved address space, not resident), upper link lists, the label map, the
 * free list and the per-thread search scratch. */
size_t hnsw_memory_bytes(const hnsw_index *h)
{
    if (!h) return 0;
    size_t total = sizeof *h;
    hnsw_index *hm = (hnsw_index *)h;
    pthread_mutex_lock(&hm->mu);
    total += (size_t)h->next_id * slot_bytes(h) + h->upper_bytes;
    total += h->map_cap * (sizeof(uint64_t) + sizeof(uint32_t)) + h->free_cap * sizeof(uint32_t);
    size_t visited = h->next_id * sizeof(uint16_t);
    pthread_mutex_unlock(&hm->mu);
    pthread_mutex_lock(&hm->ctx_mu);
    total += h->nctx * (visited + sizeof(search_ctx));
    pthread_mutex_unlock(&hm->ctx_mu);
    return total;
}

/* ---- snapshots ------------------------------------------------------------
 * Stream layout (native byte order; a snapshot is read back by the machine
 * that wrote it): snap_header, then per-slot arrays for slots [0, next_id) in
 * id order (vectors, level-0 lists with their header word, labels, levels,
 * int8 scales when I8), then the upper lists of every node with level > 0 in
 * id order (level * (1 + m) words each), then the free list (nfree ids). */

#define SNAP_MAGIC 0x31534e48u /* "HNS1" */
#define SNAP_VERSION 1

typedef struct snap_header {
    uint32_t magic, version;
    uint32_t dim, m, storage, use_hnsw;
    uint32_t next_id, nfree;
    uint64_t entry, level_counter;
} snap_header;

enum { ARR_VEC, ARR_LINKS0, ARR_LABEL, ARR_LEVEL, ARR_SCALE };

static unsigned char *chunk_array(const hnsw_index *h, chunk *c, int which, size_t *elem)
{
    switch (which) {
    case ARR_VEC:
        *elem = h->vec_bytes;
        return c->vec;
    case ARR_LINKS0:
        *elem = (size_t)(1 + h->m0) * 4;
        return (unsigned char *)c->links0;
    case ARR_LABEL:
        *elem = 8;
        return (unsigned char *)c->label;
    case ARR_LEVEL:
        *elem = 1;
        return c->level;
    default:
        *elem = 4;
        return (unsigned char *)c->scale;
    }
}

/* Writes (w) or reads (r) one per-slot array for slots [0, n), chunk by chunk. */
static int stream_array(hnsw_index *h, int which, uint32_t n, hnsw_write_fn w, hnsw_read_fn r,
                        void *ctx)
{
    for (int k = 0; k < h->nchunks && h->chunks[k].first < n; k++) {
        chunk *c = &h->chunks[k];
        uint32_t cnt = n - c->first < c->n ? n - c->first : c->n;
        size_t elem;
        unsigned char *base = chunk_array(h, c, which, &elem);
        if (w ? w(ctx, base, (size_t)cnt * elem) : r(ctx, base, (size_t)cnt * elem)) return -1;
    }
    return 0;
}

int hnsw_save(hnsw_index *h, hnsw_write_fn w, void *ctx)
{
    hnsw_vacuum(h);
    snap_header hd = {.magic = SNAP_MAGIC,
                      .version = SNAP_VERSION,
                      .dim = (uint32_t)h->p.dim,
                      .m = (uint32_t)h->m,
                      .storage = (uint32_t)h->p.storage,
                      .use_hnsw = h->p.use_hnsw ? 1u : 0u,
                      .next_id = h->next_id,
                      .nfree = (uint32_t)h->nfree,
                      .entry = h->entry,
                      .level_counter = h->level_counter};
    uint32_t n = h->next_id;
    if (w(ctx, &hd, sizeof hd) || stream_array(h, ARR_VEC, n, w, NULL, ctx) ||
        stream_array(h, ARR_LINKS0, n, w, NULL, ctx) ||
        stream_array(h, ARR_LABEL, n, w, NULL, ctx) ||
        stream_array(h, ARR_LEVEL, n, w, NULL, ctx) ||
        (h->p.storage == HNSW_STORE_I8 && stream_array(h, ARR_SCALE, n, w, NULL, ctx)))
        return -1;
    for (uint32_t id = 0; id < n; id++) {
        uint32_t off;
        chunk *c = slot_chunk(h, id, &off);
        if (c->level[off] &&
            w(ctx, c->upper[off], (size_t)c->level[off] * (1 + h->m) * sizeof(uint32_t)))
            return -1;
    }
    return h->nfree ? w(ctx, h->free_ids, h->nfree * sizeof(uint32_t)) : 0;
}

/* Checks one list of node id at level l: count within mmax, every target a
 * node that was inserted and reaches level l (a search reads the target's
 * list at l next). */
static int snap_list_ok(const hnsw_index *h, const uint32_t *list, int l, uint32_t n)
{
    uint32_t cnt = list[0] & F_COUNT;
    if (cnt > (uint32_t)(l ? h->m : h->m0)) return 0;
    for (uint32_t i = 0; i < cnt; i++) {
        uint32_t t = list[1 + i], off;
        if (t >= n) return 0;
        chunk *c = slot_chunk(h, t, &off);
        if (!(c->links0[(size_t)off * (1 + h->m0)] & F_INSERTED) || c->level[off] < l) return 0;
    }
    return 1;
}

static int node_level(const hnsw_index *h, uint32_t id)
{
    uint32_t off;
    chunk *c = slot_chunk(h, id, &off);
    return c->level[off];
}

hnsw_index *hnsw_load(const hnsw_params *p, hnsw_read_fn r, void *ctx, hnsw_relabel_fn relabel,
                      void *arg, char *err, size_t errlen)
{
    snap_header hd;
    if (r(ctx, &hd, sizeof hd)) {
        snprintf(err, errlen, "hnsw snapshot: truncated header");
        return NULL;
    }
    if (hd.magic != SNAP_MAGIC || hd.version != SNAP_VERSION) {
        snprintf(err, errlen, "hnsw snapshot: not a version-%d graph", SNAP_VERSION);
        return NULL;
    }
    if ((int)hd.dim != p->dim || hd.use_hnsw != (p->use_hnsw ? 1u : 0u) ||
        (p->use_hnsw && (int)hd.m != p->m) || hd.storage != (uint32_t)p->storage) {
        snprintf(err, errlen,
                 "hnsw snapshot: written for dim %u, m %u, storage %u, use_hnsw %u; the index "
                 "has dim %d, m %d, storage %d, use_hnsw %d",
                 hd.dim, hd.m, hd.storage, hd.use_hnsw, p->dim, p->m, (int)p->storage,
                 p->use_hnsw ? 1 : 0);
        return NULL;
    }
    if (hd.next_id >= (1u << 31) || hd.nfree > hd.next_id) {
        snprintf(err, errlen, "hnsw snapshot: impossible slot counts");
        return NULL;
    }
    hnsw_params q = *p;
    if (q.initial_capacity < hd.next_id) q.initial_capacity = hd.next_id;
    hnsw_index *h = hnsw_new(&q, err, errlen);
    if (!h) return NULL;
    uint32_t n = hd.next_id;
    const char *why = NULL;
    unsigned char *seen = NULL;
    while (h->capacity < n)
        if (grow_chunks(h)) {
            why = "out of memory";
            goto fail;
        }
    if (stream_array(h, ARR_VEC, n, NULL, r, ctx) || stream_array(h, ARR_LINKS0, n, NULL, r, ctx) ||
        stream_array(h, ARR_LABEL, n, NULL, r, ctx) || stream_array(h, ARR_LEVEL, n, NULL, r, ctx) ||
        (p->storage == HNSW_STORE_I8 && stream_array(h, ARR_SCALE, n, NULL, r, ctx))) {
        why = "truncated slot data";
        goto fail;
    }
    /* headers and levels first: the list checks below look at their targets */
    int top = -1;
    for (uint32_t id = 0; id < n; id++) {
        uint32_t off;
        chunk *c = slot_chunk(h, id, &off);
        uint32_t hdr = c->links0[(size_t)off * (1 + h->m0)], flags = hdr & ~F_COUNT;
        int lvl = c->level[off];
        if (flags == 0 ? (hdr != 0 || lvl != 0)
                       : (flags != F_INSERTED && flags != (F_INSERTED | F_DELETED))) {
            why = "a node has impossible flags";
            goto fail;
        }
        if (lvl > MAX_LEVEL || (!p->use_hnsw && (lvl || (hdr & F_COUNT)))) {
            why = "a node has an impossible level";
            goto fail;
        }
        if (flags && lvl > top) top = lvl;
    }
    for (uint32_t id = 0; id < n; id++) {
        uint32_t off;
        chunk *c = slot_chunk(h, id, &off);
        int lvl = c->level[off];
        if (!lvl) continue;
        size_t words = (size_t)lvl * (1 + h->m);
        c->upper[off] = calloc(words, sizeof(uint32_t));
        if (!c->upper[off]) {
            why = "out of memory";
            goto fail;
        }
        h->upper_bytes += words * sizeof(uint32_t);
        if (r(ctx, c->upper[off], words * sizeof(uint32_t))) {
            why = "truncated upper lists";
            goto fail;
        }
    }
    for (uint32_t id = 0; id < n; id++) {
        uint32_t off;
        chunk *c = slot_chunk(h, id, &off);
        if (!(c->links0[(size_t)off * (1 + h->m0)] & F_INSERTED)) continue;
        for (int l = 0; l <= c->level[off]; l++)
            if (!snap_list_ok(h, list_at(h, id, l), l, n) ||
                (l && (list_at(h, id, l)[0] & ~F_COUNT))) {
                why = "a link list points outside the graph";
                goto fail;
            }
    }
    /* entry point: an inserted node on the top level, present iff any node is */
    uint32_t eid = (uint32_t)hd.entry;
    int elvl = (int)(hd.entry >> 32) - 1;
    if (hd.entry == 0 ? (p->use_hnsw && top >= 0)
                      : (!p->use_hnsw || eid >= n || elvl != top ||
                         !(LOAD(links0(h, eid)) & F_INSERTED) || node_level(h, eid) != elvl)) {
        why = "the entry point is not a node on the top level";
        goto fail;
    }
    seen = calloc(n ? n : 1, 1);
    if (hd.nfree > h->free_cap) {
        h->free_ids = malloc(hd.nfree * sizeof(uint32_t));
        h->free_cap = hd.nfree;
    }
    if (!seen || (hd.nfree && !h->free_ids)) {
        why = "out of memory";
        goto fail;
    }
    if (hd.nfree && r(ctx, h->free_ids, hd.nfree * sizeof(uint32_t))) {
        why = "truncated free list";
        goto fail;
    }
    for (uint32_t i = 0; i < hd.nfree; i++) {
        uint32_t id = h->free_ids[i];
        if (id >= n || seen[id] || LOAD(links0(h, id)) != 0) {
            why = "the free list names a node in use";
            goto fail;
        }
        seen[id] = 1;
    }
    h->nfree = hd.nfree;
    /* labels: the live nodes go into the map under their (new) labels */
    for (uint32_t id = 0; id < n; id++) {
        uint32_t off;
        chunk *c = slot_chunk(h, id, &off);
        uint32_t *hdr = &c->links0[(size_t)off * (1 + h->m0)];
        if (!(*hdr & F_INSERTED)) continue;
        uint64_t label = c->label[off];
        if (!(*hdr & F_DELETED) && relabel) label = relabel(arg, label);
        if ((*hdr & F_DELETED) || label == HNSW_DROP) {
            *hdr |= F_DELETED;
            h->deleted++;
            h->flagged++;
            continue;
        }
        if (map_reserve(h)) {
            why = "out of memory";
            goto fail;
        }
        if (map_find(h, label) != SIZE_MAX) {
            why = "two nodes carry the same label";
            goto fail;
        }
        c->label[off] = label;
        map_put_new(h, label, id);
        h->live++;
    }
    free(seen);
    h->next_id = n;
    h->entry = hd.entry;
    h->level_counter = hd.level_counter;
    return h;
fail:
    snprintf(err, errlen, "hnsw snapshot: %s", why);
    free(seen);
    hnsw_free(h);
    return NULL;
}
