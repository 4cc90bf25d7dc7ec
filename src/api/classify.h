/* classify.h - the classification API (vLLM Semantic Router's shapes).
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
 * route_engine as the router, so the API and routing never disagree (and
 * `semrouter classify`, src/cli/classify.c, prints the same classify_text result). */
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

#define CLASSIFY_MAX_LABELS 256
#define CLASSIFY_MAX_DIM 4096

/* One text classified: what the API answers and `semrouter classify` prints. */
typedef struct classify_one {
    route_decision d;
    classify_result cr;
    float probs[CLASSIFY_MAX_LABELS];
    int n_probs;             /* head labels (probabilities valid), 0 when no head */
    const char *category;    /* decision category, else the top label */
    double ms;               /* embedding + classification */
    int dim;
    float vec[CLASSIFY_MAX_DIM]; /* the text's embedding (reused by the security check) */
} classify_one;

/* Embeds and classifies one text as the router does; 0, or -1 with err. */
int classify_text(const classify_api_ctx *ctx, const char *text, size_t len, classify_one *r,
                  char *err, size_t errlen);

int classify_api_intent(const classify_api_ctx *ctx, const char *body, size_t len, buf *out);
/* guard may be NULL (as a NULL detector). */
int classify_api_combined(const classify_api_ctx *ctx, const classify_guard_ctx *guard,
                          const char *body, size_t len, buf *out);
/* Batch without a guard: task_type "security"/"all" get error objects for that part. */
int classify_api_batch(const classify_api_ctx *ctx, const char *body, size_t len, buf *out);
int classify_api_batch_guarded(const classify_api_ctx *ctx, const classify_guard_ctx *guard,
                               const char *body, size_t len, buf *out);
#endif
