// metrics_bench_promcpp.cc - the anchor for metrics_bench.c: the same cases on
// prometheus-cpp (Debian prometheus-cpp-dev), the usual C/C++ Prometheus client.
// Same output lines: `case threads shards ns_per_op` (shards is "-").
#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <thread>
#include <vector>

using namespace prometheus;

static const Histogram::BucketBoundaries latency = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                    0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                                    1,      2.5,     5,      10,    30,     60};
static double sample(long i) { return 0.0001 * (double)(1 << (i & 15)) * 0.75; }

static double run_case(const std::function<void(long)> &op, int threads, long n)
{
    std::vector<std::thread> t;
    auto t0 = std::chrono::steady_clock::now();
    for (int k = 0; k < threads; k++)
        t.emplace_back([&] {
            for (long i = 0; i < n; i++) op(i);
        });
    for (auto &th : t) th.join();
    auto t1 = std::chrono::steady_clock::now();
    return std::chrono::duration<double, std::nano>(t1 - t0).count() / (double)n;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 2000000;
    Registry reg;
    auto &c0 = BuildCounter().Name("c0_total").Help("h").Register(reg);
    auto &c1 = BuildCounter().Name("c1_total").Help("h").Register(reg);
    auto &c2 = BuildCounter().Name("c2_total").Help("h").Register(reg);
    auto &h1 = BuildHistogram().Name("h1_seconds").Help("h").Register(reg);
    for (int i = 0; i < 12; i++) {
        std::string v = "model-" + std::to_string(i);
        c1.Add({{"model", v}}).Increment();
        c2.Add({{"model", v}, {"reason", "timeout"}}).Increment();
        h1.Add({{"model", v}}, latency).Observe(0.01);
    }
    Counter &child = c1.Add({{"model", "qwen3-8b-instruct"}});
    Histogram &hchild = h1.Add({{"model", "qwen3-8b-instruct"}}, latency);
    struct {
        const char *name;
        std::function<void(long)> op;
    } cases[] = {
        {"inc_nolabel", [&](long) { c0.Add({}).Increment(); }},
        {"inc_1label_lookup", [&](long) { c1.Add({{"model", "qwen3-8b-instruct"}}).Increment(); }},
        {"inc_2labels_lookup",
         [&](long) { c2.Add({{"model", "qwen3-8b-instruct"}, {"reason", "upstream_5xx"}}).Increment(); }},
        {"inc_cached_child", [&](long) { child.Increment(); }},
        {"observe_1label_lookup",
         [&](long i) { h1.Add({{"model", "qwen3-8b-instruct"}}, latency).Observe(sample(i)); }},
        {"observe_cached_child", [&](long i) { hchild.Observe(sample(i)); }},
    };
    for (auto &c : cases)
        for (int threads = 1; threads <= 2; threads++)
            printf("%s %d - %.1f\n", c.name, threads, run_case(c.op, threads, n));
    return 0;
}
