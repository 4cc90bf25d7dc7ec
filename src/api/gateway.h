/* gateway.h - the running router: process-wide state and the HTTP routes.
 *
 * One gateway per process. It owns the current configuration (swapped on
 * SIGHUP; each request holds a reference to the one it started with), the
 * endpoint balancer, the metrics, and the loaded models. Per worker thread it
 * keeps an upstream client on that thread's event loop. */
#ifndef SEMROUTER_API_GATEWAY_H
#define SEMROUTER_API_GATEWAY_H
#include "config/config.h"
#include "http/balancer.h"
#include "http/server.h"
#include "http/upstream.h"
#include "metrics/sr_metrics.h"
#include <pthread.h>

typedef struct gateway {
    pthread_mutex_t config_lock;
    sr_config *config; /* current; take it with gateway_config() */
    char *config_path;
    balancer *balancer;
    sr_metrics *metrics;
    http_server *server;
} gateway;

typedef struct gateway_worker {
    gateway *gw;
    int index;
    upstream_client *upstream;
} gateway_worker;

/* A reference to the current configuration; release with config_release. */
sr_config *gateway_config(gateway *gw);
/* Loads path and swaps it in when valid; otherwise keeps the running one.
 * Returns 0, or -1 after printing every problem. */
int gateway_reload(gateway *gw);

/* POST /v1/chat/completions (chat.c). */
void chat_handle(http_request *req, gateway *gw, gateway_worker *wk);

/* `semrouter serve -c FILE`. */
int gateway_serve_main(int argc, char **argv);
#endif
