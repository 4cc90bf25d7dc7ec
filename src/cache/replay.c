/* replay.c - stored chat.completion -> SSE chunks (see replay.h).
 *
 * Content is cut into word-sized pieces (leading whitespace + one word) so a
 * client sees a natural stream; very long answers are grouped into at most
 * MAX_PIECES pieces so a replay never costs more than a few hundred chunks.
 * Pieces end only at ASCII whitespace or at UTF-8 sequence boundaries, so every
 * chunk holds valid UTF-8. */
#include "cache/replay.h"
#include "core/sse.h"
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#define MAX_PIECES 256
#define ARG_PIECE 64

typedef struct replay_ctx {
    buf *out;
    const char *id, *model, *fingerprint;
    long long created;
    int include_usage;
} replay_ctx;

static void chunk_begin(replay_ctx *r)
{
    sse_data_begin(r->out);
    buf_puts(r->out, "{\"id\":");
    buf_json_str(r->out, r->id, strlen(r->id));
    buf_printf(r->out,
               ",\"object\":\"chat.completion.chunk\",\"created\":%lld,\"model\":", r->created);
    buf_json_str(r->out, r->model, strlen(r->model));
    if (r->fingerprint) {
        buf_puts(r->out, ",\"system_fingerprint\":");
        buf_json_str(r->out, r->fingerprint, strlen(r->fingerprint));
    }
}

/* Opens a one-choice chunk up to the delta object's opening brace content. */
static void choice_begin(replay_ctx *r, int index)
{
    chunk_begin(r);
    buf_printf(r->out, ",\"choices\":[{\"index\":%d,\"delta\":{", index);
}

static void choice_end(replay_ctx *r, const char *finish_reason)
{
    buf_puts(r->out, "},\"logprobs\":null,\"finish_reason\":");
    if (finish_reason)
        buf_json_str(r->out, finish_reason, strlen(finish_reason));
    else
        buf_puts(r->out, "null");
    buf_puts(r->out, "}]");
    if (r->include_usage) buf_puts(r->out, ",\"usage\":null");
    buf_putc(r->out, '}');
    sse_event_end(r->out);
}

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

/* End of the word starting at s[i]: leading whitespace, then non-whitespace. */
static size_t word_end(const char *s, size_t n, size_t i)
{
    while (i < n && is_space((unsigned char)s[i]))
        i++;
    while (i < n && !is_space((unsigned char)s[i]))
        i++;
    return i;
}

static void text_pieces(replay_ctx *r, int index, const char *field, const char *s)
{
    size_t n = strlen(s);
    size_t words = 0;
    for (size_t i = 0; i < n; i = word_end(s, n, i))
        words++;
    size_t per_piece = words > MAX_PIECES ? (words + MAX_PIECES - 1) / MAX_PIECES : 1;
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        for (size_t w = 0; w < per_piece && j < n; w++)
            j = word_end(s, n, j);
        choice_begin(r, index);
        buf_printf(r->out, "\"%s\":", field);
        buf_json_str(r->out, s + i, j - i);
        choice_end(r, NULL);
        i = j;
    }
}

static const char *str_item(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void tool_call_deltas(replay_ctx *r, int index, const cJSON *calls)
{
    int k = 0;
    for (const cJSON *c = calls->child; c; c = c->next, k++) {
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(c, "function");
        const char *id = str_item(c, "id"), *type = str_item(c, "type");
        const char *name = str_item(fn, "name"), *args = str_item(fn, "arguments");
        const cJSON *ix = cJSON_GetObjectItemCaseSensitive(c, "index");
        int tindex = cJSON_IsNumber(ix) ? ix->valueint : k;
        choice_begin(r, index);
        buf_printf(r->out, "\"tool_calls\":[{\"index\":%d", tindex);
        if (id) {
            buf_puts(r->out, ",\"id\":");
            buf_json_str(r->out, id, strlen(id));
        }
        buf_puts(r->out, ",\"type\":");
        buf_json_str(r->out, type ? type : "function", strlen(type ? type : "function"));
        buf_puts(r->out, ",\"function\":{\"name\":");
        buf_json_str(r->out, name ? name : "", name ? strlen(name) : 0);
        buf_puts(r->out, ",\"arguments\":\"\"}}]");
        choice_end(r, NULL);
        size_t n = args ? strlen(args) : 0, i = 0;
        while (i < n) {
            size_t j = i + ARG_PIECE < n ? i + ARG_PIECE : n;
            while (j < n && ((unsigned char)args[j] & 0xC0) == 0x80)
                j++;
            choice_begin(r, index);
            buf_printf(r->out,
                       "\"tool_calls\":[{\"index\":%d,\"function\":{\"arguments\":", tindex);
            buf_json_str(r->out, args + i, j - i);
            buf_puts(r->out, "}}]");
            choice_end(r, NULL);
            i = j;
        }
    }
}

int cache_replay_sse(const char *completion_json, size_t len, int include_usage, buf *out)
{
    cJSON *root = cJSON_ParseWithLength(completion_json, len);
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
    if (!cJSON_IsObject(root) || !cJSON_IsArray(choices)) {
        cJSON_Delete(root);
        return -1;
    }
    size_t start = out->len;
    const cJSON *created = cJSON_GetObjectItemCaseSensitive(root, "created");
    replay_ctx r = {.out = out,
                    .id = str_item(root, "id") ? str_item(root, "id") : "",
                    .model = str_item(root, "model") ? str_item(root, "model") : "",
                    .fingerprint = str_item(root, "system_fingerprint"),
                    .created = cJSON_IsNumber(created) ? (long long)created->valuedouble : 0,
                    .include_usage = include_usage};
    int k = 0;
    for (const cJSON *ch = choices->child; ch; ch = ch->next, k++) {
        const cJSON *ix = cJSON_GetObjectItemCaseSensitive(ch, "index");
        int index = cJSON_IsNumber(ix) ? ix->valueint : k;
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(ch, "message");
        const char *role = str_item(msg, "role");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(msg, "content");
        choice_begin(&r, index);
        buf_puts(out, "\"role\":");
        buf_json_str(out, role ? role : "assistant", strlen(role ? role : "assistant"));
        buf_puts(out, cJSON_IsString(content) ? ",\"content\":\"\"" : ",\"content\":null");
        choice_end(&r, NULL);
        static const char *const text_fields[] = {"reasoning_content", "reasoning", "content",
                                                  "refusal"};
        for (size_t f = 0; f < sizeof text_fields / sizeof *text_fields; f++) {
            const char *s = str_item(msg, text_fields[f]);
            if (s) text_pieces(&r, index, text_fields[f], s);
        }
        const cJSON *calls = cJSON_GetObjectItemCaseSensitive(msg, "tool_calls");
        if (cJSON_IsArray(calls)) tool_call_deltas(&r, index, calls);
        const char *finish = str_item(ch, "finish_reason");
        choice_begin(&r, index);
        choice_end(&r, finish ? finish : "stop");
    }
    const cJSON *usage = cJSON_GetObjectItemCaseSensitive(root, "usage");
    if (include_usage && cJSON_IsObject(usage)) {
        char *u = cJSON_PrintUnformatted(usage);
        if (!u) out->oom = 1;
        chunk_begin(&r);
        buf_puts(out, ",\"choices\":[],\"usage\":");
        buf_puts(out, u ? u : "null");
        buf_putc(out, '}');
        sse_event_end(out);
        cJSON_free(u);
    }
    sse_done(out);
    cJSON_Delete(root);
    if (out->oom) {
        if (out->data) {
            out->len = start;
            out->data[start] = 0;
        }
        return -1;
    }
    return 0;
}
