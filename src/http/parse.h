/* parse.h - the HTTP/1.1 request parser of server.c, with no socket or loop.
 *
 * Incremental: http_parse() consumes what is buffered in an evbuffer (bytes
 * may arrive in any split) and says whether a whole request (request line,
 * headers, Content-Length or chunked body) is there, more bytes are needed, or
 * the request is malformed (an HTTP status). Bytes after a complete request
 * stay in the buffer (pipelining). Limits: request line + headers <=
 * max_header_bytes (431; a line counts its bytes + 2, whether it ends in CRLF
 * or a bare LF), body <= max_body_bytes (413), at most HTTP_MAX_HEADERS
 * headers (431), a chunk-size line <= 1024 bytes (400).
 *
 * The head is read in place: the buffered bytes are made contiguous once
 * (evbuffer_pullup), each complete line is found with one memchr, copied once
 * into the message's head buffer and parsed there (names lower-cased,
 * NUL-terminated in place); headers are (offset, length) slices of that
 * buffer, so a request costs one allocation for its head, not one per header.
 * A malformed line is answered as soon as it is complete, not only at the end
 * of the head. A NUL byte in the request line or a header value is malformed
 * (400).
 * Work is linear in the bytes consumed: every byte is looked at a bounded
 * number of times (an unterminated head line is searched only from where the
 * last search stopped; a chunk-size or trailer line is searched again each
 * time bytes arrive, bounded by the limits above).
 * server.c drives it per connection; fuzz/fuzz_http.c drives it directly. */
#ifndef SEMROUTER_HTTP_PARSE_H
#define SEMROUTER_HTTP_PARSE_H
#include <stddef.h>
#include "core/buf.h"

struct evbuffer;

#define HTTP_MAX_HEADERS 128

/* A header as offsets into http_msg.head: name (lower-cased) and value (without the
 * surrounding blanks) are NUL-terminated there. */
typedef struct http_header_kv {
    unsigned name_off, name_len, value_off, value_len;
} http_header_kv;

/* One request as parsed. */
typedef struct http_msg {
    char method[16];
    /* into head (path may be a static "/"), set when the head is complete; query is what
     * follows the target's '?', NULL without one */
    const char *path, *query;
    int minor_version;
    buf head; /* the request line and header lines, each NUL-terminated */
    http_header_kv headers[HTTP_MAX_HEADERS];
    int n_headers;
    buf body;
    int keepalive;
    int have_request_line;
} http_msg;

enum http_parse_phase {
    HTTP_READ_HEAD,
    HTTP_READ_BODY,
    HTTP_READ_CHUNK_SIZE,
    HTTP_READ_CHUNK_DATA,
    HTTP_READ_TRAILER
};

typedef struct http_parser {
    enum http_parse_phase phase;
    size_t head_bytes;   /* counted against max_header_bytes */
    size_t line_scanned; /* bytes of the unterminated head line already searched for LF */
    /* found while reading the head: the target's offsets in head (-1: "/" / no query), the
     * first Connection, Transfer-Encoding, Expect and Content-Length headers (index or -1),
     * whether two Content-Length values differ */
    long path_off, query_off;
    int i_connection, i_te, i_expect, i_cl, cl_conflict;
    size_t remaining; /* body or chunk bytes still expected */
    size_t max_body_bytes, max_header_bytes;
    int send_continue; /* set once when "HTTP/1.1 100 Continue" should be written */
} http_parser;

enum { HTTP_PARSE_MORE = 0, HTTP_PARSE_DONE = 1 };

void http_msg_init(http_msg *m);
void http_msg_free(http_msg *m); /* and leaves it initialised (empty) */
const char *http_msg_header(const http_msg *m, const char *name); /* case-insensitive */
/* Header i (0..n_headers-1): returns 0 past the end. */
int http_msg_header_at(const http_msg *m, int i, const char **name, const char **value);
/* Starts a new request: phase READ_HEAD, counters zero (limits kept). */
void http_parser_reset(http_parser *p);
/* Consumes bytes of in into m. HTTP_PARSE_MORE: wait for more bytes;
 * HTTP_PARSE_DONE: m is complete; otherwise the HTTP status (400, 413, 431,
 * 500, 501, 505) of a request that cannot be served (the connection closes). */
int http_parse(http_parser *p, http_msg *m, struct evbuffer *in);
/* The sentence server.c answers a status of http_parse with. */
const char *http_parse_status_message(int status);
#endif
