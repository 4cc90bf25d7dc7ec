/* parse.c - the HTTP/1.1 request parser (see parse.h). */
#include "http/parse.h"

#include <ctype.h>
#include <errno.h>
#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_CHUNK_LINE 1024

void http_msg_init(http_msg *m)
{
    /* field by field: the header slots are written before they are read (n_headers), so the
     * 2 KiB array is not cleared for every request */
    m->method[0] = 0;
    m->path = m->query = NULL;
    m->minor_version = 0;
    buf_init(&m->head);
    m->n_headers = 0;
    buf_init(&m->body);
    m->keepalive = 0;
    m->have_request_line = 0;
}

void http_msg_free(http_msg *m)
{
    buf_free(&m->head);
    buf_free(&m->body);
    http_msg_init(m);
}

const char *http_msg_header(const http_msg *m, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < m->n_headers; i++) {
        const http_header_kv *h = &m->headers[i];
        if (h->name_len == n && !strncasecmp(m->head.data + h->name_off, name, n))
            return m->head.data + h->value_off;
    }
    return NULL;
}

int http_msg_header_at(const http_msg *m, int i, const char **name, const char **value)
{
    if (i < 0 || i >= m->n_headers) return 0;
    *name = m->head.data + m->headers[i].name_off;
    *value = m->head.data + m->headers[i].value_off;
    return 1;
}

void http_parser_reset(http_parser *p)
{
    p->phase = HTTP_READ_HEAD;
    p->head_bytes = 0;
    p->line_scanned = 0;
    p->remaining = 0;
    p->send_continue = 0;
    p->path_off = p->query_off = -1;
    p->i_connection = p->i_te = p->i_expect = p->i_cl = -1;
    p->cl_conflict = 0;
}

static int is_token_char(unsigned char ch)
{
    return ch > 32 && ch < 127 && !strchr("()<>@,;:\\\"/[]?={}", ch);
}

/* Copies a head line (n bytes, without its CR LF) to the end of r->head, NUL-terminated;
 * returns it there, NULL when out of memory. */
static char *head_add_line(http_msg *r, const unsigned char *line, size_t n)
{
    size_t off = r->head.len;
    if (buf_reserve(&r->head, n + 1)) return NULL;
    memcpy(r->head.data + off, line, n);
    r->head.data[off + n] = 0;
    r->head.len = off + n + 1;
    r->head.data[r->head.len] = 0;
    return r->head.data + off;
}

/* Parses "METHOD target HTTP/1.x" (line: n bytes in r->head). Returns 0 or an HTTP status. */
static int parse_request_line(http_parser *p, http_msg *r, char *line, size_t n)
{
    char *end = line + n;
    char *sp1 = memchr(line, ' ', n);
    if (!sp1) return 400;
    char *sp2 = memchr(sp1 + 1, ' ', (size_t)(end - (sp1 + 1)));
    if (!sp2) return 400;
    size_t mlen = (size_t)(sp1 - line);
    if (mlen == 0 || mlen >= sizeof r->method) return 400;
    for (size_t i = 0; i < mlen; i++)
        if (!is_token_char((unsigned char)line[i])) return 400;
    memcpy(r->method, line, mlen);
    r->method[mlen] = 0;
    const char *ver = sp2 + 1;
    size_t vlen = (size_t)(end - ver);
    if (vlen == 8 && !memcmp(ver, "HTTP/1.1", 8)) r->minor_version = 1;
    else if (vlen == 8 && !memcmp(ver, "HTTP/1.0", 8)) r->minor_version = 0;
    else return vlen >= 5 && !memcmp(ver, "HTTP/", 5) ? 505 : 400;
    *sp2 = 0;
    char *target = sp1 + 1;
    if (target[0] != '/' && strcmp(r->method, "OPTIONS")) {
        /* absolute-form: keep only the path */
        char *s = memmem(target, (size_t)(sp2 - target), "://", 3);
        if (!s) return 400;
        target = memchr(s + 3, '/', (size_t)(sp2 - (s + 3)));
    }
    if (target) {
        for (const char *c = target; c < sp2; c++)
            if ((unsigned char)*c <= 32 || (unsigned char)*c == 127) return 400;
        p->path_off = target - r->head.data;
        char *q = memchr(target, '?', (size_t)(sp2 - target));
        if (q) {
            *q = 0;
            p->query_off = q + 1 - r->head.data;
        }
    } /* else "http://host" without a path: "/" */
    r->keepalive = r->minor_version == 1;
    r->have_request_line = 1;
    return 0;
}

/* Parses "name: value" (line: n bytes in r->head), lower-casing the name and cutting the
 * value's blanks in place. Returns 0 or an HTTP status. */
static int parse_header_line(http_parser *p, http_msg *r, char *line, size_t n)
{
    if (line[0] == ' ' || line[0] == '\t') return 400; /* obsolete line folding */
    char *colon = memchr(line, ':', n);
    if (!colon || colon == line) return 400;
    for (char *c = line; c < colon; c++) {
        if (!is_token_char((unsigned char)*c)) return 400;
        *c = (char)tolower((unsigned char)*c);
    }
    *colon = 0;
    char *v = colon + 1, *end = line + n;
    while (v < end && (*v == ' ' || *v == '\t')) v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t')) end--;
    *end = 0;
    for (const char *c = v; c < end; c++)
        if ((unsigned char)*c < 32 && *c != '\t') return 400;
    if (r->n_headers >= HTTP_MAX_HEADERS) return 431;
    int i = r->n_headers++;
    http_header_kv *h = &r->headers[i];
    h->name_off = (unsigned)(line - r->head.data);
    h->name_len = (unsigned)(colon - line);
    h->value_off = (unsigned)(v - r->head.data);
    h->value_len = (unsigned)(end - v);
    /* the headers that frame the request, found once here */
    switch (h->name_len) {
    case 6:
        if (p->i_expect < 0 && !memcmp(line, "expect", 6)) p->i_expect = i;
        break;
    case 10:
        if (p->i_connection < 0 && !memcmp(line, "connection", 10)) p->i_connection = i;
        break;
    case 14:
        if (!memcmp(line, "content-length", 14)) {
            if (p->i_cl < 0) p->i_cl = i;
            else if (r->headers[p->i_cl].value_len != h->value_len ||
                     memcmp(r->head.data + r->headers[p->i_cl].value_off, v, h->value_len))
                p->cl_conflict = 1;
        }
        break;
    case 17:
        if (p->i_te < 0 && !memcmp(line, "transfer-encoding", 17)) p->i_te = i;
        break;
    }
    return 0;
}

/* Header block complete: points path and query into the head, decides how the body is
 * framed. */
static int headers_done(http_parser *p, http_msg *r)
{
    r->path = p->path_off < 0 ? "/" : r->head.data + p->path_off;
    r->query = p->query_off < 0 ? NULL : r->head.data + p->query_off;
#define VALUE(i) ((i) < 0 ? NULL : r->head.data + r->headers[i].value_off)
    const char *conn_h = VALUE(p->i_connection);
    if (conn_h) {
        if (strcasestr(conn_h, "close")) r->keepalive = 0;
        else if (strcasestr(conn_h, "keep-alive")) r->keepalive = 1;
    }
    const char *te = VALUE(p->i_te), *cl = VALUE(p->i_cl), *expect = VALUE(p->i_expect);
#undef VALUE
    if (p->cl_conflict) return 400;
    if (te && cl) return 400; /* request smuggling guard */
    if (te) {
        if (strcasecmp(te, "chunked")) return 501;
        p->phase = HTTP_READ_CHUNK_SIZE;
    } else if (cl) {
        if (!*cl) return 400;
        unsigned long long n = 0;
        for (const char *c = cl; *c; c++) {
            if (!isdigit((unsigned char)*c) || n > (1ull << 50)) return 400;
            n = n * 10 + (unsigned)(*c - '0');
        }
        if (n > p->max_body_bytes) return 413;
        p->remaining = (size_t)n;
        if (buf_reserve(&r->body, p->remaining)) return 500;
        p->phase = HTTP_READ_BODY;
    } else {
        p->remaining = 0;
        p->phase = HTTP_READ_BODY;
    }
    if (expect && !strcasecmp(expect, "100-continue") && r->minor_version == 1 &&
        (p->phase != HTTP_READ_BODY || p->remaining > 0))
        p->send_continue = 1;
    return 0;
}

/* Reads head lines from in: each line that is complete is parsed and drained. Returns 0 when
 * the head is complete (phase moved on), -1 when more bytes are needed, or an HTTP status. */
static int read_head(http_parser *p, http_msg *r, struct evbuffer *in)
{
    size_t avail = evbuffer_get_length(in);
    /* every line that fits in the limit ends within the next room bytes (a line counts at
     * least its bytes), so no more than that needs to be contiguous */
    size_t room = p->max_header_bytes - p->head_bytes;
    size_t want = avail < room ? avail : room;
    size_t pos = 0;
    int st = 0, done = 0;
    if (want > p->line_scanned) {
        const unsigned char *d = evbuffer_pullup(in, (ssize_t)want);
        if (!d) return 500;
        /* once per request: room for a usual head, so lines are rarely moved */
        if (!r->head.cap && buf_reserve(&r->head, want < 4096 ? want : 4096)) return 500;
        size_t scan = p->line_scanned;
        while (!st && !done) {
            const unsigned char *lf = memchr(d + pos + scan, '\n', want - pos - scan);
            if (!lf) {
                p->line_scanned = want - pos;
                break;
            }
            size_t eol = (size_t)(lf - d), n = eol - pos;
            if (n && d[eol - 1] == '\r') n--;
            scan = 0;
            p->head_bytes += n + 2;
            if (p->head_bytes > p->max_header_bytes) {
                st = 431;
            } else if (!r->have_request_line) {
                if (n > 0) { /* empty lines before the request line are skipped */
                    char *line = head_add_line(r, d + pos, n);
                    st = line ? parse_request_line(p, r, line, n) : 500;
                }
            } else if (n == 0) {
                done = 1;
            } else {
                char *line = head_add_line(r, d + pos, n);
                st = line ? parse_header_line(p, r, line, n) : 500;
            }
            pos = eol + 1;
        }
        if (pos) evbuffer_drain(in, pos);
    }
    if (st) return st;
    if (done) {
        p->line_scanned = 0;
        return headers_done(p, r);
    }
    if (p->head_bytes + evbuffer_get_length(in) > p->max_header_bytes) return 431;
    return -1;
}

const char *http_parse_status_message(int status)
{
    switch (status) {
    case 413: return "Request body is larger than the server's limit (server.max_body_bytes).";
    case 431: return "Request line and headers are larger than the server's limit.";
    case 501: return "Only the chunked transfer encoding is supported.";
    case 505: return "HTTP version not supported; use HTTP/1.1.";
    case 500: return "Out of memory while reading the request.";
    default: return "Malformed HTTP request.";
    }
}

/* Moves up to p->remaining buffered bytes into the body. Returns 1 when bytes
 * moved, 0 when none were buffered, -1 when out of memory. */
static int take_body_bytes(http_parser *p, http_msg *r, struct evbuffer *in)
{
    size_t avail = evbuffer_get_length(in);
    size_t take = avail < p->remaining ? avail : p->remaining;
    if (!take) return 0;
    if (buf_reserve(&r->body, take)) return -1;
    evbuffer_remove(in, r->body.data + r->body.len, take);
    r->body.len += take;
    r->body.data[r->body.len] = 0;
    p->remaining -= take;
    return 1;
}

int http_parse(http_parser *p, http_msg *r, struct evbuffer *in)
{
    for (;;) {
        int st = 0;
        switch (p->phase) {
        case HTTP_READ_HEAD:
            st = read_head(p, r, in);
            if (st < 0) return HTTP_PARSE_MORE;
            break;
        case HTTP_READ_BODY:
            if (take_body_bytes(p, r, in) < 0) return 500;
            return p->remaining ? HTTP_PARSE_MORE : HTTP_PARSE_DONE;
        case HTTP_READ_CHUNK_SIZE: {
            size_t n;
            char *line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF);
            if (!line) return evbuffer_get_length(in) > MAX_CHUNK_LINE ? 400 : HTTP_PARSE_MORE;
            char *end;
            errno = 0;
            unsigned long long sz = strtoull(line, &end, 16);
            if (n > MAX_CHUNK_LINE || end == line || errno || (*end && *end != ';') ||
                line[0] == '-' || line[0] == '+' || isspace((unsigned char)line[0]))
                st = 400;
            /* body.len <= max_body_bytes always; compare without overflowing: a size
             * like ffffffffffffffff would wrap body.len + sz below the limit */
            else if (sz > p->max_body_bytes - r->body.len) st = 413;
            else if (sz == 0) p->phase = HTTP_READ_TRAILER;
            else {
                p->remaining = (size_t)sz;
                p->phase = HTTP_READ_CHUNK_DATA;
            }
            free(line);
            break;
        }
        case HTTP_READ_CHUNK_DATA: {
            size_t avail = evbuffer_get_length(in);
            if (p->remaining > 0) {
                int took = take_body_bytes(p, r, in);
                if (took < 0) return 500;
                if (took == 0) return HTTP_PARSE_MORE;
                break;
            }
            size_t n;
            char *line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF);
            if (!line) return avail > 2 ? 400 : HTTP_PARSE_MORE;
            if (n != 0) st = 400;
            free(line);
            p->phase = HTTP_READ_CHUNK_SIZE;
            break;
        }
        case HTTP_READ_TRAILER: {
            size_t n;
            char *line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF);
            if (!line)
                return evbuffer_get_length(in) > p->max_header_bytes ? 431 : HTTP_PARSE_MORE;
            free(line);
            /* trailers count against the header limit too */
            p->head_bytes += n + 2;
            if (p->head_bytes > p->max_header_bytes) return 431;
            if (n == 0) return HTTP_PARSE_DONE;
            break;
        }
        }
        if (st) return st;
    }
}
