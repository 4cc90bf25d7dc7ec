/* stall.c - a test-only route, linked into build/tests/semrouter_stall (src/main.c + this file),
 * never into build/semrouter: POST /test/stall?ms=N blocks the worker's event loop for N ms
 * (0..60000) inside a request, then answers {"stalled_ms":N}. tests/e2e/test_watchdog.sh uses it
 * to stop a loop honestly now that no production route does model work on a loop any more
 * (api/model_api.h). The stage the watchdog reports is "test_stall". */
#include "api/gateway.h"
#include "core/watchdog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int stall_route(http_request *req, const char *path)
{
    if (strcmp(path, "/test/stall") || strcmp(http_request_method(req), "POST")) return 0;
    const char *q = strstr(http_request_query(req), "ms=");
    long ms = q ? strtol(q + 3, NULL, 10) : 0;
    if (ms < 0 || ms > 60000) {
        http_respond_error(req, 400, "ms must be 0..60000", "ms", "invalid_value");
        return 400;
    }
    watchdog_stage(http_request_header(req, "x-request-id"), "test_stall");
    struct timespec left = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&left, &left) && errno == EINTR) {
    }
    char body[64];
    int n = snprintf(body, sizeof body, "{\"stalled_ms\":%ld}", ms);
    http_respond(req, 200, "application/json", body, (size_t)n);
    return 200;
}

__attribute__((constructor)) static void install_stall_route(void)
{
    gateway_test_route = stall_route;
}
