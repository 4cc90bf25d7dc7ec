/* sse.c - Server-Sent Events writer and incremental reader (see sse.h). */
#include "core/sse.h"
#include <stdio.h>
#include <string.h>

void sse_data_begin(buf *out)
{
    buf_append(out, "data: ", 6);
}

void sse_event_end(buf *out)
{
    buf_append(out, "\n\n", 2);
}

void sse_event(buf *out, const char *payload, size_t len)
{
    size_t i = 0;
    for (;;) {
        const char *nl = len > i ? memchr(payload + i, '\n', len - i) : NULL;
        size_t j = nl ? (size_t)(nl - payload) : len;
        sse_data_begin(out);
        if (j > i) buf_append(out, payload + i, j - i);
        buf_putc(out, '\n');
        if (!nl) break;
        i = j + 1;
    }
    buf_putc(out, '\n');
}

void sse_done(buf *out)
{
    buf_append(out, "data: [DONE]\n\n", 14);
}

int sse_is_done(const char *data, size_t len)
{
    return data && len == 6 && !memcmp(data, "[DONE]", 6);
}

size_t sse_whole_events_len(const char *p, size_t len)
{
    for (size_t i = len; i-- > 1;) {
        if (p[i] == '\n' && p[i - 1] == '\n') return i + 1;
        if (p[i] == '\n' && i >= 3 && p[i - 1] == '\r' && p[i - 2] == '\n' && p[i - 3] == '\r') return i + 1;
        if (p[i] == '\r' && p[i - 1] == '\r') return i + 1;
    }
    return 0;
}

void sse_reader_init(sse_reader *r, size_t max_bytes, sse_event_fn on_event, void *arg)
{
    memset(r, 0, sizeof *r);
    r->on_event = on_event;
    r->arg = arg;
    r->max_bytes = max_bytes;
}

void sse_reader_free(sse_reader *r)
{
    buf_free(&r->line);
    buf_free(&r->data);
    buf_free(&r->event);
}

const char *sse_reader_error(const sse_reader *r)
{
    return r->error;
}

static void reader_fail(sse_reader *r, const char *why)
{
    if (r->stopped) return;
    r->stopped = 1;
    snprintf(r->error, sizeof r->error, "%s", why);
}

static void dispatch(sse_reader *r)
{
    if (r->has_data || r->has_event) {
        const char *event = r->has_event ? (r->event.data ? r->event.data : "") : NULL;
        const char *data = r->has_data ? (r->data.data ? r->data.data : "") : NULL;
        if (r->on_event(r->arg, event, data, r->has_data ? r->data.len : 0)) r->stopped = 1;
    }
    buf_reset(&r->data);
    buf_reset(&r->event);
    r->has_data = r->has_event = 0;
}

/* One complete line (without its terminator). */
static void handle_line(sse_reader *r, const char *s, size_t n)
{
    if (n == 0) {
        dispatch(r);
        return;
    }
    if (s[0] == ':') return; /* comment / keep-alive */
    const char *colon = memchr(s, ':', n);
    size_t name_len = colon ? (size_t)(colon - s) : n;
    const char *value = colon ? colon + 1 : s + n;
    size_t value_len = (size_t)(s + n - value);
    if (value_len && value[0] == ' ') value++, value_len--;
    if (name_len == 4 && !memcmp(s, "data", 4)) {
        if (r->has_data) buf_putc(&r->data, '\n');
        buf_append(&r->data, value, value_len);
        r->has_data = 1;
        if (r->data.len > r->max_bytes) reader_fail(r, "a stream event is too large");
    } else if (name_len == 5 && !memcmp(s, "event", 5)) {
        buf_reset(&r->event);
        buf_append(&r->event, value, value_len);
        r->has_event = 1;
    }
}

int sse_reader_feed(sse_reader *r, const char *p, size_t len)
{
    if (r->stopped) return -1;
    size_t i = 0;
    if (r->pending_cr && len && p[0] == '\n') i = 1;
    r->pending_cr = 0;
    while (i < len && !r->stopped) {
        size_t j = i;
        while (j < len && p[j] != '\n' && p[j] != '\r')
            j++;
        if (j == len) { /* partial line: keep for the next feed */
            buf_append(&r->line, p + i, len - i);
            if (r->line.len > r->max_bytes) reader_fail(r, "a stream line is too long");
            break;
        }
        if (r->line.len + (j - i) > r->max_bytes) { /* the same limit however the line was cut */
            reader_fail(r, "a stream line is too long");
            break;
        }
        if (r->line.len) {
            buf_append(&r->line, p + i, j - i);
            handle_line(r, r->line.data, r->line.len);
            buf_reset(&r->line);
        } else {
            handle_line(r, p + i, j - i);
        }
        if (p[j] == '\r') {
            if (j + 1 < len && p[j + 1] == '\n')
                j++;
            else if (j + 1 == len)
                r->pending_cr = 1;
        }
        i = j + 1;
    }
    if (r->line.oom || r->data.oom || r->event.oom) reader_fail(r, "out of memory while reading the stream");
    return r->stopped ? -1 : 0;
}

int sse_reader_finish(sse_reader *r)
{
    if (r->stopped) return -1;
    if (r->line.len) {
        handle_line(r, r->line.data, r->line.len);
        buf_reset(&r->line);
    }
    if (!r->stopped) dispatch(r);
    return r->stopped ? -1 : 0;
}
