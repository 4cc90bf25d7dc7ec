/* progress.h - progress of long work on stderr: a bar on a terminal, plain lines otherwise.
 *
 *     progress *p = progress_new("importing", total_bytes, PROGRESS_BYTES);
 *     ... progress_add(p, n) as work is done (any thread) ...
 *     progress_done(p, "imported %lld entries", n);   (prints the last line, frees p)
 *
 * When stderr is a terminal (and TERM is not "dumb") the bar is redrawn in place at most
 * ten times a second (the first time 0.1 s after the start; progress_done always draws it): label, bar, percent, done/total, rate and time left. Otherwise a plain
 * line "label: 45% (4,500/10,000 entries)" is written at most every PROGRESS_PLAIN_SECONDS,
 * so logs stay short; either way progress_done ends with one line of its own. The
 * environment variable SEMROUTER_PROGRESS=bar|plain|off overrides the choice. Every
 * function accepts NULL (no output). */
#ifndef SEMROUTER_CORE_PROGRESS_H
#define SEMROUTER_CORE_PROGRESS_H
#include <stdint.h>

#define PROGRESS_PLAIN_SECONDS 5.0
#define PROGRESS_BYTES "bytes" /* unit: shown as KiB/MiB/GiB */

typedef struct progress progress;

/* total 0 = unknown (no percent, no time left). unit: "entries", "texts", PROGRESS_BYTES... */
progress *progress_new(const char *label, uint64_t total, const char *unit);
void progress_add(progress *p, uint64_t n); /* thread-safe */
void progress_set(progress *p, uint64_t done);
void progress_set_total(progress *p, uint64_t total);
/* Draws the final state and writes "label: <message> (N.N s)"; message NULL = "done". Frees p. */
void progress_done(progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Ends without a message (failure paths: the caller reports the error). Frees p. */
void progress_abort(progress *p);

/* The mode progress_new would pick now: 'b' bar, 'p' plain, 'o' off. */
char progress_mode(void);
#endif
