/* finish.c - stage 9, accounting: the request's metrics (latency, time to
 * first token, time per output token, tokens and cost, errors, HTTP status)
 * and its decision log line (server.log_requests). chat_finish (chat.c)
 * calls it once per request, whatever path the request took. */
#include "pipeline/chat.h"
#include "core/log.h"
#include "core/util.h"

#include <stdio.h>
#include <string.h>

/* The decision of a finished request, for the live statistics (metrics/stats.h). */
static void record_decision(chat_ctx *c, int status, double total_seconds)
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
        .verifier_probability = c->verifier_probability,
        .latency_ms = total_seconds * 1e3,
        .ttft_ms = c->t_first_byte ? (double)(c->t_first_byte - c->t_start) / 1e6 : -1,
    };
    stats_record(c->gw->stats, &d);
}

void chat_account(chat_ctx *c, int status)
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
    char st[24];
    util_fmt_long(st, status);
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
    if (c->verifier_probability >= 0)
        buf_printf(&l, ",\"cache_verifier_probability\":%.4f", c->verifier_probability);
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
        if (c->route.adapted_from) {
            buf_puts(&l, ",\"adapted_from\":");
            buf_json_str(&l, c->route.adapted_from, strlen(c->route.adapted_from));
            buf_printf(&l, ",\"adapt_reason\":\"%s\",\"adapt_signal\":\"%s\",\"adapt_distance\":%.4f",
                       c->route.adapt_reason, c->route.adapt_signal, c->route.adapt_distance);
        }
        if (c->route.difficulty)
            buf_printf(&l, ",\"difficulty_score\":%.4f,\"difficulty\":\"%s\"", c->route.difficulty_score,
                       c->route.difficulty);
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
    buf_printf(&l, ",\"answered_in\":\"%s\"", chat_stage_name(c->stage)); /* the stage that answered */
    buf_putc(&l, '}');
    log_json_line(l.data, l.len);
    buf_free(&l);
}
