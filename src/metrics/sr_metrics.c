/* sr_metrics.c - creates semrouter's metric families (names: sr_metrics.h). */
#include "metrics/sr_metrics.h"

#include <stdlib.h>

/* Tokens per request: powers of two, 1 ... 128k. */
static const double token_buckets[] = {1,   2,    4,    8,    16,   32,    64,    128,   256,
                                       512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072};
#define N_TOKEN_BUCKETS ((int)(sizeof token_buckets / sizeof token_buckets[0]))

/* Time per output token: 1 ms ... 2.5 s (decode speeds of 1000 down to 0.4 tok/s). */
static const double tpot_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                      0.1,   0.25,   0.5,   1,    2.5};
#define N_TPOT_BUCKETS ((int)(sizeof tpot_buckets / sizeof tpot_buckets[0]))

#define L(...)                                                                                     \
    (int)(sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *)),                      \
        METRICS_LABELS(__VA_ARGS__)
#define NOLABELS 0, NULL

sr_metrics *sr_metrics_new(void)
{
    sr_metrics *m = calloc(1, sizeof *m);
    if (!m || !(m->registry = metrics_new())) goto err;
    metrics_registry *r = m->registry;

    m->model_requests =
        metrics_counter(r, "llm_model_requests_total", "Requests sent to each model.", L("model"));
    m->request_errors = metrics_counter(r, "llm_request_errors_total",
                                        "Failed requests by model and reason (timeout, "
                                        "cancellation, upstream_5xx, upstream_4xx, "
                                        "pii_policy_denied, jailbreak_block, parse_error, ...).",
                                        L("model", "reason"));
    m->model_ttft = metrics_histogram(r, "llm_model_ttft_seconds",
                                      "Time to first token from the upstream model, seconds.",
                                      L("model"), NULL, 0);
    m->model_completion_latency =
        metrics_histogram(r, "llm_model_completion_latency_seconds",
                          "Time from sending the request upstream to the end of the answer, "
                          "seconds.",
                          L("model"), NULL, 0);
    m->model_tpot = metrics_histogram(r, "llm_model_tpot_seconds",
                                      "Time per output token after the first, seconds.", L("model"),
                                      tpot_buckets, N_TPOT_BUCKETS);
    m->model_tokens = metrics_counter(r, "llm_model_tokens_total",
                                      "Tokens (prompt + completion) used per model.", L("model"));
    m->model_prompt_tokens = metrics_counter(r, "llm_model_prompt_tokens_total",
                                             "Prompt tokens used per model.", L("model"));
    m->model_completion_tokens =
        metrics_counter(r, "llm_model_completion_tokens_total",
                        "Completion tokens produced per model.", L("model"));
    m->prompt_tokens_per_request =
        metrics_histogram(r, "llm_prompt_tokens_per_request", "Prompt tokens of each request.",
                          L("model"), token_buckets, N_TOKEN_BUCKETS);
    m->completion_tokens_per_request = metrics_histogram(
        r, "llm_completion_tokens_per_request", "Completion tokens of each request.", L("model"),
        token_buckets, N_TOKEN_BUCKETS);
    m->model_cost = metrics_counter(r, "llm_model_cost_total",
                                    "Cost of the requests per model, from the configured "
                                    "pricing, in the currency label.",
                                    L("model", "currency"));

    m->routing_latency =
        metrics_histogram(r, "llm_model_routing_latency_seconds",
                          "Time to decide the route of a request, seconds.", NOLABELS, NULL, 0);
    m->routing_modifications =
        metrics_counter(r, "llm_model_routing_modifications_total",
                        "Requests whose model the router changed, by requested and chosen model.",
                        L("source_model", "target_model"));
    m->routing_reason_codes =
        metrics_counter(r, "llm_routing_reason_codes_total",
                        "Routing decisions by reason (auto_routing, model_specified, "
                        "pii_policy_alternative_selected, ...) and chosen model.",
                        L("reason_code", "model"));
    m->category_classifications =
        metrics_counter(r, "llm_category_classifications_count",
                        "Requests classified into each category.", L("category"));
    m->difficulty_decisions =
        metrics_counter(r, "semrouter_difficulty_decisions_total",
                        "Difficulty routing: small, large, or kept (target unavailable), "
                        "with the model that answered.",
                        L("decision", "model"));
    static const double score_buckets[] = {0.45, 0.5, 0.52, 0.54, 0.55, 0.56, 0.58, 0.6, 0.65, 0.7};
    m->difficulty_score = metrics_histogram(r, "semrouter_difficulty_score",
                                            "Difficulty head scores of auto-routed requests.",
                                            NOLABELS, score_buckets, 10);
    m->adapt_switches = metrics_counter(r, "semrouter_adaptation_switches_total",
                                        "Borderline requests moved off a model over its budget "
                                        "(adaptation), by the model left, the model taken, the "
                                        "budget breached and the borderline signal.",
                                        L("from", "to", "reason", "signal"));
    m->adapt_state_changes = metrics_counter(r, "semrouter_adaptation_state_changes_total",
                                             "Models breaching (change=breached) or recovering "
                                             "(change=recovered) their adaptation budgets.",
                                             L("model", "change", "reason"));
    m->adapt_breached = metrics_gauge(r, "semrouter_adaptation_breached",
                                      "1 while a model is over its adaptation budget.", L("model"));
    m->adapt_ttft = metrics_gauge(r, "semrouter_model_ttft_average_seconds",
                                  "Moving average of the time to first byte per model and endpoint "
                                  "(endpoint=\"\" for the model), seconds.",
                                  L("model", "endpoint"));
    m->adapt_errors = metrics_gauge(r, "semrouter_model_error_rate_average",
                                    "Moving average of the upstream error rate per model and endpoint.",
                                    L("model", "endpoint"));
    m->adapt_queue = metrics_gauge(r, "semrouter_model_queue_depth_average",
                                   "Moving average of requests in flight per model and endpoint.",
                                   L("model", "endpoint"));
    m->classifier_latency = metrics_histogram(r, "llm_classifier_latency_seconds",
                                              "Time spent in each classifier (category, pii, "
                                              "jailbreak), seconds.",
                                              L("classifier"), NULL, 0);
    m->pii_violations = metrics_counter(r, "llm_pii_violations_total",
                                        "PII found that the model's policy does not allow.",
                                        L("model", "pii_type"));
    m->reasoning_decisions =
        metrics_counter(r, "llm_reasoning_decisions_total",
                        "Reasoning mode decisions by category, model, enabled and effort.",
                        L("category", "model", "enabled", "effort"));
    m->reasoning_template_usage = metrics_counter(
        r, "llm_reasoning_template_usage_total",
        "Reasoning switched on through each family's template parameter.", L("family", "param"));
    m->reasoning_effort_usage =
        metrics_counter(r, "llm_reasoning_effort_usage_total",
                        "Reasoning effort levels set per family.", L("family", "effort"));

    m->cache_hits = metrics_counter(r, "llm_cache_hits_total",
                                    "Requests answered from the semantic cache.", NOLABELS);
    m->cache_misses = metrics_counter(r, "llm_cache_misses_total",
                                      "Cache lookups that found no answer.", NOLABELS);
    m->cache_entries = metrics_gauge(r, "llm_cache_entries_total",
                                     "Entries in the cache, per backend.", L("backend"));
    m->cache_operation_duration =
        metrics_histogram(r, "llm_cache_operation_duration_seconds",
                          "Duration of cache operations per backend and operation, seconds.",
                          L("backend", "operation"), NULL, 0);
    m->cache_operations = metrics_counter(r, "llm_cache_operations_total",
                                          "Cache operations by backend, operation and status "
                                          "(success, error, hit, miss).",
                                          L("backend", "operation", "status"));
    m->cache_backend_errors =
        metrics_counter(r, "semrouter_cache_backend_errors_total",
                        "Cache backend failures by backend and reason (unreachable, timeout, "
                        "auth, http_error, garbage, transport, degraded, overloaded, or the "
                        "server's error code name).",
                        L("backend", "reason"));
    m->cache_backend_healthy = metrics_gauge(r, "semrouter_cache_backend_healthy",
                                             "1 when the cache backend answers, 0 when degraded.",
                                             L("backend"));

    m->http_requests =
        metrics_counter(r, "semrouter_http_requests_total",
                        "HTTP requests served, by route and status code.", L("path", "status"));
    m->upstream_requests = metrics_counter(
        r, "semrouter_upstream_requests_total",
        "Requests sent to upstream endpoints, by endpoint and outcome.", L("endpoint", "outcome"));
    m->endpoint_healthy =
        metrics_gauge(r, "semrouter_endpoint_healthy",
                      "1 when the endpoint takes traffic, 0 when ejected.", L("endpoint"));
    m->inflight_requests = metrics_gauge(r, "semrouter_inflight_requests",
                                         "Requests being served right now.", NOLABELS);
    m->watchdog_stalls =
        metrics_counter(r, "semrouter_watchdog_stalls_total",
                        "Times a worker loop was found not turning for server.watchdog_seconds.",
                        L("worker"));
    m->tenant_rejections =
        metrics_counter(r, "semrouter_tenant_rejections_total",
                        "Requests refused with 429 by a tenant's limit (reason rate: requests_per_second, "
                        "concurrency: max_concurrent).",
                        L("tenant", "reason"));
    m->config_reloads =
        metrics_counter(r, "semrouter_config_reloads_total",
                        "Configuration reloads by result (ok, error).", L("result"));
    m->embedding_latency =
        metrics_histogram(r, "semrouter_embedding_latency_seconds",
                          "Time to embed one request text, seconds.", NOLABELS, NULL, 0);

    if (metrics_registration_errors(r)) goto err; /* each one was logged */
    return m;
err:
    sr_metrics_free(m);
    return NULL;
}

void sr_metrics_free(sr_metrics *m)
{
    if (!m) return;
    metrics_free(m->registry);
    free(m);
}

void sr_metrics_usage(sr_metrics *m, const char *model, long prompt_tokens, long completion_tokens,
                      double cost, const char *currency)
{
    if (!m) return;
    const char *const *labels = METRICS_LABELS(model);
    if (prompt_tokens < 0) prompt_tokens = 0;
    if (completion_tokens < 0) completion_tokens = 0;
    metrics_add(m->model_tokens, labels, (double)(prompt_tokens + completion_tokens));
    metrics_add(m->model_prompt_tokens, labels, (double)prompt_tokens);
    metrics_add(m->model_completion_tokens, labels, (double)completion_tokens);
    metrics_observe(m->prompt_tokens_per_request, labels, (double)prompt_tokens);
    metrics_observe(m->completion_tokens_per_request, labels, (double)completion_tokens);
    if (cost > 0)
        metrics_add(m->model_cost, METRICS_LABELS(model, currency ? currency : "USD"), cost);
}

void sr_metrics_render(sr_metrics *m, buf *out)
{
    if (m) metrics_render(m->registry, out);
}
