/* classify.h - the classification API (vLLM Semantic Router's shapes) and the
 * `semrouter classify` command.
 *
 *   POST /api/v1/classify/intent  {"text", "options": {"return_probabilities",
 *        "confidence_threshold"}} -> {"classification": {"category", "confidence",
 *        "processing_time_ms"}, "probabilities": {...}, "recommended_model",
 *        "routing_decision", "reasoning": {...}}
 *   POST /api/v1/classify/batch   {"texts": [...] (1..max_batch_size), "task_type":
 *        "intent", "options"} -> {"results": [...], "total_count",
 *        "processing_time_ms", "statistics": {...}}
 *
 * Handlers are pure functions: request body in, HTTP status out, response body
 * (JSON, an OpenAI error object on 4xx/5xx) appended to out. They use the same
 * route_engine as the router, so the API and routing never disagree. */
#ifndef SEMROUTER_API_CLASSIFY_H
#define SEMROUTER_API_CLASSIFY_H
#include "core/buf.h"
#include "embed/embed.h"
#include "route/decide.h"
#include <stddef.h>

typedef struct classify_api_ctx {
    const route_engine *engine;
    const embed_model *model;
    embed_state *state; /* the calling thread's */
} classify_api_ctx;

int classify_api_intent(const classify_api_ctx *ctx, const char *body, size_t len, buf *out);
int classify_api_batch(const classify_api_ctx *ctx, const char *body, size_t len, buf *out);

/* `semrouter classify [-c FILE] TEXT...` (argv[0] is the subcommand name). */
int classify_cli_main(int argc, char **argv);
#endif
