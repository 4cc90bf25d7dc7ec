/* reasoning.h - should the chosen model think before answering, and how to
 * ask it to.
 *
 * Decision: the classic entropy rule of vLLM Semantic Router on the category
 * head's softmax. A confident classification takes the top category's
 * use_reasoning flag; an uncertain one (the question sits between categories)
 * takes a probability-weighted vote of the top categories' flags, and a very
 * uncertain one turns reasoning on (a question that fits nowhere clearly is
 * treated as one that may need thought).
 *   H = -Σ p·log2 p, Hn = H / log2(N);
 *   Hn ≥ 0.8 very_high → ON (confidence 0.3)
 *   Hn ≥ 0.6 high      → vote of top-2: Σp(reasoning)/Σp(known) > 0.5
 *   Hn ≥ 0.4 medium    → top p ≥ threshold and known ? its flag (conf p·0.8) : vote of top-3
 *   Hn ≥ 0.2 low       → top flag (conf p·0.9); < 0.2 very_low → top flag (conf p·0.95)
 *   unknown top category → OFF.
 *
 * Applying: through the model's reasoning family (config reasoning_families):
 * type chat_template_kwargs sets chat_template_kwargs.<parameter> = true/false
 * (other client keys kept); type reasoning_effort sets <parameter> = effort
 * when on, and when off keeps the client's own value or "low". A model
 * without a family is left untouched. */
#ifndef SEMROUTER_REASONING_H
#define SEMROUTER_REASONING_H
#include <cjson/cJSON.h>

typedef struct reasoning_decision {
    int enabled;
    float confidence;
    float entropy;            /* bits */
    float normalized_entropy; /* H / log2(N), in [0, 1] */
    const char *level;        /* very_low | low | medium | high | very_high */
    const char *reason;       /* e.g. "very_high_uncertainty", "top_category_flag", "weighted_vote" */
} reasoning_decision;

/* probs[n] is a softmax; flags[n] the use_reasoning of each label's category
 * (1 on, 0 off, -1 unknown category). threshold = category_model.threshold. */
void reasoning_entropy_decide(const float *probs, const int *flags, int n, float threshold,
                              reasoning_decision *out);

/* Rewrites req for the decision. family_type "chat_template_kwargs" or
 * "reasoning_effort" (NULL: no family, nothing changes); param the field name
 * (enable_thinking, thinking, reasoning_effort); effort used when on.
 * Returns 1 when the request was changed, 0 when not, -1 on a bad family type
 * or out of memory. */
int reasoning_apply(cJSON *req, const char *family_type, const char *param, int enabled,
                    const char *effort);
#endif
