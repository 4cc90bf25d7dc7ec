/* test_route_choose.c - the split of the routing decision the pipeline relies
 * on: route_classify (once per request, on a compute thread) and route_choose
 * (the one place of the explicit / default / category model rules, callable
 * again from the same signal on the PII redact path, and without an engine). */
#include "config/config.h"
#include "embed/embed.h"
#include "route/decide.h"
#include "test.h"

static const char *CONFIG =
    "vllm_endpoints:\n"
    "  - {name: e1, address: 127.0.0.1, port: 9001}\n"
    "  - {name: e2, address: 127.0.0.1, port: 9002}\n"
    "  - {name: e3, address: 127.0.0.1, port: 9003}\n"
    "model_config:\n"
    "  small:\n"
    "    preferred_endpoints: [e1]\n"
    "    pii_policy: {allow_by_default: false, pii_types_allowed: [EMAIL_ADDRESS, US_SSN]}\n"
    "  large:\n"
    "    preferred_endpoints: [e2]\n"
    "    reasoning_family: qwen3\n"
    "    upstream_model: Qwen/Qwen3-32B\n"
    "    pii_policy: {allow_by_default: false, pii_types_allowed: [EMAIL_ADDRESS]}\n"
    "  medium:\n"
    "    preferred_endpoints: [e3]\n"
    "    pii_policy: {allow_by_default: false}\n"
    "default_model: small\n"
    "classifier:\n"
    "  category_model: {threshold: 0.5, head_path: config/category_head.bin}\n"
    "keyword_rules:\n"
    "  - {category: urgent, operator: OR, keywords: [asap, urgent]}\n"
    "categories:\n"
    "  - name: math\n"
    "    model_scores:\n"
    "      - {model: large, score: 1.0, use_reasoning: true}\n"
    "      - {model: small, score: 0.5, use_reasoning: false}\n"
    "  - name: urgent\n"
    "    model_scores: [{model: medium, score: 1.0, use_reasoning: false}]\n"
    "reasoning_families:\n"
    "  qwen3: {type: chat_template_kwargs, parameter: enable_thinking}\n";

static embed_model *model;
static embed_state *state;
static sr_config *cfg;

static route_input input(const char *text, const float *vec, const char *requested,
                         const char *const *pii, int n_pii)
{
    route_input in = {0};
    in.text = text;
    in.text_len = text ? strlen(text) : 0;
    in.embedding = vec;
    in.dim = vec ? embed_dim(model) : 0;
    in.requested_model = requested;
    in.pii_types = pii;
    in.n_pii_types = n_pii;
    return in;
}

/* Without any engine: explicit names as they are, the automatic model to the
 * default model, the PII policy still applied. */
static void choose_without_engine(void)
{
    if (!cfg) SKIP("config did not load");
    route_decision d;
    char err[256];
    route_input in = input("hello there", NULL, "large", NULL, 0);
    CHECK_EQ_INT(route_choose(cfg, NULL, &in, &d, err, sizeof err), 0);
    CHECK_STR(d.model, "large");
    CHECK_STR(d.upstream_model, "Qwen/Qwen3-32B");
    CHECK_STR(route_reason_name(d.reason), "model_specified");
    CHECK_STR(d.method, "explicit");
    CHECK_EQ_INT(d.category_index, -1);

    in = input("¿qué hora es? 🕐", NULL, "MoM", NULL, 0);
    CHECK_EQ_INT(route_choose(cfg, NULL, &in, &d, err, sizeof err), 0);
    CHECK_STR(d.model, "small");
    CHECK_STR(route_reason_name(d.reason), "default_model");

    in = input("hi", NULL, "no-such-model", NULL, 0);
    CHECK_EQ_INT(route_choose(cfg, NULL, &in, &d, err, sizeof err), -1);
    CHECK(strstr(err, "no-such-model") != NULL, "%s", err);

    /* a card number: nobody allows it (blocked); an SSN: small allows it */
    const char *card[] = {"CREDIT_CARD"};
    in = input("my card is 4111 1111 1111 1111", NULL, "medium", card, 1);
    CHECK_EQ_INT(route_choose(cfg, NULL, &in, &d, err, sizeof err), 0);
    CHECK_EQ_INT(d.pii_blocked, 1);
    CHECK(d.model == NULL, "blocked yet model %s", d.model);
    in = input("my card is 4111 1111 1111 1111", NULL, "MoM", card, 1);
    CHECK_EQ_INT(route_choose(cfg, NULL, &in, &d, err, sizeof err), 0);
    CHECK_EQ_INT(d.pii_blocked, 1);
    const char *ssn[] = {"US_SSN"};
    in = input("SSN 536-22-1987", NULL, "auto", ssn, 1);
    CHECK_EQ_INT(route_choose(cfg, NULL, &in, &d, err, sizeof err), 0);
    CHECK_STR(d.model, "small");
    CHECK_EQ_INT(d.pii_blocked, 0);
}

/* classify + choose gives exactly route_decide's decision, for every kind of
 * text; an explicit model is never classified. */
static void classify_then_choose_equals_decide(void)
{
    if (!cfg || !model) SKIP("model or config not loaded (run scripts/fetch-model.sh)");
    char err[512];
    route_engine *e = route_engine_new(cfg, model, err, sizeof err);
    CHECK(e != NULL, "%s", err);
    if (!e) return;
    static const char *texts[] = {
        "what is the derivative of x^3 + 2x with respect to x",
        "URGENT: the server is down, fix it asap",
        "Can you explain “quantum entanglement” like I’m five? 🤔",
        "Объясни, как работает интеграл Римана",
        "日本の首都はどこですか",
        "",
    };
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        float vec[512];
        CHECK_EQ_INT(embed_text(model, state, texts[i], strlen(texts[i]), vec, NULL, err, sizeof err), 0);
        route_input in = input(texts[i], vec, "MoM", NULL, 0);
        route_decision a, b;
        route_signal sig;
        CHECK_EQ_INT(route_decide(e, &in, &a, err, sizeof err), 0);
        route_classify(e, &in, &sig);
        CHECK_EQ_INT(sig.classified, 1);
        CHECK_EQ_INT(route_choose(cfg, &sig, &in, &b, err, sizeof err), 0);
        CHECK(a.model_index == b.model_index && a.category_index == b.category_index &&
                  a.reason == b.reason && a.reasoning == b.reasoning && a.confidence == b.confidence &&
                  !strcmp(a.method, b.method) && a.system_prompt == b.system_prompt,
              "text %zu: decide %s/%d/%s vs classify+choose %s/%d/%s", i, a.model ? a.model : "-",
              a.category_index, a.method, b.model ? b.model : "-", b.category_index, b.method);
    }
    /* the keyword rule decides without the classifier */
    route_signal sig;
    route_input in = input("please answer ASAP", NULL, "MoM", NULL, 0);
    route_classify(e, &in, &sig);
    CHECK_STR(sig.method, "keyword");
    CHECK_STR(route_reason_name(sig.reason), "keyword_rule");
    CHECK_EQ_INT(sig.classify_seconds == 0, 1);
    route_engine_free(e);
}

/* The redact path: the first choice is blocked by the PII policy; choosing
 * again from the same signal with the PII masked keeps the category and its
 * model, without a second classification (the signal is only read). */
static void choose_again_from_one_signal(void)
{
    if (!cfg || !model) SKIP("model or config not loaded (run scripts/fetch-model.sh)");
    char err[512];
    route_engine *e = route_engine_new(cfg, model, err, sizeof err);
    if (!e) return;
    const char *text = "what is the integral of x^2 dx? my card is 4111 1111 1111 1111";
    float vec[512];
    CHECK_EQ_INT(embed_text(model, state, text, strlen(text), vec, NULL, err, sizeof err), 0);
    const char *card[] = {"CREDIT_CARD"};
    route_input in = input(text, vec, "MoM", card, 1);
    route_signal sig;
    route_classify(e, &in, &sig);
    route_signal before = sig;
    route_decision first, second;
    CHECK_EQ_INT(route_choose(cfg, &sig, &in, &first, err, sizeof err), 0);
    CHECK_EQ_INT(first.pii_blocked, 1);
    in.n_pii_types = 0; /* masked */
    CHECK_EQ_INT(route_choose(cfg, &sig, &in, &second, err, sizeof err), 0);
    CHECK_EQ_INT(second.pii_blocked, 0);
    CHECK_EQ_INT(second.category_index, sig.category_index);
    CHECK(second.classify_seconds == before.classify_seconds, "the second choice re-timed a classification");
    CHECK(!memcmp(&before, &sig, sizeof sig), "route_choose changed the signal");
    if (sig.category_index >= 0) CHECK_STR(second.category, cfg->categories[sig.category_index].name);
    route_engine_free(e);
}

int main(void)
{
    const char *root = getenv("SEMROUTER_ROOT");
    char dir[1024], err[256];
    snprintf(dir, sizeof dir, "%s/models/use-lite", root ? root : ".");
    embed_options o = {.type = EMBED_USE_LITE, .path = dir};
    model = embed_load(&o, err, sizeof err);
    if (model) state = embed_state_new(model);
    config_errors errs;
    config_errors_init(&errs);
    cfg = config_load_string(CONFIG, "test_route_choose.yaml", &errs);
    if (!cfg) config_errors_print(&errs, stdout);
    config_errors_free(&errs);
    RUN(choose_without_engine);
    RUN(classify_then_choose_equals_decide);
    RUN(choose_again_from_one_signal);
    config_release(cfg);
    embed_state_free(state);
    embed_free(model);
    TEST_MAIN_END();
}
