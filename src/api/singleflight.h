/* singleflight.h - identical concurrent requests make one upstream call.
 *
 * The first request with a given exact cache key becomes the leader and goes
 * upstream; requests with the same key that arrive meanwhile wait. When the
 * leader finishes, each waiter is woken on its own worker's event loop with a
 * copy of the answer (when the leader got a clean, storable one) or with none
 * (then the waiter goes upstream itself). Thread-safe. */
#ifndef SEMROUTER_API_SINGLEFLIGHT_H
#define SEMROUTER_API_SINGLEFLIGHT_H
#include <stddef.h>

struct event_base;
typedef struct singleflight singleflight;
typedef struct sf_waiter sf_waiter;

/* Called on the waiter's loop; body is NULL when the leader had no answer to
 * share. The body is freed after the callback returns. */
typedef void (*sf_wake_fn)(void *arg, const char *body, size_t len);

singleflight *singleflight_new(void);
void singleflight_free(singleflight *s);

/* Returns NULL when the caller became the leader for key (it must call
 * singleflight_finish later), or a waiter handle when a leader is in flight:
 * wake(arg, ...) will run on base. */
sf_waiter *singleflight_join(singleflight *s, const char *key, struct event_base *base,
                             sf_wake_fn wake, void *arg);
/* The leader is done: wakes every waiter with body (may be NULL). */
void singleflight_finish(singleflight *s, const char *key, const char *body, size_t len);
/* A waiter gives up (client gone). Safe against a concurrent finish: after
 * this returns, wake will not be called. Must run on the waiter's loop. */
void singleflight_leave(singleflight *s, sf_waiter *w);
#endif
