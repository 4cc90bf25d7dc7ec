/* select.h - the hit decision, one for every cache backend.
 *
 * A backend (backend.h) returns candidates: the exact-key entry and the
 * nearest stored requests of the partition, each with its cosine, its stored
 * last user turn and its stored conversation. cache_select decides which one,
 * if any, answers the request:
 *
 *   1. an exact-tier candidate is served as it is (same canonical request);
 *   2. a semantic candidate must have similarity >= threshold;
 *   3. its conversation context must match (cache_context_match);
 *   4. with a verifier (verify.h), its probability of asking the same thing as
 *      the request must be >= min_probability; every candidate passing 2-3 is
 *      scored (up to max_verify) and the one with the highest probability is
 *      served. Without a verifier the most similar one passing 2-3 is served.
 *   A follow-up in the same conversation state (the context matched with
 *   byte-identical assistant turns, so "it", "there", "that" refer to the same
 *   things) is held to follow_up_threshold and follow_up_min_probability
 *   instead of 2 and 4: short referential questions in other words ("How many
 *   people live there?" / "What is its population?") embed far apart. That
 *   last turn is scored by follow_up_verifier when given (a model trained on
 *   QQP plus follow-up pairs, data/cache/followup_pairs_train.csv); the earlier
 *   user turns and every candidate in another state keep the hit verifier.
 *
 * Context match (earlier turns, same count and roles: the partition key
 * already holds the roles). The stored entry keeps the texts of its earlier
 * user turns and a SHA-256 of its assistant turns (cache_context_hash):
 *   - assistant turns: byte-identical (hash equal) - the conversation state is
 *     the same one this cache produced; else each assistant turn's vector must
 *     be >= context_threshold similar (the old rule);
 *   - user turns: with the verifier, probability >= context_min_probability
 *     when the assistant turns are identical, >= min_probability otherwise
 *     (the earlier turn would itself have had to hit); without the verifier,
 *     vectors >= context_threshold. A stored entry with no texts (older file,
 *     a backend that keeps none) falls back to vectors >= context_threshold.
 *
 * Pure and thread-safe; no allocation except inside the verifier's scratch. */
#ifndef SEMROUTER_CACHE_SELECT_H
#define SEMROUTER_CACHE_SELECT_H
#include "cache/backend.h"
#include "cache/verify.h"

/* What the request has, and the policy. */
typedef struct cache_select_input {
    const char *query; /* last user turn; NULL disables the verifier for this request */
    size_t query_len;
    const float *query_vec; /* dim floats; NULL = exact tier only */
    int dim;
    int n_context;
    const float *context_vecs;         /* n_context x dim (NULL = none embedded) */
    const char *const *context_texts;  /* n_context (NULL = not given) */
    const size_t *context_lens;
    const unsigned char *context_roles; /* CACHE_ROLE_* */
    float threshold;                    /* cosine floor of a semantic candidate */
    float context_threshold;            /* vector rule for earlier turns (0.9) */
    const cache_verifier *verifier;     /* NULL = cosine threshold alone */
    float min_probability;              /* verifier floor for the last turn */
    float context_min_probability;      /* verifier floor for earlier user turns when the
                                           assistant turns are byte-identical; < 0 = min_probability */
    float follow_up_threshold;          /* cosine floor of the last turn in the same
                                           conversation state; < 0 = threshold */
    float follow_up_min_probability;    /* verifier floor of it; < 0 = min_probability */
    const cache_verifier *follow_up_verifier; /* scores that last turn (a model trained on
                                                 follow-up pairs); NULL = verifier */
    int max_verify;                     /* candidates scored at most (0 = 8) */
} cache_select_input;

typedef enum {
    CACHE_SELECT_MISS_NONE = 0,   /* no candidate at all */
    CACHE_SELECT_HIT_EXACT,       /* exact tier */
    CACHE_SELECT_HIT_SIMILAR,     /* semantic, no verifier */
    CACHE_SELECT_HIT_VERIFIED,    /* semantic, verifier passed */
    CACHE_SELECT_MISS_THRESHOLD,  /* every candidate below threshold */
    CACHE_SELECT_MISS_CONTEXT,    /* similar enough but another conversation */
    CACHE_SELECT_MISS_VERIFIER,   /* similar enough, rejected by the verifier */
} cache_select_outcome;

typedef struct cache_selection {
    int index; /* candidate served, -1 = miss */
    cache_select_outcome outcome;
    float similarity;  /* of the served candidate, or the best candidate seen */
    float probability; /* verifier probability of the served candidate, or the best
                          rejected one; -1 = the verifier did not run */
    int verified;      /* candidates the verifier scored */
} cache_selection;

/* Initialises in with the defaults: threshold 0.8, context_threshold 0.9, no
 * verifier, min_probability 0.5, context_min_probability, follow_up_threshold
 * and follow_up_min_probability -1 (= the plain floors), max_verify 8. */
void cache_select_input_default(cache_select_input *in);

/* Decides. Returns out->index (>= 0 a hit, -1 a miss). */
int cache_select(const cache_select_input *in, const cache_candidates *cands,
                 cache_selection *out);

/* Whether candidate c's earlier turns match the request's (rules above):
 * 0 no, 1 yes, 2 yes with byte-identical assistant turns. *probability (may
 * be NULL) receives the lowest verifier probability of the user turns
 * compared, or -1 when none was scored. */
int cache_context_match(const cache_select_input *in, const cache_candidate *c,
                        float *probability);

/* A short name of an outcome for logs and headers ("exact", "verified", ...). */
const char *cache_select_outcome_name(cache_select_outcome o);

/* Frees every candidate and the array; *c is left empty (n 0, v NULL). The
 * struct itself is not freed: a callee that keeps candidates copies it. */
void cache_candidates_free(cache_candidates *c);
#endif
