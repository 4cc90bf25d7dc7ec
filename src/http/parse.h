/* parse.h - the HTTP/1.1 request parser of server.c, with no socket or loop.
 *
 * Incremental: http_parse() consumes what is buffered in an evbuffer (bytes
 * may arrive in any split) and says whether a whole request (request line,
 * headers, Content-Length or chunked body) is there, more bytes are needed, or
 * the request is malformed (an HTTP status). Bytes after a complete request
 * stay in the buffer (pipelining). Limits: request line + headers <=
 * max_header_bytes (431), body <= max_body_bytes (413), at most
 * HTTP_MAX_HEADERS headers (431), a chunk-size line <= 1024 bytes (400).
 * Work is linear in the bytes consumed: every byte is looked at a bounded
 * number of times, except that an unterminated line is searched again each
 * time bytes arrive (bounded by the limits above).
 * server.c drives it per connection; fuzz/fuzz_http.c drives it directly. */
#ifndef SEMROUTER_HTTP_PARSE_H
#define SEMROUTER_HTTP_PARSE_H
#include <stddef.h>
#include "core/buf.h"

struct evbuffer;

#define HTTP_MAX_HEADERS 128

typedef struct http_header_kv {
    char *name, *value; /* name lower-cased */
} http_header_kv;

/* One request as parsed. */
typedef struct http_msg {
    char method[16];
    char *path, *query; /* query points into path's allocation (after its '?') */
    int minor_version;
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
    size_t head_bytes;
    size_t remaining; /* body or chunk bytes still expected */
    size_t max_body_bytes, max_header_bytes;
    int send_continue; /* set once when "HTTP/1.1 100 Continue" should be written */
} http_parser;

enum { HTTP_PARSE_MORE = 0, HTTP_PARSE_DONE = 1 };

void http_msg_init(http_msg *m);
void http_msg_free(http_msg *m); /* and leaves it initialised (empty) */
const char *http_msg_header(const http_msg *m, const char *name); /* case-insensitive */
/* Starts a new request: phase READ_HEAD, counters zero (limits kept). */
void http_parser_reset(http_parser *p);
/* Consumes bytes of in into m. HTTP_PARSE_MORE: wait for more bytes;
 * HTTP_PARSE_DONE: m is complete; otherwise the HTTP status (400, 413, 431,
 * 500, 501, 505) of a request that cannot be served (the connection closes). */
int http_parse(http_parser *p, http_msg *m, struct evbuffer *in);
/* The sentence server.c answers a status of http_parse with. */
const char *http_parse_status_message(int status);
#endif
