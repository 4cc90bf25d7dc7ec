/* train.c - training data loading and the trainer of the category head
 * (`semrouter train-classifier`). See train.h for the data and the method. */
#include "cli/train.h"
#include "cli/cli.h"
#include "core/array.h"
#include "core/buf.h"
#include "core/progress.h"
#include "core/util.h"
#include "core/vec.h"
#include "embed/embed.h"
#include "cli/evaluate.h"
#include <cblas.h>
#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- dataset ---- */

void route_dataset_init(route_dataset *d) { memset(d, 0, sizeof *d); }

void route_dataset_free(route_dataset *d)
{
    for (int i = 0; i < d->n; i++) free(d->samples[i].text);
    for (int i = 0; i < d->n_sources; i++) free(d->sources[i]);
    free(d->samples);
    free(d->labels);
    free(d->sources);
    memset(d, 0, sizeof *d);
}

int route_dataset_label(route_dataset *d, const char *name, int add)
{
    for (int i = 0; i < d->n_labels; i++)
        if (!strcasecmp(d->labels[i], name)) return i;
    if (!add || strlen(name) >= CLASSIFIER_MAX_LABEL || !*name) return -1;
    void *nl = realloc(d->labels, (size_t)(d->n_labels + 1) * sizeof *d->labels);
    if (!nl) return -1;
    d->labels = nl;
    snprintf(d->labels[d->n_labels], CLASSIFIER_MAX_LABEL, "%s", name);
    return d->n_labels++;
}

static int dataset_source(route_dataset *d, const char *name)
{
    for (int i = 0; i < d->n_sources; i++)
        if (!strcmp(d->sources[i], name)) return i;
    char **ns = realloc(d->sources, (size_t)(d->n_sources + 1) * sizeof *ns);
    if (!ns) return -1;
    d->sources = ns;
    if (!(d->sources[d->n_sources] = strdup(name))) return -1;
    return d->n_sources++;
}

/* Takes ownership of text. */
static int dataset_add(route_dataset *d, char *text, int label, int source, int holdout, float w,
                       int mmlu)
{
    size_t cap = (size_t)d->cap;
    if (array_grow(&d->samples, &cap, (size_t)d->n + 1, sizeof *d->samples, 1024)) {
        free(text);
        return -1;
    }
    d->cap = (int)cap;
    d->samples[d->n++] = (route_sample){text, label, source, holdout, w, mmlu};
    return 0;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) s[--n] = 0;
    return s;
}

int route_dataset_load_tsv(route_dataset *d, const char *path, float weight, int holdout,
                           char *err, size_t errlen)
{
    char ferr[256];
    char *data = util_read_file(path, NULL, ferr, sizeof ferr);
    if (!data) {
        snprintf(err, errlen, "%s", ferr);
        return -1;
    }
    int src = dataset_source(d, path), lineno = 0, rc = 0;
    char *save = NULL;
    /* strtok_r skips empty lines, so count them by hand for file:line errors. */
    for (char *line = data, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        lineno++;
        char *t = trim(line);
        if (!*t || *t == '#') continue;
        char *tab = strchr(t, '\t');
        if (!tab) {
            snprintf(err, errlen, "%s:%d: expected \"category<TAB>text\"", path, lineno);
            rc = -1;
            break;
        }
        *tab = 0;
        char *cat = trim(t), *text = trim(tab + 1);
        int label = route_dataset_label(d, cat, 1);
        if (label < 0 || !*text) {
            snprintf(err, errlen, "%s:%d: bad category or empty text", path, lineno);
            rc = -1;
            break;
        }
        char *copy = strdup(text);
        if (!copy || dataset_add(d, copy, label, src, holdout, weight, 0) < 0) {
            snprintf(err, errlen, "out of memory reading %s", path);
            rc = -1;
            break;
        }
    }
    (void)save;
    free(data);
    return rc;
}

/* Parses one RFC 4180 field at *p (quoted fields may hold "" and newlines).
 * Returns a malloc'd copy, advances *p past the field and its separator, and
 * sets *eol when the record ended. */
char *route_csv_field(const char **p, int *eol)
{
    const char *s = *p;
    buf b;
    buf_init(&b);
    *eol = 0;
    if (*s == '"') {
        s++;
        for (;;) {
            if (!*s) break;
            if (*s == '"') {
                if (s[1] == '"') {
                    buf_putc(&b, '"');
                    s += 2;
                    continue;
                }
                s++;
                break;
            }
            buf_putc(&b, *s++);
        }
    }
    while (*s && *s != ',' && *s != '\n' && *s != '\r') buf_putc(&b, *s++);
    if (*s == ',') s++;
    else {
        if (*s == '\r') s++;
        if (*s == '\n') s++;
        *eol = 1;
    }
    *p = s;
    if (b.oom) {
        buf_free(&b);
        return NULL;
    }
    if (!b.data) return strdup("");
    return buf_steal(&b);
}

typedef struct hashed {
    unsigned char h[32];
    int idx;
} hashed;

int route_csv_record(const char **p, const char *end, char **fields, int max)
{
    const char *s = *p;
    if (s >= end) return 0;
    int n = 0;
    for (;;) {
        size_t cap = 64, len = 0;
        char *f = malloc(cap);
        if (!f) return -1;
        int quoted = s < end && *s == '"';
        if (quoted) s++;
        while (s < end) {
            if (quoted && *s == '"') {
                if (s + 1 < end && s[1] == '"') {
                    s++;
                } else {
                    s++;
                    quoted = 0;
                    continue;
                }
            } else if (!quoted && (*s == ',' || *s == '\n' || *s == '\r')) {
                break;
            }
            if (len + 2 > cap) {
                char *nf = realloc(f, cap *= 2);
                if (!nf) {
                    free(f);
                    return -1;
                }
                f = nf;
            }
            f[len++] = *s++;
        }
        f[len] = 0;
        if (n < max)
            fields[n++] = f;
        else
            free(f);
        if (s < end && *s == ',') {
            s++;
            continue;
        }
        if (s < end && *s == '\r') s++;
        if (s < end && *s == '\n') s++;
        break;
    }
    *p = s;
    return n;
}

static int hashed_cmp(const void *a, const void *b)
{
    return memcmp(((const hashed *)a)->h, ((const hashed *)b)->h, 32);
}

static int load_mmlu_file(route_dataset *d, const char *path, int label, int source,
                          int holdout_pct, char *err, size_t errlen)
{
    char ferr[256];
    char *data = util_read_file(path, NULL, ferr, sizeof ferr);
    if (!data) {
        snprintf(err, errlen, "%s", ferr);
        return -1;
    }
    const char *p = data;
    int col = -1, ncol = 0, eol = 0;
    while (*p && !eol) {
        char *f = route_csv_field(&p, &eol);
        if (!f) goto oom;
        if (!strcmp(f, "prompt")) col = ncol;
        ncol++;
        free(f);
    }
    if (col < 0) {
        snprintf(err, errlen, "%s: no 'prompt' column in the header", path);
        free(data);
        return -1;
    }
    int first = d->n;
    while (*p) {
        int c = 0;
        char *prompt = NULL;
        eol = 0;
        while (*p && !eol) {
            char *f = route_csv_field(&p, &eol);
            if (!f) goto oom;
            if (c++ == col) prompt = f;
            else free(f);
        }
        if (prompt && *prompt) {
            if (dataset_add(d, prompt, label, source, 0, 1.0f, 1) < 0) goto oom;
        } else free(prompt);
    }
    free(data);
    /* Hold out the holdout_pct% whose SHA-256 sorts first: a fixed, content-only choice. */
    int n = d->n - first;
    if (n <= 0) return 0;
    hashed *hs = malloc((size_t)n * sizeof *hs);
    if (!hs) goto oom_nodata;
    for (int i = 0; i < n; i++) {
        const char *t = d->samples[first + i].text;
        util_sha256(t, strlen(t), hs[i].h);
        hs[i].idx = first + i;
    }
    qsort(hs, (size_t)n, sizeof *hs, hashed_cmp);
    int nh = (n * holdout_pct + 99) / 100;
    for (int i = 0; i < nh; i++) d->samples[hs[i].idx].holdout = 1;
    free(hs);
    return 0;
oom:
    free(data);
oom_nodata:
    snprintf(err, errlen, "out of memory reading %s", path);
    return -1;
}

int route_dataset_load_mmlu(route_dataset *d, const char *dir, const char *map_path,
                            int holdout_pct, char *err, size_t errlen)
{
    /* mapping: "subject<TAB>category" */
    route_dataset map;
    route_dataset_init(&map);
    if (route_dataset_load_tsv(&map, map_path, 1, 0, err, errlen) < 0) {
        route_dataset_free(&map);
        return -1;
    }
    DIR *dh = opendir(dir);
    if (!dh) {
        snprintf(err, errlen, "cannot open MMLU data folder %s", dir);
        route_dataset_free(&map);
        return -1;
    }
    /* Sorted file list so sample order (and hence training) is reproducible. */
    char **names = NULL;
    int nn = 0, rc = 0;
    struct dirent *de;
    while ((de = readdir(dh))) {
        size_t l = strlen(de->d_name);
        if (l > 9 && !strncmp(de->d_name, "mmlu_", 5) && !strcmp(de->d_name + l - 4, ".csv")) {
            char **nv = realloc(names, (size_t)(nn + 1) * sizeof *names);
            if (!nv) break;
            names = nv;
            names[nn++] = strdup(de->d_name);
        }
    }
    closedir(dh);
    for (int i = 0; i < nn; i++)
        for (int j = i + 1; j < nn; j++)
            if (strcmp(names[i], names[j]) > 0) {
                char *t = names[i];
                names[i] = names[j];
                names[j] = t;
            }
    if (nn == 0) {
        snprintf(err, errlen, "no mmlu_<subject>.csv files in %s", dir);
        rc = -1;
    }
    for (int i = 0; i < nn && rc == 0; i++) {
        char subject[256];
        snprintf(subject, sizeof subject, "%.*s", (int)strlen(names[i]) - 9, names[i] + 5);
        const char *cat = NULL;
        /* In the mapping dataset the "label" is the subject and the text the category. */
        for (int k = 0; k < map.n; k++)
            if (!strcmp(map.labels[map.samples[k].label], subject)) cat = map.samples[k].text;
        if (!cat) {
            snprintf(err, errlen, "%s: subject '%s' (%s) has no category", map_path, subject,
                     names[i]);
            rc = -1;
            break;
        }
        int label = route_dataset_label(d, cat, 1), src = dataset_source(d, subject);
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (label < 0 || src < 0) {
            snprintf(err, errlen, "bad category '%s' for subject %s", cat, subject);
            rc = -1;
        } else rc = load_mmlu_file(d, path, label, src, holdout_pct, err, errlen);
    }
    for (int i = 0; i < nn; i++) free(names[i]);
    free(names);
    route_dataset_free(&map);
    return rc;
}

size_t route_mmlu_stem(const char *prompt, size_t len)
{
    /* Options are lines "A. ...", "B. ..."; the stem ends at the line "A. ". */
    size_t end = len;
    for (size_t i = 0; i + 3 < len; i++)
        if (prompt[i] == '\n' && prompt[i + 1] == 'A' && prompt[i + 2] == '.' &&
            prompt[i + 3] == ' ') {
            end = i;
            break;
        }
    if (end == len) {
        const char *a = NULL;
        for (const char *s = prompt; (s = strstr(s, "Answer:")) && s < prompt + len; s++) a = s;
        if (a) end = (size_t)(a - prompt);
    }
    while (end && isspace((unsigned char)prompt[end - 1])) end--;
    return end;
}

/* ---- trainer ---- */

typedef struct objective {
    const float *X;
    const int *y;
    const float *w; /* final per-sample weights, sum = 1 */
    int n, dim, k;
    double l2;
    const train_vocab *v; /* NULL = no vocabulary layer */
    float *W;       /* scratch: [k][dim] float copy of theta */
    float *logits;  /* [n][k] */
} objective;

/* Loss and gradient at theta = [W (k×dim), b (k), V (k×n_buckets)]: weighted
 * cross-entropy + l2/2·|W|² + vocab l2/2·|V|². */
static double objective_eval(objective *o, const double *theta, double *grad)
{
    int n = o->n, d = o->dim, k = o->k;
    for (int i = 0; i < k * d; i++) o->W[i] = (float)theta[i];
    const double *b = theta + (size_t)k * d;
    const double *V = b + k;
    int nb = o->v ? o->v->n_buckets : 0;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, k, d, 1.0f, o->X, d, o->W, d, 0.0f,
                o->logits, k);
    double loss = 0;
    for (int i = 0; i < n; i++) {
        float *z = o->logits + (size_t)i * k;
        if (nb)
            for (int f = o->v->row_start[i]; f < o->v->row_start[i + 1]; f++) {
                const vocab_feature *vf = &o->v->feat[f];
                for (int c = 0; c < k; c++) z[c] += (float)(V[(size_t)c * nb + vf->bucket] * vf->value);
            }
        double mx = -INFINITY;
        for (int c = 0; c < k; c++) {
            z[c] += (float)b[c];
            if (z[c] > mx) mx = z[c];
        }
        double s = 0;
        for (int c = 0; c < k; c++) s += exp(z[c] - mx);
        double lse = mx + log(s);
        loss += o->w[i] * (lse - z[o->y[i]]);
        /* turn logits into the weighted residual (p - onehot) * w for the gradient */
        for (int c = 0; c < k; c++) z[c] = (float)(o->w[i] * (exp(z[c] - lse) - (c == o->y[i])));
    }
    /* grad W = Rᵀ X (k×d) */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, d, n, 1.0f, o->logits, k, o->X, d,
                0.0f, o->W, d);
    double reg = 0;
    for (int i = 0; i < k * d; i++) {
        grad[i] = o->W[i] + o->l2 * theta[i];
        reg += theta[i] * theta[i];
    }
    for (int c = 0; c < k; c++) {
        double g = 0;
        for (int i = 0; i < n; i++) g += o->logits[(size_t)i * k + c];
        grad[(size_t)k * d + c] = g;
    }
    double vreg = 0;
    if (nb) {
        double *gV = grad + (size_t)k * d + k;
        for (size_t j = 0; j < (size_t)k * nb; j++) {
            gV[j] = o->v->l2 * V[j];
            vreg += V[j] * V[j];
        }
        for (int i = 0; i < n; i++) {
            const float *r = o->logits + (size_t)i * k;
            for (int f = o->v->row_start[i]; f < o->v->row_start[i + 1]; f++) {
                const vocab_feature *vf = &o->v->feat[f];
                for (int c = 0; c < k; c++) gV[(size_t)c * nb + vf->bucket] += r[c] * vf->value;
            }
        }
    }
    return loss + 0.5 * o->l2 * reg + (nb ? 0.5 * o->v->l2 * vreg : 0);
}

void train_vocab_idf(const char *const *texts, const size_t *lens, int n, int n_buckets, int min_df,
                     float *idf)
{
    int *df = calloc((size_t)n_buckets, sizeof *df);
    vocab_feature f[VOCAB_MAX_FEATURES];
    for (int i = 0; i < n_buckets; i++) idf[i] = 0;
    if (!df) return;
    for (int i = 0; i < n; i++) {
        int m = vocab_count(texts[i], lens[i], (uint32_t)n_buckets, f, VOCAB_MAX_FEATURES);
        for (int j = 0; j < m; j++) df[f[j].bucket]++;
    }
    for (int b = 0; b < n_buckets; b++)
        if (df[b] >= (min_df > 1 ? min_df : 1)) idf[b] = (float)(log((n + 1.0) / (df[b] + 1.0)) + 1);
    free(df);
}

classifier_head *train_softmax(const float *X, const int *y, const float *w, int n, int dim,
                               int n_classes, const char *model_id, const train_options *opt,
                               const train_vocab *vocab, char *err, size_t errlen)
{
    enum { M = 10 };
    int k = n_classes, nb = vocab ? vocab->n_buckets : 0, np = k * dim + k + k * nb;
    classifier_head *h = NULL;
    objective o = {X, y, NULL, n, dim, k, opt->l2, nb ? vocab : NULL, NULL, NULL};
    float *sw = malloc((size_t)n * sizeof *sw);
    double *count = calloc((size_t)k, sizeof *count);
    double *mem = calloc((size_t)np * (4 + 2 * M), sizeof(double));
    o.W = malloc((size_t)k * dim * sizeof(float));
    o.logits = malloc((size_t)n * k * sizeof(float));
    if (!sw || !count || !mem || !o.W || !o.logits) {
        snprintf(err, errlen, "out of memory training the category head");
        goto out;
    }
    for (int i = 0; i < n; i++) {
        if (y[i] < 0 || y[i] >= k) {
            snprintf(err, errlen, "training label %d out of range", y[i]);
            goto out;
        }
        count[y[i]] += w ? w[i] : 1;
    }
    /* Class balancing: every class carries the same total weight. */
    double total = 0;
    for (int i = 0; i < n; i++) {
        double wi = w ? w[i] : 1;
        if (opt->balance) wi /= count[y[i]] * k;
        sw[i] = (float)wi;
        total += wi;
    }
    for (int i = 0; i < n; i++) sw[i] = (float)(sw[i] / total);
    o.w = sw;

    double *theta = mem, *g = theta + np, *theta_new = g + np, *g_new = theta_new + np;
    double *S = g_new + np, *Yv = S + (size_t)np * M;
    double rho[M], alpha[M];
    int hist = 0, head_i = 0;
    double f = objective_eval(&o, theta, g);
    double *dir = malloc((size_t)np * sizeof *dir);
    if (!dir) {
        snprintf(err, errlen, "out of memory training the category head");
        goto out;
    }
    progress *prog = progress_new("training", (uint64_t)opt->max_iter, "iterations");
    int iters = 0;
    for (int it = 0; it < opt->max_iter; it++) {
        iters = it + 1;
        progress_set(prog, (uint64_t)iters);
        /* L-BFGS two-loop recursion: dir = -H·g */
        for (int i = 0; i < np; i++) dir[i] = -g[i];
        for (int j = 0; j < hist; j++) {
            int s = (head_i - 1 - j + M) % M;
            alpha[s] = rho[s] * vec_dot_f64(S + (size_t)s * np, dir, (size_t)np);
            for (int i = 0; i < np; i++) dir[i] -= alpha[s] * Yv[(size_t)s * np + i];
        }
        if (hist) {
            int s = (head_i - 1 + M) % M;
            double gamma = vec_dot_f64(S + (size_t)s * np, Yv + (size_t)s * np, (size_t)np) /
                           vec_dot_f64(Yv + (size_t)s * np, Yv + (size_t)s * np, (size_t)np);
            for (int i = 0; i < np; i++) dir[i] *= gamma;
        } else {
            double gn = sqrt(vec_dot_f64(g, g, (size_t)np));
            for (int i = 0; i < np; i++) dir[i] /= gn > 0 ? gn : 1;
        }
        for (int j = hist - 1; j >= 0; j--) {
            int s = (head_i - 1 - j + M) % M;
            double beta = rho[s] * vec_dot_f64(Yv + (size_t)s * np, dir, (size_t)np);
            for (int i = 0; i < np; i++) dir[i] += (alpha[s] - beta) * S[(size_t)s * np + i];
        }
        double gd = vec_dot_f64(g, dir, (size_t)np);
        if (gd >= 0) { /* not a descent direction: restart from steepest descent */
            hist = 0;
            for (int i = 0; i < np; i++) dir[i] = -g[i];
            gd = vec_dot_f64(g, dir, (size_t)np);
        }
        /* Backtracking line search (Armijo). */
        double step = 1, fn = 0;
        int ok = 0;
        for (int ls = 0; ls < 40; ls++) {
            for (int i = 0; i < np; i++) theta_new[i] = theta[i] + step * dir[i];
            fn = objective_eval(&o, theta_new, g_new);
            if (fn <= f + 1e-4 * step * gd) {
                ok = 1;
                break;
            }
            step *= 0.5;
        }
        if (!ok) break;
        int s = head_i;
        double sy = 0;
        for (int i = 0; i < np; i++) {
            S[(size_t)s * np + i] = theta_new[i] - theta[i];
            Yv[(size_t)s * np + i] = g_new[i] - g[i];
            sy += S[(size_t)s * np + i] * Yv[(size_t)s * np + i];
        }
        if (sy > 1e-12) {
            rho[s] = 1 / sy;
            head_i = (head_i + 1) % M;
            if (hist < M) hist++;
        }
        double df = f - fn;
        memcpy(theta, theta_new, (size_t)np * sizeof *theta);
        memcpy(g, g_new, (size_t)np * sizeof *g);
        f = fn;
        double gnorm = sqrt(vec_dot_f64(g, g, (size_t)np));
        if (opt->verbose && (it % 25 == 0))
            fprintf(stderr, "train: iter %d loss %.6f |g| %.2e\n", it, f, gnorm);
        if (gnorm < 1e-6 || df < 1e-10 * (fabs(f) + 1e-12)) break;
    }
    progress_set_total(prog, (uint64_t)iters); /* converged early: the bar ends full */
    progress_set(prog, (uint64_t)iters);
    progress_done(prog, "%d iterations, loss %.6f", iters, f);
    free(dir);
    h = classifier_head_new(dim, k, model_id);
    if (!h) {
        snprintf(err, errlen, "out of memory creating the category head");
        goto out;
    }
    for (int i = 0; i < k * dim; i++) h->weights[i] = (float)theta[i];
    for (int c = 0; c < k; c++) h->bias[c] = (float)theta[(size_t)k * dim + c];
    if (nb) {
        if (classifier_head_add_vocab(h, nb) < 0) {
            snprintf(err, errlen, "out of memory creating the vocabulary layer");
            classifier_head_free(h);
            h = NULL;
            goto out;
        }
        memcpy(h->idf, vocab->idf, (size_t)nb * sizeof(float));
        for (size_t i = 0; i < (size_t)k * nb; i++) h->vocab_weights[i] = (float)theta[(size_t)k * dim + k + i];
    }
out:
    free(sw);
    free(count);
    free(mem);
    free(o.W);
    free(o.logits);
    return h;
}

/* ---- command line ---- */

static void train_usage(FILE *out)
{
    fprintf(out,
            "usage: semrouter train-classifier --data DIR --out FILE [options]\n\n"
            "Trains the category head (softmax regression on sentence embeddings).\n\n"
            "  --data DIR        folder of mmlu_<subject>.csv files (prompt column)\n"
            "  --map FILE        subject -> category TSV (data/route/mmlu_subject_to_category.tsv)\n"
            "  --extra FILE      extra \"category<TAB>text\" training file (repeatable)\n"
            "  --extra-weight W  weight of each extra sample relative to an MMLU one (12)\n"
            "  --eval FILE       \"category<TAB>text\" file to report accuracy on (repeatable)\n"
            "  --out FILE        head file to write\n"
            "  --model DIR       USE-lite model folder (models/use-lite)\n"
            "  --holdout PCT     percent of every MMLU subject held out (20)\n"
            "  --l2 X            L2 strength (1e-5)\n"
            "  --iter N          L-BFGS iterations (400)\n"
            "  --variants V      MMLU texts trained on: full | stem | both (both)\n"
            "  --threads N       embedding threads (2)\n"
            "  --vocab N         buckets of the domain-vocabulary layer, a power of two; 0 = none\n"
            "  --vocab-l2 X      L2 strength on the vocabulary weights (1e-4)\n"
            "  --vocab-min-df N  texts a word must occur in to get a weight (2)\n"
            "  --cache FILE      embedding cache: texts embedded by an earlier run are reused\n");
}

int cli_train_classifier(int argc, char **argv)
{
    const char *data_dir = NULL, *map = "data/route/mmlu_subject_to_category.tsv", *out = NULL;
    const char *model_dir = "models/use-lite", *variants = "both", *cache = NULL;
    const char *extra[16], *evals[16];
    int n_extra = 0, n_eval = 0, holdout = 20, threads = 2, vocab_n = 0, min_df = 2;
    double extra_weight = 12, vocab_l2 = 1e-4;
    train_options opt = {1e-5, 400, 1, 1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            train_usage(stdout);
            return 0;
        }
        if (!v) {
            fprintf(stderr, "train-classifier: unknown option or missing value: %s\n", a);
            train_usage(stderr);
            return 2;
        }
        i++;
        if (!strcmp(a, "--data")) data_dir = v;
        else if (!strcmp(a, "--map")) map = v;
        else if (!strcmp(a, "--out")) out = v;
        else if (!strcmp(a, "--model")) model_dir = v;
        else if (!strcmp(a, "--variants")) variants = v;
        else if (!strcmp(a, "--cache")) cache = v;
        else if (!strcmp(a, "--extra") && n_extra < 16) extra[n_extra++] = v;
        else if (!strcmp(a, "--eval") && n_eval < 16) evals[n_eval++] = v;
        else if (!strcmp(a, "--extra-weight") || !strcmp(a, "--l2") || !strcmp(a, "--vocab-l2")) {
            double *dst = !strcmp(a, "--l2") ? &opt.l2 : !strcmp(a, "--vocab-l2") ? &vocab_l2 : &extra_weight;
            if (util_parse_double(v, 0, 1e9, dst)) {
                fprintf(stderr, "train-classifier: %s must be a number >= 0, got '%s'\n", a, v);
                return 2;
            }
        } else if (!strcmp(a, "--holdout") || !strcmp(a, "--iter") || !strcmp(a, "--threads") ||
                   !strcmp(a, "--vocab") || !strcmp(a, "--vocab-min-df")) {
            int *dst = !strcmp(a, "--holdout") ? &holdout
                       : !strcmp(a, "--iter")  ? &opt.max_iter
                       : !strcmp(a, "--vocab") ? &vocab_n
                       : !strcmp(a, "--vocab-min-df") ? &min_df
                                               : &threads;
            if (util_parse_int(v, 0, 1000000, dst)) {
                fprintf(stderr, "train-classifier: %s must be a whole number >= 0, got '%s'\n", a, v);
                return 2;
            }
        }
        else {
            fprintf(stderr, "train-classifier: unknown option %s\n", a);
            train_usage(stderr);
            return 2;
        }
    }
    if ((!data_dir && !n_extra) || !out) {
        fprintf(stderr, "train-classifier: --data (or --extra) and --out are required\n");
        train_usage(stderr);
        return 2;
    }
    if (vocab_n < 0 || vocab_n > (1 << 22) || (vocab_n & (vocab_n - 1))) {
        fprintf(stderr, "train-classifier: --vocab must be 0 or a power of two up to 4194304, got %d\n",
                vocab_n);
        return 2;
    }
    if (holdout < 0 || holdout > 90 || opt.l2 < 0 || opt.max_iter <= 0 || extra_weight <= 0 ||
        (strcmp(variants, "full") && strcmp(variants, "stem") && strcmp(variants, "both"))) {
        fprintf(stderr, "train-classifier: bad --holdout, --l2, --iter, --extra-weight or "
                        "--variants value\n");
        return 2;
    }
    char err[512];
    int rc = 1;
    route_dataset d, ev;
    route_dataset_init(&d);
    route_dataset_init(&ev);
    embed_model *m = NULL;
    route_embedded tr = {0}, ho = {0}, dv = {0};
    classifier_head *h = NULL;
    float *vidf = NULL;
    int *vrow = NULL;
    vocab_feature *vfeat = NULL;
    if (data_dir && route_dataset_load_mmlu(&d, data_dir, map, holdout, err, sizeof err) < 0)
        goto fail;
    for (int i = 0; i < n_extra; i++)
        if (route_dataset_load_tsv(&d, extra[i], (float)extra_weight, 0, err, sizeof err) < 0)
            goto fail;
    /* Eval files share the label table so confusion rows line up. */
    for (int i = 0; i < d.n_labels; i++) route_dataset_label(&ev, d.labels[i], 1);
    for (int i = 0; i < n_eval; i++)
        if (route_dataset_load_tsv(&ev, evals[i], 1, 1, err, sizeof err) < 0) goto fail;
    for (int i = 0; i < ev.n_labels; i++)
        if (route_dataset_label(&d, ev.labels[i], 0) < 0) {
            snprintf(err, sizeof err, "eval category '%s' does not occur in the training data",
                     ev.labels[i]);
            goto fail;
        }
    embed_options eo = {.type = EMBED_USE_LITE, .path = model_dir};
    if (!(m = embed_load(&eo, err, sizeof err))) goto fail;
    fprintf(stderr, "train: %d samples, %d categories, model %s\n", d.n, d.n_labels,
            embed_model_id(m));

    int use_full = strcmp(variants, "stem") != 0, use_stem = strcmp(variants, "full") != 0;
    double t0 = util_now_sec();
    if (route_embed_dataset(m, &d, 0, use_full, use_stem, threads, cache, &tr, err, sizeof err) <
            0 ||
        route_embed_dataset(m, &d, 1, 1, 0, threads, cache, &ho, err, sizeof err) < 0 ||
        (ev.n && route_embed_dataset(m, &ev, 1, 1, 0, threads, cache, &dv, err, sizeof err) < 0))
        goto fail;
    double t1 = util_now_sec();
    fprintf(stderr, "train: embedded %d training + %d held-out + %d eval texts in %.1f s\n", tr.n,
            ho.n, dv.n, t1 - t0);
    if (vocab_n) {
        /* idf from the training rows, then every row's weighted features in one array */
        if (!(vidf = malloc((size_t)vocab_n * sizeof *vidf)) ||
            !(vrow = malloc((size_t)(tr.n + 1) * sizeof *vrow))) {
            snprintf(err, sizeof err, "out of memory building the vocabulary features");
            goto fail;
        }
        train_vocab_idf(tr.text, tr.len, tr.n, vocab_n, min_df, vidf);
        size_t cap = 0, used = 0;
        vocab_feature f[VOCAB_MAX_FEATURES];
        for (int i = 0; i < tr.n; i++) {
            int nf = vocab_features(tr.text[i], tr.len[i], (uint32_t)vocab_n, vidf, f, VOCAB_MAX_FEATURES);
            if (array_grow(&vfeat, &cap, used + (size_t)nf, sizeof *vfeat, 1 << 16)) {
                snprintf(err, sizeof err, "out of memory building the vocabulary features");
                goto fail;
            }
            vrow[i] = (int)used;
            memcpy(vfeat + used, f, (size_t)nf * sizeof *f);
            used += (size_t)nf;
        }
        vrow[tr.n] = (int)used;
        int seen = 0;
        for (int b = 0; b < vocab_n; b++) seen += vidf[b] > 0;
        fprintf(stderr, "train: vocabulary layer: %d of %d buckets in >= %d texts, %zu features\n",
                seen, vocab_n, min_df, used);
    }
    train_vocab tv = {vocab_n, vidf, vrow, vfeat, vocab_l2};
    h = train_softmax(tr.X, tr.y, tr.w, tr.n, tr.dim, d.n_labels, embed_model_id(m), &opt,
                      vocab_n ? &tv : NULL, err, sizeof err);
    if (!h) goto fail;
    for (int c = 0; c < d.n_labels; c++)
        snprintf(h->labels[c], CLASSIFIER_MAX_LABEL, "%s", d.labels[c]);
    fprintf(stderr, "train: trained in %.1f s\n", util_now_sec() - t1);
    if (classifier_head_save(h, out, err, sizeof err) < 0) goto fail;
    printf("wrote %s (%d categories, %d-d, model %s)\n", out, h->n_classes, h->dim, h->model_id);
    route_report(h, &tr, "training set", stdout);
    if (ho.n) route_report(h, &ho, "held-out MMLU split (full prompts)", stdout);
    if (dv.n) route_report(h, &dv, "eval file(s)", stdout);
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "train-classifier: %s\n", err);
done:
    free(vidf);
    free(vrow);
    free(vfeat);
    route_embedded_free(&tr);
    route_embedded_free(&ho);
    route_embedded_free(&dv);
    classifier_head_free(h);
    embed_free(m);
    route_dataset_free(&d);
    route_dataset_free(&ev);
    return rc;
}
