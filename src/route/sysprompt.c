/* sysprompt.c - system prompt injection (see sysprompt.h). */
#include "route/sysprompt.h"
#include "core/buf.h"
#include <string.h>

int sysprompt_mode_parse(const char *s, sysprompt_mode *out)
{
    if (!s || !*s || !strcmp(s, "replace")) *out = SYSPROMPT_REPLACE;
    else if (!strcmp(s, "insert")) *out = SYSPROMPT_INSERT;
    else return -1;
    return 0;
}

static cJSON *find_system(cJSON *messages)
{
    cJSON *m;
    cJSON_ArrayForEach(m, messages)
    {
        cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        if (cJSON_IsString(role) &&
            (!strcmp(role->valuestring, "system") || !strcmp(role->valuestring, "developer")))
            return m;
    }
    return NULL;
}

int sysprompt_apply(cJSON *req, const char *prompt, sysprompt_mode mode)
{
    cJSON *messages = cJSON_GetObjectItemCaseSensitive(req, "messages");
    if (!cJSON_IsArray(messages)) return -1;
    if (!prompt || !*prompt) return 0;
    cJSON *sys = find_system(messages);
    if (!sys) {
        cJSON *m = cJSON_CreateObject();
        if (!m || !cJSON_AddStringToObject(m, "role", "system") ||
            !cJSON_AddStringToObject(m, "content", prompt)) {
            cJSON_Delete(m);
            return -1;
        }
        if (!cJSON_InsertItemInArray(messages, 0, m)) {
            cJSON_Delete(m);
            return -1;
        }
        return 1;
    }
    cJSON *content = cJSON_GetObjectItemCaseSensitive(sys, "content");
    cJSON *nc = NULL;
    if (mode == SYSPROMPT_INSERT && cJSON_IsString(content)) {
        buf b;
        buf_init(&b);
        buf_puts(&b, prompt);
        if (content->valuestring[0]) buf_puts(&b, "\n\n");
        buf_puts(&b, content->valuestring);
        nc = b.oom ? NULL : cJSON_CreateString(b.data);
        buf_free(&b);
    } else if (mode == SYSPROMPT_INSERT && cJSON_IsArray(content)) {
        /* content parts: put the prompt first as a text part */
        cJSON *part = cJSON_CreateObject();
        if (!part || !cJSON_AddStringToObject(part, "type", "text") ||
            !cJSON_AddStringToObject(part, "text", prompt) ||
            !cJSON_InsertItemInArray(content, 0, part)) {
            cJSON_Delete(part);
            return -1;
        }
        return 1;
    } else {
        nc = cJSON_CreateString(prompt);
    }
    if (!nc) return -1;
    if (content) cJSON_ReplaceItemInObjectCaseSensitive(sys, "content", nc);
    else cJSON_AddItemToObject(sys, "content", nc);
    return 1;
}
