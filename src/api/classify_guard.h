/* classify_guard.h - handler bodies of POST /api/v1/classify/pii and
 * POST /api/v1/classify/security (vLLM Semantic Router's classification API
 * shapes). Pure functions over the request body: the HTTP layer passes the
 * bytes in and sends `out` back with the returned status. Errors are OpenAI
 * error objects (core/openai_error.h). */
#ifndef SEMROUTER_CLASSIFY_GUARD_H
#define SEMROUTER_CLASSIFY_GUARD_H
#include <stddef.h>

#include "core/buf.h"
#include "guard/jailbreak.h"

/* {"text", "options":{"entity_types":[..], "confidence_threshold", "return_positions",
 *  "mask_entities"}} ->
 * {"has_pii", "entities":[{"type","value","confidence","start_position","end_position",
 *  "masked_value"}], "masked_text", "security_recommendation", "processing_time_ms"}.
 * Positions are Unicode code-point offsets into text (end exclusive); they are
 * left out when return_positions is false. masked_value/masked_text appear when
 * mask_entities is true. Unknown entity type names in the filter never match.
 * Returns the HTTP status (200, or 400 with an error object). */
int classify_pii_api_handle(const char *body, size_t len, buf *out);

/* Embeds text into vec (jailbreak_dim floats). Returns 0, or -1 on failure
 * (the request is then scored by the patterns alone). */
typedef int (*classify_embed_fn)(void *ctx, const char *text, size_t len, float *vec);

/* {"text", "options":{"detection_types", "sensitivity", "include_reasoning"}} ->
 * {"is_jailbreak", "risk_score", "detection_types", "confidence", "recommendation",
 *  "reasoning", "patterns_detected", "processing_time_ms"}.
 * threshold is the configured prompt_guard threshold (<= 0: the default);
 * options.sensitivity "low"|"medium"|"high" (or a number in (0,1]) overrides it.
 * embed may be NULL. Returns 200, 400 (bad request) or 503 (no detector). */
int classify_security_api_handle(const char *body, size_t len, const jailbreak_detector *d,
                                 classify_embed_fn embed, void *embed_ctx, float threshold,
                                 buf *out);
#endif
