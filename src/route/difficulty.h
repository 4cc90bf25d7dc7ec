/* difficulty.h - difficulty-aware routing: will the small model fail where the
 * large one succeeds?
 *
 * A 3-class softmax head over features of the request:
 *   [ embedding of the last user turn (dim) | category probabilities of the
 *     category head (n_cat) | DIFFICULTY_N_TEXT cheap text features ]
 * classes: 0 = both models do the same, 1 = only the large model is right,
 * 2 = only the small model is right. The score is the expected gain of sending
 * the request to the large model, mapped to [0,1]: (1 + p1 - p2) / 2; 0.5 means
 * "no difference expected". Trained by `semrouter train-router` on the MMLU
 * files of ../shared/data/train/mmlu (per question: which of two models
 * answered correctly), on the same content-chosen 80% split the category head
 * trains on; the other 20% measures it (APGR, see data/route/README.md).
 * Stored in the category head's file format (src/route/classifier.c) with the
 * labels "same", "large_better", "small_better". Immutable after load. */
#ifndef SEMROUTER_DIFFICULTY_H
#define SEMROUTER_DIFFICULTY_H
#include <stddef.h>

#include "route/classifier.h"

#define DIFFICULTY_N_TEXT 6

/* Writes the feature vector (dim + n_cat + DIFFICULTY_N_TEXT floats) to out;
 * cat_probs may be NULL (zeros). Returns the number of floats written. */
int difficulty_features(const float *emb, int dim, const float *cat_probs, int n_cat,
                        const char *text, size_t len, float *out);
/* Scan cap (README "Bounded work per request"): the text features read the first
 * DIFFICULTY_SCAN_MAX_BYTES of a text; the length feature is the whole length, the word count
 * is scaled up from the part read, the ratios are those of the part read. */
#define DIFFICULTY_SCAN_MAX_BYTES (64u << 10)

typedef struct difficulty_head difficulty_head;

/* Loads a head trained for this embedding model (model_id, dim) and a category
 * head with n_cat classes. NULL + sentence in err. */
difficulty_head *difficulty_load(const char *path, const char *model_id, int dim, int n_cat,
                                 char *err, size_t errlen);
void difficulty_free(difficulty_head *h);

/* Score in [0,1] (see above); > 0.5 = the large model is expected to do better. */
float difficulty_score(const difficulty_head *h, const float *emb, const float *cat_probs,
                       const char *text, size_t len);
#endif
