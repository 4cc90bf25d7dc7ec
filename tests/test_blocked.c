/* test_blocked.c - guard-blocked response bodies (JSON and SSE) keep vLLM
 * Semantic Router's shape and stay valid JSON for any message text. */
#include <cjson/cJSON.h>

#include "guard/blocked.h"
#include "test.h"

static void test_jailbreak_json(void)
{
    buf msg, b;
    buf_init(&msg);
    buf_init(&b);
    blocked_jailbreak_message(&msg, "roleplay", 0.91f);
    CHECK(strstr(msg.data, "roleplay") && strstr(msg.data, "0.910"), "%s", msg.data);
    blocked_response_json(&b, BLOCKED_JAILBREAK, "gpt-x", msg.data, 1700000000);
    cJSON *j = cJSON_Parse(b.data);
    CHECK(j != NULL, "invalid JSON: %s", b.data);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "id")),
              "chatcmpl-jailbreak-blocked-1700000000");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "object")), "chat.completion");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "model")), "security-filter");
    CHECK_EQ_INT(cJSON_GetObjectItem(j, "created")->valuedouble, 1700000000);
    cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(c0, "finish_reason")), "content_filter");
    cJSON *m = cJSON_GetObjectItem(c0, "message");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(m, "role")), "assistant");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(m, "content")), msg.data);
    cJSON *u = cJSON_GetObjectItem(j, "usage");
    CHECK_EQ_INT(cJSON_GetObjectItem(u, "total_tokens")->valuedouble, 0);
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "choices")), 1);
    cJSON_Delete(j);
    buf_free(&msg);
    buf_free(&b);
}

static void test_pii_sse(void)
{
    buf msg, b;
    buf_init(&msg);
    buf_init(&b);
    blocked_pii_message(&msg, "EMAIL_ADDRESS,US_SSN", "small");
    blocked_response_sse(&b, BLOCKED_PII, "small", msg.data, 42);
    CHECK(!strncmp(b.data, "data: {", 7), "%s", b.data);
    const char *end = strstr(b.data, "\n\ndata: [DONE]\n\n");
    CHECK(end != NULL && end[16] == 0, "no single [DONE] at the end: %s", b.data);
    if (end) {
        char *json = strndup(b.data + 6, (size_t)(end - b.data - 6));
        cJSON *j = cJSON_Parse(json);
        CHECK(j != NULL, "invalid chunk JSON: %s", json);
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "id")), "chatcmpl-pii-violation-42");
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "object")), "chat.completion.chunk");
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "model")), "small");
        cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0);
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(c0, "finish_reason")), "content_filter");
        cJSON *d = cJSON_GetObjectItem(c0, "delta");
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(d, "role")), "assistant");
        const char *content = cJSON_GetStringValue(cJSON_GetObjectItem(d, "content"));
        CHECK(content && strstr(content, "EMAIL_ADDRESS,US_SSN") && strstr(content, "'small'"),
              "%s", content ? content : "(null)");
        cJSON_Delete(j);
        free(json);
    }
    buf_free(&msg);
    buf_free(&b);
}

static void test_hostile_text_stays_json(void)
{
    buf b;
    buf_init(&b);
    const char *evil = "quote \" backslash \\ newline \n ctrl \x01 bad utf8 \xff end";
    blocked_response_json(&b, BLOCKED_PII, "m\"odel", evil, 0);
    cJSON *j = cJSON_Parse(b.data);
    CHECK(j != NULL, "invalid JSON: %s", b.data);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "model")), "m\"odel");
    CHECK(cJSON_GetObjectItem(j, "created")->valuedouble > 1.6e9, "created not filled");
    cJSON_Delete(j);
    buf_free(&b);
}

int main(void)
{
    RUN(test_jailbreak_json);
    RUN(test_pii_sse);
    RUN(test_hostile_text_stays_json);
    TEST_MAIN_END();
}
