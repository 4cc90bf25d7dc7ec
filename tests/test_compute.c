/* Tests for src/pipeline/compute.c: model work off the loop, handed back to
 * the loop, micro-batched, bit-identical to single embedding, never lost. */
#include "core/util.h"
#include "embed/embed.h"
#include "pipeline/compute.h"
#include "test.h"
#include <event2/event.h>
#include <event2/thread.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <stdatomic.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

static embed_model *model;
static embed_state *state;
static pthread_t loop_thread;

static const char *texts[] = {
    "How do I reset my router’s admin password?",
    "¿Cuál es la capital de Australia? 🇦🇺",
    "Объясни теорему Пифагора простыми словами",
    "日本語の文章をembedしてください — mixed scripts “quoted”",
    "tool call result: {\"temperature\": 21.5, \"unit\": \"°C\"}",
    "",
    "😀😃😄😁 emoji only? 🤔",
    "A long one: the quick brown fox jumps over the lazy dog, again and again, while the cat "
    "watches from the window sill and wonders why anyone would jump over a dog at all; then it "
    "rains, the fox gets wet, the dog sleeps on, and the cat keeps watching until the sun sets "
    "behind the hills and the whole scene repeats the next morning without fail, forever. "
    "The next day the fox, now wiser, walks around the dog instead, the cat is disappointed, "
    "the farmer laughs, the rain returns, and the story is told again to every child in town.",
};
#define N_TEXTS ((int)(sizeof texts / sizeof *texts))

static int load_model(void)
{
    const char *root = getenv("SEMROUTER_ROOT");
    char dir[1024], err[256];
    snprintf(dir, sizeof dir, "%s/models/use-lite", root ? root : ".");
    embed_options o = {.type = EMBED_USE_LITE, .path = dir};
    model = embed_load(&o, err, sizeof err);
    if (!model) {
        printf("# cannot load %s: %s\n", dir, err);
        return -1;
    }
    state = embed_state_new(model);
    return 0;
}

/* A job as a request would hold it, plus what the test observes. */
typedef struct tjob {
    compute_job job;
    const char *t[4];
    size_t l[4];
    float vec[4 * 512];
    int tok[4];
    pthread_t work_thread, done_thread;
    int work_runs, done_runs, order;
    atomic_int *block; /* work waits while *block != 0 */
} tjob;

static int done_count, done_order_next;
static struct event_base *base;

static void work_fn(compute_job *j)
{
    tjob *t = j->arg;
    t->work_thread = pthread_self();
    t->work_runs++;
    while (t->block && atomic_load(t->block)) usleep(200);
}

static void done_fn(compute_job *j)
{
    tjob *t = j->arg;
    t->done_thread = pthread_self();
    t->done_runs++;
    t->order = done_order_next++;
    done_count++;
}

static void tjob_init(tjob *t, int first, int n)
{
    memset(t, 0, sizeof *t);
    for (int i = 0; i < n; i++) {
        t->t[i] = texts[(first + i) % N_TEXTS];
        t->l[i] = strlen(t->t[i]);
    }
    t->job.n_texts = n;
    t->job.texts = t->t;
    t->job.lens = t->l;
    t->job.vecs = t->vec;
    t->job.n_tokens = t->tok;
    t->job.work = work_fn;
    t->job.done = done_fn;
    t->job.arg = t;
    t->job.loop = base;
}

static void run_until(int count)
{
    while (done_count < count) event_base_loop(base, EVLOOP_ONCE);
}

/* Each row must equal embed_text's vector for the same text, bit for bit. */
static int rows_identical(const tjob *t)
{
    for (int i = 0; i < t->job.n_texts; i++) {
        float one[512];
        int n = 0;
        char err[256];
        if (embed_text(model, state, t->t[i], t->l[i], one, &n, err, sizeof err)) return 0;
        if (memcmp(one, t->vec + i * 512, sizeof one)) return 0;
        if (n != t->tok[i]) return 0;
    }
    return 1;
}

static void jobs_run_off_loop_and_finish_on_it(void)
{
    if (!model) SKIP("model not loaded (run scripts/fetch-model.sh)");
    char err[256];
    compute_pool *p = compute_pool_new(model, 2, 0, err, sizeof err);
    CHECK(p != NULL, "%s", err);
    if (!p) return;
    CHECK_EQ_INT(compute_pool_threads(p), 2);
    tjob jobs[6];
    done_count = 0;
    for (int i = 0; i < 6; i++) {
        tjob_init(&jobs[i], i, 1 + i % 3);
        CHECK_EQ_INT(compute_submit(p, &jobs[i].job), 0);
    }
    run_until(6);
    for (int i = 0; i < 6; i++) {
        CHECK_EQ_INT(jobs[i].work_runs, 1);
        CHECK_EQ_INT(jobs[i].done_runs, 1);
        CHECK(!pthread_equal(jobs[i].work_thread, loop_thread), "job %d's work ran on the loop thread", i);
        CHECK(pthread_equal(jobs[i].done_thread, loop_thread), "job %d's done ran off the loop thread", i);
        CHECK_EQ_INT(jobs[i].job.embed_status, 0);
        CHECK(rows_identical(&jobs[i]), "job %d's vectors or token counts differ from embed_text", i);
    }
    /* the long text is over the 128-token window and says so */
    int long_seen = 0;
    for (int i = 0; i < 6; i++)
        for (int k = 0; k < jobs[i].job.n_texts; k++)
            if (jobs[i].t[k] == texts[N_TEXTS - 1]) {
                long_seen = 1;
                CHECK(jobs[i].tok[k] > embed_max_tokens(model), "%d tokens", jobs[i].tok[k]);
            }
    CHECK(long_seen, "no job held the long text");
    compute_pool_free(p);
}

/* Texts that arrive while the only thread is busy share one pass; order kept. */
static void busy_pool_micro_batches_in_order(void)
{
    if (!model) SKIP("model not loaded (run scripts/fetch-model.sh)");
    char err[256];
    compute_pool *p = compute_pool_new(model, 1, 4, err, sizeof err);
    CHECK(p != NULL, "%s", err);
    if (!p) return;
    atomic_int block = 1;
    tjob blocker, jobs[10];
    done_count = 0;
    done_order_next = 0;
    tjob_init(&blocker, 0, 1);
    blocker.block = &block;
    compute_submit(p, &blocker.job);
    /* wait until the thread holds the blocker, so the rest must queue */
    while (!blocker.work_runs) usleep(200);
    for (int i = 0; i < 10; i++) {
        tjob_init(&jobs[i], i, 1);
        compute_submit(p, &jobs[i].job);
    }
    compute_stats st;
    compute_stats_get(p, &st);
    CHECK_EQ_INT(st.queued, 10);
    atomic_store(&block, 0);
    run_until(11);
    /* max_batch 4: passes of 4, 4 and 2 texts */
    for (int i = 0; i < 10; i++) {
        CHECK_EQ_INT(jobs[i].job.batch_texts, i < 8 ? 4 : 2);
        CHECK_EQ_INT(jobs[i].order, i + 1);
        CHECK(rows_identical(&jobs[i]), "job %d differs from embed_text", i);
    }
    compute_stats_get(p, &st);
    CHECK_EQ_INT(st.passes, 4);
    CHECK_EQ_INT(st.texts, 11);
    CHECK_EQ_INT(st.max_batch_seen, 4);
    compute_pool_free(p);
}

/* One job with more texts than max_batch is taken whole, alone. */
static void oversized_job_alone(void)
{
    if (!model) SKIP("model not loaded (run scripts/fetch-model.sh)");
    char err[256];
    compute_pool *p = compute_pool_new(model, 1, 2, err, sizeof err);
    if (!p) return;
    tjob j;
    done_count = 0;
    tjob_init(&j, 3, 4);
    compute_submit(p, &j.job);
    run_until(1);
    CHECK_EQ_INT(j.job.batch_texts, 4);
    CHECK_EQ_INT(j.job.embed_status, 0);
    CHECK(rows_identical(&j), "vectors differ");
    compute_pool_free(p);
}

/* Urgent jobs (guard-only work) are taken before every waiting non-urgent job,
 * in their own order, and still share passes. */
static void urgent_lane_goes_first(void)
{
    if (!model) SKIP("model not loaded (run scripts/fetch-model.sh)");
    char err[256];
    compute_pool *p = compute_pool_new(model, 1, 2, err, sizeof err);
    CHECK(p != NULL, "%s", err);
    if (!p) return;
    atomic_int block = 1;
    tjob blocker, normal[4], urgent[3];
    done_count = 0;
    done_order_next = 0;
    tjob_init(&blocker, 0, 1);
    blocker.block = &block;
    compute_submit(p, &blocker.job);
    while (!blocker.work_runs) usleep(200);
    for (int i = 0; i < 4; i++) {
        tjob_init(&normal[i], i, 1);
        compute_submit(p, &normal[i].job);
    }
    for (int i = 0; i < 3; i++) {
        tjob_init(&urgent[i], 4 + i, 1);
        urgent[i].job.urgent = 1;
        compute_submit(p, &urgent[i].job);
    }
    atomic_store(&block, 0);
    run_until(8);
    /* passes of 2 texts: [u0 u1] [u2 n0] [n1 n2] [n3] */
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(urgent[i].order, 1 + i);
        CHECK(rows_identical(&urgent[i]), "urgent job %d differs from embed_text", i);
    }
    for (int i = 0; i < 4; i++) {
        CHECK_EQ_INT(normal[i].order, 4 + i);
        CHECK(rows_identical(&normal[i]), "job %d differs from embed_text", i);
    }
    CHECK_EQ_INT(urgent[2].job.batch_texts, 2); /* shared its pass with the first normal job */
    CHECK_EQ_INT(normal[3].job.batch_texts, 1);
    compute_pool_free(p);
}

/* What work sees of its thread: the scheduling asked for, and the thread's
 * embedding state (which embeds exactly as embed_text). */
typedef struct prio_job {
    compute_job job;
    int policy, nice, have_state, same_vec;
} prio_job;
static void prio_work(compute_job *j)
{
    prio_job *q = j->arg;
    q->policy = sched_getscheduler(0);
    errno = 0;
    q->nice = getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
    q->have_state = j->state != NULL;
    if (!j->state) return;
    float a[512], b[512];
    char err[256];
    const char *t = texts[1];
    q->same_vec = embed_text(model, j->state, t, strlen(t), a, NULL, err, sizeof err) == 0 &&
                  embed_text(model, state, t, strlen(t), b, NULL, err, sizeof err) == 0 && !memcmp(a, b, sizeof a);
}
static void prio_done(compute_job *j)
{
    (void)j;
    done_count++;
}
static void threads_take_their_priority_and_state(void)
{
    if (!model) SKIP("model not loaded (run scripts/fetch-model.sh)");
    int base_nice = getpriority(PRIO_PROCESS, 0);
    const int prios[] = {COMPUTE_PRIO_IDLE, COMPUTE_PRIO_LOW, COMPUTE_PRIO_NORMAL};
    for (int k = 0; k < 3; k++) {
        char err[256];
        compute_pool *p = compute_pool_new_prio(model, 1, 0, prios[k], err, sizeof err);
        CHECK(p != NULL, "%s", err);
        if (!p) return;
        prio_job q = {0};
        q.job.work = prio_work;
        q.job.done = prio_done;
        q.job.arg = &q;
        q.job.loop = base;
        done_count = 0;
        compute_submit(p, &q.job);
        run_until(1);
        compute_pool_free(p);
        CHECK(q.have_state && q.same_vec, "priority %d: state %d, same vector %d", k, q.have_state, q.same_vec);
        CHECK(q.job.state == NULL, "the state pointer outlived work");
        if (prios[k] == COMPUTE_PRIO_IDLE) CHECK_EQ_INT(q.policy, SCHED_IDLE);
        else CHECK_EQ_INT(q.policy, SCHED_OTHER);
        if (prios[k] == COMPUTE_PRIO_LOW) CHECK(q.nice == 5 || (base_nice > 5 && q.nice == base_nice), "nice %d", q.nice);
        if (prios[k] == COMPUTE_PRIO_NORMAL) CHECK_EQ_INT(q.nice, base_nice);
    }
    char err[256] = "";
    CHECK(compute_pool_new_prio(model, 1, 0, 7, err, sizeof err) == NULL, "unknown priority accepted");
}

static int tick_seen;
static atomic_int tick_block;
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    tjob *busy = arg;
    /* the loop turned while the model work was still running */
    tick_seen = busy->done_runs == 0 && busy->work_runs == 1;
    atomic_store(&tick_block, 0);
}

/* The loop is free while model work runs: a timer (standing for a
 * pass-through request) fires before the blocked job is done. */
static void loop_never_waits_for_model_work(void)
{
    if (!model) SKIP("model not loaded (run scripts/fetch-model.sh)");
    char err[256];
    compute_pool *p = compute_pool_new(model, 1, 0, err, sizeof err);
    if (!p) return;
    tjob busy;
    done_count = 0;
    tick_seen = 0;
    atomic_store(&tick_block, 1);
    tjob_init(&busy, 0, 2);
    busy.block = &tick_block;
    compute_submit(p, &busy.job);
    while (!busy.work_runs) usleep(200);
    struct timeval now = {0, 0};
    event_base_once(base, -1, EV_TIMEOUT, on_tick, &busy, &now);
    run_until(1);
    CHECK(tick_seen, "the loop's event ran only after the model work");
    CHECK_EQ_INT(busy.done_runs, 1);
    compute_pool_free(p);
}

/* Without a model, jobs with texts fail their embedding but still run work
 * and done; work-only jobs succeed. */
static void no_model_fails_embedding_not_the_job(void)
{
    char err[256];
    compute_pool *p = compute_pool_new(NULL, 1, 0, err, sizeof err);
    CHECK(p != NULL, "%s", err);
    if (!p) return;
    tjob a, b;
    done_count = 0;
    tjob_init(&a, 0, 2);
    tjob_init(&b, 0, 0);
    compute_submit(p, &a.job);
    compute_submit(p, &b.job);
    run_until(2);
    CHECK_EQ_INT(a.job.embed_status, -1);
    CHECK(strstr(a.job.embed_error, "no embedding model") != NULL, "%s", a.job.embed_error);
    CHECK_EQ_INT(a.work_runs, 1);
    CHECK_EQ_INT(b.job.embed_status, 0);
    CHECK_EQ_INT(b.work_runs + b.done_runs, 2);
    compute_pool_free(p);
}

/* Freeing the pool finishes what was queued: every done runs exactly once. */
static void free_drains_queue(void)
{
    if (!model) SKIP("model not loaded (run scripts/fetch-model.sh)");
    char err[256];
    compute_pool *p = compute_pool_new(model, 1, 3, err, sizeof err);
    if (!p) return;
    tjob jobs[7];
    done_count = 0;
    for (int i = 0; i < 7; i++) {
        tjob_init(&jobs[i], i, 1);
        compute_submit(p, &jobs[i].job);
    }
    compute_pool_free(p);
    run_until(7);
    for (int i = 0; i < 7; i++) {
        CHECK_EQ_INT(jobs[i].done_runs, 1);
        CHECK_EQ_INT(jobs[i].job.embed_status, 0);
    }
}

static void bad_sizes_rejected(void)
{
    char err[256] = "";
    CHECK(compute_pool_new(NULL, -1, 0, err, sizeof err) == NULL, "negative threads accepted");
    CHECK(strstr(err, "threads") != NULL, "%s", err);
    CHECK(compute_default_threads() >= 1, "%d", compute_default_threads());
}

int main(void)
{
    evthread_use_pthreads();
    base = event_base_new();
    loop_thread = pthread_self();
    load_model();
    RUN(jobs_run_off_loop_and_finish_on_it);
    RUN(busy_pool_micro_batches_in_order);
    RUN(oversized_job_alone);
    RUN(urgent_lane_goes_first);
    RUN(threads_take_their_priority_and_state);
    RUN(loop_never_waits_for_model_work);
    RUN(no_model_fails_embedding_not_the_job);
    RUN(free_drains_queue);
    RUN(bad_sizes_rejected);
    embed_state_free(state);
    embed_free(model);
    event_base_free(base);
    TEST_MAIN_END();
}
