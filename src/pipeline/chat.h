/* chat.h - POST /v1/chat/completions as a staged pipeline over one request
 * context (internal to src/pipeline; the entry point is chat_handle in
 * api/gateway.h).
 *
 * Stages, in order (file per stage):
 *
 *   validate     validate.c    body, JSON, model, messages, stream, auth -> tenant
 *   texts        texts.c       cache keys + every text the guards read, extracted
 *                              once; decides which model work the request needs
 *   exact tier   cache.c       a repeated request is answered here (no model work;
 *                              memory cache, Milvus answers it in the semantic lookup)
 *   model work   model_work.c  on the compute pool (compute.h): embeddings of the
 *                              last user turn and its context, PII detection,
 *                              category classification (once), prompt guard
 *   route        route.c       jailbreak verdict, model choice (route_choose),
 *                              PII policy (block or redact + choose again), rewrite,
 *                              tool selection, the upstream body
 *   semantic     cache.c       lookup through the asynchronous backend
 *                              (cache/backend.h), hit decision, single-flight
 *   upstream     proxy.c       endpoint choice, failover, whole or streamed answer
 *   store        cache.c       a clean 2xx answer is stored and shared with waiters
 *   account      finish.c      metrics, decision log; chat_finish ends every request
 *
 * The route comes before the semantic lookup because the category decides
 * whether the cache applies and with which threshold, and a request the
 * policy blocks must never be answered, not even from the cache.
 *
 * A stage either passes the request on (calls the next stage, perhaps later
 * from a callback) or answers it (respond.c) and calls chat_finish; nothing
 * else frees a request. */
#ifndef SEMROUTER_PIPELINE_CHAT_H
#define SEMROUTER_PIPELINE_CHAT_H
#include "api/gateway.h"
#include "api/texts.h"
#include "cache/assemble.h"
#include "cache/backend.h"
#include "cache/keys.h"
#include "pipeline/compute.h"
#include "core/buf.h"
#include "core/json_scan.h"
#include "route/decide.h"
#include <cjson/cJSON.h>

#define CHAT_MAX_CANDIDATES 64
#define CHAT_MAX_PII_TYPES 16

typedef enum {
    CHAT_STAGE_VALIDATE = 0,
    CHAT_STAGE_TEXTS,
    CHAT_STAGE_EXACT,
    CHAT_STAGE_MODEL_WORK, /* a compute job holds the context */
    CHAT_STAGE_ROUTE,
    CHAT_STAGE_SEMANTIC,   /* a cache lookup may hold the context */
    CHAT_STAGE_WAIT_FLIGHT, /* waiting for an identical request's answer */
    CHAT_STAGE_UPSTREAM,
    CHAT_STAGE_DONE,
} chat_stage;
const char *chat_stage_name(chat_stage s);

/* The request context.
 *
 * Ownership and lifetime:
 *   - One context per request, calloc'd by chat_handle, freed only by
 *     chat_finish (after the answer was given). Everything it owns is freed
 *     there: json, upstream_body, keys, texts, query_vec/context_vecs, body,
 *     assembler, the runtime reference (rt, which keeps cfg alive), and an
 *     unfinished single-flight lead (waiters are woken with no answer).
 *   - Borrowed, never freed here: req (the server's, valid until answered),
 *     gw, wk, tenant (a string of cfg), model (of cfg), route's strings (cfg).
 *   - While a compute job runs (stage MODEL_WORK) the compute thread owns the
 *     context: the loop does not touch it, and a client that leaves only sets
 *     client_gone; the job's done callback (on the loop) then finishes it.
 *     The same holds for an asynchronous cache lookup (stage SEMANTIC with the
 *     Milvus backend; the memory backend answers inside the call, and the
 *     exact tier is a synchronous memory lookup).
 *   - Fields written by the compute thread (vecs, query_vec, context_vecs,
 *     over_window, embed_ms, n_pii, pii_types, signal, jailbreak*) are read on
 *     the loop only after the job's done callback ran (the pool's queue lock
 *     orders the writes before it).
 *   - up is the running upstream transfer (NULL when none); sf_waiter is set
 *     while waiting for an identical request; at most one of them is set.
 *   - Strings handed to the upstream client and to the cache backend are
 *     copied by them; nothing here must outlive the context. */
typedef struct chat_ctx {
    chat_stage stage;
    http_request *req;
    gateway *gw;
    gateway_worker *wk;
    gateway_runtime *rt; /* reference held until chat_finish */
    sr_config *cfg;      /* rt->config */
    char request_id[80];
    uint64_t t_start, t_first_byte;
    uint64_t t_attempt, t_attempt_first; /* this upstream attempt: start, first byte (adaptation) */
    int client_gone; /* the client left while a job or lookup held the context */

    /* validate */
    cJSON *json;
    char requested_model[256];
    int is_auto;
    int stream;
    const char *tenant;
    int limit_held; /* admitted by the tenant's limits (api/auth.h): released by ctx_free */
    int no_cache, no_store;

    /* texts */
    cache_keys keys; /* valid when have_keys */
    int have_keys;
    chat_texts texts; /* what the guards scan; valid when have_texts */
    int have_texts;
    int need_embedding, need_pii, need_classify, need_jailbreak; /* the model work to do */

    /* model work (written by the compute thread, read on the loop after done) */
    compute_job job;
    const char **embed_texts; /* query then context turns (pointers into keys) */
    size_t *embed_lens;
    int *embed_tokens;
    float *vecs;         /* embed rows: [0] the query, [1..] the context turns */
    float *query_vec;    /* = vecs when the query was embedded, else NULL */
    float *context_vecs; /* = vecs + dim when the context was embedded, else NULL */
    int over_window;     /* the query or a context turn is longer than the model window */
    double embed_ms;
    int embed_texts_n;   /* texts the embedding was asked for (0 = none) */
    int embed_status;    /* 0 ok, -1 failed (embed_error says why) */
    char embed_error[224];
    struct chat_ctx *remote_next; /* in this worker's remote embedding queue (remote_embed.c) */
    int n_pii;
    const char *pii_types[CHAT_MAX_PII_TYPES];
    char pii_types_joined[256]; /* "EMAIL_ADDRESS,CREDIT_CARD" for headers and messages */
    route_signal signal;        /* the category signal (classified once) */
    int jailbreak_ran;
    jailbreak_result jailbreak;
    double jailbreak_seconds;
    float jailbreak_confidence; /* < 0 when the guard did not run (decision log) */
    const char *jailbreak_type; /* the blocking signal's name when the prompt guard blocked */

    /* route */
    route_decision route;
    int routed; /* a routing engine decided (route headers, reasoning, prompts) */
    const sr_model *model;
    int pii_redacted;
    char *upstream_body; /* NULL = forward the client's bytes unchanged */
    size_t upstream_len;

    /* cache */
    int cacheable; /* the cache applies (enabled, keys computed, category allows) */
    float threshold; /* semantic threshold for this request (< 0 = the cache's) */
    float min_p;     /* the verifier's floor for this request (< 0 = semantic_cache.verifier's) */
    const char *cache_state; /* "hit", "miss", "skip", "off", "coalesced" */
    float cache_similarity;
    int cache_tier;            /* cache_tier of a hit (exact or semantic), 0 otherwise */
    float verifier_probability; /* the hit verifier's (served or best rejected), -1 = not run */
    const char *cache_decision; /* cache_select_outcome_name of the semantic lookup */
    const char *response_path; /* "upstream", "cache", "blocked" */
    int sf_leader;             /* this request must finish its single-flight entry */
    sf_waiter *sf_waiter;      /* set while waiting for an identical request's answer */

    /* upstream */
    balancer_candidate cands[CHAT_MAX_CANDIDATES];
    int n_cands;
    unsigned char tried[CHAT_MAX_CANDIDATES];
    int current; /* index into cands of the running attempt */
    int attempts;
    char last_error[256];
    int last_timed_out;
    int last_connect_failed; /* the last failure reached no server (refused, DNS, connect) */
    int last_status;         /* HTTP status of the last failed attempt, 0 = none */
    int last_malformed;      /* the last failed attempt answered 2xx with a body that is not JSON */
    long retry_after_ms;     /* shortest Retry-After an endpoint gave (-1 = none; set at the first attempt) */
    int too_large;           /* the answer (or stream) passed server.max_upstream_body_bytes */
    size_t stream_bytes;     /* stream: upstream bytes received (<= max_upstream_body_bytes) */
    upstream_call *up;
    int upstream_status;
    char content_type[128];
    int retry_this; /* the running attempt failed before anything was sent */
    int stream_started;
    int paused;
    buf body;                   /* non-stream: the upstream body */
    cache_assembler *assembler; /* stream: rebuilds the completion (usage, clean end) */

    /* account */
    long prompt_tokens, completion_tokens;
    const char *error_reason; /* llm_request_errors_total reason, NULL when none */
} chat_ctx;

/* stages (each returns nothing: it passes the request on or finishes it) */
int chat_validate(chat_ctx *c);   /* 0 = valid; else answered and finished */
void chat_texts_stage(chat_ctx *c);
void chat_exact_tier(chat_ctx *c);  /* -> answered, or chat_model_work */
void chat_model_work(chat_ctx *c);  /* -> (compute pool) -> chat_route */
/* A remote embedding (remote_embed.c): c's texts (c->job) go in one POST made
 * on this worker's loop with the non-blocking upstream client, batched with
 * the texts of other requests that queued meanwhile; then
 * chat_model_embedded (model_work.c) continues with the vectors. */
void chat_remote_embed(chat_ctx *c);
void chat_model_embedded(chat_ctx *c, int status, const char *err, uint64_t t0, uint64_t t1);
void chat_route(chat_ctx *c);       /* -> chat_semantic, or answered */
/* What routing needs of this request (route.c), for route_classify in the model
 * work and route_choose in the route stage: the last user turn and its vector,
 * the requested model, the PII types found so far, the health and breach
 * callbacks (route_classify reads only the text, vector and model; the
 * callbacks run only in route_choose, on the request's loop). */
route_input chat_route_input(chat_ctx *c);
void chat_semantic(chat_ctx *c);    /* -> answered, waiting, or chat_upstream */
void chat_upstream(chat_ctx *c);    /* endpoint attempts until answered */
/* Stores a clean answer and hands it to identical requests that waited. */
void chat_store(chat_ctx *c, const char *completion, size_t len);

/* answers (respond.c); each ends with chat_finish */
void chat_fail(chat_ctx *c, int status, const char *message, const char *param, const char *code,
               const char *reason);
void chat_respond_cached(chat_ctx *c, const char *body, size_t len, float similarity, int coalesced);
void chat_respond_blocked(chat_ctx *c, int kind, int status, const char *message, const char *model,
                          const char *reason);
void chat_cancelled(chat_ctx *c); /* the client left: 499, nothing more to send */
void chat_add_route_headers(chat_ctx *c);
void chat_usage_from_json(chat_ctx *c, const cJSON *completion);
/* The same from a one-pass scan of the answer (core/json_scan.h). */
void chat_usage_from_scan(chat_ctx *c, const json_usage *u);

/* Real-time adaptation (adapt.c): an upstream attempt of c->model at endpoint
 * starts / ends (ok: answered, a 4xx included), and route_input's model_breach. */
void chat_adapt_begin(chat_ctx *c, const char *endpoint);
void chat_adapt_end(chat_ctx *c, const char *endpoint, int ok);
int chat_adapt_breach(void *ctx, const char *model);

/* The terminal function: metrics, the decision log line, and the context
 * freed. Called exactly once per request, after its answer was given. */
void chat_finish(chat_ctx *c, int status);
/* The accounting half of chat_finish (finish.c): metrics and the log line. */
void chat_account(chat_ctx *c, int status);

/* What the cache backend is asked with (keys, tenant by scope, vectors). */
cache_request chat_cache_request(const chat_ctx *c);
#endif
