/* select.c - the hit decision (see select.h). */
#include "cache/select.h"
#include "core/vec.h"
#include <stdlib.h>
#include <string.h>

#define MAX_VERIFY 64

void cache_select_input_default(cache_select_input *in)
{
    memset(in, 0, sizeof *in);
    in->threshold = 0.8f;
    in->context_threshold = 0.9f;
    in->min_probability = 0.5f;
    in->context_min_probability = -1.0f;
    in->follow_up_threshold = -1.0f;
    in->follow_up_min_probability = -1.0f;
    in->max_verify = 8;
}

void cache_candidates_free(cache_candidates *c)
{
    if (!c) return;
    for (int i = 0; i < c->n && c->v; i++) {
        cache_candidate *x = &c->v[i];
        free(x->body);
        free(x->query_text);
        free(x->context_vecs);
        free(x->id);
        for (int k = 0; x->context_texts && k < x->n_context; k++)
            free(x->context_texts[k]);
        free(x->context_texts);
        free(x->context_roles);
    }
    free(c->v);
    c->v = NULL;
    c->n = 0;
}

const char *cache_select_outcome_name(cache_select_outcome o)
{
    switch (o) {
    case CACHE_SELECT_HIT_EXACT: return "exact";
    case CACHE_SELECT_HIT_SIMILAR: return "similar";
    case CACHE_SELECT_HIT_VERIFIED: return "verified";
    case CACHE_SELECT_MISS_THRESHOLD: return "below_threshold";
    case CACHE_SELECT_MISS_CONTEXT: return "context_mismatch";
    case CACHE_SELECT_MISS_VERIFIER: return "verifier_rejected";
    default: return "none";
    }
}

int cache_context_match(const cache_select_input *in, const cache_candidate *c, float *probability)
{
    if (probability) *probability = -1.0f;
    if (c->n_context != in->n_context) return 0;
    if (!in->n_context) return 1;
    int dim = in->dim;
    int have_vecs = in->context_vecs && c->context_vecs && dim > 0;
    int have_texts = in->context_texts && in->context_lens && in->context_roles &&
                     c->context_texts && c->context_roles;
    if (!have_texts) { /* the old rule: every earlier turn's vector close enough */
        if (!have_vecs) return 0;
        for (int i = 0; i < in->n_context; i++)
            if (vec_kernels_best()->dot_f32(in->context_vecs + (size_t)i * dim,
                                            c->context_vecs + (size_t)i * dim,
                                            (size_t)dim) < in->context_threshold)
                return 0;
        return 1;
    }
    for (int i = 0; i < in->n_context; i++)
        if (in->context_roles[i] != c->context_roles[i]) return 0;
    unsigned char h[32];
    int same_answers = c->has_answer_hash &&
                       cache_context_hash(in->n_context, in->context_texts, in->context_lens,
                                          in->context_roles, h) &&
                       !memcmp(h, c->answer_hash, 32);
    float floor = in->min_probability;
    if (same_answers && in->context_min_probability >= 0) floor = in->context_min_probability;
    float lowest = 2.0f;
    for (int i = 0; i < in->n_context; i++) {
        const float *qv = have_vecs ? in->context_vecs + (size_t)i * dim : NULL;
        const float *cv = have_vecs ? c->context_vecs + (size_t)i * dim : NULL;
        float cos = have_vecs ? vec_kernels_best()->dot_f32(qv, cv, (size_t)dim) : 0.0f;
        if (in->context_roles[i] == CACHE_ROLE_ASSISTANT) {
            if (same_answers) continue;
            if (!have_vecs || cos < in->context_threshold) return 0;
            continue;
        }
        const char *st = c->context_texts[i] ? c->context_texts[i] : "";
        const char *qt = in->context_texts[i] ? in->context_texts[i] : "";
        size_t ql = in->context_texts[i] ? in->context_lens[i] : 0;
        if (strlen(st) == ql && !memcmp(st, qt, ql)) continue; /* the same words */
        if (!in->verifier) {
            if (!have_vecs || cos < in->context_threshold) return 0;
            continue;
        }
        if (!have_vecs) return 0;
        float p = cache_verifier_score(in->verifier, qt, ql, st, strlen(st), cos);
        if (p < lowest) lowest = p;
        if (p < floor) {
            if (probability) *probability = p;
            return 0;
        }
    }
    if (probability && lowest <= 1.0f) *probability = lowest;
    return same_answers ? 2 : 1;
}

int cache_select(const cache_select_input *in, const cache_candidates *cands, cache_selection *out)
{
    out->index = -1;
    out->outcome = CACHE_SELECT_MISS_NONE;
    out->similarity = 0;
    out->probability = -1.0f;
    out->verified = 0;
    if (!cands || !cands->n) return -1;
    int max_verify = in->max_verify > 0 ? in->max_verify : 8;
    if (max_verify > MAX_VERIFY) max_verify = MAX_VERIFY;
    int idx[MAX_VERIFY], n_score = 0;
    float floors[MAX_VERIFY], sims[MAX_VERIFY];
    int same_state[MAX_VERIFY];
    const char *texts[MAX_VERIFY];
    size_t lens[MAX_VERIFY];
    int use_verifier = in->verifier && in->query;
    int saw_similar = 0, saw_context = 0;
    float best_p = -1.0f, best_rejected = -1.0f, best_seen = 0.0f;
    for (int i = 0; i < cands->n; i++) {
        const cache_candidate *c = &cands->v[i];
        if (c->tier == CACHE_TIER_EXACT) {
            out->index = i;
            out->outcome = CACHE_SELECT_HIT_EXACT;
            out->similarity = 1.0f;
            return i;
        }
        if (c->similarity > best_seen) best_seen = c->similarity;
        float low = in->follow_up_threshold >= 0 && in->follow_up_threshold < in->threshold
                        ? in->follow_up_threshold
                        : in->threshold;
        if (c->similarity < low) continue;
        int match = cache_context_match(in, c, NULL);
        /* the last turn's floors: the follow-up ones in the same conversation state */
        float t_floor = match == 2 && in->follow_up_threshold >= 0 ? in->follow_up_threshold
                                                                    : in->threshold;
        float p_floor = match == 2 && in->follow_up_min_probability >= 0
                            ? in->follow_up_min_probability
                            : in->min_probability;
        if (c->similarity < t_floor) continue;
        saw_similar = 1;
        if (!match) continue;
        saw_context = 1;
        if (!use_verifier) {
            out->index = i;
            out->outcome = CACHE_SELECT_HIT_SIMILAR;
            out->similarity = c->similarity;
            return i;
        }
        if (n_score >= max_verify) break;
        idx[n_score] = i;
        same_state[n_score] = match == 2;
        floors[n_score] = p_floor;
        texts[n_score] = c->query_text ? c->query_text : "";
        lens[n_score] = strlen(texts[n_score]);
        sims[n_score++] = c->similarity;
    }
    /* the verifier on every candidate that passed, the request parsed once per model: the
     * follow-up model (when given) on the candidates in the same conversation state */
    float probs[MAX_VERIFY];
    const cache_verifier *models[2] = {in->verifier,
                                       in->follow_up_verifier ? in->follow_up_verifier : in->verifier};
    int n_models = models[1] != models[0] ? 2 : 1;
    for (int m = 0; m < n_models; m++) {
        const char *gt[MAX_VERIFY];
        size_t gl[MAX_VERIFY];
        float gs[MAX_VERIFY], gp[MAX_VERIFY];
        int gi[MAX_VERIFY], ng = 0;
        for (int k = 0; k < n_score; k++) {
            if (n_models == 2 && same_state[k] != m) continue;
            gt[ng] = texts[k];
            gl[ng] = lens[k];
            gs[ng] = sims[k];
            gi[ng++] = k;
        }
        if (!ng) continue;
        cache_verifier_score_many(models[m], in->query, in->query_len, ng, gt, gl, gs, gp);
        for (int g = 0; g < ng; g++)
            probs[gi[g]] = gp[g];
    }
    out->verified = n_score;
    for (int k = 0; k < n_score; k++) {
        float p = probs[k];
        if (p >= floors[k] && p > best_p) {
            best_p = p;
            out->index = idx[k];
            out->similarity = sims[k];
        } else if (p < floors[k] && p > best_rejected) {
            best_rejected = p;
        }
    }
    if (out->index >= 0) {
        out->outcome = CACHE_SELECT_HIT_VERIFIED;
        out->probability = best_p;
        return out->index;
    }
    out->probability = best_rejected;
    out->similarity = best_seen;
    out->outcome = !saw_similar   ? CACHE_SELECT_MISS_THRESHOLD
                   : !saw_context ? CACHE_SELECT_MISS_CONTEXT
                                  : CACHE_SELECT_MISS_VERIFIER;
    return -1;
}
