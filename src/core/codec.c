/* codec.c - base64 and hex (see codec.h). */
#include "core/codec.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char BASE64_LETTERS[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char HEX_DIGITS[] = "0123456789abcdef";

void codec_base64_encode(buf *out, const void *data, size_t n)
{
    const unsigned char *p = data;
    if (buf_reserve(out, (n + 2) / 3 * 4 + 1)) return;
    char *o = out->data + out->len;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        *o++ = BASE64_LETTERS[v >> 18];
        *o++ = BASE64_LETTERS[(v >> 12) & 63];
        *o++ = i + 1 < n ? BASE64_LETTERS[(v >> 6) & 63] : '=';
        *o++ = i + 2 < n ? BASE64_LETTERS[v & 63] : '=';
    }
    out->len = (size_t)(o - out->data);
    out->data[out->len] = 0;
}

void codec_base64_encode_quoted(buf *out, const void *data, size_t n)
{
    buf_putc(out, '"');
    codec_base64_encode(out, data, n);
    buf_putc(out, '"');
}

int codec_base64_value(int c, int flags)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || (c == '-' && (flags & CODEC_BASE64_URL_TOO))) return 62;
    if (c == '/' || (c == '_' && (flags & CODEC_BASE64_URL_TOO))) return 63;
    return -1;
}

long codec_base64_decode_into(const char *s, size_t n, void *out, size_t cap, int flags)
{
    unsigned char *o = out;
    while (n && s[n - 1] == '=')
        n--;
    if (n % 4 == 1) return -1;
    size_t k = 0;
    uint32_t v = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int x = codec_base64_value((unsigned char)s[i], flags);
        if (x < 0) return -1;
        v = v << 6 | (uint32_t)x;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (k >= cap) return -1;
            o[k++] = (unsigned char)(v >> bits);
        }
    }
    return (long)k;
}

unsigned char *codec_base64_decode(const char *s, size_t n, size_t *out_len)
{
    size_t cap = n / 4 * 3 + 3;
    unsigned char *o = malloc(cap);
    if (!o) return NULL;
    long k = codec_base64_decode_into(s, n, o, cap, 0);
    if (k < 0) {
        free(o);
        return NULL;
    }
    *out_len = (size_t)k;
    return o;
}

void codec_hex_encode(const void *data, size_t n, char *out)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = HEX_DIGITS[p[i] >> 4];
        out[2 * i + 1] = HEX_DIGITS[p[i] & 15];
    }
    out[2 * n] = 0;
}

int codec_hex_value(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int codec_hex_decode(const char *s, size_t n, void *out)
{
    unsigned char *o = out;
    for (size_t i = 0; i < n; i++) {
        int hi = codec_hex_value((unsigned char)s[2 * i]);
        int lo = hi < 0 ? -1 : codec_hex_value((unsigned char)s[2 * i + 1]); /* stop at a NUL */
        if (lo < 0) return -1;
        o[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

int codec_hex_decode_exact(const char *s, size_t n, void *out)
{
    if (!s || strnlen(s, 2 * n + 1) != 2 * n) return -1;
    return codec_hex_decode(s, n, out);
}
