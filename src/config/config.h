/* config.h - semrouter's configuration: one immutable object per loaded YAML file.
 *
 * The file format is vLLM Semantic Router's classic config/config.yaml (and
 * config/cache/milvus.yaml for the Milvus cache backend) plus our extensions
 * (docs/DESIGN.md §2.4). A classic file loads unchanged where the feature exists;
 * classic keys whose feature does not exist here are accepted and ignored, each
 * with a warning at its file:line naming what is ignored (the FT_IGNORE rows of
 * config_schema.c; `semrouter config-reference` lists them).
 * Every other unknown key is an error with file:line and a did-you-mean.
 *
 * Ownership and threads: config_load() returns an object with refcount 1 that
 * owns all memory reachable from it. It is never modified after load, so any
 * number of threads may read it; each holder takes a reference with
 * config_retain() and drops it with config_release() (the lead swaps configs on
 * SIGHUP; in-flight requests keep the one they started with).
 *
 * Cross references are resolved at load: every *_index field below is a valid
 * index into the named array (validation guarantees it), so consumers never
 * look names up on the request path. */
#ifndef SEMROUTER_CONFIG_H
#define SEMROUTER_CONFIG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* ---- errors ---------------------------------------------------------------------------- */

/* One problem found while loading: "FILE:LINE: message". line/column are 1-based,
 * 0 when unknown (e.g. file not found). Warnings do not make a load fail. */
typedef struct config_error {
    char *file;
    int line, column;
    bool warning;
    char *message; /* a sentence, no trailing newline */
} config_error;

/* All problems of one load, in file order per pass (syntax/types first, then
 * cross-reference checks). Zero-initialise or call config_errors_init. */
typedef struct config_errors {
    config_error *items;
    size_t count, cap;
    size_t n_errors, n_warnings;
} config_errors;

void config_errors_init(config_errors *e);
void config_errors_free(config_errors *e);
/* Adds one problem (printf-style message). Used by the loader; public for tests. */
void config_errors_add(config_errors *e, const char *file, int line, int column, bool warning,
                       const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Prints one line per problem: "FILE:LINE: message" ("FILE:LINE: warning: message"). */
void config_errors_print(const config_errors *e, FILE *out);

/* ---- small value types ----------------------------------------------------------------- */

/* A list of owned strings (YAML sequence of scalars). */
typedef struct sr_strlist {
    char **items;
    size_t count;
} sr_strlist;

/* ---- server (ours) --------------------------------------------------------------------- */

typedef enum { SR_COMPUTE_IDLE = 0, SR_COMPUTE_LOW, SR_COMPUTE_NORMAL } sr_compute_priority;

typedef struct sr_server_config {
    char *listen;                   /* "0.0.0.0" */
    int port;                       /* 8801 */
    int metrics_port;               /* 9190; 0 = no separate metrics listener */
    int workers;                    /* as written; 0 = number of cores */
    int compute_threads;            /* model-work threads (pipeline/compute.h); 0 = number of cores */
    int compute_batch;              /* 4: most texts embedded in one pass of the compute pool */
    int compute_priority;           /* SR_COMPUTE_IDLE..: the compute threads' scheduling (compute.h) */
    size_t max_body_bytes;          /* 10 MiB */
    size_t max_header_bytes;        /* 64 KiB */
    int idle_timeout_seconds;       /* 60: idle keep-alive client connection */
    int request_timeout_seconds;    /* 600: whole upstream request */
    int connect_timeout_ms;         /* 2000: upstream TCP/TLS connect */
    int first_byte_timeout_seconds; /* 300: upstream time to first byte */
    int upstream_idle_timeout_seconds; /* 120: upstream silence after the head (a stalled stream) */
    size_t max_upstream_body_bytes;    /* 64 MiB: largest whole (non-stream) upstream answer */
    int upstream_keepalive_idle_seconds;     /* 30: an idle kept-alive upstream connection older
                                                than this is closed, not reused */
    int upstream_keepalive_lifetime_seconds; /* 300: nor one opened longer ago; 0 = no limit */
    bool log_requests;              /* true: one JSON line per request */
    int watchdog_seconds;           /* 10: a worker loop that has not turned this long is stalled;
                                       0 = no watchdog (core/watchdog.h) */
    int shutdown_grace_seconds;     /* 25: SIGTERM/SIGINT waits this long for in-flight requests */
} sr_server_config;

/* ---- vllm_endpoints[] ------------------------------------------------------------------ */

typedef struct sr_endpoint {
    char *name;
    /* As written (NULL when absent). Classic: address is an IPv4/IPv6 literal;
     * ours: a hostname is accepted too. Exactly one of address+port or base_url. */
    char *address;
    int port;
    char *base_url;
    int weight;        /* > 0; default 1 */
    char *api_key_env; /* env var holding a bearer key, or NULL */
    char *api_key;     /* its value read at load time, NULL when unset/empty (a warning) */
    int max_fails;     /* passive health: consecutive failures before ejection (3) */
    int eject_seconds; /* how long an ejected endpoint stays out (10) */
    sr_strlist models; /* legacy classic key: models served here (used only to derive
                          preferred_endpoints for models that list none) */
    /* Derived at load, always set: */
    bool tls;       /* https */
    char *host;     /* host name or IP literal, no brackets */
    int host_port;  /* effective TCP port (base_url default 80/443) */
    char *api_base; /* OpenAI API root, no trailing slash: "http://127.0.0.1:8811/v1",
                       "https://api.example.com/v1", "http://[::1]:8000/v1". The upstream
                       URL is api_base + "/chat/completions". For address+port it is
                       http://ADDR:PORT/v1; a base_url with an empty path gets "/v1". */
} sr_endpoint;

/* ---- model_config ---------------------------------------------------------------------- */

typedef struct sr_pii_policy {
    bool allow_by_default;        /* true: every PII type may pass */
    sr_strlist pii_types_allowed; /* when !allow_by_default: only these types pass */
} sr_pii_policy;

typedef struct sr_pricing {
    bool set;
    char *currency; /* default "USD" */
    double prompt_per_1m;
    double completion_per_1m;
} sr_pricing;

/* model_config.<model>.loras[] (classic): LoRA adapters served under their own name by the
 * model's endpoints (vLLM --lora-modules). A model_scores entry with lora_name sends that
 * name upstream as the model. */
typedef struct sr_lora {
    char *name;
    char *description;
} sr_lora;

typedef struct sr_model {
    char *name;           /* the model_config key: what clients ask for */
    char *upstream_model; /* name sent upstream (ours); default = name */
    sr_strlist preferred_endpoints;
    int *endpoint_index;        /* [preferred_endpoints.count] into cfg->endpoints */
    size_t n_endpoints;         /* == preferred_endpoints.count (or legacy-derived) */
    char *reasoning_family;     /* NULL = none */
    int reasoning_family_index; /* into cfg->reasoning_families, -1 = none */
    sr_pii_policy pii_policy;
    sr_pricing pricing;
    sr_lora *loras;
    size_t n_loras;
} sr_model;

/* ---- reasoning_families ---------------------------------------------------------------- */

typedef enum {
    SR_REASONING_CHAT_TEMPLATE_KWARGS = 0, /* chat_template_kwargs: {parameter: true|false} */
    SR_REASONING_EFFORT                    /* reasoning_effort: low|medium|high */
} sr_reasoning_type;

typedef struct sr_reasoning_family {
    char *name;
    sr_reasoning_type type;
    char *parameter; /* "enable_thinking", "thinking", "reasoning_effort" */
} sr_reasoning_family;

/* ---- categories[] ---------------------------------------------------------------------- */

typedef enum { SR_PROMPT_REPLACE = 0, SR_PROMPT_INSERT } sr_system_prompt_mode;

typedef struct sr_model_score {
    char *model;
    int model_index;             /* into cfg->models */
    double score;                /* > 0 */
    bool use_reasoning;          /* required in the file (classic rule) */
    char *reasoning_effort;      /* low|medium|high or NULL (-> default_reasoning_effort) */
    char *reasoning_description; /* free text or NULL */
    char *lora_name;             /* classic: a LoRA of the model (its loras[]), or NULL; when
                                    set it is the model name sent upstream */
} sr_model_score;

typedef struct sr_category {
    char *name;
    char *description;
    sr_strlist mmlu_categories;
    char *system_prompt;                      /* NULL = none */
    bool system_prompt_enabled;               /* default: true when system_prompt is set */
    sr_system_prompt_mode system_prompt_mode; /* default replace */
    sr_model_score *model_scores;             /* >= 1 entry, in file order */
    size_t n_model_scores;
    /* Per-category overrides. The value fields are always the effective value
     * (the override when *_set, else the global one: semantic_cache.enabled /
     * .similarity_threshold, prompt_guard.enabled / .threshold, pii.enabled /
     * classifier.pii_model.threshold). */
    bool semantic_cache_enabled, semantic_cache_enabled_set;
    double semantic_cache_similarity_threshold;
    bool semantic_cache_similarity_threshold_set;
    double semantic_cache_verifier_min_probability; /* ours; default semantic_cache.verifier's */
    bool semantic_cache_verifier_min_probability_set;
    bool jailbreak_enabled, jailbreak_enabled_set;
    double jailbreak_threshold;
    bool jailbreak_threshold_set;
    bool pii_enabled, pii_enabled_set;
    double pii_threshold;
    bool pii_threshold_set;
    sr_strlist examples; /* ours: example utterances (custom category without training) */
    double difficulty_threshold; /* ours: override of difficulty_routing.threshold */
    bool difficulty_threshold_set;
} sr_category;

/* ---- keyword_rules[] ------------------------------------------------------------------- */

typedef enum { SR_KEYWORD_OR = 0, SR_KEYWORD_AND, SR_KEYWORD_NOR } sr_keyword_operator;

typedef struct sr_keyword_rule {
    char *category;
    int category_index; /* into cfg->categories */
    sr_keyword_operator op;
    sr_strlist keywords; /* >= 1 */
    bool case_sensitive; /* default false */
} sr_keyword_rule;

/* ---- embedding_rules[] (classic) ------------------------------------------------------ */

typedef enum { SR_AGG_MEAN = 0, SR_AGG_MAX, SR_AGG_ANY } sr_aggregation;

/* A category chosen when the query is similar enough to candidate phrases. Parsed and
 * checked; the router does not evaluate them (a warning at load says so): the same job is
 * done by categories[].examples. */
typedef struct sr_embedding_rule {
    char *name;     /* "name" (newer files) or "category" (older) */
    char *category; /* as written in "category", NULL when absent */
    double threshold;
    sr_strlist candidates;
    sr_aggregation aggregation_method;
    char *model;
    int dimension;
    double quality_priority, latency_priority;
} sr_embedding_rule;

/* ---- classifier, bert_model ------------------------------------------------------------ */

typedef struct sr_category_model {
    char *model_id;              /* classic; unused by our classifier */
    double threshold;            /* 0.6: below it -> default_model */
    bool use_cpu;                /* true */
    bool use_modernbert;         /* classic; accepted */
    char *category_mapping_path; /* classic; NULL when absent */
    char *head_path;             /* ours: trained linear head file; NULL = built-in default
                                    chosen by the routing module */
} sr_category_model;

typedef struct sr_pii_model {
    char *model_id;
    double threshold; /* 0.7 */
    bool use_cpu;
    bool use_modernbert;
    char *pii_mapping_path;
} sr_pii_model;

typedef struct sr_classifier_config {
    sr_category_model category_model;
    sr_pii_model pii_model;
} sr_classifier_config;

typedef struct sr_bert_model {
    char *model_id;
    double threshold; /* 0.6 */
    bool use_cpu;
} sr_bert_model;

/* ---- semantic_cache, embedding_model, milvus ------------------------------------------- */

typedef enum { SR_CACHE_MEMORY = 0, SR_CACHE_MILVUS, SR_CACHE_HYBRID } sr_cache_backend;
/* Classic "" means the default, fifo. */
typedef enum { SR_EVICT_FIFO = 0, SR_EVICT_LRU, SR_EVICT_LFU } sr_eviction_policy;
typedef enum { SR_VECTORS_F32 = 0, SR_VECTORS_F16, SR_VECTORS_INT8 } sr_vector_storage;
/* tenant (default): every tenant has its own entries (docs/DESIGN.md §4).
 * global: one shared namespace, for single-tenant deployments behind auth
 * where sharing answers between API keys is wanted. */
typedef enum { SR_CACHE_SCOPE_TENANT = 0, SR_CACHE_SCOPE_GLOBAL } sr_cache_scope;

/* config/cache/milvus.yaml (classic shape + connection.uri). */
typedef struct sr_milvus_config {
    char *path; /* file it was loaded from */
    struct {
        char *uri;      /* ours: "http(s)://host:port" RESTful base; overrides host/port */
        char *host;     /* "localhost" */
        int port;       /* 19530 */
        char *database; /* "default" when empty */
        int timeout;    /* seconds, 30: bootstrap and maintenance calls */
        char *token;    /* ours: API key / "user:password" sent as Bearer (Zilliz Cloud); overrides auth */
        struct {
            bool enabled;
            char *username, *password;
        } auth;
        struct {
            bool enabled;
            char *cert_file, *key_file, *ca_file;
        } tls;
    } connection;
    struct {
        char *name; /* "semantic_cache" */
        char *description;
        struct {
            char *name;        /* "embedding" */
            int dimension;     /* classic: ignored (detected from the model); 0 = detect */
            char *metric_type; /* IP | COSINE | L2 (default IP) */
        } vector_field;
        struct {
            char *type;          /* "HNSW" */
            int m;               /* params.M, 16 */
            int ef_construction; /* params.efConstruction, 64 */
        } index;
    } collection;
    struct {
        int ef;                  /* params.ef, 64 */
        int topk;                /* 10 */
        char *consistency_level; /* Strong | Session | Bounded | Eventually ("Session") */
        int timeout_ms;          /* ours: lookups and stores on the request path, 1000 */
    } search;
    int cleanup_interval; /* data_management.ttl.cleanup_interval: seconds between deletes of
                             expired rows, 3600 (0 = never) */
    struct {
        bool drop_collection_on_startup; /* false */
        bool auto_create_collection;     /* true */
    } development;
    struct {                     /* ours: backend_type hybrid (cache/hybrid.h) */
        int sync_interval_ms;    /* 1000: how often rows other routers wrote are pulled into the local index */
        int sync_overlap_seconds; /* 10: each pull re-reads rows this much older than the last one seen
                                     (writes that became visible late, clock skew between routers) */
        int resync_seconds;      /* 300: a full re-read that drops local entries gone from Milvus (0 = never) */
    } hybrid;
} sr_milvus_config;

/* semantic_cache.verifier (ours): the learned hit check (cache/verify.h). */
typedef struct sr_cache_verifier_config {
    bool enabled;            /* true */
    double min_probability;  /* 0.5: a semantic candidate hits only at or above it */
    char *model_path;        /* NULL = data/cache/verifier.model beside the binary's tree */
    /* A conversation whose assistant turns are byte-identical to the stored
     * entry's (select.h): earlier user turns need context_min_probability
     * (0.1), the follow-up follow_up_min_probability (0.4) at cosine >=
     * follow_up_similarity_threshold (0.65), scored by the follow-up model
     * (follow_up_model_path; "" = the hit verifier's model). */
    double context_min_probability;
    double follow_up_min_probability;
    double follow_up_similarity_threshold;
    char *follow_up_model_path;
    int max_candidates;      /* candidates checked per lookup, 8 */
} sr_cache_verifier_config;

typedef struct sr_semantic_cache_config {
    bool enabled; /* false when the section is absent */
    sr_cache_backend backend_type;
    char *backend_config_path;   /* as written; NULL when absent */
    double similarity_threshold; /* 0.8, cosine, [0,1] */
    long max_entries;            /* 0 = unbounded */
    long max_entries_per_tenant; /* ours: 0 = none; a tenant at it evicts its own oldest entry */
    long ttl_seconds;            /* 0 = no expiry; from insertion */
    sr_eviction_policy eviction_policy;
    bool use_hnsw;                       /* true */
    int hnsw_m;                          /* 16 */
    int hnsw_ef_construction;            /* 200 */
    int hnsw_ef_search;                  /* ours: 64 */
    char *embedding_model;               /* classic string (bert|qwen3|gemma): accepted, unused;
                                            we use the top-level embedding_model block */
    sr_vector_storage vector_storage;    /* ours: f32 */
    double context_similarity_threshold; /* ours: 0.9 for earlier turns */
    char *persist_path;                  /* ours: NULL = no persistence */
    sr_cache_verifier_config verifier;   /* ours */
    sr_cache_scope scope;                /* ours: tenant */
    long max_memory_entries;             /* hybrid: local index size; 0 = unbounded */
    sr_milvus_config *milvus;            /* milvus/hybrid: parsed backend_config_path (required when
                                            enabled; parsed when given even if disabled), else NULL */
} sr_semantic_cache_config;

typedef enum { SR_EMBED_USE_LITE = 0, SR_EMBED_MODEL2VEC, SR_EMBED_REMOTE } sr_embedding_type;
typedef enum { SR_EMBED_F32 = 0, SR_EMBED_BF16 } sr_embedding_precision;

/* Top-level embedding_model (ours); maps onto embed.h's embed_options. */
typedef struct sr_embedding_model_config {
    sr_embedding_type type; /* use-lite */
    char *path;             /* "models/use-lite" (use-lite, model2vec) */
    char *url;              /* remote: OpenAI-compatible base URL (…/v1) */
    char *model;            /* remote: "model" field */
    char *api_key_env;      /* remote: env var with a bearer key */
    int dim;                /* remote: expected dimension, 0 = learn */
    int timeout_ms;         /* remote: per-call timeout, 0 = default */
    sr_embedding_precision precision; /* use-lite weights: bf16 (default) or f32 */
} sr_embedding_model_config;

/* ---- guards, tools, auth, api ---------------------------------------------------------- */

/* ours: difficulty-aware routing (src/route/difficulty.h) between two models */
typedef struct sr_difficulty_config {
    bool enabled;
    char *head_path;   /* "config/difficulty_head.bin" */
    char *small_model; /* model_config names */
    char *large_model;
    double threshold; /* score >= threshold -> large_model; 0.55 */
} sr_difficulty_config;

/* ours: real-time adaptation (src/route/adapt.h): borderline requests leave a model
 * that breaches its latency, error or queue budget, and come back when it recovers */
typedef struct sr_adaptation_config {
    bool enabled;
    double alpha;             /* weight of a new sample in the moving averages; 0.2 */
    int ttft_budget_ms;       /* time-to-first-token budget, 0 = none; 2000 */
    double error_budget;      /* error-rate budget, 0 = none; 0.25 */
    double queue_budget;      /* in-flight budget, 0 = none */
    double recover_ratio;     /* recovered at or under ratio x budget; 0.5 */
    int min_samples;          /* attempts before a breach; 5 */
    int probe_seconds;        /* a breached model without attempts this long is tried again; 30 */
    double category_margin;   /* borderline: head confidence within this of the threshold; 0.15 */
    double difficulty_margin; /* borderline: difficulty score within this of its threshold; 0.1 */
} sr_adaptation_config;

typedef struct sr_prompt_guard_config {
    bool enabled;                 /* false when absent */
    double threshold;             /* 0.7 */
    bool use_modernbert;          /* classic; accepted */
    char *model_id;               /* classic; accepted */
    char *jailbreak_mapping_path; /* classic; accepted */
    bool use_cpu;
    char *exemplars_path; /* ours: "data/guard/jailbreak_exemplars.txt" */
    int block_status;     /* ours: 200 (classic shape) or 403 */
} sr_prompt_guard_config;

typedef enum { SR_PII_ACTION_BLOCK = 0, SR_PII_ACTION_REDACT } sr_pii_action;

typedef struct sr_pii_config {
    bool enabled;         /* true: run recognizers when any model has a restrictive policy */
    sr_pii_action action; /* when no model allows the found types: block (default) or redact */
} sr_pii_config;

typedef struct sr_tools_config {
    bool enabled;
    int top_k;                   /* 3 */
    double similarity_threshold; /* 0.2 */
    char *tools_db_path;         /* NULL when absent */
    bool fallback_to_empty;      /* true */
} sr_tools_config;

typedef struct sr_auth_key {
    char *key;        /* the bearer key given inline (wiped and freed once hashed at load) */
    char *key_env;    /* NULL when not given: the environment variable holding the key */
    char *key_sha256; /* NULL when not given: hex SHA-256 of the key (no secret in the file) */
    unsigned char digest[32]; /* SHA-256 of the key, whichever way it was given (set at load) */
    bool has_digest;          /* false: the key could not be read (key_env unset, auth off) */
    char *tenant;  /* tenant id; default "key-<index>" */
    bool admin;    /* false; true: may use the management routes when auth is on */
    /* Per-tenant limits (every key of a tenant must give the same ones; 0 = none):
     * a token bucket of requests_per_second refilled up to burst, and at most
     * max_concurrent requests in flight. Over either: 429 with Retry-After. */
    double requests_per_second;
    int burst;          /* 0 = max(1, ceil(requests_per_second)) */
    int max_concurrent;
} sr_auth_key;

typedef struct sr_auth_config {
    bool enabled; /* false: no Authorization check, one tenant "anonymous" */
    /* auth off: the management routes (stats, cache operations, reload) answer only
     * clients on a loopback address (true, the default) or anybody (false). */
    bool management_loopback_only;
    sr_auth_key *keys;
    size_t n_keys;
} sr_auth_config;

typedef struct sr_batch_classification_config {
    int max_batch_size;        /* 100 */
    int concurrency_threshold; /* 5 */
    int max_concurrency;       /* 8 */
} sr_batch_classification_config;

/* ---- the whole file -------------------------------------------------------------------- */

typedef struct sr_config {
    _Atomic int refcount; /* use config_retain/config_release */
    char *path;           /* the file given to config_load (or the name for load_string) */
    char *config_dir;     /* its directory, for resolving relative paths ("." for strings) */

    sr_server_config server;

    sr_endpoint *endpoints; /* vllm_endpoints, file order */
    size_t n_endpoints;

    sr_model *models; /* model_config, file order */
    size_t n_models;

    char *default_model;                /* default: the first model */
    int default_model_index;            /* into models */
    char *auto_model_name;              /* "MoM"; "auto" is always accepted as well */
    bool include_config_models_in_list; /* ours default true (classic default false):
                                           /v1/models lists model_config keys */
    char *default_reasoning_effort;     /* "high" */

    sr_reasoning_family *reasoning_families;
    size_t n_reasoning_families;

    sr_category *categories;
    size_t n_categories;

    sr_keyword_rule *keyword_rules;
    size_t n_keyword_rules;

    sr_embedding_rule *embedding_rules;
    size_t n_embedding_rules;

    sr_classifier_config classifier;
    sr_bert_model bert_model;
    sr_semantic_cache_config semantic_cache;
    sr_embedding_model_config embedding_model;
    sr_prompt_guard_config prompt_guard;
    sr_difficulty_config difficulty_routing; /* ours */
    sr_adaptation_config adaptation;         /* ours */
    sr_pii_config pii;
    sr_tools_config tools;
    sr_auth_config auth;
    sr_batch_classification_config batch_classification; /* api.batch_classification */
} sr_config;

/* Loads and validates a file. Returns a config (refcount 1), or NULL when there is
 * any error; every problem found is appended to errs (which may be NULL). Warnings
 * are appended too but do not fail the load. */
sr_config *config_load(const char *path, config_errors *errs);
/* The same from a string; name is used in messages and relative paths resolve
 * against the current directory. */
sr_config *config_load_string(const char *yaml, const char *name, config_errors *errs);

/* Reference counting (thread-safe). config_release frees at zero; NULL is a no-op. */
sr_config *config_retain(sr_config *c);
void config_release(sr_config *c);

/* What c will do, in aligned lines (listen, endpoints, models, routing, cache, embedding,
 * guards, auth): check-config prints it under "FILE: OK" (config_summary.c). */
void config_print_summary(const sr_config *c, FILE *out);
/* Same as config_release (for code that owns the only reference). */
void config_free(sr_config *c);

/* Lookups by exact name; NULL / -1 when absent. O(n): for startup, not the hot path. */
int config_find_model(const sr_config *c, const char *name);
int config_find_endpoint(const sr_config *c, const char *name);
int config_find_category(const sr_config *c, const char *name);
int config_find_reasoning_family(const sr_config *c, const char *name);
/* 1 when name selects automatic routing: auto_model_name or "auto". */
int config_is_auto_model(const sr_config *c, const char *name);

/* Resolves a path from the config: absolute -> as is; relative -> the first that
 * exists of: the config file's folder, the install prefix (config_install_prefix), the
 * working directory; none exists (a file to be created) -> the config file's folder.
 * Writes into out (NUL-terminated); returns out. */
char *config_resolve_path(const sr_config *c, const char *path, char *out, size_t outlen);
/* Where semrouter's shipped files (data/, config/, models/) are: $SEMROUTER_HOME, else found
 * from the binary's location (its folder or a parent holding data/route, or
 * PREFIX/share/semrouter). "" when not found. */
const char *config_install_prefix(void);

/* The configuration reference (markdown tables: every key, its type, default, range and
 * meaning) generated from the loader's field tables: `semrouter config-reference` prints it
 * and README.md carries it. */
void config_reference_print(FILE *out);
#endif
