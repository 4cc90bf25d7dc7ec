/* test_codec.c - src/core/codec.c and src/core/array.c, the small codecs written once:
 * base64 against RFC 4648's vectors and round trips of every length (UTF-8 text with
 * curly quotes and emoji, float vectors, all 256 byte values), what decoding refuses,
 * hex both ways, and array growth keeping its elements and refusing overflow. */
#include "core/array.h"
#include "core/codec.h"

#include <stdint.h>

#include "test.h"

static void test_base64_rfc4648(void)
{
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const coded[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                        "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        buf b;
        buf_init(&b);
        codec_base64_encode(&b, plain[i], strlen(plain[i]));
        CHECK_STR(b.data ? b.data : "", coded[i]);
        size_t n = 99;
        unsigned char *d = codec_base64_decode(coded[i], strlen(coded[i]), &n);
        CHECK(d && n == strlen(plain[i]) && !memcmp(d, plain[i], n), "decode of %s", coded[i]);
        free(d);
        buf_free(&b);
    }
}

static void test_base64_round_trips(void)
{
    /* curly quotes, an emoji, Cyrillic and CJK: bytes of every high value */
    const char *text = "\xe2\x80\x9cHello\xe2\x80\x9d \xf0\x9f\x98\x80 \xd0\x9f\xd1\x80\xd0\xb8 "
                       "\xe4\xbd\xa0\xe5\xa5\xbd";
    unsigned char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)(255 - i);
    float vec[7] = {0.5f, -1.25f, 3.0e-39f /* subnormal */, -0.0f, 1e30f, 0.1f, -7.0f};
    const void *srcs[] = {text, all, vec};
    size_t lens[] = {strlen(text), sizeof all, sizeof vec};
    for (int s = 0; s < 3; s++)
        for (size_t n = 0; n <= lens[s]; n++) {
            buf b;
            buf_init(&b);
            codec_base64_encode(&b, srcs[s], n);
            CHECK(b.len == (n + 2) / 3 * 4, "source %d length %zu: %zu letters", s, n, b.len);
            unsigned char out[300];
            long got = codec_base64_decode_into(b.data ? b.data : "", b.len, out, n, 0);
            CHECK(got == (long)n && !memcmp(out, srcs[s], n), "source %d length %zu: got %ld", s, n,
                  got);
            if (n) /* one byte less room than it needs is refused, not truncated */
                CHECK(codec_base64_decode_into(b.data, b.len, out, n - 1, 0) == -1,
                      "source %d length %zu fits in %zu", s, n, n - 1);
            buf_free(&b);
        }
}

static void test_base64_refuses(void)
{
    unsigned char out[64];
    static const char *const bad[] = {
        "Zm9v!", "Zm 9v", "Zm9vY", "Zg==Zg==", "Zm9v\n", "=Zm9", "Zm-_"};
    for (int i = 0; i < 7; i++) {
        CHECK(codec_base64_decode_into(bad[i], strlen(bad[i]), out, sizeof out, 0) == -1,
              "accepted \"%s\"", bad[i]);
        size_t n;
        CHECK(codec_base64_decode(bad[i], strlen(bad[i]), &n) == NULL, "accepted \"%s\"", bad[i]);
    }
    /* the URL-safe letters only when asked: "-_" are 62 and 63 like "+/" */
    long a = codec_base64_decode_into("ab-_", 4, out, sizeof out, CODEC_BASE64_URL_TOO);
    unsigned char plus[3];
    long b = codec_base64_decode_into("ab+/", 4, plus, sizeof plus, 0);
    CHECK(a == 3 && b == 3 && !memcmp(out, plus, 3), "url-safe %ld, standard %ld", a, b);
    CHECK_EQ_INT(codec_base64_value('-', 0), -1);
    CHECK_EQ_INT(codec_base64_value('_', CODEC_BASE64_URL_TOO), 63);
    CHECK_EQ_INT(codec_base64_value('=', CODEC_BASE64_URL_TOO), -1);
    CHECK_EQ_INT(codec_base64_value(0xC3, CODEC_BASE64_URL_TOO), -1);
}

static void test_hex(void)
{
    unsigned char all[256], back[256];
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    char hex[513];
    codec_hex_encode(all, sizeof all, hex);
    CHECK(strlen(hex) == 512 && !strncmp(hex, "000102", 6) && !strcmp(hex + 506, "fdfeff"),
          "%.12s...%s", hex, hex + 506);
    CHECK(!codec_hex_decode(hex, 256, back) && !memcmp(all, back, 256), "round trip");
    CHECK(!codec_hex_decode("DEADbeef", 4, back) && back[0] == 0xde && back[3] == 0xef,
          "upper and lower case digits");
    CHECK(codec_hex_decode("0g", 1, back) == -1, "g is no hex digit");
    CHECK(codec_hex_decode("a", 1, back) == -1, "a NUL ends the digits (odd length)");
    CHECK(codec_hex_decode("\xef\xbc\x91\xef\xbc\x92", 3, back) == -1, "fullwidth digits");
    CHECK_EQ_INT(codec_hex_value('F'), 15);
    CHECK_EQ_INT(codec_hex_value('G'), -1);
}

static void test_array_grow(void)
{
    int *v = NULL;
    size_t cap = 0;
    size_t caps_seen[8], n_caps = 0;
    for (int i = 0; i < 1000; i++) {
        size_t before = cap;
        CHECK(!array_grow(&v, &cap, (size_t)i + 1, sizeof *v, 16), "grow to %d", i + 1);
        if (cap != before && n_caps < 8) caps_seen[n_caps++] = cap;
        v[i] = i * 7;
    }
    int ok = 1;
    for (int i = 0; i < 1000; i++)
        ok &= v[i] == i * 7;
    CHECK(ok, "elements kept across growth");
    CHECK(n_caps == 7 && caps_seen[0] == 16 && caps_seen[6] == 1024, "doubling from 16: %zu steps",
          n_caps);
    /* asking for a huge count is refused with the array untouched */
    int *same = v;
    CHECK(array_grow(&v, &cap, SIZE_MAX / 2, sizeof *v, 16) == -1 && v == same && cap == 1024,
          "overflow refused");
    CHECK_EQ_INT(array_next_cap(0, 5, 4), 8);
    CHECK_EQ_INT(array_next_cap(12, 12, 4), 12);
    CHECK_EQ_INT(array_next_cap(12, 13, 4), 24);
    CHECK_EQ_INT(array_next_cap(SIZE_MAX / 2 + 1, SIZE_MAX, 4), 0);
    free(v);
}

int main(void)
{
    RUN(test_base64_rfc4648);
    RUN(test_base64_round_trips);
    RUN(test_base64_refuses);
    RUN(test_hex);
    RUN(test_array_grow);
    TEST_MAIN_END();
}
