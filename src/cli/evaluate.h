/* evaluate.h - embedding a labelled dataset and measuring a category head on
 * it (accuracy, confusion matrix). Shared by the trainer, the unit tests and
 * tools/route_eval so every reported number is computed the same way. */
#ifndef SEMROUTER_EVALUATE_H
#define SEMROUTER_EVALUATE_H
#include "embed/embed.h"
#include "route/classifier.h"
#include "cli/train.h"
#include <stdio.h>

typedef struct route_embedded {
    float *X;  /* [n][dim] */
    int *y;    /* label index into labels */
    float *w;  /* sample weights */
    const char **text; /* the text of every row (into the dataset: valid while it lives) */
    size_t *len;       /* its length (an MMLU stem row is a prefix of the prompt) */
    int n, dim;
    char (*labels)[CLASSIFIER_MAX_LABEL]; /* copy of the dataset's label table */
    int n_labels;
} route_embedded;

/* Embeds the samples of d with holdout == select (-1 = all). For MMLU prompts,
 * full and/or stem choose which texts become rows (both: two rows per prompt;
 * TSV samples always give one row). threads >= 1. cache (may be NULL) names a
 * file of (model id + text hash, vector) records: texts found there are not
 * embedded again, new ones are added to it.
 * 0, or -1 with err. */
int route_embed_dataset(const embed_model *m, const route_dataset *d, int select, int full,
                        int stem, int threads, const char *cache, route_embedded *out, char *err,
                        size_t errlen);
void route_embedded_free(route_embedded *e);

/* Accuracy of the head on e (labels matched by name; rows whose label the head
 * lacks count as wrong). confusion (may be NULL) receives e->n_labels ×
 * e->n_labels counts, row = true label, column = predicted (head predictions
 * mapped back by name; a prediction outside e's labels is not counted). */
double route_accuracy(const classifier_head *h, const route_embedded *e, int *confusion);

/* Prints accuracy, per-class recall and the confusion matrix. */
void route_report(const classifier_head *h, const route_embedded *e, const char *title, FILE *out);
#endif
