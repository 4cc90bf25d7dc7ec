/* calibrate.c - choose a semantic-cache similarity threshold from labelled pairs.
 *
 * Reads a CSV of question pairs (columns question1, question2, is_duplicate;
 * RFC 4180 quoting), embeds both sides with the built-in model (two threads),
 * and prints precision / recall / F1 / F0.5 of the rule "similarity >= t means
 * a cache hit" for a sweep of t, then the t with the best F0.5 (precision
 * counts twice as much as recall: a false hit serves a wrong answer).
 *
 * usage: calibrate [-m MODEL_DIR] [--type T] [--from 0.50] [--to 0.99]
 *                  [--step 0.01] [--limit N] PAIRS.csv */
#include "embed/embed.h"
#include "core/util.h"
#include "core/vec.h"
#include "cli/train.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pair {
    char *q1, *q2;
    int dup;
    float sim;
} pair;

static embed_model *model;
static pair *pairs;
static int n_pairs;

typedef struct {
    int from, to, failed;
} job;

static void *worker(void *arg)
{
    job *j = arg;
    embed_state *s = embed_state_new(model);
    int dim = embed_dim(model);
    float *a = malloc((size_t)dim * sizeof *a), *b = malloc((size_t)dim * sizeof *b);
    char err[256];
    for (int i = j->from; s && a && b && i < j->to; i++) {
        if (embed_text(model, s, pairs[i].q1, strlen(pairs[i].q1), a, NULL, err, sizeof err) ||
            embed_text(model, s, pairs[i].q2, strlen(pairs[i].q2), b, NULL, err, sizeof err)) {
            fprintf(stderr, "calibrate: %s\n", err);
            j->failed = 1;
            break;
        }
        pairs[i].sim = (float)vec_dot_f32_acc64(a, b, (size_t)dim);
    }
    free(a);
    free(b);
    embed_state_free(s);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *dir = "models/use-lite", *csv = NULL;
    embed_options o = {.type = EMBED_USE_LITE};
    double from = 0.50, to = 0.99, step = 0.01;
    int limit = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-m") && i + 1 < argc)
            dir = argv[++i];
        else if (!strcmp(argv[i], "--type") && i + 1 < argc) {
            if (embed_parse_type(argv[++i], &o.type)) {
                fprintf(stderr, "calibrate: unknown model type %s\n", argv[i]);
                return 2;
            }
        } else if ((!strcmp(argv[i], "--from") || !strcmp(argv[i], "--to") ||
                    !strcmp(argv[i], "--step")) && i + 1 < argc) {
            double *dst = !strcmp(argv[i], "--from") ? &from : !strcmp(argv[i], "--to") ? &to : &step;
            if (util_parse_double(argv[i + 1], -1, 1, dst)) {
                fprintf(stderr, "calibrate: %s must be a number in [-1, 1], got '%s'\n", argv[i], argv[i + 1]);
                return 2;
            }
            i++;
        } else if (!strcmp(argv[i], "--limit") && i + 1 < argc) {
            if (util_parse_int(argv[++i], 0, 100000000, &limit)) {
                fprintf(stderr, "calibrate: --limit must be a whole number >= 0, got '%s'\n", argv[i]);
                return 2;
            }
        } else if (argv[i][0] != '-' && !csv)
            csv = argv[i];
        else {
            fprintf(stderr, "usage: calibrate [-m MODEL_DIR] [--type T] [--from F] [--to T] "
                            "[--step S] [--limit N] PAIRS.csv\n");
            return 2;
        }
    }
    if (!csv || step <= 0 || from > to) {
        fprintf(stderr, "calibrate: give a pairs CSV (and a sweep with from <= to, step > 0)\n");
        return 2;
    }
    char err[512];
    size_t len;
    char *text = util_read_file(csv, &len, err, sizeof err);
    if (!text) {
        fprintf(stderr, "calibrate: %s\n", err);
        return 1;
    }
    const char *p = text, *end = text + len;
    char *f[8];
    int nf = route_csv_record(&p, end, f, 8), c1 = -1, c2 = -1, cd = -1;
    for (int i = 0; i < nf; i++) {
        if (!strcmp(f[i], "question1")) c1 = i;
        if (!strcmp(f[i], "question2")) c2 = i;
        if (!strcmp(f[i], "is_duplicate")) cd = i;
        free(f[i]);
    }
    if (c1 < 0 || c2 < 0 || cd < 0) {
        fprintf(stderr, "calibrate: %s needs columns question1, question2, is_duplicate\n", csv);
        return 1;
    }
    int cap = 1024, bad = 0;
    pairs = malloc((size_t)cap * sizeof *pairs);
    while ((!limit || n_pairs < limit) && (nf = route_csv_record(&p, end, f, 8)) > 0) {
        if (nf > c1 && nf > c2 && nf > cd && (!strcmp(f[cd], "0") || !strcmp(f[cd], "1"))) {
            if (n_pairs == cap) pairs = realloc(pairs, (size_t)(cap *= 2) * sizeof *pairs);
            pairs[n_pairs].q1 = strdup(f[c1]);
            pairs[n_pairs].q2 = strdup(f[c2]);
            pairs[n_pairs].dup = f[cd][0] == '1';
            n_pairs++;
        } else {
            bad++;
        }
        for (int i = 0; i < nf; i++)
            free(f[i]);
    }
    free(text);
    o.path = dir;
    model = embed_load(&o, err, sizeof err);
    if (!model) {
        fprintf(stderr, "calibrate: %s\n", err);
        return 1;
    }
    double t0 = util_now_sec();
    pthread_t th[2];
    job jobs[2] = {{0, n_pairs / 2, 0}, {n_pairs / 2, n_pairs, 0}};
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, worker, &jobs[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    if (jobs[0].failed || jobs[1].failed) return 1;
    int dups = 0;
    for (int i = 0; i < n_pairs; i++)
        dups += pairs[i].dup;
    printf("# %s: %d pairs (%d duplicates), %d malformed rows skipped; model %s; %.1f s\n", csv,
           n_pairs, dups, bad, embed_model_id(model), util_now_sec() - t0);
    printf("%-6s %9s %9s %8s %8s %8s %8s\n", "t", "hits", "precision", "recall", "F1", "F0.5",
           "hit_rate");
    double best_f05 = -1, best_t = from;
    for (double t = from; t <= to + 1e-9; t += step) {
        int tp = 0, fp = 0;
        for (int i = 0; i < n_pairs; i++)
            if (pairs[i].sim >= (float)t) pairs[i].dup ? tp++ : fp++;
        double prec = tp + fp ? (double)tp / (tp + fp) : 1.0;
        double rec = dups ? (double)tp / dups : 0.0;
        double f1 = prec + rec > 0 ? 2 * prec * rec / (prec + rec) : 0.0;
        double f05 = prec + rec > 0 ? 1.25 * prec * rec / (0.25 * prec + rec) : 0.0;
        printf("%-6.2f %9d %9.4f %8.4f %8.4f %8.4f %8.4f\n", t, tp + fp, prec, rec, f1, f05,
               (double)(tp + fp) / n_pairs);
        if (f05 > best_f05) best_f05 = f05, best_t = t;
    }
    printf("best F0.5 %.4f at t = %.2f\n", best_f05, best_t);
    for (int i = 0; i < n_pairs; i++)
        free(pairs[i].q1), free(pairs[i].q2);
    free(pairs);
    embed_free(model);
    return 0;
}
