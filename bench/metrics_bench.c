/* metrics_bench.c - cost of a metrics update on the request path.
 *
 * Prints one line per case: `case threads shards ns_per_op`. Each thread does N
 * updates on the same child (the common case: every request counts against the
 * same model), so 2 threads measure contention; ns_per_op is wall time divided
 * by the updates of one thread. Run through bench/metrics_bench.sh, which also
 * runs the prometheus-cpp anchor (metrics_bench_promcpp.cc) and prints ratios.
 *
 *   metrics_bench [N]   (default N = 2,000,000 per thread) */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/util.h"
#include "metrics/metrics.h"

typedef struct {
    metric_family *counter0, *counter1, *counter2, *hist1;
    metric_child *counter_child, *hist_child;
} fams;

typedef void (*op_fn)(const fams *f, long i);

static void op_inc_nolabel(const fams *f, long i)
{
    (void)i;
    metrics_inc(f->counter0, NULL);
}
static void op_inc_1label(const fams *f, long i)
{
    (void)i;
    metrics_inc(f->counter1, METRICS_LABELS("qwen3-8b-instruct"));
}
static void op_inc_2labels(const fams *f, long i)
{
    (void)i;
    metrics_inc(f->counter2, METRICS_LABELS("qwen3-8b-instruct", "upstream_5xx"));
}
static void op_inc_child(const fams *f, long i)
{
    (void)i;
    metrics_child_add(f->counter_child, 1);
}
/* latencies spread over the default buckets: 100 us ... ~1.6 s */
static double sample(long i)
{
    return 0.0001 * (double)(1 << (i & 15)) * 0.75;
}
static void op_observe_1label(const fams *f, long i)
{
    metrics_observe(f->hist1, METRICS_LABELS("qwen3-8b-instruct"), sample(i));
}
static void op_observe_child(const fams *f, long i)
{
    metrics_child_observe(f->hist_child, sample(i));
}

typedef struct {
    const fams *f;
    op_fn op;
    long n;
    pthread_barrier_t *start;
} run_arg;

static void *run_thread(void *p)
{
    run_arg *a = p;
    pthread_barrier_wait(a->start);
    for (long i = 0; i < a->n; i++)
        a->op(a->f, i);
    return NULL;
}

static double run_case(const fams *f, op_fn op, int threads, long n)
{
    pthread_t t[8];
    run_arg a = {f, op, n, NULL};
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
    a.start = &start;
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, run_thread, &a);
    uint64_t t0 = util_now_ns();
    pthread_barrier_wait(&start);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    uint64_t t1 = util_now_ns();
    pthread_barrier_destroy(&start);
    return (double)(t1 - t0) / (double)n;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 2000000;
    if (n <= 0) {
        fprintf(stderr, "usage: metrics_bench [updates-per-thread]\n");
        return 2;
    }
    static const struct {
        const char *name;
        op_fn op;
    } cases[] = {
        {"inc_nolabel", op_inc_nolabel},
        {"inc_1label_lookup", op_inc_1label},
        {"inc_2labels_lookup", op_inc_2labels},
        {"inc_cached_child", op_inc_child},
        {"observe_1label_lookup", op_observe_1label},
        {"observe_cached_child", op_observe_child},
    };
    const int shard_options[] = {1, 4};
    for (size_t s = 0; s < 2; s++) {
        metrics_registry *r = metrics_new_sharded(shard_options[s]);
        fams f = {
            .counter0 = metrics_counter(r, "c0_total", "h", 0, NULL),
            .counter1 = metrics_counter(r, "c1_total", "h", 1, METRICS_LABELS("model")),
            .counter2 = metrics_counter(r, "c2_total", "h", 2, METRICS_LABELS("model", "reason")),
            .hist1 = metrics_histogram(r, "h1_seconds", "h", 1, METRICS_LABELS("model"), NULL, 0),
        };
        /* a realistic table: other models present too */
        char v[32];
        for (int i = 0; i < 12; i++) {
            snprintf(v, sizeof v, "model-%d", i);
            metrics_inc(f.counter1, METRICS_LABELS(v));
            metrics_inc(f.counter2, METRICS_LABELS(v, "timeout"));
            metrics_observe(f.hist1, METRICS_LABELS(v), 0.01);
        }
        f.counter_child = metrics_child(f.counter1, METRICS_LABELS("qwen3-8b-instruct"));
        f.hist_child = metrics_child(f.hist1, METRICS_LABELS("qwen3-8b-instruct"));
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
            for (int threads = 1; threads <= 2; threads++)
                printf("%s %d %d %.1f\n", cases[c].name, threads, shard_options[s],
                       run_case(&f, cases[c].op, threads, n));
        /* the totals must be exact, or the numbers above mean nothing */
        double want = 0;
        for (int threads = 1; threads <= 2; threads++)
            want += (double)threads * (double)n;
        if (metrics_get(f.counter0, NULL, NULL) != want) {
            fprintf(stderr, "metrics_bench: counter total is wrong\n");
            return 1;
        }
        metrics_free(r);
    }
    return 0;
}
