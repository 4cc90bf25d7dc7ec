/* blocked.c - bodies of guard-blocked responses (see blocked.h). Hand-written
 * JSON: the shape is fixed and small, and buf_json_str escapes the text. */
#include "guard/blocked.h"

#include <inttypes.h>
#include <string.h>

#include "core/sse.h"
#include "core/util.h"

void blocked_jailbreak_message(buf *out, const char *detail, float confidence)
{
    buf_printf(out,
               "I cannot process this request because it appears to be an attempt to bypass my "
               "safety guidelines (type: %s, confidence: %.3f). Please rephrase your request in a "
               "way that complies with the usage policies.",
               detail && *detail ? detail : "jailbreak", (double)confidence);
}

void blocked_pii_message(buf *out, const char *pii_types, const char *model)
{
    buf_printf(out,
               "I cannot process this request because it contains personally identifiable "
               "information (%s) that is not allowed for the '%s' model by the configured privacy "
               "policy. Please remove the sensitive information and try again.",
               pii_types && *pii_types ? pii_types : "PII", model && *model ? model : "selected");
}

static void head(buf *out, blocked_kind kind, const char *model, int64_t created, int chunk)
{
    if (created <= 0) created = util_unix_time();
    buf_printf(out,
               "{\"id\":\"chatcmpl-%s-%" PRId64 "\",\"object\":\"%s\",\"created\":%" PRId64
               ",\"model\":",
               kind == BLOCKED_JAILBREAK ? "jailbreak-blocked" : "pii-violation", created,
               chunk ? "chat.completion.chunk" : "chat.completion", created);
    const char *m =
        kind == BLOCKED_JAILBREAK ? "security-filter" : (model && *model ? model : "unknown");
    buf_json_str(out, m, strlen(m));
}

void blocked_response_json(buf *out, blocked_kind kind, const char *model, const char *message,
                           int64_t created)
{
    if (!message) message = "";
    head(out, kind, model, created, 0);
    buf_puts(out, ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":");
    buf_json_str(out, message, strlen(message));
    buf_puts(out, ",\"refusal\":null},\"logprobs\":null,\"finish_reason\":\"content_filter\"}],"
                  "\"usage\":{\"prompt_tokens\":0,\"completion_tokens\":0,\"total_tokens\":0}}");
}

void blocked_response_sse(buf *out, blocked_kind kind, const char *model, const char *message,
                          int64_t created)
{
    if (!message) message = "";
    sse_data_begin(out);
    head(out, kind, model, created, 1);
    buf_puts(out, ",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":");
    buf_json_str(out, message, strlen(message));
    buf_puts(out, "},\"logprobs\":null,\"finish_reason\":\"content_filter\"}]}");
    sse_event_end(out);
    sse_done(out);
}
