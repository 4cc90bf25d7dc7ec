/* upstream.h - asynchronous HTTP client for model servers.
 *
 * Driven by a worker's libevent loop: no thread per request, connections to
 * each model server kept alive and reused. Plain http:// to a numeric address
 * runs on a native HTTP/1.1 engine; https and host names on libcurl's multi
 * interface (upstream.c). Every callback runs on the loop that started the
 * transfer, never from inside upstream_start. */
#ifndef SEMROUTER_HTTP_UPSTREAM_H
#define SEMROUTER_HTTP_UPSTREAM_H
#include <stddef.h>

struct event_base;
typedef struct upstream_client upstream_client;
typedef struct upstream_call upstream_call;

typedef struct upstream_callbacks {
    /* Response head received (status known). Return nonzero to abort. */
    int (*on_head)(void *arg, int status, const char *content_type);
    /* A piece of the body. Return nonzero to abort the transfer. */
    int (*on_data)(void *arg, const char *data, size_t len);
    /* Transfer over (always called exactly once, unless cancelled). ok = the
     * whole body arrived; otherwise err is a sentence and timed_out tells a
     * timeout apart; connect_failed = nothing reached the server. */
    void (*on_done)(void *arg, int ok, int status, int timed_out, int connect_failed,
                    const char *err);
} upstream_callbacks;

typedef struct upstream_request {
    const char *url;
    const char *body;
    size_t body_len;
    const char *const *headers; /* "Name: value" lines, NULL-terminated */
    long connect_timeout_ms;
    long total_timeout_ms;      /* 0 = none */
    long first_byte_timeout_ms; /* no response head within this: timeout (0 = none) */
    long idle_timeout_ms;       /* after the head, no byte for this long: timeout (0 = none) */
    const char *ca_file;        /* https: CA bundle instead of the system's (NULL = system) */
    const char *cert_file, *key_file; /* https: client certificate (NULL = none) */
    /* Kept-alive connections (both engines): one idle for more than keepalive_idle_s whole
     * seconds, or opened more than keepalive_lifetime_s whole seconds ago (so from the limit
     * + 1 s on, as libcurl counts: CURLOPT_MAXAGE_CONN, CURLOPT_MAXLIFETIME_CONN), is not reused
     * but closed; a connection busy at its lifetime finishes its transfer first.
     * idle <= 0: UPSTREAM_KEEPALIVE_IDLE_S; lifetime <= 0: no limit. */
    long keepalive_idle_s;
    long keepalive_lifetime_s;
} upstream_request;

#define UPSTREAM_KEEPALIVE_IDLE_S 30 /* under the 60-75 s keep-alive timeouts of nginx and load
                                        balancers, and NAT idle timeouts */

upstream_client *upstream_client_new(struct event_base *base);
void upstream_client_free(upstream_client *c); /* cancels what is still running */

/* Starts a transfer; body and headers are copied. NULL on failure. */
upstream_call *upstream_start(upstream_client *c, const upstream_request *req,
                              const upstream_callbacks *cb, void *arg);
/* Stops a transfer; no callback fires afterwards. */
void upstream_cancel(upstream_call *call);
/* Back-pressure: stop/resume reading the response. While paused the idle timeout does not run
 * (the wait is ours, not the server's). */
void upstream_pause(upstream_call *call, int paused);
/* The response's Retry-After in milliseconds (from retry-after-ms, else Retry-After as seconds
 * or an HTTP date), or -1 when it had none. Valid from on_head on. */
long upstream_retry_after_ms(const upstream_call *call);
#endif
