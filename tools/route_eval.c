/* route_eval.c - measures the category head on labelled files and times the
 * classifier.
 *
 *   build/route_eval [--head FILE] [--model DIR] [--mmlu DIR] FILE.tsv...
 *
 * For each "category<TAB>text" file (and, with --mmlu, the held-out split of the
 * MMLU subject files, the same split the trainer holds out): accuracy, confusion
 * matrix, and coverage/accuracy per confidence threshold. Then the latency of
 * one classification (head + softmax, the embedding excluded) over every
 * embedded text, with the embedding time of the same texts as the anchor. */
#include "core/util.h"
#include "embed/embed.h"
#include "route/classifier.h"
#include "route/evaluate.h"
#include "route/train.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void time_classify(const classifier_head *h, const route_embedded *e)
{
    enum { REPS = 20 };
    size_t n = (size_t)e->n * REPS;
    uint64_t *t = malloc(n * sizeof *t);
    float p[256];
    volatile float sink = 0;
    if (!t || h->n_classes > 256) return;
    for (int r = 0; r < REPS; r++)
        for (int i = 0; i < e->n; i++) {
            uint64_t t0 = util_now_ns();
            classifier_head_probs(h, e->X + (size_t)i * e->dim, p);
            t[(size_t)r * e->n + i] = util_now_ns() - t0;
            sink += p[0];
        }
    qsort(t, n, sizeof *t, cmp_u64);
    printf("classify (head %d x %d + softmax, embedding excluded): p50 %.2f us, p99 %.2f us over "
           "%zu calls\n",
           h->n_classes, h->dim, t[n / 2] / 1e3, t[n * 99 / 100] / 1e3, n);
    free(t);
    (void)sink;
}

static void time_embed(const embed_model *m, const route_dataset *d)
{
    embed_state *s = embed_state_new(m);
    int n = d->n < 200 ? d->n : 200;
    uint64_t *t = malloc((size_t)(n ? n : 1) * sizeof *t);
    float *v = malloc((size_t)embed_dim(m) * sizeof(float));
    char err[256];
    if (!s || !t || !v || !n) goto out;
    for (int i = 0; i < n; i++) {
        uint64_t t0 = util_now_ns();
        embed_text(m, s, d->samples[i].text, strlen(d->samples[i].text), v, NULL, err, sizeof err);
        t[i] = util_now_ns() - t0;
    }
    qsort(t, (size_t)n, sizeof *t, cmp_u64);
    printf("anchor: embedding the same texts: p50 %.1f us, p99 %.1f us over %d texts\n",
           t[n / 2] / 1e3, t[n * 99 / 100] / 1e3, n);
out:
    free(t);
    free(v);
    embed_state_free(s);
}

int main(int argc, char **argv)
{
    const char *head_path = "config/category_head.bin", *model_dir = "models/use-lite",
               *mmlu = NULL, *map = "data/route/mmlu_subject_to_category.tsv";
    int first = 1;
    for (; first < argc && argv[first][0] == '-'; first += 2) {
        if (first + 1 >= argc) break;
        if (!strcmp(argv[first], "--head")) head_path = argv[first + 1];
        else if (!strcmp(argv[first], "--model")) model_dir = argv[first + 1];
        else if (!strcmp(argv[first], "--mmlu")) mmlu = argv[first + 1];
        else break;
    }
    if (first >= argc && !mmlu) {
        fprintf(stderr, "usage: route_eval [--head FILE] [--model DIR] [--mmlu DIR] FILE.tsv...\n");
        return 2;
    }
    char err[512];
    embed_options eo = {.type = EMBED_USE_LITE, .path = model_dir};
    embed_model *m = embed_load(&eo, err, sizeof err);
    if (!m) {
        fprintf(stderr, "route_eval: %s\n", err);
        return 1;
    }
    classifier_head *h = classifier_head_load(head_path, embed_model_id(m), embed_dim(m), err,
                                              sizeof err);
    if (!h) {
        fprintf(stderr, "route_eval: %s\n", err);
        embed_free(m);
        return 1;
    }
    int rc = 0;
    route_embedded last = {0};
    route_dataset last_d;
    route_dataset_init(&last_d);
    for (int i = first - (mmlu ? 1 : 0); i < argc; i++) {
        route_dataset d;
        route_dataset_init(&d);
        int is_mmlu = i == first - 1;
        const char *name = is_mmlu ? mmlu : argv[i];
        int lr = is_mmlu ? route_dataset_load_mmlu(&d, mmlu, map, 20, err, sizeof err)
                         : route_dataset_load_tsv(&d, argv[i], 1, 1, err, sizeof err);
        route_embedded e;
        if (lr < 0 || route_embed_dataset(m, &d, 1, 1, 0, 2, NULL, &e, err, sizeof err) < 0) {
            fprintf(stderr, "route_eval: %s\n", err);
            route_dataset_free(&d);
            rc = 1;
            continue;
        }
        route_report(h, &e, is_mmlu ? "held-out MMLU split" : name, stdout);
        route_embedded_free(&last);
        route_dataset_free(&last_d);
        last = e;
        last_d = d;
    }
    if (last.n) {
        printf("\n");
        time_classify(h, &last);
        time_embed(m, &last_d);
    }
    route_embedded_free(&last);
    route_dataset_free(&last_d);
    classifier_head_free(h);
    embed_free(m);
    return rc;
}
