/* entries.h - the two doors cache.c opens for code that walks or refills the whole
 * cache without seeing its slots, tables or locks (today export.c, the JSONL export and
 * import). Internal to src/cache, like snapshot.h. */
#ifndef SEMROUTER_CACHE_ENTRIES_H
#define SEMROUTER_CACHE_ENTRIES_H
#include "cache/cache.h"
#include "cache/persist.h"
#include <stddef.h>
#include <stdint.h>

/* The dimension of c's vectors (cache_options.dim). */
int cache_entry_dim(const cache *c);

/* One live entry as a scan shows it; every pointer is valid only during the callback. */
typedef struct cache_entry_view {
    const char *tenant;
    const uint8_t *partition, *exact; /* 32 bytes each */
    const char *query;                /* "" when none was kept */
    const float *vec;                 /* dim floats; NULL when it is not recoverable */
    const float *context;             /* n_context * dim floats */
    int dim, n_context;
    const unsigned char *ctx_blob; /* conversation (ctx_blob_build layout) or NULL */
    const char *body;
    size_t body_len;
    int64_t inserted_at, expires_at;
} cache_entry_view;

/* Calls fn for every live, unexpired entry of tenant (all when NULL), oldest first,
 * with no store running meanwhile. fn returns 0 to go on, anything else to stop (that
 * value is returned). Returns 0, fn's stop value, or -1 with err (out of memory). */
int cache_scan_entries(cache *c, const char *tenant,
                       int (*fn)(const cache_entry_view *e, void *arg), void *arg, char *err,
                       size_t errlen);

/* Stores rec (a CACHE_REC_INSERT with its vectors) as an import does: written to the
 * log, max_entries enforced, an already expired record skipped. Returns 1 stored,
 * 0 expired, -1 with err. */
int cache_put_record(cache *c, const cache_record *rec, char *err, size_t errlen);

/* After a batch of cache_put_record: compacts the log when it has grown past its bound. */
void cache_put_done(cache *c);
#endif
