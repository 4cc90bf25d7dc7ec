/* verify.h - the cache hit verifier: does a stored request ask the same thing?
 *
 * The ANN search finds stored requests whose embedding is close to the
 * request's; closeness is not sameness ("best laptop for students" vs "worst
 * laptop for students", "python 2" vs "python 3"). The verifier scores a pair
 * (request text, stored text, their cosine) from features computed in a few
 * microseconds - word and character-n-gram overlap, IDF-weighted content words
 * present on one side only, numbers and named spans that differ, negation,
 * comparison and question-word differences, length ratio - with a small
 * gradient-boosted tree ensemble. The IDF table and the trees are one text
 * file (data/cache/verifier.model), written by `semrouter train-verifier`.
 *
 * A loaded verifier is immutable: thread-safe to share. */
#ifndef SEMROUTER_CACHE_VERIFY_H
#define SEMROUTER_CACHE_VERIFY_H
#include <stddef.h>
#include <stdio.h>

typedef struct cache_verifier cache_verifier;

/* Number of features and their names (for the model file and the trainer). */
#define CACHE_VERIFY_NFEAT 36
extern const char *const cache_verify_feature_names[CACHE_VERIFY_NFEAT];

/* Loads a model file. Returns NULL with a sentence in err (missing file, bad
 * format, a feature set this build does not compute). */
cache_verifier *cache_verifier_load(const char *path, char *err, size_t errlen);
void cache_verifier_free(cache_verifier *v);

/* Scan cap (README "Bounded work per request"): the features of a text are those of its first
 * CACHE_VERIFY_SCAN_MAX_BYTES (cut at a UTF-8 boundary), for the query and each candidate. */
#define CACHE_VERIFY_SCAN_MAX_BYTES (8u << 10)

/* Probability in [0,1] that b asks the same thing as a, given the cosine of
 * their embeddings. Texts are UTF-8 (invalid bytes are treated as letters). */
float cache_verifier_score(const cache_verifier *v, const char *a, size_t alen, const char *b,
                           size_t blen, float cosine);
/* The same for n candidates b[i] (cosine[i]) against one a, parsed once:
 * out[i] receives each probability (0 when memory ran out). */
void cache_verifier_score_many(const cache_verifier *v, const char *a, size_t alen, int n,
                               const char *const *b, const size_t *blen, const float *cosine,
                               float *out);

/* ---- training (semrouter train-verifier) ---- */

/* The IDF table used by the features: built from a corpus of texts. */
typedef struct cache_idf cache_idf;
cache_idf *cache_idf_build(const char *const *texts, const size_t *lens, size_t n);
void cache_idf_free(cache_idf *t);
/* The table's words (stems) and a full word each was seen as, up to max.
 * Returns the count. Pointers are owned by t. */
size_t cache_idf_vocab(const cache_idf *t, const char **stems, const char **surfaces, size_t max);
/* Records neighbor as a near-synonym of stem (at most 3 per word). Returns 0,
 * or -1 when stem is not in the table or its list is full. */
int cache_idf_add_neighbor(cache_idf *t, const char *stem, const char *neighbor);

/* Features of a pair into f[CACHE_VERIFY_NFEAT]. */
void cache_verify_features(const cache_idf *idf, const char *a, size_t alen, const char *b,
                           size_t blen, float cosine, float *f);

/* Gradient-boosted trees on rows x[n][CACHE_VERIFY_NFEAT] with labels y (0/1). */
typedef struct cache_gbt_params {
    int trees;       /* 200 */
    int depth;       /* 4 */
    float rate;      /* 0.1 */
    int min_leaf;    /* 20 */
    int bins;        /* 64 (quantile bins per feature) */
    float l2;        /* 1.0 (leaf value regulariser) */
} cache_gbt_params;
void cache_gbt_params_default(cache_gbt_params *p);

/* Trains on (x, y) and returns the verifier holding a copy of idf (NULL on
 * out of memory or no rows). */
cache_verifier *cache_verifier_train(const cache_idf *idf, const float *x, const int *y, size_t n,
                                     const cache_gbt_params *p);
/* Probability from precomputed features. */
float cache_verifier_predict(const cache_verifier *v, const float *f);
/* Hard rules on top of the trees: when any of the named features (comma
 * separated, e.g. "negation_diff,number_diff") is > 0 the probability is at
 * most cap. Returns 0, or -1 for an unknown name or more than 8. */
int cache_verifier_set_vetoes(cache_verifier *v, const char *names, float cap);
/* Writes v as a model file. Returns 0, or -1 with err. */
int cache_verifier_save(const cache_verifier *v, const char *path, char *err, size_t errlen);
#endif
