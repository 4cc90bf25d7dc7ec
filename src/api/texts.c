/* texts.c - the texts of a chat request that the guards read (see texts.h). */
#include "api/texts.h"
#include "cache/keys.h"
#include "core/buf.h"

#include <stdlib.h>
#include <string.h>

/* Appends text (after a "\n" when view is not empty); returns where it starts
 * and sets *n to the bytes kept (0 when nothing was). */
static size_t append_capped(buf *view, const buf *text, size_t *n)
{
    *n = 0;
    if (!text->len || view->len >= CHAT_TEXTS_MAX) return view->len;
    if (view->len) buf_putc(view, '\n');
    size_t at = view->len;
    size_t room = CHAT_TEXTS_MAX > view->len ? CHAT_TEXTS_MAX - view->len : 0;
    *n = text->len < room ? text->len : room;
    buf_append(view, text->data, *n);
    return at;
}

int chat_texts_extract(const cJSON *request, chat_texts *out)
{
    memset(out, 0, sizeof *out);
    const cJSON *messages = cJSON_GetObjectItemCaseSensitive(request, "messages");
    buf guard, pii, text;
    buf_init(&guard);
    buf_init(&pii);
    buf_init(&text);
    const cJSON *m, *last_user = NULL;
    cJSON_ArrayForEach(m, messages)
    {
        const cJSON *role = cJSON_IsObject(m) ? cJSON_GetObjectItemCaseSensitive(m, "role") : NULL;
        if (cJSON_IsString(role) && !strcmp(role->valuestring, "user")) last_user = m;
    }
    cJSON_ArrayForEach(m, messages)
    {
        if (!cJSON_IsObject(m)) continue;
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        buf_reset(&text);
        cache_message_text(m, &text, NULL);
        size_t kept;
        append_capped(&pii, &text, &kept);
        if (cJSON_IsString(role) && !strcmp(role->valuestring, "assistant")) continue;
        if (text.len) out->n_messages_scanned++;
        size_t at = append_capped(&guard, &text, &kept);
        if (m == last_user && kept) out->query_at = at, out->query_len = kept;
    }
    int oom = guard.oom || pii.oom || text.oom;
    buf_free(&text);
    out->guard_len = guard.len;
    out->pii_len = pii.len;
    out->guard_text = oom ? NULL : guard.len ? buf_steal(&guard) : strdup("");
    out->pii_text = oom ? NULL : pii.len ? buf_steal(&pii) : strdup("");
    buf_free(&guard);
    buf_free(&pii);
    if (!out->guard_text || !out->pii_text) {
        chat_texts_free(out);
        return -1;
    }
    return 0;
}

void chat_texts_free(chat_texts *t)
{
    if (!t) return;
    free(t->guard_text);
    free(t->pii_text);
    memset(t, 0, sizeof *t);
}
