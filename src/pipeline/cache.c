/* cache.c - the cache stages: exact tier (stage 3), semantic lookup and
 * single-flight (stage 6), store (stage 8), all through the asynchronous
 * backend (cache/backend.h) on this worker's loop.
 *
 *   exact tier: before any model work, the exact key alone (the memory cache;
 *     the Milvus lookup answers the exact tier within the semantic lookup). A
 *     repeated request is answered without embedding, routing or guards: all
 *     of them ran when its answer was stored.
 *   semantic: after the route (the category may turn the cache off or set its
 *     threshold), the query vector within the request's partition; the backend
 *     returns candidates and cache_select (cache/select.h, the same decision
 *     for every backend) picks the one that answers. A miss joins the single-flight
 *     table: the first request of a key goes upstream, identical ones wait for
 *     its answer.
 *   store: a clean 2xx answer, unless the client said no-store; the leader's
 *     waiters get it first.
 *
 * A backend may call back before its call returns (memory) or later (Milvus):
 * after starting a lookup nothing here touches the context, and the callback
 * checks client_gone. A failing backend is a miss, never a failed request. */
#include "pipeline/chat.h"
#include "cache/select.h"
#include "core/log.h"
#include "core/util.h"
#include "core/watchdog.h"

#include <stdlib.h>
#include <string.h>

/* The backend the request path asks: Milvus (gw->backend) or the memory
 * cache behind backend.h. */
static cache_backend *backend_of(const chat_ctx *c)
{
    return c->gw->backend ? c->gw->backend : c->gw->memory_backend;
}

/* The memory cache's lookups and stores are counted and timed here; the Milvus
 * backend counts its own errors, stores and durations (milvus.c). */
static int counted_here(const chat_ctx *c)
{
    return c->gw->backend == NULL;
}

cache_request chat_cache_request(const chat_ctx *c)
{
    cache_request r = {0};
    r.tenant = c->cfg->semantic_cache.scope == SR_CACHE_SCOPE_GLOBAL ? "" : c->tenant;
    r.exact_key = c->keys.exact;
    r.partition_key = c->keys.partition;
    /* the semantic tier needs a text-only turn inside the window, and its context */
    int usable = c->query_vec && !c->over_window && c->keys.semantic_ok &&
                 (c->keys.n_context == 0 || c->context_vecs);
    r.query_vec = usable ? c->query_vec : NULL;
    r.n_context = c->keys.n_context;
    r.context_vecs = c->context_vecs;
    r.context_texts = (const char *const *)c->keys.context;
    r.context_lens = c->keys.context_len;
    r.context_roles = c->keys.context_role;
    return r;
}

/* What cache_select (select.h) needs for this request: its texts, vectors and
 * conversation, the floors (the category's, else the config's, so a reload
 * applies at once) and the hit verifier when it is on. */
static void select_input_of(const chat_ctx *c, cache_select_input *in)
{
    const sr_semantic_cache_config *sc = &c->cfg->semantic_cache;
    const sr_cache_verifier_config *vc = &sc->verifier;
    cache_request r = chat_cache_request(c);
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
    in->threshold = c->threshold >= 0 ? c->threshold : (float)sc->similarity_threshold;
    in->context_threshold = (float)sc->context_similarity_threshold;
    in->verifier = vc->enabled ? c->gw->verifier : NULL;
    in->min_probability = c->min_p >= 0 ? c->min_p : (float)vc->min_probability;
    in->context_min_probability = (float)vc->context_min_probability;
    if (in->verifier) { /* the follow-up floors lean on the verifier */
        in->follow_up_threshold = (float)vc->follow_up_similarity_threshold;
        in->follow_up_min_probability = (float)vc->follow_up_min_probability;
        in->follow_up_verifier = c->gw->follow_up_verifier;
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

/* The hit decision (cache_select, the same for every backend) over a lookup's
 * candidates; notes the verifier's probability and the outcome for the
 * headers and the log. Returns the index of the candidate that answers, or -1. */
static int chat_cache_decide(chat_ctx *c, const cache_candidates *cs)
{
    if (!cs || cs->n == 0) return -1;
    cache_select_input in;
    select_input_of(c, &in);
    cache_selection sel;
    int pick = cache_select(&in, cs, &sel);
    c->verifier_probability = sel.probability;
    c->cache_decision = cache_select_outcome_name(sel.outcome);
    if (pick < 0 && sel.similarity > 0) c->cache_similarity = sel.similarity;
    return pick;
}

/* ------------------------------------------------------------- exact tier */

/* Before any model work, the exact key alone (memory cache: in process, a hash
 * lookup). A repeated request is answered without embedding, routing or
 * guards: all of them ran when its answer was stored. The Milvus backend
 * answers the exact tier within its one semantic lookup (no second round trip). */
void chat_exact_tier(chat_ctx *c)
{
    c->stage = CHAT_STAGE_EXACT;
    gateway *gw = c->gw;
    if (!gw->cache || !c->have_keys || !c->cfg->semantic_cache.enabled || c->no_cache) {
        chat_model_work(c);
        return;
    }
    watchdog_stage(c->request_id, "exact_tier");
    cache_request r = chat_cache_request(c);
    r.query_vec = NULL; /* exact tier only */
    r.n_context = 0;
    r.context_vecs = NULL;
    cache_hit hit = {0};
    if (cache_lookup(gw->cache, &r, -1.0f, &hit) != 1) {
        chat_model_work(c);
        return;
    }
    metrics_inc(gw->metrics->cache_hits, NULL);
    metrics_inc(gw->metrics->cache_operations, METRICS_LABELS("memory", "find_similar", "hit"));
    c->cache_tier = CACHE_TIER_EXACT;
    chat_respond_cached(c, hit.body, hit.len, hit.similarity, 0);
    free(hit.body);
}

/* ----------------------------------------------------- semantic + flight */

/* Woken on this worker's loop when the identical request we waited for ended. */
static void on_flight_done(void *arg, const char *body, size_t len)
{
    chat_ctx *c = arg;
    c->sf_waiter = NULL;
    if (body) {
        metrics_inc(c->gw->metrics->cache_hits, NULL);
        chat_respond_cached(c, body, len, 1.0f, 1);
        return;
    }
    /* the leader had nothing to share: go upstream ourselves */
    c->cache_state = "miss";
    chat_upstream(c);
}

static void after_miss(chat_ctx *c)
{
    if (!c->no_store) {
        c->sf_waiter = singleflight_join(c->gw->flights, c->keys.exact, http_request_base(c->req),
                                         on_flight_done, c);
        if (c->sf_waiter) { /* an identical request is in flight */
            c->stage = CHAT_STAGE_WAIT_FLIGHT;
            return;
        }
        c->sf_leader = 1;
    }
    chat_upstream(c);
}

typedef struct lookup_timer {
    chat_ctx *c;
    uint64_t t0;
} lookup_timer;

static void on_semantic(void *arg, cache_status status, cache_candidates *cs)
{
    lookup_timer *t = arg;
    chat_ctx *c = t->c;
    sr_metrics *m = c->gw->metrics;
    cache_backend *b = backend_of(c);
    int pick = status == CACHE_STATUS_OK ? chat_cache_decide(c, cs) : -1;
    if ((status == CACHE_STATUS_OK || counted_here(c)) && b->ops->result)
        b->ops->result(b, pick >= 0 ? &cs->v[pick] : NULL);
    if (counted_here(c))
        metrics_observe(m->cache_operation_duration, METRICS_LABELS(b->ops->name, "find_similar"),
                        (double)(util_now_ns() - t->t0) / 1e9);
    free(t);
    if (status == CACHE_STATUS_OK || counted_here(c))
        metrics_inc(m->cache_operations,
                    METRICS_LABELS(b->ops->name, "find_similar",
                                   pick >= 0 ? "hit" : status == CACHE_STATUS_OK ? "miss" : "error"));
    if (c->client_gone) {
        chat_cancelled(c);
        return;
    }
    if (pick >= 0) {
        metrics_inc(m->cache_hits, NULL);
        c->cache_tier = cs->v[pick].tier;
        chat_respond_cached(c, cs->v[pick].body, cs->v[pick].len, cs->v[pick].similarity, 0);
        return;
    }
    metrics_inc(m->cache_misses, NULL);
    /* a memory cache that failed is a miss; a remote backend that failed says so */
    c->cache_state = status == CACHE_STATUS_OK || counted_here(c) ? "miss" : "error";
    after_miss(c);
}

void chat_semantic(chat_ctx *c)
{
    c->stage = CHAT_STAGE_SEMANTIC;
    if (!c->cacheable) {
        chat_upstream(c);
        return;
    }
    if (c->no_cache) {
        c->cache_state = "skip";
        after_miss(c);
        return;
    }
    watchdog_stage(c->request_id, "semantic");
    cache_backend *b = backend_of(c);
    cache_request r = chat_cache_request(c);
    cache_select_input in;
    select_input_of(c, &in);
    lookup_timer *t = malloc(sizeof *t);
    if (!t) { /* no memory to time it: a miss, the request still goes upstream */
        metrics_inc(c->gw->metrics->cache_misses, NULL);
        c->cache_state = "miss";
        after_miss(c);
        return;
    }
    t->c = c;
    t->t0 = util_now_ns();
    b->ops->lookup(b, http_request_base(c->req), &r, in.max_verify, search_floor(&in), on_semantic, t);
    /* c may be gone here (a synchronous backend answered inside the call) */
}

/* ------------------------------------------------------------------ store */

typedef struct store_note {
    gateway *gw; /* outlives every request */
    uint64_t t0;
} store_note;

/* The memory cache's store outcome (the Milvus backend counts its own). */
static void on_stored(void *arg, cache_status status)
{
    store_note *n = arg;
    metrics_observe(n->gw->metrics->cache_operation_duration, METRICS_LABELS("memory", "add_entry"),
                    (double)(util_now_ns() - n->t0) / 1e9);
    metrics_inc(n->gw->metrics->cache_operations,
                METRICS_LABELS("memory", "add_entry", status == CACHE_STATUS_OK ? "success" : "error"));
}

void chat_store(chat_ctx *c, const char *completion, size_t len)
{
    if (c->sf_leader) {
        singleflight_finish(c->gw->flights, c->keys.exact, completion, len);
        c->sf_leader = 0;
    }
    if (!c->cacheable || c->no_store) return;
    cache_backend *b = backend_of(c);
    cache_request r = chat_cache_request(c);
    if (!counted_here(c)) { /* asynchronous; the backend counts and logs its outcome */
        b->ops->store(b, http_request_base(c->req), &r, c->keys.query, completion, len, NULL, NULL);
        return;
    }
    store_note n = {c->gw, util_now_ns()}; /* the memory backend calls back before it returns */
    b->ops->store(b, http_request_base(c->req), &r, c->keys.query, completion, len, on_stored, &n);
}
