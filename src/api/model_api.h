/* model_api.h - the router's own model-work endpoints, off the event loop.
 *
 *   POST /v1/embeddings, /api/v1/similarity                    (api/embeddings.h)
 *   POST /api/v1/classify/intent|batch|combined|pii|security   (api/classify.h, classify_guard.h)
 *
 * Their handlers embed and classify: milliseconds per text, seconds for a
 * 2,048-input /v1/embeddings request, and a remote embedding model's blocking
 * HTTP call. Run on a worker's loop that would stall every other connection of
 * the worker. So the gateway hands such a request to the compute pool
 * (pipeline/compute.h) as one job: a compute thread runs the handler with its
 * own embedding state and the answer is sent from the request's loop when the
 * job is done. A pass-through request or a cache hit on the same worker is
 * answered meanwhile (tests/e2e/test_model_api.sh). Declared here for the
 * gateway, defined in src/pipeline/model_api.c (api may not include the pipeline).
 *
 * Ownership: the job owns a copy of the body, the answer buffer and a
 * reference to the runtime (classifier, detector) taken on the loop; the
 * compute thread reads only those and immutable shared state (the model).
 * A client that leaves meanwhile is answered into the void (http_respond frees
 * the request); nothing is cancelled. Without a compute pool (it could not
 * start) the handler runs on the loop, as before. */
#ifndef SEMROUTER_API_MODEL_API_H
#define SEMROUTER_API_MODEL_API_H
#include "api/gateway.h"
#include "http/server.h"

typedef enum {
    MODEL_API_EMBEDDINGS,
    MODEL_API_SIMILARITY,
    MODEL_API_INTENT,
    MODEL_API_BATCH,
    MODEL_API_COMBINED,
    MODEL_API_PII,
    MODEL_API_SECURITY,
} model_api_kind;

/* Starts req (a POST to kind's route, past the key check and tenant limits).
 * Returns 0 when the request was taken over: the answer comes later, and then
 * the tenant slot is released (held: auth_limits_release(gw, tenant)) and the
 * request counted under counted_path. Otherwise the request was answered now
 * (503: no model loaded; 500: out of memory) and the status is returned: the
 * caller releases and counts as for any other route. */
int model_api_start(http_request *req, gateway *gw, gateway_worker *wk, model_api_kind kind, const char *tenant,
                    int held, const char *counted_path);
#endif
