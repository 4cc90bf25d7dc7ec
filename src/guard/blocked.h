/* blocked.h - the answer a client gets when a guard blocks its request.
 *
 * Shaped like vLLM Semantic Router's blocked responses so clients written for
 * it behave the same: HTTP 200 with an OpenAI chat.completion whose single
 * assistant message explains the block, finish_reason "content_filter" and
 * zero usage; id "chatcmpl-jailbreak-blocked-<unix>" (model "security-filter")
 * or "chatcmpl-pii-violation-<unix>" (model = the requested model). Streaming
 * requests get one chat.completion.chunk carrying role and content with
 * finish_reason "content_filter", then "data: [DONE]". */
#ifndef SEMROUTER_BLOCKED_H
#define SEMROUTER_BLOCKED_H
#include <stdint.h>

#include "core/buf.h"

typedef enum { BLOCKED_JAILBREAK = 0, BLOCKED_PII = 1 } blocked_kind;

/* Appends the explanation used as the message content.
 * Jailbreak: detail = detected type (e.g. "instruction_override"), confidence in [0,1].
 * PII: detail = comma-separated PII types, model = the model that refused them. */
void blocked_jailbreak_message(buf *out, const char *detail, float confidence);
void blocked_pii_message(buf *out, const char *pii_types, const char *model);

/* Appends the non-streaming body (application/json). model is used for PII
 * blocks (NULL -> "unknown"); jailbreak blocks always say "security-filter".
 * created is Unix seconds (0 = now). */
void blocked_response_json(buf *out, blocked_kind kind, const char *model, const char *message,
                           int64_t created);
/* Appends the streaming body (text/event-stream): one chunk event + [DONE]. */
void blocked_response_sse(buf *out, blocked_kind kind, const char *model, const char *message,
                          int64_t created);
#endif
