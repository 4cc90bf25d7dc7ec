/* hnsw_bench.c - data generator and benchmark for src/index/hnsw.c.
 *
 *   hnsw_bench gen KIND N NQ DIM SEED OUT   KIND = random | topics | real;
 *       writes OUT.base, OUT.query (u32 n, u32 dim, f32 data) and OUT.gt
 *       (u32 nq, u32 10, u32 ids: exact top-10 by inner product)
 *   hnsw_bench run OUT M EFC STORAGE EF...  builds the index on one thread,
 *       prints build time, bytes/entry, then for each ef: recall@1, recall@10
 *       and queries/s on one thread.
 *   hnsw_bench mem N DIM STORAGE            RSS per entry of an N-entry index.
 *
 * "random" queries are base vectors moved to cosine ~0.75 by noise (a cache
 * lookup with a stored paraphrase; independent random queries have no real
 * nearest neighbour in 512-d and every ANN index scores near 0 on them).
 * "topics" imitates sentence embeddings: 300 random topic directions, each
 * vector a weighted sum of 3-8 topics plus isotropic noise, normalized, so
 * neighbourhoods are dense and clustered like real embeddings of similar texts.
 * "real" embeds generated questions ("How do I reset my router on linux?") with
 * USE-lite (models/use-lite or $SEMROUTER_MODEL_DIR); each query rephrases a
 * base question with another template (and sometimes another context).
 * Output lines are parsed by bench/hnsw.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>

#include "embed/embed.h"
#include "index/hnsw.h"
#include "core/vec.h"

#define REPEATS 3

static uint64_t rs = 88172645463325252ULL;
static uint64_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return rs;
}
static double unif(void)
{
    return ((double)(rnd() >> 11) + 0.5) / 9007199254740992.0;
}
static double gauss(void)
{
    return sqrt(-2 * log(unif())) * cos(6.283185307179586 * unif());
}
static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}
/* CPU time of this thread: on a shared machine it leaves out the time the
 * scheduler gave to others, so it is the fairer clock for queries/s. */
static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static double dotd(const float *a, const float *b, uint32_t d)
{
    double s = 0;
    for (uint32_t i = 0; i < d; i++)
        s += (double)a[i] * b[i];
    return s;
}

static void normalize(float *v, int d)
{
    double s = 0;
    for (int i = 0; i < d; i++)
        s += (double)v[i] * v[i];
    s = s > 0 ? 1 / sqrt(s) : 0;
    for (int i = 0; i < d; i++)
        v[i] = (float)(v[i] * s);
}

static void gen_vectors(const char *kind, float *v, int n, int d, const float *topics, int nt)
{
    for (int i = 0; i < n; i++) {
        float *x = v + (size_t)i * d;
        if (!strcmp(kind, "random")) {
            for (int j = 0; j < d; j++)
                x[j] = (float)gauss();
        } else {
            int k = 3 + (int)(rnd() % 6);
            for (int j = 0; j < d; j++)
                x[j] = (float)(0.35 * gauss() / sqrt(d));
            for (int t = 0; t < k; t++) {
                const float *tp = topics + (size_t)(rnd() % (uint64_t)nt) * d;
                float w = (float)(unif() * (t == 0 ? 1.0 : 0.5));
                for (int j = 0; j < d; j++)
                    x[j] += w * tp[j];
            }
        }
        normalize(x, d);
    }
}

/* ---- "real": USE-lite embeddings of generated questions ------------------ */

static const char *w_tmpl[] = {
    "How do I %s %s %s %s?",
    "What is the best way to %s %s %s %s?",
    "Can you explain how to %s %s %s %s",
    "I need help: %s %s %s %s",
    "Is it possible to %s %s %s %s?",
    "Why does it fail when I %s %s %s %s?",
    "Give me a short guide to %s %s %s %s",
    "Steps to %s %s %s %s, please",
    "What's wrong if I can't %s %s %s %s?",
    "Tell me how one would %s %s %s %s",
};
static const char *w_verb[] = {
    "reset",   "configure", "install",  "update",   "delete",    "back up",   "restore", "encrypt",
    "share",   "rename",    "export",   "import",   "debug",     "optimize",  "monitor", "migrate",
    "sync",    "merge",     "compress", "schedule", "translate", "summarize", "print",   "cancel",
    "upgrade", "downgrade", "secure",   "test",     "deploy",    "clean"};
static const char *w_adj[] = {"my",       "the old",     "a new",   "our shared",  "the remote",
                              "a broken", "the default", "a large", "the company", "a personal"};
static const char *w_noun[] = {"password",
                               "router",
                               "laptop",
                               "database",
                               "email account",
                               "phone",
                               "printer",
                               "spreadsheet",
                               "bank card",
                               "calendar",
                               "web server",
                               "docker container",
                               "git branch",
                               "python script",
                               "kubernetes cluster",
                               "wifi network",
                               "bluetooth headset",
                               "tax return",
                               "flight booking",
                               "insurance claim",
                               "recipe",
                               "garden hose",
                               "bicycle chain",
                               "car battery",
                               "washing machine",
                               "photo library",
                               "music playlist",
                               "video call",
                               "slide deck",
                               "budget",
                               "resume",
                               "cover letter",
                               "vpn connection",
                               "ssh key",
                               "firewall",
                               "smart thermostat",
                               "pdf file",
                               "invoice",
                               "subscription",
                               "domain name"};
static const char *w_ctx[] = {"on windows",
                              "on a mac",
                              "on linux",
                              "from my phone",
                              "without losing data",
                              "in five minutes",
                              "for a beginner",
                              "at work",
                              "remotely",
                              "for free",
                              "step by step",
                              "safely",
                              "in python",
                              "with the command line",
                              "after an update",
                              "before a trip",
                              "for my parents",
                              "quickly",
                              "in bulk",
                              "every week"};
#define NW(a) (sizeof a / sizeof *a)

/* Embeds n generated questions into out. Item j's slots are a fixed function
 * of j; with paraphrase set, each row rephrases a random base item (another
 * template, sometimes another context). */
static int embed_texts(const char *model_dir, float *out, int n, int d, int paraphrase, int nbase)
{
    embed_options o = {0};
    o.type = EMBED_USE_LITE;
    o.path = model_dir;
    char err[256];
    embed_model *m = embed_load(&o, err, sizeof err);
    if (!m) {
        fprintf(stderr, "hnsw_bench: %s\n", err);
        return -1;
    }
    if (embed_dim(m) != d) {
        fprintf(stderr, "hnsw_bench: model dimension %d, asked for %d\n", embed_dim(m), d);
        embed_free(m);
        return -1;
    }
    embed_state *st = embed_state_new(m);
    char text[256];
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        uint64_t j = paraphrase ? rnd() % (uint64_t)nbase : (uint64_t)i;
        uint64_t h = j * 0x9e3779b97f4a7c15ULL + 12345;
        h ^= h >> 29;
        h *= 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 32;
        size_t t = h % NW(w_tmpl), v = (h >> 8) % NW(w_verb), a = (h >> 16) % NW(w_adj);
        size_t ob = (h >> 24) % NW(w_noun), c = (h >> 40) % NW(w_ctx);
        if (paraphrase) {
            t = (t + 1 + rnd() % (NW(w_tmpl) - 1)) % NW(w_tmpl);
            if (rnd() % 3 == 0) c = rnd() % NW(w_ctx);
        }
        snprintf(text, sizeof text, w_tmpl[t], w_verb[v], w_adj[a], w_noun[ob], w_ctx[c]);
        if (embed_text(m, st, text, strlen(text), out + (size_t)i * d, NULL, err, sizeof err)) {
            fprintf(stderr, "hnsw_bench: %s\n", err);
            rc = -1;
        }
    }
    embed_state_free(st);
    embed_free(m);
    return rc;
}

static int write_mat(const char *path, const void *data, uint32_t n, uint32_t d, size_t elem)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    uint32_t hdr[2] = {n, d};
    int ok = fwrite(hdr, 4, 2, f) == 2 && fwrite(data, elem, (size_t)n * d, f) == (size_t)n * d;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static void *read_mat(const char *path, uint32_t *n, uint32_t *d, size_t elem)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint32_t hdr[2];
    void *p = NULL;
    if (fread(hdr, 4, 2, f) == 2 && (p = malloc(elem * hdr[0] * hdr[1])) &&
        fread(p, elem, (size_t)hdr[0] * hdr[1], f) != (size_t)hdr[0] * hdr[1]) {
        free(p);
        p = NULL;
    }
    fclose(f);
    *n = hdr[0];
    *d = hdr[1];
    return p;
}

static int cmd_gen(int argc, char **argv)
{
    if (argc != 7) return 2;
    const char *kind = argv[1], *out = argv[6];
    int n = atoi(argv[2]), nq = atoi(argv[3]), d = atoi(argv[4]);
    rs ^= strtoull(argv[5], NULL, 10) * 0x9e3779b97f4a7c15ULL;
    int nt = 300;
    float *topics = malloc((size_t)nt * d * sizeof(float));
    for (size_t i = 0; i < (size_t)nt * d; i++)
        topics[i] = (float)gauss();
    for (int t = 0; t < nt; t++)
        normalize(topics + (size_t)t * d, d);
    float *base = malloc((size_t)n * d * sizeof(float)),
          *q = malloc((size_t)nq * d * sizeof(float));
    if (!strcmp(kind, "real")) {
        const char *dir = getenv("SEMROUTER_MODEL_DIR");
        if (embed_texts(dir ? dir : "models/use-lite", base, n, d, 0, n) ||
            embed_texts(dir ? dir : "models/use-lite", q, nq, d, 1, n))
            return 1;
    } else {
        gen_vectors(kind, base, n, d, topics, nt);
    }
    if (!strcmp(kind, "random")) {
        /* a cache lookup: a stored vector moved to cosine ~0.75 by noise */
        for (int i = 0; i < nq; i++) {
            const float *src = base + (size_t)(rnd() % (uint64_t)n) * d;
            for (int j = 0; j < d; j++)
                q[(size_t)i * d + j] = src[j] + (float)(0.88 * gauss() / sqrt(d));
            normalize(q + (size_t)i * d, d);
        }
    } else if (strcmp(kind, "real")) {
        gen_vectors(kind, q, nq, d, topics, nt);
    }
    /* exact top-10 */
    const vec_kernels *k = vec_kernels_best();
    uint32_t *gt = malloc((size_t)nq * 10 * sizeof *gt);
    for (int qi = 0; qi < nq; qi++) {
        float best[10];
        uint32_t id[10];
        for (int j = 0; j < 10; j++)
            best[j] = -1e30f, id[j] = 0;
        const float *qv = q + (size_t)qi * d;
        for (int i = 0; i < n; i++) {
            float s = k->dot_f32(qv, base + (size_t)i * d, (size_t)d);
            if (s <= best[9]) continue;
            int j = 9;
            while (j > 0 && best[j - 1] < s) {
                best[j] = best[j - 1];
                id[j] = id[j - 1];
                j--;
            }
            best[j] = s;
            id[j] = (uint32_t)i;
        }
        memcpy(gt + (size_t)qi * 10, id, sizeof id);
    }
    char path[512];
    int rc = 0;
    snprintf(path, sizeof path, "%s.base", out);
    rc |= write_mat(path, base, (uint32_t)n, (uint32_t)d, 4);
    snprintf(path, sizeof path, "%s.query", out);
    rc |= write_mat(path, q, (uint32_t)nq, (uint32_t)d, 4);
    snprintf(path, sizeof path, "%s.gt", out);
    rc |= write_mat(path, gt, (uint32_t)nq, 10, 4);
    free(topics);
    free(base);
    free(q);
    free(gt);
    if (rc) fprintf(stderr, "hnsw_bench: cannot write %s.*\n", out);
    return rc ? 1 : 0;
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6)) kb = atol(line + 6);
    if (f) fclose(f);
    return kb;
}

static int cmd_run(int argc, char **argv)
{
    if (argc < 6) return 2;
    const char *out = argv[1];
    char path[512];
    uint32_t n, d, nq, qd, gn, gk;
    snprintf(path, sizeof path, "%s.base", out);
    float *base = read_mat(path, &n, &d, 4);
    snprintf(path, sizeof path, "%s.query", out);
    float *q = read_mat(path, &nq, &qd, 4);
    snprintf(path, sizeof path, "%s.gt", out);
    uint32_t *gt = read_mat(path, &gn, &gk, 4);
    if (!base || !q || !gt || qd != d || gn != nq || gk != 10) {
        fprintf(stderr, "hnsw_bench: cannot read %s.{base,query,gt}\n", out);
        return 1;
    }
    hnsw_params p;
    hnsw_params_default(&p, (int)d);
    p.m = atoi(argv[2]);
    p.ef_construction = atoi(argv[3]);
    p.storage = !strcmp(argv[4], "f16")  ? HNSW_STORE_F16
                : !strcmp(argv[4], "i8") ? HNSW_STORE_I8
                                         : HNSW_STORE_F32;
    p.initial_capacity = n;
    char err[256];
    long rss0 = rss_kb();
    hnsw_index *h = hnsw_new(&p, err, sizeof err);
    if (!h) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    double t0 = now(), c0 = cpu_now();
    for (uint32_t i = 0; i < n; i++)
        hnsw_insert(h, i, base + (size_t)i * d);
    double build = now() - t0, build_cpu = cpu_now() - c0;
    long rss1 = rss_kb();
    hnsw_stats st;
    hnsw_get_stats(h, &st);
    printf("ours storage=%s kernels=%s n=%u dim=%u M=%d efc=%d build_s=%.2f build_cpu_s=%.2f "
           "bytes_per_entry=%.0f rss_per_entry=%.0f\n",
           argv[4], vec_kernels_best()->name, n, d, p.m, p.ef_construction, build, build_cpu,
           (double)st.memory_bytes / n, (double)(rss1 - rss0) * 1024 / n);
    hnsw_result res[10];
    for (int a = 5; a < argc; a++) {
        int ef = atoi(argv[a]);
        long hit1 = 0, hit10 = 0;
        double best = 1e30;
        for (int rep = 0; rep < REPEATS; rep++) { /* best of REPEATS: the least disturbed run */
            hit1 = hit10 = 0;
            double t = cpu_now();
            for (uint32_t qi = 0; qi < nq; qi++) {
                int got = hnsw_search(h, q + (size_t)qi * d, 10, ef, res);
                const uint32_t *g = gt + (size_t)qi * 10;
                /* a tie with the true nearest (duplicate texts) is a hit */
                if (got > 0 && (res[0].label == g[0] ||
                                dotd(q + (size_t)qi * d, base + (size_t)res[0].label * d, d) >=
                                    dotd(q + (size_t)qi * d, base + (size_t)g[0] * d, d) - 1e-6))
                    hit1++;
                for (int i = 0; i < got; i++)
                    for (int j = 0; j < 10; j++)
                        hit10 += res[i].label == g[j];
            }
            double el = cpu_now() - t;
            if (el < best) best = el;
        }
        double el = best;
        printf("ours ef=%d recall1=%.4f recall10=%.4f qps=%.0f\n", ef, (double)hit1 / nq,
               (double)hit10 / (10.0 * nq), nq / el);
    }
    hnsw_free(h);
    free(base);
    free(q);
    free(gt);
    return 0;
}

/* RSS of an index of N random unit vectors, built with ef_construction 10
 * (the memory layout does not depend on it; it only makes a 1M build fit in a
 * couple of CPU-minutes). Vectors are made one at a time, so the growth of RSS
 * is the index alone. */
static int cmd_mem(int argc, char **argv)
{
    if (argc != 4) return 2;
    int n = atoi(argv[1]), d = atoi(argv[2]);
    hnsw_params p;
    hnsw_params_default(&p, d);
    p.ef_construction = 10;
    p.storage = !strcmp(argv[3], "f16")  ? HNSW_STORE_F16
                : !strcmp(argv[3], "i8") ? HNSW_STORE_I8
                                         : HNSW_STORE_F32;
    float *v = malloc((size_t)d * sizeof *v);
    long rss0 = rss_kb();
    hnsw_index *h = hnsw_new(&p, NULL, 0);
    double t0 = cpu_now();
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < d; j++)
            v[j] = (float)(unif() * 2 - 1);
        normalize(v, d);
        if (hnsw_insert(h, (uint64_t)i, v)) {
            fprintf(stderr, "hnsw_bench: insert failed at %d\n", i);
            return 1;
        }
    }
    long rss1 = rss_kb();
    printf("mem storage=%s n=%d dim=%d rss_mb=%.0f rss_per_entry=%.0f memory_bytes_per_entry=%.0f "
           "build_cpu_s=%.1f\n",
           argv[3], n, d, (rss1 - rss0) / 1024.0, (double)(rss1 - rss0) * 1024 / n,
           (double)hnsw_memory_bytes(h) / n, cpu_now() - t0);
    hnsw_free(h);
    free(v);
    return 0;
}

int main(int argc, char **argv)
{
    int rc = 2;
    if (argc > 1 && !strcmp(argv[1], "gen"))
        rc = cmd_gen(argc - 1, argv + 1);
    else if (argc > 1 && !strcmp(argv[1], "run"))
        rc = cmd_run(argc - 1, argv + 1);
    else if (argc > 1 && !strcmp(argv[1], "mem"))
        rc = cmd_mem(argc - 1, argv + 1);
    if (rc == 2)
        fprintf(stderr, "usage: hnsw_bench gen random|topics|real N NQ DIM SEED OUT\n"
                        "       hnsw_bench run OUT M EFC f32|f16|i8 EF...\n"
                        "       hnsw_bench mem N DIM f32|f16|i8\n");
    return rc;
}
