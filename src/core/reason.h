/* reason.h - the stable reason codes: every failure a client or an operator sees names one.
 *
 * One table (reason.c) lists each code once, with where it shows (an HTTP error body's
 * `code`, the `error` field of the request log line, a start-up error on stderr, a log line
 * of a degraded dependency) and a sentence saying what happened and what to do. README's
 * "Reason codes" section is `semrouter reason-codes` (tests/e2e/test_reason_codes.sh checks
 * both that and that every code the sources write is a row here,
 * tests/tools/reason_codes.py). Text lines carry the code in brackets after the program
 * name, curl style: "semrouter: [config_invalid] refusing to start, ...". */
#ifndef SEMROUTER_CORE_REASON_H
#define SEMROUTER_CORE_REASON_H
#include <stddef.h>
#include <stdio.h>

typedef struct reason_code {
    const char *code;     /* lower_snake_case; never renamed once shipped */
    int status;           /* the HTTP status it is answered with; 0 when not an HTTP answer */
    const char *where;    /* "http", "http, log", "stream", "log", "start", "degraded" */
    const char *sentence; /* what happened and what to do */
} reason_code;

extern const reason_code reason_codes[];
extern const size_t reason_codes_count;

/* The row of code, or NULL. */
const reason_code *reason_find(const char *code);
/* The table as markdown (README's "Reason codes" block). */
void reason_codes_print(FILE *out);
#endif
