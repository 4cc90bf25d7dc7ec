/* upstream.c - the model-server client on a libevent loop (see upstream.h).
 *
 * Two engines behind one interface. Plain http:// to a numeric address (the
 * usual model server next to the router) goes through a small native HTTP/1.1
 * client: a kept-alive socket per transfer taken from a per-loop idle pool,
 * the request written with one writev, the response head and body (length,
 * chunked, or until close) parsed straight from the socket reads, no copy of
 * the body and no extra wake-ups. Everything else (https, host names, which
 * need TLS and asynchronous DNS) goes through libcurl's multi interface; the
 * native client costs about half the CPU per proxied request (bench/passthrough.sh).
 * Both engines bound how long a kept-alive connection may idle and live
 * (upstream_request.keepalive_*; libcurl: CURLOPT_MAXAGE_CONN, CURLOPT_MAXLIFETIME_CONN).
 *
 * libcurl multi:
 * curl tells us which sockets to watch (socket callback) and when to wake it
 * (timer callback); libevent tells curl when a socket is ready. A call owns its
 * easy handle; finished transfers are collected after every socket action.
 * A call cancelled from inside one of its own callbacks is only marked, and
 * freed once curl has returned, because curl forbids removing a handle from
 * within its callbacks. */
#include "http/upstream.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/util.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define EASY_POOL_MAX 64
#define H1_IDLE_MAX 256          /* kept-alive idle sockets per loop */
#define H1_MAX_HEAD (64u << 10)  /* response line + headers */
#define H1_READ_CHUNK (16u << 10)

/* A connection of the native engine. Its read event stays registered for the
 * socket's whole life (idle or busy), so a kept-alive request costs no
 * epoll_ctl; the write event is armed only for connect and a full send
 * buffer. */
typedef struct h1_conn {
    int fd;
    struct sockaddr_storage addr;
    socklen_t alen;
    struct event *rev; /* EV_READ | EV_PERSIST */
    struct event *wev; /* EV_WRITE */
    upstream_client *client;
    upstream_call *call; /* the transfer on it; NULL while idle (readable = closed) */
    double opened_at, idle_since; /* monotonic seconds: connect, and back in the idle pool */
    double expires_at; /* while idle: when its idle age or lifetime runs out (the sweep closes it) */
} h1_conn;

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
    h1_conn *idle[H1_IDLE_MAX];
    int n_idle;
    /* closes idle connections whose age runs out while no request comes to take them, so a
     * router whose traffic stopped does not hold model-server connections open forever */
    struct event *sweep;
    double sweep_at; /* when the armed sweep fires; 0 = not armed */
};

enum { H1_CONNECT = 1, H1_SEND, H1_HEAD, H1_BODY };
enum { H1_BODY_NONE = 0, H1_BODY_LEN, H1_BODY_CHUNKED, H1_BODY_EOF };
enum { H1_CH_SIZE = 0, H1_CH_DATA, H1_CH_DATA_CRLF, H1_CH_TRAILER };

/* The native engine's part of a call. */
typedef struct h1_state {
    h1_conn *conn; /* owned while the transfer runs */
    struct sockaddr_storage addr;
    socklen_t alen;
    char where[80]; /* "127.0.0.1:8000" for messages */
    int phase, body_mode, chunk_state;
    int reused, retried, keepalive, paused, got_bytes, eof;
    long long remaining;
    long connect_timeout_ms, total_timeout_ms;
    long keepalive_idle_s, keepalive_lifetime_s; /* as in upstream_request; lifetime 0 = none */
    struct event *tmo; /* connect timeout, then the total timeout */
    buf out;           /* the request */
    size_t out_off;
    buf in; /* response bytes not yet parsed: in.data[in_off..in.len) */
    size_t in_off;
} h1_state;

struct upstream_call {
    upstream_client *client;
    h1_state *h1; /* native engine (easy is NULL), else NULL */
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

static void h1_state_free(h1_state *h);

static void call_unlink_free(upstream_call *call)
{
    upstream_client *c = call->client;
    if (call->prev) call->prev->next = call->next;
    else c->calls = call->next;
    if (call->next) call->next->prev = call->prev;
    if (call->h1) {
        h1_state_free(call->h1);
        if (call->first_byte_timer) event_free(call->first_byte_timer);
        if (call->idle_timer) event_free(call->idle_timer);
        free(call);
        return;
    }
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

static void h1_sweep_cb(evutil_socket_t fd, short kind, void *arg);

upstream_client *upstream_client_new(struct event_base *base)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, curl_init_once);
    upstream_client *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->base = base;
    c->multi = curl_multi_init();
    c->timer = evtimer_new(base, timer_cb, c);
    c->sweep = evtimer_new(base, h1_sweep_cb, c);
    if (!c->multi || !c->timer || !c->sweep) {
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

static void h1_conn_close(h1_conn *k)
{
    if (k->rev) event_free(k->rev);
    if (k->wev) event_free(k->wev);
    if (k->fd >= 0) close(k->fd);
    free(k);
}

static void h1_idle_drop(upstream_client *c, int i)
{
    h1_conn *k = c->idle[i];
    c->idle[i] = c->idle[--c->n_idle];
    h1_conn_close(k);
}

void upstream_client_free(upstream_client *c)
{
    if (!c) return;
    while (c->calls) call_unlink_free(c->calls);
    while (c->n_idle) h1_idle_drop(c, c->n_idle - 1);
    while (c->n_pool) curl_easy_cleanup(c->pool[--c->n_pool]);
    if (c->multi) curl_multi_cleanup(c->multi);
    if (c->timer) event_free(c->timer);
    if (c->sweep) event_free(c->sweep);
    free(c);
}

/* Delivers the response head once (status + content type). */
static int deliver_head(upstream_call *call)
{
    if (call->head_done) return 0;
    call->head_done = 1;
    if (call->first_byte_timer) evtimer_del(call->first_byte_timer);
    idle_arm(call);
    if (call->easy) {
        long code = 0;
        curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &code);
        call->status = (int)code;
    }
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

static upstream_call *h1_start(upstream_client *c, const upstream_request *req,
                               const upstream_callbacks *cb, void *arg, int *not_native);

upstream_call *upstream_start(upstream_client *c, const upstream_request *req,
                              const upstream_callbacks *cb, void *arg)
{
    int not_native = 0;
    upstream_call *n = h1_start(c, req, cb, arg, &not_native);
    if (n || !not_native) return n;
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
    /* which cached connection this transfer may reuse (libcurl >= 7.80 for the lifetime) */
    curl_easy_setopt(e, CURLOPT_MAXAGE_CONN,
                     req->keepalive_idle_s > 0 ? req->keepalive_idle_s : (long)UPSTREAM_KEEPALIVE_IDLE_S);
    curl_easy_setopt(e, CURLOPT_MAXLIFETIME_CONN,
                     req->keepalive_lifetime_s > 0 ? req->keepalive_lifetime_s : 0L);
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

static void h1_pause(upstream_call *call, int paused);

void upstream_pause(upstream_call *call, int paused)
{
    if (!call || call->cancelled) return;
    call->paused = paused;
    if (paused && call->idle_timer) evtimer_del(call->idle_timer);
    else if (!paused && call->head_done) idle_arm(call);
    if (call->h1) {
        h1_pause(call, paused);
        return;
    }
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

/* ---- the native HTTP/1.1 engine (plain http:// to a numeric address) ------ */

static void h1_state_free(h1_state *h)
{
    if (h->conn) h1_conn_close(h->conn);
    if (h->tmo) event_free(h->tmo);
    buf_free(&h->out);
    buf_free(&h->in);
    free(h);
}

/* http://HOST[:PORT][/path] with HOST an IPv4 literal or [IPv6]; 0 and the
 * address + path, or -1 when the URL is for curl (https, a name, userinfo). */
static int h1_parse_url(const char *url, struct sockaddr_storage *ss, socklen_t *alen,
                        const char **path, char *where, size_t wlen)
{
    if (strncmp(url, "http://", 7)) return -1;
    const char *h = url + 7, *end = h + strcspn(h, "/?#");
    char host[64];
    const char *port_s = NULL;
    size_t hl;
    if (*h == '[') {
        const char *rb = memchr(h, ']', (size_t)(end - h));
        if (!rb || (size_t)(rb - h - 1) >= sizeof host) return -1;
        hl = (size_t)(rb - h - 1);
        memcpy(host, h + 1, hl);
        if (rb + 1 < end) {
            if (rb[1] != ':') return -1;
            port_s = rb + 2;
        }
    } else {
        const char *colon = memchr(h, ':', (size_t)(end - h));
        hl = (size_t)((colon ? colon : end) - h);
        if (hl >= sizeof host || memchr(h, '@', (size_t)(end - h))) return -1;
        memcpy(host, h, hl);
        if (colon) port_s = colon + 1;
    }
    host[hl] = 0;
    long port = 80;
    if (port_s) {
        if (port_s == end) return -1;
        port = 0;
        for (const char *q = port_s; q < end; q++) {
            if (*q < '0' || *q > '9' || port > 65535) return -1;
            port = port * 10 + (*q - '0');
        }
        if (port < 1 || port > 65535) return -1;
    }
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        *alen = sizeof *a4;
    } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *alen = sizeof *a6;
    } else {
        return -1; /* a name: curl resolves it without blocking the loop */
    }
    *path = *end == '/' ? end : NULL;
    /* "[host]:port" / "host:port", written without snprintf (once per proxied request) */
    char num[24];
    size_t wl = util_copy_str(where, wlen, *h == '[' ? "[" : "");
    wl += util_copy_str(where + wl, wlen - wl, host);
    wl += util_copy_str(where + wl, wlen - wl, *h == '[' ? "]:" : ":");
    util_fmt_long(num, port);
    util_copy_str(where + wl, wlen - wl, num);
    return 0;
}

/* Reports the end (exactly once), then frees the call. */
static void h1_done(upstream_call *call, int ok, int timed_out, int connect_failed,
                    const char *err)
{
    if (call->cb.on_done && !call->cancelled) {
        call->in_callback = 1;
        call->cb.on_done(call->arg, ok, call->status, timed_out, connect_failed, err);
        call->in_callback = 0;
    }
    call_unlink_free(call);
}

static void h1_fail(upstream_call *call, int timed_out, int connect_failed, const char *fmt,
                    const char *detail)
{
    snprintf(call->errbuf, sizeof call->errbuf, fmt, call->h1->where, detail ? detail : "");
    h1_done(call, 0, timed_out, connect_failed, call->errbuf);
}

/* Monotonic seconds, coarse (a few ms): enough for keep-alive ages, and costs no syscall. */
static double h1_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Whether an age (seconds) is over a limit of whole seconds, counted as libcurl does for
 * CURLOPT_MAXAGE_CONN / CURLOPT_MAXLIFETIME_CONN (whole seconds, strictly more), so both engines
 * drop a connection at the same age: from limit + 1 s on. */
static int h1_over(double age, long limit_s) { return age >= (double)limit_s + 1; }

/* Arms the sweep for monotonic time `at` (a little after: the coarse clock and the event loop's
 * clock may differ by a few ms, and a sweep that fires early only re-arms). */
static void h1_sweep_arm(upstream_client *c, double at, double now)
{
    double d = at - now + 0.02;
    if (d < 0.01) d = 0.01;
    struct timeval tv = {(time_t)d, (suseconds_t)((d - (double)(time_t)d) * 1e6)};
    c->sweep_at = evtimer_add(c->sweep, &tv) ? 0 : at;
}

/* Closes the idle connections whose time ran out, then re-arms for the next one. */
static void h1_sweep_cb(evutil_socket_t fd, short kind, void *arg)
{
    (void)fd;
    (void)kind;
    upstream_client *c = arg;
    double now = h1_now(), next = 0;
    c->sweep_at = 0;
    for (int i = c->n_idle - 1; i >= 0; i--) { /* a drop moves an already seen one into i */
        h1_conn *k = c->idle[i];
        if (k->expires_at <= now)
            h1_idle_drop(c, i);
        else if (!next || k->expires_at < next)
            next = k->expires_at;
    }
    if (next) h1_sweep_arm(c, next, now);
}

/* Keeps the call's connection for the next transfer to the same server, unless it has
 * outlived its lifetime (then h1_state_free closes it). */
static void h1_keep(upstream_call *call)
{
    h1_state *h = call->h1;
    upstream_client *c = call->client;
    h1_conn *k = h->conn;
    if (c->n_idle >= H1_IDLE_MAX) return;
    double now = h1_now();
    if (h->keepalive_lifetime_s > 0 && h1_over(now - k->opened_at, h->keepalive_lifetime_s)) return;
    if (h->paused && event_add(k->rev, NULL)) return;
    k->call = NULL;
    k->idle_since = now;
    long idle_max = h->keepalive_idle_s > 0 ? h->keepalive_idle_s : UPSTREAM_KEEPALIVE_IDLE_S;
    k->expires_at = now + (double)idle_max + 1;
    if (h->keepalive_lifetime_s > 0 && k->opened_at + (double)h->keepalive_lifetime_s + 1 < k->expires_at)
        k->expires_at = k->opened_at + (double)h->keepalive_lifetime_s + 1;
    c->idle[c->n_idle++] = k;
    h->conn = NULL;
    if (!c->sweep_at || k->expires_at < c->sweep_at) h1_sweep_arm(c, k->expires_at, now);
}

/* An idle connection to a, young enough for h's limits, taken out of the pool; NULL when there
 * is none. Connections found too old on the way (to any server) are closed: an idle socket a
 * middlebox has silently dropped would swallow the request until a timeout. */
static h1_conn *h1_take_idle(upstream_client *c, const h1_state *h, const struct sockaddr_storage *a,
                             socklen_t alen)
{
    double now = h1_now();
    long idle_max = h->keepalive_idle_s > 0 ? h->keepalive_idle_s : UPSTREAM_KEEPALIVE_IDLE_S;
    long life_max = h->keepalive_lifetime_s;
    for (int i = c->n_idle - 1; i >= 0; i--) { /* a drop moves an already seen one into i */
        h1_conn *k = c->idle[i];
        if (h1_over(now - k->idle_since, idle_max) || (life_max > 0 && h1_over(now - k->opened_at, life_max))) {
            h1_idle_drop(c, i);
            continue;
        }
        if (k->alen == alen && !memcmp(&k->addr, a, alen)) {
            c->idle[i] = c->idle[--c->n_idle];
            return k;
        }
    }
    return NULL;
}

static void h1_read_cb(evutil_socket_t fd, short kind, void *arg);
static void h1_write_cb(evutil_socket_t fd, short kind, void *arg);
static void h1_connect_fresh(upstream_call *call);

/* A reused socket the server had closed meanwhile: nothing of this request was
 * answered, so it is sent again once on a fresh connection (what curl and
 * nginx do too). */
static int h1_retry_fresh(upstream_call *call)
{
    h1_state *h = call->h1;
    if (!h->reused || h->retried || h->got_bytes) return 0;
    h->retried = 1;
    h->reused = 0;
    h1_conn_close(h->conn);
    h->conn = NULL;
    h->out_off = 0;
    buf_reset(&h->in);
    h->in_off = 0;
    h->eof = 0;
    h1_connect_fresh(call);
    return 1;
}

static void h1_send(upstream_call *call)
{
    h1_state *h = call->h1;
    h->phase = H1_SEND;
    while (h->out_off < h->out.len) {
        ssize_t n = send(h->conn->fd, h->out.data + h->out_off, h->out.len - h->out_off,
                         MSG_NOSIGNAL);
        if (n > 0) {
            h->out_off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            event_add(h->conn->wev, NULL);
            return;
        }
        if (h1_retry_fresh(call)) return;
        h1_fail(call, 0, 0, "sending the request to %s failed: %s", strerror(errno));
        return;
    }
    h->phase = H1_HEAD;
}

/* Parses the response head at p[0..n) (n includes the blank line). 0, or -1. */
static int h1_parse_head(upstream_call *call, const char *p, size_t n)
{
    h1_state *h = call->h1;
    const char *eol = memchr(p, '\r', n);
    if (!eol || eol - p < 12 || strncmp(p, "HTTP/1.", 7) || p[8] != ' ') return -1;
    int minor = p[7] - '0';
    if (p[9] < '0' || p[9] > '9' || p[10] < '0' || p[10] > '9' || p[11] < '0' || p[11] > '9')
        return -1;
    call->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    h->keepalive = minor >= 1;
    h->body_mode = H1_BODY_EOF;
    call->content_type[0] = 0;
    call->retry_after_ms = -1;
    long long length = -1;
    int chunked = 0;
    const char *q = eol + 2, *end = p + n - 2; /* headers until the blank line */
    while (q < end) {
        const char *le = memchr(q, '\r', (size_t)(end - q) + 1);
        if (!le) le = end;
        const char *colon = memchr(q, ':', (size_t)(le - q));
        if (colon) {
            size_t nl = (size_t)(colon - q);
            const char *v = colon + 1, *ve = le;
            while (v < ve && (*v == ' ' || *v == '\t')) v++;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
            size_t vl = (size_t)(ve - v);
            if (nl == 12 && !strncasecmp(q, "content-type", 12)) {
                if (vl >= sizeof call->content_type) vl = sizeof call->content_type - 1;
                memcpy(call->content_type, v, vl);
                call->content_type[vl] = 0;
            } else if (nl == 14 && !strncasecmp(q, "content-length", 14)) {
                length = 0;
                if (v == ve) return -1;
                for (const char *d = v; d < ve; d++) {
                    if (*d < '0' || *d > '9' || length > (1ll << 50)) return -1;
                    length = length * 10 + (*d - '0');
                }
            } else if (nl == 17 && !strncasecmp(q, "transfer-encoding", 17)) {
                chunked = vl >= 7 && !strncasecmp(ve - 7, "chunked", 7);
            } else if (nl == 10 && !strncasecmp(q, "connection", 10)) {
                if (vl == 5 && !strncasecmp(v, "close", 5)) h->keepalive = 0;
                else if (vl == 10 && !strncasecmp(v, "keep-alive", 10)) h->keepalive = 1;
            } else if ((nl == 11 || nl == 14) && !strncasecmp(q, "retry-after", 11)) {
                /* the curl engine's header parser reads the line (no curl state) */
                header_cb((char *)q, 1, (size_t)(le - q) + 2, call);
            }
        }
        q = le + 2;
    }
    if (chunked) {
        h->body_mode = H1_BODY_CHUNKED;
        h->chunk_state = H1_CH_SIZE;
    } else if (length >= 0) {
        h->body_mode = length ? H1_BODY_LEN : H1_BODY_NONE;
        h->remaining = length;
    }
    if (call->status == 204 || call->status == 304 || call->status < 200)
        h->body_mode = H1_BODY_NONE;
    if (h->body_mode == H1_BODY_EOF) h->keepalive = 0;
    return 0;
}

/* Gives body bytes to the caller: 0 to go on, -1 when the call ended (freed). */
static int h1_deliver(upstream_call *call, const char *p, size_t n)
{
    if (!n || !call->cb.on_data) return 0;
    call->in_callback = 1;
    int rc = call->cb.on_data(call->arg, p, n);
    call->in_callback = 0;
    if (call->cancelled) {
        call_unlink_free(call);
        return -1;
    }
    if (rc) {
        call->aborted_by_user = 1;
        h1_fail(call, 0, 0, "%s: the transfer was stopped by the caller%s", NULL);
        return -1;
    }
    return 0;
}

static void h1_finish_ok(upstream_call *call)
{
    h1_state *h = call->h1;
    if (h->keepalive && !h->eof && h->in_off == h->in.len) h1_keep(call);
    h1_done(call, 1, 0, 0, NULL);
}

/* Parses what is buffered; may end the call. */
static void h1_process(upstream_call *call)
{
    h1_state *h = call->h1;
    for (;;) {
        if (h->paused) return;
        const char *p = h->in.data + h->in_off;
        size_t avail = h->in.len - h->in_off;
        if (h->phase == H1_HEAD) {
            const char *e = avail >= 4 ? memmem(p, avail, "\r\n\r\n", 4) : NULL;
            if (!e) {
                if (avail > H1_MAX_HEAD) {
                    h1_fail(call, 0, 0, "%s sent a response head over 64 KiB%s", NULL);
                } else if (h->eof) {
                    if (h1_retry_fresh(call)) return;
                    h1_fail(call, 0, 0, "%s closed the connection before answering%s", NULL);
                }
                return;
            }
            size_t hl = (size_t)(e - p) + 4;
            if (h1_parse_head(call, p, hl)) {
                h1_fail(call, 0, 0, "%s sent a malformed response head%s", NULL);
                return;
            }
            h->in_off += hl;
            if (call->status < 200) continue; /* 100 Continue, 103: the real head follows */
            h->phase = H1_BODY;
            if (!call->head_done && deliver_head(call)) call->aborted_by_user = 1;
            if (call->cancelled) {
                call_unlink_free(call);
                return;
            }
            if (call->aborted_by_user) {
                h1_fail(call, 0, 0, "%s: the transfer was stopped by the caller%s", NULL);
                return;
            }
            if (h->body_mode == H1_BODY_NONE) {
                h1_finish_ok(call);
                return;
            }
            continue;
        }
        if (h->phase != H1_BODY) return; /* bytes before the request was sent: wait */
        if (h->body_mode == H1_BODY_LEN) {
            size_t n = avail < (unsigned long long)h->remaining ? avail : (size_t)h->remaining;
            h->in_off += n;
            h->remaining -= (long long)n;
            if (h1_deliver(call, p, n)) return;
            if (!h->remaining) {
                h1_finish_ok(call);
                return;
            }
            if (h->eof) {
                h1_fail(call, 0, 0, "%s closed the connection mid-answer%s", NULL);
                return;
            }
            break;
        }
        if (h->body_mode == H1_BODY_EOF) {
            h->in_off += avail;
            if (h1_deliver(call, p, avail)) return;
            if (h->eof) {
                h1_finish_ok(call);
                return;
            }
            break;
        }
        /* chunked */
        if (h->chunk_state == H1_CH_DATA) {
            size_t n = avail < (unsigned long long)h->remaining ? avail : (size_t)h->remaining;
            h->in_off += n;
            h->remaining -= (long long)n;
            if (h1_deliver(call, p, n)) return;
            if (h->remaining) {
                if (h->eof) {
                    h1_fail(call, 0, 0, "%s closed the connection mid-chunk%s", NULL);
                    return;
                }
                break;
            }
            h->chunk_state = H1_CH_DATA_CRLF;
            continue;
        }
        if (h->chunk_state == H1_CH_DATA_CRLF) {
            if (avail < 2) {
                if (h->eof) {
                    h1_fail(call, 0, 0, "%s closed the connection mid-chunk%s", NULL);
                    return;
                }
                break;
            }
            if (p[0] != '\r' || p[1] != '\n') {
                h1_fail(call, 0, 0, "%s sent a malformed chunk%s", NULL);
                return;
            }
            h->in_off += 2;
            h->chunk_state = H1_CH_SIZE;
            continue;
        }
        /* a chunk-size line or a trailer line */
        const char *le = avail >= 2 ? memmem(p, avail, "\r\n", 2) : NULL;
        if (!le) {
            if (avail > 4096) {
                h1_fail(call, 0, 0, "%s sent a chunk line over 4 KiB%s", NULL);
                return;
            }
            if (h->eof) {
                h1_fail(call, 0, 0, "%s closed the connection mid-answer%s", NULL);
                return;
            }
            break;
        }
        size_t ll = (size_t)(le - p);
        h->in_off += ll + 2;
        if (h->chunk_state == H1_CH_TRAILER) {
            if (ll == 0) {
                h1_finish_ok(call);
                return;
            }
            continue; /* a trailer field: ignored */
        }
        long long size = 0;
        size_t i = 0;
        for (; i < ll; i++) {
            char ch = p[i];
            int d = ch >= '0' && ch <= '9'   ? ch - '0'
                    : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                    : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                             : -1;
            if (d < 0 || size > (1ll << 40)) break;
            size = size * 16 + d;
        }
        if (i == 0 || (i < ll && p[i] != ';' && p[i] != ' ' && p[i] != '\t')) {
            h1_fail(call, 0, 0, "%s sent a malformed chunk size%s", NULL);
            return;
        }
        if (size == 0) {
            h->chunk_state = H1_CH_TRAILER;
        } else {
            h->remaining = size;
            h->chunk_state = H1_CH_DATA;
        }
    }
    /* keep the unparsed tail at the front */
    if (h->in_off == h->in.len) {
        h->in.len = 0;
        h->in_off = 0;
    } else if (h->in_off > (64u << 10)) {
        memmove(h->in.data, h->in.data + h->in_off, h->in.len - h->in_off);
        h->in.len -= h->in_off;
        h->in_off = 0;
    }
}

static void h1_connected(upstream_call *call)
{
    h1_state *h = call->h1;
    if (h->total_timeout_ms > 0) {
        struct timeval tv = {h->total_timeout_ms / 1000, (h->total_timeout_ms % 1000) * 1000};
        evtimer_add(h->tmo, &tv);
    } else {
        evtimer_del(h->tmo);
    }
    if (!h->reused && event_add(h->conn->rev, NULL)) {
        h1_fail(call, 0, 0, "cannot watch the connection to %s%s", NULL);
        return;
    }
    h1_send(call);
}

static void h1_write_cb(evutil_socket_t fd, short kind, void *arg)
{
    (void)fd;
    (void)kind;
    h1_conn *k = arg;
    upstream_call *call = k->call;
    if (!call) return;
    h1_state *h = call->h1;
    if (h->phase == H1_CONNECT) {
        int e = 0;
        socklen_t el = sizeof e;
        if (getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &e, &el) || e) {
            h1_fail(call, 0, 1, "Failed to connect to %s: %s", strerror(e ? e : errno));
            return;
        }
        h1_connected(call);
        return;
    }
    if (h->phase == H1_SEND) h1_send(call);
}

static void h1_read_cb(evutil_socket_t fd, short kind, void *arg)
{
    (void)fd;
    (void)kind;
    h1_conn *k = arg;
    upstream_call *call = k->call;
    if (!call) { /* idle: the server closed it, or sent bytes nobody asked for */
        upstream_client *c = k->client;
        for (int i = 0; i < c->n_idle; i++)
            if (c->idle[i] == k) {
                h1_idle_drop(c, i);
                return;
            }
        return;
    }
    h1_state *h = call->h1;
    if (h->phase == H1_CONNECT) return; /* the write event reports the connect */
    if (!h->eof) {
        if (buf_reserve(&h->in, H1_READ_CHUNK)) {
            h1_fail(call, 0, 0, "out of memory reading the answer of %s%s", NULL);
            return;
        }
        ssize_t n = recv(k->fd, h->in.data + h->in.len, h->in.cap - h->in.len - 1, 0);
        if (n > 0) {
            h->in.len += (size_t)n;
            h->got_bytes = 1;
            if (call->head_done) idle_arm(call); /* any byte resets the idle timeout */
        } else if (n == 0) {
            h->eof = 1;
            event_del(k->rev); /* level-triggered: it would fire forever */
        } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            if (h1_retry_fresh(call)) return;
            h1_fail(call, 0, 0, "reading the answer of %s failed: %s", strerror(errno));
            return;
        }
        /* EAGAIN (e.g. a resume after a pause): parse what is buffered */
    }
    h1_process(call);
}

static void h1_timeout_cb(evutil_socket_t fd, short kind, void *arg)
{
    (void)fd;
    (void)kind;
    upstream_call *call = arg;
    h1_state *h = call->h1;
    char ms[32];
    if (h->phase == H1_CONNECT) {
        snprintf(ms, sizeof ms, "%ld ms", h->connect_timeout_ms);
        h1_fail(call, 1, 1, "Connection to %s timed out after %s", ms);
    } else {
        snprintf(ms, sizeof ms, "%ld ms", h->total_timeout_ms);
        h1_fail(call, 1, call->status == 0 && !call->head_done,
                "The transfer from %s timed out after %s", ms);
    }
}

static void h1_connect_fresh(upstream_call *call)
{
    h1_state *h = call->h1;
    upstream_client *c = call->client;
    h->phase = H1_CONNECT;
    h1_conn *k = calloc(1, sizeof *k);
    if (!k) {
        h1_fail(call, 0, 1, "out of memory connecting to %s%s", NULL);
        return;
    }
    k->client = c;
    k->call = call;
    k->addr = h->addr;
    k->alen = h->alen;
    k->opened_at = h1_now();
    h->conn = k;
    k->fd = socket(h->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (k->fd < 0) {
        h1_fail(call, 0, 1, "Failed to connect to %s: %s", strerror(errno));
        return;
    }
    k->rev = event_new(c->base, k->fd, EV_READ | EV_PERSIST, h1_read_cb, k);
    k->wev = event_new(c->base, k->fd, EV_WRITE, h1_write_cb, k);
    if (!k->rev || !k->wev) {
        h1_fail(call, 0, 1, "out of memory connecting to %s%s", NULL);
        return;
    }
    int one = 1;
    setsockopt(k->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(k->fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    struct timeval tv = {h->connect_timeout_ms / 1000, (h->connect_timeout_ms % 1000) * 1000};
    evtimer_add(h->tmo, &tv);
    if (connect(k->fd, (struct sockaddr *)&h->addr, h->alen) == 0) {
        h1_connected(call);
        return;
    }
    if (errno != EINPROGRESS) {
        h1_fail(call, 0, 1, "Failed to connect to %s: %s", strerror(errno));
        return;
    }
    event_add(k->wev, NULL);
}

/* Deferred start: the first step runs from the loop, so no callback fires
 * before upstream_start has returned the call to its caller. */
static void h1_begin_cb(evutil_socket_t fd, short kind, void *arg)
{
    (void)fd;
    (void)kind;
    upstream_call *call = arg;
    h1_state *h = call->h1;
    event_assign(h->tmo, call->client->base, -1, 0, h1_timeout_cb, call);
    if (h->conn) {
        h1_connected(call);
        return;
    }
    h1_connect_fresh(call);
}

static upstream_call *h1_start(upstream_client *c, const upstream_request *req,
                               const upstream_callbacks *cb, void *arg, int *not_native)
{
    struct sockaddr_storage ss;
    socklen_t alen;
    const char *path;
    char where[80];
    if (h1_parse_url(req->url, &ss, &alen, &path, where, sizeof where)) {
        *not_native = 1;
        return NULL;
    }
    upstream_call *call = calloc(1, sizeof *call);
    h1_state *h = calloc(1, sizeof *h);
    if (!call || !h) {
        free(call);
        free(h);
        return NULL;
    }
    call->client = c;
    call->cb = *cb;
    call->arg = arg;
    call->h1 = h;
    call->retry_after_ms = -1;
    h->addr = ss;
    h->alen = alen;
    util_copy_str(h->where, sizeof h->where, where);
    h->connect_timeout_ms = req->connect_timeout_ms > 0 ? req->connect_timeout_ms : 2000;
    h->total_timeout_ms = req->total_timeout_ms;
    h->keepalive_idle_s = req->keepalive_idle_s;
    h->keepalive_lifetime_s = req->keepalive_lifetime_s;
    buf_init(&h->out);
    buf_init(&h->in);
    /* the request: line, Host, the caller's headers, Content-Length, body */
    buf *o = &h->out;
    buf_reserve(o, 256 + req->body_len);
    buf_puts(o, "POST ");
    buf_puts(o, path ? path : "/");
    buf_puts(o, " HTTP/1.1\r\nHost: ");
    buf_puts(o, where);
    buf_puts(o, "\r\n");
    for (const char *const *hd = req->headers; hd && *hd; hd++) {
        if (strpbrk(*hd, "\r\n")) continue; /* no header injection */
        buf_puts(o, *hd);
        buf_puts(o, "\r\n");
    }
    char num[32];
    size_t nl = util_fmt_long(num, (long)req->body_len);
    buf_puts(o, "Content-Length: ");
    buf_append(o, num, nl);
    buf_puts(o, "\r\n\r\n");
    buf_append(o, req->body, req->body_len);
    h->tmo = evtimer_new(c->base, h1_begin_cb, call);
    if (o->oom || !h->tmo) goto err;
    if (req->first_byte_timeout_ms > 0) {
        call->first_byte_timer = evtimer_new(c->base, first_byte_timeout_cb, call);
        if (!call->first_byte_timer) goto err;
        struct timeval tv = {req->first_byte_timeout_ms / 1000,
                             (req->first_byte_timeout_ms % 1000) * 1000};
        evtimer_add(call->first_byte_timer, &tv);
    }
    if (req->idle_timeout_ms > 0) {
        call->idle_timeout_ms = req->idle_timeout_ms;
        call->idle_timer = evtimer_new(c->base, idle_timeout_cb, call);
        if (!call->idle_timer) goto err;
    }
    h->conn = h1_take_idle(c, h, &ss, alen);
    h->phase = H1_CONNECT;
    if (h->conn) {
        h->conn->call = call;
        h->reused = 1;
        /* a kept-alive socket: send now (no callback can fire from here; a
         * failure is left to the loop, which retries on a fresh socket) */
        ssize_t n;
        do n = send(h->conn->fd, o->data, o->len, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        if (n >= 0 || errno == EAGAIN || errno == EWOULDBLOCK) {
            event_assign(h->tmo, c->base, -1, 0, h1_timeout_cb, call);
            if (h->total_timeout_ms > 0) {
                struct timeval tv = {h->total_timeout_ms / 1000,
                                     (h->total_timeout_ms % 1000) * 1000};
                evtimer_add(h->tmo, &tv);
            }
            h->out_off = n > 0 ? (size_t)n : 0;
            if (h->out_off == o->len) {
                h->phase = H1_HEAD;
            } else {
                h->phase = H1_SEND;
                event_add(h->conn->wev, NULL);
            }
            goto linked;
        }
        h1_conn_close(h->conn); /* closed by the server meanwhile */
        h->conn = NULL;
        h->reused = 0;
    }
    /* start from the loop at once: the timeout timer, first armed at zero */
    struct timeval zero = {0, 0};
    evtimer_add(h->tmo, &zero);
linked:
    call->next = c->calls;
    if (c->calls) c->calls->prev = call;
    c->calls = call;
    return call;
err:
    if (call->first_byte_timer) event_free(call->first_byte_timer);
    if (call->idle_timer) event_free(call->idle_timer);
    h1_state_free(h);
    free(call);
    return NULL;
}

static void h1_pause(upstream_call *call, int paused)
{
    h1_state *h = call->h1;
    if (paused == h->paused) return;
    h->paused = paused;
    if (!h->conn || h->phase < H1_HEAD) return;
    if (paused) {
        event_del(h->conn->rev);
        return;
    }
    if (!h->eof) event_add(h->conn->rev, NULL);
    /* what was read before the pause is parsed from the loop, not from inside
     * the caller's drain callback */
    event_active(h->conn->rev, EV_READ, 0);
}
