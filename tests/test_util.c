/* Tests for src/core/util.c: strict command-line numbers. */
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

int main(void)
{
    RUN(parse_int_is_strict);
    RUN(parse_double_is_strict);
    TEST_MAIN_END();
}
