/* test_adapt.c - real-time adaptation: the moving averages per model and
 * endpoint, the breach with hysteresis and the probe timeout (route/adapt.h),
 * and route_choose moving only borderline requests off a breached model. */
#include "config/config.h"
#include "route/adapt.h"
#include "route/decide.h"
#include "test.h"

#define SEC_NS 1000000000ull

static const adapt_params P = {.alpha = 0.2, .ttft_budget_s = 1.0, .error_budget = 0.25, .queue_budget = 0,
                               .recover_ratio = 0.5, .min_samples = 5, .probe_seconds = 30};

/* One finished attempt of model m at endpoint ep. */
static adapt_event attempt(adapt_tracker *t, const adapt_params *p, const char *m, const char *ep, int ok, double ttft,
                           uint64_t now)
{
    adapt_event ev;
    adapt_begin(t, p, m, ep);
    adapt_end(t, p, m, ep, ok, ttft, now, &ev);
    return ev;
}

/* The averages follow the EWMA formula exactly, per model and per endpoint. */
static void averages_are_ewma(void)
{
    adapt_tracker *t = adapt_new();
    attempt(t, &P, "qwen-7b", "gpu-a", 1, 0.100, 1);
    attempt(t, &P, "qwen-7b", "gpu-b", 1, 0.300, 2);
    attempt(t, &P, "qwen-7b", "gpu-a", 0, -1, 3); /* a failure: error, no TTFT sample */
    adapt_stats s;
    CHECK_EQ_INT(adapt_get(t, "qwen-7b", NULL, &s), 0);
    CHECK_NEAR(s.ttft_avg, 0.100 + 0.2 * (0.300 - 0.100), 1e-12);
    CHECK_NEAR(s.error_avg, 0 + 0.2 * (1 - 0), 1e-12);
    CHECK_EQ_INT(s.samples, 3);
    CHECK_EQ_INT(s.inflight, 0);
    CHECK_EQ_INT(adapt_get(t, "qwen-7b", "gpu-a", &s), 0);
    CHECK_NEAR(s.ttft_avg, 0.100, 1e-12);
    CHECK_NEAR(s.error_avg, 0.2, 1e-12);
    CHECK_EQ_INT(adapt_get(t, "qwen-7b", "gpu-b", &s), 0);
    CHECK_NEAR(s.ttft_avg, 0.300, 1e-12);
    CHECK_NEAR(s.error_avg, 0, 1e-12);
    CHECK_EQ_INT(adapt_get(t, "qwen-7b", "gpu-c", &s), -1);
    CHECK_EQ_INT(adapt_get(t, "llama-70b", NULL, &s), -1);
    CHECK_EQ_INT(adapt_breached(t, &P, "llama-70b", 4, NULL), ADAPT_OK);
    /* queue depth: sampled when an attempt starts */
    adapt_begin(t, &P, "llama-70b", "gpu-z");
    adapt_begin(t, &P, "llama-70b", "gpu-z");
    adapt_begin(t, &P, "llama-70b", "gpu-z");
    CHECK_EQ_INT(adapt_get(t, "llama-70b", NULL, &s), 0);
    CHECK_EQ_INT(s.inflight, 3);
    CHECK_NEAR(s.queue_avg, (1 + 0.2 * (2 - 1)) + 0.2 * (3 - (1 + 0.2 * (2 - 1))), 1e-12);
    adapt_free(t);
}

/* Slow answers breach the latency budget only after min_samples; recovery needs
 * the average at or under recover_ratio x budget (not just under the budget). */
static void latency_breach_with_hysteresis(void)
{
    adapt_tracker *t = adapt_new();
    uint64_t now = 100 * SEC_NS;
    adapt_event ev;
    for (int i = 0; i < 4; i++) {
        ev = attempt(t, &P, "große-модель 🚀", "ep1", 1, 3.0, now += SEC_NS);
        CHECK_EQ_INT(ev.changed, 0);
    }
    CHECK_EQ_INT(adapt_breached(t, &P, "große-модель 🚀", now, NULL), ADAPT_OK);
    ev = attempt(t, &P, "große-модель 🚀", "ep1", 1, 3.0, now += SEC_NS);
    CHECK_EQ_INT(ev.changed, 1);
    CHECK_EQ_INT(ev.reason, ADAPT_LATENCY);
    CHECK_NEAR(ev.value, 3.0, 1e-9);
    CHECK_NEAR(ev.budget, 1.0, 1e-12);
    CHECK_EQ_INT(adapt_breached(t, &P, "große-модель 🚀", now, NULL), ADAPT_LATENCY);
    /* fast answers again: the average falls under the budget (1.0) before it falls
     * under 0.5; the state holds until then */
    int recovered_at = -1, under_budget_at = -1;
    for (int i = 0; i < 40 && recovered_at < 0; i++) {
        ev = attempt(t, &P, "große-модель 🚀", "ep1", 1, 0.2, now += SEC_NS);
        adapt_stats s;
        adapt_get(t, "große-модель 🚀", NULL, &s);
        if (s.ttft_avg <= 1.0 && under_budget_at < 0) under_budget_at = i;
        if (ev.changed == -1) {
            recovered_at = i;
            CHECK(s.ttft_avg <= 0.5, "recovered at %g", s.ttft_avg);
            CHECK_EQ_INT(ev.reason, ADAPT_LATENCY);
        } else {
            CHECK_EQ_INT(adapt_breached(t, &P, "große-модель 🚀", now, NULL), ADAPT_LATENCY);
        }
    }
    CHECK(under_budget_at >= 0 && recovered_at > under_budget_at, "under budget at %d, recovered at %d",
          under_budget_at, recovered_at);
    CHECK_EQ_INT(adapt_breached(t, &P, "große-модель 🚀", now, NULL), ADAPT_OK);
    adapt_free(t);
}

/* Failures breach the error budget; 4xx-like answers (ok) do not count; a
 * breached model without attempts for probe_seconds is tried again, its
 * averages restarted. */
static void errors_breach_and_probe(void)
{
    adapt_tracker *t = adapt_new();
    uint64_t now = 5 * SEC_NS;
    for (int i = 0; i < 5; i++) attempt(t, &P, "m", "e", 1, 0.1, now += SEC_NS);
    CHECK_EQ_INT(adapt_breached(t, &P, "m", now, NULL), ADAPT_OK);
    adapt_event ev = attempt(t, &P, "m", "e", 0, -1, now += SEC_NS);
    CHECK_EQ_INT(ev.changed, 0); /* 0.2 <= 0.25 */
    ev = attempt(t, &P, "m", "e", 0, -1, now += SEC_NS);
    CHECK_EQ_INT(ev.changed, 1); /* 0.36 */
    CHECK_EQ_INT(ev.reason, ADAPT_ERRORS);
    CHECK_NEAR(ev.value, 0.36, 1e-9);
    CHECK_EQ_INT(adapt_breached(t, &P, "m", now + 29 * SEC_NS, NULL), ADAPT_ERRORS);
    adapt_event pe;
    CHECK_EQ_INT(adapt_breached(t, &P, "m", now + 30 * SEC_NS, &pe), ADAPT_OK);
    CHECK_EQ_INT(pe.changed, -1);
    CHECK_EQ_INT(pe.reason, ADAPT_ERRORS);
    adapt_stats s;
    CHECK_EQ_INT(adapt_get(t, "m", NULL, &s), 0);
    CHECK_EQ_INT(s.samples, 0);
    /* probe_seconds 0: never tried again by time */
    adapt_params np = P;
    np.probe_seconds = 0;
    for (int i = 0; i < 8; i++) attempt(t, &np, "m2", "e", 0, -1, now += SEC_NS);
    CHECK_EQ_INT(adapt_breached(t, &np, "m2", now + 3600 * SEC_NS, NULL), ADAPT_ERRORS);
    /* a budget of 0 is off: slow answers with no latency budget never breach */
    adapt_params nl = P;
    nl.ttft_budget_s = 0;
    for (int i = 0; i < 20; i++) attempt(t, &nl, "m3", "e", 1, 60.0, now += SEC_NS);
    CHECK_EQ_INT(adapt_breached(t, &nl, "m3", now, NULL), ADAPT_OK);
    /* a queue budget: many in flight */
    adapt_params q = P;
    q.queue_budget = 2;
    for (int i = 0; i < 8; i++) adapt_begin(t, &q, "m4", "e");
    for (int i = 0; i < 6; i++) adapt_end(t, &q, "m4", "e", 1, 0.1, now, &ev);
    CHECK_EQ_INT(adapt_breached(t, &q, "m4", now, NULL), ADAPT_QUEUE);
    adapt_free(t);
}

/* Names too long to track and a full table: not tracked, never a crash; each
 * visits every entry. */
static int visits;
static void count_visit(void *ctx, const char *m, const char *ep, const adapt_stats *s)
{
    (void)ctx, (void)m, (void)ep, (void)s;
    visits++;
}
static void limits_and_each(void)
{
    adapt_tracker *t = adapt_new();
    char longname[300];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    attempt(t, &P, longname, "e", 1, 0.1, 1);
    adapt_stats s;
    CHECK_EQ_INT(adapt_get(t, longname, NULL, &s), -1);
    char name[32];
    for (int i = 0; i < ADAPT_MAX_KEYS + 10; i++) {
        snprintf(name, sizeof name, "model-%d", i);
        attempt(t, &P, name, NULL, 1, 0.1, 1);
    }
    visits = 0;
    adapt_each(t, count_visit, NULL);
    CHECK_EQ_INT(visits, ADAPT_MAX_KEYS);
    adapt_free(t);
    adapt_begin(NULL, &P, "m", "e"); /* no tracker: a no-op */
    CHECK_EQ_INT(adapt_breached(NULL, &P, "m", 1, NULL), ADAPT_OK);
}

/* ---- route_choose ------------------------------------------------------------------------ */

static const char *CONFIG =
    "vllm_endpoints:\n"
    "  - {name: e1, address: 127.0.0.1, port: 9001}\n"
    "  - {name: e2, address: 127.0.0.1, port: 9002}\n"
    "  - {name: e3, address: 127.0.0.1, port: 9003}\n"
    "model_config:\n"
    "  small: {preferred_endpoints: [e1]}\n"
    "  large: {preferred_endpoints: [e2]}\n"
    "  backup:\n"
    "    preferred_endpoints: [e3]\n"
    "    pii_policy: {allow_by_default: false}\n"
    "default_model: small\n"
    "classifier:\n"
    "  category_model: {threshold: 0.5}\n"
    "categories:\n"
    "  - name: math\n"
    "    model_scores:\n"
    "      - {model: large, score: 1.0, use_reasoning: false}\n"
    "      - {model: backup, score: 0.6, use_reasoning: false}\n"
    "      - {model: small, score: 0.4, use_reasoning: false}\n"
    "adaptation: {enabled: true, category_margin: 0.15, difficulty_margin: 0.1}\n";

static const char *breached_model;
static int breach_of(void *ctx, const char *model)
{
    (void)ctx;
    return breached_model && !strcmp(model, breached_model) ? ADAPT_LATENCY : ADAPT_OK;
}

static route_signal head_signal(const sr_config *cfg, float confidence)
{
    route_signal s = {0};
    s.classified = 1;
    s.category_index = config_find_category(cfg, "math");
    s.reason = ROUTE_REASON_AUTO_ROUTING;
    s.method = "head";
    s.confidence = confidence;
    return s;
}

static void choose_moves_only_borderline(void)
{
    config_errors errs;
    config_errors_init(&errs);
    sr_config *cfg = config_load_string(CONFIG, "test_adapt.yaml", &errs);
    if (!cfg) config_errors_print(&errs, stdout);
    config_errors_free(&errs);
    CHECK(cfg != NULL, "config did not load");
    if (!cfg) return;
    route_input in = {.text = "∫ x² dx — quick one?", .text_len = strlen("∫ x² dx — quick one?"),
                      .requested_model = "auto", .model_breach = breach_of};
    route_decision d;
    char err[128];
    breached_model = "large";
    route_signal s = head_signal(cfg, 0.58f); /* 0.08 over the threshold: borderline */
    CHECK_EQ_INT(route_choose(cfg, &s, &in, &d, err, sizeof err), 0);
    CHECK_STR(d.model, "backup");
    CHECK_STR(d.adapted_from, "large");
    CHECK_STR(d.adapt_reason, "latency");
    CHECK_STR(d.adapt_signal, "category");
    CHECK_NEAR(d.adapt_distance, 0.08, 1e-5);
    s = head_signal(cfg, 0.93f); /* clear-cut: stays */
    CHECK_EQ_INT(route_choose(cfg, &s, &in, &d, err, sizeof err), 0);
    CHECK_STR(d.model, "large");
    CHECK(d.adapted_from == NULL, "moved from %s", d.adapted_from);
    /* the next model forbids the PII found: the one after it takes the request */
    const char *email[] = {"EMAIL_ADDRESS"};
    in.pii_types = email;
    in.n_pii_types = 1;
    s = head_signal(cfg, 0.58f);
    CHECK_EQ_INT(route_choose(cfg, &s, &in, &d, err, sizeof err), 0);
    CHECK_STR(d.model, "small");
    CHECK_STR(d.adapted_from, "large");
    in.n_pii_types = 0;
    /* a keyword-rule or example decision never moves; no breach, no move */
    s = head_signal(cfg, 0.58f);
    s.method = "examples";
    CHECK_EQ_INT(route_choose(cfg, &s, &in, &d, err, sizeof err), 0);
    CHECK_STR(d.model, "large");
    breached_model = NULL;
    s = head_signal(cfg, 0.51f);
    CHECK_EQ_INT(route_choose(cfg, &s, &in, &d, err, sizeof err), 0);
    CHECK_STR(d.model, "large");
    CHECK(d.adapted_from == NULL, "moved without a breach");
    /* adaptation off: never moves, even with the callback set and a breach */
    breached_model = "large";
    cfg->adaptation.enabled = false;
    CHECK_EQ_INT(route_choose(cfg, &s, &in, &d, err, sizeof err), 0);
    CHECK_STR(d.model, "large");
    cfg->adaptation.enabled = true;
    /* an explicit model never moves */
    in.requested_model = "large";
    CHECK_EQ_INT(route_choose(cfg, &s, &in, &d, err, sizeof err), 0);
    CHECK_STR(d.model, "large");
    CHECK(d.adapted_from == NULL, "explicit model moved");
    /* difficulty: a score near its threshold goes to the other model */
    in.requested_model = "auto";
    cfg->difficulty_routing.threshold = 0.55;
    s = head_signal(cfg, 0.93f);
    s.have_difficulty = 1;
    s.small_model = config_find_model(cfg, "small");
    s.large_model = config_find_model(cfg, "large");
    s.difficulty_score = 0.60f; /* large, 0.05 from the threshold */
    CHECK_EQ_INT(route_choose(cfg, &s, &in, &d, err, sizeof err), 0);
    CHECK_STR(d.model, "small");
    CHECK_STR(d.difficulty, "small");
    CHECK_STR(d.adapt_signal, "difficulty");
    CHECK_STR(d.adapted_from, "large");
    s.difficulty_score = 0.90f; /* clearly hard: stays on the large model */
    CHECK_EQ_INT(route_choose(cfg, &s, &in, &d, err, sizeof err), 0);
    CHECK_STR(d.model, "large");
    CHECK_STR(d.difficulty, "large");
    CHECK(d.adapted_from == NULL, "clear-cut difficulty moved");
    breached_model = "small";
    s.difficulty_score = 0.50f; /* small, borderline, small breached: large takes it */
    CHECK_EQ_INT(route_choose(cfg, &s, &in, &d, err, sizeof err), 0);
    CHECK_STR(d.model, "large");
    CHECK_STR(d.difficulty, "large");
    config_free(cfg);
}

int main(void)
{
    RUN(averages_are_ewma);
    RUN(latency_breach_with_hysteresis);
    RUN(errors_breach_and_probe);
    RUN(limits_and_each);
    RUN(choose_moves_only_borderline);
    return test_failures_total ? 1 : 0;
}
