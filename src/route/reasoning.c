/* reasoning.c - entropy-based reasoning decision and its application through
 * reasoning families (see reasoning.h). */
#include "route/reasoning.h"
#include <math.h>
#include <string.h>

/* Weighted vote over the k most probable labels with a known flag:
 * ON when Σ p(reasoning) / Σ p(known) > 0.5. */
static int weighted_vote(const float *probs, const int *flags, int n, int k, float *ratio)
{
    int used[64] = {0}; /* top-k selection without sorting; k ≤ 3 */
    double on = 0, known = 0;
    for (int r = 0; r < k; r++) {
        int best = -1;
        for (int i = 0; i < n; i++) {
            int taken = 0;
            for (int j = 0; j < r; j++)
                if (used[j] == i) taken = 1;
            if (!taken && (best < 0 || probs[i] > probs[best])) best = i;
        }
        if (best < 0) break;
        used[r] = best;
        if (flags[best] >= 0) {
            known += probs[best];
            if (flags[best] == 1) on += probs[best];
        }
    }
    *ratio = known > 0 ? (float)(on / known) : 0;
    return known > 0 && on / known > 0.5;
}

void reasoning_entropy_decide(const float *probs, const int *flags, int n, float threshold,
                              reasoning_decision *out)
{
    memset(out, 0, sizeof *out);
    if (n <= 0) {
        out->level = "very_low";
        out->reason = "no_classification";
        return;
    }
    double h = 0;
    int top = 0;
    for (int i = 0; i < n; i++) {
        if (probs[i] > 0) h -= probs[i] * log2(probs[i]);
        if (probs[i] > probs[top]) top = i;
    }
    out->entropy = (float)h;
    out->normalized_entropy = n > 1 ? (float)(h / log2(n)) : 0;
    float hn = out->normalized_entropy, p = probs[top], ratio;
    if (hn >= 0.8f) {
        out->level = "very_high";
        out->enabled = 1;
        out->confidence = 0.3f;
        out->reason = "very_high_uncertainty";
    } else if (hn >= 0.6f) {
        out->level = "high";
        out->enabled = weighted_vote(probs, flags, n, 2, &ratio);
        out->confidence = ratio > 0.5f ? ratio : 1 - ratio;
        out->reason = "weighted_vote_top2";
    } else if (hn >= 0.4f) {
        out->level = "medium";
        if (p >= threshold && flags[top] >= 0) {
            out->enabled = flags[top] == 1;
            out->confidence = p * 0.8f;
            out->reason = "top_category_flag";
        } else {
            out->enabled = weighted_vote(probs, flags, n, 3, &ratio);
            out->confidence = ratio > 0.5f ? ratio : 1 - ratio;
            out->reason = "weighted_vote_top3";
        }
    } else {
        int low = hn >= 0.2f;
        out->level = low ? "low" : "very_low";
        if (flags[top] >= 0) {
            out->enabled = flags[top] == 1;
            out->confidence = p * (low ? 0.9f : 0.95f);
            out->reason = "top_category_flag";
        } else {
            out->enabled = 0;
            out->confidence = p;
            out->reason = "unknown_category";
        }
    }
}

int reasoning_apply(cJSON *req, const char *family_type, const char *param, int enabled,
                    const char *effort)
{
    if (!req || !cJSON_IsObject(req)) return -1;
    if (!family_type || !*family_type) return 0;
    if (!param || !*param) return -1;
    if (!strcmp(family_type, "chat_template_kwargs")) {
        cJSON *kw = cJSON_GetObjectItemCaseSensitive(req, "chat_template_kwargs");
        if (!cJSON_IsObject(kw)) {
            cJSON_DeleteItemFromObjectCaseSensitive(req, "chat_template_kwargs");
            if (!(kw = cJSON_AddObjectToObject(req, "chat_template_kwargs"))) return -1;
        }
        cJSON *v = cJSON_CreateBool(enabled);
        if (!v) return -1;
        if (cJSON_GetObjectItemCaseSensitive(kw, param))
            cJSON_ReplaceItemInObjectCaseSensitive(kw, param, v);
        else cJSON_AddItemToObject(kw, param, v);
        return 1;
    }
    if (!strcmp(family_type, "reasoning_effort")) {
        cJSON *cur = cJSON_GetObjectItemCaseSensitive(req, param);
        const char *val;
        if (enabled) val = effort && *effort ? effort : "medium";
        else if (cJSON_IsString(cur) && cur->valuestring[0]) return 0; /* keep the client's */
        else val = "low";
        cJSON *v = cJSON_CreateString(val);
        if (!v) return -1;
        if (cur) cJSON_ReplaceItemInObjectCaseSensitive(req, param, v);
        else cJSON_AddItemToObject(req, param, v);
        return 1;
    }
    return -1;
}
