/* fuzz_sse.c - the SSE reader (src/core/sse.c) and SSE reassembly
 * (src/cache/assemble.c): an upstream stream fed in pieces of (first byte + 1)
 * bytes, then finished. Properties: the reader reads the same events whether
 * the bytes come in pieces or whole; a finished stream yields JSON that parses,
 * with an object "chat.completion" and choices; the kept text respects the size
 * limit (4 KiB here). */
#include "fuzz.h"
#include "cache/assemble.h"
#include "core/sse.h"

#include <cjson/cJSON.h>
#include <string.h>

/* Every event as "event\x01data\x02" (0x03 for a missing part). */
static int log_event(void *arg, const char *event, const char *data, size_t len)
{
    buf *log = arg;
    if (event) buf_puts(log, event);
    else buf_putc(log, 3);
    buf_putc(log, 1);
    if (data) buf_append(log, data, len);
    else buf_putc(log, 3);
    buf_putc(log, 2);
    return 0;
}

static int read_events(const uint8_t *data, size_t size, size_t piece, buf *log)
{
    sse_reader r;
    sse_reader_init(&r, 4096, log_event, log);
    int rc = 0;
    for (size_t off = 0; off < size && rc == 0; off += piece)
        rc = sse_reader_feed(&r, (const char *)data + off, size - off < piece ? size - off : piece);
    if (rc == 0) rc = sse_reader_finish(&r);
    if (rc && !sse_reader_error(&r)[0]) fuzz_fail("the SSE reader stopped without a reason");
    sse_reader_free(&r);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    size_t piece = (size_t)data[0] + 1;
    data++;
    size--;
    buf whole, pieces;
    buf_init(&whole);
    buf_init(&pieces);
    fuzz_work_begin();
    int rc_whole = read_events(data, size, size ? size : 1, &whole);
    int rc_pieces = read_events(data, size, piece, &pieces);
    fuzz_work_end("sse_reader feed + finish, whole and in pieces", size, 30000, 400);
    if (!rc_whole && !rc_pieces &&
        (whole.len != pieces.len || (whole.len && memcmp(whole.data, pieces.data, whole.len))))
        fuzz_fail("the SSE reader read other events in pieces of %zu than whole", piece);
    buf_free(&whole);
    buf_free(&pieces);
    cache_assembler *a = cache_assembler_new(4096);
    if (!a) return 0;
    buf out;
    buf_init(&out);
    fuzz_work_begin();
    for (size_t off = 0; off < size; off += piece)
        cache_assembler_feed(a, (const char *)data + off, size - off < piece ? size - off : piece);
    int ok = cache_assembler_finish(a, &out);
    fuzz_work_end("cache_assembler feed + finish", size, 30000, 400);
    if (ok) {
        cJSON *j = cJSON_ParseWithLength(out.data, out.len);
        if (!j) fuzz_fail("assembled answer is not JSON: %.80s", out.data);
        else {
            const cJSON *o = cJSON_GetObjectItemCaseSensitive(j, "object");
            if (!cJSON_IsString(o) || strcmp(o->valuestring, "chat.completion"))
                fuzz_fail("assembled object is not a chat.completion");
            if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(j, "choices")))
                fuzz_fail("assembled answer without choices");
        }
        cJSON_Delete(j);
    } else if (!cache_assembler_error(a)[0]) {
        fuzz_fail("not cacheable but no reason given");
    }
    buf_free(&out);
    cache_assembler_free(a);
    return 0;
}
