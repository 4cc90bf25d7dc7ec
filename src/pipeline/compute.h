/* compute.h - the compute pool: model work off the event loops.
 *
 * Embeddings, guards and classification cost milliseconds of CPU; run on a
 * worker's event loop they would stall every other connection of that worker
 * (streams, pass-through requests, exact cache hits). So a request that needs
 * model work hands a compute_job to this pool and returns to its loop; a
 * compute thread runs the job and the job's done callback is then called on
 * the loop the job names (libevent event_base_once, which wakes that loop).
 *
 * Lanes: a job marked urgent goes ahead of every waiting non-urgent job (a
 * thread fills its next pass from the urgent lane first). The chat pipeline
 * marks urgent the jobs of requests that name their model and need only the
 * guards (prompt guard, PII): under a saturating load of automatic-routing
 * misses, each waits for the passes already running, not for the whole queue
 * (bench/miss_path.sh). Urgent traffic that alone saturates the pool delays
 * the rest: it is the lighter, latency-bound class.
 *
 * Micro-batching: a compute thread takes every job waiting in the queue (up to
 * max_batch texts in all) and embeds their texts in one embed_batch pass over
 * the weights, which is bit-identical to embedding them one by one. So texts
 * that arrive while the pool is busy share a pass instead of queueing for one
 * each. Then each job's work function runs (guards, classification: what needs
 * the vectors) on the same thread, and its done callback is posted.
 *
 * Threads: sized from the core count (server.compute_threads, 0 = one per
 * core) and scheduled below the loops (server.compute_priority), so a loop
 * that wakes for a pass-through request gets a core at once even while every
 * compute thread is busy:
 *   - COMPUTE_PRIO_LOW (the default): nice +5 (weight 335 against a normal
 *     thread's 1024), SCHED_OTHER. Under EEVDF a woken loop may still wait for
 *     a compute thread's slice to end.
 *   - COMPUTE_PRIO_IDLE: SCHED_IDLE. Any other thread that wakes preempts a
 *     compute thread at once. The cost: when other threads keep every core
 *     busy - the loops, or other programs on the machine in the same
 *     scheduling group - model work gets almost nothing (weight 3): on the
 *     shared 2-core bench machine even requests alone waited 10x longer.
 *   - COMPUTE_PRIO_NORMAL: as the loops.
 * bench/miss_path.sh measured idle and low (README, "Miss path under load").
 *
 * A remote embedding model (embed/remote.c, a blocking HTTP call) also runs
 * here: it blocks a compute thread, never a worker, and a micro-batch is one
 * HTTP request.
 *
 * Contract of a job (the submitter owns the compute_job and everything it
 * points to; all of it must stay valid until done has run):
 *   - done is called exactly once, on job->loop, after work (if any) returned;
 *     a job is never cancelled: a request whose client left waits for done
 *     and then finishes (that keeps ownership simple: nobody else frees it).
 *   - work and the embedding run on a compute thread: they may read only
 *     immutable shared state (models, detectors, the request's config) and the
 *     job's own request; never the loop's objects (http_request, upstream).
 *   - embed_status: 0 when the vectors are valid, -1 when the embedding failed
 *     (embed_error says why); work still runs (it must check embed_status). */
#ifndef SEMROUTER_PIPELINE_COMPUTE_H
#define SEMROUTER_PIPELINE_COMPUTE_H
#include "embed/embed.h"
#include <stddef.h>
#include <stdint.h>

struct event_base;
typedef struct compute_pool compute_pool;
typedef struct compute_job compute_job;
typedef void (*compute_fn)(compute_job *job);

struct compute_job {
    /* set by the submitter */
    int n_texts;               /* 0 = nothing to embed (work only) */
    const char *const *texts;  /* n_texts texts ... */
    const size_t *lens;        /* ... and their byte lengths */
    float *vecs;               /* out: n_texts x embed_dim rows, unit norm */
    int *n_tokens;             /* out (may be NULL): token counts before truncation, -1 unknown */
    compute_fn work;           /* on the compute thread after the embedding; may be NULL */
    compute_fn done;           /* on loop, exactly once */
    int urgent;                /* 1: taken before every non-urgent job (still FIFO among urgent
                                  ones): the guard-only work of a request whose model is already
                                  chosen must not queue behind a backlog of routing misses */
    void *arg;                 /* the submitter's (the request context) */
    struct event_base *loop;
    /* set by the pool */
    embed_state *state;        /* the compute thread's embedding state (NULL without a model), for
                                  work that embeds by itself (the router's own /v1/embeddings and
                                  classification endpoints); valid while work runs, never after */
    int embed_status;          /* 0 ok, -1 failed */
    char embed_error[224];
    int batch_texts;           /* texts in the pass that embedded this job's texts */
    uint64_t t_submit, t_start, t_embedded, t_end; /* util_now_ns() */
    /* pool-private */
    compute_job *next;
};

enum { COMPUTE_PRIO_IDLE = 0, COMPUTE_PRIO_LOW, COMPUTE_PRIO_NORMAL };

/* threads: 0 = compute_default_threads(). max_batch: texts per pass (0 = 32).
 * model may be NULL (then jobs with texts fail their embedding). NULL + err.
 * The threads start at COMPUTE_PRIO_LOW; see compute_pool_new_prio. */
compute_pool *compute_pool_new(const embed_model *model, int threads, int max_batch, char *err,
                               size_t errlen);
/* As compute_pool_new with the threads' scheduling (COMPUTE_PRIO_*). A thread
 * that cannot take it logs a warning and runs as it is. */
compute_pool *compute_pool_new_prio(const embed_model *model, int threads, int max_batch, int priority,
                                    char *err, size_t errlen);
/* Finishes the queued jobs (their done callbacks are posted), then joins the
 * threads. Call before the loops are freed. */
void compute_pool_free(compute_pool *p);
/* Queues job. Returns 0, or -1 when the pool is stopping (done is not called). */
int compute_submit(compute_pool *p, compute_job *job);

int compute_pool_threads(const compute_pool *p);
/* One thread per online core (at least 1). */
int compute_default_threads(void);

typedef struct compute_stats {
    uint64_t jobs, passes, texts; /* texts / passes = mean micro-batch size */
    int queued;                   /* jobs waiting now */
    int max_batch_seen;           /* largest pass so far (texts) */
} compute_stats;
void compute_stats_get(compute_pool *p, compute_stats *s);
#endif
