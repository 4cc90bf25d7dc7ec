/* buf.h - growable byte buffer, the one way the code builds strings and JSON.
 *
 * A buf owns its memory (free with buf_free). Appends never fail silently: on
 * allocation failure the buffer is marked failed (buf.oom) and later appends are
 * no-ops, so writers check once at the end. data is always NUL-terminated. */
#ifndef SEMROUTER_BUF_H
#define SEMROUTER_BUF_H
#include <stdarg.h>
#include <stddef.h>

typedef struct buf {
    char *data;
    size_t len, cap;
    int oom;
} buf;

void buf_init(buf *b);
void buf_free(buf *b);
void buf_reset(buf *b); /* len = 0, keeps capacity */
int buf_reserve(buf *b, size_t extra);
void buf_append(buf *b, const void *p, size_t n);
void buf_puts(buf *b, const char *s);
void buf_putc(buf *b, char c);
void buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(buf *b, const char *fmt, va_list ap);
/* Appends s (n bytes) as a JSON string literal, quotes included. Invalid UTF-8
 * bytes become U+FFFD so the output is always valid JSON. */
void buf_json_str(buf *b, const char *s, size_t n);
/* Detaches the data (caller frees); the buf is left empty. */
char *buf_steal(buf *b);
#endif
