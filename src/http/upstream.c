/* upstream.c - libcurl multi on a libevent loop (see upstream.h).
 *
 * curl tells us which sockets to watch (socket callback) and when to wake it
 * (timer callback); libevent tells curl when a socket is ready. A call owns its
 * easy handle; finished transfers are collected after every socket action.
 * A call cancelled from inside one of its own callbacks is only marked, and
 * freed once curl has returned, because curl forbids removing a handle from
 * within its callbacks. */
#include "http/upstream.h"
#include "core/buf.h"
#include "core/log.h"

#include <curl/curl.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <stdio.h>

#define EASY_POOL_MAX 64

struct upstream_client {
    struct event_base *base;
    CURLM *multi;
    struct event *timer;
    upstream_call *calls;
    /* finished easy handles kept for reuse: curl_easy_init allocates and
     * clears several KB, a reset handle keeps them (measured ~15% of the
     * proxy's CPU went to malloc/free) */
    CURL *pool[EASY_POOL_MAX];
    int n_pool;
};

struct upstream_call {
    upstream_client *client;
    CURL *easy;
    struct curl_slist *headers;
    char *body;
    upstream_callbacks cb;
    void *arg;
    struct event *first_byte_timer;
    struct event *idle_timer; /* armed from the head on, re-armed by every byte */
    long idle_timeout_ms;
    int paused;
    long retry_after_ms; /* -1 = none */
    int status;
    int head_done;
    int in_callback;
    int cancelled;
    int aborted_by_user;
    int first_byte_timed_out;
    char content_type[128];
    char errbuf[CURL_ERROR_SIZE];
    upstream_call *prev, *next;
};

typedef struct sock_watch {
    struct event *ev;
} sock_watch;

static void check_done(upstream_client *c);

static void call_unlink_free(upstream_call *call)
{
    upstream_client *c = call->client;
    if (call->prev) call->prev->next = call->next;
    else c->calls = call->next;
    if (call->next) call->next->prev = call->prev;
    curl_multi_remove_handle(c->multi, call->easy);
    if (c->n_pool < EASY_POOL_MAX) {
        curl_easy_reset(call->easy);
        c->pool[c->n_pool++] = call->easy;
    } else {
        curl_easy_cleanup(call->easy);
    }
    curl_slist_free_all(call->headers);
    if (call->first_byte_timer) event_free(call->first_byte_timer);
    if (call->idle_timer) event_free(call->idle_timer);
    free(call->body);
    free(call);
}

static void idle_arm(upstream_call *call)
{
    if (!call->idle_timer || call->paused) return;
    struct timeval tv = {call->idle_timeout_ms / 1000, (call->idle_timeout_ms % 1000) * 1000};
    evtimer_add(call->idle_timer, &tv);
}

static void event_cb(evutil_socket_t fd, short kind, void *arg)
{
    upstream_client *c = arg;
    int action = ((kind & EV_READ) ? CURL_CSELECT_IN : 0) | ((kind & EV_WRITE) ? CURL_CSELECT_OUT : 0);
    int running;
    curl_multi_socket_action(c->multi, fd, action, &running);
    check_done(c);
}

static void timer_cb(evutil_socket_t fd, short kind, void *arg)
{
    (void)fd;
    (void)kind;
    upstream_client *c = arg;
    int running;
    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(c);
}

static int socket_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)e;
    upstream_client *c = userp;
    sock_watch *w = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (w) {
            event_free(w->ev);
            free(w);
            curl_multi_assign(c->multi, s, NULL);
        }
        return 0;
    }
    short kind = (short)(((what & CURL_POLL_IN) ? EV_READ : 0) |
                         ((what & CURL_POLL_OUT) ? EV_WRITE : 0) | EV_PERSIST);
    if (!w) {
        w = calloc(1, sizeof *w);
        if (!w) return -1;
        curl_multi_assign(c->multi, s, w);
    } else {
        event_free(w->ev);
    }
    w->ev = event_new(c->base, s, kind, event_cb, c);
    if (!w->ev) return -1;
    event_add(w->ev, NULL);
    return 0;
}

static int timerfunc_cb(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    upstream_client *c = userp;
    if (timeout_ms < 0) {
        evtimer_del(c->timer);
        return 0;
    }
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    evtimer_add(c->timer, &tv);
    return 0;
}

static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

upstream_client *upstream_client_new(struct event_base *base)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, curl_init_once);
    upstream_client *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->base = base;
    c->multi = curl_multi_init();
    c->timer = evtimer_new(base, timer_cb, c);
    if (!c->multi || !c->timer) {
        upstream_client_free(c);
        return NULL;
    }
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timerfunc_cb);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, 256L);
    return c;
}

void upstream_client_free(upstream_client *c)
{
    if (!c) return;
    while (c->calls) call_unlink_free(c->calls);
    while (c->n_pool) curl_easy_cleanup(c->pool[--c->n_pool]);
    if (c->multi) curl_multi_cleanup(c->multi);
    if (c->timer) event_free(c->timer);
    free(c);
}

/* Delivers the response head once (status + content type). */
static int deliver_head(upstream_call *call)
{
    if (call->head_done) return 0;
    call->head_done = 1;
    if (call->first_byte_timer) evtimer_del(call->first_byte_timer);
    idle_arm(call);
    long code = 0;
    curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &code);
    call->status = (int)code;
    if (!call->cb.on_head) return 0;
    call->in_callback = 1;
    int rc = call->cb.on_head(call->arg, call->status, call->content_type);
    call->in_callback = 0;
    return rc || call->cancelled;
}

static size_t header_cb(char *p, size_t size, size_t n, void *arg)
{
    upstream_call *call = arg;
    size_t len = size * n;
    if (len >= 5 && !strncasecmp(p, "HTTP/", 5)) {
        call->content_type[0] = 0; /* a new (possibly final) response */
        call->retry_after_ms = -1;
    } else if (len > 15 && !strncasecmp(p, "retry-after-ms:", 15)) {
        char v[32];
        size_t vl = len - 15 < sizeof v - 1 ? len - 15 : sizeof v - 1;
        memcpy(v, p + 15, vl);
        v[vl] = 0;
        char *end;
        double ms = strtod(v, &end);
        if (end != v && ms >= 0 && ms < 1e12) call->retry_after_ms = (long)ms;
    } else if (len > 12 && !strncasecmp(p, "retry-after:", 12) && call->retry_after_ms < 0) {
        char v[64];
        size_t vl = len - 12 < sizeof v - 1 ? len - 12 : sizeof v - 1;
        memcpy(v, p + 12, vl);
        v[vl] = 0;
        char *end;
        long sec = strtol(v, &end, 10);
        while (*end == ' ' || *end == '\r' || *end == '\n') end++;
        if (end != v && !*end && sec >= 0 && sec < 1000000000L) {
            call->retry_after_ms = sec * 1000;
        } else { /* an HTTP date */
            time_t when = curl_getdate(v, NULL), now = time(NULL);
            if (when > 0) call->retry_after_ms = when > now ? (long)(when - now) * 1000 : 0;
        }
    } else if (len > 13 && !strncasecmp(p, "content-type:", 13)) {
        const char *v = p + 13;
        size_t vl = len - 13;
        while (vl && (*v == ' ' || *v == '\t')) v++, vl--;
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' ')) vl--;
        if (vl >= sizeof call->content_type) vl = sizeof call->content_type - 1;
        memcpy(call->content_type, v, vl);
        call->content_type[vl] = 0;
    } else if (len <= 2 && (p[0] == '\r' || p[0] == '\n')) {
        long code = 0;
        curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &code);
        if (code >= 200 && deliver_head(call)) {
            call->aborted_by_user = 1;
            return 0;
        }
    }
    return len;
}

static size_t write_cb(char *p, size_t size, size_t n, void *arg)
{
    upstream_call *call = arg;
    size_t len = size * n;
    if (call->cancelled) return 0;
    if (!call->head_done && deliver_head(call)) {
        call->aborted_by_user = 1;
        return 0;
    }
    idle_arm(call);
    if (call->cb.on_data) {
        call->in_callback = 1;
        int rc = call->cb.on_data(call->arg, p, len);
        call->in_callback = 0;
        if (rc || call->cancelled) {
            call->aborted_by_user = 1;
            return 0;
        }
    }
    return len;
}

static void first_byte_timeout_cb(evutil_socket_t fd, short kind, void *arg)
{
    (void)fd;
    (void)kind;
    upstream_call *call = arg;
    upstream_client *c = call->client;
    call->first_byte_timed_out = 1;
    /* finish it as a timeout: remove from curl ourselves, report, free */
    if (call->cb.on_done)
        call->cb.on_done(call->arg, 0, 0, 1, 0, "the model server sent no response in time");
    call_unlink_free(call);
    (void)c;
}

/* Nothing arrived for idle_timeout_ms after the head: finished as a timeout. */
static void idle_timeout_cb(evutil_socket_t fd, short kind, void *arg)
{
    (void)fd;
    (void)kind;
    upstream_call *call = arg;
    char msg[128];
    snprintf(msg, sizeof msg, "the model server sent nothing for %.1f s (server.upstream_idle_timeout_seconds)",
             (double)call->idle_timeout_ms / 1000);
    if (call->cb.on_done) call->cb.on_done(call->arg, 0, call->status, 1, 0, msg);
    call_unlink_free(call);
}

long upstream_retry_after_ms(const upstream_call *call) { return call ? call->retry_after_ms : -1; }

upstream_call *upstream_start(upstream_client *c, const upstream_request *req,
                              const upstream_callbacks *cb, void *arg)
{
    upstream_call *call = calloc(1, sizeof *call);
    if (!call) return NULL;
    call->client = c;
    call->cb = *cb;
    call->arg = arg;
    call->retry_after_ms = -1;
    call->easy = c->n_pool ? c->pool[--c->n_pool] : curl_easy_init();
    call->body = malloc(req->body_len + 1);
    if (!call->easy || !call->body) goto err;
    memcpy(call->body, req->body, req->body_len);
    call->body[req->body_len] = 0;
    for (const char *const *h = req->headers; h && *h; h++) {
        struct curl_slist *l = curl_slist_append(call->headers, *h);
        if (!l) goto err;
        call->headers = l;
    }
    struct curl_slist *l = curl_slist_append(call->headers, "Expect:");
    if (!l) goto err;
    call->headers = l;
    CURL *e = call->easy;
    curl_easy_setopt(e, CURLOPT_URL, req->url);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, call->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, call->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, call);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, call);
    curl_easy_setopt(e, CURLOPT_PRIVATE, call);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, call->errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, NULL);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms > 0 ? req->connect_timeout_ms : 2000L);
    if (req->ca_file) curl_easy_setopt(e, CURLOPT_CAINFO, req->ca_file);
    if (req->cert_file) curl_easy_setopt(e, CURLOPT_SSLCERT, req->cert_file);
    if (req->key_file) curl_easy_setopt(e, CURLOPT_SSLKEY, req->key_file);
    if (req->total_timeout_ms > 0) curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, req->total_timeout_ms);
    if (req->first_byte_timeout_ms > 0) {
        call->first_byte_timer = evtimer_new(c->base, first_byte_timeout_cb, call);
        if (!call->first_byte_timer) goto err;
        struct timeval tv = {req->first_byte_timeout_ms / 1000, (req->first_byte_timeout_ms % 1000) * 1000};
        evtimer_add(call->first_byte_timer, &tv);
    }
    if (req->idle_timeout_ms > 0) {
        call->idle_timeout_ms = req->idle_timeout_ms;
        call->idle_timer = evtimer_new(c->base, idle_timeout_cb, call);
        if (!call->idle_timer) goto err;
    }
    if (curl_multi_add_handle(c->multi, e) != CURLM_OK) goto err;
    call->next = c->calls;
    if (c->calls) c->calls->prev = call;
    c->calls = call;
    return call;
err:
    if (call->easy) curl_easy_cleanup(call->easy);
    curl_slist_free_all(call->headers);
    if (call->first_byte_timer) event_free(call->first_byte_timer);
    if (call->idle_timer) event_free(call->idle_timer);
    free(call->body);
    free(call);
    return NULL;
}

void upstream_cancel(upstream_call *call)
{
    if (!call) return;
    if (call->in_callback) {
        call->cancelled = 1; /* freed by check_done once curl returns */
        return;
    }
    call_unlink_free(call);
}

void upstream_pause(upstream_call *call, int paused)
{
    if (!call || call->cancelled) return;
    call->paused = paused;
    if (paused && call->idle_timer) evtimer_del(call->idle_timer);
    else if (!paused && call->head_done) idle_arm(call);
    call->in_callback = 1;
    curl_easy_pause(call->easy, paused ? CURLPAUSE_RECV : CURLPAUSE_CONT);
    call->in_callback = 0;
    if (call->cancelled) {
        /* the handler cancelled while curl delivered buffered data */
        call_unlink_free(call);
    }
}

static void check_done(upstream_client *c)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(c->multi, &left))) {
        if (msg->msg != CURLMSG_DONE) continue;
        upstream_call *call = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&call);
        CURLcode rc = msg->data.result;
        if (call->cancelled) {
            call_unlink_free(call);
            continue;
        }
        long code = 0;
        curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &code);
        call->status = (int)code;
        if (rc == CURLE_OK && !call->head_done && deliver_head(call)) call->aborted_by_user = 1;
        if (call->cancelled) {
            call_unlink_free(call);
            continue;
        }
        int ok = rc == CURLE_OK && !call->aborted_by_user;
        int timed_out = rc == CURLE_OPERATION_TIMEDOUT;
        int connect_failed = rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
                             (rc == CURLE_OPERATION_TIMEDOUT && code == 0 && !call->head_done);
        const char *err = ok ? NULL : call->errbuf[0] ? call->errbuf : curl_easy_strerror(rc);
        if (call->cb.on_done) {
            call->in_callback = 1;
            call->cb.on_done(call->arg, ok, call->status, timed_out, connect_failed, err);
        }
        call_unlink_free(call);
    }
}
