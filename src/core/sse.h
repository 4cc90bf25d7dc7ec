/* sse.h - Server-Sent Events (text/event-stream), the one home of the wire format: the
 * writer every streamed answer uses (upstream error endings, cache replays, blocked
 * answers) and the incremental reader the stream assembler (cache/assemble.c) uses.
 *
 * Writer: an event is "data: PAYLOAD\n\n". OpenAI streams carry one compact JSON object per
 * event (no raw newline in it) and end with the event "data: [DONE]".
 *
 * Reader (the HTML Living Standard's event-stream rules, as far as OpenAI streams use
 * them): lines end at LF, CRLF or CR, and may be cut anywhere across feeds (a CRLF split
 * between two feeds is one line end); a line starting with ':' is a comment (keep-alive);
 * "field: value" loses one space after the colon; the `data` lines of one event are joined
 * by "\n"; a blank line ends the event. Other fields than `data` and `event` are ignored. */
#ifndef SEMROUTER_CORE_SSE_H
#define SEMROUTER_CORE_SSE_H
#include "core/buf.h"
#include <stddef.h>

#define SSE_CONTENT_TYPE "text/event-stream"

/* ---- writer ---- */

/* Starts an event's data line ("data: "); the caller appends a one-line payload. */
void sse_data_begin(buf *out);
/* Ends the event started by sse_data_begin (the blank line). */
void sse_event_end(buf *out);
/* One whole event carrying payload[0..len) (a payload with newlines becomes several data
 * lines, which a reader joins back). */
void sse_event(buf *out, const char *payload, size_t len);
/* The end of an OpenAI stream: "data: [DONE]". */
void sse_done(buf *out);
/* 1 when an event's data is the [DONE] marker. */
int sse_is_done(const char *data, size_t len);

/* ---- relaying ---- */

/* Length of p[0..len) up to the end of its last complete event (just past the blank line:
 * "\n\n", "\r\n\r\n" or "\r\r"), 0 when no event is complete; p must start at an event's
 * start. The stream relay (pipeline/proxy.c) passes on whole events only, so a cut stream
 * never leaves half an event in front of its error event. */
size_t sse_whole_events_len(const char *p, size_t len);

/* ---- reader ---- */

/* Called at the end of every event that had a data or an event field. event is the
 * `event` field's value (NULL when none), data the joined data lines (NULL when none; then
 * len is 0). Return 0 to go on, nonzero to stop the reader (sse_reader_feed then returns
 * -1; the callback keeps its own reason). */
typedef int (*sse_event_fn)(void *arg, const char *event, const char *data, size_t len);

typedef struct sse_reader {
    sse_event_fn on_event;
    void *arg;
    size_t max_bytes; /* longest line and largest event accepted */
    buf line;         /* the current line when a feed ended inside it */
    buf data;         /* data of the current event */
    buf event;        /* event field of the current event */
    int has_data, has_event;
    int pending_cr; /* the last byte was CR: a following LF belongs to it */
    int stopped;    /* the callback stopped the reader, or error[] says why */
    char error[96]; /* "" unless the reader itself failed (line/event too large, memory) */
} sse_reader;

/* max_bytes: the longest line and the largest event (joined data) accepted; a larger one
 * stops the reader with an error. */
void sse_reader_init(sse_reader *r, size_t max_bytes, sse_event_fn on_event, void *arg);
void sse_reader_free(sse_reader *r);
/* Reads the next bytes of the stream. 0, or -1 once stopped (by the callback or an error:
 * sse_reader_error); further feeding does nothing and returns -1. */
int sse_reader_feed(sse_reader *r, const char *p, size_t len);
/* At the end of the stream: a last line without its line end and a last event without its
 * blank line still count. 0, or -1 when stopped. */
int sse_reader_finish(sse_reader *r);
/* Why the reader failed by itself ("" when it did not). */
const char *sse_reader_error(const sse_reader *r);
#endif
