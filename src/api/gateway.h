/* gateway.h - the running router: process-wide state and the HTTP routes.
 *
 * One gateway per process. It owns the current configuration (swapped on
 * SIGHUP; each request holds a reference to the one it started with), the
 * endpoint balancer, the metrics, and the loaded models. Per worker thread it
 * keeps an upstream client on that thread's event loop. */
#ifndef SEMROUTER_API_GATEWAY_H
#define SEMROUTER_API_GATEWAY_H
#include "api/singleflight.h"
#include "cache/cache.h"
#include "cache/verify.h"
#include "config/config.h"
#include "embed/embed.h"
#include "http/balancer.h"
#include "http/server.h"
#include "http/upstream.h"
#include "metrics/sr_metrics.h"
#include "metrics/stats.h"
#include "guard/jailbreak.h"
#include "route/decide.h"
#include <pthread.h>
#include <stdatomic.h>

/* What one loaded configuration needs at request time: the config itself and
 * the routing engine built from it (head, example centroids, tools, keyword
 * rules). Swapped as a whole on reload; a request holds the one it started with. */
typedef struct gateway_runtime {
    atomic_int refs;
    sr_config *config;
    route_engine *route; /* NULL: no categories or no embedding model (default routing) */
    jailbreak_detector *jailbreak; /* NULL: prompt_guard off */
} gateway_runtime;

typedef struct gateway {
    pthread_mutex_t config_lock;
    gateway_runtime *runtime; /* current; take it with gateway_runtime_acquire() */
    char *config_path;
    balancer *balancer;
    sr_metrics *metrics;
    stats *stats; /* live statistics for /api/v1/stats and /dashboard */
    http_server *server;
    int64_t started_ms; /* Unix milliseconds at start */
    /* Loaded once at start from the first configuration (a reload changes
     * thresholds and routing, not these; a restart picks up a new model or
     * cache backend). Any of them may be NULL: the feature is then off or
     * degraded (no embedding: exact cache tier only, default routing). */
    embed_model *embed;
    cache *cache;
    /* asynchronous cache backend (backend.h) for backend_type milvus; then cache
     * is NULL: never a silent memory fallback */
    struct cache_backend *backend;
    cache_verifier *verifier; /* the cache hit verifier (semantic_cache.verifier) or NULL */
    cache_verifier *follow_up_verifier; /* scores follow-ups in the same conversation state
                                           (verifier.follow_up_model_path) or NULL = verifier */
    /* cache (memory) behind backend.h, so the request path asks every backend the
     * same way (src/pipeline/cache.c); NULL when cache is NULL */
    struct cache_backend *memory_backend;
    singleflight *flights;
    /* Model work (embeddings, guards, classification) off the loops
     * (pipeline/compute.h); server.compute_threads at start. */
    struct compute_pool *compute;
    struct watchdog *watchdog; /* NULL: server.watchdog_seconds 0 */
    struct tenant_limits *limits; /* per-tenant rate and concurrency state (limits.h) */
    /* moving averages per model and endpoint for adaptation (route/adapt.h); kept
     * across reloads (the budgets come from the current config) */
    struct adapt_tracker *adapt;
} gateway;

typedef struct gateway_worker {
    gateway *gw;
    int index;
    upstream_client *upstream;
    embed_state *embed; /* this thread's scratch for gw->embed */
    struct event *heartbeat; /* beats the watchdog from this loop */
    void *pipeline; /* the request path's per-worker state (src/pipeline), made on this loop */
} gateway_worker;

/* A reference to the current runtime / configuration; give it back with
 * gateway_runtime_release / config_release. */
gateway_runtime *gateway_runtime_acquire(gateway *gw);
void gateway_runtime_release(gateway_runtime *rt);
sr_config *gateway_config(gateway *gw);
/* Loads path and swaps it in when valid; otherwise keeps the running one.
 * Returns 0, or -1 after printing every problem. */
int gateway_reload(gateway *gw);
/* The same, with every problem (and warning) of the file in errs (initialised by the caller). */
int gateway_reload_errors(gateway *gw, config_errors *errs);

/* The tenant of a request: from its API key when auth is enabled (NULL when
 * the key is missing or unknown), else "anonymous". */
const char *gateway_tenant(const sr_config *cfg, const char *authorization_header);

/* The admin rule for management routes (/api/v1/stats): 1 when auth is off, or
 * when the key is one of auth.keys with admin: true; else 0. */
int gateway_admin(const sr_config *cfg, const char *authorization_header);

/* POST /v1/chat/completions (src/pipeline/chat.c: the staged pipeline). */
void chat_handle(http_request *req, gateway *gw, gateway_worker *wk);
/* The request path's own state (src/pipeline/chat.c): the compute pool for
 * model work. start logs a failure (model work then runs on the loops); stop
 * joins the pool (call after the loops stopped, before they are freed). */
void chat_pipeline_start(gateway *gw, const sr_config *cfg);
void chat_pipeline_stop(gateway *gw);
/* Frees wk->pipeline (the worker's loop has stopped; before wk->upstream is freed). */
void chat_pipeline_worker_free(gateway_worker *wk);

/* `semrouter serve -c FILE`. */
int gateway_serve_main(int argc, char **argv);

/* The embedding model options of cfg->embedding_model (the model the router loads; the path
 * resolved against the config's folder into path[pathlen]). */
embed_options gateway_embed_options(const sr_config *cfg, char *path, size_t pathlen);

/* A test binary's extra route (a tests/hooks/ source sets it from a constructor): called for a path no
 * other route owns; returns the status it answered with, or 0 to let the 404 answer. NULL in
 * the semrouter binary, so no such route exists in production. */
extern int (*gateway_test_route)(http_request *req, const char *path);
#endif
