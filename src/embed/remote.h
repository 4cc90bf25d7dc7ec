/* remote.h - a remote OpenAI-compatible /v1/embeddings endpoint as a model type.
 *
 * For large embedding models served elsewhere (vLLM, TEI, OpenAI). Calls are
 * blocking libcurl "easy" requests with a timeout: an embed_text on a remote
 * model blocks the calling thread for up to timeout_ms. Each state keeps its
 * own curl handle, so connections are reused per thread. The chat pipeline
 * does not block: it writes the body and parses the answer with the halves
 * below (embed_remote_call / embed_remote_answer in embed.h) and makes the
 * POST itself on its event loop. Internal to src/embed. */
#ifndef SEMROUTER_EMBED_REMOTE_H
#define SEMROUTER_EMBED_REMOTE_H
#include "core/buf.h"
#include "embed/embed.h"
#include <stddef.h>

typedef struct remote_model remote_model;
typedef struct remote_state remote_state;

/* Checks the options; when opt->dim is 0, asks the endpoint once (blocking) to
 * learn the dimension. NULL + err on failure. */
remote_model *remote_load(const embed_options *opt, char *err, size_t errlen);
void remote_free(remote_model *m);
int remote_dim(const remote_model *m);
const char *remote_id(const remote_model *m);

remote_state *remote_state_new(const remote_model *m);
void remote_state_free(remote_state *s);

/* Embeds n texts with one request into out[n * dim] (L2-normalised rows).
 * *prompt_tokens (may be NULL) gets usage.prompt_tokens, or -1 when absent.
 * Returns 0, or -1 with a sentence in err (HTTP status, timeout, bad answer). */
int remote_embed(const remote_model *m, remote_state *s, const char *const *texts,
                 const size_t *lens, int n, float *out, int *prompt_tokens, char *err,
                 size_t errlen);

/* The same call in two halves, for a caller that makes the HTTP request on its
 * own non-blocking client (the chat pipeline, on its event loop):
 * remote_write_body writes the JSON body for n texts into b (b->oom on out of
 * memory); remote_parse reads the answer (HTTP status and body) into out[n *
 * dim] exactly as remote_embed does. The URL, the Authorization header line
 * (NULL = none) and the timeout are the model's. */
void remote_write_body(const remote_model *m, buf *b, const char *const *texts, const size_t *lens,
                       int n);
int remote_parse(const remote_model *m, long status, const char *body, size_t len, int n, float *out,
                 char *err, size_t errlen);
const char *remote_url(const remote_model *m);
const char *remote_auth_header(const remote_model *m);
int remote_timeout_ms(const remote_model *m);
#endif
