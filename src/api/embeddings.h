/* embeddings.h - HTTP handler bodies for the embedding endpoints.
 *
 * Pure functions over a request body: no sockets, no libevent. The caller (the
 * gateway) owns routing, the model and one embed_state per calling thread, and
 * sends the returned status with `out` as an application/json body. Errors are
 * OpenAI error objects written by api_error_json. A remote embedding model
 * blocks the calling thread for the duration of its HTTP request: the gateway
 * runs these handlers on a compute thread (api/model_api.h), never a loop. */
#ifndef SEMROUTER_API_EMBEDDINGS_H
#define SEMROUTER_API_EMBEDDINGS_H
#include "core/buf.h"
#include "embed/embed.h"
#include <stddef.h>

/* Most inputs one /v1/embeddings request may carry (OpenAI's limit). */
#define EMBEDDINGS_API_MAX_INPUTS 2048

/* POST /v1/embeddings. Request: {"input": string | [string, ...], "model"?,
 * "encoding_format"?: "float" | "base64", "dimensions"?, "user"?}. Answer:
 * {"object":"list","data":[{"object":"embedding","index":i,"embedding":...}],
 * "model","usage":{"prompt_tokens","total_tokens"}}; "model" echoes the request
 * (the model id when absent). base64 = little-endian float32 bytes, as OpenAI.
 * Empty strings, token-id arrays and a "dimensions" other than the model's are
 * 400s. Inputs longer than the model window are embedded from their first
 * tokens; prompt_tokens counts all of them. Returns the HTTP status. */
int embeddings_api_handle(const embed_model *m, embed_state *s, const char *body, size_t len,
                          buf *out);

/* POST /api/v1/similarity. Request: {"text1","text2","model"?,"dimension"?}.
 * Answer: {"model_used","similarity","processing_time_ms"} (cosine). Returns
 * the HTTP status. */
int similarity_api_handle(const embed_model *m, embed_state *s, const char *body, size_t len,
                          buf *out);
#endif
