/* fuzz_http.c - the HTTP/1.1 request parser (src/http/parse.c), as a connection
 * sees it: the bytes after the first arrive in pieces of (first byte + 1)
 * bytes, requests are pipelined, and a finished request frees and restarts.
 * Properties: the body never exceeds max_body_bytes, headers never exceed
 * HTTP_MAX_HEADERS, a parsed path starts with '/' and holds no control byte or
 * space, and the parser never reports DONE twice without consuming bytes. */
#include "fuzz.h"
#include "http/parse.h"

#include <event2/buffer.h>
#include <string.h>

#define MAX_BODY 4096
#define MAX_HEAD 2048

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    size_t piece = (size_t)data[0] + 1;
    data++;
    size--;
    struct evbuffer *in = evbuffer_new();
    http_parser p = {.max_body_bytes = MAX_BODY, .max_header_bytes = MAX_HEAD};
    http_parser_reset(&p);
    http_msg m;
    http_msg_init(&m);
    fuzz_work_begin();
    size_t off = 0;
    int closed = 0;
    while (!closed && (off < size || evbuffer_get_length(in))) {
        if (off < size) {
            size_t n = size - off < piece ? size - off : piece;
            evbuffer_add(in, data + off, n);
            off += n;
        }
        for (;;) {
            size_t before = evbuffer_get_length(in);
            int st = http_parse(&p, &m, in);
            if (m.body.len > MAX_BODY) fuzz_fail("body of %zu bytes over the limit", m.body.len);
            if (m.n_headers > HTTP_MAX_HEADERS) fuzz_fail("%d headers", m.n_headers);
            if (st == HTTP_PARSE_MORE) break;
            if (st != HTTP_PARSE_DONE) {
                if (st < 400 || st > 599) fuzz_fail("status %d", st);
                closed = 1; /* the server answers and closes */
                break;
            }
            if (!m.path || (m.path[0] != '/' && strcmp(m.method, "OPTIONS")))
                fuzz_fail("done without a path");
            for (const char *c = m.path; c && *c; c++)
                if ((unsigned char)*c <= 32 || *c == 127) fuzz_fail("control byte in path");
            http_msg_free(&m);
            http_parser_reset(&p);
            if (evbuffer_get_length(in) == 0) break;
            if (evbuffer_get_length(in) == before) fuzz_fail("done without consuming bytes");
        }
        if (off >= size && !closed) break; /* all bytes in: what is left waits forever */
    }
    fuzz_work_end("http_parse", size, 20000, 400);
    http_msg_free(&m);
    evbuffer_free(in);
    return 0;
}
