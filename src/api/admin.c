/* admin.c - the management API: cache operations and reload over HTTP (see admin.h).
 *
 * Who may do what is decided once per request by auth_management (auth.h); this file only
 * maps the caller to the cache tenant it may touch. A tenant key reaches exactly its own
 * entries: naming another tenant is a 403, an entry id of another tenant is a 404 like an id
 * that does not exist (so ids cannot be probed). The memory cache is worked on directly; a
 * backend with an admin op (milvus, hybrid: backend.h) is asked on the request's loop and
 * the answer is sent when it calls back (the worker never waits on the network). */
#include "api/admin.h"
#include "api/auth.h"
#include "cache/backend.h"
#include "core/buf.h"
#include "core/codec.h"
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENTRIES_PREFIX "/api/v1/cache/entries/"

int admin_owns(const char *path)
{
    return !strcmp(path, "/api/v1/cache/stats") || !strcmp(path, "/api/v1/cache/export") ||
           !strcmp(path, "/api/v1/cache/clear") || !strncmp(path, ENTRIES_PREFIX, strlen(ENTRIES_PREFIX)) ||
           !strcmp(path, "/api/v1/reload");
}

/* The percent-decoded value of name in a query string into out; 1 when present, 0 when
 * absent, -1 when it does not fit or is malformed. */
static int query_param(const char *q, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    for (const char *p = q; p && *p;) {
        const char *end = strchr(p, '&');
        size_t seg = end ? (size_t)(end - p) : strlen(p);
        if (seg > nl && !strncmp(p, name, nl) && p[nl] == '=') {
            size_t o = 0;
            for (size_t i = nl + 1; i < seg; i++) {
                int ch = (unsigned char)p[i];
                if (ch == '+') ch = ' ';
                else if (ch == '%') {
                    int hi = i + 2 < seg ? codec_hex_value((unsigned char)p[i + 1]) : -1,
                        lo = i + 2 < seg ? codec_hex_value((unsigned char)p[i + 2]) : -1;
                    if (hi < 0 || lo < 0) return -1;
                    ch = hi << 4 | lo;
                    i += 2;
                }
                if (ch == 0 || o + 1 >= outlen) return -1;
                out[o++] = (char)ch;
            }
            out[o] = 0;
            return 1;
        }
        p = end ? end + 1 : NULL;
    }
    return 0;
}

static void respond_buf(http_request *req, int status, const char *ctype, buf *b)
{
    if (b->oom) http_respond_error(req, 500, "Out of memory while writing the answer.", NULL, "out_of_memory");
    else http_respond(req, status, ctype, b->data ? b->data : "", b->len);
}

/* The tenant a cache route works on: *target = NULL means every tenant (admins only).
 * Returns 0, or the status after answering the request. */
static int cache_target(http_request *req, const sr_config *cfg, const char *path, int need_named,
                        char *name, size_t namelen, const char **target)
{
    const char *caller;
    int denied = 0;
    auth_level lv = auth_management(req, cfg, 0, &caller, &denied);
    if (lv == AUTH_DENIED) return denied;
    const char *q = http_request_query(req);
    int has = query_param(q, "tenant", name, namelen);
    char all[8] = "";
    int want_all = query_param(q, "all", all, sizeof all) == 1 && !strcmp(all, "true");
    if (has < 0) {
        http_respond_error(req, 400, "The tenant parameter is malformed or longer than 255 bytes.", "tenant",
                           "invalid_value");
        return 400;
    }
    if (cfg->semantic_cache.scope == SR_CACHE_SCOPE_GLOBAL) {
        /* one shared namespace: every entry belongs to everybody */
        if (lv != AUTH_ADMIN) {
            http_respond_error(req, 403,
                               "The cache entries are shared by every tenant (semantic_cache.scope: global): only "
                               "an admin key may manage them.",
                               NULL, "insufficient_permissions");
            return 403;
        }
        *target = "";
        return 0;
    }
    if (lv == AUTH_TENANT) {
        if ((has == 1 && strcmp(name, caller)) || want_all) {
            http_respond_error(req, 403, "A tenant key manages only its own tenant's cache entries.", "tenant",
                               "insufficient_permissions");
            return 403;
        }
        *target = caller;
        return 0;
    }
    if (has == 1) *target = name;
    else if (want_all || !need_named) *target = NULL;
    else {
        char msg[256];
        snprintf(msg, sizeof msg, "%s needs ?tenant=NAME, or all=true for every tenant.", path);
        http_respond_error(req, 400, msg, "tenant", "missing_required_parameter");
        return 400;
    }
    return 0;
}

/* Live entries of tenant (NULL = all), counted by walking them as an export would. */
static long long count_entries(cache *c, const char *tenant)
{
    FILE *f = fopen("/dev/null", "w");
    if (!f) return -1;
    char err[128];
    long long n = cache_export(c, tenant, f, err, sizeof err);
    fclose(f);
    return n;
}

/* ------------------------------------------------------------------ a backend's admin op */

/* One management request handed to the backend's admin op; freed once answered. */
typedef struct admin_call {
    http_request *req;
    gateway *gw;
    cache_admin_op op;
    const char *backend; /* the backend's name (static) */
    char tenant[256];
    int has_tenant; /* 0 = every tenant */
    char id[65];
    char counted_path[64];
} admin_call;

static void put_tenant(buf *b, const admin_call *a)
{
    if (a->has_tenant) buf_json_str(b, a->tenant, strlen(a->tenant));
    else buf_puts(b, "null");
}

static const char *const admin_verbs[] = {"count", "export", "delete of the entry", "clear"};

static void on_admin_done(void *arg, const cache_admin_result *r)
{
    admin_call *a = arg;
    http_request *req = a->req;
    int st;
    buf b;
    buf_init(&b);
    if (r->status != CACHE_STATUS_OK) {
        char msg[900];
        snprintf(msg, sizeof msg, "%s.", r->err ? r->err : "The cache backend failed");
        log_warn("[cache_backend_unavailable] cache: %s through the management API (%s backend, %s): %s",
                 admin_verbs[a->op], a->backend, a->has_tenant ? "one tenant" : "all tenants", msg);
        http_add_header(req, "Retry-After", "1");
        http_respond_error(req, 503, msg, NULL, "cache_backend_unavailable");
        st = 503;
    } else if (a->op == CACHE_ADMIN_COUNT) {
        buf_printf(&b, "{\"object\":\"semrouter.cache_stats\",\"backend\":\"%s\",\"tenant\":", a->backend);
        put_tenant(&b, a);
        buf_printf(&b, ",\"entries\":%lld}", r->n);
        http_add_header(req, "Cache-Control", "no-store");
        respond_buf(req, st = 200, "application/json", &b);
    } else if (a->op == CACHE_ADMIN_CLEAR) {
        buf_printf(&b, "{\"object\":\"semrouter.cache_clear\",\"cleared\":%lld,\"tenant\":", r->n);
        put_tenant(&b, a);
        buf_putc(&b, '}');
        respond_buf(req, st = 200, "application/json", &b);
        log_info("cache: %lld entries cleared through the management API (%s backend, %s)", r->n, a->backend,
                 a->has_tenant ? "one tenant" : "all tenants");
    } else if (a->op == CACHE_ADMIN_EVICT) {
        if (r->n == 0) {
            http_respond_error(req, 404, "No such cache entry.", NULL, "entry_not_found");
            st = 404;
        } else {
            buf_puts(&b, "{\"object\":\"semrouter.cache_entry\",\"id\":");
            buf_json_str(&b, a->id, strlen(a->id));
            buf_puts(&b, ",\"deleted\":true}");
            log_info("cache: entry %.16s... deleted through the management API (%s backend)", a->id, a->backend);
            respond_buf(req, st = 200, "application/json", &b);
        }
    } else { /* LIST */
        char cnt[32];
        snprintf(cnt, sizeof cnt, "%lld", r->n);
        http_add_header(req, "x-semrouter-entries", cnt);
        if (r->truncated) { /* the backend could not list them all (milvus: its query window) */
            http_add_header(req, "x-semrouter-truncated", "true");
            if (r->total >= 0) {
                snprintf(cnt, sizeof cnt, "%lld", r->total);
                http_add_header(req, "x-semrouter-entries-total", cnt);
            }
        }
        http_add_header(req, "Cache-Control", "no-store");
        http_respond(req, st = 200, "application/x-ndjson", r->lines ? r->lines : "", r->len);
    }
    buf_free(&b);
    char s[8];
    snprintf(s, sizeof s, "%d", st);
    metrics_inc(a->gw->metrics->http_requests, METRICS_LABELS(a->counted_path, s));
    free(a);
}

/* Hands the route to the backend's admin op: 0 (answered and counted when it calls back,
 * maybe before this returns), or the status of an answer sent now. */
static int backend_admin(http_request *req, gateway *gw, cache_admin_op op, const char *tenant, const char *id,
                         const char *counted_path)
{
    unsigned char raw[32];
    if (op == CACHE_ADMIN_EVICT && codec_hex_decode_exact(id, 32, raw)) {
        http_respond_error(req, 400, "An entry id is the 64 hex digits of its exact_key (see the export).", NULL,
                           "invalid_value");
        return 400;
    }
    admin_call *a = calloc(1, sizeof *a);
    if (!a) {
        http_respond_error(req, 500, "Out of memory.", NULL, "out_of_memory");
        return 500;
    }
    a->req = req;
    a->gw = gw;
    a->op = op;
    a->backend = gw->backend->ops->name;
    if (tenant) {
        snprintf(a->tenant, sizeof a->tenant, "%s", tenant); /* cache_target keeps it under 256 bytes */
        a->has_tenant = 1;
    }
    if (op == CACHE_ADMIN_EVICT) codec_hex_encode(raw, 32, a->id);
    snprintf(a->counted_path, sizeof a->counted_path, "%s", counted_path);
    gw->backend->ops->admin(gw->backend, http_request_base(req), op, a->has_tenant ? a->tenant : NULL,
                            op == CACHE_ADMIN_EVICT ? a->id : NULL, on_admin_done, a);
    return 0;
}

static int handle_cache(http_request *req, gateway *gw, const sr_config *cfg, const char *path,
                        const char *method, const char *counted_path)
{
    int is_get = !strcmp(method, "GET"), is_post = !strcmp(method, "POST"), is_del = !strcmp(method, "DELETE");
    int entries = !strncmp(path, ENTRIES_PREFIX, strlen(ENTRIES_PREFIX));
    int clear = !strcmp(path, "/api/v1/cache/clear"), export = !strcmp(path, "/api/v1/cache/export");
    const char *allow = entries ? "DELETE" : clear ? "POST" : "GET";
    if ((entries && !is_del) || (clear && !is_post) || (!entries && !clear && !is_get)) {
        http_add_header(req, "Allow", allow);
        http_respond_error(req, 405, "Method not allowed for this URL.", NULL, "method_not_allowed");
        return 405;
    }
    char name[256];
    const char *tenant = NULL;
    int st = cache_target(req, cfg, path, clear, name, sizeof name, &tenant);
    if (st) return st;
    if (!gw->cache && gw->backend && gw->backend->ops->admin) {
        cache_admin_op op = entries ? CACHE_ADMIN_EVICT : clear ? CACHE_ADMIN_CLEAR
                            : export ? CACHE_ADMIN_LIST : CACHE_ADMIN_COUNT;
        return backend_admin(req, gw, op, tenant, entries ? path + strlen(ENTRIES_PREFIX) : NULL, counted_path);
    }
    if (!gw->cache) {
        http_respond_error(req, 501,
                           gw->backend ? "This cache backend has no management operations."
                                       : "The semantic cache is off (semantic_cache.enabled).",
                           NULL, "cache_not_available");
        return 501;
    }
    buf b;
    buf_init(&b);
    if (entries) {
        const char *id = path + strlen(ENTRIES_PREFIX);
        int rc = cache_delete(gw->cache, tenant, id);
        if (rc < 0) {
            http_respond_error(req, 400, "An entry id is the 64 hex digits of its exact_key (see the export).",
                               NULL, "invalid_value");
            st = 400;
        } else if (rc == 0) {
            http_respond_error(req, 404, "No such cache entry.", NULL, "entry_not_found");
            st = 404;
        } else {
            buf_puts(&b, "{\"object\":\"semrouter.cache_entry\",\"id\":");
            buf_json_str(&b, id, strlen(id));
            buf_puts(&b, ",\"deleted\":true}");
            log_info("cache: entry %.16s... deleted through the management API", id); /* id dies with req */
            respond_buf(req, st = 200, "application/json", &b);
        }
    } else if (clear) {
        size_t n = cache_clear(gw->cache, tenant);
        buf_printf(&b, "{\"object\":\"semrouter.cache_clear\",\"cleared\":%zu,\"tenant\":", n);
        if (tenant) buf_json_str(&b, tenant, strlen(tenant));
        else buf_puts(&b, "null");
        buf_putc(&b, '}');
        respond_buf(req, st = 200, "application/json", &b);
        log_info("cache: %zu entries cleared through the management API (%s)", n, tenant ? "one tenant" : "all tenants");
    } else if (export) {
        char *mem = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&mem, &len);
        char err[256] = "out of memory";
        long long n = f ? cache_export(gw->cache, tenant, f, err, sizeof err) : -1;
        if (f) fclose(f);
        if (n < 0) {
            char msg[320];
            snprintf(msg, sizeof msg, "The export failed: %s.", err);
            http_respond_error(req, 500, msg, NULL, "export_failed");
            st = 500;
        } else {
            char cnt[32];
            snprintf(cnt, sizeof cnt, "%lld", n);
            http_add_header(req, "x-semrouter-entries", cnt);
            http_add_header(req, "Cache-Control", "no-store");
            http_respond(req, st = 200, "application/x-ndjson", mem ? mem : "", len);
        }
        free(mem);
    } else { /* stats */
        long long n = count_entries(gw->cache, tenant);
        buf_puts(&b, "{\"object\":\"semrouter.cache_stats\",\"backend\":\"memory\",\"tenant\":");
        if (tenant) buf_json_str(&b, tenant, strlen(tenant));
        else buf_puts(&b, "null");
        buf_printf(&b, ",\"entries\":%lld", n);
        if (!tenant) { /* the whole cache: counters across tenants are an admin's view only */
            cache_stats cs;
            cache_stats_get(gw->cache, &cs);
            buf_printf(&b,
                       ",\"partitions\":%zu,\"bytes\":%zu,\"hits\":%llu,\"misses\":%llu,\"stores\":%llu,"
                       "\"evictions\":%llu,\"expirations\":%llu",
                       cs.partitions, cs.bytes, (unsigned long long)cs.hits, (unsigned long long)cs.misses,
                       (unsigned long long)cs.stores, (unsigned long long)cs.evictions,
                       (unsigned long long)cs.expirations);
        }
        buf_putc(&b, '}');
        http_add_header(req, "Cache-Control", "no-store");
        respond_buf(req, st = 200, "application/json", &b);
    }
    buf_free(&b);
    return st;
}

static int handle_reload(http_request *req, gateway *gw, const sr_config *cfg, const char *method)
{
    if (strcmp(method, "POST")) {
        http_add_header(req, "Allow", "POST");
        http_respond_error(req, 405, "Method not allowed for this URL.", NULL, "method_not_allowed");
        return 405;
    }
    const char *who;
    int denied = 0;
    if (auth_management(req, cfg, 1, &who, &denied) == AUTH_DENIED) return denied;
    config_errors errs;
    config_errors_init(&errs);
    int rc = gateway_reload_errors(gw, &errs);
    buf b;
    buf_init(&b);
    buf_printf(&b, "{\"object\":\"semrouter.reload\",\"reloaded\":%s,\"errors\":[", rc ? "false" : "true");
    size_t n = 0;
    for (size_t i = 0; i < errs.count; i++) {
        const config_error *e = &errs.items[i];
        char line[1024];
        snprintf(line, sizeof line, "%s:%d: %s%s", e->file ? e->file : "", e->line, e->warning ? "warning: " : "",
                 e->message ? e->message : "");
        buf_puts(&b, n++ ? "," : "");
        buf_json_str(&b, line, strlen(line));
    }
    buf_puts(&b, "]}");
    config_errors_free(&errs);
    int st = rc ? 422 : 200;
    respond_buf(req, st, "application/json", &b);
    buf_free(&b);
    return st;
}

int admin_handle(http_request *req, gateway *gw, const char *path, const char *method, const char *counted_path)
{
    sr_config *cfg = gateway_config(gw);
    int st = !strcmp(path, "/api/v1/reload") ? handle_reload(req, gw, cfg, method)
                                             : handle_cache(req, gw, cfg, path, method, counted_path);
    config_release(cfg);
    return st;
}
