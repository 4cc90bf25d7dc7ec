/* proxy.c - stage 7: the model server's answer, whole or streamed.
 *
 * Endpoint attempts: the balancer picks among the model's endpoints (weights,
 * health). Failover is allowed only while nothing has been sent to the
 * client: an upstream that refuses, times out before answering, answers 5xx,
 * or answers 2xx with a body that is not JSON is marked failed and the next
 * endpoint is tried. A 5xx/429 with Retry-After ejects its endpoint for that
 * long (at most RETRY_AFTER_CAP s). A 429 is the answer: passed to the client
 * with its Retry-After and never retried here (the client's own retries are
 * one upstream call each: no retry storm). An answer over
 * server.max_upstream_body_bytes is a 502 without failover (every endpoint
 * would send the same). When every endpoint is ejected, or none could be
 * reached, the client gets a 503 naming the model, with Retry-After when an
 * ejection says how long. Once a stream has started, a cut or stalled
 * (server.upstream_idle_timeout_seconds) upstream ends the client's stream
 * with an SSE error event and [DONE], and nothing is cached. A stream is
 * bounded by server.max_upstream_body_bytes too (the SSE bytes received): at
 * the limit the upstream transfer is cancelled and the client gets the whole
 * events that fit, then an error event (upstream_response_too_large) and
 * [DONE]; nothing is cached, the endpoint's health is not touched.
 *
 * Streams are forwarded as they arrive, whole SSE events only: the bytes of an
 * event not yet complete (a chunk may end inside one) wait in c->body until
 * its blank line arrives, so a cut stream never leaves the client half an
 * event glued to the error event. Back-pressure: when the
 * client reads slower than the model writes and more than STREAM_HIGH_WATER
 * bytes are queued, the upstream transfer is paused until the queue drains.
 * A clean 2xx answer (a stream only after a clean [DONE]) goes to chat_store. */
#include "pipeline/chat.h"
#include "core/json_scan.h"
#include "core/openai_error.h"
#include "core/sse.h"
#include "core/util.h"
#include "core/watchdog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define STREAM_HIGH_WATER (1u << 20)
#define RETRY_AFTER_CAP 300.0 /* seconds an endpoint's Retry-After may eject it */

static void add_common_headers(chat_ctx *c)
{
    chat_add_route_headers(c);
    http_add_header(c->req, "x-vsr-response-path", "upstream");
    if (c->gw->cache || c->gw->backend) http_add_header(c->req, "x-vsr-cache-hit", "false");
}

static void on_drain(http_request *req, void *arg)
{
    (void)req;
    chat_ctx *c = arg;
    if (c->paused && c->up) {
        c->paused = 0;
        upstream_pause(c->up, 0);
    }
}

/* Sets Retry-After and retry-after-ms on the client's answer. */
static void add_retry_after(chat_ctx *c, long ms)
{
    if (ms < 0) return;
    char v[32];
    snprintf(v, sizeof v, "%ld", (ms + 999) / 1000);
    http_add_header(c->req, "Retry-After", v);
    snprintf(v, sizeof v, "%ld", ms);
    http_add_header(c->req, "retry-after-ms", v);
}

static int on_head(void *arg, int status, const char *content_type)
{
    chat_ctx *c = arg;
    c->upstream_status = status;
    util_copy_str(c->content_type, sizeof c->content_type, content_type ? content_type : "");
    long ra = upstream_retry_after_ms(c->up);
    if (ra >= 0 && (c->retry_after_ms < 0 || ra < c->retry_after_ms)) c->retry_after_ms = ra;
    if (status >= 500) {
        /* nothing sent yet: let on_done fail over */
        c->retry_this = 1;
        snprintf(c->last_error, sizeof c->last_error, "the model server answered HTTP %d", status);
        if (ra > 0) /* it said how long it is away: honour it instead of counting failures */
            balancer_eject(c->gw->balancer, c->cands[c->current].name,
                           (double)ra / 1000 < RETRY_AFTER_CAP ? (double)ra / 1000 : RETRY_AFTER_CAP);
        return 1;
    }
    if (status == 429 && ra > 0)
        balancer_eject(c->gw->balancer, c->cands[c->current].name,
                       (double)ra / 1000 < RETRY_AFTER_CAP ? (double)ra / 1000 : RETRY_AFTER_CAP);
    if (c->stream && status >= 200 && status < 300 && strcasestr(c->content_type, SSE_CONTENT_TYPE)) {
        add_common_headers(c);
        http_stream_start_sse(c->req);
        c->stream_started = 1;
        buf_reset(&c->body); /* from here on: the bytes of an event not yet complete */
        c->assembler = cache_assembler_new(0);
        http_request_on_drain(c->req, on_drain, c);
    }
    return 0;
}

/* A piece of a started stream: relays the whole events (c->body holds an incomplete one's bytes),
 * up to server.max_upstream_body_bytes received. Nonzero = stop the transfer. */
static int stream_data(chat_ctx *c, const char *data, size_t len)
{
    size_t limit = c->cfg->server.max_upstream_body_bytes;
    int over = len > limit - c->stream_bytes; /* stream_bytes <= limit always */
    size_t take = over ? limit - c->stream_bytes : len;
    c->stream_bytes += take;
    if (c->assembler) cache_assembler_feed(c->assembler, data, take);
    const char *d = data;
    size_t n = take;
    if (c->body.len) { /* an event was incomplete: it goes on from here */
        buf_append(&c->body, data, take);
        if (c->body.oom) return 1;
        d = c->body.data;
        n = c->body.len;
    }
    size_t whole = sse_whole_events_len(d, n);
    if (whole && http_stream_write(c->req, d, whole)) return 1; /* client gone */
    if (d == data) {
        if (whole < n) buf_append(&c->body, d + whole, n - whole);
    } else if (whole) {
        memmove(c->body.data, c->body.data + whole, n - whole);
        c->body.len = n - whole;
        c->body.data[c->body.len] = 0;
    }
    if (c->body.oom) return 1;
    if (over) {
        c->too_large = 1;
        snprintf(c->last_error, sizeof c->last_error,
                 "the model server's stream exceeds %zu bytes (server.max_upstream_body_bytes)", limit);
        return 1;
    }
    if (!c->paused && http_stream_pending(c->req) > STREAM_HIGH_WATER) {
        c->paused = 1;
        upstream_pause(c->up, 1);
    }
    return 0;
}

static int on_data(void *arg, const char *data, size_t len)
{
    chat_ctx *c = arg;
    if (!c->t_first_byte) c->t_first_byte = util_now_ns();
    if (!c->t_attempt_first) c->t_attempt_first = util_now_ns();
    if (c->stream_started) return stream_data(c, data, len);
    size_t limit = c->cfg->server.max_upstream_body_bytes;
    if (c->body.len + len > limit) {
        c->too_large = 1;
        snprintf(c->last_error, sizeof c->last_error,
                 "the model server's answer exceeds %zu bytes (server.max_upstream_body_bytes)", limit);
        return 1;
    }
    buf_append(&c->body, data, len);
    return 0;
}

static void stream_error_end(chat_ctx *c, const char *message, const char *code)
{
    buf b;
    buf_init(&b);
    sse_data_begin(&b);
    api_error_json(&b, message, "upstream_error", NULL, code);
    sse_event_end(&b);
    sse_done(&b);
    http_stream_write(c->req, b.data, b.len);
    buf_free(&b);
    http_stream_end(c->req);
}

static void on_done(void *arg, int ok, int status, int timed_out, int connect_failed, const char *err)
{
    chat_ctx *c = arg;
    c->up = NULL;
    if (status) c->upstream_status = status;
    int failed = !ok || c->retry_this || c->upstream_status >= 500;
    /* a whole 2xx answer must be a JSON object: garbage is that endpoint's failure */
    json_usage usage;
    int answer = 0; /* a JSON object: usage says what it holds */
    int is_2xx = c->upstream_status >= 200 && c->upstream_status < 300;
    if (!failed && !c->stream_started && is_2xx) {
        answer = json_scan_usage(c->body.data ? c->body.data : "", c->body.len, &usage) && usage.is_object;
        if (!answer) {
            failed = c->retry_this = c->last_malformed = 1;
            snprintf(c->last_error, sizeof c->last_error,
                     "the model server answered HTTP %d with a body that is not a JSON object (%zu bytes)",
                     c->upstream_status, c->body.len);
        }
    }
    if (!failed) c->last_malformed = 0;
    /* too large says nothing about the endpoint's health; a 429 (passed to the client, never
     * retried here) counts against it, so a server that keeps refusing is left alone a while */
    balancer_end(c->gw->balancer, &c->cands[c->current],
                 (!failed && c->upstream_status != 429) || c->too_large);
    chat_adapt_end(c, c->cands[c->current].name, (!failed && c->upstream_status != 429) || c->too_large);
    metrics_inc(c->gw->metrics->upstream_requests,
                METRICS_LABELS(c->cands[c->current].name,
                               failed || c->upstream_status == 429 ? (timed_out ? "timeout" : "error") : "ok"));
    if (http_request_client_gone(c->req)) {
        /* client left during the transfer (the close callback normally gets here first) */
        chat_cancelled(c);
        return;
    }
    if (c->stream_started) {
        int clean = ok && !c->too_large && c->assembler && cache_assembler_done(c->assembler);
        if (clean) {
            /* bytes after the last blank line (a server that ends without one) */
            if (c->body.len) http_stream_write(c->req, c->body.data, c->body.len);
            buf completion;
            buf_init(&completion);
            if (cache_assembler_finish(c->assembler, &completion) == 1) {
                json_usage u;
                if (json_scan_usage(completion.data, completion.len, &u)) chat_usage_from_scan(c, &u);
                chat_store(c, completion.data, completion.len);
            }
            buf_free(&completion);
            http_stream_end(c->req);
            chat_finish(c, 200);
        } else if (c->too_large) { /* the incomplete event in c->body is dropped */
            c->error_reason = "upstream_response_too_large";
            char msg[512];
            snprintf(msg, sizeof msg, "The model server for '%s' streamed more than %zu bytes "
                     "(server.max_upstream_body_bytes); the stream was stopped there. Ask for a "
                     "shorter answer (max_tokens).", c->model->name, c->cfg->server.max_upstream_body_bytes);
            stream_error_end(c, msg, "upstream_response_too_large");
            chat_finish(c, 200);
        } else {
            c->error_reason = timed_out ? "timeout" : "upstream_stream_interrupted";
            char msg[384];
            snprintf(msg, sizeof msg, "The model server's stream was interrupted: %s",
                     err ? err : "it ended without [DONE]");
            stream_error_end(c, msg, "upstream_stream_interrupted");
            chat_finish(c, 200);
        }
        return;
    }
    if (c->too_large) {
        char msg[512];
        snprintf(msg, sizeof msg, "The model server for '%s' answered more than %zu bytes "
                 "(server.max_upstream_body_bytes); ask for a shorter answer (max_tokens) or stream it.",
                 c->model->name, c->cfg->server.max_upstream_body_bytes);
        chat_fail(c, 502, msg, NULL, "upstream_response_too_large", "upstream_response_too_large");
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
        chat_upstream(c); /* next endpoint, or the final error */
        return;
    }
    /* a whole answer (2xx, or a 4xx the client should see as is) */
    add_common_headers(c);
    const char *ctype = c->content_type[0] ? c->content_type : "application/json";
    if (answer) {
        chat_usage_from_scan(c, &usage);
        /* only a real completion is worth keeping */
        if (usage.choices_array) chat_store(c, c->body.data, c->body.len);
    } else if (c->upstream_status == 429) {
        c->error_reason = "upstream_rate_limited";
        add_retry_after(c, c->retry_after_ms);
    } else {
        c->error_reason = "upstream_4xx";
    }
    http_respond(c->req, c->upstream_status, ctype, c->body.data ? c->body.data : "", c->body.len);
    chat_finish(c, c->upstream_status);
}

/* Seconds until the first of the model's endpoints takes traffic again, 0 when one does now. */
static double all_ejected_for(chat_ctx *c)
{
    double least = -1;
    for (int i = 0; i < c->n_cands; i++) {
        double left = balancer_ejected_for(c->gw->balancer, c->cands[i].name);
        if (left <= 0) return 0;
        if (least < 0 || left < least) least = left;
    }
    return least > 0 ? least : 0;
}

void chat_upstream(chat_ctx *c)
{
    c->stage = CHAT_STAGE_UPSTREAM;
    watchdog_stage(c->request_id, "upstream");
    if (c->attempts == 0) c->retry_after_ms = -1;
    double away = c->n_cands > 0 ? all_ejected_for(c) : 0;
    if (away > 0 && c->attempts == 0) {
        /* every endpoint failed recently (or asked for time): fail fast instead of piling on */
        char msg[768];
        int n = snprintf(msg, sizeof msg, "The model '%s' has no endpoint taking traffic: every one is ejected after failing (",
                         c->model->name);
        for (int i = 0; i < c->n_cands && n > 0 && (size_t)n < sizeof msg; i++)
            n += snprintf(msg + n, sizeof msg - (size_t)n, "%s'%s' for %.1f s more", i ? ", " : "", c->cands[i].name,
                          balancer_ejected_for(c->gw->balancer, c->cands[i].name));
        if (n > 0 && (size_t)n < sizeof msg) snprintf(msg + n, sizeof msg - (size_t)n, "). Retry after that.");
        add_retry_after(c, (long)(away * 1000));
        chat_fail(c, 503, msg, NULL, "no_healthy_endpoint", "no_healthy_endpoint");
        return;
    }
    for (;;) {
        int i = balancer_pick(c->gw->balancer, c->cands, c->n_cands, c->tried);
        if (i < 0) break;
        const sr_endpoint *ep = &c->cfg->endpoints[c->model->endpoint_index[i]];
        c->current = i;
        c->attempts++;
        c->retry_this = 0;
        c->upstream_status = 0;
        /* plain copies where snprintf's "%s%s" was (this runs once per proxied request) */
        char url[1024];
        size_t ul = util_copy_str(url, sizeof url, ep->api_base);
        util_copy_str(url + ul, sizeof url - ul, "/chat/completions");
        char auth[1024] = "", rid[128];
        const char *headers[6];
        int nh = 0;
        headers[nh++] = "Content-Type: application/json";
        size_t rl = util_copy_str(rid, sizeof rid, "x-request-id: ");
        util_copy_str(rid + rl, sizeof rid - rl, c->request_id);
        headers[nh++] = rid;
        if (ep->api_key) {
            snprintf(auth, sizeof auth, "Authorization: Bearer %s", ep->api_key);
            headers[nh++] = auth;
        } else if (!c->cfg->auth.enabled && http_request_header(c->req, "authorization")) {
            /* no key of ours and no gateway auth: the client's key is meant for the server */
            snprintf(auth, sizeof auth, "Authorization: %s", http_request_header(c->req, "authorization"));
            headers[nh++] = auth;
        }
        if (c->stream) headers[nh++] = "Accept: " SSE_CONTENT_TYPE;
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
            .idle_timeout_ms = (long)c->cfg->server.upstream_idle_timeout_seconds * 1000,
            .keepalive_idle_s = c->cfg->server.upstream_keepalive_idle_seconds,
            .keepalive_lifetime_s = c->cfg->server.upstream_keepalive_lifetime_seconds,
        };
        static const upstream_callbacks cbs = {on_head, on_data, on_done};
        balancer_begin(c->gw->balancer, c->cands[i].name);
        chat_adapt_begin(c, c->cands[i].name);
        c->up = upstream_start(c->wk->upstream, &ur, &cbs, c);
        if (c->up) return;
        balancer_end(c->gw->balancer, &c->cands[i], 0);
        chat_adapt_end(c, c->cands[i].name, 0);
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
        chat_fail(c, 503, msg, NULL, "no_endpoints", "no_endpoints");
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
    if (c->last_timed_out) {
        chat_fail(c, 504, msg, NULL, "upstream_timeout", "timeout");
    } else if (c->last_connect_failed) { /* nobody there: the model is unavailable, not answering badly */
        double left = all_ejected_for(c);
        if (left > 0) add_retry_after(c, (long)(left * 1000));
        chat_fail(c, 503, msg, NULL, "upstream_unreachable", "upstream_unreachable");
    } else if (c->last_status == 503 || c->retry_after_ms >= 0) {
        add_retry_after(c, c->retry_after_ms);
        chat_fail(c, 503, msg, NULL, "upstream_unavailable", "upstream_5xx");
    } else if (c->last_malformed) {
        chat_fail(c, 502, msg, NULL, "upstream_invalid_response", "upstream_invalid_response");
    } else {
        chat_fail(c, 502, msg, NULL, "upstream_error",
                  c->last_status >= 500 ? "upstream_5xx" : c->last_status >= 400 ? "upstream_4xx" : "upstream_error");
    }
}
