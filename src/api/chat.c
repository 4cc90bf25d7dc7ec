/* chat.c - POST /v1/chat/completions: validate, choose the model and endpoint,
 * proxy to the model server (whole or streamed), fail over, account.
 *
 * A request becomes a chat_call that lives until both the client side is
 * answered and the upstream transfer is over. Failover is allowed only while
 * nothing has been sent to the client: an upstream that refuses, times out
 * before answering, or answers 5xx is marked failed in the balancer and the
 * next endpoint of the model is tried. Once a stream has started, a cut
 * upstream ends the client's stream with an SSE error event and [DONE].
 *
 * Streams are forwarded chunk by chunk as they arrive. Back-pressure: when the
 * client reads slower than the model writes and more than STREAM_HIGH_WATER
 * bytes are queued, the upstream transfer is paused until the queue drains.
 *
 * Before going upstream (docs/DESIGN.md §1): the tenant comes from the API key, the
 * last user turn is embedded once, and the cache is asked (exact tier, then the
 * semantic tier inside the request's partition with the conversation context
 * checked). A miss joins the single-flight table: the first request of a key
 * goes upstream, identical ones wait for its answer. A clean 2xx answer (a
 * stream only after a clean [DONE]) is stored unless the client said no-store. */
#include "core/openai_error.h"
#include "api/gateway.h"
#include "api/texts.h"
#include "cache/assemble.h"
#include "cache/backend.h"
#include "cache/keys.h"
#include "cache/replay.h"
#include "cache/select.h"
#include "guard/blocked.h"
#include "guard/jailbreak.h"
#include "guard/pii.h"
#include "route/decide.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/util.h"
#include "core/watchdog.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define STREAM_HIGH_WATER (1u << 20)
#define MAX_UPSTREAM_BODY (64u << 20)
#define MAX_CANDIDATES 64

typedef struct chat_call {
    http_request *req;
    gateway *gw;
    gateway_worker *wk;
    gateway_runtime *rt;
    sr_config *cfg; /* rt->config */
    cJSON *json;
    char *upstream_body; /* NULL = forward the client's bytes */
    size_t upstream_len;
    const sr_model *model;
    char requested_model[256];
    int stream;
    char request_id[80];
    /* endpoint attempts */
    balancer_candidate cands[MAX_CANDIDATES];
    int n_cands;
    unsigned char tried[MAX_CANDIDATES];
    int current; /* index into cands of the running attempt */
    int attempts;
    char last_error[256];
    int last_timed_out;
    int last_connect_failed; /* the last failure reached no server (refused, DNS, connect) */
    int last_status;         /* HTTP status of the last failed attempt, 0 = none */
    upstream_call *up;
    /* response */
    int upstream_status;
    char content_type[128];
    int retry_this; /* the running attempt failed before anything was sent */
    int stream_started;
    int paused;
    buf body; /* non-stream: the upstream body */
    cache_assembler *assembler; /* stream: rebuilds the completion (usage, clean end) */
    uint64_t t_start, t_first_byte;
    long prompt_tokens, completion_tokens;
    const char *error_reason; /* llm_request_errors_total reason, NULL when none */
    /* signals and cache */
    const char *tenant;
    cache_keys keys;
    int have_keys;
    chat_texts texts; /* what the guards scan (every message's text); valid when have_texts */
    int have_texts;
    float *query_vec;   /* last user turn, NULL when not embedded */
    float *context_vecs; /* earlier turns, keys.n_context rows */
    int over_window;    /* the query (or a context turn) is longer than the model window */
    double embed_ms;
    int no_cache, no_store;
    int cacheable; /* the cache applies to this request (enabled, keys computed) */
    const char *cache_state; /* "hit", "miss", "skip", "off", "coalesced" */
    float cache_similarity;
    float cache_verifier_p; /* the hit verifier's probability (served or best rejected), -1 = not run */
    const char *cache_decision; /* cache_select_outcome_name of the semantic lookup */
    int cache_tier; /* cache_tier of a hit (exact or semantic), 0 otherwise */
    const char *response_path; /* "upstream" or "cache" */
    int sf_leader;            /* this call must finish its single-flight entry */
    sf_waiter *sf_waiter;     /* set while waiting for an identical request's answer */
    int lookup_pending;       /* an asynchronous cache backend lookup is running */
    int lookup_abandoned;     /* the client left during it: the callback frees the call */
    float lookup_threshold, lookup_min_p;
    /* routing */
    int is_auto;
    route_decision route;
    int routed; /* route is valid */
    int n_pii;
    const char *pii_types[16];
    char pii_types_joined[256]; /* "EMAIL_ADDRESS,CREDIT_CARD" for headers and messages */
    int pii_redacted;
    float jailbreak_confidence; /* < 0 when the guard did not run */
    const char *jailbreak_type; /* the blocking signal's name when the prompt guard blocked */
} chat_call;

static void attempt_start(chat_call *c);

static void call_free(chat_call *c)
{
    if (c->sf_leader && c->have_keys) /* waiters must never hang: no answer to share */
        singleflight_finish(c->gw->flights, c->keys.exact, NULL, 0);
    if (c->have_keys) cache_keys_free(&c->keys);
    if (c->have_texts) chat_texts_free(&c->texts);
    free(c->query_vec);
    free(c->context_vecs);
    cJSON_Delete(c->json);
    free(c->upstream_body);
    buf_free(&c->body);
    cache_assembler_free(c->assembler);
    gateway_runtime_release(c->rt);
    free(c);
}

/* --------------------------------------------------------------- accounting */

/* The decision of a finished request, for the live statistics (metrics/stats.h). */
static void record_decision(chat_call *c, int status, double total_seconds)
{
    const char *cache = c->cache_state ? c->cache_state : "off";
    if (!strcmp(cache, "hit")) cache = c->cache_tier == CACHE_TIER_EXACT ? "exact" : "semantic";
    int blocked = c->response_path && !strcmp(c->response_path, "blocked");
    int pii = c->error_reason && !strcmp(c->error_reason, "pii_policy_denied");
    stats_decision d = {
        .request_id = c->request_id,
        .tenant = c->tenant,
        .requested_model = c->requested_model[0] ? c->requested_model : NULL,
        .model = c->model ? c->model->name : NULL,
        .category = c->routed ? c->route.category : NULL,
        .path = c->response_path ? c->response_path : status >= 400 ? NULL : "upstream",
        .cache = cache,
        .guard = blocked ? (pii ? "pii" : "jailbreak") : NULL,
        .guard_type = !blocked ? NULL : pii ? (c->n_pii ? c->pii_types_joined : "PII") : c->jailbreak_type,
        .endpoint = c->n_cands && c->attempts ? c->cands[c->current].name : NULL,
        .error = c->error_reason,
        .status = status,
        .stream = c->stream,
        .reasoning = c->routed && c->route.reasoning_set && c->route.reasoning,
        .routed = c->model && strcmp(cache, "exact"), /* the exact tier answers before routing */
        .similarity = c->cache_similarity > 0 ? c->cache_similarity : -1,
        .verifier_probability = c->cache_verifier_p,
        .latency_ms = total_seconds * 1e3,
        .ttft_ms = c->t_first_byte ? (double)(c->t_first_byte - c->t_start) / 1e6 : -1,
    };
    stats_record(c->gw->stats, &d);
}

static void usage_from_json(chat_call *c, const cJSON *completion)
{
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(completion, "usage");
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(u, "prompt_tokens");
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(u, "completion_tokens");
    if (cJSON_IsNumber(p)) c->prompt_tokens = (long)p->valuedouble;
    if (cJSON_IsNumber(k)) c->completion_tokens = (long)k->valuedouble;
}

static void finish_accounting(chat_call *c, int status)
{
    sr_metrics *m = c->gw->metrics;
    const char *model = c->model ? c->model->name : "unknown";
    double now_s = (double)util_now_ns() / 1e9;
    double total = now_s - (double)c->t_start / 1e9;
    if (status >= 200 && status < 300) {
        metrics_observe(m->model_completion_latency, METRICS_LABELS(model), total);
        if (c->t_first_byte)
            metrics_observe(m->model_ttft, METRICS_LABELS(model),
                            (double)(c->t_first_byte - c->t_start) / 1e9);
        if (c->completion_tokens > 1 && c->t_first_byte)
            metrics_observe(m->model_tpot, METRICS_LABELS(model),
                            (now_s - (double)c->t_first_byte / 1e9) / (double)(c->completion_tokens - 1));
        double cost = 0;
        const char *currency = NULL;
        if (c->model && c->model->pricing.set) {
            cost = ((double)c->prompt_tokens * c->model->pricing.prompt_per_1m +
                    (double)c->completion_tokens * c->model->pricing.completion_per_1m) / 1e6;
            currency = c->model->pricing.currency;
        }
        if (c->prompt_tokens || c->completion_tokens)
            sr_metrics_usage(m, model, c->prompt_tokens, c->completion_tokens, cost, currency);
    }
    if (c->error_reason)
        metrics_inc(m->request_errors, METRICS_LABELS(model, c->error_reason));
    char st[8];
    snprintf(st, sizeof st, "%d", status);
    metrics_inc(m->http_requests, METRICS_LABELS("/v1/chat/completions", st));
    record_decision(c, status, total);

    if (!c->cfg->server.log_requests) return;
    buf l;
    buf_init(&l);
    buf_puts(&l, "{\"type\":\"request\",\"request_id\":");
    buf_json_str(&l, c->request_id, strlen(c->request_id));
    buf_puts(&l, ",\"path\":\"/v1/chat/completions\",\"requested_model\":");
    if (c->requested_model[0]) buf_json_str(&l, c->requested_model, strlen(c->requested_model));
    else buf_puts(&l, "null");
    buf_puts(&l, ",\"model\":");
    buf_json_str(&l, model, strlen(model));
    buf_puts(&l, ",\"endpoint\":");
    if (c->n_cands && c->attempts) buf_json_str(&l, c->cands[c->current].name, strlen(c->cands[c->current].name));
    else buf_puts(&l, "null");
    buf_printf(&l, ",\"stream\":%s,\"status\":%d,\"response_path\":\"%s\",\"attempts\":%d",
               c->stream ? "true" : "false", status, c->response_path ? c->response_path : "upstream",
               c->attempts);
    buf_printf(&l, ",\"cache\":\"%s\"", c->cache_state ? c->cache_state : "off");
    if (c->cache_similarity > 0) buf_printf(&l, ",\"cache_similarity\":%.4f", c->cache_similarity);
    if (c->cache_verifier_p >= 0) buf_printf(&l, ",\"cache_verifier_probability\":%.4f", c->cache_verifier_p);
    if (c->cache_decision) buf_printf(&l, ",\"cache_decision\":\"%s\"", c->cache_decision);
    if (c->tenant) {
        buf_puts(&l, ",\"tenant\":");
        buf_json_str(&l, c->tenant, strlen(c->tenant));
    }
    if (c->embed_ms > 0) buf_printf(&l, ",\"embed_ms\":%.3f", c->embed_ms);
    if (c->routed) {
        buf_printf(&l, ",\"route_reason\":\"%s\",\"category\":", route_reason_name(c->route.reason));
        if (c->route.category) buf_json_str(&l, c->route.category, strlen(c->route.category));
        else buf_puts(&l, "null");
        buf_printf(&l, ",\"category_confidence\":%.4f,\"reasoning\":\"%s\"", c->route.confidence,
                   c->route.reasoning_set && c->route.reasoning ? "on" : "off");
        if (c->route.difficulty)
            buf_printf(&l, ",\"difficulty_score\":%.4f,\"difficulty\":\"%s\"",
                       c->route.difficulty_score, c->route.difficulty);
    }
    if (c->jailbreak_confidence >= 0) buf_printf(&l, ",\"jailbreak_confidence\":%.3f", c->jailbreak_confidence);
    if (c->pii_redacted) buf_puts(&l, ",\"pii_redacted\":true");
    if (c->n_pii) {
        buf_puts(&l, ",\"pii_types\":[");
        for (int i = 0; i < c->n_pii; i++) {
            if (i) buf_putc(&l, ',');
            buf_json_str(&l, c->pii_types[i], strlen(c->pii_types[i]));
        }
        buf_putc(&l, ']');
    }
    buf_printf(&l, ",\"latency_ms\":%.3f", total * 1e3);
    if (c->t_first_byte) buf_printf(&l, ",\"ttft_ms\":%.3f", (double)(c->t_first_byte - c->t_start) / 1e6);
    buf_printf(&l, ",\"prompt_tokens\":%ld,\"completion_tokens\":%ld", c->prompt_tokens, c->completion_tokens);
    if (c->error_reason) {
        buf_puts(&l, ",\"error\":");
        buf_json_str(&l, c->error_reason, strlen(c->error_reason));
    }
    buf_putc(&l, '}');
    log_json_line(l.data, l.len);
    buf_free(&l);
}

/* Answers with an error (before any byte went out) and ends the call. */
static void fail_request(chat_call *c, int status, const char *message, const char *param,
                         const char *code, const char *reason)
{
    c->error_reason = reason;
    http_respond_error(c->req, status, message, param, code);
    finish_accounting(c, status);
    call_free(c);
}

/* ------------------------------------------------------------- upstream I/O */

static void add_route_headers(chat_call *c)
{
    if (c->model) http_add_header(c->req, "x-vsr-selected-model", c->model->name);
    if (!c->routed || !c->is_auto) return;
    if (c->route.category) http_add_header(c->req, "x-vsr-selected-category", c->route.category);
    http_add_header(c->req, "x-vsr-selected-reasoning", c->route.reasoning_set && c->route.reasoning ? "on" : "off");
    http_add_header(c->req, "x-vsr-injected-system-prompt", c->route.system_prompt ? "true" : "false");
    if (c->route.difficulty) {
        char score[16];
        snprintf(score, sizeof score, "%.4f", c->route.difficulty_score);
        http_add_header(c->req, "x-vsr-difficulty-score", score);
        http_add_header(c->req, "x-vsr-difficulty-decision", c->route.difficulty);
    }
}

static void add_common_headers(chat_call *c)
{
    add_route_headers(c);
    http_add_header(c->req, "x-vsr-response-path", "upstream");
    if (c->gw->cache || c->gw->backend) http_add_header(c->req, "x-vsr-cache-hit", "false");
}

/* ------------------------------------------------------------------ cache */

static cache_request cache_request_of(const chat_call *c)
{
    cache_request r = {0};
    r.tenant = c->cfg->semantic_cache.scope == SR_CACHE_SCOPE_GLOBAL ? "" : c->tenant;
    r.exact_key = c->keys.exact;
    r.partition_key = c->keys.partition;
    r.query_vec = c->over_window || !c->keys.semantic_ok ? NULL : c->query_vec;
    r.n_context = c->keys.n_context;
    r.context_vecs = c->context_vecs;
    r.context_texts = (const char *const *)c->keys.context;
    r.context_lens = c->keys.context_len;
    r.context_roles = c->keys.context_role;
    return r;
}

/* Answers from a stored completion: verbatim JSON, or replayed as SSE. */
static void respond_from_cache(chat_call *c, const char *body, size_t len, float similarity,
                               int coalesced)
{
    char sim[16];
    snprintf(sim, sizeof sim, "%.4f", similarity);
    http_add_header(c->req, "x-vsr-cache-hit", "true");
    http_add_header(c->req, "x-vsr-cache-similarity", sim);
    if (c->cache_verifier_p >= 0) {
        char p[16];
        snprintf(p, sizeof p, "%.4f", c->cache_verifier_p);
        http_add_header(c->req, "x-vsr-cache-verifier-probability", p);
    }
    http_add_header(c->req, "x-vsr-response-path", "cache");
    if (coalesced) http_add_header(c->req, "x-vsr-single-flight", "true");
    c->response_path = "cache";
    c->cache_state = coalesced ? "coalesced" : "hit";
    c->cache_similarity = similarity;
    cJSON *j = cJSON_ParseWithLength(body, len);
    if (j) usage_from_json(c, j);
    if (!c->model) { /* answered before routing (exact tier): name the model that answered */
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "model");
        for (size_t i = 0; cJSON_IsString(m) && i < c->cfg->n_models; i++)
            if (!strcmp(c->cfg->models[i].upstream_model, m->valuestring)) c->model = &c->cfg->models[i];
    }
    cJSON_Delete(j);
    add_route_headers(c);
    /* tokens served from the cache cost nothing upstream */
    c->prompt_tokens = c->completion_tokens = 0;
    if (c->stream) {
        const cJSON *so = cJSON_GetObjectItemCaseSensitive(c->json, "stream_options");
        int include_usage = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(so, "include_usage"));
        buf sse;
        buf_init(&sse);
        if (cache_replay_sse(body, len, include_usage, &sse) == 0 && !sse.oom) {
            http_add_header(c->req, "Cache-Control", "no-cache");
            http_stream_start(c->req, 200, "text/event-stream");
            http_stream_write(c->req, sse.data, sse.len);
            http_stream_end(c->req);
        } else {
            http_respond_error(c->req, 500, "The cached answer could not be replayed.", NULL, NULL);
        }
        buf_free(&sse);
    } else {
        http_respond(c->req, 200, "application/json", body, len);
    }
    finish_accounting(c, 200);
    call_free(c);
}

/* Stores a clean answer and hands it to identical requests that waited. */
static void store_answer(chat_call *c, const char *completion, size_t len)
{
    if (c->sf_leader) {
        singleflight_finish(c->gw->flights, c->keys.exact, completion, len);
        c->sf_leader = 0;
    }
    if (!c->cacheable || c->no_store) return;
    cache_request r = cache_request_of(c);
    if (c->gw->backend) { /* asynchronous; the backend counts and logs its outcome */
        c->gw->backend->ops->store(c->gw->backend, http_request_base(c->req), &r, c->keys.query, completion, len,
                                   NULL, NULL);
        return;
    }
    char err[256];
    uint64_t t0 = util_now_ns();
    int rc = cache_store(c->gw->cache, &r, c->keys.query, completion, len, err, sizeof err);
    metrics_observe(c->gw->metrics->cache_operation_duration, METRICS_LABELS("memory", "add_entry"),
                    (double)(util_now_ns() - t0) / 1e9);
    metrics_inc(c->gw->metrics->cache_operations,
                METRICS_LABELS("memory", "add_entry", rc == 0 ? "success" : "error"));
    if (rc) log_warn("cache store failed for %s: %s", c->request_id, err);
}

static void on_drain(http_request *req, void *arg)
{
    (void)req;
    chat_call *c = arg;
    if (c->paused && c->up) {
        c->paused = 0;
        upstream_pause(c->up, 0);
    }
}

static int on_head(void *arg, int status, const char *content_type)
{
    chat_call *c = arg;
    c->upstream_status = status;
    snprintf(c->content_type, sizeof c->content_type, "%s", content_type ? content_type : "");
    if (status >= 500 || status == 429) {
        /* nothing sent yet: let on_done fail over */
        c->retry_this = 1;
        snprintf(c->last_error, sizeof c->last_error, "the model server answered HTTP %d", status);
        return 1;
    }
    if (c->stream && status >= 200 && status < 300 && strcasestr(c->content_type, "text/event-stream")) {
        add_common_headers(c);
        http_add_header(c->req, "Cache-Control", "no-cache");
        http_add_header(c->req, "X-Accel-Buffering", "no");
        http_stream_start(c->req, 200, "text/event-stream");
        c->stream_started = 1;
        c->assembler = cache_assembler_new(0);
        http_request_on_drain(c->req, on_drain, c);
    }
    return 0;
}

static int on_data(void *arg, const char *data, size_t len)
{
    chat_call *c = arg;
    if (!c->t_first_byte) c->t_first_byte = util_now_ns();
    if (c->stream_started) {
        if (c->assembler) cache_assembler_feed(c->assembler, data, len);
        if (http_stream_write(c->req, data, len)) return 1; /* client gone */
        if (!c->paused && http_stream_pending(c->req) > STREAM_HIGH_WATER) {
            c->paused = 1;
            upstream_pause(c->up, 1);
        }
        return 0;
    }
    if (c->body.len + len > MAX_UPSTREAM_BODY) {
        snprintf(c->last_error, sizeof c->last_error, "the model server's answer exceeds %u bytes",
                 MAX_UPSTREAM_BODY);
        return 1;
    }
    buf_append(&c->body, data, len);
    return 0;
}

static void stream_error_end(chat_call *c, const char *message)
{
    buf b;
    buf_init(&b);
    buf_puts(&b, "data: ");
    api_error_json(&b, message, "upstream_error", NULL, "upstream_stream_interrupted");
    buf_puts(&b, "\n\ndata: [DONE]\n\n");
    http_stream_write(c->req, b.data, b.len);
    buf_free(&b);
    http_stream_end(c->req);
}

static void on_done(void *arg, int ok, int status, int timed_out, int connect_failed, const char *err)
{
    chat_call *c = arg;
    c->up = NULL;
    if (status) c->upstream_status = status;
    int failed = !ok || c->retry_this || c->upstream_status >= 500;
    balancer_end(c->gw->balancer, &c->cands[c->current], !failed);
    metrics_inc(c->gw->metrics->upstream_requests,
                METRICS_LABELS(c->cands[c->current].name, failed ? (timed_out ? "timeout" : "error") : "ok"));
    if (http_request_client_gone(c->req)) {
        /* client left during the transfer (the close callback normally gets here first) */
        c->error_reason = "cancellation";
        http_respond(c->req, 499, NULL, NULL, 0);
        finish_accounting(c, 499);
        call_free(c);
        return;
    }
    if (c->stream_started) {
        int clean = ok && c->assembler && cache_assembler_done(c->assembler);
        if (clean) {
            buf completion;
            buf_init(&completion);
            if (cache_assembler_finish(c->assembler, &completion) == 1) {
                cJSON *j = cJSON_ParseWithLength(completion.data, completion.len);
                if (j) usage_from_json(c, j);
                cJSON_Delete(j);
                store_answer(c, completion.data, completion.len);
            }
            buf_free(&completion);
            http_stream_end(c->req);
            finish_accounting(c, 200);
        } else {
            c->error_reason = timed_out ? "timeout" : "upstream_stream_interrupted";
            char msg[384];
            snprintf(msg, sizeof msg, "The model server's stream was interrupted: %s",
                     err ? err : "it ended without [DONE]");
            stream_error_end(c, msg);
            finish_accounting(c, 200);
        }
        call_free(c);
        return;
    }
    if (failed) {
        if (!c->retry_this) {
            snprintf(c->last_error, sizeof c->last_error, "%s", err ? err : "transfer failed");
            c->last_timed_out = timed_out;
        }
        c->last_connect_failed = !c->retry_this && connect_failed && !timed_out;
        c->last_status = c->upstream_status;
        c->retry_this = 0;
        c->tried[c->current] = 1;
        buf_reset(&c->body);
        attempt_start(c); /* next endpoint, or the final error */
        return;
    }
    /* a whole answer (2xx, or a 4xx the client should see as is) */
    add_common_headers(c);
    const char *ctype = c->content_type[0] ? c->content_type : "application/json";
    if (c->upstream_status >= 200 && c->upstream_status < 300) {
        cJSON *j = cJSON_ParseWithLength(c->body.data ? c->body.data : "", c->body.len);
        if (j) usage_from_json(c, j);
        /* only a real completion is worth keeping */
        if (cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(j, "choices")))
            store_answer(c, c->body.data, c->body.len);
        cJSON_Delete(j);
    } else {
        c->error_reason = "upstream_4xx";
    }
    http_respond(c->req, c->upstream_status, ctype, c->body.data ? c->body.data : "", c->body.len);
    finish_accounting(c, c->upstream_status);
    call_free(c);
}

static void on_client_close(http_request *req, void *arg)
{
    (void)req;
    chat_call *c = arg;
    if (c->lookup_pending) { /* the backend still calls back: that frees the call */
        c->lookup_abandoned = 1;
        c->error_reason = "cancellation";
        http_respond(c->req, 499, NULL, NULL, 0);
        finish_accounting(c, 499);
        return;
    }
    if (c->sf_waiter) {
        singleflight_leave(c->gw->flights, c->sf_waiter);
        c->sf_waiter = NULL;
        c->error_reason = "cancellation";
        http_respond(c->req, 499, NULL, NULL, 0);
        finish_accounting(c, 499);
        call_free(c);
        return;
    }
    if (!c->up) return;
    upstream_cancel(c->up);
    c->up = NULL;
    balancer_candidate *cand = &c->cands[c->current];
    /* a client leaving says nothing about the endpoint's health */
    balancer_end(c->gw->balancer, cand, 1);
    c->error_reason = "cancellation";
    if (c->stream_started) http_stream_end(c->req);
    else http_respond(c->req, 499, NULL, NULL, 0);
    finish_accounting(c, 499);
    call_free(c);
}

static void attempt_start(chat_call *c)
{
    for (;;) {
        int i = balancer_pick(c->gw->balancer, c->cands, c->n_cands, c->tried);
        if (i < 0) break;
        const sr_endpoint *ep = &c->cfg->endpoints[c->model->endpoint_index[i]];
        c->current = i;
        c->attempts++;
        c->retry_this = 0;
        c->upstream_status = 0;
        char url[1024];
        snprintf(url, sizeof url, "%s/chat/completions", ep->api_base);
        char auth[1024] = "", rid[128];
        const char *headers[6];
        int nh = 0;
        headers[nh++] = "Content-Type: application/json";
        snprintf(rid, sizeof rid, "x-request-id: %s", c->request_id);
        headers[nh++] = rid;
        if (ep->api_key) {
            snprintf(auth, sizeof auth, "Authorization: Bearer %s", ep->api_key);
            headers[nh++] = auth;
        } else if (!c->cfg->auth.enabled && http_request_header(c->req, "authorization")) {
            /* no key of ours and no gateway auth: the client's key is meant for the server */
            snprintf(auth, sizeof auth, "Authorization: %s", http_request_header(c->req, "authorization"));
            headers[nh++] = auth;
        }
        if (c->stream) headers[nh++] = "Accept: text/event-stream";
        headers[nh] = NULL;
        size_t blen;
        const char *body = c->upstream_body ? c->upstream_body : http_request_body(c->req, &blen);
        if (c->upstream_body) blen = c->upstream_len;
        upstream_request ur = {
            .url = url,
            .body = body,
            .body_len = blen,
            .headers = headers,
            .connect_timeout_ms = c->cfg->server.connect_timeout_ms,
            .total_timeout_ms = (long)c->cfg->server.request_timeout_seconds * 1000,
            .first_byte_timeout_ms = (long)c->cfg->server.first_byte_timeout_seconds * 1000,
        };
        static const upstream_callbacks cbs = {on_head, on_data, on_done};
        balancer_begin(c->gw->balancer, c->cands[i].name);
        c->up = upstream_start(c->wk->upstream, &ur, &cbs, c);
        if (c->up) return;
        balancer_end(c->gw->balancer, &c->cands[i], 0);
        c->tried[i] = 1;
        snprintf(c->last_error, sizeof c->last_error, "could not start the upstream request");
    }
    /* every endpoint failed: say what happened and what to check, with a reason that
     * tells a server that is not there from one that answered 5xx */
    char msg[768];
    if (c->n_cands == 0) {
        snprintf(msg, sizeof msg,
                 "The model '%s' has no endpoints: add preferred_endpoints naming entries of "
                 "vllm_endpoints in %s.",
                 c->model->name, c->cfg->path);
        fail_request(c, 503, msg, NULL, "no_endpoints", "no_endpoints");
        return;
    }
    const sr_endpoint *last = &c->cfg->endpoints[c->model->endpoint_index[c->current]];
    const char *what = c->last_timed_out ? "timed out" : c->last_connect_failed ? "could not be reached" : "failed";
    int n = snprintf(msg, sizeof msg, "The model server for '%s' %s after %d attempt%s (last: endpoint '%s' at %s): %s.",
                     c->model->name, what, c->attempts, c->attempts == 1 ? "" : "s", last->name, last->api_base,
                     c->last_error[0] ? c->last_error : "no endpoint available");
    if (c->last_connect_failed && n > 0 && (size_t)n < sizeof msg)
        snprintf(msg + n, sizeof msg - (size_t)n,
                 " Is a model server running there? Start one, or point vllm_endpoints in %s at yours.", c->cfg->path);
    if (c->last_timed_out)
        fail_request(c, 504, msg, NULL, "upstream_timeout", "timeout");
    else if (c->last_connect_failed)
        fail_request(c, 502, msg, NULL, "upstream_unreachable", "upstream_unreachable");
    else
        fail_request(c, 502, msg, NULL, "upstream_error",
                     c->last_status >= 500 ? "upstream_5xx" : c->last_status >= 400 ? "upstream_4xx" : "upstream_error");
}

/* ------------------------------------------------------- signals + lookup */

/* Embeds text into out; returns 0 and sets *over when it exceeds the window. */
static int embed_one(chat_call *c, const char *text, size_t len, float *out, int *over)
{
    char err[256];
    int n_tokens = 0;
    if (embed_text(c->gw->embed, c->wk->embed, text, len, out, &n_tokens, err, sizeof err)) {
        log_warn("embedding failed for %s: %s", c->request_id, err);
        return -1;
    }
    int window = embed_max_tokens(c->gw->embed);
    if (window > 0 && n_tokens > window) *over = 1;
    return 0;
}

/* Whether anything downstream reads the request's texts or embedding; an
 * explicit model with the cache, guards and tools off is pure proxying and
 * pays for none of it. */
static int needs_signals(const chat_call *c)
{
    const sr_config *cfg = c->cfg;
    int cache_used = (c->gw->cache || c->gw->backend) && cfg->semantic_cache.enabled && !(c->no_cache && c->no_store);
    int pii_used = 0;
    for (size_t i = 0; i < cfg->n_models; i++)
        if (cfg->pii.enabled && !cfg->models[i].pii_policy.allow_by_default) pii_used = 1;
    return cache_used || pii_used || (c->is_auto && c->rt->route) || cfg->prompt_guard.enabled ||
           cfg->tools.enabled;
}

/* Cache keys and the texts of the turns (cheap: hashing). */
static void compute_keys(chat_call *c)
{
    char err[256];
    const char *model_id = c->gw->embed ? embed_model_id(c->gw->embed) : "none";
    /* scope global: one namespace, so the keys must not carry the tenant either */
    const char *key_tenant = c->cfg->semantic_cache.scope == SR_CACHE_SCOPE_GLOBAL ? "" : c->tenant;
    /* Every alias of the automatic route (auto, auto_model_name) routes the same way, so they
     * share one partition: the keys see "auto" for all of them. */
    cJSON *model = c->is_auto ? cJSON_GetObjectItemCaseSensitive(c->json, "model") : NULL;
    char *requested = cJSON_IsString(model) ? model->valuestring : NULL;
    if (requested) model->valuestring = (char *)"auto";
    if (cache_keys_compute(c->json, key_tenant, model_id, &c->keys, err, sizeof err) == 0)
        c->have_keys = 1;
    if (requested) model->valuestring = requested;
    if (chat_texts_extract(c->json, &c->texts) == 0) c->have_texts = 1;
}

/* The embeddings of the last user turn and its context (the costly part). A
 * failure here only turns features off for this request. */
static void compute_embeddings(chat_call *c)
{
    gateway *gw = c->gw;
    /* the last user turn is embedded whenever it has text: routing and the
     * guards use the vector even when the semantic tier cannot (an image part) */
    if (!c->have_keys || !c->keys.query || !c->keys.query_len || !gw->embed || !c->wk->embed) return;
    int dim = embed_dim(gw->embed);
    uint64_t t0 = util_now_ns();
    c->query_vec = malloc(sizeof(float) * (size_t)dim);
    if (!c->query_vec || embed_one(c, c->keys.query, c->keys.query_len, c->query_vec, &c->over_window)) {
        free(c->query_vec);
        c->query_vec = NULL;
        return;
    }
    /* the context check needs the earlier turns only when the semantic tier runs */
    if ((gw->cache || gw->backend) && c->keys.semantic_ok && c->keys.n_context > 0 && !c->over_window) {
        c->context_vecs = malloc(sizeof(float) * (size_t)dim * (size_t)c->keys.n_context);
        for (int i = 0; c->context_vecs && i < c->keys.n_context; i++)
            if (embed_one(c, c->keys.context[i], c->keys.context_len[i], c->context_vecs + (size_t)i * dim,
                          &c->over_window)) {
                free(c->context_vecs);
                c->context_vecs = NULL;
            }
        if (!c->context_vecs) c->over_window = 1; /* cannot check the context: no semantic match */
    }
    c->embed_ms = (double)(util_now_ns() - t0) / 1e6;
    metrics_observe(gw->metrics->embedding_latency, NULL, c->embed_ms / 1e3);
}

static void parse_cache_control(chat_call *c)
{
    const char *cc = http_request_header(c->req, "cache-control");
    if (!cc) return;
    if (strcasestr(cc, "no-cache")) c->no_cache = 1;
    if (strcasestr(cc, "no-store")) c->no_store = 1;
}

/* What cache_select (select.h) needs for this request: its texts, vectors and
 * conversation, the floors (threshold and min_p < 0 = the global ones) and the
 * hit verifier when it is on. */
static void select_input_of(const chat_call *c, float threshold, float min_p, cache_select_input *in)
{
    const sr_semantic_cache_config *sc = &c->cfg->semantic_cache;
    const sr_cache_verifier_config *vc = &sc->verifier;
    cache_request r = cache_request_of(c);
    cache_select_input_default(in);
    in->query = c->keys.query;
    in->query_len = c->keys.query_len;
    in->query_vec = r.query_vec;
    in->dim = c->gw->embed ? embed_dim(c->gw->embed) : 0;
    in->n_context = r.n_context;
    in->context_vecs = r.context_vecs;
    in->context_texts = r.context_texts;
    in->context_lens = r.context_lens;
    in->context_roles = r.context_roles;
    in->threshold = threshold >= 0 ? threshold : (float)sc->similarity_threshold;
    in->context_threshold = (float)sc->context_similarity_threshold;
    in->verifier = vc->enabled ? c->gw->verifier : NULL;
    in->min_probability = min_p >= 0 ? min_p : (float)vc->min_probability;
    in->context_min_probability = (float)vc->context_min_probability;
    if (in->verifier) { /* the follow-up floors lean on the verifier */
        in->follow_up_threshold = (float)vc->follow_up_similarity_threshold;
        in->follow_up_min_probability = (float)vc->follow_up_min_probability;
    }
    in->max_verify = vc->max_candidates;
}

/* The lowest similarity a candidate may have for in: what a lookup asks for. */
static float search_floor(const cache_select_input *in)
{
    return in->n_context && in->follow_up_threshold >= 0 && in->follow_up_threshold < in->threshold
               ? in->follow_up_threshold
               : in->threshold;
}

/* The shared hit decision over a backend's candidates; notes the verifier's
 * probability and the outcome for the headers and the log. Returns the index
 * served or -1. */
static int pick_candidate(chat_call *c, const cache_candidates *cs, float threshold, float min_p)
{
    if (!cs || cs->n == 0) return -1;
    cache_select_input in;
    select_input_of(c, threshold, min_p, &in);
    cache_selection sel;
    int i = cache_select(&in, cs, &sel);
    c->cache_verifier_p = sel.probability;
    c->cache_decision = cache_select_outcome_name(sel.outcome);
    if (i < 0 && sel.similarity > 0) c->cache_similarity = sel.similarity;
    return i;
}

/* Returns 1 when the request was answered from the memory cache: the
 * candidates of cache_search, decided by cache_select. */
static int try_cache(chat_call *c, float threshold, float min_p)
{
    gateway *gw = c->gw;
    if (c->no_cache) {
        c->cache_state = "skip";
        return 0;
    }
    cache_request r = cache_request_of(c);
    cache_select_input in;
    select_input_of(c, threshold, min_p, &in);
    cache_candidates cands = {0, NULL};
    uint64_t t0 = util_now_ns();
    int n = cache_search(gw->cache, &r, in.max_verify, search_floor(&in), &cands);
    int pick = n > 0 ? pick_candidate(c, &cands, threshold, min_p) : -1;
    cache_served(gw->cache, pick >= 0 ? cands.v[pick].id : NULL,
                 pick >= 0 ? cands.v[pick].tier : CACHE_TIER_SEMANTIC);
    metrics_observe(gw->metrics->cache_operation_duration, METRICS_LABELS("memory", "find_similar"),
                    (double)(util_now_ns() - t0) / 1e9);
    metrics_inc(gw->metrics->cache_operations,
                METRICS_LABELS("memory", "find_similar", pick >= 0 ? "hit" : n >= 0 ? "miss" : "error"));
    if (pick >= 0) {
        metrics_inc(gw->metrics->cache_hits, NULL);
        c->cache_tier = cands.v[pick].tier;
        respond_from_cache(c, cands.v[pick].body, cands.v[pick].len, cands.v[pick].similarity, 0);
        cache_candidates_free(&cands);
        return 1;
    }
    cache_candidates_free(&cands);
    metrics_inc(gw->metrics->cache_misses, NULL);
    c->cache_state = "miss";
    return 0;
}

/* The exact tier before anything costly: a request seen before (same
 * canonical body, tenant and model) is answered without embedding, routing or
 * guards, which all ran when its answer was stored. Returns 1 when answered. */
static int try_exact_first(chat_call *c)
{
    gateway *gw = c->gw;
    /* an asynchronous backend answers the exact tier within its lookup */
    if (!gw->cache || !c->have_keys || !c->cfg->semantic_cache.enabled || c->no_cache) return 0;
    cache_request r = cache_request_of(c);
    r.query_vec = NULL; /* exact tier only */
    r.n_context = 0;
    r.context_vecs = NULL;
    cache_hit hit = {0};
    if (cache_lookup(gw->cache, &r, -1.0f, &hit) != 1) return 0;
    metrics_inc(gw->metrics->cache_hits, NULL);
    metrics_inc(gw->metrics->cache_operations, METRICS_LABELS("memory", "find_similar", "hit"));
    c->cache_tier = CACHE_TIER_EXACT;
    respond_from_cache(c, hit.body, hit.len, hit.similarity, 0);
    free(hit.body);
    return 1;
}

/* Woken on this worker's loop when the identical request we waited for ended. */
static void on_flight_done(void *arg, const char *body, size_t len)
{
    chat_call *c = arg;
    c->sf_waiter = NULL;
    if (body) {
        metrics_inc(c->gw->metrics->cache_hits, NULL);
        respond_from_cache(c, body, len, 1.0f, 1);
        return;
    }
    /* the leader had nothing to share: go upstream ourselves */
    c->cache_state = "miss";
    attempt_start(c);
}

/* A miss (or no lookup): join an identical request in flight, else go upstream. */
static void after_cache_miss(chat_call *c)
{
    if (c->cacheable && !c->no_store) {
        c->sf_waiter = singleflight_join(c->gw->flights, c->keys.exact, http_request_base(c->req), on_flight_done, c);
        if (c->sf_waiter) return; /* an identical request is in flight */
        c->sf_leader = 1;
    }
    attempt_start(c);
}

static void on_backend_lookup(void *arg, cache_status status, cache_candidates *cands)
{
    chat_call *c = arg;
    c->lookup_pending = 0;
    if (c->lookup_abandoned) {
        cache_candidates_free(cands);
        call_free(c);
        return;
    }
    int i = status == CACHE_STATUS_OK ? pick_candidate(c, cands, c->lookup_threshold, c->lookup_min_p) : -1;
    if (status == CACHE_STATUS_OK && c->gw->backend->ops->result)
        c->gw->backend->ops->result(c->gw->backend, i >= 0 ? &cands->v[i] : NULL);
    if (status == CACHE_STATUS_OK)
        metrics_inc(c->gw->metrics->cache_operations,
                    METRICS_LABELS(c->gw->backend->ops->name, "find_similar", i >= 0 ? "hit" : "miss"));
    if (i >= 0) {
        metrics_inc(c->gw->metrics->cache_hits, NULL);
        cache_candidate *x = &cands->v[i];
        respond_from_cache(c, x->body, x->len, x->similarity, 0);
        cache_candidates_free(cands);
        return;
    }
    cache_candidates_free(cands);
    metrics_inc(c->gw->metrics->cache_misses, NULL);
    c->cache_state = status == CACHE_STATUS_OK ? "miss" : "error";
    after_cache_miss(c);
}

/* Asks the asynchronous backend (milvus); the answer continues on_backend_lookup. */
static void backend_lookup_start(chat_call *c, float threshold, float min_p)
{
    cache_backend *b = c->gw->backend;
    c->lookup_threshold = threshold;
    c->lookup_min_p = min_p;
    cache_select_input in;
    select_input_of(c, threshold, min_p, &in);
    cache_request r = cache_request_of(c);
    c->lookup_pending = 1;
    b->ops->lookup(b, http_request_base(c->req), &r, in.max_verify, search_floor(&in),
                   on_backend_lookup, c);
}

/* ------------------------------------------------------------------ guards */

/* Answers a blocked request the way vLLM Semantic Router does (HTTP 200, a
 * content_filter completion or one chunk + [DONE]) or, with
 * prompt_guard.block_status 403, as an OpenAI error. */
static void respond_blocked(chat_call *c, blocked_kind kind, int status, const char *message,
                            const char *model, const char *reason)
{
    http_add_header(c->req, "x-vsr-response-path", "blocked");
    c->response_path = "blocked";
    c->error_reason = reason;
    if (status != 200) {
        http_respond_error(c->req, status, message, NULL,
                           kind == BLOCKED_JAILBREAK ? "jailbreak_detected" : "pii_policy_denied");
    } else {
        buf b;
        buf_init(&b);
        if (c->stream) {
            blocked_response_sse(&b, kind, model, message, 0);
            http_stream_start(c->req, 200, "text/event-stream");
            http_stream_write(c->req, b.data, b.len);
            http_stream_end(c->req);
        } else {
            blocked_response_json(&b, kind, model, message, 0);
            http_respond(c->req, 200, "application/json", b.data, b.len);
        }
        buf_free(&b);
    }
    finish_accounting(c, status);
    call_free(c);
}

/* The prompt guard, with the category's override: the last user turn with its
 * embedding, then every other text the model will read (chat_texts) by its
 * patterns. Returns 1 when the request was blocked (and answered). */
static int guard_jailbreak(chat_call *c)
{
    const sr_config *cfg = c->cfg;
    const jailbreak_detector *d = c->rt->jailbreak;
    int enabled = cfg->prompt_guard.enabled;
    double threshold = cfg->prompt_guard.threshold;
    if (c->routed && c->route.category_index >= 0) {
        const sr_category *cat = &cfg->categories[c->route.category_index];
        enabled = cat->jailbreak_enabled;
        threshold = cat->jailbreak_threshold;
    }
    if (!enabled || !d) return 0;
    const float *vec = c->query_vec && c->gw->embed && jailbreak_dim(d) == embed_dim(c->gw->embed) ? c->query_vec : NULL;
    jailbreak_result r = {0};
    uint64_t t0 = util_now_ns();
    int ran = 0;
    if (c->have_keys && c->keys.query &&
        jailbreak_check(d, c->keys.query, c->keys.query_len, vec, (float)threshold, &r) == 0)
        ran = 1;
    /* earlier turns, system/developer and tool messages, text beside images:
     * the same patterns (the vector is the last turn's only) */
    if (c->have_texts && c->texts.guard_len > (c->have_keys && c->keys.query ? c->keys.query_len : 0)) {
        jailbreak_result all;
        if (jailbreak_check(d, c->texts.guard_text, c->texts.guard_len, NULL, (float)threshold, &all) == 0) {
            if (!ran || all.is_jailbreak > r.is_jailbreak ||
                (all.is_jailbreak == r.is_jailbreak && all.confidence > r.confidence))
                r = all;
            ran = 1;
        }
    }
    if (!ran) return 0;
    metrics_observe(c->gw->metrics->classifier_latency, METRICS_LABELS("jailbreak"),
                    (double)(util_now_ns() - t0) / 1e9);
    c->jailbreak_confidence = r.confidence;
    if (!r.is_jailbreak) return 0;
    char conf[16];
    snprintf(conf, sizeof conf, "%.3f", r.confidence);
    http_add_header(c->req, "x-vsr-jailbreak-blocked", "true");
    http_add_header(c->req, "x-vsr-jailbreak-confidence", conf);
    const char *type = "unknown";
    for (int b = 0; b < JAILBREAK_TYPE_COUNT; b++)
        if (r.types & (1u << b)) {
            type = jailbreak_type_name(1u << b);
            break;
        }
    http_add_header(c->req, "x-vsr-jailbreak-type", type);
    c->jailbreak_type = type;
    buf msg;
    buf_init(&msg);
    blocked_jailbreak_message(&msg, type, r.confidence);
    respond_blocked(c, BLOCKED_JAILBREAK, cfg->prompt_guard.block_status == 403 ? 403 : 200, msg.data,
                    "security-filter", "jailbreak_block");
    buf_free(&msg);
    return 1;
}

static void redact_string(cJSON *s)
{
    const char *text = s->valuestring;
    pii_entity ents[64];
    int n = pii_detect(text, strlen(text), ents, 64);
    if (n <= 0) return;
    buf out;
    buf_init(&out);
    pii_redact(text, strlen(text), ents, n, &out);
    if (!out.oom) cJSON_SetValuestring(s, out.data);
    buf_free(&out);
}

/* Masks PII in the text of every message, tool-call arguments included: the
 * detection read all of them (pii.action: redact). */
static void redact_messages(chat_call *c)
{
    cJSON *messages = cJSON_GetObjectItemCaseSensitive(c->json, "messages");
    cJSON *m;
    cJSON_ArrayForEach(m, messages)
    {
        cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
        if (cJSON_IsString(content)) redact_string(content);
        cJSON *part;
        if (cJSON_IsArray(content)) cJSON_ArrayForEach(part, content)
            {
                cJSON *t = cJSON_IsString(part) ? part : cJSON_GetObjectItemCaseSensitive(part, "text");
                if (cJSON_IsString(t)) redact_string(t);
            }
        cJSON *call, *calls = cJSON_GetObjectItemCaseSensitive(m, "tool_calls");
        if (cJSON_IsArray(calls)) cJSON_ArrayForEach(call, calls)
            {
                cJSON *fn = cJSON_GetObjectItemCaseSensitive(call, "function");
                cJSON *args = cJSON_GetObjectItemCaseSensitive(fn, "arguments");
                if (cJSON_IsString(args)) redact_string(args);
            }
    }
}

/* ----------------------------------------------------------------- routing */

static int model_healthy(void *ctx, const char *model)
{
    chat_call *c = ctx;
    int mi = config_find_model(c->cfg, model);
    if (mi < 0) return 0;
    const sr_model *m = &c->cfg->models[mi];
    for (size_t i = 0; i < m->n_endpoints; i++)
        if (balancer_healthy(c->gw->balancer, c->cfg->endpoints[m->endpoint_index[i]].name)) return 1;
    return 0;
}

/* What route_decide needs of this request. */
static route_input route_input_of(chat_call *c)
{
    route_input in = {0};
    in.text = c->have_keys ? c->keys.query : NULL;
    in.text_len = c->have_keys ? c->keys.query_len : 0;
    in.embedding = c->query_vec;
    in.dim = c->gw->embed ? embed_dim(c->gw->embed) : 0;
    in.requested_model = c->requested_model;
    in.pii_types = c->pii_types;
    in.n_pii_types = c->n_pii;
    in.model_healthy = model_healthy;
    in.health_ctx = c;
    in.pii_type_of = pii_type_from_name;
    return in;
}

/* Detects PII in the last user turn when some model's policy restricts it. */
static void detect_pii(chat_call *c)
{
    int restrictive = 0;
    for (size_t i = 0; i < c->cfg->n_models; i++)
        if (!c->cfg->models[i].pii_policy.allow_by_default) restrictive = 1;
    if (!c->cfg->pii.enabled || !restrictive || !c->have_texts) return;
    pii_entity ents[64];
    int n = pii_detect_min(c->texts.pii_text, c->texts.pii_len, ents, 64,
                           c->cfg->classifier.pii_model.threshold);
    for (int i = 0; i < n && c->n_pii < (int)(sizeof c->pii_types / sizeof *c->pii_types); i++) {
        const char *name = pii_type_name(ents[i].type);
        int seen = 0;
        for (int k = 0; k < c->n_pii; k++)
            if (!strcmp(c->pii_types[k], name)) seen = 1;
        if (!seen) c->pii_types[c->n_pii++] = name;
    }
    size_t at = 0;
    for (int i = 0; i < c->n_pii && at < sizeof c->pii_types_joined; i++)
        at += (size_t)snprintf(c->pii_types_joined + at, sizeof c->pii_types_joined - at, "%s%s",
                               i ? "," : "", c->pii_types[i]);
}

/* Chooses the model (and for automatic routing the category, reasoning and
 * system prompt) and rewrites the request for it. Returns nonzero when the
 * request was answered here (error). */
static int route_request(chat_call *c)
{
    gateway *gw = c->gw;
    uint64_t t0 = util_now_ns();
    detect_pii(c);
    route_decision *d = &c->route;
    if (c->rt->route) {
        route_input in = route_input_of(c);
        char err[256];
        if (route_decide(c->rt->route, &in, d, err, sizeof err)) {
            fail_request(c, 404, err, "model", "model_not_found", "model_not_found");
            return 1;
        }
        c->routed = 1;
    } else {
        /* no routing engine: the named model, or default_model for the automatic one */
        memset(d, 0, sizeof *d);
        d->category_index = -1;
        d->model_index = c->is_auto ? c->cfg->default_model_index : config_find_model(c->cfg, c->requested_model);
        d->reason = c->is_auto ? ROUTE_REASON_DEFAULT_MODEL : ROUTE_REASON_MODEL_SPECIFIED;
        d->model = c->cfg->models[d->model_index].name;
        d->upstream_model = c->cfg->models[d->model_index].upstream_model;
    }
    if (c->n_pii) http_add_header(c->req, "x-vsr-pii-types", c->pii_types_joined);
    if ((d->pii_blocked || d->model_index < 0) && c->cfg->pii.action == SR_PII_ACTION_REDACT && c->rt->route) {
        /* nobody may see this PII: mask it, then route the masked request */
        redact_messages(c);
        c->pii_redacted = 1;
        http_add_header(c->req, "x-vsr-pii-redacted", "true");
        route_input in = route_input_of(c);
        in.n_pii_types = 0; /* masked: nothing left to hide */
        char err[256];
        if (route_decide(c->rt->route, &in, d, err, sizeof err)) d->model_index = -1;
    }
    if (d->pii_blocked || d->model_index < 0) {
        http_add_header(c->req, "x-vsr-pii-violation", "true");
        for (int i = 0; i < c->n_pii; i++)
            metrics_inc(gw->metrics->pii_violations, METRICS_LABELS(c->requested_model, c->pii_types[i]));
        buf msg;
        buf_init(&msg);
        blocked_pii_message(&msg, c->n_pii ? c->pii_types_joined : "PII", c->requested_model);
        respond_blocked(c, BLOCKED_PII, c->cfg->prompt_guard.block_status == 403 ? 403 : 200, msg.data,
                        c->requested_model, "pii_policy_denied");
        buf_free(&msg);
        return 1;
    }
    c->model = &c->cfg->models[d->model_index];

    int changed = c->pii_redacted; /* the masked text must go upstream */
    if (c->is_auto && c->rt->route) {
        if (route_rewrite_request(c->rt->route, d, c->json)) {
            fail_request(c, 400, "The request's messages cannot take the category's system prompt.",
                         "messages", "invalid_value", "parse_error");
            return 1;
        }
        changed = 1;
    } else if (strcmp(c->model->upstream_model, c->requested_model)) {
        cJSON_ReplaceItemInObjectCaseSensitive(c->json, "model", cJSON_CreateString(c->model->upstream_model));
        changed = 1;
    }
    if (c->rt->route && c->query_vec) {
        int added = route_select_tools(c->rt->route, c->json, c->query_vec, embed_dim(gw->embed));
        if (added != 0) changed = 1;
    }
    if (changed) {
        c->upstream_body = cJSON_PrintUnformatted(c->json);
        if (!c->upstream_body) {
            fail_request(c, 500, "Out of memory.", NULL, NULL, "serialization_error");
            return 1;
        }
        c->upstream_len = strlen(c->upstream_body);
    }

    sr_metrics *m = gw->metrics;
    metrics_inc(m->routing_reason_codes, METRICS_LABELS(route_reason_name(d->reason), c->model->name));
    if (c->routed && c->is_auto) {
        if (d->category) metrics_inc(m->category_classifications, METRICS_LABELS(d->category));
        if (d->classify_seconds > 0)
            metrics_observe(m->classifier_latency, METRICS_LABELS("category"), d->classify_seconds);
        metrics_inc(m->routing_modifications, METRICS_LABELS(c->requested_model, c->model->name));
        if (d->reasoning_set)
            metrics_inc(m->reasoning_decisions,
                        METRICS_LABELS(d->category ? d->category : "none", c->model->name,
                                       d->reasoning ? "true" : "false",
                                       d->reasoning_effort ? d->reasoning_effort : "none"));
    }
    metrics_observe(m->routing_latency, NULL, (double)(util_now_ns() - t0) / 1e9);
    if (d->difficulty && d->model) {
        metrics_inc(m->difficulty_decisions, METRICS_LABELS(d->difficulty, d->model));
        metrics_observe(m->difficulty_score, NULL, d->difficulty_score);
    }
    return 0;
}

/* ---------------------------------------------------------- request checks */

static const char *check_messages(const cJSON *messages, char *msg, size_t msglen)
{
    static const char *roles[] = {"system", "developer", "user", "assistant", "tool", "function"};
    if (!cJSON_IsArray(messages)) {
        snprintf(msg, msglen, "'messages' must be an array of message objects.");
        return "messages";
    }
    if (cJSON_GetArraySize(messages) == 0) {
        snprintf(msg, msglen, "'messages' must contain at least one message.");
        return "messages";
    }
    int i = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, messages)
    {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        if (!cJSON_IsObject(m)) {
            snprintf(msg, msglen, "messages[%d] must be an object.", i);
            return "messages";
        }
        if (!cJSON_IsString(role)) {
            snprintf(msg, msglen, "messages[%d].role is required and must be a string.", i);
            return "messages";
        }
        int known = 0;
        for (size_t r = 0; r < sizeof roles / sizeof *roles; r++)
            if (!strcmp(role->valuestring, roles[r])) known = 1;
        if (!known) {
            snprintf(msg, msglen,
                     "messages[%d].role '%.64s' is not one of system, developer, user, assistant, tool.", i,
                     role->valuestring);
            return "messages";
        }
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
        if (content && !cJSON_IsString(content) && !cJSON_IsArray(content) && !cJSON_IsNull(content)) {
            snprintf(msg, msglen, "messages[%d].content must be a string or an array of content parts.", i);
            return "messages";
        }
        i++;
    }
    return NULL;
}

void chat_handle(http_request *req, gateway *gw, gateway_worker *wk)
{
    chat_call *c = calloc(1, sizeof *c);
    if (!c) {
        http_respond_error(req, 500, "Out of memory.", NULL, NULL);
        return;
    }
    c->req = req;
    c->gw = gw;
    c->cache_verifier_p = -1.0f;
    c->wk = wk;
    c->rt = gateway_runtime_acquire(gw);
    c->jailbreak_confidence = -1;
    c->cfg = c->rt->config;
    c->t_start = http_request_start_ns(req);
    buf_init(&c->body);
    const char *rid = http_request_header(req, "x-request-id");
    if (rid && *rid && strlen(rid) < sizeof c->request_id && util_utf8_valid(rid, strlen(rid))) {
        snprintf(c->request_id, sizeof c->request_id, "%s", rid);
    } else {
        char hex[33];
        util_random_hex(hex);
        snprintf(c->request_id, sizeof c->request_id, "req-%s", hex);
    }
    http_add_header(req, "x-request-id", c->request_id);
    watchdog_stage(c->request_id, "parse");
    if (!wk || !wk->upstream) {
        fail_request(c, 500, "The worker has no upstream client.", NULL, NULL, "serialization_error");
        return;
    }

    const char *ctype = http_request_header(req, "content-type");
    if (ctype && !strcasestr(ctype, "json")) {
        fail_request(c, 415, "Content-Type must be application/json.", NULL, "unsupported_media_type",
                     "parse_error");
        return;
    }
    size_t len;
    const char *body = http_request_body(req, &len);
    if (len == 0) {
        fail_request(c, 400, "The request body is empty; expected a JSON object.", NULL, "invalid_json",
                     "parse_error");
        return;
    }
    if (!util_utf8_valid(body, len)) {
        fail_request(c, 400, "The request body is not valid UTF-8.", NULL, "invalid_encoding", "parse_error");
        return;
    }
    c->json = cJSON_ParseWithLength(body, len);
    if (!c->json) {
        fail_request(c, 400,
                     "We could not parse the JSON body of your request. The OpenAI API expects a JSON "
                     "payload.",
                     NULL, "invalid_json", "parse_error");
        return;
    }
    if (!cJSON_IsObject(c->json)) {
        fail_request(c, 400, "The request body must be a JSON object.", NULL, "invalid_json", "parse_error");
        return;
    }
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(c->json, "model");
    if (!model) {
        fail_request(c, 400, "you must provide a model parameter", "model", "missing_required_parameter",
                     "parse_error");
        return;
    }
    if (!cJSON_IsString(model)) {
        fail_request(c, 400, "'model' must be a string.", "model", "invalid_type", "parse_error");
        return;
    }
    char msg[512];
    const char *bad = check_messages(cJSON_GetObjectItemCaseSensitive(c->json, "messages"), msg, sizeof msg);
    if (bad) {
        fail_request(c, 400, msg, bad, "invalid_value", "parse_error");
        return;
    }
    const cJSON *stream = cJSON_GetObjectItemCaseSensitive(c->json, "stream");
    if (stream && !cJSON_IsBool(stream) && !cJSON_IsNull(stream)) {
        fail_request(c, 400, "'stream' must be a boolean.", "stream", "invalid_type", "parse_error");
        return;
    }
    c->stream = cJSON_IsTrue(stream);
    c->tenant = gateway_tenant(c->cfg, http_request_header(req, "authorization"));
    if (!c->tenant) {
        http_add_header(req, "WWW-Authenticate", "Bearer");
        fail_request(c, 401,
                     "Incorrect API key provided. Send a key from the router's auth.keys as "
                     "'Authorization: Bearer KEY'.",
                     NULL, "invalid_api_key", "authentication");
        return;
    }
    parse_cache_control(c);
    snprintf(c->requested_model, sizeof c->requested_model, "%s", model->valuestring);

    c->is_auto = config_is_auto_model(c->cfg, model->valuestring);
    if (!c->is_auto && config_find_model(c->cfg, model->valuestring) < 0) {
        buf names;
        buf_init(&names);
        buf_puts(&names, c->cfg->auto_model_name);
        for (size_t i = 0; i < c->cfg->n_models; i++) buf_printf(&names, ", %s", c->cfg->models[i].name);
        char m2[1024];
        snprintf(m2, sizeof m2, "The model '%.200s' does not exist. Available models: %.700s.",
                 model->valuestring, names.data);
        buf_free(&names);
        fail_request(c, 404, m2, "model", "model_not_found", "model_not_found");
        return;
    }
    if (needs_signals(c)) {
        watchdog_stage(c->request_id, "keys");
        compute_keys(c);
        if (try_exact_first(c)) return;
        watchdog_stage(c->request_id, "embed");
        compute_embeddings(c);
    }
    watchdog_stage(c->request_id, "route+pii");
    if (route_request(c)) return;
    watchdog_stage(c->request_id, "jailbreak");
    if (guard_jailbreak(c)) return;
    watchdog_stage(c->request_id, "cache+upstream");
    metrics_inc(gw->metrics->model_requests, METRICS_LABELS(c->model->name));

    c->n_cands = (int)(c->model->n_endpoints < MAX_CANDIDATES ? c->model->n_endpoints : MAX_CANDIDATES);
    for (int i = 0; i < c->n_cands; i++) {
        const sr_endpoint *ep = &c->cfg->endpoints[c->model->endpoint_index[i]];
        c->cands[i].name = ep->name;
        c->cands[i].weight = ep->weight;
        c->cands[i].max_fails = ep->max_fails;
        c->cands[i].eject_seconds = ep->eject_seconds;
    }
    http_request_on_close(req, on_client_close, c);

    float threshold = -1.0f; /* the cache's own (semantic_cache.similarity_threshold) */
    float min_p = -1.0f;     /* semantic_cache.verifier.min_probability */
    c->cacheable = (gw->cache || gw->backend) && c->have_keys && c->cfg->semantic_cache.enabled;
    if (c->routed && c->route.category_index >= 0) {
        const sr_category *cat = &c->cfg->categories[c->route.category_index];
        if (!cat->semantic_cache_enabled) c->cacheable = 0;
        threshold = (float)cat->semantic_cache_similarity_threshold;
        min_p = (float)cat->semantic_cache_verifier_min_probability;
    }
    if (c->cacheable && gw->backend && !c->no_cache) {
        backend_lookup_start(c, threshold, min_p);
        return;
    }
    if (c->cacheable && try_cache(c, threshold, min_p)) return;
    after_cache_miss(c);
}
