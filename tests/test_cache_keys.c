/* Tests for src/cache/keys.c: canonical JSON, exact and partition keys, turn texts. */
#include "cache/keys.h"
#include "core/buf.h"
#include "test.h"

static int keys_of(const char *json, const char *tenant, const char *model_id, cache_keys *k)
{
    cJSON *req = cJSON_Parse(json);
    char err[200] = "";
    int rc = cache_keys_compute(req, tenant, model_id, k, err, sizeof err);
    cJSON_Delete(req);
    return rc;
}

/* Returns 1 when both requests get the same exact (which=0) or partition (1) key. */
static int same_key(const char *a, const char *ta, const char *b, const char *tb, int which)
{
    cache_keys ka, kb;
    if (keys_of(a, ta, "m1", &ka) || keys_of(b, tb, "m1", &kb)) return -1;
    int same = which ? !strcmp(ka.partition, kb.partition) : !strcmp(ka.exact, kb.exact);
    cache_keys_free(&ka);
    cache_keys_free(&kb);
    return same;
}

#define BASE_MSGS                                                                                  \
    "\"messages\":[{\"role\":\"system\",\"content\":\"Be "                                         \
    "brief.\"},{\"role\":\"user\",\"content\":\"What is HTTP?\"}]"

static void canonical_json_sorts_keys_recursively(void)
{
    cJSON *a = cJSON_Parse("{\"b\":1,\"a\":{\"z\":[1,2.5,{\"y\":true,\"x\":null}],\"c\":\"s\"}}");
    buf b;
    buf_init(&b);
    cache_canonical_json(a, &b);
    CHECK_STR(b.data, "{\"a\":{\"c\":\"s\",\"z\":[1,2.5,{\"x\":null,\"y\":true}]},\"b\":1}");
    buf_free(&b);
    cJSON_Delete(a);
}

static void exact_key_ignores_order_and_stream(void)
{
    const char *a = "{\"model\":\"gpt\",\"temperature\":0.5," BASE_MSGS "}";
    const char *b = "{" BASE_MSGS ",\"temperature\":0.50,\"stream\":true,"
                    "\"stream_options\":{\"include_usage\":true},\"user\":\"bob\","
                    "\"metadata\":{\"k\":\"v\"},\"model\":\"gpt\"}";
    CHECK_EQ_INT(same_key(a, "t1", b, "t1", 0), 1);
    CHECK_EQ_INT(same_key(a, "t1", b, "t1", 1), 1);
    /* Whitespace and nested key order inside a message do not matter either. */
    const char *c = "{ \"model\" : \"gpt\", \"temperature\": 0.5, \"messages\": [ {\"content\": "
                    "\"Be brief.\", \"role\": \"system\"}, {\"content\":\"What is HTTP?\", "
                    "\"role\":\"user\"} ] }";
    CHECK_EQ_INT(same_key(a, "t1", c, "t1", 0), 1);
}

static void exact_key_changes_with_wording_and_tenant(void)
{
    const char *a = "{\"model\":\"gpt\"," BASE_MSGS "}";
    const char *b = "{\"model\":\"gpt\",\"messages\":[{\"role\":\"system\",\"content\":\"Be "
                    "brief.\"},{\"role\":\"user\",\"content\":\"What is HTTPS?\"}]}";
    CHECK_EQ_INT(same_key(a, "t1", b, "t1", 0), 0);
    CHECK_EQ_INT(same_key(a, "t1", a, "t2", 0), 0);
    /* ...but a different wording keeps the partition. */
    CHECK_EQ_INT(same_key(a, "t1", b, "t1", 1), 1);
}

static void partition_changes_with_what_changes_the_answer(void)
{
    const char *base = "{\"model\":\"gpt\",\"temperature\":0.5," BASE_MSGS "}";
    const char *variants[] = {
        "{\"model\":\"gpt\",\"temperature\":0.7," BASE_MSGS "}",
        "{\"model\":\"other\",\"temperature\":0.5," BASE_MSGS "}",
        "{\"model\":\"gpt\",\"temperature\":0.5,\"top_p\":0.9," BASE_MSGS "}",
        "{\"model\":\"gpt\",\"temperature\":0.5,\"max_tokens\":10," BASE_MSGS "}",
        "{\"model\":\"gpt\",\"temperature\":0.5,\"seed\":1," BASE_MSGS "}",
        "{\"model\":\"gpt\",\"temperature\":0.5,\"response_format\":{\"type\":\"json_object\"}"
        "," BASE_MSGS "}",
        "{\"model\":\"gpt\",\"temperature\":0.5,\"tools\":[{\"type\":\"function\",\"function\":{"
        "\"name\":\"f\"}}]," BASE_MSGS "}",
        "{\"model\":\"gpt\",\"temperature\":0.5,\"reasoning_effort\":\"high\"," BASE_MSGS "}",
        "{\"model\":\"gpt\",\"temperature\":0.5,\"messages\":[{\"role\":\"system\",\"content\":"
        "\"Be "
        "verbose.\"},{\"role\":\"user\",\"content\":\"What is HTTP?\"}]}",
        "{\"model\":\"gpt\",\"temperature\":0.5,\"messages\":[{\"role\":\"user\",\"content\":"
        "\"What is HTTP?\"}]}",
        "{\"model\":\"gpt\",\"temperature\":0.5,\"messages\":[{\"role\":\"developer\",\"content\":"
        "\"x\"},"
        "{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"What is "
        "HTTP?\"}]}",
    };
    for (size_t i = 0; i < sizeof variants / sizeof *variants; i++)
        CHECK(same_key(base, "t1", variants[i], "t1", 1) == 0, "variant %zu shares the partition",
              i);
    CHECK_EQ_INT(same_key(base, "t1", base, "t2", 1), 0);
    /* The embedding model id is part of the partition. */
    cache_keys k1, k2;
    CHECK_EQ_INT(keys_of(base, "t1", "m1", &k1), 0);
    CHECK_EQ_INT(keys_of(base, "t1", "m2", &k2), 0);
    CHECK(strcmp(k1.partition, k2.partition) != 0, "embedding model id ignored");
    cache_keys_free(&k1);
    cache_keys_free(&k2);
}

static void turn_texts_and_parts(void)
{
    cache_keys k;
    const char *req =
        "{\"model\":\"m\",\"messages\":["
        "{\"role\":\"system\",\"content\":\"sys\"},"
        "{\"role\":\"user\",\"content\":\"What is the capital of France?\"},"
        "{\"role\":\"assistant\",\"content\":\"Paris.\"},"
        "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"type\":"
        "\"function\",\"function\":{\"name\":\"lookup\",\"arguments\":\"{\\\"q\\\":1}\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"ok\"},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"And its\"},"
        "{\"type\":\"text\",\"text\":\"population?\"}]}]}";
    CHECK_EQ_INT(keys_of(req, "t", "m1", &k), 0);
    CHECK_EQ_INT(k.semantic_ok, 1);
    CHECK_STR(k.query, "And its\npopulation?");
    CHECK_EQ_INT(k.query_len, strlen("And its\npopulation?"));
    CHECK_EQ_INT(k.n_context, 4);
    if (k.n_context == 4) {
        CHECK_STR(k.context[0], "What is the capital of France?");
        CHECK_STR(k.context[1], "Paris.");
        CHECK_STR(k.context[2], "lookup({\"q\":1})");
        CHECK_STR(k.context[3], "ok");
    }
    cache_keys_free(&k);

    /* An image in the last user turn skips the semantic tier; exact still works,
     * and its text is kept for the guards and the router. */
    const char *img = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
                      "\"text\",\"text\":\"what is this?\"},{\"type\":\"image_url\",\"image_url\":"
                      "{\"url\":\"data:image/png;base64,AAAA\"}}]}]}";
    CHECK_EQ_INT(keys_of(img, "t", "m1", &k), 0);
    CHECK_EQ_INT(k.semantic_ok, 0);
    CHECK_STR(k.query, "what is this?");
    CHECK_EQ_INT(strlen(k.exact), 64);
    cache_keys_free(&k);

    /* Images in an earlier turn go into the partition: another image, another partition. */
    const char *h1 = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
                     "\"image_url\",\"image_url\":{\"url\":\"A\"}}]},{\"role\":\"user\","
                     "\"content\":\"color?\"}]}";
    const char *h2 = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
                     "\"image_url\",\"image_url\":{\"url\":\"B\"}}]},{\"role\":\"user\","
                     "\"content\":\"color?\"}]}";
    CHECK_EQ_INT(same_key(h1, "t", h2, "t", 1), 0);

    /* No user turn at all. */
    CHECK_EQ_INT(keys_of("{\"messages\":[{\"role\":\"system\",\"content\":\"x\"}]}", "t", "m", &k),
                 0);
    CHECK_EQ_INT(k.semantic_ok, 0);
    CHECK_EQ_INT(k.n_context, 0);
    cache_keys_free(&k);
}

static void earlier_turn_roles_split_partitions(void)
{
    const char *a =
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"A\"},"
        "{\"role\":\"assistant\",\"content\":\"B\"},{\"role\":\"user\",\"content\":\"C\"}]}";
    const char *b =
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"X\"},"
        "{\"role\":\"assistant\",\"content\":\"Y\"},{\"role\":\"user\",\"content\":\"C\"}]}";
    const char *c = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"C\"}]}";
    /* Same shape, other wording: same partition (the context check compares wording). */
    CHECK_EQ_INT(same_key(a, "t", b, "t", 1), 1);
    CHECK_EQ_INT(same_key(a, "t", b, "t", 0), 0);
    /* Different number of turns: different partition. */
    CHECK_EQ_INT(same_key(a, "t", c, "t", 1), 0);
}

static void bad_requests_are_errors(void)
{
    const char *bad[] = {"[]", "{\"model\":\"m\"}", "{\"messages\":{}}", "{\"messages\":[1]}",
                         "{\"messages\":[{\"content\":\"x\"}]}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cache_keys k;
        cJSON *req = cJSON_Parse(bad[i]);
        char err[200] = "";
        CHECK(cache_keys_compute(req, "t", "m", &k, err, sizeof err) == -1, "accepted %s", bad[i]);
        CHECK(err[0] != 0, "no error message for %s", bad[i]);
        cJSON_Delete(req);
    }
}

int main(void)
{
    RUN(canonical_json_sorts_keys_recursively);
    RUN(exact_key_ignores_order_and_stream);
    RUN(exact_key_changes_with_wording_and_tenant);
    RUN(partition_changes_with_what_changes_the_answer);
    RUN(turn_texts_and_parts);
    RUN(earlier_turn_roles_split_partitions);
    RUN(bad_requests_are_errors);
    TEST_MAIN_END();
}
