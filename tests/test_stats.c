/* test_stats.c - metrics/stats.c: totals, series, percentiles, recent decisions, JSON. */
#include "metrics/stats.h"
#include "test.h"

#include <cjson/cJSON.h>
#include <pthread.h>

static const int64_t T0 = 1796284260000; /* a fixed Unix millisecond (2026-12-03) */

static cJSON *render(stats *s, int64_t now_ms, int series, int recent)
{
    buf b;
    buf_init(&b);
    buf_putc(&b, '{');
    stats_query q = {.now_ms = now_ms, .series_seconds = series, .window_seconds = 300, .recent = recent};
    stats_write_json(s, &q, &b);
    buf_putc(&b, '}');
    cJSON *j = cJSON_ParseWithLength(b.data, b.len);
    if (!j) printf("unparseable JSON: %.*s\n", (int)(b.len < 400 ? b.len : 400), b.data);
    buf_free(&b);
    return j;
}

static double num_at(const cJSON *j, const char *a, const char *b)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(j, a);
    if (b) x = cJSON_GetObjectItemCaseSensitive(x, b);
    return cJSON_IsNumber(x) ? x->valuedouble : -12345;
}

static stats_decision upstream(int64_t t, const char *model, const char *category, double ms)
{
    stats_decision d = {.time_ms = t, .request_id = "req-1", .tenant = "acme", .requested_model = "MoM",
                        .model = model, .category = category, .path = "upstream", .cache = "miss",
                        .endpoint = "ep-a", .status = 200, .routed = 1, .similarity = -1, .verifier_probability = -1,
                        .latency_ms = ms, .ttft_ms = ms / 2};
    return d;
}

static void test_totals_routing_guards(void)
{
    stats *s = stats_new();
    stats_decision d = upstream(T0, "small", "math", 10);
    stats_record(s, &d);
    d = upstream(T0 + 10, "large", "math", 30);
    stats_record(s, &d);
    d = upstream(T0 + 20, "large", NULL, 20);
    d.path = "cache";
    d.cache = "exact";
    d.routed = 0; /* answered before routing: not in the routing matrix */
    d.similarity = 1.0;
    d.ttft_ms = -1;
    stats_record(s, &d);
    d = upstream(T0 + 30, "large", "math", 5);
    d.path = "cache";
    d.cache = "semantic";
    d.similarity = 0.9168;
    d.verifier_probability = 0.97;
    d.ttft_ms = -1;
    stats_record(s, &d);
    d = upstream(T0 + 40, "small", "other", 2);
    d.path = "blocked";
    d.cache = "off";
    d.guard = "jailbreak";
    d.guard_type = "roleplay";
    d.error = "jailbreak_block";
    stats_record(s, &d);
    d = upstream(T0 + 50, NULL, NULL, 1);
    d.path = "blocked";
    d.guard = "pii";
    d.guard_type = "CREDIT_CARD,EMAIL_ADDRESS";
    stats_record(s, &d);
    d = upstream(T0 + 60, "small", NULL, 3);
    d.path = NULL;
    d.status = 502;
    d.error = "upstream_5xx";
    stats_record(s, &d);

    cJSON *j = render(s, T0 + 1000, 5, 10);
    CHECK(j != NULL, "JSON");
    const cJSON *dec = cJSON_GetObjectItemCaseSensitive(j, "decisions");
    CHECK_EQ_INT(num_at(dec, "total", NULL), 7);
    CHECK_EQ_INT(num_at(dec, "upstream", NULL), 2);
    CHECK_EQ_INT(num_at(dec, "cache", NULL), 2);
    CHECK_EQ_INT(num_at(dec, "blocked", NULL), 2);
    CHECK_EQ_INT(num_at(dec, "error", NULL), 1);
    const cJSON *co = cJSON_GetObjectItemCaseSensitive(dec, "cache_outcomes");
    CHECK_EQ_INT(num_at(co, "exact", NULL), 1);
    CHECK_EQ_INT(num_at(co, "semantic", NULL), 1);
    CHECK_EQ_INT(num_at(co, "miss", NULL), 4);
    CHECK_EQ_INT(num_at(co, "off", NULL), 1);
    /* routing: (category, model) pairs; the blocked PII request has no model and no row */
    const cJSON *routing = cJSON_GetObjectItemCaseSensitive(j, "routing");
    int math_large = 0, none_large = 0, rows = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, routing) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(r, "category");
        const char *m = cJSON_GetObjectItemCaseSensitive(r, "model")->valuestring;
        int n = (int)num_at(r, "count", NULL);
        rows++;
        if (cJSON_IsString(c) && !strcmp(c->valuestring, "math") && !strcmp(m, "large")) math_large = n;
        if (cJSON_IsNull(c) && !strcmp(m, "large")) none_large = n;
    }
    CHECK_EQ_INT(math_large, 2);
    CHECK_EQ_INT(none_large, 0);
    CHECK_EQ_INT(rows, 4); /* math/small, math/large, other/small, none/small */
    const cJSON *gb = cJSON_GetObjectItemCaseSensitive(j, "guard_blocks");
    CHECK_EQ_INT(cJSON_GetArraySize(gb), 2);
    CHECK_STR(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(gb, 0), "type")->valuestring, "roleplay");
    CHECK_STR(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(gb, 1), "type")->valuestring,
              "CREDIT_CARD,EMAIL_ADDRESS");
    /* recent: newest first, with the verifier probability only where given */
    const cJSON *rec = cJSON_GetObjectItemCaseSensitive(j, "recent");
    CHECK_EQ_INT(cJSON_GetArraySize(rec), 7);
    CHECK_EQ_INT(num_at(cJSON_GetArrayItem(rec, 0), "status", NULL), 502);
    CHECK_STR(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(rec, 0), "path")->valuestring, "error");
    const cJSON *sem = cJSON_GetArrayItem(rec, 3);
    CHECK_STR(cJSON_GetObjectItemCaseSensitive(sem, "cache")->valuestring, "semantic");
    CHECK_NEAR(num_at(sem, "similarity", NULL), 0.9168, 1e-9);
    CHECK_NEAR(num_at(sem, "verifier_probability", NULL), 0.97, 1e-9);
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(rec, 1), "verifier_probability")),
          "no verifier probability is null");
    cJSON_Delete(j);
    j = render(s, T0 + 1000, 5, 2);
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "recent")), 2);
    cJSON_Delete(j);
    stats_free(s);
}

/* Latency percentiles are nearest-rank over the window; blocked and failed requests are not
 * latency samples, and TTFT counts only requests that have one. */
static void test_percentiles(void)
{
    stats *s = stats_new();
    for (int i = 1; i <= 100; i++) {
        stats_decision d = upstream(T0 + i, "small", NULL, (double)i);
        if (i % 2) d.ttft_ms = -1; /* only even ones have a first byte */
        stats_record(s, &d);
    }
    stats_decision b = upstream(T0 + 200, "small", NULL, 99999);
    b.path = "blocked";
    stats_record(s, &b);
    int64_t now = T0 + 1000;
    CHECK_NEAR(stats_latency_percentile(s, now, 300, 50, 0), 50, 1e-6);
    CHECK_NEAR(stats_latency_percentile(s, now, 300, 99, 0), 99, 1e-6);
    CHECK_NEAR(stats_latency_percentile(s, now, 300, 100, 0), 100, 1e-6);
    /* TTFT: even i only, ttft = i/2 -> 1..50; p50 = rank 25 = 25 */
    CHECK_NEAR(stats_latency_percentile(s, now, 300, 50, 1), 25, 1e-6);
    CHECK_NEAR(stats_latency_percentile(s, now, 300, 99, 1), 50, 1e-6);
    /* outside the window: none */
    CHECK(stats_latency_percentile(s, T0 + 400000, 300, 50, 0) < 0, "old samples leave the window");
    cJSON *j = render(s, now, 3, 0);
    const cJSON *lat = cJSON_GetObjectItemCaseSensitive(j, "latency");
    CHECK_EQ_INT(num_at(lat, "samples", NULL), 100);
    CHECK_NEAR(num_at(lat, "total_ms", "p99"), 99, 1e-6);
    CHECK_EQ_INT(num_at(cJSON_GetObjectItemCaseSensitive(lat, "ttft_ms"), "samples", NULL), 50);
    cJSON_Delete(j);
    stats_free(s);
}

/* The per-second series: requests land in their second, by model; old slots are reused. */
static void test_series(void)
{
    stats *s = stats_new();
    for (int i = 0; i < 3; i++) {
        stats_decision d = upstream(T0 + 100 + i, "small", NULL, 5);
        stats_record(s, &d);
    }
    stats_decision d = upstream(T0 + 2100, "large", NULL, 7);
    d.path = "cache";
    d.cache = "exact";
    stats_record(s, &d);
    cJSON *j = render(s, T0 + 2500, 4, 0);
    const cJSON *series = cJSON_GetObjectItemCaseSensitive(j, "series");
    const cJSON *pts = cJSON_GetObjectItemCaseSensitive(series, "points");
    CHECK_EQ_INT(cJSON_GetArraySize(pts), 4);
    CHECK_EQ_INT(num_at(series, "end", NULL), T0 / 1000 + 2);
    const cJSON *p0 = cJSON_GetArrayItem(pts, 1), *p2 = cJSON_GetArrayItem(pts, 3);
    CHECK_EQ_INT(num_at(p0, "t", NULL), T0 / 1000);
    CHECK_EQ_INT(num_at(p0, "requests", NULL), 3);
    CHECK_EQ_INT(num_at(p0, "miss", NULL), 3);
    CHECK_EQ_INT(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(p0, "by_model"), 0)->valueint, 3);
    CHECK_EQ_INT(num_at(cJSON_GetArrayItem(pts, 2), "requests", NULL), 0);
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(pts, 2), "p50_ms")), "empty second");
    CHECK_EQ_INT(num_at(p2, "exact", NULL), 1);
    CHECK_EQ_INT(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(p2, "by_model"), 1)->valueint, 1);
    CHECK_NEAR(num_at(p2, "p50_ms", NULL), 7, 1e-6);
    cJSON_Delete(j);
    /* a request STATS_SERIES_SECONDS later reuses the slot of T0 and must not add to it */
    d = upstream(T0 + 100 + STATS_SERIES_SECONDS * 1000LL, "small", NULL, 5);
    stats_record(s, &d);
    j = render(s, T0 + 500 + STATS_SERIES_SECONDS * 1000LL, 1, 0);
    pts = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "series"), "points");
    CHECK_EQ_INT(num_at(cJSON_GetArrayItem(pts, 0), "requests", NULL), 1);
    cJSON_Delete(j);
    stats_free(s);
}

/* Client-chosen names: UTF-8 kept whole (cut at a sequence boundary), JSON escaped, and
 * past the table size folded into "_other_" instead of growing. */
static void test_names_bounded_and_escaped(void)
{
    stats *s = stats_new();
    char longname[200] = "";
    for (int i = 0; i < 30; i++) strcat(longname, "é"); /* 60 bytes */
    strcat(longname, "🐱🐱"); /* 68 bytes: the first emoji (bytes 60..63) does not fit in 63 */
    stats_decision d = upstream(T0, longname, "“quoted” \"category\"\n", 4);
    d.tenant = "テナント-α";
    stats_record(s, &d);
    for (int i = 0; i < 3 * STATS_MAX_NAMES; i++) {
        char m[32];
        snprintf(m, sizeof m, "model-%d", i);
        d = upstream(T0 + i, m, NULL, 1);
        stats_record(s, &d);
    }
    cJSON *j = render(s, T0 + 1000, 2, 200);
    CHECK(j != NULL, "JSON with quotes, newlines and emoji parses");
    const cJSON *by = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "decisions"), "by_model");
    CHECK_EQ_INT(cJSON_GetArraySize(by), STATS_MAX_NAMES);
    const char *first = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(by, 0), "model")->valuestring;
    CHECK(strlen(first) == 60 && !strncmp(first, longname, 60), "cut at the last whole character: %s", first);
    const cJSON *last = cJSON_GetArrayItem(by, STATS_MAX_NAMES - 1);
    CHECK_STR(cJSON_GetObjectItemCaseSensitive(last, "model")->valuestring, "_other_");
    CHECK_EQ_INT(num_at(last, "count", NULL), 3 * STATS_MAX_NAMES - (STATS_MAX_NAMES - 2));
    const cJSON *rec = cJSON_GetObjectItemCaseSensitive(j, "recent");
    const cJSON *oldest = cJSON_GetArrayItem(rec, cJSON_GetArraySize(rec) - 1);
    CHECK_STR(cJSON_GetObjectItemCaseSensitive(oldest, "tenant")->valuestring, "テナント-α");
    CHECK_STR(cJSON_GetObjectItemCaseSensitive(oldest, "category")->valuestring, "“quoted” \"category\"\n");
    cJSON_Delete(j);
    stats_free(s);
}

static void *recorder(void *arg)
{
    stats *s = arg;
    for (int i = 0; i < 20000; i++) {
        stats_decision d = upstream(0, i % 2 ? "small" : "large", "math", 1 + i % 7);
        stats_record(s, &d);
    }
    return NULL;
}

/* Two threads record while a third renders: nothing is lost. */
static void test_concurrent(void)
{
    stats *s = stats_new();
    pthread_t a, b;
    pthread_create(&a, NULL, recorder, s);
    pthread_create(&b, NULL, recorder, s);
    for (int i = 0; i < 20; i++) {
        cJSON *j = render(s, 0, 120, 50);
        CHECK(j != NULL, "render during writes");
        cJSON_Delete(j);
    }
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    cJSON *j = render(s, 0, 120, 0);
    CHECK_EQ_INT(num_at(cJSON_GetObjectItemCaseSensitive(j, "decisions"), "total", NULL), 40000);
    cJSON_Delete(j);
    stats_free(s);
    stats_record(NULL, NULL); /* no-op */
}

int main(void)
{
    RUN(test_totals_routing_guards);
    RUN(test_percentiles);
    RUN(test_series);
    RUN(test_names_bounded_and_escaped);
    RUN(test_concurrent);
    TEST_MAIN_END();
}
