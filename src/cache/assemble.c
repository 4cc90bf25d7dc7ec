/* assemble.c - incremental SSE -> chat.completion (see assemble.h).
 *
 * Two layers: the SSE reader (core/sse.h: line ends, cuts across feeds, data
 * lines joined, events) and a chunk merger that parses each event's JSON with
 * cJSON and appends its deltas to per-choice state. Chunks are small, so
 * parsing each one costs little next to the network; the merged text lives in
 * growable buffers, never re-parsed. */
#include "cache/assemble.h"
#include "core/array.h"
#include "core/sse.h"
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct asm_tool_call {
    int index;
    char *id, *type;
    buf name, args;
} asm_tool_call;

typedef struct asm_choice {
    int index;
    char *role, *finish_reason;
    /* content, reasoning_content, reasoning, refusal; seen[] = a non-null delta arrived */
    buf text[4];
    int seen[4];
    asm_tool_call *calls;
    int n_calls;
    size_t cap_calls;
} asm_choice;

static const char *const text_fields[4] = {"content", "reasoning_content", "reasoning", "refusal"};

struct cache_assembler {
    size_t max_bytes, kept_bytes;
    sse_reader reader;
    int done, failed;
    char error[160];
    char *id, *model, *fingerprint;
    long long created;
    int has_created;
    cJSON *usage;
    asm_choice *choices;
    int n_choices;
    size_t cap_choices;
};

static int on_event(void *arg, const char *event, const char *data, size_t len);

cache_assembler *cache_assembler_new(size_t max_bytes)
{
    cache_assembler *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    a->max_bytes = max_bytes ? max_bytes : (size_t)8 << 20;
    sse_reader_init(&a->reader, a->max_bytes + 65536, on_event, a);
    return a;
}

void cache_assembler_free(cache_assembler *a)
{
    if (!a) return;
    sse_reader_free(&a->reader);
    free(a->id);
    free(a->model);
    free(a->fingerprint);
    cJSON_Delete(a->usage);
    for (int i = 0; i < a->n_choices; i++) {
        asm_choice *c = &a->choices[i];
        free(c->role);
        free(c->finish_reason);
        for (int f = 0; f < 4; f++)
            buf_free(&c->text[f]);
        for (int t = 0; t < c->n_calls; t++) {
            free(c->calls[t].id);
            free(c->calls[t].type);
            buf_free(&c->calls[t].name);
            buf_free(&c->calls[t].args);
        }
        free(c->calls);
    }
    free(a->choices);
    free(a);
}

static void fail(cache_assembler *a, const char *why)
{
    if (a->failed) return;
    a->failed = 1;
    snprintf(a->error, sizeof a->error, "%s", why);
}

const char *cache_assembler_error(const cache_assembler *a)
{
    return a->error;
}
int cache_assembler_done(const cache_assembler *a)
{
    return a->done;
}

static void set_str(char **dst, const cJSON *v)
{
    if (!cJSON_IsString(v)) return;
    char *s = strdup(v->valuestring);
    if (!s) return;
    free(*dst);
    *dst = s;
}

static asm_choice *choice_at(cache_assembler *a, int index)
{
    for (int i = 0; i < a->n_choices; i++)
        if (a->choices[i].index == index) return &a->choices[i];
    if (array_grow(&a->choices, &a->cap_choices, (size_t)a->n_choices + 1, sizeof *a->choices, 2))
        return NULL;
    asm_choice *c = &a->choices[a->n_choices++];
    memset(c, 0, sizeof *c);
    c->index = index;
    return c;
}

static asm_tool_call *call_at(asm_choice *c, int index)
{
    for (int i = 0; i < c->n_calls; i++)
        if (c->calls[i].index == index) return &c->calls[i];
    if (array_grow(&c->calls, &c->cap_calls, (size_t)c->n_calls + 1, sizeof *c->calls, 2))
        return NULL;
    asm_tool_call *t = &c->calls[c->n_calls++];
    memset(t, 0, sizeof *t);
    t->index = index;
    return t;
}

static void keep(cache_assembler *a, buf *b, const char *s)
{
    size_t n = strlen(s);
    a->kept_bytes += n;
    if (a->kept_bytes > a->max_bytes) {
        fail(a, "the answer is larger than the cache's size limit");
        return;
    }
    buf_append(b, s, n);
    if (b->oom) fail(a, "out of memory while assembling the stream");
}

static void merge_delta(cache_assembler *a, asm_choice *c, const cJSON *delta)
{
    set_str(&c->role, cJSON_GetObjectItemCaseSensitive(delta, "role"));
    for (int f = 0; f < 4; f++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(delta, text_fields[f]);
        if (!cJSON_IsString(v)) continue;
        c->seen[f] = 1;
        keep(a, &c->text[f], v->valuestring);
    }
    const cJSON *calls = cJSON_GetObjectItemCaseSensitive(delta, "tool_calls");
    if (!cJSON_IsArray(calls)) return;
    int k = 0;
    for (const cJSON *d = calls->child; d; d = d->next, k++) {
        const cJSON *ix = cJSON_GetObjectItemCaseSensitive(d, "index");
        asm_tool_call *t = call_at(c, cJSON_IsNumber(ix) ? ix->valueint : k);
        if (!t) {
            fail(a, "out of memory while assembling the stream");
            return;
        }
        set_str(&t->id, cJSON_GetObjectItemCaseSensitive(d, "id"));
        set_str(&t->type, cJSON_GetObjectItemCaseSensitive(d, "type"));
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(d, "function");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(fn, "name");
        const cJSON *args = cJSON_GetObjectItemCaseSensitive(fn, "arguments");
        if (cJSON_IsString(name)) keep(a, &t->name, name->valuestring);
        if (cJSON_IsString(args)) keep(a, &t->args, args->valuestring);
    }
}

static void handle_event(cache_assembler *a, const char *data, size_t len)
{
    if (a->failed || a->done) return;
    if (sse_is_done(data, len)) {
        a->done = 1;
        return;
    }
    cJSON *chunk = cJSON_ParseWithLength(data, len);
    if (!cJSON_IsObject(chunk)) {
        cJSON_Delete(chunk);
        fail(a, "a stream chunk is not a JSON object");
        return;
    }
    if (cJSON_GetObjectItemCaseSensitive(chunk, "error")) {
        cJSON_Delete(chunk);
        fail(a, "the stream carried an error event");
        return;
    }
    if (!a->id) set_str(&a->id, cJSON_GetObjectItemCaseSensitive(chunk, "id"));
    if (!a->model) set_str(&a->model, cJSON_GetObjectItemCaseSensitive(chunk, "model"));
    if (!a->fingerprint)
        set_str(&a->fingerprint, cJSON_GetObjectItemCaseSensitive(chunk, "system_fingerprint"));
    const cJSON *created = cJSON_GetObjectItemCaseSensitive(chunk, "created");
    /* a number outside long long (3e59, NaN) is no time: left out rather than converted */
    if (!a->has_created && cJSON_IsNumber(created) && created->valuedouble >= -9.2e18 &&
        created->valuedouble <= 9.2e18) {
        a->created = (long long)created->valuedouble;
        a->has_created = 1;
    }
    cJSON *usage = cJSON_GetObjectItemCaseSensitive(chunk, "usage");
    if (cJSON_IsObject(usage)) {
        cJSON_Delete(a->usage);
        a->usage = cJSON_DetachItemViaPointer(chunk, usage);
    }
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(chunk, "choices");
    int k = 0;
    for (const cJSON *ch = cJSON_IsArray(choices) ? choices->child : NULL; ch; ch = ch->next, k++) {
        const cJSON *ix = cJSON_GetObjectItemCaseSensitive(ch, "index");
        asm_choice *c = choice_at(a, cJSON_IsNumber(ix) ? ix->valueint : k);
        if (!c) {
            fail(a, "out of memory while assembling the stream");
            break;
        }
        const cJSON *delta = cJSON_GetObjectItemCaseSensitive(ch, "delta");
        if (cJSON_IsObject(delta)) merge_delta(a, c, delta);
        set_str(&c->finish_reason, cJSON_GetObjectItemCaseSensitive(ch, "finish_reason"));
    }
    cJSON_Delete(chunk);
}

/* One SSE event (core/sse.h); nonzero stops the reader (failed or done). */
static int on_event(void *arg, const char *event, const char *data, size_t len)
{
    cache_assembler *a = arg;
    if (event && !strcmp(event, "error")) fail(a, "the stream carried an error event");
    else if (data) handle_event(a, data, len);
    return a->failed || a->done;
}

int cache_assembler_feed(cache_assembler *a, const char *p, size_t len)
{
    if (a->failed || a->done) return a->failed ? -1 : 0;
    if (sse_reader_feed(&a->reader, p, len) < 0 && sse_reader_error(&a->reader)[0])
        fail(a, sse_reader_error(&a->reader));
    return a->failed ? -1 : 0;
}

static int cmp_choice(const void *x, const void *y)
{
    const asm_choice *a = x, *b = y;
    return (a->index > b->index) - (a->index < b->index);
}

static int cmp_call(const void *x, const void *y)
{
    const asm_tool_call *a = x, *b = y;
    return (a->index > b->index) - (a->index < b->index);
}

static void put_str(buf *out, const char *s)
{
    if (s)
        buf_json_str(out, s, strlen(s));
    else
        buf_puts(out, "null");
}

int cache_assembler_finish(cache_assembler *a, buf *out)
{
    /* A last event without its blank line still counts ([DONE] at EOF). */
    if (!a->failed && !a->done && sse_reader_finish(&a->reader) < 0 && sse_reader_error(&a->reader)[0])
        fail(a, sse_reader_error(&a->reader));
    if (!a->failed && !a->done) fail(a, "the stream ended before data: [DONE]");
    if (!a->failed && a->n_choices == 0) fail(a, "the stream carried no choices");
    for (int i = 0; !a->failed && i < a->n_choices; i++)
        if (!a->choices[i].finish_reason) fail(a, "a choice ended without a finish_reason");
    if (a->failed) return 0;

    qsort(a->choices, (size_t)a->n_choices, sizeof *a->choices, cmp_choice);
    size_t start = out->len;
    buf_puts(out, "{\"id\":");
    put_str(out, a->id ? a->id : "");
    buf_printf(out, ",\"object\":\"chat.completion\",\"created\":%lld,\"model\":", a->created);
    put_str(out, a->model ? a->model : "");
    if (a->fingerprint) {
        buf_puts(out, ",\"system_fingerprint\":");
        put_str(out, a->fingerprint);
    }
    buf_puts(out, ",\"choices\":[");
    for (int i = 0; i < a->n_choices; i++) {
        asm_choice *c = &a->choices[i];
        if (i) buf_putc(out, ',');
        buf_printf(out, "{\"index\":%d,\"message\":{\"role\":", c->index);
        put_str(out, c->role ? c->role : "assistant");
        buf_puts(out, ",\"content\":");
        /* An empty content next to tool calls is null, as in a non-stream answer
         * (servers differ in the role chunk: "" or null). */
        if (c->seen[0] && (c->text[0].len || !c->n_calls))
            buf_json_str(out, c->text[0].data ? c->text[0].data : "", c->text[0].len);
        else
            buf_puts(out, "null");
        for (int f = 1; f < 4; f++) {
            if (!c->seen[f]) continue;
            buf_printf(out, ",\"%s\":", text_fields[f]);
            buf_json_str(out, c->text[f].data ? c->text[f].data : "", c->text[f].len);
        }
        /* the chat.completion schema requires refusal (null when there is none) */
        if (!c->seen[3]) buf_puts(out, ",\"refusal\":null");
        if (c->n_calls) {
            qsort(c->calls, (size_t)c->n_calls, sizeof *c->calls, cmp_call);
            buf_puts(out, ",\"tool_calls\":[");
            for (int t = 0; t < c->n_calls; t++) {
                asm_tool_call *tc = &c->calls[t];
                if (t) buf_putc(out, ',');
                buf_puts(out, "{\"id\":");
                put_str(out, tc->id ? tc->id : "");
                buf_puts(out, ",\"type\":");
                put_str(out, tc->type ? tc->type : "function");
                buf_puts(out, ",\"function\":{\"name\":");
                buf_json_str(out, tc->name.data ? tc->name.data : "", tc->name.len);
                buf_puts(out, ",\"arguments\":");
                buf_json_str(out, tc->args.data ? tc->args.data : "", tc->args.len);
                buf_puts(out, "}}");
            }
            buf_putc(out, ']');
        }
        buf_puts(out, "},\"logprobs\":null,\"finish_reason\":");
        put_str(out, c->finish_reason);
        buf_putc(out, '}');
    }
    buf_putc(out, ']');
    if (a->usage) {
        char *u = cJSON_PrintUnformatted(a->usage);
        if (!u) out->oom = 1;
        buf_puts(out, ",\"usage\":");
        buf_puts(out, u ? u : "null");
        cJSON_free(u);
    }
    buf_putc(out, '}');
    if (out->oom) {
        fail(a, "out of memory while writing the assembled answer");
        if (out->data) out->data[out->len = start] = 0;
        return 0;
    }
    return 1;
}
