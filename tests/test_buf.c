/* Tests for src/core/buf.c and src/core/util.c. */
#include "core/buf.h"
#include "core/util.h"
#include "test.h"

static void buf_appends_and_formats(void)
{
    buf b;
    buf_init(&b);
    buf_puts(&b, "hello");
    buf_putc(&b, ' ');
    buf_printf(&b, "%d-%s", 42, "x");
    CHECK_STR(b.data, "hello 42-x");
    char big[1000];
    memset(big, 'a', sizeof big - 1);
    big[999] = 0;
    buf_printf(&b, "%s", big);
    CHECK_EQ_INT(b.len, 10 + 999);
    buf_free(&b);
}

static void buf_json_escapes(void)
{
    buf b;
    buf_init(&b);
    const char in[] = "a\"b\\c\n\x01 \xc3\xa9 \xff end";
    buf_json_str(&b, in, sizeof in - 1);
    CHECK_STR(b.data, "\"a\\\"b\\\\c\\n\\u0001 \xc3\xa9 \xef\xbf\xbd end\"");
    buf_free(&b);
}

static void utf8_validation(void)
{
    CHECK(util_utf8_valid("plain", 5), "ascii");
    CHECK(util_utf8_valid("\xe2\x82\xac", 3), "euro sign");
    CHECK(util_utf8_valid("\xf0\x9f\x98\x80", 4), "emoji");
    CHECK(!util_utf8_valid("\xc0\xaf", 2), "overlong");
    CHECK(!util_utf8_valid("\xed\xa0\x80", 3), "surrogate");
    CHECK(!util_utf8_valid("\xe2\x82", 2), "truncated");
    CHECK(!util_utf8_valid("\xff", 1), "invalid byte");
}

static void sha256_known_vector(void)
{
    char hex[65];
    util_sha256_hex("abc", 3, hex);
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

int main(void)
{
    RUN(buf_appends_and_formats);
    RUN(buf_json_escapes);
    RUN(utf8_validation);
    RUN(sha256_known_vector);
    TEST_MAIN_END();
}
