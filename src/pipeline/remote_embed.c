/* remote_embed.c - a remote embedding model (embedding_model type remote) called
 * from the worker's loop with the non-blocking upstream client
 * (http/upstream.h), so no thread waits for the HTTP call: not the worker (its
 * other connections keep being served) and not a compute thread (local model
 * work keeps its cores).
 *
 * Micro-batching, per worker: one call is in flight at a time; the texts of
 * requests that arrive meanwhile queue, and the next call carries all of them
 * (up to server.compute_batch texts) in one POST, like the compute pool's
 * passes for a local model.
 *
 * Ownership: a queued or in-flight context is held here (stage MODEL_WORK); a
 * client that leaves only sets client_gone, and chat_model_embedded continues
 * (and cancels) once its call ended. The per-worker state lives in
 * wk->pipeline, is made on first use on the loop and touched only there. */
#include "pipeline/chat.h"
#include "core/log.h"
#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REMOTE_MAX_BODY (64u << 20)

typedef struct remote_embedder {
    gateway_worker *wk;
    upstream_call *call;     /* the call in flight, NULL = none */
    chat_ctx *sent, *sent_tail; /* the contexts whose texts it carries */
    chat_ctx *queue, *queue_tail; /* waiting for the next call */
    int sent_texts;
    long status;
    const char *url; /* of the call in flight (the model's string) */
    int timeout_ms;
    buf body, resp;
    uint64_t t0;
    /* the texts of the call in flight, in order (pointers into the contexts) */
    const char **texts;
    size_t *lens;
    int cap;
} remote_embedder;

static void send_next(remote_embedder *r);

static remote_embedder *embedder_of(gateway_worker *wk)
{
    if (!wk->pipeline) {
        remote_embedder *r = calloc(1, sizeof *r);
        if (!r) return NULL;
        r->wk = wk;
        buf_init(&r->body);
        buf_init(&r->resp);
        wk->pipeline = r;
    }
    return wk->pipeline;
}

/* Every context of the finished call gets its rows (or the failure). */
static void deliver(remote_embedder *r, int ok, const char *err)
{
    chat_ctx *list = r->sent;
    int n = r->sent_texts;
    r->sent = r->sent_tail = NULL;
    r->sent_texts = 0;
    r->call = NULL;
    uint64_t t1 = util_now_ns();
    char why[256];
    float *all = NULL;
    int dim = embed_dim(list->gw->embed);
    if (ok) {
        all = malloc(sizeof(float) * (size_t)dim * (size_t)n);
        if (!all) ok = 0, err = "out of memory";
        else if (embed_remote_answer(list->gw->embed, r->status, r->resp.data, r->resp.len, n, all, why, sizeof why)) {
            ok = 0;
            err = why;
        }
    }
    int row = 0;
    /* each context continues (and may finish) here; none of them touches r */
    while (list) {
        chat_ctx *c = list;
        list = c->remote_next;
        c->remote_next = NULL;
        int k = c->job.n_texts;
        if (ok) memcpy(c->vecs, all + (size_t)row * dim, sizeof(float) * (size_t)dim * (size_t)k);
        row += k;
        chat_model_embedded(c, ok ? 0 : -1, err, r->t0, t1);
    }
    free(all);
}

static int on_head(void *arg, int status, const char *content_type)
{
    (void)content_type;
    remote_embedder *r = arg;
    r->status = status;
    return 0;
}

static int on_data(void *arg, const char *data, size_t len)
{
    remote_embedder *r = arg;
    if (r->resp.len + len > REMOTE_MAX_BODY) return 1; /* refuse absurd answers */
    buf_append(&r->resp, data, len);
    return r->resp.oom;
}

static void on_done(void *arg, int ok, int status, int timed_out, int connect_failed, const char *err)
{
    (void)connect_failed;
    remote_embedder *r = arg;
    if (status) r->status = status;
    char why[320];
    if (!ok && timed_out)
        snprintf(why, sizeof why, "remote embeddings request to %.200s timed out after %d ms", r->url, r->timeout_ms);
    else if (!ok)
        snprintf(why, sizeof why, "remote embeddings request to %.200s failed: %.80s", r->url,
                 err ? err : "transfer failed");
    /* deliver hands the contexts on; the queue that built up meanwhile goes next */
    deliver(r, ok, ok ? NULL : why);
    send_next(r);
}

/* Sends the queued texts (up to server.compute_batch) in one POST. */
static void send_next(remote_embedder *r)
{
    if (r->call || !r->queue) return;
    chat_ctx *first = r->queue;
    int max = first->cfg->server.compute_batch > 0 ? first->cfg->server.compute_batch : 32;
    /* take contexts while their texts fit (the first always goes) */
    int n = 0;
    while (r->queue && (n == 0 || n + r->queue->job.n_texts <= max)) {
        chat_ctx *c = r->queue;
        r->queue = c->remote_next;
        if (!r->queue) r->queue_tail = NULL;
        c->remote_next = NULL;
        if (r->sent_tail) r->sent_tail->remote_next = c;
        else r->sent = c;
        r->sent_tail = c;
        n += c->job.n_texts;
    }
    r->sent_texts = n;
    if (n > r->cap) {
        const char **t = realloc(r->texts, sizeof *t * (size_t)n);
        if (t) r->texts = t;
        size_t *l = t ? realloc(r->lens, sizeof *l * (size_t)n) : NULL;
        if (l) r->lens = l;
        if (!t || !l) {
            deliver(r, 0, "out of memory");
            send_next(r);
            return;
        }
        r->cap = n;
    }
    int at = 0;
    for (chat_ctx *c = r->sent; c; c = c->remote_next)
        for (int i = 0; i < c->job.n_texts; i++, at++) {
            r->texts[at] = c->job.texts[i];
            r->lens[at] = c->job.lens[i];
        }
    buf_reset(&r->body);
    buf_reset(&r->resp);
    r->status = 0;
    embed_remote_target t;
    if (embed_remote_call(first->gw->embed, r->texts, r->lens, n, &t, &r->body)) {
        deliver(r, 0, "out of memory writing the remote embeddings request");
        send_next(r);
        return;
    }
    const char *headers[4];
    int nh = 0;
    headers[nh++] = "Content-Type: application/json";
    if (t.auth_header) headers[nh++] = t.auth_header;
    headers[nh] = NULL;
    upstream_request ur = {
        .url = t.url,
        .body = r->body.data,
        .body_len = r->body.len,
        .headers = headers,
        .connect_timeout_ms = t.timeout_ms,
        .total_timeout_ms = t.timeout_ms,
        .keepalive_idle_s = first->cfg->server.upstream_keepalive_idle_seconds,
        .keepalive_lifetime_s = first->cfg->server.upstream_keepalive_lifetime_seconds,
    };
    static const upstream_callbacks cbs = {on_head, on_data, on_done};
    r->url = t.url;
    r->timeout_ms = t.timeout_ms;
    r->t0 = util_now_ns();
    r->call = upstream_start(r->wk->upstream, &ur, &cbs, r);
    if (!r->call) {
        deliver(r, 0, "could not start the remote embeddings request");
        send_next(r);
    }
}

void chat_remote_embed(chat_ctx *c)
{
    remote_embedder *r = embedder_of(c->wk);
    if (!r) {
        chat_model_embedded(c, -1, "out of memory", 0, 0);
        return;
    }
    c->remote_next = NULL;
    if (r->queue_tail) r->queue_tail->remote_next = c;
    else r->queue = c;
    r->queue_tail = c;
    send_next(r);
}

void chat_pipeline_worker_free(gateway_worker *wk)
{
    remote_embedder *r = wk->pipeline;
    if (!r) return;
    /* the loop has stopped: contexts still here are not answered any more */
    if (r->call) upstream_cancel(r->call);
    buf_free(&r->body);
    buf_free(&r->resp);
    free(r->texts);
    free(r->lens);
    free(r);
    wk->pipeline = NULL;
}
