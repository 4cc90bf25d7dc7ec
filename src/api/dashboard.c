/* dashboard.c - /api/v1/stats and the embedded /dashboard page (see dashboard.h).
 *
 * Counters that /metrics exports are read from the metrics registry here (so the
 * page and a Prometheus scrape can never disagree); time series, percentiles,
 * the routing matrix, guard blocks by type and the last decisions come from
 * metrics/stats.c; cache and endpoint state from their modules. */
#include "api/dashboard.h"
#include "api/auth.h"
#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SEMROUTER_VERSION_STR "0.1.0"

int dashboard_owns(const char *path)
{
    return !strcmp(path, "/api/v1/stats") || !strcmp(path, "/dashboard") || !strcmp(path, "/dashboard/") ||
           !strncmp(path, "/dashboard/", 11);
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Value of NAME in a query string "a=1&b=2", or dflt. */
static int query_int(const char *q, const char *name, int dflt)
{
    size_t nl = strlen(name);
    for (const char *p = q; p && *p;) {
        if (!strncmp(p, name, nl) && p[nl] == '=') return atoi(p + nl + 1);
        p = strchr(p, '&');
        if (p) p++;
    }
    return dflt;
}

static void num(buf *b, double v) { buf_printf(b, "%.17g", v); }

void dashboard_stats_json(gateway *gw, const char *query, buf *out)
{
    sr_config *cfg = gateway_config(gw);
    sr_metrics *m = gw->metrics;
    int64_t now = wall_ms();
    buf_printf(out, "{\"object\":\"semrouter.stats\",\"version\":\"%s\",\"time_ms\":%lld,\"uptime_seconds\":%.3f",
               SEMROUTER_VERSION_STR, (long long)now, gw->started_ms ? (double)(now - gw->started_ms) / 1e3 : 0.0);
    buf_printf(out, ",\"inflight\":%ld", gw->server ? http_server_inflight(gw->server) : 0L);

    /* per configured model: the /metrics counters */
    buf_puts(out, ",\"models\":[");
    for (size_t i = 0; i < cfg->n_models; i++) {
        const char *name = cfg->models[i].name;
        const char *const *l = METRICS_LABELS(name);
        double ttft_sum = 0, lat_sum = 0;
        double ttft_n = metrics_get(m->model_ttft, l, &ttft_sum);
        double lat_n = metrics_get(m->model_completion_latency, l, &lat_sum);
        buf_puts(out, i ? ",{\"name\":" : "{\"name\":");
        buf_json_str(out, name, strlen(name));
        buf_puts(out, ",\"requests\":");
        num(out, metrics_get(m->model_requests, l, NULL));
        buf_puts(out, ",\"tokens\":");
        num(out, metrics_get(m->model_tokens, l, NULL));
        buf_puts(out, ",\"completions\":");
        num(out, lat_n);
        buf_printf(out, ",\"mean_ttft_ms\":");
        if (ttft_n > 0) buf_printf(out, "%.3f", ttft_sum / ttft_n * 1e3);
        else buf_puts(out, "null");
        buf_printf(out, ",\"mean_latency_ms\":");
        if (lat_n > 0) buf_printf(out, "%.3f", lat_sum / lat_n * 1e3);
        else buf_puts(out, "null");
        buf_putc(out, '}');
    }
    buf_puts(out, "],\"categories\":[");
    for (size_t i = 0; i < cfg->n_categories; i++) {
        const char *name = cfg->categories[i].name;
        buf_puts(out, i ? ",{\"name\":" : "{\"name\":");
        buf_json_str(out, name, strlen(name));
        buf_puts(out, ",\"classified\":");
        num(out, metrics_get(m->category_classifications, METRICS_LABELS(name), NULL));
        buf_putc(out, '}');
    }

    /* guard blocks as /metrics counts them (llm_request_errors_total by reason) */
    double jb = 0, pii = 0;
    for (size_t i = 0; i <= cfg->n_models; i++) {
        const char *name = i < cfg->n_models ? cfg->models[i].name : "unknown";
        jb += metrics_get(m->request_errors, METRICS_LABELS(name, "jailbreak_block"), NULL);
        pii += metrics_get(m->request_errors, METRICS_LABELS(name, "pii_policy_denied"), NULL);
    }
    buf_puts(out, "],\"guards\":{\"jailbreak_blocks\":");
    num(out, jb);
    buf_puts(out, ",\"pii_blocks\":");
    num(out, pii);
    buf_printf(out, ",\"prompt_guard_enabled\":%s,\"pii_enabled\":%s}", cfg->prompt_guard.enabled ? "true" : "false",
               cfg->pii.enabled ? "true" : "false");

    /* cache: the /metrics counters and each backend's own numbers */
    buf_printf(out, ",\"cache\":{\"enabled\":%s,\"hits\":", cfg->semantic_cache.enabled && gw->cache ? "true" : "false");
    num(out, metrics_get(m->cache_hits, NULL, NULL));
    buf_puts(out, ",\"misses\":");
    num(out, metrics_get(m->cache_misses, NULL, NULL));
    buf_printf(out, ",\"similarity_threshold\":%.4f,\"backends\":[", cfg->semantic_cache.similarity_threshold);
    if (gw->cache) {
        cache_stats st;
        cache_stats_get(gw->cache, &st);
        buf_printf(out,
                   "{\"name\":\"memory\",\"entries\":%zu,\"partitions\":%zu,\"bytes\":%zu,\"file_bytes\":%llu,"
                   "\"hits\":%llu,\"exact_hits\":%llu,\"semantic_hits\":%llu,\"misses\":%llu,\"stores\":%llu,"
                   "\"evictions\":%llu,\"expirations\":%llu,\"max_entries\":%lld}",
                   st.entries, st.partitions, st.bytes, (unsigned long long)st.file_bytes,
                   (unsigned long long)st.hits, (unsigned long long)st.exact_hits,
                   (unsigned long long)st.semantic_hits, (unsigned long long)st.misses,
                   (unsigned long long)st.stores, (unsigned long long)st.evictions,
                   (unsigned long long)st.expirations, (long long)cfg->semantic_cache.max_entries);
    }
    buf_puts(out, "]}");

    /* endpoints: balancer state and the upstream outcome counters */
    buf_puts(out, ",\"endpoints\":[");
    for (size_t i = 0; i < cfg->n_endpoints; i++) {
        const sr_endpoint *e = &cfg->endpoints[i];
        balancer_info bi;
        balancer_info_get(gw->balancer, e->name, &bi);
        buf_puts(out, i ? ",{\"name\":" : "{\"name\":");
        buf_json_str(out, e->name, strlen(e->name));
        buf_puts(out, ",\"url\":");
        buf_json_str(out, e->api_base ? e->api_base : "", e->api_base ? strlen(e->api_base) : 0);
        buf_printf(out, ",\"weight\":%d,\"healthy\":%s,\"outstanding\":%ld,\"ejections\":%ld,\"consecutive_failures\":%d,"
                        "\"ejected_for_seconds\":%.3f,\"requests\":{",
                   e->weight, bi.healthy ? "true" : "false", bi.outstanding, bi.ejections, bi.consecutive_fails,
                   bi.ejected_for_seconds);
        static const char *const outcomes[] = {"ok", "error", "timeout"};
        for (int k = 0; k < 3; k++) {
            buf_printf(out, "%s\"%s\":", k ? "," : "", outcomes[k]);
            num(out, metrics_get(m->upstream_requests, METRICS_LABELS(e->name, outcomes[k]), NULL));
        }
        buf_puts(out, "}}");
    }
    buf_puts(out, "],");

    stats_query q = {.now_ms = now,
                     .series_seconds = query_int(query, "series", 120),
                     .window_seconds = query_int(query, "window", 300),
                     .recent = query_int(query, "recent", 50)};
    stats_write_json(gw->stats, &q, out);
    buf_putc(out, '}');
    config_release(cfg);
}

static const dashboard_asset *asset_for(const char *path)
{
    if (!strcmp(path, "/dashboard/")) path = "/dashboard";
    for (size_t i = 0; i < dashboard_assets_n; i++)
        if (!strcmp(dashboard_assets[i].path, path)) return &dashboard_assets[i];
    return NULL;
}

int dashboard_handle(http_request *req, gateway *gw, const char *path)
{
    if (!strcmp(path, "/api/v1/stats")) {
        sr_config *cfg = gateway_config(gw);
        const char *who;
        int denied = 0;
        auth_level lv = auth_management(req, cfg, 1, &who, &denied);
        config_release(cfg);
        if (lv == AUTH_DENIED) return denied;
        buf b;
        buf_init(&b);
        dashboard_stats_json(gw, http_request_query(req), &b);
        http_add_header(req, "Cache-Control", "no-store");
        int st = b.oom ? 500 : 200;
        if (b.oom) http_respond_error(req, 500, "Out of memory while writing the stats.", NULL, "out_of_memory");
        else http_respond(req, 200, "application/json", b.data, b.len);
        buf_free(&b);
        return st;
    }
    const dashboard_asset *a = asset_for(path);
    if (!a) {
        char msg[512];
        snprintf(msg, sizeof msg, "Unknown dashboard file: %.300s.", path);
        http_respond_error(req, 404, msg, NULL, "unknown_url");
        return 404;
    }
    /* everything the page loads comes from this router */
    http_add_header(req, "Content-Security-Policy",
                    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'");
    http_add_header(req, "X-Content-Type-Options", "nosniff");
    http_add_header(req, "Cache-Control", "no-cache");
    http_respond(req, 200, a->content_type, (const char *)a->data, a->len);
    return 200;
}
