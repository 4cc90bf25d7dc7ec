/* test_json_scan.c - the one-pass answer scanner (src/core/json_scan.c) against cJSON, whose
 * tree the proxy read before: the same accept/refuse verdict and the same object / choices /
 * usage numbers on real answers, assembled stream completions, truncated, malformed, nested,
 * escaped and huge inputs, and on many thousand mutations of them; nesting past the limit is
 * refused without recursion. The step-counted work bound is asserted by the fuzz replay
 * (fuzz/fuzz_json_scan.c, fuzz/corpus/json_scan). */
#include "core/json_scan.h"
#include "test.h"

#include <cjson/cJSON.h>

/* What cJSON says of text[0..len), in the scanner's terms; returns whether it parsed. */
static int cjson_verdict(const char *text, size_t len, json_usage *out)
{
    memset(out, 0, sizeof *out);
    cJSON *j = cJSON_ParseWithLength(text, len);
    if (!j) return 0;
    out->is_object = cJSON_IsObject(j);
    out->choices_array = cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(j, "choices"));
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(j, "usage");
    if (cJSON_IsObject(u)) {
        out->has_usage = 1;
        const cJSON *n;
        n = cJSON_GetObjectItemCaseSensitive(u, "prompt_tokens");
        if ((out->has_prompt = cJSON_IsNumber(n)))
            out->prompt_tokens = json_scan_to_long(n->valuedouble);
        n = cJSON_GetObjectItemCaseSensitive(u, "completion_tokens");
        if ((out->has_completion = cJSON_IsNumber(n)))
            out->completion_tokens = json_scan_to_long(n->valuedouble);
        n = cJSON_GetObjectItemCaseSensitive(u, "total_tokens");
        if ((out->has_total = cJSON_IsNumber(n)))
            out->total_tokens = json_scan_to_long(n->valuedouble);
    }
    cJSON_Delete(j);
    return 1;
}

/* 1 if the scanner and cJSON agree on text[0..len) (the verdicts only count when parsed). */
static int agrees(const char *text, size_t len)
{
    json_usage a, b;
    int ok_scan = json_scan_usage(text, len, &a), ok_cjson = cjson_verdict(text, len, &b);
    if (ok_scan != ok_cjson) return 0;
    return !ok_scan || !memcmp(&a, &b, sizeof a);
}

#define CHECK_AGREES(text, len)                                                                    \
    do {                                                                                           \
        json_usage a_, b_;                                                                         \
        int s_ = json_scan_usage((text), (len), &a_), c_ = cjson_verdict((text), (len), &b_);      \
        CHECK(s_ == c_ && (!s_ || !memcmp(&a_, &b_, sizeof a_)),                                   \
              "scanner %d (obj %d ch %d us %d p %d:%ld c %d:%ld t %d:%ld) vs cJSON %d "            \
              "(obj %d ch %d us %d p %d:%ld c %d:%ld t %d:%ld) on %.*s",                           \
              s_, a_.is_object, a_.choices_array, a_.has_usage, a_.has_prompt, a_.prompt_tokens,   \
              a_.has_completion, a_.completion_tokens, a_.has_total, a_.total_tokens, c_,          \
              b_.is_object, b_.choices_array, b_.has_usage, b_.has_prompt, b_.prompt_tokens,       \
              b_.has_completion, b_.completion_tokens, b_.has_total, b_.total_tokens,              \
              (int)((len) < 200 ? (len) : 200), (text));                                           \
    } while (0)

/* answers as model servers send them (OpenAI, vLLM, llama.cpp, Ollama's OpenAI API) and
 * as cache/assemble.c writes a streamed one */
static const char *const answers[] = {
    "{\"id\":\"chatcmpl-9x\",\"object\":\"chat.completion\",\"created\":1733300000,\"model\":\"gpt-"
    "4o-mini\","
    "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hello! How can I "
    "help?\","
    "\"refusal\":null},\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":"
    "13,"
    "\"completion_tokens\":7,\"total_tokens\":20,\"prompt_tokens_details\":{\"cached_tokens\":0},"
    "\"completion_tokens_details\":{\"reasoning_tokens\":0}},\"system_fingerprint\":\"fp_"
    "0ba0d124f1\"}",
    "{\n  \"id\": \"cmpl-1\",\n  \"object\": \"chat.completion\",\n  \"choices\": [\n    {\n      "
    "\"index\": 0,\n"
    "      \"message\": {\"role\": \"assistant\", \"content\": \"caf\\u00e9 \\ud83d\\ude00 "
    "\\\"q\\\"\\n\"},\n"
    "      \"finish_reason\": \"length\", \"stop_reason\": null\n    }\n  ],\n"
    "  \"usage\": {\"prompt_tokens\": 1024, \"total_tokens\": 1536, \"completion_tokens\": "
    "512}\n}\n",
    "{\"choices\":[{\"finish_reason\":\"tool_calls\",\"index\":0,\"message\":{\"role\":"
    "\"assistant\",\"content\":null,"
    "\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_"
    "weather\","
    "\"arguments\":\"{\\\"city\\\":\\\"Paris\\\",\\\"usage\\\":{\\\"prompt_tokens\\\":5}}\"}}]}}],"
    "\"created\":1733300001,\"id\":\"chatcmpl-abc\",\"model\":\"llama-3\",\"object\":\"chat."
    "completion\","
    "\"usage\":{\"completion_tokens\":22,\"prompt_tokens\":81,\"total_tokens\":103},"
    "\"timings\":{\"prompt_ms\":12.5,\"predicted_per_second\":4.1e1}}",
    "{\"id\":\"chatcmpl-42\",\"object\":\"chat.completion\",\"created\":1733300002,\"model\":"
    "\"qwen2\","
    "\"system_fingerprint\":\"fp_ollama\",\"choices\":[{\"index\":0,\"message\":{\"role\":"
    "\"assistant\","
    "\"content\":\"\\u4f60\\u597d\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":26,"
    "\"completion_tokens\":298,\"total_tokens\":324}}",
    /* assembled from a stream (cache/assemble.c): usage only when the stream sent it */
    "{\"id\":\"chatcmpl-s1\",\"object\":\"chat.completion\",\"created\":1733300003,\"model\":\"m\","
    "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hi there\"},"
    "\"finish_reason\":\"stop\"}]}",
    "{\"id\":\"chatcmpl-s2\",\"object\":\"chat.completion\",\"created\":1733300003,\"model\":\"m\","
    "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},"
    "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2,\"total_"
    "tokens\":5}}",
    /* error bodies a server sends with a 2xx by mistake */
    ("{\"error\":{\"message\":\"The model `x` does not "
     "exist\",\"type\":\"invalid_request_error\",\"code\":null}}"),
    "{\"object\":\"error\",\"message\":\"busy\",\"code\":503}",
};

static void test_real_answers(void)
{
    for (size_t i = 0; i < sizeof answers / sizeof *answers; i++)
        CHECK_AGREES(answers[i], strlen(answers[i]));
    json_usage u;
    CHECK_EQ_INT(json_scan_usage(answers[0], strlen(answers[0]), &u), 1);
    CHECK(u.is_object && u.choices_array && u.has_usage, "verdicts %d %d %d", u.is_object,
          u.choices_array, u.has_usage);
    CHECK(u.has_prompt && u.has_completion && u.has_total, "numbers present %d %d %d", u.has_prompt,
          u.has_completion, u.has_total);
    CHECK_EQ_INT(u.prompt_tokens, 13);
    CHECK_EQ_INT(u.completion_tokens, 7);
    CHECK_EQ_INT(u.total_tokens, 20);
    /* the usage inside a tool call's arguments string is not the answer's */
    CHECK_EQ_INT(json_scan_usage(answers[2], strlen(answers[2]), &u), 1);
    CHECK_EQ_INT(u.prompt_tokens, 81);
    CHECK_EQ_INT(u.completion_tokens, 22);
    CHECK_EQ_INT(json_scan_usage(answers[4], strlen(answers[4]), &u), 1);
    CHECK(u.choices_array && !u.has_usage && !u.has_prompt, "streamed, no usage: %d %d %d",
          u.choices_array, u.has_usage, u.has_prompt);
    CHECK_EQ_INT(json_scan_usage(answers[6], strlen(answers[6]), &u), 1);
    CHECK(u.is_object && !u.choices_array, "error body: %d %d", u.is_object, u.choices_array);
}

/* every prefix of every answer (a transfer cut anywhere) */
static void test_truncated(void)
{
    int bad = 0;
    for (size_t i = 0; i < sizeof answers / sizeof *answers; i++) {
        size_t n = strlen(answers[i]);
        for (size_t k = 0; k <= n; k++) {
            if (agrees(answers[i], k)) continue;
            if (!bad++) CHECK_AGREES(answers[i], k);
        }
        /* a whole answer cut before its closing brace is refused by both */
        json_usage u;
        CHECK_EQ_INT(json_scan_usage(answers[i], strrchr(answers[i], '}') - answers[i], &u), 0);
    }
    CHECK_EQ_INT(bad, 0);
}

typedef struct verdict_case {
    const char *text;
    int ok;      /* what cJSON says, written down as well as compared */
    long prompt; /* -1: no prompt_tokens */
} verdict_case;

/* the places where cJSON is looser or stranger than RFC 8259, and plain malformed input */
static void test_malformed_and_quirks(void)
{
    static const verdict_case cases[] = {
        {"", 0, -1},
        {"   ", 0, -1},
        {"{", 0, -1},
        {"{\"usage\":{\"prompt_tokens\":1}", 0, -1},
        {"{\"a\":1,}", 0, -1},
        {"[1,]", 0, -1},
        {"{\"a\" 1}", 0, -1},
        {"{a:1}", 0, -1},
        {"{'a':1}", 0, -1},
        {"{\"a\":tru}", 0, -1},
        {"{\"a\":nul}", 0, -1},
        {"{\"a\":+1}", 0, -1},
        {"{\"a\":.5}", 0, -1},
        {"{\"a\":-}", 0, -1},
        {"{\"a\":\"\\x\"}", 0, -1},
        {"{\"a\":\"\\udc00\"}", 0, -1},        /* low surrogate first */
        {"{\"a\":\"\\ud800\"}", 0, -1},        /* high surrogate alone */
        {"{\"a\":\"\\ud800\\u0041\"}", 0, -1}, /* high surrogate, no low half */
        {"{\"a\":\"\\u12\"}", 0, -1},
        {"{\"a\":\"abc}", 0, -1},
        {"{\"a\":\"abc\\\"}", 0, -1},
        {"}", 0, -1},
        /* cJSON quirks the scanner keeps */
        {"{\"usage\":{\"prompt_tokens\":5}} trailing", 1, 5},
        {"{\"usage\":{\"prompt_tokens\":5}}}", 1, 5},
        {"{}{}", 1, -1},
        {"\xEF\xBB\xBF{\"usage\":{\"prompt_tokens\":6}}", 1, 6},
        {"\xEF\xBB\xBF{}", 1, -1},
        {"\xEF\xBB\xBF"
         "1",
         0, -1}, /* the BOM is skipped only in 5 bytes or more */
        {"\x01{\"usage\":\x7f{\"prompt_tokens\":\x02 7}}", 0, -1},
        {"\x01{\"usage\":\x1f{\"prompt_tokens\":\x02 7}}", 1, 7},
        {"{\"usage\":{\"prompt_tokens\":007}}", 1, 7},
        {"{\"usage\":{\"prompt_tokens\":8.}}", 1, 8},
        {"{\"usage\":{\"prompt_tokens\":-.5e1}}", 1, -5},
        {"{\"usage\":{\"prompt_tokens\":9e}}", 0, -1},
        {"{\"usage\":{\"prompt_tokens\":1e+}}", 0, -1},
        {"{\"usage\":{\"prompt_tokens\":1-2}}", 0, -1},
        {"1-2", 1, -1},
        {"{\"usage\":{\"prompt_tokens\":1.5e2}}", 1, 150},
        {"{\"usage\":{\"prompt_tokens\":1e400}}", 1, 9223372036854775807L},
        {"{\"usage\":{\"prompt_tokens\":-1e400}}", 1, -9223372036854775807L - 1},
        {"{\"a\":\"\\uzzzz\"}", 1, -1}, /* not hex: read as U+0000 */
        {"{\"usag\\u0065\":{\"prompt_tokens\":10}}", 1, 10},
        {"{\"usage\\u0000x\":{\"prompt_tokens\\u0000\":11}}", 1, 11},
        {"{\"usage\\uqqqqx\":{\"prompt_tokens\":12}}", 1, 12},
        {"{\"usage\\u0000\\u00e9\":{\"prompt_tokens\":13}}", 1, 13},
        {"{\"usage\\u0000\\ud83d\\ude00\":{\"prompt_tokens\":14}}", 1, 14},
        {"{\"usage\\u00e9\":{\"prompt_tokens\":15}}", 1, -1},
        {"{\"usage\":{\"prompt_tokens\":16},\"usage\":{\"prompt_tokens\":17}}", 1, 16},
        {"{\"usage\":[],\"usage\":{\"prompt_tokens\":18}}", 1, -1},
        {"{\"usage\":{\"prompt_tokens\":\"19\",\"prompt_tokens\":19}}", 1, -1},
        {"{\"x\":{\"usage\":{\"prompt_tokens\":20}}}", 1, -1},
        {"[{\"usage\":{\"prompt_tokens\":21}}]", 1, -1},
        {"{\"usage\":{\"x\":{\"prompt_tokens\":22}}}", 1, -1},
        {"{\"a\":\"\\u\\\"ab\"}", 1, -1}, /* a \u takes six bytes, a quote among them */
        /* ... and the escape after it may be the closing quote's, read as \" */
        {"{\"a\":\"\\uA\\\\\\\\\"}", 1, -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const verdict_case *k = &cases[i];
        size_t len = strlen(k->text);
        json_usage u;
        int ok = json_scan_usage(k->text, len, &u);
        CHECK(ok == k->ok, "case %zu %s: scanner %d, expected %d", i, k->text, ok, k->ok);
        if (ok && k->ok) {
            CHECK(u.has_prompt == (k->prompt != -1), "case %zu %s: has_prompt %d", i, k->text,
                  u.has_prompt);
            if (k->prompt != -1)
                CHECK(u.prompt_tokens == k->prompt, "case %zu: %ld", i, u.prompt_tokens);
        }
        CHECK_AGREES(k->text, len);
    }
    /* a raw NUL ends a name as \u0000 does; one inside a value is just a byte */
    static const char nul_name[] = "{\"usage\0tail\":{\"prompt_tokens\":23},\"s\":\"a\0b\"}";
    CHECK_AGREES(nul_name, sizeof nul_name - 1);
    json_usage u;
    CHECK_EQ_INT(json_scan_usage(nul_name, sizeof nul_name - 1, &u), 1);
    CHECK_EQ_INT(u.prompt_tokens, 23);
    /* numbers of any length (this cJSON no longer cuts them at 63 characters) */
    char num[512];
    memset(num, '7', 400);
    num[400] = 0;
    char text[1200];
    snprintf(text, sizeof text, "{\"usage\":{\"prompt_tokens\":%s,\"total_tokens\":%s.5e-390}}",
             num, num);
    CHECK_AGREES(text, strlen(text));
    CHECK_EQ_INT(json_scan_usage(text, strlen(text), &u), 1);
    CHECK_EQ_INT(u.prompt_tokens, 9223372036854775807L);
    CHECK_EQ_INT(u.total_tokens, 7777777777L);
}

static void test_nesting(void)
{
    /* as deep as cJSON allows, one more, and far more (no recursion, no stack growth) */
    CHECK_EQ_INT(JSON_SCAN_MAX_DEPTH, CJSON_NESTING_LIMIT);
    size_t deep = 1u << 20;
    char *t = malloc(2 * deep + 16);
    for (size_t d = JSON_SCAN_MAX_DEPTH - 1; d <= JSON_SCAN_MAX_DEPTH + 1; d++) {
        memset(t, '[', d);
        memset(t + d, ']', d);
        CHECK_AGREES(t, 2 * d);
        json_usage u;
        CHECK_EQ_INT(json_scan_usage(t, 2 * d, &u), d <= JSON_SCAN_MAX_DEPTH);
    }
    memset(t, '[', deep);
    memset(t + deep, ']', deep);
    json_usage u;
    CHECK_EQ_INT(json_scan_usage(t, 2 * deep, &u), 0);
    /* the usage after nested objects, arrays and strings that hold look-alikes */
    const char *nested =
        "{\"a\":{\"usage\":{\"prompt_tokens\":1}},\"b\":[[{\"choices\":[]}],{\"usage\":2}],"
        "\"c\":\"{\\\"usage\\\":{\\\"prompt_tokens\\\":3}}\",\"choices\":[[],{}],"
        "\"usage\":{\"d\":{\"prompt_tokens\":4},\"e\":[{\"total_tokens\":5}],"
        "\"completion_tokens\":6,\"total_tokens\":7}}";
    CHECK_AGREES(nested, strlen(nested));
    CHECK_EQ_INT(json_scan_usage(nested, strlen(nested), &u), 1);
    CHECK(u.choices_array && u.has_usage && !u.has_prompt && u.completion_tokens == 6 &&
              u.total_tokens == 7,
          "nested: %d %d %d %ld %ld", u.choices_array, u.has_usage, u.has_prompt,
          u.completion_tokens, u.total_tokens);
    free(t);
}

/* a 16 MiB answer: a long content string with escapes, then many choices, usage last */
static void test_huge(void)
{
    size_t content = 16u << 20;
    char *t = malloc(2 * content + 4096);
    size_t n = 0;
    n += (size_t)sprintf(t + n, "{\"choices\":[{\"message\":{\"content\":\"");
    for (size_t i = 0; i < content / 8; i++) {
        memcpy(t + n, i % 3 ? "abcdefgh" : "ab\\\"\\u00e9", 8 + (i % 3 ? 0 : 2));
        n += 8 + (i % 3 ? 0 : 2);
    }
    n += (size_t)sprintf(t + n,
                         "\"}}],\"usage\":{\"prompt_tokens\":100000,\"completion_tokens\":4194304,"
                         "\"total_tokens\":4294304}}");
    CHECK_AGREES(t, n);
    json_usage u;
    CHECK_EQ_INT(json_scan_usage(t, n, &u), 1);
    CHECK_EQ_INT(u.completion_tokens, 4194304);
    CHECK_EQ_INT(u.total_tokens, 4294304);
    free(t);
}

/* Deterministic mutations of the answers and the quirk cases: bytes replaced by JSON's
 * structural and escape characters, inserted, deleted, spans duplicated, cuts; cJSON and
 * the scanner must agree on every one. */
static void test_mutations_agree(void)
{
    static const char alphabet[] = "{}[]\",:\\u0019eE.+-tfn \x01\x1f\x7f\xef\xbb\xbf\x80\xed";
    unsigned long long rng = 88172645463325252ull;
    char buf[8192];
    int bad = 0, tried = 0;
    for (int round = 0; round < 60000; round++) {
        const char *src = answers[round % (sizeof answers / sizeof *answers)];
        size_t n = strlen(src);
        memcpy(buf, src, n);
        int edits = 1 + round % 4;
        for (int e = 0; e < edits; e++) {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            size_t at = (size_t)(rng >> 20) % (n + 1);
            char ch = alphabet[(rng >> 8) % (sizeof alphabet - 1)];
            switch (rng % 5) {
            case 0:
                if (at < n) buf[at] = ch;
                break;
            case 1:
                if (n + 1 < sizeof buf) memmove(buf + at + 1, buf + at, n - at), buf[at] = ch, n++;
                break;
            case 2:
                if (at < n) memmove(buf + at, buf + at + 1, n - at - 1), n--;
                break;
            case 3: { /* duplicate a span */
                size_t span = (size_t)(rng >> 40) % 16;
                if (at + span <= n && n + span < sizeof buf) {
                    memmove(buf + at + span, buf + at, n - at);
                    n += span;
                }
                break;
            }
            default:
                n = at;
            }
        }
        tried++;
        if (agrees(buf, n)) continue;
        if (!bad++) CHECK_AGREES(buf, n);
    }
    CHECK(bad == 0, "%d of %d mutated inputs disagree", bad, tried);
}

int main(void)
{
    RUN(test_real_answers);
    RUN(test_truncated);
    RUN(test_malformed_and_quirks);
    RUN(test_nesting);
    RUN(test_huge);
    RUN(test_mutations_agree);
    return test_failures_total ? 1 : 0;
}
