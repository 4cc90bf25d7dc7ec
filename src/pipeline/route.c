/* route.c - stage 5: the verdicts of the model work become a decision.
 *
 *   1. the model (route_choose: the one place for the explicit and default
 *      model rules) from the category signal classified once in the model work;
 *   2. the PII policy: with pii.action redact, a request no model may see is
 *      masked and the model chosen again from the same signal (no second
 *      classification); otherwise it is blocked;
 *   3. the prompt guard's verdict (computed in the model work with the
 *      category's override): a jailbreak is blocked;
 *   4. the rewrite for the chosen model (reasoning, system prompt, model name),
 *      tool selection, and the upstream body: serialised only when something
 *      changed, else the client's bytes go upstream as they came;
 *   5. whether the cache applies (the category may turn it off or set its
 *      threshold), then the semantic stage. */
#include "pipeline/chat.h"
#include "core/util.h"
#include "core/watchdog.h"
#include "guard/blocked.h"
#include "guard/pii.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int model_healthy(void *ctx, const char *model)
{
    chat_ctx *c = ctx;
    int mi = config_find_model(c->cfg, model);
    if (mi < 0) return 0;
    const sr_model *m = &c->cfg->models[mi];
    for (size_t i = 0; i < m->n_endpoints; i++)
        if (balancer_healthy(c->gw->balancer, c->cfg->endpoints[m->endpoint_index[i]].name)) return 1;
    return 0;
}

route_input chat_route_input(chat_ctx *c)
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
    if (c->cfg->adaptation.enabled && c->gw->adapt) {
        in.model_breach = chat_adapt_breach;
        in.breach_ctx = c;
    }
    return in;
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
static void redact_messages(chat_ctx *c)
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

/* Answers a jailbreak. Returns 1 when the request was blocked. */
static int apply_jailbreak_verdict(chat_ctx *c)
{
    if (!c->jailbreak_ran || !c->jailbreak.is_jailbreak) return 0;
    const jailbreak_result *r = &c->jailbreak;
    char conf[16];
    snprintf(conf, sizeof conf, "%.3f", r->confidence);
    http_add_header(c->req, "x-vsr-jailbreak-blocked", "true");
    http_add_header(c->req, "x-vsr-jailbreak-confidence", conf);
    const char *type = "unknown";
    for (int b = 0; b < JAILBREAK_TYPE_COUNT; b++)
        if (r->types & (1u << b)) {
            type = jailbreak_type_name(1u << b);
            break;
        }
    http_add_header(c->req, "x-vsr-jailbreak-type", type);
    c->jailbreak_type = type;
    buf msg;
    buf_init(&msg);
    blocked_jailbreak_message(&msg, type, r->confidence);
    chat_respond_blocked(c, BLOCKED_JAILBREAK, c->cfg->prompt_guard.block_status == 403 ? 403 : 200, msg.data,
                         "security-filter", "jailbreak_block");
    buf_free(&msg);
    return 1;
}

static void count_route(chat_ctx *c, uint64_t t0)
{
    sr_metrics *m = c->gw->metrics;
    const route_decision *d = &c->route;
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
    if (d->adapted_from && d->model)
        metrics_inc(m->adapt_switches, METRICS_LABELS(d->adapted_from, d->model, d->adapt_reason, d->adapt_signal));
    if (d->difficulty && d->model) {
        metrics_inc(m->difficulty_decisions, METRICS_LABELS(d->difficulty, d->model));
        metrics_observe(m->difficulty_score, NULL, d->difficulty_score);
    }
}

void chat_route(chat_ctx *c)
{
    c->stage = CHAT_STAGE_ROUTE;
    watchdog_stage(c->request_id, "route");
    gateway *gw = c->gw;
    uint64_t t0 = util_now_ns();
    route_decision *d = &c->route;
    c->routed = c->rt->route != NULL;
    const route_signal *sig = c->signal.classified ? &c->signal : NULL;
    route_input in = chat_route_input(c);
    char err[256];
    if (route_choose(c->cfg, sig, &in, d, err, sizeof err)) {
        chat_fail(c, 404, err, "model", "model_not_found", "model_not_found");
        return;
    }
    if (c->n_pii) http_add_header(c->req, "x-vsr-pii-types", c->pii_types_joined);
    if ((d->pii_blocked || d->model_index < 0) && c->cfg->pii.action == SR_PII_ACTION_REDACT) {
        /* nobody may see this PII: mask it, then choose again for the masked request */
        redact_messages(c);
        c->pii_redacted = 1;
        http_add_header(c->req, "x-vsr-pii-redacted", "true");
        in.n_pii_types = 0; /* masked: nothing left to hide */
        if (route_choose(c->cfg, sig, &in, d, err, sizeof err)) d->model_index = -1;
    }
    if (d->pii_blocked || d->model_index < 0) {
        http_add_header(c->req, "x-vsr-pii-violation", "true");
        for (int i = 0; i < c->n_pii; i++)
            metrics_inc(gw->metrics->pii_violations, METRICS_LABELS(c->requested_model, c->pii_types[i]));
        buf msg;
        buf_init(&msg);
        blocked_pii_message(&msg, c->n_pii ? c->pii_types_joined : "PII", c->requested_model);
        chat_respond_blocked(c, BLOCKED_PII, c->cfg->prompt_guard.block_status == 403 ? 403 : 200, msg.data,
                             c->requested_model, "pii_policy_denied");
        buf_free(&msg);
        return;
    }
    c->model = &c->cfg->models[d->model_index];

    int changed = c->pii_redacted; /* the masked text must go upstream */
    if (c->is_auto && c->rt->route) {
        if (route_rewrite_request(c->rt->route, d, c->json)) {
            chat_fail(c, 400, "The request's messages cannot take the category's system prompt.", "messages",
                      "invalid_value", "parse_error");
            return;
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
            chat_fail(c, 500, "Out of memory.", NULL, "out_of_memory", "serialization_error");
            return;
        }
        c->upstream_len = strlen(c->upstream_body);
    }
    count_route(c, t0);
    if (apply_jailbreak_verdict(c)) return;
    metrics_inc(gw->metrics->model_requests, METRICS_LABELS(c->model->name));

    c->n_cands = (int)(c->model->n_endpoints < CHAT_MAX_CANDIDATES ? c->model->n_endpoints : CHAT_MAX_CANDIDATES);
    for (int i = 0; i < c->n_cands; i++) {
        const sr_endpoint *ep = &c->cfg->endpoints[c->model->endpoint_index[i]];
        c->cands[i].name = ep->name;
        c->cands[i].weight = ep->weight;
        c->cands[i].max_fails = ep->max_fails;
        c->cands[i].eject_seconds = ep->eject_seconds;
    }
    c->cacheable = (gw->cache || gw->backend) && c->have_keys && c->cfg->semantic_cache.enabled;
    if (c->routed && d->category_index >= 0) {
        const sr_category *cat = &c->cfg->categories[d->category_index];
        if (!cat->semantic_cache_enabled) c->cacheable = 0;
        c->threshold = (float)cat->semantic_cache_similarity_threshold;
        c->min_p = (float)cat->semantic_cache_verifier_min_probability;
    }
    chat_semantic(c);
}
