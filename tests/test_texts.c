/* test_texts.c - the texts the guards read (src/api/texts.c): every message
 * shape a client sends, assistant turns out of the guard view, the cap. */
#include "api/texts.h"
#include "test.h"

static chat_texts texts_of(const char *json)
{
    chat_texts t;
    memset(&t, 0, sizeof t);
    cJSON *j = cJSON_Parse(json);
    CHECK(j != NULL, "bad test JSON");
    CHECK_EQ_INT(chat_texts_extract(j, &t), 0);
    cJSON_Delete(j);
    return t;
}

static void every_shape_is_read(void)
{
    chat_texts t = texts_of(
        "{\"messages\":["
        "{\"role\":\"system\",\"content\":\"sys \\u2019 text\"},"
        "{\"role\":\"developer\",\"content\":[{\"type\":\"text\",\"text\":\"dev part\"}]},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"x\"}},"
        "{\"type\":\"text\",\"text\":\"beside image \\ud83d\\ude00\"},{\"type\":\"input_audio\"}]},"
        "{\"role\":\"assistant\",\"content\":\"assistant words\",\"tool_calls\":[{\"id\":\"1\","
        "\"type\":\"function\",\"function\":{\"name\":\"lookup\",\"arguments\":\"{\\\"q\\\":1}\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"1\",\"content\":\"tool result\"},"
        "{\"role\":\"user\",\"content\":\"last turn\"}]}");
    CHECK_STR(t.guard_text, "sys \xe2\x80\x99 text\ndev part\nbeside image \xf0\x9f\x98\x80\ntool result\nlast turn");
    CHECK_EQ_INT(t.guard_len, strlen(t.guard_text));
    CHECK_EQ_INT(t.n_messages_scanned, 5);
    /* the last user turn's span (the prompt guard reads it once, with its vector) */
    CHECK_EQ_INT(t.query_len, strlen("last turn"));
    CHECK(!memcmp(t.guard_text + t.query_at, "last turn", t.query_len), "span at %zu", t.query_at);
    CHECK_STR(t.pii_text, "sys \xe2\x80\x99 text\ndev part\nbeside image \xf0\x9f\x98\x80\nassistant words\n"
                          "lookup({\"q\":1})\ntool result\nlast turn");
    chat_texts_free(&t);
}

/* The last user turn followed by a tool result, and the first user turn of
 * several: the span is the last user message's text, wherever it sits. */
static void last_user_turn_span(void)
{
    chat_texts t = texts_of(
        "{\"messages\":[{\"role\":\"user\",\"content\":\"first \\u201cquestion\\u201d\"},"
        "{\"role\":\"assistant\",\"content\":\"a\"},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"\\u00bfy ahora? \\ud83d\\ude00\"}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"1\",\"content\":\"result\"}]}");
    const char *want = "\xc2\xbfy ahora? \xf0\x9f\x98\x80";
    CHECK_STR(t.guard_text, "first \xe2\x80\x9cquestion\xe2\x80\x9d\n\xc2\xbfy ahora? \xf0\x9f\x98\x80\nresult");
    CHECK_EQ_INT(t.query_len, strlen(want));
    CHECK_EQ_INT(t.query_at, strlen("first \xe2\x80\x9cquestion\xe2\x80\x9d\n"));
    chat_texts_free(&t);
    t = texts_of("{\"messages\":[{\"role\":\"system\",\"content\":\"s\"}]}");
    CHECK_EQ_INT(t.query_len, 0);
    chat_texts_free(&t);
}

static void empty_and_odd_messages(void)
{
    chat_texts t = texts_of("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\"}]},"
                            "7,{\"role\":\"assistant\",\"content\":null}]}");
    CHECK_STR(t.guard_text, "");
    CHECK_STR(t.pii_text, "");
    CHECK_EQ_INT(t.n_messages_scanned, 0);
    chat_texts_free(&t);
    t = texts_of("{\"model\":\"m\"}");
    CHECK_STR(t.guard_text, "");
    chat_texts_free(&t);
}

static void capped(void)
{
    size_t n = CHAT_TEXTS_MAX + 1000;
    char *big = malloc(n + 200);
    strcpy(big, "{\"messages\":[{\"role\":\"user\",\"content\":\"");
    size_t at = strlen(big);
    memset(big + at, 'a', n);
    strcpy(big + at + n, "\"},{\"role\":\"user\",\"content\":\"more\"}]}");
    chat_texts t = texts_of(big);
    CHECK_EQ_INT(t.guard_len, CHAT_TEXTS_MAX);
    CHECK_EQ_INT(t.pii_len, CHAT_TEXTS_MAX);
    CHECK_EQ_INT(t.query_len, 0); /* the last turn is past the cap: the guard checks it on its own */
    chat_texts_free(&t);
    free(big);
}

int main(void)
{
    RUN(every_shape_is_read);
    RUN(last_user_turn_span);
    RUN(empty_and_odd_messages);
    RUN(capped);
    TEST_MAIN_END();
}
