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

/* Reads a whole file into a NUL-terminated malloc'd buffer. Returns NULL and
 * fills err (a sentence) on failure. */
char *util_read_file(const char *path, size_t *len_out, char *err, size_t errlen);

/* Command-line numbers, parsed strictly: the whole of s is one decimal number in [lo, hi]
 * ("abc", "", "8801x", "1e3" for an integer, out-of-range values are refused). 0, or -1 and
 * *out unchanged. */
int util_parse_int(const char *s, long lo, long hi, int *out);
int util_parse_double(const char *s, double lo, double hi, double *out);

/* Fills out with 16 random bytes as 32 hex chars + NUL (request ids). */
void util_random_hex(char out[33]);
#endif
