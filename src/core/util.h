/* util.h - small shared helpers: clocks, hashing, UTF-8 checks, file reading. */
#ifndef SEMROUTER_UTIL_H
#define SEMROUTER_UTIL_H
#include <stddef.h>
#include <stdint.h>

/* Monotonic clock in nanoseconds / seconds (for latencies). */
uint64_t util_now_ns(void);
double util_now_sec(void);
/* Wall clock, Unix seconds (for `created`, TTLs that survive restarts). */
int64_t util_unix_time(void);

/* SHA-256 of data; out receives 32 bytes. hex variant writes 64 chars + NUL. */
void util_sha256(const void *data, size_t n, unsigned char out[32]);
void util_sha256_hex(const void *data, size_t n, char out[65]);

/* Length (1..4) of the valid UTF-8 sequence starting at s[0..n), or 0 when
 * it is invalid (overlong, surrogate, beyond U+10FFFF, truncated). n >= 1. */
size_t util_utf8_seq_len(const unsigned char *s, size_t n);
/* 1 when s[0..n) is valid UTF-8 (no overlongs, no surrogates), else 0. */
int util_utf8_valid(const char *s, size_t n);
/* Scan caps (README "Bounded work per request"): the length of the longest prefix of
 * s[0..len) of at most cap bytes that does not end inside a UTF-8 sequence (backs up at
 * most 3 continuation bytes; len itself when len <= cap). */
size_t util_utf8_head(const char *s, size_t len, size_t cap);
/* The start of the shortest suffix of s[0..len) of at most cap bytes that does not begin
 * inside a UTF-8 sequence (0 when len <= cap). */
size_t util_utf8_tail(const char *s, size_t len, size_t cap);
/* A head + tail view of a text longer than head_cap + tail_cap: the first head bytes,
 * "\n", the last bytes (both cut at UTF-8 boundaries), in a malloc'd NUL-terminated copy.
 * Offsets in the copy at or after tail_at map back to original offset
 * (offset - tail_at + tail_orig). Returns 0 (out->text NULL when the text fits: use it as
 * is), or -1 when memory ran out. Free out->text. */
typedef struct util_capped {
    char *text;
    size_t len;       /* of the copy */
    size_t head;      /* bytes of the original's head kept */
    size_t tail_at;   /* offset in the copy where the tail starts */
    size_t tail_orig; /* offset in the original where the kept tail starts */
} util_capped;
int util_cap_head_tail(const char *s, size_t len, size_t head_cap, size_t tail_cap, util_capped *out);

/* 64-bit FNV-1a of s[0..n) continued from h (start with UTIL_FNV1A_BASIS): a fast,
 * stable hash for tables and hashed features (not for anything an attacker must not steer). */
#define UTIL_FNV1A_BASIS 1469598103934665603ULL
uint64_t util_fnv1a(uint64_t h, const void *s, size_t n);

/* Reads a whole file into a NUL-terminated malloc'd buffer. Returns NULL and
 * fills err (a sentence) on failure. */
char *util_read_file(const char *path, size_t *len_out, char *err, size_t errlen);

/* Command-line numbers, parsed strictly: the whole of s is one decimal number in [lo, hi]
 * ("abc", "", "8801x", "1e3" for an integer, out-of-range values are refused). 0, or -1 and
 * *out unchanged. */
int util_parse_int(const char *s, long lo, long hi, int *out);
int util_parse_double(const char *s, double lo, double hi, double *out);

/* Copies src into dst[size] like snprintf(dst, size, "%s", src) (at most size - 1 bytes,
 * always NUL-terminated when size > 0) without the formatting machinery; returns the bytes
 * copied. For hot paths. */
size_t util_copy_str(char *dst, size_t size, const char *src);
/* Writes v in decimal + NUL into out (at least 21 bytes); returns its length ("%ld"). */
size_t util_fmt_long(char *out, long v);

/* A request id: 32 lower-case hex chars + NUL, unique across threads, processes, restarts
 * and replicas: a 64-bit random prefix drawn once per thread (OpenSSL's RAND_bytes) and that
 * thread's 64-bit counter. Per request it costs a counter increment and a hex encode (no
 * RAND_bytes, whose getpid and DRBG were ~6% of a pass-through request). */
void util_request_id(char out[33]);
#endif
