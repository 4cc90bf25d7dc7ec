/* config_schema.c - which keys exist: one table of cfg_field rows per YAML mapping.
 *
 * A row is the whole truth about a key: its C type and place, its default, its range,
 * whether a list item must have it, and one line of documentation. Lists and name-keyed
 * maps of structs (vllm_endpoints, model_config, categories, ...) are rows of kind
 * FT_LIST / FT_MAP whose sub-table describes one item, so adding a key is one struct
 * member plus one row. From the rows come the defaults (cfg_defaults_fields), the walk
 * (cfg_walk), the free (cfg_free_fields) and `semrouter config-reference`
 * (config_reference_print). The only code here is what is not a table: the legacy classic
 * keys read across two levels (category-level use_reasoning) and derived defaults.
 * The classic vLLM Semantic Router keys come first in each table, ours (CFG_OURS) after. */
#include "config/config_internal.h"
#include "core/util.h"
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define ROW(k, t, T, m, ...)                                                                       \
    {                                                                                              \
        .key = k, .type = t, .off = offsetof(T, m), .set_off = -1, __VA_ARGS__                     \
    }
#define STR(k, T, m, ...) ROW(k, FT_STR, T, m, __VA_ARGS__)
#define STRS(k, T, m, ...) ROW(k, FT_STRLIST, T, m, __VA_ARGS__)
#define BOOL(k, T, m, ...) ROW(k, FT_BOOL, T, m, __VA_ARGS__)
#define INT(k, T, m, ...) ROW(k, FT_INT, T, m, __VA_ARGS__)
#define LONG(k, T, m, ...) ROW(k, FT_LONG, T, m, __VA_ARGS__)
#define SIZE(k, T, m, ...) ROW(k, FT_SIZE, T, m, __VA_ARGS__)
#define DBL(k, T, m, ...) ROW(k, FT_DOUBLE, T, m, __VA_ARGS__)
/* A value in [0,1]; fl adds flags (CFG_OURS). */
#define PROB(k, T, m, fl, ...)                                                                     \
    ROW(k, FT_DOUBLE, T, m, .flags = RANGE | (fl), .min = 0, .max = 1, __VA_ARGS__)
#define ENUM(k, T, m, nm, ...) ROW(k, FT_ENUM, T, m, .names = nm, __VA_ARGS__)
#define SEC(k, T, m, s, ...) ROW(k, FT_SECTION, T, m, .sub = s, __VA_ARGS__)
/* A section whose keys live in the enclosing struct (its table uses that struct's offsets). */
#define SEC0(k, s, ...)                                                                            \
    {                                                                                              \
        .key = k, .type = FT_SECTION, .off = 0, .set_off = -1, .sub = s, __VA_ARGS__               \
    }
#define LIST(k, T, m, cnt, IT, s, ...)                                                             \
    ROW(k, FT_LIST, T, m, .count_off = offsetof(T, cnt), .item_size = sizeof(IT), .sub = s,        \
        __VA_ARGS__)
#define MAP(k, T, m, cnt, IT, namem, s, ...)                                                       \
    ROW(k, FT_MAP, T, m, .count_off = offsetof(T, cnt), .item_size = sizeof(IT),                   \
        .name_off = offsetof(IT, namem), .sub = s, __VA_ARGS__)
#define IGNORE(k, d)                                                                               \
    {                                                                                              \
        .key = k, .type = FT_IGNORE, .set_off = -1, .doc = d                                       \
    }
#define OWNED(k, T, m, ...) ROW(k, FT_OWNED, T, m, __VA_ARGS__)
#define INDEX(k, T, m) ROW(k, FT_INDEX, T, m, .def = -1)
#define END                                                                                        \
    {                                                                                              \
        .key = NULL                                                                                \
    }
#define RANGE (CFG_MIN | CFG_MAX)
#define OURS CFG_OURS

/* ---- server (ours) --------------------------------------------------------------------- */

static const char *const compute_priority_names[] = {"idle", "low", "normal", NULL};
#define S sr_server_config
static const cfg_field server_fields[] = {
    STR("listen", S, listen, .def_str = "0.0.0.0", .flags = OURS, .doc = "address to listen on"),
    INT("port", S, port, .flags = RANGE | OURS, .min = 1, .max = 65535, .def = 8801,
        .doc = "API port"),
    INT("metrics_port", S, metrics_port, .flags = RANGE | OURS, .min = 0, .max = 65535,
        .def = 9190, .doc = "separate /metrics listener; 0 = none"),
    INT("workers", S, workers, .flags = RANGE | OURS, .min = 0, .max = 1024,
        .doc = "event-loop threads; 0 = one per core"),
    INT("compute_threads", S, compute_threads, .flags = RANGE | OURS, .min = 0, .max = 256,
        .doc = "model-work threads (embedding, classifier); 0 = one per core"),
    INT("compute_batch", S, compute_batch, .flags = RANGE | OURS, .min = 1, .max = 1024,
        .def = 4, .doc = "most texts embedded in one pass of the compute pool (4: measured best at 32 connections on 2 cores)"),
    ENUM("compute_priority", S, compute_priority, compute_priority_names, .flags = OURS,
         .def = SR_COMPUTE_LOW,
         .doc = "compute threads' scheduling: low (nice +5), idle (SCHED_IDLE: starves when other "
                "programs keep the cores busy) or normal (as the loops)"),
    SIZE("max_body_bytes", S, max_body_bytes, .flags = CFG_MIN | OURS, .min = 1,
         .def = 10u << 20, .doc = "largest request body (413 above)"),
    SIZE("max_header_bytes", S, max_header_bytes, .flags = CFG_MIN | OURS, .min = 256,
         .def = 64u << 10, .doc = "largest request head (431 above)"),
    INT("idle_timeout_seconds", S, idle_timeout_seconds, .flags = CFG_MIN | OURS, .min = 1,
        .def = 60, .doc = "idle keep-alive client connection"),
    INT("request_timeout_seconds", S, request_timeout_seconds, .flags = CFG_MIN | OURS, .min = 1,
        .def = 600, .doc = "whole upstream request (504 above)"),
    INT("connect_timeout_ms", S, connect_timeout_ms, .flags = CFG_MIN | OURS, .min = 1,
        .def = 2000, .doc = "upstream TCP/TLS connect"),
    INT("first_byte_timeout_seconds", S, first_byte_timeout_seconds, .flags = CFG_MIN | OURS,
        .min = 1, .def = 300, .doc = "upstream time to first byte"),
    INT("upstream_idle_timeout_seconds", S, upstream_idle_timeout_seconds, .flags = CFG_MIN | OURS, .min = 0,
        .def = 120, .doc = "upstream silence after the first byte (a stalled stream: error event; 0 = none)"),
    SIZE("max_upstream_body_bytes", S, max_upstream_body_bytes, .flags = CFG_MIN | OURS, .min = 1,
         .def = 64u << 20, .doc = "largest upstream answer: whole (502 upstream_response_too_large above) or streamed (SSE bytes; stopped there with an error event)"),
    INT("upstream_keepalive_idle_seconds", S, upstream_keepalive_idle_seconds, .flags = RANGE | OURS,
        .min = 1, .max = 3600, .def = 30, /* http/upstream.h UPSTREAM_KEEPALIVE_IDLE_S */
        .doc = "a kept-alive model-server or Milvus connection idle more than this many whole seconds is closed, not reused (under the "
               "60-75 s keep-alive timeouts of nginx and load balancers, and NAT idle timeouts)"),
    INT("upstream_keepalive_lifetime_seconds", S, upstream_keepalive_lifetime_seconds,
        .flags = RANGE | OURS, .min = 0, .max = 86400, .def = 300,
        .doc = "nor one opened more than this many whole seconds ago (new connections re-resolve names and spread over a "
               "balancer's backends; a busy one finishes its transfer); 0 = no limit"),
    BOOL("log_requests", S, log_requests, .def = 1, .flags = OURS,
         .doc = "one JSON line per request on stderr"),
    INT("watchdog_seconds", S, watchdog_seconds, .flags = RANGE | OURS, .min = 0, .max = 3600,
        .def = 10, .doc = "a worker loop stuck this long is logged, counted, /ready 503; 0 = off"),
    INT("shutdown_grace_seconds", S, shutdown_grace_seconds, .flags = RANGE | OURS, .min = 0,
        .max = 3600, .def = 25,
        .doc = "SIGTERM: in-flight requests and streams get this long to finish, then are cut"),
    END,
};
#undef S

/* ---- vllm_endpoints -------------------------------------------------------------------- */

#define E sr_endpoint
static const cfg_field endpoint_fields[] = {
    STR("name", E, name, .doc = "what preferred_endpoints refer to"),
    STR("address", E, address, .doc = "IP address (classic) or host name (ours)"),
    INT("port", E, port, .flags = RANGE, .min = 1, .max = 65535, .doc = "TCP port, with address"),
    INT("weight", E, weight, .flags = CFG_MIN | CFG_MIN_EXCL, .min = 0, .def = 1,
        .doc = "share of the model's traffic"),
    STRS("models", E, models, .flags = CFG_LEGACY,
         .doc = "legacy: models served here (for models without preferred_endpoints)"),
    IGNORE("health_check_path", "legacy; health is passive (max_fails, eject_seconds)"),
    STR("base_url", E, base_url, .flags = OURS,
        .doc = "http(s)://host[:port][/path] instead of address+port"),
    STR("api_key_env", E, api_key_env, .flags = OURS,
        .doc = "environment variable holding the bearer key sent upstream"),
    INT("max_fails", E, max_fails, .flags = CFG_MIN | OURS, .min = 1, .def = 3,
        .doc = "consecutive failures before the endpoint is ejected"),
    INT("eject_seconds", E, eject_seconds, .flags = CFG_MIN | OURS, .min = 0, .def = 10,
        .doc = "how long an ejected endpoint stays out"),
    OWNED("(api_key)", E, api_key),
    OWNED("(host)", E, host),
    OWNED("(api_base)", E, api_base),
    END,
};
#undef E

/* ---- model_config ---------------------------------------------------------------------- */

#define M sr_model
static const cfg_field pii_policy_fields[] = {
    BOOL("allow_by_default", M, pii_policy.allow_by_default, .def = 1,
         .doc = "every PII type may reach this model"),
    STRS("pii_types_allowed", M, pii_policy.pii_types_allowed,
         .doc = "when allow_by_default is false: the types that may"),
    END,
};

static const cfg_field pricing_fields[] = {
    STR("currency", M, pricing.currency, .doc = "default USD"),
    DBL("prompt_per_1m", M, pricing.prompt_per_1m, .flags = CFG_MIN, .min = 0,
        .doc = "price of 1M prompt tokens"),
    DBL("completion_per_1m", M, pricing.completion_per_1m, .flags = CFG_MIN, .min = 0,
        .doc = "price of 1M completion tokens"),
    END,
};

static const cfg_field lora_fields[] = {
    STR("name", sr_lora, name, .flags = CFG_REQUIRED | CFG_NONEMPTY,
        .hint = "the adapter's served model name",
        .doc = "the adapter's served model name (vLLM --lora-modules NAME=...)"),
    STR("description", sr_lora, description, .doc = "free text"),
    END,
};

static const cfg_field model_fields[] = {
    STR("reasoning_family", M, reasoning_family, .doc = "a reasoning_families entry"),
    STRS("preferred_endpoints", M, preferred_endpoints, .doc = "vllm_endpoints names"),
    SEC0("pii_policy", pii_policy_fields, .doc = "which PII may reach this model"),
    {.key = "pricing",
     .type = FT_SECTION,
     .off = 0,
     .set_off = (int)offsetof(M, pricing.set),
     .sub = pricing_fields,
     .doc = "for llm_model_cost_total"},
    LIST("loras", M, loras, n_loras, sr_lora, lora_fields, .what = "a list of {name, description}",
         .item = "a mapping {name, description}",
         .doc = "LoRA adapters the endpoints serve; model_scores[].lora_name picks one"),
    IGNORE("use_reasoning", "stale: reasoning is chosen per category (model_scores[].use_reasoning)"),
    IGNORE("param_count", "legacy"),
    IGNORE("batch_size", "legacy"),
    IGNORE("context_size", "legacy"),
    STR("upstream_model", M, upstream_model, .flags = OURS,
        .doc = "the model name sent upstream (default: the model_config key)"),
    OWNED("(endpoint_index)", M, endpoint_index),
    INDEX("(reasoning_family_index)", M, reasoning_family_index),
    END,
};
#undef M

/* ---- reasoning_families ---------------------------------------------------------------- */

static const char *const reasoning_type_names[] = {"chat_template_kwargs", "reasoning_effort",
                                                   NULL};
static const cfg_field family_fields[] = {
    ENUM("type", sr_reasoning_family, type, reasoning_type_names, .flags = CFG_REQUIRED,
         .hint = "chat_template_kwargs or reasoning_effort", .doc = "how reasoning is switched"),
    STR("parameter", sr_reasoning_family, parameter, .flags = CFG_REQUIRED | CFG_NONEMPTY,
        .hint = "e.g. enable_thinking", .doc = "enable_thinking, thinking or reasoning_effort"),
    END,
};

/* ---- categories ------------------------------------------------------------------------ */

#define MS sr_model_score
static const cfg_field score_fields[] = {
    STR("model", MS, model, .flags = CFG_REQUIRED, .doc = "a model_config name"),
    DBL("score", MS, score, .flags = CFG_MIN | CFG_MIN_EXCL | CFG_REQUIRED, .min = 0,
        .hint = "a number greater than 0", .doc = "the highest allowed score wins"),
    BOOL("use_reasoning", MS, use_reasoning, .flags = CFG_REQUIRED,
         .hint = "true or false; it is required", .doc = "switch reasoning on for this model"),
    STR("reasoning_effort", MS, reasoning_effort, .doc = "low, medium or high"),
    STR("reasoning_description", MS, reasoning_description, .doc = "free text"),
    STR("lora_name", MS, lora_name, .doc = "a loras[] name of the model: sent upstream as the model"),
    INDEX("(model_index)", MS, model_index),
    END,
};
#undef MS

/* Legacy classic files (before use_reasoning moved into model_scores) set use_reasoning and
 * reasoning_effort on the category: entries without their own take them. */
static void category_pre(cfg_loader *L, void *item, yaml_node_t *it, uint64_t *seen,
                         const char *path)
{
    (void)item;
    (void)seen;
    L->legacy_use_reasoning = -1;
    L->legacy_effort = NULL;
    for (yaml_node_pair_t *pr = it->data.mapping.pairs.start; pr < it->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *lk = cfg_node(L, pr->key), *lv = cfg_node(L, pr->value);
        if (!lk || lk->type != YAML_SCALAR_NODE || cfg_is_null(lv)) continue;
        char lp[300];
        snprintf(lp, sizeof lp, "%s.%s", path, (const char *)lk->data.scalar.value);
        bool b;
        if (!strcmp((const char *)lk->data.scalar.value, "use_reasoning") &&
            cfg_parse_bool(L, lv, &b, lp) == 0)
            L->legacy_use_reasoning = b;
        else if (!strcmp((const char *)lk->data.scalar.value, "reasoning_effort"))
            L->legacy_effort = lv;
    }
}

static void score_post(cfg_loader *L, void *item, yaml_node_t *it, uint64_t *seen,
                       const char *path)
{
    (void)it;
    sr_model_score *s = item;
    uint64_t bit = (uint64_t)1 << cfg_field_index(score_fields, "use_reasoning");
    if (!(*seen & bit) && L->legacy_use_reasoning >= 0) {
        s->use_reasoning = L->legacy_use_reasoning;
        *seen |= bit;
        if (!s->reasoning_effort && L->legacy_effort)
            cfg_parse_str(L, L->legacy_effort, &s->reasoning_effort, path);
    }
}

static const char *const prompt_mode_names[] = {"replace", "insert", NULL};
#define C sr_category
#define CSET(k, t, m, setm, ...)                                                                   \
    {                                                                                              \
        .key = k, .type = t, .off = offsetof(C, m), .set_off = (int)offsetof(C, setm),             \
        __VA_ARGS__                                                                                \
    }
static const cfg_field category_fields[] = {
    STR("name", C, name, .doc = "what the classifier and keyword_rules name"),
    STR("description", C, description, .doc = "free text"),
    STRS("mmlu_categories", C, mmlu_categories, .doc = "MMLU subjects of this category"),
    STR("system_prompt", C, system_prompt, .doc = "injected when the category is chosen"),
    BOOL("system_prompt_enabled", C, system_prompt_enabled,
         .doc = "default: true when system_prompt is set"),
    ENUM("system_prompt_mode", C, system_prompt_mode, prompt_mode_names, .flags = CFG_EMPTY_OK,
         .doc = "replace the client's system prompt, or insert before it"),
    LIST("model_scores", C, model_scores, n_model_scores, sr_model_score, score_fields,
         .what = "a list of {model, score, use_reasoning}",
         .item = "a mapping {model, score, use_reasoning}", .post = score_post,
         .doc = "candidate models; the best healthy, PII-allowed one answers"),
    CSET("semantic_cache_enabled", FT_BOOL, semantic_cache_enabled, semantic_cache_enabled_set,
         .doc = "override of semantic_cache.enabled"),
    CSET("semantic_cache_similarity_threshold", FT_DOUBLE, semantic_cache_similarity_threshold,
         semantic_cache_similarity_threshold_set, .flags = RANGE, .min = 0, .max = 1,
         .doc = "override of semantic_cache.similarity_threshold (cosine)"),
    CSET("semantic_cache_verifier_min_probability", FT_DOUBLE,
         semantic_cache_verifier_min_probability, semantic_cache_verifier_min_probability_set,
         .flags = RANGE | OURS, .min = 0, .max = 1,
         .doc = "override of semantic_cache.verifier.min_probability"),
    CSET("jailbreak_enabled", FT_BOOL, jailbreak_enabled, jailbreak_enabled_set,
         .doc = "override of prompt_guard.enabled"),
    CSET("jailbreak_threshold", FT_DOUBLE, jailbreak_threshold, jailbreak_threshold_set,
         .flags = RANGE, .min = 0, .max = 1, .doc = "override of prompt_guard.threshold"),
    CSET("pii_enabled", FT_BOOL, pii_enabled, pii_enabled_set, .doc = "override of pii.enabled"),
    CSET("pii_threshold", FT_DOUBLE, pii_threshold, pii_threshold_set, .flags = RANGE, .min = 0,
         .max = 1, .doc = "override of classifier.pii_model.threshold"),
    IGNORE("pii_detection_enabled", "stale; use pii_enabled"),
    IGNORE("use_reasoning", "legacy: the default of model_scores[].use_reasoning"),
    IGNORE("reasoning_effort", "legacy: the default of model_scores[].reasoning_effort"),
    IGNORE("reasoning_description", "legacy"),
    STRS("examples", C, examples, .flags = OURS,
         .doc = "example utterances: a custom category without training"),
    CSET("difficulty_threshold", FT_DOUBLE, difficulty_threshold, difficulty_threshold_set,
         .flags = RANGE | OURS, .min = 0, .max = 1,
         .doc = "override of difficulty_routing.threshold for this category"),
    END,
};
#undef CSET
#undef C

static void category_post(cfg_loader *L, void *item, yaml_node_t *it, uint64_t *seen,
                          const char *path)
{
    (void)path;
    sr_category *cat = item;
    L->legacy_use_reasoning = -1;
    L->legacy_effort = NULL;
    if (!CFG_SEEN(*seen, category_fields, "system_prompt_enabled"))
        cat->system_prompt_enabled = cat->system_prompt && *cat->system_prompt;
    if (!CFG_SEEN(*seen, category_fields, "model_scores")) cfg_mark_add(L, &cat->model_scores, it);
}

/* ---- keyword_rules, embedding_rules ---------------------------------------------------- */

static const char *const keyword_op_names[] = {"OR", "AND", "NOR", NULL};
#define K sr_keyword_rule
static const cfg_field keyword_fields[] = {
    STR("category", K, category, .flags = CFG_REQUIRED, .doc = "the category chosen on a match"),
    ENUM("operator", K, op, keyword_op_names, .flags = CFG_REQUIRED, .hint = "AND, OR or NOR",
         .doc = "OR: any keyword, AND: all, NOR: none"),
    STRS("keywords", K, keywords, .flags = CFG_REQUIRED, .hint = "a list of words or phrases",
         .doc = "words or phrases"),
    BOOL("case_sensitive", K, case_sensitive, .doc = "default false"),
    INDEX("(category_index)", K, category_index),
    END,
};
#undef K

static const char *const aggregation_names[] = {"mean", "max", "any", NULL};
#define ER sr_embedding_rule
static const cfg_field embedding_rule_fields[] = {
    STR("name", ER, name, .doc = "the category chosen on a match"),
    STR("category", ER, category, .doc = "older spelling of name"),
    PROB("threshold", ER, threshold, 0, .def = 0.5, .doc = "cosine similarity to the candidates"),
    STRS("candidates", ER, candidates, .doc = "phrases of the category"),
    ENUM("aggregation_method", ER, aggregation_method, aggregation_names, .flags = CFG_EMPTY_OK,
         .doc = "mean, max or any"),
    STR("model", ER, model, .doc = "classic embedding model choice"),
    INT("dimension", ER, dimension, .flags = RANGE, .min = 0, .max = 65536,
        .doc = "classic Matryoshka dimension"),
    PROB("quality_priority", ER, quality_priority, 0, .doc = "classic model choice weight"),
    PROB("latency_priority", ER, latency_priority, 0, .doc = "classic model choice weight"),
    END,
};
#undef ER

/* ---- classifier, bert_model ------------------------------------------------------------ */

#define CM sr_category_model
static const cfg_field category_model_fields[] = {
    STR("model_id", CM, model_id, .doc = "classic model; unused (the category head is ours)"),
    PROB("threshold", CM, threshold, 0, .def = 0.6,
         .doc = "probability of the top category below which default_model answers"),
    BOOL("use_cpu", CM, use_cpu, .def = 1, .doc = "accepted"),
    BOOL("use_modernbert", CM, use_modernbert, .doc = "accepted"),
    STR("category_mapping_path", CM, category_mapping_path, .doc = "accepted"),
    STR("head_path", CM, head_path, .flags = OURS,
        .doc = "the trained category head (default config/category_head.bin)"),
    END,
};
#undef CM

#define PM sr_pii_model
static const cfg_field pii_model_fields[] = {
    STR("model_id", PM, model_id, .doc = "classic model; unused (recognizers are ours)"),
    PROB("threshold", PM, threshold, 0, .def = 0.7, .doc = "confidence a PII finding needs"),
    BOOL("use_cpu", PM, use_cpu, .def = 1, .doc = "accepted"),
    BOOL("use_modernbert", PM, use_modernbert, .doc = "accepted"),
    STR("pii_mapping_path", PM, pii_mapping_path, .doc = "accepted"),
    END,
};
#undef PM

static const cfg_field classifier_fields[] = {
    SEC("category_model", sr_classifier_config, category_model, category_model_fields,
        .doc = "the category classifier"),
    SEC("pii_model", sr_classifier_config, pii_model, pii_model_fields, .doc = "PII detection"),
    IGNORE("mcp_category_model", "MCP classifiers are not supported"),
    IGNORE("enabled", "stale; the classifier runs when categories exist"),
    END,
};

static const cfg_field bert_fields[] = {
    STR("model_id", sr_bert_model, model_id, .doc = "classic model; the embedding_model is used"),
    PROB("threshold", sr_bert_model, threshold, 0, .def = 0.6, .doc = "accepted"),
    BOOL("use_cpu", sr_bert_model, use_cpu, .def = 1, .doc = "accepted"),
    END,
};

/* ---- semantic_cache, embedding_model --------------------------------------------------- */

static const char *const backend_names[] = {"memory", "milvus", "hybrid", NULL};
static const char *const eviction_names[] = {"fifo", "lru", "lfu", NULL};
static const char *const storage_names[] = {"f32", "f16", "int8", NULL};
static const char *const scope_names[] = {"tenant", "global", NULL};

/* ---- config/cache/milvus.yaml (its own file, loaded by cfg_milvus_load) ---------------------------------------------------------- */

#define MV sr_milvus_config
static const cfg_field milvus_auth_fields[] = {
    BOOL("enabled", MV, connection.auth.enabled, .doc = "send username/password"),
    STR("username", MV, connection.auth.username),
    STR("password", MV, connection.auth.password),
    END,
};
static const cfg_field milvus_tls_fields[] = {
    BOOL("enabled", MV, connection.tls.enabled, .doc = "https"),
    STR("cert_file", MV, connection.tls.cert_file),
    STR("key_file", MV, connection.tls.key_file),
    STR("ca_file", MV, connection.tls.ca_file),
    END,
};
static const cfg_field milvus_connection_fields[] = {
    STR("host", MV, connection.host, .def_str = "localhost"),
    INT("port", MV, connection.port, .flags = RANGE, .min = 1, .max = 65535, .def = 19530),
    STR("database", MV, connection.database, .def_str = "default"),
    INT("timeout", MV, connection.timeout, .flags = CFG_MIN, .min = 0, .def = 30,
        .doc = "seconds"),
    SEC0("auth", milvus_auth_fields),
    SEC0("tls", milvus_tls_fields),
    STR("uri", MV, connection.uri, .flags = OURS,
        .doc = "http(s)://host:port RESTful base; overrides host/port"),
    STR("token", MV, connection.token, .flags = OURS,
        .doc = "API key (Zilliz Cloud) or user:password, sent as Bearer; overrides auth"),
    END,
};
static const cfg_field milvus_vector_fields[] = {
    STR("name", MV, collection.vector_field.name, .def_str = "embedding"),
    INT("dimension", MV, collection.vector_field.dimension, .flags = RANGE, .min = 0,
        .max = 65536, .doc = "ignored: detected from the model"),
    STR("metric_type", MV, collection.vector_field.metric_type, .def_str = "IP",
        .doc = "IP, COSINE or L2"),
    END,
};
static const cfg_field milvus_index_params_fields[] = {
    INT("M", MV, collection.index.m, .flags = RANGE, .min = 2, .max = 2048, .def = 16),
    INT("efConstruction", MV, collection.index.ef_construction, .flags = RANGE, .min = 1,
        .max = 100000, .def = 64),
    END,
};
static const cfg_field milvus_index_fields[] = {
    STR("type", MV, collection.index.type, .def_str = "HNSW"),
    SEC0("params", milvus_index_params_fields),
    END,
};
static const cfg_field milvus_collection_fields[] = {
    STR("name", MV, collection.name, .def_str = "semantic_cache"),
    STR("description", MV, collection.description),
    SEC0("vector_field", milvus_vector_fields),
    SEC0("index", milvus_index_fields),
    END,
};
static const cfg_field milvus_search_params_fields[] = {
    INT("ef", MV, search.ef, .flags = RANGE, .min = 1, .max = 100000, .def = 64),
    END,
};
static const cfg_field milvus_search_fields[] = {
    SEC0("params", milvus_search_params_fields),
    INT("topk", MV, search.topk, .flags = RANGE, .min = 1, .max = 16384, .def = 10),
    STR("consistency_level", MV, search.consistency_level, .def_str = "Session",
        .doc = "Strong, Session, Bounded or Eventually"),
    INT("timeout_ms", MV, search.timeout_ms, .flags = RANGE | OURS, .min = 1, .max = 600000,
        .def = 1000, .doc = "lookups and stores on the request path (connection.timeout: bootstrap)"),
    END,
};
static const cfg_field milvus_ttl_fields[] = {
    IGNORE("enabled", "expiry is per entry (semantic_cache.ttl_seconds)"),
    IGNORE("timestamp_field", "the schema is fixed (created_at, expires_at)"),
    INT("cleanup_interval", MV, cleanup_interval, .flags = CFG_MIN, .min = 0, .def = 3600,
        .doc = "seconds between deletes of expired rows (0 = never)"),
    END,
};
static const cfg_field milvus_data_management_fields[] = {
    SEC0("ttl", milvus_ttl_fields),
    IGNORE("compaction", "Milvus compacts on its own"),
    END,
};
static const cfg_field milvus_development_fields[] = {
    BOOL("drop_collection_on_startup", MV, development.drop_collection_on_startup),
    BOOL("auto_create_collection", MV, development.auto_create_collection, .def = 1),
    IGNORE("verbose_errors", "errors are always full sentences"),
    END,
};
static const cfg_field milvus_hybrid_fields[] = {
    INT("sync_interval_ms", MV, hybrid.sync_interval_ms, .flags = RANGE | OURS, .min = 10, .max = 3600000,
        .def = 1000, .doc = "hybrid: entries other routers stored appear locally within this time"),
    INT("sync_overlap_seconds", MV, hybrid.sync_overlap_seconds, .flags = RANGE | OURS, .min = 0, .max = 86400,
        .def = 10, .doc = "hybrid: each pull re-reads rows this much older than the newest seen"),
    INT("resync_seconds", MV, hybrid.resync_seconds, .flags = CFG_MIN | OURS, .min = 0, .def = 300,
        .doc = "hybrid: full re-read dropping local entries deleted in Milvus (0 = never)"),
    END,
};
static const cfg_field milvus_root_fields[] = {
    SEC0("connection", milvus_connection_fields),
    SEC0("collection", milvus_collection_fields),
    SEC0("search", milvus_search_fields),
    IGNORE("performance", "connection pool and batch knobs"),
    SEC0("data_management", milvus_data_management_fields),
    IGNORE("logging", "the router's log is used"),
    SEC0("development", milvus_development_fields),
    SEC0("hybrid", milvus_hybrid_fields),
    OWNED("(path)", MV, path),
    END,
};
#undef MV


#define VC sr_cache_verifier_config
static const cfg_field verifier_fields[] = {
    BOOL("enabled", VC, enabled, .def = 1, .doc = "the learned hit check decides semantic hits"),
    PROB("min_probability", VC, min_probability, 0, .def = 0.65,
         .doc = "a semantic candidate hits at or above this verifier probability"),
    STR("model_path", VC, model_path, .def_str = "config/cache_verifier.model",
        .doc = "model file written by semrouter train-verifier"),
    PROB("context_min_probability", VC, context_min_probability, 0, .def = 0.1,
         .doc = "earlier user turns, when the earlier answers are byte-identical to the entry's"),
    PROB("follow_up_min_probability", VC, follow_up_min_probability, 0, .def = 0.4,
         .doc = "the follow-up in that same conversation state (follow-up model's probability)"),
    PROB("follow_up_similarity_threshold", VC, follow_up_similarity_threshold, 0, .def = 0.65,
         .doc = "cosine the follow-up needs in that state"),
    STR("follow_up_model_path", VC, follow_up_model_path, .def_str = "config/cache_followup.model",
        .doc = "model scoring that follow-up (train-verifier --train-extra); \"\" = model_path's"),
    INT("max_candidates", VC, max_candidates, .flags = RANGE, .min = 1, .max = 64, .def = 8,
        .doc = "candidates checked per lookup"),
    END,
};
#undef VC

#define SC sr_semantic_cache_config
static const cfg_field cache_fields[] = {
    BOOL("enabled", SC, enabled, .doc = "default false"),
    ENUM("backend_type", SC, backend_type, backend_names, .doc = "memory, milvus or hybrid"),
    STR("backend_config_path", SC, backend_config_path,
        .doc = "milvus/hybrid: the Milvus file (config/cache/milvus.yaml shape)"),
    PROB("similarity_threshold", SC, similarity_threshold, 0, .def = 0.8,
         .doc = "cosine similarity a hit needs"),
    LONG("max_entries", SC, max_entries, .flags = CFG_MIN, .min = 0, .doc = "0 = unbounded"),
    LONG("max_entries_per_tenant", SC, max_entries_per_tenant, .flags = CFG_MIN | OURS, .min = 0,
         .doc = "memory: a tenant at it evicts its own oldest entry, never another's; 0 = none"),
    LONG("ttl_seconds", SC, ttl_seconds, .flags = CFG_MIN, .min = 0,
         .doc = "from insertion; 0 = no expiry"),
    ENUM("eviction_policy", SC, eviction_policy, eviction_names, .flags = CFG_EMPTY_OK,
         .doc = "fifo, lru or lfu"),
    BOOL("use_hnsw", SC, use_hnsw, .def = 1, .doc = "HNSW index instead of a linear scan"),
    INT("hnsw_m", SC, hnsw_m, .flags = RANGE, .min = 2, .max = 256, .def = 16,
        .doc = "HNSW links per node"),
    INT("hnsw_ef_construction", SC, hnsw_ef_construction, .flags = RANGE, .min = 1,
        .max = 100000, .def = 200, .doc = "HNSW build breadth"),
    STR("embedding_model", SC, embedding_model,
        .doc = "classic bert/qwen3/gemma: accepted; the top-level embedding_model is used"),
    LONG("max_memory_entries", SC, max_memory_entries, .flags = CFG_MIN, .min = 0,
         .doc = "hybrid: local index size; 0 = unbounded"),
    INT("hnsw_ef_search", SC, hnsw_ef_search, .flags = RANGE | OURS, .min = 1, .max = 100000,
        .def = 64, .doc = "HNSW search breadth"),
    ENUM("vector_storage", SC, vector_storage, storage_names, .flags = OURS,
         .doc = "f32, f16 or int8 vectors in the index"),
    PROB("context_similarity_threshold", SC, context_similarity_threshold, OURS, .def = 0.9,
         .doc = "cosine each earlier turn needs"),
    STR("persist_path", SC, persist_path, .flags = OURS,
        .doc = "memory backend: append-only log that survives restarts"),
    SEC("verifier", SC, verifier, verifier_fields, .flags = OURS,
        .doc = "the cache hit verifier (README: cache hit verifier)"),
    ENUM("scope", SC, scope, scope_names, .flags = OURS,
         .doc = "tenant (entries per API-key tenant) or global"),
    OWNED("(milvus)", SC, milvus, .sub = milvus_root_fields),
    END,
};
#undef SC

static const char *const embed_type_names[] = {"use-lite", "model2vec", "remote", NULL};
static const char *const embed_precision_names[] = {"f32", "bf16", NULL};
#define EM sr_embedding_model_config
static const cfg_field embedding_fields[] = {
    ENUM("type", EM, type, embed_type_names, .doc = "use-lite, model2vec or remote"),
    STR("path", EM, path, .def_str = "models/use-lite",
        .doc = "model folder (use-lite, model2vec); relative to the config file's folder"),
    STR("url", EM, url, .doc = "remote: OpenAI-compatible base URL (.../v1)"),
    STR("model", EM, model, .doc = "remote: the model field sent"),
    STR("api_key_env", EM, api_key_env, .doc = "remote: environment variable with a bearer key"),
    INT("dim", EM, dim, .flags = RANGE, .min = 0, .max = 65536,
        .doc = "remote: expected dimension; 0 = learn"),
    INT("timeout_ms", EM, timeout_ms, .flags = CFG_MIN, .min = 0,
        .doc = "remote: per-call timeout; 0 = default"),
    ENUM("precision", EM, precision, embed_precision_names, .def = SR_EMBED_BF16,
         .doc = "use-lite weights: bf16 (half the bytes, AVX-512 BF16 where the CPU has it; "
                "vectors within cosine 0.9999 of f32's, same model id) or f32 (exact TF.js "
                "values; faster on CPUs without AVX2)"),
    END,
};
#undef EM

/* ---- prompt_guard, pii, tools, auth, api ----------------------------------------------- */

#define G sr_prompt_guard_config
static const cfg_field guard_fields[] = {
    BOOL("enabled", G, enabled, .doc = "default false"),
    PROB("threshold", G, threshold, 0, .def = 0.7,
         .doc = "calibrated jailbreak confidence that blocks"),
    BOOL("use_modernbert", G, use_modernbert, .doc = "accepted"),
    STR("model_id", G, model_id, .doc = "classic model; unused (the detector is ours)"),
    STR("jailbreak_mapping_path", G, jailbreak_mapping_path, .doc = "accepted"),
    BOOL("use_cpu", G, use_cpu, .def = 1, .doc = "accepted"),
    STR("exemplars_path", G, exemplars_path, .def_str = "data/guard/jailbreak_exemplars.txt",
        .flags = OURS, .doc = "attack exemplars"),
    INT("block_status", G, block_status, .flags = RANGE | OURS, .min = 100, .max = 599,
        .def = 200, .doc = "200 (the classic shape) or a 4xx"),
    END,
};
#undef G

#define DF sr_difficulty_config
static const cfg_field difficulty_fields[] = {
    BOOL("enabled", DF, enabled, .doc = "default false"),
    STR("head_path", DF, head_path, .def_str = "config/difficulty_head.bin",
        .doc = "trained by `semrouter train-router`"),
    STR("small_model", DF, small_model, .doc = "model_config name: requests the head scores low"),
    STR("large_model", DF, large_model, .doc = "model_config name: requests it scores high"),
    PROB("threshold", DF, threshold, 0, .def = 0.55,
         .doc = "score at which the large model answers (the quality/cost knob; "
                "0.55 sends ~56% of MMLU-like traffic there)"),
    END,
};
#undef DF

#define AD sr_adaptation_config
static const cfg_field adaptation_fields[] = {
    BOOL("enabled", AD, enabled, .doc = "default false"),
    DBL("alpha", AD, alpha, .flags = RANGE, .min = 0.01, .max = 1, .def = 0.2,
        .doc = "weight of a new sample in the moving averages"),
    INT("ttft_budget_ms", AD, ttft_budget_ms, .flags = RANGE, .min = 0, .max = 600000, .def = 2000,
        .doc = "time-to-first-token budget of a model (average), 0 = none"),
    PROB("error_budget", AD, error_budget, 0, .def = 0.25, .doc = "error-rate budget (average), 0 = none"),
    DBL("queue_budget", AD, queue_budget, .flags = CFG_MIN, .min = 0,
        .doc = "requests-in-flight budget (average), 0 = none"),
    DBL("recover_ratio", AD, recover_ratio, .flags = RANGE, .min = 0.01, .max = 1, .def = 0.5,
        .doc = "a breached model recovers when every average is at or under ratio x budget"),
    INT("min_samples", AD, min_samples, .flags = RANGE, .min = 1, .max = 100000, .def = 5,
        .doc = "attempts to a model before a breach is called"),
    INT("probe_seconds", AD, probe_seconds, .flags = RANGE, .min = 0, .max = 86400, .def = 30,
        .doc = "a breached model that got no attempt this long is tried again (0 = never)"),
    PROB("category_margin", AD, category_margin, 0, .def = 0.15,
         .doc = "borderline: category confidence within this of classifier.category_model.threshold"),
    PROB("difficulty_margin", AD, difficulty_margin, 0, .def = 0.1,
         .doc = "borderline: difficulty score within this of its threshold"),
    END,
};
#undef AD

static const char *const pii_action_names[] = {"block", "redact", NULL};
static const cfg_field pii_fields[] = {
    BOOL("enabled", sr_pii_config, enabled, .def = 1,
         .doc = "run the recognizers when a model has a restrictive pii_policy"),
    ENUM("action", sr_pii_config, action, pii_action_names,
         .doc = "block or redact when no model may see the PII"),
    END,
};

#define TL sr_tools_config
static const cfg_field tools_fields[] = {
    BOOL("enabled", TL, enabled, .doc = "select tools for tool_choice auto"),
    INT("top_k", TL, top_k, .flags = RANGE, .min = 1, .max = 1000, .def = 3,
        .doc = "tools kept"),
    PROB("similarity_threshold", TL, similarity_threshold, 0, .def = 0.2,
         .doc = "cosine similarity a tool needs"),
    STR("tools_db_path", TL, tools_db_path, .doc = "the tools database (JSON)"),
    BOOL("fallback_to_empty", TL, fallback_to_empty, .def = 1,
         .doc = "no match: remove tools instead of sending []"),
    END,
};
#undef TL

static const cfg_field auth_key_fields[] = {
    STR("key", sr_auth_key, key, .doc = "the bearer key (prefer key_env or key_sha256: no secret in the file)"),
    STR("key_env", sr_auth_key, key_env, .doc = "environment variable holding it"),
    STR("key_sha256", sr_auth_key, key_sha256, .flags = OURS,
        .doc = "hex SHA-256 of the key instead of the key (printf %s KEY | sha256sum)"),
    STR("tenant", sr_auth_key, tenant, .doc = "tenant id; default key-<index>"),
    BOOL("admin", sr_auth_key, admin, .flags = OURS,
         .doc = "may use the management routes (stats, cache of any tenant, reload) when auth is on"),
    DBL("requests_per_second", sr_auth_key, requests_per_second, .flags = CFG_MIN | OURS, .min = 0,
        .doc = "tenant's request rate (token bucket); 0 = unlimited; over it 429 + Retry-After"),
    INT("burst", sr_auth_key, burst, .flags = CFG_MIN | OURS, .min = 0,
        .doc = "requests the bucket holds; 0 = max(1, ceil(requests_per_second))"),
    INT("max_concurrent", sr_auth_key, max_concurrent, .flags = CFG_MIN | OURS, .min = 0,
        .doc = "tenant's requests in flight; 0 = unlimited; over it 429 + Retry-After"),
    END,
};

static const cfg_field auth_fields[] = {
    BOOL("enabled", sr_auth_config, enabled, .doc = "check Authorization: Bearer"),
    BOOL("management_loopback_only", sr_auth_config, management_loopback_only, .def = 1, .flags = OURS,
         .doc = "auth off: management routes answer loopback clients only"),
    LIST("keys", sr_auth_config, keys, n_keys, sr_auth_key, auth_key_fields,
         .what = "a list of {key, key_env or key_sha256, tenant}",
         .item = "a mapping {key, key_env or key_sha256, tenant}", .doc = "API keys and their tenants"),
    END,
};

#define B sr_batch_classification_config
static const cfg_field batch_fields[] = {
    INT("max_batch_size", B, max_batch_size, .flags = RANGE, .min = 1, .max = 100000, .def = 100,
        .doc = "texts per /api/v1/classify/batch call"),
    INT("concurrency_threshold", B, concurrency_threshold, .flags = CFG_MIN, .min = 0, .def = 5,
        .doc = "batch size from which texts run in parallel"),
    INT("max_concurrency", B, max_concurrency, .flags = RANGE, .min = 1, .max = 1024, .def = 8,
        .doc = "parallel texts"),
    IGNORE("metrics", "batch metrics are always on"),
    END,
};
#undef B

static const cfg_field api_fields[] = {
    SEC0("batch_classification", batch_fields, .doc = "the batch classification API"),
    END,
};

/* ---- the root -------------------------------------------------------------------------- */

#define R sr_config
static const cfg_field root_fields[] = {
    /* classic */
    SEC("bert_model", R, bert_model, bert_fields, .doc = "classic sentence model"),
    SEC("semantic_cache", R, semantic_cache, cache_fields, .doc = "the semantic cache"),
    SEC("tools", R, tools, tools_fields, .doc = "tool selection"),
    SEC("prompt_guard", R, prompt_guard, guard_fields, .doc = "the jailbreak guard"),
    LIST("vllm_endpoints", R, endpoints, n_endpoints, sr_endpoint, endpoint_fields,
         .what = "a list of endpoints", .item = "a mapping (name, address, port)",
         .doc = "model servers"),
    MAP("model_config", R, models, n_models, sr_model, name, model_fields,
        .flags = CFG_NULL_ITEM, .what = "a mapping of model name to settings",
        .item = "a mapping", .doc = "models clients may name, and where they run"),
    SEC("classifier", R, classifier, classifier_fields, .doc = "classifiers"),
    LIST("keyword_rules", R, keyword_rules, n_keyword_rules, sr_keyword_rule, keyword_fields,
         .what = "a list of rules", .item = "a mapping (category, operator, keywords)",
         .doc = "checked first; the first match chooses the category"),
    LIST("embedding_rules", R, embedding_rules, n_embedding_rules, sr_embedding_rule,
         embedding_rule_fields, .what = "a list of rules",
         .item = "a mapping (name, threshold, candidates)",
         .doc = "accepted and checked, not evaluated: use categories[].examples"),
    LIST("categories", R, categories, n_categories, sr_category, category_fields,
         .pre = category_pre, .post = category_post, .what = "a list of categories",
         .item = "a mapping (name, model_scores, ...)", .doc = "routing categories"),
    STR("default_model", R, default_model,
        .doc = "answers when no category is confident (default: the first model)"),
    STR("auto_model_name", R, auto_model_name, .def_str = "MoM",
        .doc = "the model name that routes; auto always does too"),
    BOOL("include_config_models_in_list", R, include_config_models_in_list, .def = 1,
         .doc = "/v1/models lists the model_config names (classic default false)"),
    MAP("reasoning_families", R, reasoning_families, n_reasoning_families, sr_reasoning_family,
        name, family_fields, .what = "a mapping of family name to {type, parameter}",
        .item = "a mapping {type, parameter}", .doc = "how each model family switches reasoning"),
    STR("default_reasoning_effort", R, default_reasoning_effort, .def_str = "high",
        .doc = "low, medium or high"),
    SEC("api", R, batch_classification, api_fields, .doc = "classification API"),
    IGNORE("router", "LoRA-vs-traditional selection knobs of the classic batch classifier"),
    IGNORE("embedding_models", "long-context embedding models; embedding_model is used"),
    IGNORE("observability", "tracing; /metrics and the request log are ours"),
    IGNORE("clear_route_cache", "an Envoy ext_proc setting"),
    IGNORE("gpu_config", "legacy: TTFT estimation inputs"),
    /* ours */
    SEC("server", R, server, server_fields, .flags = OURS, .doc = "listener, limits, timeouts"),
    SEC("embedding_model", R, embedding_model, embedding_fields, .flags = OURS,
        .doc = "the sentence embedding model (cache, classifier, guards, tools)"),
    SEC("pii", R, pii, pii_fields, .flags = OURS, .doc = "PII policy enforcement"),
    SEC("difficulty_routing", R, difficulty_routing, difficulty_fields, .flags = OURS,
        .doc = "small vs large model by predicted difficulty"),
    SEC("adaptation", R, adaptation, adaptation_fields, .flags = OURS,
        .doc = "borderline requests leave a model over its latency/error budget"),
    SEC("auth", R, auth, auth_fields, .flags = OURS, .doc = "API keys -> tenants"),
    OWNED("(path)", R, path),
    OWNED("(config_dir)", R, config_dir),
    INDEX("(default_model_index)", R, default_model_index),
    END,
};
#undef R

/* Every section table with the name users know it by: for "it belongs in X" and the
 * reference. */
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
    {"model_config.<model>.loras[]", lora_fields},
    {"reasoning_families.<family>", family_fields},
    {"categories[]", category_fields},
    {"categories[].model_scores[]", score_fields},
    {"keyword_rules[]", keyword_fields},
    {"embedding_rules[]", embedding_rule_fields},
    {"classifier", classifier_fields},
    {"classifier.category_model", category_model_fields},
    {"classifier.pii_model", pii_model_fields},
    {"bert_model", bert_fields},
    {"semantic_cache", cache_fields},
    {"embedding_model", embedding_fields},
    {"prompt_guard", guard_fields},
    {"pii", pii_fields},
    {"difficulty_routing", difficulty_fields},
    {"adaptation", adaptation_fields},
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
            if (!strcmp(f->key, key) && f->type != FT_IGNORE && f->type != FT_OWNED &&
                f->type != FT_INDEX) {
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

void cfg_defaults(sr_config *c)
{
    cfg_defaults_fields(root_fields, c);
}

void cfg_config_destroy(sr_config *c)
{
    if (!c) return;
    cfg_free_fields(root_fields, c);
    free(c);
}

void cfg_milvus_free(sr_milvus_config *m)
{
    if (!m) return;
    cfg_free_fields(milvus_root_fields, m);
    free(m);
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
    if (!m || !(m->path = strdup(path))) {
        config_errors_add(L->errs, path, 0, 0, false, "out of memory loading the Milvus config");
        free(m);
        return NULL;
    }
    cfg_defaults_fields(milvus_root_fields, m);
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

/* ---- the configuration reference ------------------------------------------------------- */

static const char *type_name(const cfg_field *f)
{
    switch (f->type) {
    case FT_STR: return "string";
    case FT_INT:
    case FT_LONG:
    case FT_SIZE: return "integer";
    case FT_DOUBLE: return "number";
    case FT_BOOL: return "bool";
    case FT_STRLIST: return "list of strings";
    case FT_ENUM: return "one of";
    case FT_SECTION: return "section";
    case FT_LIST: return "list";
    case FT_MAP: return "map";
    case FT_IGNORE: return "ignored";
    default: return "";
    }
}

static void print_default(FILE *out, const cfg_field *f)
{
    switch (f->type) {
    case FT_STR:
        if (f->def_str) fprintf(out, "`%s`", f->def_str);
        break;
    case FT_INT:
    case FT_LONG:
    case FT_SIZE:
    case FT_DOUBLE:
        fprintf(out, "%g", f->def);
        break;
    case FT_BOOL:
        fprintf(out, "%s", f->def ? "true" : "false");
        break;
    case FT_ENUM:
        fprintf(out, "`%s`", f->names[(int)f->def]);
        break;
    default:
        break;
    }
}

static void print_table(FILE *out, const char *path, const cfg_field *t)
{
    for (const cfg_field *f = t; f->key; f++) {
        if (f->type == FT_OWNED || f->type == FT_INDEX) continue;
        char full[300];
        snprintf(full, sizeof full, "%s%s%s", path, *path ? "." : "", f->key);
        fprintf(out, "| `%s` | %s", full, type_name(f));
        if (f->type == FT_ENUM) {
            for (int i = 0; f->names[i]; i++)
                fprintf(out, "%s`%s`", i ? ", " : " ", f->names[i]);
        }
        if ((f->flags & CFG_MIN) && (f->flags & CFG_MAX))
            fprintf(out, " [%g, %g]", f->min, f->max);
        else if (f->flags & CFG_MIN_EXCL)
            fprintf(out, " > %g", f->min);
        else if (f->flags & CFG_MIN)
            fprintf(out, " >= %g", f->min);
        fprintf(out, " | ");
        print_default(out, f);
        fprintf(out, " | %s%s%s%s |\n", f->flags & CFG_OURS ? "ours. " : "",
                f->flags & CFG_REQUIRED ? "required. " : "", f->flags & CFG_LEGACY ? "legacy. " : "",
                f->doc ? f->doc : "");
        if (f->type == FT_SECTION)
            print_table(out, full, f->sub);
        else if (f->type == FT_LIST || f->type == FT_MAP) {
            char sub[320];
            snprintf(sub, sizeof sub, "%s%s", full, f->type == FT_LIST ? "[]" : ".<name>");
            print_table(out, sub, f->sub);
        }
    }
}

void config_reference_print(FILE *out)
{
    fprintf(out, "| key | type | default | what |\n|---|---|---|---|\n");
    print_table(out, "", root_fields);
    fprintf(out, "\nThe Milvus file (`semantic_cache.backend_config_path`, classic "
                 "`config/cache/milvus.yaml`):\n\n| key | type | default | what |\n"
                 "|---|---|---|---|\n");
    print_table(out, "", milvus_root_fields);
}
