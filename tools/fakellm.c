/* fakellm.c - a deterministic OpenAI-compatible model server for tests, benchmarks and the demo.
 *
 * It speaks the parts of the OpenAI HTTP API that semrouter forwards to (chat completions, stream
 * and non-stream, tool calls, reasoning_content, usage; embeddings; model list) and answers from a
 * hash of the request, so the same request always gets the same answer and a test can tell which
 * model answered ("[model] word word ..."). Delays (before headers, time to first token, between
 * tokens) run on libevent timers, never sleep(), so one thread serves many slow streams at once.
 * Faults (error status with or without Retry-After, fail the first N requests, cut a stream after N
 * chunks, a 200 whose body is not JSON) are set by flags or
 * at run time through POST /admin/faults, so one process can serve a whole test file; the admin
 * endpoints also count requests and show the last chat request exactly as it arrived.
 *
 * Threads: each thread has its own event_base, evhttp and SO_REUSEPORT listening socket on the
 * same port (the kernel spreads connections); shared state is the fault settings (mutex, copied
 * once per request), the counters (atomics) and the last request (mutex, pointer swap). */
#include "core/openai_error.h"
#include "core/buf.h"
#include "core/codec.h"
#include "core/util.h"

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#define FAKELLM_MAX_MODELS 32
#define FAKELLM_MAX_THREADS 64
#define FAKELLM_MAX_TOKENS 100000
#define FAKELLM_MAX_DELAY_MS 3600000
#define FAKELLM_MAX_EMBED_DIM 8192
#define FAKELLM_MAX_EMBED_INPUTS 4096
#define FAKELLM_MAX_BODY (32u << 20)
#define FAKELLM_REASONING_TOKENS 8

/* ---- settings ---------------------------------------------------------------------------- */

/* What a request experiences. Set from flags at start, replaced by POST /admin/faults, and
 * overridable per request through x-fakellm-* headers. 0 means "off" for every field. */
typedef struct fakellm_faults {
    int fail_status;      /* answer with this HTTP status and an OpenAI error body */
    int fail_first;       /* faults hit only the first N model requests (0 = every request) */
    int delay_ms;         /* before the response headers */
    int ttft_ms;          /* before the first token (non-stream: before the whole response) */
    int token_ms;         /* between tokens */
    int disconnect_after; /* stream: close after N token chunks; non-stream: close, no answer */
    int tokens;           /* content words per answer */
    int retry_after;      /* with fail_status: a Retry-After header of this many seconds */
    int malformed;        /* non-stream: answer 200 with the first half of the JSON (not JSON) */
} fakellm_faults;

static struct {
    const char *host;
    int port;
    int threads;
    int embed_dim;
    int strict_models;
    int quiet;
    const char *models[FAKELLM_MAX_MODELS];
    int n_models;
    fakellm_faults startup; /* from the command line; /admin/reset returns to it */
} opt = {"127.0.0.1", -1, 1, 64, 0, 0, {0}, 0, {0, 0, 0, 0, 0, 0, 16, 0, 0}};

/* ---- shared state -------------------------------------------------------------------------- */

static pthread_mutex_t faults_lock = PTHREAD_MUTEX_INITIALIZER;
static fakellm_faults faults_now; /* guarded by faults_lock */
/* Model requests seen since the faults were last set; fail_first compares against it. */
static atomic_long fault_seq;

enum {
    STAT_REQUESTS, /* every request except the admin endpoints */
    STAT_CHAT,
    STAT_STREAM,
    STAT_EMBEDDING,
    STAT_MODELS,
    STAT_HEALTH,
    STAT_BAD,                /* answered 4xx because the request was invalid */
    STAT_FAULTS,             /* answered with an injected status */
    STAT_DISCONNECTS,        /* connections cut on purpose */
    STAT_CLIENT_DISCONNECTS, /* clients that left before the answer was complete */
    STAT_ACTIVE,             /* delayed or streaming answers in flight */
    STAT_CONNECTIONS,        /* TCP connections accepted (a kept-alive one counts once) */
    STAT_COUNT
};
static const char *stat_names[STAT_COUNT] = {
    "requests",        "chat_requests",      "stream_requests", "embedding_requests",
    "models_requests", "health_requests",    "bad_requests",    "faults_injected",
    "disconnects",     "client_disconnects", "active",          "connections"};
static atomic_long stats[STAT_COUNT];
static atomic_long completion_seq; /* ids: chatcmpl-fake<seq> */

/* Last chat request: headers as a JSON object and the raw body. Swapped under the lock. */
static pthread_mutex_t last_lock = PTHREAD_MUTEX_INITIALIZER;
static char *last_headers_json, *last_body, *last_path;
static size_t last_body_len;

static struct event_base *bases[FAKELLM_MAX_THREADS];
static int n_bases;

static void stat_add(int which, long n)
{
    atomic_fetch_add_explicit(&stats[which], n, memory_order_relaxed);
}

static void faults_get(fakellm_faults *out)
{
    pthread_mutex_lock(&faults_lock);
    *out = faults_now;
    pthread_mutex_unlock(&faults_lock);
}

static void faults_set(const fakellm_faults *f)
{
    pthread_mutex_lock(&faults_lock);
    faults_now = *f;
    atomic_store(&fault_seq, 0);
    pthread_mutex_unlock(&faults_lock);
}

/* ---- small helpers ----------------------------------------------------------------------- */

static const char *status_reason(int code)
{
    switch (code) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 413:
        return "Payload Too Large";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return code < 400 ? "OK" : code < 500 ? "Client Error" : "Server Error";
    }
}

static uint64_t fnv1a(const void *p, size_t n, uint64_t h)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 0x100000001b3ull;
    return h;
}
#define FNV_SEED 0xcbf29ce484222325ull

static uint64_t splitmix(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static const char *const vocab[64] = {
    "alpha",   "bright",  "cloud",   "delta",   "eager",   "forest", "garden", "harbor",
    "island",  "jungle",  "kettle",  "lantern", "meadow",  "north",  "ocean",  "pebble",
    "quiet",   "river",   "stone",   "timber",  "upper",   "valley", "willow", "yellow",
    "zephyr",  "amber",   "basket",  "candle",  "dragon",  "ember",  "falcon", "glacier",
    "hollow",  "ivory",   "jasmine", "kernel",  "lemon",   "marble", "nectar", "orbit",
    "prairie", "quartz",  "ribbon",  "silver",  "thunder", "umbra",  "velvet", "walnut",
    "xenon",   "yonder",  "zenith",  "arrow",   "breeze",  "copper", "dune",   "echo",
    "fable",   "granite", "horizon", "indigo",  "jade",    "kite",   "linen",  "mosaic"};

/* Counts whitespace-separated words. */
static long count_words(const char *s, size_t n)
{
    long w = 0;
    int in = 0;
    for (size_t i = 0; i < n; i++) {
        int sp = isspace((unsigned char)s[i]);
        if (!sp && !in) w++;
        in = !sp;
    }
    return w;
}

/* Text of a message content: a string, or an array of parts whose "text" fields are joined with
 * a space. Appends to out; returns the number of words. */
static long content_text(const cJSON *content, buf *out)
{
    long words = 0;
    if (cJSON_IsString(content)) {
        size_t n = strlen(content->valuestring);
        if (out) buf_append(out, content->valuestring, n);
        return count_words(content->valuestring, n);
    }
    if (!cJSON_IsArray(content)) return 0;
    const cJSON *part;
    cJSON_ArrayForEach(part, content)
    {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(part, "text");
        if (!cJSON_IsString(t)) continue;
        size_t n = strlen(t->valuestring);
        if (out) {
            if (out->len) buf_putc(out, ' ');
            buf_append(out, t->valuestring, n);
        }
        words += count_words(t->valuestring, n);
    }
    return words;
}

static int json_truthy(const cJSON *v)
{
    if (!v) return 0;
    if (cJSON_IsBool(v)) return cJSON_IsTrue(v);
    if (cJSON_IsNumber(v)) return v->valuedouble != 0;
    if (cJSON_IsString(v)) return v->valuestring[0] && strcmp(v->valuestring, "none") != 0;
    return 0;
}

/* ---- HTTP replies -------------------------------------------------------------------------- */

static void reply_body(struct evhttp_request *req, int status, const char *ctype, const char *body,
                       size_t len)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", ctype);
    struct evbuffer *out = evbuffer_new();
    if (out) evbuffer_add(out, body, len);
    evhttp_send_reply(req, status, status_reason(status), out);
    if (out) evbuffer_free(out);
}

static void reply_json(struct evhttp_request *req, int status, const buf *b)
{
    if (b->oom) {
        static const char oom[] = "{\"error\":{\"message\":\"fakellm: out of memory\",\"type\":"
                                  "\"server_error\",\"param\":null,\"code\":null}}";
        reply_body(req, 500, "application/json", oom, sizeof oom - 1);
        return;
    }
    reply_body(req, status, "application/json", b->data ? b->data : "", b->len);
}

static void reply_error(struct evhttp_request *req, int status, const char *message,
                        const char *param, const char *code)
{
    buf b;
    buf_init(&b);
    api_error_json(&b, message, api_error_type_for_status(status), param, code);
    reply_json(req, status, &b);
    buf_free(&b);
    if (status >= 400 && status < 500) stat_add(STAT_BAD, 1);
}

/* ---- deferred answers (delays, streams, cuts) ------------------------------------------------ */

/* One SSE event (or, non-stream, the whole body) and the pause before it is sent. */
typedef struct pending_event {
    size_t off, len;
    int delay_ms;
    int is_token; /* counts toward disconnect_after */
} pending_event;

/* A response that is not answered inside the request callback. Owned by this module; freed by
 * pending_free() exactly once: when the answer is complete, when we cut the connection, or from
 * the connection close callback when the client goes away first. */
typedef struct pending {
    struct evhttp_request *req;
    struct evhttp_connection *conn;
    struct event *timer;
    struct event *watch; /* EOF watch on the socket while nothing has been written */
    int stream;          /* SSE answer: headers sent before event 0 */
    int status;          /* non-stream status */
    int started;         /* stream headers sent */
    int next;            /* next event to send */
    int tokens_sent;     /* token events sent */
    int cut_after;       /* cut after this many token events (0 = never) */
    int cut_now;         /* cut the connection on the next timer tick */
    int delay_headers;   /* stream: ms before the headers */
    buf data;            /* the bytes of every event */
    pending_event *ev;
    int n_ev, cap_ev;
} pending;

static void pending_free(pending *p)
{
    if (p->timer) event_free(p->timer);
    if (p->watch) event_free(p->watch);
    buf_free(&p->data);
    free(p->ev);
    free(p);
    stat_add(STAT_ACTIVE, -1);
}

static int pending_add_event(pending *p, size_t off, int delay_ms, int is_token)
{
    if (p->n_ev == p->cap_ev) {
        int cap = p->cap_ev ? 2 * p->cap_ev : 32;
        pending_event *e = realloc(p->ev, (size_t)cap * sizeof *e);
        if (!e) return -1;
        p->ev = e;
        p->cap_ev = cap;
    }
    p->ev[p->n_ev++] = (pending_event){off, p->data.len - off, delay_ms, is_token};
    return 0;
}

static void pending_step(pending *p);

static void pending_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    pending_step(arg);
}

/* The client (or an I/O error) closed the connection first. libevent detaches a request it has
 * not seen completed (req->evcon = NULL) before freeing the connection; such a request is ours
 * to free. A request still attached is freed by libevent right after this callback. */
static void pending_close_cb(struct evhttp_connection *conn, void *arg)
{
    (void)conn;
    pending *p = arg;
    stat_add(STAT_CLIENT_DISCONNECTS, 1);
    if (evhttp_request_get_connection(p->req) == NULL) evhttp_request_free(p->req);
    pending_free(p);
}

/* Called by libevent once the chunk that reached disconnect_after has left the output buffer:
 * the cut happens on the next loop turn, outside libevent's write callback. */
static void pending_flushed_cb(struct evhttp_connection *conn, void *arg)
{
    (void)conn;
    pending *p = arg;
    p->cut_now = 1;
    struct timeval tv = {0, 0};
    evtimer_add(p->timer, &tv);
}

/* libevent stops reading a connection once a request is read and only notices a client that
 * left when the answer is written, so while an answer waits we watch the socket ourselves: EOF
 * (or an error) means the client is gone and the connection is dropped now; pipelined bytes mean
 * it is alive and the watch ends. */
static void pending_watch_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    pending *p = arg;
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0) return;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        event_add(p->watch, NULL);
        return;
    }
    stat_add(STAT_CLIENT_DISCONNECTS, 1);
    evhttp_connection_set_closecb(p->conn, NULL, NULL);
    evhttp_connection_free(p->conn);
    pending_free(p);
}

static void pending_cut(pending *p)
{
    stat_add(STAT_DISCONNECTS, 1);
    evhttp_connection_set_closecb(p->conn, NULL, NULL);
    evhttp_connection_free(p->conn); /* frees p->req too: it is still attached */
    pending_free(p);
}

static void pending_schedule(pending *p, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(p->timer, &tv);
}

/* Sends every event that is due, then schedules the timer for the next one or finishes. */
static void pending_step(pending *p)
{
    if (p->cut_now) {
        pending_cut(p);
        return;
    }
    if (!p->stream) {
        pending_event *e = &p->ev[0];
        if (p->watch) event_del(p->watch);
        evhttp_connection_set_closecb(p->conn, NULL, NULL);
        reply_body(p->req, p->status, "application/json", p->data.data + e->off, e->len);
        pending_free(p);
        return;
    }
    if (!p->started) {
        struct evkeyvalq *h = evhttp_request_get_output_headers(p->req);
        evhttp_add_header(h, "Content-Type", "text/event-stream");
        evhttp_add_header(h, "Cache-Control", "no-cache");
        if (p->watch) event_del(p->watch); /* libevent watches for close while writing */
        evhttp_send_reply_start(p->req, 200, "OK");
        p->started = 1;
    }
    struct evbuffer *chunk = evbuffer_new();
    if (!chunk) {
        pending_cut(p);
        return;
    }
    /* every event that is due goes out in one HTTP chunk: SSE readers split on blank lines, not
     * on chunk boundaries, and a zero-delay stream then costs one write */
    for (;;) {
        if (p->next == p->n_ev) {
            if (evbuffer_get_length(chunk)) evhttp_send_reply_chunk(p->req, chunk);
            evbuffer_free(chunk);
            evhttp_connection_set_closecb(p->conn, NULL, NULL);
            evhttp_send_reply_end(p->req);
            pending_free(p);
            return;
        }
        pending_event *e = &p->ev[p->next];
        p->next++;
        evbuffer_add(chunk, p->data.data + e->off, e->len);
        if (e->is_token) p->tokens_sent++;
        if (p->cut_after && p->tokens_sent == p->cut_after) {
            evhttp_send_reply_chunk_with_cb(p->req, chunk, pending_flushed_cb, p);
            evbuffer_free(chunk);
            return;
        }
        if (p->next < p->n_ev && p->ev[p->next].delay_ms > 0) {
            evhttp_send_reply_chunk(p->req, chunk);
            evbuffer_free(chunk);
            pending_schedule(p, p->ev[p->next].delay_ms);
            return;
        }
    }
}

static pending *pending_new(struct evhttp_request *req)
{
    pending *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->req = req;
    p->conn = evhttp_request_get_connection(req);
    p->timer = evtimer_new(evhttp_connection_get_base(p->conn), pending_timer_cb, p);
    if (!p->timer) {
        free(p);
        return NULL;
    }
    buf_init(&p->data);
    stat_add(STAT_ACTIVE, 1);
    return p;
}

/* Takes over an answer: starts the first timer (or runs now when nothing waits). */
static void pending_start(pending *p, int first_delay_ms)
{
    evhttp_connection_set_closecb(p->conn, pending_close_cb, p);
    if (!p->cut_now && first_delay_ms > 0) {
        evutil_socket_t fd = bufferevent_getfd(evhttp_connection_get_bufferevent(p->conn));
        p->watch = event_new(evhttp_connection_get_base(p->conn), fd, EV_READ, pending_watch_cb, p);
        if (p->watch) event_add(p->watch, NULL);
    }
    if (p->cut_now || first_delay_ms > 0)
        pending_schedule(p, first_delay_ms);
    else
        pending_step(p);
}

/* Answers status+body after delay_ms (or now), or, with cut, closes the connection unanswered. */
static void reply_later(struct evhttp_request *req, int status, const buf *body, int delay_ms,
                        int cut)
{
    if (!cut && delay_ms <= 0) {
        reply_json(req, status, body);
        return;
    }
    pending *p = pending_new(req);
    if (!p) {
        reply_json(req, status, body);
        return;
    }
    p->status = status;
    buf_append(&p->data, body->data ? body->data : "", body->len);
    if (pending_add_event(p, 0, 0, 0) || p->data.oom) {
        pending_free(p);
        reply_error(req, 500, "fakellm: out of memory", NULL, NULL);
        return;
    }
    p->cut_now = cut;
    pending_start(p, delay_ms);
}

/* ---- request context: faults for this request ----------------------------------------------- */

/* The settings for one model request: the current faults, per-request header overrides, and
 * whether this request is one of the first fail_first that should fail. */
static void request_faults(struct evhttp_request *req, fakellm_faults *f, int *fail_status,
                           int *cut_after)
{
    faults_get(f);
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    int v;
    if (!util_parse_int(evhttp_find_header(in, "x-fakellm-ttft-ms"), 0, FAKELLM_MAX_DELAY_MS, &v))
        f->ttft_ms = v;
    if (!util_parse_int(evhttp_find_header(in, "x-fakellm-token-ms"), 0, FAKELLM_MAX_DELAY_MS, &v))
        f->token_ms = v;
    if (!util_parse_int(evhttp_find_header(in, "x-fakellm-delay-ms"), 0, FAKELLM_MAX_DELAY_MS, &v))
        f->delay_ms = v;
    if (!util_parse_int(evhttp_find_header(in, "x-fakellm-tokens"), 1, FAKELLM_MAX_TOKENS, &v))
        f->tokens = v;
    *fail_status = 0;
    *cut_after = 0;
    if (f->fail_status || f->disconnect_after) {
        long seq = atomic_fetch_add(&fault_seq, 1);
        if (f->fail_first == 0 || seq < f->fail_first) {
            *fail_status = f->fail_status;
            *cut_after = f->disconnect_after;
        }
    }
    if (!util_parse_int(evhttp_find_header(in, "x-fakellm-status"), 100, 599, &v) && v != 200)
        *fail_status = v;
    if (!util_parse_int(evhttp_find_header(in, "x-fakellm-disconnect-after"), 0, INT_MAX, &v))
        *cut_after = v;
}

/* Answers with the injected status after the configured delay. */
static void reply_fault(struct evhttp_request *req, int status, const fakellm_faults *f)
{
    char msg[96];
    snprintf(msg, sizeof msg, "fakellm: injected failure (status %d)", status);
    buf b;
    buf_init(&b);
    api_error_json(&b, msg, api_error_type_for_status(status), NULL, "injected_fault");
    stat_add(STAT_FAULTS, 1);
    if (f->retry_after > 0) {
        char v[16];
        snprintf(v, sizeof v, "%d", f->retry_after);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", v);
    }
    reply_later(req, status, &b, f->delay_ms, 0);
    buf_free(&b);
}

/* The request body as one contiguous NUL-terminated block (owned by the request's evbuffer). */
static const char *request_body(struct evhttp_request *req, size_t *len)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    evbuffer_add(in, "", 1); /* NUL for parsers that want one; not counted in len */
    size_t n = evbuffer_get_length(in);
    const char *s = (const char *)evbuffer_pullup(in, -1);
    *len = s ? n - 1 : 0;
    return s ? s : "";
}

/* ---- last request ---------------------------------------------------------------------------- */

static void record_last_request(struct evhttp_request *req, const char *body, size_t len)
{
    buf h;
    buf_init(&h);
    buf_putc(&h, '{');
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    struct evkeyval *kv;
    int first = 1;
    char name[256];
    TAILQ_FOREACH(kv, in, next)
    {
        size_t n = strlen(kv->key);
        if (n >= sizeof name) n = sizeof name - 1;
        for (size_t i = 0; i < n; i++)
            name[i] = (char)tolower((unsigned char)kv->key[i]);
        name[n] = 0;
        /* a repeated header keeps its first position; values are joined with ", " below */
        struct evkeyval *prev;
        int seen = 0;
        TAILQ_FOREACH(prev, in, next)
        {
            if (prev == kv) break;
            if (!strcasecmp(prev->key, kv->key)) seen = 1;
        }
        if (seen) continue;
        if (!first) buf_putc(&h, ',');
        first = 0;
        buf_json_str(&h, name, n);
        buf_putc(&h, ':');
        buf v;
        buf_init(&v);
        struct evkeyval *same = kv;
        for (; same; same = TAILQ_NEXT(same, next)) {
            if (strcasecmp(same->key, kv->key)) continue;
            if (v.len) buf_puts(&v, ", ");
            buf_puts(&v, same->value);
        }
        buf_json_str(&h, v.data ? v.data : "", v.len);
        buf_free(&v);
    }
    buf_putc(&h, '}');
    char *body_copy = malloc(len + 1);
    const char *uri = evhttp_request_get_uri(req);
    char *path = strdup(uri ? uri : "");
    if (h.oom || !body_copy || !path) {
        buf_free(&h);
        free(body_copy);
        free(path);
        return;
    }
    memcpy(body_copy, body, len);
    body_copy[len] = 0;
    char *headers = buf_steal(&h);
    pthread_mutex_lock(&last_lock);
    char *old_h = last_headers_json, *old_b = last_body, *old_p = last_path;
    last_headers_json = headers;
    last_body = body_copy;
    last_body_len = len;
    last_path = path;
    pthread_mutex_unlock(&last_lock);
    free(old_h);
    free(old_b);
    free(old_p);
}

static void clear_last_request(void)
{
    pthread_mutex_lock(&last_lock);
    free(last_headers_json);
    free(last_body);
    free(last_path);
    last_headers_json = last_body = last_path = NULL;
    last_body_len = 0;
    pthread_mutex_unlock(&last_lock);
}

/* ---- chat completions ------------------------------------------------------------------------ */

/* Everything the answer depends on, taken from the request. */
typedef struct chat_plan {
    const char *model;
    char id[40];
    long long created;
    uint64_t seed;       /* hash of the last user message */
    int n_content;       /* content words */
    int n_reasoning;     /* reasoning words (0 = no reasoning_content) */
    const char *tool;    /* tool name to call, or NULL */
    char tool_args[128]; /* its arguments (a JSON object as a string) */
    char tool_id[32];
    const char *finish;
    long prompt_tokens;
    int include_usage;
} chat_plan;

/* The i-th word of the sequence for a seed (i counts from 0). Stateless so stream and non-stream
 * produce identical text. */
static const char *plan_word(uint64_t seed, int i)
{
    uint64_t s = seed + (uint64_t)i * 0x632be59bd9b4e019ull;
    return vocab[splitmix(&s) & 63];
}

/* Token i of the content: "[model] w0", then " w1", " w2", ... */
static void plan_content_token(const chat_plan *pl, int i, buf *out)
{
    if (i == 0) {
        buf_putc(out, '[');
        buf_puts(out, pl->model);
        buf_puts(out, "] ");
    } else {
        buf_putc(out, ' ');
    }
    buf_puts(out, plan_word(pl->seed, i));
}

/* Token i of the reasoning: "thinking", then " w1", ... (its own word sequence). */
static void plan_reasoning_token(const chat_plan *pl, int i, buf *out)
{
    if (i == 0)
        buf_puts(out, "thinking");
    else {
        buf_putc(out, ' ');
        buf_puts(out, plan_word(pl->seed ^ 0x5bd1e9955bd1e995ull, i));
    }
}

/* The tool-call arguments arrive in three pieces when streamed, as real servers split them. */
static int tool_arg_pieces(const chat_plan *pl, size_t cut[4])
{
    size_t n = strlen(pl->tool_args);
    cut[0] = 0;
    cut[1] = n < 11 ? n : 11; /* {"query": " */
    cut[2] = n > 2 ? n - 2 : n;
    if (cut[2] < cut[1]) cut[2] = cut[1];
    cut[3] = n;
    return 3;
}

/* Validates the request and fills the plan; on a client error fills msg/param and returns 400. */
static int plan_chat(const cJSON *root, const fakellm_faults *f, chat_plan *pl, const char **msg,
                     const char **param, buf *scratch)
{
    memset(pl, 0, sizeof *pl);
    if (!cJSON_IsObject(root)) {
        *msg = "the request body must be a JSON object";
        return 400;
    }
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    if (model && !cJSON_IsString(model)) {
        *msg = "'model' must be a string", *param = "model";
        return 400;
    }
    pl->model = model ? model->valuestring : opt.models[0];
    if (opt.strict_models) {
        int known = 0;
        for (int i = 0; i < opt.n_models; i++)
            known |= !strcmp(opt.models[i], pl->model);
        if (!known) {
            *msg = "the model does not exist on this server", *param = "model";
            return 404;
        }
    }
    const cJSON *messages = cJSON_GetObjectItemCaseSensitive(root, "messages");
    if (!cJSON_IsArray(messages) || cJSON_GetArraySize(messages) == 0) {
        *msg = "'messages' must be a non-empty array", *param = "messages";
        return 400;
    }
    const cJSON *m, *last_user = NULL;
    cJSON_ArrayForEach(m, messages)
    {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        if (!cJSON_IsObject(m) || !cJSON_IsString(role)) {
            *msg = "every message must be an object with a string 'role'", *param = "messages";
            return 400;
        }
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
        if (content && !cJSON_IsString(content) && !cJSON_IsArray(content) &&
            !cJSON_IsNull(content)) {
            *msg = "message 'content' must be a string, an array of parts or null",
            *param = "messages";
            return 400;
        }
        pl->prompt_tokens += content_text(content, NULL);
        if (!strcmp(role->valuestring, "user")) last_user = m;
    }
    const cJSON *stream = cJSON_GetObjectItemCaseSensitive(root, "stream");
    if (stream && !cJSON_IsBool(stream) && !cJSON_IsNull(stream)) {
        *msg = "'stream' must be a boolean", *param = "stream";
        return 400;
    }
    buf_reset(scratch);
    if (last_user) content_text(cJSON_GetObjectItemCaseSensitive(last_user, "content"), scratch);
    pl->seed = fnv1a(scratch->data ? scratch->data : "", scratch->len, FNV_SEED);

    pl->n_content = f->tokens;
    pl->finish = "stop";
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(root, "max_completion_tokens");
    if (!cJSON_IsNumber(mt)) mt = cJSON_GetObjectItemCaseSensitive(root, "max_tokens");
    if (cJSON_IsNumber(mt) && mt->valuedouble >= 1 && mt->valuedouble < pl->n_content) {
        pl->n_content = (int)mt->valuedouble;
        pl->finish = "length";
    }

    const cJSON *kwargs = cJSON_GetObjectItemCaseSensitive(root, "chat_template_kwargs");
    if (json_truthy(cJSON_GetObjectItemCaseSensitive(root, "reasoning_effort")) ||
        json_truthy(cJSON_GetObjectItemCaseSensitive(kwargs, "enable_thinking")) ||
        json_truthy(cJSON_GetObjectItemCaseSensitive(kwargs, "thinking")))
        pl->n_reasoning = FAKELLM_REASONING_TOKENS;

    const cJSON *tools = cJSON_GetObjectItemCaseSensitive(root, "tools");
    if (cJSON_IsArray(tools) && cJSON_GetArraySize(tools) > 0 && scratch->data &&
        strcasestr(scratch->data, "call tool")) {
        const cJSON *t;
        const char *first = NULL;
        cJSON_ArrayForEach(t, tools)
        {
            const cJSON *fn = cJSON_GetObjectItemCaseSensitive(t, "function");
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(fn, "name");
            if (!cJSON_IsString(name) || !name->valuestring[0]) continue;
            if (!first) first = name->valuestring;
            if (!pl->tool && strstr(scratch->data, name->valuestring)) pl->tool = name->valuestring;
        }
        if (!pl->tool) pl->tool = first;
        if (pl->tool) {
            snprintf(pl->tool_args, sizeof pl->tool_args, "{\"query\": \"%s %s %s\"}",
                     plan_word(pl->seed, 1), plan_word(pl->seed, 2), plan_word(pl->seed, 3));
            snprintf(pl->tool_id, sizeof pl->tool_id, "call_%016llx",
                     (unsigned long long)fnv1a(pl->tool, strlen(pl->tool), pl->seed));
            pl->finish = "tool_calls";
        }
    }
    const cJSON *so = cJSON_GetObjectItemCaseSensitive(root, "stream_options");
    pl->include_usage = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(so, "include_usage"));
    snprintf(pl->id, sizeof pl->id, "chatcmpl-fake%llx",
             (unsigned long long)atomic_fetch_add(&completion_seq, 1) + 1);
    pl->created = (long long)util_unix_time();
    return 0;
}

static int plan_completion_tokens(const chat_plan *pl)
{
    return pl->n_reasoning + (pl->tool ? 4 : pl->n_content);
}

static void write_usage(const chat_plan *pl, buf *b)
{
    int ct = plan_completion_tokens(pl);
    buf_printf(b,
               "{\"prompt_tokens\":%ld,\"completion_tokens\":%d,\"total_tokens\":%ld,"
               "\"completion_tokens_details\":{\"reasoning_tokens\":%d}}",
               pl->prompt_tokens, ct, pl->prompt_tokens + ct, pl->n_reasoning);
}

/* Non-stream answer: one chat.completion object. */
static void write_completion(const chat_plan *pl, buf *b, buf *tmp)
{
    buf_printf(b,
               "{\"id\":\"%s\",\"object\":\"chat.completion\",\"created\":%lld,\"model\":", pl->id,
               pl->created);
    buf_json_str(b, pl->model, strlen(pl->model));
    buf_puts(b, ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":");
    if (pl->tool) {
        buf_puts(b, "null,\"tool_calls\":[{\"id\":\"");
        buf_puts(b, pl->tool_id);
        buf_puts(b, "\",\"type\":\"function\",\"function\":{\"name\":");
        buf_json_str(b, pl->tool, strlen(pl->tool));
        buf_puts(b, ",\"arguments\":");
        buf_json_str(b, pl->tool_args, strlen(pl->tool_args));
        buf_puts(b, "}}]");
    } else {
        buf_reset(tmp);
        for (int i = 0; i < pl->n_content; i++)
            plan_content_token(pl, i, tmp);
        buf_json_str(b, tmp->data, tmp->len);
    }
    if (pl->n_reasoning) {
        buf_reset(tmp);
        for (int i = 0; i < pl->n_reasoning; i++)
            plan_reasoning_token(pl, i, tmp);
        buf_puts(b, ",\"reasoning_content\":");
        buf_json_str(b, tmp->data, tmp->len);
    }
    buf_puts(b, ",\"refusal\":null},\"logprobs\":null,\"finish_reason\":\"");
    buf_puts(b, pl->finish);
    buf_puts(b, "\"}],\"usage\":");
    write_usage(pl, b);
    buf_puts(b, "}");
}

/* "data: {chunk head ... "choices":[{"index":0,"delta":" */
static void chunk_head(const chat_plan *pl, buf *b)
{
    buf_printf(b,
               "data: {\"id\":\"%s\",\"object\":\"chat.completion.chunk\",\"created\":%lld,"
               "\"model\":",
               pl->id, pl->created);
    buf_json_str(b, pl->model, strlen(pl->model));
}

/* Appends one delta chunk event: head from chunk_head(), delta_json the delta object, finish
 * NULL or a reason. */
static void chunk_event(const buf *head, buf *b, const char *delta_json, size_t dlen,
                        const char *finish)
{
    buf_append(b, head->data, head->len);
    buf_puts(b, ",\"choices\":[{\"index\":0,\"delta\":");
    buf_append(b, delta_json, dlen);
    buf_puts(b, ",\"logprobs\":null,\"finish_reason\":");
    if (finish) {
        buf_putc(b, '"');
        buf_puts(b, finish);
        buf_putc(b, '"');
    } else {
        buf_puts(b, "null");
    }
    buf_puts(b, "}]}\n\n");
}

/* Builds every SSE event of a streamed answer into p, with the pause before each. */
static int build_stream(pending *p, const chat_plan *pl, const fakellm_faults *f, buf *tmp)
{
    buf d, head;
    buf_init(&d);
    buf_init(&head);
    chunk_head(pl, &head); /* the same for every chunk: formatted once */
    int n_events = 4 + pl->n_reasoning + (pl->tool ? 4 : pl->n_content);
    buf_reserve(&p->data, (size_t)n_events * (head.len + 120));
    int tok = 0; /* token events so far: the first waits ttft_ms, the others token_ms */
#define EMIT(delay, is_token)                                                                      \
    do {                                                                                           \
        size_t off_ = p->data.len;                                                                 \
        chunk_event(&head, &p->data, d.data, d.len, NULL);                                         \
        if (pending_add_event(p, off_, (delay), (is_token))) goto oom;                             \
    } while (0)
#define TOKEN_DELAY() (tok++ == 0 ? f->ttft_ms : f->token_ms)

    buf_reset(&d);
    buf_puts(&d, "{\"role\":\"assistant\",\"content\":\"\"}");
    EMIT(0, 0);
    for (int i = 0; i < pl->n_reasoning; i++) {
        buf_reset(tmp);
        plan_reasoning_token(pl, i, tmp);
        buf_reset(&d);
        buf_puts(&d, "{\"reasoning_content\":");
        buf_json_str(&d, tmp->data, tmp->len);
        buf_putc(&d, '}');
        EMIT(TOKEN_DELAY(), 1);
    }
    if (pl->tool) {
        buf_reset(&d);
        buf_printf(&d,
                   "{\"tool_calls\":[{\"index\":0,\"id\":\"%s\",\"type\":\"function\","
                   "\"function\":{\"name\":",
                   pl->tool_id);
        buf_json_str(&d, pl->tool, strlen(pl->tool));
        buf_puts(&d, ",\"arguments\":\"\"}}]}");
        EMIT(TOKEN_DELAY(), 1);
        size_t cut[4];
        int n = tool_arg_pieces(pl, cut);
        for (int i = 0; i < n; i++) {
            buf_reset(&d);
            buf_puts(&d, "{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":");
            buf_json_str(&d, pl->tool_args + cut[i], cut[i + 1] - cut[i]);
            buf_puts(&d, "}}]}");
            EMIT(TOKEN_DELAY(), 1);
        }
    } else {
        for (int i = 0; i < pl->n_content; i++) {
            buf_reset(tmp);
            plan_content_token(pl, i, tmp);
            buf_reset(&d);
            buf_puts(&d, "{\"content\":");
            buf_json_str(&d, tmp->data, tmp->len);
            buf_putc(&d, '}');
            EMIT(TOKEN_DELAY(), 1);
        }
    }
    size_t off = p->data.len;
    chunk_event(&head, &p->data, "{}", 2, pl->finish);
    if (pending_add_event(p, off, 0, 0)) goto oom;
    if (pl->include_usage) {
        off = p->data.len;
        buf_append(&p->data, head.data, head.len);
        buf_puts(&p->data, ",\"choices\":[],\"usage\":");
        write_usage(pl, &p->data);
        buf_puts(&p->data, "}\n\n");
        if (pending_add_event(p, off, 0, 0)) goto oom;
    }
    off = p->data.len;
    buf_puts(&p->data, "data: [DONE]\n\n");
    if (pending_add_event(p, off, 0, 0)) goto oom;
    buf_free(&d);
    buf_free(&head);
    return p->data.oom ? -1 : 0;
oom:
    buf_free(&d);
    buf_free(&head);
    return -1;
#undef EMIT
#undef TOKEN_DELAY
}

typedef struct thread_ctx {
    int index;
    struct event_base *base;
    struct evhttp *http;
    int fd;
    buf out, tmp; /* scratch buffers reused by every request on this thread */
    pthread_t thread;
} thread_ctx;

static void handle_chat(struct evhttp_request *req, thread_ctx *t)
{
    stat_add(STAT_CHAT, 1);
    size_t len;
    const char *body = request_body(req, &len);
    record_last_request(req, body, len);

    fakellm_faults f;
    int fail_status, cut_after;
    request_faults(req, &f, &fail_status, &cut_after);
    if (fail_status) {
        reply_fault(req, fail_status, &f);
        return;
    }
    cJSON *root = cJSON_ParseWithLength(body, len);
    if (!root) {
        reply_error(req, 400, "the request body is not valid JSON", NULL, "invalid_json");
        return;
    }
    chat_plan pl;
    const char *msg = NULL, *param = NULL;
    int st = plan_chat(root, &f, &pl, &msg, &param, &t->tmp);
    if (st) {
        reply_error(req, st, msg, param, st == 404 ? "model_not_found" : NULL);
        cJSON_Delete(root);
        return;
    }
    const cJSON *stream = cJSON_GetObjectItemCaseSensitive(root, "stream");
    int is_stream = cJSON_IsTrue(stream);
    struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
    const char *rid = evhttp_find_header(evhttp_request_get_input_headers(req), "x-request-id");
    if (rid) evhttp_add_header(oh, "x-request-id", rid);

    if (!is_stream) {
        buf_reset(&t->out);
        write_completion(&pl, &t->out, &t->tmp);
        if (f.malformed) t->out.len /= 2; /* cut mid-object: a 200 whose body is not JSON */
        long wait = (long)f.delay_ms + f.ttft_ms;
        if (pl.n_content > 1) wait += (long)f.token_ms * (pl.n_content - 1);
        if (wait > FAKELLM_MAX_DELAY_MS) wait = FAKELLM_MAX_DELAY_MS;
        reply_later(req, 200, &t->out, (int)wait, cut_after > 0);
        cJSON_Delete(root);
        return;
    }
    stat_add(STAT_STREAM, 1);
    pending *p = pending_new(req);
    if (!p || build_stream(p, &pl, &f, &t->tmp)) {
        if (p) pending_free(p);
        cJSON_Delete(root);
        reply_error(req, 500, "fakellm: out of memory", NULL, NULL);
        return;
    }
    cJSON_Delete(root); /* the plan's strings are not used after build_stream */
    p->stream = 1;
    p->cut_after = cut_after;
    pending_start(p, f.delay_ms);
}

/* ---- embeddings ------------------------------------------------------------------------------ */

/* Feature hashing of lower-cased alphanumeric words into dim buckets with a hash sign, then L2
 * normalisation: equal texts give equal vectors, texts sharing words have positive cosine. */
static void embed_text(const char *s, size_t n, float *v, int dim, long *words)
{
    memset(v, 0, (size_t)dim * sizeof *v);
    char w[128];
    size_t wl = 0;
    for (size_t i = 0; i <= n; i++) {
        unsigned char c = i < n ? (unsigned char)s[i] : ' ';
        if (isalnum(c) || c >= 0x80) {
            if (wl < sizeof w) w[wl++] = (char)tolower(c);
            continue;
        }
        if (!wl) continue;
        uint64_t h = fnv1a(w, wl, FNV_SEED);
        h = splitmix(&h); /* FNV's low bits are weak; mix before taking the bucket */
        v[h % (uint64_t)dim] += (h >> 63) ? -1.0f : 1.0f;
        (*words)++;
        wl = 0;
    }
    double norm = 0;
    for (int i = 0; i < dim; i++)
        norm += (double)v[i] * v[i];
    if (norm == 0) { /* no words: a fixed unit vector rather than zeros */
        v[0] = 1;
        return;
    }
    float inv = (float)(1.0 / sqrt(norm));
    for (int i = 0; i < dim; i++)
        v[i] *= inv;
}

static void write_embedding(buf *b, int index, const float *v, int dim, int base64)
{
    buf_printf(b, "%s{\"object\":\"embedding\",\"index\":%d,\"embedding\":", index ? "," : "",
               index);
    if (base64) {
        codec_base64_encode_quoted(b, v, (size_t)dim * 4); /* little-endian float32, as OpenAI */
    } else {
        buf_putc(b, '[');
        for (int i = 0; i < dim; i++)
            buf_printf(b, i ? ",%.7g" : "%.7g", (double)v[i]);
        buf_putc(b, ']');
    }
    buf_putc(b, '}');
}

static void handle_embeddings(struct evhttp_request *req, thread_ctx *t)
{
    stat_add(STAT_EMBEDDING, 1);
    size_t len;
    const char *body = request_body(req, &len);
    fakellm_faults f;
    int fail_status, cut_after;
    request_faults(req, &f, &fail_status, &cut_after);
    if (fail_status) {
        reply_fault(req, fail_status, &f);
        return;
    }
    cJSON *root = cJSON_ParseWithLength(body, len);
    if (!cJSON_IsObject(root)) {
        reply_error(req, 400, "the request body must be a JSON object", NULL, "invalid_json");
        cJSON_Delete(root);
        return;
    }
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    const cJSON *input = cJSON_GetObjectItemCaseSensitive(root, "input");
    const cJSON *dims = cJSON_GetObjectItemCaseSensitive(root, "dimensions");
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "encoding_format");
    const char *err = NULL, *param = NULL;
    int dim = opt.embed_dim;
    if (model && !cJSON_IsString(model))
        err = "'model' must be a string", param = "model";
    else if (dims && !(cJSON_IsNumber(dims) && dims->valuedouble >= 1 &&
                       dims->valuedouble <= FAKELLM_MAX_EMBED_DIM &&
                       dims->valuedouble == (int)dims->valuedouble))
        err = "'dimensions' must be an integer from 1 to 8192", param = "dimensions";
    else if (fmt && !(cJSON_IsString(fmt) &&
                      (!strcmp(fmt->valuestring, "float") || !strcmp(fmt->valuestring, "base64"))))
        err = "'encoding_format' must be \"float\" or \"base64\"", param = "encoding_format";
    else if (!input)
        err = "'input' is required", param = "input";
    if (dims && !err) dim = (int)dims->valuedouble;

    /* input: a string, an array of strings, an array of token ids, or an array of such arrays */
    int n_inputs = 0, token_ids = 0;
    if (!err) {
        if (cJSON_IsString(input))
            n_inputs = 1;
        else if (cJSON_IsArray(input) && cJSON_GetArraySize(input) > 0) {
            const cJSON *first = input->child;
            if (cJSON_IsNumber(first))
                n_inputs = 1, token_ids = 1;
            else
                n_inputs = cJSON_GetArraySize(input);
            const cJSON *it;
            cJSON_ArrayForEach(it, input)
            {
                int ok = token_ids ? cJSON_IsNumber(it) : (cJSON_IsString(it) || cJSON_IsArray(it));
                if (!ok) err = "'input' must be a string, an array of strings or token arrays";
            }
        } else
            err = "'input' must be a non-empty string or array";
        if (n_inputs > FAKELLM_MAX_EMBED_INPUTS) err = "'input' has more than 4096 items";
        if (err) param = "input";
    }
    if (err) {
        reply_error(req, 400, err, param, NULL);
        cJSON_Delete(root);
        return;
    }
    float *v = malloc((size_t)dim * sizeof *v);
    if (!v) {
        cJSON_Delete(root);
        reply_error(req, 500, "fakellm: out of memory", NULL, NULL);
        return;
    }
    int base64 = fmt && !strcmp(fmt->valuestring, "base64");
    long words = 0;
    buf *b = &t->out;
    buf_reset(b);
    buf_puts(b, "{\"object\":\"list\",\"data\":[");
    const cJSON *it = cJSON_IsArray(input) && !token_ids ? input->child : input;
    for (int i = 0; i < n_inputs; i++, it = it->next) {
        buf_reset(&t->tmp);
        if (cJSON_IsString(it))
            buf_puts(&t->tmp, it->valuestring);
        else { /* token ids: each id is a word "t<ID>" */
            const cJSON *tk;
            cJSON_ArrayForEach(tk, it) buf_printf(&t->tmp, "t%lld ", (long long)tk->valuedouble);
        }
        embed_text(t->tmp.data ? t->tmp.data : "", t->tmp.len, v, dim, &words);
        write_embedding(b, i, v, dim, base64);
    }
    buf_puts(b, "],\"model\":");
    const char *name = model ? model->valuestring : opt.models[0];
    buf_json_str(b, name, strlen(name));
    buf_printf(b, ",\"usage\":{\"prompt_tokens\":%ld,\"total_tokens\":%ld}}", words, words);
    free(v);
    cJSON_Delete(root);
    reply_later(req, 200, b, f.delay_ms, cut_after > 0);
}

/* ---- models, health ---------------------------------------------------------------------------
 */

static long long start_time;

static void handle_models(struct evhttp_request *req, thread_ctx *t)
{
    stat_add(STAT_MODELS, 1);
    buf *b = &t->out;
    buf_reset(b);
    buf_puts(b, "{\"object\":\"list\",\"data\":[");
    for (int i = 0; i < opt.n_models; i++) {
        buf_puts(b, i ? ",{\"id\":" : "{\"id\":");
        buf_json_str(b, opt.models[i], strlen(opt.models[i]));
        buf_printf(b, ",\"object\":\"model\",\"created\":%lld,\"owned_by\":\"fakellm\"}",
                   start_time);
    }
    buf_puts(b, "]}");
    reply_json(req, 200, b);
}

/* ---- admin ------------------------------------------------------------------------------------
 */

static void write_faults(buf *b, const fakellm_faults *f)
{
    buf_printf(b,
               "{\"fail_status\":%d,\"fail_first\":%d,\"delay_ms\":%d,\"ttft_ms\":%d,"
               "\"token_ms\":%d,\"disconnect_after\":%d,\"tokens\":%d,\"retry_after\":%d,"
               "\"malformed\":%d}",
               f->fail_status, f->fail_first, f->delay_ms, f->ttft_ms, f->token_ms,
               f->disconnect_after, f->tokens, f->retry_after, f->malformed);
}

/* Parses an /admin/faults body: the startup settings overlaid with the keys given. */
static int parse_faults(const char *body, size_t len, fakellm_faults *f, char *err, size_t errlen)
{
    *f = opt.startup;
    cJSON *root = cJSON_ParseWithLength(body, len);
    if (!cJSON_IsObject(root)) {
        snprintf(err, errlen, "the body must be a JSON object of fault settings");
        cJSON_Delete(root);
        return -1;
    }
    static const struct {
        const char *key;
        size_t off;
        int lo, hi;
    } keys[] = {
        {"fail_status", offsetof(fakellm_faults, fail_status), 0, 599},
        {"fail_first", offsetof(fakellm_faults, fail_first), 0, INT_MAX},
        {"delay_ms", offsetof(fakellm_faults, delay_ms), 0, FAKELLM_MAX_DELAY_MS},
        {"ttft_ms", offsetof(fakellm_faults, ttft_ms), 0, FAKELLM_MAX_DELAY_MS},
        {"token_ms", offsetof(fakellm_faults, token_ms), 0, FAKELLM_MAX_DELAY_MS},
        {"disconnect_after", offsetof(fakellm_faults, disconnect_after), 0, INT_MAX},
        {"tokens", offsetof(fakellm_faults, tokens), 1, FAKELLM_MAX_TOKENS},
        {"retry_after", offsetof(fakellm_faults, retry_after), 0, 86400},
        {"malformed", offsetof(fakellm_faults, malformed), 0, 1},
    };
    const cJSON *it;
    cJSON_ArrayForEach(it, root)
    {
        size_t k = 0;
        while (k < sizeof keys / sizeof keys[0] && strcmp(keys[k].key, it->string))
            k++;
        if (k == sizeof keys / sizeof keys[0]) {
            snprintf(err, errlen, "unknown fault setting '%.64s'", it->string);
            cJSON_Delete(root);
            return -1;
        }
        if (cJSON_IsNull(it)) continue;
        double v = it->valuedouble;
        if (!cJSON_IsNumber(it) || v < keys[k].lo || v > keys[k].hi || v != (int)v) {
            snprintf(err, errlen, "'%s' must be an integer from %d to %d", keys[k].key, keys[k].lo,
                     keys[k].hi);
            cJSON_Delete(root);
            return -1;
        }
        *(int *)((char *)f + keys[k].off) = (int)v;
    }
    cJSON_Delete(root);
    if (f->fail_status && f->fail_status < 400) {
        snprintf(err, errlen, "'fail_status' must be 0 (off) or an HTTP error status 400-599");
        return -1;
    }
    if (f->fail_first && !f->fail_status && !f->disconnect_after) f->fail_status = 500;
    return 0;
}

static void handle_admin(struct evhttp_request *req, const char *path, thread_ctx *t)
{
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    buf *b = &t->out;
    buf_reset(b);
    if (!strcmp(path, "/admin/stats") && cmd == EVHTTP_REQ_GET) {
        buf_putc(b, '{');
        for (int i = 0; i < STAT_COUNT; i++)
            buf_printf(b, "%s\"%s\":%ld", i ? "," : "", stat_names[i], atomic_load(&stats[i]));
        buf_putc(b, '}');
        reply_json(req, 200, b);
    } else if (!strcmp(path, "/admin/faults") && cmd == EVHTTP_REQ_GET) {
        fakellm_faults f;
        faults_get(&f);
        write_faults(b, &f);
        reply_json(req, 200, b);
    } else if (!strcmp(path, "/admin/faults") && cmd == EVHTTP_REQ_POST) {
        size_t len;
        const char *body = request_body(req, &len);
        fakellm_faults f;
        char err[160];
        if (parse_faults(body, len, &f, err, sizeof err)) {
            reply_error(req, 400, err, NULL, NULL);
            return;
        }
        faults_set(&f);
        write_faults(b, &f);
        reply_json(req, 200, b);
    } else if (!strcmp(path, "/admin/reset") && cmd == EVHTTP_REQ_POST) {
        /* "active" counts answers still in flight: it is a gauge, not a counter */
        for (int i = 0; i < STAT_COUNT; i++)
            if (i != STAT_ACTIVE) atomic_store(&stats[i], 0);
        faults_set(&opt.startup);
        clear_last_request();
        buf_puts(b, "{\"reset\":true}");
        reply_json(req, 200, b);
    } else if (!strcmp(path, "/admin/last_request") && cmd == EVHTTP_REQ_GET) {
        pthread_mutex_lock(&last_lock);
        if (!last_body) {
            pthread_mutex_unlock(&last_lock);
            reply_error(req, 404, "no chat request has been received yet", NULL, NULL);
            return;
        }
        buf_puts(b, "{\"path\":");
        buf_json_str(b, last_path, strlen(last_path));
        buf_puts(b, ",\"headers\":");
        buf_puts(b, last_headers_json);
        buf_puts(b, ",\"body\":");
        /* the raw bytes when they are JSON, so key order and spacing are as received */
        cJSON *probe = cJSON_ParseWithLength(last_body, last_body_len);
        if (probe && last_body_len)
            buf_append(b, last_body, last_body_len);
        else
            buf_json_str(b, last_body, last_body_len);
        cJSON_Delete(probe);
        pthread_mutex_unlock(&last_lock);
        buf_putc(b, '}');
        reply_json(req, 200, b);
    } else {
        reply_error(req, 404, "unknown admin endpoint (stats, faults, reset, last_request)", NULL,
                    NULL);
    }
}

/* ---- dispatch ---------------------------------------------------------------------------------
 */

static void handle_request(struct evhttp_request *req, void *arg)
{
    thread_ctx *t = arg;
    const char *uri = evhttp_request_get_uri(req);
    char path[256];
    size_t n = strcspn(uri, "?#");
    if (n >= sizeof path) n = sizeof path - 1;
    memcpy(path, uri, n);
    path[n] = 0;
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    if (!strncmp(path, "/admin/", 7)) {
        handle_admin(req, path, t);
        return;
    }
    stat_add(STAT_REQUESTS, 1);
    int post = cmd == EVHTTP_REQ_POST, get = cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD;
    if (!strcmp(path, "/v1/chat/completions") && post)
        handle_chat(req, t);
    else if (!strcmp(path, "/v1/embeddings") && post)
        handle_embeddings(req, t);
    else if (!strcmp(path, "/v1/models") && get)
        handle_models(req, t);
    else if (!strcmp(path, "/health") && get) {
        stat_add(STAT_HEALTH, 1);
        reply_body(req, 200, "application/json", "{\"status\":\"ok\"}", 15);
    } else if (!strcmp(path, "/v1/chat/completions") || !strcmp(path, "/v1/embeddings") ||
               !strcmp(path, "/v1/models") || !strcmp(path, "/health"))
        reply_error(req, 405, "method not allowed on this path", NULL, NULL);
    else
        reply_error(req, 404, "unknown path", NULL, "not_found");
}

/* ---- startup ----------------------------------------------------------------------------------
 */

static int listen_socket(const char *host, int port, char *err, size_t errlen)
{
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    int rc = getaddrinfo(host, ps, &hints, &ai);
    if (rc) {
        snprintf(err, errlen, "cannot resolve host '%s': %s", host, gai_strerror(rc));
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 1024)) {
        snprintf(err, errlen, "cannot listen on %s:%d: %s", host, port, strerror(errno));
        if (fd >= 0) close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    return fd;
}

static int socket_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl)) return -1;
    if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void *thread_main(void *arg)
{
    thread_ctx *t = arg;
    event_base_dispatch(t->base);
    return NULL;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)sig, (void)what, (void)arg;
    for (int i = 0; i < n_bases; i++)
        event_base_loopbreak(bases[i]);
}

static void usage(FILE *out)
{
    fprintf(
        out,
        "fakellm - deterministic OpenAI-compatible model server for tests and benchmarks\n"
        "\n"
        "usage: fakellm --port N [options]\n"
        "\n"
        "  --port N              port to listen on; 0 picks a free port (required)\n"
        "  --host ADDR           address to listen on (default 127.0.0.1)\n"
        "  --model NAME          a model name served (repeatable; default fake-model). The\n"
        "                        first is used when a request names no model\n"
        "  --strict-models       answer 404 model_not_found for models not given by --model\n"
        "                        (default: answer as whatever model the request names)\n"
        "  --tokens N            content words per answer (default 16)\n"
        "  --ttft-ms N           delay before the first token; non-stream answers wait\n"
        "                        delay + ttft + token-ms x (tokens - 1) (default 0)\n"
        "  --token-ms N          delay between tokens (default 0)\n"
        "  --embed-dim N         embedding dimension (default 64)\n"
        "  --threads N           event-loop threads sharing the port (default 1)\n"
        "  --quiet               print nothing but the listening line\n"
        "\n"
        "fault injection (also settable at run time, see /admin/faults):\n"
        "  --fail-status CODE    answer chat and embedding requests with CODE (400-599) and\n"
        "                        an OpenAI error body (code \"injected_fault\")\n"
        "  --fail-first N        faults hit only the first N chat/embedding requests, then\n"
        "                        the server is healthy (default 0 = every request; alone it\n"
        "                        implies --fail-status 500)\n"
        "  --delay-ms N          delay before the response headers\n"
        "  --disconnect-after N  stream: close the connection after N token chunks (content,\n"
        "                        reasoning or tool-call chunks), without [DONE];\n"
        "                        non-stream: close without answering (0 = off)\n"
        "\n"
        "Once listening it prints \"fakellm listening on HOST:PORT\" on stdout.\n"
        "\n"
        "endpoints:\n"
        "  POST /v1/chat/completions  answer \"[MODEL] w1 w2 ...\": words picked by a hash of\n"
        "        the last user message. stream:true gives SSE chunks (role, one per word,\n"
        "        finish, usage chunk when stream_options.include_usage, [DONE]).\n"
        "        max_tokens/max_completion_tokens below --tokens -> finish_reason length.\n"
        "        \"tools\" + last user message containing \"call tool\" -> a tool call (the\n"
        "        tool named in the message, else the first). reasoning_effort or\n"
        "        chat_template_kwargs.enable_thinking/thinking -> reasoning_content first.\n"
        "  POST /v1/embeddings        hashed bag-of-words vectors, L2-normalised\n"
        "                             (dimensions, encoding_format float|base64 honoured)\n"
        "  GET  /v1/models, GET /health\n"
        "  POST /admin/faults         JSON {fail_status, fail_first, delay_ms, ttft_ms,\n"
        "                             token_ms, disconnect_after, tokens, retry_after (s, a\n"
        "                             Retry-After on injected failures), malformed (1: non-\n"
        "                             stream answers are 200 with half a JSON body)}: replaces\n"
        "                             the settings; keys left out take the command-line value\n"
        "  GET  /admin/faults         the current settings\n"
        "  GET  /admin/stats          counters: requests, chat_requests, stream_requests,\n"
        "                             embedding_requests, faults_injected, disconnects,\n"
        "                             connections (accepted), ...\n"
        "  POST /admin/reset          zero the counters, restore the command-line settings,\n"
        "                             forget the last request\n"
        "  GET  /admin/last_request   {\"path\",\"headers\":{lower-case name: value},\n"
        "                             \"body\": the last chat request body as received}\n"
        "\n"
        "per-request overrides (request headers): x-fakellm-status, x-fakellm-ttft-ms,\n"
        "x-fakellm-token-ms, x-fakellm-delay-ms, x-fakellm-tokens, x-fakellm-disconnect-after\n");
}

static int flag_int(int argc, char **argv, int *i, long lo, long hi, int *out)
{
    const char *name = argv[*i];
    if (*i + 1 >= argc || util_parse_int(argv[*i + 1], lo, hi, out)) {
        fprintf(stderr, "fakellm: %s needs an integer from %ld to %ld\n", name, lo, hi);
        return -1;
    }
    (*i)++;
    return 0;
}

static int parse_args(int argc, char **argv)
{
    fakellm_faults *f = &opt.startup;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int rc = 0;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(a, "--port"))
            rc = flag_int(argc, argv, &i, 0, 65535, &opt.port);
        else if (!strcmp(a, "--host")) {
            if (i + 1 >= argc) return fprintf(stderr, "fakellm: --host needs an address\n"), -1;
            opt.host = argv[++i];
        } else if (!strcmp(a, "--model")) {
            if (i + 1 >= argc || !argv[i + 1][0])
                return fprintf(stderr, "fakellm: --model needs a name\n"), -1;
            if (opt.n_models == FAKELLM_MAX_MODELS)
                return fprintf(stderr, "fakellm: at most %d models\n", FAKELLM_MAX_MODELS), -1;
            opt.models[opt.n_models++] = argv[++i];
        } else if (!strcmp(a, "--strict-models"))
            opt.strict_models = 1;
        else if (!strcmp(a, "--quiet"))
            opt.quiet = 1;
        else if (!strcmp(a, "--tokens"))
            rc = flag_int(argc, argv, &i, 1, FAKELLM_MAX_TOKENS, &f->tokens);
        else if (!strcmp(a, "--ttft-ms"))
            rc = flag_int(argc, argv, &i, 0, FAKELLM_MAX_DELAY_MS, &f->ttft_ms);
        else if (!strcmp(a, "--token-ms"))
            rc = flag_int(argc, argv, &i, 0, FAKELLM_MAX_DELAY_MS, &f->token_ms);
        else if (!strcmp(a, "--delay-ms"))
            rc = flag_int(argc, argv, &i, 0, FAKELLM_MAX_DELAY_MS, &f->delay_ms);
        else if (!strcmp(a, "--fail-status"))
            rc = flag_int(argc, argv, &i, 400, 599, &f->fail_status);
        else if (!strcmp(a, "--fail-first"))
            rc = flag_int(argc, argv, &i, 0, INT_MAX, &f->fail_first);
        else if (!strcmp(a, "--disconnect-after"))
            rc = flag_int(argc, argv, &i, 0, INT_MAX, &f->disconnect_after);
        else if (!strcmp(a, "--embed-dim"))
            rc = flag_int(argc, argv, &i, 1, FAKELLM_MAX_EMBED_DIM, &opt.embed_dim);
        else if (!strcmp(a, "--threads"))
            rc = flag_int(argc, argv, &i, 1, FAKELLM_MAX_THREADS, &opt.threads);
        else {
            fprintf(stderr, "fakellm: unknown option '%s' (see --help)\n", a);
            return -1;
        }
        if (rc) return -1;
    }
    if (opt.port < 0) {
        fprintf(stderr, "fakellm: --port is required (0 picks a free port); see --help\n");
        return -1;
    }
    if (f->fail_first && !f->fail_status && !f->disconnect_after) f->fail_status = 500;
    if (opt.n_models == 0) opt.models[opt.n_models++] = "fake-model";
    return 0;
}

/* evhttp makes one bufferevent per accepted connection through this hook (the socket is set
 * afterwards): the place to count connections, which tells a client's reuse of kept-alive
 * sockets (requests / connections) apart from reconnects. */
static struct bufferevent *new_connection_bev(struct event_base *base, void *arg)
{
    (void)arg;
    stat_add(STAT_CONNECTIONS, 1);
    return bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
}

int main(int argc, char **argv)
{
    if (parse_args(argc, argv)) return 2;
    signal(SIGPIPE, SIG_IGN);
    if (evthread_use_pthreads()) {
        fprintf(stderr, "fakellm: libevent threading support is unavailable\n");
        return 1;
    }
    start_time = (long long)util_unix_time();
    faults_set(&opt.startup);

    static thread_ctx ctx[FAKELLM_MAX_THREADS];
    char err[256];
    int port = opt.port, rc = 1;
    struct event *sigint = NULL, *sigterm = NULL;
    for (int i = 0; i < opt.threads; i++) {
        thread_ctx *t = &ctx[i];
        t->index = i;
        buf_init(&t->out);
        buf_init(&t->tmp);
        /* the first socket settles the port (0 = any); the others join it via SO_REUSEPORT */
        t->fd = listen_socket(opt.host, port, err, sizeof err);
        if (t->fd < 0) {
            fprintf(stderr, "fakellm: %s\n", err);
            goto out;
        }
        if (i == 0) port = socket_port(t->fd);
        t->base = event_base_new();
        t->http = t->base ? evhttp_new(t->base) : NULL;
        if (!t->http || !evhttp_accept_socket_with_handle(t->http, t->fd)) {
            fprintf(stderr, "fakellm: cannot set up the HTTP server\n");
            goto out;
        }
        t->fd = -1; /* owned by the listener now */
        bases[n_bases++] = t->base;
        evhttp_set_max_body_size(t->http, FAKELLM_MAX_BODY);
        evhttp_set_max_headers_size(t->http, 64 * 1024);
        evhttp_set_gencb(t->http, handle_request, t);
        evhttp_set_bevcb(t->http, new_connection_bev, NULL);
        evhttp_set_allowed_methods(t->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                                EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
    }
    sigint = evsignal_new(ctx[0].base, SIGINT, on_signal, NULL);
    sigterm = evsignal_new(ctx[0].base, SIGTERM, on_signal, NULL);
    if (!sigint || !sigterm || evsignal_add(sigint, NULL) || evsignal_add(sigterm, NULL)) {
        fprintf(stderr, "fakellm: cannot install signal handlers\n");
        goto out;
    }
    printf("fakellm listening on %s:%d\n", opt.host, port);
    fflush(stdout);
    if (!opt.quiet) {
        fprintf(stderr, "fakellm: %d thread(s), models:", opt.threads);
        for (int i = 0; i < opt.n_models; i++)
            fprintf(stderr, " %s", opt.models[i]);
        fprintf(stderr, "\n");
    }
    for (int i = 1; i < opt.threads; i++)
        if (pthread_create(&ctx[i].thread, NULL, thread_main, &ctx[i])) {
            fprintf(stderr, "fakellm: cannot start thread %d\n", i);
            on_signal(0, 0, NULL);
            for (int k = 1; k < i; k++)
                pthread_join(ctx[k].thread, NULL);
            goto out;
        }
    event_base_dispatch(ctx[0].base);
    for (int i = 1; i < opt.threads; i++)
        pthread_join(ctx[i].thread, NULL);
    rc = 0;
out:
    if (sigint) event_free(sigint);
    if (sigterm) event_free(sigterm);
    for (int i = 0; i < opt.threads; i++) {
        if (ctx[i].http) evhttp_free(ctx[i].http);
        if (ctx[i].base) event_base_free(ctx[i].base);
        if (ctx[i].fd > 0) close(ctx[i].fd);
        buf_free(&ctx[i].out);
        buf_free(&ctx[i].tmp);
    }
    clear_last_request();
    return rc;
}
