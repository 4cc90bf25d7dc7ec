/* singleflight.c - coalescing of identical concurrent requests (see singleflight.h).
 *
 * A mutex-guarded list of in-flight keys: the number of distinct in-flight
 * misses is bounded by the requests in flight, and join/finish run once per
 * cache miss, not per token, so a list scan under one lock is cheap enough.
 * Waking crosses threads with event_base_once() (the loops are created with
 * pthread support); a waiter that leaves after it was dequeued but before its
 * wake ran is marked cancelled, and the wake, which runs on the same loop as
 * the leave, then just frees it. */
#include "api/singleflight.h"
#include <event2/event.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct sf_waiter {
    struct event_base *base;
    sf_wake_fn wake;
    void *arg;
    char *body;
    size_t len;
    int dequeued, cancelled;
    sf_waiter *next;
};

typedef struct flight {
    char *key;
    sf_waiter *waiters;
    struct flight *next;
} flight;

struct singleflight {
    pthread_mutex_t lock;
    flight *flights;
};

singleflight *singleflight_new(void)
{
    singleflight *s = calloc(1, sizeof *s);
    if (s) pthread_mutex_init(&s->lock, NULL);
    return s;
}

void singleflight_free(singleflight *s)
{
    if (!s) return;
    while (s->flights) {
        flight *f = s->flights;
        s->flights = f->next;
        while (f->waiters) {
            sf_waiter *w = f->waiters;
            f->waiters = w->next;
            free(w);
        }
        free(f->key);
        free(f);
    }
    pthread_mutex_destroy(&s->lock);
    free(s);
}

sf_waiter *singleflight_join(singleflight *s, const char *key, struct event_base *base,
                             sf_wake_fn wake, void *arg)
{
    pthread_mutex_lock(&s->lock);
    for (flight *f = s->flights; f; f = f->next) {
        if (strcmp(f->key, key)) continue;
        sf_waiter *w = calloc(1, sizeof *w);
        if (!w) break; /* cannot wait: behave as a leader-less miss below */
        w->base = base;
        w->wake = wake;
        w->arg = arg;
        w->next = f->waiters;
        f->waiters = w;
        pthread_mutex_unlock(&s->lock);
        return w;
    }
    flight *f = calloc(1, sizeof *f);
    if (f && (f->key = strdup(key))) {
        f->next = s->flights;
        s->flights = f;
    } else {
        free(f);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sf_waiter *w = arg;
    if (!w->cancelled) w->wake(w->arg, w->body, w->len);
    free(w->body);
    free(w);
}

void singleflight_finish(singleflight *s, const char *key, const char *body, size_t len)
{
    pthread_mutex_lock(&s->lock);
    flight **pp = &s->flights, *f = NULL;
    for (; *pp; pp = &(*pp)->next)
        if (!strcmp((*pp)->key, key)) {
            f = *pp;
            *pp = f->next;
            break;
        }
    sf_waiter *list = f ? f->waiters : NULL;
    for (sf_waiter *w = list; w; w = w->next) w->dequeued = 1;
    pthread_mutex_unlock(&s->lock);
    if (!f) return;
    while (list) {
        sf_waiter *w = list;
        list = w->next;
        if (body && (w->body = malloc(len + 1))) {
            memcpy(w->body, body, len);
            w->body[len] = 0;
            w->len = len;
        }
        struct timeval now = {0, 0};
        if (event_base_once(w->base, -1, EV_TIMEOUT, wake_cb, w, &now)) {
            /* the loop is gone (shutdown): nobody is left to answer */
            free(w->body);
            free(w);
        }
    }
    free(f->key);
    free(f);
}

void singleflight_leave(singleflight *s, sf_waiter *w)
{
    pthread_mutex_lock(&s->lock);
    if (w->dequeued) {
        w->cancelled = 1; /* the pending wake_cb frees it */
        pthread_mutex_unlock(&s->lock);
        return;
    }
    for (flight *f = s->flights; f; f = f->next)
        for (sf_waiter **pp = &f->waiters; *pp; pp = &(*pp)->next)
            if (*pp == w) {
                *pp = w->next;
                pthread_mutex_unlock(&s->lock);
                free(w);
                return;
            }
    pthread_mutex_unlock(&s->lock);
}
