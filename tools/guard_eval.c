/* guard_eval - measures the guards on their labelled sets.
 *
 *   build/guard_eval pii [FILE] [--min-conf X] [-v]
 *       per-type precision/recall of pii_detect on data/guard/pii_cases.jsonl
 *       ({"text", "entities":[{"type","value"}]} per line). A detection counts
 *       when its type matches and its span overlaps the labelled value.
 *       --min-conf drops detections below X first (0.7 = what the chat path
 *       acts on: classifier.pii_model.threshold).
 *   build/guard_eval jailbreak [-m MODEL_DIR] [-e EXEMPLARS] [-a ATTACKS] [-b BENIGN] [-v]
 *       detection rate and false-positive rate across thresholds.
 *   build/guard_eval check TEXT...   prints what each guard finds in TEXT. */
#include <cjson/cJSON.h>
#include <math.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/util.h"
#include "embed/embed.h"
#include "guard/jailbreak.h"
#include "guard/pii.h"

#define MAXE 64

typedef struct span {
    int type;
    size_t start, end;
    int matched;
} span;

static int eval_pii(const char *path, double min_conf, int verbose)
{
    char err[256];
    size_t len;
    char *data = util_read_file(path, &len, err, sizeof err);
    if (!data) {
        fprintf(stderr, "guard_eval: %s\n", err);
        return 1;
    }
    long tp[PII_TYPE_COUNT] = {0}, fp[PII_TYPE_COUNT] = {0}, fn[PII_TYPE_COUNT] = {0};
    int cases = 0, exact_cases = 0;
    char *line = data, *next;
    for (; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        if (!*line) continue;
        cJSON *j = cJSON_Parse(line);
        cJSON *jt = cJSON_GetObjectItem(j, "text");
        if (!cJSON_IsString(jt)) {
            fprintf(stderr, "guard_eval: bad line: %.80s\n", line);
            cJSON_Delete(j);
            continue;
        }
        const char *text = jt->valuestring;
        size_t tl = strlen(text);
        span want[MAXE];
        int nw = 0;
        cJSON *e;
        cJSON_ArrayForEach(e, cJSON_GetObjectItem(j, "entities"))
        {
            const char *ty = cJSON_GetStringValue(cJSON_GetObjectItem(e, "type"));
            const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(e, "value"));
            int t = pii_type_from_name(ty);
            const char *at = v ? strstr(text, v) : NULL;
            /* repeated values: take the next occurrence after the previous label */
            while (at && nw > 0) {
                int dup = 0;
                for (int k = 0; k < nw; k++)
                    if (want[k].start == (size_t)(at - text)) dup = 1;
                if (!dup) break;
                at = strstr(at + 1, v);
            }
            if (t < 0 || !at || nw >= MAXE) {
                fprintf(stderr, "guard_eval: bad entity in: %.80s\n", text);
                continue;
            }
            want[nw++] = (span){t, (size_t)(at - text), (size_t)(at - text) + strlen(v), 0};
        }
        pii_entity got[MAXE];
        int ng = pii_detect(text, tl, got, MAXE), kept = 0;
        for (int g = 0; g < ng; g++)
            if (got[g].confidence + 1e-6 >= min_conf) got[kept++] = got[g];
        ng = kept;
        int case_ok = 1;
        for (int g = 0; g < ng; g++) {
            int hit = 0;
            for (int w = 0; w < nw && !hit; w++)
                if (!want[w].matched && want[w].type == got[g].type && got[g].start < want[w].end &&
                    want[w].start < got[g].end)
                    want[w].matched = hit = 1;
            if (hit) {
                tp[got[g].type]++;
            } else {
                fp[got[g].type]++;
                case_ok = 0;
                if (verbose)
                    printf("FP %-13s %.*s   | %s\n", pii_type_name(got[g].type),
                           (int)(got[g].end - got[g].start), text + got[g].start, text);
            }
        }
        for (int w = 0; w < nw; w++)
            if (!want[w].matched) {
                fn[want[w].type]++;
                case_ok = 0;
                if (verbose)
                    printf("FN %-13s %.*s   | %s\n", pii_type_name(want[w].type),
                           (int)(want[w].end - want[w].start), text + want[w].start, text);
            }
        cases++;
        exact_cases += case_ok;
        cJSON_Delete(j);
    }
    free(data);
    long TP = 0, FP = 0, FN = 0;
    printf("%-14s %6s %6s %6s %9s %7s\n", "type", "tp", "fp", "fn", "precision", "recall");
    for (int t = 0; t < PII_TYPE_COUNT; t++) {
        TP += tp[t], FP += fp[t], FN += fn[t];
        if (tp[t] + fp[t] + fn[t] == 0) continue;
        printf("%-14s %6ld %6ld %6ld %9.3f %7.3f\n", pii_type_name(t), tp[t], fp[t], fn[t],
               tp[t] + fp[t] ? (double)tp[t] / (double)(tp[t] + fp[t]) : 1.0,
               tp[t] + fn[t] ? (double)tp[t] / (double)(tp[t] + fn[t]) : 1.0);
    }
    printf("%-14s %6ld %6ld %6ld %9.3f %7.3f\n", "ALL", TP, FP, FN,
           TP + FP ? (double)TP / (double)(TP + FP) : 1.0,
           TP + FN ? (double)TP / (double)(TP + FN) : 1.0);
    printf("cases %d, fully correct %d (%.1f%%)\n", cases, exact_cases,
           100.0 * exact_cases / (cases ? cases : 1));
    return 0;
}

typedef struct scored {
    float conf, sim, ben, pat;
    char *text;
} scored;

/* Reads non-empty, non-comment lines. */
static char **read_lines(const char *path, int *n)
{
    char err[256];
    size_t len;
    char *data = util_read_file(path, &len, err, sizeof err);
    *n = 0;
    if (!data) {
        fprintf(stderr, "guard_eval: %s\n", err);
        return NULL;
    }
    char **v = NULL;
    size_t cap = 0;
    for (char *line = strtok(data, "\n"); line; line = strtok(NULL, "\n")) {
        if (!*line || line[0] == '#') continue;
        if (array_grow(&v, &cap, (size_t)*n + 1, sizeof *v, 256) || !(v[*n] = strdup(line))) {
            fprintf(stderr, "guard_eval: out of memory reading %s\n", path);
            exit(1);
        }
        (*n)++;
    }
    free(data);
    return v;
}

static int score_set(const jailbreak_detector *d, const embed_model *m, embed_state *st,
                     char **lines, int n, scored *out)
{
    int dim = m ? embed_dim(m) : 0;
    float *vec = dim ? malloc(sizeof(float) * (size_t)dim) : NULL;
    for (int i = 0; i < n; i++) {
        char err[256];
        const float *v = NULL;
        if (m && embed_text(m, st, lines[i], strlen(lines[i]), vec, NULL, err, sizeof err) == 0)
            v = vec;
        jailbreak_result r;
        jailbreak_check(d, lines[i], strlen(lines[i]), v, 0, &r);
        out[i] =
            (scored){r.confidence, r.similarity, r.benign_similarity, r.pattern_score, lines[i]};
    }
    free(vec);
    return 0;
}

static int eval_jailbreak(int argc, char **argv)
{
    const char *model_dir = "models/use-lite", *ex = "data/guard/jailbreak_exemplars.txt";
    const char *att = "data/guard/jailbreak_eval_attacks.txt",
               *ben = "data/guard/jailbreak_eval_benign.txt";
    int verbose = 0, no_model = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-v"))
            verbose = 1;
        else if (!strcmp(argv[i], "--patterns-only"))
            no_model = 1;
        else if (i + 1 < argc && !strcmp(argv[i], "-m"))
            model_dir = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "-e"))
            ex = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "-a"))
            att = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "-b"))
            ben = argv[++i];
    }
    char err[512];
    embed_model *m = NULL;
    if (!no_model) {
        embed_options o = {0};
        o.type = EMBED_USE_LITE;
        o.path = model_dir;
        m = embed_load(&o, err, sizeof err);
        if (!m) {
            fprintf(stderr, "guard_eval: %s (use --patterns-only to run without a model)\n", err);
            return 1;
        }
    }
    jailbreak_detector *d = jailbreak_load(ex, m, err, sizeof err);
    if (!d) {
        fprintf(stderr, "guard_eval: %s\n", err);
        embed_free(m);
        return 1;
    }
    embed_state *st = m ? embed_state_new(m) : NULL;
    int na, nb;
    char **a = read_lines(att, &na), **b = read_lines(ben, &nb);
    scored *sa = calloc((size_t)na + 1, sizeof *sa), *sb = calloc((size_t)nb + 1, sizeof *sb);
    score_set(d, m, st, a, na, sa);
    score_set(d, m, st, b, nb, sb);
    printf("exemplars %d, attacks %d, benign %d, model %s\n", jailbreak_exemplar_count(d), na, nb,
           m ? embed_model_id(m) : "(patterns only)");
    printf("%9s %10s %8s   %s\n", "threshold", "detection", "fp_rate", "(combined confidence)");
    for (int t = 30; t <= 95; t += 5) {
        float th = (float)t / 100.0f;
        int det = 0, fp = 0;
        for (int i = 0; i < na; i++)
            det += sa[i].conf >= th;
        for (int i = 0; i < nb; i++)
            fp += sb[i].conf >= th;
        printf("%9.2f %9.1f%% %7.1f%%%s\n", th, 100.0 * det / na, 100.0 * fp / nb,
               t == (int)(JAILBREAK_DEFAULT_THRESHOLD * 100 + 0.5f) ? "   <- default" : "");
    }
    int pd = 0, pf = 0;
    for (int i = 0; i < na; i++)
        pd += sa[i].pat >= JAILBREAK_DEFAULT_THRESHOLD;
    for (int i = 0; i < nb; i++)
        pf += sb[i].pat >= JAILBREAK_DEFAULT_THRESHOLD;
    printf("patterns alone at the default threshold: detection %.1f%%, fp %.1f%%\n",
           100.0 * pd / na, 100.0 * pf / nb);
    if (m) {
        double ms = 0;
        int near = 0;
        for (int i = 0; i < na; i++)
            ms += sa[i].sim, near += sa[i].sim >= 0.95f;
        printf("attacks: mean max-similarity to exemplars %.3f, near-copies (>=0.95) %d\n", ms / na,
               near);
    }
    if (getenv("GUARD_EVAL_DUMP")) {
        FILE *f = fopen(getenv("GUARD_EVAL_DUMP"), "w");
        for (int i = 0; f && i < na; i++)
            fprintf(f, "1\t%f\t%f\t%f\n", sa[i].sim, sa[i].ben, sa[i].pat);
        for (int i = 0; f && i < nb; i++)
            fprintf(f, "0\t%f\t%f\t%f\n", sb[i].sim, sb[i].ben, sb[i].pat);
        if (f) fclose(f);
    }
    if (verbose) {
        for (int i = 0; i < na; i++)
            if (sa[i].conf < JAILBREAK_DEFAULT_THRESHOLD)
                printf("MISS conf %.2f sim %.3f pat %.2f  %s\n", sa[i].conf, sa[i].sim, sa[i].pat,
                       sa[i].text);
        for (int i = 0; i < nb; i++)
            if (sb[i].conf >= JAILBREAK_DEFAULT_THRESHOLD - 0.2f)
                printf("%s conf %.2f sim %.3f pat %.2f  %s\n",
                       sb[i].conf >= JAILBREAK_DEFAULT_THRESHOLD ? "FP  " : "near", sb[i].conf,
                       sb[i].sim, sb[i].pat, sb[i].text);
    }
    for (int i = 0; i < na; i++)
        free(a[i]);
    for (int i = 0; i < nb; i++)
        free(b[i]);
    free(a), free(b), free(sa), free(sb);
    embed_state_free(st);
    jailbreak_free(d);
    embed_free(m);
    return 0;
}

/* Mean of the top-3 dot products of q against rows, skipping row `skip`. */
static double top3_mean(const float *rows, int n, int dim, const float *q, int skip)
{
    double t[3] = {-2, -2, -2};
    for (int i = 0; i < n; i++) {
        if (i == skip) continue;
        double dot = 0;
        for (int k = 0; k < dim; k++)
            dot += rows[(size_t)i * dim + k] * q[k];
        for (int k = 0; k < 3; k++)
            if (dot > t[k]) {
                for (int j = 2; j > k; j--)
                    t[j] = t[j - 1];
                t[k] = dot;
                break;
            }
    }
    return (t[0] + t[1] + t[2]) / 3;
}

/* Refits the jailbreak calibration (src/guard/jailbreak.c W_* and BIAS) on
 * the shipped exemplars (attacks) and benign anchors, leave-one-out, with an
 * L2-regularised logistic regression. The evaluation sets are not used. */
static int calibrate(int argc, char **argv)
{
    const char *model_dir = argc > 0 ? argv[0] : "models/use-lite";
    const char *ex = "data/guard/jailbreak_exemplars.txt",
               *an = "data/guard/jailbreak_benign_anchors.txt";
    char err[512];
    embed_options o = {0};
    o.type = EMBED_USE_LITE;
    o.path = model_dir;
    embed_model *m = embed_load(&o, err, sizeof err);
    if (!m) {
        fprintf(stderr, "guard_eval: %s\n", err);
        return 1;
    }
    jailbreak_detector *pd = jailbreak_load(NULL, NULL, err, sizeof err);
    embed_state *st = embed_state_new(m);
    int dim = embed_dim(m), na, nb;
    char **a = read_lines(ex, &na), **b = read_lines(an, &nb);
    if (!a || !b || !pd || !st) return 1;
    float *va = malloc(sizeof(float) * (size_t)na * dim),
          *vb = malloc(sizeof(float) * (size_t)nb * dim);
    int n = na + nb;
    double *x = malloc(sizeof(double) * 3 * (size_t)n), *y = malloc(sizeof(double) * (size_t)n);
    for (int i = 0; i < na; i++)
        embed_text(m, st, a[i], strlen(a[i]), va + (size_t)i * dim, NULL, err, sizeof err);
    for (int i = 0; i < nb; i++)
        embed_text(m, st, b[i], strlen(b[i]), vb + (size_t)i * dim, NULL, err, sizeof err);
    for (int i = 0; i < n; i++) {
        int atk = i < na;
        const float *q = atk ? va + (size_t)i * dim : vb + (size_t)(i - na) * dim;
        const char *t = atk ? a[i] : b[i - na];
        jailbreak_result r;
        jailbreak_check(pd, t, strlen(t), NULL, 0, &r);
        x[3 * i] = top3_mean(va, na, dim, q, atk ? i : -1);
        x[3 * i + 1] = top3_mean(vb, nb, dim, q, atk ? -1 : i - na);
        x[3 * i + 2] = r.pattern_score;
        y[i] = atk;
    }
    for (int with_anchors = 1; with_anchors >= 0; with_anchors--) {
        int cols[3] = {0, 1, 2}, nc = 3;
        if (!with_anchors) cols[1] = 2, nc = 2;
        double mu[3] = {0}, sd[3] = {0}, w[3] = {0}, bias = 0;
        for (int c = 0; c < nc; c++) {
            for (int i = 0; i < n; i++)
                mu[c] += x[3 * i + cols[c]] / n;
            for (int i = 0; i < n; i++)
                sd[c] += (x[3 * i + cols[c]] - mu[c]) * (x[3 * i + cols[c]] - mu[c]) / n;
            sd[c] = sqrt(sd[c]);
        }
        for (int it = 0; it < 5000; it++) {
            double g[3] = {0}, gb = 0;
            for (int i = 0; i < n; i++) {
                double z = bias;
                for (int c = 0; c < nc; c++)
                    z += w[c] * (x[3 * i + cols[c]] - mu[c]) / sd[c];
                double p = 1 / (1 + exp(-z)) - y[i];
                for (int c = 0; c < nc; c++)
                    g[c] += p * (x[3 * i + cols[c]] - mu[c]) / sd[c] / n;
                gb += p / n;
            }
            for (int c = 0; c < nc; c++)
                w[c] -= 0.5 * (g[c] + 1e-2 * w[c]);
            bias -= 0.5 * gb;
        }
        double raw_b = bias;
        for (int c = 0; c < nc; c++)
            raw_b -= w[c] * mu[c] / sd[c];
        if (with_anchors)
            printf("W_ATTACK %.3f  W_BENIGN %.3f  W_PATTERN %.3f  BIAS %.3f\n", w[0] / sd[0],
                   w[1] / sd[1], w[2] / sd[2], raw_b);
        else
            printf("W_ATTACK_ONLY %.3f  W_PATTERN_ONLY %.3f  BIAS_ONLY %.3f\n", w[0] / sd[0],
                   w[1] / sd[1], raw_b);
    }
    for (int i = 0; i < na; i++)
        free(a[i]);
    for (int i = 0; i < nb; i++)
        free(b[i]);
    free(a), free(b), free(va), free(vb), free(x), free(y);
    embed_state_free(st);
    jailbreak_free(pd);
    embed_free(m);
    return 0;
}

/* Time per call of pii_detect and jailbreak_check (patterns + similarity with a
 * precomputed vector) over the labelled texts; anchor: POSIX regex (glibc) with
 * four textbook PII patterns over the same texts, in the same run. */
static int speed(int argc, char **argv)
{
    const char *model_dir = argc > 0 ? argv[0] : "models/use-lite";
    int na, nb;
    char **a = read_lines("data/guard/jailbreak_eval_attacks.txt", &na);
    char **b = read_lines("data/guard/jailbreak_eval_benign.txt", &nb);
    if (!a || !b) return 1;
    int n = na + nb;
    char **t = malloc(sizeof(char *) * (size_t)n);
    for (int i = 0; i < na; i++)
        t[i] = a[i];
    for (int i = 0; i < nb; i++)
        t[na + i] = b[i];
    const int rounds = 20;
    pii_entity e[64];
    long found = 0;
    uint64_t t0 = util_now_ns();
    for (int r = 0; r < rounds; r++)
        for (int i = 0; i < n; i++)
            found += pii_detect(t[i], strlen(t[i]), e, 64);
    double pii_us = (double)(util_now_ns() - t0) / 1e3 / (rounds * n);
    static const char *const rx[] = {
        "[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}",
        "(\\+?[0-9]{1,3}[ .-]?)?\\(?[0-9]{3}\\)?[ .-]?[0-9]{3}[ .-]?[0-9]{4}",
        "[0-9]{4}[ -]?[0-9]{4}[ -]?[0-9]{4}[ -]?[0-9]{1,7}", "[0-9]{3}-[0-9]{2}-[0-9]{4}"};
    regex_t re[4];
    for (int k = 0; k < 4; k++)
        regcomp(&re[k], rx[k], REG_EXTENDED);
    t0 = util_now_ns();
    for (int r = 0; r < rounds; r++)
        for (int i = 0; i < n; i++)
            for (int k = 0; k < 4; k++) {
                regmatch_t m;
                const char *p = t[i];
                while (*p && regexec(&re[k], p, 1, &m, 0) == 0) {
                    found++;
                    p += m.rm_eo > 0 ? m.rm_eo : 1;
                }
            }
    double rx_us = (double)(util_now_ns() - t0) / 1e3 / (rounds * n);
    for (int k = 0; k < 4; k++)
        regfree(&re[k]);
    size_t bytes = 0;
    for (int i = 0; i < n; i++)
        bytes += strlen(t[i]);
    printf("texts %d (mean %zu bytes), %d rounds\n", n, bytes / (size_t)n, rounds);
    printf("pii_detect (9 recognizers, validated)   %8.2f us/text\n", pii_us);
    printf("anchor: glibc regex, 4 patterns, no checks %6.2f us/text  (ratio %.1fx)\n", rx_us,
           rx_us / pii_us);
    char err[512];
    embed_options o = {0};
    o.type = EMBED_USE_LITE;
    o.path = model_dir;
    embed_model *m = embed_load(&o, err, sizeof err);
    jailbreak_detector *d =
        jailbreak_load("data/guard/jailbreak_exemplars.txt", m, err, sizeof err);
    if (d) {
        int dim = m ? embed_dim(m) : 0;
        float *v = dim ? calloc((size_t)n, sizeof(float) * (size_t)dim) : NULL;
        embed_state *st = m ? embed_state_new(m) : NULL;
        uint64_t te = util_now_ns();
        for (int i = 0; v && i < n; i++)
            embed_text(m, st, t[i], strlen(t[i]), v + (size_t)i * dim, NULL, err, sizeof err);
        double emb_us = (double)(util_now_ns() - te) / 1e3 / n;
        jailbreak_result r;
        t0 = util_now_ns();
        for (int k = 0; k < rounds; k++)
            for (int i = 0; i < n; i++)
                jailbreak_check(d, t[i], strlen(t[i]), v ? v + (size_t)i * dim : NULL, 0, &r);
        double jb_us = (double)(util_now_ns() - t0) / 1e3 / (rounds * n);
        printf("jailbreak_check (patterns + %d exemplar dots) %6.2f us/text\n",
               jailbreak_exemplar_count(d), jb_us);
        if (v)
            printf(
                "for scale: embed_text (computed once per request by the caller) %6.2f us/text\n",
                emb_us);
        free(v);
        embed_state_free(st);
    }
    jailbreak_free(d);
    embed_free(m);
    for (int i = 0; i < n; i++)
        free(t[i]);
    free(t), free(a), free(b);
    return found < 0;
}

static int check_text(int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        pii_entity e[MAXE];
        int n = pii_detect(argv[i], strlen(argv[i]), e, MAXE);
        printf("%s\n", argv[i]);
        for (int k = 0; k < n; k++)
            printf("  %-13s %.2f [%zu,%zu) %.*s\n", pii_type_name(e[k].type), e[k].confidence,
                   e[k].start, e[k].end, (int)(e[k].end - e[k].start), argv[i] + e[k].start);
        char err[256];
        jailbreak_detector *d = jailbreak_load(NULL, NULL, err, sizeof err);
        jailbreak_result r;
        if (d && jailbreak_check(d, argv[i], strlen(argv[i]), NULL, 0, &r) == 0 && r.n_patterns) {
            printf("  jailbreak patterns %.2f:", r.pattern_score);
            for (int k = 0; k < r.n_patterns; k++)
                printf(" %s", r.patterns[k]);
            printf("\n");
        }
        jailbreak_free(d);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fprintf(
            stderr,
            "usage: guard_eval pii [FILE] [--min-conf X] [-v]\n"
            "       guard_eval jailbreak [-m MODEL_DIR] [-e EXEMPLARS] [-a ATTACKS] [-b BENIGN]\n"
            "                            [--patterns-only] [-v]\n"
            "       guard_eval calibrate [MODEL_DIR]   refit the jailbreak calibration\n"
            "       guard_eval check TEXT...\n");
        return argc < 2 ? 2 : 0;
    }
    int verbose = 0;
    double min_conf = 0;
    const char *file = NULL;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "-v"))
            verbose = 1;
        else if (!strcmp(argv[i], "--min-conf") && i + 1 < argc) {
            if (util_parse_double(argv[++i], 0, 1, &min_conf)) {
                fprintf(stderr, "guard_eval: --min-conf must be a number in [0, 1], got '%s'\n", argv[i]);
                return 2;
            }
        }
        else if (!file)
            file = argv[i];
    }
    if (!strcmp(argv[1], "pii"))
        return eval_pii(file ? file : "data/guard/pii_cases.jsonl", min_conf, verbose);
    if (!strcmp(argv[1], "check")) return check_text(argc - 2, argv + 2);
    if (!strcmp(argv[1], "jailbreak")) return eval_jailbreak(argc - 2, argv + 2);
    if (!strcmp(argv[1], "calibrate")) return calibrate(argc - 2, argv + 2);
    if (!strcmp(argv[1], "speed")) return speed(argc - 2, argv + 2);
    fprintf(stderr, "guard_eval: unknown mode %s\n", argv[1]);
    return 2;
}
