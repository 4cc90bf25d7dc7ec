/* memory_backend.c - the memory cache (cache.h) behind the asynchronous
 * backend contract (backend.h). Everything is in process and fast, so every
 * call finishes and calls back before it returns, on the caller's thread. */
#include "cache/backend.h"
#include "core/log.h"
#include <stdlib.h>

typedef struct memory_backend {
    cache_backend base;
    cache *c;
} memory_backend;

static void mem_lookup(cache_backend *b, struct event_base *loop, const cache_request *r, int k,
                       float floor, cache_lookup_done done, void *arg)
{
    (void)loop;
    memory_backend *m = (memory_backend *)b;
    cache_candidates cands = {0, NULL};
    int n = cache_search(m->c, r, k, floor, &cands);
    done(arg, n < 0 ? CACHE_STATUS_ERROR : CACHE_STATUS_OK, &cands);
    cache_candidates_free(&cands); /* a callee that keeps them took them (v NULL) */
}

static void mem_store(cache_backend *b, struct event_base *loop, const cache_request *r,
                      const char *query_text, const char *body, size_t len, cache_store_done done,
                      void *arg)
{
    (void)loop;
    memory_backend *m = (memory_backend *)b;
    char err[256];
    int rc = cache_store(m->c, r, query_text, body, len, err, sizeof err);
    if (rc) log_warn("cache store failed: %s", err);
    if (done) done(arg, rc ? CACHE_STATUS_ERROR : CACHE_STATUS_OK);
}

static void mem_result(cache_backend *b, const cache_candidate *served)
{
    memory_backend *m = (memory_backend *)b;
    cache_served(m->c, served ? served->id : NULL, served ? served->tier : CACHE_TIER_SEMANTIC);
}

static int mem_healthy(cache_backend *b)
{
    (void)b;
    return 1;
}

static void mem_close(cache_backend *b)
{
    free(b); /* the cache itself stays the owner's */
}

static const cache_backend_ops memory_ops = {
    .name = "memory",
    .lookup = mem_lookup,
    .store = mem_store,
    .healthy = mem_healthy,
    .close = mem_close,
    .result = mem_result,
};

cache_backend *cache_backend_memory(cache *c)
{
    memory_backend *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->base.ops = &memory_ops;
    m->c = c;
    return &m->base;
}
