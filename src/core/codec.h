/* codec.h - the small byte codecs, written once: base64 (standard alphabet, padded; the
 * URL-safe letters on request) and lower-case hex. Everything that reads or writes a
 * vector, a digest or an id as text goes through these. */
#ifndef SEMROUTER_CODEC_H
#define SEMROUTER_CODEC_H
#include <stddef.h>
#include "core/buf.h"

/* Appends the base64 of data[0..n) to out (padded with '=', no quotes). An allocation
 * failure marks out failed like any buf append. */
void codec_base64_encode(buf *out, const void *data, size_t n);
/* The same as a JSON string literal: the letters between double quotes. */
void codec_base64_encode_quoted(buf *out, const void *data, size_t n);

/* Accept '-' and '_' (the URL-safe alphabet) as well as '+' and '/'. */
#define CODEC_BASE64_URL_TOO 1

/* Value 0..63 of c in the base64 alphabet (flags as below), -1 for any other byte. */
int codec_base64_value(int c, int flags);

/* Decodes s[0..n) (trailing '=' allowed, no other padding, no whitespace) into
 * out[0..cap). Returns the number of bytes written, or -1 when s is not base64 (a stray
 * byte, a length of 4k+1 letters) or its bytes do not fit in cap. */
long codec_base64_decode_into(const char *s, size_t n, void *out, size_t cap, int flags);

/* The same into a malloc'd buffer (caller frees) with its length in *out_len; NULL on
 * bad input or out of memory. */
unsigned char *codec_base64_decode(const char *s, size_t n, size_t *out_len);

/* Writes the lower-case hex of data[0..n) to out: 2n characters and a NUL. */
void codec_hex_encode(const void *data, size_t n, char *out);

/* Value 0..15 of a hex digit (either case), -1 otherwise. */
int codec_hex_value(int c);

/* Decodes exactly 2n hex digits s[0..2n) into out[0..n). Returns 0, or -1 (out partly
 * written) when one of them is not a hex digit. The caller checks the length first. */
int codec_hex_decode(const char *s, size_t n, void *out);
/* The same for a NUL-terminated s that must be exactly 2n digits long (a digest, a key):
 * -1 for NULL, a shorter or longer string or a non-digit. */
int codec_hex_decode_exact(const char *s, size_t n, void *out);
#endif
