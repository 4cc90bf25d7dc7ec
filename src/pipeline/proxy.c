/* proxy.c - stage 7: the model server's answer, whole or streamed.
 *
 * Endpoint attempts: the balancer picks among the model's endpoints (weights,
 * health). Failover is allowed only while nothing has been sent to the
 * client: an upstream that refuses, times out before answering, or answers
 * 5xx/429 is marked failed and the next endpoint is tried. Once a stream has
 * started, a cut upstream ends the client's stream with an SSE error event
 * and [DONE].
 *
 * Streams are forwarded chunk by chunk as they arrive. Back-pressure: when the
 * client reads slower than the model writes and more than STREAM_HIGH_WATER
 * bytes are queued, the upstream transfer is paused until the queue drains.
 * A clean 2xx answer (a stream only after a clean [DONE]) goes to chat_store. */
#include "pipeline/chat.h"
#include "core/openai_error.h"
#include "core/util.h"
#include "core/watchdog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define STREAM_HIGH_WATER (1u << 20)
#define MAX_UPSTREAM_BODY (64u << 20)

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

static int on_head(void *arg, int status, const char *content_type)
{
    chat_ctx *c = arg;
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
    chat_ctx *c = arg;
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

static void stream_error_end(chat_ctx *c, const char *message)
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
    chat_ctx *c = arg;
    c->up = NULL;
    if (status) c->upstream_status = status;
    int failed = !ok || c->retry_this || c->upstream_status >= 500;
    balancer_end(c->gw->balancer, &c->cands[c->current], !failed);
    metrics_inc(c->gw->metrics->upstream_requests,
                METRICS_LABELS(c->cands[c->current].name, failed ? (timed_out ? "timeout" : "error") : "ok"));
    if (http_request_client_gone(c->req)) {
        /* client left during the transfer (the close callback normally gets here first) */
        chat_cancelled(c);
        return;
    }
    if (c->stream_started) {
        int clean = ok && c->assembler && cache_assembler_done(c->assembler);
        if (clean) {
            buf completion;
            buf_init(&completion);
            if (cache_assembler_finish(c->assembler, &completion) == 1) {
                cJSON *j = cJSON_ParseWithLength(completion.data, completion.len);
                if (j) chat_usage_from_json(c, j);
                cJSON_Delete(j);
                chat_store(c, completion.data, completion.len);
            }
            buf_free(&completion);
            http_stream_end(c->req);
            chat_finish(c, 200);
        } else {
            c->error_reason = timed_out ? "timeout" : "upstream_stream_interrupted";
            char msg[384];
            snprintf(msg, sizeof msg, "The model server's stream was interrupted: %s",
                     err ? err : "it ended without [DONE]");
            stream_error_end(c, msg);
            chat_finish(c, 200);
        }
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
    if (c->upstream_status >= 200 && c->upstream_status < 300) {
        cJSON *j = cJSON_ParseWithLength(c->body.data ? c->body.data : "", c->body.len);
        if (j) chat_usage_from_json(c, j);
        /* only a real completion is worth keeping */
        if (cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(j, "choices")))
            chat_store(c, c->body.data, c->body.len);
        cJSON_Delete(j);
    } else {
        c->error_reason = "upstream_4xx";
    }
    http_respond(c->req, c->upstream_status, ctype, c->body.data ? c->body.data : "", c->body.len);
    chat_finish(c, c->upstream_status);
}

void chat_upstream(chat_ctx *c)
{
    c->stage = CHAT_STAGE_UPSTREAM;
    watchdog_stage(c->request_id, "upstream");
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
    if (c->last_timed_out)
        chat_fail(c, 504, msg, NULL, "upstream_timeout", "timeout");
    else if (c->last_connect_failed)
        chat_fail(c, 502, msg, NULL, "upstream_unreachable", "upstream_unreachable");
    else
        chat_fail(c, 502, msg, NULL, "upstream_error",
                  c->last_status >= 500 ? "upstream_5xx" : c->last_status >= 400 ? "upstream_4xx" : "upstream_error");
}
