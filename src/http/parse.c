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
    memset(m, 0, sizeof *m);
    buf_init(&m->body);
}

void http_msg_free(http_msg *m)
{
    for (int i = 0; i < m->n_headers; i++) {
        free(m->headers[i].name);
        free(m->headers[i].value);
    }
    free(m->path);
    buf_free(&m->body);
    http_msg_init(m);
}

const char *http_msg_header(const http_msg *m, const char *name)
{
    for (int i = 0; i < m->n_headers; i++)
        if (!strcasecmp(m->headers[i].name, name)) return m->headers[i].value;
    return NULL;
}

void http_parser_reset(http_parser *p)
{
    p->phase = HTTP_READ_HEAD;
    p->head_bytes = 0;
    p->remaining = 0;
    p->send_continue = 0;
}

static int is_token_char(unsigned char ch)
{
    return ch > 32 && ch < 127 && !strchr("()<>@,;:\\\"/[]?={}", ch);
}

/* Parses "METHOD target HTTP/1.x". Returns 0 or an HTTP status. */
static int parse_request_line(http_msg *r, char *line)
{
    char *sp1 = strchr(line, ' ');
    if (!sp1) return 400;
    char *sp2 = strchr(sp1 + 1, ' ');
    if (!sp2) return 400;
    size_t mlen = (size_t)(sp1 - line);
    if (mlen == 0 || mlen >= sizeof r->method) return 400;
    for (size_t i = 0; i < mlen; i++)
        if (!is_token_char((unsigned char)line[i])) return 400;
    memcpy(r->method, line, mlen);
    r->method[mlen] = 0;
    const char *ver = sp2 + 1;
    if (!strcmp(ver, "HTTP/1.1")) r->minor_version = 1;
    else if (!strcmp(ver, "HTTP/1.0")) r->minor_version = 0;
    else return strncmp(ver, "HTTP/", 5) ? 400 : 505;
    *sp2 = 0;
    const char *target = sp1 + 1;
    if (target[0] != '/' && strcmp(r->method, "OPTIONS")) {
        /* absolute-form: keep only the path */
        const char *p = strstr(target, "://");
        if (!p) return 400;
        p = strchr(p + 3, '/');
        target = p ? p : "/";
    }
    for (const char *p = target; *p; p++)
        if ((unsigned char)*p <= 32 || (unsigned char)*p == 127) return 400;
    r->path = strdup(target);
    if (!r->path) return 500;
    char *q = strchr(r->path, '?');
    if (q) {
        *q = 0;
        r->query = q + 1;
    }
    r->keepalive = r->minor_version == 1;
    r->have_request_line = 1;
    return 0;
}

static int parse_header_line(http_msg *r, char *line)
{
    if (line[0] == ' ' || line[0] == '\t') return 400; /* obsolete line folding */
    char *colon = strchr(line, ':');
    if (!colon || colon == line) return 400;
    for (char *p = line; p < colon; p++) {
        if (!is_token_char((unsigned char)*p)) return 400;
        *p = (char)tolower((unsigned char)*p);
    }
    *colon = 0;
    char *v = colon + 1;
    while (*v == ' ' || *v == '\t') v++;
    size_t vl = strlen(v);
    while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t')) v[--vl] = 0;
    for (size_t i = 0; i < vl; i++)
        if ((unsigned char)v[i] < 32 && v[i] != '\t') return 400;
    if (r->n_headers >= HTTP_MAX_HEADERS) return 431;
    http_header_kv *h = &r->headers[r->n_headers];
    h->name = strdup(line);
    h->value = strdup(v);
    if (!h->name || !h->value) {
        free(h->name);
        free(h->value);
        return 500;
    }
    r->n_headers++;
    return 0;
}

/* Header block complete: decide how the body is framed. */
static int headers_done(http_parser *p, http_msg *r)
{
    const char *conn_h = http_msg_header(r, "connection");
    if (conn_h) {
        if (strcasestr(conn_h, "close")) r->keepalive = 0;
        else if (strcasestr(conn_h, "keep-alive")) r->keepalive = 1;
    }
    const char *te = http_msg_header(r, "transfer-encoding");
    const char *cl = NULL;
    for (int i = 0; i < r->n_headers; i++)
        if (!strcmp(r->headers[i].name, "content-length")) {
            if (cl && strcmp(cl, r->headers[i].value)) return 400;
            cl = r->headers[i].value;
        }
    if (te && cl) return 400; /* request smuggling guard */
    const char *expect = http_msg_header(r, "expect");
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
        case HTTP_READ_HEAD: {
            size_t n;
            char *line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF);
            if (!line) {
                if (p->head_bytes + evbuffer_get_length(in) > p->max_header_bytes) return 431;
                return HTTP_PARSE_MORE;
            }
            p->head_bytes += n + 2;
            if (p->head_bytes > p->max_header_bytes) st = 431;
            else if (!r->have_request_line) {
                if (n > 0) st = parse_request_line(r, line);
            } else if (n == 0) {
                st = headers_done(p, r);
            } else {
                st = parse_header_line(r, line);
            }
            free(line);
            break;
        }
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
