/* server.c - HTTP/1.1 server on libevent bufferevents (see server.h).
 *
 * Why not evhttp: it answers limit violations (413, 431) with HTML bodies of
 * its own, and it stops reading a connection while a request is handled, so a
 * client that disconnects while we wait on a slow model goes unnoticed until
 * the answer is written. An OpenAI gateway must answer every error with an
 * OpenAI error object and must cancel the upstream call when the client goes.
 * The protocol subset a gateway needs is small: request line, headers,
 * Content-Length or chunked bodies, Expect: 100-continue, keep-alive with
 * pipelined requests answered in order, chunked streaming responses.
 *
 * Per connection, one request is parsed, then handled; bytes of a pipelined
 * next request wait in the input buffer until the current one is finished.
 * Reading stays enabled while handling so EOF is seen at once.
 *
 * A stalled worker (http_server_worker_stalled, from the watchdog) cannot accept: the kernel
 * still hands it its SO_REUSEPORT share of new connections, which would wait in its backlog.
 * While it is stalled another worker watches its listening sockets too and accepts those
 * connections on its own loop, so /ready can say 503 and new requests are served. */
#include "http/server.h"
#include "core/openai_error.h"
#include "http/parse.h"
#include "core/buf.h"
#include "core/sse.h"
#include "core/log.h"
#include "core/util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define STREAM_LOW_WATERMARK (64 * 1024)

typedef struct http_worker http_worker;
typedef struct http_conn http_conn;

struct http_server {
    http_server_options opt;
    int n_workers;
    http_worker *workers;
    int ports[2];
    atomic_long inflight;
    atomic_int stopping;
    int grace_seconds;
    pthread_mutex_t adopt_lock; /* every worker's stalled and adopted[] (any thread) */
};

/* A stalled worker's listening socket, watched from another worker's loop. */
typedef struct adoption {
    struct event *ev; /* EV_READ | EV_PERSIST in by->base; NULL = none */
    http_worker *by;
    int listener_index;
} adoption;

struct http_worker {
    http_server *srv;
    int index;
    pthread_t thread;
    struct event_base *base;
    struct evconnlistener *listeners[2];
    int stalled;         /* adopt_lock */
    adoption adopted[2]; /* adopt_lock: its listeners[] while it is stalled */
    struct event *stop_timer;
    double stop_started, stop_deadline;
    http_conn *conns; /* all open connections, for shutdown */
    void *data;
};

struct http_conn {
    http_worker *w;
    struct bufferevent *bev;
    int listener_index;
    char peer[64];
    http_request *req;
    http_parser parser; /* the request being read (parse.c) */
    int handling;       /* the handler owns req */
    int closing;        /* close once output is flushed */
    int served;         /* requests finished on this connection */
    http_conn *prev, *next;
};

struct http_request {
    http_conn *conn; /* NULL once the client is gone */
    http_worker *w;
    http_msg m; /* method, path, headers, body (parse.h) */
    uint64_t start_ns;
    char peer[64];
    /* response */
    buf extra_headers;
    int status;
    int started, streaming, chunked_out, finished;
    void (*close_cb)(http_request *, void *);
    void *close_arg;
    void (*drain_cb)(http_request *, void *);
    void *drain_arg;
};

static const char *reason_phrase(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Status";
    }
}

/* ---------------------------------------------------------------- requests */

static http_request *request_new(http_conn *c)
{
    http_request *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->conn = c;
    r->w = c->w;
    r->start_ns = util_now_ns();
    util_copy_str(r->peer, sizeof r->peer, c->peer);
    http_msg_init(&r->m);
    buf_init(&r->extra_headers);
    return r;
}

static void request_free(http_request *r)
{
    if (!r) return;
    http_msg_free(&r->m);
    buf_free(&r->extra_headers);
    free(r);
}

const char *http_request_method(const http_request *r) { return r->m.method; }
const char *http_request_path(const http_request *r) { return r->m.path ? r->m.path : "/"; }
const char *http_request_query(const http_request *r) { return r->m.query ? r->m.query : ""; }
struct event_base *http_request_base(const http_request *r) { return r->w->base; }
void *http_request_worker_data(const http_request *r) { return r->w->data; }
int http_request_worker_index(const http_request *r) { return r->w->index; }
const char *http_request_peer(const http_request *r) { return r->peer; }
uint64_t http_request_start_ns(const http_request *r) { return r->start_ns; }
int http_request_client_gone(const http_request *r) { return r->conn == NULL; }
int http_request_status(const http_request *r) { return r->status; }

const char *http_request_header(const http_request *r, const char *name)
{
    return http_msg_header(&r->m, name);
}

int http_request_header_at(const http_request *r, int i, const char **name, const char **value)
{
    return http_msg_header_at(&r->m, i, name, value);
}

const char *http_request_body(const http_request *r, size_t *len)
{
    if (len) *len = r->m.body.len;
    return r->m.body.data ? r->m.body.data : "";
}

void http_request_on_close(http_request *r, void (*cb)(http_request *, void *), void *arg)
{
    r->close_cb = cb;
    r->close_arg = arg;
}

void http_request_on_drain(http_request *r, void (*cb)(http_request *, void *), void *arg)
{
    r->drain_cb = cb;
    r->drain_arg = arg;
}

/* ------------------------------------------------------------- connections */

static void conn_parse(http_conn *c);

static void conn_free(http_conn *c)
{
    http_worker *w = c->w;
    if (c->prev) c->prev->next = c->next;
    else w->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    if (c->req) {
        if (c->handling) {
            /* the handler still owns the request: detach and tell it */
            http_request *r = c->req;
            r->conn = NULL;
            if (r->close_cb) r->close_cb(r, r->close_arg);
        } else {
            request_free(c->req);
        }
        c->req = NULL;
    }
    bufferevent_free(c->bev);
    free(c);
}

static void conn_set_idle_timeouts(http_conn *c)
{
    struct timeval tv = {c->w->srv->opt.idle_timeout_seconds, 0};
    bufferevent_set_timeouts(c->bev, &tv, &tv);
}

/* The request is done (answered or dropped): account, then either close the
 * connection or move on to a pipelined next request. */
static void request_finish(http_request *r)
{
    http_conn *c = r->conn;
    atomic_fetch_sub(&r->w->srv->inflight, 1);
    r->finished = 1;
    if (!c) {
        request_free(r);
        return;
    }
    int keep = r->m.keepalive && !atomic_load(&c->w->srv->stopping);
    c->served++;
    c->req = NULL;
    c->handling = 0;
    http_parser_reset(&c->parser);
    request_free(r);
    if (!keep) {
        c->closing = 1;
        bufferevent_disable(c->bev, EV_READ);
        if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) conn_free(c);
        return;
    }
    conn_set_idle_timeouts(c);
    if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
        bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

/* Answers a protocol-level error (before the handler ran) and closes. */
static void conn_fail(http_conn *c, int status, const char *message, const char *code)
{
    buf body;
    buf_init(&body);
    api_error_json(&body, message, api_error_type_for_status(status), NULL, code);
    struct evbuffer *out = bufferevent_get_output(c->bev);
    evbuffer_add_printf(out,
                        "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                        "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                        status, reason_phrase(status), body.len);
    evbuffer_add(out, body.data, body.len);
    buf_free(&body);
    if (c->req) {
        request_free(c->req);
        c->req = NULL;
    }
    c->closing = 1;
    bufferevent_disable(c->bev, EV_READ);
}

static void conn_dispatch(http_conn *c)
{
    http_request *r = c->req;
    http_server *s = c->w->srv;
    c->handling = 1;
    atomic_fetch_add(&s->inflight, 1);
    /* no read timeout while the handler works (a model may think for
     * minutes); reading stays on so a disconnect is noticed at once */
    struct timeval wtv = {s->opt.idle_timeout_seconds, 0};
    bufferevent_set_timeouts(c->bev, NULL, &wtv);
    s->opt.handlers[c->listener_index](r, s->opt.handler_arg);
}

/* Runs the parser over what is buffered; dispatches a complete request. */
static void conn_parse(http_conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    if (c->closing || c->handling) return;
    if (!c->req) {
        if (evbuffer_get_length(in) == 0) return;
        c->req = request_new(c);
        if (!c->req) {
            conn_fail(c, 500, http_parse_status_message(500), "out_of_memory");
            return;
        }
        http_parser_reset(&c->parser);
    }
    int st = http_parse(&c->parser, &c->req->m, in);
    if (c->parser.send_continue) {
        c->parser.send_continue = 0;
        evbuffer_add_printf(bufferevent_get_output(c->bev), "HTTP/1.1 100 Continue\r\n\r\n");
    }
    if (st == HTTP_PARSE_MORE) return;
    if (st == HTTP_PARSE_DONE) {
        conn_dispatch(c);
        return;
    }
    conn_fail(c, st, http_parse_status_message(st),
              st == 413   ? "request_too_large"
              : st == 431 ? "headers_too_large"
              : st == 501 ? "unsupported_transfer_encoding"
              : st == 500 ? "out_of_memory"
                          : "malformed_request");
}

static void conn_read_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    conn_parse(arg);
}

static void conn_write_cb(struct bufferevent *bev, void *arg)
{
    http_conn *c = arg;
    size_t pending = evbuffer_get_length(bufferevent_get_output(bev));
    if (c->closing && pending == 0) {
        conn_free(c);
        return;
    }
    if (c->req && c->handling && c->req->drain_cb && pending < STREAM_LOW_WATERMARK)
        c->req->drain_cb(c->req, c->req->drain_arg);
}

static void conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    http_conn *c = arg;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) conn_free(c);
}

/* A connection accepted from listener_index, served on w's loop from now on. */
static void conn_accept(http_worker *w, int listener_index, evutil_socket_t fd, struct sockaddr *sa)
{
    http_conn *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return;
    }
    c->bev = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev) {
        free(c);
        close(fd);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->w = w;
    c->listener_index = listener_index;
    c->parser.max_body_bytes = w->srv->opt.max_body_bytes;
    c->parser.max_header_bytes = w->srv->opt.max_header_bytes;
    http_parser_reset(&c->parser);
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, c->peer, sizeof c->peer);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, c->peer, sizeof c->peer);
    c->next = w->conns;
    if (w->conns) w->conns->prev = c;
    w->conns = c;
    bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
    /* cap buffered input: a pipelining client cannot make us hold more than a body */
    bufferevent_setwatermark(c->bev, EV_READ, 0, w->srv->opt.max_body_bytes + 65536);
    conn_set_idle_timeouts(c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg)
{
    (void)salen;
    http_worker *w = arg;
    conn_accept(w, l == w->listeners[1] ? 1 : 0, fd, sa);
}

/* On the adopter's loop: a stalled worker's listening socket is readable. Takes what the
 * kernel has queued (a bounded batch per wake-up, as evconnlistener does). */
static void adopted_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
    (void)what;
    adoption *a = arg;
    for (int i = 0; i < 32; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            return; /* EAGAIN: the queue is empty (or the stalled worker took it); EMFILE: later */
        }
        conn_accept(a->by, a->listener_index, fd, (struct sockaddr *)&ss);
    }
}

/* adopt_lock held. */
static void adoptions_drop(http_worker *w)
{
    for (int li = 0; li < 2; li++)
        if (w->adopted[li].ev) {
            event_free(w->adopted[li].ev); /* waits for a callback running on the adopter */
            w->adopted[li].ev = NULL;
        }
}

void http_server_worker_stalled(http_server *s, int worker, int stalled)
{
    if (!s || worker < 0 || worker >= s->n_workers) return;
    pthread_mutex_lock(&s->adopt_lock);
    http_worker *w = &s->workers[worker];
    if (!stalled) {
        w->stalled = 0;
        adoptions_drop(w);
    } else if (!w->stalled) {
        w->stalled = 1;
        http_worker *by = NULL; /* the next worker that still turns */
        for (int k = 1; k < s->n_workers && !by; k++) {
            http_worker *o = &s->workers[(worker + k) % s->n_workers];
            if (!o->stalled) by = o;
        }
        for (int li = 0; li < 2 && by && !atomic_load(&s->stopping); li++) {
            if (!w->listeners[li]) continue;
            adoption *a = &w->adopted[li];
            a->by = by;
            a->listener_index = li;
            a->ev = event_new(by->base, evconnlistener_get_fd(w->listeners[li]), EV_READ | EV_PERSIST,
                              adopted_accept_cb, a);
            if (a->ev && event_add(a->ev, NULL)) {
                event_free(a->ev);
                a->ev = NULL;
            }
            if (!a->ev)
                log_error("worker %d cannot take the connections of stalled worker %d", by->index, worker);
        }
    }
    pthread_mutex_unlock(&s->adopt_lock);
}

/* ---------------------------------------------------------------- responses */

void http_add_header(http_request *r, const char *name, const char *value)
{
    if (r->started) return;
    /* refuse header injection through values */
    for (const char *p = value; *p; p++)
        if (*p == '\r' || *p == '\n') return;
    buf_puts(&r->extra_headers, name);
    buf_append(&r->extra_headers, ": ", 2);
    buf_puts(&r->extra_headers, value);
    buf_append(&r->extra_headers, "\r\n", 2);
}

static void write_head(http_request *r, int status, const char *content_type, long long length)
{
    struct evbuffer *out = bufferevent_get_output(r->conn->bev);
    r->status = status;
    r->started = 1;
    if (atomic_load(&r->w->srv->stopping)) r->m.keepalive = 0;
    evbuffer_add_printf(out, "HTTP/1.%d %d %s\r\n", r->m.minor_version, status,
                        reason_phrase(status));
    if (content_type) evbuffer_add_printf(out, "Content-Type: %s\r\n", content_type);
    if (length >= 0) evbuffer_add_printf(out, "Content-Length: %lld\r\n", length);
    else if (r->chunked_out) evbuffer_add_printf(out, "Transfer-Encoding: chunked\r\n");
    evbuffer_add_printf(out, "Connection: %s\r\n", r->m.keepalive ? "keep-alive" : "close");
    if (r->extra_headers.len) evbuffer_add(out, r->extra_headers.data, r->extra_headers.len);
    evbuffer_add(out, "\r\n", 2);
}

/* The head of a whole response into dst (no printf): its length, or 0 when
 * it does not fit. Same bytes as write_head. */
static size_t head_into(http_request *r, int status, const char *content_type, size_t length,
                        char *dst, size_t cap)
{
    size_t n = 0;
#define PUT(s, l)                                                                                  \
    do {                                                                                           \
        size_t l_ = (l);                                                                           \
        if (n + l_ > cap) return 0;                                                                \
        memcpy(dst + n, (s), l_);                                                                  \
        n += l_;                                                                                   \
    } while (0)
#define PUTS(s) PUT((s), strlen(s))
    char num[24];
    int k = 0;
    PUTS(r->m.minor_version == 0 ? "HTTP/1.0 " : "HTTP/1.1 ");
    num[0] = (char)('0' + status / 100 % 10), num[1] = (char)('0' + status / 10 % 10),
    num[2] = (char)('0' + status % 10), num[3] = ' ';
    PUT(num, 4);
    PUTS(reason_phrase(status));
    if (content_type) {
        PUTS("\r\nContent-Type: ");
        PUTS(content_type);
    }
    PUTS("\r\nContent-Length: ");
    char rev[24];
    do rev[k++] = (char)('0' + length % 10);
    while ((length /= 10) && k < 23);
    while (k) {
        num[0] = rev[--k];
        PUT(num, 1);
    }
    PUTS(r->m.keepalive ? "\r\nConnection: keep-alive\r\n" : "\r\nConnection: close\r\n");
    if (r->extra_headers.len) PUT(r->extra_headers.data, r->extra_headers.len); /* data is NULL when empty */
    PUT("\r\n", 2);
#undef PUT
#undef PUTS
    return n;
}

void http_respond(http_request *r, int status, const char *content_type, const char *body,
                  size_t len)
{
    if (r->finished) return;
    r->status = status;
    struct evbuffer *out = r->conn ? bufferevent_get_output(r->conn->bev) : NULL;
    /* Nothing queued: write head and body straight to the socket (one writev,
     * no wake-up for writability, no EPOLLOUT on/off); what the kernel does
     * not take goes to the buffer as before. */
    char head[4096];
    size_t hl;
    if (out && atomic_load(&r->w->srv->stopping)) r->m.keepalive = 0;
    if (out && evbuffer_get_length(out) == 0 && r->m.minor_version >= 0 && r->m.minor_version <= 1 &&
        status >= 100 && status <= 999 &&
        (hl = head_into(r, status, content_type, len, head, sizeof head)) > 0) {
        r->started = 1;
        if (!strcmp(r->m.method, "HEAD")) len = 0;
        struct iovec iov[2] = {{head, hl}, {(void *)body, len}};
        ssize_t n;
        do n = writev(bufferevent_getfd(r->conn->bev), iov, len ? 2 : 1);
        while (n < 0 && errno == EINTR);
        size_t done = n > 0 ? (size_t)n : 0;
        if (done < hl) {
            evbuffer_add(out, head + done, hl - done);
            if (len) evbuffer_add(out, body, len);
        } else if (done < hl + len) {
            evbuffer_add(out, body + (done - hl), hl + len - done);
        }
        request_finish(r);
        return;
    }
    if (r->conn) {
        write_head(r, status, content_type, (long long)len);
        if (len && strcmp(r->m.method, "HEAD"))
            evbuffer_add(bufferevent_get_output(r->conn->bev), body, len);
    }
    request_finish(r);
}

void http_respond_error(http_request *r, int status, const char *message, const char *param,
                        const char *code)
{
    buf b;
    buf_init(&b);
    api_error_json(&b, message, api_error_type_for_status(status), param, code);
    http_respond(r, status, "application/json", b.data, b.len);
    buf_free(&b);
}

void http_stream_start(http_request *r, int status, const char *content_type)
{
    if (r->started || r->finished) return;
    r->streaming = 1;
    r->status = status;
    if (!r->conn) {
        r->started = 1;
        return;
    }
    if (r->m.minor_version >= 1) r->chunked_out = 1;
    else r->m.keepalive = 0; /* HTTP/1.0: the close delimits the body */
    write_head(r, status, content_type, -1);
}

void http_stream_start_sse(http_request *r)
{
    http_add_header(r, "Cache-Control", "no-cache");
    http_add_header(r, "X-Accel-Buffering", "no");
    http_stream_start(r, 200, SSE_CONTENT_TYPE);
}

int http_stream_write(http_request *r, const void *data, size_t len)
{
    if (!r->conn || r->finished) return -1;
    if (!len) return 0;
    struct evbuffer *out = bufferevent_get_output(r->conn->bev);
    if (r->chunked_out) evbuffer_add_printf(out, "%zx\r\n", len);
    evbuffer_add(out, data, len);
    if (r->chunked_out) evbuffer_add(out, "\r\n", 2);
    return 0;
}

size_t http_stream_pending(const http_request *r)
{
    if (!r->conn) return 0;
    return evbuffer_get_length(bufferevent_get_output(r->conn->bev));
}

void http_stream_end(http_request *r)
{
    if (r->finished) return;
    if (r->conn && r->chunked_out) evbuffer_add(bufferevent_get_output(r->conn->bev), "0\r\n\r\n", 5);
    request_finish(r);
}

/* ------------------------------------------------------------------ server */

static struct evconnlistener *listen_on(http_worker *w, const http_listen *l, int port,
                                        int reuseport, char *err, size_t errlen)
{
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    int rc = getaddrinfo(l->host && *l->host ? l->host : NULL, portstr, &hints, &ai);
    if (rc) {
        snprintf(err, errlen, "cannot resolve listen address '%s': %s", l->host, gai_strerror(rc));
        return NULL;
    }
    unsigned flags = LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC;
    if (reuseport) flags |= LEV_OPT_REUSEABLE_PORT;
    struct evconnlistener *lst =
        evconnlistener_new_bind(w->base, accept_cb, w, flags, 1024, ai->ai_addr, (int)ai->ai_addrlen);
    if (!lst)
        snprintf(err, errlen, "cannot listen on %s:%d: %s", l->host ? l->host : "*", port,
                 strerror(errno));
    freeaddrinfo(ai);
    return lst;
}

static int bound_port(struct evconnlistener *l)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&ss, &len)) return -1;
    if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -1;
}

static void evthread_init_once(void) { evthread_use_pthreads(); }

http_server *http_server_new(const http_server_options *o, char *err, size_t errlen)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, evthread_init_once);
    http_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->opt = *o;
    pthread_mutex_init(&s->adopt_lock, NULL);
    if (!s->opt.max_body_bytes) s->opt.max_body_bytes = 10u << 20;
    if (!s->opt.max_header_bytes) s->opt.max_header_bytes = 64u << 10;
    if (s->opt.idle_timeout_seconds <= 0) s->opt.idle_timeout_seconds = 60;
    s->n_workers = o->workers > 0 ? o->workers : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (s->n_workers < 1) s->n_workers = 1;
    s->workers = calloc((size_t)s->n_workers, sizeof *s->workers);
    if (!s->workers) goto err;
    for (int i = 0; i < s->n_workers; i++) {
        http_worker *w = &s->workers[i];
        w->srv = s;
        w->index = i;
        w->base = event_base_new();
        if (!w->base) {
            snprintf(err, errlen, "cannot create an event loop");
            goto err;
        }
    }
    for (int li = 0; li < o->n_listeners; li++) {
        if (o->listeners[li].port < 0) continue;
        int port = o->listeners[li].port;
        /* the API listener is shared by all workers; metrics only by worker 0 */
        int nw = li == 0 ? s->n_workers : 1;
        for (int i = 0; i < nw; i++) {
            http_worker *w = &s->workers[i];
            w->listeners[li] = listen_on(w, &o->listeners[li], port, li == 0, err, errlen);
            if (!w->listeners[li]) goto err;
            if (port == 0) port = bound_port(w->listeners[li]);
        }
        s->ports[li] = port;
    }
    return s;
err:
    http_server_free(s);
    return NULL;
}

int http_server_port(const http_server *s, int listener_index) { return s->ports[listener_index]; }
int http_server_workers(const http_server *s) { return s->n_workers; }
long http_server_inflight(const http_server *s) { return atomic_load(&s->inflight); }

static void *worker_main(void *arg)
{
    http_worker *w = arg;
    http_server *s = w->srv;
    if (s->opt.worker_init) w->data = s->opt.worker_init(w->base, w->index, s->opt.handler_arg);
    event_base_dispatch(w->base);
    /* drop idle keep-alive connections before the loop's data goes */
    while (w->conns) conn_free(w->conns);
    if (s->opt.worker_free) s->opt.worker_free(w->data, s->opt.handler_arg);
    w->data = NULL;
    return NULL;
}

int http_server_run(http_server *s)
{
    for (int i = 1; i < s->n_workers; i++)
        if (pthread_create(&s->workers[i].thread, NULL, worker_main, &s->workers[i])) {
            log_error("cannot start worker thread %d", i);
            return -1;
        }
    worker_main(&s->workers[0]);
    for (int i = 1; i < s->n_workers; i++) pthread_join(s->workers[i].thread, NULL);
    return 0;
}

static void stop_check_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    http_worker *w = arg;
    for (int li = 0; li < 2; li++)
        if (w->listeners[li]) {
            /* stop accepting: first take the connections the kernel already completed (they
             * would be reset with the socket), then close it */
            evutil_socket_t lfd = evconnlistener_get_fd(w->listeners[li]);
            for (;;) {
                struct sockaddr_storage ss;
                socklen_t sl = sizeof ss;
                int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0) break;
                accept_cb(w->listeners[li], fd, (struct sockaddr *)&ss, (int)sl, w);
            }
            evconnlistener_free(w->listeners[li]);
            w->listeners[li] = NULL;
        }
    /* Busy: a request with its handler, one being read, an answer not yet flushed to the
     * client, or a new connection that has not sent its request yet (for up to 1 s). Idle
     * keep-alive connections are closed (their clients reconnect elsewhere). */
    int busy = 0;
    double now = util_now_sec();
    for (http_conn *c = w->conns, *next; c; c = next) {
        next = c->next;
        size_t out = evbuffer_get_length(bufferevent_get_output(c->bev));
        size_t in = evbuffer_get_length(bufferevent_get_input(c->bev));
        if (c->handling || c->req || out || in || (!c->served && now < w->stop_started + 1.0)) busy++;
        else conn_free(c);
    }
    if (!busy || now >= w->stop_deadline) {
        if (busy)
            log_warn("shutdown: worker %d cuts %d connection(s) still busy at the deadline", w->index,
                     busy);
        event_base_loopbreak(w->base);
        return;
    }
    struct timeval tv = {0, 50000};
    event_add(w->stop_timer, &tv);
}

void http_server_stop(http_server *s, int grace_seconds)
{
    if (atomic_exchange(&s->stopping, 1)) return;
    /* no worker accepts for another from here on (each closes its own listeners) */
    pthread_mutex_lock(&s->adopt_lock);
    for (int i = 0; i < s->n_workers; i++) adoptions_drop(&s->workers[i]);
    pthread_mutex_unlock(&s->adopt_lock);
    for (int i = 0; i < s->n_workers; i++) {
        http_worker *w = &s->workers[i];
        w->stop_started = util_now_sec();
        w->stop_deadline = w->stop_started + grace_seconds;
        w->stop_timer = evtimer_new(w->base, stop_check_cb, w);
        struct timeval tv = {0, 0};
        if (w->stop_timer) evtimer_add(w->stop_timer, &tv);
        else event_base_loopbreak(w->base);
    }
}

void http_server_free(http_server *s)
{
    if (!s) return;
    pthread_mutex_lock(&s->adopt_lock);
    for (int i = 0; s->workers && i < s->n_workers; i++) adoptions_drop(&s->workers[i]);
    pthread_mutex_unlock(&s->adopt_lock);
    for (int i = 0; s->workers && i < s->n_workers; i++) {
        http_worker *w = &s->workers[i];
        for (int li = 0; li < 2; li++)
            if (w->listeners[li]) evconnlistener_free(w->listeners[li]);
        while (w->conns) conn_free(w->conns);
        if (w->stop_timer) event_free(w->stop_timer);
        if (w->base) event_base_free(w->base);
    }
    free(s->workers);
    pthread_mutex_destroy(&s->adopt_lock);
    free(s);
}
