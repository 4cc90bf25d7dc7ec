/* hybrid.c - local search, answers in Milvus (see hybrid.h). */
#include "cache/hybrid.h"
#include "cache/milvus_proto.h"
#include "core/codec.h"
#include "core/log.h"
#include "core/util.h"
#include "metrics/sr_metrics.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct hybrid_backend {
    cache_backend base;
    cache_backend *mv;
    cache_options lo; /* of every local index (the first and each resync's) */
    pthread_rwlock_t swap; /* guards local for the workers; only the sync thread replaces it */
    cache *local;
    sr_metrics *m;
    int dim;
    int interval_ms, overlap_s, resync_s;
    const char *vector_field;

    atomic_llong newest; /* created_at every row up to (minus the overlap) has been read */
    atomic_int need_rebuild;
    atomic_llong rebuilt, synced, removed;
    time_t last_rebuild;

    int have_thread;
    pthread_t thread;
    pthread_mutex_t stop_lock;
    pthread_cond_t stop_cond;
    int stop;
} hybrid_backend;

/* Local entries take the row's created_at as their insertion time, so their TTL
 * ends when the Milvus row's does: the local cache's clock says the row's time
 * while the sync thread (or a store) inserts, the wall clock otherwise. */
static _Thread_local int64_t clock_override;
static int64_t local_clock(void *ctx)
{
    (void)ctx;
    return clock_override ? clock_override : util_unix_time();
}

static void count(hybrid_backend *h, const char *op, const char *status)
{
    if (h->m) metrics_inc(h->m->cache_operations, METRICS_LABELS("hybrid", op, status));
}

/* ------------------------------------------------------------------ rows -> local */

typedef struct insert_ctx {
    hybrid_backend *h;
    cache *into;
    int dedup;       /* skip rows held already with the same created_at */
    int64_t max_created;
    long long bad;
} insert_ctx;

/* One scanned row into the local index. 0 inserted, 1 held already, -1 unusable. */
static int insert_row(void *arg, const cJSON *row)
{
    insert_ctx *x = arg;
    hybrid_backend *h = x->h;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(row, "id");
    const cJSON *part = cJSON_GetObjectItemCaseSensitive(row, "partition_hash");
    const cJSON *tenant = cJSON_GetObjectItemCaseSensitive(row, "tenant");
    const cJSON *query = cJSON_GetObjectItemCaseSensitive(row, "query_text");
    const cJSON *ctx = cJSON_GetObjectItemCaseSensitive(row, "context");
    const cJSON *vec = cJSON_GetObjectItemCaseSensitive(row, h->vector_field);
    int64_t n_ctx = 0, semantic = 0, created = 0;
    if (!cJSON_IsString(id) || !mv_is_hex64(id->valuestring) || !cJSON_IsString(part) ||
        !mv_is_hex64(part->valuestring) || !cJSON_IsString(tenant) ||
        mv_int64(cJSON_GetObjectItemCaseSensitive(row, "n_context"), &n_ctx) || n_ctx < 0 || n_ctx > 4096 ||
        mv_int64(cJSON_GetObjectItemCaseSensitive(row, "semantic"), &semantic) ||
        mv_int64(cJSON_GetObjectItemCaseSensitive(row, "created_at"), &created)) {
        x->bad++;
        return -1;
    }
    if (created > x->max_created) x->max_created = created;
    cache_request r;
    memset(&r, 0, sizeof r);
    r.tenant = tenant->valuestring;
    r.exact_key = id->valuestring;
    r.partition_key = part->valuestring;
    if (x->dedup) {
        cache_candidates have = {0, NULL};
        int n = cache_search(x->into, &r, 0, 1.0f, &have);
        int same = n > 0 && have.v[0].inserted_at == created;
        cache_candidates_free(&have);
        if (same) return 1;
    }
    float *v = NULL, *cv = NULL;
    if (semantic) {
        if (!cJSON_IsArray(vec) || cJSON_GetArraySize(vec) != h->dim) goto bad;
        v = malloc(sizeof(float) * (size_t)h->dim);
        if (!v) goto bad;
        int i = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, vec)
        {
            if (!cJSON_IsNumber(e)) goto bad;
            v[i++] = (float)e->valuedouble;
        }
    }
    if (n_ctx > 0) {
        size_t got = 0;
        cv = cJSON_IsString(ctx) ? (float *)codec_base64_decode(ctx->valuestring, strlen(ctx->valuestring), &got) : NULL;
        if (!cv || got != sizeof(float) * (size_t)h->dim * (size_t)n_ctx) goto bad;
    }
    r.query_vec = v;
    r.n_context = (int)n_ctx;
    r.context_vecs = cv;
    /* the conversation texts and answer hash stay in Milvus: a lookup fetches them with the body */
    char err[200];
    clock_override = created;
    int rc = cache_store(x->into, &r, cJSON_IsString(query) ? query->valuestring : NULL, "", 0, err, sizeof err);
    clock_override = 0;
    free(v);
    free(cv);
    if (rc) {
        x->bad++;
        return -1;
    }
    return 0;
bad:
    free(v);
    free(cv);
    x->bad++;
    return -1;
}

static cache *local_open(hybrid_backend *h, char *err, size_t errlen)
{
    cache_options o = h->lo;
    o.persist_path = NULL;
    o.clock = local_clock;
    o.clock_ctx = NULL;
    return cache_open(&o, err, errlen);
}

/* A full read of Milvus into a fresh local index that then replaces the old one.
 * 0, or -1 (logged; the old index stays). */
static int rebuild(hybrid_backend *h, int first)
{
    char err[512] = "";
    int64_t start = util_unix_time();
    cache *fresh = local_open(h, err, sizeof err);
    if (!fresh) {
        log_error("hybrid: local index not opened: %s", err);
        return -1;
    }
    insert_ctx x = {h, fresh, 0, 0, 0};
    uint64_t t0 = util_now_ns();
    long long n = milvus_backend_scan(h->mv, 0, insert_row, &x,
                                      first ? "hybrid: rebuilding the local index from Milvus" : NULL, err,
                                      sizeof err);
    if (n < 0) {
        cache_close(fresh);
        log_warn("hybrid: %s of the local index failed (%s); retried when Milvus answers",
                 first ? "rebuild" : "resync", err);
        return -1;
    }
    pthread_rwlock_wrlock(&h->swap);
    cache *old = h->local;
    h->local = fresh;
    pthread_rwlock_unlock(&h->swap);
    cache_close(old);
    atomic_store(&h->rebuilt, n);
    h->last_rebuild = time(NULL);
    cache_stats st;
    cache_stats_get(fresh, &st);
    log_info("hybrid: local index %s from Milvus: %lld rows read, %zu entries in %.0f ms%s", first ? "built" : "resynced",
             n, st.entries, (double)(util_now_ns() - t0) / 1e6, x.bad ? " (some rows unusable, skipped)" : "");
    /* stores made into the old index while this ran are in Milvus: the next pull
     * (from start - overlap) brings them over */
    atomic_store(&h->newest, start);
    return 0;
}

/* The rows created since the newest seen (minus the overlap) into the local index. */
static int pull(hybrid_backend *h, char *err, size_t errlen)
{
    int64_t start = util_unix_time();
    int64_t from = atomic_load(&h->newest) - h->overlap_s;
    insert_ctx x = {h, h->local, 1, 0, 0};
    long long n = milvus_backend_scan(h->mv, from > 1 ? from : 1, insert_row, &x, NULL, err, errlen);
    if (n < 0) return -1;
    if (n > 0) {
        atomic_fetch_add(&h->synced, n);
        log_debug("hybrid: %lld new entries from Milvus", n);
    }
    int64_t newest = x.max_created > start ? x.max_created : start;
    if (newest > atomic_load(&h->newest)) atomic_store(&h->newest, newest);
    return 0;
}

static void *sync_thread(void *arg)
{
    hybrid_backend *h = arg;
    pthread_mutex_lock(&h->stop_lock);
    while (!h->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)(h->interval_ms % 1000) * 1000000L;
        ts.tv_sec += h->interval_ms / 1000 + ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&h->stop_cond, &h->stop_lock, &ts);
        if (h->stop) break;
        pthread_mutex_unlock(&h->stop_lock);
        if (h->mv->ops->healthy(h->mv)) {
            if (!atomic_load(&h->need_rebuild) && h->resync_s > 0 && time(NULL) - h->last_rebuild >= h->resync_s)
                atomic_store(&h->need_rebuild, 1);
            if (atomic_load(&h->need_rebuild)) {
                int first = atomic_load(&h->rebuilt) < 0;
                if (rebuild(h, first) == 0) atomic_store(&h->need_rebuild, 0);
            } else {
                char err[512];
                if (pull(h, err, sizeof err)) log_debug("hybrid: pull failed: %s", err);
            }
        }
        pthread_mutex_lock(&h->stop_lock);
    }
    pthread_mutex_unlock(&h->stop_lock);
    return NULL;
}

/* ------------------------------------------------------------------ lookup */

typedef struct fetch_ctx {
    hybrid_backend *h;
    cache_candidates cands;
    char *tenant;
    cache_lookup_done done;
    void *arg;
} fetch_ctx;

static const cJSON *row_of(const cJSON *rows, const char *id)
{
    const cJSON *row;
    cJSON_ArrayForEach(row, rows)
    {
        const cJSON *rid = cJSON_GetObjectItemCaseSensitive(row, "id");
        if (cJSON_IsString(rid) && !strcmp(rid->valuestring, id)) return row;
    }
    return NULL;
}

static void on_fetched(void *arg, cache_status status, const cJSON *rows)
{
    fetch_ctx *f = arg;
    hybrid_backend *h = f->h;
    if (status != CACHE_STATUS_OK) {
        count(h, "find_similar", "error");
        cache_candidates_free(&f->cands);
        f->done(f->arg, CACHE_STATUS_ERROR, NULL);
        free(f->tenant);
        free(f);
        return;
    }
    int64_t young = util_unix_time() - h->overlap_s;
    int kept = 0;
    for (int i = 0; i < f->cands.n; i++) {
        cache_candidate *c = &f->cands.v[i];
        const cJSON *row = row_of(rows, c->id);
        const cJSON *body = cJSON_GetObjectItemCaseSensitive(row, "response_body");
        const cJSON *conv = cJSON_GetObjectItemCaseSensitive(row, "conversation");
        const cJSON *tenant = cJSON_GetObjectItemCaseSensitive(row, "tenant");
        int64_t enc = -1;
        char *decoded = NULL;
        size_t len = 0;
        if (row && cJSON_IsString(body) && cJSON_IsString(tenant) && !strcmp(tenant->valuestring, f->tenant) &&
            !mv_int64(cJSON_GetObjectItemCaseSensitive(row, "body_encoding"), &enc))
            decoded = mv_body_decode(body->valuestring, strlen(body->valuestring), (int)enc, &len);
        if (decoded) {
            free(c->body);
            c->body = decoded;
            c->len = len;
        }
        /* the conversation as Milvus has it (what the milvus backend hands over) */
        if (!decoded || mv_get_conversation(cJSON_IsString(conv) ? conv->valuestring : "", c)) {
            if (!row && c->inserted_at < young) { /* gone from Milvus: cleared, expired, deleted */
                pthread_rwlock_rdlock(&h->swap);
                int gone = cache_delete(h->local, f->tenant, c->id);
                pthread_rwlock_unlock(&h->swap);
                if (gone > 0) atomic_fetch_add(&h->removed, 1);
            }
            mv_candidate_clear(c);
            continue;
        }
        if (kept != i) {
            f->cands.v[kept] = *c;
            memset(c, 0, sizeof *c);
        }
        kept++;
    }
    f->cands.n = kept;
    f->done(f->arg, CACHE_STATUS_OK, &f->cands);
    cache_candidates_free(&f->cands); /* what the callee did not take */
    free(f->tenant);
    free(f);
}

static void hy_lookup(cache_backend *b, struct event_base *loop, const cache_request *r, int k, float floor,
                      cache_lookup_done done, void *arg)
{
    hybrid_backend *h = (hybrid_backend *)b;
    cache_candidates cands = {0, NULL};
    cache_request lr = *r; /* the texts are compared with what Milvus holds, not kept locally */
    lr.context_texts = NULL;
    lr.context_lens = NULL;
    lr.context_roles = NULL;
    pthread_rwlock_rdlock(&h->swap);
    int n = cache_search(h->local, &lr, k, floor, &cands);
    pthread_rwlock_unlock(&h->swap);
    if (n < 0) {
        count(h, "find_similar", "error");
        done(arg, CACHE_STATUS_ERROR, NULL);
        return;
    }
    if (n == 0) { /* nothing near: a miss without a round trip */
        done(arg, CACHE_STATUS_OK, &cands);
        cache_candidates_free(&cands);
        return;
    }
    fetch_ctx *f = calloc(1, sizeof *f);
    const char **ids = calloc((size_t)n, sizeof *ids);
    if (f) f->tenant = strdup(r->tenant ? r->tenant : "");
    if (!f || !ids || !f->tenant) {
        if (f) free(f->tenant);
        free(f);
        free(ids);
        cache_candidates_free(&cands);
        count(h, "find_similar", "error");
        done(arg, CACHE_STATUS_ERROR, NULL);
        return;
    }
    for (int i = 0; i < n; i++) {
        ids[i] = cands.v[i].id;
        /* the local entries carry no body: an empty one until the fetch fills it */
        cands.v[i].len = 0;
    }
    f->h = h;
    f->cands = cands;
    f->done = done;
    f->arg = arg;
    /* the id strings are copied into the request body before the call returns */
    milvus_backend_fetch(h->mv, loop, f->tenant, ids, n, on_fetched, f);
    free(ids);
}

static void hy_result(cache_backend *b, const cache_candidate *served)
{
    hybrid_backend *h = (hybrid_backend *)b;
    pthread_rwlock_rdlock(&h->swap);
    cache_served(h->local, served ? served->id : NULL, served ? served->tier : CACHE_TIER_SEMANTIC);
    pthread_rwlock_unlock(&h->swap);
}

/* ------------------------------------------------------------------ store */

typedef struct store_ctx {
    hybrid_backend *h;
    char *tenant;
    char exact[65];
    cache_store_done done;
    void *arg;
} store_ctx;

static void on_stored(void *arg, cache_status status)
{
    store_ctx *s = arg;
    if (status != CACHE_STATUS_OK) { /* not in Milvus: not offered locally either */
        pthread_rwlock_rdlock(&s->h->swap);
        cache_delete(s->h->local, s->tenant, s->exact);
        pthread_rwlock_unlock(&s->h->swap);
    }
    if (s->done) s->done(s->arg, status);
    free(s->tenant);
    free(s);
}

static void hy_store(cache_backend *b, struct event_base *loop, const cache_request *r, const char *query_text,
                     const char *body, size_t len, cache_store_done done, void *arg)
{
    hybrid_backend *h = (hybrid_backend *)b;
    int64_t now = util_unix_time();
    store_ctx *s = NULL;
    if (h->mv->ops->healthy(h->mv) && r->exact_key && strlen(r->exact_key) == 64 &&
        (s = calloc(1, sizeof *s)) && (s->tenant = strdup(r->tenant ? r->tenant : ""))) {
        cache_request lr = *r;
        lr.context_texts = NULL;
        lr.context_lens = NULL;
        lr.context_roles = NULL;
        char err[200];
        clock_override = now;
        pthread_rwlock_rdlock(&h->swap);
        int rc = cache_store(h->local, &lr, query_text, "", 0, err, sizeof err);
        pthread_rwlock_unlock(&h->swap);
        clock_override = 0;
        if (rc) log_debug("hybrid: local entry not kept: %s", err);
        memcpy(s->exact, r->exact_key, 65);
        s->h = h;
        s->done = done;
        s->arg = arg;
        milvus_backend_store_at(h->mv, loop, r, query_text, body, len, now, on_stored, s);
        return;
    }
    if (s) free(s->tenant);
    free(s);
    milvus_backend_store_at(h->mv, loop, r, query_text, body, len, now, done, arg); /* fails fast, counted */
}

/* ------------------------------------------------------------------ open / close */

static int hy_healthy(cache_backend *b)
{
    hybrid_backend *h = (hybrid_backend *)b;
    return h->mv->ops->healthy(h->mv);
}

static void hy_close(cache_backend *b)
{
    hybrid_backend *h = (hybrid_backend *)b;
    if (!h) return;
    if (h->have_thread) {
        pthread_mutex_lock(&h->stop_lock);
        h->stop = 1;
        pthread_cond_signal(&h->stop_cond);
        pthread_mutex_unlock(&h->stop_lock);
        pthread_join(h->thread, NULL);
    }
    if (h->mv) h->mv->ops->close(h->mv); /* cancels fetches in flight: no callbacks */
    if (h->local) cache_close(h->local);
    pthread_rwlock_destroy(&h->swap);
    pthread_mutex_destroy(&h->stop_lock);
    pthread_cond_destroy(&h->stop_cond);
    free(h);
}

static const cache_backend_ops hybrid_ops = {
    .name = "hybrid",
    .lookup = hy_lookup,
    .store = hy_store,
    .healthy = hy_healthy,
    .close = hy_close,
    .result = hy_result,
};

cache_backend *hybrid_backend_open(const milvus_options *mo, const cache_options *local, int *degraded,
                                   char *err, size_t errlen)
{
    if (degraded) *degraded = 0;
    hybrid_backend *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    h->base.ops = &hybrid_ops;
    pthread_rwlock_init(&h->swap, NULL);
    pthread_mutex_init(&h->stop_lock, NULL);
    pthread_cond_init(&h->stop_cond, NULL);
    h->lo = *local;
    h->lo.dim = mo->dim;
    h->lo.ttl_seconds = mo->ttl_seconds;
    h->dim = mo->dim;
    h->m = mo->metrics;
    const sr_milvus_config *cfg = mo->cfg;
    h->interval_ms = cfg && cfg->hybrid.sync_interval_ms > 0 ? cfg->hybrid.sync_interval_ms : 1000;
    h->overlap_s = cfg && cfg->hybrid.sync_overlap_seconds >= 0 ? cfg->hybrid.sync_overlap_seconds : 10;
    h->resync_s = cfg ? cfg->hybrid.resync_seconds : 300;
    atomic_init(&h->rebuilt, -1);
    atomic_init(&h->need_rebuild, 1);
    h->local = local_open(h, err, errlen);
    if (!h->local) {
        hy_close(&h->base);
        return NULL;
    }
    int mv_degraded = 0;
    h->mv = milvus_backend_open(mo, &mv_degraded, err, errlen);
    if (!h->mv) {
        hy_close(&h->base);
        return NULL;
    }
    h->vector_field = milvus_backend_vector_field(h->mv);
    if (mv_degraded) {
        if (degraded) *degraded = 1;
    } else if (rebuild(h, 1) == 0) {
        atomic_store(&h->need_rebuild, 0);
    }
    if (!mo->no_thread) {
        if (pthread_create(&h->thread, NULL, sync_thread, h) == 0) h->have_thread = 1;
        else log_error("hybrid: sync thread not started (%s): entries of other routers will not appear here",
                       strerror(errno));
    }
    log_info("hybrid: local search, answers in Milvus at %s; other routers' entries pulled every %d ms",
             milvus_backend_url(h->mv), h->interval_ms);
    return &h->base;
}

void hybrid_backend_stats(cache_backend *b, hybrid_stats *s)
{
    hybrid_backend *h = (hybrid_backend *)b;
    cache_stats st;
    pthread_rwlock_rdlock(&h->swap);
    cache_stats_get(h->local, &st);
    pthread_rwlock_unlock(&h->swap);
    s->local_entries = st.entries;
    s->rebuilt = atomic_load(&h->rebuilt);
    s->synced = atomic_load(&h->synced);
    s->removed = atomic_load(&h->removed);
}

int hybrid_backend_sync_now(cache_backend *b, char *err, size_t errlen)
{
    hybrid_backend *h = (hybrid_backend *)b;
    if (h->have_thread) {
        snprintf(err, errlen, "the sync thread runs the pulls");
        return -1;
    }
    if (atomic_load(&h->need_rebuild)) {
        if (rebuild(h, atomic_load(&h->rebuilt) < 0)) {
            snprintf(err, errlen, "rebuild failed");
            return -1;
        }
        atomic_store(&h->need_rebuild, 0);
        return 0;
    }
    return pull(h, err, errlen);
}
