/* respond.c - the answers a request can get before (or instead of) the
 * model server's: an error, a cached completion, a blocked request, nothing
 * (the client left). Each ends the request with chat_finish. */
#include "pipeline/chat.h"
#include "cache/replay.h"
#include "guard/blocked.h"

#include <stdio.h>
#include <string.h>

void chat_fail(chat_ctx *c, int status, const char *message, const char *param, const char *code,
               const char *reason)
{
    c->error_reason = reason;
    http_respond_error(c->req, status, message, param, code);
    chat_finish(c, status);
}

void chat_cancelled(chat_ctx *c)
{
    c->error_reason = "cancellation";
    if (c->stream_started) http_stream_end(c->req);
    else http_respond(c->req, 499, NULL, NULL, 0);
    chat_finish(c, 499);
}

void chat_usage_from_json(chat_ctx *c, const cJSON *completion)
{
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(completion, "usage");
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(u, "prompt_tokens");
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(u, "completion_tokens");
    if (cJSON_IsNumber(p)) c->prompt_tokens = json_scan_to_long(p->valuedouble);
    if (cJSON_IsNumber(k)) c->completion_tokens = json_scan_to_long(k->valuedouble);
}

void chat_usage_from_scan(chat_ctx *c, const json_usage *u)
{
    if (u->has_prompt) c->prompt_tokens = u->prompt_tokens;
    if (u->has_completion) c->completion_tokens = u->completion_tokens;
}

void chat_add_route_headers(chat_ctx *c)
{
    if (c->model) http_add_header(c->req, "x-vsr-selected-model", c->model->name);
    if (!c->routed || !c->is_auto) return;
    if (c->route.category) http_add_header(c->req, "x-vsr-selected-category", c->route.category);
    http_add_header(c->req, "x-vsr-selected-reasoning", c->route.reasoning_set && c->route.reasoning ? "on" : "off");
    http_add_header(c->req, "x-vsr-injected-system-prompt", c->route.system_prompt ? "true" : "false");
    if (c->route.adapted_from) {
        char v[320];
        snprintf(v, sizeof v, "from=%s; reason=%s; signal=%s; distance=%.3f", c->route.adapted_from,
                 c->route.adapt_reason, c->route.adapt_signal, c->route.adapt_distance);
        http_add_header(c->req, "x-vsr-adapted", v);
    }
    if (c->route.difficulty) {
        char score[16];
        snprintf(score, sizeof score, "%.4f", c->route.difficulty_score);
        http_add_header(c->req, "x-vsr-difficulty-score", score);
        http_add_header(c->req, "x-vsr-difficulty-decision", c->route.difficulty);
    }
}

/* Answers from a stored completion: verbatim JSON, or replayed as SSE. */
void chat_respond_cached(chat_ctx *c, const char *body, size_t len, float similarity,
                               int coalesced)
{
    char sim[16];
    snprintf(sim, sizeof sim, "%.4f", similarity);
    http_add_header(c->req, "x-vsr-cache-hit", "true");
    http_add_header(c->req, "x-vsr-cache-similarity", sim);
    if (c->verifier_probability >= 0) {
        char p[16];
        snprintf(p, sizeof p, "%.4f", c->verifier_probability);
        http_add_header(c->req, "x-vsr-cache-verifier-probability", p);
    }
    http_add_header(c->req, "x-vsr-response-path", "cache");
    if (coalesced) http_add_header(c->req, "x-vsr-single-flight", "true");
    c->response_path = "cache";
    c->cache_state = coalesced ? "coalesced" : "hit";
    c->cache_similarity = similarity;
    cJSON *j = cJSON_ParseWithLength(body, len);
    if (j) chat_usage_from_json(c, j);
    if (!c->model) { /* answered before routing (exact tier): name the model that answered */
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "model");
        for (size_t i = 0; cJSON_IsString(m) && i < c->cfg->n_models; i++)
            if (!strcmp(c->cfg->models[i].upstream_model, m->valuestring)) c->model = &c->cfg->models[i];
    }
    cJSON_Delete(j);
    chat_add_route_headers(c);
    /* tokens served from the cache cost nothing upstream */
    c->prompt_tokens = c->completion_tokens = 0;
    if (c->stream) {
        const cJSON *so = cJSON_GetObjectItemCaseSensitive(c->json, "stream_options");
        int include_usage = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(so, "include_usage"));
        buf sse;
        buf_init(&sse);
        if (cache_replay_sse(body, len, include_usage, &sse) == 0 && !sse.oom) {
            http_stream_start_sse(c->req);
            http_stream_write(c->req, sse.data, sse.len);
            http_stream_end(c->req);
        } else {
            http_respond_error(c->req, 500, "The cached answer could not be replayed.", NULL, "cache_replay_failed");
        }
        buf_free(&sse);
    } else {
        http_respond(c->req, 200, "application/json", body, len);
    }
    chat_finish(c, 200);
}

/* Answers a blocked request the way vLLM Semantic Router does (HTTP 200, a
 * content_filter completion or one chunk + [DONE]) or, with
 * prompt_guard.block_status 403, as an OpenAI error. */
void chat_respond_blocked(chat_ctx *c, int kind, int status, const char *message,
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
            http_stream_start_sse(c->req);
            http_stream_write(c->req, b.data, b.len);
            http_stream_end(c->req);
        } else {
            blocked_response_json(&b, kind, model, message, 0);
            http_respond(c->req, 200, "application/json", b.data, b.len);
        }
        buf_free(&b);
    }
    chat_finish(c, status);
}
