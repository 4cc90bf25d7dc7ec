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
 * bucket as it is). Thread-safe: one mutex, held for a few arithmetic operations. Tenants
 * are the configured keys (a handful to hundreds), kept in a flat array scanned linearly. */
#ifndef SEMROUTER_API_LIMITS_H
#define SEMROUTER_API_LIMITS_H

typedef struct tenant_limits tenant_limits;

typedef struct limits_rule {
    double requests_per_second; /* <= 0: no rate limit */
    int burst;                  /* tokens the bucket holds (>= 1 when rate > 0) */
    int max_concurrent;         /* <= 0: no concurrency limit */
} limits_rule;

typedef enum { LIMITS_ADMITTED = 0, LIMITS_RATE, LIMITS_CONCURRENCY, LIMITS_ERROR } limits_verdict;

tenant_limits *limits_new(void);
void limits_free(tenant_limits *l);

/* Admits one request of tenant at time now (seconds, monotonic) under rule. ADMITTED: the
 * request counts as in flight until limits_release(l, tenant). RATE / CONCURRENCY: refused;
 * *retry_after_s is when to try again (rate: until the bucket holds a token; concurrency: 1).
 * ERROR: out of memory (the caller admits the request: a limiter failure never refuses). */
limits_verdict limits_admit(tenant_limits *l, const char *tenant, const limits_rule *rule, double now,
                            double *retry_after_s);
void limits_release(tenant_limits *l, const char *tenant);
/* Requests of tenant in flight now (0 for an unknown tenant). */
int limits_inflight(tenant_limits *l, const char *tenant);
#endif
