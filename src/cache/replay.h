/* replay.h - a stored chat.completion replayed as an SSE stream (cache hit on
 * a `stream: true` request, docs/DESIGN.md §4).
 *
 * The stream is what an OpenAI server would have sent: per choice a role
 * chunk, reasoning pieces, content pieces split at word boundaries, a refusal,
 * tool_calls deltas (a header with id/type/name, then argument pieces, all
 * with their index), a finish chunk; then the usage chunk (`choices: []`) when
 * the client asked for `stream_options.include_usage`; then `data: [DONE]`.
 * Every chunk carries the stored id, model and created, so a replay looks
 * exactly like the original answer. */
#ifndef SEMROUTER_CACHE_REPLAY_H
#define SEMROUTER_CACHE_REPLAY_H
#include "core/buf.h"
#include <stddef.h>

/* Appends the SSE replay of completion_json[0..len) to out. Returns 0, or -1
 * when the body is not a chat.completion object with a `choices` array (out is
 * then unchanged) or memory ran out. */
int cache_replay_sse(const char *completion_json, size_t len, int include_usage, buf *out);
#endif
