/* embed_bench.c - latency/throughput of the built-in USE-lite encoder.
 *
 * usage: embed_bench MODEL_DIR TEXTS_FILE [kernel[:precision]...]
 *   kernel "default" = what this CPU gets; precision f32 (the default) or bf16
 *   TEXTS_FILE: one text per line; line 1 is the single-text probe (16 tokens),
 *   all lines (64) form the batch.
 * Prints, per kernel: p50/p90 latency of the probe on one thread (after warm-up),
 * and the wall time of embedding the batch on 2 threads (one embed_state and one
 * embed_batch call per thread). */
#include "core/util.h"
#include "embed/embed.h"
#include "embed/kernels.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_TEXTS 256

static embed_model *model, *models[2]; /* models[precision] */
static char *texts[MAX_TEXTS];
static size_t lens[MAX_TEXTS];
static int n_texts;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct {
    int from, to;
    float *out;
} job;

static void *worker(void *arg)
{
    job *j = arg;
    embed_state *s = embed_state_new(model);
    char err[256];
    /* the batch API: several texts share each matrix product */
    embed_batch(model, s, (const char *const *)texts + j->from, lens + j->from, j->to - j->from,
                j->out + (size_t)j->from * 512, err, sizeof err);
    embed_state_free(s);
    return NULL;
}

static double cpu_ms(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Wall time of the batch on 2 threads; *cpu gets the process CPU time it used. */
static double batch_ms(float *out, double *cpu)
{
    pthread_t th[2];
    job jobs[2] = {{0, n_texts / 2, out}, {n_texts / 2, n_texts, out}};
    double c0 = cpu_ms(CLOCK_PROCESS_CPUTIME_ID), t0 = util_now_sec();
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, worker, &jobs[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    *cpu = cpu_ms(CLOCK_PROCESS_CPUTIME_ID) - c0;
    return (util_now_sec() - t0) * 1e3;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: embed_bench MODEL_DIR TEXTS_FILE [kernel...]\n");
        return 2;
    }
    char err[256];
    embed_options o = {.type = EMBED_USE_LITE, .path = argv[1]};
    for (int p = 1; p >= 0; p--) {
        o.precision = p ? EMBED_BF16 : EMBED_F32;
        double tl = util_now_sec();
        models[p] = embed_load(&o, err, sizeof err);
        if (!models[p]) {
            fprintf(stderr, "embed_bench: %s\n", err);
            return 1;
        }
        printf("load_ms %s %.1f\n", embed_precision_name(o.precision), (util_now_sec() - tl) * 1e3);
    }
    model = models[0];
    FILE *f = fopen(argv[2], "r");
    if (!f) {
        perror(argv[2]);
        return 1;
    }
    char line[4096];
    while (n_texts < MAX_TEXTS && fgets(line, sizeof line, f)) {
        size_t n = strcspn(line, "\n");
        line[n] = 0;
        texts[n_texts] = strdup(line);
        lens[n_texts++] = n;
    }
    fclose(f);
    embed_state *ss[2] = {embed_state_new(models[0]), embed_state_new(models[1])}, *s = ss[0];
    float v[512];
    int ntok = 0;
    embed_text(model, s, texts[0], lens[0], v, &ntok, err, sizeof err);
    printf("probe_tokens %d\nbatch_texts %d\n", ntok, n_texts);
    float *out = malloc((size_t)n_texts * 512 * sizeof(float));
    const char *dflt[] = {kernel_name()};
    int nk = argc > 3 ? argc - 3 : 1;
    const char **kernels = argc > 3 ? (const char **)argv + 3 : dflt;
    for (int k = 0; k < nk; k++) {
        char kname[64];
        snprintf(kname, sizeof kname, "%s", kernels[k]);
        char *colon = strchr(kname, ':');
        int prec = 0;
        if (colon) {
            *colon = 0;
            if (strcmp(colon + 1, "f32") && strcmp(colon + 1, "bf16")) {
                fprintf(stderr, "embed_bench: precision f32 or bf16, not %s\n", colon + 1);
                return 2;
            }
            prec = !strcmp(colon + 1, "bf16");
        }
        model = models[prec], s = ss[prec];
        /* "default" = what embed_load picked for this CPU */
        const char *name = !strcmp(kname, "default") ? dflt[0] : kname;
        if (kernel_select(name)) {
            printf("kernel %s unavailable\n", kernels[k]);
            continue;
        }
        enum { RUNS = 400 };
        static double lat[RUNS], cpu[RUNS];
        for (int i = 0; i < 50; i++)
            embed_text(model, s, texts[0], lens[0], v, NULL, err, 256);
        for (int i = 0; i < RUNS; i++) {
            double c0 = cpu_ms(CLOCK_THREAD_CPUTIME_ID);
            uint64_t t0 = util_now_ns();
            embed_text(model, s, texts[0], lens[0], v, NULL, err, sizeof err);
            lat[i] = (double)(util_now_ns() - t0) / 1e6;
            cpu[i] = cpu_ms(CLOCK_THREAD_CPUTIME_ID) - c0;
        }
        qsort(lat, RUNS, sizeof lat[0], cmp_double);
        qsort(cpu, RUNS, sizeof cpu[0], cmp_double);
        double best = 1e9, best_cpu = 1e9;
        for (int r = 0; r < 5; r++) {
            double c, ms = batch_ms(out, &c);
            if (ms < best) best = ms;
            if (c < best_cpu) best_cpu = c;
        }
        printf(
            "kernel %s single_p50_ms %.4f single_p90_ms %.4f batch%d_2threads_ms %.3f "
            "batch_texts_per_s %.0f single_cpu_p50_ms %.4f batch_cpu_ms %.3f single_min_ms %.4f "
            "precision %s\n",
            kname, lat[RUNS / 2], lat[RUNS * 9 / 10], n_texts, best, n_texts / best * 1e3,
            cpu[RUNS / 2], best_cpu, lat[0], embed_precision_name(embed_model_precision(model)));
        if (name != kname) printf("default_kernel %s\n", name);
    }
    free(out);
    embed_state_free(ss[0]);
    embed_state_free(ss[1]);
    for (int i = 0; i < n_texts; i++)
        free(texts[i]);
    embed_free(models[0]);
    embed_free(models[1]);
    return 0;
}
