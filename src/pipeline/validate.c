/* validate.c - stage 1: is this a chat completion request we can serve?
 *
 * Content type, a non-empty UTF-8 JSON object, `model` (a string naming the
 * automatic model or a configured one), `messages` (objects with a known role
 * and string/array/null content), `stream` (boolean), the API key (-> tenant),
 * the tenant's rate and concurrency limits (429) and the request's Cache-Control. Every failure is an OpenAI error object
 * with the parameter named; nothing past this stage re-checks the shape. */
#include "pipeline/chat.h"
#include "api/auth.h"
#include "core/util.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *check_messages(const cJSON *messages, char *msg, size_t msglen)
{
    static const char *roles[] = {"system", "developer", "user", "assistant", "tool", "function"};
    if (!cJSON_IsArray(messages)) {
        snprintf(msg, msglen, "'messages' must be an array of message objects.");
        return "messages";
    }
    if (cJSON_GetArraySize(messages) == 0) {
        snprintf(msg, msglen, "'messages' must contain at least one message.");
        return "messages";
    }
    int i = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, messages)
    {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        if (!cJSON_IsObject(m)) {
            snprintf(msg, msglen, "messages[%d] must be an object.", i);
            return "messages";
        }
        if (!cJSON_IsString(role)) {
            snprintf(msg, msglen, "messages[%d].role is required and must be a string.", i);
            return "messages";
        }
        int known = 0;
        for (size_t r = 0; r < sizeof roles / sizeof *roles; r++)
            if (!strcmp(role->valuestring, roles[r])) known = 1;
        if (!known) {
            snprintf(msg, msglen,
                     "messages[%d].role '%.64s' is not one of system, developer, user, assistant, tool.", i,
                     role->valuestring);
            return "messages";
        }
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
        if (content && !cJSON_IsString(content) && !cJSON_IsArray(content) && !cJSON_IsNull(content)) {
            snprintf(msg, msglen, "messages[%d].content must be a string or an array of content parts.", i);
            return "messages";
        }
        i++;
    }
    return NULL;
}

static void parse_cache_control(chat_ctx *c)
{
    const char *cc = http_request_header(c->req, "cache-control");
    if (!cc) return;
    if (strcasestr(cc, "no-cache")) c->no_cache = 1;
    if (strcasestr(cc, "no-store")) c->no_store = 1;
}

int chat_validate(chat_ctx *c)
{
    http_request *req = c->req;
    const char *ctype = http_request_header(req, "content-type");
    if (ctype && !strcasestr(ctype, "json")) {
        chat_fail(c, 415, "Content-Type must be application/json.", NULL, "unsupported_media_type",
                  "parse_error");
        return -1;
    }
    size_t len;
    const char *body = http_request_body(req, &len);
    if (len == 0) {
        chat_fail(c, 400, "The request body is empty; expected a JSON object.", NULL, "invalid_json",
                  "parse_error");
        return -1;
    }
    if (!util_utf8_valid(body, len)) {
        chat_fail(c, 400, "The request body is not valid UTF-8.", NULL, "invalid_encoding", "parse_error");
        return -1;
    }
    c->json = cJSON_ParseWithLength(body, len);
    if (!c->json) {
        chat_fail(c, 400,
                  "We could not parse the JSON body of your request. The OpenAI API expects a JSON "
                  "payload.",
                  NULL, "invalid_json", "parse_error");
        return -1;
    }
    if (!cJSON_IsObject(c->json)) {
        chat_fail(c, 400, "The request body must be a JSON object.", NULL, "invalid_json", "parse_error");
        return -1;
    }
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(c->json, "model");
    if (!model) {
        chat_fail(c, 400, "you must provide a model parameter", "model", "missing_required_parameter",
                  "parse_error");
        return -1;
    }
    if (!cJSON_IsString(model)) {
        chat_fail(c, 400, "'model' must be a string.", "model", "invalid_type", "parse_error");
        return -1;
    }
    char msg[512];
    const char *bad = check_messages(cJSON_GetObjectItemCaseSensitive(c->json, "messages"), msg, sizeof msg);
    if (bad) {
        chat_fail(c, 400, msg, bad, "invalid_value", "parse_error");
        return -1;
    }
    const cJSON *stream = cJSON_GetObjectItemCaseSensitive(c->json, "stream");
    if (stream && !cJSON_IsBool(stream) && !cJSON_IsNull(stream)) {
        chat_fail(c, 400, "'stream' must be a boolean.", "stream", "invalid_type", "parse_error");
        return -1;
    }
    c->stream = cJSON_IsTrue(stream);
    c->tenant = gateway_tenant(c->cfg, http_request_header(req, "authorization"));
    if (!c->tenant) {
        http_add_header(req, "WWW-Authenticate", "Bearer");
        chat_fail(c, 401,
                  "Incorrect API key provided. Send a key from the router's auth.keys as "
                  "'Authorization: Bearer KEY'.",
                  NULL, "invalid_api_key", "authentication");
        return -1;
    }
    if ((c->limit_held = auth_limits_admit(c->gw, c->cfg, req, c->tenant, msg, sizeof msg)) < 0) {
        c->limit_held = 0;
        chat_fail(c, 429, msg, NULL, "rate_limit_exceeded", "rate_limited");
        return -1;
    }
    parse_cache_control(c);
    util_copy_str(c->requested_model, sizeof c->requested_model, model->valuestring);
    c->is_auto = config_is_auto_model(c->cfg, model->valuestring);
    if (!c->is_auto && config_find_model(c->cfg, model->valuestring) < 0) {
        buf names;
        buf_init(&names);
        buf_puts(&names, c->cfg->auto_model_name);
        for (size_t i = 0; i < c->cfg->n_models; i++) buf_printf(&names, ", %s", c->cfg->models[i].name);
        char m2[1024];
        snprintf(m2, sizeof m2, "The model '%.200s' does not exist. Available models: %.700s.",
                 model->valuestring, names.data);
        buf_free(&names);
        chat_fail(c, 404, m2, "model", "model_not_found", "model_not_found");
        return -1;
    }
    return 0;
}
