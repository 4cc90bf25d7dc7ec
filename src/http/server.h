/* server.h - the HTTP/1.1 front end: worker threads, connections, requests.
 *
 * One libevent event loop per worker thread, each with its own SO_REUSEPORT
 * listener, so the kernel spreads connections and no lock sits on the accept
 * path. A request reaches the handler fully read (headers + body, limits
 * enforced here with OpenAI-shaped errors). The handler answers at once or
 * later from the same worker's loop (upstream I/O), whole or streamed.
 *
 * Lifetime: an http_request stays valid until the handler has finished it with
 * http_respond() or http_stream_end(), even when the client went away first; the
 * handler learns of that through the close callback and should stop work. */
#ifndef SEMROUTER_HTTP_SERVER_H
#define SEMROUTER_HTTP_SERVER_H
#include <stddef.h>
#include <stdint.h>

struct event_base;
typedef struct http_server http_server;
typedef struct http_request http_request;

typedef struct http_listen {
    const char *host; /* "0.0.0.0", "127.0.0.1", "::" */
    int port;         /* 0 = ephemeral (read back with http_server_port) */
} http_listen;

typedef void (*http_handler_fn)(http_request *req, void *arg);

typedef struct http_server_options {
    http_listen listeners[2]; /* [0] API, [1] metrics (port < 0 = none) */
    int n_listeners;
    int workers;              /* event-loop threads; 0 = number of cores */
    size_t max_body_bytes;    /* larger bodies get 413 */
    size_t max_header_bytes;  /* request line + headers; larger gets 431 */
    int idle_timeout_seconds; /* keep-alive idle and slow-header limit */
    /* handler per listener, called on the worker's loop */
    http_handler_fn handlers[2];
    void *handler_arg;
    /* optional per-worker setup/teardown (e.g. an upstream client per loop) */
    void *(*worker_init)(struct event_base *base, int worker_index, void *arg);
    void (*worker_free)(void *worker_data, void *arg);
} http_server_options;

/* Binds every listener (so errors like "address in use" surface here) and
 * prepares the workers. Returns NULL with a sentence in err on failure. */
http_server *http_server_new(const http_server_options *o, char *err, size_t errlen);
/* Runs the worker loops until http_server_stop(); blocks the caller. */
int http_server_run(http_server *s);
/* Thread-safe: stops accepting, lets in-flight requests finish for up to
 * grace_seconds, then ends the loops. */
void http_server_stop(http_server *s, int grace_seconds);
void http_server_free(http_server *s);
int http_server_port(const http_server *s, int listener_index);
/* Worker loops (threads) the server runs; worker indexes are 0..n-1. */
int http_server_workers(const http_server *s);
/* Requests being handled right now across all workers. */
long http_server_inflight(const http_server *s);
/* Thread-safe (the watchdog thread): worker's loop has stopped turning (stalled = 1) or turns
 * again (0). While it is stalled the next worker that still turns also accepts from its
 * listening sockets, so new connections the kernel hands it are served (its open connections
 * still wait). Nothing is adopted with one worker, when every other one is stalled too, or
 * once the server stops. */
void http_server_worker_stalled(http_server *s, int worker, int stalled);

/* --- request accessors --- */
const char *http_request_method(const http_request *r);
const char *http_request_path(const http_request *r);  /* without the query */
const char *http_request_query(const http_request *r); /* after '?', or "" */
/* Case-insensitive header lookup; NULL when absent. */
const char *http_request_header(const http_request *r, const char *name);
/* Iterates headers: returns 0 past the end. Names are lower-case. */
int http_request_header_at(const http_request *r, int i, const char **name, const char **value);
const char *http_request_body(const http_request *r, size_t *len);
struct event_base *http_request_base(const http_request *r);
void *http_request_worker_data(const http_request *r);
int http_request_worker_index(const http_request *r);
const char *http_request_peer(const http_request *r);
uint64_t http_request_start_ns(const http_request *r);
/* 1 once the client has disconnected. */
int http_request_client_gone(const http_request *r);
/* Called once if the client disconnects before the handler finished. */
void http_request_on_close(http_request *r, void (*cb)(http_request *, void *), void *arg);
/* Called when buffered output drops below the low watermark (stream back-pressure). */
void http_request_on_drain(http_request *r, void (*cb)(http_request *, void *), void *arg);

/* --- responding --- */
/* Adds a response header (before the response starts). */
void http_add_header(http_request *r, const char *name, const char *value);
/* Whole response; finishes the request. */
void http_respond(http_request *r, int status, const char *content_type, const char *body,
                  size_t len);
/* Convenience: an OpenAI error object with the status's error type. */
void http_respond_error(http_request *r, int status, const char *message, const char *param,
                        const char *code);
/* Streamed response (chunked transfer encoding on HTTP/1.1). */
void http_stream_start(http_request *r, int status, const char *content_type);
/* A 200 Server-Sent Events stream (core/sse.h writes its events): text/event-stream with
 * Cache-Control: no-cache and X-Accel-Buffering: no, so no proxy holds events back. */
void http_stream_start_sse(http_request *r);
/* Returns -1 when the client is gone (the data is dropped). */
int http_stream_write(http_request *r, const void *data, size_t len);
/* Bytes accepted but not yet sent to the client (back-pressure signal). */
size_t http_stream_pending(const http_request *r);
void http_stream_end(http_request *r);
int http_request_status(const http_request *r);
#endif
