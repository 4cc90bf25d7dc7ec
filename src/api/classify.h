/* classify.h - the classification API (vLLM Semantic Router's shapes) and the
 * `semrouter classify` command.
 *
 *   POST /api/v1/classify/intent  {"text", "options": {"return_probabilities",
 *        "confidence_threshold"}} -> {"classification": {"category", "confidence",
 *        "processing_time_ms"}, "probabilities": {...}, "recommended_model",
 *        "routing_decision", "reasoning": {...}}
 *   POST /api/v1/classify/combined {"text", "options"} -> {"intent": <intent>,
 *        "pii": <classify/pii>, "security": <classify/security>, "processing_time_ms"}
 *   POST /api/v1/classify/batch   {"texts": [...] (1..max_batch_size), "task_type":
 *        "intent"|"pii"|"security"|"all", "options"} -> {"results": [...],
 *        "total_count", "processing_time_ms", "statistics": {...}}; a result is
 *        the per-text object of that task ("all": the combined object).
 *
 * Handlers are pure functions: request body in, HTTP status out, response body
 * (JSON, an OpenAI error object on 4xx/5xx) appended to out. They use the same
 * route_engine as the router, so the API and routing never disagree. */
#ifndef SEMROUTER_API_CLASSIFY_H
#define SEMROUTER_API_CLASSIFY_H
#include "core/buf.h"
#include "embed/embed.h"
#include "guard/jailbreak.h"
#include "route/decide.h"
#include <stddef.h>

typedef struct classify_api_ctx {
    const route_engine *engine;
    const embed_model *model;
    embed_state *state; /* the calling thread's */
} classify_api_ctx;

/* The prompt guard for the security parts (combined, batch "security"/"all"). */
typedef struct classify_guard_ctx {
    const jailbreak_detector *jailbreak; /* NULL: security parts answer a 503 error object */
    float threshold;                     /* prompt_guard.threshold (<= 0: the default) */
} classify_guard_ctx;

int classify_api_intent(const classify_api_ctx *ctx, const char *body, size_t len, buf *out);
/* guard may be NULL (as a NULL detector). */
int classify_api_combined(const classify_api_ctx *ctx, const classify_guard_ctx *guard,
                          const char *body, size_t len, buf *out);
/* Batch without a guard: task_type "security"/"all" get error objects for that part. */
int classify_api_batch(const classify_api_ctx *ctx, const char *body, size_t len, buf *out);
int classify_api_batch_guarded(const classify_api_ctx *ctx, const classify_guard_ctx *guard,
                               const char *body, size_t len, buf *out);

/* `semrouter classify [-c FILE] TEXT...` (argv[0] is the subcommand name). */
int classify_cli_main(int argc, char **argv);
#endif
