/* metrics.h - a small thread-safe Prometheus metrics registry.
 *
 * A registry holds families (counter, gauge, histogram), each with a fixed list
 * of label names; a family has one child per tuple of label values, created on
 * first use. Updates are cheap enough for the request path: finding a child is a
 * hash and a lock-free table probe (the family mutex is taken only to create a
 * child), and counter/histogram updates are atomic adds on a per-thread shard, so
 * worker threads do not fight over one cache line. metrics_render() writes the
 * Prometheus text exposition format 0.0.4.
 *
 * Families and children live until metrics_free(); pointers to them stay valid,
 * so a caller may look a child up once and keep it (metrics_child). Registration
 * is meant for start-up; every update function may be called from any thread. */
#ifndef SEMROUTER_METRICS_H
#define SEMROUTER_METRICS_H
#include "core/buf.h"

typedef struct metrics_registry metrics_registry;
typedef struct metric_family metric_family;
typedef struct metric_child metric_child;

/* Content-Type of metrics_render's output (text exposition format 0.0.4). */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Label values as an array literal: METRICS_LABELS("gpt-4", "timeout"). */
#define METRICS_LABELS(...) ((const char *const[]){__VA_ARGS__})

/* Most children a family creates; later new label tuples all land in one
 * overflow child whose label values are "_overflow_" (client-chosen values such
 * as model names must not grow memory without bound). */
#define METRICS_MAX_CHILDREN 2048

/* Default histogram buckets (seconds): 100 us ... 60 s. */
extern const double metrics_latency_buckets[];
extern const int metrics_latency_buckets_n;

/* A new empty registry (4 shards per counter/histogram child); NULL if out of memory. */
metrics_registry *metrics_new(void);
/* Like metrics_new with an explicit number of per-thread shards for counters and
 * histograms (rounded up to a power of two, 1..64); 1 = one shared cell. */
metrics_registry *metrics_new_sharded(int shards);
/* Frees the registry with its families and children. No thread may use it. */
void metrics_free(metrics_registry *r);

/* Registration. name must match [a-zA-Z_:][a-zA-Z0-9_:]*, label names
 * [a-zA-Z_][a-zA-Z0-9_]* (not "__"-prefixed, no duplicates; "le" not allowed on
 * histograms; at most 16 labels); names and help are copied. Returns NULL (and logs why) on an
 * invalid name, a duplicate family name or allocation failure. A family without
 * labels (n_labels 0, label_names NULL) has its single child from the start. */
metric_family *metrics_counter(metrics_registry *r, const char *name, const char *help,
                               int n_labels, const char *const *label_names);
metric_family *metrics_gauge(metrics_registry *r, const char *name, const char *help, int n_labels,
                             const char *const *label_names);
/* buckets: n_buckets strictly increasing finite upper bounds (+Inf is implied);
 * buckets NULL = metrics_latency_buckets. */
metric_family *metrics_histogram(metrics_registry *r, const char *name, const char *help,
                                 int n_labels, const char *const *label_names,
                                 const double *buckets, int n_buckets);

/* The child for the label values (an array of the family's n_labels strings;
 * NULL for a family without labels; a NULL value counts as ""). Creates it on
 * first use. NULL only on allocation failure (updates on NULL are no-ops). */
metric_child *metrics_child(metric_family *f, const char *const *values);

/* Updates through a child. add: counters (v >= 0; negative or NaN is ignored)
 * and gauges. set: gauges. observe: histograms. A call that does not fit the
 * family's type does nothing. */
void metrics_child_add(metric_child *c, double v);
void metrics_child_set(metric_child *c, double v);
void metrics_child_observe(metric_child *c, double v);

/* Shorthand: metrics_child() then the update. */
void metrics_add(metric_family *f, const char *const *values, double v);
void metrics_inc(metric_family *f, const char *const *values); /* add 1 */
void metrics_set(metric_family *f, const char *const *values, double v);
void metrics_observe(metric_family *f, const char *const *values, double v);

/* Makes a gauge child read its value at scrape time: fn(ctx) is called by
 * metrics_render and metrics_get under the registry's locks, so fn must not call
 * into this registry. fn NULL goes back to the stored value. */
void metrics_gauge_fn(metric_family *f, const char *const *values, double (*fn)(void *ctx),
                      void *ctx);

/* How many registrations on r have failed (each was logged). */
int metrics_registration_errors(metrics_registry *r);

/* Current value without creating a child: a counter's or gauge's value, a
 * histogram's observation count (sum in *hist_sum when not NULL). 0 when the
 * child does not exist. For tests and status pages. */
double metrics_get(metric_family *f, const char *const *values, double *hist_sum);

/* Appends the text exposition of every family to out: families in registration
 * order, children sorted by label values, HELP and TYPE before samples. */
void metrics_render(metrics_registry *r, buf *out);
#endif
