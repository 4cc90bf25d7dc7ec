/* test_keyword.c - keyword_rules: operators, word boundaries, case, Unicode. */
#include "route/keyword.h"
#include "test.h"

static int match1(const char *op_name, int cs, const char *const *kws, int nkw, const char *text)
{
    keyword_rule r = {"c", (keyword_operator)keyword_operator_from_name(op_name), kws, nkw, cs};
    return keyword_match(&r, 1, text, strlen(text));
}

static void test_or_word_boundary(void)
{
    const char *kw[] = {"urgent", "asap"};
    CHECK_EQ_INT(match1("OR", 0, kw, 2, "This is URGENT, please"), 0);
    CHECK_EQ_INT(match1("OR", 0, kw, 2, "reply asap."), 0);
    CHECK_EQ_INT(match1("OR", 0, kw, 2, "the insurgents attacked"), -1);
    CHECK_EQ_INT(match1("OR", 0, kw, 2, "urgently needed"), -1);
    CHECK_EQ_INT(match1("OR", 0, kw, 2, "(urgent)"), 0);
    CHECK_EQ_INT(match1("OR", 0, kw, 2, "urgent_flag"), -1);
    CHECK_EQ_INT(match1("OR", 0, kw, 2, ""), -1);
}

static void test_and_nor(void)
{
    const char *kw[] = {"invoice", "refund"};
    CHECK_EQ_INT(match1("AND", 0, kw, 2, "Refund for invoice 42"), 0);
    CHECK_EQ_INT(match1("AND", 0, kw, 2, "Where is my invoice?"), -1);
    CHECK_EQ_INT(match1("nor", 0, kw, 2, "Tell me a joke"), 0);
    CHECK_EQ_INT(match1("NOR", 0, kw, 2, "a refund please"), -1);
    CHECK_EQ_INT(keyword_operator_from_name("XOR"), -1);
}

static void test_case_sensitivity(void)
{
    const char *kw[] = {"API"};
    CHECK_EQ_INT(match1("OR", 1, kw, 1, "the API is down"), 0);
    CHECK_EQ_INT(match1("OR", 1, kw, 1, "the api is down"), -1);
    CHECK_EQ_INT(match1("OR", 0, kw, 1, "the api is down"), 0);
}

static void test_punctuation_and_phrases(void)
{
    const char *kw[] = {"c++", ".net", "machine learning"};
    CHECK_EQ_INT(match1("OR", 0, kw, 3, "templates in C++ are hard"), 0);
    CHECK_EQ_INT(match1("OR", 0, kw, 3, "I like c++."), 0);
    CHECK_EQ_INT(match1("OR", 0, kw, 3, "abc++ is not a language"), -1);
    CHECK_EQ_INT(match1("OR", 0, kw, 3, "ported to .NET 8"), 0);
    CHECK_EQ_INT(match1("OR", 0, kw, 3, "Machine Learning basics"), 0);
    CHECK_EQ_INT(match1("OR", 0, kw, 3, "machine learnings"), -1);
    CHECK_EQ_INT(match1("OR", 0, kw, 3, "machine  learning"), -1);
}

static void test_unicode(void)
{
    const char *kw[] = {"café", "straße"};
    CHECK_EQ_INT(match1("OR", 0, kw, 2, "Un CAFÉ noir"), 0);
    CHECK_EQ_INT(match1("OR", 0, kw, 2, "cafés"), -1);
    /* decomposed é (e + U+0301) is composed before comparing */
    CHECK_EQ_INT(match1("OR", 0, kw, 2, "cafe\xcc\x81 au lait"), 0);
    CHECK_EQ_INT(match1("OR", 0, kw, 2, "die STRASSE"), 0);
    /* a non-ASCII letter glued to the keyword is part of the word */
    CHECK_EQ_INT(match1("OR", 0, kw, 2, "cafébar"), -1);
    const char *ru[] = {"срочно"};
    CHECK_EQ_INT(match1("OR", 0, ru, 1, "Ответьте СРОЧНО!"), 0);
    CHECK_EQ_INT(match1("OR", 0, ru, 1, "несрочно"), -1);
    /* invalid UTF-8 in the text never crashes and ASCII still matches */
    const char bad[] = "\xff\xfe urgent \xc3";
    const char *u[] = {"urgent"};
    CHECK_EQ_INT(match1("OR", 0, u, 1, bad), 0);
}

static void test_first_match_wins_and_compile(void)
{
    const char *a[] = {"python"}, *b[] = {"python", "error"}, *c[] = {"x"};
    keyword_rule rules[] = {{"code_err", KEYWORD_AND, b, 2, 0}, {"code", KEYWORD_OR, a, 1, 0}};
    const char *t1 = "python error on line 3", *t2 = "python tips";
    CHECK_EQ_INT(keyword_match(rules, 2, t1, strlen(t1)), 0);
    CHECK_EQ_INT(keyword_match(rules, 2, t2, strlen(t2)), 1);
    char err[128];
    keyword_set *s = keyword_compile(rules, 2, err, sizeof err);
    CHECK(s != NULL, "%s", err);
    if (s) {
        CHECK_EQ_INT(keyword_set_count(s), 2);
        CHECK_STR(keyword_set_category(s, 1), "code");
        CHECK_EQ_INT(keyword_set_match(s, t2, strlen(t2)), 1);
        CHECK_EQ_INT(keyword_set_match(s, NULL, 0), -1);
        keyword_set_free(s);
    }
    const char *empty[] = {""};
    keyword_rule badr[] = {{"c", KEYWORD_OR, c, 1, 0}, {"d", KEYWORD_OR, empty, 1, 0}};
    err[0] = 0;
    CHECK(keyword_compile(badr, 2, err, sizeof err) == NULL, "empty keyword accepted");
    CHECK(strstr(err, "empty") != NULL, "%s", err);
    keyword_rule none = {"n", KEYWORD_NOR, NULL, 0, 0};
    CHECK_EQ_INT(keyword_match(&none, 1, "anything", 8), -1);
}

int main(void)
{
    RUN(test_or_word_boundary);
    RUN(test_and_nor);
    RUN(test_case_sensitivity);
    RUN(test_punctuation_and_phrases);
    RUN(test_unicode);
    RUN(test_first_match_wins_and_compile);
    TEST_MAIN_END();
}
