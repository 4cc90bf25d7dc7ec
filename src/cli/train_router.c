/* train_router.c - `semrouter train-router`: trains the difficulty head (route/difficulty.h)
 * on the MMLU files' per-question correctness of two models and reports APGR on the
 * held-out split. */
#include "cli/cli.h"

#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/evaluate.h"
#include "cli/train.h"
#include "core/array.h"
#include "core/util.h"
#include "embed/embed.h"
#include "route/difficulty.h"

/* -------------------------------------------------------------- trainer */

typedef struct outcome {
    unsigned char sha[32];
    signed char small_ok, large_ok;
} outcome;

static int outcome_cmp(const void *a, const void *b)
{
    return memcmp(((const outcome *)a)->sha, ((const outcome *)b)->sha, 32);
}

/* Reads the two correctness columns of every mmlu_*.csv in dir: (small, large). */
static outcome *load_outcomes(const char *dir, const char *small_col, const char *large_col,
                              int *n_out, char *err, size_t errlen)
{
    char cmd_err[256];
    outcome *v = NULL;
    int n = 0;
    size_t cap = 0;
    *n_out = 0;
    DIR *dh = opendir(dir);
    if (!dh) {
        snprintf(err, errlen, "cannot open %s", dir);
        return NULL;
    }
    struct dirent *de;
    while ((de = readdir(dh)) != NULL) {
        const char *name = de->d_name;
        size_t nl = strlen(name);
        if (strncmp(name, "mmlu_", 5) || nl < 5 || strcmp(name + nl - 4, ".csv")) continue;
        char path[1600];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        char *data = util_read_file(path, NULL, cmd_err, sizeof cmd_err);
        if (!data) continue;
        const char *p = data;
        int eol = 0, col = 0, cp = -1, cs = -1, cl = -1;
        while (*p && !eol) {
            char *f = route_csv_field(&p, &eol);
            if (!f) break;
            if (!strcmp(f, "prompt")) cp = col;
            if (!strcmp(f, small_col)) cs = col;
            if (!strcmp(f, large_col)) cl = col;
            col++;
            free(f);
        }
        if (cp < 0 || cs < 0 || cl < 0) {
            snprintf(err, errlen, "%.200s: needs the columns prompt, %.100s, %.100s", path, small_col,
                     large_col);
            free(data);
            closedir(dh);
            free(v);
            return NULL;
        }
        while (*p) {
            int c = 0, s = -1, l = -1;
            char *prompt = NULL;
            eol = 0;
            while (*p && !eol) {
                char *f = route_csv_field(&p, &eol);
                if (!f) break;
                if (c == cp) prompt = f;
                else {
                    if (c == cs) s = !strcasecmp(f, "true") || !strcmp(f, "1");
                    if (c == cl) l = !strcasecmp(f, "true") || !strcmp(f, "1");
                    free(f);
                }
                c++;
            }
            if (prompt && *prompt && s >= 0 && l >= 0) {
                if (array_grow(&v, &cap, (size_t)n + 1, sizeof *v, 4096)) {
                    free(prompt);
                    break;
                }
                util_sha256(prompt, strlen(prompt), v[n].sha);
                v[n].small_ok = (signed char)s, v[n].large_ok = (signed char)l;
                n++;
            }
            free(prompt);
        }
        free(data);
    }
    closedir(dh);
    if (n) qsort(v, (size_t)n, sizeof *v, outcome_cmp);
    *n_out = n;
    return v;
}

static const outcome *find_outcome(const outcome *v, int n, const char *text)
{
    outcome key;
    util_sha256(text, strlen(text), key.sha);
    return bsearch(&key, v, (size_t)n, sizeof *v, outcome_cmp);
}

typedef struct scored {
    float score;
    signed char s, l;
} scored;

static int scored_desc(const void *a, const void *b)
{
    float x = ((const scored *)a)->score, y = ((const scored *)b)->score;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Quality when the top-scored share of requests goes to the large model, at
 * shares 0, 1/steps, ..., 1; returns APGR (area under the normalised curve). */
static double apgr(scored *v, int n, int steps, double *q_small, double *q_large, FILE *out,
                   const char *name)
{
    qsort(v, (size_t)n, sizeof *v, scored_desc);
    double qs = 0, ql = 0;
    for (int i = 0; i < n; i++)
        qs += v[i].s, ql += v[i].l;
    qs /= n, ql /= n;
    *q_small = qs, *q_large = ql;
    double area = 0, prev = 0;
    long correct = 0;
    for (int i = 0; i < n; i++)
        correct += v[i].s; /* everything to the small model */
    int k = 0;
    for (int st = 0; st <= steps; st++) {
        int target = (int)((double)n * st / steps + 0.5);
        while (k < target) {
            correct += v[k].l - v[k].s;
            k++;
        }
        double q = (double)correct / n, pgr = (q - qs) / (ql - qs);
        if (st > 0) area += (prev + pgr) / 2 / steps;
        prev = pgr;
        if (out && st % (steps / 10) == 0)
            fprintf(out, "  %-9s share %.1f: quality %.4f, PGR %.3f\n", name, (double)st / steps, q,
                    pgr);
    }
    return area;
}

static void router_usage(FILE *out)
{
    fprintf(out,
            "usage: semrouter train-router --data DIR --out FILE [options]\n\n"
            "Trains the difficulty head: per question, does the large model answer correctly\n"
            "where the small one fails? Reports APGR on the held-out split.\n\n"
            "  --data DIR        folder of mmlu_<subject>.csv (prompt + two correctness columns)\n"
            "  --small NAME      column of the small model (mistralai/Mixtral-8x7B-Instruct-v0.1)\n"
            "  --large NAME      column of the large model (gpt-4-1106-preview)\n"
            "  --category-head F category head whose probabilities are features\n"
            "                    (config/category_head.bin)\n"
            "  --map FILE        subject -> category TSV (data/route/mmlu_subject_to_category.tsv)\n"
            "  --out FILE        difficulty head to write\n"
            "  --model DIR       USE-lite model folder (models/use-lite)\n"
            "  --holdout PCT     percent of every subject held out (20, the category split)\n"
            "  --l2 X            L2 strength (1e-3)\n"
            "  --cache FILE      embedding cache (shared with train-classifier)\n"
            "  --threads N       embedding threads (2)\n");
}

int cli_train_router(int argc, char **argv)
{
    const char *data_dir = NULL, *out = NULL, *model_dir = "models/use-lite", *cache = NULL;
    const char *small_col = "mistralai/Mixtral-8x7B-Instruct-v0.1",
               *large_col = "gpt-4-1106-preview", *cat_path = "config/category_head.bin",
               *map = "data/route/mmlu_subject_to_category.tsv";
    int holdout = 20, threads = 2;
    train_options opt = {1e-3, 300, 0, 0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            router_usage(stdout);
            return 0;
        }
        if (!v) {
            fprintf(stderr, "train-router: unknown option or missing value: %s\n", a);
            router_usage(stderr);
            return 2;
        }
        i++;
        if (!strcmp(a, "--data")) data_dir = v;
        else if (!strcmp(a, "--out")) out = v;
        else if (!strcmp(a, "--model")) model_dir = v;
        else if (!strcmp(a, "--cache")) cache = v;
        else if (!strcmp(a, "--small")) small_col = v;
        else if (!strcmp(a, "--large")) large_col = v;
        else if (!strcmp(a, "--category-head")) cat_path = v;
        else if (!strcmp(a, "--map")) map = v;
        else if (!strcmp(a, "--holdout")) holdout = atoi(v);
        else if (!strcmp(a, "--l2")) opt.l2 = atof(v);
        else if (!strcmp(a, "--threads")) threads = atoi(v);
        else {
            fprintf(stderr, "train-router: unknown option %s\n", a);
            router_usage(stderr);
            return 2;
        }
    }
    if (!data_dir || !out || holdout <= 0 || holdout > 90 || opt.l2 < 0) {
        fprintf(stderr, "train-router: --data and --out are required (holdout 1..90, l2 >= 0)\n");
        router_usage(stderr);
        return 2;
    }
    char err[512];
    int rc = 1, n_out = 0;
    route_dataset d;
    route_dataset_init(&d);
    route_embedded tr = {0}, ho = {0};
    embed_model *m = NULL;
    classifier_head *cat = NULL, *h = NULL;
    outcome *oc = NULL;
    float *X = NULL;
    int *y = NULL;
    scored *sv = NULL;
    if (route_dataset_load_mmlu(&d, data_dir, map, holdout, err, sizeof err) < 0) goto fail;
    if (!(oc = load_outcomes(data_dir, small_col, large_col, &n_out, err, sizeof err))) goto fail;
    embed_options eo = {.type = EMBED_USE_LITE, .path = model_dir};
    if (!(m = embed_load(&eo, err, sizeof err))) goto fail;
    int dim = embed_dim(m);
    if (!(cat = classifier_head_load(cat_path, embed_model_id(m), dim, err, sizeof err))) goto fail;
    if (route_embed_dataset(m, &d, 0, 1, 0, threads, cache, &tr, err, sizeof err) < 0 ||
        route_embed_dataset(m, &d, 1, 1, 0, threads, cache, &ho, err, sizeof err) < 0)
        goto fail;
    int nc = cat->n_classes, nf = dim + nc + DIFFICULTY_N_TEXT;
    /* features of both splits; rows follow the samples of each split in order */
    int n_all = tr.n + ho.n;
    X = malloc(sizeof(float) * (size_t)n_all * (size_t)nf);
    y = malloc(sizeof(int) * (size_t)n_all);
    signed char *sm = malloc((size_t)n_all), *lg = malloc((size_t)n_all);
    int *catpred = malloc(sizeof(int) * (size_t)n_all);
    if (!X || !y || !sm || !lg || !catpred) {
        snprintf(err, sizeof err, "out of memory");
        free(sm), free(lg), free(catpred);
        goto fail;
    }
    int row[2] = {0, tr.n}, missing = 0;
    float probs[64];
    for (int i = 0; i < d.n; i++) {
        const route_sample *s = &d.samples[i];
        int split = s->holdout ? 1 : 0;
        int r = row[split]++;
        const float *e = split ? ho.X + (size_t)(r - tr.n) * (size_t)dim : tr.X + (size_t)r * (size_t)dim;
        const outcome *o = find_outcome(oc, n_out, s->text);
        if (!o) missing++;
        sm[r] = o ? o->small_ok : 0, lg[r] = o ? o->large_ok : 0;
        classifier_head_probs(cat, e, s->text, strlen(s->text), probs);
        int best = 0;
        for (int c = 1; c < nc; c++)
            if (probs[c] > probs[best]) best = c;
        catpred[r] = best;
        difficulty_features(e, dim, probs, nc, s->text, strlen(s->text), X + (size_t)r * (size_t)nf);
        y[r] = sm[r] == lg[r] ? 0 : lg[r] ? 1 : 2;
    }
    if (missing) fprintf(stderr, "train-router: %d prompts without outcome columns\n", missing);
    fprintf(stderr, "train-router: %d training, %d held-out questions, %d features\n", tr.n, ho.n,
            nf);
    h = train_softmax(X, y, NULL, tr.n, nf, 3, embed_model_id(m), &opt, NULL, err, sizeof err);
    if (!h) {
        free(sm), free(lg), free(catpred);
        goto fail;
    }
    snprintf(h->labels[0], CLASSIFIER_MAX_LABEL, "same");
    snprintf(h->labels[1], CLASSIFIER_MAX_LABEL, "large_better");
    snprintf(h->labels[2], CLASSIFIER_MAX_LABEL, "small_better");
    if (classifier_head_save(h, out, err, sizeof err) < 0) {
        free(sm), free(lg), free(catpred);
        goto fail;
    }
    printf("wrote %s (%d features, model %s)\n", out, nf, h->model_id);

    /* category routing: per predicted category, the training split's mean gain */
    double gain[64] = {0};
    int cnt[64] = {0};
    for (int r = 0; r < tr.n; r++)
        gain[catpred[r]] += lg[r] - sm[r], cnt[catpred[r]]++;
    for (int c = 0; c < nc; c++)
        gain[c] = cnt[c] ? gain[c] / cnt[c] : 0;
    sv = malloc(sizeof *sv * (size_t)ho.n);
    if (!sv) {
        free(sm), free(lg), free(catpred);
        goto fail;
    }
    double qs, ql, a;
    printf("held-out split: %d questions\n", ho.n);
    const char *names[4] = {"head", "category", "random", "oracle"};
    uint64_t seed = 42;
    for (int method = 0; method < 4; method++) {
        double rnd = 0;
        int reps = method == 2 ? 20 : 1;
        for (int rep = 0; rep < reps; rep++) {
            for (int k = 0; k < ho.n; k++) {
                int r = tr.n + k;
                float p3[3];
                float score = 0;
                if (method == 0) {
                    classifier_head_probs(h, X + (size_t)r * (size_t)nf, NULL, 0, p3);
                    score = 0.5f * (1 + p3[1] - p3[2]);
                } else if (method == 1) {
                    /* ties inside a category broken at random */
                    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
                    score = (float)gain[catpred[r]] + (float)(seed >> 40) * 1e-12f;
                } else if (method == 2) {
                    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
                    score = (float)(seed >> 40);
                } else {
                    score = (float)(lg[r] - sm[r]);
                }
                sv[k] = (scored){score, sm[r], lg[r]};
            }
            rnd += apgr(sv, ho.n, 100, &qs, &ql, rep == 0 ? stdout : NULL, names[method]);
        }
        a = rnd / reps;
        printf("%-9s APGR %.3f (small %.4f, large %.4f)%s\n", names[method], a, qs, ql,
               reps > 1 ? " (mean of 20 draws)" : "");
    }
    /* the knob: score threshold -> share of large calls on the held-out split */
    printf("threshold: share of requests sent to the large model / quality (held-out):\n");
    for (int t = 48; t <= 66; t += 1) {
        int above = 0, correct = 0;
        for (int k = 0; k < ho.n; k++) {
            float p3[3];
            int r = tr.n + k;
            classifier_head_probs(h, X + (size_t)r * (size_t)nf, NULL, 0, p3);
            int large = 0.5f * (1 + p3[1] - p3[2]) >= t / 100.0f;
            above += large;
            correct += large ? lg[r] : sm[r];
        }
        printf("  %.2f: %.3f / %.4f\n", t / 100.0, (double)above / ho.n, (double)correct / ho.n);
    }
    free(sm), free(lg), free(catpred);
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "train-router: %s\n", err);
done:
    free(sv);
    free(X);
    free(y);
    free(oc);
    classifier_head_free(h);
    classifier_head_free(cat);
    route_embedded_free(&tr);
    route_embedded_free(&ho);
    route_dataset_free(&d);
    embed_free(m);
    return rc;
}
