/* Tests for src/core/util.c: strict command-line numbers, bounded copies and numbers. */
#include "core/util.h"
#include "test.h"

static void parse_int_is_strict(void)
{
    int v = 7;
    CHECK_EQ_INT(util_parse_int("8801", 0, 65535, &v), 0);
    CHECK_EQ_INT(v, 8801);
    CHECK_EQ_INT(util_parse_int("0", 0, 65535, &v), 0);
    CHECK_EQ_INT(v, 0);
    static const char *const bad[] = {"abc", "", " 1", "8801x", "1e3", "65536", "-1", "0x10",
                                      "99999999999999999999", "１２"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = 7;
        CHECK(util_parse_int(bad[i], 0, 65535, &v) == -1 && v == 7, "'%s' accepted (%d)", bad[i], v);
    }
    CHECK_EQ_INT(util_parse_int(NULL, 0, 1, &v), -1);
}

static void parse_double_is_strict(void)
{
    double d = 7;
    CHECK_EQ_INT(util_parse_double("0.85", 0, 1, &d), 0);
    CHECK_NEAR(d, 0.85, 1e-12);
    CHECK_EQ_INT(util_parse_double("1e-3", 0, 1, &d), 0);
    CHECK_NEAR(d, 0.001, 1e-12);
    static const char *const bad[] = {"x", "", "0.5abc", "nan", "inf", "1.5", "-0.1", " 0.5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        d = 7;
        CHECK(util_parse_double(bad[i], 0, 1, &d) == -1 && d == 7, "'%s' accepted (%g)", bad[i], d);
    }
}

/* util_copy_str matches snprintf(dst, size, "%s", src), truncation at a UTF-8 text included. */
static void copy_str_is_snprintf(void)
{
    static const char *const srcs[] = {"", "a", "req-“curly”", "café 😀 中文",
                                       "exactly-eight!!"};
    char a[64], b[64];
    for (size_t i = 0; i < sizeof srcs / sizeof *srcs; i++)
        for (size_t size = 1; size <= 20; size++) {
            memset(a, 'x', sizeof a);
            memset(b, 'x', sizeof b);
            size_t n = util_copy_str(a, size, srcs[i]);
            snprintf(b, size, "%s", srcs[i]);
            CHECK(!memcmp(a, b, sizeof a) && n == strlen(b), "'%s' size %zu: '%s' vs '%s'", srcs[i], size, a, b);
        }
    CHECK_EQ_INT(util_copy_str(a, 0, "abc"), 0);
}

static void fmt_long_is_printf(void)
{
    static const long vs[] = {0, 7, -7, 10, 99, 100, 65535, 1234567890L, -2147483648L, 9223372036854775807L,
                              -9223372036854775807L - 1};
    for (size_t i = 0; i < sizeof vs / sizeof *vs; i++) {
        char a[24], b[24];
        size_t n = util_fmt_long(a, vs[i]);
        snprintf(b, sizeof b, "%ld", vs[i]);
        CHECK(!strcmp(a, b) && n == strlen(b), "%s vs %s", a, b);
    }
}

int main(void)
{
    RUN(fmt_long_is_printf);
    RUN(copy_str_is_snprintf);
    RUN(parse_int_is_strict);
    RUN(parse_double_is_strict);
    TEST_MAIN_END();
}
