/* openai_error.h - OpenAI error objects: {"error":{"message","type","param","code"}}.
 *
 * Every error a client can cause is answered through here, so the shape and the
 * status/type pairing stay the same across endpoints. It lives in core, below both the
 * HTTP server (its own 4xx answers) and the API routes, so neither includes the other. */
#ifndef SEMROUTER_CORE_OPENAI_ERROR_H
#define SEMROUTER_CORE_OPENAI_ERROR_H
#include "core/buf.h"

/* Appends the error object to out. param and code may be NULL (written as null).
 * type is an OpenAI error type: "invalid_request_error", "not_found_error",
 * "authentication_error", "rate_limit_error", "server_error", "upstream_error". */
void api_error_json(buf *out, const char *message, const char *type, const char *param,
                    const char *code);

/* The conventional OpenAI error type for an HTTP status (400 -> invalid_request_error, ...). */
const char *api_error_type_for_status(int status);
#endif
