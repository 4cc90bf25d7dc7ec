/* config_schema.c - which keys exist, what type each has, and its default.
 *
 * One field table per YAML mapping; cfg_walk (config.c) reads a mapping with
 * it. Lists and maps of structs (endpoints, models, categories, ...) have small
 * handlers that size the C array once and walk each item. Defaults are set
 * before parsing, so an absent key keeps its default. The classic
 * vLLM Semantic Router keys come first in each table, ours after. */
#include "config/config_internal.h"
#include "core/util.h"
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define F(k, t, T, m, fl, lo, hi)                                                                  \
    {                                                                                              \
        .key = k, .type = t, .off = offsetof(T, m), .set_off = -1, .flags = fl, .min = lo,         \
        .max = hi                                                                                  \
    }
#define FSET(k, t, T, m, setm, fl, lo, hi)                                                         \
    {                                                                                              \
        .key = k, .type = t, .off = offsetof(T, m), .set_off = (int)offsetof(T, setm),             \
        .flags = fl, .min = lo, .max = hi                                                          \
    }
#define FSTR(k, T, m) F(k, FT_STR, T, m, 0, 0, 0)
#define FLIST(k, T, m) F(k, FT_STRLIST, T, m, 0, 0, 0)
#define FBOOL(k, T, m) F(k, FT_BOOL, T, m, 0, 0, 0)
#define FINT(k, T, m, fl, lo, hi) F(k, FT_INT, T, m, fl, lo, hi)
#define FPROB(k, T, m) F(k, FT_DOUBLE, T, m, CFG_MIN | CFG_MAX, 0, 1) /* [0,1] */
#define FENUM(k, T, m, nm, fl)                                                                     \
    {                                                                                              \
        .key = k, .type = FT_ENUM, .off = offsetof(T, m), .set_off = -1, .flags = fl, .names = nm  \
    }
#define FSEC(k, T, m, s)                                                                           \
    {                                                                                              \
        .key = k, .type = FT_SECTION, .off = offsetof(T, m), .set_off = -1, .sub = s               \
    }
#define FSEC0(k, s)                                                                                \
    {                                                                                              \
        .key = k, .type = FT_SECTION, .off = 0, .set_off = -1, .sub = s                            \
    }
#define FFUNC(k, T, m, f)                                                                          \
    {                                                                                              \
        .key = k, .type = FT_FUNC, .off = offsetof(T, m), .set_off = -1, .fn = f                   \
    }
#define FIGNORE(k)                                                                                 \
    {                                                                                              \
        .key = k, .type = FT_IGNORE, .set_off = -1                                                 \
    }
#define FEND                                                                                       \
    {                                                                                              \
        .key = NULL                                                                                \
    }
#define RANGE (CFG_MIN | CFG_MAX)

static char *dupz(const char *s)
{
    return s ? strdup(s) : NULL;
}

static size_t seq_len(const yaml_node_t *n)
{
    return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
}
static size_t map_len(const yaml_node_t *n)
{
    return (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
}

/* ---- server ---------------------------------------------------------------------------- */

static const cfg_field server_fields[] = {
    FSTR("listen", sr_server_config, listen),
    FINT("port", sr_server_config, port, RANGE, 1, 65535),
    FINT("metrics_port", sr_server_config, metrics_port, RANGE, 0, 65535),
    FINT("workers", sr_server_config, workers, RANGE, 0, 1024),
    FINT("compute_threads", sr_server_config, compute_threads, RANGE, 0, 256),
    FINT("compute_batch", sr_server_config, compute_batch, RANGE, 1, 1024),
    F("max_body_bytes", FT_SIZE, sr_server_config, max_body_bytes, CFG_MIN, 1, 0),
    F("max_header_bytes", FT_SIZE, sr_server_config, max_header_bytes, CFG_MIN, 256, 0),
    FINT("idle_timeout_seconds", sr_server_config, idle_timeout_seconds, CFG_MIN, 1, 0),
    FINT("request_timeout_seconds", sr_server_config, request_timeout_seconds, CFG_MIN, 1, 0),
    FINT("connect_timeout_ms", sr_server_config, connect_timeout_ms, CFG_MIN, 1, 0),
    FINT("first_byte_timeout_seconds", sr_server_config, first_byte_timeout_seconds, CFG_MIN, 1, 0),
    FBOOL("log_requests", sr_server_config, log_requests),
    FEND,
};

/* ---- vllm_endpoints -------------------------------------------------------------------- */

static const cfg_field endpoint_fields[] = {
    FSTR("name", sr_endpoint, name),
    FSTR("address", sr_endpoint, address),
    FINT("port", sr_endpoint, port, RANGE, 1, 65535),
    FINT("weight", sr_endpoint, weight, CFG_MIN | CFG_MIN_EXCL, 0, 0),
    FLIST("models", sr_endpoint, models), /* legacy classic */
    FIGNORE("health_check_path"),         /* legacy classic */
    FSTR("base_url", sr_endpoint, base_url),
    FSTR("api_key_env", sr_endpoint, api_key_env),
    FINT("max_fails", sr_endpoint, max_fails, CFG_MIN, 1, 0),
    FINT("eject_seconds", sr_endpoint, eject_seconds, CFG_MIN, 0, 0),
    FEND,
};

static void endpoint_free(sr_endpoint *e)
{
    free(e->name);
    free(e->address);
    free(e->base_url);
    free(e->api_key_env);
    free(e->api_key);
    cfg_strlist_free(&e->models);
    free(e->host);
    free(e->api_base);
}

static void endpoints_free(sr_config *c)
{
    for (size_t i = 0; i < c->n_endpoints; i++)
        endpoint_free(&c->endpoints[i]);
    free(c->endpoints);
    c->endpoints = NULL;
    c->n_endpoints = 0;
}

static void parse_endpoints(cfg_loader *L, yaml_node_t *k, yaml_node_t *v, void *target,
                            const char *path)
{
    (void)k;
    (void)target;
    sr_config *c = L->cfg;
    endpoints_free(c);
    if (cfg_is_null(v)) return;
    if (v->type != YAML_SEQUENCE_NODE) {
        cfg_error_at(L, v, "%s: expected a list of endpoints, got %s", path, cfg_node_kind(v));
        return;
    }
    size_t n = seq_len(v);
    c->endpoints = calloc(n ? n : 1, sizeof *c->endpoints);
    if (!c->endpoints) return;
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *it = cfg_node(L, v->data.sequence.items.start[i]);
        if (cfg_budget(L, it ? it : v)) break;
        char p[64];
        snprintf(p, sizeof p, "%s[%zu]", path, i);
        if (!it || it->type != YAML_MAPPING_NODE) {
            cfg_error_at(L, it, "%s: expected a mapping (name, address, port), got %s", p,
                         cfg_node_kind(it));
            continue;
        }
        sr_endpoint *e = &c->endpoints[c->n_endpoints++];
        e->weight = 1;
        e->max_fails = 3;
        e->eject_seconds = 10;
        cfg_mark_add(L, e, it);
        cfg_walk(L, it, endpoint_fields, e, p);
    }
}

/* ---- model_config ---------------------------------------------------------------------- */

static const cfg_field pii_policy_fields[] = {
    FBOOL("allow_by_default", sr_model, pii_policy.allow_by_default),
    FLIST("pii_types_allowed", sr_model, pii_policy.pii_types_allowed),
    FEND,
};

static const cfg_field pricing_fields[] = {
    FSTR("currency", sr_model, pricing.currency),
    F("prompt_per_1m", FT_DOUBLE, sr_model, pricing.prompt_per_1m, CFG_MIN, 0, 0),
    F("completion_per_1m", FT_DOUBLE, sr_model, pricing.completion_per_1m, CFG_MIN, 0, 0),
    FEND,
};

static const cfg_field model_fields[] = {
    FSTR("reasoning_family", sr_model, reasoning_family),
    FLIST("preferred_endpoints", sr_model, preferred_endpoints),
    FSEC0("pii_policy", pii_policy_fields),
    {.key = "pricing",
     .type = FT_SECTION,
     .off = 0,
     .set_off = (int)offsetof(sr_model, pricing.set),
     .sub = pricing_fields},
    FIGNORE("param_count"), /* legacy classic keys */
    FIGNORE("batch_size"),
    FIGNORE("context_size"),
    FSTR("upstream_model", sr_model, upstream_model),
    FEND,
};

static void model_free(sr_model *m)
{
    free(m->name);
    free(m->upstream_model);
    cfg_strlist_free(&m->preferred_endpoints);
    free(m->endpoint_index);
    free(m->reasoning_family);
    cfg_strlist_free(&m->pii_policy.pii_types_allowed);
    free(m->pricing.currency);
}

static void models_free(sr_config *c)
{
    for (size_t i = 0; i < c->n_models; i++)
        model_free(&c->models[i]);
    free(c->models);
    c->models = NULL;
    c->n_models = 0;
}

static void parse_models(cfg_loader *L, yaml_node_t *k, yaml_node_t *v, void *target,
                         const char *path)
{
    (void)k;
    (void)target;
    sr_config *c = L->cfg;
    models_free(c);
    if (cfg_is_null(v)) return;
    if (v->type != YAML_MAPPING_NODE) {
        cfg_error_at(L, v, "%s: expected a mapping of model name to settings, got %s", path,
                     cfg_node_kind(v));
        return;
    }
    size_t n = map_len(v);
    c->models = calloc(n ? n : 1, sizeof *c->models);
    if (!c->models) return;
    for (yaml_node_pair_t *pr = v->data.mapping.pairs.start; pr < v->data.mapping.pairs.top; pr++) {
        yaml_node_t *mk = cfg_node(L, pr->key), *mv = cfg_node(L, pr->value);
        if (cfg_budget(L, mk ? mk : v)) break;
        if (!mk || mk->type != YAML_SCALAR_NODE) {
            cfg_error_at(L, mk, "%s: model names must be strings, got %s", path, cfg_node_kind(mk));
            continue;
        }
        char p[300];
        snprintf(p, sizeof p, "%s.%s", path, (const char *)mk->data.scalar.value);
        sr_model *m = &c->models[c->n_models++];
        m->name = cfg_scalar_dup(mk);
        m->reasoning_family_index = -1;
        m->pii_policy.allow_by_default = true;
        cfg_mark_add(L, m, mk);
        cfg_mark_add(L, &m->name, mk);
        if (cfg_is_null(mv)) continue; /* "name:" with no settings: all defaults */
        if (mv->type != YAML_MAPPING_NODE) {
            cfg_error_at(L, mv, "%s: expected a mapping, got %s", p, cfg_node_kind(mv));
            continue;
        }
        cfg_walk(L, mv, model_fields, m, p);
    }
}

/* ---- reasoning_families ---------------------------------------------------------------- */

static const char *const reasoning_type_names[] = {"chat_template_kwargs", "reasoning_effort",
                                                   NULL};
static const cfg_field family_fields[] = {
    FENUM("type", sr_reasoning_family, type, reasoning_type_names, 0),
    FSTR("parameter", sr_reasoning_family, parameter),
    FEND,
};

static void families_free(sr_config *c)
{
    for (size_t i = 0; i < c->n_reasoning_families; i++) {
        free(c->reasoning_families[i].name);
        free(c->reasoning_families[i].parameter);
    }
    free(c->reasoning_families);
    c->reasoning_families = NULL;
    c->n_reasoning_families = 0;
}

static void parse_families(cfg_loader *L, yaml_node_t *k, yaml_node_t *v, void *target,
                           const char *path)
{
    (void)k;
    (void)target;
    sr_config *c = L->cfg;
    families_free(c);
    if (cfg_is_null(v)) return;
    if (v->type != YAML_MAPPING_NODE) {
        cfg_error_at(L, v, "%s: expected a mapping of family name to {type, parameter}, got %s",
                     path, cfg_node_kind(v));
        return;
    }
    size_t n = map_len(v);
    c->reasoning_families = calloc(n ? n : 1, sizeof *c->reasoning_families);
    if (!c->reasoning_families) return;
    for (yaml_node_pair_t *pr = v->data.mapping.pairs.start; pr < v->data.mapping.pairs.top; pr++) {
        yaml_node_t *fk = cfg_node(L, pr->key), *fv = cfg_node(L, pr->value);
        if (cfg_budget(L, fk ? fk : v)) break;
        if (!fk || fk->type != YAML_SCALAR_NODE) {
            cfg_error_at(L, fk, "%s: family names must be strings", path);
            continue;
        }
        char p[300];
        snprintf(p, sizeof p, "%s.%s", path, (const char *)fk->data.scalar.value);
        if (!fv || fv->type != YAML_MAPPING_NODE) {
            cfg_error_at(L, fv ? fv : fk, "%s: expected a mapping {type, parameter}, got %s", p,
                         cfg_node_kind(fv));
            continue;
        }
        sr_reasoning_family *f = &c->reasoning_families[c->n_reasoning_families++];
        f->name = cfg_scalar_dup(fk);
        cfg_mark_add(L, f, fk);
        uint64_t seen = cfg_walk(L, fv, family_fields, f, p);
        if (!CFG_SEEN(seen, family_fields, "type"))
            cfg_error_at(L, fk, "%s: missing 'type' (chat_template_kwargs or reasoning_effort)", p);
        if (!CFG_SEEN(seen, family_fields, "parameter") || !f->parameter || !*f->parameter)
            cfg_error_at(L, fk, "%s: missing 'parameter' (e.g. enable_thinking)", p);
    }
}

/* ---- categories ------------------------------------------------------------------------ */

static const cfg_field score_fields[] = {
    FSTR("model", sr_model_score, model),
    F("score", FT_DOUBLE, sr_model_score, score, CFG_MIN | CFG_MIN_EXCL, 0, 0),
    FBOOL("use_reasoning", sr_model_score, use_reasoning),
    FSTR("reasoning_effort", sr_model_score, reasoning_effort),
    FSTR("reasoning_description", sr_model_score, reasoning_description),
    FEND,
};

static void scores_free(sr_category *cat)
{
    for (size_t i = 0; i < cat->n_model_scores; i++) {
        free(cat->model_scores[i].model);
        free(cat->model_scores[i].reasoning_effort);
        free(cat->model_scores[i].reasoning_description);
    }
    free(cat->model_scores);
    cat->model_scores = NULL;
    cat->n_model_scores = 0;
}

static void parse_scores(cfg_loader *L, yaml_node_t *k, yaml_node_t *v, void *target,
                         const char *path)
{
    (void)k;
    sr_category *cat = (sr_category *)((char *)target - offsetof(sr_category, model_scores));
    scores_free(cat);
    if (cfg_is_null(v)) return;
    if (v->type != YAML_SEQUENCE_NODE) {
        cfg_error_at(L, v, "%s: expected a list of {model, score, use_reasoning}, got %s", path,
                     cfg_node_kind(v));
        return;
    }
    size_t n = seq_len(v);
    cat->model_scores = calloc(n ? n : 1, sizeof *cat->model_scores);
    if (!cat->model_scores) return;
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *it = cfg_node(L, v->data.sequence.items.start[i]);
        if (cfg_budget(L, it ? it : v)) break;
        char p[300];
        snprintf(p, sizeof p, "%s[%zu]", path, i);
        if (!it || it->type != YAML_MAPPING_NODE) {
            cfg_error_at(L, it, "%s: expected a mapping {model, score, use_reasoning}, got %s", p,
                         cfg_node_kind(it));
            continue;
        }
        sr_model_score *s = &cat->model_scores[cat->n_model_scores++];
        s->model_index = -1;
        cfg_mark_add(L, s, it);
        uint64_t seen = cfg_walk(L, it, score_fields, s, p);
        if (!CFG_SEEN(seen, score_fields, "use_reasoning") && L->legacy_use_reasoning >= 0) {
            s->use_reasoning = L->legacy_use_reasoning;
            seen |= (uint64_t)1 << cfg_field_index(score_fields, "use_reasoning");
            if (!s->reasoning_effort && L->legacy_effort)
                cfg_parse_str(L, L->legacy_effort, &s->reasoning_effort, p);
        }
        if (!CFG_SEEN(seen, score_fields, "model")) cfg_error_at(L, it, "%s: missing 'model'", p);
        if (!CFG_SEEN(seen, score_fields, "score"))
            cfg_error_at(L, it, "%s: missing 'score' (a number greater than 0)", p);
        if (!CFG_SEEN(seen, score_fields, "use_reasoning"))
            cfg_error_at(L, it, "%s: missing 'use_reasoning' (true or false); it is required", p);
    }
}

static const char *const prompt_mode_names[] = {"replace", "insert", NULL};
static const cfg_field category_fields[] = {
    FSTR("name", sr_category, name),
    FSTR("description", sr_category, description),
    FLIST("mmlu_categories", sr_category, mmlu_categories),
    FSTR("system_prompt", sr_category, system_prompt),
    FBOOL("system_prompt_enabled", sr_category, system_prompt_enabled),
    FENUM("system_prompt_mode", sr_category, system_prompt_mode, prompt_mode_names, CFG_EMPTY_OK),
    FFUNC("model_scores", sr_category, model_scores, parse_scores),
    FSET("semantic_cache_enabled", FT_BOOL, sr_category, semantic_cache_enabled,
         semantic_cache_enabled_set, 0, 0, 0),
    FSET("semantic_cache_similarity_threshold", FT_DOUBLE, sr_category,
         semantic_cache_similarity_threshold, semantic_cache_similarity_threshold_set, RANGE, 0, 1),
    FSET("jailbreak_enabled", FT_BOOL, sr_category, jailbreak_enabled, jailbreak_enabled_set, 0, 0,
         0),
    FSET("jailbreak_threshold", FT_DOUBLE, sr_category, jailbreak_threshold,
         jailbreak_threshold_set, RANGE, 0, 1),
    FSET("pii_enabled", FT_BOOL, sr_category, pii_enabled, pii_enabled_set, 0, 0, 0),
    FSET("pii_threshold", FT_DOUBLE, sr_category, pii_threshold, pii_threshold_set, RANGE, 0, 1),
    FLIST("examples", sr_category, examples),
    FIGNORE("use_reasoning"), /* legacy classic: read by parse_categories */
    FIGNORE("reasoning_effort"),
    FIGNORE("reasoning_description"),
    FEND,
};

static void category_free(sr_category *cat)
{
    free(cat->name);
    free(cat->description);
    cfg_strlist_free(&cat->mmlu_categories);
    free(cat->system_prompt);
    scores_free(cat);
    cfg_strlist_free(&cat->examples);
}

static void categories_free(sr_config *c)
{
    for (size_t i = 0; i < c->n_categories; i++)
        category_free(&c->categories[i]);
    free(c->categories);
    c->categories = NULL;
    c->n_categories = 0;
}

static void parse_categories(cfg_loader *L, yaml_node_t *k, yaml_node_t *v, void *target,
                             const char *path)
{
    (void)k;
    (void)target;
    sr_config *c = L->cfg;
    categories_free(c);
    if (cfg_is_null(v)) return;
    if (v->type != YAML_SEQUENCE_NODE) {
        cfg_error_at(L, v, "%s: expected a list of categories, got %s", path, cfg_node_kind(v));
        return;
    }
    size_t n = seq_len(v);
    c->categories = calloc(n ? n : 1, sizeof *c->categories);
    if (!c->categories) return;
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *it = cfg_node(L, v->data.sequence.items.start[i]);
        if (cfg_budget(L, it ? it : v)) break;
        char p[64];
        snprintf(p, sizeof p, "%s[%zu]", path, i);
        if (!it || it->type != YAML_MAPPING_NODE) {
            cfg_error_at(L, it, "%s: expected a mapping (name, model_scores, ...), got %s", p,
                         cfg_node_kind(it));
            continue;
        }
        sr_category *cat = &c->categories[c->n_categories++];
        cfg_mark_add(L, cat, it);
        /* Legacy classic files put use_reasoning / reasoning_effort on the category. */
        L->legacy_use_reasoning = -1;
        L->legacy_effort = NULL;
        for (yaml_node_pair_t *pr = it->data.mapping.pairs.start; pr < it->data.mapping.pairs.top;
             pr++) {
            yaml_node_t *lk = cfg_node(L, pr->key), *lv = cfg_node(L, pr->value);
            if (!lk || lk->type != YAML_SCALAR_NODE || cfg_is_null(lv)) continue;
            char lp[300];
            snprintf(lp, sizeof lp, "%s.%s", p, (const char *)lk->data.scalar.value);
            bool b;
            if (!strcmp((const char *)lk->data.scalar.value, "use_reasoning") &&
                cfg_parse_bool(L, lv, &b, lp) == 0)
                L->legacy_use_reasoning = b;
            else if (!strcmp((const char *)lk->data.scalar.value, "reasoning_effort"))
                L->legacy_effort = lv;
        }
        uint64_t seen = cfg_walk(L, it, category_fields, cat, p);
        L->legacy_use_reasoning = -1;
        L->legacy_effort = NULL;
        if (!CFG_SEEN(seen, category_fields, "system_prompt_enabled"))
            cat->system_prompt_enabled = cat->system_prompt && *cat->system_prompt;
        if (!CFG_SEEN(seen, category_fields, "model_scores"))
            cfg_mark_add(L, &cat->model_scores, it);
    }
}

/* ---- keyword_rules --------------------------------------------------------------------- */

static const char *const keyword_op_names[] = {"OR", "AND", "NOR", NULL};
static const cfg_field keyword_fields[] = {
    FSTR("category", sr_keyword_rule, category),
    FENUM("operator", sr_keyword_rule, op, keyword_op_names, 0),
    FLIST("keywords", sr_keyword_rule, keywords),
    FBOOL("case_sensitive", sr_keyword_rule, case_sensitive),
    FEND,
};

static void keyword_rules_free(sr_config *c)
{
    for (size_t i = 0; i < c->n_keyword_rules; i++) {
        free(c->keyword_rules[i].category);
        cfg_strlist_free(&c->keyword_rules[i].keywords);
    }
    free(c->keyword_rules);
    c->keyword_rules = NULL;
    c->n_keyword_rules = 0;
}

static void parse_keyword_rules(cfg_loader *L, yaml_node_t *k, yaml_node_t *v, void *target,
                                const char *path)
{
    (void)k;
    (void)target;
    sr_config *c = L->cfg;
    keyword_rules_free(c);
    if (cfg_is_null(v)) return;
    if (v->type != YAML_SEQUENCE_NODE) {
        cfg_error_at(L, v, "%s: expected a list of rules, got %s", path, cfg_node_kind(v));
        return;
    }
    size_t n = seq_len(v);
    c->keyword_rules = calloc(n ? n : 1, sizeof *c->keyword_rules);
    if (!c->keyword_rules) return;
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *it = cfg_node(L, v->data.sequence.items.start[i]);
        if (cfg_budget(L, it ? it : v)) break;
        char p[64];
        snprintf(p, sizeof p, "%s[%zu]", path, i);
        if (!it || it->type != YAML_MAPPING_NODE) {
            cfg_error_at(L, it, "%s: expected a mapping (category, operator, keywords), got %s", p,
                         cfg_node_kind(it));
            continue;
        }
        sr_keyword_rule *r = &c->keyword_rules[c->n_keyword_rules++];
        r->category_index = -1;
        cfg_mark_add(L, r, it);
        uint64_t seen = cfg_walk(L, it, keyword_fields, r, p);
        if (!CFG_SEEN(seen, keyword_fields, "category"))
            cfg_error_at(L, it, "%s: missing 'category'", p);
        if (!CFG_SEEN(seen, keyword_fields, "operator"))
            cfg_error_at(L, it, "%s: missing 'operator' (AND, OR or NOR)", p);
        if (!CFG_SEEN(seen, keyword_fields, "keywords"))
            cfg_error_at(L, it, "%s: missing 'keywords' (a list of words or phrases)", p);
    }
}

/* ---- classifier, bert_model ------------------------------------------------------------ */

static const cfg_field category_model_fields[] = {
    FSTR("model_id", sr_category_model, model_id),
    FPROB("threshold", sr_category_model, threshold),
    FBOOL("use_cpu", sr_category_model, use_cpu),
    FBOOL("use_modernbert", sr_category_model, use_modernbert),
    FSTR("category_mapping_path", sr_category_model, category_mapping_path),
    FSTR("head_path", sr_category_model, head_path),
    FEND,
};

static const cfg_field pii_model_fields[] = {
    FSTR("model_id", sr_pii_model, model_id),
    FPROB("threshold", sr_pii_model, threshold),
    FBOOL("use_cpu", sr_pii_model, use_cpu),
    FBOOL("use_modernbert", sr_pii_model, use_modernbert),
    FSTR("pii_mapping_path", sr_pii_model, pii_mapping_path),
    FEND,
};

static const cfg_field classifier_fields[] = {
    FSEC("category_model", sr_classifier_config, category_model, category_model_fields),
    FSEC("pii_model", sr_classifier_config, pii_model, pii_model_fields),
    FIGNORE("mcp_category_model"),
    FEND,
};

static const cfg_field bert_fields[] = {
    FSTR("model_id", sr_bert_model, model_id),
    FPROB("threshold", sr_bert_model, threshold),
    FBOOL("use_cpu", sr_bert_model, use_cpu),
    FEND,
};

/* ---- semantic_cache, embedding_model --------------------------------------------------- */

static const char *const backend_names[] = {"memory", "milvus", "hybrid", NULL};
static const char *const eviction_names[] = {"fifo", "lru", "lfu", NULL};
static const char *const storage_names[] = {"f32", "f16", "int8", NULL};
static const char *const scope_names[] = {"tenant", "global", NULL};

#define SC sr_semantic_cache_config
static const cfg_field cache_fields[] = {
    FBOOL("enabled", SC, enabled),
    FENUM("backend_type", SC, backend_type, backend_names, 0),
    FSTR("backend_config_path", SC, backend_config_path),
    FPROB("similarity_threshold", SC, similarity_threshold),
    F("max_entries", FT_LONG, SC, max_entries, CFG_MIN, 0, 0),
    F("ttl_seconds", FT_LONG, SC, ttl_seconds, CFG_MIN, 0, 0),
    FENUM("eviction_policy", SC, eviction_policy, eviction_names, CFG_EMPTY_OK),
    FBOOL("use_hnsw", SC, use_hnsw),
    FINT("hnsw_m", SC, hnsw_m, RANGE, 2, 256),
    FINT("hnsw_ef_construction", SC, hnsw_ef_construction, RANGE, 1, 100000),
    FSTR("embedding_model", SC, embedding_model),
    F("max_memory_entries", FT_LONG, SC, max_memory_entries, CFG_MIN, 0, 0),
    FINT("hnsw_ef_search", SC, hnsw_ef_search, RANGE, 1, 100000),
    FENUM("vector_storage", SC, vector_storage, storage_names, 0),
    FPROB("context_similarity_threshold", SC, context_similarity_threshold),
    FSTR("persist_path", SC, persist_path),
    FENUM("scope", SC, scope, scope_names, 0),
    FEND,
};
#undef SC

static const char *const embed_type_names[] = {"use-lite", "model2vec", "remote", NULL};
static const cfg_field embedding_fields[] = {
    FENUM("type", sr_embedding_model_config, type, embed_type_names, 0),
    FSTR("path", sr_embedding_model_config, path),
    FSTR("url", sr_embedding_model_config, url),
    FSTR("model", sr_embedding_model_config, model),
    FSTR("api_key_env", sr_embedding_model_config, api_key_env),
    FINT("dim", sr_embedding_model_config, dim, RANGE, 0, 65536),
    FINT("timeout_ms", sr_embedding_model_config, timeout_ms, CFG_MIN, 0, 0),
    FEND,
};

/* ---- prompt_guard, pii, tools, auth, api ----------------------------------------------- */

static const cfg_field guard_fields[] = {
    FBOOL("enabled", sr_prompt_guard_config, enabled),
    FPROB("threshold", sr_prompt_guard_config, threshold),
    FBOOL("use_modernbert", sr_prompt_guard_config, use_modernbert),
    FSTR("model_id", sr_prompt_guard_config, model_id),
    FSTR("jailbreak_mapping_path", sr_prompt_guard_config, jailbreak_mapping_path),
    FBOOL("use_cpu", sr_prompt_guard_config, use_cpu),
    FSTR("exemplars_path", sr_prompt_guard_config, exemplars_path),
    FINT("block_status", sr_prompt_guard_config, block_status, RANGE, 100, 599),
    FEND,
};

static const char *const pii_action_names[] = {"block", "redact", NULL};
static const cfg_field pii_fields[] = {
    FBOOL("enabled", sr_pii_config, enabled),
    FENUM("action", sr_pii_config, action, pii_action_names, 0),
    FEND,
};

static const cfg_field tools_fields[] = {
    FBOOL("enabled", sr_tools_config, enabled),
    FINT("top_k", sr_tools_config, top_k, RANGE, 1, 1000),
    FPROB("similarity_threshold", sr_tools_config, similarity_threshold),
    FSTR("tools_db_path", sr_tools_config, tools_db_path),
    FBOOL("fallback_to_empty", sr_tools_config, fallback_to_empty),
    FEND,
};

static const cfg_field auth_key_fields[] = {
    FSTR("key", sr_auth_key, key),
    FSTR("key_env", sr_auth_key, key_env),
    FSTR("tenant", sr_auth_key, tenant),
    FBOOL("admin", sr_auth_key, admin),
    FEND,
};

static void auth_keys_free(sr_auth_config *a)
{
    for (size_t i = 0; i < a->n_keys; i++) {
        free(a->keys[i].key);
        free(a->keys[i].key_env);
        free(a->keys[i].tenant);
    }
    free(a->keys);
    a->keys = NULL;
    a->n_keys = 0;
}

static void parse_auth_keys(cfg_loader *L, yaml_node_t *k, yaml_node_t *v, void *target,
                            const char *path)
{
    (void)k;
    sr_auth_config *a = (sr_auth_config *)((char *)target - offsetof(sr_auth_config, keys));
    auth_keys_free(a);
    if (cfg_is_null(v)) return;
    if (v->type != YAML_SEQUENCE_NODE) {
        cfg_error_at(L, v, "%s: expected a list of {key or key_env, tenant}, got %s", path,
                     cfg_node_kind(v));
        return;
    }
    size_t n = seq_len(v);
    a->keys = calloc(n ? n : 1, sizeof *a->keys);
    if (!a->keys) return;
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *it = cfg_node(L, v->data.sequence.items.start[i]);
        if (cfg_budget(L, it ? it : v)) break;
        char p[64];
        snprintf(p, sizeof p, "%s[%zu]", path, i);
        if (!it || it->type != YAML_MAPPING_NODE) {
            cfg_error_at(L, it, "%s: expected a mapping {key or key_env, tenant}, got %s", p,
                         cfg_node_kind(it));
            continue;
        }
        sr_auth_key *key = &a->keys[a->n_keys++];
        cfg_mark_add(L, key, it);
        cfg_walk(L, it, auth_key_fields, key, p);
    }
}

static const cfg_field auth_fields[] = {
    FBOOL("enabled", sr_auth_config, enabled),
    FFUNC("keys", sr_auth_config, keys, parse_auth_keys),
    FEND,
};

static const cfg_field batch_fields[] = {
    FINT("max_batch_size", sr_batch_classification_config, max_batch_size, RANGE, 1, 100000),
    FINT("concurrency_threshold", sr_batch_classification_config, concurrency_threshold, CFG_MIN, 0,
         0),
    FINT("max_concurrency", sr_batch_classification_config, max_concurrency, RANGE, 1, 1024),
    FIGNORE("metrics"),
    FEND,
};

static const cfg_field api_fields[] = {
    FSEC0("batch_classification", batch_fields),
    FEND,
};

/* ---- the root -------------------------------------------------------------------------- */

static const cfg_field root_fields[] = {
    /* classic */
    FSEC("bert_model", sr_config, bert_model, bert_fields),
    FSEC("semantic_cache", sr_config, semantic_cache, cache_fields),
    FSEC("tools", sr_config, tools, tools_fields),
    FSEC("prompt_guard", sr_config, prompt_guard, guard_fields),
    FFUNC("vllm_endpoints", sr_config, endpoints, parse_endpoints),
    FFUNC("model_config", sr_config, models, parse_models),
    FSEC("classifier", sr_config, classifier, classifier_fields),
    FFUNC("keyword_rules", sr_config, keyword_rules, parse_keyword_rules),
    FFUNC("categories", sr_config, categories, parse_categories),
    FSTR("default_model", sr_config, default_model),
    FSTR("auto_model_name", sr_config, auto_model_name),
    FBOOL("include_config_models_in_list", sr_config, include_config_models_in_list),
    FFUNC("reasoning_families", sr_config, reasoning_families, parse_families),
    FSTR("default_reasoning_effort", sr_config, default_reasoning_effort),
    FSEC("api", sr_config, batch_classification, api_fields),
    FIGNORE("router"),
    FIGNORE("embedding_models"),
    FIGNORE("observability"),
    FIGNORE("clear_route_cache"),
    FIGNORE("gpu_config"), /* legacy classic: TTFT estimation inputs */
    /* ours */
    FSEC("server", sr_config, server, server_fields),
    FSEC("embedding_model", sr_config, embedding_model, embedding_fields),
    FSEC("pii", sr_config, pii, pii_fields),
    FSEC("auth", sr_config, auth, auth_fields),
    FEND,
};

/* Every section table with the name users know it by, for "it belongs in X". */
static const struct {
    const char *path;
    const cfg_field *fields;
} all_tables[] = {
    {"", root_fields},
    {"server", server_fields},
    {"vllm_endpoints[]", endpoint_fields},
    {"model_config.<model>", model_fields},
    {"model_config.<model>.pii_policy", pii_policy_fields},
    {"model_config.<model>.pricing", pricing_fields},
    {"reasoning_families.<family>", family_fields},
    {"categories[]", category_fields},
    {"categories[].model_scores[]", score_fields},
    {"keyword_rules[]", keyword_fields},
    {"classifier", classifier_fields},
    {"classifier.category_model", category_model_fields},
    {"classifier.pii_model", pii_model_fields},
    {"bert_model", bert_fields},
    {"semantic_cache", cache_fields},
    {"embedding_model", embedding_fields},
    {"prompt_guard", guard_fields},
    {"pii", pii_fields},
    {"tools", tools_fields},
    {"auth", auth_fields},
    {"auth.keys[]", auth_key_fields},
    {"api", api_fields},
    {"api.batch_classification", batch_fields},
};

const char *cfg_key_home(const char *key)
{
    static __thread char out[200];
    int found = 0;
    out[0] = 0;
    for (size_t t = 0; t < sizeof all_tables / sizeof all_tables[0]; t++)
        for (const cfg_field *f = all_tables[t].fields; f->key; f++)
            if (!strcmp(f->key, key) && f->type != FT_IGNORE) {
                if (++found > 3) return NULL; /* everywhere ("enabled", ...): no hint */
                size_t n = strlen(out);
                snprintf(out + n, sizeof out - n, "%s%s", found > 1 ? " or " : "",
                         all_tables[t].path[0] ? all_tables[t].path : "the top level");
            }
    return found ? out : NULL;
}

void cfg_parse_root(cfg_loader *L, yaml_node_t *root)
{
    cfg_walk(L, root, root_fields, L->cfg, "");
}

/* ---- defaults and destruction ---------------------------------------------------------- */

void cfg_defaults(sr_config *c)
{
    sr_server_config *s = &c->server;
    s->listen = dupz("0.0.0.0");
    s->port = 8801;
    s->metrics_port = 9190;
    s->workers = 0;
    s->compute_threads = 0;
    s->compute_batch = 32;
    s->max_body_bytes = 10u << 20;
    s->max_header_bytes = 64u << 10;
    s->idle_timeout_seconds = 60;
    s->request_timeout_seconds = 600;
    s->connect_timeout_ms = 2000;
    s->first_byte_timeout_seconds = 300;
    s->log_requests = true;

    c->default_model_index = -1;
    c->auto_model_name = dupz("MoM");
    c->include_config_models_in_list = true;
    c->default_reasoning_effort = dupz("high");

    c->classifier.category_model.threshold = 0.6;
    c->classifier.category_model.use_cpu = true;
    c->classifier.pii_model.threshold = 0.7;
    c->classifier.pii_model.use_cpu = true;
    c->bert_model.threshold = 0.6;
    c->bert_model.use_cpu = true;

    sr_semantic_cache_config *sc = &c->semantic_cache;
    sc->enabled = false;
    sc->backend_type = SR_CACHE_MEMORY;
    sc->similarity_threshold = 0.8;
    sc->eviction_policy = SR_EVICT_FIFO;
    sc->use_hnsw = true;
    sc->hnsw_m = 16;
    sc->hnsw_ef_construction = 200;
    sc->hnsw_ef_search = 64;
    sc->vector_storage = SR_VECTORS_F32;
    sc->context_similarity_threshold = 0.9;
    sc->scope = SR_CACHE_SCOPE_TENANT;

    c->embedding_model.type = SR_EMBED_USE_LITE;
    c->embedding_model.path = dupz("models/use-lite");

    c->prompt_guard.threshold = 0.7;
    c->prompt_guard.use_cpu = true;
    c->prompt_guard.exemplars_path = dupz("data/guard/jailbreak_exemplars.txt");
    c->prompt_guard.block_status = 200;

    c->pii.enabled = true;
    c->pii.action = SR_PII_ACTION_BLOCK;

    c->tools.top_k = 3;
    c->tools.similarity_threshold = 0.2;
    c->tools.fallback_to_empty = true;

    c->batch_classification.max_batch_size = 100;
    c->batch_classification.concurrency_threshold = 5;
    c->batch_classification.max_concurrency = 8;
}

void cfg_config_destroy(sr_config *c)
{
    if (!c) return;
    free(c->path);
    free(c->config_dir);
    free(c->server.listen);
    endpoints_free(c);
    models_free(c);
    free(c->default_model);
    free(c->auto_model_name);
    free(c->default_reasoning_effort);
    families_free(c);
    categories_free(c);
    keyword_rules_free(c);
    free(c->classifier.category_model.model_id);
    free(c->classifier.category_model.category_mapping_path);
    free(c->classifier.category_model.head_path);
    free(c->classifier.pii_model.model_id);
    free(c->classifier.pii_model.pii_mapping_path);
    free(c->bert_model.model_id);
    free(c->semantic_cache.backend_config_path);
    free(c->semantic_cache.embedding_model);
    free(c->semantic_cache.persist_path);
    cfg_milvus_free(c->semantic_cache.milvus);
    free(c->embedding_model.path);
    free(c->embedding_model.url);
    free(c->embedding_model.model);
    free(c->embedding_model.api_key_env);
    free(c->prompt_guard.model_id);
    free(c->prompt_guard.jailbreak_mapping_path);
    free(c->prompt_guard.exemplars_path);
    free(c->tools.tools_db_path);
    auth_keys_free(&c->auth);
    free(c);
}

/* ---- config/cache/milvus.yaml ---------------------------------------------------------- */

#define MV sr_milvus_config
static const cfg_field milvus_auth_fields[] = {
    FBOOL("enabled", MV, connection.auth.enabled),
    FSTR("username", MV, connection.auth.username),
    FSTR("password", MV, connection.auth.password),
    FEND,
};
static const cfg_field milvus_tls_fields[] = {
    FBOOL("enabled", MV, connection.tls.enabled),
    FSTR("cert_file", MV, connection.tls.cert_file),
    FSTR("key_file", MV, connection.tls.key_file),
    FSTR("ca_file", MV, connection.tls.ca_file),
    FEND,
};
static const cfg_field milvus_connection_fields[] = {
    FSTR("host", MV, connection.host),
    FINT("port", MV, connection.port, RANGE, 1, 65535),
    FSTR("database", MV, connection.database),
    FINT("timeout", MV, connection.timeout, CFG_MIN, 0, 0),
    FSEC0("auth", milvus_auth_fields),
    FSEC0("tls", milvus_tls_fields),
    FSTR("uri", MV, connection.uri),
    FEND,
};
static const cfg_field milvus_vector_fields[] = {
    FSTR("name", MV, collection.vector_field.name),
    FINT("dimension", MV, collection.vector_field.dimension, RANGE, 0, 65536),
    FSTR("metric_type", MV, collection.vector_field.metric_type),
    FEND,
};
static const cfg_field milvus_index_params_fields[] = {
    FINT("M", MV, collection.index.m, RANGE, 2, 2048),
    FINT("efConstruction", MV, collection.index.ef_construction, RANGE, 1, 100000),
    FEND,
};
static const cfg_field milvus_index_fields[] = {
    FSTR("type", MV, collection.index.type),
    FSEC0("params", milvus_index_params_fields),
    FEND,
};
static const cfg_field milvus_collection_fields[] = {
    FSTR("name", MV, collection.name),
    FSTR("description", MV, collection.description),
    FSEC0("vector_field", milvus_vector_fields),
    FSEC0("index", milvus_index_fields),
    FEND,
};
static const cfg_field milvus_search_params_fields[] = {
    FINT("ef", MV, search.ef, RANGE, 1, 100000),
    FEND,
};
static const cfg_field milvus_search_fields[] = {
    FSEC0("params", milvus_search_params_fields),
    FINT("topk", MV, search.topk, RANGE, 1, 16384),
    FSTR("consistency_level", MV, search.consistency_level),
    FEND,
};
static const cfg_field milvus_development_fields[] = {
    FBOOL("drop_collection_on_startup", MV, development.drop_collection_on_startup),
    FBOOL("auto_create_collection", MV, development.auto_create_collection),
    FIGNORE("verbose_errors"),
    FEND,
};
static const cfg_field milvus_root_fields[] = {
    FSEC0("connection", milvus_connection_fields),
    FSEC0("collection", milvus_collection_fields),
    FSEC0("search", milvus_search_fields),
    FIGNORE("performance"),
    FIGNORE("data_management"),
    FIGNORE("logging"),
    FSEC0("development", milvus_development_fields),
    FEND,
};
#undef MV

void cfg_milvus_free(sr_milvus_config *m)
{
    if (!m) return;
    free(m->path);
    free(m->connection.uri);
    free(m->connection.host);
    free(m->connection.database);
    free(m->connection.auth.username);
    free(m->connection.auth.password);
    free(m->connection.tls.cert_file);
    free(m->connection.tls.key_file);
    free(m->connection.tls.ca_file);
    free(m->collection.name);
    free(m->collection.description);
    free(m->collection.vector_field.name);
    free(m->collection.vector_field.metric_type);
    free(m->collection.index.type);
    free(m->search.consistency_level);
    free(m);
}

static void milvus_defaults(sr_milvus_config *m)
{
    m->connection.host = dupz("localhost");
    m->connection.port = 19530;
    m->connection.database = dupz("default");
    m->connection.timeout = 30;
    m->collection.name = dupz("semantic_cache");
    m->collection.vector_field.name = dupz("embedding");
    m->collection.vector_field.metric_type = dupz("IP");
    m->collection.index.type = dupz("HNSW");
    m->collection.index.m = 16;
    m->collection.index.ef_construction = 64;
    m->search.ef = 64;
    m->search.topk = 10;
    m->search.consistency_level = dupz("Session");
    m->development.auto_create_collection = true;
}

/* validate.c checks the parsed milvus values while L->file still names the file. */
void cfg_validate_milvus(cfg_loader *L, sr_milvus_config *m);

sr_milvus_config *cfg_milvus_load(cfg_loader *L, const char *path)
{
    char err[512];
    size_t len = 0;
    const char *saved_file = L->file;
    yaml_document_t *saved_doc = L->doc;
    sr_milvus_config *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->path = strdup(path);
    milvus_defaults(m);
    char *text = util_read_file(path, &len, err, sizeof err);
    if (!text) {
        config_errors_add(L->errs, path, 0, 0, false, "cannot read the Milvus config: %s", err);
        cfg_milvus_free(m);
        return NULL;
    }
    size_t errors_before = L->errs->n_errors;
    yaml_document_t doc;
    L->file = m->path;
    if (cfg_load_document(L, m->path, text, len, &doc) == 0) {
        L->doc = &doc;
        yaml_node_t *root = yaml_document_get_root_node(&doc);
        if (root && root->type == YAML_MAPPING_NODE)
            cfg_walk(L, root, milvus_root_fields, m, "");
        else if (root && !cfg_is_null(root))
            cfg_error_at(L, root, "the top level must be a mapping (connection, collection, ...)");
        cfg_validate_milvus(L, m);
        yaml_document_delete(&doc);
    }
    free(text);
    L->file = saved_file;
    L->doc = saved_doc;
    if (L->errs->n_errors > errors_before) {
        cfg_milvus_free(m);
        return NULL;
    }
    return m;
}
