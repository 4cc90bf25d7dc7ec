/* keys.h - cache keys of an OpenAI chat request (docs/DESIGN.md §4).
 *
 * From one parsed request the cache needs:
 *   - the exact key: SHA-256 of the canonical request (object keys sorted
 *     recursively, `stream`, `stream_options`, `user`, `metadata` and the other
 *     answer-neutral fields left out) plus the tenant;
 *   - the partition key: SHA-256 of everything that changes the answer except
 *     the user's wording (tenant, model, embedding model id, system/developer
 *     messages, tools, tool_choice, response_format, sampling parameters, any
 *     other request field, the roles of earlier turns);
 *   - the text of the last user turn (embedded for the semantic tier);
 *   - the texts of the earlier turns (embedded for the context check).
 * Keys are lowercase hex strings so they can travel into logs, headers and
 * JSONL exports unchanged. */
#ifndef SEMROUTER_CACHE_KEYS_H
#define SEMROUTER_CACHE_KEYS_H
#include <cjson/cJSON.h>
#include <stddef.h>

typedef struct cache_keys {
    char exact[65];     /* hex SHA-256 */
    char partition[65]; /* hex SHA-256 */
    /* 1 when the semantic tier may be used: there is a last user turn and it
     * holds text only. 0 for images/audio/files in the last user turn or no
     * user turn at all (the exact tier still works). */
    int semantic_ok;
    /* Last user turn text (text parts joined by "\n"), also when the turn has
     * non-text parts (then semantic_ok is 0 but guards and routing still read
     * it); NULL only when there is no user turn. */
    char *query;
    size_t query_len;
    int n_context;       /* earlier turns: user/assistant/tool messages before the last user turn */
    char **context;      /* n_context malloc'd texts */
    size_t *context_len; /* their lengths */
    unsigned char *context_role; /* their roles: CACHE_ROLE_* of cache.h (user, assistant, other) */
} cache_keys;

/* Computes the keys of request (a chat completion request object). tenant may
 * be NULL (= ""), embed_model_id may be NULL (= ""). Returns 0, or -1 with a
 * sentence in err when the request is not an object or `messages` is not an
 * array of message objects. On success the caller frees with cache_keys_free. */
int cache_keys_compute(const cJSON *request, const char *tenant, const char *embed_model_id,
                       cache_keys *out, char *err, size_t errlen);
void cache_keys_free(cache_keys *k);

/* Appends the text of one chat message to text: the content string, or its
 * text parts joined by "\n"; for assistant tool calls "name(arguments)" lines
 * follow. Non-text parts (images, audio, files) are written canonically to
 * nontext (when not NULL) and counted: the return value. */
struct buf;
int cache_message_text(const cJSON *msg, struct buf *text, struct buf *nontext);

/* Appends the canonical JSON of v to out: object keys sorted by bytes,
 * recursively, no whitespace, integers printed without a fraction, other
 * numbers with 17 significant digits. Two JSON texts that differ only in key
 * order or formatting get the same canonical form. */
struct buf;
void cache_canonical_json(const cJSON *v, struct buf *out);
#endif
