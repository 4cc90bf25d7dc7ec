/* test_http_parse.c - the HTTP/1.1 request parser (src/http/parse.c): what a request head
 * parses to (method, path, query, headers as slices of the head), every limit and error
 * status, and the same result whatever pieces the bytes arrive in. */
#include "http/parse.h"
#include "test.h"

#include <event2/buffer.h>

#define MAX_BODY 1000
#define MAX_HEAD 512

/* Feeds s (n bytes) to a fresh parser in pieces of `piece` bytes (0: all at once) until the
 * parser answers something other than MORE; returns that (MORE when every byte went in).
 * left: bytes still buffered afterwards (a pipelined next request), may be NULL. */
static int parse_pieces(const char *s, size_t n, size_t piece, http_msg *m, size_t *left)
{
    struct evbuffer *in = evbuffer_new();
    http_parser p = {.max_body_bytes = MAX_BODY, .max_header_bytes = MAX_HEAD};
    http_parser_reset(&p);
    http_msg_init(m);
    int st = HTTP_PARSE_MORE;
    size_t off = 0;
    if (!piece) piece = n ? n : 1;
    while (st == HTTP_PARSE_MORE && off < n) {
        size_t k = n - off < piece ? n - off : piece;
        evbuffer_add(in, s + off, k);
        off += k;
        st = http_parse(&p, m, in);
    }
    if (left) *left = evbuffer_get_length(in) + (n - off);
    evbuffer_free(in);
    return st;
}

static int parse_str(const char *s, http_msg *m) { return parse_pieces(s, strlen(s), 0, m, NULL); }

/* status of s parsed whole, checked to be the same in 1-byte and 7-byte pieces */
static int status_of(const char *s)
{
    http_msg m;
    int st = parse_str(s, &m);
    http_msg_free(&m);
    for (size_t piece = 1; piece <= 7; piece += 6) {
        int st2 = parse_pieces(s, strlen(s), piece, &m, NULL);
        http_msg_free(&m);
        CHECK(st2 == st, "%d in %zu-byte pieces, %d whole: %s", st2, piece, st, s);
    }
    return st;
}

static void test_request_parts(void)
{
    const char *req = "POST /v1/chat/completions?a=1&b=2 HTTP/1.1\r\n"
                      "Host: x\r\n"
                      "Content-Type:  application/json \t\r\n"
                      "X-Empty:\r\n"
                      "AUTHORIZATION: Bearer k\r\n"
                      "Content-Length: 5\r\n"
                      "\r\n"
                      "hello";
    for (size_t piece = 0; piece <= 9; piece++) {
        http_msg m;
        size_t left;
        CHECK_EQ_INT(parse_pieces(req, strlen(req), piece, &m, &left), HTTP_PARSE_DONE);
        CHECK_EQ_INT(left, 0);
        CHECK_STR(m.method, "POST");
        CHECK_STR(m.path, "/v1/chat/completions");
        CHECK_STR(m.query, "a=1&b=2");
        CHECK_EQ_INT(m.minor_version, 1);
        CHECK_EQ_INT(m.keepalive, 1);
        CHECK_EQ_INT(m.n_headers, 5);
        CHECK_STR(http_msg_header(&m, "content-type"), "application/json");
        CHECK_STR(http_msg_header(&m, "Authorization"), "Bearer k");
        CHECK_STR(http_msg_header(&m, "x-empty"), "");
        CHECK(http_msg_header(&m, "x-emptyy") == NULL, "a longer name matched");
        CHECK(http_msg_header(&m, "x-empt") == NULL, "a prefix matched");
        const char *name, *value;
        CHECK(http_msg_header_at(&m, 3, &name, &value), "header 3");
        CHECK_STR(name, "authorization"); /* lower-cased */
        CHECK_STR(value, "Bearer k");
        CHECK(!http_msg_header_at(&m, 5, &name, &value), "past the end");
        CHECK(!http_msg_header_at(&m, -1, &name, &value), "before the start");
        CHECK_EQ_INT(m.body.len, 5);
        CHECK_STR(m.body.data, "hello");
        http_msg_free(&m);
        CHECK_EQ_INT(m.n_headers, 0);
        CHECK(m.path == NULL, "freed message keeps a path");
    }
}

static void test_line_endings_and_forms(void)
{
    http_msg m;
    /* bare LF line ends, empty lines before the request line, HTTP/1.0 */
    CHECK_EQ_INT(parse_str("\r\n\nGET /x HTTP/1.0\nA: 1\n\n", &m), HTTP_PARSE_DONE);
    CHECK_STR(m.path, "/x");
    CHECK(m.query == NULL, "query without '?'");
    CHECK_EQ_INT(m.keepalive, 0);
    CHECK_STR(http_msg_header(&m, "a"), "1");
    http_msg_free(&m);
    /* absolute-form keeps the path; without a path it is "/" */
    CHECK_EQ_INT(parse_str("GET http://h:1/p?q HTTP/1.1\r\n\r\n", &m), HTTP_PARSE_DONE);
    CHECK_STR(m.path, "/p");
    CHECK_STR(m.query, "q");
    http_msg_free(&m);
    CHECK_EQ_INT(parse_str("GET http://h:1 HTTP/1.1\r\n\r\n", &m), HTTP_PARSE_DONE);
    CHECK_STR(m.path, "/");
    http_msg_free(&m);
    CHECK_EQ_INT(parse_str("OPTIONS * HTTP/1.1\r\n\r\n", &m), HTTP_PARSE_DONE);
    CHECK_STR(m.path, "*");
    http_msg_free(&m);
    /* Connection overrides the version's default */
    CHECK_EQ_INT(parse_str("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n", &m), HTTP_PARSE_DONE);
    CHECK_EQ_INT(m.keepalive, 0);
    http_msg_free(&m);
    CHECK_EQ_INT(parse_str("GET / HTTP/1.0\r\nconnection: keep-alive\r\n\r\n", &m), HTTP_PARSE_DONE);
    CHECK_EQ_INT(m.keepalive, 1);
    http_msg_free(&m);
    /* equal repeated Content-Length is one length */
    CHECK_EQ_INT(parse_str("POST / HTTP/1.1\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\nok", &m),
                 HTTP_PARSE_DONE);
    CHECK_STR(m.body.data, "ok");
    http_msg_free(&m);
}

static void test_chunked_and_pipelined(void)
{
    const char *req = "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nTrailer: x\r\n\r\n"
                      "GET /next HTTP/1.1\r\n\r\n";
    for (size_t piece = 0; piece <= 5; piece++) {
        http_msg m;
        size_t left;
        CHECK_EQ_INT(parse_pieces(req, strlen(req), piece, &m, &left), HTTP_PARSE_DONE);
        CHECK_STR(m.body.data, "abcde");
        CHECK_EQ_INT(left, strlen("GET /next HTTP/1.1\r\n\r\n"));
        http_msg_free(&m);
    }
    /* two requests from one buffer, the message reused after free */
    struct evbuffer *in = evbuffer_new();
    const char *two = "GET /a HTTP/1.1\r\nX: 1\r\n\r\nGET /b?c HTTP/1.1\r\nY: 2\r\n\r\n";
    evbuffer_add(in, two, strlen(two));
    http_parser p = {.max_body_bytes = MAX_BODY, .max_header_bytes = MAX_HEAD};
    http_parser_reset(&p);
    http_msg m;
    http_msg_init(&m);
    CHECK_EQ_INT(http_parse(&p, &m, in), HTTP_PARSE_DONE);
    CHECK_STR(m.path, "/a");
    CHECK_STR(http_msg_header(&m, "x"), "1");
    http_msg_free(&m);
    http_parser_reset(&p);
    CHECK_EQ_INT(http_parse(&p, &m, in), HTTP_PARSE_DONE);
    CHECK_STR(m.path, "/b");
    CHECK_STR(m.query, "c");
    CHECK(http_msg_header(&m, "x") == NULL, "a header of the first request");
    CHECK_STR(http_msg_header(&m, "y"), "2");
    CHECK_EQ_INT(evbuffer_get_length(in), 0);
    http_msg_free(&m);
    evbuffer_free(in);
}

static void test_errors(void)
{
    CHECK_EQ_INT(status_of("GET / HTTP/1.1\r\n\r\n"), HTTP_PARSE_DONE);
    CHECK_EQ_INT(status_of("GET /\r\n\r\n"), 400);
    CHECK_EQ_INT(status_of("GET / HTTP/2.0\r\n\r\n"), 505);
    CHECK_EQ_INT(status_of("GET / FTP/1.1\r\n\r\n"), 400);
    CHECK_EQ_INT(status_of("GET / HTTP/1.1 \r\n\r\n"), 505); /* "HTTP/1.1 " is another version */
    CHECK_EQ_INT(status_of("G(T / HTTP/1.1\r\n\r\n"), 400);
    CHECK_EQ_INT(status_of("ABCDEFGHIJKLMNOPQ / HTTP/1.1\r\n\r\n"), 400); /* method > 15 bytes */
    CHECK_EQ_INT(status_of("GET /a\x01 HTTP/1.1\r\n\r\n"), 400);
    CHECK_EQ_INT(status_of("GET x HTTP/1.1\r\n\r\n"), 400);
    CHECK_EQ_INT(status_of("GET / HTTP/1.1\r\nNoColon\r\n\r\n"), 400);
    CHECK_EQ_INT(status_of("GET / HTTP/1.1\r\n: v\r\n\r\n"), 400);
    CHECK_EQ_INT(status_of("GET / HTTP/1.1\r\nA b: v\r\n\r\n"), 400);
    CHECK_EQ_INT(status_of("GET / HTTP/1.1\r\nA: 1\r\n folded\r\n\r\n"), 400);
    CHECK_EQ_INT(status_of("GET / HTTP/1.1\r\nA: x\x7fy\x01\r\n\r\n"), 400);
    CHECK_EQ_INT(status_of("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"), 400);
    CHECK_EQ_INT(status_of("POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n"), 400);
    CHECK_EQ_INT(status_of("POST / HTTP/1.1\r\nContent-Length:\r\n\r\n"), 400);
    CHECK_EQ_INT(status_of("POST / HTTP/1.1\r\nContent-Length: 1001\r\n\r\n"), 413);
    CHECK_EQ_INT(status_of("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"), 501);
    CHECK_EQ_INT(status_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n"),
                 400);
    CHECK_EQ_INT(status_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), 400);
    CHECK_EQ_INT(status_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\n"), 400);
    CHECK_EQ_INT(status_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3e9\r\n"), 413);
    /* a NUL byte in the request line or a value is malformed */
    const char nul_line[] = "GET /a\0b HTTP/1.1\r\n\r\n";
    const char nul_value[] = "GET / HTTP/1.1\r\nA: x\0y\r\n\r\n";
    http_msg m;
    CHECK_EQ_INT(parse_pieces(nul_line, sizeof nul_line - 1, 0, &m, NULL), 400);
    http_msg_free(&m);
    CHECK_EQ_INT(parse_pieces(nul_value, sizeof nul_value - 1, 0, &m, NULL), 400);
    http_msg_free(&m);
    /* a malformed line is answered when it is complete, before the head ends */
    CHECK_EQ_INT(parse_str("GET / HTTP/1.1\r\nbad line\r\nX: 1", &m), 400);
    http_msg_free(&m);
    CHECK_EQ_INT(parse_str("NOT HTTP\r\n", &m), 400);
    http_msg_free(&m);
}

static void test_limits(void)
{
    /* head bytes: each line counts its bytes + 2 (LF-only lines too) */
    char req[2048];
    size_t fill = MAX_HEAD - strlen("GET / HTTP/1.1\r\n") - strlen("X: \r\n") - 2;
    int n = snprintf(req, sizeof req, "GET / HTTP/1.1\r\nX: %.*s\r\n\r\n", (int)fill,
                     "........................................................................"
                     "........................................................................"
                     "........................................................................"
                     "........................................................................"
                     "........................................................................"
                     "........................................................................"
                     "........................................................................"
                     "........................................................................");
    CHECK_EQ_INT(n, MAX_HEAD);
    CHECK_EQ_INT(status_of(req), HTTP_PARSE_DONE); /* exactly at the limit */
    n = snprintf(req, sizeof req, "GET / HTTP/1.1\r\nX: %.*s.\r\n\r\n", (int)fill,
                 "........................................................................"
                 "........................................................................"
                 "........................................................................"
                 "........................................................................"
                 "........................................................................"
                 "........................................................................"
                 "........................................................................"
                 "........................................................................");
    CHECK_EQ_INT(status_of(req), 431); /* one byte over */
    /* the same head with bare LFs: the same count, so the same verdicts */
    char lf[2048];
    size_t j = 0;
    for (int i = 0; i < n; i++)
        if (req[i] != '\r') lf[j++] = req[i];
    lf[j] = 0;
    CHECK_EQ_INT(status_of(lf), 431);
    lf[j - 3] = '\n'; /* one '.' less: at the limit */
    lf[j - 2] = '\n';
    lf[j - 1] = 0;
    CHECK_EQ_INT(status_of(lf), HTTP_PARSE_DONE);
    /* an unterminated head over the limit is 431 before its end arrives */
    memset(req, 'a', MAX_HEAD + 1);
    memcpy(req, "GET /", 5);
    req[MAX_HEAD + 1] = 0;
    http_msg m;
    CHECK_EQ_INT(parse_str(req, &m), 431);
    http_msg_free(&m);
    req[MAX_HEAD] = 0; /* at the limit: still waiting */
    CHECK_EQ_INT(parse_str(req, &m), HTTP_PARSE_MORE);
    http_msg_free(&m);
    /* a complete head followed by a body larger than the head limit is fine */
    char big[1200];
    int bl = snprintf(big, sizeof big, "POST / HTTP/1.1\r\nContent-Length: 900\r\n\r\n");
    memset(big + bl, 'b', 900);
    CHECK_EQ_INT(parse_pieces(big, (size_t)bl + 900, 0, &m, NULL), HTTP_PARSE_DONE);
    CHECK_EQ_INT(m.body.len, 900);
    http_msg_free(&m);
    /* header count */
    struct evbuffer *in = evbuffer_new();
    http_parser p = {.max_body_bytes = MAX_BODY, .max_header_bytes = 1 << 20};
    http_parser_reset(&p);
    http_msg_init(&m);
    evbuffer_add_printf(in, "GET / HTTP/1.1\r\n");
    for (int i = 0; i < HTTP_MAX_HEADERS; i++) evbuffer_add_printf(in, "h%d: %d\r\n", i, i);
    CHECK_EQ_INT(http_parse(&p, &m, in), HTTP_PARSE_MORE);
    CHECK_EQ_INT(m.n_headers, HTTP_MAX_HEADERS);
    evbuffer_add_printf(in, "\r\n");
    CHECK_EQ_INT(http_parse(&p, &m, in), HTTP_PARSE_DONE);
    CHECK_STR(http_msg_header(&m, "h127"), "127");
    CHECK_STR(http_msg_header(&m, "h0"), "0");
    http_msg_free(&m);
    http_parser_reset(&p);
    evbuffer_add_printf(in, "GET / HTTP/1.1\r\n");
    for (int i = 0; i <= HTTP_MAX_HEADERS; i++) evbuffer_add_printf(in, "h%d: %d\r\n", i, i);
    CHECK_EQ_INT(http_parse(&p, &m, in), 431);
    http_msg_free(&m);
    evbuffer_free(in);
}

/* Expect: 100-continue asks for a Continue only when a body is still to come. */
static void test_continue(void)
{
    struct evbuffer *in = evbuffer_new();
    http_parser p = {.max_body_bytes = MAX_BODY, .max_header_bytes = MAX_HEAD};
    http_parser_reset(&p);
    http_msg m;
    http_msg_init(&m);
    evbuffer_add_printf(in, "POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
    CHECK_EQ_INT(http_parse(&p, &m, in), HTTP_PARSE_MORE);
    CHECK_EQ_INT(p.send_continue, 1);
    evbuffer_add(in, "abc", 3);
    CHECK_EQ_INT(http_parse(&p, &m, in), HTTP_PARSE_DONE);
    http_msg_free(&m);
    http_parser_reset(&p);
    evbuffer_add_printf(in, "POST / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n");
    CHECK_EQ_INT(http_parse(&p, &m, in), HTTP_PARSE_DONE);
    CHECK_EQ_INT(p.send_continue, 0);
    http_msg_free(&m);
    evbuffer_free(in);
}

int main(void)
{
    RUN(test_request_parts);
    RUN(test_line_endings_and_forms);
    RUN(test_chunked_and_pipelined);
    RUN(test_errors);
    RUN(test_limits);
    RUN(test_continue);
    TEST_MAIN_END();
}
