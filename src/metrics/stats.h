/* stats.h - live statistics of the request path for GET /api/v1/stats and the dashboard.
 *
 * The request path hands every finished chat request to stats_record() as one
 * stats_decision (the same place that writes the JSON decision log line). The
 * module keeps, under one mutex (one short critical section per request):
 *   - totals by response path, cache outcome, model, (category, model) and guard block type;
 *   - a ring of one-second slots (the last STATS_SERIES_SECONDS seconds): requests by
 *     model, cache outcomes, blocks, errors;
 *   - a ring of the last STATS_LATENCY_SAMPLES latencies (total and time to first token),
 *     from which p50/p99 over a window are exact (nearest rank), not bucketed;
 *   - a ring of the last STATS_RECENT decisions, strings copied (truncated to fit).
 * Names (models, categories, block types) are interned into small tables; past
 * their size new names are counted under "_other_", so client-chosen strings
 * cannot grow memory. Counters that /metrics also exports are not duplicated
 * here: the api layer reads those from the metrics registry, so the two agree.
 *
 * stats_write_json() appends the module's members of the /api/v1/stats object. */
#ifndef SEMROUTER_METRICS_STATS_H
#define SEMROUTER_METRICS_STATS_H
#include "core/buf.h"
#include <stdint.h>

#define STATS_SERIES_SECONDS 300
#define STATS_LATENCY_SAMPLES 4096
#define STATS_RECENT 200
#define STATS_MAX_NAMES 32

/* One finished request. Every pointer may be NULL (not known / not applicable);
 * nothing is kept after the call. */
typedef struct stats_decision {
    int64_t time_ms;             /* Unix milliseconds of the end; 0 = now */
    const char *request_id;
    const char *tenant;
    const char *requested_model;
    const char *model;           /* the model that answered (or would have) */
    const char *category;        /* the routing category, when classified */
    const char *path;            /* "upstream", "cache", "blocked"; NULL = "error" when status >= 400 */
    const char *cache;           /* "exact", "semantic", "coalesced", "miss", "skip", "off" */
    const char *guard;           /* "jailbreak" or "pii" when a guard blocked it */
    const char *guard_type;      /* e.g. "roleplay", "CREDIT_CARD" */
    const char *endpoint;        /* the endpoint of the last upstream attempt */
    const char *error;           /* llm_request_errors_total reason */
    int status;
    int stream;
    int reasoning;               /* 1 on, 0 off */
    int routed;                  /* 1: a routing decision chose model (counted in "routing");
                                    0: none was made (an exact cache hit, a request refused first) */
    double similarity;           /* cache similarity; < 0 = none */
    double verifier_probability; /* cache hit verifier; < 0 = none */
    double latency_ms;           /* total, as the client saw it */
    double ttft_ms;              /* time to first upstream byte; < 0 = none */
} stats_decision;

typedef struct stats stats;

stats *stats_new(void);
void stats_free(stats *s);

/* Records one decision (thread-safe; s NULL is a no-op). */
void stats_record(stats *s, const stats_decision *d);

typedef struct stats_query {
    int64_t now_ms;      /* 0 = now */
    int series_seconds;  /* points in "series" (1..STATS_SERIES_SECONDS; 0 = 120) */
    int window_seconds;  /* latency percentile window (0 = 300) */
    int recent;          /* decisions in "recent" (0..STATS_RECENT; < 0 = 50) */
} stats_query;

/* Appends `"decisions":{...},"routing":[...],"guard_blocks":[...],"latency":{...},
 * "series":{...},"recent":[...]` (no enclosing braces; see README's /api/v1/stats). */
void stats_write_json(stats *s, const stats_query *q, buf *out);

/* The p-th percentile (0..100, nearest rank) of the total latency / TTFT
 * samples newer than window_seconds at now_ms; -1 when there is none. For tests
 * and the JSON writer. */
double stats_latency_percentile(stats *s, int64_t now_ms, int window_seconds, double p, int ttft);
#endif
