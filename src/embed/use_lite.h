/* use_lite.h - Universal Sentence Encoder lite: weights, tokenizer, encoder.
 *
 * Internal to src/embed (the public face is embed.h). A use_lite_model is
 * read-only after use_lite_load and may be shared by threads; a use_lite_state
 * is one thread's scratch. */
#ifndef SEMROUTER_USE_LITE_H
#define SEMROUTER_USE_LITE_H
#include <stddef.h>

#define USE_LITE_DIM 512
#define USE_LITE_MAX_TOKENS 128

typedef struct use_lite_model use_lite_model;
typedef struct use_lite_state use_lite_state;

/* Loads dir/model.json, its shards and dir/vocab.json; bf16 != 0 keeps the
 * encoder's matrices as bfloat16 (embed.h, EMBED_BF16). NULL + err on failure. */
use_lite_model *use_lite_load(const char *dir, int bf16, char *err, size_t errlen);
void use_lite_free(use_lite_model *m);
/* "use-lite-512:" + the first 8 hex digits of SHA-256 over weights and vocab. */
const char *use_lite_id(const use_lite_model *m);

use_lite_state *use_lite_state_new(const use_lite_model *m);
void use_lite_state_free(use_lite_state *s);

/* Token ids of text (first max_ids of them); returns the full count or -1 (OOM). */
int use_lite_tokenize(const use_lite_model *m, use_lite_state *s, const char *text, size_t len,
                      int *ids, int max_ids);
/* Embeds text into out[512]; *n_tokens gets the count before truncation. 0 or -1 (OOM). */
int use_lite_encode(const use_lite_model *m, use_lite_state *s, const char *text, size_t len,
                    float *out, int *n_tokens);
/* Embeds n texts into out[n][512], several texts per matrix product; each
 * vector is bit-identical to use_lite_encode's. n_tokens (may be NULL) gets
 * each text's token count before truncation. 0 or -1 (OOM). */
int use_lite_encode_batch(const use_lite_model *m, use_lite_state *s, const char *const *texts,
                          const size_t *lens, int n, float *out, int *n_tokens);
/* The encoder alone: ids[0..T) (T <= 128, ids < vocabulary rows) into out[512]. */
void use_lite_encode_ids(const use_lite_model *m, use_lite_state *s, const int *ids, int T,
                         float *out);
/* The USE-lite model behind an embed_model (NULL for other types); for tests. */
struct embed_model;
use_lite_model *embed_test_use_lite(const struct embed_model *m);
#endif
