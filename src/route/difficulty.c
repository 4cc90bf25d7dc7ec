/* difficulty.c - the difficulty head and its features (see difficulty.h; the trainer,
 * `semrouter train-router`, is src/cli/train_router.c). */
#include "route/difficulty.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/util.h"

/* ------------------------------------------------------------- features */

int difficulty_features(const float *emb, int dim, const float *cat_probs, int n_cat,
                        const char *text, size_t len, float *out)
{
    int k = 0;
    for (int i = 0; i < dim; i++)
        out[k++] = emb ? emb[i] : 0;
    for (int i = 0; i < n_cat; i++)
        out[k++] = cat_probs ? cat_probs[i] : 0;
    size_t digits = 0, symbols = 0, words = 0, questions = 0;
    int options = 0, in_word = 0;
    size_t full = len;
    len = util_utf8_head(text, len, DIFFICULTY_SCAN_MAX_BYTES);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        digits += c >= '0' && c <= '9';
        symbols += c && strchr("=+-*/^<>()[]{}|", c) != NULL;
        questions += c == '?';
        int wc = c > ' ';
        words += wc && !in_word;
        in_word = wc;
        /* "A." / "A)" at a line start: the question comes with options */
        if ((i == 0 || text[i - 1] == '\n') && c >= 'A' && c <= 'D' && i + 1 < len &&
            (text[i + 1] == '.' || text[i + 1] == ')'))
            options = 1;
    }
    double n = len ? (double)len : 1;
    if (full > len) words = (size_t)((double)words * (double)full / n);
    out[k++] = (float)(log1p((double)full) / 8.0);
    out[k++] = (float)(log1p((double)words) / 6.0);
    out[k++] = (float)(digits / n);
    out[k++] = (float)(symbols / n);
    out[k++] = (float)options;
    out[k++] = (float)(questions > 5 ? 1.0 : questions / 5.0);
    return k;
}

/* ----------------------------------------------------------------- head */

struct difficulty_head {
    classifier_head *h;
    int dim, n_cat;
};

difficulty_head *difficulty_load(const char *path, const char *model_id, int dim, int n_cat,
                                 char *err, size_t errlen)
{
    classifier_head *h =
        classifier_head_load(path, model_id, dim + n_cat + DIFFICULTY_N_TEXT, err, errlen);
    if (!h) return NULL;
    if (h->n_classes != 3 || classifier_head_label_index(h, "large_better") != 1 ||
        classifier_head_label_index(h, "small_better") != 2) {
        snprintf(err, errlen, "%s: not a difficulty head (labels same, large_better, small_better)",
                 path);
        classifier_head_free(h);
        return NULL;
    }
    difficulty_head *d = calloc(1, sizeof *d);
    if (!d) {
        classifier_head_free(h);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    d->h = h, d->dim = dim, d->n_cat = n_cat;
    return d;
}

void difficulty_free(difficulty_head *d)
{
    if (!d) return;
    classifier_head_free(d->h);
    free(d);
}

float difficulty_score(const difficulty_head *d, const float *emb, const float *cat_probs,
                       const char *text, size_t len)
{
    if (!d) return 0.5f;
    int n = d->dim + d->n_cat + DIFFICULTY_N_TEXT;
    float stack[1024], *x = n <= 1024 ? stack : malloc(sizeof(float) * (size_t)n);
    if (!x) return 0.5f;
    difficulty_features(emb, d->dim, cat_probs, d->n_cat, text ? text : "", text ? len : 0, x);
    float p[3];
    classifier_head_probs(d->h, x, NULL, 0, p);
    if (x != stack) free(x);
    return 0.5f * (1.0f + p[1] - p[2]);
}
