/* texts.c - the texts of a chat request that the guards read (see texts.h). */
#include "api/texts.h"
#include "cache/keys.h"
#include "core/buf.h"

#include <stdlib.h>
#include <string.h>

static void append_capped(buf *view, const buf *text)
{
    if (!text->len || view->len >= CHAT_TEXTS_MAX) return;
    if (view->len) buf_putc(view, '\n');
    size_t room = CHAT_TEXTS_MAX - view->len;
    buf_append(view, text->data, text->len < room ? text->len : room);
}

int chat_texts_extract(const cJSON *request, chat_texts *out)
{
    memset(out, 0, sizeof *out);
    const cJSON *messages = cJSON_GetObjectItemCaseSensitive(request, "messages");
    buf guard, pii, text;
    buf_init(&guard);
    buf_init(&pii);
    buf_init(&text);
    const cJSON *m;
    cJSON_ArrayForEach(m, messages)
    {
        if (!cJSON_IsObject(m)) continue;
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        buf_reset(&text);
        cache_message_text(m, &text, NULL);
        append_capped(&pii, &text);
        if (cJSON_IsString(role) && !strcmp(role->valuestring, "assistant")) continue;
        if (text.len) out->n_messages_scanned++;
        append_capped(&guard, &text);
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
