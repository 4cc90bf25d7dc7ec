/* keys.c - exact key, partition key and turn texts of a chat request (keys.h).
 *
 * Both keys hash a canonical JSON form, so key order and formatting never
 * matter. The partition key is built by exclusion rather than from a list of
 * known sampling fields: every top-level field except `messages` and the
 * answer-neutral ones goes in, so a parameter we have never heard of (a new
 * sampling knob, chat_template_kwargs, reasoning_effort) splits partitions
 * instead of causing a false hit. Messages contribute their structure: system
 * and developer messages in full, the role sequence of earlier turns, the
 * non-text parts of any turn, and every message after the last user turn
 * (an assistant prefill changes the answer). The wording of the last user turn
 * and of earlier turns is left to the embedding similarity checks. */
#include "cache/cache.h"
#include "cache/keys.h"
#include "core/buf.h"
#include "core/util.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fields that never change the answer (docs/DESIGN.md §4 plus the OpenAI fields
 * that only label or route the request). */
static const char *const neutral_fields[] = {
    "stream",           "stream_options",   "user", "metadata", "store",
    "prompt_cache_key", "safety_identifier"};

static int is_neutral(const char *k)
{
    for (size_t i = 0; i < sizeof neutral_fields / sizeof *neutral_fields; i++)
        if (!strcmp(k, neutral_fields[i])) return 1;
    return 0;
}

static int cmp_keys(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    return strcmp(x->string ? x->string : "", y->string ? y->string : "");
}

static void put_number(buf *out, double d)
{
    if (isfinite(d) && d == floor(d) && fabs(d) < 9007199254740992.0)
        buf_printf(out, "%lld", (long long)d);
    else if (isfinite(d))
        buf_printf(out, "%.17g", d);
    else
        buf_puts(out, "null");
}

/* Writes an object's members sorted by key; skip_neutral drops the neutral
 * fields and, when skip_messages, `messages` too (top level only). */
static void put_object(const cJSON *v, buf *out, int skip_neutral, int skip_messages)
{
    int n = 0;
    for (const cJSON *c = v->child; c; c = c->next)
        n++;
    const cJSON *small[32];
    const cJSON **items = n <= 32 ? small : malloc((size_t)n * sizeof *items);
    if (!items) {
        out->oom = 1;
        return;
    }
    int k = 0;
    for (const cJSON *c = v->child; c; c = c->next) {
        const char *name = c->string ? c->string : "";
        if (skip_neutral && is_neutral(name)) continue;
        if (skip_messages && !strcmp(name, "messages")) continue;
        items[k++] = c;
    }
    qsort(items, (size_t)k, sizeof *items, cmp_keys);
    buf_putc(out, '{');
    for (int i = 0; i < k; i++) {
        if (i) buf_putc(out, ',');
        const char *name = items[i]->string ? items[i]->string : "";
        buf_json_str(out, name, strlen(name));
        buf_putc(out, ':');
        cache_canonical_json(items[i], out);
    }
    buf_putc(out, '}');
    if (items != small) free(items);
}

void cache_canonical_json(const cJSON *v, buf *out)
{
    if (!v) {
        buf_puts(out, "null");
        return;
    }
    switch (v->type & 0xff) {
    case cJSON_False:
        buf_puts(out, "false");
        break;
    case cJSON_True:
        buf_puts(out, "true");
        break;
    case cJSON_NULL:
        buf_puts(out, "null");
        break;
    case cJSON_Number:
        put_number(out, v->valuedouble);
        break;
    case cJSON_String:
        buf_json_str(out, v->valuestring ? v->valuestring : "",
                     v->valuestring ? strlen(v->valuestring) : 0);
        break;
    case cJSON_Raw:
        buf_puts(out, v->valuestring ? v->valuestring : "null");
        break;
    case cJSON_Array:
        buf_putc(out, '[');
        for (const cJSON *c = v->child; c; c = c->next) {
            if (c != v->child) buf_putc(out, ',');
            cache_canonical_json(c, out);
        }
        buf_putc(out, ']');
        break;
    case cJSON_Object:
        put_object(v, out, 0, 0);
        break;
    default:
        buf_puts(out, "null");
        break;
    }
}

int cache_message_text(const cJSON *msg, buf *text, buf *nontext)
{
    int n_nontext = 0;
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(msg, "content");
    if (cJSON_IsString(content)) {
        buf_puts(text, content->valuestring);
    } else if (cJSON_IsArray(content)) {
        int first = 1;
        for (const cJSON *p = content->child; p; p = p->next) {
            const cJSON *type = cJSON_GetObjectItemCaseSensitive(p, "type");
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(p, "text");
            if (cJSON_IsString(p)) {
                t = p;
            } else if (!cJSON_IsObject(p) || !cJSON_IsString(t) ||
                       (cJSON_IsString(type) && strcmp(type->valuestring, "text") &&
                        strcmp(type->valuestring, "input_text"))) {
                n_nontext++;
                if (nontext) cache_canonical_json(p, nontext);
                continue;
            }
            if (!first) buf_putc(text, '\n');
            buf_puts(text, t->valuestring);
            first = 0;
        }
    } else if (content && !cJSON_IsNull(content)) {
        n_nontext++;
        if (nontext) cache_canonical_json(content, nontext);
    }
    const cJSON *calls = cJSON_GetObjectItemCaseSensitive(msg, "tool_calls");
    if (cJSON_IsArray(calls)) {
        for (const cJSON *c = calls->child; c; c = c->next) {
            const cJSON *fn = cJSON_GetObjectItemCaseSensitive(c, "function");
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(fn, "name");
            const cJSON *args = cJSON_GetObjectItemCaseSensitive(fn, "arguments");
            if (text->len) buf_putc(text, '\n');
            buf_puts(text, cJSON_IsString(name) ? name->valuestring : "");
            buf_putc(text, '(');
            if (cJSON_IsString(args)) buf_puts(text, args->valuestring);
            buf_putc(text, ')');
        }
    }
    return n_nontext;
}

static const char *role_of(const cJSON *msg)
{
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(msg, "role");
    return cJSON_IsString(r) ? r->valuestring : NULL;
}

static int is_instruction_role(const char *role)
{
    return !strcmp(role, "system") || !strcmp(role, "developer");
}

void cache_keys_free(cache_keys *k)
{
    if (!k) return;
    free(k->query);
    for (int i = 0; i < k->n_context; i++)
        free(k->context[i]);
    free(k->context);
    free(k->context_len);
    free(k->context_role);
    memset(k, 0, sizeof *k);
}

int cache_keys_compute(const cJSON *request, const char *tenant, const char *embed_model_id,
                       cache_keys *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!tenant) tenant = "";
    if (!embed_model_id) embed_model_id = "";
    if (!cJSON_IsObject(request)) {
        snprintf(err, errlen, "the request body must be a JSON object");
        return -1;
    }
    const cJSON *messages = cJSON_GetObjectItemCaseSensitive(request, "messages");
    if (!cJSON_IsArray(messages)) {
        snprintf(err, errlen, "'messages' must be an array of message objects");
        return -1;
    }
    int n_msgs = 0, last_user = -1;
    for (const cJSON *m = messages->child; m; m = m->next, n_msgs++) {
        if (!cJSON_IsObject(m) || !role_of(m)) {
            snprintf(err, errlen, "messages[%d] must be an object with a string 'role'", n_msgs);
            return -1;
        }
        if (!strcmp(role_of(m), "user")) last_user = n_msgs;
    }

    buf b, text, nontext;
    buf_init(&b);
    buf_init(&text);
    buf_init(&nontext);

    /* Exact key: tenant + canonical request without the neutral fields. The
     * tenant is length-prefixed so no tenant/body split is ambiguous. */
    buf_printf(&b, "semrouter-exact-v1 %zu:", strlen(tenant));
    buf_puts(&b, tenant);
    put_object(request, &b, 1, 0);
    if (b.oom) goto oom;
    util_sha256_hex(b.data, b.len, out->exact);

    /* Partition key. */
    buf_reset(&b);
    buf_printf(&b, "semrouter-partition-v1 %zu:", strlen(tenant));
    buf_puts(&b, tenant);
    buf_printf(&b, " %zu:", strlen(embed_model_id));
    buf_puts(&b, embed_model_id);
    put_object(request, &b, 1, 1);

    int n_ctx_max = last_user > 0 ? last_user : 0;
    if (n_ctx_max) {
        out->context = calloc((size_t)n_ctx_max, sizeof *out->context);
        out->context_len = calloc((size_t)n_ctx_max, sizeof *out->context_len);
        out->context_role = calloc((size_t)n_ctx_max, sizeof *out->context_role);
        if (!out->context || !out->context_len || !out->context_role) goto oom;
    }
    int i = 0;
    for (const cJSON *m = messages->child; m; m = m->next, i++) {
        const char *role = role_of(m);
        buf_reset(&text);
        buf_reset(&nontext);
        if (is_instruction_role(role)) {
            buf_puts(&b, "|S");
            cache_canonical_json(m, &b);
        } else if (i < last_user) {
            int nt = cache_message_text(m, &text, &nontext);
            buf_puts(&b, "|C");
            buf_json_str(&b, role, strlen(role));
            if (nt) buf_append(&b, nontext.data, nontext.len);
            if (text.oom) goto oom;
            out->context_len[out->n_context] = text.len;
            out->context_role[out->n_context] = !strcmp(role, "user")        ? CACHE_ROLE_USER
                                                : !strcmp(role, "assistant") ? CACHE_ROLE_ASSISTANT
                                                                             : CACHE_ROLE_OTHER;
            out->context[out->n_context++] = buf_steal(&text);
            if (!out->context[out->n_context - 1]) {
                out->context[out->n_context - 1] = strdup("");
                if (!out->context[out->n_context - 1]) goto oom;
            }
        } else if (i == last_user) {
            int nt = cache_message_text(m, &text, &nontext);
            buf_puts(&b, "|U");
            if (nt) buf_append(&b, nontext.data, nontext.len);
            /* the text is kept even beside an image: guards and routing read it */
            if (text.oom) goto oom;
            out->semantic_ok = !nt;
            out->query_len = text.len;
            out->query = buf_steal(&text);
            if (!out->query) out->query = strdup("");
            if (!out->query) goto oom;
        } else {
            buf_puts(&b, "|A");
            cache_canonical_json(m, &b);
        }
    }
    if (b.oom || nontext.oom) goto oom;
    util_sha256_hex(b.data, b.len, out->partition);
    buf_free(&b);
    buf_free(&text);
    buf_free(&nontext);
    return 0;
oom:
    buf_free(&b);
    buf_free(&text);
    buf_free(&nontext);
    cache_keys_free(out);
    snprintf(err, errlen, "out of memory while computing cache keys");
    return -1;
}
