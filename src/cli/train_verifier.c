/* train_verifier.c - `semrouter train-verifier`: train and evaluate the cache hit
 * verifier (verify.h) on labelled question pairs.
 *
 * The pairs CSV (question1,question2,is_duplicate; RFC 4180 quoting) is split
 * with a fixed seed into train (60%), dev (20%) and held-out (20%) parts by a
 * hash of the pair's texts, so the split does not depend on row order. Both
 * sides are embedded with the built-in model (two threads; --cosines FILE keeps
 * the cosines for the next run). Training uses the train part (or --part), the
 * IDF table is built from the training questions only.
 *
 *   semrouter train-verifier --pairs CSV --out MODEL [options]
 *   semrouter train-verifier --pairs CSV --model MODEL --evaluate dev|heldout [options]
 *
 * --evaluate prints the precision/recall curve of cosine alone and of cosine +
 * verifier (a pair is a hit when cosine >= --floor and probability >= p). */
#include "cli/cli.h"
#include "cache/verify.h"
#include "cli/train.h"
#include "core/util.h"
#include "core/vec.h"
#include "embed/embed.h"
#include <cblas.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct pair {
    char *q1, *q2;
    int dup, part; /* part 0 train, 1 dev, 2 held-out, PART_EXTRA --train-extra (always trains) */
    float cos;
    float *u, *v; /* embeddings (into the vecs array) */
} pair;

#define PART_EXTRA 3

static float *vecs; /* n x 2 x dim */
static int vdim;

static uint64_t mix(uint64_t h, const char *s)
{
    return util_fnv1a(h, s, strlen(s));
}

static int part_of(const char *a, const char *b, unsigned seed)
{
    /* order-free: the pair (a,b) and (b,a) land in the same part */
    const char *x = strcmp(a, b) <= 0 ? a : b, *y = x == a ? b : a;
    uint64_t h = mix(mix(UTIL_FNV1A_BASIS ^ ((uint64_t)seed * 0x9e3779b97f4a7c15ull), x), "\x1f");
    h = mix(h, y);
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;
    int r = (int)(h % 10);
    return r < 6 ? 0 : r < 8 ? 1 : 2;
}

static pair *read_pairs(const char *path, unsigned seed, int *n_out, char *err, size_t errlen)
{
    size_t len;
    char *text = util_read_file(path, &len, err, errlen);
    if (!text) return NULL;
    const char *p = text, *end = text + len;
    char *f[3];
    int n = route_csv_record(&p, end, f, 3);
    for (int i = 0; i < n; i++)
        free(f[i]);
    if (n != 3) {
        snprintf(err, errlen, "%s: expected a header question1,question2,is_duplicate", path);
        free(text);
        return NULL;
    }
    int cap = 1024, m = 0, line = 1;
    pair *v = malloc(sizeof *v * (size_t)cap);
    while (v && (n = route_csv_record(&p, end, f, 3)) > 0) {
        line++;
        if (n != 3 || (strcmp(f[2], "0") && strcmp(f[2], "1"))) {
            fprintf(stderr, "train-verifier: %s line %d skipped (need 3 fields, label 0 or 1)\n",
                    path, line);
            for (int i = 0; i < n; i++)
                free(f[i]);
            continue;
        }
        if (m == cap) {
            pair *nv = realloc(v, sizeof *v * (size_t)(cap *= 2));
            if (!nv) break;
            v = nv;
        }
        v[m] = (pair){f[0], f[1], f[2][0] == '1', part_of(f[0], f[1], seed), 0, NULL, NULL};
        free(f[2]);
        m++;
    }
    free(text);
    if (!v || n < 0) {
        snprintf(err, errlen, "out of memory reading %s", path);
        free(v);
        return NULL;
    }
    *n_out = m;
    return v;
}

/* --train-extra: every pair of CSV appended to *v as training data (PART_EXTRA), in both
 * orders (the features are not symmetric; a small set of pairs needs both). */
static int append_extra(pair **v, int *n, const char *path, char *err, size_t errlen)
{
    int m;
    pair *e = read_pairs(path, 0, &m, err, errlen);
    if (!e) return -1;
    pair *nv = realloc(*v, sizeof *nv * (size_t)(*n + 2 * m));
    if (!nv) {
        snprintf(err, errlen, "out of memory reading %s", path);
        for (int i = 0; i < m; i++) {
            free(e[i].q1);
            free(e[i].q2);
        }
        free(e);
        return -1;
    }
    int k = *n, failed = 0;
    for (int i = 0; i < m; i++) { /* both orders: a follow-up model has little data */
        e[i].part = PART_EXTRA;
        nv[k++] = e[i];
        char *a = failed ? NULL : strdup(e[i].q2), *b = failed ? NULL : strdup(e[i].q1);
        if (!a || !b) {
            free(a);
            free(b);
            failed = 1;
            continue;
        }
        nv[k++] = (pair){a, b, e[i].dup, PART_EXTRA, 0, NULL, NULL};
    }
    free(e);
    *v = nv;
    *n = k;
    if (failed) {
        snprintf(err, errlen, "out of memory reading %s", path);
        return -1;
    }
    return 0;
}

/* ---- cosines (embedded on two threads, cached in a file) ---- */

typedef struct job {
    const embed_model *m;
    pair *v;
    int from, to, failed;
} job;

static void *embed_worker(void *arg)
{
    job *j = arg;
    embed_state *s = embed_state_new(j->m);
    int dim = embed_dim(j->m);
    char err[256];
    if (!s) j->failed = 1;
    for (int i = j->from; !j->failed && i < j->to; i++) {
        float *a = j->v[i].u, *b = j->v[i].v;
        if (embed_text(j->m, s, j->v[i].q1, strlen(j->v[i].q1), a, NULL, err, sizeof err) ||
            embed_text(j->m, s, j->v[i].q2, strlen(j->v[i].q2), b, NULL, err, sizeof err)) {
            fprintf(stderr, "train-verifier: %s\n", err);
            j->failed = 1;
            break;
        }
        j->v[i].cos = (float)vec_dot_f32_acc64(a, b, (size_t)dim);
    }
    embed_state_free(s);
    return NULL;
}

static uint64_t pairs_digest(const pair *v, int n, const char *model_id)
{
    uint64_t h = mix(UTIL_FNV1A_BASIS, model_id);
    for (int i = 0; i < n; i++)
        h = mix(mix(h, v[i].q1), v[i].q2);
    return h;
}

/* --precision: the embedding weights (f32 or bf16) every vector here uses */
static embed_precision vprec = EMBED_F32;

static int cosines(pair *v, int n, const char *model_dir, const char *cache_path)
{
    char err[512];
    embed_options o = {.type = EMBED_USE_LITE, .path = model_dir, .precision = vprec};
    embed_model *m = embed_load(&o, err, sizeof err);
    if (!m) {
        fprintf(stderr, "train-verifier: %s\n", err);
        return -1;
    }
    uint64_t digest = pairs_digest(v, n, embed_model_id(m));
    if (vprec != EMBED_F32) digest = mix(digest, embed_precision_name(vprec)); /* own cache */
    vdim = embed_dim(m);
    vecs = malloc(sizeof(float) * (size_t)n * 2 * (size_t)vdim);
    if (!vecs) {
        fprintf(stderr, "train-verifier: out of memory\n");
        embed_free(m);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        v[i].u = vecs + (size_t)i * 2 * vdim;
        v[i].v = v[i].u + vdim;
    }
    if (cache_path) {
        FILE *f = fopen(cache_path, "rb");
        uint64_t d = 0;
        int cn = 0;
        if (f && fread(&d, sizeof d, 1, f) == 1 && fread(&cn, sizeof cn, 1, f) == 1 && d == digest &&
            cn == n) {
            int ok = fread(vecs, sizeof(float) * 2 * (size_t)vdim, (size_t)n, f) == (size_t)n;
            for (int i = 0; ok && i < n; i++) {
                double d = 0;
                for (int k = 0; k < vdim; k++)
                    d += (double)v[i].u[k] * v[i].v[k];
                v[i].cos = (float)d;
            }
            fclose(f);
            if (ok) {
                embed_free(m);
                return 0;
            }
        } else if (f) {
            fclose(f);
        }
    }
    fprintf(stderr, "train-verifier: embedding %d pairs (two threads)...\n", n);
    pthread_t th[2];
    job jobs[2] = {{m, v, 0, n / 2, 0}, {m, v, n / 2, n, 0}};
    for (int t = 0; t < 2; t++)
        pthread_create(&th[t], NULL, embed_worker, &jobs[t]);
    for (int t = 0; t < 2; t++)
        pthread_join(th[t], NULL);
    embed_free(m);
    if (jobs[0].failed || jobs[1].failed) return -1;
    if (cache_path) {
        FILE *f = fopen(cache_path, "wb");
        if (f) {
            fwrite(&digest, sizeof digest, 1, f);
            fwrite(&n, sizeof n, 1, f);
            fwrite(vecs, sizeof(float) * 2 * (size_t)vdim, (size_t)n, f);
            if (fclose(f)) fprintf(stderr, "train-verifier: cannot write %s\n", cache_path);
        }
    }
    return 0;
}

/* ---- near-synonyms: vocabulary words whose embeddings are close ---- */

typedef struct wjob {
    const embed_model *m;
    const char **words;
    float *out;
    int from, to, failed;
} wjob;

static void *word_worker(void *arg)
{
    wjob *j = arg;
    embed_state *s = embed_state_new(j->m);
    int dim = embed_dim(j->m);
    char err[256];
    if (!s) j->failed = 1;
    for (int i = j->from; !j->failed && i < j->to; i++)
        if (embed_text(j->m, s, j->words[i], strlen(j->words[i]), j->out + (size_t)i * dim, NULL,
                       err, sizeof err))
            j->failed = 1;
    embed_state_free(s);
    return NULL;
}

/* Links every vocabulary word of idf to its (up to 3) nearest other words
 * with cosine >= tau, embedding each word alone. Returns the number of links
 * or -1. */
static long link_near_words(cache_idf *idf, const char *model_dir, float tau)
{
    char err[512];
    embed_options o = {.type = EMBED_USE_LITE, .path = model_dir, .precision = vprec};
    embed_model *m = embed_load(&o, err, sizeof err);
    if (!m) {
        fprintf(stderr, "train-verifier: %s\n", err);
        return -1;
    }
    size_t cap = 1 << 20;
    const char **stems = malloc(sizeof *stems * cap), **surf = malloc(sizeof *surf * cap);
    size_t n = stems && surf ? cache_idf_vocab(idf, stems, surf, cap) : 0;
    int dim = embed_dim(m);
    float *vec = malloc(sizeof(float) * (n ? n : 1) * (size_t)dim);
    long links = -1;
    if (!vec || !n) goto out;
    fprintf(stderr, "train-verifier: embedding %zu vocabulary words...\n", n);
    pthread_t th[2];
    wjob jobs[2] = {{m, surf, vec, 0, (int)n / 2, 0}, {m, surf, vec, (int)n / 2, (int)n, 0}};
    for (int t = 0; t < 2; t++)
        pthread_create(&th[t], NULL, word_worker, &jobs[t]);
    for (int t = 0; t < 2; t++)
        pthread_join(th[t], NULL);
    if (jobs[0].failed || jobs[1].failed) goto out;
    links = 0;
    enum { BLOCK = 512 };
    float *sims = malloc(sizeof(float) * BLOCK * n);
    if (!sims) {
        links = -1;
        goto out;
    }
    for (size_t b0 = 0; b0 < n; b0 += BLOCK) {
        int rows = (int)(n - b0 < BLOCK ? n - b0 : BLOCK);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, (int)n, dim, 1.0f,
                    vec + b0 * dim, dim, vec, dim, 0.0f, sims, (int)n);
        for (int r = 0; r < rows; r++) {
            const float *row = sims + (size_t)r * n;
            size_t best[3] = {0};
            float bs[3] = {-2, -2, -2};
            for (size_t c = 0; c < n; c++) {
                if (c == b0 + (size_t)r || row[c] < tau) continue;
                for (int k = 0; k < 3; k++) {
                    if (row[c] > bs[k]) {
                        for (int z = 2; z > k; z--) {
                            bs[z] = bs[z - 1];
                            best[z] = best[z - 1];
                        }
                        bs[k] = row[c];
                        best[k] = c;
                        break;
                    }
                }
            }
            for (int k = 0; k < 3 && bs[k] >= tau; k++)
                if (!cache_idf_add_neighbor(idf, stems[b0 + r], stems[best[k]])) links++;
        }
    }
    free(sims);
out:
    free(vec);
    free(stems);
    free(surf);
    embed_free(m);
    return links;
}

/* ---- evaluation ---- */

typedef struct scored {
    float cos, p;
    int dup;
} scored;

static void pr_at(const scored *s, int n, int total_pos, float floor, float pmin, int use_p,
                  double *prec, double *rec, int *hits)
{
    int tp = 0, fp = 0;
    for (int i = 0; i < n; i++) {
        if (s[i].cos < floor || (use_p && s[i].p < pmin)) continue;
        if (s[i].dup)
            tp++;
        else
            fp++;
    }
    *hits = tp + fp;
    *prec = tp + fp ? (double)tp / (tp + fp) : 1.0;
    *rec = total_pos ? (double)tp / total_pos : 0.0;
}

static void evaluate(const cache_verifier *v, const pair *pairs, int n, int part, float floor,
                     float min_p)
{
    scored *s = malloc(sizeof *s * (size_t)(n ? n : 1));
    int m = 0, pos = 0;
    const char *dump = getenv("SEMROUTER_VERIFIER_DUMP"); /* list false hits (dev part only) */
    uint64_t t0 = util_now_ns();
    for (int i = 0; s && i < n; i++) {
        if (pairs[i].part != part) continue;
        s[m].cos = pairs[i].cos;
        s[m].dup = pairs[i].dup;
        s[m].p = cache_verifier_score(v, pairs[i].q1, strlen(pairs[i].q1), pairs[i].q2,
                                      strlen(pairs[i].q2), pairs[i].cos);
        pos += s[m].dup;
        if (dump && part == 1 && s[m].cos >= floor && s[m].p >= min_p && !s[m].dup)
            printf("FP %.2f %.2f | %s | %s\n", s[m].cos, s[m].p, pairs[i].q1, pairs[i].q2);
        m++;
    }
    double us = (double)(util_now_ns() - t0) / 1e3 / (m ? m : 1);
    printf("part %s: %d pairs, %d duplicates; verifier %.1f us per pair (features + trees)\n",
           part == 1 ? "dev" : "held-out", m, pos, us);
    printf("\ncosine alone (hit = cosine >= t)\n    t  precision  recall  hits\n");
    double best_p50 = 0, bp, br;
    int h;
    for (int k = 60; k <= 98; k += 2) {
        pr_at(s, m, pos, (float)k / 100, 0, 0, &bp, &br, &h);
        printf(" %.2f     %.3f   %.3f  %d\n", k / 100.0, bp, br, h);
    }
    for (int k = 0; k <= 1000; k++) {
        pr_at(s, m, pos, (float)k / 1000, 0, 0, &bp, &br, &h);
        if (br >= 0.5 && bp > best_p50) best_p50 = bp;
    }
    printf("cosine alone: best precision at recall >= 0.50: %.3f\n", best_p50);
    printf("\ncosine >= %.2f + verifier (hit = probability >= p)\n    p  precision  recall  hits\n",
           floor);
    for (int k = 10; k <= 95; k += 5) {
        pr_at(s, m, pos, floor, (float)k / 100, 1, &bp, &br, &h);
        printf(" %.2f     %.3f   %.3f  %d\n", k / 100.0, bp, br, h);
    }
    double vbest = 0;
    for (int k = 0; k <= 1000; k++) {
        pr_at(s, m, pos, floor, (float)k / 1000, 1, &bp, &br, &h);
        if (br >= 0.5 && bp > vbest) vbest = bp;
    }
    printf("verifier: best precision at recall >= 0.50: %.3f\n", vbest);
    pr_at(s, m, pos, floor, min_p, 1, &bp, &br, &h);
    printf("operating point (floor %.2f, min_probability %.2f): precision %.3f recall %.3f "
           "(%d hits)\n",
           floor, min_p, bp, br, h);
    free(s);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: semrouter train-verifier --pairs CSV --out MODEL [--part train|train+dev]\n"
            "           [--trees N] [--depth D] [--rate R] [--min-leaf N] [--train-floor F]\n"
            "           [--veto FEATURE,...] [--veto-cap P] [--near-threshold C]\n"
            "           [--train-extra CSV [--extra-repeat K] [--extra-only]]\n"
            "             (every pair of CSV trains in both orders, K times; --extra-only: the trees\n"
            "              learn those pairs alone, the IDF table still comes from both)\n"
            "       semrouter train-verifier --pairs CSV --model MODEL --evaluate dev|heldout\n"
            "           [--floor F] [--min-probability P]\n"
            "       semrouter train-verifier --pairs CSV --export-heldout OUT.csv [--export-every K]\n"
            "  common: [--seed N] [-m MODEL_DIR] [--precision f32|bf16] [--cosines CACHE_FILE]\n");
}

int cli_train_verifier(int argc, char **argv)
{
    const char *csv = NULL, *out = NULL, *model_path = NULL, *eval = NULL, *cos_cache = NULL;
    const char *model_dir = "models/use-lite", *part_s = "train", *vetoes = NULL;
    float veto_cap = 0.2f, near_tau = 0.8f;
    unsigned seed = 1;

    float floor = 0.75f, min_p = 0.65f, train_floor = 0.6f;
    const char *export_path = NULL, *extra_csv = NULL;
    int export_every = 4, extra_repeat = 1, extra_only = 0;
    cache_gbt_params gp;
    cache_gbt_params_default(&gp);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage();
            return 0;
        }
        if (!strcmp(a, "--extra-only")) { /* a flag */
            extra_only = 1;
            continue;
        }
        if (!val) {
            usage();
            return 2;
        }
        i++;
        if (!strcmp(a, "--pairs")) csv = val;
        else if (!strcmp(a, "--out")) out = val;
        else if (!strcmp(a, "--model")) model_path = val;
        else if (!strcmp(a, "--evaluate")) eval = val;
        else if (!strcmp(a, "--cosines")) cos_cache = val;
        else if (!strcmp(a, "-m")) model_dir = val;
        else if (!strcmp(a, "--precision")) {
            if (strcmp(val, "f32") && strcmp(val, "bf16")) {
                fprintf(stderr, "train-verifier: --precision must be f32 or bf16, not '%s'\n", val);
                return 2;
            }
            vprec = strcmp(val, "bf16") ? EMBED_F32 : EMBED_BF16;
        }
        else if (!strcmp(a, "--part")) part_s = val;
        else if (!strcmp(a, "--seed")) seed = (unsigned)strtoul(val, NULL, 10);
        else if (!strcmp(a, "--floor")) floor = strtof(val, NULL);
        else if (!strcmp(a, "--min-probability")) min_p = strtof(val, NULL);
        else if (!strcmp(a, "--train-floor")) train_floor = strtof(val, NULL);
        else if (!strcmp(a, "--trees")) gp.trees = atoi(val);
        else if (!strcmp(a, "--depth")) gp.depth = atoi(val);
        else if (!strcmp(a, "--rate")) gp.rate = strtof(val, NULL);
        else if (!strcmp(a, "--min-leaf")) gp.min_leaf = atoi(val);

        else if (!strcmp(a, "--veto")) vetoes = val;
        else if (!strcmp(a, "--near-threshold")) near_tau = strtof(val, NULL);
        else if (!strcmp(a, "--export-heldout")) export_path = val;
        else if (!strcmp(a, "--export-every")) export_every = atoi(val);
        else if (!strcmp(a, "--veto-cap")) veto_cap = strtof(val, NULL);
        else if (!strcmp(a, "--train-extra")) extra_csv = val;
        else if (!strcmp(a, "--extra-repeat")) extra_repeat = atoi(val);

        else {
            fprintf(stderr, "train-verifier: unknown option %s\n", a);
            usage();
            return 2;
        }
    }
    if (!csv || (!out && !(model_path && eval) && !export_path) || export_every < 1 ||
        extra_repeat < 1 || extra_repeat > 100 || (extra_csv && !out) || (extra_only && !extra_csv) || gp.trees < 1 || gp.depth < 1 || gp.depth > 7 ||
        gp.rate <= 0 || (eval && strcmp(eval, "dev") && strcmp(eval, "heldout")) ||
        (strcmp(part_s, "train") && strcmp(part_s, "train+dev"))) {
        usage();
        return 2;
    }
    char err[512];
    int n;
    pair *pairs = read_pairs(csv, seed, &n, err, sizeof err);
    if (!pairs) {
        fprintf(stderr, "train-verifier: %s\n", err);
        return 1;
    }
    if (extra_csv && append_extra(&pairs, &n, extra_csv, err, sizeof err)) {
        fprintf(stderr, "train-verifier: %s\n", err);
        for (int i = 0; i < n; i++) {
            free(pairs[i].q1);
            free(pairs[i].q2);
        }
        free(pairs);
        return 1;
    }
    int rc = 1;
    cache_verifier *v = NULL;
    if (export_path) { /* a test fixture: every k-th held-out pair, as CSV */
        FILE *f = fopen(export_path, "w");
        if (!f) {
            fprintf(stderr, "train-verifier: cannot write %s\n", export_path);
            goto done;
        }
        fprintf(f, "question1,question2,is_duplicate\n");
        for (int i = 0, k = 0; i < n; i++) {
            if (pairs[i].part != 2 || k++ % export_every) continue;
            for (int side = 0; side < 2; side++) {
                const char *q = side ? pairs[i].q2 : pairs[i].q1;
                fputc('"', f);
                for (; *q; q++) {
                    if (*q == '"') fputc('"', f);
                    fputc(*q, f);
                }
                fputs("\",", f);
            }
            fprintf(f, "%d\n", pairs[i].dup);
        }
        if (fclose(f)) goto done;
        if (!out && !eval) {
            rc = 0;
            goto done;
        }
    }
    if (cosines(pairs, n, model_dir, cos_cache)) goto done;
    if (out) {
        int max_part = !strcmp(part_s, "train") ? 0 : 1;
        const char **texts = malloc(sizeof *texts * (size_t)n * 2);
        size_t *lens = malloc(sizeof *lens * (size_t)n * 2);
        size_t rows = (size_t)n * (size_t)extra_repeat; /* an upper bound */
        float *x = malloc(sizeof(float) * CACHE_VERIFY_NFEAT * rows);
        int *y = malloc(sizeof(int) * rows);
        int nt = 0, m = 0;
        if (!texts || !lens || !x || !y) {
            fprintf(stderr, "train-verifier: out of memory\n");
            free(texts);
            free(lens);
            free(x);
            free(y);
            goto done;
        }
        for (int i = 0; i < n; i++) {
            if (pairs[i].part > max_part && pairs[i].part != PART_EXTRA) continue;
            texts[nt] = pairs[i].q1;
            lens[nt++] = strlen(pairs[i].q1);
            texts[nt] = pairs[i].q2;
            lens[nt++] = strlen(pairs[i].q2);
        }
        cache_idf *idf = cache_idf_build(texts, lens, (size_t)nt);
        int ok = idf != NULL;
        if (ok && near_tau < 1.0f) {
            long links = link_near_words(idf, model_dir, near_tau);
            ok = links >= 0;
            if (ok) fprintf(stderr, "train-verifier: %ld near-synonym links (cosine >= %.2f)\n", links, near_tau);
        }
        for (int i = 0; ok && i < n; i++) {
            int extra = pairs[i].part == PART_EXTRA;
            if ((pairs[i].part > max_part && !extra) || (extra_only && !extra) ||
                pairs[i].cos < train_floor)
                continue;
            for (int r = 0; r < (extra ? extra_repeat : 1); r++) {
                float *row = x + (size_t)m * CACHE_VERIFY_NFEAT;
                cache_verify_features(idf, pairs[i].q1, strlen(pairs[i].q1), pairs[i].q2,
                                      strlen(pairs[i].q2), pairs[i].cos, row);
                y[m++] = pairs[i].dup;
            }
        }
        v = ok ? cache_verifier_train(idf, x, y, (size_t)m, &gp) : NULL;
        cache_idf_free(idf);
        free(texts);
        free(lens);
        free(x);
        free(y);
        if (!v) {
            fprintf(stderr, "train-verifier: training failed (out of memory or no pairs)\n");
            goto done;
        }
        if (vetoes && cache_verifier_set_vetoes(v, vetoes, veto_cap)) {
            fprintf(stderr, "train-verifier: --veto: unknown feature name in '%s'\n", vetoes);
            goto done;
        }
        if (cache_verifier_save(v, out, err, sizeof err)) {
            fprintf(stderr, "train-verifier: %s\n", err);
            goto done;
        }
        fprintf(stderr,
                "train-verifier: %d training pairs (cosine >= %.2f, part %s, seed %u), %d trees of "
                "depth %d -> %s\n",
                m, train_floor, part_s, seed, gp.trees, gp.depth, out);
    }
    if (eval) {
        if (!v) {
            v = cache_verifier_load(model_path ? model_path : out, err, sizeof err);
            if (!v) {
                fprintf(stderr, "train-verifier: %s\n", err);
                goto done;
            }
        }
        evaluate(v, pairs, n, !strcmp(eval, "dev") ? 1 : 2, floor, min_p);
    }
    rc = 0;
done:
    cache_verifier_free(v);
    for (int i = 0; i < n; i++) {
        free(pairs[i].q1);
        free(pairs[i].q2);
    }
    free(pairs);
    free(vecs);
    vecs = NULL;
    return rc;
}
