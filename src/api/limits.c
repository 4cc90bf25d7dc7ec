/* limits.c - per-tenant token buckets and in-flight counts (see limits.h). */
#include "api/limits.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct bucket {
    char *tenant;
    double tokens; /* may be fractional */
    double last;   /* time of the last refill; < 0 = never */
    int inflight;
} bucket;

struct tenant_limits {
    pthread_mutex_t mu;
    bucket *b;
    size_t n, cap;
};

tenant_limits *limits_new(void)
{
    tenant_limits *l = calloc(1, sizeof *l);
    if (l) pthread_mutex_init(&l->mu, NULL);
    return l;
}

void limits_free(tenant_limits *l)
{
    if (!l) return;
    for (size_t i = 0; i < l->n; i++) free(l->b[i].tenant);
    free(l->b);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

/* The bucket of tenant (mutex held); created full when create is set. NULL when absent or out
 * of memory. */
static bucket *find(tenant_limits *l, const char *tenant, int create)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->b[i].tenant, tenant)) return &l->b[i];
    if (!create) return NULL;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        bucket *nb = realloc(l->b, cap * sizeof *nb);
        if (!nb) return NULL;
        l->b = nb;
        l->cap = cap;
    }
    char *name = strdup(tenant);
    if (!name) return NULL;
    l->b[l->n] = (bucket){.tenant = name, .tokens = -1, .last = -1};
    return &l->b[l->n++];
}

limits_verdict limits_admit(tenant_limits *l, const char *tenant, const limits_rule *rule, double now,
                            double *retry_after_s)
{
    *retry_after_s = 0;
    if (!l || !tenant) return LIMITS_ERROR;
    pthread_mutex_lock(&l->mu);
    bucket *b = find(l, tenant, 1);
    limits_verdict v = LIMITS_ADMITTED;
    if (!b) {
        v = LIMITS_ERROR;
        goto out;
    }
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
    bucket *b = find(l, tenant, 0);
    if (b && b->inflight > 0) b->inflight--;
    pthread_mutex_unlock(&l->mu);
}

int limits_inflight(tenant_limits *l, const char *tenant)
{
    if (!l || !tenant) return 0;
    pthread_mutex_lock(&l->mu);
    bucket *b = find(l, tenant, 0);
    int n = b ? b->inflight : 0;
    pthread_mutex_unlock(&l->mu);
    return n;
}
