/* chat.c - POST /v1/chat/completions: the entry, the client-close rule and
 * the terminal function (stages and the context: chat.h).
 *
 * chat_handle runs the synchronous stages at once (validate, texts, exact
 * tier); from the model work on, a stage may hand the context to the compute
 * pool or a cache backend and continue from its callback on this worker's
 * loop. Whatever path a request takes, it ends in chat_finish. */
#include "pipeline/chat.h"
#include "api/auth.h"
#include "core/log.h"
#include "core/util.h"
#include "core/watchdog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *chat_stage_name(chat_stage s)
{
    static const char *names[] = {"validate", "texts",    "exact_tier",    "model_work", "route",
                                  "semantic", "single_flight", "upstream", "done"};
    return (unsigned)s < sizeof names / sizeof *names ? names[s] : "unknown";
}

/* The client disconnected before its answer was complete. */
static void on_client_close(http_request *req, void *arg)
{
    (void)req;
    chat_ctx *c = arg;
    switch (c->stage) {
    case CHAT_STAGE_MODEL_WORK:
    case CHAT_STAGE_SEMANTIC:
    case CHAT_STAGE_EXACT:
        /* a compute job or a cache lookup holds the context: its callback finishes it */
        c->client_gone = 1;
        return;
    case CHAT_STAGE_WAIT_FLIGHT:
        if (c->sf_waiter) {
            singleflight_leave(c->gw->flights, c->sf_waiter);
            c->sf_waiter = NULL;
            chat_cancelled(c);
        }
        return;
    case CHAT_STAGE_UPSTREAM:
        if (!c->up) return;
        upstream_cancel(c->up);
        c->up = NULL;
        /* a client leaving says nothing about the endpoint's health */
        balancer_end(c->gw->balancer, &c->cands[c->current], 1);
        chat_cancelled(c);
        return;
    default:
        return; /* synchronous stages: the request is answered before the loop turns */
    }
}

static void ctx_free(chat_ctx *c)
{
    if (c->limit_held) auth_limits_release(c->gw, c->tenant);
    if (c->sf_leader && c->have_keys) /* waiters must never hang: no answer to share */
        singleflight_finish(c->gw->flights, c->keys.exact, NULL, 0);
    if (c->have_keys) cache_keys_free(&c->keys);
    if (c->have_texts) chat_texts_free(&c->texts);
    free(c->embed_texts);
    free(c->embed_lens);
    free(c->embed_tokens);
    free(c->vecs);
    cJSON_Delete(c->json);
    free(c->upstream_body);
    buf_free(&c->body);
    cache_assembler_free(c->assembler);
    gateway_runtime_release(c->rt);
    free(c);
}

void chat_finish(chat_ctx *c, int status)
{
    chat_account(c, status);
    c->stage = CHAT_STAGE_DONE;
    ctx_free(c);
}

void chat_handle(http_request *req, gateway *gw, gateway_worker *wk)
{
    chat_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        http_respond_error(req, 500, "Out of memory.", NULL, "out_of_memory");
        return;
    }
    c->stage = CHAT_STAGE_VALIDATE;
    c->req = req;
    c->gw = gw;
    c->wk = wk;
    c->rt = gateway_runtime_acquire(gw);
    c->cfg = c->rt->config;
    c->jailbreak_confidence = -1;
    c->threshold = -1;
    c->min_p = -1;
    c->verifier_probability = -1;
    c->t_start = http_request_start_ns(req);
    buf_init(&c->body);
    const char *rid = http_request_header(req, "x-request-id");
    if (rid && *rid && strlen(rid) < sizeof c->request_id && util_utf8_valid(rid, strlen(rid))) {
        util_copy_str(c->request_id, sizeof c->request_id, rid);
    } else {
        memcpy(c->request_id, "req-", 4);
        util_request_id(c->request_id + 4);
    }
    http_add_header(req, "x-request-id", c->request_id);
    watchdog_stage(c->request_id, "validate");
    if (!wk || !wk->upstream) {
        chat_fail(c, 500, "The worker has no upstream client.", NULL, "no_upstream_client", "serialization_error");
        return;
    }
    if (chat_validate(c)) return;
    http_request_on_close(req, on_client_close, c);
    chat_texts_stage(c);
    chat_exact_tier(c);
}

void chat_pipeline_start(gateway *gw, const sr_config *cfg)
{
    char err[256];
    static const char *const prio[] = {"idle (SCHED_IDLE)", "low (nice +5)", "normal"};
    int pr = cfg->server.compute_priority == SR_COMPUTE_IDLE     ? COMPUTE_PRIO_IDLE
             : cfg->server.compute_priority == SR_COMPUTE_NORMAL ? COMPUTE_PRIO_NORMAL
                                                                 : COMPUTE_PRIO_LOW;
    gw->compute = compute_pool_new_prio(gw->embed, cfg->server.compute_threads, cfg->server.compute_batch, pr,
                                        err, sizeof err);
    if (gw->compute)
        log_info("compute pool: %d threads for model work at %s priority, up to %d texts per embedding pass",
                 compute_pool_threads(gw->compute), prio[pr], cfg->server.compute_batch);
    else
        log_error("compute pool not started (%s): model work runs on the event loops", err);
}

void chat_pipeline_stop(gateway *gw)
{
    compute_pool_free(gw->compute);
    gw->compute = NULL;
}
