/* assemble.h - rebuilds a chat.completion from an upstream SSE stream while
 * the bytes are passed through to the client, so a streamed answer can be
 * cached (docs/DESIGN.md §4: stored only after a clean end).
 *
 * Feed the raw upstream bytes in whatever pieces they arrive (a line or a
 * UTF-8 sequence may be cut anywhere). At the end, cache_assembler_finish()
 * says whether the stream ended cleanly — `data: [DONE]` seen, at least one
 * choice, every choice has a finish_reason, no error event, no malformed
 * chunk, not over the size limit — and writes the chat.completion JSON:
 * content, reasoning_content/reasoning, refusal, tool_calls merged by index
 * with arguments concatenated, finish_reason per choice, usage, id/model/
 * created/system_fingerprint of the stream. */
#ifndef SEMROUTER_CACHE_ASSEMBLE_H
#define SEMROUTER_CACHE_ASSEMBLE_H
#include "core/buf.h"
#include <stddef.h>

typedef struct cache_assembler cache_assembler;

/* max_bytes bounds the text kept (0 = 8 MiB); a longer answer is not cached.
 * Returns NULL on allocation failure. */
cache_assembler *cache_assembler_new(size_t max_bytes);
void cache_assembler_free(cache_assembler *a);

/* Consumes the next bytes of the stream. Returns 0, or -1 once the stream
 * can no longer be cached (error event, malformed chunk, too big); further
 * feeding is harmless and cheap. */
int cache_assembler_feed(cache_assembler *a, const char *data, size_t len);

/* Ends the stream. Returns 1 and appends the chat.completion JSON to out when
 * it ended cleanly; returns 0 (out unchanged) otherwise, and
 * cache_assembler_error() names the reason. */
int cache_assembler_finish(cache_assembler *a, buf *out);

/* 1 once `data: [DONE]` has been seen. */
int cache_assembler_done(const cache_assembler *a);
/* Why the stream is not cacheable ("" while it still is). */
const char *cache_assembler_error(const cache_assembler *a);
#endif
