// hnswlib_bench.cpp - the anchor for bench/hnsw.sh: hnswlib (Debian
// libhnswlib-dev, header-only, inner-product space) and our index
// (src/index/hnsw.h, f32 storage) built on the same files with the same M and
// efConstruction, then queried on one thread at each ef.
//
// Both live in this one process and their query passes alternate (ours,
// hnswlib, ours, ...; best of REPEATS each, thread CPU time), so both see the
// same machine load: on a shared 2-core box, separate runs minutes apart
// differ by more than the effect being measured.
//   hnswlib_bench OUT M EFC EF...
#include <hnswlib/hnswlib.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

extern "C" {
#include "index/hnsw.h"
}

static const int REPEATS = 5;

template <class T> static std::vector<T> read_mat(const std::string &path, uint32_t &n, uint32_t &d)
{
    std::vector<T> v;
    FILE *f = fopen(path.c_str(), "rb");
    uint32_t hdr[2] = {0, 0};
    if (!f || fread(hdr, 4, 2, f) != 2) {
        if (f) fclose(f);
        return v;
    }
    v.resize((size_t)hdr[0] * hdr[1]);
    if (fread(v.data(), sizeof(T), v.size(), f) != v.size()) v.clear();
    fclose(f);
    n = hdr[0];
    d = hdr[1];
    return v;
}

// CPU time of this thread: leaves out time the scheduler gave to others.
static double cpu_now()
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static long rss_kb()
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6)) kb = atol(line + 6);
    if (f) fclose(f);
    return kb;
}

struct pass {
    long hit1 = 0, hit10 = 0;
    double cpu = 0;
};

static double dot(const float *a, const float *b, uint32_t d)
{
    double s = 0;
    for (uint32_t i = 0; i < d; i++) s += (double)a[i] * b[i];
    return s;
}

// recall@1 counts a tie as a hit: duplicate texts in "real" embed to the same
// vector, and either label is a correct nearest neighbour.
static void score(const uint32_t *labels, int nl, const uint32_t *g, const float *qv,
                  const float *base, uint32_t d, pass &p)
{
    if (nl && (labels[0] == g[0] || dot(qv, base + (size_t)labels[0] * d, d) >=
                                        dot(qv, base + (size_t)g[0] * d, d) - 1e-6))
        p.hit1++;
    for (int i = 0; i < nl; i++)
        for (int j = 0; j < 10; j++) p.hit10 += labels[i] == g[j];
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: hnswlib_bench OUT M EFC EF...\n");
        return 2;
    }
    std::string out = argv[1];
    uint32_t n = 0, d = 0, nq = 0, qd = 0, gn = 0, gk = 0;
    auto base = read_mat<float>(out + ".base", n, d);
    auto q = read_mat<float>(out + ".query", nq, qd);
    auto gt = read_mat<uint32_t>(out + ".gt", gn, gk);
    if (base.empty() || q.empty() || gt.empty() || qd != d || gk != 10) {
        fprintf(stderr, "hnswlib_bench: cannot read %s.*\n", out.c_str());
        return 1;
    }
    int M = atoi(argv[2]), efc = atoi(argv[3]);

    long rss0 = rss_kb();
    hnswlib::InnerProductSpace space(d);
    hnswlib::HierarchicalNSW<float> alg(&space, n, M, efc, 100);
    double c0 = cpu_now();
    for (uint32_t i = 0; i < n; i++) alg.addPoint(base.data() + (size_t)i * d, i);
    double build_theirs = cpu_now() - c0;
    long rss1 = rss_kb();

    hnsw_params p;
    hnsw_params_default(&p, (int)d);
    p.m = M;
    p.ef_construction = efc;
    p.initial_capacity = n;
    char err[256];
    hnsw_index *h = hnsw_new(&p, err, sizeof err);
    if (!h) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    c0 = cpu_now();
    for (uint32_t i = 0; i < n; i++) hnsw_insert(h, i, base.data() + (size_t)i * d);
    double build_ours = cpu_now() - c0;
    long rss2 = rss_kb();

    printf("same-process n=%u dim=%u M=%d efc=%d build_cpu_s ours=%.2f hnswlib=%.2f ratio=%.2f "
           "rss_per_entry ours=%.0f hnswlib=%.0f\n",
           n, d, M, efc, build_ours, build_theirs, build_ours / build_theirs,
           (double)(rss2 - rss1) * 1024 / n, (double)(rss1 - rss0) * 1024 / n);

    std::vector<hnsw_result> res(10);
    for (int a = 4; a < argc; a++) {
        int ef = atoi(argv[a]);
        alg.setEf(ef);
        pass best_ours, best_theirs;
        best_ours.cpu = best_theirs.cpu = 1e30;
        for (int rep = 0; rep < REPEATS; rep++) {
            pass po, pt;
            double t = cpu_now();
            for (uint32_t qi = 0; qi < nq; qi++) {
                int got = hnsw_search(h, q.data() + (size_t)qi * d, 10, ef, res.data());
                uint32_t labels[10];
                for (int i = 0; i < got; i++) labels[i] = (uint32_t)res[i].label;
                score(labels, got, gt.data() + (size_t)qi * 10, q.data() + (size_t)qi * d, base.data(), d, po);
            }
            po.cpu = cpu_now() - t;
            t = cpu_now();
            for (uint32_t qi = 0; qi < nq; qi++) {
                auto r = alg.searchKnn(q.data() + (size_t)qi * d, 10);
                uint32_t labels[10];
                int nl = (int)r.size();
                for (int i = nl - 1; i >= 0; i--) { // the queue pops the farthest first
                    labels[i] = (uint32_t)r.top().second;
                    r.pop();
                }
                score(labels, nl, gt.data() + (size_t)qi * 10, q.data() + (size_t)qi * d, base.data(), d, pt);
            }
            pt.cpu = cpu_now() - t;
            if (po.cpu < best_ours.cpu) best_ours = po;
            if (pt.cpu < best_theirs.cpu) best_theirs = pt;
        }
        double qo = nq / best_ours.cpu, qt = nq / best_theirs.cpu;
        printf("ef=%d qps ours=%.0f hnswlib=%.0f ratio=%.2f  recall@1 ours=%.4f hnswlib=%.4f  "
               "recall@10 ours=%.4f hnswlib=%.4f\n",
               ef, qo, qt, qo / qt, (double)best_ours.hit1 / nq, (double)best_theirs.hit1 / nq,
               (double)best_ours.hit10 / (10.0 * nq), (double)best_theirs.hit10 / (10.0 * nq));
        fflush(stdout);
    }
    hnsw_free(h);
    return 0;
}
