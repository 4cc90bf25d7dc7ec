/* stats.c - live request statistics (see stats.h). */
#include "metrics/stats.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NAME_LEN 64
#define OTHER_NAME "_other_"

typedef struct name_table {
    int n;
    char names[STATS_MAX_NAMES][NAME_LEN];
} name_table;

typedef struct series_slot {
    int64_t sec; /* Unix second of this slot; 0 = empty */
    uint32_t requests, exact, semantic, coalesced, miss, blocked, errors;
    uint32_t by_model[STATS_MAX_NAMES];
} series_slot;

typedef struct latency_sample {
    int64_t t_ms;
    float total_ms;
    float ttft_ms; /* < 0: none */
} latency_sample;

typedef struct recent_entry {
    int64_t t_ms;
    char request_id[80], tenant[NAME_LEN], requested_model[NAME_LEN], model[NAME_LEN],
        category[NAME_LEN], path[12], cache[12], guard[16], guard_type[NAME_LEN], endpoint[NAME_LEN],
        error[40];
    int status, stream, reasoning;
    double similarity, verifier_probability, latency_ms, ttft_ms;
} recent_entry;

enum { P_UPSTREAM, P_CACHE, P_BLOCKED, P_ERROR, P_N };
static const char *const path_names[P_N] = {"upstream", "cache", "blocked", "error"};
enum { C_EXACT, C_SEMANTIC, C_COALESCED, C_MISS, C_SKIP, C_OFF, C_N };
static const char *const cache_names[C_N] = {"exact", "semantic", "coalesced", "miss", "skip", "off"};

struct stats {
    pthread_mutex_t lock;
    uint64_t total;
    uint64_t by_path[P_N];
    uint64_t by_cache[C_N];
    name_table models, categories; /* category slot k = row k+1 of routing; row 0 = none */
    uint64_t by_model[STATS_MAX_NAMES];
    uint64_t routing[STATS_MAX_NAMES + 1][STATS_MAX_NAMES];
    int n_guards;
    char guard[STATS_MAX_NAMES][16], guard_type[STATS_MAX_NAMES][NAME_LEN];
    uint64_t guard_count[STATS_MAX_NAMES];
    series_slot series[STATS_SERIES_SECONDS];
    latency_sample lat[STATS_LATENCY_SAMPLES];
    uint64_t n_lat; /* samples ever written */
    recent_entry recent[STATS_RECENT];
    uint64_t n_recent;
};

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Copies s into dst[cap], cut at a UTF-8 sequence boundary. */
static void copy_name(char *dst, size_t cap, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
    }
    if (n) memcpy(dst, s, n);
    dst[n] = 0;
}

/* Index of name in t, adding it while there is room; the last slot collects
 * every name past the table's size. -1 for NULL. */
static int intern(name_table *t, const char *name)
{
    if (!name) return -1;
    char key[NAME_LEN];
    copy_name(key, sizeof key, name);
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->names[i], key)) return i;
    if (t->n < STATS_MAX_NAMES - 1) {
        memcpy(t->names[t->n], key, sizeof key);
        return t->n++;
    }
    if (t->n == STATS_MAX_NAMES - 1) snprintf(t->names[t->n++], NAME_LEN, "%s", OTHER_NAME);
    return STATS_MAX_NAMES - 1;
}

static int guard_index(stats *s, const char *guard, const char *type)
{
    char g[16], ty[NAME_LEN];
    copy_name(g, sizeof g, guard);
    copy_name(ty, sizeof ty, type ? type : "unknown");
    for (int i = 0; i < s->n_guards; i++)
        if (!strcmp(s->guard[i], g) && !strcmp(s->guard_type[i], ty)) return i;
    if (s->n_guards < STATS_MAX_NAMES - 1) {
        memcpy(s->guard[s->n_guards], g, sizeof g);
        memcpy(s->guard_type[s->n_guards], ty, sizeof ty);
        return s->n_guards++;
    }
    if (s->n_guards == STATS_MAX_NAMES - 1) {
        snprintf(s->guard[s->n_guards], sizeof s->guard[0], "%s", OTHER_NAME);
        snprintf(s->guard_type[s->n_guards], NAME_LEN, "%s", OTHER_NAME);
        s->n_guards++;
    }
    return STATS_MAX_NAMES - 1;
}

stats *stats_new(void)
{
    stats *s = calloc(1, sizeof *s);
    if (s) pthread_mutex_init(&s->lock, NULL);
    return s;
}

void stats_free(stats *s)
{
    if (!s) return;
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static int path_of(const stats_decision *d)
{
    if (d->path)
        for (int i = 0; i < P_N; i++)
            if (!strcmp(d->path, path_names[i])) return i;
    return d->status >= 400 || d->status == 0 ? P_ERROR : P_UPSTREAM;
}

static int cache_of(const stats_decision *d)
{
    if (d->cache)
        for (int i = 0; i < C_N; i++)
            if (!strcmp(d->cache, cache_names[i])) return i;
    return C_OFF;
}

static double finite_or(double v, double dflt) { return isfinite(v) ? v : dflt; }

void stats_record(stats *s, const stats_decision *d)
{
    if (!s || !d) return;
    int64_t t = d->time_ms > 0 ? d->time_ms : wall_ms();
    int path = path_of(d), cache = cache_of(d);
    /* an error reason on a 2xx (a stream cut after it started) is still an error */
    if (path == P_UPSTREAM && d->error && d->status >= 200 && d->status < 300 && !d->guard) path = P_ERROR;
    pthread_mutex_lock(&s->lock);
    s->total++;
    s->by_path[path]++;
    s->by_cache[cache]++;
    int m = intern(&s->models, d->model);
    if (m >= 0) s->by_model[m]++;
    int cat = intern(&s->categories, d->category);
    if (m >= 0 && d->routed) s->routing[cat + 1][m]++;
    if (d->guard) s->guard_count[guard_index(s, d->guard, d->guard_type)]++;

    int64_t sec = t / 1000;
    series_slot *sl = &s->series[sec % STATS_SERIES_SECONDS];
    if (sl->sec != sec) {
        memset(sl, 0, sizeof *sl);
        sl->sec = sec;
    }
    sl->requests++;
    if (m >= 0) sl->by_model[m]++;
    if (cache == C_EXACT) sl->exact++;
    else if (cache == C_SEMANTIC) sl->semantic++;
    else if (cache == C_COALESCED) sl->coalesced++;
    else if (cache == C_MISS) sl->miss++;
    if (path == P_BLOCKED) sl->blocked++;
    if (path == P_ERROR) sl->errors++;

    if (path != P_BLOCKED && path != P_ERROR) {
        latency_sample *ls = &s->lat[s->n_lat++ % STATS_LATENCY_SAMPLES];
        ls->t_ms = t;
        ls->total_ms = (float)finite_or(d->latency_ms, 0);
        ls->ttft_ms = d->ttft_ms >= 0 ? (float)finite_or(d->ttft_ms, -1) : -1.0f;
    }

    recent_entry *r = &s->recent[s->n_recent++ % STATS_RECENT];
    memset(r, 0, sizeof *r);
    r->t_ms = t;
    copy_name(r->request_id, sizeof r->request_id, d->request_id);
    copy_name(r->tenant, sizeof r->tenant, d->tenant);
    copy_name(r->requested_model, sizeof r->requested_model, d->requested_model);
    copy_name(r->model, sizeof r->model, d->model);
    copy_name(r->category, sizeof r->category, d->category);
    copy_name(r->path, sizeof r->path, path_names[path]);
    copy_name(r->cache, sizeof r->cache, cache_names[cache]);
    copy_name(r->guard, sizeof r->guard, d->guard);
    copy_name(r->guard_type, sizeof r->guard_type, d->guard ? d->guard_type : NULL);
    copy_name(r->endpoint, sizeof r->endpoint, d->endpoint);
    copy_name(r->error, sizeof r->error, d->error);
    r->status = d->status;
    r->stream = d->stream;
    r->reasoning = d->reasoning;
    r->similarity = finite_or(d->similarity, -1);
    r->verifier_probability = finite_or(d->verifier_probability, -1);
    r->latency_ms = finite_or(d->latency_ms, 0);
    r->ttft_ms = finite_or(d->ttft_ms, -1);
    pthread_mutex_unlock(&s->lock);
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of the sorted v[n]. */
static double nearest_rank(const float *v, size_t n, double p)
{
    if (!n) return -1;
    double rank = ceil(p / 100.0 * (double)n);
    size_t i = rank < 1 ? 0 : (size_t)rank - 1;
    if (i >= n) i = n - 1;
    return v[i];
}

/* Copies the samples in [since_ms, until_ms) (TTFT: only those with one) into v, sorted;
 * the caller holds the lock or owns a snapshot. */
static size_t collect(stats *s, int64_t since_ms, int64_t until_ms, int ttft, float *v)
{
    size_t have = s->n_lat < STATS_LATENCY_SAMPLES ? (size_t)s->n_lat : STATS_LATENCY_SAMPLES, n = 0;
    for (size_t i = 0; i < have; i++) {
        const latency_sample *ls = &s->lat[i];
        if (ls->t_ms < since_ms || ls->t_ms >= until_ms) continue;
        float x = ttft ? ls->ttft_ms : ls->total_ms;
        if (ttft && x < 0) continue;
        v[n++] = x;
    }
    qsort(v, n, sizeof *v, cmp_float);
    return n;
}

double stats_latency_percentile(stats *s, int64_t now_ms, int window_seconds, double p, int ttft)
{
    if (!s) return -1;
    static _Thread_local float v[STATS_LATENCY_SAMPLES];
    if (!now_ms) now_ms = wall_ms();
    pthread_mutex_lock(&s->lock);
    size_t n = collect(s, now_ms - (int64_t)window_seconds * 1000, INT64_MAX, ttft, v);
    double r = nearest_rank(v, n, p);
    pthread_mutex_unlock(&s->lock);
    return r;
}

static void json_name_or_null(buf *b, const char *s)
{
    if (s && *s) buf_json_str(b, s, strlen(s));
    else buf_puts(b, "null");
}

static void json_ms(buf *b, double v)
{
    if (v < 0) buf_puts(b, "null");
    else buf_printf(b, "%.3f", v);
}

void stats_write_json(stats *s, const stats_query *q, buf *out)
{
    stats_query dq = {0};
    if (!q) q = &dq;
    int64_t now = q->now_ms > 0 ? q->now_ms : wall_ms();
    int series_n = q->series_seconds > 0 ? q->series_seconds : 120;
    if (series_n > STATS_SERIES_SECONDS) series_n = STATS_SERIES_SECONDS;
    int window = q->window_seconds > 0 ? q->window_seconds : 300;
    int recent_n = q->recent < 0 ? 50 : q->recent > STATS_RECENT ? STATS_RECENT : q->recent;
    float *v = malloc(sizeof(float) * STATS_LATENCY_SAMPLES);
    stats *live = s;
    s = live ? malloc(sizeof *s) : NULL;
    if (!s || !v) {
        free(v);
        free(s);
        buf_puts(out, "\"decisions\":null");
        return;
    }
    /* render from a snapshot: the request path waits only for the copy */
    pthread_mutex_lock(&live->lock);
    memcpy(s, live, sizeof *s);
    pthread_mutex_unlock(&live->lock);

    buf_printf(out, "\"decisions\":{\"total\":%llu", (unsigned long long)s->total);
    for (int i = 0; i < P_N; i++) buf_printf(out, ",\"%s\":%llu", path_names[i], (unsigned long long)s->by_path[i]);
    buf_puts(out, ",\"cache_outcomes\":{");
    for (int i = 0; i < C_N; i++)
        buf_printf(out, "%s\"%s\":%llu", i ? "," : "", cache_names[i], (unsigned long long)s->by_cache[i]);
    buf_puts(out, "},\"by_model\":[");
    for (int i = 0; i < s->models.n; i++) {
        buf_puts(out, i ? ",{\"model\":" : "{\"model\":");
        json_name_or_null(out, s->models.names[i]);
        buf_printf(out, ",\"count\":%llu}", (unsigned long long)s->by_model[i]);
    }
    buf_puts(out, "]},\"routing\":[");
    int first = 1;
    for (int c = 0; c <= s->categories.n; c++)
        for (int m = 0; m < s->models.n; m++) {
            if (!s->routing[c][m]) continue;
            buf_puts(out, first ? "{\"category\":" : ",{\"category\":");
            first = 0;
            json_name_or_null(out, c ? s->categories.names[c - 1] : NULL);
            buf_puts(out, ",\"model\":");
            json_name_or_null(out, s->models.names[m]);
            buf_printf(out, ",\"count\":%llu}", (unsigned long long)s->routing[c][m]);
        }
    buf_puts(out, "],\"guard_blocks\":[");
    for (int i = 0; i < s->n_guards; i++) {
        buf_puts(out, i ? ",{\"guard\":" : "{\"guard\":");
        json_name_or_null(out, s->guard[i]);
        buf_puts(out, ",\"type\":");
        json_name_or_null(out, s->guard_type[i]);
        buf_printf(out, ",\"count\":%llu}", (unsigned long long)s->guard_count[i]);
    }

    int64_t since = now - (int64_t)window * 1000;
    size_t n = collect(s, since, INT64_MAX, 0, v);
    buf_printf(out, "],\"latency\":{\"window_seconds\":%d,\"samples\":%zu,\"total_ms\":{\"p50\":", window, n);
    json_ms(out, nearest_rank(v, n, 50));
    buf_puts(out, ",\"p99\":");
    json_ms(out, nearest_rank(v, n, 99));
    n = collect(s, since, INT64_MAX, 1, v);
    buf_printf(out, "},\"ttft_ms\":{\"samples\":%zu,\"p50\":", n);
    json_ms(out, nearest_rank(v, n, 50));
    buf_puts(out, ",\"p99\":");
    json_ms(out, nearest_rank(v, n, 99));

    int64_t end = now / 1000;
    buf_printf(out, "}},\"series\":{\"interval_seconds\":1,\"end\":%lld,\"models\":[", (long long)end);
    for (int i = 0; i < s->models.n; i++) {
        if (i) buf_putc(out, ',');
        json_name_or_null(out, s->models.names[i]);
    }
    buf_puts(out, "],\"points\":[");
    for (int k = series_n - 1; k >= 0; k--) {
        int64_t sec = end - k;
        const series_slot *sl = &s->series[((sec % STATS_SERIES_SECONDS) + STATS_SERIES_SECONDS) % STATS_SERIES_SECONDS];
        static const series_slot empty;
        if (sl->sec != sec) sl = &empty;
        buf_printf(out,
                   "%s{\"t\":%lld,\"requests\":%u,\"exact\":%u,\"semantic\":%u,\"coalesced\":%u,\"miss\":%u,"
                   "\"blocked\":%u,\"errors\":%u,\"by_model\":[",
                   k == series_n - 1 ? "" : ",", (long long)sec, sl->requests, sl->exact, sl->semantic,
                   sl->coalesced, sl->miss, sl->blocked, sl->errors);
        for (int i = 0; i < s->models.n; i++) buf_printf(out, "%s%u", i ? "," : "", sl->by_model[i]);
        size_t pn = sl->requests ? collect(s, sec * 1000, (sec + 1) * 1000, 0, v) : 0;
        buf_puts(out, "],\"p50_ms\":");
        json_ms(out, nearest_rank(v, pn, 50));
        buf_puts(out, ",\"p99_ms\":");
        json_ms(out, nearest_rank(v, pn, 99));
        pn = sl->requests ? collect(s, sec * 1000, (sec + 1) * 1000, 1, v) : 0;
        buf_puts(out, ",\"ttft_p50_ms\":");
        json_ms(out, nearest_rank(v, pn, 50));
        buf_puts(out, ",\"ttft_p99_ms\":");
        json_ms(out, nearest_rank(v, pn, 99));
        buf_putc(out, '}');
    }

    buf_puts(out, "]},\"recent\":[");
    uint64_t have = s->n_recent < STATS_RECENT ? s->n_recent : STATS_RECENT;
    if ((uint64_t)recent_n > have) recent_n = (int)have;
    for (int k = 0; k < recent_n; k++) {
        const recent_entry *r = &s->recent[(s->n_recent - 1 - (uint64_t)k) % STATS_RECENT];
        buf_printf(out, "%s{\"time_ms\":%lld,\"request_id\":", k ? "," : "", (long long)r->t_ms);
        json_name_or_null(out, r->request_id);
        buf_puts(out, ",\"tenant\":");
        json_name_or_null(out, r->tenant);
        buf_puts(out, ",\"requested_model\":");
        json_name_or_null(out, r->requested_model);
        buf_puts(out, ",\"model\":");
        json_name_or_null(out, r->model);
        buf_puts(out, ",\"category\":");
        json_name_or_null(out, r->category);
        buf_printf(out, ",\"path\":\"%s\",\"cache\":\"%s\",\"guard\":", r->path, r->cache);
        json_name_or_null(out, r->guard);
        buf_puts(out, ",\"guard_type\":");
        json_name_or_null(out, r->guard_type);
        buf_puts(out, ",\"endpoint\":");
        json_name_or_null(out, r->endpoint);
        buf_puts(out, ",\"error\":");
        json_name_or_null(out, r->error);
        buf_printf(out, ",\"status\":%d,\"stream\":%s,\"reasoning\":%s,\"similarity\":", r->status,
                   r->stream ? "true" : "false", r->reasoning ? "true" : "false");
        if (r->similarity >= 0) buf_printf(out, "%.4f", r->similarity);
        else buf_puts(out, "null");
        buf_puts(out, ",\"verifier_probability\":");
        if (r->verifier_probability >= 0) buf_printf(out, "%.4f", r->verifier_probability);
        else buf_puts(out, "null");
        buf_puts(out, ",\"latency_ms\":");
        json_ms(out, r->latency_ms);
        buf_puts(out, ",\"ttft_ms\":");
        json_ms(out, r->ttft_ms);
        buf_putc(out, '}');
    }
    buf_putc(out, ']');
    free(s);
    free(v);
}
