/* work.c - the work bound of fuzz.h: exact steps in the replay build
 * (FUZZ_STEPS, counted by steps.c), thread CPU time under libFuzzer. */
#include "fuzz.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int fuzz_failed;
char fuzz_failure[512];
double fuzz_max_ratio;

#ifdef FUZZ_STEPS
extern unsigned long long fuzz_steps;
static unsigned long long start_steps;
void fuzz_work_begin(void) { start_steps = fuzz_steps; }
static double work_now(void) { return (double)(fuzz_steps - start_steps); }
#else
static struct timespec start_ts;
void fuzz_work_begin(void) { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &start_ts); }
static double work_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)(t.tv_sec - start_ts.tv_sec) * 1e9 + (double)(t.tv_nsec - start_ts.tv_nsec);
}
#endif

void fuzz_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fuzz_failure, sizeof fuzz_failure, fmt, ap);
    va_end(ap);
    fuzz_failed = 1;
#ifndef FUZZ_STEPS
    fprintf(stderr, "fuzz: %s\n", fuzz_failure);
    abort();
#endif
}

void fuzz_work_end(const char *what, size_t size, double base, double per_byte)
{
    double used = work_now();
    double limit = base + per_byte * (double)size;
#ifndef FUZZ_STEPS
    limit = 50e6 + 20.0 * limit; /* nanoseconds */
#endif
    double ratio = used / limit;
    if (ratio > fuzz_max_ratio) fuzz_max_ratio = ratio;
    if (used > limit)
        fuzz_fail("%s: work %.0f over its bound %.0f (%.0f + %.1f per byte) for %zu bytes", what,
                  used, limit, base, per_byte, size);
}

static char tmp_dir[64];

static void tmpdir_remove(void)
{
    DIR *d = opendir(tmp_dir);
    if (!d) return;
    struct dirent *e;
    char path[384];
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(path, sizeof path, "%s/%s", tmp_dir, e->d_name);
            unlink(path);
        }
    closedir(d);
    rmdir(tmp_dir);
}

const char *fuzz_tmpdir(void)
{
    char *dir = tmp_dir;
    if (!dir[0]) {
        snprintf(dir, sizeof tmp_dir, "/tmp/semrouter-fuzz-XXXXXX");
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            abort();
        }
        atexit(tmpdir_remove);
    }
    return dir;
}

int fuzz_write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok ? 0 : -1;
}
