/* openai_error.c - OpenAI error objects (see openai_error.h). */
#include "core/openai_error.h"
#include <string.h>

void api_error_json(buf *out, const char *message, const char *type, const char *param,
                    const char *code)
{
    buf_puts(out, "{\"error\":{\"message\":");
    buf_json_str(out, message, strlen(message));
    buf_puts(out, ",\"type\":");
    buf_json_str(out, type, strlen(type));
    buf_puts(out, ",\"param\":");
    if (param) buf_json_str(out, param, strlen(param));
    else buf_puts(out, "null");
    buf_puts(out, ",\"code\":");
    if (code) buf_json_str(out, code, strlen(code));
    else buf_puts(out, "null");
    buf_puts(out, "}}");
}

const char *api_error_type_for_status(int status)
{
    switch (status) {
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 429: return "rate_limit_error";
    default: break;
    }
    if (status >= 500) return "server_error";
    return "invalid_request_error";
}
