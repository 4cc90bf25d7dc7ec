/* decide.c - the routing decision and the request rewrite (see decide.h). */
#include "route/decide.h"
#include "route/adapt.h"
#include "core/util.h"
#include "route/difficulty.h"
#include "route/keyword.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ROUTE_DEFAULT_HEAD "config/category_head.bin"
#define ROUTE_MAX_LABELS 256

struct route_engine {
    const sr_config *cfg;
    classifier *cls;
    int *label_category; /* [n_labels] -> cfg category index or -1 */
    int *label_flag;     /* [n_labels] use_reasoning of the category's best model, -1 unknown */
    keyword_set *keywords;
    tools_db *tools;
    difficulty_head *difficulty; /* difficulty_routing.enabled */
    int small_model, large_model;
};

const char *route_reason_name(route_reason r)
{
    switch (r) {
    case ROUTE_REASON_AUTO_ROUTING: return "auto_routing";
    case ROUTE_REASON_MODEL_SPECIFIED: return "model_specified";
    case ROUTE_REASON_KEYWORD_RULE: return "keyword_rule";
    case ROUTE_REASON_PII_ALTERNATIVE: return "pii_policy_alternative_selected";
    case ROUTE_REASON_DEFAULT_MODEL: return "default_model";
    }
    return "unknown";
}

/* The category's model_scores entry with the highest score (first on ties). */
static const sr_model_score *best_score(const sr_category *c)
{
    const sr_model_score *b = NULL;
    for (size_t i = 0; i < c->n_model_scores; i++)
        if (!b || c->model_scores[i].score > b->score) b = &c->model_scores[i];
    return b;
}

void route_engine_free(route_engine *e)
{
    if (!e) return;
    classifier_free(e->cls);
    free(e->label_category);
    free(e->label_flag);
    keyword_set_free(e->keywords);
    tools_db_free(e->tools);
    difficulty_free(e->difficulty);
    free(e);
}

route_engine *route_engine_new(const sr_config *cfg, const embed_model *m, char *err,
                               size_t errlen)
{
    route_engine *e = calloc(1, sizeof *e);
    embed_state *st = NULL;
    float *vecs = NULL;
    if (!e) goto oom;
    e->cfg = cfg;
    char path[4096];
    const char *hp = cfg->classifier.category_model.head_path;
    config_resolve_path(cfg, hp ? hp : ROUTE_DEFAULT_HEAD, path, sizeof path);
    char herr[512];
    classifier_head *head = NULL;
    if (m) head = classifier_head_load(path, embed_model_id(m), embed_dim(m), herr, sizeof herr);
    if (!head) {
        /* Without a head only keyword rules and examples can route; say so
         * unless the file was never asked for. */
        if (hp || !m) {
            snprintf(err, errlen, "%s", m ? herr : "no embedding model for the classifier");
            goto fail;
        }
        snprintf(err, errlen, "%s", herr);
        goto fail;
    }
    /* bert_model.threshold is the classic similarity threshold of the sentence
     * model; here it is the cosine at which an example utterance beats the head. */
    e->cls = classifier_new(head, (float)cfg->bert_model.threshold);
    if (!e->cls) goto oom;

    /* examples: embed each category's utterances */
    st = embed_state_new(m);
    if (!st) goto oom;
    for (size_t c = 0; c < cfg->n_categories; c++) {
        const sr_strlist *ex = &cfg->categories[c].examples;
        if (!ex->count) continue;
        int dim = embed_dim(m);
        vecs = malloc(ex->count * (size_t)dim * sizeof(float));
        if (!vecs) goto oom;
        for (size_t i = 0; i < ex->count; i++) {
            char eerr[256];
            if (embed_text(m, st, ex->items[i], strlen(ex->items[i]), vecs + i * dim, NULL, eerr,
                           sizeof eerr) < 0) {
                snprintf(err, errlen, "category '%s' example %zu: %s", cfg->categories[c].name,
                         i + 1, eerr);
                goto fail;
            }
        }
        if (classifier_add_examples(e->cls, cfg->categories[c].name, vecs, (int)ex->count, dim,
                                    err, errlen) < 0)
            goto fail;
        free(vecs);
        vecs = NULL;
    }

    /* classifier label -> config category: a category claims the labels in its
     * mmlu_categories, else the label of its own name (case-insensitive). */
    int nl = classifier_n_labels(e->cls);
    if (nl > ROUTE_MAX_LABELS) {
        snprintf(err, errlen, "the classifier has %d labels; at most %d are supported", nl,
                 ROUTE_MAX_LABELS);
        goto fail;
    }
    e->label_category = malloc((size_t)nl * sizeof(int));
    e->label_flag = malloc((size_t)nl * sizeof(int));
    if (!e->label_category || !e->label_flag) goto oom;
    for (int l = 0; l < nl; l++) {
        const char *name = classifier_label(e->cls, l);
        int found = -1;
        for (size_t c = 0; c < cfg->n_categories && found < 0; c++)
            for (size_t k = 0; k < cfg->categories[c].mmlu_categories.count; k++)
                if (!strcasecmp(cfg->categories[c].mmlu_categories.items[k], name)) {
                    found = (int)c;
                    break;
                }
        for (size_t c = 0; c < cfg->n_categories && found < 0; c++)
            if (!strcasecmp(cfg->categories[c].name, name)) found = (int)c;
        e->label_category[l] = found;
        const sr_model_score *b = found >= 0 ? best_score(&cfg->categories[found]) : NULL;
        e->label_flag[l] = b ? b->use_reasoning : -1;
    }

    if (cfg->n_keyword_rules) {
        keyword_rule *rules = calloc(cfg->n_keyword_rules, sizeof *rules);
        if (!rules) goto oom;
        for (size_t i = 0; i < cfg->n_keyword_rules; i++) {
            const sr_keyword_rule *r = &cfg->keyword_rules[i];
            rules[i].category = r->category;
            rules[i].op = r->op == SR_KEYWORD_AND   ? KEYWORD_AND
                          : r->op == SR_KEYWORD_NOR ? KEYWORD_NOR
                                                    : KEYWORD_OR;
            rules[i].keywords = (const char *const *)r->keywords.items;
            rules[i].n_keywords = (int)r->keywords.count;
            rules[i].case_sensitive = r->case_sensitive;
        }
        e->keywords = keyword_compile(rules, (int)cfg->n_keyword_rules, err, errlen);
        free(rules);
        if (!e->keywords) goto fail;
    }

    const sr_difficulty_config *dc = &cfg->difficulty_routing;
    if (dc->enabled) {
        e->small_model = dc->small_model ? config_find_model(cfg, dc->small_model) : -1;
        e->large_model = dc->large_model ? config_find_model(cfg, dc->large_model) : -1;
        if (e->small_model < 0 || e->large_model < 0) {
            snprintf(err, errlen,
                     "difficulty_routing: small_model and large_model must name models of "
                     "model_config (got '%s', '%s')",
                     dc->small_model ? dc->small_model : "", dc->large_model ? dc->large_model : "");
            goto fail;
        }
        config_resolve_path(cfg, dc->head_path ? dc->head_path : "config/difficulty_head.bin", path,
                            sizeof path);
        const classifier_head *ch = classifier_get_head(e->cls);
        if (!(e->difficulty = difficulty_load(path, embed_model_id(m), embed_dim(m),
                                              ch ? ch->n_classes : 0, err, errlen)))
            goto fail;
    }

    if (cfg->tools.enabled && cfg->tools.tools_db_path) {
        config_resolve_path(cfg, cfg->tools.tools_db_path, path, sizeof path);
        if (!(e->tools = tools_db_load(path, m, err, errlen))) goto fail;
    }
    embed_state_free(st);
    return e;
oom:
    snprintf(err, errlen, "out of memory building the router");
fail:
    free(vecs);
    embed_state_free(st);
    route_engine_free(e);
    return NULL;
}

const classifier *route_engine_classifier(const route_engine *e) { return e->cls; }
const sr_config *route_engine_config(const route_engine *e) { return e->cfg; }
int route_engine_label_category(const route_engine *e, int label)
{
    return label >= 0 && label < classifier_n_labels(e->cls) ? e->label_category[label] : -1;
}

/* Same PII type: names compared through the recognizers' table, so aliases
 * ("EMAIL" = "EMAIL_ADDRESS") match; unknown names compare as text. */
static int pii_same_type(const route_input *in, const char *a, const char *b)
{
    int ta = in->pii_type_of ? in->pii_type_of(a) : -1, tb = in->pii_type_of ? in->pii_type_of(b) : -1;
    if (ta >= 0 && tb >= 0) return ta == tb;
    return !strcasecmp(a, b);
}

/* 1 when the model's pii_policy lets every detected type through. */
static int pii_allowed(const sr_model *m, const route_input *in)
{
    if (m->pii_policy.allow_by_default || in->n_pii_types == 0) return 1;
    for (int i = 0; i < in->n_pii_types; i++) {
        int ok = 0;
        for (size_t k = 0; k < m->pii_policy.pii_types_allowed.count && !ok; k++)
            ok = pii_same_type(in, m->pii_policy.pii_types_allowed.items[k], in->pii_types[i]);
        if (!ok) return 0;
    }
    return 1;
}

static int healthy(const route_input *in, const char *model)
{
    return !in->model_healthy || in->model_healthy(in->health_ctx, model);
}

/* A model a borderline request may move to: healthy, allowed by its PII
 * policy and within its own budget. */
static int adapt_usable(const sr_config *cfg, const route_input *in, int mi)
{
    if (mi < 0) return 0;
    const sr_model *m = &cfg->models[mi];
    return healthy(in, m->name) && pii_allowed(m, in) &&
           (!in->model_breach || in->model_breach(in->breach_ctx, m->name) == ADAPT_OK);
}

static void set_model(const sr_config *cfg, route_decision *d, int idx)
{
    d->model_index = idx;
    d->model = idx >= 0 ? cfg->models[idx].name : NULL;
    d->upstream_model =
        idx >= 0 ? (cfg->models[idx].upstream_model ? cfg->models[idx].upstream_model
                                                    : cfg->models[idx].name)
                 : NULL;
}

/* Picks the model for category c (NULL: the default model is the only candidate).
 * Candidates in score order; the first healthy one the PII policy allows wins.
 * When PII excluded a candidate and none is left, any other allowed model is
 * taken (default model first, healthy before unhealthy) and *pii_moved is set;
 * when every candidate is merely unhealthy, the best one is kept (the endpoint
 * layer then fails over or answers 503). *entry = the chosen model_scores entry
 * or NULL when the model is outside the category. Returns -1 when no model
 * allows the PII found (blocked). */
static int pick_model(const sr_config *cfg, const sr_category *c, const route_input *in,
                      int *pii_moved, const sr_model_score **entry)
{
    const sr_model_score *cand[64];
    int nc = 0;
    for (size_t i = 0; c && i < c->n_model_scores && nc < 64; i++) {
        int pos = nc++; /* insertion sort, stable: equal scores keep file order */
        while (pos > 0 && cand[pos - 1]->score < c->model_scores[i].score) {
            cand[pos] = cand[pos - 1];
            pos--;
        }
        cand[pos] = &c->model_scores[i];
    }
    *pii_moved = 0;
    *entry = NULL;
    int first_healthy = -1, pii_excluded = 0;
    if (!c) {
        int dm = cfg->default_model_index;
        if (pii_allowed(&cfg->models[dm], in)) return dm;
        pii_excluded = 1;
    }
    for (int i = 0; i < nc; i++) {
        const sr_model *m = &cfg->models[cand[i]->model_index];
        int h = healthy(in, m->name), ok = pii_allowed(m, in);
        if (!ok) pii_excluded = 1;
        if (h && first_healthy < 0) first_healthy = i;
        if (h && ok) {
            *pii_moved = first_healthy != i;
            *entry = cand[i];
            return cand[i]->model_index;
        }
    }
    if (!pii_excluded) { /* all candidates unhealthy, none forbidden: keep the best */
        if (!nc) return cfg->default_model_index;
        *entry = cand[0];
        return cand[0]->model_index;
    }
    *pii_moved = 1;
    for (int want_healthy = 1; want_healthy >= 0; want_healthy--) {
        for (int i = 0; i < nc; i++) { /* allowed but unhealthy category models */
            const sr_model *m = &cfg->models[cand[i]->model_index];
            if (!want_healthy && pii_allowed(m, in)) {
                *entry = cand[i];
                return cand[i]->model_index;
            }
        }
        int dm = cfg->default_model_index;
        if (pii_allowed(&cfg->models[dm], in) && (!want_healthy || healthy(in, cfg->models[dm].name)))
            return dm;
        for (size_t i = 0; i < cfg->n_models; i++)
            if (pii_allowed(&cfg->models[i], in) &&
                (!want_healthy || healthy(in, cfg->models[i].name)))
                return (int)i;
    }
    return -1;
}

static const char *effort_of(const sr_config *cfg, const sr_model_score *ms)
{
    if (ms && ms->reasoning_effort && *ms->reasoning_effort) return ms->reasoning_effort;
    if (cfg->default_reasoning_effort && *cfg->default_reasoning_effort)
        return cfg->default_reasoning_effort;
    return "medium";
}

void route_classify(const route_engine *e, const route_input *in, route_signal *out)
{
    const sr_config *cfg = e->cfg;
    memset(out, 0, sizeof *out);
    out->category_index = -1;
    out->reason = ROUTE_REASON_DEFAULT_MODEL;
    out->method = "none";
    out->classified = 1;
    int cat = -1;
    /* 1. keyword rules */
    if (e->keywords && in->text) {
        int r = keyword_set_match(e->keywords, in->text, in->text_len);
        if (r >= 0) {
            cat = cfg->keyword_rules[r].category_index;
            out->reason = ROUTE_REASON_KEYWORD_RULE;
            out->method = "keyword";
            out->confidence = 1;
        }
    }
    /* 2. classifier */
    if (cat < 0 && in->embedding) {
        uint64_t t0 = util_now_ns();
        float probs[ROUTE_MAX_LABELS];
        classify_result cr;
        if (classifier_classify(e->cls, in->embedding, in->dim, in->text, in->text_len, probs, &cr) == 0 && cr.label >= 0) {
            out->have_probs = cr.method == CLASSIFY_HEAD;
            out->confidence = cr.confidence;
            out->method = classify_method_name(cr.method);
            int c = e->label_category[cr.label];
            if (c >= 0 &&
                (cr.method == CLASSIFY_EXAMPLES || cr.confidence >= cfg->classifier.category_model.threshold))
                cat = c;
            if (out->have_probs) {
                const classifier_head *h = classifier_get_head(e->cls);
                reasoning_entropy_decide(probs, e->label_flag, h->n_classes,
                                         (float)cfg->classifier.category_model.threshold, &out->entropy);
            }
        }
        out->classify_seconds = (double)(util_now_ns() - t0) / 1e9;
        if (cat >= 0) out->reason = ROUTE_REASON_AUTO_ROUTING;
    }
    if (cat < 0) out->reason = ROUTE_REASON_DEFAULT_MODEL;
    out->category_index = cat;
    /* 3. the difficulty score (route_choose applies it to the chosen model) */
    if (e->difficulty && in->embedding) {
        const classifier_head *h = classifier_get_head(e->cls);
        float hp[ROUTE_MAX_LABELS];
        if (h) classifier_head_probs(h, in->embedding, in->text, in->text_len, hp);
        out->difficulty_score =
            difficulty_score(e->difficulty, in->embedding, h ? hp : NULL, in->text, in->text_len);
        out->have_difficulty = 1;
        out->small_model = e->small_model;
        out->large_model = e->large_model;
    }
}

int route_choose(const sr_config *cfg, const route_signal *sig, const route_input *in,
                 route_decision *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->category_index = -1;
    out->model_index = -1;
    out->method = "none";

    if (in->requested_model && *in->requested_model &&
        !config_is_auto_model(cfg, in->requested_model)) {
        int mi = config_find_model(cfg, in->requested_model);
        if (mi < 0) {
            snprintf(err, errlen, "The model '%s' does not exist", in->requested_model);
            return -1;
        }
        out->reason = ROUTE_REASON_MODEL_SPECIFIED;
        out->method = "explicit";
        if (!pii_allowed(&cfg->models[mi], in)) out->pii_blocked = 1;
        else set_model(cfg, out, mi);
        return 0;
    }

    int cat = -1, have_probs = 0;
    out->reason = ROUTE_REASON_DEFAULT_MODEL;
    if (sig && sig->classified) {
        cat = sig->category_index;
        out->reason = sig->reason;
        out->method = sig->method;
        out->confidence = sig->confidence;
        out->entropy = sig->entropy;
        out->classify_seconds = sig->classify_seconds;
        have_probs = sig->have_probs;
    }

    /* 3. model */
    const sr_category *c = cat >= 0 ? &cfg->categories[cat] : NULL;
    int pii_moved = 0;
    const sr_model_score *entry = NULL;
    int mi = pick_model(cfg, c, in, &pii_moved, &entry);
    if (mi < 0) {
        out->pii_blocked = 1;
    } else {
        set_model(cfg, out, mi);
        /* A LoRA adapter is served under its own name: that is the model sent upstream. */
        if (entry && entry->lora_name && *entry->lora_name) out->upstream_model = entry->lora_name;
        if (pii_moved) out->reason = ROUTE_REASON_PII_ALTERNATIVE;
    }
    if (c) {
        out->category_index = cat;
        out->category = c->name;
        if (c->system_prompt && *c->system_prompt && c->system_prompt_enabled) {
            out->system_prompt = c->system_prompt;
            out->system_prompt_mode =
                c->system_prompt_mode == SR_PROMPT_INSERT ? SYSPROMPT_INSERT : SYSPROMPT_REPLACE;
        }
    }

    /* 3b. difficulty: small or large model */
    if (sig && sig->classified && sig->have_difficulty && mi >= 0 && !pii_moved) {
        out->difficulty_score = sig->difficulty_score;
        double thr = c && c->difficulty_threshold_set ? c->difficulty_threshold
                                                      : cfg->difficulty_routing.threshold;
        int want = out->difficulty_score >= thr ? sig->large_model : sig->small_model;
        const sr_model *wm = &cfg->models[want];
        if (want == mi) {
            out->difficulty = want == sig->large_model ? "large" : "small";
        } else if (healthy(in, wm->name) && pii_allowed(wm, in)) {
            out->difficulty = want == sig->large_model ? "large" : "small";
            mi = want;
            set_model(cfg, out, mi);
            entry = NULL;
            for (size_t i = 0; c && i < c->n_model_scores; i++)
                if (c->model_scores[i].model_index == mi) entry = &c->model_scores[i];
            if (entry && entry->lora_name && *entry->lora_name) out->upstream_model = entry->lora_name;
        } else {
            out->difficulty = "kept";
        }
    }

    /* 3c. adaptation: a borderline request leaves a model over its budget */
    if (mi >= 0 && !pii_moved && cfg->adaptation.enabled && in->model_breach && sig && sig->classified) {
        int breach = in->model_breach(in->breach_ctx, cfg->models[mi].name);
        int alt = -1;
        const char *which = NULL;
        float dist = 0;
        if (breach != ADAPT_OK && out->difficulty && strcmp(out->difficulty, "kept")) {
            double thr = c && c->difficulty_threshold_set ? c->difficulty_threshold
                                                          : cfg->difficulty_routing.threshold;
            dist = fabsf(out->difficulty_score - (float)thr);
            if (dist < cfg->adaptation.difficulty_margin) {
                which = "difficulty";
                alt = mi == sig->large_model ? sig->small_model : sig->large_model;
                if (!adapt_usable(cfg, in, alt)) alt = -1;
            }
        } else if (breach != ADAPT_OK && c && !out->difficulty && out->method && !strcmp(out->method, "head")) {
            dist = fabsf(out->confidence - (float)cfg->classifier.category_model.threshold);
            if (dist < cfg->adaptation.category_margin) {
                which = "category";
                const sr_model_score *pick = NULL;
                for (size_t i = 0; i < c->n_model_scores; i++) { /* best other score, file order on ties */
                    const sr_model_score *ms = &c->model_scores[i];
                    if (ms->model_index == mi || !adapt_usable(cfg, in, ms->model_index)) continue;
                    if (!pick || ms->score > pick->score) pick = ms;
                }
                alt = pick ? pick->model_index : -1;
            }
        }
        if (alt >= 0 && alt != mi) {
            out->adapted_from = cfg->models[mi].name;
            out->adapt_reason = adapt_reason_name((adapt_reason)breach);
            out->adapt_signal = which;
            out->adapt_distance = dist;
            if (out->difficulty) out->difficulty = alt == sig->large_model ? "large" : "small";
            mi = alt;
            set_model(cfg, out, mi);
            entry = NULL;
            for (size_t i = 0; c && i < c->n_model_scores; i++)
                if (c->model_scores[i].model_index == mi) entry = &c->model_scores[i];
            if (entry && entry->lora_name && *entry->lora_name) out->upstream_model = entry->lora_name;
        }
    }

    /* 4. reasoning */
    out->reasoning_set = mi >= 0;
    const sr_model_score *best = c ? best_score(c) : NULL;
    if (have_probs && (!c || (entry && entry == best)))
        out->reasoning = out->entropy.enabled; /* classifier decided, first choice kept */
    else out->reasoning = entry ? entry->use_reasoning : 0;
    out->reasoning_effort = effort_of(cfg, entry);
    /* What is reported is what is applied: a model without a reasoning family
     * cannot be asked to think (the entropy verdict stays in out->entropy). */
    if (mi >= 0 && cfg->models[mi].reasoning_family_index < 0) out->reasoning = 0;
    return 0;
}

int route_decide(const route_engine *e, const route_input *in, route_decision *out, char *err,
                 size_t errlen)
{
    route_signal sig;
    int is_auto = !in->requested_model || !*in->requested_model ||
                  config_is_auto_model(e->cfg, in->requested_model);
    if (is_auto) route_classify(e, in, &sig);
    return route_choose(e->cfg, is_auto ? &sig : NULL, in, out, err, errlen);
}

int route_rewrite_request(const route_engine *e, const route_decision *d, cJSON *req)
{
    const sr_config *cfg = e->cfg;
    if (d->model_index < 0) return 0;
    const sr_model *m = &cfg->models[d->model_index];
    if (d->reasoning_set && m->reasoning_family_index >= 0) {
        const sr_reasoning_family *f = &cfg->reasoning_families[m->reasoning_family_index];
        if (reasoning_apply(req,
                            f->type == SR_REASONING_EFFORT ? "reasoning_effort"
                                                           : "chat_template_kwargs",
                            f->parameter, d->reasoning, d->reasoning_effort) < 0)
            return -1;
    }
    if (d->system_prompt && sysprompt_apply(req, d->system_prompt, d->system_prompt_mode) < 0)
        return -1;
    cJSON *name = cJSON_CreateString(d->upstream_model);
    if (!name) return -1;
    if (cJSON_GetObjectItemCaseSensitive(req, "model"))
        cJSON_ReplaceItemInObjectCaseSensitive(req, "model", name);
    else cJSON_AddItemToObject(req, "model", name);
    return 0;
}

int route_select_tools(const route_engine *e, cJSON *req, const float *embedding, int dim)
{
    const sr_config *cfg = e->cfg;
    if (!cfg->tools.enabled || !e->tools || !embedding) return 0;
    return tools_apply(req, e->tools, embedding, dim, cfg->tools.top_k,
                       (float)cfg->tools.similarity_threshold, cfg->tools.fallback_to_empty, NULL);
}
