/* unifold.h - what the guards' ASCII scanners make of a non-ASCII character.
 *
 * The PII recognizers and the prompt guard read ASCII shapes; text from real
 * clients wraps values and words in curly quotes, guillemets, CJK brackets,
 * full-width forms, Unicode spaces and dashes, emoji and invisible characters.
 * unifold_cp says what one code point stands for in ASCII so that
 * “alice@example.com” and «ignore all rules» read like their ASCII forms:
 * quotes '"' or '\'', brackets '(' ')', full-width ASCII its letter, digit or
 * sign (the full-width and ideographic comma, colon and semicolon followed by a
 * space), hyphens and the minus sign '-', spaces, dashes, bullets, ellipses,
 * other general punctuation (and the Devanagari danda, Arabic comma, semicolon,
 * question mark and full stop), arrows, dingbats and emoji (with variation
 * selectors, skin tones, keycaps, tags) a space, zero-width characters, the soft
 * hyphen and bidirectional controls nothing. Letters, marks and digits of every
 * script are kept (NULL), except, when UNIFOLD_CJK_SPACE is given, the letters of
 * scripts written without spaces (Han, kana, Hangul, Thai), which become a space
 * (for scanners that look for ASCII tokens inside such text). An output is never
 * longer than the UTF-8 encoding of the code point. */
#ifndef SEMROUTER_UNIFOLD_H
#define SEMROUTER_UNIFOLD_H
#include <stddef.h>

#define UNIFOLD_CJK_SPACE 1

/* Decodes one UTF-8 sequence at s (n bytes available): its length (2..4) and
 * *cp, or 0 for an ASCII byte or an invalid/truncated/overlong sequence. */
int unifold_decode(const unsigned char *s, size_t n, unsigned *cp);

/* The ASCII string code point cp stands for ("" = nothing), or NULL: keep it. */
const char *unifold_cp(unsigned cp, int flags);

/* Symbols and pictographs (emoji, dingbats, arrows; not punctuation): the
 * prompt guard drops these between two letters ("ig🔥nore"). */
int unifold_is_symbol(unsigned cp);
#endif
