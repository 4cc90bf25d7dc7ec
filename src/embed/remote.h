/* remote.h - a remote OpenAI-compatible /v1/embeddings endpoint as a model type.
 *
 * For large embedding models served elsewhere (vLLM, TEI, OpenAI). Calls are
 * blocking libcurl "easy" requests with a timeout: an embed_text on a remote
 * model blocks the calling worker thread for up to timeout_ms. Each state keeps
 * its own curl handle, so connections are reused per thread. Internal to
 * src/embed. */
#ifndef SEMROUTER_EMBED_REMOTE_H
#define SEMROUTER_EMBED_REMOTE_H
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
#endif
