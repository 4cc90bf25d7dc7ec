/* config.c - loading a config file: YAML documents through libyaml, a generic
 * walker that fills C structs from field tables (types, ranges, unknown and
 * duplicate keys, each reported with file:line), the error list, and the
 * object's lifetime (reference counted, immutable after load).
 *
 * The schema itself (which keys exist, defaults) is in config_schema.c; the
 * checks that need the whole file (references between sections, derived
 * endpoint URLs) are in validate.c. */
#include "config/config_internal.h"
#include "core/array.h"
#include "core/util.h"
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- error list ------------------------------------------------------------------------ */

void config_errors_init(config_errors *e)
{
    memset(e, 0, sizeof *e);
}

void config_errors_free(config_errors *e)
{
    if (!e) return;
    for (size_t i = 0; i < e->count; i++) {
        free(e->items[i].file);
        free(e->items[i].message);
    }
    free(e->items);
    memset(e, 0, sizeof *e);
}

static void errors_vadd(config_errors *e, const char *file, int line, int column, bool warning,
                        const char *fmt, va_list ap)
{
    if (!e) return;
    if (!warning && e->n_errors >= CFG_MAX_ERRORS) {
        if (e->n_errors++ == CFG_MAX_ERRORS) /* counted, so the load still fails */
            config_errors_add(e, file, line, column, true,
                              "more than %d errors; the rest are not shown", CFG_MAX_ERRORS);
        return;
    }
    if (array_grow(&e->items, &e->cap, e->count + 1, sizeof *e->items, 8)) return;
    char *msg = NULL;
    if (vasprintf(&msg, fmt, ap) < 0) return;
    config_error *it = &e->items[e->count++];
    it->file = strdup(file ? file : "(config)");
    it->line = line;
    it->column = column;
    it->warning = warning;
    it->message = msg;
    if (warning)
        e->n_warnings++;
    else
        e->n_errors++;
}

void config_errors_add(config_errors *e, const char *file, int line, int column, bool warning,
                       const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    errors_vadd(e, file, line, column, warning, fmt, ap);
    va_end(ap);
}

/* Sorted by file (in order of first appearance) then line (unknown lines last), so a user reads the
 * file top to bottom; problems on one line keep the order they were found in. */
static const config_errors *sort_errs;
static size_t file_rank(const char *file)
{
    for (size_t i = 0; i < sort_errs->count; i++)
        if (!strcmp(sort_errs->items[i].file, file)) return i;
    return 0;
}
static int cmp_error_index(const void *a, const void *b)
{
    size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
    const config_error *x = &sort_errs->items[ia], *y = &sort_errs->items[ib];
    size_t fx = file_rank(x->file), fy = file_rank(y->file);
    if (fx != fy) return fx < fy ? -1 : 1;
    if (x->line != y->line) { /* problems without a line (defaults) go last */
        if (!x->line || !y->line) return x->line ? -1 : 1;
        return x->line < y->line ? -1 : 1;
    }
    return ia < ib ? -1 : ia > ib;
}

void config_errors_print(const config_errors *e, FILE *out)
{
    if (!e || !e->count) return;
    size_t *order = malloc(e->count * sizeof *order);
    for (size_t i = 0; i < e->count; i++)
        if (order) order[i] = i;
    if (order) {
        static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER; /* qsort has no context arg */
        pthread_mutex_lock(&lock);
        sort_errs = e;
        qsort(order, e->count, sizeof *order, cmp_error_index);
        pthread_mutex_unlock(&lock);
    }
    for (size_t n = 0; n < e->count; n++) {
        const config_error *it = &e->items[order ? order[n] : n];
        if (it->line > 0)
            fprintf(out, "%s:%d: ", it->file, it->line);
        else
            fprintf(out, "%s: ", it->file);
        fprintf(out, "%s%s\n", it->warning ? "warning: " : "", it->message);
    }
    free(order);
}

/* ---- marks and located problems -------------------------------------------------------- */

void cfg_mark_add(cfg_loader *L, const void *addr, const yaml_node_t *n)
{
    if (!n) return;
    if (array_grow(&L->marks, &L->cap_marks, L->n_marks + 1, sizeof *L->marks, 256)) return;
    L->marks[L->n_marks++] =
        (cfg_mark){addr, (int)n->start_mark.line + 1, (int)n->start_mark.column + 1};
}

static size_t addr_hash(const void *addr, size_t cap)
{
    uint64_t x = (uint64_t)(uintptr_t)addr;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x & (cap - 1);
}

void cfg_marks_index(cfg_loader *L)
{
    free(L->mark_hash);
    L->mark_hash = NULL;
    L->hash_cap = L->n_hashed = 0;
    size_t cap = 64;
    while (cap < L->n_marks * 2)
        cap *= 2;
    size_t *h = malloc(cap * sizeof *h);
    if (!h) return; /* lookups fall back to scanning */
    for (size_t i = 0; i < cap; i++)
        h[i] = SIZE_MAX;
    for (size_t i = 0; i < L->n_marks; i++) {
        size_t j = addr_hash(L->marks[i].addr, cap);
        while (h[j] != SIZE_MAX && L->marks[h[j]].addr != L->marks[i].addr)
            j = (j + 1) & (cap - 1);
        h[j] = i; /* a later mark of the same address replaces the earlier one */
    }
    L->mark_hash = h;
    L->hash_cap = cap;
    L->n_hashed = L->n_marks;
}

static const cfg_mark *mark_find(const cfg_loader *L, const void *addr)
{
    /* Newest first: a re-parsed field (merge keys) reports its last position. */
    for (size_t i = L->n_marks; i-- > L->n_hashed;)
        if (L->marks[i].addr == addr) return &L->marks[i];
    if (!L->mark_hash) return NULL;
    for (size_t j = addr_hash(addr, L->hash_cap); L->mark_hash[j] != SIZE_MAX;
         j = (j + 1) & (L->hash_cap - 1))
        if (L->marks[L->mark_hash[j]].addr == addr) return &L->marks[L->mark_hash[j]];
    return NULL;
}

int cfg_line_of(const cfg_loader *L, const void *addr)
{
    const cfg_mark *m = mark_find(L, addr);
    return m ? m->line : 0;
}

static void vreport_node(cfg_loader *L, const yaml_node_t *n, bool warn, const char *fmt,
                         va_list ap)
{
    int line = n ? (int)n->start_mark.line + 1 : 0, col = n ? (int)n->start_mark.column + 1 : 0;
    errors_vadd(L->errs, L->file, line, col, warn, fmt, ap);
}

void cfg_error_at(cfg_loader *L, const yaml_node_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport_node(L, n, false, fmt, ap);
    va_end(ap);
}

void cfg_warn_at(cfg_loader *L, const yaml_node_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport_node(L, n, true, fmt, ap);
    va_end(ap);
}

static void vreport_addr(cfg_loader *L, const void *addr, bool warn, const char *fmt, va_list ap)
{
    const cfg_mark *m = mark_find(L, addr);
    errors_vadd(L->errs, L->file, m ? m->line : 0, m ? m->column : 0, warn, fmt, ap);
}

void cfg_error_addr(cfg_loader *L, const void *addr, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport_addr(L, addr, false, fmt, ap);
    va_end(ap);
}

void cfg_warn_addr(cfg_loader *L, const void *addr, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport_addr(L, addr, true, fmt, ap);
    va_end(ap);
}

/* ---- YAML nodes ------------------------------------------------------------------------ */

yaml_node_t *cfg_node(cfg_loader *L, int id)
{
    return yaml_document_get_node(L->doc, id);
}

/* A plain scalar spelled as YAML null (or empty) means "not set". */
int cfg_is_null(const yaml_node_t *n)
{
    if (!n) return 1;
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return 0;
    const char *s = (const char *)n->data.scalar.value;
    size_t len = n->data.scalar.length;
    return len == 0 || (len == 1 && s[0] == '~') || !strcmp(s, "null") || !strcmp(s, "Null") ||
           !strcmp(s, "NULL");
}

char *cfg_scalar_dup(const yaml_node_t *n)
{
    return strndup((const char *)n->data.scalar.value, n->data.scalar.length);
}

const char *cfg_node_kind(const yaml_node_t *n)
{
    static __thread char buf[96];
    if (!n) return "nothing";
    switch (n->type) {
    case YAML_MAPPING_NODE:
        return "a mapping";
    case YAML_SEQUENCE_NODE:
        return "a list";
    case YAML_SCALAR_NODE: {
        const char *s = (const char *)n->data.scalar.value;
        size_t len = n->data.scalar.length;
        if (len > 60)
            snprintf(buf, sizeof buf, "'%.57s...'", s);
        else
            snprintf(buf, sizeof buf, "'%s'", s);
        return buf;
    }
    default:
        return "nothing";
    }
}

int cfg_parse_str(cfg_loader *L, yaml_node_t *n, char **out, const char *path)
{
    if (n->type != YAML_SCALAR_NODE) {
        cfg_error_at(L, n, "%s: expected a string, got %s", path, cfg_node_kind(n));
        return -1;
    }
    char *s = cfg_scalar_dup(n);
    if (!s) return cfg_oom(L, n, path), -1;
    free(*out);
    *out = s;
    return 0;
}

void cfg_strlist_free(sr_strlist *l)
{
    for (size_t i = 0; i < l->count; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->count = 0;
}

int cfg_parse_strlist(cfg_loader *L, yaml_node_t *n, sr_strlist *out, const char *path)
{
    cfg_strlist_free(out);
    if (n->type == YAML_SCALAR_NODE) { /* "keywords: urgent" is a one-item list */
        out->items = calloc(1, sizeof *out->items);
        if (!out->items) return cfg_oom(L, n, path), -1;
        out->items[0] = cfg_scalar_dup(n);
        out->count = 1;
        cfg_mark_add(L, &out->items[0], n);
        return 0;
    }
    if (n->type != YAML_SEQUENCE_NODE) {
        cfg_error_at(L, n, "%s: expected a list of strings, got %s", path, cfg_node_kind(n));
        return -1;
    }
    size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    out->items = calloc(cnt ? cnt : 1, sizeof *out->items);
    if (!out->items) return cfg_oom(L, n, path), -1;
    int rc = 0;
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_t *it = cfg_node(L, n->data.sequence.items.start[i]);
        if (cfg_budget(L, it ? it : n)) return -1;
        if (!it || it->type != YAML_SCALAR_NODE) {
            cfg_error_at(L, it ? it : n, "%s[%zu]: expected a string, got %s", path, i,
                         cfg_node_kind(it));
            rc = -1;
            continue;
        }
        cfg_mark_add(L, &out->items[out->count], it);
        out->items[out->count++] = cfg_scalar_dup(it);
    }
    return rc;
}

static int parse_bool(const char *s, bool *out)
{
    static const char *yes[] = {"true", "yes", "on", "y"}, *no[] = {"false", "no", "off", "n"};
    for (size_t i = 0; i < 4; i++) {
        if (!strcasecmp(s, yes[i])) return *out = true, 0;
        if (!strcasecmp(s, no[i])) return *out = false, 0;
    }
    return -1;
}

/* YAML integers: decimal, 0x hex, 0o octal, '_' separators (YAML 1.1, as Go's
 * yaml accepts); an exact float such as 1e3 is accepted too. A leading 0 is
 * decimal, never octal. */
int cfg_parse_bool(cfg_loader *L, yaml_node_t *n, bool *out, const char *path)
{
    if (n->type != YAML_SCALAR_NODE || parse_bool((const char *)n->data.scalar.value, out)) {
        cfg_error_at(L, n, "%s: expected true or false, got %s", path, cfg_node_kind(n));
        return -1;
    }
    return 0;
}

static int parse_integer(const char *s, long long *out)
{
    char clean[64];
    size_t n = 0;
    for (const char *p = s; *p; p++) {
        if (*p == '_') continue;
        if (n + 1 >= sizeof clean) return -1;
        clean[n++] = *p;
    }
    clean[n] = 0;
    if (!n) return -1;
    const char *digits = clean;
    int neg = 0, base = 10;
    if (*digits == '+' || *digits == '-') neg = *digits++ == '-';
    if (digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X'))
        base = 16, digits += 2;
    else if (digits[0] == '0' && digits[1] == 'o')
        base = 8, digits += 2;
    if (!isxdigit((unsigned char)*digits)) return -1;
    errno = 0;
    char *end;
    unsigned long long u = strtoull(digits, &end, base);
    if (!errno && !*end && u <= (unsigned long long)LLONG_MAX) {
        *out = neg ? -(long long)u : (long long)u;
        return 0;
    }
    if (base != 10) return -1;
    double d = strtod(clean, &end);
    if (*end || !isfinite(d) || d != floor(d) || fabs(d) > 9e15) return -1;
    *out = (long long)d;
    return 0;
}

static int parse_double(const char *s, double *out)
{
    if (!*s) return -1;
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (*end || errno == ERANGE || isnan(d)) {
        if (!strcasecmp(s, ".inf") || !strcasecmp(s, "+.inf")) return *out = INFINITY, 0;
        return -1;
    }
    *out = d;
    return 0;
}

/* Reports a value outside the field's range; returns -1 when out of range. */
static int check_range(cfg_loader *L, yaml_node_t *n, const cfg_field *f, double v,
                       const char *path)
{
    bool lo = (f->flags & CFG_MIN) && ((f->flags & CFG_MIN_EXCL) ? !(v > f->min) : v < f->min);
    bool hi = (f->flags & CFG_MAX) && v > f->max;
    if (!lo && !hi) return 0;
    const char *val = (const char *)n->data.scalar.value; /* a number: no quotes */
    if ((f->flags & CFG_MIN) && (f->flags & CFG_MAX))
        cfg_error_at(L, n, "%s must be between %g and %g, got %s", path, f->min, f->max, val);
    else if (f->flags & CFG_MIN_EXCL)
        cfg_error_at(L, n, "%s must be greater than %g, got %s", path, f->min, val);
    else if (lo)
        cfg_error_at(L, n, "%s must be at least %g, got %s", path, f->min, val);
    else
        cfg_error_at(L, n, "%s must be at most %g, got %s", path, f->max, val);
    return -1;
}

static void join_path(char *out, size_t outlen, const char *path, const char *key)
{
    if (path && *path)
        snprintf(out, outlen, "%s.%s", path, key);
    else
        snprintf(out, outlen, "%s", key);
}

/* ---- defaults and freeing, from the rows ---------------------------------------------- */

void cfg_defaults_fields(const cfg_field *t, void *base)
{
    for (const cfg_field *f = t; f->key; f++) {
        void *p = (char *)base + f->off;
        switch (f->type) {
        case FT_STR:
            if (f->def_str && !*(char **)p) *(char **)p = strdup(f->def_str);
            break;
        case FT_INT:
        case FT_ENUM:
        case FT_INDEX:
            *(int *)p = (int)f->def;
            break;
        case FT_LONG:
            *(long *)p = (long)f->def;
            break;
        case FT_SIZE:
            *(size_t *)p = (size_t)f->def;
            break;
        case FT_DOUBLE:
            *(double *)p = f->def;
            break;
        case FT_BOOL:
            *(bool *)p = f->def != 0;
            break;
        case FT_SECTION:
            cfg_defaults_fields(f->sub, p);
            break;
        default: /* lists and maps start empty; items get defaults as they are read */
            break;
        }
    }
}

static void free_row(const cfg_field *f, void *base)
{
    void *p = (char *)base + f->off;
    switch (f->type) {
    case FT_STR:
        free(*(char **)p);
        *(char **)p = NULL;
        break;
    case FT_STRLIST:
        cfg_strlist_free((sr_strlist *)p);
        break;
    case FT_SECTION:
        cfg_free_fields(f->sub, p);
        break;
    case FT_OWNED:
        if (f->sub && *(void **)p) cfg_free_fields(f->sub, *(void **)p);
        free(*(void **)p);
        *(void **)p = NULL;
        break;
    case FT_LIST:
    case FT_MAP: {
        char *items = *(char **)p;
        size_t *count = (size_t *)((char *)base + f->count_off);
        for (size_t i = 0; items && i < *count; i++) {
            cfg_free_fields(f->sub, items + i * f->item_size);
            if (f->type == FT_MAP) free(*(char **)(items + i * f->item_size + f->name_off));
        }
        free(items);
        *(char **)p = NULL;
        *count = 0;
        break;
    }
    default:
        break;
    }
}

void cfg_free_fields(const cfg_field *t, void *base)
{
    for (const cfg_field *f = t; f->key; f++)
        free_row(f, base);
}

void cfg_oom(cfg_loader *L, const yaml_node_t *at, const char *path)
{
    cfg_error_at(L, at, "%s: out of memory", path && *path ? path : "config");
}

/* One list or map item: defaults, marks, hooks, its keys, then the required ones. */
static void parse_item(cfg_loader *L, const cfg_field *f, void *item, yaml_node_t *at,
                       yaml_node_t *map, const char *path)
{
    uint64_t seen = 0;
    if (f->pre) f->pre(L, item, map, &seen, path);
    if (map) seen |= cfg_walk(L, map, f->sub, item, path);
    if (f->post) f->post(L, item, map, &seen, path);
    for (int i = 0; f->sub[i].key; i++) {
        const cfg_field *r = &f->sub[i];
        if (!(r->flags & CFG_REQUIRED)) continue;
        bool empty = r->type == FT_STR && (r->flags & CFG_NONEMPTY) &&
                     (!*(char **)((char *)item + r->off) || !**(char **)((char *)item + r->off));
        if (((seen >> i) & 1u) && !empty) continue;
        cfg_error_at(L, at, "%s: missing '%s'%s%s%s", path, r->key, r->hint ? " (" : "",
                     r->hint ? r->hint : "", r->hint ? ")" : "");
    }
}

/* FT_LIST / FT_MAP: sizes the array once (addresses stay stable for the marks), walks
 * each item with the row's item table. An earlier value (merge keys) is replaced. */
static int parse_items(cfg_loader *L, const cfg_field *f, yaml_node_t *v, void *base,
                       const char *path)
{
    char **arr = (char **)((char *)base + f->off);
    size_t *count = (size_t *)((char *)base + f->count_off);
    free_row(f, base);
    if (cfg_is_null(v)) return 1;
    bool map = f->type == FT_MAP;
    if (v->type != (map ? YAML_MAPPING_NODE : YAML_SEQUENCE_NODE)) {
        cfg_error_at(L, v, "%s: expected %s, got %s", path, f->what, cfg_node_kind(v));
        return 0;
    }
    size_t n = map ? (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start)
                   : (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    *arr = calloc(n ? n : 1, f->item_size);
    if (!*arr) {
        cfg_oom(L, v, path);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *k = NULL, *it;
        if (map) {
            k = cfg_node(L, v->data.mapping.pairs.start[i].key);
            it = cfg_node(L, v->data.mapping.pairs.start[i].value);
        } else
            it = cfg_node(L, v->data.sequence.items.start[i]);
        if (cfg_budget(L, k ? k : it ? it : v)) break;
        char p[300];
        if (map) {
            if (!k || k->type != YAML_SCALAR_NODE) {
                cfg_error_at(L, k, "%s: names must be strings, got %s", path, cfg_node_kind(k));
                continue;
            }
            snprintf(p, sizeof p, "%.200s.%.90s", path, (const char *)k->data.scalar.value);
        } else
            snprintf(p, sizeof p, "%.200s[%zu]", path, i);
        bool null_ok = map && (f->flags & CFG_NULL_ITEM) && cfg_is_null(it);
        if (!null_ok && (!it || it->type != YAML_MAPPING_NODE)) {
            cfg_error_at(L, it && !cfg_is_null(it) ? it : (k ? k : it), "%s: expected %s, got %s",
                         p, f->item, cfg_node_kind(it));
            continue;
        }
        char *item = *arr + *count * f->item_size;
        (*count)++;
        cfg_defaults_fields(f->sub, item);
        cfg_mark_add(L, item, map ? k : it);
        if (map) {
            char **name = (char **)(item + f->name_off);
            *name = cfg_scalar_dup(k);
            if (!*name) cfg_oom(L, k, p);
            cfg_mark_add(L, name, k);
        }
        parse_item(L, f, item, map ? k : it, null_ok ? NULL : it, p);
    }
    return 1;
}

static void parse_field(cfg_loader *L, const cfg_field *f, yaml_node_t *k, yaml_node_t *v,
                        void *base, const char *path)
{
    void *p = (char *)base + f->off;
    const char *s = v && v->type == YAML_SCALAR_NODE ? (const char *)v->data.scalar.value : NULL;
    if (f->type == FT_IGNORE) {
        cfg_warn_at(L, k, "%s is not used by semrouter; ignored%s%s", path, f->doc ? ": " : "",
                    f->doc ? f->doc : "");
        return;
    }
    /* Sections are not marked: a section at offset 0 shares its address with the
     * enclosing struct's first field, whose line must stay its own. */
    if (f->type != FT_SECTION || f->off != 0) cfg_mark_add(L, p, k);
    if (cfg_is_null(v) && f->type != FT_LIST && f->type != FT_MAP && f->type != FT_SECTION)
        return; /* keep default */
    int ok = 0;
    switch (f->type) {
    case FT_STR:
        ok = cfg_parse_str(L, v, (char **)p, path) == 0;
        break;
    case FT_STRLIST:
        ok = cfg_parse_strlist(L, v, (sr_strlist *)p, path) == 0;
        break;
    case FT_BOOL: {
        bool b;
        if (!s || parse_bool(s, &b)) {
            cfg_error_at(L, v, "%s: expected true or false, got %s", path, cfg_node_kind(v));
            break;
        }
        *(bool *)p = b;
        ok = 1;
        break;
    }
    case FT_INT:
    case FT_LONG:
    case FT_SIZE: {
        long long x;
        if (!s || parse_integer(s, &x)) {
            cfg_error_at(L, v, "%s: expected an integer, got %s", path, cfg_node_kind(v));
            break;
        }
        if (check_range(L, v, f, (double)x, path)) break;
        if (f->type == FT_INT) {
            if (x < INT_MIN || x > INT_MAX) {
                cfg_error_at(L, v, "%s: %s is too large", path, cfg_node_kind(v));
                break;
            }
            *(int *)p = (int)x;
        } else if (f->type == FT_LONG)
            *(long *)p = (long)x;
        else {
            if (x < 0) {
                cfg_error_at(L, v, "%s must be at least 0, got %s", path, cfg_node_kind(v));
                break;
            }
            *(size_t *)p = (size_t)x;
        }
        ok = 1;
        break;
    }
    case FT_DOUBLE: {
        double d;
        if (!s || parse_double(s, &d)) {
            cfg_error_at(L, v, "%s: expected a number, got %s", path, cfg_node_kind(v));
            break;
        }
        if (check_range(L, v, f, d, path)) break;
        *(double *)p = d;
        ok = 1;
        break;
    }
    case FT_ENUM: {
        if (!s) {
            cfg_error_at(L, v, "%s: expected a string, got %s", path, cfg_node_kind(v));
            break;
        }
        if (!*s && (f->flags & CFG_EMPTY_OK)) break;
        int found = -1;
        for (int i = 0; f->names[i]; i++)
            if (!strcasecmp(s, f->names[i])) found = i;
        if (found < 0) {
            char list[256] = "";
            for (int i = 0; f->names[i]; i++) {
                size_t len = strlen(list);
                snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", f->names[i]);
            }
            cfg_error_at(L, v, "%s: unknown value %s (expected one of: %s)", path, cfg_node_kind(v),
                         list);
            break;
        }
        *(int *)p = found;
        ok = 1;
        break;
    }
    case FT_SECTION:
        if (cfg_is_null(v)) {
            ok = 1; /* "section:" with nothing under it: all defaults */
            break;
        }
        if (v->type != YAML_MAPPING_NODE) {
            cfg_error_at(L, v, "%s: expected a mapping, got %s", path, cfg_node_kind(v));
            break;
        }
        cfg_walk(L, v, f->sub, p, path);
        ok = 1;
        break;
    case FT_LIST:
    case FT_MAP:
        ok = parse_items(L, f, v, base, path);
        break;
    case FT_IGNORE:
    case FT_OWNED:
    case FT_INDEX:
        break;
    }
    if (ok && f->set_off >= 0) *(bool *)((char *)base + f->set_off) = true;
}

/* Rows that are not keys of the file (derived at load). */
static int is_key_row(const cfg_field *f)
{
    return f->type != FT_OWNED && f->type != FT_INDEX;
}

int cfg_budget(cfg_loader *L, const yaml_node_t *at)
{
    if (++L->values_walked <= CFG_MAX_VALUES) return 0;
    if (!L->limit_reported) {
        cfg_error_at(L, at,
                     "the file expands to more than %d values (aliases or merge keys?); "
                     "giving up here",
                     CFG_MAX_VALUES);
        L->limit_reported = true;
    }
    return -1;
}

int cfg_field_index(const cfg_field *fields, const char *key)
{
    for (int i = 0; fields[i].key; i++)
        if (!strcmp(fields[i].key, key)) return i;
    return 63; /* a bit never set */
}

static void report_unknown(cfg_loader *L, yaml_node_t *k, const cfg_field *fields, const char *path)
{
    const char *key = (const char *)k->data.scalar.value;
    const char *best = NULL;
    int best_d = INT_MAX;
    for (int i = 0; fields[i].key; i++) {
        if (!is_key_row(&fields[i])) continue;
        int d = cfg_edit_distance(key, fields[i].key);
        if (d < best_d) best_d = d, best = fields[i].key;
    }
    int limit = (int)strlen(key) / 3;
    if (limit < 2) limit = 2;
    char where[300];
    if (path && *path)
        snprintf(where, sizeof where, "in %s", path);
    else
        snprintf(where, sizeof where, "at the top level");
    const char *home = cfg_key_home(key);
    if (best && best_d <= limit)
        cfg_error_at(L, k, "unknown key '%s' %s; did you mean '%s'?", key, where, best);
    else if (home && strcmp(home, path ? path : ""))
        cfg_error_at(L, k, "unknown key '%s' %s; it belongs in %s", key, where, home);
    else
        cfg_error_at(L, k, "unknown key '%s' %s", key, where);
}

uint64_t cfg_walk(cfg_loader *L, yaml_node_t *map, const cfg_field *fields, void *base,
                  const char *path)
{
    uint64_t seen = 0, explicit_seen = 0;
    yaml_node_pair_t *start = map->data.mapping.pairs.start, *top = map->data.mapping.pairs.top;
    /* Merge keys (<<: *anchor) first, so the mapping's own keys override them. */
    for (yaml_node_pair_t *pr = start; pr < top; pr++) {
        yaml_node_t *k = cfg_node(L, pr->key), *v = cfg_node(L, pr->value);
        if (!k || k->type != YAML_SCALAR_NODE || strcmp((char *)k->data.scalar.value, "<<"))
            continue;
        if (L->merge_depth >= CFG_MAX_MERGE_DEPTH) {
            /* An anchor may contain an alias to itself: stop instead of recursing forever. */
            cfg_error_at(L, k, "%s: merge keys nested more than %d deep (a cycle?)",
                         path && *path ? path : "top level", CFG_MAX_MERGE_DEPTH);
            continue;
        }
        L->merge_depth++;
        if (v && v->type == YAML_MAPPING_NODE) {
            seen |= cfg_walk(L, v, fields, base, path);
        } else if (v && v->type == YAML_SEQUENCE_NODE) {
            for (yaml_node_item_t *it = v->data.sequence.items.start;
                 it < v->data.sequence.items.top; it++) {
                yaml_node_t *m = cfg_node(L, *it);
                if (m && m->type == YAML_MAPPING_NODE)
                    seen |= cfg_walk(L, m, fields, base, path);
                else
                    cfg_error_at(L, m, "%s: a merge key needs mappings", path);
            }
        } else
            cfg_error_at(L, v, "%s: a merge key needs a mapping", path);
        L->merge_depth--;
    }
    for (yaml_node_pair_t *pr = start; pr < top; pr++) {
        yaml_node_t *k = cfg_node(L, pr->key), *v = cfg_node(L, pr->value);
        if (!k || k->type != YAML_SCALAR_NODE) {
            cfg_error_at(L, k, "%s: keys must be plain strings, got %s",
                         path && *path ? path : "top level", cfg_node_kind(k));
            continue;
        }
        const char *key = (const char *)k->data.scalar.value;
        if (!strcmp(key, "<<")) continue;
        if (cfg_budget(L, k)) break;
        int idx = -1;
        for (int i = 0; fields[i].key; i++)
            if (is_key_row(&fields[i]) && !strcmp(fields[i].key, key)) idx = i;
        if (idx < 0) {
            report_unknown(L, k, fields, path);
            continue;
        }
        char full[300];
        join_path(full, sizeof full, path, key);
        /* Duplicate keys: YAML forbids them and Go's yaml.v3 rejects them. Only
         * known keys can be duplicates here (unknown ones are errors anyway), so
         * a bitmask finds them in O(1); the scan for the first line is rare. */
        if ((explicit_seen >> idx) & 1u) {
            int first = 0;
            for (yaml_node_pair_t *q = start; q < pr && !first; q++) {
                yaml_node_t *qk = cfg_node(L, q->key);
                if (qk && qk->type == YAML_SCALAR_NODE &&
                    !strcmp((char *)qk->data.scalar.value, key))
                    first = (int)qk->start_mark.line + 1;
            }
            cfg_error_at(L, k, "duplicate key '%s' (first defined at line %d)", full, first);
            continue;
        }
        explicit_seen |= (uint64_t)1 << idx;
        parse_field(L, &fields[idx], k, v, base, full);
        seen |= (uint64_t)1 << idx;
    }
    return seen;
}

/* Levenshtein distance, case-insensitive; keys are short. */
int cfg_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64) return INT_MAX / 2;
    int row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int prev = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int cur = row[j];
            int cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            int best = prev + cost;
            if (row[j] + 1 < best) best = row[j] + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            prev = cur;
        }
    }
    return row[lb];
}

/* ---- documents ------------------------------------------------------------------------- */

/* Reports the parser's error as one sentence at its line. Reader errors (bad
 * UTF-8) only carry a byte offset, so the line is counted from the text. */
static void report_parser_error(cfg_loader *L, const char *name, const yaml_parser_t *parser,
                                const char *text, size_t len)
{
    if (parser->error == YAML_READER_ERROR) {
        size_t off = parser->problem_offset < len ? parser->problem_offset : len;
        int line = 1;
        for (size_t i = 0; i < off; i++)
            line += text[i] == '\n';
        config_errors_add(L->errs, name, line, 0, false,
                          "the file is not valid UTF-8 text (%s, byte 0x%02x at offset %zu)",
                          parser->problem ? parser->problem : "invalid byte",
                          off < len ? (unsigned char)text[off] : 0, off);
        return;
    }
    int line = (int)parser->problem_mark.line + 1, col = (int)parser->problem_mark.column + 1;
    char ctx[160] = "";
    if (parser->context)
        snprintf(ctx, sizeof ctx, " (%s at line %d)", parser->context,
                 (int)parser->context_mark.line + 1);
    size_t at = parser->problem_mark.index;
    const char *hint = at < len && text[at] == '\t' ? "; YAML indents with spaces, not tabs" : "";
    config_errors_add(L->errs, name, line, col, false, "YAML syntax error: %s%s%s",
                      parser->problem ? parser->problem : "invalid document", ctx, hint);
}

int cfg_load_document(cfg_loader *L, const char *name, const char *text, size_t len,
                      yaml_document_t *doc)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        config_errors_add(L->errs, name, 0, 0, false, "out of memory");
        return -1;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, doc)) {
        report_parser_error(L, name, &parser, text, len);
        yaml_parser_delete(&parser);
        return -1;
    }
    /* A second document in the file would be silently ignored; say so instead. */
    yaml_document_t extra;
    int rc = 0;
    if (yaml_parser_load(&parser, &extra)) {
        yaml_node_t *r = yaml_document_get_root_node(&extra);
        if (r) {
            config_errors_add(L->errs, name, (int)r->start_mark.line + 1, 0, false,
                              "the file holds more than one YAML document; put everything "
                              "in one");
            rc = -1;
        }
        yaml_document_delete(&extra);
    } else {
        report_parser_error(L, name, &parser, text, len);
        rc = -1;
    }
    if (rc) yaml_document_delete(doc);
    yaml_parser_delete(&parser);
    return rc;
}

/* ---- lifetime -------------------------------------------------------------------------- */

sr_config *config_retain(sr_config *c)
{
    if (c) atomic_fetch_add_explicit(&c->refcount, 1, memory_order_relaxed);
    return c;
}

void config_release(sr_config *c)
{
    if (!c) return;
    if (atomic_fetch_sub_explicit(&c->refcount, 1, memory_order_acq_rel) == 1)
        cfg_config_destroy(c);
}

void config_free(sr_config *c)
{
    config_release(c);
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return strdup(".");
    if (slash == path) return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

static sr_config *load_text(const char *name, const char *text, size_t len, const char *dir,
                            config_errors *errs)
{
    config_errors local;
    config_errors_init(&local);
    if (!errs) errs = &local;
    size_t errors_before = errs->n_errors;

    sr_config *c = calloc(1, sizeof *c);
    if (!c) {
        config_errors_add(errs, name, 0, 0, false, "out of memory");
        config_errors_free(&local);
        return NULL;
    }
    c->refcount = 1;
    c->path = strdup(name);
    c->config_dir = strdup(dir);
    cfg_defaults(c);

    cfg_loader L = {.errs = errs, .file = c->path, .cfg = c, .legacy_use_reasoning = -1};
    yaml_document_t doc;
    if (cfg_load_document(&L, name, text, len, &doc) == 0) {
        L.doc = &doc;
        yaml_node_t *root = yaml_document_get_root_node(&doc);
        if (root && !cfg_is_null(root) && root->type != YAML_MAPPING_NODE)
            cfg_error_at(&L, root, "the top level must be a mapping of sections, got %s",
                         cfg_node_kind(root));
        else if (root && root->type == YAML_MAPPING_NODE)
            cfg_parse_root(&L, root);
        cfg_validate(&L);
        L.doc = NULL;
        yaml_document_delete(&doc);
    }
    free(L.marks);
    free(L.mark_hash);
    int failed = errs->n_errors > errors_before;
    config_errors_free(&local);
    if (failed) {
        cfg_config_destroy(c);
        return NULL;
    }
    return c;
}

sr_config *config_load_string(const char *yaml, const char *name, config_errors *errs)
{
    return load_text(name ? name : "(string)", yaml ? yaml : "", yaml ? strlen(yaml) : 0, ".",
                     errs);
}

sr_config *config_load(const char *path, config_errors *errs)
{
    char err[512];
    size_t len = 0;
    char *text = util_read_file(path, &len, err, sizeof err);
    if (!text) {
        config_errors_add(errs, path, 0, 0, false, "cannot read the config file: %s", err);
        return NULL;
    }
    char *dir = dir_of(path);
    sr_config *c = load_text(path, text, len, dir ? dir : ".", errs);
    free(dir);
    free(text);
    return c;
}

/* ---- lookups --------------------------------------------------------------------------- */

int config_find_model(const sr_config *c, const char *name)
{
    for (size_t i = 0; name && i < c->n_models; i++)
        if (c->models[i].name && !strcmp(c->models[i].name, name)) return (int)i;
    return -1;
}

int config_find_endpoint(const sr_config *c, const char *name)
{
    for (size_t i = 0; name && i < c->n_endpoints; i++)
        if (c->endpoints[i].name && !strcmp(c->endpoints[i].name, name)) return (int)i;
    return -1;
}

int config_find_category(const sr_config *c, const char *name)
{
    for (size_t i = 0; name && i < c->n_categories; i++)
        if (c->categories[i].name && !strcmp(c->categories[i].name, name)) return (int)i;
    return -1;
}

int config_find_reasoning_family(const sr_config *c, const char *name)
{
    for (size_t i = 0; name && i < c->n_reasoning_families; i++)
        if (c->reasoning_families[i].name && !strcmp(c->reasoning_families[i].name, name))
            return (int)i;
    return -1;
}

int config_is_auto_model(const sr_config *c, const char *name)
{
    if (!name) return 0;
    return !strcmp(name, "auto") || (c->auto_model_name && !strcmp(name, c->auto_model_name));
}

static char install_prefix[4096];

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static void find_install_prefix(void)
{
    const char *env = getenv("SEMROUTER_HOME");
    if (env && *env) {
        snprintf(install_prefix, sizeof install_prefix, "%s", env);
        return;
    }
    char exe[2048], probe[4200];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return;
    exe[n] = 0;
    for (int up = 0; up < 4; up++) {
        char *slash = strrchr(exe, '/');
        if (!slash || slash == exe) return;
        *slash = 0; /* exe is now a folder: the binary's, then its parents */
        snprintf(probe, sizeof probe, "%s/data/route", exe);
        if (is_dir(probe)) {
            snprintf(install_prefix, sizeof install_prefix, "%s", exe);
            return;
        }
        snprintf(probe, sizeof probe, "%s/share/semrouter/data/route", exe);
        if (is_dir(probe)) {
            snprintf(install_prefix, sizeof install_prefix, "%s/share/semrouter", exe);
            return;
        }
    }
}

const char *config_install_prefix(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, find_install_prefix);
    return install_prefix;
}

char *config_resolve_path(const sr_config *c, const char *path, char *out, size_t outlen)
{
    struct stat st;
    if (!path) path = "";
    const char *dir = c && c->config_dir ? c->config_dir : ".";
    const char *prefix = config_install_prefix();
    if (path[0] == '/' || !path[0]) {
        snprintf(out, outlen, "%s", path);
        return out;
    }
    /* 1. the config file's folder */
    if (!strcmp(dir, "."))
        snprintf(out, outlen, "%s", path);
    else
        snprintf(out, outlen, "%s/%s", dir, path);
    if (stat(out, &st) == 0) return out;
    /* 2. the install prefix (the repo root for build/semrouter) */
    if (*prefix) {
        snprintf(out, outlen, "%s/%s", prefix, path);
        if (stat(out, &st) == 0) return out;
    }
    /* 3. the working directory (how older setups ran from the repo root) */
    if (stat(path, &st) == 0) {
        snprintf(out, outlen, "%s", path);
        return out;
    }
    /* nothing exists (a file still to be created): next to the config file */
    if (!strcmp(dir, "."))
        snprintf(out, outlen, "%s", path);
    else
        snprintf(out, outlen, "%s/%s", dir, path);
    return out;
}
