/* fuzz_chat.c - a chat request body as JSON -> what the router derives from it:
 * the cache keys and texts (src/cache/keys.c) and the guard/PII texts
 * (src/api/texts.c). Properties: keys are 64 lowercase hex digits, the query
 * length matches its string, the guard texts are NUL-terminated at their
 * length and within CHAT_TEXTS_MAX. */
#include "fuzz.h"
#include "api/texts.h"
#include "cache/keys.h"

#include <cjson/cJSON.h>
#include <string.h>

static void check_hex(const char *what, const char *h)
{
    for (int i = 0; i < 64; i++)
        if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
            fuzz_fail("%s key not hex at %d", what, i);
    if (h[64]) fuzz_fail("%s key not 64 digits", what);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *req = cJSON_ParseWithLength((const char *)data, size);
    if (!req) return 0;
    fuzz_work_begin();
    cache_keys k;
    char err[256];
    if (cache_keys_compute(req, "tenant-a", "use-lite", &k, err, sizeof err) == 0) {
        check_hex("exact", k.exact);
        check_hex("partition", k.partition);
        if (k.query && strlen(k.query) > k.query_len) fuzz_fail("query longer than query_len");
        for (int i = 0; i < k.n_context; i++)
            if (!k.context[i]) fuzz_fail("context %d is NULL", i);
        cache_keys_free(&k);
    }
    chat_texts t;
    if (chat_texts_extract(req, &t) == 0) {
        if (!t.guard_text || !t.pii_text) fuzz_fail("NULL text after a successful extract");
        else {
            if (t.guard_text[t.guard_len] || t.pii_text[t.pii_len]) fuzz_fail("text not terminated");
            if (t.guard_len > CHAT_TEXTS_MAX || t.pii_len > CHAT_TEXTS_MAX)
                fuzz_fail("text over CHAT_TEXTS_MAX");
        }
        chat_texts_free(&t);
    }
    fuzz_work_end("cache_keys_compute + chat_texts_extract", size, 50000, 300);
    cJSON_Delete(req);
    return 0;
}
