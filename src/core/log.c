/* log.c - leveled logging to stderr (see log.h). */
#include "core/log.h"
#include <stdarg.h>
#include <stdio.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static enum log_level current = LOG_INFO;

void log_set_level(enum log_level lvl) { current = lvl; }
int log_enabled(enum log_level lvl) { return lvl >= current; }

void log_msg(enum log_level lvl, const char *fmt, ...)
{
    if (lvl < current) return;
    static const char *names[] = {"debug", "info", "warn", "error"};
    char line[2048];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    int n = (int)strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%SZ ", &tm);
    n += snprintf(line + n, sizeof line - (size_t)n, "%s: ", names[lvl]);
    va_list ap;
    va_start(ap, fmt);
    if (n < (int)sizeof line) n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof line - 2) n = (int)sizeof line - 2;
    line[n++] = '\n';
    /* one write per line so lines from worker threads never interleave */
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}

void log_json_line(const char *json, size_t n)
{
    struct iovec iov[2] = {{(void *)json, n}, {(void *)"\n", 1}};
    ssize_t w = writev(STDERR_FILENO, iov, 2);
    (void)w;
}
