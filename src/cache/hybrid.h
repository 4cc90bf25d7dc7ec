/* hybrid.h - the hybrid cache tier (backend_type hybrid), behind backend.h.
 *
 * The search runs on a local index, the answers live in Milvus:
 *   - local: a memory cache (cache.h, no persistence) holding, per entry, what
 *     the hit decision reads (vector, stored query text, earlier turns'
 *     vectors, texts, roles and answer hash) but no answer body;
 *   - Milvus (milvus.h): the shared durable store, the same collection and
 *     rows as backend_type milvus (so milvus and hybrid routers can share it).
 *
 * lookup: the local search (exact key, then the nearest entries of the
 * partition and tenant above the floor); no candidate = a miss without any
 * network; else the candidates' answers are fetched from Milvus by id in one
 * query (tenant and expiry filtered again there) and the candidates go to the
 * caller's hit decision (select.h) with their bodies. A candidate whose row is
 * gone from Milvus (cleared, expired, deleted) is dropped; the local entry is
 * removed too unless it is younger than sync_overlap_seconds (a write not yet
 * visible to the query under Bounded consistency).
 * store: the Milvus upsert (milvus.h, batched, no flush) and, while Milvus
 * answers, the local entry at once with the same created_at.
 *
 * Sync (a thread of its own):
 *   - at open the local index is rebuilt from Milvus (every live row, paged by
 *     id prefix; a progress line like the memory index build); when Milvus is
 *     not reachable at start the router starts degraded and the rebuild runs
 *     when it answers;
 *   - every sync_interval_ms the rows with created_at >= newest seen -
 *     sync_overlap_seconds are read and the ones not held locally inserted:
 *     an entry another router stored appears here within about
 *     sync_interval_ms + the query's consistency delay;
 *   - every resync_seconds a full re-read into a fresh local index that then
 *     replaces the old one, dropping entries deleted in Milvus meanwhile.
 * Local entries expire with semantic_cache.ttl_seconds counted from the row's
 * created_at (the same time Milvus has).
 *
 * Milvus down: the local search still runs, but an answer cannot be fetched,
 * so a request with candidates is a miss (CACHE_STATUS_ERROR, counted as
 * llm_cache_operations_total{backend="hybrid",operation="find_similar",
 * status="error"}); healthy() is Milvus's, so /ready shows the cache degraded;
 * the Milvus backend's probe brings it back and the sync catches up. */
#ifndef SEMROUTER_CACHE_HYBRID_H
#define SEMROUTER_CACHE_HYBRID_H
#include "cache/cache.h"
#include "cache/milvus.h"

/* Opens Milvus (milvus_backend_open with mo; NULL with err on a setup error)
 * and the local index (local: dim, HNSW parameters, vector storage,
 * max_entries = semantic_cache.max_memory_entries, ttl; persist_path and clock
 * are ignored), then rebuilds it (blocking, with a progress line). *degraded
 * is set when Milvus does not answer now (the rebuild then runs later). */
cache_backend *hybrid_backend_open(const milvus_options *mo, const cache_options *local, int *degraded,
                                   char *err, size_t errlen);

typedef struct hybrid_stats {
    size_t local_entries;
    long long rebuilt;      /* rows read by the last full rebuild, -1 = not done yet */
    long long synced;       /* rows inserted by the periodic pulls since open */
    long long removed;      /* local entries dropped because their row was gone */
} hybrid_stats;
void hybrid_backend_stats(cache_backend *b, hybrid_stats *s);
/* Runs one pull now (blocking; tests and the CLI). 0, or -1 with err. */
int hybrid_backend_sync_now(cache_backend *b, char *err, size_t errlen);
#endif
