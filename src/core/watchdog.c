/* watchdog.c - see watchdog.h. */
#include "core/watchdog.h"
#include "core/util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct slot {
    atomic_ullong last_beat_ns;
    pthread_mutex_t lock; /* request_id, stage, stage_ns */
    char request_id[80];
    char stage[32];
    unsigned long long stage_ns;
    int stalled;                   /* watchdog thread only */
    unsigned long long stalled_ns; /* when it was found stalled */
    watchdog_report at_stall;      /* what it was doing then (the recovery names it too) */
} slot;

struct watchdog {
    int n;
    slot *slots;
    double stall_seconds;
    void (*on_change)(const watchdog_report *, void *);
    void *arg;
    pthread_t thread;
    int running;
    pthread_mutex_t stop_lock;
    pthread_cond_t stop_cond;
    int stop;
};

static _Thread_local slot *bound;

static unsigned long long now_ns(void) { return (unsigned long long)util_now_ns(); }

watchdog *watchdog_new(int n_slots, double stall_seconds,
                       void (*on_change)(const watchdog_report *, void *), void *arg)
{
    if (n_slots <= 0 || !(stall_seconds > 0)) return NULL;
    watchdog *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->slots = calloc((size_t)n_slots, sizeof *w->slots);
    if (!w->slots) {
        free(w);
        return NULL;
    }
    w->n = n_slots;
    w->stall_seconds = stall_seconds;
    w->on_change = on_change;
    w->arg = arg;
    unsigned long long t = now_ns();
    for (int i = 0; i < n_slots; i++) {
        atomic_init(&w->slots[i].last_beat_ns, t);
        pthread_mutex_init(&w->slots[i].lock, NULL);
    }
    pthread_mutex_init(&w->stop_lock, NULL);
    pthread_cond_init(&w->stop_cond, NULL);
    return w;
}

double watchdog_interval(const watchdog *w)
{
    double i = w->stall_seconds / 4;
    return i > 1 ? 1 : i;
}

void watchdog_bind(watchdog *w, int slot_index)
{
    if (w && slot_index >= 0 && slot_index < w->n) {
        bound = &w->slots[slot_index];
        atomic_store(&bound->last_beat_ns, now_ns());
    }
}

void watchdog_beat(watchdog *w, int slot_index)
{
    if (w && slot_index >= 0 && slot_index < w->n)
        atomic_store(&w->slots[slot_index].last_beat_ns, now_ns());
}

void watchdog_stage(const char *request_id, const char *stage)
{
    slot *s = bound;
    if (!s) return;
    pthread_mutex_lock(&s->lock);
    /* six times per request: plain copies, not snprintf (which cost ~10% of a
     * pass-through request's instructions) */
    util_copy_str(s->request_id, sizeof s->request_id, request_id ? request_id : "");
    util_copy_str(s->stage, sizeof s->stage, stage ? stage : "");
    s->stage_ns = now_ns();
    pthread_mutex_unlock(&s->lock);
}

static void fill(watchdog *w, int i, unsigned long long t, watchdog_report *r)
{
    slot *s = &w->slots[i];
    memset(r, 0, sizeof *r);
    r->slot = i;
    r->stalled = 1;
    r->seconds = (double)(t - atomic_load(&s->last_beat_ns)) / 1e9;
    pthread_mutex_lock(&s->lock);
    memcpy(r->request_id, s->request_id, sizeof r->request_id);
    memcpy(r->stage, s->stage, sizeof r->stage);
    if (s->stage[0]) r->stage_seconds = (double)(t - s->stage_ns) / 1e9;
    pthread_mutex_unlock(&s->lock);
}

int watchdog_describe(watchdog *w, watchdog_report *out, int max)
{
    if (!w) return 0;
    unsigned long long t = now_ns(), limit = (unsigned long long)(w->stall_seconds * 1e9);
    int n = 0;
    for (int i = 0; i < w->n; i++) {
        if (t - atomic_load(&w->slots[i].last_beat_ns) <= limit) continue;
        if (n < max) fill(w, i, t, &out[n]);
        n++;
    }
    return n;
}

static void *watchdog_main(void *arg)
{
    watchdog *w = arg;
    unsigned long long limit = (unsigned long long)(w->stall_seconds * 1e9);
    double tick = watchdog_interval(w) / 2;
    pthread_mutex_lock(&w->stop_lock);
    while (!w->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        long long ns = until.tv_nsec + (long long)(tick * 1e9);
        until.tv_sec += (time_t)(ns / 1000000000);
        until.tv_nsec = (long)(ns % 1000000000);
        pthread_cond_timedwait(&w->stop_cond, &w->stop_lock, &until);
        if (w->stop) break;
        pthread_mutex_unlock(&w->stop_lock);
        unsigned long long t = now_ns();
        for (int i = 0; i < w->n; i++) {
            slot *s = &w->slots[i];
            unsigned long long age = t - atomic_load(&s->last_beat_ns);
            watchdog_report r;
            if (!s->stalled && age > limit) {
                s->stalled = 1;
                s->stalled_ns = t - age;
                fill(w, i, t, &r);
                s->at_stall = r;
                if (w->on_change) w->on_change(&r, w->arg);
            } else if (s->stalled && age <= limit) {
                s->stalled = 0;
                r = s->at_stall;
                r.stalled = 0;
                r.seconds = (double)(atomic_load(&s->last_beat_ns) - s->stalled_ns) / 1e9;
                if (w->on_change) w->on_change(&r, w->arg);
            }
        }
        pthread_mutex_lock(&w->stop_lock);
    }
    pthread_mutex_unlock(&w->stop_lock);
    return NULL;
}

int watchdog_start(watchdog *w)
{
    if (!w || w->running) return -1;
    if (pthread_create(&w->thread, NULL, watchdog_main, w)) return -1;
    w->running = 1;
    return 0;
}

void watchdog_free(watchdog *w)
{
    if (!w) return;
    if (w->running) {
        pthread_mutex_lock(&w->stop_lock);
        w->stop = 1;
        pthread_cond_signal(&w->stop_cond);
        pthread_mutex_unlock(&w->stop_lock);
        pthread_join(w->thread, NULL);
    }
    for (int i = 0; i < w->n; i++) pthread_mutex_destroy(&w->slots[i].lock);
    pthread_mutex_destroy(&w->stop_lock);
    pthread_cond_destroy(&w->stop_cond);
    free(w->slots);
    free(w);
}
