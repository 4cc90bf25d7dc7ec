/* milvus_proto.c - Milvus REST v2 bodies and answers (see milvus_proto.h). */
#include "cache/milvus_proto.h"
#include "core/codec.h"
#include "core/util.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

/* ------------------------------------------------------------------ answers */

int mv_answer_parse(int http_status, const char *body, size_t len, mv_answer *a)
{
    memset(a, 0, sizeof *a);
    a->http_status = http_status;
    a->root = body && len ? cJSON_ParseWithLength(body, len) : NULL;
    const cJSON *code = a->root ? cJSON_GetObjectItemCaseSensitive(a->root, "code") : NULL;
    int64_t c = 0;
    int have_code = code && cJSON_IsNumber(code) && mv_int64(code, &c) == 0 && c >= INT32_MIN && c <= INT32_MAX;
    if (have_code) a->code = (int)c;
    if (http_status != 200) {
        a->error = http_status == 401 || http_status == 403 ? MV_ERR_AUTH
                   : http_status == 404                     ? MV_ERR_ROUTE
                   : http_status == 408                     ? MV_ERR_TIMEOUT
                                                            : MV_ERR_HTTP;
        if (!have_code) a->code = 0;
        return -1;
    }
    if (!a->root || !cJSON_IsObject(a->root) || !have_code) {
        a->error = MV_ERR_GARBAGE;
        a->code = 0;
        return -1;
    }
    if (a->code == 0 || a->code == 200) {
        a->code = 0;
        a->data = cJSON_GetObjectItemCaseSensitive(a->root, "data");
        return 0;
    }
    a->error = a->code == 10001                                       ? MV_ERR_TIMEOUT
               : a->code == 1800 || a->code == 1400 || a->code == 1401 ? MV_ERR_AUTH
                                                                       : MV_ERR_CODE;
    return -1;
}

void mv_answer_free(mv_answer *a)
{
    cJSON_Delete(a->root);
    a->root = NULL;
    a->data = NULL;
}

const char *mv_error_name(mv_error e)
{
    switch (e) {
    case MV_OK: return "success";
    case MV_ERR_CONNECT: return "unreachable";
    case MV_ERR_TIMEOUT: return "timeout";
    case MV_ERR_AUTH: return "auth";
    case MV_ERR_ROUTE: return "route_missing";
    case MV_ERR_HTTP: return "http_error";
    case MV_ERR_GARBAGE: return "garbage";
    case MV_ERR_CODE: return "server_error";
    case MV_ERR_TRANSPORT: return "transport";
    }
    return "error";
}

const char *mv_code_name(int code)
{
    switch (code) {
    case 0: return "success";
    case 1: return "service_not_ready";
    case 2: return "service_unavailable";
    case 4: case 8: case 9: return "rate_limited";
    case 100: return "collection_not_found";
    case 101: return "collection_not_loaded";
    case 104: return "collection_already_loaded";
    case 700: return "index_not_found";
    case 800: return "database_not_found";
    case 1100: return "invalid_parameter";
    case 1101: return "missing_parameter";
    case 1102: return "parameter_too_large";
    case 1400: case 1800: return "not_authenticated";
    case 1401: return "permission_denied";
    case 1801: return "bad_json";
    case 1802: return "missing_required_parameter";
    case 1803: return "schema_marshal_failed";
    case 1804: return "insert_data_rejected";
    case 1805: return "search_result_unparsable";
    case 1806: return "primary_key_check_failed";
    case 1807: return "rate_limited";
    case 10001: return "request_timeout";
    case 65535: return "unexpected";
    }
    return "other";
}

int mv_retriable(const mv_answer *a)
{
    switch (a->error) {
    case MV_ERR_CONNECT: case MV_ERR_TIMEOUT: case MV_ERR_HTTP: case MV_ERR_GARBAGE: case MV_ERR_TRANSPORT:
        return 1;
    case MV_ERR_CODE:
        return a->code == 1 || a->code == 2 || a->code == 4 || a->code == 8 || a->code == 9 ||
               a->code == 1807 || a->code == 65535;
    default:
        return 0;
    }
}

int mv_int64(const cJSON *v, int64_t *out)
{
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (!isfinite(d) || d != floor(d) || d < -9.2e18 || d > 9.2e18) return -1;
        *out = (int64_t)d;
        return 0;
    }
    if (cJSON_IsString(v) && v->valuestring && *v->valuestring) {
        const char *s = v->valuestring;
        char *end;
        errno = 0;
        long long x = strtoll(s, &end, 10);
        if (errno || *end || end == s || (*s != '-' && (*s < '0' || *s > '9'))) return -1;
        *out = x;
        return 0;
    }
    return -1;
}

/* ------------------------------------------------------------------ writers */

void mv_filter_literal(buf *b, const char *s, size_t n)
{
    buf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        switch (ch) {
        case '\\': buf_puts(b, "\\\\"); break;
        case '"': buf_puts(b, "\\\""); break;
        case '\n': buf_puts(b, "\\n"); break;
        case '\r': buf_puts(b, "\\r"); break;
        case '\t': buf_puts(b, "\\t"); break;
        default:
            if (ch < 0x20 || ch == 0x7f) buf_printf(b, "\\u%04x", ch);
            else buf_putc(b, (char)ch);
        }
    }
    buf_putc(b, '"');
}

void mv_put_vector(buf *b, const float *v, int dim)
{
    if (buf_reserve(b, (size_t)dim * 12 + 2)) return;
    char *p = b->data + b->len;
    *p++ = '[';
    for (int i = 0; i < dim; i++) {
        if (i) *p++ = ',';
        float f = v[i];
        if (!isfinite(f)) f = 0;
        if (f < 0) {
            *p++ = '-';
            f = -f;
        }
        /* 7 decimals in fixed point; |f| <= ~1 for unit vectors, larger values still exact enough */
        double scaled = (double)f * 1e7 + 0.5;
        if (scaled >= 9e15) scaled = 9e15;
        uint64_t x = (uint64_t)scaled;
        uint64_t ip = x / 10000000u, fp = x % 10000000u;
        char tmp[24];
        int k = 0;
        do {
            tmp[k++] = (char)('0' + ip % 10);
            ip /= 10;
        } while (ip);
        while (k) *p++ = tmp[--k];
        if (fp) {
            *p++ = '.';
            char d[7];
            for (int j = 6; j >= 0; j--) {
                d[j] = (char)('0' + fp % 10);
                fp /= 10;
            }
            int last = 6;
            while (last > 0 && d[last] == '0') last--;
            for (int j = 0; j <= last; j++) *p++ = d[j];
        }
    }
    *p++ = ']';
    b->len = (size_t)(p - b->data);
    b->data[b->len] = 0;
}

int mv_body_encode(const char *body, size_t len, size_t max_len, buf *out)
{
    if (len <= max_len && util_utf8_valid(body, len)) {
        buf_append(out, body, len);
        return out->oom ? -1 : 0;
    }
    uLongf zlen = compressBound((uLong)len);
    unsigned char *z = malloc(zlen ? zlen : 1);
    if (!z) return -1;
    if (compress2(z, &zlen, (const Bytef *)body, (uLong)len, 6) != Z_OK || (zlen + 2) / 3 * 4 > max_len) {
        free(z);
        return -1;
    }
    codec_base64_encode(out, z, zlen);
    free(z);
    return out->oom ? -1 : 1;
}

char *mv_body_decode(const char *stored, size_t n, int encoding, size_t *out_len)
{
    if (encoding == 0) {
        char *b = malloc(n + 1);
        if (!b) return NULL;
        memcpy(b, stored, n);
        b[n] = 0;
        *out_len = n;
        return b;
    }
    if (encoding != 1) return NULL;
    size_t zl;
    unsigned char *z = codec_base64_decode(stored, n, &zl);
    if (!z) return NULL;
    /* grow until it fits; a stored body is at most 16 MiB uncompressed (a zip bomb from a bad server stops there) */
    for (uLongf cap = zl * 4 + 1024; cap <= (16u << 20); cap *= 4) {
        char *b = malloc(cap + 1);
        if (!b) break;
        uLongf got = cap;
        int rc = uncompress((Bytef *)b, &got, z, (uLong)zl);
        if (rc == Z_OK) {
            b[got] = 0;
            *out_len = got;
            free(z);
            return b;
        }
        free(b);
        if (rc != Z_BUF_ERROR) break;
    }
    free(z);
    return NULL;
}

size_t mv_utf8_prefix(const char *s, size_t n, size_t max)
{
    size_t i = 0;
    while (i < n) {
        size_t l = util_utf8_seq_len((const unsigned char *)s + i, n - i);
        if (!l || i + l > max) break;
        i += l;
    }
    return i;
}

void mv_lookup_filter(buf *b, const char *partition, const char *tenant, int64_t now)
{
    buf_puts(b, "partition_hash == ");
    mv_filter_literal(b, partition, strlen(partition));
    buf_puts(b, " and tenant == ");
    mv_filter_literal(b, tenant ? tenant : "", tenant ? strlen(tenant) : 0);
    buf_printf(b, " and expires_at > %lld", (long long)now);
}

int mv_put_conversation(buf *b, int n_context, const char *const *texts, const size_t *lens,
                        const unsigned char *roles, size_t max)
{
    if (n_context <= 0 || !texts || !lens || !roles) return 0;
    size_t start = b->len;
    static const char letters[] = {'u', 'a', 'o'};
    buf_puts(b, "{\"roles\":\"");
    for (int i = 0; i < n_context; i++)
        buf_putc(b, letters[roles[i] <= CACHE_ROLE_OTHER ? roles[i] : CACHE_ROLE_OTHER]);
    buf_putc(b, '"');
    unsigned char h[32];
    if (cache_context_hash(n_context, texts, lens, roles, h)) {
        char hex[65];
        codec_hex_encode(h, sizeof h, hex);
        buf_printf(b, ",\"answers\":\"%s\"", hex);
    }
    buf_puts(b, ",\"texts\":[");
    for (int i = 0; i < n_context; i++) {
        if (i) buf_putc(b, ',');
        if (roles[i] == CACHE_ROLE_ASSISTANT) {
            buf_puts(b, "null");
        } else {
            const char *t = texts[i] ? texts[i] : "";
            size_t l = texts[i] ? strnlen(t, lens[i]) : 0;
            buf_json_str(b, t, mv_utf8_prefix(t, l, l)); /* a NUL or invalid UTF-8 ends it */
        }
    }
    buf_puts(b, "]}");
    if (b->oom || b->len - start > max) {
        b->len = start;
        if (b->data) b->data[start] = 0;
        return -1;
    }
    return 0;
}

int mv_get_conversation(const char *s, cache_candidate *c)
{
    if (!s || !*s) return 0;
    int n = c->n_context;
    cJSON *j = cJSON_Parse(s);
    const cJSON *roles = cJSON_GetObjectItemCaseSensitive(j, "roles");
    const cJSON *answers = cJSON_GetObjectItemCaseSensitive(j, "answers");
    const cJSON *texts = cJSON_GetObjectItemCaseSensitive(j, "texts");
    int rc = -1;
    if (n <= 0 || !cJSON_IsObject(j) || !cJSON_IsString(roles) || strlen(roles->valuestring) != (size_t)n ||
        !cJSON_IsArray(texts) || cJSON_GetArraySize(texts) != n || (answers && !cJSON_IsString(answers)))
        goto out;
    if (answers) {
        const char *h = answers->valuestring;
        if (codec_hex_decode_exact(h, 32, c->answer_hash)) goto out;
        c->has_answer_hash = 1;
    }
    c->context_roles = malloc((size_t)n);
    c->context_texts = calloc((size_t)n, sizeof *c->context_texts);
    if (!c->context_roles || !c->context_texts) goto out;
    for (int i = 0; i < n; i++) {
        char r = roles->valuestring[i];
        const cJSON *t = cJSON_GetArrayItem(texts, i);
        if (r != 'u' && r != 'a' && r != 'o') goto out;
        c->context_roles[i] = r == 'u' ? CACHE_ROLE_USER : r == 'a' ? CACHE_ROLE_ASSISTANT : CACHE_ROLE_OTHER;
        if (r == 'a') {
            if (!cJSON_IsNull(t)) goto out;
        } else if (!cJSON_IsString(t) || !(c->context_texts[i] = strdup(t->valuestring))) {
            goto out;
        }
    }
    rc = 0;
out:
    if (rc) {
        for (int i = 0; c->context_texts && i < n; i++) free(c->context_texts[i]);
        free(c->context_texts);
        free(c->context_roles);
        c->context_texts = NULL;
        c->context_roles = NULL;
        c->has_answer_hash = 0;
        memset(c->answer_hash, 0, sizeof c->answer_hash);
    }
    cJSON_Delete(j);
    return rc;
}

int mv_put_row(buf *b, const mv_row *r, const char *vector_field)
{
    buf ctx, conv;
    buf_init(&ctx);
    buf_init(&conv);
    if (r->n_context > 0 && r->context_vecs)
        codec_base64_encode(&ctx, r->context_vecs, sizeof(float) * (size_t)r->dim * (size_t)r->n_context);
    if (ctx.oom || ctx.len > 65535 ||
        mv_put_conversation(&conv, r->n_context, r->context_texts, r->context_lens, r->context_roles, 65535)) {
        buf_free(&ctx);
        buf_free(&conv);
        return -1;
    }

    buf_puts(b, "{\"id\":");
    buf_json_str(b, r->id, strlen(r->id));
    buf_puts(b, ",\"partition_hash\":");
    buf_json_str(b, r->partition, strlen(r->partition));
    buf_puts(b, ",\"tenant\":");
    buf_json_str(b, r->tenant ? r->tenant : "", r->tenant ? strlen(r->tenant) : 0);
    buf_puts(b, ",\"embedding_model\":");
    buf_json_str(b, r->embedding_model, strlen(r->embedding_model));
    buf_puts(b, ",\"query_text\":");
    size_t ql = r->query_text ? mv_utf8_prefix(r->query_text, r->query_len, 65535) : 0;
    buf_json_str(b, r->query_text ? r->query_text : "", ql);
    buf_puts(b, ",\"response_body\":");
    buf_json_str(b, r->body, r->body_len);
    buf_printf(b, ",\"body_encoding\":%d,\"semantic\":%d,\"n_context\":%d,\"context\":", r->body_encoding,
               r->vec ? 1 : 0, r->n_context > 0 ? r->n_context : 0);
    buf_json_str(b, ctx.data ? ctx.data : "", ctx.len);
    buf_puts(b, ",\"conversation\":");
    buf_json_str(b, conv.data ? conv.data : "", conv.len);
    buf_printf(b, ",\"created_at\":%lld,\"expires_at\":%lld,", (long long)r->created_at, (long long)r->expires_at);
    buf_json_str(b, vector_field, strlen(vector_field));
    buf_putc(b, ':');
    if (r->vec) {
        mv_put_vector(b, r->vec, r->dim);
    } else { /* exact-only entry: a fixed unit vector; searches skip it (semantic == 1) */
        buf_puts(b, "[1");
        for (int i = 1; i < r->dim; i++) buf_puts(b, ",0");
        buf_putc(b, ']');
    }
    buf_putc(b, '}');
    buf_free(&ctx);
    buf_free(&conv);
    return b->oom ? -1 : 0;
}

/* ------------------------------------------------------------------ rows */

void mv_candidate_clear(cache_candidate *c)
{
    free(c->body);
    free(c->query_text);
    free(c->context_vecs);
    free(c->id);
    for (int i = 0; c->context_texts && i < c->n_context; i++) free(c->context_texts[i]);
    free(c->context_texts);
    free(c->context_roles);
    memset(c, 0, sizeof *c);
}

static const char *str_of(const cJSON *row, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int int_of(const cJSON *row, const char *name, int64_t *out)
{
    return mv_int64(cJSON_GetObjectItemCaseSensitive(row, name), out);
}

/* One row into c; -1 when it does not decode. */
static int row_candidate(const cJSON *row, const char *metric, int dim, const char *exact_key,
                         cache_candidate *c)
{
    memset(c, 0, sizeof *c);
    const char *id = str_of(row, "id");
    const char *body = str_of(row, "response_body");
    int64_t enc = 0, n_ctx = 0, created = 0;
    if (!id || !body || int_of(row, "body_encoding", &enc) || int_of(row, "n_context", &n_ctx) ||
        int_of(row, "created_at", &created) || n_ctx < 0 || n_ctx > 4096)
        return -1;
    float sim = 1.0f;
    if (metric) {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(row, "distance");
        if (!cJSON_IsNumber(d) || !isfinite(d->valuedouble)) return -1;
        double x = d->valuedouble;
        sim = !strcasecmp(metric, "L2") ? (float)(1.0 - x / 2.0) : (float)x;
    }
    c->body = mv_body_decode(body, strlen(body), (int)enc, &c->len);
    c->id = strdup(id);
    if (!c->body || !c->id) goto bad;
    const char *q = str_of(row, "query_text");
    if (q && *q && !(c->query_text = strdup(q))) goto bad;
    c->n_context = (int)n_ctx;
    if (n_ctx > 0) {
        const char *ctx = str_of(row, "context");
        size_t got = 0;
        unsigned char *raw = ctx ? codec_base64_decode(ctx, strlen(ctx), &got) : NULL;
        if (!raw || got != sizeof(float) * (size_t)dim * (size_t)n_ctx) {
            free(raw);
            goto bad;
        }
        c->context_vecs = (float *)raw;
    }
    if (mv_get_conversation(str_of(row, "conversation"), c)) goto bad;
    c->inserted_at = created;
    int exact = exact_key && !strcmp(id, exact_key);
    c->tier = (!metric || exact) ? CACHE_TIER_EXACT : CACHE_TIER_SEMANTIC;
    c->similarity = c->tier == CACHE_TIER_EXACT ? 1.0f : sim;
    return 0;
bad:
    mv_candidate_clear(c);
    return -1;
}

int mv_rows_to_candidates(const cJSON *data, const char *metric, int dim, const char *tenant,
                          const char *partition, const char *exact_key, float floor, int k,
                          cache_candidates *out)
{
    out->n = 0;
    out->v = NULL;
    if (!cJSON_IsArray(data)) return -1;
    int n = cJSON_GetArraySize(data);
    if (n <= 0) return 0;
    out->v = calloc((size_t)n, sizeof *out->v);
    if (!out->v) return -1;
    const cJSON *row;
    cJSON_ArrayForEach(row, data)
    {
        if (!cJSON_IsObject(row)) continue;
        const char *t = str_of(row, "tenant"), *p = str_of(row, "partition_hash");
        if (!t || strcmp(t, tenant ? tenant : "")) continue;
        if (partition && (!p || strcmp(p, partition))) continue;
        cache_candidate c;
        if (row_candidate(row, metric, dim, exact_key, &c)) continue;
        if (c.tier != CACHE_TIER_EXACT && c.similarity < floor) {
            mv_candidate_clear(&c);
            continue;
        }
        out->v[out->n++] = c;
    }
    /* best first: exact, then by similarity (stable for equal ones) */
    for (int i = 1; i < out->n; i++) {
        cache_candidate x = out->v[i];
        int j = i;
        while (j > 0 && (x.tier == CACHE_TIER_EXACT ? out->v[j - 1].tier != CACHE_TIER_EXACT
                                                     : out->v[j - 1].tier != CACHE_TIER_EXACT &&
                                                           out->v[j - 1].similarity < x.similarity)) {
            out->v[j] = out->v[j - 1];
            j--;
        }
        out->v[j] = x;
    }
    while (k > 0 && out->n > k) mv_candidate_clear(&out->v[--out->n]);
    if (out->n == 0) {
        free(out->v);
        out->v = NULL;
    }
    return out->n;
}


/* ------------------------------------------------------------------ admin */

void mv_admin_filter(buf *b, const char *tenant, const char *id, int live, int64_t now)
{
    const char *and = "";
    if (id) {
        buf_puts(b, "id == ");
        mv_filter_literal(b, id, strlen(id));
        and = " and ";
    }
    if (tenant) {
        buf_puts(b, and);
        buf_puts(b, "tenant == ");
        mv_filter_literal(b, tenant, strlen(tenant));
        and = " and ";
    } else if (!id) {
        buf_puts(b, "id != \"\"");
        and = " and ";
    }
    if (live) {
        buf_puts(b, and);
        buf_printf(b, "expires_at > %lld", (long long)now);
    }
}

int mv_count_of(const cJSON *data, long long *n)
{
    int64_t c;
    if (!cJSON_IsArray(data) || cJSON_GetArraySize(data) != 1 ||
        mv_int64(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(data, 0), "count(*)"), &c) || c < 0)
        return -1;
    *n = c;
    return 0;
}

int mv_is_hex64(const char *s)
{
    if (!s || strlen(s) != 64) return 0;
    for (int i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
    return 1;
}

int mv_export_line(buf *line, const cJSON *row, const char *vector_field, int dim)
{
    const char *id = str_of(row, "id"), *part = str_of(row, "partition_hash"), *tenant = str_of(row, "tenant");
    const char *query = str_of(row, "query_text"), *body = str_of(row, "response_body");
    const char *ctx = str_of(row, "context"), *conv = str_of(row, "conversation");
    int64_t enc = 0, n_ctx = 0, semantic = 0, created = 0, expires = 0;
    if (!cJSON_IsObject(row) || !mv_is_hex64(id) || !mv_is_hex64(part) || !tenant || !body || dim <= 0 ||
        int_of(row, "body_encoding", &enc) || int_of(row, "n_context", &n_ctx) || n_ctx < 0 || n_ctx > 4096 ||
        int_of(row, "semantic", &semantic) || int_of(row, "created_at", &created) ||
        int_of(row, "expires_at", &expires))
        return -1;
    size_t vbytes = sizeof(float) * (size_t)dim, start = line->len;
    float *vec = NULL;
    unsigned char *cvec = NULL;
    char *decoded = NULL;
    cache_candidate cc;
    memset(&cc, 0, sizeof cc);
    cc.n_context = (int)n_ctx;
    int rc = -1;
    if (semantic) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, vector_field);
        if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != dim || !(vec = malloc(vbytes))) goto out;
        int i = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, v)
        {
            if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble)) goto out;
            vec[i++] = (float)e->valuedouble;
        }
    }
    if (n_ctx > 0) {
        size_t got = 0;
        cvec = ctx ? codec_base64_decode(ctx, strlen(ctx), &got) : NULL;
        if (!cvec || got != vbytes * (size_t)n_ctx) goto out;
    }
    if (mv_get_conversation(conv, &cc)) goto out;
    size_t blen = 0;
    if (!(decoded = mv_body_decode(body, strlen(body), (int)enc, &blen))) goto out;

    buf_puts(line, "{\"tenant\":");
    buf_json_str(line, tenant, strlen(tenant));
    buf_printf(line, ",\"partition\":\"%s\",\"exact_key\":\"%s\",\"query_text\":", part, id);
    buf_json_str(line, query ? query : "", query ? strlen(query) : 0);
    if (vec) {
        buf_puts(line, ",\"vector\":");
        codec_base64_encode_quoted(line, vec, vbytes);
    }
    buf_puts(line, ",\"context_vectors\":[");
    for (int i = 0; i < (int)n_ctx; i++) {
        if (i) buf_putc(line, ',');
        codec_base64_encode_quoted(line, cvec + (size_t)i * vbytes, vbytes);
    }
    buf_putc(line, ']');
    if (cc.context_roles) { /* the same object the conversation field holds, re-written from what decoded */
        static const char letters[] = {'u', 'a', 'o'};
        buf_puts(line, ",\"conversation\":{\"roles\":\"");
        for (int i = 0; i < cc.n_context; i++)
            buf_putc(line, letters[cc.context_roles[i] <= CACHE_ROLE_OTHER ? cc.context_roles[i] : CACHE_ROLE_OTHER]);
        buf_putc(line, '"');
        if (cc.has_answer_hash) {
            char hex[65];
            codec_hex_encode(cc.answer_hash, 32, hex);
            buf_printf(line, ",\"answers\":\"%s\"", hex);
        }
        buf_puts(line, ",\"texts\":[");
        for (int i = 0; i < cc.n_context; i++) {
            if (i) buf_putc(line, ',');
            if (cc.context_texts[i]) buf_json_str(line, cc.context_texts[i], strlen(cc.context_texts[i]));
            else buf_puts(line, "null");
        }
        buf_puts(line, "]}");
    }
    buf_puts(line, ",\"body\":");
    buf_json_str(line, decoded, blen);
    buf_printf(line, ",\"inserted_at\":%lld,\"expires_at\":%lld}\n", (long long)created, (long long)expires);
    rc = line->oom ? -1 : 0;
out:
    if (rc) {
        line->len = start;
        if (line->data) line->data[start] = 0;
    }
    free(vec);
    free(cvec);
    free(decoded);
    mv_candidate_clear(&cc);
    return rc;
}
