/* test_sse.c - the Server-Sent Events writer and reader (src/core/sse.c): what the writer
 * writes, the reader reads back whole however the bytes are cut; line ends, comments, event
 * fields and multi-line data follow the event-stream rules; limits stop the reader with a
 * sentence; a callback can stop it; the relay's whole-event length (sse_whole_events_len). */
#include "core/sse.h"
#include "test.h"

/* Every event read, as "event|data" lines ("-" for a missing part). */
typedef struct seen {
    buf log;
    int n;
    int stop_after; /* 0 = never stop */
} seen;

static int on_event(void *arg, const char *event, const char *data, size_t len)
{
    seen *s = arg;
    buf_puts(&s->log, event ? event : "-");
    buf_putc(&s->log, '|');
    if (data) buf_append(&s->log, data, len);
    else buf_putc(&s->log, '-');
    buf_putc(&s->log, '\n');
    s->n++;
    return s->stop_after && s->n >= s->stop_after;
}

/* Reads text[0..len) fed in pieces of `piece` bytes; the log of events into out. */
static int read_split(const char *text, size_t len, size_t piece, buf *out, size_t max)
{
    seen s = {.n = 0};
    buf_init(&s.log);
    sse_reader r;
    sse_reader_init(&r, max, on_event, &s);
    int rc = 0;
    for (size_t off = 0; off < len && rc == 0; off += piece)
        rc = sse_reader_feed(&r, text + off, len - off < piece ? len - off : piece);
    if (rc == 0) rc = sse_reader_finish(&r);
    buf_reset(out);
    buf_append(out, s.log.data ? s.log.data : "", s.log.len);
    buf_free(&s.log);
    sse_reader_free(&r);
    return rc;
}

static void writer_writes_openai_events(void)
{
    buf b;
    buf_init(&b);
    sse_data_begin(&b);
    buf_puts(&b, "{\"content\":\"“curly” café 🚀\"}");
    sse_event_end(&b);
    sse_done(&b);
    CHECK_STR(b.data, "data: {\"content\":\"“curly” café 🚀\"}\n\ndata: [DONE]\n\n");
    buf_reset(&b);
    sse_event(&b, "line one\n二行目\n", strlen("line one\n二行目\n"));
    CHECK_STR(b.data, "data: line one\ndata: 二行目\ndata: \n\n");
    buf_reset(&b);
    sse_event(&b, "", 0);
    CHECK_STR(b.data, "data: \n\n");
    CHECK(sse_is_done("[DONE]", 6), "[DONE] not recognised");
    CHECK(!sse_is_done("[DONE] ", 7) && !sse_is_done("[done]", 6) && !sse_is_done(NULL, 0),
          "not [DONE] recognised as [DONE]");
    buf_free(&b);
}

/* The writer's output read back, cut at every piece size: the same events, in order. */
static void round_trip_any_split(void)
{
    const char *payloads[] = {
        "{\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"“Bonjour” — ça va? 👋🏽\"}}]}",
        "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Zürich\\\"}\"}}]}}]}",
        "Ελληνικά и русский\nand a second line with 中文",
        "",
    };
    buf stream, want, got;
    buf_init(&stream);
    buf_init(&want);
    buf_init(&got);
    for (size_t i = 0; i < sizeof payloads / sizeof *payloads; i++) {
        sse_event(&stream, payloads[i], strlen(payloads[i]));
        buf_printf(&want, "-|%s\n", payloads[i]);
    }
    sse_done(&stream);
    buf_puts(&want, "-|[DONE]\n");
    for (size_t piece = 1; piece <= stream.len; piece++) {
        int rc = read_split(stream.data, stream.len, piece, &got, 1 << 20);
        CHECK_EQ_INT(rc, 0);
        if (!test_str_eq(got.data, want.data)) {
            CHECK_STR(got.data, want.data);
            printf("     (piece size %zu)\n", piece);
            break;
        }
    }
    buf_free(&stream);
    buf_free(&want);
    buf_free(&got);
}

static void reader_follows_event_stream_rules(void)
{
    /* CR, LF and CRLF line ends; comments; "data:x" without the space; a field without a
     * colon; an event field; unknown fields ignored; an event with only an event field. */
    const char *in = ": keep-alive\r\n"
                     "data:first\r\n\r\n"
                     "event: error\ndata: {\"error\":{\"message\":\"boom\"}}\n\n"
                     "id: 7\rretry: 10\rdata: a\rdata\rdata:  two spaces\r\r"
                     "event: ping\n\n"
                     "\n\n"
                     "data: last without blank line";
    const char *want = "-|first\n"
                       "error|{\"error\":{\"message\":\"boom\"}}\n"
                       "-|a\n\n two spaces\n"
                       "ping|-\n"
                       "-|last without blank line\n";
    buf got;
    buf_init(&got);
    for (size_t piece = 1; piece <= strlen(in); piece++) {
        CHECK_EQ_INT(read_split(in, strlen(in), piece, &got, 1 << 20), 0);
        if (!test_str_eq(got.data, want)) {
            CHECK_STR(got.data, want);
            printf("     (piece size %zu)\n", piece);
            break;
        }
    }
    /* a line cut right after its CR, the LF in the next feed: one line end, not two */
    seen s = {.n = 0};
    buf_init(&s.log);
    sse_reader r;
    sse_reader_init(&r, 1024, on_event, &s);
    CHECK_EQ_INT(sse_reader_feed(&r, "data: x\r", 8), 0);
    CHECK_EQ_INT(sse_reader_feed(&r, "\ndata: y\r\n", 10), 0);
    CHECK_EQ_INT(s.n, 0);
    CHECK_EQ_INT(sse_reader_feed(&r, "\r\n", 2), 0);
    CHECK_EQ_INT(s.n, 1);
    CHECK_STR(s.log.data, "-|x\ny\n");
    sse_reader_free(&r);
    buf_free(&s.log);
    buf_free(&got);
}

static void limits_stop_with_a_sentence(void)
{
    char line[200];
    memset(line, 'x', sizeof line);
    memcpy(line, "data: ", 6);
    seen s = {.n = 0};
    buf_init(&s.log);
    sse_reader r;
    /* a line longer than the limit, cut so that it never ends inside one feed */
    sse_reader_init(&r, 64, on_event, &s);
    CHECK_EQ_INT(sse_reader_feed(&r, line, 60), 0);
    CHECK_EQ_INT(sse_reader_feed(&r, line + 60, 60), -1);
    CHECK_STR(sse_reader_error(&r), "a stream line is too long");
    CHECK_EQ_INT(sse_reader_feed(&r, "\n\n", 2), -1);
    CHECK_EQ_INT(sse_reader_finish(&r), -1);
    CHECK_EQ_INT(s.n, 0);
    sse_reader_free(&r);
    /* the same line whole in one feed: the same limit */
    sse_reader_init(&r, 64, on_event, &s);
    line[150] = '\n';
    CHECK_EQ_INT(sse_reader_feed(&r, line, 151), -1);
    CHECK_STR(sse_reader_error(&r), "a stream line is too long");
    CHECK_EQ_INT(s.n, 0);
    sse_reader_free(&r);
    /* an event whose data lines add up to more than the limit */
    sse_reader_init(&r, 64, on_event, &s);
    int rc = 0;
    for (int i = 0; i < 5 && rc == 0; i++) rc = sse_reader_feed(&r, "data: 0123456789abcdef\n", 23);
    CHECK_EQ_INT(rc, -1);
    CHECK_STR(sse_reader_error(&r), "a stream event is too large");
    CHECK_EQ_INT(s.n, 0);
    sse_reader_free(&r);
    buf_free(&s.log);
}

static void callback_stops_the_reader(void)
{
    const char *in = "data: one\n\ndata: two\n\ndata: three\n\n";
    seen s = {.n = 0, .stop_after = 2};
    buf_init(&s.log);
    sse_reader r;
    sse_reader_init(&r, 1024, on_event, &s);
    CHECK_EQ_INT(sse_reader_feed(&r, in, strlen(in)), -1);
    CHECK_STR(sse_reader_error(&r), ""); /* stopped by the callback, not failed */
    CHECK_STR(s.log.data, "-|one\n-|two\n");
    CHECK_EQ_INT(sse_reader_finish(&r), -1);
    CHECK_EQ_INT(s.n, 2);
    sse_reader_free(&r);
    buf_free(&s.log);
}

/* sse_whole_events_len: the stream relay passes on whole events only */
static size_t len_of(const char *s) { return sse_whole_events_len(s, strlen(s)); }

static void whole_events_lf(void)
{
    const char *ev = "data: {\"choices\":[{\"delta\":{\"content\":\"’hi 😀\"}}]}\n\n";
    CHECK_EQ_INT(len_of(ev), strlen(ev));
    char two[256];
    snprintf(two, sizeof two, "%s%s", ev, "data: {\"choices\":[{\"delta\":{\"cont");
    CHECK_EQ_INT(len_of(two), strlen(ev)); /* the second event is incomplete: held back */
    CHECK_EQ_INT(len_of("data: {\"choices\":[]}\n"), 0); /* one newline ends a line, not the event */
    CHECK_EQ_INT(len_of("data: [DONE]\n\n"), 14);
    CHECK_EQ_INT(len_of(""), 0);
    CHECK_EQ_INT(len_of("\n"), 0);
}

static void whole_events_crlf_and_cr(void)
{
    CHECK_EQ_INT(len_of("data: a\r\n\r\ndata: b\r\n"), 11);
    CHECK_EQ_INT(len_of("data: a\r\n\r\n"), 11);
    CHECK_EQ_INT(len_of("data: a\r\n"), 0);
    CHECK_EQ_INT(len_of("data: a\r\rdata: b"), 9);
    /* a multi-line event (two data lines, then the blank line) is one event */
    CHECK_EQ_INT(len_of("event: x\ndata: 1\ndata: 2\n\nevent: y\n"), 26);
}

static void bytes_are_not_strings(void)
{
    /* an event with a NUL byte inside (counted by length, not strlen) */
    const char ev[] = "data: a\0b\n\ndata";
    CHECK_EQ_INT(sse_whole_events_len(ev, sizeof ev - 1), 11);
}

int main(void)
{
    RUN(writer_writes_openai_events);
    RUN(round_trip_any_split);
    RUN(reader_follows_event_stream_rules);
    RUN(limits_stop_with_a_sentence);
    RUN(callback_stops_the_reader);
    RUN(whole_events_lf);
    RUN(whole_events_crlf_and_cr);
    RUN(bytes_are_not_strings);
    TEST_MAIN_END();
}
