/* text.h - UTF-8 decoding and NFKC normalisation shared by the tokenizers.
 *
 * Input text is never rejected: an invalid UTF-8 byte decodes to U+FFFD. The
 * normaliser works into caller-owned scratch that only grows, so tokenizing
 * allocates nothing once the scratch has seen an input of that size. */
#ifndef SEMROUTER_EMBED_TEXT_H
#define SEMROUTER_EMBED_TEXT_H
#include <stddef.h>
#include <stdint.h>

/* Decodes one code point from s[0..n) (n >= 1) into *cp; returns the bytes
 * consumed (1..4). An invalid or truncated sequence consumes 1 byte -> U+FFFD. */
size_t text_utf8_next(const unsigned char *s, size_t n, uint32_t *cp);
/* Encodes cp as UTF-8 into out (4 bytes room); returns the byte count. */
size_t text_utf8_put(uint32_t cp, char *out);

/* Python's str.isspace() (Unicode White_Space plus the ASCII separators). */
int text_is_space(uint32_t cp);

/* Growable scratch for text_nfkc. */
typedef struct text_scratch {
    char *utf8; /* sanitised input */
    size_t utf8_cap;
    int32_t *cp; /* normalised code points, at offset `reserve` */
    size_t cp_cap;
} text_scratch;
void text_scratch_free(text_scratch *s);

/* NFKC-normalises s[0..n) (invalid UTF-8 replaced by U+FFFD) into code points at
 * scratch->cp[reserve..reserve+*count); the first `reserve` slots are left for
 * the caller (e.g. a prefix character). ASCII input takes a copy-only path.
 * Returns 0, or -1 when memory runs out. */
int text_nfkc(text_scratch *scratch, const char *s, size_t n, size_t reserve, size_t *count);
#endif
