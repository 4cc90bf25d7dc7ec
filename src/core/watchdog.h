/* watchdog.h - notices an event loop that has stopped turning.
 *
 * Each worker loop beats (watchdog_beat from a timer on that loop, every
 * stall/4 seconds) and marks what it is doing (watchdog_stage: request id +
 * stage name, from the code that runs on the loop). A thread checks the beats;
 * a loop whose last beat is older than the stall time is stalled: the
 * on_change callback says so once (the gateway logs the request and stage,
 * counts it in semrouter_watchdog_stalls_total and makes /ready answer 503),
 * and once more when the loop turns again. Something that holds a loop (a
 * blocking call, a scan that does not end) stalls every connection on it, so
 * a load balancer should stop sending traffic until it recovers. */
#ifndef SEMROUTER_WATCHDOG_H
#define SEMROUTER_WATCHDOG_H
#include <stddef.h>

typedef struct watchdog watchdog;

/* What a stalled loop was doing, for on_change and watchdog_describe. */
typedef struct watchdog_report {
    int slot;
    int stalled;         /* 1: just stalled (or still, in describe); 0: turning again */
    double seconds;      /* since its last beat (stalled) or how long it was stalled (recovered) */
    char request_id[80]; /* "" when no request was marked */
    char stage[32];      /* "" when no stage was marked */
    double stage_seconds; /* since the stage was marked */
} watchdog_report;

/* n_slots loops; stall_seconds > 0. on_change runs on the watchdog thread. */
watchdog *watchdog_new(int n_slots, double stall_seconds,
                       void (*on_change)(const watchdog_report *r, void *arg), void *arg);
/* Starts the checking thread; 0 or -1. */
int watchdog_start(watchdog *w);
/* Stops the thread and frees; NULL is a no-op. */
void watchdog_free(watchdog *w);
double watchdog_interval(const watchdog *w); /* how often a loop should beat, seconds */

/* From the loop's thread: this thread is slot (watchdog_stage then needs no slot). */
void watchdog_bind(watchdog *w, int slot);
void watchdog_beat(watchdog *w, int slot);
/* From a bound thread (no-op on any other): the loop now works on request_id
 * (may be NULL) in stage (a static string; NULL = idle). Cheap: a lock and two
 * copies. */
void watchdog_stage(const char *request_id, const char *stage);

/* Stalled loops right now: their count, and up to max reports in out. */
int watchdog_describe(watchdog *w, watchdog_report *out, int max);
#endif
