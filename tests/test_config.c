/* Tests for src/config: loading the classic vLLM Semantic Router config and our
 * default one, every validation rule reported at its line, several problems in
 * one file, did-you-mean for unknown keys, types, the Milvus file, auth keys,
 * reference counting and the check-config command. */
#include "cli/cli.h"
#include "config/config.h"
#include "core/util.h"
#include "config/config_internal.h"
#include "test.h"
#include <stdarg.h>
#include <unistd.h>

/* 1 when errs holds a non-warning problem at `line` whose message contains needle
 * (line 0 = any line). */
static int has_error(const config_errors *e, int line, const char *needle)
{
    for (size_t i = 0; i < e->count; i++)
        if (!e->items[i].warning && (line == 0 || e->items[i].line == line) &&
            strstr(e->items[i].message, needle))
            return 1;
    return 0;
}

/* The same for a warning. */
static int has_warning(const config_errors *e, int line, const char *needle)
{
    for (size_t i = 0; i < e->count; i++)
        if (e->items[i].warning && (line == 0 || e->items[i].line == line) &&
            strstr(e->items[i].message, needle))
            return 1;
    return 0;
}

static void dump_errors(const config_errors *e)
{
    for (size_t i = 0; i < e->count; i++)
        printf("     | %s:%d: %s\n", e->items[i].file, e->items[i].line, e->items[i].message);
}

#define CHECK_ERR(errs, line, needle)                                                              \
    do {                                                                                           \
        int found_ = has_error((errs), (line), (needle));                                          \
        CHECK(found_, "no error at line %d containing \"%s\"", (line), (needle));                  \
        if (!found_) dump_errors(errs);                                                            \
    } while (0)

#define CHECK_WARN(errs, line, needle)                                                             \
    do {                                                                                           \
        int found_ = has_warning((errs), (line), (needle));                                        \
        CHECK(found_, "no warning at line %d containing \"%s\"", (line), (needle));              \
        if (!found_) dump_errors(errs);                                                            \
    } while (0)

/* The smallest valid file; tests append or change sections around it. */
#define MINIMAL                                                                                    \
    "vllm_endpoints:\n"                                                                            \
    "  - {name: e1, address: 127.0.0.1, port: 8000}\n"                                             \
    "model_config:\n"                                                                              \
    "  m1: {preferred_endpoints: [e1]}\n"

/* Loads text that must fail; returns the error list (caller frees). */
static config_errors load_bad(const char *yaml)
{
    config_errors errs;
    config_errors_init(&errs);
    sr_config *c = config_load_string(yaml, "t.yaml", &errs);
    CHECK(c == NULL, "expected the load to fail");
    config_release(c);
    return errs;
}

static sr_config *load_good(const char *yaml)
{
    config_errors errs;
    config_errors_init(&errs);
    sr_config *c = config_load_string(yaml, "t.yaml", &errs);
    CHECK(c != NULL, "expected the load to succeed");
    if (!c) dump_errors(&errs);
    config_errors_free(&errs);
    return c;
}

static void classic_config_loads(void)
{
    config_errors errs;
    config_errors_init(&errs);
    sr_config *c = config_load("tests/data/config/classic.yaml", &errs);
    CHECK(c != NULL, "classic config must load");
    CHECK_EQ_INT(errs.n_errors, 0);
    if (!c) {
        dump_errors(&errs);
        config_errors_free(&errs);
        return;
    }
    CHECK_EQ_INT(c->n_endpoints, 1);
    CHECK_STR(c->endpoints[0].api_base, "http://172.28.0.20:8002/v1");
    CHECK_STR(c->endpoints[0].host, "172.28.0.20");
    CHECK_EQ_INT(c->endpoints[0].weight, 1);
    CHECK_EQ_INT(c->n_models, 1);
    CHECK_STR(c->models[0].name, "qwen3");
    CHECK_STR(c->models[0].upstream_model, "qwen3");
    CHECK_EQ_INT(c->models[0].n_endpoints, 1);
    CHECK_EQ_INT(c->models[0].endpoint_index[0], 0);
    CHECK_EQ_INT(c->models[0].reasoning_family_index, config_find_reasoning_family(c, "qwen3"));
    CHECK(c->models[0].pii_policy.allow_by_default, "allow_by_default");
    CHECK_EQ_INT(c->n_categories, 14);
    CHECK_STR(c->default_model, "qwen3");
    CHECK_EQ_INT(c->default_model_index, 0);
    CHECK_STR(c->auto_model_name, "MoM");
    CHECK(config_is_auto_model(c, "auto") && config_is_auto_model(c, "MoM"), "auto names");
    CHECK(!config_is_auto_model(c, "qwen3"), "qwen3 is not auto");
    int psy = config_find_category(c, "psychology");
    CHECK(psy >= 0, "psychology");
    if (psy >= 0) {
        CHECK_NEAR(c->categories[psy].semantic_cache_similarity_threshold, 0.92, 1e-9);
        CHECK(c->categories[psy].semantic_cache_similarity_threshold_set, "set");
    }
    int bus = config_find_category(c, "business");
    if (bus >= 0) { /* no override: the global threshold and guard settings */
        CHECK_NEAR(c->categories[bus].semantic_cache_similarity_threshold, 0.8, 1e-9);
        CHECK(!c->categories[bus].semantic_cache_similarity_threshold_set, "not set");
        CHECK(c->categories[bus].jailbreak_enabled, "guard enabled globally");
        CHECK_NEAR(c->categories[bus].jailbreak_threshold, 0.7, 1e-9);
        CHECK(c->categories[bus].system_prompt_enabled, "prompt set => enabled");
        CHECK_EQ_INT(c->categories[bus].system_prompt_mode, SR_PROMPT_REPLACE);
        CHECK_EQ_INT(c->categories[bus].model_scores[0].model_index, 0);
        CHECK(!c->categories[bus].model_scores[0].use_reasoning, "use_reasoning false");
    }
    int math = config_find_category(c, "math");
    CHECK(math >= 0 && c->categories[math].model_scores[0].use_reasoning, "math reasons");
    CHECK(config_find_category(c, "computer science") >= 0, "name with a space");
    CHECK_EQ_INT(c->semantic_cache.backend_type, SR_CACHE_MEMORY);
    CHECK_EQ_INT(c->semantic_cache.max_entries, 1000);
    CHECK_EQ_INT(c->semantic_cache.ttl_seconds, 3600);
    CHECK_EQ_INT(c->semantic_cache.eviction_policy, SR_EVICT_FIFO);
    CHECK_EQ_INT(c->semantic_cache.hnsw_ef_construction, 200);
    CHECK_STR(c->semantic_cache.embedding_model, "bert");
    CHECK(c->tools.enabled && c->tools.top_k == 3, "tools");
    CHECK_STR(c->tools.tools_db_path, "config/tools_db.json");
    CHECK(c->prompt_guard.enabled, "prompt guard");
    CHECK_EQ_INT(c->prompt_guard.block_status, 200);
    CHECK_NEAR(c->classifier.category_model.threshold, 0.6, 1e-9);
    CHECK_STR(c->classifier.pii_model.pii_mapping_path,
              "models/pii_classifier_modernbert-base_presidio_token_model/pii_type_mapping.json");
    CHECK_EQ_INT(c->n_reasoning_families, 4);
    int gpt = config_find_reasoning_family(c, "gpt-oss");
    CHECK(gpt >= 0 && c->reasoning_families[gpt].type == SR_REASONING_EFFORT, "gpt-oss type");
    CHECK_STR(c->default_reasoning_effort, "high");
    CHECK_EQ_INT(c->batch_classification.max_concurrency, 8);
    config_release(c);
    config_errors_free(&errs);
}

static void default_config_loads(void)
{
    config_errors errs;
    config_errors_init(&errs);
    sr_config *c = config_load("config/config.yaml", &errs);
    CHECK(c != NULL, "config/config.yaml must load");
    CHECK_EQ_INT(errs.n_errors, 0);
    if (!c) {
        dump_errors(&errs);
        config_errors_free(&errs);
        return;
    }
    CHECK_STR(c->server.listen, "0.0.0.0");
    CHECK_EQ_INT(c->server.port, 8801);
    CHECK_EQ_INT(c->server.metrics_port, 9190);
    int small = config_find_model(c, "small"), large = config_find_model(c, "large");
    CHECK(small >= 0 && large >= 0, "models small and large");
    if (small >= 0 && large >= 0) {
        CHECK_STR(c->endpoints[c->models[small].endpoint_index[0]].api_base,
                  "http://127.0.0.1:8811/v1");
        CHECK_STR(c->endpoints[c->models[large].endpoint_index[0]].api_base,
                  "http://127.0.0.1:8812/v1");
    }
    CHECK_STR(c->default_model, "small");
    CHECK_STR(c->auto_model_name, "MoM");
    CHECK(c->semantic_cache.enabled, "cache enabled");
    CHECK_EQ_INT(c->semantic_cache.backend_type, SR_CACHE_MEMORY);
    CHECK_STR(c->config_dir, "config");
    config_release(c);
    config_errors_free(&errs);
}

static void defaults_when_absent(void)
{
    sr_config *c = load_good(MINIMAL);
    if (!c) return;
    CHECK_STR(c->server.listen, "0.0.0.0");
    CHECK_EQ_INT(c->server.port, 8801);
    CHECK_EQ_INT(c->server.metrics_port, 9190);
    CHECK_EQ_INT(c->server.workers, 0);
    CHECK_EQ_INT(c->server.max_body_bytes, 10 << 20);
    CHECK_EQ_INT(c->server.max_header_bytes, 64 << 10);
    CHECK_EQ_INT(c->server.idle_timeout_seconds, 60);
    CHECK_EQ_INT(c->server.request_timeout_seconds, 600);
    CHECK_EQ_INT(c->server.connect_timeout_ms, 2000);
    CHECK_EQ_INT(c->server.first_byte_timeout_seconds, 300);
    CHECK(c->server.log_requests, "log_requests");
    CHECK_STR(c->default_model, "m1"); /* the first model */
    CHECK_STR(c->auto_model_name, "MoM");
    CHECK(c->include_config_models_in_list, "include models");
    CHECK_STR(c->default_reasoning_effort, "high");
    CHECK(!c->semantic_cache.enabled, "cache off when absent");
    CHECK_NEAR(c->semantic_cache.similarity_threshold, 0.8, 1e-9);
    CHECK(c->semantic_cache.use_hnsw, "use_hnsw");
    CHECK_EQ_INT(c->semantic_cache.hnsw_m, 16);
    CHECK_EQ_INT(c->semantic_cache.hnsw_ef_construction, 200);
    CHECK_EQ_INT(c->semantic_cache.hnsw_ef_search, 64);
    CHECK_NEAR(c->semantic_cache.context_similarity_threshold, 0.9, 1e-9);
    CHECK_EQ_INT(c->semantic_cache.scope, SR_CACHE_SCOPE_TENANT);
    CHECK_EQ_INT(c->embedding_model.type, SR_EMBED_USE_LITE);
    CHECK_STR(c->embedding_model.path, "models/use-lite");
    CHECK_NEAR(c->prompt_guard.threshold, 0.7, 1e-9);
    CHECK_STR(c->prompt_guard.exemplars_path, "data/guard/jailbreak_exemplars.txt");
    CHECK(!c->auth.enabled, "auth off");
    CHECK_EQ_INT(c->endpoints[0].max_fails, 3);
    CHECK_EQ_INT(c->endpoints[0].eject_seconds, 10);
    CHECK(c->endpoints[0].api_key == NULL, "no key");
    CHECK_EQ_INT(c->pii.action, SR_PII_ACTION_BLOCK);
    config_release(c);
}

static void wrong_types_reported(void)
{
    config_errors e = load_bad(MINIMAL "server:\n"                      /* 5 */
                                       "  port: abc\n"                  /* 6 */
                                       "  log_requests: maybe\n"        /* 7 */
                                       "  workers: 1.5\n"               /* 8 */
                                       "  listen: [a, b]\n"             /* 9 */
                                       "semantic_cache:\n"              /* 10 */
                                       "  similarity_threshold: high\n" /* 11 */
                                       "  max_entries: -1\n"            /* 12 */
                                       "  ttl_seconds: -5\n"            /* 13 */
                                       "categories: {a: 1}\n");         /* 14 */
    CHECK_ERR(&e, 6, "server.port: expected an integer, got 'abc'");
    CHECK_ERR(&e, 7, "expected true or false, got 'maybe'");
    CHECK_ERR(&e, 8, "expected an integer, got '1.5'");
    CHECK_ERR(&e, 9, "server.listen: expected a string, got a list");
    CHECK_ERR(&e, 11, "expected a number, got 'high'");
    CHECK_ERR(&e, 12, "max_entries must be at least 0");
    CHECK_ERR(&e, 13, "ttl_seconds must be at least 0");
    CHECK_ERR(&e, 14, "categories: expected a list of categories, got a mapping");
    config_errors_free(&e);
}

static void unknown_keys_suggest(void)
{
    config_errors e = load_bad(MINIMAL "semantic_cache:\n"            /* 5 */
                                       "  enabled: true\n"            /* 6 */
                                       "  similarity_treshold: 0.9\n" /* 7 */
                                       "  foo: 1\n"                   /* 8 */
                                       "defualt_model: m1\n"          /* 9 */
                                       "vlm_endpoints: []\n");        /* 10 */
    CHECK_ERR(&e, 7,
              "unknown key 'similarity_treshold' in semantic_cache; did you mean "
              "'similarity_threshold'?");
    CHECK_ERR(&e, 8, "unknown key 'foo' in semantic_cache");
    CHECK(!has_error(&e, 8, "did you mean"), "no far-fetched suggestion for foo");
    CHECK_ERR(&e, 9, "unknown key 'defualt_model' at the top level; did you mean 'default_model'?");
    CHECK_ERR(&e, 10, "did you mean 'vllm_endpoints'?");
    CHECK_EQ_INT(e.n_errors, 4);
    config_errors_free(&e);
}

/* vLLM Semantic Router's own example shapes (tests/data/config/compat): they load unchanged;
 * what semrouter does not act on is a warning at its line, never a refusal. */
static void compat_files_load(void)
{
    config_errors e;
    config_errors_init(&e);
    const char *lora = "tests/data/config/compat/lora_routing.yaml";
    sr_config *c = config_load(lora, &e);
    CHECK(c != NULL && e.n_errors == 0, "%s must load (%zu errors)", lora, e.n_errors);
    if (!c) dump_errors(&e);
    CHECK_WARN(&e, 21, "model_config.Qwen/Qwen3-0.6B.use_reasoning is not used by semrouter; ignored");
    CHECK_WARN(&e, 30, "classifier.enabled is not used by semrouter; ignored");
    CHECK_WARN(&e, 39, "categories[0].pii_detection_enabled is not used by semrouter; ignored");
    if (c) {
        CHECK_EQ_INT(c->n_models, 1);
        CHECK_EQ_INT(c->models[0].n_loras, 3);
        CHECK_STR(c->models[0].loras[1].name, "math-expert");
        CHECK_STR(c->models[0].loras[0].description, "Physics, chemistry and biology");
        CHECK_STR(c->categories[0].model_scores[0].lora_name, "math-expert");
        CHECK(c->categories[3].model_scores[0].lora_name == NULL, "no lora on 'other'");
    }
    config_release(c);
    config_errors_free(&e);

    const char *rules = "tests/data/config/compat/embedding_rules.yaml";
    config_errors_init(&e);
    c = config_load(rules, &e);
    CHECK(c != NULL && e.n_errors == 0, "%s must load (%zu errors)", rules, e.n_errors);
    if (!c) dump_errors(&e);
    CHECK_WARN(&e, 11, "reasoning_family 'qwen3' is not defined");
    CHECK_WARN(&e, 13, "model 'spare' has no endpoints");
    CHECK_WARN(&e, 16, "embedding_rules are accepted but not evaluated");
    if (c) {
        CHECK_EQ_INT(c->n_embedding_rules, 2);
        CHECK_STR(c->embedding_rules[0].name, "technical_support");
        CHECK_STR(c->embedding_rules[1].name, "billing"); /* older spelling: category */
        CHECK_NEAR(c->embedding_rules[0].threshold, 0.75, 1e-9);
        CHECK_EQ_INT(c->embedding_rules[0].candidates.count, 2);
        CHECK_EQ_INT(c->embedding_rules[1].aggregation_method, SR_AGG_MEAN);
        CHECK_EQ_INT(c->models[1].n_endpoints, 0);
    }
    config_release(c);
    config_errors_free(&e);

    /* a lora_name the model does not serve is an error naming both */
    e = load_bad("vllm_endpoints:\n"
                 "  - {name: e1, address: 127.0.0.1, port: 8000}\n"
                 "model_config:\n"
                 "  m1: {preferred_endpoints: [e1], loras: [{name: a}, {description: x}]}\n" /* 4 */
                 "categories:\n"
                 "  - name: c\n"
                 "    model_scores:\n"
                 "      - {model: m1, score: 1, use_reasoning: false, lora_name: b}\n"); /* 8 */
    CHECK_ERR(&e, 8, "lora_name 'b' is not in the loras of model 'm1'");
    CHECK_ERR(&e, 4, "model_config.m1.loras[1]: missing 'name'");
    config_errors_free(&e);
}

/* Every key the loader knows is in the generated reference, with its default. */
static void reference_lists_keys(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    config_reference_print(f);
    fclose(f);
    CHECK(strstr(text, "| `server.port` | integer [1, 65535] | 8801 |") != NULL, "server.port row");
    CHECK(strstr(text, "| `model_config.<name>.loras[].name` | string |  | required.") != NULL,
          "lora name row");
    CHECK(strstr(text, "| `categories[].model_scores[].lora_name` | string |") != NULL, "lora_name");
    CHECK(strstr(text, "| `semantic_cache.eviction_policy` | one of `fifo`, `lru`, `lfu` | `fifo` |") != NULL,
          "enum row");
    CHECK(strstr(text, "| `router` | ignored |") != NULL, "ignored keys listed");
    CHECK(strstr(text, "(api_base)") == NULL, "derived fields are not keys");
    CHECK(strstr(text, "| `connection.port` | integer [1, 65535] | 19530 |") != NULL, "milvus rows");
    free(text);
}

static void classic_ignored_keys_accepted(void)
{
    sr_config *c = load_good(MINIMAL "router: {high_confidence_threshold: 0.99, anything: [1]}\n"
                                     "observability: {tracing: {enabled: true}}\n"
                                     "embedding_models: {qwen3_model_path: x}\n"
                                     "clear_route_cache: true\n"
                                     "classifier:\n"
                                     "  mcp_category_model: {enabled: false, transport_type: "
                                     "stdio}\n");
    config_release(c);
}

static void syntax_error_has_line(void)
{
    config_errors e = load_bad("server:\n  port: 1\n  listen: [unclosed\nmodel_config: {}\n");
    CHECK(e.count == 1, "one syntax error, got %zu", e.count);
    CHECK(e.count >= 1 && e.items[0].line >= 3, "line %d", e.count ? e.items[0].line : 0);
    CHECK_ERR(&e, 0, "YAML syntax error");
    config_errors_free(&e);
    e = load_bad("a: 1\n  b: 2\n");
    CHECK_ERR(&e, 2, "YAML syntax error");
    config_errors_free(&e);
    e = load_bad("- just\n- a list\n");
    CHECK_ERR(&e, 1, "the top level must be a mapping");
    config_errors_free(&e);
    e = load_bad(MINIMAL "server:\n\tport: 1\n");
    CHECK_ERR(&e, 6, "YAML indents with spaces, not tabs");
    config_errors_free(&e);
    e = load_bad(MINIMAL "server:\n  listen: \"\xff\"\n");
    CHECK_ERR(&e, 6, "not valid UTF-8");
    config_errors_free(&e);
    e = load_bad(MINIMAL "---\nserver: {}\n");
    CHECK_ERR(&e, 0, "more than one YAML document");
    config_errors_free(&e);
}

static void many_errors_all_reported(void)
{
    config_errors e;
    config_errors_init(&e);
    sr_config *c = config_load("tests/data/config/many_errors.yaml", &e);
    CHECK(c == NULL, "must fail");
    const char *f = "tests/data/config/many_errors.yaml";
    CHECK(e.count > 0 && !strcmp(e.items[0].file, f), "file name in errors");
    CHECK_ERR(&e, 4, "unknown key 'prot' in server; did you mean 'port'?");
    CHECK_ERR(&e, 8, "similarity_threshold must be between 0 and 1, got 1.5");
    CHECK_ERR(&e, 9, "eviction_policy: unknown value 'random'");
    CHECK_ERR(&e, 13,
              "address 'http://10.0.0.1' must be an IP address or host name without "
              "scheme");
    CHECK_ERR(&e, 16, "endpoint name 'a' is used twice (first at line 11)");
    CHECK_ERR(&e, 17, "has both address and base_url");
    CHECK_ERR(&e, 19, "weight must be greater than 0");
    CHECK_ERR(&e, 20, "needs address and port, or base_url");
    CHECK_ERR(&e, 24, "preferred endpoint 'nowhere' is not in vllm_endpoints");
    /* as in the classic router: warnings, not refusals */
    CHECK_WARN(&e, 25, "reasoning_family 'qwen9' is not defined");
    CHECK_WARN(&e, 26, "model 'lonely' has no endpoints");
    CHECK_ERR(&e, 29, "model_scores[0] names model 'ghost', which is not in model_config");
    CHECK_ERR(&e, 30, "score must be greater than 0");
    CHECK_ERR(&e, 31, "missing 'use_reasoning'");
    CHECK_ERR(&e, 33, "category 'empty' needs at least one model_scores entry");
    CHECK_ERR(&e, 35, "jailbreak_threshold must be between 0 and 1");
    CHECK_ERR(&e, 36, "category name 'Empty' is used twice");
    CHECK_ERR(&e, 38, "default_model 'nope' is not in model_config");
    CHECK_ERR(&e, 40, "category 'missing' is not in categories");
    CHECK_ERR(&e, 41, "operator: unknown value 'XOR'");
    CHECK_ERR(&e, 45, "duplicate key 'prompt_guard.threshold' (first defined at line 44)");
    CHECK(e.n_errors >= 19, "all errors reported, got %zu", e.n_errors);
    /* Printed as FILE:LINE: message, sorted by line. */
    char *out = NULL;
    size_t outlen = 0;
    FILE *mf = open_memstream(&out, &outlen);
    config_errors_print(&e, mf);
    fclose(mf);
    CHECK(out && !strncmp(out, "tests/data/config/many_errors.yaml:4: unknown key 'prot'", 55),
          "first printed line: %.80s", out ? out : "");
    CHECK(out && strstr(out, "tests/data/config/many_errors.yaml:45: duplicate key"),
          "printed format");
    free(out);
    config_errors_free(&e);
    config_release(c);
}

static void endpoints_forms(void)
{
    sr_config *c = load_good("vllm_endpoints:\n"
                             "  - {name: a, address: llm.internal, port: 9000, weight: 3}\n"
                             "  - {name: b, address: '::1', port: 8000}\n"
                             "  - {name: c, base_url: 'https://api.example.com/v1/', api_key_env: "
                             "SEMROUTER_TEST_UNSET_KEY_X}\n"
                             "  - {name: d, base_url: 'http://10.1.2.3:8080'}\n"
                             "  - {name: e, base_url: 'http://[fe80::1]:81/openai/v1'}\n"
                             "model_config:\n"
                             "  m: {preferred_endpoints: [a, b, c, d, e], upstream_model: "
                             "org/model-7b}\n");
    if (!c) return;
    CHECK_STR(c->endpoints[0].api_base, "http://llm.internal:9000/v1");
    CHECK_EQ_INT(c->endpoints[0].weight, 3);
    CHECK_STR(c->endpoints[1].api_base, "http://[::1]:8000/v1");
    CHECK_STR(c->endpoints[1].host, "::1");
    CHECK_STR(c->endpoints[2].api_base, "https://api.example.com:443/v1");
    CHECK(c->endpoints[2].tls, "https => tls");
    CHECK_EQ_INT(c->endpoints[2].host_port, 443);
    CHECK_STR(c->endpoints[2].host, "api.example.com");
    CHECK(c->endpoints[2].api_key == NULL, "unset env => no key");
    CHECK_STR(c->endpoints[3].api_base, "http://10.1.2.3:8080/v1");
    CHECK_STR(c->endpoints[4].api_base, "http://[fe80::1]:81/openai/v1");
    CHECK_EQ_INT(c->models[0].n_endpoints, 5);
    CHECK_STR(c->models[0].upstream_model, "org/model-7b");
    config_release(c);

    /* The unset api_key_env is a warning, not an error. */
    config_errors e;
    config_errors_init(&e);
    setenv("SEMROUTER_TEST_KEY_Y", "sk-test-123", 1);
    c = config_load_string("vllm_endpoints:\n"
                           "  - {name: c, base_url: 'https://x.example/v1', api_key_env: "
                           "SEMROUTER_TEST_KEY_Y}\n"
                           "  - {name: d, base_url: 'https://y.example/v1', api_key_env: "
                           "SEMROUTER_TEST_UNSET_KEY_X}\n"
                           "model_config:\n  m: {preferred_endpoints: [c, d]}\n",
                           "t.yaml", &e);
    CHECK(c != NULL, "loads with a warning");
    int env_warnings = 0;
    for (size_t i = 0; i < e.count; i++)
        if (e.items[i].warning && e.items[i].line == 3 &&
            strstr(e.items[i].message,
                   "environment variable SEMROUTER_TEST_UNSET_KEY_X is not set"))
            env_warnings++;
    CHECK_EQ_INT(env_warnings, 1);
    CHECK_EQ_INT(e.n_errors, 0);
    if (c) CHECK_STR(c->endpoints[0].api_key, "sk-test-123");
    config_release(c);
    config_errors_free(&e);

    e = load_bad("vllm_endpoints:\n"                                  /* 1 */
                 "  - {name: a, address: 10.0.0.1}\n"                 /* 2 */
                 "  - {name: b, base_url: 'ftp://x/v1'}\n"            /* 3 */
                 "  - {name: c, address: 'bad host!', port: 1}\n"     /* 4 */
                 "  - {name: d, base_url: 'http://u:p@x/v1'}\n"       /* 5 */
                 "  - {name: e, base_url: 'http://x:99999'}\n"        /* 6 */
                 "  - {address: 10.0.0.2, port: 70000}\n"             /* 7 */
                 "  - {name: g, base_url: 'http://x/v1', port: 80}\n" /* 8 */
                 "model_config:\n  m: {preferred_endpoints: [a]}\n");
    CHECK_ERR(&e, 2, "missing 'port'");
    CHECK_ERR(&e, 3, "must start with http:// or https://");
    CHECK_ERR(&e, 4, "is not an IP address or host name");
    CHECK_ERR(&e, 5, "must not contain credentials");
    CHECK_ERR(&e, 6, "has an invalid port");
    CHECK_ERR(&e, 7, "port must be between 1 and 65535");
    CHECK_ERR(&e, 7, "missing 'name'");
    CHECK_ERR(&e, 8, "port goes inside base_url");
    config_errors_free(&e);
}

static void references_checked(void)
{
    config_errors e = load_bad(MINIMAL "  MoM: {preferred_endpoints: [e1]}\n" /* 5 */
                                       "  m1: {preferred_endpoints: [e1]}\n"  /* 6 */
                                       "reasoning_families:\n"                /* 7 */
                                       "  q: {type: chat_template_kwargs}\n"  /* 8 */
                                       "  r: {type: magic, parameter: x}\n"   /* 9 */
                                       "default_reasoning_effort: extreme\n"  /* 10 */
                                       "categories:\n"                        /* 11 */
                                       "  - name: c\n"                        /* 12 */
                                       "    model_scores:\n"                  /* 13 */
                                       "      - {model: m1, score: 0.5, use_reasoning: yes,"
                                       " reasoning_effort: max}\n"                 /* 14 */
                                       "      - {score: 0.5, use_reasoning: no}\n" /* 15 */
                                       "  - model_scores: [{model: m1, score: 1, use_reasoning: "
                                       "true}]\n"                            /* 16 */
                                       "    system_prompt_mode: prepend\n"); /* 17 */
    CHECK_ERR(&e, 5, "model name 'MoM' is reserved for automatic routing");
    CHECK_ERR(&e, 6, "model 'm1' is defined twice (first at line 4)");
    CHECK_ERR(&e, 8, "missing 'parameter'");
    CHECK_ERR(&e, 9, "type: unknown value 'magic'");
    CHECK_ERR(&e, 10, "default_reasoning_effort must be low, medium or high, got 'extreme'");
    CHECK_ERR(&e, 14, "reasoning_effort must be low, medium or high, got 'max'");
    CHECK_ERR(&e, 15, "missing 'model'");
    CHECK_ERR(&e, 16, "categories[1]: missing 'name'");
    CHECK_ERR(&e, 17, "system_prompt_mode: unknown value 'prepend'");
    config_errors_free(&e);

    e = load_bad("vllm_endpoints: []\nmodel_config: {}\n");
    CHECK_ERR(&e, 2, "model_config defines no models");
    config_errors_free(&e);
    e = load_bad("");
    CHECK_ERR(&e, 0, "model_config defines no models");
    config_errors_free(&e);
}

static void legacy_endpoint_models(void)
{
    /* Older classic files listed models on the endpoint instead of preferred_endpoints. */
    sr_config *c = load_good("vllm_endpoints:\n"
                             "  - {name: a, address: 10.0.0.1, port: 8000, models: [m, n]}\n"
                             "  - {name: b, address: 10.0.0.2, port: 8000, models: [m]}\n"
                             "model_config:\n"
                             "  m: {param_count: 7000000000, batch_size: 512, context_size: 8192}\n"
                             "  n:\n");
    if (!c) return;
    CHECK_EQ_INT(c->models[0].n_endpoints, 2);
    CHECK_EQ_INT(c->models[1].n_endpoints, 1);
    CHECK_EQ_INT(c->models[1].endpoint_index[0], 0);
    config_release(c);
}

static void legacy_category_reasoning(void)
{
    /* Before use_reasoning moved into model_scores, classic files set it per category. */
    sr_config *c = load_good(MINIMAL "gpu_config: {flops: 312000000000000, hbm: 2000000000000}\n"
                                     "categories:\n"
                                     "  - name: math\n"
                                     "    use_reasoning: true\n"
                                     "    reasoning_effort: medium\n"
                                     "    reasoning_description: needs steps\n"
                                     "    model_scores: [{model: m1, score: 1}, {model: m1, score: "
                                     "0.5, use_reasoning: false}]\n");
    if (!c) return;
    CHECK(c->categories[0].model_scores[0].use_reasoning, "inherited use_reasoning");
    CHECK_STR(c->categories[0].model_scores[0].reasoning_effort, "medium");
    CHECK(!c->categories[0].model_scores[1].use_reasoning, "own value wins");
    config_release(c);
    config_errors e = load_bad(MINIMAL "categories:\n"
                                       "  - name: math\n"
                                       "    use_reasoning: perhaps\n" /* 7 */
                                       "    model_scores: [{model: m1, score: 1}]\n");
    CHECK_ERR(&e, 7, "use_reasoning: expected true or false, got 'perhaps'");
    CHECK_ERR(&e, 8, "missing 'use_reasoning'");
    config_errors_free(&e);
}

static void numbers_yaml_forms(void)
{
    sr_config *c =
        load_good(MINIMAL "server: {port: 0x1F90, max_body_bytes: 1_048_576, workers: "
                          "010, idle_timeout_seconds: 1e2, connect_timeout_ms: '1500'}\n"
                          "semantic_cache: {similarity_threshold: .5, ttl_seconds: 0o17}\n");
    if (!c) return;
    CHECK_EQ_INT(c->server.port, 8080);
    CHECK_EQ_INT(c->server.max_body_bytes, 1048576);
    CHECK_EQ_INT(c->server.workers, 10); /* a leading 0 is decimal */
    CHECK_EQ_INT(c->server.idle_timeout_seconds, 100);
    CHECK_EQ_INT(c->server.connect_timeout_ms, 1500);
    CHECK_NEAR(c->semantic_cache.similarity_threshold, 0.5, 1e-12);
    CHECK_EQ_INT(c->semantic_cache.ttl_seconds, 15);
    config_release(c);
    config_errors e = load_bad(MINIMAL "server: {port: 99999999999999999999, workers: 0x}\n");
    CHECK_ERR(&e, 5, "server.port: expected an integer");
    CHECK_ERR(&e, 5, "server.workers: expected an integer, got '0x'");
    config_errors_free(&e);
}

static void misplaced_key_hint(void)
{
    config_errors e = load_bad(MINIMAL "similarity_threshold: 0.9\n" /* 5 */
                                       "server: {ttl_seconds: 5}\n"  /* 6 */
                                       "semantic_cache: {enabled: true, threshold: 0.9}\n");
    CHECK_ERR(&e, 5,
              "unknown key 'similarity_threshold' at the top level; it belongs in "
              "semantic_cache or tools");
    CHECK_ERR(&e, 6, "unknown key 'ttl_seconds' in server; it belongs in semantic_cache");
    CHECK_ERR(&e, 7, "unknown key 'threshold' in semantic_cache");
    config_errors_free(&e);
}

static void hostile_yaml_bounded(void)
{
    /* An anchor that merges itself must not recurse forever. */
    config_errors e = load_bad(MINIMAL "server: &s\n  port: 9000\n  <<: *s\n");
    CHECK_ERR(&e, 0, "merge keys nested more than 8 deep");
    config_errors_free(&e);
    /* A billion-laughs style expansion through aliases stops with an error. */
    char *y = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&y, &n);
    fprintf(f, MINIMAL "router:\n  s0: &s0 {model: m1, score: 1, use_reasoning: true}\n");
    fprintf(f, "  l1: &l1 [");
    for (int i = 0; i < 1000; i++)
        fprintf(f, "%s*s0", i ? "," : "");
    fprintf(f, "]\n  c0: &c0 {name: x, model_scores: *l1}\ncategories: [");
    for (int i = 0; i < 600; i++)
        fprintf(f, "%s*c0", i ? "," : "");
    fprintf(f, "]\n");
    fclose(f);
    config_errors_init(&e);
    sr_config *c = config_load_string(y, "t.yaml", &e);
    CHECK(c == NULL, "an exploding file must fail");
    CHECK_ERR(&e, 0, "the file expands to more than");
    CHECK(e.count < 1100, "errors are capped, got %zu", e.count);
    config_release(c);
    config_errors_free(&e);
    free(y);
}

/* Random byte edits of the classic file: every variant loads or reports errors,
 * never crashes or leaks (run under valgrind/ASan by make asan). */
static void mutated_files_never_crash(void)
{
    char err[256];
    size_t len = 0;
    FILE *fp = fopen("tests/data/config/classic.yaml", "rb");
    CHECK(fp != NULL, "fixture");
    if (!fp) return;
    static char text[32768];
    len = fread(text, 1, sizeof text - 1, fp);
    fclose(fp);
    text[len] = 0;
    (void)err;
    static const char junk[] = ":-[]{}&*!|>'\"%@`#,?\n \t0a.~<";
    unsigned seed = 12345;
    int loaded = 0, failed = 0;
    for (int iter = 0; iter < 300; iter++) {
        char *m = malloc(len + 1);
        memcpy(m, text, len + 1);
        for (int k = 0; k < 1 + iter % 4; k++) {
            seed = seed * 1103515245u + 12345u;
            size_t pos = (seed >> 8) % len;
            seed = seed * 1103515245u + 12345u;
            m[pos] = junk[(seed >> 8) % (sizeof junk - 1)];
        }
        if (iter % 10 == 0) m[(seed >> 4) % len] = 0; /* truncation */
        config_errors e;
        config_errors_init(&e);
        sr_config *c = config_load_string(m, "mut.yaml", &e);
        if (c)
            loaded++;
        else {
            failed++;
            CHECK(e.n_errors > 0, "a failed load must say why (iteration %d)", iter);
        }
        config_release(c);
        config_errors_free(&e);
        free(m);
    }
    CHECK(loaded > 0 && failed > 0, "loaded %d, failed %d", loaded, failed);
}

static void category_overrides_and_keywords(void)
{
    sr_config *c = load_good(MINIMAL "semantic_cache: {enabled: true, similarity_threshold: 0.85}\n"
                                     "prompt_guard: {enabled: false, threshold: 0.6}\n"
                                     "keyword_rules:\n"
                                     "  - category: urgent\n"
                                     "    operator: and\n"
                                     "    keywords: [asap, now]\n"
                                     "    case_sensitive: true\n"
                                     "categories:\n"
                                     "  - name: plain\n"
                                     "    model_scores: [{model: m1, score: 1, use_reasoning: "
                                     "false}]\n"
                                     "  - name: urgent\n"
                                     "    system_prompt: Be quick.\n"
                                     "    system_prompt_enabled: false\n"
                                     "    system_prompt_mode: insert\n"
                                     "    semantic_cache_enabled: false\n"
                                     "    jailbreak_enabled: true\n"
                                     "    jailbreak_threshold: 0.9\n"
                                     "    examples: [do it now, hurry please]\n"
                                     "    model_scores:\n"
                                     "      - {model: m1, score: 0.3, use_reasoning: true, "
                                     "reasoning_effort: low, reasoning_description: quick}\n");
    if (!c) return;
    sr_category *plain = &c->categories[0], *urgent = &c->categories[1];
    CHECK(plain->semantic_cache_enabled && !plain->semantic_cache_enabled_set, "inherit on");
    CHECK_NEAR(plain->semantic_cache_similarity_threshold, 0.85, 1e-9);
    CHECK(!plain->jailbreak_enabled, "inherit guard off");
    CHECK_NEAR(plain->jailbreak_threshold, 0.6, 1e-9);
    CHECK(!plain->system_prompt_enabled, "no prompt => disabled");
    CHECK(!urgent->semantic_cache_enabled && urgent->semantic_cache_enabled_set, "override off");
    CHECK(urgent->jailbreak_enabled && urgent->jailbreak_enabled_set, "override on");
    CHECK_NEAR(urgent->jailbreak_threshold, 0.9, 1e-9);
    CHECK(!urgent->system_prompt_enabled, "explicitly disabled");
    CHECK_EQ_INT(urgent->system_prompt_mode, SR_PROMPT_INSERT);
    CHECK_EQ_INT(urgent->examples.count, 2);
    CHECK_STR(urgent->examples.items[1], "hurry please");
    CHECK_STR(urgent->model_scores[0].reasoning_effort, "low");
    CHECK_EQ_INT(c->n_keyword_rules, 1);
    CHECK_EQ_INT(c->keyword_rules[0].op, SR_KEYWORD_AND);
    CHECK_EQ_INT(c->keyword_rules[0].category_index, 1);
    CHECK_EQ_INT(c->keyword_rules[0].keywords.count, 2);
    CHECK(c->keyword_rules[0].case_sensitive, "case_sensitive");
    config_release(c);
}

static void milvus_backend(void)
{
    sr_config *c = load_good(MINIMAL "semantic_cache:\n"
                                     "  enabled: true\n"
                                     "  backend_type: hybrid\n"
                                     "  max_memory_entries: 5000\n"
                                     "  backend_config_path: config/cache/milvus.yaml\n");
    if (c) {
        sr_milvus_config *m = c->semantic_cache.milvus;
        CHECK(m != NULL, "milvus parsed");
        if (m) {
            CHECK_STR(m->connection.host, "localhost");
            CHECK_EQ_INT(m->connection.port, 19530);
            CHECK_STR(m->connection.database, "default");
            CHECK_EQ_INT(m->connection.timeout, 30);
            CHECK(!m->connection.auth.enabled && !m->connection.tls.enabled, "auth/tls off");
            CHECK_STR(m->collection.name, "semantic_cache");
            CHECK_STR(m->collection.vector_field.name, "embedding");
            CHECK_STR(m->collection.vector_field.metric_type, "IP");
            CHECK_STR(m->collection.index.type, "HNSW");
            CHECK_EQ_INT(m->collection.index.m, 16);
            CHECK_EQ_INT(m->collection.index.ef_construction, 64);
            CHECK_EQ_INT(m->search.ef, 64);
            CHECK_EQ_INT(m->search.topk, 10);
            CHECK_STR(m->search.consistency_level, "Session");
            CHECK(m->development.auto_create_collection, "auto create");
            CHECK(!m->development.drop_collection_on_startup, "no drop");
        }
        CHECK_EQ_INT(c->semantic_cache.max_memory_entries, 5000);
        config_release(c);
    }
    config_errors e = load_bad(MINIMAL "semantic_cache:\n"          /* 5 */
                                       "  enabled: true\n"          /* 6 */
                                       "  backend_type: milvus\n"); /* 7 */
    CHECK_ERR(&e, 7, "backend_type milvus needs backend_config_path");
    config_errors_free(&e);
    e = load_bad(MINIMAL "semantic_cache:\n"
                         "  enabled: true\n"
                         "  backend_type: milvus\n"
                         "  backend_config_path: /nonexistent/milvus.yaml\n"); /* 8 */
    CHECK_ERR(&e, 8, "backend_config_path '/nonexistent/milvus.yaml' does not exist");
    config_errors_free(&e);
    /* Problems inside the Milvus file are reported with its own name and lines. */
    e = load_bad(MINIMAL "semantic_cache:\n"
                         "  enabled: true\n"
                         "  backend_type: milvus\n"
                         "  backend_config_path: tests/data/config/milvus_bad.yaml\n");
    CHECK_ERR(&e, 3, "connection.port: expected an integer, got 'many'");
    CHECK_ERR(&e, 4, "unknown key 'databse' in connection; did you mean 'database'?");
    CHECK_ERR(&e, 9, "metric_type must be IP, COSINE or L2, got 'DOT'");
    CHECK_ERR(&e, 13, "consistency_level must be Strong, Session, Bounded or Eventually");
    CHECK(e.count > 0 && !strcmp(e.items[0].file, "tests/data/config/milvus_bad.yaml"),
          "errors name the milvus file");
    config_errors_free(&e);
    /* A disabled milvus cache without a file is fine (classic validates only enabled). */
    c = load_good(MINIMAL "semantic_cache: {enabled: false, backend_type: milvus}\n");
    config_release(c);
}

static void auth_keys(void)
{
    setenv("SEMROUTER_TEST_AUTH_A", "key-aaa", 1);
    unsetenv("SEMROUTER_TEST_AUTH_UNSET");
    /* sha256("key-ccc") */
    unsigned char want_c[32];
    util_sha256("key-ccc", 7, want_c);
    char hex_c[65];
    util_sha256_hex("key-ccc", 7, hex_c);
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             MINIMAL "auth:\n"
                     "  enabled: true\n"
                     "  keys:\n"
                     "    - {key_env: SEMROUTER_TEST_AUTH_A, tenant: team-a, requests_per_second: 2.5, max_concurrent: 3}\n"
                     "    - {key: inline-bbb}\n"
                     "    - {key_sha256: %s, tenant: team-a, requests_per_second: 2.5, max_concurrent: 3}\n"
                     "    - {key: b2, requests_per_second: 0.2}\n",
             hex_c);
    sr_config *c = load_good(yaml);
    if (c) {
        unsigned char d[32];
        CHECK_EQ_INT(c->auth.n_keys, 4);
        util_sha256("key-aaa", 7, d);
        CHECK(c->auth.keys[0].has_digest && !memcmp(c->auth.keys[0].digest, d, 32), "key_env hashed");
        CHECK_STR(c->auth.keys[0].tenant, "team-a");
        CHECK_EQ_INT(c->auth.keys[0].burst, 3); /* ceil(2.5) */
        CHECK_EQ_INT(c->auth.keys[0].max_concurrent, 3);
        util_sha256("inline-bbb", 10, d);
        CHECK(c->auth.keys[1].has_digest && !memcmp(c->auth.keys[1].digest, d, 32), "inline key hashed");
        CHECK(c->auth.keys[1].key == NULL, "inline key wiped once hashed");
        CHECK_STR(c->auth.keys[1].tenant, "key-1");
        CHECK(c->auth.keys[2].has_digest && !memcmp(c->auth.keys[2].digest, want_c, 32), "key_sha256 decoded");
        CHECK_EQ_INT(c->auth.keys[3].burst, 1); /* at least one request */
        CHECK(c->auth.management_loopback_only, "management loopback-only by default");
        config_release(c);
    }
    config_errors e = load_bad(MINIMAL "auth:\n"                                          /* 5 */
                                       "  enabled: true\n"                                /* 6 */
                                       "  keys:\n"                                        /* 7 */
                                       "    - {key_env: SEMROUTER_TEST_AUTH_UNSET}\n"     /* 8 */
                                       "    - {key: a, key_env: SEMROUTER_TEST_AUTH_A}\n" /* 9 */
                                       "    - {key: dup}\n"                               /* 10 */
                                       "    - {key: dup}\n"                               /* 11 */
                                       "    - {key_sha256: 00ff}\n"                       /* 12 */
                                       "    - {key_sha256: 8b1a9953c4611296a827abf8c47804d7e6c49c6b3a0f5c4a7f3e6d1a2b3c4d5z}\n" /* 13 */
                                       "    - {key: x1, tenant: t, max_concurrent: 1}\n"  /* 14 */
                                       "    - {key: x2, tenant: t, max_concurrent: 2}\n"  /* 15 */
                                       "    - {key: x3, requests_per_second: -1}\n");     /* 16 */
    CHECK_ERR(&e, 8, "environment variable SEMROUTER_TEST_AUTH_UNSET is not set");
    CHECK_ERR(&e, 9, "needs exactly one of key, key_env or key_sha256");
    CHECK_ERR(&e, 11, "repeats the key of auth.keys[2]");
    CHECK_ERR(&e, 12, "auth.keys[4].key_sha256 must be 64 hex digits (the SHA-256 of the key, e.g. printf %s KEY | sha256sum), got 4 characters");
    CHECK_ERR(&e, 13, "auth.keys[5].key_sha256 must be 64 hex digits (the SHA-256 of the key, e.g. printf %s KEY | sha256sum), got a character that is not one");
    CHECK_ERR(&e, 15, "auth.keys[7] gives tenant 't' other limits than auth.keys[6]");
    CHECK_ERR(&e, 16, "auth.keys[8].requests_per_second must be at least 0, got -1");
    config_errors_free(&e);
    e = load_bad(MINIMAL "auth: {enabled: true}\n");
    CHECK_ERR(&e, 5, "auth is enabled but has no keys");
    config_errors_free(&e);
}

static void anchors_and_merge_keys(void)
{
    sr_config *c = load_good("vllm_endpoints:\n"
                             "  - &ep {name: a, address: 10.0.0.1, port: 8000, weight: 2}\n"
                             "  - <<: *ep\n"
                             "    name: b\n"
                             "model_config:\n"
                             "  m: {preferred_endpoints: [a, b]}\n");
    if (!c) return;
    CHECK_STR(c->endpoints[1].name, "b");
    CHECK_EQ_INT(c->endpoints[1].weight, 2);
    CHECK_STR(c->endpoints[1].api_base, "http://10.0.0.1:8000/v1");
    config_release(c);
}

static void other_sections(void)
{
    sr_config *c =
        load_good(MINIMAL "embedding_model: {type: remote, url: 'http://127.0.0.1:9/v1', "
                          "model: text-embedding-3-small, dim: 1536}\n"
                          "semantic_cache: {vector_storage: int8, scope: global, "
                          "eviction_policy: '', persist_path: /tmp/x}\n"
                          "pii: {action: redact}\n"
                          "prompt_guard: {block_status: 403}\n"
                          "classifier: {category_model: {head_path: h.bin, "
                          "threshold: 0.5}}\n"
                          "api: {batch_classification: {max_batch_size: 50}}\n"
                          "server: {port: 9000, metrics_port: 0, workers: 4}\n");
    if (!c) return;
    CHECK_EQ_INT(c->embedding_model.type, SR_EMBED_REMOTE);
    CHECK_EQ_INT(c->embedding_model.dim, 1536);
    CHECK_EQ_INT(c->embedding_model.precision, SR_EMBED_BF16); /* the default */
    CHECK_EQ_INT(c->semantic_cache.vector_storage, SR_VECTORS_INT8);
    CHECK_EQ_INT(c->semantic_cache.scope, SR_CACHE_SCOPE_GLOBAL);
    CHECK_EQ_INT(c->semantic_cache.eviction_policy, SR_EVICT_FIFO);
    CHECK_EQ_INT(c->pii.action, SR_PII_ACTION_REDACT);
    CHECK_EQ_INT(c->prompt_guard.block_status, 403);
    CHECK_STR(c->classifier.category_model.head_path, "h.bin");
    CHECK_EQ_INT(c->batch_classification.max_batch_size, 50);
    CHECK_EQ_INT(c->batch_classification.max_concurrency, 8);
    CHECK_EQ_INT(c->server.metrics_port, 0);
    config_release(c);

    c = load_good(MINIMAL "embedding_model: {precision: f32}\n");
    if (c) CHECK_EQ_INT(c->embedding_model.precision, SR_EMBED_F32);
    config_release(c);
    config_errors pe = load_bad(MINIMAL "embedding_model: {precision: fp8}\n"); /* line 5 */
    CHECK_ERR(&pe, 5, "fp8");
    config_errors_free(&pe);

    config_errors e = load_bad(MINIMAL "embedding_model: {type: remote}\n"          /* 5 */
                                       "tools: {enabled: true}\n"                   /* 6 */
                                       "prompt_guard: {block_status: 302}\n"        /* 7 */
                                       "server: {port: 9000, metrics_port: 9000}\n" /* 8 */
                                       "semantic_cache: {hnsw_m: 1}\n");            /* 9 */
    CHECK_ERR(&e, 5, "type remote needs url");
    CHECK_ERR(&e, 6, "tools is enabled but tools_db_path is not set");
    CHECK_ERR(&e, 7, "block_status must be 200 (classic) or a 4xx code");
    CHECK_ERR(&e, 8, "metrics_port 9000 is the same as server.port");
    CHECK_ERR(&e, 9, "hnsw_m must be between 2 and 256");
    config_errors_free(&e);
}

/* Relative paths resolve from the config file's folder, then the install prefix (the repo
 * root for build/ binaries), then the working directory: run from anywhere. */
static void paths_resolve_from_config_then_prefix(void)
{
    char root[2048], file[2300], out[4096], want[4200];
    CHECK(getcwd(root, sizeof root) != NULL, "getcwd");
    CHECK_STR(config_install_prefix(), root);
    snprintf(file, sizeof file, "%s/tests/data/config/compat/lora_routing.yaml", root);
    CHECK(chdir("/tmp") == 0, "chdir /tmp");
    config_errors e;
    config_errors_init(&e);
    sr_config *c = config_load(file, &e);
    CHECK(c != NULL, "loads from /tmp by absolute path");
    if (c) {
        /* next to the config file */
        snprintf(want, sizeof want, "%s/tests/data/config/compat/embedding_rules.yaml", root);
        CHECK_STR(config_resolve_path(c, "embedding_rules.yaml", out, sizeof out), want);
        /* shipped with the binary */
        snprintf(want, sizeof want, "%s/data/guard/jailbreak_exemplars.txt", root);
        CHECK_STR(config_resolve_path(c, "data/guard/jailbreak_exemplars.txt", out, sizeof out), want);
        snprintf(want, sizeof want, "%s/models/use-lite", root);
        CHECK_STR(config_resolve_path(c, c->embedding_model.path, out, sizeof out), want);
        /* a file still to be created goes next to the config file */
        snprintf(want, sizeof want, "%s/tests/data/config/compat/cache.log", root);
        CHECK_STR(config_resolve_path(c, "cache.log", out, sizeof out), want);
        CHECK_STR(config_resolve_path(c, "/abs/x", out, sizeof out), "/abs/x");
    }
    config_release(c);
    config_errors_free(&e);
    CHECK(chdir(root) == 0, "chdir back");
}

/* A configured feature that cannot work is said loudly by check-config: categories without
 * the embedding model. */
static void missing_embedding_model_is_loud(void)
{
    config_errors e;
    config_errors_init(&e);
    sr_config *c = config_load_string(MINIMAL "embedding_model: {path: /nonexistent/use-lite}\n" /* 5 */
                                              "categories:\n"
                                              "  - name: math\n"
                                              "    model_scores: [{model: m1, score: 1, use_reasoning: false}]\n",
                                      "t.yaml", &e);
    CHECK(c != NULL, "a warning, not an error");
    CHECK_WARN(&e, 5, "the category classifier");
    CHECK_WARN(&e, 5, "automatic requests all go to default_model");
    config_release(c);
    config_errors_free(&e);
}

static void missing_files_warn(void)
{
    config_errors e;
    config_errors_init(&e);
    sr_config *c = config_load_string(
        MINIMAL "tools: {enabled: true, tools_db_path: /nonexistent/t.json}\n" /* 5 */
                "embedding_model: {path: /nonexistent/model}\n"                /* 6 */
                "classifier: {category_model: {head_path: "
                "tests/data/config/classic.yaml}}\n",
        "t.yaml", &e);
    CHECK(c != NULL, "missing files are warnings, not errors");
    CHECK_EQ_INT(e.n_errors, 0);
    CHECK_EQ_INT(e.n_warnings, 2);
    int found = 0;
    for (size_t i = 0; i < e.count; i++)
        if (e.items[i].warning && e.items[i].line == 5 &&
            strstr(e.items[i].message, "tools.tools_db_path '/nonexistent/t.json' does not exist"))
            found++;
        else if (e.items[i].warning && e.items[i].line == 6 &&
                 strstr(e.items[i].message, "embedding_model.path"))
            found++;
    CHECK_EQ_INT(found, 2);
    config_release(c);
    config_errors_free(&e);
}

static void refcount_and_missing_file(void)
{
    sr_config *c = load_good(MINIMAL);
    if (!c) return;
    CHECK(config_retain(c) == c, "retain returns the object");
    config_release(c);
    CHECK_STR(c->models[0].name, "m1"); /* still alive: one reference left */
    config_release(c);
    config_release(NULL);

    config_errors e;
    config_errors_init(&e);
    CHECK(config_load("tests/data/config/does-not-exist.yaml", &e) == NULL, "missing file");
    CHECK_ERR(&e, 0, "cannot read the config file");
    config_errors_free(&e);
    CHECK(config_load_string("model_config: [", "x", NULL) == NULL, "NULL errs is allowed");
}

static void check_config_command(void)
{
    char *ok[] = {"check-config", "-c", "config/config.yaml", NULL};
    CHECK_EQ_INT(cli_check_config(3, ok), 0);
    char *bad[] = {"check-config", "-c", "tests/data/config/many_errors.yaml", NULL};
    FILE *saved = stderr;
    stderr = fopen("/dev/null", "w");
    int rc = cli_check_config(3, bad);
    fclose(stderr);
    stderr = saved;
    CHECK_EQ_INT(rc, 1);
    char *none[] = {"check-config", NULL};
    stderr = fopen("/dev/null", "w");
    rc = cli_check_config(1, none);
    fclose(stderr);
    stderr = saved;
    CHECK_EQ_INT(rc, 2);
}

int main(void)
{
    RUN(classic_config_loads);
    RUN(default_config_loads);
    RUN(defaults_when_absent);
    RUN(wrong_types_reported);
    RUN(unknown_keys_suggest);
    RUN(classic_ignored_keys_accepted);
    RUN(compat_files_load);
    RUN(reference_lists_keys);
    RUN(syntax_error_has_line);
    RUN(many_errors_all_reported);
    RUN(endpoints_forms);
    RUN(references_checked);
    RUN(legacy_endpoint_models);
    RUN(legacy_category_reasoning);
    RUN(numbers_yaml_forms);
    RUN(misplaced_key_hint);
    RUN(hostile_yaml_bounded);
    RUN(mutated_files_never_crash);
    RUN(category_overrides_and_keywords);
    RUN(milvus_backend);
    RUN(auth_keys);
    RUN(anchors_and_merge_keys);
    RUN(other_sections);
    RUN(missing_files_warn);
    RUN(paths_resolve_from_config_then_prefix);
    RUN(missing_embedding_model_is_loud);
    RUN(refcount_and_missing_file);
    RUN(check_config_command);
    TEST_MAIN_END();
}
