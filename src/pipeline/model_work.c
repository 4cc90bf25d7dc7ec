/* model_work.c - stage 4: the model work of a request, on the compute pool.
 *
 * One compute job per request (pipeline/compute.h): the pool embeds the last
 * user turn and, when the semantic tier may use them, the earlier turns
 * (micro-batched with other requests' texts), then model_work_run, still on
 * the compute thread, does what needs the texts and vectors:
 *   1. PII detection over every message's text (the policy is applied by the
 *      route stage);
 *   2. the category signal, once (route_classify: keyword rules, then the
 *      classifier on the vector); the redact path reuses it;
 *   3. the prompt guard with the category's override: the last user turn with
 *      its vector, then every other text the model will read by its patterns
 *      (guard_text without the last turn: each byte is scanned once; a pattern
 *      whose words straddle the last turn and the message before it is not seen).
 * Its done callback, on the request's loop, records metrics and passes the
 * request to the route stage (or finishes it when the client left).
 *
 * A request that names its model and does not use the semantic tier needs only
 * the guards: its job goes in the pool's urgent lane (compute.h), ahead of a
 * backlog of automatic-routing misses.
 *
 * While the job runs the compute thread owns the context (chat.h); work
 * reads only the request's own texts and immutable shared state (the
 * runtime's engine and detector, the config). A request that needs none of
 * this skips the pool and goes straight to the route stage. */
#include "pipeline/chat.h"
#include "core/log.h"
#include "core/util.h"
#include "core/watchdog.h"
#include "guard/pii.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void detect_pii(chat_ctx *c)
{
    pii_entity ents[64];
    int n = pii_detect_min(c->texts.pii_text, c->texts.pii_len, ents, 64,
                           c->cfg->classifier.pii_model.threshold);
    for (int i = 0; i < n && c->n_pii < CHAT_MAX_PII_TYPES; i++) {
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

static void classify(chat_ctx *c)
{
    route_input in = chat_route_input(c);
    route_classify(c->rt->route, &in, &c->signal);
}

/* The prompt guard (category override: the signal's category, which is the
 * route's category, as route_choose keeps it). */
static void guard_jailbreak(chat_ctx *c)
{
    const sr_config *cfg = c->cfg;
    const jailbreak_detector *d = c->rt->jailbreak;
    int enabled = cfg->prompt_guard.enabled;
    double threshold = cfg->prompt_guard.threshold;
    if (c->signal.classified && c->signal.category_index >= 0) {
        const sr_category *cat = &cfg->categories[c->signal.category_index];
        enabled = cat->jailbreak_enabled;
        threshold = cat->jailbreak_threshold;
    }
    if (!enabled || !d) return;
    const float *vec =
        c->query_vec && c->gw->embed && jailbreak_dim(d) == embed_dim(c->gw->embed) ? c->query_vec : NULL;
    jailbreak_result r = {0};
    uint64_t t0 = util_now_ns();
    int ran = 0;
    const char *q = c->have_keys ? c->keys.query : NULL;
    size_t ql = q ? c->keys.query_len : 0;
    if (q && jailbreak_check(d, q, ql, vec, (float)threshold, &r) == 0) ran = 1;
    /* earlier turns, system/developer and tool messages, text beside images:
     * the same patterns (the vector is the last turn's only). The last turn was
     * just checked: when guard_text holds it, only the text around it is read. */
    if (c->have_texts && c->texts.guard_len > 0) {
        const char *g = c->texts.guard_text;
        size_t gl = c->texts.guard_len, at = c->texts.query_at, n = c->texts.query_len;
        int inside = ran && n > 0 && n == ql && at + n <= gl && !memcmp(g + at, q, n);
        char *rest = NULL;
        size_t rl = gl;
        const char *scan = g;
        if (inside) {
            size_t before = at > 0 ? at - 1 : 0; /* without the "\n" joiner */
            size_t after_at = at + n + (at + n < gl), after = gl - after_at;
            if (!after) {
                rl = before; /* the usual case: the last turn ends the text, no copy */
            } else if (!before) {
                scan = g + after_at, rl = after;
            } else if ((rest = malloc(before + 1 + after))) {
                memcpy(rest, g, before);
                rest[before] = '\n';
                memcpy(rest + before + 1, g + after_at, after);
                scan = rest, rl = before + 1 + after;
            } /* out of memory: the whole text, the last turn again */
        }
        jailbreak_result all;
        if (rl > 0 && jailbreak_check(d, scan, rl, NULL, (float)threshold, &all) == 0) {
            if (!ran || all.is_jailbreak > r.is_jailbreak ||
                (all.is_jailbreak == r.is_jailbreak && all.confidence > r.confidence))
                r = all;
            ran = 1;
        }
        free(rest);
    }
    if (!ran) return;
    c->jailbreak_ran = 1;
    c->jailbreak = r;
    c->jailbreak_seconds = (double)(util_now_ns() - t0) / 1e9;
    c->jailbreak_confidence = r.confidence;
}

/* The embedding's outcome (ok = 0: c->vecs holds n rows) into the context. */
static void take_embedding(chat_ctx *c, int n, int status, const char *err, uint64_t t0, uint64_t t1)
{
    c->embed_texts_n = n;
    c->embed_status = status;
    if (status) {
        snprintf(c->embed_error, sizeof c->embed_error, "%.200s", err ? err : "failed");
        return;
    }
    int window = embed_max_tokens(c->gw->embed);
    for (int i = 0; i < n; i++)
        if (window > 0 && c->embed_tokens[i] > window) c->over_window = 1;
    c->query_vec = c->vecs;
    if (n > 1) c->context_vecs = c->vecs + embed_dim(c->gw->embed);
    c->embed_ms = (double)(t1 - t0) / 1e6;
}

/* On the compute thread, after the embedding (if the job had texts). */
static void model_work_run(compute_job *j)
{
    chat_ctx *c = j->arg;
    if (j->n_texts > 0) take_embedding(c, j->n_texts, j->embed_status, j->embed_error, j->t_start, j->t_embedded);
    if (c->need_pii) detect_pii(c);
    if (c->need_classify) classify(c);
    if (c->need_jailbreak) guard_jailbreak(c);
}

/* On the request's loop: the model work is over. */
static void model_work_done(compute_job *j)
{
    chat_ctx *c = j->arg;
    sr_metrics *m = c->gw->metrics;
    if (c->embed_texts_n > 0) {
        if (c->embed_status) log_warn("embedding failed for %s: %s", c->request_id, c->embed_error);
        else metrics_observe(m->embedding_latency, NULL, c->embed_ms / 1e3);
    }
    if (c->jailbreak_ran)
        metrics_observe(m->classifier_latency, METRICS_LABELS("jailbreak"), c->jailbreak_seconds);
    if (c->client_gone) {
        chat_cancelled(c);
        return;
    }
    chat_route(c);
    watchdog_stage(NULL, NULL); /* back to the loop (the request may continue later) */
}

/* Runs job j: on the pool, or here when there is none (it is stopping). */
static void run_job(chat_ctx *c, compute_job *j)
{
    j->work = model_work_run;
    j->done = model_work_done;
    j->arg = c;
    j->loop = http_request_base(c->req);
    if (c->gw->compute && compute_submit(c->gw->compute, j) == 0) return;
    /* no pool: the work runs here rather than not at all */
    j->embed_status = 0;
    if (j->n_texts > 0) {
        char err[256];
        j->t_start = util_now_ns();
        if (!c->wk->embed) {
            j->embed_status = -1;
            snprintf(j->embed_error, sizeof j->embed_error, "no embedding state on this worker");
        } else if (embed_batch_tokens(c->gw->embed, c->wk->embed, j->texts, j->lens, j->n_texts, j->vecs,
                                      j->n_tokens, err, sizeof err)) {
            j->embed_status = -1;
            snprintf(j->embed_error, sizeof j->embed_error, "%.200s", err);
        }
        j->t_embedded = util_now_ns();
    }
    model_work_run(j);
    model_work_done(j);
}

void chat_model_embedded(chat_ctx *c, int status, const char *err, uint64_t t0, uint64_t t1)
{
    int n = c->job.n_texts;
    take_embedding(c, n, status, err, t0, t1);
    c->job.n_texts = 0; /* embedded: the job has the work left */
    if (!c->need_pii && !c->need_classify && !c->need_jailbreak) {
        c->job.arg = c;
        model_work_done(&c->job);
        return;
    }
    run_job(c, &c->job);
}

/* The texts to embed: the query, then the context turns when the semantic tier
 * can use them. Returns the count, -1 on out of memory. */
static int plan_texts(chat_ctx *c)
{
    if (!c->need_embedding) return 0;
    int n = 1;
    if ((c->gw->cache || c->gw->backend) && c->cfg->semantic_cache.enabled && c->keys.semantic_ok &&
        c->keys.n_context > 0)
        n += c->keys.n_context;
    int dim = embed_dim(c->gw->embed);
    c->embed_texts = malloc(sizeof *c->embed_texts * (size_t)n);
    c->embed_lens = malloc(sizeof *c->embed_lens * (size_t)n);
    c->embed_tokens = calloc((size_t)n, sizeof *c->embed_tokens);
    c->vecs = malloc(sizeof(float) * (size_t)dim * (size_t)n);
    if (!c->embed_texts || !c->embed_lens || !c->embed_tokens || !c->vecs) return -1;
    c->embed_texts[0] = c->keys.query;
    c->embed_lens[0] = c->keys.query_len;
    for (int i = 1; i < n; i++) {
        c->embed_texts[i] = c->keys.context[i - 1];
        c->embed_lens[i] = c->keys.context_len[i - 1];
    }
    return n;
}

void chat_model_work(chat_ctx *c)
{
    c->stage = CHAT_STAGE_MODEL_WORK;
    watchdog_stage(c->request_id, "model_work");
    if (!c->need_embedding && !c->need_pii && !c->need_classify && !c->need_jailbreak) {
        chat_route(c);
        return;
    }
    int n = plan_texts(c);
    if (n < 0) {
        log_warn("out of memory planning the embedding of %s: routing and the cache go without it",
                 c->request_id);
        n = 0;
    }
    compute_job *j = &c->job;
    j->n_texts = n;
    j->texts = c->embed_texts;
    j->lens = c->embed_lens;
    j->vecs = c->vecs;
    j->n_tokens = c->embed_tokens;
    /* guard-only work (the model is named, the semantic tier is not used): the urgent lane */
    int semantic = (c->gw->cache || c->gw->backend) && c->cfg->semantic_cache.enabled &&
                   !(c->no_cache && c->no_store);
    j->urgent = !c->need_classify && !semantic;
    /* a remote model: its HTTP call is made on this loop, without blocking it;
     * the rest of the work then goes to the pool */
    if (n > 0 && embed_model_type(c->gw->embed) == EMBED_REMOTE && c->wk->upstream) {
        chat_remote_embed(c);
        return;
    }
    run_job(c, j);
}
