/* adapt.c - moving averages per model and endpoint, and the breach state with
 * hysteresis (adapt.h). */
#include "route/adapt.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
    char model[96];
    char endpoint[96]; /* "" = the model's aggregate */
    adapt_stats s;
    int have_ttft;
    uint64_t last_ns; /* last finished attempt */
} entry;

struct adapt_tracker {
    pthread_mutex_t lock;
    int n;
    entry e[ADAPT_MAX_KEYS];
};

const char *adapt_reason_name(adapt_reason r)
{
    switch (r) {
    case ADAPT_LATENCY: return "latency";
    case ADAPT_ERRORS: return "errors";
    case ADAPT_QUEUE: return "queue";
    default: return "ok";
    }
}

adapt_tracker *adapt_new(void)
{
    adapt_tracker *t = calloc(1, sizeof *t);
    if (t) pthread_mutex_init(&t->lock, NULL);
    return t;
}

void adapt_free(adapt_tracker *t)
{
    if (!t) return;
    pthread_mutex_destroy(&t->lock);
    free(t);
}

/* The entry for (model, endpoint), created when create and there is room. Lock held. */
static entry *find(adapt_tracker *t, const char *model, const char *endpoint, int create)
{
    if (!model) return NULL;
    if (!endpoint) endpoint = "";
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->e[i].model, model) && !strcmp(t->e[i].endpoint, endpoint)) return &t->e[i];
    if (!create || t->n >= ADAPT_MAX_KEYS || strlen(model) >= sizeof t->e[0].model ||
        strlen(endpoint) >= sizeof t->e[0].endpoint)
        return NULL;
    entry *e = &t->e[t->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->model, sizeof e->model, "%s", model);
    snprintf(e->endpoint, sizeof e->endpoint, "%s", endpoint);
    return e;
}

static double alpha_of(const adapt_params *p)
{
    return p->alpha > 0 && p->alpha <= 1 ? p->alpha : 0.2;
}

static void ewma(double *avg, double x, double a, int first)
{
    *avg = first ? x : *avg + a * (x - *avg);
}

/* The budget an average is over, ADAPT_OK when none. */
static adapt_reason over(const adapt_params *p, const adapt_stats *s, double ratio, double *value,
                         double *budget)
{
    if (p->error_budget > 0 && s->error_avg > p->error_budget * ratio) {
        *value = s->error_avg, *budget = p->error_budget;
        return ADAPT_ERRORS;
    }
    if (p->ttft_budget_s > 0 && s->ttft_avg > p->ttft_budget_s * ratio) {
        *value = s->ttft_avg, *budget = p->ttft_budget_s;
        return ADAPT_LATENCY;
    }
    if (p->queue_budget > 0 && s->queue_avg > p->queue_budget * ratio) {
        *value = s->queue_avg, *budget = p->queue_budget;
        return ADAPT_QUEUE;
    }
    return ADAPT_OK;
}

/* The averages of a model start again (after a probe timeout). */
static void restart(entry *e)
{
    int inflight = e->s.inflight;
    memset(&e->s, 0, sizeof e->s);
    e->s.inflight = inflight;
    e->have_ttft = 0;
}

static void evaluate(const adapt_params *p, entry *m, adapt_event *ev)
{
    double value = 0, budget = 0;
    if (m->s.breach == ADAPT_OK) {
        if (m->s.samples < (uint64_t)(p->min_samples > 0 ? p->min_samples : 1)) return;
        adapt_reason r = over(p, &m->s, 1.0, &value, &budget);
        if (r != ADAPT_OK) {
            m->s.breach = r;
            if (ev) *ev = (adapt_event){+1, r, value, budget};
        }
    } else {
        double ratio = p->recover_ratio > 0 && p->recover_ratio <= 1 ? p->recover_ratio : 0.5;
        if (over(p, &m->s, ratio, &value, &budget) == ADAPT_OK) {
            adapt_reason was = m->s.breach;
            m->s.breach = ADAPT_OK;
            if (ev) {
                *ev = (adapt_event){-1, was, 0, 0};
                ev->budget = was == ADAPT_ERRORS    ? p->error_budget
                             : was == ADAPT_LATENCY ? p->ttft_budget_s
                                                    : p->queue_budget;
                ev->value = was == ADAPT_ERRORS ? m->s.error_avg : was == ADAPT_LATENCY ? m->s.ttft_avg : m->s.queue_avg;
            }
        }
    }
}

void adapt_begin(adapt_tracker *t, const adapt_params *p, const char *model, const char *endpoint)
{
    if (!t) return;
    double a = alpha_of(p);
    pthread_mutex_lock(&t->lock);
    entry *pair[2] = {find(t, model, NULL, 1), endpoint ? find(t, model, endpoint, 1) : NULL};
    for (int i = 0; i < 2; i++) {
        entry *e = pair[i];
        if (!e) continue;
        e->s.inflight++;
        ewma(&e->s.queue_avg, e->s.inflight, a, e->s.samples == 0 && e->s.queue_avg == 0);
    }
    pthread_mutex_unlock(&t->lock);
}

void adapt_end(adapt_tracker *t, const adapt_params *p, const char *model, const char *endpoint, int ok,
               double ttft_s, uint64_t now_ns, adapt_event *ev)
{
    if (ev) memset(ev, 0, sizeof *ev);
    if (!t) return;
    double a = alpha_of(p);
    pthread_mutex_lock(&t->lock);
    entry *pair[2] = {find(t, model, NULL, 1), endpoint ? find(t, model, endpoint, 1) : NULL};
    for (int i = 0; i < 2; i++) {
        entry *e = pair[i];
        if (!e) continue;
        if (e->s.inflight > 0) e->s.inflight--;
        ewma(&e->s.error_avg, ok ? 0.0 : 1.0, a, e->s.samples == 0);
        if (ok && ttft_s >= 0) {
            ewma(&e->s.ttft_avg, ttft_s, a, !e->have_ttft);
            e->have_ttft = 1;
        }
        e->s.samples++;
        e->last_ns = now_ns;
    }
    if (pair[0]) evaluate(p, pair[0], ev);
    pthread_mutex_unlock(&t->lock);
}

adapt_reason adapt_breached(adapt_tracker *t, const adapt_params *p, const char *model, uint64_t now_ns,
                            adapt_event *ev)
{
    if (ev) memset(ev, 0, sizeof *ev);
    if (!t) return ADAPT_OK;
    pthread_mutex_lock(&t->lock);
    entry *m = find(t, model, NULL, 0);
    adapt_reason r = ADAPT_OK;
    if (m && m->s.breach != ADAPT_OK) {
        if (p->probe_seconds > 0 && now_ns > m->last_ns &&
            (double)(now_ns - m->last_ns) / 1e9 >= p->probe_seconds) {
            if (ev) *ev = (adapt_event){-1, m->s.breach, 0, 0};
            restart(m); /* breach cleared: the next attempts decide afresh */
        } else {
            r = m->s.breach;
        }
    }
    pthread_mutex_unlock(&t->lock);
    return r;
}

int adapt_get(adapt_tracker *t, const char *model, const char *endpoint, adapt_stats *out)
{
    if (!t) return -1;
    pthread_mutex_lock(&t->lock);
    entry *e = find(t, model, endpoint, 0);
    if (e) *out = e->s;
    pthread_mutex_unlock(&t->lock);
    return e ? 0 : -1;
}

void adapt_each(adapt_tracker *t,
                void (*fn)(void *ctx, const char *model, const char *endpoint, const adapt_stats *s), void *ctx)
{
    if (!t) return;
    pthread_mutex_lock(&t->lock);
    for (int i = 0; i < t->n; i++) fn(ctx, t->e[i].model, t->e[i].endpoint[0] ? t->e[i].endpoint : NULL, &t->e[i].s);
    pthread_mutex_unlock(&t->lock);
}
