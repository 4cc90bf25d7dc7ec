/* milvus.c - the Milvus cache backend over REST v2 (see milvus.h).
 *
 * Two ways to talk to Milvus:
 *   - on a worker loop: upstream.h's libcurl multi client, one per loop (found
 *     by event_base in a small table), for lookups and stores;
 *   - blocking: one curl easy handle per thread, for the bootstrap (start),
 *     the maintenance thread (probe, recovery, expired-row delete) and the
 *     CLI helpers.
 * Both send the same headers: Content-Type, Accept-Type-Allow-Int64: true,
 * Request-Timeout (seconds), Authorization when configured. */
#include "cache/milvus.h"
#include "cache/milvus_proto.h"
#include "core/buf.h"
#include "core/codec.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/util.h"
#include "http/upstream.h"
#include "metrics/sr_metrics.h"

#include <curl/curl.h>
#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_LOOPS 128
#define MAX_PENDING_STORES 256
#define MAX_ANSWER_BYTES (64u << 20)
#define NO_EXPIRY 253402300799LL /* 9999-12-31 */
#define LOG_EVERY_NS (10ull * 1000000000ull)

typedef struct pending_store {
    buf row;
    cache_store_done done;
    void *arg;
    struct pending_store *next;
} pending_store;

typedef struct mv_loop {
    struct event_base *base;
    upstream_client *http;
    int inflight;
    pending_store *pending, *pending_tail;
    int n_pending;
    int upsert_inflight;
} mv_loop;

typedef struct milvus_backend {
    cache_backend base;
    char url[512];     /* http(s)://host:port, no trailing slash */
    char *db, *collection, *vector_field, *metric, *index_type, *consistency, *description;
    int index_m, index_efc, ef, topk;
    int dim;
    char *model_id;
    int64_t ttl;
    long timeout_ms;    /* bootstrap, maintenance */
    long op_timeout_ms; /* request path */
    long keepalive_idle_s, keepalive_lifetime_s; /* milvus_options'; idle > 0, lifetime 0 = none */
    int cleanup_interval;
    int auto_create, drop_on_start;
    int inspect; /* CLI: use the collection as it is (dimension from it), never create or check */
    char *ca_file, *cert_file, *key_file;
    char *headers_store[6];
    const char *headers[6];
    char *op_headers_store[6];
    const char *op_headers[6];
    struct curl_slist *slist, *op_slist;
    sr_metrics *m;
    int max_inflight;

    pthread_mutex_t lock;
    mv_loop *loops[MAX_LOOPS];
    int n_loops;

    atomic_int healthy;
    atomic_int need_bootstrap;
    atomic_ullong last_log_ns;
    atomic_uint suppressed;

    CURL *easy; /* blocking calls of the thread that owns it (main at start, then maintenance) */
    pthread_mutex_t easy_lock;
    int have_thread;
    pthread_t thread;
    pthread_mutex_t stop_lock;
    pthread_cond_t stop_cond;
    int stop;
} milvus_backend;

/* ------------------------------------------------------------------ logs and metrics */

static void count_op(milvus_backend *b, const char *op, const char *status)
{
    if (b->m) metrics_inc(b->m->cache_operations, METRICS_LABELS("milvus", op, status));
}

static void set_healthy(milvus_backend *b, int h)
{
    int was = atomic_exchange(&b->healthy, h);
    if (b->m) metrics_set(b->m->cache_backend_healthy, METRICS_LABELS("milvus"), h);
    if (was != h && h) log_info("milvus: cache back at %s (collection %s)", b->url, b->collection);
}

/* One line per LOG_EVERY_NS at most; the others are counted and reported with the next one. */
static void failure(milvus_backend *b, const char *op, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void failure(milvus_backend *b, const char *op, const char *reason, const char *fmt, ...)
{
    if (b->m) metrics_inc(b->m->cache_backend_errors, METRICS_LABELS("milvus", reason));
    unsigned long long now = util_now_ns(), last = atomic_load(&b->last_log_ns);
    if (last && now - last < LOG_EVERY_NS) {
        atomic_fetch_add(&b->suppressed, 1);
        return;
    }
    if (!atomic_compare_exchange_strong(&b->last_log_ns, &last, now)) {
        atomic_fetch_add(&b->suppressed, 1);
        return;
    }
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    unsigned n = atomic_exchange(&b->suppressed, 0);
    if (n)
        log_warn("milvus: %s failed (%s): %s; the cache counts as a miss (%u more failures in the last 10 s)",
                 op, reason, msg, n);
    else
        log_warn("milvus: %s failed (%s): %s; the cache counts as a miss", op, reason, msg);
}

/* Describes a failed answer: its class, the Milvus code name and the HTTP status. */
static const char *answer_reason(const mv_answer *a)
{
    return a->error == MV_ERR_CODE ? mv_code_name(a->code) : mv_error_name(a->error);
}

/* What a failed answer says about Milvus: request-specific rejections (our data) do not make
 * it unhealthy; a lost or unloaded collection is set up again by the maintenance thread. */
static void judge_failure(milvus_backend *b, const mv_answer *a)
{
    int degrade = !(a->error == MV_ERR_CODE &&
                    (a->code == 1100 || a->code == 1801 || a->code == 1802 || a->code == 1804 ||
                     a->code == 1806 || a->code == 1102));
    if (a->error == MV_ERR_CODE && (a->code == 100 || a->code == 101 || a->code == 700))
        atomic_store(&b->need_bootstrap, 1);
    if (degrade) set_healthy(b, 0);
}

static void answer_failure(milvus_backend *b, const char *op, const mv_answer *a, const char *transport)
{
    failure(b, op, answer_reason(a), "HTTP %d, code %d%s%s", a->http_status, a->code, transport ? ", " : "",
            transport ? transport : "");
    judge_failure(b, a);
}

/* ------------------------------------------------------------------ bodies */

static void body_open(milvus_backend *b, buf *o)
{
    buf_puts(o, "{\"dbName\":");
    buf_json_str(o, b->db, strlen(b->db));
    buf_puts(o, ",\"collectionName\":");
    buf_json_str(o, b->collection, strlen(b->collection));
}

/* ------------------------------------------------------------------ blocking calls */

static size_t easy_write(char *p, size_t size, size_t n, void *arg)
{
    buf *r = arg;
    if (r->len + size * n > MAX_ANSWER_BYTES) return 0;
    buf_append(r, p, size * n);
    return r->oom ? 0 : size * n;
}

static void tls_opts(milvus_backend *b, CURL *e)
{
    if (b->ca_file) curl_easy_setopt(e, CURLOPT_CAINFO, b->ca_file);
    if (b->cert_file) curl_easy_setopt(e, CURLOPT_SSLCERT, b->cert_file);
    if (b->key_file) curl_easy_setopt(e, CURLOPT_SSLKEY, b->key_file);
}

/* POSTs body to /v2/vectordb/<route> and judges the answer (a freed by the caller). */
static int sync_call(milvus_backend *b, const char *route, const buf *body, mv_answer *a)
{
    pthread_mutex_lock(&b->easy_lock);
    if (!b->easy) b->easy = curl_easy_init();
    CURL *e = b->easy;
    buf resp;
    buf_init(&resp);
    char url[1024], errbuf[CURL_ERROR_SIZE] = "";
    snprintf(url, sizeof url, "%s/v2/vectordb/%s", b->url, route);
    curl_easy_reset(e);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body->data ? body->data : "");
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, b->slist);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, easy_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, b->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, b->timeout_ms < 3000 ? b->timeout_ms : 3000L);
    /* which connection of the handle's cache this call may reuse (set again after the reset) */
    curl_easy_setopt(e, CURLOPT_MAXAGE_CONN, b->keepalive_idle_s);
    curl_easy_setopt(e, CURLOPT_MAXLIFETIME_CONN, b->keepalive_lifetime_s);
    tls_opts(b, e);
    CURLcode rc = curl_easy_perform(e);
    long status = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    pthread_mutex_unlock(&b->easy_lock);
    int out;
    if (rc != CURLE_OK) {
        memset(a, 0, sizeof *a);
        a->error = rc == CURLE_OPERATION_TIMEDOUT ? MV_ERR_TIMEOUT
                   : (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST) ? MV_ERR_CONNECT
                                                                                      : MV_ERR_TRANSPORT;
        a->http_status = (int)status;
        log_debug("milvus: %s: %s", route, errbuf[0] ? errbuf : curl_easy_strerror(rc));
        out = -1;
    } else {
        out = mv_answer_parse((int)status, resp.data, resp.len, a);
    }
    buf_free(&resp);
    return out;
}

/* ------------------------------------------------------------------ bootstrap */

static const char *const string_fields[][2] = {
    {"partition_hash", "64"}, {"tenant", "512"},         {"embedding_model", "256"},
    {"query_text", "65535"},  {"response_body", "65535"}, {"context", "65535"},
    {"conversation", "65535"}, /* schema 2: the earlier turns' texts and roles */
};
static const char *const int_fields[] = {"body_encoding", "semantic", "n_context", "created_at",
                                         "expires_at"};

static void schema_body(milvus_backend *b, buf *o)
{
    body_open(b, o);
    buf_puts(o, ",\"description\":");
    buf_json_str(o, b->description, strlen(b->description));
    buf_puts(o, ",\"schema\":{\"autoID\":false,\"enableDynamicField\":false,\"fields\":["
                "{\"fieldName\":\"id\",\"dataType\":\"VarChar\",\"isPrimary\":true,"
                "\"elementTypeParams\":{\"max_length\":\"64\"}}");
    for (size_t i = 0; i < sizeof string_fields / sizeof *string_fields; i++)
        buf_printf(o, ",{\"fieldName\":\"%s\",\"dataType\":\"VarChar\",\"elementTypeParams\":{\"max_length\":\"%s\"}}",
                   string_fields[i][0], string_fields[i][1]);
    for (size_t i = 0; i < sizeof int_fields / sizeof *int_fields; i++)
        buf_printf(o, ",{\"fieldName\":\"%s\",\"dataType\":\"Int64\"}", int_fields[i]);
    buf_puts(o, ",{\"fieldName\":");
    buf_json_str(o, b->vector_field, strlen(b->vector_field));
    buf_printf(o, ",\"dataType\":\"FloatVector\",\"elementTypeParams\":{\"dim\":\"%d\"}}]}", b->dim);
    buf_puts(o, ",\"indexParams\":[{\"fieldName\":");
    buf_json_str(o, b->vector_field, strlen(b->vector_field));
    buf_puts(o, ",\"indexName\":");
    buf_printf(o, "\"%s_idx\"", "vector");
    buf_printf(o, ",\"metricType\":\"%s\",\"params\":{\"index_type\":\"%s\"", b->metric, b->index_type);
    if (!strcasecmp(b->index_type, "HNSW"))
        buf_printf(o, ",\"M\":\"%d\",\"efConstruction\":\"%d\"", b->index_m, b->index_efc);
    buf_puts(o, "}}],\"params\":{\"consistencyLevel\":");
    buf_json_str(o, b->consistency, strlen(b->consistency));
    buf_puts(o, ",\"shardsNum\":1");
    if (b->ttl > 0) buf_printf(o, ",\"ttlSeconds\":%lld", (long long)b->ttl + 3600);
    buf_puts(o, "}}");
}

static const char *param_of(const cJSON *field, const char *key)
{
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(field, "params"))
    {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(p, "key");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, "value");
        if (cJSON_IsString(k) && !strcmp(k->valuestring, key) && cJSON_IsString(v)) return v->valuestring;
    }
    return NULL;
}

/* Checks a describe answer against the schema we need. 0 ok, -1 with err (mismatch).
 * *loaded / *indexed are set from it. */
static int verify_schema(milvus_backend *b, const cJSON *d, int *loaded, int *indexed, char *err, size_t errlen)
{
    const cJSON *fields = cJSON_GetObjectItemCaseSensitive(d, "fields");
    if (!cJSON_IsArray(fields)) {
        snprintf(err, errlen, "describe of collection %s has no fields", b->collection);
        return -1;
    }
    int have_id = 0, have_vec = 0, n_str = 0, n_int = 0, have_conversation = 0;
    const cJSON *f;
    cJSON_ArrayForEach(f, fields)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(f, "name");
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(f, "type");
        if (!cJSON_IsString(name) || !cJSON_IsString(type)) continue;
        const char *n = name->valuestring, *t = type->valuestring;
        if (!strcmp(n, "id")) {
            have_id = !strcmp(t, "VarChar") && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "primaryKey"));
        } else if (!strcmp(n, b->vector_field)) {
            const char *dim = param_of(f, "dim");
            if (strcmp(t, "FloatVector") || !dim) {
                snprintf(err, errlen, "collection %s: field %s is %s, not a FloatVector", b->collection, n, t);
                return -1;
            }
            if (atoi(dim) != b->dim) {
                snprintf(err, errlen,
                         "collection %s holds %s-dimensional vectors but the embedding model %s makes %d; "
                         "use another collection.name or drop the collection",
                         b->collection, dim, b->model_id, b->dim);
                return -1;
            }
            have_vec = 1;
        } else {
            for (size_t i = 0; i < sizeof string_fields / sizeof *string_fields; i++)
                if (!strcmp(n, string_fields[i][0]) && !strcmp(t, "VarChar")) n_str++;
            if (!strcmp(n, "conversation") && !strcmp(t, "VarChar")) have_conversation = 1;
            for (size_t i = 0; i < sizeof int_fields / sizeof *int_fields; i++)
                if (!strcmp(n, int_fields[i]) && !strcmp(t, "Int64")) n_int++;
        }
    }
    int n_str_need = (int)(sizeof string_fields / sizeof *string_fields);
    int schema1 = have_id && have_vec && !have_conversation && n_str == n_str_need - 1 &&
                  n_int == (int)(sizeof int_fields / sizeof *int_fields);
    if (schema1 && b->inspect) {
        n_str = n_str_need; /* the CLI (count, clear, purge) reads only fields schema 1 has */
    } else if (schema1) {
        /* schema 1 (before the conversation field): its rows cannot say which
         * conversation they answered, so follow-ups would be matched on vectors
         * alone; never reuse it silently */
        snprintf(err, errlen,
                 "collection %s was created by an older semrouter (schema 1, no conversation field: "
                 "follow-up questions could not be told apart by conversation); use a new "
                 "collection.name, or drop the collection (development.drop_collection_on_startup: true "
                 "drops and re-creates it)",
                 b->collection);
        return -1;
    }
    if (!have_id || !have_vec || n_str != n_str_need ||
        n_int != (int)(sizeof int_fields / sizeof *int_fields)) {
        snprintf(err, errlen,
                 "collection %s exists with another schema (not semrouter's cache: it needs a VarChar "
                 "primary key id, %s FloatVector(%d) and the fields partition_hash, tenant, "
                 "embedding_model, query_text, response_body, context, conversation, body_encoding, semantic, "
                 "n_context, created_at, expires_at); use another collection.name",
                 b->collection, b->vector_field, b->dim);
        return -1;
    }
    *indexed = 0;
    const cJSON *ix;
    cJSON_ArrayForEach(ix, cJSON_GetObjectItemCaseSensitive(d, "indexes"))
    {
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(ix, "fieldName");
        const cJSON *mt = cJSON_GetObjectItemCaseSensitive(ix, "metricType");
        if (!cJSON_IsString(fn) || strcmp(fn->valuestring, b->vector_field)) continue;
        if (cJSON_IsString(mt) && strcasecmp(mt->valuestring, b->metric)) {
            snprintf(err, errlen,
                     "collection %s is indexed with metric %s but collection.vector_field.metric_type is %s",
                     b->collection, mt->valuestring, b->metric);
            return -1;
        }
        *indexed = 1;
    }
    const cJSON *load = cJSON_GetObjectItemCaseSensitive(d, "load");
    *loaded = cJSON_IsString(load) && !strcmp(load->valuestring, "LoadStateLoaded");
    return 0;
}

/* has -> create -> describe/verify -> index -> load -> embedding model check.
 * 0 ok; -1 transient (Milvus not reachable or not ready; err says why);
 * -2 setup error (mismatch, missing without auto_create, auth). */
static int bootstrap(milvus_backend *b, int first, char *err, size_t errlen)
{
    buf body;
    buf_init(&body);
    mv_answer a;
    int rc = -1;
#define CALL(route)                                                                                \
    do {                                                                                           \
        mv_answer_free(&a);                                                                        \
        if (sync_call(b, route, &body, &a)) goto failed;                                           \
    } while (0)
    memset(&a, 0, sizeof a);
    body_open(b, &body);
    buf_putc(&body, '}');
    if (first && b->drop_on_start) {
        CALL("collections/has");
        const cJSON *has = cJSON_GetObjectItemCaseSensitive(a.data, "has");
        if (cJSON_IsTrue(has)) {
            CALL("collections/drop");
            log_warn("milvus: dropped collection %s (development.drop_collection_on_startup)", b->collection);
        }
    }
    CALL("collections/has");
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a.data, "has"))) {
        if (b->inspect) {
            snprintf(err, errlen, "collection %s does not exist in database %s", b->collection, b->db);
            rc = -2;
            goto out;
        }
        if (!b->auto_create) {
            snprintf(err, errlen,
                     "collection %s does not exist in database %s and development.auto_create_collection is false",
                     b->collection, b->db);
            rc = -2;
            goto out;
        }
        buf create;
        buf_init(&create);
        schema_body(b, &create);
        mv_answer_free(&a);
        int crc = sync_call(b, "collections/create", &create, &a);
        buf_free(&create);
        if (crc) goto failed;
        log_info("milvus: created collection %s (%d-d %s, %s index) in database %s at %s", b->collection,
                 b->dim, b->metric, b->index_type, b->db, b->url);
    }
    int loaded = 0, indexed = 0;
    CALL("collections/describe");
    if (b->inspect) { /* take the dimension from the collection */
        const cJSON *f;
        cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(a.data, "fields"))
        {
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(f, "name");
            const char *dim = param_of(f, "dim");
            if (cJSON_IsString(name) && !strcmp(name->valuestring, b->vector_field) && dim) b->dim = atoi(dim);
        }
    }
    if (verify_schema(b, a.data, &loaded, &indexed, err, errlen)) {
        rc = -2;
        goto out;
    }
    if (!indexed) {
        buf ib;
        buf_init(&ib);
        body_open(b, &ib);
        buf_puts(&ib, ",\"indexParams\":[{\"fieldName\":");
        buf_json_str(&ib, b->vector_field, strlen(b->vector_field));
        buf_printf(&ib, ",\"indexName\":\"vector_idx\",\"metricType\":\"%s\",\"params\":{\"index_type\":\"%s\"",
                   b->metric, b->index_type);
        if (!strcasecmp(b->index_type, "HNSW"))
            buf_printf(&ib, ",\"M\":\"%d\",\"efConstruction\":\"%d\"", b->index_m, b->index_efc);
        buf_puts(&ib, "}}]}");
        mv_answer_free(&a);
        int irc = sync_call(b, "indexes/create", &ib, &a);
        buf_free(&ib);
        if (irc) goto failed;
    }
    if (!loaded) {
        CALL("collections/load");
        for (int i = 0; i < 600; i++) {
            CALL("collections/get_load_state");
            const cJSON *st = cJSON_GetObjectItemCaseSensitive(a.data, "loadState");
            if (cJSON_IsString(st) && !strcmp(st->valuestring, "LoadStateLoaded")) break;
            struct timespec ts = {0, 100 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    if (b->inspect) {
        rc = 0;
        goto out;
    }
    /* rows of another embedding model: their vectors mean something else */
    buf q;
    buf_init(&q);
    body_open(b, &q);
    buf_puts(&q, ",\"filter\":");
    buf model_filter;
    buf_init(&model_filter);
    buf_puts(&model_filter, "embedding_model != ");
    mv_filter_literal(&model_filter, b->model_id, strlen(b->model_id));
    buf_json_str(&q, model_filter.data, model_filter.len);
    buf_free(&model_filter);
    buf_puts(&q, ",\"outputFields\":[\"embedding_model\"],\"limit\":1}");
    mv_answer_free(&a);
    int qrc = sync_call(b, "entities/query", &q, &a);
    buf_free(&q);
    if (qrc) goto failed;
    if (cJSON_GetArraySize(a.data) > 0) {
        const cJSON *em = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(a.data, 0), "embedding_model");
        snprintf(err, errlen,
                 "collection %s holds entries of embedding model '%s' but this router embeds with '%s'; "
                 "use another collection.name or drop the collection",
                 b->collection, cJSON_IsString(em) ? em->valuestring : "?", b->model_id);
        rc = -2;
        goto out;
    }
    rc = 0;
    goto out;
failed:
    if (a.error == MV_ERR_AUTH) {
        snprintf(err, errlen, "Milvus at %.300s refused the credentials (HTTP %d, code %d): check connection.token / auth",
                 b->url, a.http_status, a.code);
        rc = -2;
    } else if (a.error == MV_ERR_CODE && (a.code == 800)) {
        snprintf(err, errlen, "database %.100s does not exist on %.300s (code 800)", b->db, b->url);
        rc = -2;
    } else if (a.error == MV_ERR_CODE && a.code == 1100) {
        snprintf(err, errlen, "Milvus at %.300s rejected the collection setup as an invalid parameter (code 1100)", b->url);
        rc = -2;
    } else {
        snprintf(err, errlen, "Milvus at %.300s: %s (HTTP %d, code %d)", b->url, answer_reason(&a), a.http_status, a.code);
        rc = -1;
    }
out:
    mv_answer_free(&a);
    buf_free(&body);
    return rc;
#undef CALL
}

/* ------------------------------------------------------------------ maintenance thread */

static long long delete_where(milvus_backend *b, const char *filter, char *err, size_t errlen)
{
    buf body;
    buf_init(&body);
    body_open(b, &body);
    buf_puts(&body, ",\"filter\":");
    buf_json_str(&body, filter, strlen(filter));
    buf_putc(&body, '}');
    mv_answer a;
    int rc = sync_call(b, "entities/delete", &body, &a);
    buf_free(&body);
    long long n = 0;
    if (rc) {
        snprintf(err, errlen, "delete failed: %s (HTTP %d, code %d)", answer_reason(&a), a.http_status, a.code);
        n = -1;
    } else {
        int64_t c = 0;
        if (!mv_int64(cJSON_GetObjectItemCaseSensitive(a.data, "deleteCount"), &c)) n = c;
    }
    mv_answer_free(&a);
    return n;
}

long long milvus_backend_purge_expired(cache_backend *cb, char *err, size_t errlen)
{
    milvus_backend *b = (milvus_backend *)cb;
    char f[96];
    snprintf(f, sizeof f, "expires_at < %lld", (long long)util_unix_time());
    return delete_where(b, f, err, errlen);
}

static int probe(milvus_backend *b, char *err, size_t errlen)
{
    buf body;
    buf_init(&body);
    body_open(b, &body);
    buf_putc(&body, '}');
    mv_answer a;
    int rc = sync_call(b, "collections/get_load_state", &body, &a);
    buf_free(&body);
    int out = 0;
    if (rc) {
        if (a.error == MV_ERR_CODE && a.code == 100) atomic_store(&b->need_bootstrap, 1);
        snprintf(err, errlen, "%s (HTTP %d, code %d)", answer_reason(&a), a.http_status, a.code);
        out = -1;
    } else {
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(a.data, "loadState");
        if (!cJSON_IsString(st) || strcmp(st->valuestring, "LoadStateLoaded")) {
            atomic_store(&b->need_bootstrap, 1);
            snprintf(err, errlen, "collection %s is not loaded", b->collection);
            out = -1;
        }
    }
    mv_answer_free(&a);
    return out;
}

static void *maintenance(void *arg)
{
    milvus_backend *b = arg;
    time_t last_cleanup = time(NULL);
    int setup_error_logged = 0;
    pthread_mutex_lock(&b->stop_lock);
    while (!b->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&b->stop_cond, &b->stop_lock, &ts);
        if (b->stop) break;
        pthread_mutex_unlock(&b->stop_lock);
        char err[512] = "";
        if (!atomic_load(&b->healthy)) {
            int rc = 0;
            if (atomic_load(&b->need_bootstrap)) {
                rc = bootstrap(b, 0, err, sizeof err);
                if (rc == 0) atomic_store(&b->need_bootstrap, 0);
            } else {
                rc = probe(b, err, sizeof err);
            }
            if (rc == 0) {
                setup_error_logged = 0;
                set_healthy(b, 1);
            } else if (rc == -2 && !setup_error_logged) {
                log_error("milvus: %s; the cache stays off until this is fixed", err);
                setup_error_logged = 1;
            } else if (rc == -1) {
                failure(b, "probe", "unavailable", "%s", err);
            }
        } else if (b->cleanup_interval > 0 && time(NULL) - last_cleanup >= b->cleanup_interval) {
            last_cleanup = time(NULL);
            long long n = milvus_backend_purge_expired(&b->base, err, sizeof err);
            if (n < 0) failure(b, "cleanup", "delete", "%s", err);
            else if (n > 0) log_info("milvus: deleted %lld expired entries", n);
            count_op(b, "cleanup", n < 0 ? "error" : "success");
        }
        pthread_mutex_lock(&b->stop_lock);
    }
    pthread_mutex_unlock(&b->stop_lock);
    return NULL;
}

/* ------------------------------------------------------------------ loops */

static mv_loop *loop_of(milvus_backend *b, struct event_base *base)
{
    pthread_mutex_lock(&b->lock);
    mv_loop *L = NULL;
    for (int i = 0; i < b->n_loops; i++)
        if (b->loops[i]->base == base) L = b->loops[i];
    if (!L && b->n_loops < MAX_LOOPS && (L = calloc(1, sizeof *L))) {
        L->base = base;
        L->http = upstream_client_new(base);
        if (!L->http) {
            free(L);
            L = NULL;
        } else {
            b->loops[b->n_loops++] = L;
        }
    }
    pthread_mutex_unlock(&b->lock);
    return L;
}

typedef struct mv_call mv_call;
typedef struct admin_job admin_job;
typedef void (*mv_call_done)(mv_call *c, mv_answer *a, const char *transport_err);

struct mv_call {
    milvus_backend *b;
    mv_loop *L;
    buf resp;
    mv_call_done fn;
    const char *op;
    uint64_t t0;
    /* lookup */
    cache_lookup_done ldone;
    void *larg;
    char *tenant, *partition;
    char exact[65];
    int k, is_search;
    float floor;
    /* store batch */
    pending_store *batch;
    /* fetch */
    milvus_fetch_done fdone;
    void *farg;
    /* admin: the job the call is a step of; its calls carry connection.timeout */
    struct admin_job *job;
};

static int call_on_data(void *arg, const char *data, size_t len)
{
    mv_call *c = arg;
    if (c->resp.len + len > MAX_ANSWER_BYTES) return 1;
    buf_append(&c->resp, data, len);
    return c->resp.oom;
}

static void call_on_done(void *arg, int ok, int status, int timed_out, int connect_failed, const char *err)
{
    mv_call *c = arg;
    mv_answer a;
    if (!ok) {
        memset(&a, 0, sizeof a);
        a.http_status = status;
        /* a timeout before any answer comes with connect_failed too: it is a timeout */
        a.error = timed_out ? MV_ERR_TIMEOUT : connect_failed ? MV_ERR_CONNECT : MV_ERR_TRANSPORT;
    } else {
        mv_answer_parse(status, c->resp.data, c->resp.len, &a);
    }
    c->L->inflight--;
    if (c->b->m)
        metrics_observe(c->b->m->cache_operation_duration, METRICS_LABELS("milvus", c->op),
                        (double)(util_now_ns() - c->t0) / 1e9);
    c->fn(c, &a, ok ? NULL : err);
    mv_answer_free(&a);
    buf_free(&c->resp);
    free(c->tenant);
    free(c->partition);
    free(c);
}

/* Starts POST route with body; NULL when it could not start (c is then still the caller's). */
static int call_start(mv_call *c, const char *route, const buf *body)
{
    milvus_backend *b = c->b;
    char url[1024];
    snprintf(url, sizeof url, "%s/v2/vectordb/%s", b->url, route);
    upstream_request rq = {0};
    rq.url = url;
    rq.body = body->data;
    rq.body_len = body->len;
    /* the management calls (count, list, delete) are no lookups: connection.timeout bounds them */
    long timeout = c->job ? b->timeout_ms : b->op_timeout_ms;
    rq.headers = c->job ? b->headers : b->op_headers;
    rq.connect_timeout_ms = c->job && timeout > 3000 ? 3000 : timeout;
    rq.total_timeout_ms = timeout;
    rq.ca_file = b->ca_file;
    rq.cert_file = b->cert_file;
    rq.key_file = b->key_file;
    rq.keepalive_idle_s = b->keepalive_idle_s;
    rq.keepalive_lifetime_s = b->keepalive_lifetime_s;
    static const upstream_callbacks cb = {NULL, call_on_data, call_on_done};
    c->t0 = util_now_ns();
    if (!upstream_start(c->L->http, &rq, &cb, c)) return -1;
    c->L->inflight++;
    return 0;
}

/* ------------------------------------------------------------------ lookup */

static void lookup_done(mv_call *c, mv_answer *a, const char *transport)
{
    milvus_backend *b = c->b;
    if (a->error != MV_OK) {
        answer_failure(b, "search", a, transport);
        count_op(b, "find_similar", "error");
        c->ldone(c->larg, CACHE_STATUS_ERROR, NULL);
        return;
    }
    cache_candidates cands = {0};
    int n = mv_rows_to_candidates(a->data, c->is_search ? b->metric : NULL, b->dim, c->tenant,
                                  c->partition, c->exact, c->floor, c->k, &cands);
    if (n < 0) {
        a->error = MV_ERR_GARBAGE;
        answer_failure(b, "search", a, "data is not an array of rows");
        count_op(b, "find_similar", "error");
        c->ldone(c->larg, CACHE_STATUS_ERROR, NULL);
        return;
    }
    set_healthy(b, 1); /* hit or miss is counted by the caller's decision */
    c->ldone(c->larg, CACHE_STATUS_OK, &cands);
    cache_candidates_free(&cands); /* what the callee did not take (backend.h) */
}

static int loop_admit(milvus_backend *b, mv_loop *L, const char *op)
{
    if (!L) {
        failure(b, op, "overloaded", "no event loop slot");
        return 0;
    }
    if (!atomic_load(&b->healthy)) {
        failure(b, op, "degraded", "Milvus at %.300s is not answering; retried every second", b->url);
        return 0;
    }
    if (L->inflight >= b->max_inflight) {
        failure(b, op, "overloaded", "%d calls in flight on this worker", L->inflight);
        return 0;
    }
    return 1;
}

static void mv_lookup(cache_backend *cb, struct event_base *loop, const cache_request *r, int k, float floor,
                      cache_lookup_done done, void *arg)
{
    milvus_backend *b = (milvus_backend *)cb;
    mv_loop *L = loop_of(b, loop);
    if (!r->exact_key || !r->partition_key || strlen(r->exact_key) != 64) {
        count_op(b, "find_similar", "error");
        done(arg, CACHE_STATUS_ERROR, NULL);
        return;
    }
    if (!loop_admit(b, L, "search")) {
        count_op(b, "find_similar", "error");
        done(arg, CACHE_STATUS_ERROR, NULL);
        return;
    }
    mv_call *c = calloc(1, sizeof *c);
    if (!c) {
        done(arg, CACHE_STATUS_ERROR, NULL);
        return;
    }
    c->b = b;
    c->L = L;
    c->fn = lookup_done;
    c->op = "find_similar";
    c->ldone = done;
    c->larg = arg;
    c->tenant = strdup(r->tenant ? r->tenant : "");
    c->partition = strdup(r->partition_key);
    memcpy(c->exact, r->exact_key, 65);
    c->floor = floor;
    int64_t now = util_unix_time();
    buf body, filter;
    buf_init(&body);
    buf_init(&filter);
    body_open(b, &body);
    if (r->query_vec) {
        c->is_search = 1;
        c->k = k > 0 && k < b->topk ? k : b->topk;
        mv_lookup_filter(&filter, r->partition_key, c->tenant, now);
        buf_puts(&filter, " and semantic == 1");
        buf_puts(&body, ",\"data\":[");
        mv_put_vector(&body, r->query_vec, b->dim);
        buf_puts(&body, "],\"annsField\":");
        buf_json_str(&body, b->vector_field, strlen(b->vector_field));
        buf_printf(&body, ",\"limit\":%d,\"searchParams\":{\"params\":{\"ef\":%d}},\"consistencyLevel\":", c->k,
                   b->ef > c->k ? b->ef : c->k);
        buf_json_str(&body, b->consistency, strlen(b->consistency));
    } else {
        c->k = 1;
        buf_puts(&filter, "id == ");
        mv_filter_literal(&filter, r->exact_key, 64);
        buf_puts(&filter, " and tenant == ");
        mv_filter_literal(&filter, c->tenant, strlen(c->tenant));
        buf_printf(&filter, " and expires_at > %lld", (long long)now);
        buf_puts(&body, ",\"limit\":1,\"consistencyLevel\":");
        buf_json_str(&body, b->consistency, strlen(b->consistency));
    }
    buf_puts(&body, ",\"filter\":");
    buf_json_str(&body, filter.data, filter.len);
    buf_puts(&body, ",\"outputFields\":[" MV_FIELDS_OUT "]}");
    buf_free(&filter);
    int rc = !c->tenant || !c->partition || body.oom ? -1
                                                     : call_start(c, c->is_search ? "entities/search" : "entities/query", &body);
    buf_free(&body);
    if (rc) {
        free(c->tenant);
        free(c->partition);
        free(c);
        failure(b, "search", "transport", "could not start the HTTP call");
        count_op(b, "find_similar", "error");
        done(arg, CACHE_STATUS_ERROR, NULL);
    }
}

/* ------------------------------------------------------------------ fetch (hybrid) */

static void fetch_done(mv_call *c, mv_answer *a, const char *transport)
{
    milvus_backend *b = c->b;
    if (a->error == MV_OK && !cJSON_IsArray(a->data)) a->error = MV_ERR_GARBAGE;
    if (a->error != MV_OK) {
        answer_failure(b, "fetch", a, transport);
        c->fdone(c->farg, CACHE_STATUS_ERROR, NULL);
        return;
    }
    set_healthy(b, 1);
    c->fdone(c->farg, CACHE_STATUS_OK, a->data);
}

void milvus_backend_fetch(cache_backend *cb, struct event_base *loop, const char *tenant, const char *const *ids,
                          int n, milvus_fetch_done done, void *arg)
{
    milvus_backend *b = (milvus_backend *)cb;
    if (n <= 0) {
        done(arg, CACHE_STATUS_OK, NULL);
        return;
    }
    mv_loop *L = loop_of(b, loop);
    if (!loop_admit(b, L, "fetch")) {
        done(arg, CACHE_STATUS_ERROR, NULL);
        return;
    }
    mv_call *c = calloc(1, sizeof *c);
    if (!c) {
        done(arg, CACHE_STATUS_ERROR, NULL);
        return;
    }
    c->b = b;
    c->L = L;
    c->fn = fetch_done;
    c->op = "fetch";
    c->fdone = done;
    c->farg = arg;
    buf body, filter;
    buf_init(&body);
    buf_init(&filter);
    buf_puts(&filter, "id in [");
    for (int i = 0; i < n; i++) {
        if (i) buf_putc(&filter, ',');
        mv_filter_literal(&filter, ids[i], strlen(ids[i]));
    }
    buf_puts(&filter, "] and tenant == ");
    mv_filter_literal(&filter, tenant ? tenant : "", tenant ? strlen(tenant) : 0);
    buf_printf(&filter, " and expires_at > %lld", (long long)util_unix_time());
    body_open(b, &body);
    buf_puts(&body, ",\"filter\":");
    buf_json_str(&body, filter.data, filter.len);
    buf_printf(&body, ",\"outputFields\":[\"response_body\",\"body_encoding\",\"tenant\",\"conversation\"],\"limit\":%d,"
                      "\"consistencyLevel\":",
               n);
    buf_json_str(&body, b->consistency, strlen(b->consistency));
    buf_putc(&body, '}');
    buf_free(&filter);
    int rc = body.oom ? -1 : call_start(c, "entities/query", &body);
    buf_free(&body);
    if (rc) {
        free(c);
        failure(b, "fetch", "transport", "could not start the HTTP call");
        done(arg, CACHE_STATUS_ERROR, NULL);
    }
}

/* ------------------------------------------------------------------ admin (backend.h cache_admin_op) */

/* Milvus answers a query only while offset + limit <= 16,384 (its max query result
 * window): a listing pages ADMIN_PAGE rows at a time up to that window and says
 * truncated past it; the bytes of one listing are bounded too. */
#define ADMIN_PAGE 256
#define ADMIN_WINDOW 16384
#define ADMIN_MAX_LIST_BYTES (64u << 20)

typedef enum { ADMIN_STEP_COUNT, ADMIN_STEP_DELETE, ADMIN_STEP_PAGE, ADMIN_STEP_TOTAL } admin_step;

struct admin_job {
    milvus_backend *b;
    mv_loop *L;
    cache_admin_op op;
    char *tenant; /* NULL = every tenant */
    char id[65];  /* EVICT: the exact key, lower-case hex */
    admin_step step;
    long long n;  /* COUNT/CLEAR/EVICT: the live rows counted; LIST: lines written */
    long long bad; /* LIST: rows that did not decode (skipped) */
    int offset;   /* LIST: of the next page */
    int truncated;
    long long total;
    buf lines;
    cache_admin_done done;
    void *arg;
};

static const char *const admin_op_names[] = {"admin_count", "admin_list", "admin_evict", "admin_clear"};
static const char *const admin_step_names[] = {"count", "delete", "query of the rows", "count"};

static void admin_free(admin_job *j)
{
    buf_free(&j->lines);
    free(j->tenant);
    free(j);
}

static void admin_ok(admin_job *j)
{
    cache_admin_result r = {0};
    r.status = CACHE_STATUS_OK;
    r.n = j->n;
    r.lines = j->lines.data ? j->lines.data : "";
    r.len = j->lines.len;
    r.truncated = j->truncated;
    r.total = j->total;
    count_op(j->b, admin_op_names[j->op], "success");
    j->done(j->arg, &r);
    admin_free(j);
}

static void admin_error(admin_job *j, const char *reason, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void admin_error(admin_job *j, const char *reason, const char *fmt, ...)
{
    char msg[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cache_admin_result r = {0};
    r.status = CACHE_STATUS_ERROR;
    r.total = -1;
    r.err = msg;
    r.reason = reason;
    count_op(j->b, admin_op_names[j->op], "error");
    if (j->b->m) metrics_inc(j->b->m->cache_backend_errors, METRICS_LABELS("milvus", reason));
    j->done(j->arg, &r);
    admin_free(j);
}

static void admin_call_done(mv_call *c, mv_answer *a, const char *transport);

/* Starts the job's next call (j->step). 0, or -1 after finishing j with an error. */
static int admin_step_start(admin_job *j)
{
    milvus_backend *b = j->b;
    if (!atomic_load(&b->healthy)) {
        admin_error(j, "degraded",
                    "Milvus at %.300s is not answering (the router retries every second; /ready shows the cache "
                    "degraded); nothing was %s",
                    b->url, j->op == CACHE_ADMIN_COUNT || j->op == CACHE_ADMIN_LIST ? "read" : "removed");
        return -1;
    }
    if (j->L->inflight >= b->max_inflight) {
        admin_error(j, "overloaded", "%d Milvus calls are in flight on this worker; retry in a moment",
                    j->L->inflight);
        return -1;
    }
    int64_t now = util_unix_time();
    const char *id = j->op == CACHE_ADMIN_EVICT ? j->id : NULL;
    buf body, f;
    buf_init(&body);
    buf_init(&f);
    body_open(b, &body);
    const char *route = "entities/query";
    /* what the management API reads is the truth of now: Strong, not the lookups' level */
    switch (j->step) {
    case ADMIN_STEP_COUNT:
    case ADMIN_STEP_TOTAL:
        mv_admin_filter(&f, j->tenant, id, 1, now);
        buf_puts(&body, ",\"outputFields\":[\"count(*)\"],\"consistencyLevel\":\"Strong\"");
        break;
    case ADMIN_STEP_DELETE: /* expired rows of the tenant go too: they are never served anyway */
        mv_admin_filter(&f, j->tenant, id, 0, now);
        route = "entities/delete";
        break;
    case ADMIN_STEP_PAGE:
        mv_admin_filter(&f, j->tenant, NULL, 1, now);
        buf_puts(&body, ",\"outputFields\":[" MV_FIELDS_EXPORT ",");
        buf_json_str(&body, b->vector_field, strlen(b->vector_field));
        buf_printf(&body, "],\"limit\":%d,\"offset\":%d,\"consistencyLevel\":\"Strong\"", ADMIN_PAGE, j->offset);
        break;
    }
    buf_puts(&body, ",\"filter\":");
    buf_json_str(&body, f.data ? f.data : "", f.len);
    buf_putc(&body, '}');
    buf_free(&f);
    mv_call *c = calloc(1, sizeof *c);
    int rc = -1;
    if (c && !body.oom) {
        c->b = b;
        c->L = j->L;
        c->fn = admin_call_done;
        c->op = admin_op_names[j->op];
        c->job = j;
        rc = call_start(c, route, &body);
    }
    buf_free(&body);
    if (rc) {
        free(c);
        admin_error(j, "transport", "the HTTP call to Milvus at %.300s could not be started (out of memory or "
                    "connections)", b->url);
        return -1;
    }
    return 0;
}

static void admin_call_done(mv_call *c, mv_answer *a, const char *transport)
{
    admin_job *j = c->job;
    milvus_backend *b = j->b;
    long long n = 0;
    if (a->error == MV_OK && (j->step == ADMIN_STEP_COUNT || j->step == ADMIN_STEP_TOTAL) &&
        mv_count_of(a->data, &n))
        a->error = MV_ERR_GARBAGE;
    if (a->error == MV_OK && j->step == ADMIN_STEP_PAGE && !cJSON_IsArray(a->data)) a->error = MV_ERR_GARBAGE;
    if (a->error != MV_OK) {
        /* the backend's health follows every call (a refused request of ours does not degrade it) */
        judge_failure(b, a);
        const char *reason = answer_reason(a);
        log_warn("milvus: %s through the management API failed at the %s (%s): HTTP %d, code %d%s%s",
                 admin_op_names[j->op] + 6, admin_step_names[j->step], reason, a->http_status, a->code,
                 transport ? ", " : "", transport ? transport : "");
        admin_error(j, reason, "Milvus at %.300s: the %s failed (%s, HTTP %d, code %d)%s", b->url,
                    admin_step_names[j->step], reason, a->http_status, a->code,
                    j->step == ADMIN_STEP_DELETE ? "; some of the entries may have been removed, retry the call"
                    : j->op == CACHE_ADMIN_CLEAR || j->op == CACHE_ADMIN_EVICT ? "; nothing was removed"
                                                                               : "");
        return;
    }
    set_healthy(b, 1);
    switch (j->step) {
    case ADMIN_STEP_COUNT:
        j->n = n;
        if (j->op == CACHE_ADMIN_COUNT || (j->op == CACHE_ADMIN_EVICT && n == 0)) {
            admin_ok(j);
            return;
        }
        j->step = ADMIN_STEP_DELETE; /* CLEAR, EVICT: n = the live rows the delete takes */
        admin_step_start(j);
        return;
    case ADMIN_STEP_DELETE:
        if (j->op == CACHE_ADMIN_EVICT) j->n = 1;
        admin_ok(j);
        return;
    case ADMIN_STEP_PAGE: {
        int got = cJSON_GetArraySize(a->data);
        const cJSON *row;
        cJSON_ArrayForEach(row, a->data)
        {
            if (mv_export_line(&j->lines, row, b->vector_field, b->dim)) j->bad++;
            else j->n++;
        }
        if (j->lines.oom) {
            admin_error(j, "out_of_memory", "out of memory while listing %lld entries", j->n);
            return;
        }
        if (j->bad && got < ADMIN_PAGE)
            log_warn("milvus: %lld rows of the listing did not decode (skipped)", j->bad);
        if (got < ADMIN_PAGE) {
            admin_ok(j);
            return;
        }
        j->offset += ADMIN_PAGE;
        if (j->offset + ADMIN_PAGE > ADMIN_WINDOW || j->lines.len > ADMIN_MAX_LIST_BYTES) {
            j->step = ADMIN_STEP_TOTAL; /* how many there are beyond what was listed */
            admin_step_start(j);
            return;
        }
        admin_step_start(j);
        return;
    }
    case ADMIN_STEP_TOTAL:
        j->total = n;
        j->truncated = n > j->n + j->bad;
        admin_ok(j);
        return;
    }
}

static void mv_admin(cache_backend *cb, struct event_base *loop, cache_admin_op op, const char *tenant,
                     const char *id, cache_admin_done done, void *arg)
{
    milvus_backend *b = (milvus_backend *)cb;
    admin_job *j = calloc(1, sizeof *j);
    if (!j || (tenant && !(j->tenant = strdup(tenant)))) {
        free(j);
        cache_admin_result r = {.status = CACHE_STATUS_ERROR, .total = -1, .err = "out of memory", .reason = "out_of_memory"};
        done(arg, &r);
        return;
    }
    j->b = b;
    j->op = op;
    j->done = done;
    j->arg = arg;
    j->total = -1;
    buf_init(&j->lines);
    j->step = op == CACHE_ADMIN_LIST ? ADMIN_STEP_PAGE : ADMIN_STEP_COUNT;
    if (op == CACHE_ADMIN_EVICT) {
        unsigned char raw[32];
        if (codec_hex_decode_exact(id, 32, raw)) { /* admin.c checks it first: never a filter of junk */
            admin_error(j, "invalid_id", "an entry id is the 64 hex digits of its exact_key");
            return;
        }
        codec_hex_encode(raw, 32, j->id);
    }
    if (!(j->L = loop_of(b, loop))) {
        admin_error(j, "overloaded", "no event loop slot for Milvus calls on this worker");
        return;
    }
    admin_step_start(j);
}

/* ------------------------------------------------------------------ store */

static void flush_stores(milvus_backend *b, mv_loop *L);

static void finish_batch(pending_store *p, cache_status st)
{
    while (p) {
        pending_store *n = p->next;
        if (p->done) p->done(p->arg, st);
        buf_free(&p->row);
        free(p);
        p = n;
    }
}

static void store_done(mv_call *c, mv_answer *a, const char *transport)
{
    milvus_backend *b = c->b;
    mv_loop *L = c->L;
    L->upsert_inflight = 0;
    int n = 0;
    for (pending_store *p = c->batch; p; p = p->next) n++;
    if (a->error != MV_OK) {
        answer_failure(b, "upsert", a, transport);
        for (int i = 0; i < n; i++) count_op(b, "add_entry", "error");
        finish_batch(c->batch, CACHE_STATUS_ERROR);
    } else {
        set_healthy(b, 1);
        for (int i = 0; i < n; i++) count_op(b, "add_entry", "success");
        finish_batch(c->batch, CACHE_STATUS_OK);
    }
    c->batch = NULL;
    if (L->pending) flush_stores(b, L);
}

static void flush_stores(milvus_backend *b, mv_loop *L)
{
    if (L->upsert_inflight || !L->pending) return;
    pending_store *batch = L->pending;
    L->pending = L->pending_tail = NULL;
    L->n_pending = 0;
    if (!atomic_load(&b->healthy) || L->inflight >= b->max_inflight) {
        int n = 0;
        for (pending_store *p = batch; p; p = p->next) n++;
        failure(b, "upsert", atomic_load(&b->healthy) ? "overloaded" : "degraded", "%d stores skipped", n);
        for (int i = 0; i < n; i++) count_op(b, "add_entry", "error");
        finish_batch(batch, CACHE_STATUS_ERROR);
        return;
    }
    buf body;
    buf_init(&body);
    body_open(b, &body);
    buf_puts(&body, ",\"data\":[");
    for (pending_store *p = batch; p; p = p->next) {
        if (p != batch) buf_putc(&body, ',');
        buf_append(&body, p->row.data, p->row.len);
    }
    buf_puts(&body, "]}");
    mv_call *c = calloc(1, sizeof *c);
    int rc = -1;
    if (c && !body.oom) {
        c->b = b;
        c->L = L;
        c->fn = store_done;
        c->op = "add_entry";
        c->batch = batch;
        rc = call_start(c, "entities/upsert", &body);
    }
    buf_free(&body);
    if (rc) {
        free(c);
        failure(b, "upsert", "transport", "could not start the HTTP call");
        finish_batch(batch, CACHE_STATUS_ERROR);
        return;
    }
    L->upsert_inflight = 1;
}

static void mv_store(cache_backend *cb, struct event_base *loop, const cache_request *r, const char *query_text,
                     const char *body, size_t len, cache_store_done done, void *arg)
{
    milvus_backend_store_at(cb, loop, r, query_text, body, len, util_unix_time(), done, arg);
}

void milvus_backend_store_at(cache_backend *cb, struct event_base *loop, const cache_request *r,
                             const char *query_text, const char *body, size_t len, int64_t created_at,
                             cache_store_done done, void *arg)
{
    milvus_backend *b = (milvus_backend *)cb;
    mv_loop *L = loop_of(b, loop);
    if (!r->exact_key || !r->partition_key || strlen(r->exact_key) != 64 || !body) {
        count_op(b, "add_entry", "error");
        if (done) done(arg, CACHE_STATUS_ERROR);
        return;
    }
    if (!loop_admit(b, L, "upsert") || L->n_pending >= MAX_PENDING_STORES) {
        count_op(b, "add_entry", "error");
        if (done) done(arg, CACHE_STATUS_ERROR);
        return;
    }
    buf enc;
    buf_init(&enc);
    int encoding = mv_body_encode(body, len, 65535, &enc);
    if (encoding < 0) {
        buf_free(&enc);
        count_op(b, "add_entry", "skipped");
        if (b->m) metrics_inc(b->m->cache_backend_errors, METRICS_LABELS("milvus", "too_large"));
        log_debug("milvus: answer of %zu bytes does not fit a VarChar even compressed; not stored", len);
        if (done) done(arg, CACHE_STATUS_SKIPPED);
        return;
    }
    pending_store *p = calloc(1, sizeof *p);
    if (!p) {
        buf_free(&enc);
        if (done) done(arg, CACHE_STATUS_ERROR);
        return;
    }
    int64_t now = created_at;
    mv_row row = {0};
    row.id = r->exact_key;
    row.partition = r->partition_key;
    row.tenant = r->tenant ? r->tenant : "";
    row.embedding_model = b->model_id;
    row.query_text = query_text;
    row.query_len = query_text ? strlen(query_text) : 0;
    row.body = enc.data;
    row.body_len = enc.len;
    row.body_encoding = encoding;
    row.vec = r->query_vec;
    row.dim = b->dim;
    row.n_context = r->n_context;
    row.context_vecs = r->context_vecs;
    row.context_texts = r->context_texts;
    row.context_lens = r->context_lens;
    row.context_roles = r->context_roles;
    row.created_at = now;
    row.expires_at = b->ttl > 0 ? now + b->ttl : NO_EXPIRY;
    buf_init(&p->row);
    int rc = mv_put_row(&p->row, &row, b->vector_field);
    buf_free(&enc);
    if (rc || p->row.len > (8u << 20)) {
        buf_free(&p->row);
        free(p);
        count_op(b, "add_entry", "skipped");
        if (b->m) metrics_inc(b->m->cache_backend_errors, METRICS_LABELS("milvus", "too_large"));
        if (done) done(arg, CACHE_STATUS_SKIPPED);
        return;
    }
    p->done = done;
    p->arg = arg;
    if (L->pending_tail) L->pending_tail->next = p;
    else L->pending = p;
    L->pending_tail = p;
    L->n_pending++;
    flush_stores(b, L);
}

/* ------------------------------------------------------------------ open / close */

static int mv_healthy(cache_backend *cb)
{
    return atomic_load(&((milvus_backend *)cb)->healthy);
}

static void mv_close(cache_backend *cb)
{
    milvus_backend *b = (milvus_backend *)cb;
    if (!b) return;
    if (b->have_thread) {
        pthread_mutex_lock(&b->stop_lock);
        b->stop = 1;
        pthread_cond_signal(&b->stop_cond);
        pthread_mutex_unlock(&b->stop_lock);
        pthread_join(b->thread, NULL);
    }
    for (int i = 0; i < b->n_loops; i++) {
        mv_loop *L = b->loops[i];
        upstream_client_free(L->http); /* cancels what is in flight: no callbacks */
        pending_store *p = L->pending;
        while (p) {
            pending_store *n = p->next;
            buf_free(&p->row);
            free(p);
            p = n;
        }
        free(L);
    }
    if (b->easy) curl_easy_cleanup(b->easy);
    curl_slist_free_all(b->slist);
    curl_slist_free_all(b->op_slist);
    for (int i = 0; i < 6; i++) {
        free(b->headers_store[i]);
        free(b->op_headers_store[i]);
    }
    free(b->db);
    free(b->collection);
    free(b->vector_field);
    free(b->metric);
    free(b->index_type);
    free(b->consistency);
    free(b->description);
    free(b->model_id);
    free(b->ca_file);
    free(b->cert_file);
    free(b->key_file);
    pthread_mutex_destroy(&b->lock);
    pthread_mutex_destroy(&b->easy_lock);
    pthread_mutex_destroy(&b->stop_lock);
    pthread_cond_destroy(&b->stop_cond);
    free(b);
}

static const cache_backend_ops milvus_ops = {
    .name = "milvus",
    .lookup = mv_lookup,
    .store = mv_store,
    .healthy = mv_healthy,
    .close = mv_close,
    .admin = mv_admin,
};

static char *dup_or(const char *s, const char *def)
{
    return strdup(s && *s ? s : def);
}

static char *upper(char *s)
{
    for (char *p = s; p && *p; p++)
        if (*p >= 'a' && *p <= 'z') *p = (char)(*p - 32);
    return s;
}

static void curl_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

cache_backend *milvus_backend_open(const milvus_options *o, int *degraded, char *err, size_t errlen)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, curl_once);
    if (degraded) *degraded = 0;
    const sr_milvus_config *cfg = o->cfg;
    if (!cfg || (o->dim <= 0 && !o->inspect)) {
        snprintf(err, errlen, "milvus backend needs the Milvus config and the embedding dimension");
        return NULL;
    }
    if (cfg->collection.vector_field.dimension > 0 && cfg->collection.vector_field.dimension != o->dim) {
        snprintf(err, errlen,
                 "%s: collection.vector_field.dimension is %d but the embedding model %s makes %d-d vectors "
                 "(set it to 0 or %d)",
                 cfg->path ? cfg->path : "milvus config", cfg->collection.vector_field.dimension,
                 o->embedding_model_id ? o->embedding_model_id : "", o->dim, o->dim);
        return NULL;
    }
    milvus_backend *b = calloc(1, sizeof *b);
    if (!b) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    b->base.ops = &milvus_ops;
    pthread_mutex_init(&b->lock, NULL);
    pthread_mutex_init(&b->easy_lock, NULL);
    pthread_mutex_init(&b->stop_lock, NULL);
    pthread_cond_init(&b->stop_cond, NULL);
    if (cfg->connection.uri && *cfg->connection.uri) {
        snprintf(b->url, sizeof b->url, "%s", cfg->connection.uri);
    } else {
        snprintf(b->url, sizeof b->url, "%s://%s:%d", cfg->connection.tls.enabled ? "https" : "http",
                 cfg->connection.host, cfg->connection.port);
    }
    size_t ul = strlen(b->url);
    while (ul && b->url[ul - 1] == '/') b->url[--ul] = 0;
    b->db = dup_or(cfg->connection.database, "default");
    b->collection = dup_or(cfg->collection.name, "semantic_cache");
    b->description = dup_or(cfg->collection.description, "semrouter semantic cache");
    b->vector_field = dup_or(cfg->collection.vector_field.name, "embedding");
    b->metric = upper(dup_or(cfg->collection.vector_field.metric_type, "IP"));
    b->index_type = upper(dup_or(cfg->collection.index.type, "HNSW"));
    b->consistency = dup_or(cfg->search.consistency_level, "Session");
    /* canonical spelling: the server's enum is case-sensitive */
    static const char *levels[] = {"Strong", "Session", "Bounded", "Eventually"};
    for (int i = 0; i < 4; i++)
        if (!strcasecmp(b->consistency, levels[i])) {
            free(b->consistency);
            b->consistency = strdup(levels[i]);
        }
    b->index_m = cfg->collection.index.m > 0 ? cfg->collection.index.m : 16;
    b->index_efc = cfg->collection.index.ef_construction > 0 ? cfg->collection.index.ef_construction : 64;
    b->ef = cfg->search.ef > 0 ? cfg->search.ef : 64;
    b->topk = cfg->search.topk > 0 ? cfg->search.topk : 10;
    b->dim = o->dim;
    b->model_id = dup_or(o->embedding_model_id, "none");
    b->ttl = o->ttl_seconds;
    b->timeout_ms = (cfg->connection.timeout > 0 ? cfg->connection.timeout : 30) * 1000L;
    b->op_timeout_ms = cfg->search.timeout_ms > 0 ? cfg->search.timeout_ms : 1000;
    b->keepalive_idle_s = o->keepalive_idle_s > 0 ? o->keepalive_idle_s : UPSTREAM_KEEPALIVE_IDLE_S;
    b->keepalive_lifetime_s = o->keepalive_lifetime_s > 0 ? o->keepalive_lifetime_s : 0;
    b->cleanup_interval = cfg->cleanup_interval;
    b->auto_create = cfg->development.auto_create_collection;
    b->drop_on_start = o->inspect ? 0 : cfg->development.drop_collection_on_startup;
    b->inspect = o->inspect;
    b->m = o->metrics;
    b->max_inflight = o->max_inflight > 0 ? o->max_inflight : 64;
    if (cfg->connection.tls.enabled) {
        if (cfg->connection.tls.ca_file && *cfg->connection.tls.ca_file) b->ca_file = strdup(cfg->connection.tls.ca_file);
        if (cfg->connection.tls.cert_file && *cfg->connection.tls.cert_file)
            b->cert_file = strdup(cfg->connection.tls.cert_file);
        if (cfg->connection.tls.key_file && *cfg->connection.tls.key_file) b->key_file = strdup(cfg->connection.tls.key_file);
    }
    /* headers: blocking calls carry connection.timeout, request-path calls their own */
    char auth[1200] = "";
    if (cfg->connection.token && *cfg->connection.token)
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", cfg->connection.token);
    else if (cfg->connection.auth.enabled)
        snprintf(auth, sizeof auth, "Authorization: Bearer %s:%s", cfg->connection.auth.username,
                 cfg->connection.auth.password ? cfg->connection.auth.password : "");
    char rt[64], ort[64];
    snprintf(rt, sizeof rt, "Request-Timeout: %ld", (b->timeout_ms + 999) / 1000);
    snprintf(ort, sizeof ort, "Request-Timeout: %ld", (b->op_timeout_ms + 999) / 1000);
    const char *common[] = {"Content-Type: application/json", "Accept-Type-Allow-Int64: true"};
    int n = 0;
    for (int i = 0; i < 2; i++) {
        b->headers_store[n] = strdup(common[i]);
        b->op_headers_store[n] = strdup(common[i]);
        n++;
    }
    b->headers_store[n] = strdup(rt);
    b->op_headers_store[n] = strdup(ort);
    n++;
    if (auth[0]) {
        b->headers_store[n] = strdup(auth);
        b->op_headers_store[n] = strdup(auth);
        n++;
    }
    for (int i = 0; i < n; i++) {
        b->headers[i] = b->headers_store[i];
        b->op_headers[i] = b->op_headers_store[i];
        b->slist = curl_slist_append(b->slist, b->headers_store[i]);
    }
    b->slist = curl_slist_append(b->slist, "Expect:");
    atomic_init(&b->healthy, 0);
    atomic_init(&b->need_bootstrap, 1);
    char berr[512] = "";
    int rc = bootstrap(b, 1, berr, sizeof berr);
    if (rc == -2) {
        snprintf(err, errlen, "%s", berr);
        mv_close(&b->base);
        return NULL;
    }
    if (rc == 0) {
        atomic_store(&b->need_bootstrap, 0);
        atomic_store(&b->healthy, 1);
        if (b->m) metrics_set(b->m->cache_backend_healthy, METRICS_LABELS("milvus"), 1);
        log_info("milvus: cache ready: collection %s in database %s at %s (%d-d %s)", b->collection, b->db,
                 b->url, b->dim, b->metric);
    } else {
        set_healthy(b, 0);
        if (degraded) *degraded = 1;
        snprintf(err, errlen, "%s", berr);
    }
    if (!o->no_thread) {
        if (pthread_create(&b->thread, NULL, maintenance, b) == 0) b->have_thread = 1;
        else log_error("milvus: maintenance thread not started: %s", strerror(errno));
    }
    return &b->base;
}

const char *milvus_backend_vector_field(cache_backend *cb)
{
    return ((milvus_backend *)cb)->vector_field;
}

const char *milvus_backend_url(cache_backend *cb)
{
    return ((milvus_backend *)cb)->url;
}

/* ------------------------------------------------------------------ scan (hybrid) */

#define SCAN_PAGE 1000

typedef struct scan_state {
    milvus_backend *b;
    const char *base; /* filter without the id prefix */
    milvus_row_fn fn;
    void *arg;
    progress *prog;
    long long n;
    char *err;
    size_t errlen;
} scan_state;

/* Rows whose id starts with prefix (hex): one query; when it comes back full the
 * prefix is split in 16 (ids are SHA-256 hex, spread evenly), so no page is ever
 * cut and no order of the answer is relied on. 0, or -1 with err. */
static int scan_prefix(scan_state *st, const char *prefix)
{
    milvus_backend *b = st->b;
    size_t pl = strlen(prefix);
    buf body, f;
    buf_init(&body);
    buf_init(&f);
    buf_puts(&f, st->base);
    if (pl) {
        buf_puts(&f, " and id like ");
        char lit[80];
        snprintf(lit, sizeof lit, "%s%%", prefix);
        mv_filter_literal(&f, lit, strlen(lit));
    }
    body_open(b, &body);
    buf_puts(&body, ",\"filter\":");
    buf_json_str(&body, f.data, f.len);
    buf_puts(&body, ",\"outputFields\":[\"partition_hash\",\"tenant\",\"query_text\",\"context\",\"n_context\","
                    "\"conversation\",\"semantic\",\"created_at\",\"expires_at\",");
    buf_json_str(&body, b->vector_field, strlen(b->vector_field));
    buf_printf(&body, "],\"limit\":%d}", SCAN_PAGE);
    buf_free(&f);
    mv_answer a;
    int rc = body.oom ? -1 : sync_call(b, "entities/query", &body, &a);
    buf_free(&body);
    if (rc || !cJSON_IsArray(a.data)) {
        snprintf(st->err, st->errlen, "query of the rows failed: %s (HTTP %d, code %d)",
                 rc ? answer_reason(&a) : "not an array", a.http_status, a.code);
        mv_answer_free(&a);
        return -1;
    }
    int n = cJSON_GetArraySize(a.data);
    if (n >= SCAN_PAGE && pl < 16) {
        mv_answer_free(&a);
        char sub[24];
        for (int i = 0; i < 16; i++) {
            snprintf(sub, sizeof sub, "%s%x", prefix, (unsigned)i); /* the next hex digit, as the ids write it */
            if (scan_prefix(st, sub)) return -1;
        }
        return 0;
    }
    const cJSON *row;
    cJSON_ArrayForEach(row, a.data)
    {
        if (st->fn(st->arg, row) == 0) st->n++;
        progress_add(st->prog, 1);
    }
    mv_answer_free(&a);
    return 0;
}

long long milvus_backend_scan(cache_backend *cb, int64_t created_from, milvus_row_fn fn, void *arg,
                              const char *progress_label, char *err, size_t errlen)
{
    milvus_backend *b = (milvus_backend *)cb;
    char base[160];
    int64_t now = util_unix_time();
    if (created_from > 0)
        snprintf(base, sizeof base, "expires_at > %lld and created_at >= %lld", (long long)now,
                 (long long)created_from);
    else
        snprintf(base, sizeof base, "expires_at > %lld", (long long)now);
    /* the count says how finely to split the id space from the start */
    buf body;
    buf_init(&body);
    body_open(b, &body);
    buf_puts(&body, ",\"filter\":");
    buf_json_str(&body, base, strlen(base));
    buf_puts(&body, ",\"outputFields\":[\"count(*)\"]}");
    mv_answer a;
    int rc = sync_call(b, "entities/query", &body, &a);
    buf_free(&body);
    int64_t total = 0;
    if (rc || mv_int64(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(a.data, 0), "count(*)"), &total)) {
        snprintf(err, errlen, "count of the rows failed: %s (HTTP %d, code %d)", rc ? answer_reason(&a) : "no count",
                 a.http_status, a.code);
        mv_answer_free(&a);
        return -1;
    }
    mv_answer_free(&a);
    if (total == 0) return 0;
    scan_state st = {b, base, fn, arg, NULL, 0, err, errlen};
    st.prog = progress_label ? progress_new(progress_label, (uint64_t)total, "entries") : NULL;
    int depth = 0;
    for (int64_t t = total; t > SCAN_PAGE / 2 && depth < 6; t /= 16) depth++;
    int out = 0;
    if (!depth) {
        out = scan_prefix(&st, "");
    } else {
        char prefix[8];
        long n_prefix = 1L << (4 * depth);
        for (long i = 0; i < n_prefix && !out; i++) {
            snprintf(prefix, sizeof prefix, "%0*lx", depth, i);
            out = scan_prefix(&st, prefix);
        }
    }
    if (out) {
        progress_abort(st.prog);
        return -1;
    }
    progress_done(st.prog, "%lld entries", st.n);
    return st.n;
}

/* ------------------------------------------------------------------ CLI helpers */

static void tenant_filter(buf *f, const char *tenant)
{
    if (tenant) {
        buf_puts(f, "tenant == ");
        mv_filter_literal(f, tenant, strlen(tenant));
    } else {
        buf_puts(f, "id != \"\"");
    }
}

long long milvus_backend_count(cache_backend *cb, const char *tenant, char *err, size_t errlen)
{
    milvus_backend *b = (milvus_backend *)cb;
    buf body, f;
    buf_init(&body);
    buf_init(&f);
    body_open(b, &body);
    tenant_filter(&f, tenant);
    buf_printf(&f, " and expires_at > %lld", (long long)util_unix_time());
    buf_puts(&body, ",\"filter\":");
    buf_json_str(&body, f.data, f.len);
    buf_puts(&body, ",\"outputFields\":[\"count(*)\"]}");
    buf_free(&f);
    mv_answer a;
    int rc = sync_call(b, "entities/query", &body, &a);
    buf_free(&body);
    long long n = -1;
    int64_t c;
    if (rc)
        snprintf(err, errlen, "count failed: %s (HTTP %d, code %d)", answer_reason(&a), a.http_status, a.code);
    else if (mv_int64(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(a.data, 0), "count(*)"), &c) == 0)
        n = c;
    else
        snprintf(err, errlen, "count: unexpected answer");
    mv_answer_free(&a);
    return n;
}

long long milvus_backend_clear(cache_backend *cb, const char *tenant, char *err, size_t errlen)
{
    milvus_backend *b = (milvus_backend *)cb;
    long long before = milvus_backend_count(cb, tenant, err, errlen);
    buf f;
    buf_init(&f);
    tenant_filter(&f, tenant);
    long long n = delete_where(b, f.data, err, errlen);
    buf_free(&f);
    if (n < 0) return -1;
    return n > 0 ? n : before > 0 ? before : 0;
}

int milvus_cli(const char *cmd, const char *config_path, const char *tenant, int json)
{
    config_errors errs;
    config_errors_init(&errs);
    sr_config *cfg = config_load(config_path, &errs);
    if (!cfg) {
        fprintf(stderr, "semrouter cache %s: %s is not valid:\n", cmd, config_path);
        config_errors_print(&errs, stderr);
        config_errors_free(&errs);
        return 1;
    }
    config_errors_free(&errs);
    const sr_semantic_cache_config *sc = &cfg->semantic_cache;
    if ((sc->backend_type != SR_CACHE_MILVUS && sc->backend_type != SR_CACHE_HYBRID) || !sc->milvus) {
        fprintf(stderr, "semrouter cache %s: %s does not use backend_type milvus or hybrid (use -p PERSIST_PATH)\n", cmd,
                config_path);
        config_release(cfg);
        return 2;
    }
    milvus_options o = {0};
    o.cfg = sc->milvus;
    o.keepalive_idle_s = cfg->server.upstream_keepalive_idle_seconds;
    o.keepalive_lifetime_s = cfg->server.upstream_keepalive_lifetime_seconds;
    o.no_thread = 1;
    o.inspect = 1;
    int degraded = 0;
    char err[512] = "";
    cache_backend *cb = milvus_backend_open(&o, &degraded, err, sizeof err);
    int rc = 0;
    if (!cb || degraded) {
        fprintf(stderr, "semrouter cache %s: %s\n", cmd, err);
        if (cb) cb->ops->close(cb);
        config_release(cfg);
        return 1;
    }
    milvus_backend *b = (milvus_backend *)cb;
    if (!strcmp(cmd, "stats")) {
        long long n = milvus_backend_count(cb, tenant, err, sizeof err);
        if (n < 0) {
            fprintf(stderr, "semrouter cache stats: %s\n", err);
            rc = 1;
        } else if (json) {
            printf("{\"backend\":\"milvus\",\"url\":\"%s\",\"database\":\"%s\",\"collection\":\"%s\",\"dim\":%d,"
                   "\"live_entries\":%lld}\n",
                   b->url, b->db, b->collection, b->dim, n);
        } else {
            printf("backend      milvus at %s, database %s, collection %s (%d-d %s)\n", b->url, b->db, b->collection,
                   b->dim, b->metric);
            printf("entries      %lld live%s%s\n", n, tenant ? " of tenant " : "", tenant ? tenant : "");
        }
    } else if (!strcmp(cmd, "clear")) {
        long long n = milvus_backend_clear(cb, tenant, err, sizeof err);
        if (n < 0) {
            fprintf(stderr, "semrouter cache clear: %s\n", err);
            rc = 1;
        } else {
            printf("removed %lld entries from %s\n", n, b->collection);
        }
    } else if (!strcmp(cmd, "purge")) {
        long long n = milvus_backend_purge_expired(cb, err, sizeof err);
        if (n < 0) {
            fprintf(stderr, "semrouter cache purge: %s\n", err);
            rc = 1;
        } else {
            printf("removed %lld expired entries from %s\n", n, b->collection);
        }
    } else {
        fprintf(stderr, "semrouter cache %s: not available for the milvus backend (stats, clear, purge are)\n", cmd);
        rc = 2;
    }
    cb->ops->close(cb);
    config_release(cfg);
    return rc;
}
