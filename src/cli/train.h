/* train.h - training data and the trainer of the category head.
 *
 * Data: the MMLU subject files (mmlu_<subject>.csv, `prompt` column) with a
 * subject -> category mapping (data/route/mmlu_subject_to_category.tsv), and
 * TSV files of "category<TAB>text" lines (conversational utterances). A fixed
 * share of every MMLU subject is held out for evaluation; the choice depends
 * only on the question text (its SHA-256 rank within the subject), so the
 * trainer, the tests and tools/route_eval agree on it without sharing state.
 *
 * Trainer: multinomial logistic regression on the embeddings, class-balanced,
 * L2-regularised, minimised by L-BFGS (full batch; the problem is convex and
 * small: n_classes × (dim + 1) parameters). */
#ifndef SEMROUTER_TRAIN_H
#define SEMROUTER_TRAIN_H
#include "route/classifier.h"
#include "route/vocab.h"
#include <stddef.h>

typedef struct route_sample {
    char *text;
    int label;   /* index into route_dataset.labels */
    int source;  /* index into route_dataset.sources (subject or file name) */
    int holdout; /* 1 = evaluation only */
    float weight; /* relative sample weight before class balancing (1 = normal) */
    int mmlu;     /* 1 = an MMLU exam prompt (has a stem and options) */
} route_sample;

typedef struct route_dataset {
    route_sample *samples;
    int n, cap;
    char (*labels)[CLASSIFIER_MAX_LABEL];
    int n_labels;
    char **sources;
    int n_sources;
} route_dataset;

void route_dataset_init(route_dataset *d);
void route_dataset_free(route_dataset *d);
/* Index of label name, adding it when add != 0; -1 when absent (or on OOM). */
int route_dataset_label(route_dataset *d, const char *name, int add);

/* Loads every mmlu_<subject>.csv in dir whose subject the mapping file names
 * (a subject file without mapping is an error). holdout_pct percent of each
 * subject (rounded up) is marked holdout. 0, or -1 with a sentence in err. */
int route_dataset_load_mmlu(route_dataset *d, const char *dir, const char *map_path,
                            int holdout_pct, char *err, size_t errlen);
/* Loads "category<TAB>text" lines ('#' comments, blank lines skipped), with
 * the given sample weight. 0, or -1 with err naming file:line. */
int route_dataset_load_tsv(route_dataset *d, const char *path, float weight, int holdout,
                           char *err, size_t errlen);

/* One RFC 4180 field at *p (quoted fields may hold "" and newlines): a malloc'd
 * copy; *p moves past the field and its separator; *eol set at the record end. */
char *route_csv_field(const char **p, int *eol);
/* One RFC 4180 record from *p (text up to end, not NUL-terminated): up to max fields, each a
 * malloc'd copy (further fields are dropped); *p moves past the record and its line end
 * (LF or CRLF). Returns the field count, 0 at the end of the text, -1 when memory ran out. */
int route_csv_record(const char **p, const char *end, char **fields, int max);

/* The question stem of an MMLU prompt: the text before the "A. ..." options
 * and without the trailing "Answer:". Returns its length (text is not copied). */
size_t route_mmlu_stem(const char *prompt, size_t len);

typedef struct train_options {
    double l2;          /* L2 strength on the weights (bias not regularised) */
    int max_iter;       /* L-BFGS iterations */
    int balance;        /* 1 = weight classes to equal total mass */
    int verbose;
} train_options;

/* The vocabulary features of the training rows (vocab.h), for a head with a
 * vocabulary layer: row i has feat[row_start[i] .. row_start[i + 1]). */
typedef struct train_vocab {
    int n_buckets;             /* a power of two */
    const float *idf;          /* [n_buckets], copied into the head */
    const int *row_start;      /* [n + 1] */
    const vocab_feature *feat; /* weighted features (vocab_weight) */
    double l2;                 /* L2 strength on the vocabulary weights */
} train_vocab;

/* Trains a head from X[n][dim] (L2-normalised embeddings), labels y[n] in
 * [0, n_classes), per-sample weights w[n] (NULL = 1), and, when vocab is not
 * NULL, a vocabulary layer trained jointly with the embedding layer. The caller
 * fills labels afterwards. NULL + err on failure. */
classifier_head *train_softmax(const float *X, const int *y, const float *w, int n, int dim,
                               int n_classes, const char *model_id, const train_options *opt,
                               const train_vocab *vocab, char *err, size_t errlen);

/* Document frequencies of the texts' vocabulary buckets into idf[n_buckets]:
 * ln((n + 1) / (df + 1)) + 1 for buckets in at least min_df texts, else 0. */
void train_vocab_idf(const char *const *texts, const size_t *lens, int n, int n_buckets, int min_df,
                     float *idf);
#endif
