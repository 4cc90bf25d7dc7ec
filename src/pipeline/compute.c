/* compute.c - the compute pool (see compute.h).
 *
 * One mutex-guarded FIFO of jobs and a condition variable. A thread that finds
 * jobs takes the longest prefix of the queue that fits max_batch texts (at
 * least one job, however many texts it has), embeds all of it with one
 * embed_batch_tokens call into its own scratch rows, copies each job's rows
 * out, runs each job's work function and posts each done callback to the
 * job's loop. Two FIFO lanes: urgent jobs (compute.h) are taken before the
 * others; within a lane jobs are never reordered, so a request's model work
 * starts no later than any request of its lane queued after it. */
#include "pipeline/compute.h"
#include "core/array.h"
#include "core/log.h"
#include "core/util.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define COMPUTE_NICE 5

struct compute_pool {
    const embed_model *model;
    int n_threads, max_batch, priority;
    pthread_t *threads;
    int started;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    compute_job *head[2], *tail[2]; /* [1]: the urgent lane, [0]: the rest (compute.h) */
    int queued, stopping;
    uint64_t jobs, passes, texts;
    int max_batch_seen;
};

int compute_default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

int compute_pool_threads(const compute_pool *p)
{
    return p->n_threads;
}

void compute_stats_get(compute_pool *p, compute_stats *s)
{
    pthread_mutex_lock(&p->lock);
    s->jobs = p->jobs;
    s->passes = p->passes;
    s->texts = p->texts;
    s->queued = p->queued;
    s->max_batch_seen = p->max_batch_seen;
    pthread_mutex_unlock(&p->lock);
}

static void done_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    compute_job *j = arg;
    j->done(j);
}

static void post_done(compute_job *j)
{
    j->t_end = util_now_ns();
    struct timeval now = {0, 0};
    if (event_base_once(j->loop, -1, EV_TIMEOUT, done_cb, j, &now))
        log_error("compute pool: cannot hand a finished job back to its loop (loop gone?)");
}

/* One thread's scratch: rows for a pass and the pass's text list. */
typedef struct scratch {
    embed_state *st;
    int cap; /* texts */
    const char **texts;
    size_t *lens;
    int *tokens;
    float *rows;
} scratch;

static int scratch_fit(scratch *s, int n, int dim)
{
    if (n <= s->cap) return 0;
    const char **t = realloc(s->texts, sizeof *t * (size_t)n);
    if (t) s->texts = t;
    size_t *l = realloc(s->lens, sizeof *l * (size_t)n);
    if (l) s->lens = l;
    int *k = realloc(s->tokens, sizeof *k * (size_t)n);
    if (k) s->tokens = k;
    float *r = realloc(s->rows, sizeof *r * (size_t)n * (size_t)(dim > 0 ? dim : 1));
    if (r) s->rows = r;
    if (!t || !l || !k || !r) return -1;
    s->cap = n;
    return 0;
}

/* Embeds the texts of jobs[0..n) in one pass and fills each job's results. */
static void embed_pass(compute_pool *p, scratch *s, compute_job **jobs, int n)
{
    int total = 0;
    for (int i = 0; i < n; i++) total += jobs[i]->n_texts;
    uint64_t t0 = util_now_ns();
    for (int i = 0; i < n; i++) {
        jobs[i]->t_start = t0;
        jobs[i]->batch_texts = total;
        jobs[i]->embed_status = 0;
        jobs[i]->embed_error[0] = 0;
    }
    if (total == 0) return;
    int dim = p->model ? embed_dim(p->model) : 0;
    const char *why = NULL;
    char err[224] = "";
    if (!p->model || !s->st) why = "no embedding model";
    else if (scratch_fit(s, total, dim)) why = "out of memory for the embedding batch";
    if (!why) {
        int at = 0;
        for (int i = 0; i < n; i++)
            for (int k = 0; k < jobs[i]->n_texts; k++, at++) {
                s->texts[at] = jobs[i]->texts[k];
                s->lens[at] = jobs[i]->lens[k];
            }
        if (embed_batch_tokens(p->model, s->st, s->texts, s->lens, total, s->rows, s->tokens, err,
                               sizeof err))
            why = err[0] ? err : "embedding failed";
    }
    uint64_t t1 = util_now_ns();
    int at = 0;
    for (int i = 0; i < n; i++) {
        compute_job *j = jobs[i];
        j->t_embedded = t1;
        if (why) {
            if (j->n_texts) {
                j->embed_status = -1;
                snprintf(j->embed_error, sizeof j->embed_error, "%s", why);
            }
            continue;
        }
        memcpy(j->vecs, s->rows + (size_t)at * (size_t)dim, sizeof(float) * (size_t)dim * (size_t)j->n_texts);
        if (j->n_tokens) memcpy(j->n_tokens, s->tokens + at, sizeof(int) * (size_t)j->n_texts);
        at += j->n_texts;
    }
}

static void *thread_main(void *arg)
{
    compute_pool *p = arg;
    /* the loops come first: a woken loop must not wait for a core behind us */
    if (p->priority == COMPUTE_PRIO_IDLE) {
        struct sched_param sp = {0};
        if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp))
            log_warn("compute pool: could not set SCHED_IDLE (%s); the thread runs at normal priority",
                     strerror(errno));
    } else if (p->priority == COMPUTE_PRIO_LOW) {
        if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), COMPUTE_NICE))
            log_warn("compute pool: could not lower the thread priority (%s)", strerror(errno));
    }
    scratch s = {0};
    if (p->model) s.st = embed_state_new(p->model);
    compute_job **batch = NULL;
    size_t batch_cap = 0;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        while (!p->head[0] && !p->head[1] && !p->stopping) pthread_cond_wait(&p->wake, &p->lock);
        if (!p->head[0] && !p->head[1]) { /* stopping and drained */
            pthread_mutex_unlock(&p->lock);
            break;
        }
        /* the longest prefix of the urgent lane, then of the other, that fits max_batch texts (at
         * least one job) */
        int n = 0, texts = 0, full = 0;
        for (int lane = 1; lane >= 0 && !full; lane--) {
            compute_job *j = p->head[lane];
            for (; j; j = j->next) {
                if (n > 0 && texts + j->n_texts > p->max_batch) {
                    full = 1;
                    break;
                }
                if (array_grow(&batch, &batch_cap, (size_t)n + 1, sizeof *batch, 16)) {
                    full = 1;
                    break;
                }
                batch[n++] = j;
                texts += j->n_texts;
            }
            p->head[lane] = j;
            if (!j) p->tail[lane] = NULL;
        }
        if (n == 0) { /* no memory even for one slot: try again shortly */
            pthread_mutex_unlock(&p->lock);
            usleep(1000);
            continue;
        }
        p->queued -= n;
        p->jobs += (uint64_t)n;
        if (texts) {
            p->passes++;
            p->texts += (uint64_t)texts;
            if (texts > p->max_batch_seen) p->max_batch_seen = texts;
        }
        /* more work left: let another thread take it */
        if (p->head[0] || p->head[1]) pthread_cond_signal(&p->wake);
        pthread_mutex_unlock(&p->lock);

        embed_pass(p, &s, batch, n);
        for (int i = 0; i < n; i++) {
            compute_job *j = batch[i];
            j->state = s.st;
            if (j->work) j->work(j);
            j->state = NULL;
            post_done(j);
        }
    }
    free(batch);
    embed_state_free(s.st);
    free(s.texts);
    free(s.lens);
    free(s.tokens);
    free(s.rows);
    return NULL;
}

compute_pool *compute_pool_new(const embed_model *model, int threads, int max_batch, char *err,
                               size_t errlen)
{
    return compute_pool_new_prio(model, threads, max_batch, COMPUTE_PRIO_LOW, err, errlen);
}

compute_pool *compute_pool_new_prio(const embed_model *model, int threads, int max_batch, int priority,
                                    char *err, size_t errlen)
{
    if (threads < 0 || threads > 256 || max_batch < 0 || priority < COMPUTE_PRIO_IDLE ||
        priority > COMPUTE_PRIO_NORMAL) {
        snprintf(err, errlen, "compute pool: threads must be 0..256, max_batch >= 0 and a known priority");
        return NULL;
    }
    compute_pool *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->model = model;
    p->priority = priority;
    p->n_threads = threads ? threads : compute_default_threads();
    p->max_batch = max_batch ? max_batch : 32;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    p->threads = calloc((size_t)p->n_threads, sizeof *p->threads);
    if (!p->threads) {
        snprintf(err, errlen, "out of memory");
        compute_pool_free(p);
        return NULL;
    }
    for (int i = 0; i < p->n_threads; i++) {
        if (pthread_create(&p->threads[i], NULL, thread_main, p)) {
            snprintf(err, errlen, "compute pool: cannot start thread %d", i);
            compute_pool_free(p);
            return NULL;
        }
        p->started++;
    }
    return p;
}

void compute_pool_free(compute_pool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->lock);
    p->stopping = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->started; i++) pthread_join(p->threads[i], NULL);
    free(p->threads);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

int compute_submit(compute_pool *p, compute_job *j)
{
    j->next = NULL;
    j->t_submit = util_now_ns();
    pthread_mutex_lock(&p->lock);
    if (p->stopping) {
        pthread_mutex_unlock(&p->lock);
        return -1;
    }
    int lane = j->urgent ? 1 : 0;
    if (p->tail[lane]) p->tail[lane]->next = j;
    else p->head[lane] = j;
    p->tail[lane] = j;
    p->queued++;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);
    return 0;
}
