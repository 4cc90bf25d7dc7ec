/* test_limits.c - per-tenant token buckets and in-flight counts (src/api/limits.c), on a clock
 * the test moves by hand, so every case is exact and none depends on timing. */
#include "api/limits.h"
#include "test.h"

#include <pthread.h>
#include <stdio.h>

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

/* 200,000 distinct tenants through a table capped at 64: it never holds more than 64 buckets,
 * and each tenant still gets its own full bucket. */
static void many_tenants_keep_the_table_bounded(void)
{
    tenant_limits *l = limits_new_capped(64);
    limits_rule r = {.requests_per_second = 10, .burst = 2};
    double wait;
    char name[32];
    size_t peak = 0, evicted = 0;
    int refused = 0;
    for (int i = 0; i < 200000; i++) {
        snprintf(name, sizeof name, "t%d", i);
        double now = 1000.0 + i; /* 1 s apart: every earlier bucket has refilled */
        if (limits_admit(l, name, &r, now, &wait) != LIMITS_ADMITTED) refused++;
        limits_release(l, name);
        size_t n = limits_count(l, NULL);
        if (n > peak) peak = n;
    }
    CHECK_EQ_INT(refused, 0);
    CHECK(peak <= 64, "peak %zu", peak);
    CHECK_EQ_INT((int)peak, 64);
    CHECK_EQ_INT((int)limits_count(l, &evicted), (int)(200000 - evicted));
    CHECK(evicted >= 200000 - 64, "evicted %zu", evicted);
    limits_free(l);
}

/* Tenants with requests in flight, or with a drained bucket, survive any number of new
 * tenants at the cap; when every bucket holds state, a new tenant is an ERROR (admitted by the
 * caller), never a silent reset of someone's count. */
static void in_flight_and_drained_buckets_survive_eviction(void)
{
    tenant_limits *l = limits_new_capped(8);
    limits_rule conc = {.max_concurrent = 2};
    limits_rule rate = {.requests_per_second = 1, .burst = 1};
    double wait;
    CHECK_EQ_INT(limits_admit(l, "busy", &conc, 1.0, &wait), LIMITS_ADMITTED);
    CHECK_EQ_INT(limits_admit(l, "busy", &conc, 1.0, &wait), LIMITS_ADMITTED);
    CHECK_EQ_INT(limits_admit(l, "drained", &rate, 1.0, &wait), LIMITS_ADMITTED);
    limits_release(l, "drained"); /* nothing in flight, but its one token is spent */
    char name[32];
    for (int i = 0; i < 10000; i++) {
        snprintf(name, sizeof name, "churn%d", i);
        CHECK_EQ_INT(limits_admit(l, name, &conc, 1.5, &wait), LIMITS_ADMITTED);
        limits_release(l, name);
    }
    CHECK(limits_count(l, NULL) <= 8, "%zu buckets", limits_count(l, NULL));
    CHECK_EQ_INT(limits_inflight(l, "busy"), 2);
    CHECK_EQ_INT(limits_admit(l, "busy", &conc, 1.5, &wait), LIMITS_CONCURRENCY); /* still counted */
    CHECK_EQ_INT(limits_admit(l, "drained", &rate, 1.5, &wait), LIMITS_RATE);      /* not reset */
    CHECK_NEAR(wait, 0.5, 1e-9);
    limits_release(l, "busy");
    CHECK_EQ_INT(limits_inflight(l, "busy"), 1);
    /* fill the rest with in-flight tenants: then nothing can go */
    for (int i = 0; i < 6; i++) {
        snprintf(name, sizeof name, "hold%d", i);
        CHECK_EQ_INT(limits_admit(l, name, &conc, 1.5, &wait), LIMITS_ADMITTED);
    }
    CHECK_EQ_INT((int)limits_count(l, NULL), 8);
    CHECK_EQ_INT(limits_admit(l, "one-too-many", &conc, 1.5, &wait), LIMITS_ERROR);
    CHECK_EQ_INT((int)limits_count(l, NULL), 8);
    for (int i = 0; i < 6; i++) {
        snprintf(name, sizeof name, "hold%d", i);
        CHECK_EQ_INT(limits_inflight(l, name), 1);
        limits_release(l, name);
    }
    /* once they finish, room again; "drained" has refilled by 3.0 and may go too */
    CHECK_EQ_INT(limits_admit(l, "one-too-many", &conc, 3.0, &wait), LIMITS_ADMITTED);
    CHECK_EQ_INT(limits_inflight(l, "busy"), 1);
    CHECK(limits_count(l, NULL) <= 8, "%zu buckets", limits_count(l, NULL));
    limits_free(l);
}

/* Under eviction pressure a tenant's rate limit holds: churn between its requests does not
 * give it a fresh bucket while it still owes tokens. */
static void rate_limit_holds_under_churn(void)
{
    tenant_limits *l = limits_new_capped(16);
    limits_rule r = {.requests_per_second = 1, .burst = 3};
    limits_rule free_rule = {0};
    double wait;
    char name[32];
    int admitted = 0;
    /* 100 attempts over 10 s (0.1 s apart), 50 churn tenants between each */
    for (int i = 0; i < 100; i++) {
        double now = 50.0 + i * 0.1;
        if (limits_admit(l, "metered", &r, now, &wait) == LIMITS_ADMITTED) {
            admitted++;
            limits_release(l, "metered");
        }
        for (int j = 0; j < 50; j++) {
            snprintf(name, sizeof name, "c%d-%d", i, j);
            CHECK_EQ_INT(limits_admit(l, name, &free_rule, now, &wait), LIMITS_ADMITTED);
            limits_release(l, name);
        }
    }
    /* burst 3 at 50.0, then one per second over 9.9 s: 3 + 9 */
    CHECK_EQ_INT(admitted, 12);
    CHECK(limits_count(l, NULL) <= 16, "%zu buckets", limits_count(l, NULL));
    limits_free(l);
}

/* Every bucket at the cap holds state: the first new tenant sweeps the table and fails open
 * (ERROR); the next ones within LIMITS_SWEEP_INTERVAL_S fail open without sweeping again. */
static void full_table_sweeps_once_per_interval(void)
{
    tenant_limits *l = limits_new_capped(64);
    limits_rule conc = {.max_concurrent = 4};
    double wait;
    char name[32];
    for (int i = 0; i < 64; i++) {
        snprintf(name, sizeof name, "busy%d", i);
        CHECK_EQ_INT(limits_admit(l, name, &conc, 10.0, &wait), LIMITS_ADMITTED);
    }
    CHECK_EQ_INT((int)limits_sweeps(l), 0);
    int errors = 0;
    for (int i = 0; i < 100000; i++) {
        snprintf(name, sizeof name, "new%d", i);
        double now = 10.0 + 0.9 * i / 100000; /* all within the interval of the first */
        if (limits_admit(l, name, &conc, now, &wait) == LIMITS_ERROR) errors++;
    }
    CHECK_EQ_INT(errors, 100000);
    CHECK_EQ_INT((int)limits_sweeps(l), 1);
    CHECK_EQ_INT((int)limits_count(l, NULL), 64);
    /* the interval over: one more sweep (still nothing to free) */
    CHECK_EQ_INT(limits_admit(l, "late", &conc, 10.0 + LIMITS_SWEEP_INTERVAL_S, &wait), LIMITS_ERROR);
    CHECK_EQ_INT((int)limits_sweeps(l), 2);
    /* a clock that went back counts as time passed */
    CHECK_EQ_INT(limits_admit(l, "back", &conc, 5.0, &wait), LIMITS_ERROR);
    CHECK_EQ_INT((int)limits_sweeps(l), 3);
    /* the busy tenants finish: their room is found at the next sweep, one interval after the
     * last (until then new tenants still fail open) */
    for (int i = 0; i < 64; i++) {
        snprintf(name, sizeof name, "busy%d", i);
        limits_release(l, name);
    }
    CHECK_EQ_INT(limits_admit(l, "soon", &conc, 5.5, &wait), LIMITS_ERROR);
    CHECK_EQ_INT((int)limits_sweeps(l), 3);
    CHECK_EQ_INT(limits_admit(l, "later", &conc, 6.0, &wait), LIMITS_ADMITTED);
    CHECK_EQ_INT((int)limits_sweeps(l), 4);
    CHECK_EQ_INT(limits_inflight(l, "later"), 1);
    CHECK_EQ_INT((int)limits_count(l, NULL), 1);
    limits_free(l);
}

/* A sweep that frees only a few buckets (at most max/16) is not repeated within the interval
 * either; one that frees many is, as often as the table fills. */
static void sweeps_that_pay_are_not_throttled(void)
{
    tenant_limits *l = limits_new_capped(64);
    limits_rule conc = {.max_concurrent = 4};
    double wait;
    char name[32];
    for (int i = 0; i < 63; i++) {
        snprintf(name, sizeof name, "busy%d", i);
        CHECK_EQ_INT(limits_admit(l, name, &conc, 10.0, &wait), LIMITS_ADMITTED);
    }
    CHECK_EQ_INT(limits_admit(l, "a", &conc, 10.0, &wait), LIMITS_ADMITTED); /* the 64th: no sweep */
    limits_release(l, "a");
    CHECK_EQ_INT((int)limits_sweeps(l), 0);
    CHECK_EQ_INT(limits_admit(l, "b", &conc, 10.0, &wait), LIMITS_ADMITTED); /* frees "a" only */
    limits_release(l, "b");
    CHECK_EQ_INT((int)limits_sweeps(l), 1);
    CHECK_EQ_INT(limits_admit(l, "c", &conc, 10.5, &wait), LIMITS_ERROR); /* "b" idles, unswept */
    CHECK_EQ_INT((int)limits_sweeps(l), 1);
    CHECK_EQ_INT(limits_admit(l, "c", &conc, 11.0, &wait), LIMITS_ADMITTED);
    CHECK_EQ_INT((int)limits_sweeps(l), 2);
    limits_release(l, "c");
    for (int i = 0; i < 63; i++) {
        snprintf(name, sizeof name, "busy%d", i);
        limits_release(l, name);
    }
    /* the interval after the last (unproductive) sweep over, every sweep frees the whole table:
     * 640 new tenants at one instant, 10 sweeps */
    int admitted = 0;
    for (int i = 0; i < 640; i++) {
        snprintf(name, sizeof name, "idle%d", i);
        if (limits_admit(l, name, &conc, 12.0, &wait) == LIMITS_ADMITTED) admitted++;
        limits_release(l, name);
    }
    CHECK_EQ_INT(admitted, 640);
    CHECK_EQ_INT((int)limits_sweeps(l), 12);
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
    RUN(many_tenants_keep_the_table_bounded);
    RUN(in_flight_and_drained_buckets_survive_eviction);
    RUN(rate_limit_holds_under_churn);
    RUN(full_table_sweeps_once_per_interval);
    RUN(sweeps_that_pay_are_not_throttled);
    TEST_MAIN_END();
}
