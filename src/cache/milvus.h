/* milvus.h - the Milvus cache backend (REST v2), behind backend.h.
 *
 * Several routers share one cache that survives their restarts. The request
 * path never waits: lookups and stores are libcurl multi transfers on the
 * calling worker's event loop (one connection pool per loop, keep-alive within
 * milvus_options.keepalive_*, the model servers' limits),
 * bounded per loop (max_inflight; past it a lookup fails fast as an error and
 * counts). Bootstrap, the recovery probe and the delete of expired rows run
 * on a maintenance thread of the backend (blocking calls there are fine).
 *
 * Collection (closed schema 2, created when missing and
 * development.auto_create_collection is true):
 *   id VarChar(64) primary = exact key (hex SHA-256: deterministic, so a store
 *     is an idempotent upsert and the exact tier is a lookup by id)
 *   partition_hash VarChar(64), tenant VarChar(512), embedding_model VarChar(256)
 *   query_text VarChar(65535)      last user turn (cut at 65,535 bytes)
 *   response_body VarChar(65535)   the completion; body_encoding Int64 0 = as is,
 *                                  1 = zlib + base64 (over 65,535 bytes or not
 *                                  UTF-8); still too large = store skipped
 *   context VarChar(65535)         base64 f32 vectors of the earlier turns,
 *   n_context Int64                their count (too many = store skipped)
 *   conversation VarChar(65535)    schema 2: the earlier turns' roles, user/tool
 *                                  texts and a SHA-256 of the assistant turns
 *                                  (mv_put_conversation), what cache_select's
 *                                  context match reads; "" when not given
 *   semantic Int64                 1 = the vector is the query's embedding,
 *                                  0 = exact-only entry (non-text turn)
 *   created_at, expires_at Int64   Unix seconds (no TTL: year 9999)
 *   <vector_field.name> FloatVector(dim of the embedding model)
 * with an index of collection.index (HNSW M/efConstruction) and the metric
 * of collection.vector_field.metric_type. An existing collection whose
 * dimension, metric, fields or embedding model differ is an error at start
 * (never reused silently, never dropped unless drop_collection_on_startup);
 * a schema 1 collection (no conversation field, written before follow-ups
 * were told apart by conversation) is refused with its own sentence (the
 * CLI still counts, clears and purges it).
 *
 * lookup: query_vec given -> entities/search filtered on partition_hash,
 * tenant, semantic == 1 and expires_at > now (literals escaped), limit
 * min(k, search.topk); the row with id == exact key becomes the exact tier.
 * No query_vec -> entities/query by id. The hit decision is the caller's.
 * store: entities/upsert; stores that arrive while an upsert of the same loop
 * is in flight are sent together in the next one. No flush.
 *
 * Failures: a transport error, timeout, HTTP error, garbage or a server code
 * marks the backend degraded (healthy() 0, /ready shows it); while degraded,
 * lookups and stores fail at once without network (a miss, nothing stored),
 * each counted in llm_cache_operations_total{backend="milvus",status="error"}
 * and semrouter_cache_backend_errors_total{backend,reason}, with one log line
 * per 10 s at most. The maintenance thread probes every second and brings the
 * backend back (re-creating or re-loading the collection when needed). */
#ifndef SEMROUTER_CACHE_MILVUS_H
#define SEMROUTER_CACHE_MILVUS_H
#include "cache/backend.h"
#include "config/config.h"
#include <stdio.h>

struct sr_metrics;

typedef struct milvus_options {
    const sr_milvus_config *cfg;
    int dim;                        /* the embedding model's */
    const char *embedding_model_id; /* kept per row; another model's rows = error at start */
    int64_t ttl_seconds;            /* 0 = entries never expire */
    struct sr_metrics *metrics;     /* NULL = none */
    int max_inflight;               /* per loop, 0 = 64 */
    int no_thread;                  /* 1 = no maintenance thread (CLI use) */
    int inspect;                    /* 1 = CLI: the collection must exist; its dimension is
                                       used; nothing is created, loaded or checked */
    /* Kept-alive connections to Milvus (every handle: the loops' pools and the blocking one):
     * one idle more than keepalive_idle_s whole seconds, or opened more than
     * keepalive_lifetime_s ago, is closed, not reused (upstream.h's rule; the router passes
     * server.upstream_keepalive_idle_seconds / _lifetime_seconds). idle <= 0:
     * UPSTREAM_KEEPALIVE_IDLE_S; lifetime <= 0: no limit. */
    long keepalive_idle_s;
    long keepalive_lifetime_s;
} milvus_options;

/* Opens the backend: bootstraps the collection now (blocking, bounded by
 * connection.timeout). Returns NULL with a sentence in err when the setup is
 * wrong (collection of another dimension/metric/embedding model, missing
 * collection without auto_create, credentials refused, bad options). When
 * Milvus cannot be reached the backend is returned degraded and keeps trying
 * (*degraded set to 1 when not NULL; err says why). */
cache_backend *milvus_backend_open(const milvus_options *o, int *degraded, char *err, size_t errlen);

/* Blocking helpers for `semrouter cache` and tests (not for a worker loop).
 * tenant NULL = every tenant. Return a count, or -1 with err. */
long long milvus_backend_count(cache_backend *b, const char *tenant, char *err, size_t errlen);
long long milvus_backend_clear(cache_backend *b, const char *tenant, char *err, size_t errlen);
long long milvus_backend_purge_expired(cache_backend *b, char *err, size_t errlen);
/* `semrouter cache stats|clear|purge -c CONFIG` when the config's backend is milvus. */
int milvus_cli(const char *cmd, const char *config_path, const char *tenant, int json);

/* For the hybrid tier (hybrid.h); all on the backend's own connections.
 *
 * store_at: ops->store with the row's created_at given (the hybrid tier keeps
 * the same time on its local entry).
 * fetch: on loop, asynchronously, the rows of ids (of tenant, not expired)
 * with response_body, body_encoding, tenant and conversation; done gets the answer's data
 * array (valid during the call only; ids gone from Milvus are simply absent),
 * or CACHE_STATUS_ERROR (counted and logged like a failed lookup; fails at
 * once while degraded).
 * scan: blocking (not on a worker loop): hands fn every live row with
 * created_at >= created_from (0 = all) with the fields a local index needs
 * (partition_hash, tenant, query_text, context, n_context, conversation,
 * semantic, created_at, expires_at, the vector); pages by id prefix (ids are
 * hex SHA-256: a full page is split in 16), so it relies on no order of the
 * answers. progress_label non-NULL = a progress line (progress.h). Returns the
 * rows fn accepted (fn returns 0), or -1 with err. */
void milvus_backend_store_at(cache_backend *b, struct event_base *loop, const cache_request *r,
                             const char *query_text, const char *body, size_t len, int64_t created_at,
                             cache_store_done done, void *arg);
struct cJSON;
typedef void (*milvus_fetch_done)(void *arg, cache_status status, const struct cJSON *rows);
void milvus_backend_fetch(cache_backend *b, struct event_base *loop, const char *tenant, const char *const *ids,
                          int n, milvus_fetch_done done, void *arg);
typedef int (*milvus_row_fn)(void *arg, const struct cJSON *row);
long long milvus_backend_scan(cache_backend *b, int64_t created_from, milvus_row_fn fn, void *arg,
                              const char *progress_label, char *err, size_t errlen);
/* The vector field's name (rows of a scan carry the vector under it). */
const char *milvus_backend_vector_field(cache_backend *b);

/* The base URL ("http://host:19530") the backend talks to, for log lines. */
const char *milvus_backend_url(cache_backend *b);
#endif
