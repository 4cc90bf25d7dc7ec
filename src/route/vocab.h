/* vocab.h - domain-vocabulary features of a text, for the category head.
 *
 * The sentence embedding sees the first 128 tokens and blurs rare domain words
 * ("estoppel", "mitochondria", "amortisation") into a general sense of the
 * sentence. These features keep them: the hashed word unigrams and bigrams of
 * the whole text (up to VOCAB_MAX_FEATURES / 2 words), weighted tf-idf
 * ((1 + ln count) x idf, idf learnt from the training texts) and L2-normalised,
 * so a linear layer over them sits beside the embedding layer in one softmax
 * (classifier.h). Words: runs of letters and digits of any alphabet, lowercased;
 * Chinese/Japanese/Korean characters are one word each, so their bigrams are
 * character bigrams. A light English plural rule maps "enzymes" to "enzyme". */
#ifndef SEMROUTER_VOCAB_H
#define SEMROUTER_VOCAB_H
#include <stddef.h>
#include <stdint.h>

#define VOCAB_MAX_FEATURES 2048

typedef struct vocab_feature {
    uint32_t bucket; /* hash of the word or word pair modulo the bucket count */
    float value;
} vocab_feature;

/* Counts the hashed unigrams and bigrams of text into feats (cap entries;
 * VOCAB_MAX_FEATURES is enough for any text: later words are ignored): distinct
 * buckets in increasing order, value = the count. n_buckets must be a power of
 * two. Allocates nothing. Returns the number of features written. */
int vocab_count(const char *text, size_t len, uint32_t n_buckets, vocab_feature *feats, int cap);

/* Turns counts from vocab_count into the weighted features: value =
 * (1 + ln count) x idf[bucket], buckets with idf 0 (never seen in training)
 * dropped, then L2-normalised. Returns the number of features kept. */
int vocab_weight(vocab_feature *feats, int n, const float *idf);

/* Both steps: the features the head multiplies its vocabulary weights with. */
int vocab_features(const char *text, size_t len, uint32_t n_buckets, const float *idf,
                   vocab_feature *feats, int cap);
#endif
