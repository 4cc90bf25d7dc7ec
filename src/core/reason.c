/* reason.c - the table of reason codes (see reason.h). One row per code, sorted by where it
 * shows and then by name; a new failure gets a row here before its code is written. */
#include "core/reason.h"
#include <string.h>

#define R(code, status, where, sentence) {code, status, where, sentence}

const reason_code reason_codes[] = {
    /* ---- HTTP error bodies (`error.code`); the request log line's `error` names the same
     * or the log reason below ---- */
    R("cache_backend_unavailable", 503, "http", "A management API cache route on the milvus or hybrid backend could not be done: Milvus is down, slow or answered an error (the message names the call that failed and why); retry when /ready shows the cache ok."),
    R("cache_not_available", 501, "http", "The management API's cache routes need a cache: the semantic cache is off (semantic_cache.enabled)."),
    R("cache_replay_failed", 500, "http", "A cached answer could not be turned into a stream (out of memory); the request can be retried."),
    R("classification_failed", 500, "http", "The classification API could not embed or classify the text (the message says why: model missing, out of memory)."),
    R("embedding_failed", 500, "http", "/v1/embeddings or /api/v1/similarity could not embed the input (the message says why: out of memory; 502: the remote embedding model failed)."),
    R("entry_not_found", 404, "http", "No cache entry has that id (the 64 hex digits of its exact_key, as the export lists them)."),
    R("export_failed", 500, "http", "The management API's cache export failed (the message says why: a temporary file or memory)."),
    R("guard_not_available", 500, "http", "The prompt guard could not be created for /api/v1/classify/security (the message says why)."),
    R("headers_too_large", 431, "http", "The request's headers are larger than server.max_header_bytes."),
    R("insufficient_permissions", 403, "http", "The API key is valid but may not do this (a tenant key on another tenant's entries, or a management route)."),
    R("invalid_api_key", 401, "http", "No API key, or one that is not in auth.keys; send Authorization: Bearer KEY."),
    R("invalid_encoding", 400, "http", "The request body is not valid UTF-8."),
    R("invalid_json", 400, "http", "The request body is empty, not JSON, or not a JSON object."),
    R("invalid_type", 400, "http", "A request field has the wrong JSON type (the error's param names it)."),
    R("invalid_value", 400, "http", "A request field has a value out of its range or shape (the error's param names it)."),
    R("jailbreak_detected", 403, "http, log", "The prompt guard blocked the request as a jailbreak (prompt_guard.block_status 403; with 200 the answer is a content_filter completion)."),
    R("malformed_request", 400, "http", "The HTTP request could not be parsed (request line, headers or chunked body); the connection is closed."),
    R("management_loopback_only", 403, "http", "While auth is off, the management routes answer clients on this machine only: turn auth on and send an admin key, or set auth.management_loopback_only: false."),
    R("method_not_allowed", 405, "http", "The URL exists but not with this HTTP method."),
    R("missing_required_parameter", 400, "http", "A required request field is missing (the error's param names it)."),
    R("model_not_found", 404, "http, log", "The requested model is not configured; the message lists the valid names (or use MoM/auto)."),
    R("model_not_loaded", 503, "http", "The endpoint needs the embedding model, which is not loaded (see the start log; run scripts/fetch-model.sh)."),
    R("no_endpoints", 503, "http, log", "The chosen model has no vllm_endpoints entry that serves it; fix the configuration."),
    R("no_healthy_endpoint", 503, "http, log", "Every endpoint of the model is ejected after repeated failures; the answer carries retry-after-ms and says for how long."),
    R("no_upstream_client", 500, "http", "The worker thread has no upstream client (it could not be created at start); restart the router."),
    R("out_of_memory", 500, "http", "The router ran out of memory writing the answer; the request can be retried."),
    R("pii_policy_denied", 403, "http, log", "The request carries PII types the chosen model's pii_policy does not allow (with block_status 200: a content_filter completion)."),
    R("rate_limit_exceeded", 429, "http", "The tenant's request limit is reached; wait and retry (the message says how long)."),
    R("request_too_large", 413, "http", "The request body is larger than server.max_body_bytes."),
    R("unknown_url", 404, "http", "No route at this URL (on the metrics port: only /metrics and /health)."),
    R("unsupported_media_type", 415, "http", "The request's Content-Type must be application/json."),
    R("unsupported_transfer_encoding", 501, "http", "The request uses a Transfer-Encoding other than chunked; the connection is closed."),
    R("upstream_error", 502, "http, log", "The model server failed in another way (the message says how); failover tried the other endpoints."),
    R("upstream_invalid_response", 502, "http, log", "The model server answered 2xx with a body that is not a JSON object."),
    R("upstream_response_too_large", 502, "http, log", "The model server's answer is larger than server.max_upstream_body_bytes; ask for a shorter answer or stream it."),
    R("upstream_stream_interrupted", 200, "stream, log", "The model server's stream broke after it started; the stream ends with an error event and [DONE], and nothing is cached."),
    R("upstream_timeout", 504, "http", "The model server did not answer in time (server.first_byte_timeout_seconds, upstream_idle_timeout_seconds, request_timeout_seconds; log reason: timeout)."),
    R("upstream_unavailable", 503, "http", "The model server answered 5xx on every endpoint tried (log reason: upstream_5xx)."),
    R("upstream_unreachable", 503, "http, log", "No endpoint of the model accepted a connection (refused, unresolvable or connect timeout)."),
    /* ---- the request log line's `error` (log reasons that are not an HTTP code above) ---- */
    R("authentication", 401, "log", "Logged for a request refused as invalid_api_key or insufficient_permissions."),
    R("cancellation", 0, "log", "The client disconnected before the answer was complete; the upstream transfer was cancelled."),
    R("parse_error", 400, "log", "Logged for a request refused as invalid_json, invalid_encoding, invalid_type, invalid_value, missing_required_parameter or unsupported_media_type."),
    R("rate_limited", 429, "log", "Logged for a request refused as rate_limit_exceeded."),
    R("serialization_error", 500, "log", "The router could not build the upstream request (out of memory, or no upstream client)."),
    R("timeout", 504, "log", "Logged for upstream_timeout, or a stream whose model server stopped sending."),
    R("upstream_4xx", 0, "log", "The model server answered 4xx; the answer is passed to the client as it is."),
    R("upstream_5xx", 503, "log", "Logged for upstream_unavailable: the model server answered 5xx."),
    R("upstream_rate_limited", 429, "log", "The model server answered 429; it is passed to the client and the endpoint rests for its Retry-After."),
    /* ---- start-up errors (stderr, exit status 1 or 2; the router does not start) ---- */
    R("config_invalid", 0, "start", "The configuration file has errors (each listed as FILE:LINE: sentence); `semrouter check-config -c FILE` shows the same."),
    R("cache_backend_misconfigured", 0, "start", "The milvus or hybrid cache backend (semantic_cache.backend_type) cannot be opened as configured (the line above says why)."),
    R("listen_failed", 0, "start", "The API or metrics port cannot be listened on (in use, no permission, or the address does not resolve), or the server could not be set up (memory, event loop); the line says which."),
    R("start_failed", 0, "start", "A resource the router needs at start (memory, the signal pipe, a thread, the watchdog) could not be had; the line says which."),
    R("usage", 0, "start", "The command line is wrong (an unknown option, or a number that is not a whole number in range); the usage is printed."),
    /* ---- degraded dependencies (log lines; the router serves without the feature) ---- */
    R("cache_unavailable", 0, "degraded", "The semantic cache could not be opened (persist file, memory); requests go upstream uncached."),
    R("embedding_model_unavailable", 0, "degraded", "The embedding model did not load: the semantic cache tier, the classifier and the similarity guards are off; run scripts/fetch-model.sh."),
    R("endpoint_not_answering", 0, "degraded", "A configured endpoint does not accept connections at start; its models fail with 502/503 until it answers."),
    R("jailbreak_exemplars_unavailable", 0, "degraded", "The prompt guard's exemplar file did not load; the guard uses its pattern signals only."),
    R("milvus_unavailable", 0, "degraded", "Milvus does not answer at start; requests are cache misses until it does (retried every second)."),
    R("prompt_guard_unavailable", 0, "degraded", "The prompt guard could not be created; requests are not screened for jailbreaks."),
    R("reload_rejected", 0, "degraded", "A configuration reload (SIGHUP or the management API) failed; the running configuration stays."),
    R("routing_degraded", 0, "degraded", "The routing engine could not be built (or there is no embedding model); automatic routing uses default_model."),
    R("verifier_unavailable", 0, "degraded", "The cache hit verifier did not load (semantic hits are decided by the similarity threshold alone), or its follow-up model did not (the hit verifier scores follow-ups too)."),
    R("watchdog_stall", 0, "degraded", "A worker's event loop has not turned for server.watchdog_seconds; its open connections wait, new ones are accepted by another worker, and /ready answers 503."),
};
const size_t reason_codes_count = sizeof reason_codes / sizeof reason_codes[0];

const reason_code *reason_find(const char *code)
{
    if (!code) return NULL;
    for (size_t i = 0; i < reason_codes_count; i++)
        if (!strcmp(reason_codes[i].code, code)) return &reason_codes[i];
    return NULL;
}

void reason_codes_print(FILE *out)
{
    fprintf(out, "| code | HTTP | where | what happened, what to do |\n|---|---|---|---|\n");
    for (size_t i = 0; i < reason_codes_count; i++) {
        const reason_code *r = &reason_codes[i];
        char st[8] = "";
        if (r->status) snprintf(st, sizeof st, "%d", r->status);
        fprintf(out, "| `%s` | %s | %s | %s |\n", r->code, st, r->where, r->sentence);
    }
}
