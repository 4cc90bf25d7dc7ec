/* util.c - small shared helpers (see util.h). */
#include "core/util.h"
#include "core/codec.h"
#include <math.h>
#include <limits.h>
#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>

uint64_t util_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

double util_now_sec(void) { return (double)util_now_ns() / 1e9; }

int64_t util_unix_time(void) { return (int64_t)time(NULL); }

void util_sha256(const void *data, size_t n, unsigned char out[32])
{
    SHA256(data, n, out);
}

void util_sha256_hex(const void *data, size_t n, char out[65])
{
    unsigned char d[32];
    util_sha256(data, n, d);
    codec_hex_encode(d, sizeof d, out);
}

size_t util_utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned cp, min;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07, min = 0x10000;
    else return 0;
    if (n < len) return 0;
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

int util_utf8_valid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    for (size_t i = 0; i < n;) {
        if (s[i] < 0x80) { /* ASCII runs are the common case */
            i++;
            continue;
        }
        size_t len = util_utf8_seq_len(s + i, n - i);
        if (!len) return 0;
        i += len;
    }
    return 1;
}

size_t util_utf8_head(const char *s, size_t len, size_t cap)
{
    if (len <= cap) return len;
    size_t n = cap;
    /* s[n] is the first byte left out: while it continues a sequence, the sequence
     * started inside the prefix, so it goes too */
    for (int k = 0; k < 3 && n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80; k++)
        n--;
    return n;
}

size_t util_utf8_tail(const char *s, size_t len, size_t cap)
{
    if (len <= cap) return 0;
    size_t at = len - cap;
    for (int k = 0; k < 3 && at < len && ((unsigned char)s[at] & 0xC0) == 0x80; k++)
        at++;
    return at;
}

int util_cap_head_tail(const char *s, size_t len, size_t head_cap, size_t tail_cap, util_capped *out)
{
    memset(out, 0, sizeof *out);
    if (len <= head_cap + tail_cap) return 0;
    size_t head = util_utf8_head(s, len, head_cap);
    size_t tail = util_utf8_tail(s, len, tail_cap);
    size_t tail_len = len - tail;
    char *c = malloc(head + 1 + tail_len + 1);
    if (!c) return -1;
    memcpy(c, s, head);
    c[head] = '\n';
    memcpy(c + head + 1, s + tail, tail_len);
    c[head + 1 + tail_len] = 0;
    out->text = c;
    out->len = head + 1 + tail_len;
    out->head = head;
    out->tail_at = head + 1;
    out->tail_orig = tail;
    return 0;
}

char *util_read_file(const char *path, size_t *len_out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s is not a regular file", path);
        fclose(f);
        return NULL;
    }
    size_t n = (size_t)st.st_size;
    char *p = malloc(n + 1);
    if (!p) {
        snprintf(err, errlen, "out of memory reading %s (%zu bytes)", path, n);
        fclose(f);
        return NULL;
    }
    if (n && fread(p, 1, n, f) != n) {
        snprintf(err, errlen, "short read on %s", path);
        free(p);
        fclose(f);
        return NULL;
    }
    fclose(f);
    p[n] = 0;
    if (len_out) *len_out = n;
    return p;
}

size_t util_copy_str(char *dst, size_t size, const char *src)
{
    if (!size) return 0;
    size_t n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    dst[n] = 0;
    return n;
}

/* splitmix64's finaliser: spreads the clock fallback's few changing bits */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

uint64_t util_fnv1a(uint64_t h, const void *s, size_t n)
{
    const unsigned char *p = s;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

size_t util_fmt_long(char *out, long v)
{
    char tmp[24];
    size_t n = 0;
    unsigned long u = v < 0 ? 0UL - (unsigned long)v : (unsigned long)v;
    do tmp[n++] = (char)('0' + u % 10);
    while (u /= 10);
    size_t len = 0;
    if (v < 0) out[len++] = '-';
    while (n) out[len++] = tmp[--n];
    out[len] = 0;
    return len;
}

void util_request_id(char out[33])
{
    static _Thread_local uint64_t prefix, counter;
    static _Thread_local int seeded;
    if (!seeded) {
        unsigned char r[8];
        if (RAND_bytes(r, sizeof r) == 1) {
            memcpy(&prefix, r, sizeof prefix);
        } else { /* never fatal for an id: the clock, the process and the thread */
            static _Thread_local char here;
            prefix = mix64(util_now_ns() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)&here);
        }
        seeded = 1;
    }
    unsigned char r[16];
    uint64_t n = ++counter;
    for (int i = 0; i < 8; i++) {
        r[i] = (unsigned char)(prefix >> (56 - 8 * i));
        r[8 + i] = (unsigned char)(n >> (56 - 8 * i));
    }
    codec_hex_encode(r, sizeof r, out);
}

int util_parse_int(const char *s, long lo, long hi, int *out)
{
    if (!s || !*s || isspace((unsigned char)*s)) return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi || v < INT_MIN || v > INT_MAX) return -1;
    *out = (int)v;
    return 0;
}

int util_parse_double(const char *s, double lo, double hi, double *out)
{
    if (!s || !*s || isspace((unsigned char)*s)) return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v) || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}
