/* json_scan.h - a one-pass, allocation-free check of a whole JSON text that also picks out
 * what the proxy needs from a model server's answer: whether it is an object, whether its
 * "choices" member is an array, and the numbers of its "usage" member (prompt_tokens,
 * completion_tokens, total_tokens). It replaces building a cJSON tree of the whole answer
 * just to read three numbers, so it takes the same verdicts the tree gave.
 *
 * Accepts exactly the texts cJSON_ParseWithLength accepts (cJSON 1.7.15 as Debian 12 ships
 * it, with its fix for CVE-2023-26819: a number is not cut at 63 characters), quirks included, so
 * that swapping it in changes no answer's fate: a UTF-8 BOM before the value (only in texts
 * of 5 bytes or more), any byte <= 0x20 as whitespace, bytes after the first whole value
 * ignored, numbers as strtod reads the run of characters [0-9+-eE.] that starts with '-' or
 * a digit (so "01", "1." and "-.5" pass), a \u escape whose four characters are not all hex digits
 * read as U+0000, raw control characters inside strings; a lone or unpaired surrogate escape is
 * refused. Members are found as cJSON_GetObjectItemCaseSensitive finds them: the first member whose
 * decoded name equals the key (escapes such as "usag\u0065" decode; a name cut by a NUL,
 * raw or escaped, compares up to it), only at the top level (a "usage" inside a string or a
 * nested object is not the answer's). The work is one pass over the bytes with no
 * recursion; nesting deeper than JSON_SCAN_MAX_DEPTH containers is refused, as cJSON
 * refuses it (its CJSON_NESTING_LIMIT). */
#ifndef SEMROUTER_CORE_JSON_SCAN_H
#define SEMROUTER_CORE_JSON_SCAN_H
#include <stddef.h>

#define JSON_SCAN_MAX_DEPTH 1000

typedef struct json_usage {
    int is_object;     /* the text is an object */
    int choices_array; /* its first "choices" member is an array */
    int has_usage;     /* its first "usage" member is an object */
    /* numbers of that object's first members of these names (as (long) of the double,
     * clamped to the range of long), each with a flag saying it was there and a number */
    int has_prompt, has_completion, has_total;
    long prompt_tokens, completion_tokens, total_tokens;
} json_usage;

/* Checks text[0..len) holds one JSON value as cJSON reads it (above) and fills *out.
 * Returns 1 if cJSON would parse it, 0 if not (then *out says nothing). The text need
 * not be NUL-terminated; nothing is allocated. */
int json_scan_usage(const char *text, size_t len, json_usage *out);

/* (long) of a double clamped to [LONG_MIN, LONG_MAX] (NaN gives 0): the conversion the
 * scanner applies, shared so callers that read a cJSON number agree with it. */
long json_scan_to_long(double v);
#endif
