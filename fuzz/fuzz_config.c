/* fuzz_config.c - the YAML config loader and validator (src/config) on any
 * text: a config or a list of errors with line numbers, never a crash. */
#include "fuzz.h"
#include "config/config.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *yaml = malloc(size + 1);
    memcpy(yaml, data, size);
    yaml[size] = 0;
    config_errors errs;
    config_errors_init(&errs);
    fuzz_work_begin();
    sr_config *c = config_load_string(yaml, "fuzz.yaml", &errs);
    fuzz_work_end("config_load_string", size, 2000000, 3000);
    if (!c && errs.n_errors == 0) fuzz_fail("config refused without an error");
    config_release(c);
    config_errors_free(&errs);
    free(yaml);
    return 0;
}
