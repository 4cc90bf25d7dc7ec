/* metrics.c - Prometheus metrics registry (see metrics.h for the contract).
 *
 * Hot path. A worker thread that counts something does: hash the label values,
 * probe the family's open-addressing table of children (lock-free: slots are only
 * ever filled, never cleared, and a grown table is published with a release
 * store while the old one stays allocated, so a reader that still holds the old
 * table can at worst miss a brand-new child and fall to the locked path, which
 * probes the current table again), then an atomic add on its own shard of the
 * child's cells. Counter and histogram children keep one 64-byte-aligned group of
 * cells per shard; a thread always uses shard (thread slot % shards), so two
 * worker threads counting the same child touch different cache lines. Render
 * sums the shards. Gauges are one cell (set must overwrite, so it cannot shard).
 * Doubles are added with a compare-and-swap on their bit pattern; histogram
 * bucket counts are plain integer fetch-adds.
 *
 * Histogram _count is the sum of the bucket cells read at render, so _count and
 * the +Inf bucket always agree; _sum may lag a concurrent observation by one
 * value, which Prometheus tolerates. */
#include "metrics/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/log.h"
#include "core/util.h"

const double metrics_latency_buckets[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                          0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                          1,      2.5,     5,      10,    30,     60};
const int metrics_latency_buckets_n =
    (int)(sizeof metrics_latency_buckets / sizeof metrics_latency_buckets[0]);

#define CELLS_PER_LINE 8 /* 64-byte cache line / 8-byte cell */
#define OVERFLOW_VALUE "_overflow_"
#define METRICS_MAX_LABELS 16

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

struct metric_child {
    metric_family *family;
    uint64_t hash;
    char **values;           /* n_labels sanitized copies (same allocation) */
    size_t *lens;            /* their lengths */
    _Atomic uint64_t gauge;  /* gauge value bits */
    double (*fn)(void *ctx); /* gauge read at render; guarded by family lock */
    void *fn_ctx;
    _Atomic uint64_t *cells; /* shards * stride cells, 64-byte aligned */
};

/* Lock-free readable child table; power-of-two size, load <= 1/2. */
typedef struct child_table {
    size_t mask;
    struct child_table *older; /* superseded tables, freed with the family */
    _Atomic(metric_child *) slot[];
} child_table;

struct metric_family {
    metrics_registry *registry;
    enum metric_type type;
    char *name, *help;
    int n_labels;
    char **label_names;
    double *bounds; /* histogram upper bounds, n_bounds of them (+Inf implied) */
    int n_bounds;
    char (*le_text)[32]; /* bounds as le label values, then "+Inf" */
    int stride;          /* cells per shard, a multiple of CELLS_PER_LINE */
    int shards;          /* 1 for gauges */
    metric_child *solo;  /* the child of a family without labels */
    _Atomic(child_table *) table;
    pthread_mutex_t lock;    /* child creation, children[], gauge fns */
    metric_child **children; /* creation order */
    int n_children, cap_children;
    metric_child *overflow;
};

struct metrics_registry {
    pthread_mutex_t lock; /* families[] and rendering */
    metric_family **families;
    int n_families, cap_families;
    int shards; /* power of two */
    int registration_errors;
};

/* ---- threads and atomics ------------------------------------------------- */

static _Atomic unsigned next_thread_slot;
static _Thread_local unsigned thread_slot_plus1;

static inline unsigned thread_slot(void)
{
    unsigned s = thread_slot_plus1;
    if (__builtin_expect(s == 0, 0))
        s = thread_slot_plus1 =
            atomic_fetch_add_explicit(&next_thread_slot, 1, memory_order_relaxed) + 1;
    return s - 1;
}

static inline double bits_to_double(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static inline uint64_t double_to_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static inline void atomic_add_double(_Atomic uint64_t *p, double v)
{
    uint64_t old = atomic_load_explicit(p, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(p, &old, double_to_bits(bits_to_double(old) + v),
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

static inline double load_double(const _Atomic uint64_t *p)
{
    return bits_to_double(atomic_load_explicit(p, memory_order_relaxed));
}

/* ---- hashing ------------------------------------------------------------- */

static inline uint64_t mix(uint64_t h, uint64_t w)
{
    h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
    return h ^ (h >> 31);
}

/* The last k < 8 bytes of a string as one word, without reading past them. */
static inline uint64_t load_tail(const char *s, size_t k)
{
    if (k >= 4) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + k - 4, 4);
        return (uint64_t)a << 32 | b;
    }
    if (k == 0) return 0;
    return (uint64_t)(unsigned char)s[0] << 16 | (uint64_t)(unsigned char)s[k >> 1] << 8 |
           (unsigned char)s[k - 1];
}

/* Hash of the label tuple; NULL values hash as "". Fills lens[i] with each
 * value's length. The length is mixed into each value's last word, so
 * ("ab","c") and ("a","bc") differ. */
static uint64_t hash_values(int n, const char *const *values, size_t *lens)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (int i = 0; i < n; i++) {
        const char *s = values[i] ? values[i] : "";
        size_t len = strlen(s), k = len;
        lens[i] = len;
        while (k >= 8) {
            uint64_t w;
            memcpy(&w, s, 8);
            h = mix(h, w);
            s += 8;
            k -= 8;
        }
        h = mix(h, load_tail(s, k) ^ ((uint64_t)len << 56));
    }
    return h;
}

static int values_equal(const metric_child *c, int n, const char *const *values, const size_t *lens)
{
    for (int i = 0; i < n; i++)
        if (c->lens[i] != lens[i] || memcmp(c->values[i], values[i] ? values[i] : "", lens[i]))
            return 0;
    return 1;
}

static metric_child *table_find(child_table *t, uint64_t h, int n, const char *const *values,
                                const size_t *lens)
{
    for (size_t i = h & t->mask;; i = (i + 1) & t->mask) {
        metric_child *c = atomic_load_explicit(&t->slot[i], memory_order_acquire);
        if (!c) return NULL;
        if (c->hash == h && values_equal(c, n, values, lens)) return c;
    }
}

static child_table *table_new(size_t size)
{
    child_table *t = calloc(1, sizeof *t + size * sizeof t->slot[0]);
    if (t) t->mask = size - 1;
    return t;
}

static void table_put(child_table *t, metric_child *c)
{
    size_t i = c->hash & t->mask;
    while (atomic_load_explicit(&t->slot[i], memory_order_relaxed))
        i = (i + 1) & t->mask;
    atomic_store_explicit(&t->slot[i], c, memory_order_release);
}

/* ---- children ------------------------------------------------------------ */

/* Allocates a child whose label values are copies of values (already
 * sanitized). Not yet visible to anyone. */
static metric_child *child_alloc(metric_family *f, const char *const *values, uint64_t h)
{
    size_t cells = (size_t)f->shards * (size_t)f->stride;
    size_t strings = 0;
    for (int i = 0; i < f->n_labels; i++)
        strings += strlen(values[i]) + 1;
    size_t head = (sizeof(metric_child) + 63) & ~(size_t)63;
    size_t size = head + cells * sizeof(uint64_t) +
                  (size_t)f->n_labels * (sizeof(char *) + sizeof(size_t)) + strings;
    size = (size + 63) & ~(size_t)63;
    char *mem = aligned_alloc(64, size);
    if (!mem) return NULL;
    memset(mem, 0, size);
    metric_child *c = (metric_child *)mem;
    c->family = f;
    c->hash = h;
    c->cells = (_Atomic uint64_t *)(mem + head);
    c->values = (char **)(mem + head + cells * sizeof(uint64_t));
    c->lens = (size_t *)(c->values + f->n_labels);
    char *s = (char *)(c->lens + f->n_labels);
    for (int i = 0; i < f->n_labels; i++) {
        c->lens[i] = strlen(values[i]);
        memcpy(s, values[i], c->lens[i] + 1);
        c->values[i] = s;
        s += c->lens[i] + 1;
    }
    return c;
}

/* Registers c in the table (growing it when half full) and in creation order.
 * Caller holds f->lock. Returns 0 on allocation failure. */
static int child_publish(metric_family *f, metric_child *c)
{
    size_t cap = (size_t)f->cap_children;
    if (array_grow(&f->children, &cap, (size_t)f->n_children + 1, sizeof *f->children, 8)) return 0;
    f->cap_children = (int)cap;
    child_table *t = atomic_load_explicit(&f->table, memory_order_relaxed);
    if ((size_t)(f->n_children + 1) * 2 > t->mask + 1) {
        child_table *bigger = table_new((t->mask + 1) * 2);
        if (!bigger) return 0;
        for (int i = 0; i < f->n_children; i++)
            table_put(bigger, f->children[i]);
        bigger->older = t;
        atomic_store_explicit(&f->table, bigger, memory_order_release);
        t = bigger;
    }
    table_put(t, c);
    f->children[f->n_children++] = c;
    return 1;
}

/* Copy of s that is valid UTF-8 (each bad byte becomes U+FFFD), or NULL when
 * s is already valid (the common case). */
static char *utf8_sanitized(const char *s)
{
    size_t n = strlen(s);
    if (util_utf8_valid(s, n)) return NULL;
    buf out;
    buf_init(&out);
    for (size_t i = 0; i < n;) {
        unsigned char lead = (unsigned char)s[i];
        size_t len = lead < 0x80 ? 1 : lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
        if (i + len <= n && util_utf8_valid(s + i, len)) {
            buf_append(&out, s + i, len);
            i += len;
        } else {
            buf_puts(&out, "\xef\xbf\xbd");
            i++;
        }
    }
    if (out.oom || !out.data) {
        buf_free(&out);
        return strdup("");
    }
    return buf_steal(&out);
}

/* The locked path of metrics_child: find again under the lock, else create. */
static metric_child *child_create(metric_family *f, const char *const *values, uint64_t h,
                                  size_t *lens)
{
    int n = f->n_labels;
    const char *clean[METRICS_MAX_LABELS] = {0};
    char *owned[METRICS_MAX_LABELS] = {0};
    int dirty = 0;
    for (int i = 0; i < n; i++) {
        const char *v = values[i] ? values[i] : "";
        owned[i] = utf8_sanitized(v);
        clean[i] = owned[i] ? owned[i] : v;
        dirty |= owned[i] != NULL;
    }
    if (dirty) h = hash_values(n, clean, lens);

    pthread_mutex_lock(&f->lock);
    child_table *t = atomic_load_explicit(&f->table, memory_order_relaxed);
    metric_child *c = table_find(t, h, n, clean, lens);
    if (!c) {
        if (f->n_children >= METRICS_MAX_CHILDREN) {
            if (!f->overflow) {
                const char *ov[METRICS_MAX_LABELS];
                for (int i = 0; i < n; i++)
                    ov[i] = OVERFLOW_VALUE;
                size_t ov_lens[METRICS_MAX_LABELS];
                metric_child *o = child_alloc(f, ov, hash_values(n, ov, ov_lens));
                /* published for render; found by lookups of the literal values */
                if (o && child_publish(f, o))
                    f->overflow = o;
                else
                    free(o);
            }
            c = f->overflow;
        } else {
            c = child_alloc(f, clean, h);
            if (c && !child_publish(f, c)) {
                free(c);
                c = NULL;
            }
        }
    }
    pthread_mutex_unlock(&f->lock);
    for (int i = 0; i < n; i++)
        free(owned[i]);
    if (!c) log_error("metrics: out of memory creating a child of %s", f->name);
    return c;
}

metric_child *metrics_child(metric_family *f, const char *const *values)
{
    if (!f) return NULL;
    if (f->n_labels == 0) return f->solo;
    size_t lens[METRICS_MAX_LABELS];
    uint64_t h = hash_values(f->n_labels, values, lens);
    metric_child *c = table_find(atomic_load_explicit(&f->table, memory_order_acquire), h,
                                 f->n_labels, values, lens);
    return c ? c : child_create(f, values, h, lens);
}

/* ---- updates ------------------------------------------------------------- */

static inline _Atomic uint64_t *my_shard(metric_child *c)
{
    const metric_family *f = c->family;
    return c->cells + (size_t)(thread_slot() & (unsigned)(f->shards - 1)) * (size_t)f->stride;
}

void metrics_child_add(metric_child *c, double v)
{
    if (!c) return;
    switch (c->family->type) {
    case METRIC_COUNTER:
        if (!(v >= 0 && v < INFINITY)) return;
        atomic_add_double(my_shard(c), v);
        break;
    case METRIC_GAUGE:
        if (!isnan(v)) atomic_add_double(&c->gauge, v);
        break;
    default:
        break;
    }
}

void metrics_child_set(metric_child *c, double v)
{
    if (c && c->family->type == METRIC_GAUGE)
        atomic_store_explicit(&c->gauge, double_to_bits(v), memory_order_relaxed);
}

void metrics_child_observe(metric_child *c, double v)
{
    if (!c || isnan(v)) return;
    const metric_family *f = c->family;
    if (f->type != METRIC_HISTOGRAM) return;
    /* first bound >= v (le is inclusive); n_bounds is the +Inf cell */
    int lo = 0, hi = f->n_bounds;
    while (lo < hi) {
        int mid = (lo + hi) >> 1;
        if (v <= f->bounds[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    _Atomic uint64_t *cells = my_shard(c);
    atomic_fetch_add_explicit(&cells[lo], 1, memory_order_relaxed);
    atomic_add_double(&cells[f->n_bounds + 1], v);
}

void metrics_add(metric_family *f, const char *const *values, double v)
{
    metrics_child_add(metrics_child(f, values), v);
}

void metrics_inc(metric_family *f, const char *const *values)
{
    metrics_child_add(metrics_child(f, values), 1.0);
}

void metrics_set(metric_family *f, const char *const *values, double v)
{
    metrics_child_set(metrics_child(f, values), v);
}

void metrics_observe(metric_family *f, const char *const *values, double v)
{
    metrics_child_observe(metrics_child(f, values), v);
}

void metrics_gauge_fn(metric_family *f, const char *const *values, double (*fn)(void *ctx),
                      void *ctx)
{
    if (!f || f->type != METRIC_GAUGE) return;
    metric_child *c = metrics_child(f, values);
    if (!c) return;
    pthread_mutex_lock(&f->lock);
    c->fn = fn;
    c->fn_ctx = ctx;
    pthread_mutex_unlock(&f->lock);
}

/* ---- reading ------------------------------------------------------------- */

static double counter_value(const metric_child *c)
{
    const metric_family *f = c->family;
    double sum = 0;
    for (int s = 0; s < f->shards; s++)
        sum += load_double(&c->cells[(size_t)s * f->stride]);
    return sum;
}

/* Fills counts[0..n_bounds] (non-cumulative, last = +Inf) and returns the sum. */
static double histogram_read(const metric_child *c, uint64_t *counts)
{
    const metric_family *f = c->family;
    double sum = 0;
    memset(counts, 0, (size_t)(f->n_bounds + 1) * sizeof *counts);
    for (int s = 0; s < f->shards; s++) {
        _Atomic uint64_t *cells = c->cells + (size_t)s * f->stride;
        for (int i = 0; i <= f->n_bounds; i++)
            counts[i] += atomic_load_explicit(&cells[i], memory_order_relaxed);
        sum += load_double(&cells[f->n_bounds + 1]);
    }
    return sum;
}

double metrics_get(metric_family *f, const char *const *values, double *hist_sum)
{
    if (hist_sum) *hist_sum = 0;
    if (!f) return 0;
    double v = 0;
    size_t lens[METRICS_MAX_LABELS];
    pthread_mutex_lock(&f->lock);
    metric_child *c = f->solo;
    if (f->n_labels) {
        uint64_t h = hash_values(f->n_labels, values, lens);
        c = table_find(atomic_load_explicit(&f->table, memory_order_relaxed), h, f->n_labels,
                       values, lens);
    }
    if (c && f->type == METRIC_COUNTER) {
        v = counter_value(c);
    } else if (c && f->type == METRIC_GAUGE) {
        v = c->fn ? c->fn(c->fn_ctx) : load_double(&c->gauge);
    } else if (c) {
        uint64_t counts[f->n_bounds + 1];
        double sum = histogram_read(c, counts);
        for (int i = 0; i <= f->n_bounds; i++)
            v += (double)counts[i];
        if (hist_sum) *hist_sum = sum;
    }
    pthread_mutex_unlock(&f->lock);
    return v;
}

/* ---- rendering ----------------------------------------------------------- */

/* Writes v as Prometheus reads it into s (>= 32 bytes); returns the length.
 * Integers (the usual case: counts) as plain digits, other values as the
 * shorter of %.15g/%.17g that reads back exactly, +Inf/-Inf/NaN spelled so. */
static int format_number(char *s, double v)
{
    if (isnan(v)) return (int)strlen(strcpy(s, "NaN"));
    if (isinf(v)) return (int)strlen(strcpy(s, v > 0 ? "+Inf" : "-Inf"));
    if (v == floor(v) && fabs(v) < 9007199254740992.0) { /* 2^53: exact in a double */
        char digits[24];
        int n = 0, len = 0;
        uint64_t u = (uint64_t)fabs(v);
        do {
            digits[n++] = (char)('0' + u % 10);
            u /= 10;
        } while (u);
        if (v < 0) s[len++] = '-';
        while (n)
            s[len++] = digits[--n];
        s[len] = 0;
        return len;
    }
    int len = snprintf(s, 32, "%.15g", v);
    if (strtod(s, NULL) != v) len = snprintf(s, 32, "%.17g", v);
    return len;
}

static void put_number(buf *b, double v)
{
    char s[32];
    buf_append(b, s, (size_t)format_number(s, v));
}

/* Escapes backslash and newline (HELP text), and double quotes in label values. */
static void put_escaped(buf *b, const char *s, int quote)
{
    const char *special = quote ? "\\\n\"" : "\\\n";
    for (;;) {
        size_t n = strcspn(s, special);
        buf_append(b, s, n);
        s += n;
        if (!*s) return;
        buf_puts(b, *s == '\\' ? "\\\\" : *s == '\n' ? "\\n" : "\\\"");
        s++;
    }
}

/* a="x",b="y" for one child: built once, used by all its sample lines. */
static void put_label_pairs(buf *b, const metric_family *f, const metric_child *c)
{
    for (int i = 0; i < f->n_labels; i++) {
        if (i) buf_putc(b, ',');
        buf_puts(b, f->label_names[i]);
        buf_puts(b, "=\"");
        put_escaped(b, c->values[i], 1);
        buf_putc(b, '"');
    }
}

/* name+suffix{labels[,le="..."]} value */
static void put_sample(buf *b, const metric_family *f, const char *suffix, const buf *labels,
                       const char *le, double v)
{
    buf_puts(b, f->name);
    buf_puts(b, suffix);
    if (labels->len || le) {
        buf_putc(b, '{');
        buf_append(b, labels->data, labels->len);
        if (le) {
            buf_puts(b, labels->len ? ",le=\"" : "le=\"");
            buf_puts(b, le);
            buf_putc(b, '"');
        }
        buf_putc(b, '}');
    }
    buf_putc(b, ' ');
    put_number(b, v);
    buf_putc(b, '\n');
}

static int child_order(const void *a, const void *b, void *n_labels)
{
    const metric_child *x = *(metric_child *const *)a, *y = *(metric_child *const *)b;
    for (int i = 0; i < *(int *)n_labels; i++) {
        int d = strcmp(x->values[i], y->values[i]);
        if (d) return d;
    }
    return 0;
}

static void render_family(buf *b, metric_family *f)
{
    static const char *type_names[] = {"counter", "gauge", "histogram"};
    buf_printf(b, "# HELP %s ", f->name);
    put_escaped(b, f->help, 0);
    buf_printf(b, "\n# TYPE %s %s\n", f->name, type_names[f->type]);

    pthread_mutex_lock(&f->lock);
    int n = f->n_children;
    metric_child **sorted = n ? malloc((size_t)n * sizeof *sorted) : NULL;
    if (n && !sorted) {
        pthread_mutex_unlock(&f->lock);
        b->oom = 1;
        return;
    }
    if (n) memcpy(sorted, f->children, (size_t)n * sizeof *sorted);
    if (n > 1) qsort_r(sorted, (size_t)n, sizeof *sorted, child_order, &f->n_labels);

    uint64_t counts[f->n_bounds + 1];
    buf labels;
    buf_init(&labels);
    for (int k = 0; k < n; k++) {
        const metric_child *c = sorted[k];
        buf_reset(&labels);
        put_label_pairs(&labels, f, c);
        switch (f->type) {
        case METRIC_COUNTER:
            put_sample(b, f, "", &labels, NULL, counter_value(c));
            break;
        case METRIC_GAUGE:
            put_sample(b, f, "", &labels, NULL, c->fn ? c->fn(c->fn_ctx) : load_double(&c->gauge));
            break;
        case METRIC_HISTOGRAM: {
            double sum = histogram_read(c, counts);
            uint64_t cumulative = 0;
            for (int i = 0; i <= f->n_bounds; i++) {
                cumulative += counts[i];
                put_sample(b, f, "_bucket", &labels, f->le_text[i], (double)cumulative);
            }
            put_sample(b, f, "_sum", &labels, NULL, sum);
            put_sample(b, f, "_count", &labels, NULL, (double)cumulative);
            break;
        }
        }
    }
    if (labels.oom) b->oom = 1;
    buf_free(&labels);
    pthread_mutex_unlock(&f->lock);
    free(sorted);
}

void metrics_render(metrics_registry *r, buf *out)
{
    if (!r) return;
    pthread_mutex_lock(&r->lock);
    for (int i = 0; i < r->n_families; i++)
        render_family(out, r->families[i]);
    pthread_mutex_unlock(&r->lock);
}

/* ---- registry and registration ------------------------------------------- */

metrics_registry *metrics_new_sharded(int shards)
{
    metrics_registry *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    if (shards < 1) shards = 1;
    if (shards > 64) shards = 64;
    r->shards = 1;
    while (r->shards < shards)
        r->shards <<= 1;
    pthread_mutex_init(&r->lock, NULL);
    return r;
}

/* Four shards: two cores today, room for a few more worker threads; a child
 * costs shards * 64 bytes (counter) or shards * ~192 bytes (latency histogram).
 * bench/metrics_bench.c measures 1 vs 4 shards. */
metrics_registry *metrics_new(void)
{
    return metrics_new_sharded(4);
}

static void family_free(metric_family *f)
{
    if (!f) return;
    for (int i = 0; i < f->n_children; i++)
        free(f->children[i]);
    free(f->children);
    child_table *t = atomic_load_explicit(&f->table, memory_order_relaxed);
    while (t) {
        child_table *older = t->older;
        free(t);
        t = older;
    }
    for (int i = 0; f->label_names && i < f->n_labels; i++)
        free(f->label_names[i]);
    free(f->label_names);
    free(f->bounds);
    free(f->le_text);
    free(f->name);
    free(f->help);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

int metrics_registration_errors(metrics_registry *r)
{
    if (!r) return 0;
    pthread_mutex_lock(&r->lock);
    int n = r->registration_errors;
    pthread_mutex_unlock(&r->lock);
    return n;
}

void metrics_free(metrics_registry *r)
{
    if (!r) return;
    for (int i = 0; i < r->n_families; i++)
        family_free(r->families[i]);
    free(r->families);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

static int valid_name(const char *s, int colon_ok)
{
    if (!s || !*s) return 0;
    for (const char *p = s; *p; p++) {
        char ch = *p;
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
                 (colon_ok && ch == ':') || (p != s && ch >= '0' && ch <= '9');
        if (!ok) return 0;
    }
    return 1;
}

/* Checks everything a family definition can get wrong; fills why on error. */
static int family_check(metrics_registry *r, enum metric_type type, const char *name, int n_labels,
                        const char *const *label_names, const double *bounds, int n_bounds,
                        char *why, size_t whylen)
{
    if (!valid_name(name, 1)) {
        snprintf(why, whylen, "'%s' is not a valid metric name", name ? name : "(null)");
        return 0;
    }
    for (int i = 0; i < r->n_families; i++)
        if (!strcmp(r->families[i]->name, name)) {
            snprintf(why, whylen, "%s is registered twice", name);
            return 0;
        }
    if (n_labels < 0 || (n_labels > 0 && !label_names) || n_labels > METRICS_MAX_LABELS) {
        snprintf(why, whylen, "%s: bad label count %d", name, n_labels);
        return 0;
    }
    for (int i = 0; i < n_labels; i++) {
        const char *l = label_names[i];
        if (!valid_name(l, 0) || !strncmp(l, "__", 2)) {
            snprintf(why, whylen, "%s: '%s' is not a valid label name", name, l ? l : "(null)");
            return 0;
        }
        if (type == METRIC_HISTOGRAM && !strcmp(l, "le")) {
            snprintf(why, whylen, "%s: a histogram cannot have a label named le", name);
            return 0;
        }
        for (int j = 0; j < i; j++)
            if (!strcmp(l, label_names[j])) {
                snprintf(why, whylen, "%s: label %s appears twice", name, l);
                return 0;
            }
    }
    if (type == METRIC_HISTOGRAM) {
        if (n_bounds < 1 || n_bounds > 64) {
            snprintf(why, whylen, "%s: a histogram needs 1..64 buckets, got %d", name, n_bounds);
            return 0;
        }
        for (int i = 0; i < n_bounds; i++)
            if (!isfinite(bounds[i]) || (i && !(bounds[i] > bounds[i - 1]))) {
                snprintf(why, whylen, "%s: buckets must be finite and strictly increasing", name);
                return 0;
            }
    }
    return 1;
}

static metric_family *family_add(metrics_registry *r, enum metric_type type, const char *name,
                                 const char *help, int n_labels, const char *const *label_names,
                                 const double *bounds, int n_bounds)
{
    if (!r) return NULL;
    char why[200];
    metric_family *f = NULL;
    pthread_mutex_lock(&r->lock);
    if (!family_check(r, type, name, n_labels, label_names, bounds, n_bounds, why, sizeof why))
        goto err;
    snprintf(why, sizeof why, "out of memory registering %s", name);
    size_t cap = (size_t)r->cap_families;
    if (array_grow(&r->families, &cap, (size_t)r->n_families + 1, sizeof *r->families, 16))
        goto err;
    r->cap_families = (int)cap;
    if (!(f = calloc(1, sizeof *f))) goto err;
    pthread_mutex_init(&f->lock, NULL);
    f->registry = r;
    f->type = type;
    f->n_labels = n_labels;
    f->name = strdup(name);
    f->help = strdup(help ? help : "");
    f->label_names = calloc((size_t)n_labels + 1, sizeof *f->label_names);
    if (!f->name || !f->help || !f->label_names) goto err;
    for (int i = 0; i < n_labels; i++)
        if (!(f->label_names[i] = strdup(label_names[i]))) goto err;
    if (type == METRIC_HISTOGRAM) {
        if (!(f->bounds = malloc((size_t)n_bounds * sizeof *f->bounds))) goto err;
        memcpy(f->bounds, bounds, (size_t)n_bounds * sizeof *f->bounds);
        f->n_bounds = n_bounds;
        if (!(f->le_text = malloc((size_t)(n_bounds + 1) * sizeof *f->le_text))) goto err;
        for (int i = 0; i <= n_bounds; i++)
            format_number(f->le_text[i], i < n_bounds ? bounds[i] : INFINITY);
    }
    int cells = type == METRIC_HISTOGRAM ? n_bounds + 2 : type == METRIC_COUNTER ? 1 : 0;
    f->stride = (cells + CELLS_PER_LINE - 1) / CELLS_PER_LINE * CELLS_PER_LINE;
    f->shards = type == METRIC_GAUGE ? 1 : r->shards;
    child_table *t = table_new(n_labels ? 16 : 2);
    if (!t) goto err;
    atomic_store_explicit(&f->table, t, memory_order_relaxed);
    if (n_labels == 0) {
        if (!(f->solo = child_alloc(f, NULL, 0)) || !child_publish(f, f->solo)) {
            free(f->solo);
            f->solo = NULL;
            goto err;
        }
    }
    r->families[r->n_families++] = f;
    pthread_mutex_unlock(&r->lock);
    return f;
err:
    r->registration_errors++;
    pthread_mutex_unlock(&r->lock);
    family_free(f);
    log_error("metrics: %s", why);
    return NULL;
}

metric_family *metrics_counter(metrics_registry *r, const char *name, const char *help,
                               int n_labels, const char *const *label_names)
{
    return family_add(r, METRIC_COUNTER, name, help, n_labels, label_names, NULL, 0);
}

metric_family *metrics_gauge(metrics_registry *r, const char *name, const char *help, int n_labels,
                             const char *const *label_names)
{
    return family_add(r, METRIC_GAUGE, name, help, n_labels, label_names, NULL, 0);
}

metric_family *metrics_histogram(metrics_registry *r, const char *name, const char *help,
                                 int n_labels, const char *const *label_names,
                                 const double *buckets, int n_buckets)
{
    if (!buckets) {
        buckets = metrics_latency_buckets;
        n_buckets = metrics_latency_buckets_n;
    }
    return family_add(r, METRIC_HISTOGRAM, name, help, n_labels, label_names, buckets, n_buckets);
}
