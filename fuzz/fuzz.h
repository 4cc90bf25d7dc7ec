/* fuzz.h - what every fuzz target (fuzz/fuzz_*.c) shares.
 *
 * A target is a libFuzzer entry point, LLVMFuzzerTestOneInput(data, size), that
 * must return for any bytes without a crash, a sanitizer report, or more work
 * than its bound. Each target brackets the code under test with
 * fuzz_work_begin() / fuzz_work_end(), stating the bound as
 * base + per_byte * size steps:
 *   - in the replay build (build/fuzz/replay_NAME, part of `make test`), a step
 *     is one basic block of semrouter's own code (gcc -fsanitize-coverage=
 *     trace-pc) plus the bytes the C library's scanning and copying functions
 *     (strstr, memchr, strlen, memcpy, ...) were asked to look at; the count is
 *     exact and the same on every machine, so a bound is a real assertion;
 *   - under libFuzzer (make fuzz) the thread's CPU time stands in: 50 ms +
 *     20 ns per step of the bound, so only a grossly superlinear path trips it
 *     there, and the replay of the saved input decides.
 * The replay also runs every input repeated up to 32 KiB, so a path that is
 * quadratic in some construct shows on a small saved input. */
#ifndef SEMROUTER_FUZZ_H
#define SEMROUTER_FUZZ_H
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

void fuzz_work_begin(void);
/* Checks the work since fuzz_work_begin against base + per_byte * size; what
 * names the code for the report. Under libFuzzer an overrun aborts (the input
 * is saved as a crash); in the replay it is recorded for replay_main. */
void fuzz_work_end(const char *what, size_t size, double base, double per_byte);
/* A violated property (not a crash): reported like an overrun. */
void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* replay bookkeeping (fuzz/work.c) */
extern int fuzz_failed;
extern char fuzz_failure[512];
extern double fuzz_max_ratio; /* largest steps / (base + per_byte * size) seen */

/* A private directory for targets that must write files (model loaders). */
const char *fuzz_tmpdir(void);
int fuzz_write_file(const char *dir, const char *name, const void *data, size_t len);
#endif
