/* sr_metrics.h - the metrics semrouter exports, in one registry.
 *
 * Names and labels are vLLM Semantic Router's where the meaning is the same
 * (reference §2.8), so its dashboards and alerts work; semrouter_* are ours.
 * Labels are listed after each field, in order. Example from the request path:
 *
 *     metrics_inc(m->model_requests, METRICS_LABELS(model));
 *     metrics_observe(m->model_ttft, METRICS_LABELS(model), ttft_seconds);
 *     metrics_inc(m->cache_hits, NULL);
 */
#ifndef SEMROUTER_SR_METRICS_H
#define SEMROUTER_SR_METRICS_H
#include "metrics/metrics.h"

typedef struct sr_metrics {
    metrics_registry *registry;
    /* requests and models */
    metric_family *model_requests;                /* llm_model_requests_total {model} */
    metric_family *request_errors;                /* llm_request_errors_total {model,reason} */
    metric_family *model_ttft;                    /* llm_model_ttft_seconds {model} */
    metric_family *model_completion_latency;      /* llm_model_completion_latency_seconds {model} */
    metric_family *model_tpot;                    /* llm_model_tpot_seconds {model} */
    metric_family *model_tokens;                  /* llm_model_tokens_total {model} */
    metric_family *model_prompt_tokens;           /* llm_model_prompt_tokens_total {model} */
    metric_family *model_completion_tokens;       /* llm_model_completion_tokens_total {model} */
    metric_family *prompt_tokens_per_request;     /* llm_prompt_tokens_per_request {model} */
    metric_family *completion_tokens_per_request; /* llm_completion_tokens_per_request {model} */
    metric_family *model_cost;                    /* llm_model_cost_total {model,currency} */
    /* routing */
    metric_family *routing_latency;       /* llm_model_routing_latency_seconds */
    metric_family *routing_modifications; /* llm_model_routing_modifications_total
                                             {source_model,target_model} */
    metric_family *routing_reason_codes;  /* llm_routing_reason_codes_total {reason_code,model} */
    metric_family *category_classifications; /* llm_category_classifications_count {category} */
    metric_family *difficulty_decisions;     /* semrouter_difficulty_decisions_total
                                                {decision,model} (difficulty_routing) */
    metric_family *difficulty_score;         /* semrouter_difficulty_score histogram */
    metric_family *adapt_switches;           /* semrouter_adaptation_switches_total{from,to,reason,signal} */
    metric_family *adapt_state_changes;      /* semrouter_adaptation_state_changes_total{model,change,reason} */
    metric_family *adapt_breached;           /* semrouter_adaptation_breached{model} 0/1 */
    metric_family *adapt_ttft;               /* semrouter_model_ttft_average_seconds{model,endpoint} */
    metric_family *adapt_errors;             /* semrouter_model_error_rate_average{model,endpoint} */
    metric_family *adapt_queue;              /* semrouter_model_queue_depth_average{model,endpoint} */
    metric_family *classifier_latency;       /* llm_classifier_latency_seconds {classifier} */
    metric_family *pii_violations;           /* llm_pii_violations_total {model,pii_type} */
    metric_family *reasoning_decisions;      /* llm_reasoning_decisions_total
                                                {category,model,enabled,effort} */
    metric_family *reasoning_template_usage; /* llm_reasoning_template_usage_total {family,param} */
    metric_family *reasoning_effort_usage;   /* llm_reasoning_effort_usage_total {family,effort} */
    /* cache */
    metric_family *cache_hits;               /* llm_cache_hits_total */
    metric_family *cache_misses;             /* llm_cache_misses_total */
    metric_family *cache_entries;            /* llm_cache_entries_total {backend} (gauge) */
    metric_family *cache_operation_duration; /* llm_cache_operation_duration_seconds
                                                {backend,operation} */
    metric_family *cache_operations;         /* llm_cache_operations_total
                                                {backend,operation,status} */
    metric_family *cache_backend_errors;     /* semrouter_cache_backend_errors_total
                                                {backend,reason} */
    metric_family *cache_backend_healthy;    /* semrouter_cache_backend_healthy {backend} (gauge) */
    /* semrouter's own */
    metric_family *http_requests;     /* semrouter_http_requests_total {path,status} */
    metric_family *upstream_requests; /* semrouter_upstream_requests_total {endpoint,outcome} */
    metric_family *endpoint_healthy;  /* semrouter_endpoint_healthy {endpoint} (gauge 0/1) */
    metric_family *inflight_requests; /* semrouter_inflight_requests (gauge) */
    metric_family *watchdog_stalls;   /* semrouter_watchdog_stalls_total {worker} */
    metric_family *config_reloads;    /* semrouter_config_reloads_total {result} */
    metric_family *tenant_rejections; /* semrouter_tenant_rejections_total {tenant,reason} */
    metric_family *embedding_latency; /* semrouter_embedding_latency_seconds */
} sr_metrics;

/* Creates every family in a new registry. NULL on failure (logged). */
sr_metrics *sr_metrics_new(void);
void sr_metrics_free(sr_metrics *m);

/* Records a finished request's token usage for model: the three token counters
 * and the two per-request histograms. cost (in currency, NULL = "USD") is added
 * to llm_model_cost_total when > 0. */
void sr_metrics_usage(sr_metrics *m, const char *model, long prompt_tokens, long completion_tokens,
                      double cost, const char *currency);

/* Appends the exposition text (for GET /metrics). */
void sr_metrics_render(sr_metrics *m, buf *out);
#endif
