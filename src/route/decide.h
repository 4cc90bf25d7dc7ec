/* decide.h - the routing decision: which model answers, with which category,
 * reasoning setting and system prompt (docs/DESIGN.md §5).
 *
 * A route_engine is built once per loaded config: it loads the category head,
 * embeds the categories' example utterances and the tool database, and
 * compiles the keyword rules. It is immutable afterwards and shared by all
 * threads; it keeps a pointer to the config, which must outlive it.
 *
 * route_decide, for automatic routing (model "auto" / auto_model_name):
 *   1. keyword_rules, first match wins (confidence 1);
 *   2. else the category classifier on the request's embedding (head + examples,
 *      classifier.h); a head result below classifier.category_model.threshold,
 *      or a label no configured category claims, leaves the category empty;
 *   3. category set: its model_scores, best score first, skipping models that
 *      are unhealthy or whose pii_policy forbids a detected PII type; no
 *      category: default_model (then any model the PII policy allows).
 *   Reasoning: the entropy rule (reasoning.h) when the classifier decided;
 *   the selected model's use_reasoning flag after a keyword rule or example
 *   match, or when PII/health moved the request off the category's first choice;
 *   always off for a model without a reasoning family (nothing could be applied,
 *   so x-vsr-selected-reasoning says off; out->entropy keeps the verdict).
 *   4. difficulty_routing.enabled: the difficulty head (difficulty.h) scores the
 *      request; score >= threshold (categories[].difficulty_threshold overrides
 *      difficulty_routing.threshold) -> large_model, else small_model, when that
 *      model is healthy and its pii_policy allows the request ("kept" otherwise).
 *      Reasoning follows the model's model_scores entry in the category, if any.
 *   5. adaptation.enabled, in->model_breach set: when the chosen model breaches
 *      its budget (adapt.h) and the request is borderline - the difficulty score
 *      within adaptation.difficulty_margin of its threshold (the other difficulty
 *      model takes it), or, without a difficulty decision, the head's confidence
 *      within adaptation.category_margin of the category threshold (the next
 *      model of the category's model_scores takes it) - it goes to that model if
 *      it is healthy, allowed by its pii_policy and within its own budget.
 *      Keyword rules, example matches, PII moves and explicit models never move.
 * For an explicit model name, that model is used as is (reason model_specified)
 * unless its pii_policy forbids a detected type (then pii_blocked); the request's
 * reasoning fields and system prompt are not touched. */
#ifndef SEMROUTER_DECIDE_H
#define SEMROUTER_DECIDE_H
#include "config/config.h"
#include "embed/embed.h"
#include "route/classifier.h"
#include "route/reasoning.h"
#include "route/sysprompt.h"
#include "route/tools_select.h"
#include <cjson/cJSON.h>
#include <stddef.h>

typedef struct route_engine route_engine;

/* Builds the engine for cfg with embedding model m (used at load only, for
 * examples and tools). The head file is classifier.category_model.head_path,
 * or config/category_head.bin when unset. NULL + a sentence in err. */
route_engine *route_engine_new(const sr_config *cfg, const embed_model *m, char *err,
                               size_t errlen);
void route_engine_free(route_engine *e);
const classifier *route_engine_classifier(const route_engine *e);
const sr_config *route_engine_config(const route_engine *e);
/* Config category index for a classifier label, -1 when none claims it. */
int route_engine_label_category(const route_engine *e, int label);

typedef enum {
    ROUTE_REASON_AUTO_ROUTING = 0,      /* classifier / examples chose the category */
    ROUTE_REASON_MODEL_SPECIFIED,       /* the request named a model */
    ROUTE_REASON_KEYWORD_RULE,          /* a keyword rule chose the category */
    ROUTE_REASON_PII_ALTERNATIVE,       /* PII policy moved the request to another model */
    ROUTE_REASON_DEFAULT_MODEL          /* no category (or below threshold) */
} route_reason;
const char *route_reason_name(route_reason r);

typedef struct route_input {
    const char *text;  /* last user turn (may be NULL) */
    size_t text_len;
    const float *embedding; /* its embedding, NULL when unavailable (classifier skipped) */
    int dim;
    const char *requested_model; /* the request's "model" (NULL/"" = auto) */
    const char *const *pii_types; /* detected PII type names, e.g. "EMAIL_ADDRESS" */
    int n_pii_types;
    /* Endpoint health: 1 when model has a usable endpoint. NULL = all healthy. */
    int (*model_healthy)(void *ctx, const char *model);
    void *health_ctx;
    /* The PII type id of a type name, aliases included (the caller passes the guard's
     * pii_type_from_name, so routing does not depend on the guard module); -1 unknown.
     * NULL: names compare as text, case-insensitively. */
    int (*pii_type_of)(const char *name);
    /* adaptation.enabled: the breach state of a model (adapt.h: ADAPT_OK = within
     * its budgets). NULL = every model within budget. */
    int (*model_breach)(void *ctx, const char *model);
    void *breach_ctx;
} route_input;

typedef struct route_decision {
    route_reason reason;
    int category_index;      /* into cfg->categories, -1 = none */
    const char *category;    /* its name, NULL = none */
    float confidence;        /* of the category signal (keyword 1, head prob, example cosine) */
    const char *method;      /* "keyword" | "head" | "examples" | "none" | "explicit" */
    int model_index;         /* into cfg->models; -1 when blocked */
    const char *model;       /* configured model name (NULL when blocked) */
    const char *upstream_model; /* name sent upstream */
    int pii_blocked;         /* no allowed model for the detected PII types */
    int reasoning_set;       /* 1 = the rewrite sets reasoning (auto routing) */
    int reasoning;           /* on/off */
    const char *reasoning_effort;
    reasoning_decision entropy; /* valid when the classifier ran */
    const char *system_prompt;  /* NULL = none to inject */
    sysprompt_mode system_prompt_mode;
    double classify_seconds; /* classifier time (embedding excluded) */
    /* difficulty_routing (auto routing with a vector only): */
    float difficulty_score;  /* [0,1], > 0.5 = the large model is expected to do better */
    const char *difficulty;  /* "small" | "large" | "kept" (target unavailable) | NULL = off */
    /* adaptation: a borderline request moved off a model over its budget */
    const char *adapted_from; /* the model it would have gone to, NULL = not moved */
    const char *adapt_reason; /* "latency" | "errors" | "queue" (adapt_reason_name) */
    const char *adapt_signal; /* "category" | "difficulty": which score was borderline */
    float adapt_distance;     /* |score - threshold| of that signal */
} route_decision;

/* The category signal of a request for automatic routing: keyword rules (first
 * match wins, confidence 1), else the category classifier on in->embedding
 * (skipped when NULL), and the difficulty head's score (difficulty_routing,
 * with a vector). Runs once per request, on a compute thread (it reads only the
 * immutable engine); route_choose then turns it into a decision as often as
 * needed (the PII redact path chooses again without classifying). */
typedef struct route_signal {
    int classified;          /* 1 once route_classify ran */
    int category_index;      /* -1 = none (below threshold, unclaimed label, no text) */
    route_reason reason;     /* KEYWORD_RULE, AUTO_ROUTING or DEFAULT_MODEL */
    float confidence;
    const char *method;      /* "keyword" | "head" | "examples" | "none" */
    int have_probs;          /* the head decided: entropy is valid */
    reasoning_decision entropy;
    double classify_seconds;
    int have_difficulty;     /* difficulty_score is valid (difficulty_routing on, a vector) */
    float difficulty_score;
    int small_model, large_model; /* difficulty_routing's models (indices into cfg->models) */
} route_signal;
void route_classify(const route_engine *e, const route_input *in, route_signal *out);

/* The model for a request, the one place the explicit and default-model rules
 * live: an explicit model name is used as is (pii_blocked when its policy
 * forbids a detected type; -1 + err when it is not configured); the automatic
 * model takes sig's category (sig NULL or unclassified = no category: the
 * default model, or another model the PII policy allows) and, with sig's
 * difficulty score, the small or large model. Works without a routing engine
 * (config only). Never allocates. */
int route_choose(const sr_config *cfg, const route_signal *sig, const route_input *in,
                 route_decision *out, char *err, size_t errlen);

/* route_classify (automatic model only) + route_choose. Returns 0; -1 with
 * err when the explicitly requested model is not configured (the caller
 * answers 404 model_not_found). Never allocates. */
int route_decide(const route_engine *e, const route_input *in, route_decision *out, char *err,
                 size_t errlen);

/* Rewrites the request for the decision: reasoning through the model's family
 * (when reasoning_set), the system prompt, and "model" = the upstream name.
 * Returns 0, or -1 (bad request shape for a system prompt, out of memory). */
int route_rewrite_request(const route_engine *e, const route_decision *d, cJSON *req);

/* Tool selection on the request when tools.enabled and a database is loaded
 * (tools_select.h). Returns 1 when the request changed (tools replaced, or
 * removed when nothing matched), 0 when not applicable, -1 on OOM. */
int route_select_tools(const route_engine *e, cJSON *req, const float *embedding, int dim);
#endif
