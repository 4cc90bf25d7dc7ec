// hnswlib_bench.cpp - the anchor for bench/hnsw.sh: the same build/search
// measurement as bench/hnsw_bench.c, on the same files, with hnswlib (Debian
// libhnswlib-dev, header-only) and its inner-product space.
//   hnswlib_bench OUT M EFC EF...
#include <hnswlib/hnswlib.h>

#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

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

// CPU time of this thread (see hnsw_bench.c: fairer on a shared machine).
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

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: hnswlib_bench OUT M EFC EF...\n");
        return 2;
    }
    std::string out = argv[1];
    uint32_t n, d, nq, qd, gn, gk;
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
    auto t0 = std::chrono::steady_clock::now();
    double c0 = cpu_now();
    for (uint32_t i = 0; i < n; i++) alg.addPoint(base.data() + (size_t)i * d, i);
    double build = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double build_cpu = cpu_now() - c0;
    long rss1 = rss_kb();
    printf("hnswlib n=%u dim=%u M=%d efc=%d build_s=%.2f build_cpu_s=%.2f rss_per_entry=%.0f\n", n, d,
           M, efc, build, build_cpu,
           (double)(rss1 - rss0) * 1024 / n);
    for (int a = 4; a < argc; a++) {
        int ef = atoi(argv[a]);
        alg.setEf(ef);
        long hit1 = 0, hit10 = 0;
        double best = 1e30;
        for (int rep = 0; rep < 3; rep++) { // best of 3, as in hnsw_bench.c
            hit1 = hit10 = 0;
            double t = cpu_now();
            for (uint32_t qi = 0; qi < nq; qi++) {
                auto res = alg.searchKnn(q.data() + (size_t)qi * d, 10);
                uint32_t labels[10];
                int nl = 0;
                while (!res.empty() && nl < 10) {
                    labels[nl++] = (uint32_t)res.top().second;
                    res.pop();
                }
                const uint32_t *g = gt.data() + (size_t)qi * 10;
                if (nl && labels[nl - 1] == g[0]) hit1++;
                for (int i = 0; i < nl; i++)
                    for (int j = 0; j < 10; j++) hit10 += labels[i] == g[j];
            }
            double el = cpu_now() - t;
            if (el < best) best = el;
        }
        double el = best;
        printf("hnswlib ef=%d recall1=%.4f recall10=%.4f qps=%.0f\n", ef, (double)hit1 / nq,
               (double)hit10 / (10.0 * nq), nq / el);
    }
    return 0;
}
