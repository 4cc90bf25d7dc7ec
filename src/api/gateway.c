/* gateway.c - process-wide router state, HTTP routes, and `semrouter serve`.
 *
 * Signals (SIGHUP reload, SIGINT/SIGTERM graceful stop) reach the main thread
 * through a self-pipe while the worker loops run; a bad file on reload is
 * reported and the running configuration stays. */
#include "api/gateway.h"
#include "route/adapt.h"
#include "core/openai_error.h"
#include "api/classify.h"
#include "api/classify_guard.h"
#include "api/admin.h"
#include "api/auth.h"
#include "api/limits.h"
#include "api/dashboard.h"
#include "api/embeddings.h"
#include "api/model_api.h"
#include "cache/hybrid.h"
#include "cache/milvus.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/util.h"
#include "core/watchdog.h"

#include <curl/curl.h>
#include <event2/event.h>
#include <stdatomic.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

gateway_runtime *gateway_runtime_acquire(gateway *gw)
{
    pthread_mutex_lock(&gw->config_lock);
    gateway_runtime *rt = gw->runtime;
    atomic_fetch_add(&rt->refs, 1);
    pthread_mutex_unlock(&gw->config_lock);
    return rt;
}

void gateway_runtime_release(gateway_runtime *rt)
{
    if (!rt || atomic_fetch_sub(&rt->refs, 1) != 1) return;
    route_engine_free(rt->route);
    jailbreak_free(rt->jailbreak);
    config_release(rt->config);
    free(rt);
}

sr_config *gateway_config(gateway *gw)
{
    pthread_mutex_lock(&gw->config_lock);
    sr_config *c = config_retain(gw->runtime->config);
    pthread_mutex_unlock(&gw->config_lock);
    return c;
}

/* Builds the runtime of cfg (taking over its reference). The routing engine
 * needs the embedding model; without one, or when it fails to build, requests
 * for the automatic model go to default_model (logged once here). */
static gateway_runtime *runtime_new(gateway *gw, sr_config *cfg)
{
    gateway_runtime *rt = calloc(1, sizeof *rt);
    if (!rt) {
        config_release(cfg);
        return NULL;
    }
    atomic_init(&rt->refs, 1);
    rt->config = cfg;
    if (cfg->n_categories > 0 || cfg->n_keyword_rules > 0) {
        char err[512];
        if (!gw->embed) {
            log_warn("[routing_degraded] routing: no embedding model, so automatic routing uses default_model '%s'",
                     cfg->default_model);
        } else if (!(rt->route = route_engine_new(cfg, gw->embed, err, sizeof err))) {
            log_error("[routing_degraded] routing engine not built (%s); automatic routing uses default_model '%s'", err,
                      cfg->default_model);
        }
    }
    if (cfg->prompt_guard.enabled) {
        char err[512], path[1024];
        const char *ex = cfg->prompt_guard.exemplars_path
                             ? config_resolve_path(cfg, cfg->prompt_guard.exemplars_path, path, sizeof path)
                             : NULL;
        rt->jailbreak = jailbreak_load(ex, gw->embed, err, sizeof err);
        if (!rt->jailbreak) {
            log_warn("[jailbreak_exemplars_unavailable] jailbreak exemplars not loaded (%s); the prompt guard uses its pattern signals only", err);
            rt->jailbreak = jailbreak_load(NULL, NULL, err, sizeof err);
        }
        if (!rt->jailbreak) log_error("[prompt_guard_unavailable] prompt guard not available: %s", err);
    }
    return rt;
}

int gateway_reload(gateway *gw)
{
    config_errors errs;
    config_errors_init(&errs);
    int rc = gateway_reload_errors(gw, &errs);
    config_errors_free(&errs);
    return rc;
}

int gateway_reload_errors(gateway *gw, config_errors *errs)
{
    sr_config *next = config_load(gw->config_path, errs);
    if (!next) {
        log_error("[reload_rejected] config reload rejected; the running configuration stays:");
        config_errors_print(errs, stderr);
        metrics_inc(gw->metrics->config_reloads, METRICS_LABELS("rejected"));
        return -1;
    }
    if (errs->n_warnings) config_errors_print(errs, stderr);
    gateway_runtime *rt = runtime_new(gw, next);
    if (!rt) {
        log_error("[reload_rejected] config reload rejected: out of memory");
        metrics_inc(gw->metrics->config_reloads, METRICS_LABELS("rejected"));
        return -1;
    }
    pthread_mutex_lock(&gw->config_lock);
    gateway_runtime *old = gw->runtime;
    gw->runtime = rt;
    pthread_mutex_unlock(&gw->config_lock);
    gateway_runtime_release(old); /* freed when the last in-flight request lets go */
    metrics_inc(gw->metrics->config_reloads, METRICS_LABELS("ok"));
    log_info("configuration reloaded from %s", gw->config_path);
    return 0;
}

/* ------------------------------------------------------------------ routes */

static void respond_json(http_request *req, int status, buf *b)
{
    if (b->oom) {
        http_respond_error(req, 500, "Out of memory while writing the response.", NULL, "out_of_memory");
        return;
    }
    http_respond(req, status, "application/json", b->data, b->len);
}

static int handle_models(http_request *req, gateway *gw)
{
    sr_config *cfg = gateway_config(gw);
    buf b;
    buf_init(&b);
    long long now = (long long)util_unix_time();
    buf_puts(&b, "{\"object\":\"list\",\"data\":[");
    buf_puts(&b, "{\"id\":");
    buf_json_str(&b, cfg->auto_model_name, strlen(cfg->auto_model_name));
    buf_printf(&b,
               ",\"object\":\"model\",\"created\":%lld,\"owned_by\":\"vllm-semantic-router\","
               "\"description\":\"Intelligent Router for Mixture-of-Models\"}",
               now);
    if (cfg->include_config_models_in_list)
        for (size_t i = 0; i < cfg->n_models; i++) {
            buf_puts(&b, ",{\"id\":");
            buf_json_str(&b, cfg->models[i].name, strlen(cfg->models[i].name));
            buf_printf(&b, ",\"object\":\"model\",\"created\":%lld,\"owned_by\":\"semrouter\"}", now);
        }
    if (gw->embed) { /* the built-in embedding model, for POST /v1/embeddings */
        const char *id = embed_model_id(gw->embed);
        buf_puts(&b, ",{\"id\":");
        buf_json_str(&b, id, strlen(id));
        buf_printf(&b, ",\"object\":\"model\",\"created\":%lld,\"owned_by\":\"semrouter\"}", now);
    }
    buf_puts(&b, "]}");
    respond_json(req, 200, &b);
    buf_free(&b);
    config_release(cfg);
    return 200;
}

/* Ready when at least one endpoint has answered and is not ejected; an endpoint that never
 * answered is "unknown", not healthy. */
static int handle_ready(http_request *req, gateway *gw)
{
    sr_config *cfg = gateway_config(gw);
    buf b;
    buf_init(&b);
    int healthy = 0;
    buf_puts(&b, "{\"status\":");
    size_t status_at = b.len;
    buf_puts(&b, "\"ready\",\"endpoints\":[");
    for (size_t i = 0; i < cfg->n_endpoints; i++) {
        balancer_status st = balancer_state(gw->balancer, cfg->endpoints[i].name);
        int h = st == BALANCER_UP;
        healthy += h;
        buf_printf(&b, "%s{\"name\":", i ? "," : "");
        buf_json_str(&b, cfg->endpoints[i].name, strlen(cfg->endpoints[i].name));
        buf_printf(&b, ",\"healthy\":%s,\"state\":\"%s\"}", h ? "true" : "false",
                   balancer_status_name(st));
    }
    buf_puts(&b, "]");
    if (gw->backend) {
        int ch = gw->backend->ops->healthy(gw->backend);
        buf_printf(&b, ",\"cache\":{\"backend\":\"%s\",\"status\":\"%s\"}", gw->backend->ops->name,
                   ch ? "ok" : "degraded");
    }
    watchdog_report stalled[8];
    int n_stalled = watchdog_describe(gw->watchdog, stalled, 8);
    if (n_stalled) {
        buf_puts(&b, ",\"stalled_workers\":[");
        for (int i = 0; i < n_stalled && i < 8; i++) {
            buf_printf(&b, "%s{\"worker\":%d,\"seconds\":%.1f,\"request_id\":", i ? "," : "",
                       stalled[i].slot, stalled[i].seconds);
            buf_json_str(&b, stalled[i].request_id, strlen(stalled[i].request_id));
            buf_puts(&b, ",\"stage\":");
            buf_json_str(&b, stalled[i].stage, strlen(stalled[i].stage));
            buf_putc(&b, '}');
        }
        buf_putc(&b, ']');
    }
    buf_putc(&b, '}');
    int ok = healthy > 0 && n_stalled == 0;
    if (!ok) {
        /* same length as "ready" would not fit; rebuild the prefix */
        buf nb;
        buf_init(&nb);
        buf_puts(&nb, "{\"status\":\"not_ready\"");
        buf_append(&nb, b.data + status_at + 7, b.len - status_at - 7);
        buf_free(&b);
        b = nb;
    }
    respond_json(req, ok ? 200 : 503, &b);
    buf_free(&b);
    config_release(cfg);
    return ok ? 200 : 503;
}

static int handle_metrics(http_request *req, gateway *gw)
{
    buf b;
    buf_init(&b);
    sr_config *cfg = gateway_config(gw);
    for (size_t i = 0; i < cfg->n_endpoints; i++)
        metrics_set(gw->metrics->endpoint_healthy, METRICS_LABELS(cfg->endpoints[i].name),
                    balancer_healthy(gw->balancer, cfg->endpoints[i].name));
    config_release(cfg);
    metrics_set(gw->metrics->inflight_requests, NULL, (double)http_server_inflight(gw->server));
    sr_metrics_render(gw->metrics, &b);
    http_respond(req, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len);
    buf_free(&b);
    return 200;
}

int (*gateway_test_route)(http_request *req, const char *path);

/* The model-work route of path (model_api_kind), or -1. */
static int model_api_route(const char *path)
{
    static const struct {
        const char *path;
        model_api_kind kind;
    } routes[] = {
        {"/v1/embeddings", MODEL_API_EMBEDDINGS},        {"/api/v1/similarity", MODEL_API_SIMILARITY},
        {"/api/v1/classify/intent", MODEL_API_INTENT},   {"/api/v1/classify/batch", MODEL_API_BATCH},
        {"/api/v1/classify/combined", MODEL_API_COMBINED}, {"/api/v1/classify/pii", MODEL_API_PII},
        {"/api/v1/classify/security", MODEL_API_SECURITY},
    };
    for (size_t i = 0; i < sizeof routes / sizeof *routes; i++)
        if (!strcmp(path, routes[i].path)) return (int)routes[i].kind;
    return -1;
}

static void count_http(gateway *gw, const char *path, int status)
{
    char st[8];
    snprintf(st, sizeof st, "%d", status);
    metrics_inc(gw->metrics->http_requests, METRICS_LABELS(path, st));
}

/* The key check and tenant limits of a model-work route (models, embeddings, classification):
 * 0 to go on (*held: a limit slot to give back, the tenant copied into tenant), or the status
 * after answering 401 / 429. Auth off: always 0. */
static int api_gate(http_request *req, gateway *gw, char *tenant, size_t tenantlen, int *held)
{
    sr_config *cfg = gateway_config(gw);
    int st = 0;
    *held = 0;
    const char *t = cfg->auth.enabled ? gateway_tenant(cfg, http_request_header(req, "authorization")) : NULL;
    if (cfg->auth.enabled && !t) {
        http_add_header(req, "WWW-Authenticate", "Bearer");
        http_respond_error(req, 401,
                           "Incorrect API key provided. Send a key from the router's auth.keys as "
                           "'Authorization: Bearer KEY'.",
                           NULL, "invalid_api_key");
        st = 401;
    } else if (t) {
        char msg[512];
        int h = auth_limits_admit(gw, cfg, req, t, msg, sizeof msg);
        if (h < 0) {
            http_respond_error(req, 429, msg, NULL, "rate_limit_exceeded");
            st = 429;
        } else {
            *held = h;
            snprintf(tenant, tenantlen, "%s", t); /* t lives in cfg, released below */
        }
    }
    config_release(cfg);
    return st;
}

static void api_handler(http_request *req, void *arg)
{
    gateway *gw = arg;
    gateway_worker *wk = http_request_worker_data(req);
    const char *path = http_request_path(req);
    const char *method = http_request_method(req);
    int is_get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
    int is_post = !strcmp(method, "POST");
    char held_tenant[256];
    int held = 0; /* a tenant limit slot taken by api_gate */
    if (!strcmp(path, "/v1/chat/completions")) {
        if (!is_post) goto method;
        chat_handle(req, gw, wk);
        watchdog_stage(NULL, NULL); /* back to the loop (the request may continue later) */
        return;
    }
    watchdog_stage(http_request_header(req, "x-request-id"), path[0] == '/' && path[1] == 'v' ? "api" : "admin");
    /* the request is freed once answered: keep what the accounting needs */
    char counted_path[64];
    snprintf(counted_path, sizeof counted_path, "%s", strlen(path) < sizeof counted_path ? path : "other");
    int status, kind;
    /* with auth on, the model-work routes need a key and count against its tenant's limits */
    if (!strcmp(path, "/v1/models") || !strcmp(path, "/v1/embeddings") || !strncmp(path, "/api/v1/classify/", 17) ||
        !strcmp(path, "/api/v1/similarity")) {
        int st = api_gate(req, gw, held_tenant, sizeof held_tenant, &held);
        if (st) {
            count_http(gw, counted_path, st);
            return;
        }
    }
    if (!strcmp(path, "/v1/models")) {
        if (!is_get) goto method;
        status = handle_models(req, gw);
    } else if ((kind = model_api_route(path)) >= 0) {
        /* model work: on the compute pool, answered from this loop when done (api/model_api.h) */
        if (!is_post) goto method;
        status = model_api_start(req, gw, wk, (model_api_kind)kind, held_tenant, held, counted_path);
        if (status == 0) { /* taken over: it releases and counts when it answers */
            watchdog_stage(NULL, NULL); /* back to the loop */
            return;
        }
    } else if (!strcmp(path, "/health")) {
        if (!is_get) goto method;
        http_respond(req, 200, "application/json", "{\"status\":\"healthy\"}", 20);
        status = 200;
    } else if (!strcmp(path, "/ready")) {
        if (!is_get) goto method;
        status = handle_ready(req, gw);
    } else if (!strcmp(path, "/metrics")) {
        if (!is_get) goto method;
        status = handle_metrics(req, gw);
    } else if (admin_owns(path)) {
        /* the label before the call: path is freed with the answered request */
        if (!strncmp(path, "/api/v1/cache/entries/", 22)) snprintf(counted_path, sizeof counted_path, "/api/v1/cache/entries");
        status = admin_handle(req, gw, path, method, counted_path);
        if (status == 0) { /* a cache backend's admin op answers (and counts) when it calls back */
            watchdog_stage(NULL, NULL);
            return;
        }
    } else if (dashboard_owns(path)) {
        if (!is_get) goto method;
        status = dashboard_handle(req, gw, path);
    } else if (gateway_test_route && (status = gateway_test_route(req, path)) > 0) {
        /* a test binary's route (tests/hooks/); never set in the semrouter binary */
    } else {
        char msg[512];
        snprintf(msg, sizeof msg, "Unknown request URL: %s %.300s. Please check the URL.", method, path);
        http_respond_error(req, 404, msg, NULL, "unknown_url");
        status = 404;
        snprintf(counted_path, sizeof counted_path, "other"); /* keep label cardinality bounded */
    }
    if (held) auth_limits_release(gw, held_tenant);
    count_http(gw, counted_path, status);
    return;
method:
    if (held) auth_limits_release(gw, held_tenant);
    http_add_header(req, "Allow", is_post ? "GET" : "POST");
    http_respond_error(req, 405, "Method not allowed for this URL.", NULL, "method_not_allowed");
}

static void metrics_listener_handler(http_request *req, void *arg)
{
    gateway *gw = arg;
    const char *path = http_request_path(req);
    if (!strcmp(path, "/metrics")) handle_metrics(req, gw);
    else if (!strcmp(path, "/health"))
        http_respond(req, 200, "application/json", "{\"status\":\"healthy\"}", 20);
    else http_respond_error(req, 404, "Only /metrics and /health are served on this port.", NULL, "unknown_url");
}

static void heartbeat_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    gateway_worker *wk = arg;
    watchdog_beat(wk->gw->watchdog, wk->index);
}

/* On the watchdog thread: a loop stalled or turns again. */
static void watchdog_changed(const watchdog_report *r, void *arg)
{
    gateway *gw = arg;
    /* first, so that /ready answers 503 by the time this is logged */
    http_server_worker_stalled(gw->server, r->slot, r->stalled);
    if (r->stalled) {
        char w[16];
        snprintf(w, sizeof w, "%d", r->slot);
        metrics_inc(gw->metrics->watchdog_stalls, METRICS_LABELS(w));
        log_error("[watchdog_stall] watchdog: worker %d has not turned its event loop for %.1f s; request %s, stage %s "
                  "(entered %.1f s ago); its open connections wait, new ones go to another worker, /ready answers 503",
                  r->slot, r->seconds, r->request_id[0] ? r->request_id : "(none)",
                  r->stage[0] ? r->stage : "(none)", r->stage_seconds);
    } else {
        log_info("watchdog: worker %d turns again after %.1f s stalled (request %s, stage %s)", r->slot,
                 r->seconds, r->request_id[0] ? r->request_id : "(none)", r->stage[0] ? r->stage : "(none)");
    }
}

static void *worker_init(struct event_base *base, int index, void *arg)
{
    gateway_worker *wk = calloc(1, sizeof *wk);
    if (!wk) return NULL;
    wk->gw = arg;
    wk->index = index;
    wk->upstream = upstream_client_new(base);
    if (wk->gw->embed) wk->embed = embed_state_new(wk->gw->embed);
    if (wk->gw->watchdog) {
        /* worker_init runs on the loop's thread: bind it, beat from a timer on the loop */
        watchdog_bind(wk->gw->watchdog, index);
        wk->heartbeat = event_new(base, -1, EV_PERSIST, heartbeat_cb, wk);
        double iv = watchdog_interval(wk->gw->watchdog);
        struct timeval tv = {(time_t)iv, (suseconds_t)((iv - (double)(time_t)iv) * 1e6)};
        if (wk->heartbeat) event_add(wk->heartbeat, &tv);
    }
    return wk;
}

static void worker_free(void *data, void *arg)
{
    (void)arg;
    gateway_worker *wk = data;
    if (!wk) return;
    chat_pipeline_worker_free(wk);
    upstream_client_free(wk->upstream);
    embed_state_free(wk->embed);
    if (wk->heartbeat) event_free(wk->heartbeat);
    free(wk);
}

embed_options gateway_embed_options(const sr_config *cfg, char *path, size_t pathlen)
{
    const sr_embedding_model_config *e = &cfg->embedding_model;
    embed_options o = {0};
    o.type = e->type == SR_EMBED_MODEL2VEC ? EMBED_MODEL2VEC
             : e->type == SR_EMBED_REMOTE  ? EMBED_REMOTE
                                           : EMBED_USE_LITE;
    o.path = e->path ? config_resolve_path(cfg, e->path, path, pathlen) : NULL;
    o.url = e->url;
    o.remote_model = e->model;
    o.api_key_env = e->api_key_env;
    o.dim = e->dim;
    o.timeout_ms = e->timeout_ms;
    o.precision = e->precision == SR_EMBED_BF16 ? EMBED_BF16 : EMBED_F32;
    return o;
}

/* Loads the embedding model and the cache named by the first configuration.
 * A failure is logged and the feature degrades; the router still serves. */
static int load_models(gateway *gw, const sr_config *cfg)
{
    char err[512], path[1024];
    int want_embed = cfg->semantic_cache.enabled || cfg->prompt_guard.enabled ||
                     cfg->n_categories > 0 || cfg->tools.enabled;
    if (want_embed) {
        embed_options o = gateway_embed_options(cfg, path, sizeof path);
        uint64_t t0 = util_now_ns();
        gw->embed = embed_load(&o, err, sizeof err);
        if (gw->embed)
            log_info("embedding model %s loaded (%d-d, window %d tokens, %s weights) in %.0f ms",
                     embed_model_id(gw->embed), embed_dim(gw->embed), embed_max_tokens(gw->embed),
                     embed_precision_name(embed_model_precision(gw->embed)),
                     (double)(util_now_ns() - t0) / 1e6);
        else
            log_error("[embedding_model_unavailable] embedding model not loaded (%s): semantic cache tier, classifier and "
                      "similarity guards are off; run scripts/fetch-model.sh",
                      err);
    }
    const sr_cache_verifier_config *vc = &cfg->semantic_cache.verifier;
    if (cfg->semantic_cache.enabled && vc->enabled) { /* the hit decision of every backend */
        const char *vp = vc->model_path ? vc->model_path : "config/cache_verifier.model";
        gw->verifier = cache_verifier_load(config_resolve_path(cfg, vp, path, sizeof path), err, sizeof err);
        if (!gw->verifier)
            log_error("[verifier_unavailable] cache hit verifier not loaded (%s): semantic hits are decided by the similarity "
                      "threshold alone",
                      err);
        const char *fp = vc->follow_up_model_path;
        if (gw->verifier && fp && *fp) {
            gw->follow_up_verifier =
                cache_verifier_load(config_resolve_path(cfg, fp, path, sizeof path), err, sizeof err);
            if (!gw->follow_up_verifier)
                log_error("[verifier_unavailable] cache follow-up model not loaded (%s): the hit verifier's model scores "
                          "follow-ups in the same conversation state",
                          err);
        }
    }
    if (cfg->semantic_cache.enabled && (cfg->semantic_cache.backend_type == SR_CACHE_MILVUS ||
                                        cfg->semantic_cache.backend_type == SR_CACHE_HYBRID)) {
        const sr_semantic_cache_config *sc = &cfg->semantic_cache;
        int hybrid = sc->backend_type == SR_CACHE_HYBRID;
        if (!gw->embed) {
            log_error("[cache_unavailable] semantic_cache.backend_type %s needs the embedding model (not loaded): the cache is off",
                      hybrid ? "hybrid" : "milvus");
        } else {
            milvus_options mo = {0};
            mo.cfg = sc->milvus;
            mo.dim = embed_dim(gw->embed);
            mo.embedding_model_id = embed_model_id(gw->embed);
            mo.ttl_seconds = sc->ttl_seconds;
            mo.metrics = gw->metrics;
            mo.keepalive_idle_s = cfg->server.upstream_keepalive_idle_seconds;
            mo.keepalive_lifetime_s = cfg->server.upstream_keepalive_lifetime_seconds;
            int degraded = 0;
            if (hybrid) { /* the local index of cache/hybrid.h */
                cache_options lo;
                cache_options_default(&lo, mo.dim);
                lo.embedding_model_id = mo.embedding_model_id;
                lo.context_similarity_threshold = (float)sc->context_similarity_threshold;
                lo.max_entries = (size_t)sc->max_memory_entries;
                lo.index.use_hnsw = sc->use_hnsw;
                lo.index.m = sc->hnsw_m;
                lo.index.ef_construction = sc->hnsw_ef_construction;
                lo.index.ef_search = sc->hnsw_ef_search;
                lo.index.storage = sc->vector_storage == SR_VECTORS_F16    ? HNSW_STORE_F16
                                   : sc->vector_storage == SR_VECTORS_INT8 ? HNSW_STORE_I8
                                                                           : HNSW_STORE_F32;
                gw->backend = hybrid_backend_open(&mo, &lo, &degraded, err, sizeof err);
            } else {
                gw->backend = milvus_backend_open(&mo, &degraded, err, sizeof err);
            }
            if (!gw->backend) {
                log_error("[cache_backend_misconfigured] %s cache: %s", hybrid ? "hybrid" : "milvus", err);
                return -1;
            }
            if (degraded)
                log_warn("[milvus_unavailable] milvus cache: not answering at start (%s); requests are cache misses until it does "
                         "(retried every second)",
                         err);
        }
        gw->flights = singleflight_new();
        return 0;
    }
    if (cfg->semantic_cache.enabled) {
        const sr_semantic_cache_config *sc = &cfg->semantic_cache;
        cache_options o;
        cache_options_default(&o, gw->embed ? embed_dim(gw->embed) : 512);
        o.embedding_model_id = gw->embed ? embed_model_id(gw->embed) : "none";
        o.similarity_threshold = (float)sc->similarity_threshold;
        o.context_similarity_threshold = (float)sc->context_similarity_threshold;
        o.max_entries = (size_t)sc->max_entries;
        o.max_entries_per_tenant = (size_t)sc->max_entries_per_tenant;
        o.ttl_seconds = sc->ttl_seconds;
        o.eviction = sc->eviction_policy == SR_EVICT_LRU   ? CACHE_EVICT_LRU
                     : sc->eviction_policy == SR_EVICT_LFU ? CACHE_EVICT_LFU
                                                           : CACHE_EVICT_FIFO;
        o.index.use_hnsw = sc->use_hnsw;
        o.index.m = sc->hnsw_m;
        o.index.ef_construction = sc->hnsw_ef_construction;
        o.index.ef_search = sc->hnsw_ef_search;
        o.index.storage = sc->vector_storage == SR_VECTORS_F16    ? HNSW_STORE_F16
                          : sc->vector_storage == SR_VECTORS_INT8 ? HNSW_STORE_I8
                                                                  : HNSW_STORE_F32;
        o.persist_path = sc->persist_path ? config_resolve_path(cfg, sc->persist_path, path, sizeof path) : NULL;
        gw->cache = cache_open(&o, err, sizeof err);
        if (!gw->cache) log_error("[cache_unavailable] semantic cache not available (%s); requests go upstream", err);
        else if (!(gw->memory_backend = cache_backend_memory(gw->cache))) {
            log_error("[cache_unavailable] semantic cache off: out of memory at start");
            cache_close(gw->cache);
            gw->cache = NULL;
        }
    }
    gw->flights = singleflight_new();
    return 0;
}

static double cache_entries_gauge(void *ctx)
{
    cache_stats st;
    cache_stats_get(ctx, &st);
    return (double)st.entries;
}

/* ------------------------------------------------------------------- serve */

static int signal_pipe[2] = {-1, -1};

/* One record per signal (smaller than PIPE_BUF, so written atomically): the
 * sender is logged, because a router stopped by a stray kill is otherwise a
 * mystery. */
typedef struct signal_note {
    int sig;
    pid_t from;
} signal_note;

static void on_signal(int sig, siginfo_t *info, void *ctx)
{
    (void)ctx;
    int saved = errno;
    signal_note n = {sig, info ? info->si_pid : 0};
    ssize_t w = write(signal_pipe[1], &n, sizeof n);
    (void)w;
    errno = saved;
}

/* "pid N (command line)" of a signal's sender, best effort (it may be gone). */
static void describe_sender(pid_t pid, char *out, size_t outlen)
{
    char path[64], cmd[160] = "";
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    int fd = pid > 0 ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd >= 0) {
        ssize_t n = read(fd, cmd, sizeof cmd - 1);
        close(fd);
        for (ssize_t i = 0; i < n; i++)
            if (cmd[i] == 0 || cmd[i] == '\n') cmd[i] = ' ';
        cmd[n > 0 ? n : 0] = 0;
    }
    snprintf(out, outlen, "pid %d (%s)", (int)pid, cmd[0] ? cmd : "exited");
}

static void *server_thread(void *arg)
{
    http_server_run(arg);
    return NULL;
}

static void serve_usage(FILE *out)
{
    fprintf(out, "usage: semrouter serve -c FILE [--port N] [--metrics-port N] [--workers N]\n\n"
                 "Runs the router with the configuration in FILE (YAML). The ports override\n"
                 "server.port / server.metrics_port (0 picks a free port; the chosen ports are\n"
                 "printed as 'semrouter listening on HOST:PORT (metrics PORT)').\n"
                 "SIGHUP reloads FILE; an invalid file is rejected and the running one stays.\n");
}

/* ---- start-up probe: does anything answer at each endpoint? ---- */

typedef struct endpoint_probe {
    gateway *gw;
    atomic_int stop;
    pthread_t thread;
} endpoint_probe;

static size_t probe_discard(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

/* GET {api_base}/models: any HTTP answer means a server is there. 1, or 0 with err. */
static int probe_endpoint(const sr_endpoint *ep, long connect_ms, char *err, size_t errlen)
{
    CURL *h = curl_easy_init();
    if (!h) return snprintf(err, errlen, "out of memory"), 0;
    char url[1100], auth[1100];
    snprintf(url, sizeof url, "%s/models", ep->api_base);
    struct curl_slist *hdr = NULL;
    if (ep->api_key) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", ep->api_key);
        hdr = curl_slist_append(hdr, auth);
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, connect_ms + 3000);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, probe_discard);
    if (hdr) curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    CURLcode rc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK || status <= 0) snprintf(err, errlen, "%s", curl_easy_strerror(rc));
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    return rc == CURLE_OK && status > 0;
}

/* Probes the endpoints that never answered, every 2 s; says once per endpoint, at start,
 * that nothing answers there and what that means for requests. */
static void *probe_thread(void *arg)
{
    endpoint_probe *p = arg;
    unsigned char warned[1024] = {0};
    while (!atomic_load(&p->stop)) {
        sr_config *cfg = gateway_config(p->gw);
        for (size_t i = 0; i < cfg->n_endpoints && !atomic_load(&p->stop); i++) {
            const sr_endpoint *ep = &cfg->endpoints[i];
            if (balancer_state(p->gw->balancer, ep->name) != BALANCER_UNKNOWN) continue;
            char err[256];
            if (probe_endpoint(ep, cfg->server.connect_timeout_ms, err, sizeof err)) {
                balancer_mark_answered(p->gw->balancer, ep->name);
                if (i < sizeof warned && warned[i]) log_info("endpoint '%s' at %s answers now", ep->name, ep->api_base);
            } else if (i < sizeof warned && !warned[i]) {
                warned[i] = 1;
                log_warn("[endpoint_not_answering] endpoint '%s' at %s does not answer (%s): requests for its models fail with 502 "
                         "until a model server runs there (make demo starts test servers; or edit "
                         "vllm_endpoints in %s)",
                         ep->name, ep->api_base, err, cfg->path);
            }
        }
        config_release(cfg);
        for (int t = 0; t < 20 && !atomic_load(&p->stop); t++) usleep(100 * 1000);
    }
    return NULL;
}

/* Frees what serve set up so far (also on a failed start, so a sanitizer build reports only
 * real leaks). */
static void serve_teardown(gateway *gw, sr_config *cfg)
{
    chat_pipeline_stop(gw);
    if (gw->watchdog) watchdog_free(gw->watchdog); /* first: its thread tells the server of stalls */
    if (gw->server) http_server_free(gw->server);
    if (gw->balancer) balancer_free(gw->balancer);
    if (gw->metrics) sr_metrics_free(gw->metrics);
    if (gw->stats) stats_free(gw->stats);
    if (gw->memory_backend) gw->memory_backend->ops->close(gw->memory_backend);
    if (gw->limits) limits_free(gw->limits);
    if (gw->adapt) adapt_free(gw->adapt);
    if (gw->cache) cache_close(gw->cache); /* persisted: snapshot when the index changed, the log fdatasync'd */
    if (gw->verifier) cache_verifier_free(gw->verifier);
    if (gw->follow_up_verifier) cache_verifier_free(gw->follow_up_verifier);
    if (gw->backend) gw->backend->ops->close(gw->backend);
    if (gw->embed) embed_free(gw->embed);
    if (gw->flights) singleflight_free(gw->flights);
    if (gw->runtime) gateway_runtime_release(gw->runtime);
    config_release(cfg);
    pthread_mutex_destroy(&gw->config_lock);
}

int gateway_serve_main(int argc, char **argv)
{
    const char *path = NULL;
    int port = -1, metrics_port = -1, workers = -1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            serve_usage(stdout);
            return 0;
        } else if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc) {
            path = argv[++i];
        } else if ((!strcmp(argv[i], "--port") || !strcmp(argv[i], "--metrics-port") ||
                    !strcmp(argv[i], "--workers")) &&
                   i + 1 < argc) {
            const char *opt = argv[i], *v = argv[++i];
            int hi = !strcmp(opt, "--workers") ? 1024 : 65535;
            int *dst = !strcmp(opt, "--port") ? &port : !strcmp(opt, "--metrics-port") ? &metrics_port : &workers;
            if (util_parse_int(v, 0, hi, dst)) {
                fprintf(stderr, "semrouter serve: [usage] %s must be a whole number from 0 to %d, got '%s'\n", opt, hi, v);
                return 2;
            }
        } else {
            fprintf(stderr, "semrouter serve: [usage] unknown argument '%s'\n", argv[i]);
            serve_usage(stderr);
            return 2;
        }
    }
    if (!path) {
        serve_usage(stderr);
        return 2;
    }
    /* Signals arrive through a pipe: a handler may run on any thread (libraries
     * such as OpenBLAS start threads before main, with no signal blocked, so
     * sigwait() in one thread cannot own them), and only writes one byte. */
    if (pipe2(signal_pipe, O_CLOEXEC)) {
        fprintf(stderr, "semrouter: [start_failed] cannot create the signal pipe: %s\n", strerror(errno));
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_RESTART | SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    gateway gw = {0};
    pthread_mutex_init(&gw.config_lock, NULL);
    gw.config_path = (char *)path;
    config_errors errs;
    config_errors_init(&errs);
    sr_config *cfg = config_load(path, &errs);
    if (!cfg) {
        fprintf(stderr, "semrouter: [config_invalid] refusing to start, %s is not valid:\n", path);
        config_errors_print(&errs, stderr);
        config_errors_free(&errs);
        return 1;
    }
    if (errs.n_warnings) config_errors_print(&errs, stderr);
    config_errors_free(&errs);
    gw.balancer = balancer_new();
    gw.metrics = sr_metrics_new();
    gw.stats = stats_new();
    gw.limits = limits_new();
    gw.adapt = adapt_new();
    gw.started_ms = (int64_t)util_unix_time() * 1000;
    if (!gw.balancer || !gw.metrics || !gw.stats || !gw.limits) {
        fprintf(stderr, "semrouter: [start_failed] out of memory at start\n");
        serve_teardown(&gw, cfg);
        return 1;
    }
    if (load_models(&gw, cfg)) {
        fprintf(stderr, "semrouter: [cache_backend_misconfigured] refusing to start: the semantic cache backend is misconfigured (see above)\n");
        serve_teardown(&gw, cfg);
        return 1;
    }
    chat_pipeline_start(&gw, cfg); /* the compute pool (a failure is logged: work then runs on the loops) */
    config_retain(cfg); /* the runtime takes one reference; serve keeps using cfg below */
    gw.runtime = runtime_new(&gw, cfg);
    if (!gw.runtime) {
        fprintf(stderr, "semrouter: [start_failed] out of memory at start\n");
        serve_teardown(&gw, cfg);
        return 1;
    }
    if (gw.cache) metrics_gauge_fn(gw.metrics->cache_entries, METRICS_LABELS("memory"), cache_entries_gauge, gw.cache);

    http_server_options o = {0};
    o.listeners[0].host = cfg->server.listen;
    o.listeners[0].port = port >= 0 ? port : cfg->server.port;
    o.listeners[1].host = cfg->server.listen;
    o.listeners[1].port = metrics_port >= 0 ? metrics_port : cfg->server.metrics_port;
    if (metrics_port < 0 && cfg->server.metrics_port == 0) o.listeners[1].port = -1;
    o.n_listeners = 2;
    o.workers = workers >= 0 ? workers : cfg->server.workers;
    o.max_body_bytes = cfg->server.max_body_bytes;
    o.max_header_bytes = cfg->server.max_header_bytes;
    o.idle_timeout_seconds = cfg->server.idle_timeout_seconds;
    o.handlers[0] = api_handler;
    o.handlers[1] = metrics_listener_handler;
    o.handler_arg = &gw;
    o.worker_init = worker_init;
    o.worker_free = worker_free;
    char err[512];
    gw.server = http_server_new(&o, err, sizeof err);
    if (!gw.server) {
        fprintf(stderr, "semrouter: [listen_failed] %s\n", err);
        serve_teardown(&gw, cfg);
        return 1;
    }
    if (cfg->server.watchdog_seconds > 0) {
        gw.watchdog = watchdog_new(http_server_workers(gw.server), cfg->server.watchdog_seconds,
                                   watchdog_changed, &gw);
        if (!gw.watchdog || watchdog_start(gw.watchdog)) {
            fprintf(stderr, "semrouter: [start_failed] cannot start the watchdog\n");
            serve_teardown(&gw, cfg);
        return 1;
        }
    }
    printf("semrouter listening on %s:%d (metrics %d)\n", cfg->server.listen,
           http_server_port(gw.server, 0), o.listeners[1].port < 0 ? -1 : http_server_port(gw.server, 1));
    fflush(stdout);
    log_info("semrouter started: %zu models, %zu endpoints, config %s", cfg->n_models,
             cfg->n_endpoints, path);

    pthread_t loop_thread;
    if (pthread_create(&loop_thread, NULL, server_thread, gw.server)) {
        fprintf(stderr, "semrouter: [start_failed] cannot start the server thread\n");
        return 1;
    }
    endpoint_probe probe = {.gw = &gw};
    int probing = pthread_create(&probe.thread, NULL, probe_thread, &probe) == 0;
    for (;;) {
        signal_note note;
        ssize_t n = read(signal_pipe[0], &note, sizeof note);
        if (n < 0 && errno == EINTR) continue;
        if (n != (ssize_t)sizeof note) break;
        int sig = note.sig;
        if (sig == SIGHUP) {
            gateway_reload(&gw);
            continue;
        }
        char from[256];
        describe_sender(note.from, from, sizeof from);
        gateway_runtime *rt = gateway_runtime_acquire(&gw);
        int grace = rt->config->server.shutdown_grace_seconds; /* as reloaded last */
        gateway_runtime_release(rt);
        log_info("signal %d from %s: stopping - no new connections; %ld in-flight request(s) get up "
                 "to %d s (server.shutdown_grace_seconds)",
                 sig, from, http_server_inflight(gw.server), grace);
        http_server_stop(gw.server, grace);
        break;
    }
    pthread_join(loop_thread, NULL);
    log_info("shutdown: worker loops stopped; %ld request(s) were still in flight", http_server_inflight(gw.server));
    chat_pipeline_stop(&gw); /* the compute pool, before the loops' bases go */
    atomic_store(&probe.stop, 1);
    if (probing) pthread_join(probe.thread, NULL);
    serve_teardown(&gw, cfg);
    return 0;
}
