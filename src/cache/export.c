/* export.c - the cache as JSONL and back (cache_export / cache_import, contract in
 * cache.h): one line per live entry with its keys as hex, its vectors as base64 of
 * little-endian f32 and its conversation as the Milvus conversation object, so a dump
 * moves between routers, tiers and versions. It walks and refills the cache only through
 * entries.h; the slots, tables and locks stay cache.c's. */
#include "cache/entries.h"
#include "core/buf.h"
#include "core/codec.h"
#include "core/log.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 1 when s is the base64 of exactly dim float32s (written into v), else 0. */
static int base64_vector(const char *s, float *v, int dim)
{
    size_t want = (size_t)dim * sizeof *v;
    return codec_base64_decode_into(s, strlen(s), v, want, 0) == (long)want;
}

/* The conversation of an entry's blob (ctx_blob_build) as export JSON, the
 * same object the Milvus conversation field holds:
 *   {"roles":"ua","answers":"<hex cache_context_hash>","texts":["..",null]}
 * roles one letter per earlier turn (u user, a assistant, o other), answers
 * absent when the hash is, texts null for assistant turns. */
static void conversation_put(buf *line, const unsigned char *b, int n_context)
{
    static const char letters[] = {'u', 'a', 'o'};
    buf_puts(line, "{\"roles\":\"");
    for (int i = 0; i < n_context; i++)
        buf_putc(line, letters[b[33 + i] <= CACHE_ROLE_OTHER ? b[33 + i] : CACHE_ROLE_OTHER]);
    buf_putc(line, '"');
    if (b[0]) {
        char hex[65];
        codec_hex_encode(b + 1, 32, hex);
        buf_printf(line, ",\"answers\":\"%s\"", hex);
    }
    buf_puts(line, ",\"texts\":[");
    size_t at = 33 + (size_t)n_context;
    for (int i = 0; i < n_context; i++) {
        const char *t = (const char *)b + at;
        size_t l = strlen(t);
        if (i) buf_putc(line, ',');
        if (b[33 + i] == CACHE_ROLE_ASSISTANT)
            buf_puts(line, "null");
        else
            buf_json_str(line, t, l);
        at += l + 1;
    }
    buf_puts(line, "]}");
}

/* The blob (ctx_blob_build's layout) of an export line's conversation object,
 * malloc'd into *out. Returns 0, or -1 with why (the line is then skipped:
 * importing it without its conversation would let its follow-up hit under
 * another conversation's first turns by vectors alone). */
static int conversation_get(const cJSON *j, int n_context, unsigned char **out, size_t *len,
                            const char **why)
{
    *out = NULL;
    *len = 0;
    const cJSON *roles = cJSON_GetObjectItemCaseSensitive(j, "roles");
    const cJSON *answers = cJSON_GetObjectItemCaseSensitive(j, "answers");
    const cJSON *texts = cJSON_GetObjectItemCaseSensitive(j, "texts");
    *why = "conversation must have roles (one letter u/a/o per context vector), texts and an "
           "optional 64-hex answers";
    if (!cJSON_IsObject(j) || !cJSON_IsString(roles) ||
        strlen(roles->valuestring) != (size_t)n_context || !cJSON_IsArray(texts) ||
        cJSON_GetArraySize(texts) != n_context || (answers && !cJSON_IsString(answers)))
        return -1;
    unsigned char head[33] = {0};
    if (answers) {
        if (codec_hex_decode_exact(answers->valuestring, 32, head + 1)) return -1;
        head[0] = 1;
    }
    buf b;
    buf_init(&b);
    buf_append(&b, head, sizeof head);
    const char *r = roles->valuestring;
    for (int i = 0; i < n_context; i++) {
        if (r[i] != 'u' && r[i] != 'a' && r[i] != 'o') {
            buf_free(&b);
            return -1;
        }
        buf_putc(&b, (char)(r[i] == 'u'   ? CACHE_ROLE_USER
                            : r[i] == 'a' ? CACHE_ROLE_ASSISTANT
                                          : CACHE_ROLE_OTHER));
    }
    const cJSON *t = texts->child;
    for (int i = 0; i < n_context; i++, t = t->next) {
        if (r[i] == 'a' ? !cJSON_IsNull(t) : !cJSON_IsString(t)) {
            buf_free(&b);
            return -1;
        }
        if (r[i] != 'a') buf_puts(&b, t->valuestring);
        buf_putc(&b, 0);
    }
    if (b.oom) {
        buf_free(&b);
        *why = "out of memory";
        return -1;
    }
    *out = (unsigned char *)b.data;
    *len = b.len;
    return 0;
}

/* Export state: the line being built and where it goes. */
typedef struct export_ctx {
    buf line;
    FILE *out;
    long long n;
    char *err;
    size_t errlen;
} export_ctx;

static int export_entry(const cache_entry_view *e, void *arg)
{
    export_ctx *x = arg;
    buf *line = &x->line;
    size_t vbytes = (size_t)e->dim * sizeof(float);
    char hex[65];
    buf_reset(line);
    buf_puts(line, "{\"tenant\":");
    buf_json_str(line, e->tenant, strlen(e->tenant));
    codec_hex_encode(e->partition, 32, hex);
    buf_printf(line, ",\"partition\":\"%s\"", hex);
    codec_hex_encode(e->exact, 32, hex);
    buf_printf(line, ",\"exact_key\":\"%s\",\"query_text\":", hex);
    buf_json_str(line, e->query, strlen(e->query));
    if (e->vec) {
        buf_puts(line, ",\"vector\":");
        codec_base64_encode_quoted(line, e->vec, vbytes);
    }
    buf_puts(line, ",\"context_vectors\":[");
    for (int i = 0; i < e->n_context; i++) {
        if (i) buf_putc(line, ',');
        codec_base64_encode_quoted(line, e->context + (size_t)i * e->dim, vbytes);
    }
    buf_putc(line, ']');
    if (e->ctx_blob) {
        buf_puts(line, ",\"conversation\":");
        conversation_put(line, e->ctx_blob, e->n_context);
    }
    buf_puts(line, ",\"body\":");
    buf_json_str(line, e->body, e->body_len);
    buf_printf(line, ",\"inserted_at\":%lld,\"expires_at\":%lld}\n", (long long)e->inserted_at,
               (long long)e->expires_at);
    if (line->oom || fwrite(line->data, 1, line->len, x->out) != line->len) {
        snprintf(x->err, x->errlen, "cannot write the export: %s",
                 line->oom ? "out of memory" : strerror(errno));
        return -1;
    }
    x->n++;
    return 0;
}

long long cache_export(cache *c, const char *tenant, FILE *out, char *err, size_t errlen)
{
    export_ctx x = {.out = out, .err = err, .errlen = errlen};
    buf_init(&x.line);
    int rc = cache_scan_entries(c, tenant, export_entry, &x, err, errlen);
    buf_free(&x.line);
    return rc ? -1 : x.n;
}

/* Parses one export line into rec (vectors into vec/ctx). Returns 0 or -1 with why. */
static int parse_line(int dim, const cJSON *j, cache_record *rec, float *vec, float **ctx,
                      unsigned char **conv_blob, const char **why)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "tenant");
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "partition");
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(j, "exact_key");
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(j, "query_text");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "vector");
    const cJSON *cv = cJSON_GetObjectItemCaseSensitive(j, "context_vectors");
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(j, "body");
    const cJSON *ia = cJSON_GetObjectItemCaseSensitive(j, "inserted_at");
    const cJSON *ea = cJSON_GetObjectItemCaseSensitive(j, "expires_at");
    memset(rec, 0, sizeof *rec);
    rec->type = CACHE_REC_INSERT;
    rec->dim = dim;
    if (!cJSON_IsString(t) || !cJSON_IsString(p) || !cJSON_IsString(x) || !cJSON_IsString(b)) {
        *why = "tenant, partition, exact_key and body must be strings";
        return -1;
    }
    if (codec_hex_decode_exact(p->valuestring, 32, rec->partition) ||
        codec_hex_decode_exact(x->valuestring, 32, rec->exact)) {
        *why = "partition and exact_key must be 64 hex characters";
        return -1;
    }
    rec->tenant = t->valuestring;
    rec->query = cJSON_IsString(q) ? q->valuestring : "";
    rec->body = b->valuestring;
    rec->body_len = strlen(b->valuestring);
    rec->inserted_at = cJSON_IsNumber(ia) ? (int64_t)ia->valuedouble : 0;
    rec->expires_at = cJSON_IsNumber(ea) ? (int64_t)ea->valuedouble : 0;
    if (cJSON_IsString(v)) {
        if (!base64_vector(v->valuestring, vec, dim)) {
            *why = "vector does not hold dim little-endian floats";
            return -1;
        }
        rec->vec = vec;
    } else if (cJSON_IsArray(v)) {
        if (cJSON_GetArraySize(v) != dim) {
            *why = "vector has the wrong dimension";
            return -1;
        }
        int i = 0;
        for (const cJSON *e = v->child; e; e = e->next)
            vec[i++] = (float)e->valuedouble;
        rec->vec = vec;
    }
    int nctx = cJSON_IsArray(cv) ? cJSON_GetArraySize(cv) : 0;
    if (nctx > 65535) {
        *why = "too many context vectors";
        return -1;
    }
    if (nctx) {
        *ctx = malloc((size_t)nctx * dim * sizeof **ctx);
        if (!*ctx) {
            *why = "out of memory";
            return -1;
        }
        int i = 0;
        for (const cJSON *e = cv->child; e; e = e->next, i++)
            if (!cJSON_IsString(e) || !base64_vector(e->valuestring, *ctx + (size_t)i * dim, dim)) {
                *why = "a context vector does not hold dim little-endian floats";
                return -1;
            }
        rec->n_context = nctx;
        rec->context = *ctx;
    }
    const cJSON *conv = cJSON_GetObjectItemCaseSensitive(j, "conversation");
    if (conv && !cJSON_IsNull(conv)) {
        if (!nctx) {
            *why = "a conversation without context vectors";
            return -1;
        }
        unsigned char *blob;
        size_t blen;
        if (conversation_get(conv, nctx, &blob, &blen, why)) return -1;
        *conv_blob = blob;
        rec->ctx_blob = blob;
        rec->ctx_blob_len = blen;
    }
    return 0;
}

long long cache_import(cache *c, const char *tenant, FILE *in, long long *skipped, char *err,
                       size_t errlen)
{
    long long n = 0, bad = 0, lineno = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int dim = cache_entry_dim(c);
    float *vec = malloc((size_t)dim * sizeof *vec);
    if (!vec) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    while ((len = getline(&line, &cap, in)) >= 0) {
        lineno++;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        if (!len) continue;
        cJSON *j = cJSON_ParseWithLength(line, (size_t)len);
        cache_record rec;
        float *ctx = NULL;
        unsigned char *blob = NULL;
        const char *why = "not a JSON object";
        char serr[200];
        int ok = cJSON_IsObject(j) && !parse_line(dim, j, &rec, vec, &ctx, &blob, &why);
        if (ok && (!tenant || !strcmp(rec.tenant, tenant))) {
            int put = cache_put_record(c, &rec, serr, sizeof serr);
            if (put < 0) {
                why = serr;
                ok = 0;
            }
            n += put > 0;
        }
        if (!ok) {
            if (bad < 10) log_warn("cache import: line %lld skipped: %s", lineno, why);
            bad++;
        }
        free(ctx);
        free(blob);
        cJSON_Delete(j);
    }
    int rerr = ferror(in);
    free(line);
    free(vec);
    if (skipped) *skipped = bad;
    if (rerr) {
        snprintf(err, errlen, "cannot read the import: %s", strerror(errno));
        return -1;
    }
    cache_put_done(c);
    return n;
}
