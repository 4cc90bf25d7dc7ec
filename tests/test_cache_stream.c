/* Tests for src/cache/replay.c and src/cache/assemble.c: a stored answer
 * replayed as SSE, and SSE assembled back, survive any split of the bytes. */
#include "cache/assemble.h"
#include "cache/replay.h"
#include "test.h"
#include <cjson/cJSON.h>

static const char *completion_full =
    "{\"id\":\"chatcmpl-42\",\"object\":\"chat.completion\",\"created\":1732600000,"
    "\"model\":\"qwen3-8b\",\"system_fingerprint\":\"fp_1\",\"choices\":["
    "{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Paris is the capital of "
    "France. Caf\xc3\xa9s line the  Seine;\\n\\tit has \\\"quotes\\\" and \xe2\x82\xac "
    "signs.\",\"reasoning_content\":\"The user asks about France. Its capital is "
    "Paris.\",\"refusal\":null},\"logprobs\":null,\"finish_reason\":\"stop\"},"
    "{\"index\":1,\"message\":{\"role\":\"assistant\",\"content\":null,\"refusal\":null,\"tool_calls\":["
    "{\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
    "\"arguments\":\"{\\\"city\\\":\\\"Paris\\\",\\\"unit\\\":\\\"celsius\\\",\\\"note\\\":"
    "\\\"a fairly long argument string so that it is cut into several pieces \xc3\xa9\xc3\xa9"
    "\xc3\xa9\xc3\xa9\\\"}\"}},"
    "{\"id\":\"call_b\",\"type\":\"function\",\"function\":{\"name\":\"get_time\","
    "\"arguments\":\"{}\"}}]},\"logprobs\":null,\"finish_reason\":\"tool_calls\"}],"
    "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":34,\"total_tokens\":46}}";

static unsigned rng_state = 12345;
static unsigned rng(void)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return (rng_state >> 8) & 0xffffff;
}

/* Feeds sse to a fresh assembler in random pieces (max_piece 1 = byte by byte). */
static int assemble_split(const char *sse, size_t n, size_t max_piece, buf *out, char *why)
{
    cache_assembler *a = cache_assembler_new(0);
    size_t i = 0;
    while (i < n) {
        size_t k = 1 + rng() % max_piece;
        if (k > n - i) k = n - i;
        cache_assembler_feed(a, sse + i, k);
        i += k;
    }
    int ok = cache_assembler_finish(a, out);
    snprintf(why, 160, "%s", cache_assembler_error(a));
    cache_assembler_free(a);
    return ok;
}

static int json_equal(const char *a, const char *b)
{
    cJSON *x = cJSON_Parse(a), *y = cJSON_Parse(b);
    int eq = x && y && cJSON_Compare(x, y, 1);
    cJSON_Delete(x);
    cJSON_Delete(y);
    return eq;
}

static void replay_is_valid_sse(void)
{
    buf sse;
    buf_init(&sse);
    CHECK_EQ_INT(cache_replay_sse(completion_full, strlen(completion_full), 1, &sse), 0);
    /* Every event is "data: <json chunk>\n\n" with the stored id/model/created,
     * the last one [DONE]; exactly one usage chunk, with choices []. */
    char *p = sse.data;
    int events = 0, usage_chunks = 0, done = 0, role_chunks = 0, finish_chunks = 0;
    while (p && *p) {
        CHECK(!strncmp(p, "data: ", 6), "event %d does not start with data:", events);
        char *end = strstr(p, "\n\n");
        CHECK(end != NULL, "event %d not terminated", events);
        if (!end) break;
        *end = 0;
        events++;
        if (!strcmp(p + 6, "[DONE]")) {
            done++;
            CHECK(end[2] == 0, "data after [DONE]");
        } else {
            cJSON *c = cJSON_Parse(p + 6);
            CHECK(c != NULL, "event %d is not JSON: %s", events, p + 6);
            CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(c, "id")), "chatcmpl-42");
            CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(c, "object")),
                      "chat.completion.chunk");
            CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(c, "model")), "qwen3-8b");
            CHECK_EQ_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(c, "created")), 1732600000);
            cJSON *choices = cJSON_GetObjectItem(c, "choices");
            CHECK(cJSON_IsArray(choices), "no choices array");
            cJSON *usage = cJSON_GetObjectItem(c, "usage");
            if (cJSON_IsObject(usage)) {
                usage_chunks++;
                CHECK_EQ_INT(cJSON_GetArraySize(choices), 0);
            }
            cJSON *ch = cJSON_GetArrayItem(choices, 0);
            cJSON *delta = cJSON_GetObjectItem(ch, "delta");
            if (cJSON_GetObjectItem(delta, "role")) role_chunks++;
            if (cJSON_IsString(cJSON_GetObjectItem(ch, "finish_reason"))) finish_chunks++;
            cJSON_Delete(c);
        }
        p = end + 2;
    }
    CHECK_EQ_INT(done, 1);
    CHECK_EQ_INT(usage_chunks, 1);
    CHECK_EQ_INT(role_chunks, 2);
    CHECK_EQ_INT(finish_chunks, 2);
    CHECK(events > 20, "only %d events: content not split into pieces", events);
    buf_free(&sse);

    /* Without include_usage: no usage chunk at all. */
    buf_init(&sse);
    CHECK_EQ_INT(cache_replay_sse(completion_full, strlen(completion_full), 0, &sse), 0);
    CHECK(strstr(sse.data, "\"usage\"") == NULL, "usage sent without include_usage");
    buf_free(&sse);
}

static void replay_rejects_non_completions(void)
{
    buf sse;
    buf_init(&sse);
    CHECK_EQ_INT(cache_replay_sse("{\"x\":1}", 7, 0, &sse), -1);
    CHECK_EQ_INT(cache_replay_sse("not json", 8, 0, &sse), -1);
    CHECK_EQ_INT(sse.len, 0);
    buf_free(&sse);
}

static void round_trip_any_split(void)
{
    buf sse;
    buf_init(&sse);
    CHECK_EQ_INT(cache_replay_sse(completion_full, strlen(completion_full), 1, &sse), 0);
    size_t pieces[] = {1, 2, 3, 7, 50, 1000, 100000};
    for (size_t k = 0; k < sizeof pieces / sizeof *pieces; k++) {
        for (int trial = 0; trial < (pieces[k] < 10 ? 3 : 10); trial++) {
            buf out;
            buf_init(&out);
            char why[160];
            int ok = assemble_split(sse.data, sse.len, pieces[k], &out, why);
            CHECK(ok == 1, "split %zu: not clean: %s", pieces[k], why);
            CHECK(json_equal(out.data, completion_full), "split %zu: got %s", pieces[k], out.data);
            buf_free(&out);
        }
    }
    buf_free(&sse);

    /* Without usage the result is the completion without usage. */
    buf_init(&sse);
    cache_replay_sse(completion_full, strlen(completion_full), 0, &sse);
    buf out;
    buf_init(&out);
    char why[160];
    CHECK_EQ_INT(assemble_split(sse.data, sse.len, 13, &out, why), 1);
    cJSON *want = cJSON_Parse(completion_full);
    cJSON_DeleteItemFromObject(want, "usage");
    cJSON *got = cJSON_Parse(out.data);
    CHECK(cJSON_Compare(want, got, 1), "got %s", out.data);
    cJSON_Delete(want);
    cJSON_Delete(got);
    buf_free(&out);
    buf_free(&sse);
}

/* A vLLM-like upstream: "data:" without a space, CRLF line ends, a keep-alive
 * comment, a usage chunk, an empty-content role chunk. */
static void assembles_upstream_variants(void)
{
    const char *sse =
        ": keep-alive\r\n\r\n"
        "data:{\"id\":\"x1\",\"object\":\"chat.completion.chunk\",\"created\":5,\"model\":\"m\","
        "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
        "\"finish_reason\":null}]}\r\n\r\n"
        "data: {\"id\":\"x1\",\"object\":\"chat.completion.chunk\",\"created\":5,\"model\":\"m\","
        "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},\"finish_reason\":null}]}"
        "\r\n\r\n"
        "data: {\"id\":\"x1\",\"object\":\"chat.completion.chunk\",\"created\":5,\"model\":\"m\","
        "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":\"length\"}]}"
        "\r\n\r\n"
        "data: {\"id\":\"x1\",\"object\":\"chat.completion.chunk\",\"created\":5,\"model\":\"m\","
        "\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2,\"total_tokens\":3}}"
        "\r\n\r\n"
        "data: [DONE]\r\n\r\n";
    const char *want =
        "{\"id\":\"x1\",\"object\":\"chat.completion\",\"created\":5,\"model\":\"m\","
        "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":"
        "\"Hello\",\"refusal\":null},\"logprobs\":null,\"finish_reason\":\"length\"}],\"usage\":{"
        "\"prompt_tokens\":1,\"completion_tokens\":2,\"total_tokens\":3}}";
    for (size_t piece = 1; piece <= 64; piece *= 4) {
        buf out;
        buf_init(&out);
        char why[160];
        CHECK(assemble_split(sse, strlen(sse), piece, &out, why) == 1, "piece %zu: %s", piece, why);
        CHECK(json_equal(out.data, want), "piece %zu: got %s", piece, out.data);
        buf_free(&out);
    }
}

/* A "created" no long long holds (found by fuzz_sse) is left out, not converted (undefined). */
static void created_out_of_range_is_left_out(void)
{
    const char *s = "data: {\"id\":\"c1\",\"created\":3e59,\"model\":\"m\",\"choices\":[{\"index\":0,"
                    "\"delta\":{\"role\":\"assistant\",\"content\":\"Grüße 👋\"},\"finish_reason\":\"stop\"}]}\n\n"
                    "data: [DONE]\n\n";
    buf out;
    buf_init(&out);
    char why[160];
    CHECK_EQ_INT(assemble_split(s, strlen(s), 7, &out, why), 1);
    CHECK(out.data && strstr(out.data, "\"created\":0,") && strstr(out.data, "Grüße 👋"), "%s",
          out.data ? out.data : why);
    buf_free(&out);
}

static void unclean_streams_are_not_cacheable(void)
{
    const char *head =
        "data: {\"id\":\"a\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,"
        "\"delta\":{\"role\":\"assistant\",\"content\":\"partial\"},\"finish_reason\":null}]}\n\n";
    const char *fin = "data: {\"id\":\"a\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,"
                      "\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n";
    char s[2048];
    struct {
        const char *name, *tail;
    } cases[] = {
        {"cut before [DONE]", ""},
        {"cut mid-line", "data: {\"id\":\"a\",\"choi"},
        {"no finish_reason", "data: [DONE]\n\n"},
        {"error event",
         "event: error\ndata: {\"error\":{\"message\":\"boom\"}}\n\ndata: [DONE]\n\n"},
        {"error object", "data: {\"error\":{\"message\":\"upstream died\"}}\n\ndata: [DONE]\n\n"},
        {"malformed chunk", "data: {not json}\n\ndata: [DONE]\n\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int with_fin = i >= 3;
        snprintf(s, sizeof s, "%s%s%s", head, with_fin ? fin : "", cases[i].tail);
        buf out;
        buf_init(&out);
        char why[160];
        CHECK(assemble_split(s, strlen(s), 5, &out, why) == 0, "%s was accepted", cases[i].name);
        CHECK(why[0] != 0, "%s: no reason given", cases[i].name);
        CHECK_EQ_INT(out.len, 0);
        buf_free(&out);
    }
    /* Size limit. */
    cache_assembler *a = cache_assembler_new(4);
    snprintf(s, sizeof s, "%s%sdata: [DONE]\n\n", head, fin);
    CHECK_EQ_INT(cache_assembler_feed(a, s, strlen(s)), -1);
    buf out;
    buf_init(&out);
    CHECK_EQ_INT(cache_assembler_finish(a, &out), 0);
    cache_assembler_free(a);
    buf_free(&out);
}

int main(void)
{
    RUN(replay_is_valid_sse);
    RUN(replay_rejects_non_completions);
    RUN(round_trip_any_split);
    RUN(assembles_upstream_variants);
    RUN(unclean_streams_are_not_cacheable);
    RUN(created_out_of_range_is_left_out);
    TEST_MAIN_END();
}
