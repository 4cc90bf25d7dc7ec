/* fuzz_json_scan.c - the one-pass answer scanner (src/core/json_scan.c) that replaced
 * parsing the model server's whole answer with cJSON. Work: one pass, linear in the bytes.
 * Properties against cJSON on the same bytes: the scanner accepts exactly what
 * cJSON_ParseWithLength parses (neither is looser), with the same verdicts the proxy used to take
 * from the tree: an object or not, "choices" an array or not, "usage" an object or not, and the
 * same prompt_tokens / completion_tokens / total_tokens numbers (present or not, same value). */
#include "fuzz.h"
#include "core/json_scan.h"

#include <cjson/cJSON.h>

static void number_of(const cJSON *u, const char *name, int has, long v)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(u, name);
    if (cJSON_IsNumber(n) != has)
        fuzz_fail("%s: scanner has %d, cJSON %d", name, has, cJSON_IsNumber(n));
    else if (has && json_scan_to_long(n->valuedouble) != v)
        fuzz_fail("%s: scanner %ld, cJSON %ld", name, v, json_scan_to_long(n->valuedouble));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_usage u;
    fuzz_work_begin();
    int ok = json_scan_usage((const char *)data, size, &u);
    fuzz_work_end("json_scan_usage", size, 400, 40);
    cJSON *j = cJSON_ParseWithLength((const char *)data, size);
    if (!ok) {
        if (j) fuzz_fail("cJSON parses what the scanner refuses: %.80s", (const char *)data);
        cJSON_Delete(j);
        return 0;
    }
    if (!j) {
        fuzz_fail("the scanner accepted what cJSON refuses: %.80s", (const char *)data);
        return 0;
    }
    if (u.is_object != cJSON_IsObject(j))
        fuzz_fail("object: scanner %d, cJSON %d", u.is_object, cJSON_IsObject(j));
    const cJSON *ch = cJSON_GetObjectItemCaseSensitive(j, "choices");
    if (u.choices_array != cJSON_IsArray(ch))
        fuzz_fail("choices array: scanner %d, cJSON %d", u.choices_array, cJSON_IsArray(ch));
    const cJSON *us = cJSON_GetObjectItemCaseSensitive(j, "usage");
    if (u.has_usage != cJSON_IsObject(us))
        fuzz_fail("usage object: scanner %d, cJSON %d", u.has_usage, cJSON_IsObject(us));
    if (!cJSON_IsObject(us)) us = NULL;
    number_of(us, "prompt_tokens", u.has_prompt, u.prompt_tokens);
    number_of(us, "completion_tokens", u.has_completion, u.completion_tokens);
    number_of(us, "total_tokens", u.has_total, u.total_tokens);
    cJSON_Delete(j);
    return 0;
}
