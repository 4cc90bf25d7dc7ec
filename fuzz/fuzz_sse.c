/* fuzz_sse.c - SSE reassembly (src/cache/assemble.c): an upstream stream fed in
 * pieces of (first byte + 1) bytes, then finished. Properties: a finished
 * stream yields JSON that parses, with an object "chat.completion" and
 * choices; the kept text respects the size limit (4 KiB here). */
#include "fuzz.h"
#include "cache/assemble.h"

#include <cjson/cJSON.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    size_t piece = (size_t)data[0] + 1;
    data++;
    size--;
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
