/* sysprompt.h - injecting a category's system prompt into a chat request.
 *
 * Modes (config system_prompt_mode): "replace" (default) makes the prompt the
 * whole content of the request's system message; "insert" prepends it to the
 * existing system content, separated by a blank line. With no system message,
 * both add one at the front of `messages`. The system message is the first
 * message with role "system" (or "developer", OpenAI's newer name for it). */
#ifndef SEMROUTER_SYSPROMPT_H
#define SEMROUTER_SYSPROMPT_H
#include <cjson/cJSON.h>

typedef enum { SYSPROMPT_REPLACE = 0, SYSPROMPT_INSERT } sysprompt_mode;

/* Parses "replace" | "insert" (NULL or "" = replace). -1 on anything else. */
int sysprompt_mode_parse(const char *s, sysprompt_mode *out);

/* Applies prompt to req (an OpenAI chat request with a `messages` array).
 * Returns 1 when changed, 0 when prompt is empty, -1 when req has no messages
 * array or on out of memory. */
int sysprompt_apply(cJSON *req, const char *prompt, sysprompt_mode mode);
#endif
