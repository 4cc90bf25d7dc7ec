/* classifier.h - the category classifier: a trained linear softmax head on the
 * sentence embedding, plus example utterances for custom categories.
 *
 * The head is multinomial logistic regression (W·x + b, softmax) over the
 * L2-normalised embedding of the last user turn; it is trained offline by
 * `semrouter train-classifier` (src/cli/train.c) and shipped as a small file. A head
 * file names the embedding model it was trained on; loading it next to another
 * model is an error, because its weights mean nothing in another vector space.
 *
 * Custom categories (config `categories[].examples`) need no training: their
 * example utterances are embedded at load and a query is compared with each of
 * them (max cosine). Combination rule: when the best example similarity is
 * >= examples_threshold, that example's category wins with confidence = the
 * similarity; otherwise the head decides with confidence = its top probability.
 * Max-similarity rather than a centroid, because a custom category is often a
 * union of distinct phrasings whose mean is close to none of them. */
#ifndef SEMROUTER_CLASSIFIER_H
#define SEMROUTER_CLASSIFIER_H
#include <stddef.h>

#define CLASSIFIER_MAX_LABEL 64

/* ---- the trained head ---- */
typedef struct classifier_head {
    int dim, n_classes;
    char model_id[128];                 /* embedding model the head was trained on */
    char (*labels)[CLASSIFIER_MAX_LABEL]; /* n_classes names */
    float *weights;                     /* [n_classes][dim], row-major */
    float *bias;                        /* [n_classes] */
    /* Optional domain-vocabulary layer (vocab.h), trained jointly with the
     * embedding layer: logits = weights·x + vocab_weights·v(text) + bias.
     * vocab_buckets = 0: none (a version-1 file). */
    int vocab_buckets;                  /* a power of two */
    float *idf;                         /* [vocab_buckets], 0 = bucket unseen in training */
    float *vocab_weights;               /* [n_classes][vocab_buckets] */
} classifier_head;

/* Allocates a zeroed head. Returns NULL on bad sizes or out of memory. */
classifier_head *classifier_head_new(int dim, int n_classes, const char *model_id);
/* Adds a zeroed vocabulary layer of n_buckets (a power of two). 0, or -1. */
int classifier_head_add_vocab(classifier_head *h, int n_buckets);
void classifier_head_free(classifier_head *h);

/* Loads a head file. When model_id is non-NULL, the file must have been
 * trained on that embedding model, and dim (when > 0) must match; any mismatch,
 * truncation or corruption returns NULL with a sentence in err. */
classifier_head *classifier_head_load(const char *path, const char *model_id, int dim,
                                      char *err, size_t errlen);
/* Writes the head file (see classifier.c for the format). 0 or -1 + err. */
int classifier_head_save(const classifier_head *h, const char *path, char *err, size_t errlen);

/* Softmax probabilities of the head for one embedding x and the text it was
 * computed from: probs[n_classes]. The text feeds the vocabulary layer of a
 * head that has one (NULL: that layer is skipped, which a head trained with it
 * was not trained for). Allocates nothing. */
void classifier_head_probs(const classifier_head *h, const float *x, const char *text, size_t len,
                           float *probs);
/* Index of the label, -1 when absent (case-insensitive, like the classic router). */
int classifier_head_label_index(const classifier_head *h, const char *name);

/* ---- head + examples: what the router and the API call ---- */
typedef struct classifier classifier;

typedef enum { CLASSIFY_NONE = 0, CLASSIFY_HEAD, CLASSIFY_EXAMPLES } classify_method;

typedef struct classify_result {
    int label;              /* index into classifier_label(); -1 when nothing matched */
    const char *category;   /* label name (owned by the classifier) or NULL */
    float confidence;       /* head: top probability; examples: cosine similarity */
    classify_method method;
    float example_similarity; /* best example similarity (0 when no examples) */
    int example_label;        /* label of that example, -1 when none */
} classify_result;

/* Takes ownership of head (may be NULL: examples only). examples_threshold is
 * the cosine at or above which an example match beats the head. */
classifier *classifier_new(classifier_head *head, float examples_threshold);
void classifier_free(classifier *c);

/* Adds n example vectors (each dim floats, L2-normalised) for category name,
 * creating the label if the head does not have it. 0, or -1 + err. */
int classifier_add_examples(classifier *c, const char *name, const float *vecs, int n, int dim,
                            char *err, size_t errlen);

/* Number of labels (head labels first, then example-only categories) and names. */
int classifier_n_labels(const classifier *c);
const char *classifier_label(const classifier *c, int i);
const classifier_head *classifier_get_head(const classifier *c);
int classifier_dim(const classifier *c);

/* Classifies one embedding x of text (text may be NULL; see classifier_head_probs).
 * probs (may be NULL) receives classifier_n_labels() values: the head's softmax
 * over its labels, 0 for example-only labels. No allocation. Returns 0, or -1
 * when the classifier has neither head nor examples or dim does not match. */
int classifier_classify(const classifier *c, const float *x, int dim, const char *text, size_t len,
                        float *probs, classify_result *out);

const char *classify_method_name(classify_method m);
#endif
