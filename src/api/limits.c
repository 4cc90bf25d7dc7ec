/* limits.c - per-tenant token buckets and in-flight counts (see limits.h). */
#include "api/limits.h"
#include "core/util.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 1024 /* hash chains; a power of two */

typedef struct bucket {
    struct bucket *next; /* in its chain */
    double tokens;       /* may be fractional; < 0 = never used (full) */
    double last;         /* time of the last refill; < 0 = never */
    double rate;         /* the rule of the last admission, to tell when the bucket is full again */
    int burst;
    int inflight;
    char tenant[]; /* NUL-terminated */
} bucket;

/* Invariant (under mu): n = buckets in the chains <= max. swept_at is the time of the last
 * sweep that freed too little to pay for itself (LIMITS_SWEEP_MIN_FREED), < 0 when the last
 * sweep paid or there was none: until LIMITS_SWEEP_INTERVAL_S after it, a new tenant at the
 * cap fails open without sweeping again. */
struct tenant_limits {
    pthread_mutex_t mu;
    bucket *slot[SLOTS];
    size_t n, max;
    size_t evicted;
    size_t sweeps;   /* full-table sweeps so far */
    double swept_at; /* see above */
};

tenant_limits *limits_new_capped(size_t max_tenants)
{
    if (max_tenants == 0) return NULL;
    tenant_limits *l = calloc(1, sizeof *l);
    if (!l) return NULL;
    pthread_mutex_init(&l->mu, NULL);
    l->max = max_tenants;
    l->swept_at = -1;
    return l;
}

tenant_limits *limits_new(void)
{
    return limits_new_capped(LIMITS_MAX_TENANTS);
}

void limits_free(tenant_limits *l)
{
    if (!l) return;
    for (size_t i = 0; i < SLOTS; i++)
        for (bucket *b = l->slot[i], *nx; b; b = nx) {
            nx = b->next;
            free(b);
        }
    pthread_mutex_destroy(&l->mu);
    free(l);
}

static size_t slot_of(const char *s)
{
    uint64_t h = util_fnv1a(UTIL_FNV1A_BASIS, s, strlen(s));
    return (size_t)(h ^ (h >> 32)) & (SLOTS - 1);
}

/* A bucket that forgets nothing when dropped: nothing in flight and as full at now as a new
 * one would be. */
static int forgettable(const bucket *b, double now)
{
    if (b->inflight > 0) return 0;
    if (b->tokens < 0 || b->rate <= 0) return 1;
    double t = b->tokens + (now > b->last ? (now - b->last) * b->rate : 0);
    return t >= (b->burst >= 1 ? b->burst : 1);
}

/* Drops every forgettable bucket (mutex held); how many went. Cost: every bucket of the table
 * (O(max)), so find() does not repeat an unproductive one within LIMITS_SWEEP_INTERVAL_S. */
static size_t sweep(tenant_limits *l, double now)
{
    size_t gone = 0;
    l->sweeps++;
    for (size_t i = 0; i < SLOTS; i++)
        for (bucket **p = &l->slot[i]; *p;) {
            bucket *b = *p;
            if (forgettable(b, now)) {
                *p = b->next;
                free(b);
                gone++;
            } else {
                p = &b->next;
            }
        }
    l->n -= gone;
    l->evicted += gone;
    /* a sweep pays when it frees more than max/16 buckets: the next new tenants take that room
     * without sweeping, so each admission costs at most 16 bucket visits on average */
    l->swept_at = gone > l->max / LIMITS_SWEEP_MIN_FREED ? -1 : now;
    return gone;
}

/* Whether the last sweep was unproductive and recent (mutex held). A clock that went back
 * counts as time passed. */
static int swept_recently(const tenant_limits *l, double now)
{
    return l->swept_at >= 0 && now >= l->swept_at && now - l->swept_at < LIMITS_SWEEP_INTERVAL_S;
}

/* The bucket of tenant (mutex held); created full when create is set, after dropping the
 * forgettable buckets when the table is at its cap. NULL when absent, when every bucket at the
 * cap still holds state (or an unproductive sweep was less than LIMITS_SWEEP_INTERVAL_S ago),
 * or out of memory. */
static bucket *find(tenant_limits *l, const char *tenant, int create, double now)
{
    size_t s = slot_of(tenant);
    for (bucket *b = l->slot[s]; b; b = b->next)
        if (!strcmp(b->tenant, tenant)) return b;
    if (!create) return NULL;
    if (l->n >= l->max && (swept_recently(l, now) || !sweep(l, now))) return NULL;
    size_t len = strlen(tenant);
    bucket *b = malloc(sizeof *b + len + 1);
    if (!b) return NULL;
    *b = (bucket){.next = l->slot[s], .tokens = -1, .last = -1};
    memcpy(b->tenant, tenant, len + 1);
    l->slot[s] = b;
    l->n++;
    return b;
}

limits_verdict limits_admit(tenant_limits *l, const char *tenant, const limits_rule *rule, double now,
                            double *retry_after_s)
{
    *retry_after_s = 0;
    if (!l || !tenant) return LIMITS_ERROR;
    pthread_mutex_lock(&l->mu);
    bucket *b = find(l, tenant, 1, now);
    limits_verdict v = LIMITS_ADMITTED;
    if (!b) {
        v = LIMITS_ERROR;
        goto out;
    }
    b->rate = rule->requests_per_second;
    b->burst = rule->burst;
    if (rule->max_concurrent > 0 && b->inflight >= rule->max_concurrent) {
        *retry_after_s = 1;
        v = LIMITS_CONCURRENCY;
        goto out;
    }
    if (rule->requests_per_second > 0) {
        double burst = rule->burst >= 1 ? rule->burst : 1;
        if (b->tokens < 0) b->tokens = burst; /* a new bucket starts full */
        else if (now > b->last) b->tokens += (now - b->last) * rule->requests_per_second;
        if (b->tokens > burst) b->tokens = burst; /* also after a reload lowered the burst */
        b->last = now > b->last ? now : b->last;
        if (b->tokens < 1) {
            *retry_after_s = (1 - b->tokens) / rule->requests_per_second;
            v = LIMITS_RATE;
            goto out;
        }
        b->tokens -= 1;
    }
    b->inflight++;
out:
    pthread_mutex_unlock(&l->mu);
    return v;
}

void limits_release(tenant_limits *l, const char *tenant)
{
    if (!l || !tenant) return;
    pthread_mutex_lock(&l->mu);
    bucket *b = find(l, tenant, 0, 0);
    if (b && b->inflight > 0) b->inflight--;
    pthread_mutex_unlock(&l->mu);
}

int limits_inflight(tenant_limits *l, const char *tenant)
{
    if (!l || !tenant) return 0;
    pthread_mutex_lock(&l->mu);
    bucket *b = find(l, tenant, 0, 0);
    int n = b ? b->inflight : 0;
    pthread_mutex_unlock(&l->mu);
    return n;
}

size_t limits_count(tenant_limits *l, size_t *evicted)
{
    if (!l) return 0;
    pthread_mutex_lock(&l->mu);
    size_t n = l->n;
    if (evicted) *evicted = l->evicted;
    pthread_mutex_unlock(&l->mu);
    return n;
}

size_t limits_sweeps(tenant_limits *l)
{
    if (!l) return 0;
    pthread_mutex_lock(&l->mu);
    size_t n = l->sweeps;
    pthread_mutex_unlock(&l->mu);
    return n;
}
