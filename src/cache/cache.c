/* cache.c - the semantic cache core (see cache.h).
 *
 * Data. Entries live in one slot array; a slot is reused after its entry is
 * removed and its generation bumped, and the HNSW label of an entry is
 * (generation << 32 | slot), so a stale label can never resolve to the slot's
 * next occupant. Around the slots: an open-addressing table exact key -> slot,
 * a table partition key -> partition (each with its own HNSW index, created
 * on its first vector), the insertion-order list (expiry sweeps and compaction
 * walk it oldest first) and a binary min-heap that orders entries for
 * eviction: fifo by insertion tick, lru by last-use tick, lfu by (uses,
 * last-use tick). One heap serves all three policies; a hit is O(log n).
 *
 * Locking. `lock` (rwlock, writer-preferring so stores are not starved)
 * guards the slots and tables: lookups hold it shared, structural changes
 * exclusive, briefly. `store_mu` serialises the bookkeeping of writers (store,
 * clear, import, compaction, purge) and the file appends. The slow part of a
 * store, the HNSW insert, runs after store_mu is released, so stores overlap
 * each other and searches (the index is concurrent); `index_lock`, held shared
 * by such an insert, keeps the index from being freed under it (clear takes it
 * exclusive). `policy_mu` guards the heap when a lookup (holding `lock`
 * shared) refreshes an entry.
 * Lock order: store_mu -> index_lock -> lock -> policy_mu. */
#include "cache/cache.h"
#include "cache/backend.h"
#include "cache/entries.h"
#include "cache/persist.h"
#include "cache/snapshot.h"
#include "core/array.h"
#include "core/codec.h"
#include "core/progress.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/util.h"
#include "core/vec.h"
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NIL UINT32_MAX
#define MAX_CANDIDATES 512
#define FLAT_MAX 512
/* Index builds of at least this many vectors show their progress. */
#define PROGRESS_MIN_VECTORS 1000

typedef struct entry {
    uint8_t exact[32];
    uint64_t tick; /* policy order: insertion (fifo) or last use (lru, lfu tie-break) */
    int64_t inserted_at, expires_at;
    uint64_t log_offset; /* INSERT record in the persist file */
    uint64_t vec_hash;   /* cache_snap_vec_hash of the vector: matches snapshot nodes */
    char *body;          /* NUL-terminated */
    char *query;
    uint16_t *context; /* n_context * dim half floats */
    unsigned char *ctx_blob; /* conversation match data (ctx_blob_build), NULL = none */
    uint32_t ctx_blob_len;
    uint32_t body_len, log_size;
    uint32_t partition, tenant;
    uint32_t gen, freq, heap_pos;
    uint32_t prev, next; /* insertion order; next also links free slots */
    uint16_t n_context;
    uint8_t live, has_vec;
    uint8_t deferred; /* has_vec, but the vector is not in its partition's store yet (open) */
} entry;

/* A partition's vectors live in a flat array while it is small (an exact
 * scan, and no per-index cost: an HNSW index carries ~160 KB of lock stripes,
 * and a deployment can have thousands of partitions: tenants x models x system
 * prompts x sampling settings x conversation shapes). At FLAT_MAX vectors the
 * partition is promoted to its own HNSW index. */
typedef struct partition {
    uint8_t key[32];
    uint32_t tenant;
    size_t count;
    hnsw_index *index;
    float *flat;
    uint64_t *flat_labels;
    uint32_t flat_n, flat_cap;
} partition;

struct cache {
    cache_options o;
    hnsw_params hp;
    pthread_rwlock_t lock;
    pthread_mutex_t store_mu, policy_mu;
    pthread_rwlock_t index_lock; /* shared: a vector insert in flight; exclusive: free indexes */

    entry *slots;
    uint32_t n_slots, cap_slots, free_head, live;
    uint32_t order_head, order_tail;
    uint32_t *exact_tab; /* slot + 1, 0 = empty */
    size_t exact_cap;
    partition **parts;
    uint32_t n_parts, cap_parts;
    uint32_t *part_tab; /* partition id + 1 */
    size_t part_cap;
    char **tenants;
    uint32_t *tenant_live; /* live entries per tenant id (max_entries_per_tenant) */
    uint32_t n_tenants, cap_tenants;
    uint32_t *heap;
    uint64_t tick;
    size_t bytes;

    cache_log *log;
    uint64_t live_log_bytes;
    char *snap_path;  /* PERSIST_PATH.hnsw */
    int loading;      /* replay in progress: vectors are deferred (attach_vectors) */
    int index_dirty;  /* an index changed since the snapshot was read or written */
    size_t index_restored, index_inserted; /* at open (cache_stats) */

    _Atomic uint64_t hits, misses, exact_hits, semantic_hits, stores, evictions, expirations;
};

/* ---- small helpers ---- */

static int64_t now_of(cache *c)
{
    return c->o.clock ? c->o.clock(c->o.clock_ctx) : util_unix_time();
}

static int is_expired(const entry *e, int64_t now)
{
    return e->expires_at && now >= e->expires_at;
}

static uint64_t key_hash(const uint8_t k[32])
{
    uint64_t h;
    memcpy(&h, k, 8); /* keys are SHA-256 digests: any 8 bytes are uniform */
    return h;
}

/* ---- flat vector store of a small partition (lock held exclusively to change) ---- */

static int flat_reserve(partition *p, int dim)
{
    if (p->flat_n < p->flat_cap) return 0;
    size_t cap = array_next_cap(p->flat_cap, (size_t)p->flat_n + 1, 8);
    if (!cap || cap > UINT32_MAX || array_resize(&p->flat, cap, (size_t)dim * sizeof *p->flat) ||
        array_resize(&p->flat_labels, cap, sizeof *p->flat_labels))
        return -1;
    p->flat_cap = (uint32_t)cap;
    return 0;
}

static void flat_push(partition *p, int dim, uint64_t label, const float *v)
{
    memcpy(p->flat + (size_t)p->flat_n * dim, v, (size_t)dim * sizeof *v);
    p->flat_labels[p->flat_n++] = label;
}

static void flat_del(partition *p, int dim, uint64_t label)
{
    for (uint32_t i = 0; i < p->flat_n; i++) {
        if (p->flat_labels[i] != label) continue;
        uint32_t last = --p->flat_n;
        if (i != last) {
            p->flat_labels[i] = p->flat_labels[last];
            memcpy(p->flat + (size_t)i * dim, p->flat + (size_t)last * dim, (size_t)dim * 4);
        }
        return;
    }
}

static void flat_free(partition *p)
{
    free(p->flat);
    free(p->flat_labels);
    p->flat = NULL;
    p->flat_labels = NULL;
    p->flat_n = p->flat_cap = 0;
}

/* Exact top-k of a flat store by descending similarity (insertion into out). */
static int flat_search(const partition *p, int dim, const float *q, int k, hnsw_result *out)
{
    const vec_kernels *kern = vec_kernels_best();
    int n = 0;
    for (uint32_t i = 0; i < p->flat_n; i++) {
        float sim = kern->dot_f32(q, p->flat + (size_t)i * dim, (size_t)dim);
        if (n == k && sim <= out[k - 1].similarity) continue;
        int j = n < k ? n++ : k - 1;
        while (j > 0 && out[j - 1].similarity < sim) {
            out[j] = out[j - 1];
            j--;
        }
        out[j].label = p->flat_labels[i];
        out[j].similarity = sim;
    }
    return n;
}

/* ---- exact key table (linear probing, backward-shift deletion) ---- */

static uint32_t exact_find(const cache *c, const uint8_t key[32])
{
    if (!c->exact_cap) return NIL;
    size_t mask = c->exact_cap - 1;
    for (size_t i = key_hash(key) & mask;; i = (i + 1) & mask) {
        uint32_t v = c->exact_tab[i];
        if (!v) return NIL;
        if (!memcmp(c->slots[v - 1].exact, key, 32)) return v - 1;
    }
}

static void exact_place(uint32_t *tab, size_t cap, const entry *slots, uint32_t slot)
{
    size_t mask = cap - 1;
    size_t i = key_hash(slots[slot].exact) & mask;
    while (tab[i])
        i = (i + 1) & mask;
    tab[i] = slot + 1;
}

static int exact_put(cache *c, uint32_t slot)
{
    if ((size_t)(c->live + 1) * 2 > c->exact_cap) {
        size_t cap = c->exact_cap ? c->exact_cap * 2 : 1024;
        uint32_t *tab = calloc(cap, sizeof *tab);
        if (!tab) return -1;
        for (size_t i = 0; i < c->exact_cap; i++)
            if (c->exact_tab[i]) exact_place(tab, cap, c->slots, c->exact_tab[i] - 1);
        free(c->exact_tab);
        c->exact_tab = tab;
        c->exact_cap = cap;
    }
    exact_place(c->exact_tab, c->exact_cap, c->slots, slot);
    return 0;
}

static void exact_del(cache *c, uint32_t slot)
{
    size_t mask = c->exact_cap - 1, i = key_hash(c->slots[slot].exact) & mask;
    while (c->exact_tab[i] != slot + 1)
        i = (i + 1) & mask;
    c->exact_tab[i] = 0;
    for (size_t j = (i + 1) & mask; c->exact_tab[j]; j = (j + 1) & mask) {
        size_t home = key_hash(c->slots[c->exact_tab[j] - 1].exact) & mask;
        /* move j back into the hole when its home is not in (i, j] */
        if (((j - home) & mask) >= ((j - i) & mask)) {
            c->exact_tab[i] = c->exact_tab[j];
            c->exact_tab[j] = 0;
            i = j;
        }
    }
}

/* ---- partitions and tenants ---- */

static uint32_t part_find(const cache *c, const uint8_t key[32])
{
    if (!c->part_cap) return NIL;
    size_t mask = c->part_cap - 1;
    for (size_t i = key_hash(key) & mask;; i = (i + 1) & mask) {
        uint32_t v = c->part_tab[i];
        if (!v) return NIL;
        if (!memcmp(c->parts[v - 1]->key, key, 32)) return v - 1;
    }
}

static uint32_t part_get(cache *c, const uint8_t key[32], uint32_t tenant)
{
    uint32_t id = part_find(c, key);
    if (id != NIL) return id;
    if ((size_t)(c->n_parts + 1) * 2 > c->part_cap) {
        size_t cap = c->part_cap ? c->part_cap * 2 : 64;
        uint32_t *tab = calloc(cap, sizeof *tab);
        if (!tab) return NIL;
        for (uint32_t p = 0; p < c->n_parts; p++) {
            size_t i = key_hash(c->parts[p]->key) & (cap - 1);
            while (tab[i])
                i = (i + 1) & (cap - 1);
            tab[i] = p + 1;
        }
        free(c->part_tab);
        c->part_tab = tab;
        c->part_cap = cap;
    }
    if (c->n_parts == c->cap_parts) {
        size_t cap = array_next_cap(c->cap_parts, (size_t)c->n_parts + 1, 16);
        if (!cap || cap >= NIL || array_resize(&c->parts, cap, sizeof *c->parts)) return NIL;
        c->cap_parts = (uint32_t)cap;
    }
    partition *p = calloc(1, sizeof *p);
    if (!p) return NIL;
    memcpy(p->key, key, 32);
    p->tenant = tenant;
    id = c->n_parts++;
    c->parts[id] = p;
    size_t i = key_hash(key) & (c->part_cap - 1);
    while (c->part_tab[i])
        i = (i + 1) & (c->part_cap - 1);
    c->part_tab[i] = id + 1;
    return id;
}

/* Linear in the number of tenants: they are API keys, a handful to hundreds. */
static uint32_t tenant_get(cache *c, const char *name)
{
    for (uint32_t i = 0; i < c->n_tenants; i++)
        if (!strcmp(c->tenants[i], name)) return i;
    if (c->n_tenants == c->cap_tenants) {
        size_t cap = array_next_cap(c->cap_tenants, (size_t)c->n_tenants + 1, 8);
        if (!cap || cap >= NIL || array_resize(&c->tenants, cap, sizeof *c->tenants) ||
            array_resize(&c->tenant_live, cap, sizeof *c->tenant_live))
            return NIL;
        c->cap_tenants = (uint32_t)cap;
    }
    char *s = strdup(name);
    if (!s) return NIL;
    c->tenants[c->n_tenants] = s;
    c->tenant_live[c->n_tenants] = 0;
    return c->n_tenants++;
}

/* ---- eviction heap ---- */

static int heap_less(const cache *c, uint32_t a, uint32_t b)
{
    const entry *x = &c->slots[a], *y = &c->slots[b];
    if (c->o.eviction == CACHE_EVICT_LFU && x->freq != y->freq) return x->freq < y->freq;
    return x->tick < y->tick;
}

static void heap_set(cache *c, uint32_t pos, uint32_t slot)
{
    c->heap[pos] = slot;
    c->slots[slot].heap_pos = pos;
}

static void heap_up(cache *c, uint32_t pos)
{
    uint32_t s = c->heap[pos];
    while (pos > 0) {
        uint32_t parent = (pos - 1) / 2;
        if (!heap_less(c, s, c->heap[parent])) break;
        heap_set(c, pos, c->heap[parent]);
        pos = parent;
    }
    heap_set(c, pos, s);
}

static void heap_down(cache *c, uint32_t pos, uint32_t n)
{
    uint32_t s = c->heap[pos];
    for (;;) {
        uint32_t l = 2 * pos + 1;
        if (l >= n) break;
        uint32_t child = l + 1 < n && heap_less(c, c->heap[l + 1], c->heap[l]) ? l + 1 : l;
        if (!heap_less(c, c->heap[child], s)) break;
        heap_set(c, pos, c->heap[child]);
        pos = child;
    }
    heap_set(c, pos, s);
}

/* The heap holds exactly the live entries: n = c->live before the removal. */
static void heap_remove(cache *c, uint32_t slot, uint32_t n)
{
    uint32_t pos = c->slots[slot].heap_pos, last = n - 1;
    if (pos == last) return;
    uint32_t moved = c->heap[last];
    heap_set(c, pos, moved);
    heap_down(c, pos, last);
    heap_up(c, c->slots[moved].heap_pos);
}

/* A hit: lru/lfu move the entry away from eviction. Called with lock shared. */
static void touch(cache *c, uint32_t slot)
{
    if (c->o.eviction == CACHE_EVICT_FIFO) return;
    pthread_mutex_lock(&c->policy_mu);
    entry *e = &c->slots[slot];
    e->tick = ++c->tick;
    e->freq++;
    heap_down(c, e->heap_pos, c->live);
    pthread_mutex_unlock(&c->policy_mu);
}

/* ---- entries ---- */

static void order_unlink(cache *c, uint32_t s)
{
    entry *e = &c->slots[s];
    if (e->prev != NIL)
        c->slots[e->prev].next = e->next;
    else
        c->order_head = e->next;
    if (e->next != NIL)
        c->slots[e->next].prev = e->prev;
    else
        c->order_tail = e->prev;
}

static size_t entry_bytes(const cache *c, const entry *e)
{
    return sizeof(entry) + e->body_len + 1 + (e->query ? strlen(e->query) + 1 : 0) +
           (size_t)e->n_context * (size_t)c->o.dim * 2 + e->ctx_blob_len;
}

static uint64_t label_of(const cache *c, uint32_t slot)
{
    return (uint64_t)c->slots[slot].gen << 32 | slot;
}

/* Removes a live entry (lock held exclusively). */
static void entry_remove(cache *c, uint32_t s)
{
    entry *e = &c->slots[s];
    partition *p = c->parts[e->partition];
    if (e->has_vec && !e->deferred && p->index) {
        hnsw_delete(p->index, label_of(c, s));
        c->index_dirty = 1;
    } else if (e->has_vec && !e->deferred) {
        flat_del(p, c->o.dim, label_of(c, s));
    }
    p->count--;
    c->tenant_live[e->tenant]--;
    exact_del(c, s);
    heap_remove(c, s, c->live);
    order_unlink(c, s);
    c->bytes -= entry_bytes(c, e);
    c->live_log_bytes -= e->log_size;
    free(e->body);
    free(e->query);
    free(e->context);
    free(e->ctx_blob);
    uint32_t gen = e->gen + 1;
    memset(e, 0, sizeof *e);
    e->gen = gen;
    e->next = c->free_head;
    c->free_head = s;
    c->live--;
}

/* Removes expired entries from the oldest end, at most limit (0 = all). With
 * a fixed TTL insertion order is expiry order; imported entries with their own
 * expiry are caught by cache_purge_expired's full sweep. Lock held exclusively. */
static size_t expire_oldest(cache *c, int64_t now, size_t limit)
{
    size_t n = 0;
    for (uint32_t s = c->order_head; s != NIL && (!limit || n < limit);) {
        uint32_t next = c->slots[s].next;
        if (!is_expired(&c->slots[s], now)) {
            if (limit) break;
        } else {
            entry_remove(c, s);
            n++;
        }
        s = next;
    }
    c->expirations += n;
    return n;
}

void cache_options_default(cache_options *o, int dim)
{
    memset(o, 0, sizeof *o);
    o->dim = dim;
    o->similarity_threshold = 0.8f;
    o->context_similarity_threshold = 0.9f;
    o->eviction = CACHE_EVICT_FIFO;
    hnsw_params_default(&o->index, dim);
    o->compact_min_bytes = 64u << 20;
}

/* Moves a partition's flat vectors into a new HNSW index (store_mu held).
 * The build runs without the lock (only store_mu holders change the flat
 * store, and lookups keep scanning it meanwhile); the switch is one swap. */
static void promote(cache *c, partition *p)
{
    char err[200];
    hnsw_index *h = hnsw_new(&c->hp, err, sizeof err);
    for (uint32_t i = 0; h && i < p->flat_n; i++) {
        if (hnsw_insert(h, p->flat_labels[i], p->flat + (size_t)i * c->o.dim)) {
            snprintf(err, sizeof err, "out of memory");
            hnsw_free(h);
            h = NULL;
        }
    }
    if (!h) {
        log_warn("cache: cannot build a vector index for a partition (%s); it stays an exact scan",
                 err);
        return;
    }
    pthread_rwlock_wrlock(&c->lock);
    p->index = h;
    flat_free(p);
    c->index_dirty = 1;
    pthread_rwlock_unlock(&c->lock);
}

/* An HNSW insert still to be done for a stored entry. */
typedef struct pending_vector {
    hnsw_index *index; /* NULL = nothing to do */
    uint64_t label;
    const float *vec;
} pending_vector;

/* Inserts a stored entry's vector into its partition's index. Runs without
 * store_mu so stores proceed in parallel (the index is concurrent), but with
 * index_lock held shared (taken under store_mu) so the index cannot be freed
 * meanwhile; releases it. If the entry was evicted while its vector was on the
 * way in, the vector is taken back out, so the index never keeps a node for a
 * dead entry. */
static void finish_vector(cache *c, pending_vector *pv)
{
    int rc = hnsw_insert(pv->index, pv->label, pv->vec);
    uint32_t slot = (uint32_t)pv->label, gen = (uint32_t)(pv->label >> 32);
    if (rc)
        pthread_rwlock_wrlock(&c->lock); /* rare: has_vec changes */
    else
        pthread_rwlock_rdlock(&c->lock);
    int live = slot < c->n_slots && c->slots[slot].live && c->slots[slot].gen == gen;
    if (rc && live) c->slots[slot].has_vec = 0; /* still served by the exact tier */
    pthread_rwlock_unlock(&c->lock);
    if (!rc && !live) hnsw_delete(pv->index, pv->label);
    if (rc) log_warn("cache: out of memory in the vector index; entry kept for exact hits only");
    pthread_rwlock_unlock(&c->index_lock);
    pv->index = NULL;
}

/* ---- conversation match data ----
 * Blob: u8 has_hash, hash[32] (cache_context_hash), roles[n_context], then
 * n_context NUL-terminated texts (user/tool turns; "" for assistant turns). */

int cache_context_hash(int n_context, const char *const *texts, const size_t *lens,
                       const unsigned char *roles, unsigned char out[32])
{
    if (!texts || !lens || !roles || n_context <= 0) return 0;
    buf b;
    buf_init(&b);
    int n = 0;
    buf_puts(&b, "semrouter-answers-v1");
    for (int i = 0; i < n_context; i++) {
        if (roles[i] != CACHE_ROLE_ASSISTANT) continue;
        buf_printf(&b, " %zu:", lens[i]);
        buf_append(&b, texts[i] ? texts[i] : "", texts[i] ? lens[i] : 0);
        n++;
    }
    int ok = n && !b.oom;
    if (ok) util_sha256(b.data, b.len, out);
    buf_free(&b);
    return ok;
}

static int ctx_blob_valid(const unsigned char *b, size_t len, int n_context)
{
    size_t need = 33 + (size_t)n_context;
    if (len < need || b[0] > 1) return 0;
    for (int i = 0; i < n_context; i++)
        if (b[33 + i] > CACHE_ROLE_OTHER) return 0;
    size_t at = need;
    for (int i = 0; i < n_context; i++) {
        const unsigned char *z = at < len ? memchr(b + at, 0, len - at) : NULL;
        if (!z) return 0;
        at = (size_t)(z - b) + 1;
    }
    return at == len;
}

/* The blob of r, malloc'd (NULL when r carries no texts and roles). */
static unsigned char *ctx_blob_build(const cache_request *r, size_t *len)
{
    *len = 0;
    if (!r->n_context || !r->context_texts || !r->context_lens || !r->context_roles) return NULL;
    size_t n = 33 + (size_t)r->n_context;
    for (int i = 0; i < r->n_context; i++)
        if (r->context_roles[i] != CACHE_ROLE_ASSISTANT) n += r->context_lens[i];
    n += (size_t)r->n_context;
    unsigned char *b = malloc(n);
    if (!b) return NULL;
    b[0] = (unsigned char)cache_context_hash(r->n_context, r->context_texts, r->context_lens,
                                             r->context_roles, b + 1);
    if (!b[0]) memset(b + 1, 0, 32);
    size_t at = 33;
    for (int i = 0; i < r->n_context; i++)
        b[at++] = r->context_roles[i] > CACHE_ROLE_OTHER ? CACHE_ROLE_OTHER : r->context_roles[i];
    for (int i = 0; i < r->n_context; i++) {
        if (r->context_roles[i] != CACHE_ROLE_ASSISTANT && r->context_lens[i]) {
            /* a text with a NUL inside is cut there: the blob keeps C strings */
            const char *t = r->context_texts[i];
            size_t l = strnlen(t, r->context_lens[i]);
            memcpy(b + at, t, l);
            at += l;
        }
        b[at++] = 0;
    }
    *len = at;
    return b;
}

/* Inserts rec (store_mu held). write_log: append to the persist file first.
 * enforce_max: evict down to max_entries first. pending: NULL = insert the
 * vector now; else the caller must call finish_vector(pending) once it has
 * released store_mu (index_lock is then held shared for it). */
static int insert_record(cache *c, const cache_record *rec, int write_log, int enforce_max,
                         uint64_t offset, uint32_t size, pending_vector *pending, char *err,
                         size_t errlen)
{
    if (pending) pending->index = NULL;
    int dim = c->o.dim;
    char *body = malloc(rec->body_len + 1);
    char *query = rec->query && rec->query[0] ? strdup(rec->query) : NULL;
    uint16_t *ctx = rec->n_context ? malloc((size_t)rec->n_context * dim * 2) : NULL;
    /* a damaged blob is dropped: the entry then matches by context vectors only */
    int want_blob = rec->ctx_blob && rec->ctx_blob_len &&
                    ctx_blob_valid(rec->ctx_blob, rec->ctx_blob_len, rec->n_context);
    unsigned char *blob = want_blob ? malloc(rec->ctx_blob_len) : NULL;
    if (blob) memcpy(blob, rec->ctx_blob, rec->ctx_blob_len);
    if (!body || (rec->query && rec->query[0] && !query) || (rec->n_context && !ctx) ||
        (want_blob && !blob)) {
        snprintf(err, errlen, "out of memory while storing a cache entry");
        goto fail;
    }
    memcpy(body, rec->body, rec->body_len);
    body[rec->body_len] = 0;
    if (ctx) vec_kernels_best()->f32_to_f16(rec->context, ctx, (size_t)rec->n_context * dim);
    if (write_log && c->log && cache_log_append(c->log, rec, &offset, &size, err, errlen))
        goto fail;

    int64_t now = now_of(c);
    uint8_t victims[16][32];
    int n_victims = 0;
    pthread_rwlock_wrlock(&c->lock);
    expire_oldest(c, now, 16);
    uint32_t old = exact_find(c, rec->exact);
    if (old != NIL) entry_remove(c, old);
    uint32_t tenant = tenant_get(c, rec->tenant ? rec->tenant : "");
    /* A tenant at its quota makes room among its own entries (its oldest first): filling the
     * cache never evicts another tenant's answers. The walk from the oldest end stops at the
     * tenant's first entry; a tenant at its quota holds many, so it is short. */
    size_t quota = c->o.max_entries_per_tenant;
    for (uint32_t v = c->order_head; enforce_max && quota && tenant != NIL && v != NIL &&
                                     c->tenant_live[tenant] >= quota;) {
        uint32_t next = c->slots[v].next;
        if (c->slots[v].tenant == tenant) {
            if (n_victims < 16) memcpy(victims[n_victims++], c->slots[v].exact, 32);
            entry_remove(c, v);
            c->evictions++;
        }
        v = next;
    }
    while (enforce_max && c->o.max_entries && c->live >= c->o.max_entries && c->live) {
        uint32_t v = c->heap[0];
        if (n_victims < 16) memcpy(victims[n_victims++], c->slots[v].exact, 32);
        entry_remove(c, v);
        c->evictions++;
    }
    uint32_t pid = tenant == NIL ? NIL : part_get(c, rec->partition, tenant);
    partition *p = pid == NIL ? NULL : c->parts[pid];
    int flat_ok = !p || !rec->vec || p->index || c->loading || !flat_reserve(p, dim);
    if (c->free_head == NIL && c->n_slots == c->cap_slots) {
        size_t cap = array_next_cap(c->cap_slots, (size_t)c->n_slots + 1, 1024);
        if (p && cap && cap < NIL && !array_resize(&c->slots, cap, sizeof *c->slots) &&
            !array_resize(&c->heap, cap, sizeof *c->heap))
            c->cap_slots = (uint32_t)cap;
    }
    if (!p || !flat_ok || (c->free_head == NIL && c->n_slots == c->cap_slots)) {
        pthread_rwlock_unlock(&c->lock);
        snprintf(err, errlen, "out of memory while storing a cache entry");
        goto fail;
    }
    uint32_t s;
    if (c->free_head != NIL) {
        s = c->free_head;
        c->free_head = c->slots[s].next;
    } else {
        s = c->n_slots++;
        memset(&c->slots[s], 0, sizeof c->slots[s]);
    }
    entry *e = &c->slots[s];
    memcpy(e->exact, rec->exact, 32);
    if (exact_put(c, s)) { /* table growth failed: give the slot back */
        e->next = c->free_head;
        c->free_head = s;
        pthread_rwlock_unlock(&c->lock);
        snprintf(err, errlen, "out of memory while storing a cache entry");
        goto fail;
    }
    e->live = 1;
    e->has_vec = rec->vec != NULL;
    e->deferred = rec->vec && c->loading;
    e->vec_hash = rec->vec ? cache_snap_vec_hash(rec->vec, dim) : 0;
    e->body = body;
    e->body_len = (uint32_t)rec->body_len;
    e->query = query;
    e->context = ctx;
    e->n_context = (uint16_t)rec->n_context;
    e->ctx_blob = blob;
    e->ctx_blob_len = blob ? (uint32_t)rec->ctx_blob_len : 0;
    e->inserted_at = rec->inserted_at;
    e->expires_at = rec->expires_at;
    e->log_offset = offset;
    e->log_size = size;
    e->partition = pid;
    e->tenant = tenant;
    e->freq = 0;
    e->tick = ++c->tick;
    e->prev = c->order_tail;
    e->next = NIL;
    if (c->order_tail != NIL)
        c->slots[c->order_tail].next = s;
    else
        c->order_head = s;
    c->order_tail = s;
    heap_set(c, c->live, s);
    c->live++;
    heap_up(c, c->live - 1);
    p->count++;
    c->tenant_live[tenant]++;
    c->bytes += entry_bytes(c, e);
    c->live_log_bytes += size;
    hnsw_index *index = p->index;
    uint64_t label = label_of(c, s);
    if (rec->vec && c->loading) {
        index = NULL; /* attach_vectors places it once the replay is done */
    } else if (rec->vec && index) {
        c->index_dirty = 1;
    } else if (rec->vec) {
        flat_push(p, dim, label, rec->vec);
    }
    pthread_rwlock_unlock(&c->lock);

    if (rec->vec && index) {
        /* The slow part: the HNSW insert, outside `lock` (searches go on). */
        pending_vector pv = {index, label, rec->vec};
        pthread_rwlock_rdlock(&c->index_lock);
        if (pending)
            *pending = pv; /* the caller finishes it after releasing store_mu */
        else
            finish_vector(c, &pv);
    }
    if (rec->vec && !index && !c->loading && c->hp.use_hnsw && p->flat_n >= FLAT_MAX)
        promote(c, p);
    for (int i = 0; write_log && c->log && i < n_victims; i++) {
        cache_record del = {.type = CACHE_REC_DELETE};
        memcpy(del.exact, victims[i], 32);
        char werr[200];
        if (cache_log_append(c->log, &del, NULL, NULL, werr, sizeof werr))
            log_warn("cache: %s", werr);
    }
    return 0;
fail:
    free(body);
    free(query);
    free(ctx);
    free(blob);
    return -1;
}

static int compact_locked(cache *c, char *err, size_t errlen);
static int snapshot_write(cache *c, char *err, size_t errlen);

static void maybe_compact(cache *c)
{
    if (!c->log) return;
    uint64_t size = cache_log_size(c->log), live = c->live_log_bytes + 16;
    if (size > 2 * live && size - live > c->o.compact_min_bytes) {
        char err[256];
        if (compact_locked(c, err, sizeof err)) log_warn("cache: %s", err);
    }
}

int cache_store(cache *c, const cache_request *r, const char *query_text,
                const char *completion_json, size_t len, char *err, size_t errlen)
{
    cache_record rec = {.type = CACHE_REC_INSERT};
    if (!r || codec_hex_decode_exact(r->exact_key, 32, rec.exact) ||
        codec_hex_decode_exact(r->partition_key, 32, rec.partition)) {
        snprintf(err, errlen, "cache keys must be 64 hex characters");
        return -1;
    }
    if (!completion_json || len > UINT32_MAX - 64) {
        snprintf(err, errlen, "the answer to cache is missing or too large");
        return -1;
    }
    if (r->n_context < 0 || r->n_context > 65535 || (r->n_context && !r->context_vecs)) {
        snprintf(err, errlen, "n_context must be 0..65535 with context_vecs given");
        return -1;
    }
    rec.tenant = r->tenant ? r->tenant : "";
    rec.query = query_text ? query_text : "";
    rec.body = completion_json;
    rec.body_len = len;
    rec.dim = c->o.dim;
    rec.vec = r->query_vec;
    rec.n_context = r->n_context;
    rec.context = r->context_vecs;
    size_t blob_len;
    unsigned char *blob = ctx_blob_build(r, &blob_len);
    rec.ctx_blob = blob;
    rec.ctx_blob_len = blob_len;
    pthread_mutex_lock(&c->store_mu);
    rec.inserted_at = now_of(c);
    rec.expires_at = c->o.ttl_seconds ? rec.inserted_at + c->o.ttl_seconds : 0;
    pending_vector pv;
    int rc = insert_record(c, &rec, 1, 1, 0, 0, &pv, err, errlen);
    if (!rc) {
        c->stores++;
        maybe_compact(c);
    }
    pthread_mutex_unlock(&c->store_mu);
    free(blob);
    if (!rc && pv.index) finish_vector(c, &pv);
    return rc;
}

/* Copies entry s into hit (lock held shared). */
static int fill_hit(cache *c, uint32_t s, float sim, cache_tier tier, cache_hit *hit)
{
    entry *e = &c->slots[s];
    hit->body = malloc((size_t)e->body_len + 1);
    if (!hit->body) return 0;
    memcpy(hit->body, e->body, (size_t)e->body_len + 1);
    hit->len = e->body_len;
    hit->similarity = sim;
    hit->tier = tier;
    hit->inserted_at = e->inserted_at;
    touch(c, s);
    return 1;
}

static int context_matches(const cache *c, const entry *e, const cache_request *r)
{
    if (e->n_context != r->n_context) return 0;
    int dim = c->o.dim;
    for (int i = 0; i < r->n_context; i++)
        if (vec_kernels_best()->dot_f32_f16(r->context_vecs + (size_t)i * dim,
                                            e->context + (size_t)i * dim, (size_t)dim) <
            c->o.context_similarity_threshold)
            return 0;
    return 1;
}

int cache_lookup(cache *c, const cache_request *r, float threshold, cache_hit *hit)
{
    memset(hit, 0, sizeof *hit);
    uint8_t exact[32], pkey[32];
    if (!r || codec_hex_decode_exact(r->exact_key, 32, exact) ||
        (r->query_vec && codec_hex_decode_exact(r->partition_key, 32, pkey)) || r->n_context < 0 ||
        (r->n_context && !r->context_vecs)) {
        c->misses++;
        return -1;
    }
    const char *tenant = r->tenant ? r->tenant : "";
    if (threshold < 0) threshold = c->o.similarity_threshold;
    int64_t now = now_of(c);
    int found = 0;
    pthread_rwlock_rdlock(&c->lock);
    uint32_t s = exact_find(c, exact);
    if (s != NIL && !is_expired(&c->slots[s], now) &&
        !strcmp(c->tenants[c->slots[s].tenant], tenant))
        found = fill_hit(c, s, 1.0f, CACHE_TIER_EXACT, hit);

    uint32_t pid = found || !r->query_vec ? NIL : part_find(c, pkey);
    partition *part = pid != NIL ? c->parts[pid] : NULL;
    if (part && part->count) {
        hnsw_result res[MAX_CANDIDATES];
        /* Start with few candidates; widen while every candidate was similar
         * enough but failed the context check (one follow-up such as "tell me
         * more" can sit in a partition under many first turns). */
        for (int k = 8; !found; k *= 4) {
            if (k > MAX_CANDIDATES) k = MAX_CANDIDATES;
            int n = part->index ? hnsw_search(part->index, r->query_vec, k, c->hp.ef_search, res)
                                : flat_search(part, c->o.dim, r->query_vec, k, res);
            int all_close = n == k;
            for (int i = 0; i < n && !found; i++) {
                if (res[i].similarity < threshold) {
                    all_close = 0;
                    break;
                }
                uint32_t slot = (uint32_t)res[i].label;
                if (slot >= c->n_slots) continue;
                entry *e = &c->slots[slot];
                if (!e->live || e->gen != (uint32_t)(res[i].label >> 32) || e->partition != pid ||
                    is_expired(e, now) || strcmp(c->tenants[e->tenant], tenant) ||
                    !context_matches(c, e, r))
                    continue;
                found = fill_hit(c, slot, res[i].similarity > 1.0f ? 1.0f : res[i].similarity,
                                 CACHE_TIER_SEMANTIC, hit);
            }
            if (!all_close || k == MAX_CANDIDATES) break;
        }
    }
    pthread_rwlock_unlock(&c->lock);
    if (found) {
        c->hits++;
        if (hit->tier == CACHE_TIER_EXACT)
            c->exact_hits++;
        else
            c->semantic_hits++;
    } else {
        c->misses++;
    }
    return found;
}

/* Copies entry s into candidate out (lock held shared). Returns 0 or -1 (out of memory). */
static int fill_candidate(cache *c, uint32_t s, float sim, cache_tier tier, cache_candidate *out)
{
    entry *e = &c->slots[s];
    int dim = c->o.dim;
    memset(out, 0, sizeof *out);
    out->body = malloc((size_t)e->body_len + 1);
    out->id = malloc(65);
    out->query_text = e->query ? strdup(e->query) : NULL;
    out->n_context = e->n_context;
    if (e->n_context) {
        out->context_vecs = malloc((size_t)e->n_context * dim * sizeof(float));
        if (out->context_vecs)
            vec_kernels_best()->f16_to_f32(e->context, out->context_vecs,
                                           (size_t)e->n_context * dim);
    }
    if (e->ctx_blob) {
        out->context_texts = calloc(e->n_context, sizeof *out->context_texts);
        out->context_roles = malloc(e->n_context);
        const unsigned char *b = e->ctx_blob;
        size_t at = 33 + (size_t)e->n_context;
        for (int i = 0; out->context_texts && out->context_roles && i < e->n_context; i++) {
            out->context_roles[i] = b[33 + i];
            const char *t = (const char *)b + at;
            size_t l = strlen(t);
            if (b[33 + i] != CACHE_ROLE_ASSISTANT) {
                out->context_texts[i] = strdup(t);
                if (!out->context_texts[i]) {
                    free(out->context_roles);
                    out->context_roles = NULL;
                }
            }
            at += l + 1;
        }
        out->has_answer_hash = b[0];
        memcpy(out->answer_hash, b + 1, 32);
    }
    if (!out->body || !out->id || (e->query && !out->query_text) ||
        (e->n_context && !out->context_vecs) ||
        (e->ctx_blob && (!out->context_texts || !out->context_roles))) {
        cache_candidates one = {1, out};
        cache_candidates_free(&one); /* frees the fields; out itself is the caller's */
        memset(out, 0, sizeof *out);
        return -1;
    }
    memcpy(out->body, e->body, (size_t)e->body_len + 1);
    out->len = e->body_len;
    out->similarity = sim;
    out->tier = tier;
    out->inserted_at = e->inserted_at;
    codec_hex_encode(e->exact, 32, out->id);
    return 0;
}

int cache_search(cache *c, const cache_request *r, int k, float floor, cache_candidates *out)
{
    out->n = 0;
    out->v = NULL;
    uint8_t exact[32], pkey[32];
    if (!r || codec_hex_decode_exact(r->exact_key, 32, exact) ||
        (r->query_vec && codec_hex_decode_exact(r->partition_key, 32, pkey)) || k < 0)
        return -1;
    if (k > MAX_CANDIDATES) k = MAX_CANDIDATES;
    const char *tenant = r->tenant ? r->tenant : "";
    int64_t now = now_of(c);
    out->v = calloc((size_t)k + 1, sizeof *out->v);
    if (!out->v) return -1;
    int rc = 0;
    pthread_rwlock_rdlock(&c->lock);
    uint32_t s = exact_find(c, exact);
    if (s != NIL && !is_expired(&c->slots[s], now) &&
        !strcmp(c->tenants[c->slots[s].tenant], tenant)) {
        if (fill_candidate(c, s, 1.0f, CACHE_TIER_EXACT, &out->v[out->n]))
            rc = -1;
        else
            out->n++;
    } else {
        s = NIL;
    }
    uint32_t pid = !r->query_vec || !k ? NIL : part_find(c, pkey);
    partition *part = pid != NIL ? c->parts[pid] : NULL;
    if (!rc && part && part->count) {
        /* ask for a few more than k: stale labels of removed entries are skipped */
        int want = k + 4 > MAX_CANDIDATES ? MAX_CANDIDATES : k + 4;
        hnsw_result res[MAX_CANDIDATES];
        int n = part->index ? hnsw_search(part->index, r->query_vec, want, c->hp.ef_search, res)
                            : flat_search(part, c->o.dim, r->query_vec, want, res);
        int semantic = 0;
        for (int i = 0; i < n && semantic < k && !rc; i++) {
            if (res[i].similarity < floor) break;
            uint32_t slot = (uint32_t)res[i].label;
            if (slot >= c->n_slots || slot == s) continue;
            entry *e = &c->slots[slot];
            if (!e->live || e->gen != (uint32_t)(res[i].label >> 32) || e->partition != pid ||
                is_expired(e, now) || strcmp(c->tenants[e->tenant], tenant))
                continue;
            float sim = res[i].similarity > 1.0f ? 1.0f : res[i].similarity;
            if (fill_candidate(c, slot, sim, CACHE_TIER_SEMANTIC, &out->v[out->n])) {
                rc = -1;
                break;
            }
            out->n++;
            semantic++;
        }
    }
    pthread_rwlock_unlock(&c->lock);
    if (rc || !out->n) cache_candidates_free(out); /* nothing found: nothing to free later */
    return rc ? -1 : out->n;
}

void cache_served(cache *c, const char *id, cache_tier tier)
{
    if (!id) {
        c->misses++;
        return;
    }
    uint8_t key[32];
    if (codec_hex_decode_exact(id, 32, key)) return;
    pthread_rwlock_rdlock(&c->lock);
    uint32_t s = exact_find(c, key);
    if (s != NIL) touch(c, s);
    pthread_rwlock_unlock(&c->lock);
    c->hits++;
    if (tier == CACHE_TIER_EXACT)
        c->exact_hits++;
    else
        c->semantic_hits++;
}

/* Removes the entries of tenant id t (NIL = all) and frees emptied partitions'
 * indexes (store_mu held). */
static size_t clear_locked(cache *c, const char *tenant)
{
    size_t n = 0;
    pthread_rwlock_wrlock(&c->index_lock); /* no vector insert in flight */
    pthread_rwlock_wrlock(&c->lock);
    uint32_t t = NIL;
    if (tenant) {
        for (uint32_t i = 0; i < c->n_tenants; i++)
            if (!strcmp(c->tenants[i], tenant)) t = i;
        if (t == NIL) {
            pthread_rwlock_unlock(&c->lock);
            pthread_rwlock_unlock(&c->index_lock);
            return 0;
        }
    }
    for (uint32_t s = c->order_head; s != NIL;) {
        uint32_t next = c->slots[s].next;
        if (!tenant || c->slots[s].tenant == t) {
            entry_remove(c, s);
            n++;
        }
        s = next;
    }
    for (uint32_t p = 0; p < c->n_parts; p++) {
        if (c->parts[p]->count == 0) {
            if (c->parts[p]->index) hnsw_free(c->parts[p]->index);
            c->parts[p]->index = NULL;
            flat_free(c->parts[p]);
        }
    }
    pthread_rwlock_unlock(&c->lock);
    pthread_rwlock_unlock(&c->index_lock);
    return n;
}

size_t cache_clear(cache *c, const char *tenant)
{
    pthread_mutex_lock(&c->store_mu);
    size_t n = clear_locked(c, tenant);
    if (c->log) {
        cache_record rec = {
            .type = CACHE_REC_CLEAR, .tenant = tenant ? tenant : "", .clear_all = tenant == NULL};
        char err[200];
        if (cache_log_append(c->log, &rec, NULL, NULL, err, sizeof err)) log_warn("cache: %s", err);
        maybe_compact(c);
    }
    pthread_mutex_unlock(&c->store_mu);
    return n;
}

int cache_delete(cache *c, const char *tenant, const char *exact_key)
{
    uint8_t key[32];
    if (codec_hex_decode_exact(exact_key, 32, key)) return -1;
    pthread_mutex_lock(&c->store_mu);
    pthread_rwlock_wrlock(&c->index_lock); /* no vector insert in flight */
    pthread_rwlock_wrlock(&c->lock);
    uint32_t s = exact_find(c, key);
    int removed = 0;
    if (s != NIL && !is_expired(&c->slots[s], now_of(c)) &&
        (!tenant || !strcmp(c->tenants[c->slots[s].tenant], tenant))) {
        entry_remove(c, s);
        removed = 1;
    }
    pthread_rwlock_unlock(&c->lock);
    pthread_rwlock_unlock(&c->index_lock);
    if (removed && c->log) {
        cache_record del = {.type = CACHE_REC_DELETE};
        memcpy(del.exact, key, 32);
        char err[200];
        if (cache_log_append(c->log, &del, NULL, NULL, err, sizeof err)) log_warn("cache: %s", err);
    }
    pthread_mutex_unlock(&c->store_mu);
    return removed;
}

size_t cache_purge_expired(cache *c)
{
    pthread_mutex_lock(&c->store_mu);
    pthread_rwlock_wrlock(&c->lock);
    size_t n = expire_oldest(c, now_of(c), 0);
    pthread_rwlock_unlock(&c->lock);
    pthread_mutex_unlock(&c->store_mu);
    return n;
}

void cache_stats_get(cache *c, cache_stats *s)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_lock(&c->store_mu);
    pthread_rwlock_rdlock(&c->lock);
    s->entries = c->live;
    s->bytes = c->bytes + (size_t)c->cap_slots * (sizeof(entry) + 4) -
               (size_t)c->live * sizeof(entry) + c->exact_cap * 4 + c->part_cap * 4;
    for (uint32_t p = 0; p < c->n_parts; p++) {
        if (c->parts[p]->count) s->partitions++;
        s->bytes += sizeof(partition);
        if (c->parts[p]->index) s->bytes += hnsw_memory_bytes(c->parts[p]->index);
        s->bytes += (size_t)c->parts[p]->flat_cap * ((size_t)c->o.dim * 4 + 8);
    }
    pthread_rwlock_unlock(&c->lock);
    s->file_bytes = c->log ? cache_log_size(c->log) : 0;
    s->index_restored = c->index_restored;
    s->index_inserted = c->index_inserted;
    pthread_mutex_unlock(&c->store_mu);
    s->hits = c->hits;
    s->misses = c->misses;
    s->exact_hits = c->exact_hits;
    s->semantic_hits = c->semantic_hits;
    s->stores = c->stores;
    s->evictions = c->evictions;
    s->expirations = c->expirations;
}

/* ---- persistence: replay, compaction ---- */

typedef struct replay_ctx {
    cache *c;
    int64_t now;
    long long skipped_dim, expired;
} replay_ctx;

static int replay_one(void *ctx, const cache_record *rec, uint64_t offset, uint32_t size)
{
    replay_ctx *x = ctx;
    cache *c = x->c;
    if (rec->type == CACHE_REC_CLEAR) {
        clear_locked(c, rec->clear_all ? NULL : rec->tenant);
        return 0;
    }
    if (rec->type == CACHE_REC_DELETE || (rec->expires_at && x->now >= rec->expires_at) ||
        rec->dim != c->o.dim) {
        pthread_rwlock_wrlock(&c->lock);
        uint32_t s = exact_find(c, rec->exact);
        if (s != NIL) entry_remove(c, s);
        pthread_rwlock_unlock(&c->lock);
        if (rec->type == CACHE_REC_INSERT && rec->dim != c->o.dim)
            x->skipped_dim++;
        else if (rec->type == CACHE_REC_INSERT)
            x->expired++;
        return 0;
    }
    char err[200];
    if (insert_record(c, rec, 0, 0, offset, size, NULL, err, sizeof err)) {
        log_warn("cache: while loading: %s", err);
        return 1;
    }
    return 0;
}

/* ---- the vector-index snapshot (snapshot.h) ---- */

/* Matching of one snapshot section's nodes against the replayed entries. */
typedef struct snap_match {
    cache *c;
    uint32_t pid; /* NIL: the partition no longer exists */
    const cache_snap_node *nodes;
    size_t n;
    uint32_t *slots; /* the entries matched, one per reused node */
    size_t matched;
} snap_match;

/* hnsw_relabel_fn: a saved node is reused only for the entry it was built
 * for: same exact key, same partition, same vector, still waiting for its
 * vector. Its label becomes that entry's label now. */
static uint64_t snap_relabel(void *arg, uint64_t saved)
{
    snap_match *m = arg;
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->nodes[mid].label < saved)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (m->pid == NIL || lo == m->n || m->nodes[lo].label != saved || m->matched == m->n)
        return HNSW_DROP;
    uint32_t s = exact_find(m->c, m->nodes[lo].exact);
    if (s == NIL) return HNSW_DROP;
    const entry *e = &m->c->slots[s];
    if (!e->deferred || e->partition != m->pid || e->vec_hash != m->nodes[lo].vec_hash)
        return HNSW_DROP;
    m->slots[m->matched++] = s;
    return label_of(m->c, s);
}

typedef struct snap_loaded {
    hnsw_index *index;
    uint32_t *slots;
    size_t n;
} snap_loaded;

/* Reads the snapshot into per-partition graphs (L[pid]); nothing is applied
 * to the cache. Returns 1 when the file was read to its verified end, 0 when
 * absent, -1 when unusable (why in err). *exact_fit: every node was reused. */
static int snapshot_read(cache *c, snap_loaded *L, int *exact_fit, char *err, size_t errlen)
{
    int absent = 0, rc = -1;
    *exact_fit = 1;
    cache_snap_reader *r = cache_snap_read_open(c->snap_path, c->o.dim, &absent, err, errlen);
    if (!r) return absent ? 0 : -1;
    for (;;) {
        uint8_t key[32];
        const cache_snap_node *nodes;
        size_t n;
        int more = cache_snap_read_nodes(r, key, &nodes, &n, err, errlen);
        if (more <= 0) {
            rc = more == 0 ? 1 : -1;
            break;
        }
        snap_match m = {c, part_find(c, key), nodes, n, malloc((n ? n : 1) * sizeof(uint32_t)), 0};
        if (!m.slots) {
            snprintf(err, errlen, "out of memory");
            break;
        }
        if (m.pid != NIL && L[m.pid].index) {
            snprintf(err, errlen, "two sections for one partition");
            free(m.slots);
            break;
        }
        hnsw_index *h = cache_snap_read_index(r, &c->hp, snap_relabel, &m, err, errlen);
        if (!h) {
            free(m.slots);
            break;
        }
        hnsw_stats st;
        hnsw_get_stats(h, &st);
        if (st.deleted) *exact_fit = 0;
        /* mostly stale: a graph of dead routing nodes would search worse than a fresh one */
        if (m.pid == NIL || m.matched * 2 < st.live + st.deleted) {
            hnsw_free(h);
            free(m.slots);
            continue;
        }
        L[m.pid] = (snap_loaded){h, m.slots, m.matched};
    }
    cache_snap_read_close(r);
    return rc;
}

/* After the replay: gives every entry's vector to its partition's store,
 * from the snapshot where it matches, from the log otherwise (store_mu held,
 * before the cache is shared). Entries whose vector cannot be placed keep
 * serving exact hits. */
static void attach_vectors(cache *c, size_t *n_from_snap, size_t *n_inserted)
{
    size_t deferred = 0, from_snap = 0, inserted = 0, lost = 0, into_index = 0;
    for (uint32_t s = c->order_head; s != NIL; s = c->slots[s].next)
        deferred += c->slots[s].deferred;
    snap_loaded *L = calloc(c->n_parts ? c->n_parts : 1, sizeof *L);
    char err[256] = "";
    int exact_fit = 0, rc = -1;
    if (!L)
        snprintf(err, sizeof err, "out of memory");
    else if (!c->hp.use_hnsw)
        rc = 0; /* exact scans only (e.g. `semrouter cache`): the snapshot is not ours to use */
    else
        rc = snapshot_read(c, L, &exact_fit, err, sizeof err);
    if (rc < 0)
        log_warn("cache: index snapshot %s is unusable (%s); REBUILDING the vector index of %zu "
                 "entries from the log (minutes for 100k entries)",
                 c->snap_path, err, deferred);
    else if (rc == 0 && deferred > FLAT_MAX && c->hp.use_hnsw)
        log_warn("cache: no index snapshot %s; building the vector index of %zu entries from the "
                 "log (minutes for 100k entries)",
                 c->snap_path, deferred);
    for (uint32_t p = 0; L && p < c->n_parts; p++) {
        if (!L[p].index) continue;
        if (rc == 1) {
            c->parts[p]->index = L[p].index;
            flat_free(c->parts[p]);
            for (size_t i = 0; i < L[p].n; i++)
                c->slots[L[p].slots[i]].deferred = 0;
            from_snap += L[p].n;
        } else {
            hnsw_free(L[p].index);
        }
        free(L[p].slots);
    }
    free(L);

    void *scratch = NULL;
    size_t scratch_cap = 0;
    int dim = c->o.dim;
    /* a bar on a terminal, a line every few seconds in a log (core/progress.h) */
    progress *prog = deferred - from_snap >= PROGRESS_MIN_VECTORS
                         ? progress_new("cache: building the vector index", deferred - from_snap, "vectors")
                         : NULL;
    for (uint32_t s = c->order_head; s != NIL; s = c->slots[s].next) {
        entry *e = &c->slots[s];
        if (!e->deferred) continue;
        e->deferred = 0;
        partition *p = c->parts[e->partition];
        cache_record rec;
        int ok = !cache_log_read(c->log, e->log_offset, &rec, &scratch, &scratch_cap) && rec.vec &&
                 rec.dim == dim;
        if (ok && p->index) {
            ok = !hnsw_insert(p->index, label_of(c, s), rec.vec);
            into_index++;
        }
        else if (ok && !flat_reserve(p, dim)) {
            flat_push(p, dim, label_of(c, s), rec.vec);
            if (c->hp.use_hnsw && p->flat_n >= FLAT_MAX) promote(c, p);
        } else {
            ok = 0;
        }
        if (!ok) {
            e->has_vec = 0;
            lost++;
        }
        inserted++;
        progress_add(prog, 1);
    }
    progress_done(prog, "%zu vectors inserted", inserted);
    free(scratch);
    if (lost)
        log_warn("cache: %zu entries have no usable vector in the log (out of memory or damage); "
                 "they serve exact hits only",
                 lost);
    /* promote() marked the cache dirty when it built an index from flat vectors */
    if (c->hp.use_hnsw && (rc != 1 || !exact_fit || into_index)) c->index_dirty = 1;
    *n_from_snap = c->index_restored = from_snap;
    *n_inserted = c->index_inserted = inserted;
    if (inserted >= 1000 && c->index_dirty) { /* a crash before close must not repeat this */
        char serr[256];
        if (snapshot_write(c, serr, sizeof serr)) log_warn("cache: %s", serr);
    }
}

/* Writes the snapshot of every partition index (store_mu held, no vector
 * insert in flight: at open, at close). */
static int snapshot_write(cache *c, char *err, size_t errlen)
{
    double t0 = util_now_sec();
    size_t *start = calloc((size_t)c->n_parts + 1, sizeof *start);
    size_t *fill = calloc((size_t)c->n_parts + 1, sizeof *fill);
    cache_snap_node *nodes = NULL;
    int rc = -1;
    if (!start || !fill) goto oom;
    for (uint32_t s = c->order_head; s != NIL; s = c->slots[s].next) {
        const entry *e = &c->slots[s];
        if (e->has_vec && !e->deferred && c->parts[e->partition]->index) start[e->partition + 1]++;
    }
    uint32_t sections = 0;
    for (uint32_t p = 0; p < c->n_parts; p++) {
        sections += start[p + 1] > 0;
        start[p + 1] += start[p];
    }
    nodes = malloc((start[c->n_parts] ? start[c->n_parts] : 1) * sizeof *nodes);
    if (!nodes) goto oom;
    for (uint32_t s = c->order_head; s != NIL; s = c->slots[s].next) {
        const entry *e = &c->slots[s];
        if (!e->has_vec || e->deferred || !c->parts[e->partition]->index) continue;
        cache_snap_node *nd = &nodes[start[e->partition] + fill[e->partition]++];
        nd->label = label_of(c, s);
        memcpy(nd->exact, e->exact, 32);
        nd->vec_hash = e->vec_hash;
    }
    if (!sections) { /* no partition index: nothing to snapshot, and an old file is stale */
        if (unlink(c->snap_path) && errno != ENOENT) {
            snprintf(err, errlen, "cannot remove the stale index snapshot %s: %s", c->snap_path,
                     strerror(errno));
            goto out;
        }
        c->index_dirty = 0;
        rc = 0;
        goto out;
    }
    cache_snap_writer *w = cache_snap_write_begin(c->snap_path, c->o.dim, sections, err, errlen);
    if (!w) goto out;
    for (uint32_t p = 0; p < c->n_parts; p++) {
        if (!fill[p]) continue;
        if (cache_snap_write_section(w, c->parts[p]->key, nodes + start[p], fill[p],
                                     c->parts[p]->index)) {
            snprintf(err, errlen, "cannot write the index snapshot %s: %s", c->snap_path,
                     strerror(errno));
            cache_snap_write_abort(w);
            goto out;
        }
    }
    if (cache_snap_write_commit(w, err, errlen)) goto out;
    c->index_dirty = 0;
    log_info("cache: wrote the index snapshot %s (%zu vectors, %u partitions) in %.1f s",
             c->snap_path, start[c->n_parts], sections, util_now_sec() - t0);
    rc = 0;
    goto out;
oom:
    snprintf(err, errlen, "out of memory writing the index snapshot");
out:
    free(start);
    free(fill);
    free(nodes);
    return rc;
}

/* Rewrites the file with the live entries in insertion order (store_mu held). */
static int compact_locked(cache *c, char *err, size_t errlen)
{
    if (!c->log) return 0;
    pthread_rwlock_wrlock(&c->lock);
    expire_oldest(c, now_of(c), 0);
    pthread_rwlock_unlock(&c->lock);
    uint64_t old_size = cache_log_size(c->log);
    uint64_t *offsets = malloc(((size_t)c->live + 1) * sizeof *offsets);
    if (!offsets) {
        snprintf(err, errlen, "out of memory for compaction");
        return -1;
    }
    if (cache_log_compact_begin(c->log, err, errlen)) {
        free(offsets);
        return -1;
    }
    /* Only store_mu holders change the order list and offsets: no lock needed to read them. */
    size_t i = 0;
    for (uint32_t s = c->order_head; s != NIL; s = c->slots[s].next, i++) {
        if (cache_log_compact_copy(c->log, c->slots[s].log_offset, c->slots[s].log_size,
                                   &offsets[i])) {
            cache_log_compact_abort(c->log);
            free(offsets);
            snprintf(err, errlen, "cache compaction failed while copying: %s", strerror(errno));
            return -1;
        }
    }
    if (cache_log_compact_commit(c->log, err, errlen)) {
        free(offsets);
        return -1;
    }
    i = 0;
    for (uint32_t s = c->order_head; s != NIL; s = c->slots[s].next, i++)
        c->slots[s].log_offset = offsets[i];
    free(offsets);
    log_info("cache: compacted %s from %llu to %llu bytes", cache_log_path(c->log),
             (unsigned long long)old_size, (unsigned long long)cache_log_size(c->log));
    return 0;
}

int cache_compact(cache *c, char *err, size_t errlen)
{
    pthread_mutex_lock(&c->store_mu);
    int rc = compact_locked(c, err, errlen);
    pthread_mutex_unlock(&c->store_mu);
    return rc;
}

cache *cache_open(const cache_options *o, char *err, size_t errlen)
{
    if (!o || o->dim <= 0 || o->dim > 65536) {
        snprintf(err, errlen, "cache: the embedding dimension must be 1..65536");
        return NULL;
    }
    if (!(o->similarity_threshold >= 0 && o->similarity_threshold <= 1) ||
        !(o->context_similarity_threshold >= 0 && o->context_similarity_threshold <= 1)) {
        snprintf(err, errlen, "cache: similarity thresholds must be within [0, 1]");
        return NULL;
    }
    if (o->ttl_seconds < 0) {
        snprintf(err, errlen, "cache: ttl_seconds must be >= 0");
        return NULL;
    }
    if (o->eviction != CACHE_EVICT_FIFO && o->eviction != CACHE_EVICT_LRU &&
        o->eviction != CACHE_EVICT_LFU) {
        snprintf(err, errlen, "cache: eviction_policy must be fifo, lru or lfu");
        return NULL;
    }
    if (o->max_entries >= NIL) {
        snprintf(err, errlen, "cache: max_entries must be below %u", NIL);
        return NULL;
    }
    cache *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "cache: out of memory");
        return NULL;
    }
    c->o = *o;
    c->o.embedding_model_id = NULL;
    c->o.persist_path = NULL;
    c->hp = o->index;
    if (c->hp.m <= 0) hnsw_params_default(&c->hp, o->dim);
    c->hp.dim = o->dim;
    if (c->hp.ef_search <= 0) c->hp.ef_search = 64;
    c->hp.initial_capacity = 2 * FLAT_MAX; /* an index starts at promotion */
    c->free_head = c->order_head = c->order_tail = NIL;
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&c->lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    pthread_rwlock_init(&c->index_lock, NULL);
    pthread_mutex_init(&c->store_mu, NULL);
    pthread_mutex_init(&c->policy_mu, NULL);
    if (!o->persist_path) return c;

    c->log = cache_log_open(o->persist_path, o->persist_sync, err, errlen);
    if (!c->log) goto fail;
    size_t plen = strlen(o->persist_path);
    c->snap_path = malloc(plen + sizeof ".hnsw");
    if (!c->snap_path) {
        snprintf(err, errlen, "cache: out of memory");
        goto fail;
    }
    memcpy(c->snap_path, o->persist_path, plen);
    memcpy(c->snap_path + plen, ".hnsw", sizeof ".hnsw");
    replay_ctx x = {.c = c, .now = now_of(c)};
    size_t from_snap = 0, inserted = 0;
    int damaged = 0;
    double t0 = util_now_sec();
    pthread_mutex_lock(&c->store_mu);
    c->loading = 1;
    long long n = cache_log_replay(c->log, replay_one, &x, &damaged, err, errlen);
    c->loading = 0;
    if (n >= 0) {
        /* Evictions are replayed from DELETE records; trim what is left over
         * (max_entries lowered, or a crash between an insert and its DELETE). */
        pthread_rwlock_wrlock(&c->lock);
        while (c->o.max_entries && c->live > c->o.max_entries)
            entry_remove(c, c->heap[0]);
        pthread_rwlock_unlock(&c->lock);
        attach_vectors(c, &from_snap, &inserted);
    }
    pthread_mutex_unlock(&c->store_mu);
    if (n < 0) goto fail;
    if (x.skipped_dim)
        log_warn("cache: %s: skipped %lld entries of another embedding dimension", o->persist_path,
                 x.skipped_dim);
    if (n > 0)
        log_info("cache: loaded %u entries from %s (%lld records, %lld expired) in %.1f s; vector "
                 "index: %zu vectors from the snapshot, %zu inserted",
                 c->live, o->persist_path, n, x.expired, util_now_sec() - t0, from_snap, inserted);
    pthread_mutex_lock(&c->store_mu);
    if (damaged) {
        char cerr[256];
        if (compact_locked(c, cerr, sizeof cerr)) log_warn("cache: %s", cerr);
    } else {
        maybe_compact(c);
    }
    pthread_mutex_unlock(&c->store_mu);
    return c;
fail:
    cache_close(c);
    return NULL;
}

void cache_close(cache *c)
{
    if (!c) return;
    int snap = 0;
    if (c->log && c->index_dirty) {
        char err[256];
        if (snapshot_write(c, err, sizeof err)) log_warn("cache: %s", err);
        else snap = 1;
    }
    if (c->log) {
        int synced = cache_log_sync(c->log) == 0;
        log_info("cache: closed %s (%u entries; log %s%s)", cache_log_path(c->log), c->live,
                 synced ? "synced to disk" : "NOT synced", snap ? ", vector-index snapshot written" : "");
    }
    for (uint32_t s = 0; s < c->n_slots; s++) {
        free(c->slots[s].body);
        free(c->slots[s].query);
        free(c->slots[s].context);
        free(c->slots[s].ctx_blob);
    }
    for (uint32_t p = 0; p < c->n_parts; p++) {
        if (c->parts[p]->index) hnsw_free(c->parts[p]->index);
        flat_free(c->parts[p]);
        free(c->parts[p]);
    }
    for (uint32_t t = 0; t < c->n_tenants; t++)
        free(c->tenants[t]);
    free(c->slots);
    free(c->heap);
    free(c->exact_tab);
    free(c->parts);
    free(c->part_tab);
    free(c->tenants);
    free(c->tenant_live);
    cache_log_close(c->log);
    free(c->snap_path);
    pthread_rwlock_destroy(&c->lock);
    pthread_rwlock_destroy(&c->index_lock);
    pthread_mutex_destroy(&c->store_mu);
    pthread_mutex_destroy(&c->policy_mu);
    free(c);
}

/* ---- whole-cache scans and refills (entries.h; export.c uses them) ---- */

int cache_entry_dim(const cache *c) { return c->o.dim; }

int cache_scan_entries(cache *c, const char *tenant,
                       int (*fn)(const cache_entry_view *e, void *arg), void *arg, char *err,
                       size_t errlen)
{
    void *scratch = NULL;
    size_t scratch_cap = 0, ctx_cap = 0;
    float *ctx = NULL; /* an entry's context vectors when the log cannot give them */
    int dim = c->o.dim, rc = 0;
    pthread_mutex_lock(&c->store_mu); /* no writer meanwhile: the entries stay put */
    int64_t now = now_of(c);
    for (uint32_t s = c->order_head; s != NIL; s = c->slots[s].next) {
        entry *e = &c->slots[s];
        const char *t = c->tenants[e->tenant];
        if ((tenant && strcmp(t, tenant)) || is_expired(e, now)) continue;
        cache_record rec;
        int have_rec =
            c->log && !cache_log_read(c->log, e->log_offset, &rec, &scratch, &scratch_cap);
        cache_entry_view v = {.tenant = t,
                              .partition = c->parts[e->partition]->key,
                              .exact = e->exact,
                              .query = e->query ? e->query : "",
                              .vec = have_rec && rec.vec && e->has_vec ? rec.vec : NULL,
                              .dim = dim,
                              .n_context = e->n_context,
                              .ctx_blob = e->n_context ? e->ctx_blob : NULL,
                              .body = e->body,
                              .body_len = e->body_len,
                              .inserted_at = e->inserted_at,
                              .expires_at = e->expires_at};
        if (have_rec) {
            v.context = rec.context;
        } else if (e->n_context) {
            size_t n = (size_t)e->n_context * dim;
            if (array_grow(&ctx, &ctx_cap, n, sizeof *ctx, 1024)) {
                snprintf(err, errlen, "out of memory");
                rc = -1;
                break;
            }
            vec_kernels_best()->f16_to_f32(e->context, ctx, n);
            v.context = ctx;
        }
        if ((rc = fn(&v, arg))) break;
    }
    pthread_mutex_unlock(&c->store_mu);
    free(ctx);
    free(scratch);
    return rc;
}

int cache_put_record(cache *c, const cache_record *rec, char *err, size_t errlen)
{
    int rc = 0;
    pthread_mutex_lock(&c->store_mu);
    if (!(rec->expires_at && now_of(c) >= rec->expires_at))
        rc = insert_record(c, rec, 1, 1, 0, 0, NULL, err, errlen) ? -1 : 1;
    pthread_mutex_unlock(&c->store_mu);
    return rc;
}

void cache_put_done(cache *c)
{
    pthread_mutex_lock(&c->store_mu);
    maybe_compact(c);
    pthread_mutex_unlock(&c->store_mu);
}
