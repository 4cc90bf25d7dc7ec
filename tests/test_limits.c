/* test_limits.c - per-tenant token buckets and in-flight counts (src/api/limits.c), on a clock
 * the test moves by hand, so every case is exact and none depends on timing. */
#include "api/limits.h"
#include "test.h"

#include <pthread.h>

static void bucket_allows_burst_then_refills(void)
{
    tenant_limits *l = limits_new();
    limits_rule r = {.requests_per_second = 2, .burst = 3};
    double wait = -1;
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(limits_admit(l, "acme", &r, 100.0, &wait), LIMITS_ADMITTED);
        limits_release(l, "acme");
    }
    CHECK_EQ_INT(limits_admit(l, "acme", &r, 100.0, &wait), LIMITS_RATE);
    CHECK_NEAR(wait, 0.5, 1e-9); /* one token at 2/s */
    CHECK_EQ_INT(limits_admit(l, "acme", &r, 100.25, &wait), LIMITS_RATE);
    CHECK_NEAR(wait, 0.25, 1e-9);
    CHECK_EQ_INT(limits_admit(l, "acme", &r, 100.5, &wait), LIMITS_ADMITTED);
    limits_release(l, "acme");
    /* a long pause refills to the burst, not beyond */
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(limits_admit(l, "acme", &r, 1000.0, &wait), LIMITS_ADMITTED);
        limits_release(l, "acme");
    }
    CHECK_EQ_INT(limits_admit(l, "acme", &r, 1000.0, &wait), LIMITS_RATE);
    limits_free(l);
}

static void tenants_have_their_own_buckets(void)
{
    tenant_limits *l = limits_new();
    limits_rule r = {.requests_per_second = 1, .burst = 1};
    double wait;
    CHECK_EQ_INT(limits_admit(l, "“team” á", &r, 5.0, &wait), LIMITS_ADMITTED);
    CHECK_EQ_INT(limits_admit(l, "“team” á", &r, 5.0, &wait), LIMITS_RATE);
    CHECK_EQ_INT(limits_admit(l, "team-b", &r, 5.0, &wait), LIMITS_ADMITTED); /* not drained by the other */
    CHECK_EQ_INT(limits_inflight(l, "“team” á"), 1);
    CHECK_EQ_INT(limits_inflight(l, "team-b"), 1);
    CHECK_EQ_INT(limits_inflight(l, "nobody"), 0);
    limits_free(l);
}

static void concurrency_limit_counts_in_flight(void)
{
    tenant_limits *l = limits_new();
    limits_rule r = {.max_concurrent = 2};
    double wait;
    CHECK_EQ_INT(limits_admit(l, "t", &r, 0, &wait), LIMITS_ADMITTED);
    CHECK_EQ_INT(limits_admit(l, "t", &r, 0, &wait), LIMITS_ADMITTED);
    CHECK_EQ_INT(limits_admit(l, "t", &r, 0, &wait), LIMITS_CONCURRENCY);
    CHECK_NEAR(wait, 1, 1e-9);
    CHECK_EQ_INT(limits_inflight(l, "t"), 2); /* the refused one took no slot */
    limits_release(l, "t");
    CHECK_EQ_INT(limits_admit(l, "t", &r, 0, &wait), LIMITS_ADMITTED);
    limits_release(l, "t");
    limits_release(l, "t");
    limits_release(l, "t"); /* one too many: stays at zero */
    CHECK_EQ_INT(limits_inflight(l, "t"), 0);
    limits_free(l);
}

static void refused_by_concurrency_takes_no_token(void)
{
    tenant_limits *l = limits_new();
    limits_rule r = {.requests_per_second = 1, .burst = 2, .max_concurrent = 1};
    double wait;
    CHECK_EQ_INT(limits_admit(l, "t", &r, 0, &wait), LIMITS_ADMITTED);
    for (int i = 0; i < 5; i++) CHECK_EQ_INT(limits_admit(l, "t", &r, 0, &wait), LIMITS_CONCURRENCY);
    limits_release(l, "t");
    CHECK_EQ_INT(limits_admit(l, "t", &r, 0, &wait), LIMITS_ADMITTED); /* the second token is still there */
    limits_release(l, "t");
    CHECK_EQ_INT(limits_admit(l, "t", &r, 0, &wait), LIMITS_RATE);
    limits_free(l);
}

static void a_lower_burst_after_reload_applies(void)
{
    tenant_limits *l = limits_new();
    limits_rule big = {.requests_per_second = 10, .burst = 100}, small = {.requests_per_second = 10, .burst = 2};
    double wait;
    CHECK_EQ_INT(limits_admit(l, "t", &big, 0, &wait), LIMITS_ADMITTED); /* 99 left */
    int ok = 0;
    for (int i = 0; i < 10; i++) ok += limits_admit(l, "t", &small, 0, &wait) == LIMITS_ADMITTED;
    CHECK_EQ_INT(ok, 2);
    limits_free(l);
}

static void a_clock_going_back_refills_nothing(void)
{
    tenant_limits *l = limits_new();
    limits_rule r = {.requests_per_second = 1, .burst = 1};
    double wait;
    CHECK_EQ_INT(limits_admit(l, "t", &r, 50, &wait), LIMITS_ADMITTED);
    CHECK_EQ_INT(limits_admit(l, "t", &r, 10, &wait), LIMITS_RATE);
    CHECK_EQ_INT(limits_admit(l, "t", &r, 50.5, &wait), LIMITS_RATE);
    CHECK_EQ_INT(limits_admit(l, "t", &r, 51, &wait), LIMITS_ADMITTED);
    limits_free(l);
}

typedef struct worker_arg {
    tenant_limits *l;
    int admitted;
} worker_arg;

static void *hammer(void *p)
{
    worker_arg *a = p;
    limits_rule r = {.requests_per_second = 1e-9, .burst = 1000};
    double wait;
    for (int i = 0; i < 500; i++)
        if (limits_admit(a->l, "shared", &r, 1.0, &wait) == LIMITS_ADMITTED) {
            a->admitted++;
            limits_release(a->l, "shared");
        }
    return NULL;
}

/* 4 threads x 500 attempts on a 1000-token bucket with no refill: exactly 1000 admitted. */
static void threads_share_one_bucket_exactly(void)
{
    tenant_limits *l = limits_new();
    pthread_t t[4];
    worker_arg a[4] = {{l, 0}, {l, 0}, {l, 0}, {l, 0}};
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, hammer, &a[i]);
    int total = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        total += a[i].admitted;
    }
    CHECK_EQ_INT(total, 1000);
    CHECK_EQ_INT(limits_inflight(l, "shared"), 0);
    limits_free(l);
}

int main(void)
{
    RUN(bucket_allows_burst_then_refills);
    RUN(tenants_have_their_own_buckets);
    RUN(concurrency_limit_counts_in_flight);
    RUN(refused_by_concurrency_takes_no_token);
    RUN(a_lower_burst_after_reload_applies);
    RUN(a_clock_going_back_refills_nothing);
    RUN(threads_share_one_bucket_exactly);
    TEST_MAIN_END();
}
