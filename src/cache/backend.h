/* backend.h - the asynchronous face of a cache backend (memory, milvus, hybrid).
 *
 * This is the contract between the request path and every place answers can be
 * kept. The request path never waits on a backend: it starts a lookup or a
 * store and is called back on its own event loop when the backend is done.
 *
 *   lookup  -> up to k candidates of the request's partition and tenant, best
 *              first, each with what the hit decision needs (similarity, the
 *              stored query text, the stored context). The backend applies no
 *              verifier and no context check: cache_select (select.h) decides,
 *              the same way for every backend. The exact tier is a candidate
 *              with tier CACHE_TIER_EXACT (similarity 1).
 *   store   -> keeps a clean 2xx answer; the callback says whether it was kept.
 *
 * Rules every backend keeps:
 *   - Callbacks run on the loop passed to the call, never on another thread, and
 *     exactly once. A backend may call back before the call returns (the memory
 *     backend does); callers must not hold state that a synchronous callback
 *     would free.
 *   - Expired entries and entries of another tenant or partition are never
 *     returned.
 *   - A failure (Milvus down, slow, garbage) is status CACHE_STATUS_ERROR with a
 *     log line and a metric inside the backend; the caller treats it as a miss
 *     and the request still goes upstream. Nothing blocks or piles up: a backend
 *     bounds its in-flight work and fails fast past it.
 *   - Ownership: the request (and its strings and vectors) is copied by the
 *     backend if it needs it after the call returns; the candidates handed to a
 *     lookup callback belong to the callee: it either frees them with
 *     cache_candidates_free or takes them (copies the struct and sets the
 *     passed one's n to 0 and v to NULL); the backend frees what is left in
 *     the passed struct after the callback returns. */
#ifndef SEMROUTER_CACHE_BACKEND_H
#define SEMROUTER_CACHE_BACKEND_H
#include "cache/cache.h"
#include <stddef.h>
#include <stdint.h>

struct event_base;

typedef enum {
    CACHE_STATUS_OK = 0,     /* lookup: candidates (possibly none); store: kept */
    CACHE_STATUS_SKIPPED = 1, /* store: not kept by policy (too large, disabled); counted */
    CACHE_STATUS_ERROR = -1, /* the backend failed; a miss / nothing stored */
} cache_status;

/* One stored entry offered for the hit decision. */
typedef struct cache_candidate {
    char *body; /* the stored chat.completion, NUL-terminated */
    size_t len;
    float similarity; /* cosine of the query vectors; 1 for the exact tier */
    cache_tier tier;
    int64_t inserted_at;
    char *query_text;    /* stored last user turn (NULL when not kept) */
    int n_context;       /* earlier turns of the stored request */
    float *context_vecs; /* n_context x dim, unit norm; NULL when n_context == 0 */
    char *id;            /* backend's id of the entry (exact key hex for memory) */
    /* The stored conversation for the context match (select.h); a backend that
     * does not keep them leaves them NULL / 0 and the match falls back to the
     * context vectors. */
    char **context_texts;          /* n_context: user/tool turn texts, NULL for assistant turns */
    unsigned char *context_roles;  /* n_context CACHE_ROLE_* */
    int has_answer_hash;           /* answer_hash holds cache_context_hash of the stored turns */
    unsigned char answer_hash[32];
} cache_candidate;

typedef struct cache_candidates {
    int n;
    cache_candidate *v; /* best first: exact tier, then by similarity */
} cache_candidates;

void cache_candidates_free(cache_candidates *c);

typedef void (*cache_lookup_done)(void *arg, cache_status status, cache_candidates *cands);
typedef void (*cache_store_done)(void *arg, cache_status status);

typedef struct cache_backend cache_backend;

/* Management of the stored entries (api/admin.c, the cache routes of admin.h). */
typedef enum {
    CACHE_ADMIN_COUNT, /* n = live entries */
    CACHE_ADMIN_LIST,  /* lines = the live entries as JSON lines (cache_export's format), n of them */
    CACHE_ADMIN_EVICT, /* the entry whose exact key is id (64 hex): n = 1 removed, 0 no such live entry */
    CACHE_ADMIN_CLEAR, /* every entry: n = the live entries removed */
} cache_admin_op;

typedef struct cache_admin_result {
    cache_status status; /* OK, or ERROR with err (the backend failed: nothing is known) */
    long long n;
    const char *lines; /* LIST: valid during the callback only */
    size_t len;
    /* LIST: 1 when the tenant has more live entries than were listed (a backend
     * that cannot page past a window, milvus.h); total = how many, -1 unknown */
    int truncated;
    long long total;
    const char *err;   /* ERROR: a sentence for the client and the log */
    const char *reason; /* ERROR: a short stable name of the cause ("unreachable", "timeout", ...) */
} cache_admin_result;

typedef void (*cache_admin_done)(void *arg, const cache_admin_result *r);

typedef struct cache_backend_ops {
    const char *name; /* metrics label: "memory", "milvus", "hybrid" */
    /* Candidates for r: the exact-key entry if any, then up to k semantic
     * candidates with similarity >= floor (r->query_vec NULL = exact tier only). */
    void (*lookup)(cache_backend *b, struct event_base *loop, const cache_request *r, int k,
                   float floor, cache_lookup_done done, void *arg);
    void (*store)(cache_backend *b, struct event_base *loop, const cache_request *r,
                  const char *query_text, const char *body, size_t len, cache_store_done done,
                  void *arg);
    /* Whether the backend can answer now (for /ready): 1 ok, 0 degraded. */
    int (*healthy)(cache_backend *b);
    void (*close)(cache_backend *b);
    /* Optional (NULL = nothing to do): the outcome of the hit decision for a
     * lookup, so the backend can refresh the served entry (lru/lfu) and count
     * hits and misses. served = the candidate that was answered with, NULL =
     * a miss. Called on the caller's loop; must not block. */
    void (*result)(cache_backend *b, const cache_candidate *served);
    /* Optional (NULL = the cache routes answer 501 for this backend; memory: the
     * routes work on the cache directly): op on the
     * entries of tenant only (NULL = every tenant; "" = the shared entries of
     * scope global). An entry of another tenant is never counted, listed or
     * removed: evicting its id answers n = 0 like an id that does not exist.
     * done runs once on loop (possibly before the call returns); id is read
     * before the call returns. */
    void (*admin)(cache_backend *b, struct event_base *loop, cache_admin_op op, const char *tenant,
                  const char *id, cache_admin_done done, void *arg);
} cache_backend_ops;

struct cache_backend {
    const cache_backend_ops *ops;
};

/* The memory cache c as a backend (memory_backend.c): lookup is cache_search,
 * store is cache_store, result is cache_served; every callback runs before
 * the call returns. close frees the adapter, not c. NULL on out of memory. */
cache_backend *cache_backend_memory(cache *c);
#endif
