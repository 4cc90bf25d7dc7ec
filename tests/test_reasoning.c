/* test_reasoning.c - entropy reasoning decision, reasoning families applied to
 * requests, and system prompt modes. */
#include "route/reasoning.h"
#include "route/sysprompt.h"
#include "test.h"
#include <cjson/cJSON.h>

static char *print(cJSON *j)
{
    static char out[4096];
    char *s = cJSON_PrintUnformatted(j);
    snprintf(out, sizeof out, "%s", s ? s : "(null)");
    free(s);
    return out;
}

static void test_entropy_levels(void)
{
    reasoning_decision d;
    int flags[4] = {1, 0, 0, -1};
    /* confident math (flag on) -> very_low, top flag */
    float p1[4] = {0.97f, 0.01f, 0.01f, 0.01f};
    reasoning_entropy_decide(p1, flags, 4, 0.6f, &d);
    CHECK_STR(d.level, "very_low");
    CHECK_EQ_INT(d.enabled, 1);
    CHECK_NEAR(d.confidence, 0.97 * 0.95, 1e-5);
    /* confident on a flag-off category */
    float p2[4] = {0.02f, 0.95f, 0.02f, 0.01f};
    reasoning_entropy_decide(p2, flags, 4, 0.6f, &d);
    CHECK_EQ_INT(d.enabled, 0);
    /* uniform -> very_high -> on */
    float p3[4] = {0.25f, 0.25f, 0.25f, 0.25f};
    reasoning_entropy_decide(p3, flags, 4, 0.6f, &d);
    CHECK_STR(d.level, "very_high");
    CHECK_EQ_INT(d.enabled, 1);
    CHECK_NEAR(d.normalized_entropy, 1.0, 1e-5);
    CHECK_NEAR(d.entropy, 2.0, 1e-5);
    /* confident on an unknown category -> off */
    float p4[4] = {0.01f, 0.01f, 0.01f, 0.97f};
    reasoning_entropy_decide(p4, flags, 4, 0.6f, &d);
    CHECK_EQ_INT(d.enabled, 0);
    CHECK_STR(d.reason, "unknown_category");
}

static void test_entropy_votes(void)
{
    reasoning_decision d;
    /* 8 labels; a split between two categories gives high entropy -> top-2 vote */
    int flags[8] = {1, 0, 0, 0, 0, 0, 0, 0};
    float hi[8] = {0.45f, 0.35f, 0.05f, 0.05f, 0.04f, 0.03f, 0.02f, 0.01f}; /* Hn 0.666 */
    reasoning_entropy_decide(hi, flags, 8, 0.6f, &d);
    CHECK_STR(d.level, "high");
    CHECK_STR(d.reason, "weighted_vote_top2");
    CHECK_EQ_INT(d.enabled, 1); /* 0.45 / 0.80 > 0.5 */
    float hi2[8] = {0.35f, 0.45f, 0.05f, 0.05f, 0.04f, 0.03f, 0.02f, 0.01f};
    reasoning_entropy_decide(hi2, flags, 8, 0.6f, &d);
    CHECK_EQ_INT(d.enabled, 0);
    /* medium entropy and a top probability under the threshold -> top-3 vote */
    float med[8] = {0.55f, 0.35f, 0.05f, 0.02f, 0.01f, 0.01f, 0.005f, 0.005f}; /* Hn 0.514 */
    reasoning_entropy_decide(med, flags, 8, 0.6f, &d);
    CHECK_STR(d.level, "medium");
    CHECK_STR(d.reason, "weighted_vote_top3");
}

static void test_entropy_vote_arithmetic(void)
{
    /* medium, top p 0.55 < 0.6: label 0 on with 0.55 of the top-3 0.95 -> on */
    reasoning_decision d;
    int flags[8] = {1, 0, 0, 0, 0, 0, 0, 0};
    float med[8] = {0.55f, 0.35f, 0.05f, 0.02f, 0.01f, 0.01f, 0.005f, 0.005f};
    reasoning_entropy_decide(med, flags, 8, 0.6f, &d);
    CHECK_EQ_INT(d.enabled, 1);
    CHECK_NEAR(d.confidence, 0.55 / 0.95, 1e-4);
    /* with label 1 on instead: 0.35 / 0.95 -> off */
    int flags2[8] = {0, 1, 0, 0, 0, 0, 0, 0};
    reasoning_entropy_decide(med, flags2, 8, 0.6f, &d);
    CHECK_EQ_INT(d.enabled, 0);
    /* threshold lowered to 0.5: the top category's flag decides, confidence p·0.8 */
    reasoning_entropy_decide(med, flags, 8, 0.5f, &d);
    CHECK_STR(d.reason, "top_category_flag");
    CHECK_EQ_INT(d.enabled, 1);
    CHECK_NEAR(d.confidence, 0.44, 1e-5);
}

static void test_apply_chat_template_kwargs(void)
{
    cJSON *r = cJSON_Parse("{\"model\":\"MoM\",\"messages\":[],"
                           "\"chat_template_kwargs\":{\"keep\":1}}");
    CHECK_EQ_INT(reasoning_apply(r, "chat_template_kwargs", "enable_thinking", 1, "high"), 1);
    CHECK_STR(print(r), "{\"model\":\"MoM\",\"messages\":[],"
                        "\"chat_template_kwargs\":{\"keep\":1,\"enable_thinking\":true}}");
    CHECK_EQ_INT(reasoning_apply(r, "chat_template_kwargs", "enable_thinking", 0, "high"), 1);
    CHECK_STR(print(r), "{\"model\":\"MoM\",\"messages\":[],"
                        "\"chat_template_kwargs\":{\"keep\":1,\"enable_thinking\":false}}");
    cJSON_Delete(r);
    /* deepseek: "thinking", created when absent; a non-object value is replaced */
    r = cJSON_Parse("{\"chat_template_kwargs\":\"junk\"}");
    CHECK_EQ_INT(reasoning_apply(r, "chat_template_kwargs", "thinking", 1, NULL), 1);
    CHECK_STR(print(r), "{\"chat_template_kwargs\":{\"thinking\":true}}");
    cJSON_Delete(r);
}

static void test_apply_reasoning_effort(void)
{
    cJSON *r = cJSON_Parse("{\"model\":\"x\"}");
    CHECK_EQ_INT(reasoning_apply(r, "reasoning_effort", "reasoning_effort", 1, "high"), 1);
    CHECK_STR(print(r), "{\"model\":\"x\",\"reasoning_effort\":\"high\"}");
    /* off keeps the client's own value */
    cJSON_Delete(r);
    r = cJSON_Parse("{\"reasoning_effort\":\"medium\"}");
    CHECK_EQ_INT(reasoning_apply(r, "reasoning_effort", "reasoning_effort", 0, "high"), 0);
    CHECK_STR(print(r), "{\"reasoning_effort\":\"medium\"}");
    cJSON_Delete(r);
    /* off without a client value -> low */
    r = cJSON_Parse("{}");
    CHECK_EQ_INT(reasoning_apply(r, "reasoning_effort", "reasoning_effort", 0, "high"), 1);
    CHECK_STR(print(r), "{\"reasoning_effort\":\"low\"}");
    /* on without an effort -> medium */
    CHECK_EQ_INT(reasoning_apply(r, "reasoning_effort", "reasoning_effort", 1, NULL), 1);
    CHECK_STR(print(r), "{\"reasoning_effort\":\"medium\"}");
    /* no family: untouched; bad family: error */
    CHECK_EQ_INT(reasoning_apply(r, NULL, NULL, 1, "high"), 0);
    CHECK_EQ_INT(reasoning_apply(r, "bogus", "x", 1, "high"), -1);
    CHECK_STR(print(r), "{\"reasoning_effort\":\"medium\"}");
    cJSON_Delete(r);
}

static void test_sysprompt_modes(void)
{
    sysprompt_mode m;
    CHECK_EQ_INT(sysprompt_mode_parse("insert", &m), 0);
    CHECK_EQ_INT(m, SYSPROMPT_INSERT);
    CHECK_EQ_INT(sysprompt_mode_parse(NULL, &m), 0);
    CHECK_EQ_INT(m, SYSPROMPT_REPLACE);
    CHECK_EQ_INT(sysprompt_mode_parse("append", &m), -1);

    const char *with_sys = "{\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"
                           "{\"role\":\"user\",\"content\":\"hi\"}]}";
    cJSON *r = cJSON_Parse(with_sys);
    CHECK_EQ_INT(sysprompt_apply(r, "You are a math expert.", SYSPROMPT_REPLACE), 1);
    CHECK_STR(print(r), "{\"messages\":[{\"role\":\"system\",\"content\":\"You are a math "
                        "expert.\"},{\"role\":\"user\",\"content\":\"hi\"}]}");
    cJSON_Delete(r);
    r = cJSON_Parse(with_sys);
    CHECK_EQ_INT(sysprompt_apply(r, "You are a math expert.", SYSPROMPT_INSERT), 1);
    CHECK_STR(print(r), "{\"messages\":[{\"role\":\"system\",\"content\":\"You are a math "
                        "expert.\\n\\nBe brief.\"},{\"role\":\"user\",\"content\":\"hi\"}]}");
    cJSON_Delete(r);
    /* no system message: one is added first, in both modes */
    for (int mode = 0; mode < 2; mode++) {
        r = cJSON_Parse("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        CHECK_EQ_INT(sysprompt_apply(r, "P", (sysprompt_mode)mode), 1);
        CHECK_STR(print(r), "{\"messages\":[{\"role\":\"system\",\"content\":\"P\"},"
                            "{\"role\":\"user\",\"content\":\"hi\"}]}");
        cJSON_Delete(r);
    }
    /* content parts: insert puts a text part first */
    r = cJSON_Parse("{\"messages\":[{\"role\":\"developer\",\"content\":[{\"type\":\"text\","
                    "\"text\":\"Old\"}]}]}");
    CHECK_EQ_INT(sysprompt_apply(r, "P", SYSPROMPT_INSERT), 1);
    CHECK_STR(print(r), "{\"messages\":[{\"role\":\"developer\",\"content\":[{\"type\":\"text\","
                        "\"text\":\"P\"},{\"type\":\"text\",\"text\":\"Old\"}]}]}");
    CHECK_EQ_INT(sysprompt_apply(r, "", SYSPROMPT_INSERT), 0);
    cJSON_Delete(r);
    r = cJSON_Parse("{\"messages\":\"nope\"}");
    CHECK_EQ_INT(sysprompt_apply(r, "P", SYSPROMPT_REPLACE), -1);
    cJSON_Delete(r);
}

int main(void)
{
    RUN(test_entropy_levels);
    RUN(test_entropy_votes);
    RUN(test_entropy_vote_arithmetic);
    RUN(test_apply_chat_template_kwargs);
    RUN(test_apply_reasoning_effort);
    RUN(test_sysprompt_modes);
    TEST_MAIN_END();
}
