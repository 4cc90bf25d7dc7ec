/* embed.h - sentence embeddings: one interface over the model types.
 *
 * Types: USE-lite (the default; TF.js graph files read directly), Model2Vec
 * static models (safetensors + tokenizer.json), and a remote OpenAI-compatible
 * /v1/embeddings endpoint. A model is immutable after load and shared by all
 * threads; each thread owns an embed_state (scratch memory, so embedding
 * allocates nothing per call). Output vectors are L2-normalised, so cosine
 * similarity is a dot product. */
#ifndef SEMROUTER_EMBED_H
#define SEMROUTER_EMBED_H
#include "core/buf.h"
#include <stddef.h>

typedef enum { EMBED_USE_LITE = 0, EMBED_MODEL2VEC, EMBED_REMOTE } embed_type;
/* Weight precision of the use-lite encoder (other types ignore it). bf16 keeps
 * the matrices as bfloat16 and rounds each matmul's input rows to bfloat16
 * (float32 accumulation); the vectors stay within a cosine of 0.999 of f32's
 * (tests/test_embed.c) and keep the model id: they live in the same space. */
typedef enum { EMBED_F32 = 0, EMBED_BF16 } embed_precision;

typedef struct embed_options {
    embed_type type;
    const char *path;         /* model folder (use-lite, model2vec) */
    const char *url;          /* remote: base URL, e.g. http://127.0.0.1:8000/v1 */
    const char *remote_model; /* remote: "model" field sent */
    const char *api_key_env;  /* remote: env var holding a bearer key, or NULL */
    int dim;                  /* remote: expected dimension (0 = learn from first answer) */
    int timeout_ms;           /* remote: per-call timeout (0 = 10000) */
    embed_precision precision; /* use-lite: f32 (0) or bf16 */
} embed_options;

typedef struct embed_model embed_model;
typedef struct embed_state embed_state;

/* Loads a model. On failure returns NULL and writes a sentence into err. */
embed_model *embed_load(const embed_options *opt, char *err, size_t errlen);
void embed_free(embed_model *m);

int embed_dim(const embed_model *m);
/* Stable id naming the model and its weights (e.g. "use-lite-512:3855ea67");
 * part of every cache key so vectors of different models never mix. */
const char *embed_model_id(const embed_model *m);
/* Token window: inputs with more tokens are truncated by the model, so callers
 * skip similarity matching for them (docs/DESIGN.md §3). 0 = unknown/unlimited. */
int embed_max_tokens(const embed_model *m);

embed_state *embed_state_new(const embed_model *m);
void embed_state_free(embed_state *s);

/* Embeds text[0..len) into out[embed_dim]. *n_tokens (may be NULL) receives the
 * token count before truncation. Invalid UTF-8 is replaced, never rejected.
 * Returns 0, or -1 with a sentence in err. */
int embed_text(const embed_model *m, embed_state *s, const char *text, size_t len, float *out,
               int *n_tokens, char *err, size_t errlen);

/* Embeds n texts into out[n * dim] (row i = texts[i]). Same contract as embed_text;
 * every row is bit-identical to embed_text's for the same text. */
int embed_batch(const embed_model *m, embed_state *s, const char *const *texts, const size_t *lens,
                int n, float *out, char *err, size_t errlen);
/* embed_batch that also gives each text's token count before truncation in
 * n_tokens[n] (may be NULL; -1 for a remote model, whose server counts the
 * batch only). The compute pool's micro-batches use it (pipeline/compute.h). */
int embed_batch_tokens(const embed_model *m, embed_state *s, const char *const *texts,
                       const size_t *lens, int n, float *out, int *n_tokens, char *err,
                       size_t errlen);

/* Added by the implementation (issue 3). Notes on the types:
 * - use-lite: at most 128 tokens are encoded; a text with no tokens (empty)
 *   gets the fixed vector tanh(bias)/|tanh(bias)|. Texts over 64 KiB are
 *   tokenized from their first 64 KiB and report at least 129 tokens.
 * - model2vec: a text with no known token gives the zero vector; texts over
 *   1 MiB are embedded from their first 1 MiB.
 * - remote: every call blocks the calling thread on an HTTP request (timeout
 *   timeout_ms); *n_tokens is the server's usage.prompt_tokens or -1; a batch
 *   is one request. embed_remote_call/_answer below split a call for a caller
 *   that makes the request without blocking (src/pipeline/remote_embed.c). */

embed_type embed_model_type(const embed_model *m);
/* The precision a model computes in (f32 for other types than use-lite). */
embed_precision embed_model_precision(const embed_model *m);
/* "f32", "bf16". */
const char *embed_precision_name(embed_precision p);

/* A remote model's call made by the caller on its own non-blocking HTTP client
 * (the chat pipeline does it on its event loop instead of blocking a thread):
 * embed_remote_call gives the POST's URL, Authorization header line (NULL =
 * none) and timeout, and writes the JSON body for n texts into body;
 * embed_remote_answer reads the answer (HTTP status, body) into out[n * dim],
 * exactly like embed_batch. Both return -1 (err) for a model that is not remote
 * or a bad answer, 0 otherwise. */
typedef struct embed_remote_target {
    const char *url;
    const char *auth_header;
    int timeout_ms;
} embed_remote_target;
int embed_remote_call(const embed_model *m, const char *const *texts, const size_t *lens, int n,
                      embed_remote_target *target, buf *body);
int embed_remote_answer(const embed_model *m, long status, const char *body, size_t len, int n,
                        float *out, char *err, size_t errlen);
/* "use-lite", "model2vec", "remote". */
const char *embed_type_name(embed_type t);
/* Parses a type name as written in config; 0, or -1 when unknown. */
int embed_parse_type(const char *name, embed_type *out);

/* Token ids of text under a local model (first max_ids of them); returns the
 * count before truncation, or -1 (remote models, out of memory). */
int embed_tokenize(const embed_model *m, embed_state *s, const char *text, size_t len, int *ids,
                   int max_ids);
#endif
