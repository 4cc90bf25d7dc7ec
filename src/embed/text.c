/* text.c - UTF-8 decoding and NFKC via libutf8proc (see text.h). */
#include "embed/text.h"
#include "core/array.h"
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

size_t text_utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    uint32_t v, min;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2, v = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3, v = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4, v = c & 0x07, min = 0x10000;
    else
        goto bad;
    if (n < len) goto bad;
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xC0) != 0x80) goto bad;
        v = (v << 6) | (s[k] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) goto bad;
    *cp = v;
    return len;
bad:
    *cp = 0xFFFD;
    return 1;
}

size_t text_utf8_put(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

int text_is_space(uint32_t c)
{
    if (c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F)) return 1;
    if (c < 0x85) return 0;
    return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
           c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

void text_scratch_free(text_scratch *s)
{
    free(s->utf8);
    free(s->cp);
    memset(s, 0, sizeof *s);
}

static int grow_cp(text_scratch *s, size_t need)
{
    return array_grow(&s->cp, &s->cp_cap, need, sizeof *s->cp, 256);
}

int text_nfkc(text_scratch *s, const char *str, size_t n, size_t reserve, size_t *count)
{
    const unsigned char *u = (const unsigned char *)str;
    size_t i = 0;
    while (i < n && u[i] < 0x80)
        i++;
    if (i == n) { /* ASCII is NFKC-stable: copy */
        if (grow_cp(s, reserve + n + 1)) return -1;
        for (i = 0; i < n; i++)
            s->cp[reserve + i] = u[i];
        *count = n;
        return 0;
    }
    /* utf8proc refuses invalid UTF-8, so sanitise first (each bad byte -> U+FFFD). */
    if (s->utf8_cap < 3 * n + 1) {
        char *p = realloc(s->utf8, 3 * n + 1);
        if (!p) return -1;
        s->utf8 = p;
        s->utf8_cap = 3 * n + 1;
    }
    size_t m = 0;
    for (i = 0; i < n;) {
        uint32_t cp;
        size_t k = text_utf8_next(u + i, n - i, &cp);
        if (k == 1 && cp == 0xFFFD)
            m += text_utf8_put(cp, s->utf8 + m);
        else
            memcpy(s->utf8 + m, u + i, k), m += k;
        i += k;
    }
    const utf8proc_option_t opt = UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
    if (grow_cp(s, reserve + m + 1)) return -1;
    for (;;) {
        utf8proc_ssize_t r = utf8proc_decompose_custom(
            (const utf8proc_uint8_t *)s->utf8, (utf8proc_ssize_t)m, s->cp + reserve,
            (utf8proc_ssize_t)(s->cp_cap - reserve), opt, NULL, NULL);
        if (r < 0) return -1;
        if ((size_t)r <= s->cp_cap - reserve) {
            r = utf8proc_normalize_utf32(s->cp + reserve, r, opt);
            if (r < 0) return -1;
            *count = (size_t)r;
            return 0;
        }
        if (grow_cp(s, reserve + (size_t)r + 1)) return -1;
    }
}
