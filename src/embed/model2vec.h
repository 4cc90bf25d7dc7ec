/* model2vec.h - Model2Vec static embedding models (safetensors + tokenizer.json).
 *
 * A text's vector is the mean of its tokens' rows, L2-normalised. Two layouts:
 * plain ("embeddings" [V][D], F32/F16/I8) and vocab-quantized ("embeddings"
 * [K][D] + "mapping" I32 [V] + "weights" F64 [V]: row = embeddings[mapping[id]]
 * * weights[id]). Tokenizers: WordPiece (BERT-style pre-tokenization) and
 * Unigram with Metaspace, as in ../shared/models/model2vec-fixture/reference.py.
 * Internal to src/embed. */
#ifndef SEMROUTER_MODEL2VEC_H
#define SEMROUTER_MODEL2VEC_H
#include <stddef.h>

/* Inputs beyond this many bytes are embedded from their first 1 MiB. */
#define MODEL2VEC_MAX_INPUT_BYTES (1u << 20)

typedef struct model2vec_model model2vec_model;
typedef struct model2vec_state model2vec_state;

model2vec_model *model2vec_load(const char *dir, char *err, size_t errlen);
void model2vec_free(model2vec_model *m);
int model2vec_dim(const model2vec_model *m);
const char *model2vec_id(const model2vec_model *m);

model2vec_state *model2vec_state_new(const model2vec_model *m);
void model2vec_state_free(model2vec_state *s);

/* Token ids of text (first max_ids); returns the count, or -1 when memory runs out. */
int model2vec_tokenize(const model2vec_model *m, model2vec_state *s, const char *text, size_t len,
                       int *ids, int max_ids);
/* Embeds text into out[dim]. A text without known tokens gives the zero vector
 * (as the reference does). Returns 0, or -1 when memory runs out. */
int model2vec_encode(const model2vec_model *m, model2vec_state *s, const char *text, size_t len,
                     float *out, int *n_tokens);
/* The Model2Vec model behind an embed_model (NULL for other types); for tests. */
struct embed_model;
model2vec_model *embed_test_model2vec(const struct embed_model *m);
#endif
