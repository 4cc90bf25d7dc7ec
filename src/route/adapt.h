/* adapt.h - real-time adaptation: how each model and endpoint is doing right now,
 * and whether a model has breached its budget (README "Real-time adaptation").
 *
 * Per model and per (model, endpoint): exponentially weighted moving averages
 * (weight `alpha` for a new sample) of the time to first token (successful
 * attempts), the error rate (an attempt that failed: refused, timed out, 5xx
 * -> 1, else 0) and the queue depth (requests in flight to the model, sampled
 * when one starts).
 *
 * A model breaches when, after `min_samples` attempts, an average is over its
 * budget: ttft over ttft_budget_s (latency), error rate over error_budget
 * (errors), queue over queue_budget (queue); a budget of 0 is off. It recovers
 * (hysteresis) only when every budgeted average is at or under recover_ratio x
 * its budget, or when no attempt has reached it for probe_seconds (then its
 * averages start again from the next samples, so borderline traffic probes it).
 * route_choose moves only borderline requests off a breached model (decide.h);
 * clear-cut traffic keeps going there and its samples show the recovery.
 *
 * A tracker lives as long as the gateway (a reload keeps the history; the
 * budgets come with each call from the current config). Models and endpoints
 * are keyed by name, up to ADAPT_MAX_KEYS pairs (more are not tracked). All
 * calls are thread-safe (one mutex; each holds it for a table scan of a few
 * dozen entries). Time comes in as now_ns so tests drive the clock. */
#ifndef SEMROUTER_ADAPT_H
#define SEMROUTER_ADAPT_H
#include <stdint.h>

#define ADAPT_MAX_KEYS 256

typedef struct adapt_params {
    double alpha;         /* weight of a new sample, (0, 1] */
    double ttft_budget_s; /* 0 = no latency budget */
    double error_budget;  /* error-rate average, 0 = none */
    double queue_budget;  /* in-flight average, 0 = none */
    double recover_ratio; /* (0, 1]: recovered at or under ratio x budget */
    int min_samples;      /* attempts before a breach is called */
    double probe_seconds; /* a breached model without attempts this long is tried again */
} adapt_params;

typedef enum { ADAPT_OK = 0, ADAPT_LATENCY, ADAPT_ERRORS, ADAPT_QUEUE } adapt_reason;
const char *adapt_reason_name(adapt_reason r); /* "ok" | "latency" | "errors" | "queue" */

typedef struct adapt_stats {
    double ttft_avg;   /* seconds; 0 before the first successful attempt */
    double error_avg;  /* [0, 1] */
    double queue_avg;  /* requests in flight */
    int inflight;      /* now */
    uint64_t samples;  /* finished attempts since the averages (re)started */
    adapt_reason breach; /* models only: the current state; ADAPT_OK for endpoints */
} adapt_stats;

/* A state change of a model, for the log line and the metrics. */
typedef struct adapt_event {
    int changed;        /* +1 breached now, -1 recovered now, 0 none */
    adapt_reason reason; /* of the breach (for a recovery: the breach that ended) */
    double value, budget; /* the average that crossed and its budget */
} adapt_event;

typedef struct adapt_tracker adapt_tracker;
adapt_tracker *adapt_new(void);
void adapt_free(adapt_tracker *t);

/* An attempt to model at endpoint starts (counts it in flight, samples the queue). */
void adapt_begin(adapt_tracker *t, const adapt_params *p, const char *model, const char *endpoint);
/* It ended: ok = answered (a 4xx counts as answered), ttft_s its time to first
 * byte (ignored when !ok or < 0). ev (may be NULL) reports a state change. */
void adapt_end(adapt_tracker *t, const adapt_params *p, const char *model, const char *endpoint,
               int ok, double ttft_s, uint64_t now_ns, adapt_event *ev);
/* The model's state now (ADAPT_OK when untracked); a probe timeout recovers it
 * here (ev, may be NULL, says so). */
adapt_reason adapt_breached(adapt_tracker *t, const adapt_params *p, const char *model, uint64_t now_ns,
                            adapt_event *ev);
/* The averages of a model (endpoint NULL) or of one of its endpoints; -1 when untracked. */
int adapt_get(adapt_tracker *t, const char *model, const char *endpoint, adapt_stats *out);
/* Calls fn for every tracked model (endpoint NULL) and (model, endpoint) pair. */
void adapt_each(adapt_tracker *t, void (*fn)(void *ctx, const char *model, const char *endpoint,
                                             const adapt_stats *s),
                void *ctx);
#endif
