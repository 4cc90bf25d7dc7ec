/* route_eval.c - measures the category head on labelled files and times the
 * classifier.
 *
 *   build/route_eval [--head FILE] [--model DIR] [--mmlu DIR] [-c CONFIG] FILE.tsv...
 *
 * For each "category<TAB>text" file (and, with --mmlu, the held-out split of the
 * MMLU subject files, the same split the trainer holds out): accuracy, confusion
 * matrix, and coverage/accuracy per confidence threshold. Then the latency of
 * one classification (head + softmax, the embedding excluded) over every
 * embedded text, with the embedding time of the same texts as the anchor.
 * With -c, the routing decision of every text of the last file under that
 * config: entropy levels, reasoning on/off, and how often the entropy rule and
 * the plain top-category flag agree with the use_reasoning flag of the text's
 * true category. */
#include "core/util.h"
#include "embed/embed.h"
#include "config/config.h"
#include "route/classifier.h"
#include "route/decide.h"
#include "cli/evaluate.h"
#include "cli/train.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
            classifier_head_probs(h, e->X + (size_t)i * e->dim, e->text[i], e->len[i], p);
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


static void measure_reasoning(const char *cfg_path, const embed_model *m, const route_embedded *e)
{
    config_errors errs;
    config_errors_init(&errs);
    sr_config *cfg = config_load(cfg_path, &errs);
    if (!cfg) {
        config_errors_print(&errs, stderr);
        config_errors_free(&errs);
        return;
    }
    config_errors_free(&errs);
    char err[512];
    route_engine *eng = route_engine_new(cfg, m, err, sizeof err);
    if (!eng) {
        fprintf(stderr, "route_eval: %s\n", err);
        config_release(cfg);
        return;
    }
    const classifier *c = route_engine_classifier(eng);
    static const char *levels[] = {"very_low", "low", "medium", "high", "very_high"};
    int n_level[5] = {0}, on_level[5] = {0}, known = 0, ent_ok = 0, top_ok = 0, on = 0,
        routed = 0, to_reasoning_model = 0, gold_on = 0;
    for (int i = 0; i < e->n; i++) {
        route_decision d;
        route_input in = {.text = e->text[i], .text_len = e->len[i], .embedding = e->X + (size_t)i * e->dim, .dim = e->dim};
        if (route_decide(eng, &in, &d, err, sizeof err) < 0 || !d.entropy.level) continue;
        int lv = 0;
        while (lv < 5 && strcmp(levels[lv], d.entropy.level)) lv++;
        if (lv == 5) continue;
        n_level[lv]++;
        on_level[lv] += d.entropy.enabled;
        on += d.entropy.enabled;
        routed += d.category != NULL;
        to_reasoning_model += d.reasoning;
        /* gold: the flag of the true label's category; top: the top label's flag */
        int gold_label = -1, top_label = -1;
        float best = -1, p[256];
        const classifier_head *h = classifier_get_head(c);
        classifier_head_probs(h, in.embedding, in.text, in.text_len, p);
        for (int k = 0; k < h->n_classes; k++) {
            if (!strcasecmp(h->labels[k], e->labels[e->y[i]])) gold_label = k;
            if (p[k] > best) best = p[k], top_label = k;
        }
        int gc = route_engine_label_category(eng, gold_label),
            tc = route_engine_label_category(eng, top_label);
        if (gc < 0) continue;
        int gold = 0, top = 0;
        const sr_category *g = &cfg->categories[gc];
        for (size_t k = 0; k < g->n_model_scores; k++)
            if (k == 0 || g->model_scores[k].score > g->model_scores[0].score)
                gold = g->model_scores[k].use_reasoning;
        if (tc >= 0) {
            const sr_category *t = &cfg->categories[tc];
            top = t->model_scores[0].use_reasoning;
            for (size_t k = 1; k < t->n_model_scores; k++)
                if (t->model_scores[k].score > t->model_scores[0].score)
                    top = t->model_scores[k].use_reasoning;
        }
        known++;
        gold_on += gold;
        ent_ok += d.entropy.enabled == gold;
        top_ok += top == gold;
    }
    printf("\nreasoning decision under %s (%d texts, %d with a configured true category):\n",
           cfg_path, e->n, known);
    for (int lv = 0; lv < 5; lv++)
        printf("  %-9s %4d texts, reasoning on for %d\n", levels[lv], n_level[lv], on_level[lv]);
    printf("  entropy rule: on for %d; agrees with the true category's use_reasoning on %.3f\n", on,
           known ? (double)ent_ok / known : 0);
    printf("  plain top-category flag agrees on %.3f (true category on for %d)\n",
           known ? (double)top_ok / known : 0, gold_on);
    printf("  routed to a category (>= threshold) %d; reasoning applied (model has a family) %d\n",
           routed, to_reasoning_model);
    route_engine_free(eng);
    config_release(cfg);
}

int main(int argc, char **argv)
{
    const char *head_path = "config/category_head.bin", *model_dir = "models/use-lite",
               *mmlu = NULL, *map = "data/route/mmlu_subject_to_category.tsv", *cfg = NULL;
    int first = 1;
    embed_precision prec = EMBED_F32;
    for (; first < argc && argv[first][0] == '-'; first += 2) {
        if (first + 1 >= argc) break;
        if (!strcmp(argv[first], "--head")) head_path = argv[first + 1];
        else if (!strcmp(argv[first], "--precision")) {
            if (strcmp(argv[first + 1], "f32") && strcmp(argv[first + 1], "bf16")) {
                fprintf(stderr, "route_eval: --precision must be f32 or bf16\n");
                return 2;
            }
            prec = strcmp(argv[first + 1], "bf16") ? EMBED_F32 : EMBED_BF16;
        }
        else if (!strcmp(argv[first], "--model")) model_dir = argv[first + 1];
        else if (!strcmp(argv[first], "--mmlu")) mmlu = argv[first + 1];
        else if (!strcmp(argv[first], "-c")) cfg = argv[first + 1];
        else break;
    }
    if (first >= argc && !mmlu) {
        fprintf(stderr, "usage: route_eval [--head FILE] [--model DIR] [--precision f32|bf16] [--mmlu DIR] [-c CONFIG] FILE.tsv...\n");
        return 2;
    }
    char err[512];
    embed_options eo = {.type = EMBED_USE_LITE, .path = model_dir, .precision = prec};
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
        if (cfg) measure_reasoning(cfg, m, &last);
    }
    route_embedded_free(&last);
    route_dataset_free(&last_d);
    classifier_head_free(h);
    embed_free(m);
    return rc;
}
