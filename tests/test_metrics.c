/* Tests for src/metrics/metrics.c and sr_metrics.c: exact exposition text,
 * exact totals under concurrent updates, cardinality limit, registration
 * errors, and a parser check that the output is valid exposition format. */
#include <ctype.h>
#include <pthread.h>

#include "core/util.h"
#include "metrics/metrics.h"
#include "metrics/sr_metrics.h"
#include "test.h"

/* ---- a small exposition-format checker ------------------------------------
 * Checks what Prometheus' text parser requires: every line is a comment
 * (# HELP name text / # TYPE name type) or a sample `name{l="v",...} value`;
 * a family's HELP and TYPE come before its samples and at most once; samples
 * of one family are contiguous; histogram samples are name_bucket (with le),
 * name_sum, name_count. Returns the number of samples, or -1 with why filled. */

static const char *parse_name(const char *p, int colon_ok)
{
    if (!(isalpha((unsigned char)*p) || *p == '_' || (colon_ok && *p == ':'))) return NULL;
    p++;
    while (isalnum((unsigned char)*p) || *p == '_' || (colon_ok && *p == ':'))
        p++;
    return p;
}

static int parse_value(const char *p, const char *end)
{
    char tmp[64];
    size_t n = (size_t)(end - p);
    if (n == 0 || n >= sizeof tmp) return 0;
    memcpy(tmp, p, n);
    tmp[n] = 0;
    if (!strcmp(tmp, "+Inf") || !strcmp(tmp, "-Inf") || !strcmp(tmp, "NaN")) return 1;
    char *e;
    strtod(tmp, &e);
    return *e == 0 && !isspace((unsigned char)tmp[0]);
}

static int exposition_check(const char *text, char *why, size_t whylen)
{
    char family[256] = "", type[32] = "";
    char done[64][128]; /* families already closed */
    int n_done = 0, samples = 0, line_no = 0, saw_help = 0;
    const char *line = text;
    while (*line) {
        const char *nl = strchr(line, '\n');
        if (!nl) {
            snprintf(why, whylen, "last line has no newline");
            return -1;
        }
        line_no++;
        if (!strncmp(line, "# HELP ", 7) || !strncmp(line, "# TYPE ", 7)) {
            int is_type = line[2] == 'T';
            const char *n0 = line + 7, *n1 = parse_name(n0, 1);
            if (!n1 || *n1 != ' ') {
                snprintf(why, whylen, "line %d: bad metric name in comment", line_no);
                return -1;
            }
            char name[256];
            snprintf(name, sizeof name, "%.*s", (int)(n1 - n0), n0);
            if (strcmp(name, family)) { /* a new family starts */
                for (int i = 0; i < n_done; i++)
                    if (!strcmp(done[i], name)) {
                        snprintf(why, whylen, "line %d: family %.100s appears twice", line_no,
                                 name);
                        return -1;
                    }
                if (*family && n_done < 64) snprintf(done[n_done++], 128, "%.100s", family);
                snprintf(family, sizeof family, "%s", name);
                type[0] = 0;
                saw_help = 0;
            }
            if (is_type) {
                if (*type) {
                    snprintf(why, whylen, "line %d: second TYPE for %.100s", line_no, name);
                    return -1;
                }
                snprintf(type, sizeof type, "%.*s", (int)(nl - n1 - 1), n1 + 1);
                if (strcmp(type, "counter") && strcmp(type, "gauge") && strcmp(type, "histogram") &&
                    strcmp(type, "summary") && strcmp(type, "untyped")) {
                    snprintf(why, whylen, "line %d: unknown type %.100s", line_no, type);
                    return -1;
                }
            } else {
                if (saw_help || *type) {
                    snprintf(why, whylen, "line %d: HELP after TYPE or twice", line_no);
                    return -1;
                }
                saw_help = 1;
                for (const char *p = n1; p < nl; p++)
                    if (*p == '\\' && *++p != '\\' && *p != 'n') {
                        snprintf(why, whylen, "line %d: bad escape in HELP", line_no);
                        return -1;
                    }
            }
        } else if (line[0] == '#') {
            /* other comments are allowed */
        } else {
            const char *n1 = parse_name(line, 1);
            if (!n1) {
                snprintf(why, whylen, "line %d: sample without a metric name", line_no);
                return -1;
            }
            char name[256];
            snprintf(name, sizeof name, "%.*s", (int)(n1 - line), line);
            size_t fl = strlen(family);
            int ok = !strcmp(name, family);
            int is_bucket = 0;
            if (!strcmp(type, "histogram")) {
                ok = !strncmp(name, family, fl) &&
                     (!strcmp(name + fl, "_bucket") || !strcmp(name + fl, "_sum") ||
                      !strcmp(name + fl, "_count"));
                is_bucket = ok && !strcmp(name + fl, "_bucket");
            }
            if (!ok || !*type) {
                snprintf(why, whylen, "line %d: sample %.100s outside its family's HELP/TYPE block",
                         line_no, name);
                return -1;
            }
            const char *p = n1;
            int has_le = 0;
            if (*p == '{') {
                p++;
                while (*p != '}') {
                    const char *l1 = parse_name(p, 0);
                    if (!l1 || l1[0] != '=' || l1[1] != '"') {
                        snprintf(why, whylen, "line %d: bad label", line_no);
                        return -1;
                    }
                    if (l1 - p == 2 && !strncmp(p, "le", 2)) has_le = 1;
                    p = l1 + 2;
                    while (*p != '"') {
                        if (p >= nl) {
                            snprintf(why, whylen, "line %d: unterminated label value", line_no);
                            return -1;
                        }
                        if (*p == '\\') {
                            if (p[1] != '\\' && p[1] != '"' && p[1] != 'n') {
                                snprintf(why, whylen, "line %d: bad escape", line_no);
                                return -1;
                            }
                            p++;
                        }
                        p++;
                    }
                    p++;
                    if (*p == ',')
                        p++;
                    else if (*p != '}') {
                        snprintf(why, whylen, "line %d: expected , or }", line_no);
                        return -1;
                    }
                }
                p++;
            }
            if (is_bucket != has_le) {
                snprintf(why, whylen, "line %d: le label wrong for %.100s", line_no, name);
                return -1;
            }
            if (*p != ' ' || !parse_value(p + 1, nl)) {
                snprintf(why, whylen, "line %d: bad sample value", line_no);
                return -1;
            }
            samples++;
        }
        line = nl + 1;
    }
    return samples;
}

/* ---- exposition text ------------------------------------------------------ */

static void exposition_exact(void)
{
    metrics_registry *r = metrics_new();
    metric_family *req = metrics_counter(r, "http_requests_total", "Requests.\nBy path \\ code.", 2,
                                         METRICS_LABELS("path", "code"));
    metric_family *temp = metrics_gauge(r, "temperature_celsius", "Temperature.", 0, NULL);
    const double b[] = {0.1, 1, 2.5};
    metric_family *lat =
        metrics_histogram(r, "latency_seconds", "Latency.", 1, METRICS_LABELS("model"), b, 3);
    CHECK(req && temp && lat, "registration failed");
    metrics_inc(req, METRICS_LABELS("/v1/chat", "200"));
    metrics_add(req, METRICS_LABELS("/v1/chat", "200"), 2);
    metrics_inc(req, METRICS_LABELS("/health", "200"));
    metrics_add(req, METRICS_LABELS("a\\b\"c\nd", "500"), 0.5);
    metrics_set(temp, NULL, -3.25);
    metrics_observe(lat, METRICS_LABELS("m1"), 0.05);
    metrics_observe(lat, METRICS_LABELS("m1"), 0.1); /* le is inclusive */
    metrics_observe(lat, METRICS_LABELS("m1"), 2);
    metrics_observe(lat, METRICS_LABELS("m1"), 100);
    buf out;
    buf_init(&out);
    metrics_render(r, &out);
    CHECK_STR(out.data, "# HELP http_requests_total Requests.\\nBy path \\\\ code.\n"
                        "# TYPE http_requests_total counter\n"
                        "http_requests_total{path=\"/health\",code=\"200\"} 1\n"
                        "http_requests_total{path=\"/v1/chat\",code=\"200\"} 3\n"
                        "http_requests_total{path=\"a\\\\b\\\"c\\nd\",code=\"500\"} 0.5\n"
                        "# HELP temperature_celsius Temperature.\n"
                        "# TYPE temperature_celsius gauge\n"
                        "temperature_celsius -3.25\n"
                        "# HELP latency_seconds Latency.\n"
                        "# TYPE latency_seconds histogram\n"
                        "latency_seconds_bucket{model=\"m1\",le=\"0.1\"} 2\n"
                        "latency_seconds_bucket{model=\"m1\",le=\"1\"} 2\n"
                        "latency_seconds_bucket{model=\"m1\",le=\"2.5\"} 3\n"
                        "latency_seconds_bucket{model=\"m1\",le=\"+Inf\"} 4\n"
                        "latency_seconds_sum{model=\"m1\"} 102.15\n"
                        "latency_seconds_count{model=\"m1\"} 4\n");
    char why[200] = "";
    CHECK_EQ_INT(exposition_check(out.data, why, sizeof why), 10);
    CHECK(!why[0], "%s", why);
    buf_free(&out);
    metrics_free(r);
}

static void unlabeled_histogram_and_empty_family(void)
{
    metrics_registry *r = metrics_new_sharded(1);
    metric_family *h = metrics_histogram(r, "route_seconds", "Routing.", 0, NULL, NULL, 0);
    metric_family *c = metrics_counter(r, "errors_total", "Errors.", 1, METRICS_LABELS("reason"));
    metrics_observe(h, NULL, 0.0003);
    metrics_observe(h, NULL, 75);
    buf out;
    buf_init(&out);
    metrics_render(r, &out);
    /* default buckets start at 100 us and end at 60 s */
    CHECK(strstr(out.data, "route_seconds_bucket{le=\"0.0001\"} 0\n"), "%s", out.data);
    CHECK(strstr(out.data, "route_seconds_bucket{le=\"0.0005\"} 1\n"), "%s", out.data);
    CHECK(strstr(out.data, "route_seconds_bucket{le=\"60\"} 1\n"), "%s", out.data);
    CHECK(strstr(out.data, "route_seconds_bucket{le=\"+Inf\"} 2\n"), "%s", out.data);
    CHECK(strstr(out.data, "route_seconds_sum 75.0003\nroute_seconds_count 2\n"), "%s", out.data);
    /* a labeled family with no children yet: HELP/TYPE only */
    const char *tail = "# HELP errors_total Errors.\n# TYPE errors_total counter\n";
    CHECK(out.len >= strlen(tail) && !strcmp(out.data + out.len - strlen(tail), tail), "%s",
          out.data);
    char why[200] = "";
    CHECK_EQ_INT(exposition_check(out.data, why, sizeof why), 18 + 1 + 2);
    CHECK(!why[0], "%s", why);
    double sum;
    CHECK_NEAR(metrics_get(h, NULL, &sum), 2, 0);
    CHECK_NEAR(sum, 75.0003, 1e-12);
    CHECK_NEAR(metrics_get(c, METRICS_LABELS("never"), NULL), 0, 0);
    buf_free(&out);
    metrics_free(r);
}

static void checker_rejects_bad_text(void)
{
    char why[200];
    CHECK(exposition_check("x_total 1\n", why, sizeof why) < 0, "sample without TYPE");
    CHECK(exposition_check("# TYPE x counter\nx{a=\"b} 1\n", why, sizeof why) < 0, "quote");
    CHECK(exposition_check("# TYPE x counter\nx{a=\"b\"} one\n", why, sizeof why) < 0, "value");
    CHECK(exposition_check("# TYPE x histogram\nx_bucket 1\n", why, sizeof why) < 0, "no le");
    CHECK(exposition_check("# TYPE x counter\nx 1\n# TYPE y counter\ny 1\n# TYPE x counter\n", why,
                           sizeof why) < 0,
          "family twice");
    CHECK_EQ_INT(
        exposition_check("# HELP x h\n# TYPE x counter\nx{a=\"\\\"\"} 1e3\n", why, sizeof why), 1);
}

static void registration_errors(void)
{
    metrics_registry *r = metrics_new();
    CHECK(metrics_counter(r, "ok_total", "h", 0, NULL), "valid");
    CHECK(!metrics_counter(r, "ok_total", "h", 0, NULL), "duplicate name");
    CHECK(!metrics_counter(r, "9bad", "h", 0, NULL), "leading digit");
    CHECK(!metrics_counter(r, "bad-name", "h", 0, NULL), "dash");
    CHECK(!metrics_counter(r, "x_total", "h", 1, METRICS_LABELS("__reserved")), "__ label");
    CHECK(!metrics_counter(r, "y_total", "h", 2, METRICS_LABELS("a", "a")), "label twice");
    CHECK(!metrics_gauge(r, "z", "h", 1, METRICS_LABELS("a:b")), "colon in label");
    const double up[] = {1, 2, 2};
    CHECK(!metrics_histogram(r, "h1", "h", 0, NULL, up, 3), "non-increasing buckets");
    CHECK(!metrics_histogram(r, "h2", "h", 1, METRICS_LABELS("le"), NULL, 0), "le label");
    const double inf[] = {1, INFINITY};
    CHECK(!metrics_histogram(r, "h3", "h", 0, NULL, inf, 2), "+Inf given explicitly");
    CHECK(metrics_histogram(r, "h4", "h", 0, NULL, up, 2), "valid histogram");
    CHECK_EQ_INT(metrics_registration_errors(r), 9);
    /* wrong-type updates and NULL children are no-ops, not crashes */
    metric_family *g = metrics_gauge(r, "g", "h", 0, NULL);
    metric_family *c = metrics_counter(r, "c_total", "h", 0, NULL);
    metrics_observe(g, NULL, 1);
    metrics_set(c, NULL, 5);
    metrics_add(c, NULL, -1);
    metrics_add(c, NULL, NAN);
    metrics_add(NULL, NULL, 1);
    metrics_child_add(NULL, 1);
    CHECK_NEAR(metrics_get(c, NULL, NULL), 0, 0);
    metrics_add(g, NULL, 2);
    metrics_add(g, NULL, -5); /* gauges go down */
    CHECK_NEAR(metrics_get(g, NULL, NULL), -3, 0);
    metrics_free(r);
}

static double cache_size_fn(void *ctx)
{
    return (double)*(int *)ctx;
}

static void gauge_fn_reads_at_render(void)
{
    metrics_registry *r = metrics_new();
    metric_family *g = metrics_gauge(r, "entries", "Entries.", 1, METRICS_LABELS("backend"));
    int size = 7;
    metrics_gauge_fn(g, METRICS_LABELS("memory"), cache_size_fn, &size);
    metrics_set(g, METRICS_LABELS("milvus"), 3);
    size = 42;
    buf out;
    buf_init(&out);
    metrics_render(r, &out);
    CHECK(strstr(out.data, "entries{backend=\"memory\"} 42\nentries{backend=\"milvus\"} 3\n"), "%s",
          out.data);
    metrics_gauge_fn(g, METRICS_LABELS("memory"), NULL, NULL);
    CHECK_NEAR(metrics_get(g, METRICS_LABELS("memory"), NULL), 0, 0);
    buf_free(&out);
    metrics_free(r);
}

static void label_values_sanitized(void)
{
    metrics_registry *r = metrics_new();
    metric_family *c = metrics_counter(r, "c_total", "h", 2, METRICS_LABELS("a", "b"));
    metrics_inc(c, METRICS_LABELS("bad\xff", NULL));
    metrics_inc(c, METRICS_LABELS("bad\xfe", "")); /* both repair to the same tuple */
    metrics_inc(c, METRICS_LABELS("caf\xc3\xa9", "x"));
    metrics_inc(c, METRICS_LABELS("ab", "c"));
    metrics_inc(c, METRICS_LABELS("a", "bc"));
    buf out;
    buf_init(&out);
    metrics_render(r, &out);
    CHECK(strstr(out.data, "c_total{a=\"bad\xef\xbf\xbd\",b=\"\"} 2\n"), "%s", out.data);
    CHECK(strstr(out.data, "c_total{a=\"caf\xc3\xa9\",b=\"x\"} 1\n"), "%s", out.data);
    CHECK(strstr(out.data, "c_total{a=\"ab\",b=\"c\"} 1\n"), "%s", out.data);
    CHECK(strstr(out.data, "c_total{a=\"a\",b=\"bc\"} 1\n"), "%s", out.data);
    CHECK(util_utf8_valid(out.data, out.len), "output is not UTF-8");
    buf_free(&out);
    metrics_free(r);
}

/* ---- cardinality ------------------------------------------------------------ */

static void cardinality_limit(void)
{
    metrics_registry *r = metrics_new();
    metric_family *c = metrics_counter(r, "req_total", "h", 1, METRICS_LABELS("model"));
    const int n = METRICS_MAX_CHILDREN + 500;
    char v[32];
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < n; i++) {
            snprintf(v, sizeof v, "model-%05d", i);
            metrics_inc(c, METRICS_LABELS(v));
        }
    /* every child created before the limit is distinct and exact */
    int exact = 1;
    for (int i = 0; i < METRICS_MAX_CHILDREN; i++) {
        snprintf(v, sizeof v, "model-%05d", i);
        exact &= metrics_get(c, METRICS_LABELS(v), NULL) == 2;
    }
    CHECK(exact, "a child below the limit lost or gained counts");
    CHECK_NEAR(metrics_get(c, METRICS_LABELS("_overflow_"), NULL), 2.0 * 500, 0);
    snprintf(v, sizeof v, "model-%05d", n - 1);
    CHECK_NEAR(metrics_get(c, METRICS_LABELS(v), NULL), 0, 0);
    buf out;
    buf_init(&out);
    metrics_render(r, &out);
    char why[200] = "";
    CHECK_EQ_INT(exposition_check(out.data, why, sizeof why), METRICS_MAX_CHILDREN + 1);
    CHECK(!why[0], "%s", why);
    /* children sorted by label value */
    const char *a = strstr(out.data, "model=\"model-00009\""),
               *b = strstr(out.data, "model=\"model-00010\"");
    CHECK(a && b && a < b, "order");
    buf_free(&out);
    metrics_free(r);
}

/* ---- concurrency ------------------------------------------------------------ */

enum { THREADS = 4, ITERS = 50000, SPREAD = 300 };
typedef struct {
    metric_family *counter, *hist, *spread, *gauge;
    int id;
} worker_arg;

static void *worker(void *p)
{
    worker_arg *a = p;
    const char *mine = a->id % 2 ? "odd" : "even";
    char v[32];
    for (int i = 0; i < ITERS; i++) {
        metrics_inc(a->counter, METRICS_LABELS("shared"));
        metrics_add(a->counter, METRICS_LABELS(mine), 0.5);
        metrics_observe(a->hist, NULL, (i % 4) * 0.5); /* 0, 0.5, 1, 1.5 */
        metrics_add(a->gauge, NULL, 1);
        /* create children while others read the table: exercises growth */
        snprintf(v, sizeof v, "k%d", (i * 7 + a->id) % SPREAD);
        metrics_inc(a->spread, METRICS_LABELS(v));
    }
    return NULL;
}

static void concurrent_updates_exact(void)
{
    for (int shards = 1; shards <= 4; shards *= 4) {
        metrics_registry *r = metrics_new_sharded(shards);
        const double b[] = {0.5, 1};
        worker_arg args[THREADS];
        worker_arg base = {
            .counter = metrics_counter(r, "c_total", "h", 1, METRICS_LABELS("k")),
            .hist = metrics_histogram(r, "h_seconds", "h", 0, NULL, b, 2),
            .spread = metrics_counter(r, "s_total", "h", 1, METRICS_LABELS("k")),
            .gauge = metrics_gauge(r, "g", "h", 0, NULL),
        };
        pthread_t t[THREADS];
        for (int i = 0; i < THREADS; i++) {
            args[i] = base;
            args[i].id = i;
            pthread_create(&t[i], NULL, worker, &args[i]);
        }
        for (int i = 0; i < THREADS; i++)
            pthread_join(t[i], NULL);
        CHECK_NEAR(metrics_get(base.counter, METRICS_LABELS("shared"), NULL),
                   (double)THREADS * ITERS, 0);
        CHECK_NEAR(metrics_get(base.counter, METRICS_LABELS("odd"), NULL),
                   THREADS / 2 * ITERS * 0.5, 0);
        CHECK_NEAR(metrics_get(base.counter, METRICS_LABELS("even"), NULL),
                   THREADS / 2 * ITERS * 0.5, 0);
        CHECK_NEAR(metrics_get(base.gauge, NULL, NULL), (double)THREADS * ITERS, 0);
        double sum;
        CHECK_NEAR(metrics_get(base.hist, NULL, &sum), (double)THREADS * ITERS, 0);
        CHECK_NEAR(sum, THREADS * (ITERS / 4) * 3.0, 0);
        double spread_total = 0;
        char v[32];
        for (int k = 0; k < SPREAD; k++) {
            snprintf(v, sizeof v, "k%d", k);
            spread_total += metrics_get(base.spread, METRICS_LABELS(v), NULL);
        }
        CHECK_NEAR(spread_total, (double)THREADS * ITERS, 0);
        buf out;
        buf_init(&out);
        metrics_render(r, &out);
        CHECK(strstr(out.data, "h_seconds_bucket{le=\"0.5\"} 100000\n"
                               "h_seconds_bucket{le=\"1\"} 150000\n"
                               "h_seconds_bucket{le=\"+Inf\"} 200000\n"),
              "shards %d: %s", shards, out.data);
        char why[200] = "";
        CHECK_EQ_INT(exposition_check(out.data, why, sizeof why), 3 + 5 + SPREAD + 1);
        CHECK(!why[0], "%s", why);
        buf_free(&out);
        metrics_free(r);
    }
}

/* Render while workers update: output stays well formed and counts only grow. */
typedef struct {
    metrics_registry *r;
    int renders, bad;
    char why[200];
} render_arg;

static void *renderer(void *p)
{
    render_arg *a = p;
    buf out;
    buf_init(&out);
    for (int i = 0; i < 50; i++) {
        buf_reset(&out);
        metrics_render(a->r, &out);
        if (exposition_check(out.data, a->why, sizeof a->why) < 0) a->bad++;
        a->renders++;
    }
    buf_free(&out);
    return NULL;
}

static void render_during_updates(void)
{
    metrics_registry *r = metrics_new();
    worker_arg w[2];
    for (int i = 0; i < 2; i++)
        w[i] = (worker_arg){
            .counter =
                i ? w[0].counter : metrics_counter(r, "c_total", "h", 1, METRICS_LABELS("k")),
            .hist = i ? w[0].hist : metrics_histogram(r, "h_seconds", "h", 0, NULL, NULL, 0),
            .spread = i ? w[0].spread : metrics_counter(r, "s_total", "h", 1, METRICS_LABELS("k")),
            .gauge = i ? w[0].gauge : metrics_gauge(r, "g", "h", 0, NULL),
            .id = i,
        };
    render_arg ra = {.r = r};
    pthread_t t[3];
    pthread_create(&t[0], NULL, worker, &w[0]);
    pthread_create(&t[1], NULL, worker, &w[1]);
    pthread_create(&t[2], NULL, renderer, &ra);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    CHECK_EQ_INT(ra.renders, 50);
    CHECK_EQ_INT(ra.bad, 0);
    CHECK(!ra.bad, "%s", ra.why);
    metrics_free(r);
}

/* ---- semrouter's families --------------------------------------------------- */

static void sr_metrics_families(void)
{
    sr_metrics *m = sr_metrics_new();
    CHECK(m != NULL, "sr_metrics_new");
    if (!m) return;
    CHECK_EQ_INT(metrics_registration_errors(m->registry), 0);
    metrics_inc(m->model_requests, METRICS_LABELS("qwen3"));
    metrics_inc(m->request_errors, METRICS_LABELS("qwen3", "timeout"));
    metrics_observe(m->model_ttft, METRICS_LABELS("qwen3"), 0.2);
    metrics_inc(m->cache_hits, NULL);
    metrics_set(m->cache_entries, METRICS_LABELS("memory"), 12);
    metrics_inc(m->reasoning_decisions, METRICS_LABELS("math", "qwen3", "true", "high"));
    metrics_add(m->inflight_requests, NULL, 1);
    sr_metrics_usage(m, "qwen3", 100, 28, 0.0025, NULL);
    buf out;
    buf_init(&out);
    sr_metrics_render(m, &out);
    static const char *const want[] = {
        "# TYPE llm_model_requests_total counter\n",
        "# TYPE llm_request_errors_total counter\n",
        "# TYPE llm_model_ttft_seconds histogram\n",
        "# TYPE llm_model_completion_latency_seconds histogram\n",
        "# TYPE llm_model_tpot_seconds histogram\n",
        "# TYPE llm_model_tokens_total counter\n",
        "# TYPE llm_model_prompt_tokens_total counter\n",
        "# TYPE llm_model_completion_tokens_total counter\n",
        "# TYPE llm_prompt_tokens_per_request histogram\n",
        "# TYPE llm_completion_tokens_per_request histogram\n",
        "# TYPE llm_model_cost_total counter\n",
        "# TYPE llm_model_routing_latency_seconds histogram\n",
        "# TYPE llm_model_routing_modifications_total counter\n",
        "# TYPE llm_routing_reason_codes_total counter\n",
        "# TYPE llm_cache_hits_total counter\n",
        "# TYPE llm_cache_misses_total counter\n",
        "# TYPE llm_cache_entries_total gauge\n",
        "# TYPE llm_cache_operation_duration_seconds histogram\n",
        "# TYPE llm_cache_operations_total counter\n",
        "# TYPE llm_category_classifications_count counter\n",
        "# TYPE llm_classifier_latency_seconds histogram\n",
        "# TYPE llm_pii_violations_total counter\n",
        "# TYPE llm_reasoning_decisions_total counter\n",
        "# TYPE llm_reasoning_template_usage_total counter\n",
        "# TYPE llm_reasoning_effort_usage_total counter\n",
        "# TYPE semrouter_http_requests_total counter\n",
        "# TYPE semrouter_upstream_requests_total counter\n",
        "# TYPE semrouter_endpoint_healthy gauge\n",
        "# TYPE semrouter_inflight_requests gauge\n",
        "# TYPE semrouter_config_reloads_total counter\n",
        "# TYPE semrouter_embedding_latency_seconds histogram\n",
        "# TYPE semrouter_adaptation_switches_total counter\n",
        "# TYPE semrouter_adaptation_state_changes_total counter\n",
        "# TYPE semrouter_adaptation_breached gauge\n",
        "# TYPE semrouter_model_ttft_average_seconds gauge\n",
        "# TYPE semrouter_model_error_rate_average gauge\n",
        "# TYPE semrouter_model_queue_depth_average gauge\n",
        "llm_model_requests_total{model=\"qwen3\"} 1\n",
        "llm_request_errors_total{model=\"qwen3\",reason=\"timeout\"} 1\n",
        "llm_model_ttft_seconds_bucket{model=\"qwen3\",le=\"0.25\"} 1\n",
        "llm_cache_hits_total 1\n",
        "llm_cache_misses_total 0\n",
        "llm_cache_entries_total{backend=\"memory\"} 12\n",
        ("llm_reasoning_decisions_total{category=\"math\",model=\"qwen3\",enabled=\"true\","
         "effort=\"high\"} 1\n"),
        "semrouter_inflight_requests 1\n",
        "llm_model_tokens_total{model=\"qwen3\"} 128\n",
        "llm_model_prompt_tokens_total{model=\"qwen3\"} 100\n",
        "llm_model_completion_tokens_total{model=\"qwen3\"} 28\n",
        "llm_prompt_tokens_per_request_bucket{model=\"qwen3\",le=\"128\"} 1\n",
        "llm_prompt_tokens_per_request_bucket{model=\"qwen3\",le=\"64\"} 0\n",
        "llm_completion_tokens_per_request_sum{model=\"qwen3\"} 28\n",
        "llm_model_cost_total{model=\"qwen3\",currency=\"USD\"} 0.0025\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        CHECK(strstr(out.data, want[i]), "missing %s", want[i]);
    char why[200] = "";
    CHECK(exposition_check(out.data, why, sizeof why) > 0, "%s", why);
    buf_free(&out);
    sr_metrics_free(m);
}

/* With METRICS_DUMP=FILE, writes a sample exposition for an independent parser
 * (tests/e2e/test_metrics_exposition.sh reads it with prometheus_client). */
static double dump_entries_fn(void *ctx)
{
    (void)ctx;
    return 1234;
}

static void dump_sample(const char *path)
{
    sr_metrics *m = sr_metrics_new();
    if (!m) return;
    metrics_inc(m->model_requests, METRICS_LABELS("qwen3"));
    metrics_add(m->model_requests, METRICS_LABELS("llama-3.1-8b"), 41);
    metrics_inc(m->request_errors, METRICS_LABELS("qwen3", "upstream_5xx"));
    metrics_inc(m->request_errors, METRICS_LABELS("we\\ird \"model\"\nname", "timeout"));
    metrics_inc(m->category_classifications, METRICS_LABELS("computer science"));
    metrics_inc(m->pii_violations, METRICS_LABELS("caf\xc3\xa9-model", "EMAIL_ADDRESS"));
    for (int i = 0; i < 100; i++) {
        metrics_observe(m->model_ttft, METRICS_LABELS("qwen3"), 0.00005 * (i + 1) * (i + 1));
        metrics_observe(m->routing_latency, NULL, 0.0001 * i);
    }
    metrics_observe(m->model_tpot, METRICS_LABELS("qwen3"), 1e-9);
    metrics_observe(m->classifier_latency, METRICS_LABELS("category"), 1e20);
    metrics_gauge_fn(m->cache_entries, METRICS_LABELS("memory"), dump_entries_fn, NULL);
    metrics_set(m->endpoint_healthy, METRICS_LABELS("endpoint1"), 1);
    metrics_set(m->endpoint_healthy, METRICS_LABELS("endpoint2"), 0);
    metrics_add(m->inflight_requests, NULL, -2.5);
    sr_metrics_usage(m, "qwen3", 1000, 250, 0.000375, "USD");
    buf out;
    buf_init(&out);
    sr_metrics_render(m, &out);
    FILE *f = fopen(path, "w");
    if (f) {
        fwrite(out.data, 1, out.len, f);
        fclose(f);
    }
    buf_free(&out);
    sr_metrics_free(m);
}

int main(void)
{
    if (getenv("METRICS_DUMP")) {
        dump_sample(getenv("METRICS_DUMP"));
        return 0;
    }
    RUN(exposition_exact);
    RUN(unlabeled_histogram_and_empty_family);
    RUN(checker_rejects_bad_text);
    RUN(registration_errors);
    RUN(gauge_fn_reads_at_render);
    RUN(label_values_sanitized);
    RUN(cardinality_limit);
    RUN(concurrent_updates_exact);
    RUN(render_during_updates);
    RUN(sr_metrics_families);
    TEST_MAIN_END();
}
