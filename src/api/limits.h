/* limits.h - per-tenant request rate and concurrency limits (auth.keys[].requests_per_second,
 * burst, max_concurrent).
 *
 * Rate: a token bucket per tenant holding up to burst tokens, refilled at requests_per_second;
 * a request takes one token or is refused with the time until the next token. Concurrency: the
 * tenant's requests in flight; one more than max_concurrent is refused. A refused request is
 * answered 429 with Retry-After (whole seconds, rounded up) and retry-after-ms (which the
 * OpenAI SDKs prefer), and takes neither a token nor a slot.
 *
 * State is keyed by tenant name and outlives config reloads (a new limit applies to the
 * bucket as it is). Thread-safe: one mutex, held for a few arithmetic operations.
 *
 * Tenant names come only from configured auth.keys (the caller looks the key up first; a
 * client cannot invent one), but reloads can add tenants forever, so the table is bounded: a
 * hash table (O(1) lookup) of at most max_tenants buckets (LIMITS_MAX_TENANTS by default).
 * A new tenant at the cap first drops every bucket that holds no state (nothing in flight and
 * refilled to its burst, which is what a new bucket would be); a bucket with requests in flight
 * or missing tokens is never dropped. When none can go, the new tenant gets LIMITS_ERROR.
 * A sweep reads the whole table under the mutex, so one that freed too little (at most
 * max_tenants / LIMITS_SWEEP_MIN_FREED buckets) is not repeated for LIMITS_SWEEP_INTERVAL_S:
 * meanwhile a new tenant at the cap gets LIMITS_ERROR at once. A table full of busy tenants
 * therefore costs one sweep per interval, not one per request of a new tenant. */
#ifndef SEMROUTER_API_LIMITS_H
#define SEMROUTER_API_LIMITS_H

#include <stddef.h>

typedef struct tenant_limits tenant_limits;

typedef struct limits_rule {
    double requests_per_second; /* <= 0: no rate limit */
    int burst;                  /* tokens the bucket holds (>= 1 when rate > 0) */
    int max_concurrent;         /* <= 0: no concurrency limit */
} limits_rule;

typedef enum { LIMITS_ADMITTED = 0, LIMITS_RATE, LIMITS_CONCURRENCY, LIMITS_ERROR } limits_verdict;

#define LIMITS_MAX_TENANTS 65536
#define LIMITS_SWEEP_INTERVAL_S 1.0 /* seconds between unproductive sweeps */
#define LIMITS_SWEEP_MIN_FREED 16   /* a sweep pays when it frees > max_tenants / this */

tenant_limits *limits_new(void); /* max_tenants = LIMITS_MAX_TENANTS */
tenant_limits *limits_new_capped(size_t max_tenants); /* NULL for 0 */
void limits_free(tenant_limits *l);

/* Admits one request of tenant at time now (seconds, monotonic) under rule. ADMITTED: the
 * request counts as in flight until limits_release(l, tenant). RATE / CONCURRENCY: refused;
 * *retry_after_s is when to try again (rate: until the bucket holds a token; concurrency: 1).
 * ERROR: out of memory, or a new tenant at the cap that no bucket could make room for (the
 * caller admits the request: a limiter failure never refuses). */
limits_verdict limits_admit(tenant_limits *l, const char *tenant, const limits_rule *rule, double now,
                            double *retry_after_s);
void limits_release(tenant_limits *l, const char *tenant);
/* Requests of tenant in flight now (0 for an unknown tenant). */
int limits_inflight(tenant_limits *l, const char *tenant);
/* Buckets held now; *evicted (may be NULL): buckets dropped at the cap so far. */
size_t limits_count(tenant_limits *l, size_t *evicted);
/* Full-table sweeps made at the cap so far (each reads every bucket). */
size_t limits_sweeps(tenant_limits *l);
#endif
