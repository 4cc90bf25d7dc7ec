/* fuzz_jailbreak.c - the prompt guard's pattern side (src/guard/jailbreak.c):
 * normalisers, base64/rot13 decoders, the word splitter and every detector,
 * on any bytes (invalid UTF-8, curly quotes, zero-width characters).
 * Properties: confidence within [0,1], at most JAILBREAK_MAX_PATTERNS names,
 * and the work bound (the U+2019 defect of issue 8 was an endless loop here). */
#include "fuzz.h"
#include "guard/jailbreak.h"

#include <stdio.h>
#include <stdlib.h>

static jailbreak_detector *det;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!det) {
        char err[256];
        det = jailbreak_load(NULL, NULL, err, sizeof err);
        if (!det) {
            fprintf(stderr, "jailbreak_load: %s\n", err);
            abort();
        }
    }
    jailbreak_result r;
    fuzz_work_begin();
    jailbreak_check(det, (const char *)data, size, NULL, 0, &r);
    fuzz_work_end("jailbreak_check", size, 50000, 1500);
    if (!(r.confidence >= 0 && r.confidence <= 1)) fuzz_fail("confidence %f", r.confidence);
    if (r.n_patterns < 0 || r.n_patterns > JAILBREAK_MAX_PATTERNS)
        fuzz_fail("%d patterns", r.n_patterns);
    return 0;
}
