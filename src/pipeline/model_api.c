/* model_api.c - the router's own model-work endpoints on the compute pool (see api/model_api.h:
 * declared in api, which may not include the pipeline, and defined here, as chat_handle is). */
#include "api/model_api.h"
#include "api/auth.h"
#include "api/classify.h"
#include "api/classify_guard.h"
#include "api/embeddings.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/openai_error.h"
#include "pipeline/compute.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct model_api_job {
    compute_job job; /* first: the job's arg is this struct */
    http_request *req;
    gateway *gw;
    gateway_runtime *rt; /* taken on the loop, released on the loop */
    model_api_kind kind;
    char *body;
    size_t len;
    embed_state *state; /* for the security check's embedding callback: the thread's */
    buf out;
    int status;
    int held;
    char tenant[256];
    char counted_path[64];
} model_api_job;

static int embed_for_security(void *ctx, const char *text, size_t len, float *vec)
{
    model_api_job *a = ctx;
    char err[256];
    return embed_text(a->gw->embed, a->state, text, len, vec, NULL, err, sizeof err);
}

/* The handler itself: on a compute thread (or the loop without a pool). */
static void run_handler(model_api_job *a, embed_state *state)
{
    gateway *gw = a->gw;
    gateway_runtime *rt = a->rt;
    a->state = state;
    int needs_state = a->kind != MODEL_API_PII && a->kind != MODEL_API_SECURITY;
    if (needs_state && !state) {
        api_error_json(&a->out, "No embedding state on the compute thread (out of memory at start?).",
                       "server_error", NULL, "embedding_failed");
        a->status = 500;
        return;
    }
    classify_api_ctx ctx = {rt->route, gw->embed, state};
    classify_guard_ctx guard = {rt->jailbreak, (float)rt->config->prompt_guard.threshold};
    switch (a->kind) {
    case MODEL_API_EMBEDDINGS:
        a->status = embeddings_api_handle(gw->embed, state, a->body, a->len, &a->out);
        break;
    case MODEL_API_SIMILARITY:
        a->status = similarity_api_handle(gw->embed, state, a->body, a->len, &a->out);
        break;
    case MODEL_API_INTENT:
        a->status = classify_api_intent(&ctx, a->body, a->len, &a->out);
        break;
    case MODEL_API_BATCH:
        a->status = classify_api_batch_guarded(&ctx, &guard, a->body, a->len, &a->out);
        break;
    case MODEL_API_COMBINED:
        a->status = classify_api_combined(&ctx, &guard, a->body, a->len, &a->out);
        break;
    case MODEL_API_PII:
        a->status = classify_pii_api_handle(a->body, a->len, &a->out);
        break;
    case MODEL_API_SECURITY: {
        jailbreak_detector *fallback = NULL;
        const jailbreak_detector *d = rt->jailbreak;
        char err[256];
        if (!d) d = fallback = jailbreak_load(NULL, NULL, err, sizeof err); /* patterns only */
        int have_embed = gw->embed && state && d && jailbreak_dim(d) > 0;
        if (d) {
            a->status = classify_security_api_handle(a->body, a->len, d, have_embed ? embed_for_security : NULL, a,
                                                     (float)rt->config->prompt_guard.threshold, &a->out);
        } else {
            api_error_json(&a->out, "The jailbreak detector could not be created.", "server_error", NULL,
                           "guard_not_available");
            a->status = 500;
        }
        jailbreak_free(fallback);
        break;
    }
    }
    a->state = NULL;
}

static void job_work(compute_job *j)
{
    model_api_job *a = j->arg;
    run_handler(a, j->state);
}

/* On the request's loop: answer, give back what the request held, count it. */
static void job_done(compute_job *j)
{
    model_api_job *a = j->arg;
    int st = a->status;
    if (a->out.oom) {
        http_respond_error(a->req, 500, "Out of memory while writing the response.", NULL, "out_of_memory");
        st = 500;
    } else {
        http_respond(a->req, st, "application/json", a->out.data, a->out.len);
    }
    gateway_runtime_release(a->rt);
    if (a->held) auth_limits_release(a->gw, a->tenant);
    char s[8];
    snprintf(s, sizeof s, "%d", st);
    metrics_inc(a->gw->metrics->http_requests, METRICS_LABELS(a->counted_path, s));
    buf_free(&a->out);
    free(a->body);
    free(a);
}

int model_api_start(http_request *req, gateway *gw, gateway_worker *wk, model_api_kind kind, const char *tenant,
                    int held, const char *counted_path)
{
    int embeds = kind == MODEL_API_EMBEDDINGS || kind == MODEL_API_SIMILARITY;
    int classifies = kind == MODEL_API_INTENT || kind == MODEL_API_BATCH || kind == MODEL_API_COMBINED;
    /* without a pool the handler runs here, with this worker's state */
    embed_state *local = wk ? wk->embed : NULL;
    if (embeds && (!gw->embed || (!gw->compute && !local))) {
        http_respond_error(req, 503, "No embedding model is loaded (see the router's log).", NULL,
                           "model_not_loaded");
        return 503;
    }
    gateway_runtime *rt = gateway_runtime_acquire(gw);
    if (classifies && (!rt->route || !gw->embed || (!gw->compute && !local))) {
        gateway_runtime_release(rt);
        http_respond_error(req, 503,
                           "No category classifier is loaded (no categories configured, or no embedding "
                           "model; see the router's log).",
                           NULL, "model_not_loaded");
        return 503;
    }
    size_t len;
    const char *body = http_request_body(req, &len);
    model_api_job *a = calloc(1, sizeof *a);
    char *copy = a ? malloc(len + 1) : NULL;
    if (!a || !copy) {
        free(a);
        gateway_runtime_release(rt);
        http_respond_error(req, 500, "Out of memory.", NULL, "out_of_memory");
        return 500;
    }
    if (len) memcpy(copy, body, len);
    copy[len] = 0;
    a->req = req;
    a->gw = gw;
    a->rt = rt;
    a->kind = kind;
    a->body = copy;
    a->len = len;
    a->held = held;
    if (held) snprintf(a->tenant, sizeof a->tenant, "%s", tenant);
    snprintf(a->counted_path, sizeof a->counted_path, "%s", counted_path);
    buf_init(&a->out);
    compute_job *j = &a->job;
    j->n_texts = 0; /* the handler embeds by itself, with the thread's state */
    j->work = job_work;
    j->done = job_done;
    j->arg = a;
    j->loop = http_request_base(req);
    if (gw->compute && compute_submit(gw->compute, j) == 0) return 0;
    /* no pool (it could not start, or it is stopping): here rather than not at all */
    if (!local && kind != MODEL_API_PII && kind != MODEL_API_SECURITY)
        log_warn("model api: no compute pool and no embedding state on this worker");
    run_handler(a, local);
    job_done(j);
    return 0;
}
