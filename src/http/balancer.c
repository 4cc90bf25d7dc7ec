/* balancer.c - weighted power-of-two-choices with passive health (see balancer.h).
 *
 * Endpoint state lives in a small array searched linearly: deployments have a
 * handful of endpoints, and a scan of a few names beats hashing at that size.
 * The array only grows (names are never removed), so entry pointers stay
 * valid without holding the lock; counters are atomics. */
#include "http/balancer.h"
#include "core/util.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ENDPOINTS 1024

typedef struct endpoint_state {
    char *name;
    atomic_long outstanding;
    atomic_int consecutive_fails;
    _Atomic double ejected_until; /* monotonic seconds; 0 = not ejected */
    atomic_long ejections;        /* times ejected since start */
    atomic_int answered;          /* an HTTP answer came from it at least once */
} endpoint_state;

struct balancer {
    pthread_mutex_t lock; /* guards growth of states */
    endpoint_state *states[MAX_ENDPOINTS];
    atomic_int n;
};

static _Thread_local uint64_t rng_state;

static double rand_unit(void)
{
    if (!rng_state) rng_state = util_now_ns() ^ (uint64_t)(uintptr_t)&rng_state;
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 2685821657736338717ull) >> 11) / (double)(1ull << 53);
}

balancer *balancer_new(void)
{
    balancer *b = calloc(1, sizeof *b);
    if (b) pthread_mutex_init(&b->lock, NULL);
    return b;
}

void balancer_free(balancer *b)
{
    if (!b) return;
    for (int i = 0; i < atomic_load(&b->n); i++) {
        free(b->states[i]->name);
        free(b->states[i]);
    }
    pthread_mutex_destroy(&b->lock);
    free(b);
}

static endpoint_state *state_get(balancer *b, const char *name)
{
    int n = atomic_load(&b->n);
    for (int i = 0; i < n; i++)
        if (!strcmp(b->states[i]->name, name)) return b->states[i];
    pthread_mutex_lock(&b->lock);
    endpoint_state *s = NULL;
    n = atomic_load(&b->n);
    for (int i = 0; i < n; i++)
        if (!strcmp(b->states[i]->name, name)) s = b->states[i];
    if (!s && n < MAX_ENDPOINTS && (s = calloc(1, sizeof *s))) {
        s->name = strdup(name);
        if (!s->name) {
            free(s);
            s = NULL;
        } else {
            b->states[n] = s;
            atomic_store(&b->n, n + 1);
        }
    }
    pthread_mutex_unlock(&b->lock);
    return s;
}

static int is_ejected(endpoint_state *s, double now)
{
    double until = atomic_load(&s->ejected_until);
    return until > 0 && now < until;
}

int balancer_healthy(balancer *b, const char *name)
{
    endpoint_state *s = state_get(b, name);
    return !s || !is_ejected(s, util_now_sec());
}

balancer_status balancer_state(balancer *b, const char *name)
{
    endpoint_state *s = state_get(b, name);
    if (!s) return BALANCER_UNKNOWN;
    if (is_ejected(s, util_now_sec())) return BALANCER_EJECTED;
    return atomic_load(&s->answered) ? BALANCER_UP : BALANCER_UNKNOWN;
}

const char *balancer_status_name(balancer_status st)
{
    return st == BALANCER_UP ? "up" : st == BALANCER_EJECTED ? "ejected" : "unknown";
}

void balancer_mark_answered(balancer *b, const char *name)
{
    endpoint_state *s = state_get(b, name);
    if (s) atomic_store(&s->answered, 1);
}

long balancer_outstanding(balancer *b, const char *name)
{
    endpoint_state *s = state_get(b, name);
    return s ? atomic_load(&s->outstanding) : 0;
}

void balancer_eject(balancer *b, const char *name, double seconds)
{
    endpoint_state *s = state_get(b, name);
    if (!s || seconds <= 0) return;
    double until = util_now_sec() + seconds, cur = atomic_load(&s->ejected_until);
    while (cur < until && !atomic_compare_exchange_weak(&s->ejected_until, &cur, until)) {
    }
    if (cur < until) atomic_fetch_add(&s->ejections, 1);
}

double balancer_ejected_for(balancer *b, const char *name)
{
    endpoint_state *s = state_get(b, name);
    if (!s) return 0;
    double left = atomic_load(&s->ejected_until) - util_now_sec();
    return left > 0 ? left : 0;
}

void balancer_info_get(balancer *b, const char *name, balancer_info *out)
{
    endpoint_state *s = state_get(b, name);
    memset(out, 0, sizeof *out);
    out->healthy = 1;
    if (!s) return;
    double now = util_now_sec(), until = atomic_load(&s->ejected_until);
    out->healthy = !is_ejected(s, now);
    out->outstanding = atomic_load(&s->outstanding);
    out->ejections = atomic_load(&s->ejections);
    out->consecutive_fails = atomic_load(&s->consecutive_fails);
    out->ejected_for_seconds = out->healthy ? 0 : until - now;
}

/* Weighted draw among eligible[]; returns an index into cands. */
static int weighted_draw(const balancer_candidate *cands, const int *eligible, int ne)
{
    double total = 0;
    for (int i = 0; i < ne; i++) total += cands[eligible[i]].weight > 0 ? cands[eligible[i]].weight : 1;
    double r = rand_unit() * total;
    for (int i = 0; i < ne; i++) {
        double w = cands[eligible[i]].weight > 0 ? cands[eligible[i]].weight : 1;
        if (r < w) return eligible[i];
        r -= w;
    }
    return eligible[ne - 1];
}

int balancer_pick(balancer *b, const balancer_candidate *cands, int n, const unsigned char *skip)
{
    int eligible[64], ne = 0;
    double now = util_now_sec();
    for (int i = 0; i < n && i < 64; i++) {
        if (skip && skip[i]) continue;
        endpoint_state *s = state_get(b, cands[i].name);
        if (s && is_ejected(s, now)) continue;
        eligible[ne++] = i;
    }
    if (ne == 0) return -1;
    if (ne == 1) return eligible[0];
    int a = weighted_draw(cands, eligible, ne);
    int c = weighted_draw(cands, eligible, ne);
    if (a == c) return a;
    endpoint_state *sa = state_get(b, cands[a].name), *sc = state_get(b, cands[c].name);
    double la = sa ? (double)atomic_load(&sa->outstanding) / (cands[a].weight > 0 ? cands[a].weight : 1) : 0;
    double lc = sc ? (double)atomic_load(&sc->outstanding) / (cands[c].weight > 0 ? cands[c].weight : 1) : 0;
    return lc < la ? c : a;
}

void balancer_begin(balancer *b, const char *name)
{
    endpoint_state *s = state_get(b, name);
    if (s) atomic_fetch_add(&s->outstanding, 1);
}

void balancer_end(balancer *b, const balancer_candidate *c, int success)
{
    endpoint_state *s = state_get(b, c->name);
    if (!s) return;
    atomic_fetch_sub(&s->outstanding, 1);
    if (success) {
        atomic_store(&s->answered, 1);
        atomic_store(&s->consecutive_fails, 0);
        atomic_store(&s->ejected_until, 0.0);
        return;
    }
    int max_fails = c->max_fails > 0 ? c->max_fails : 3;
    double eject = c->eject_seconds > 0 ? c->eject_seconds : 10;
    if (atomic_fetch_add(&s->consecutive_fails, 1) + 1 >= max_fails) {
        /* never shortens a longer ejection (a Retry-After the endpoint gave) */
        double until = util_now_sec() + eject, cur = atomic_load(&s->ejected_until);
        while (cur < until && !atomic_compare_exchange_weak(&s->ejected_until, &cur, until)) {
        }
        atomic_store(&s->consecutive_fails, 0);
        atomic_fetch_add(&s->ejections, 1);
    }
}
