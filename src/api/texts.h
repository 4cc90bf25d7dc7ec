/* texts.h - the texts of a chat request that the guards read.
 *
 * The cache keys (cache/keys.h) give the last user turn, which routing and the
 * semantic tier use. The guards need more: an attack or a secret in an earlier
 * turn, a system/developer message, a tool result or a text part beside an
 * image reaches the model just the same. Two views are built once per request,
 * from the client's messages (before routing adds its own system prompt):
 *   - guard_text: the text of every system, developer, user, tool and function
 *     message (what the prompt guard scans; assistant turns are the models' own
 *     words and are left out, as they would flag quoted refusals);
 *   - pii_text: the text of every message, assistant turns and tool-call
 *     arguments included (what the PII policy must keep from a model).
 * Texts are joined by "\n"; each view is capped at CHAT_TEXTS_MAX bytes (the
 * scanners are linear; the cap bounds the work per request). */
#ifndef SEMROUTER_API_TEXTS_H
#define SEMROUTER_API_TEXTS_H
#include <cjson/cJSON.h>
#include <stddef.h>

#define CHAT_TEXTS_MAX (4u << 20)

typedef struct chat_texts {
    char *guard_text; /* NUL-terminated, never NULL after a successful extract */
    size_t guard_len;
    char *pii_text;
    size_t pii_len;
    int n_messages_scanned; /* messages that contributed text to guard_text */
    /* Where the last user turn (the text the cache keys call the query) sits in
     * guard_text: guard_text[query_at, query_at + query_len). query_len = 0 when it
     * contributed nothing (no user turn, no text, or past the cap). The prompt guard
     * checks that span with its vector and the rest by patterns, each byte once. */
    size_t query_at, query_len;
} chat_texts;

/* Builds both views from request's `messages`. Returns 0, or -1 when out of
 * memory (nothing to free then). Messages that are not objects are skipped
 * (validation rejects them before this runs). */
int chat_texts_extract(const cJSON *request, chat_texts *out);
void chat_texts_free(chat_texts *t);
#endif
