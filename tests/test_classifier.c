/* test_classifier.c - category head file format, examples, trainer, and the
 * accuracy floors of the shipped head (config/category_head.bin).
 *
 * Floors (measured, then a few points of margin; see the README numbers):
 *   conversational dev set (data/route/conversational_dev.tsv, 224 questions):
 *     measured 0.8571 -> floor 0.81
 *   held-out MMLU split, every 10th held-out prompt (283 of 2,827; the split is
 *     the SHA-256 rank within each subject, the same the trainer uses):
 *     measured on all held-out 0.848 (session 4 head) -> floor 0.80. The subset is
 *     in the repo (tests/data/mmlu-holdout, written by tests/data/make_mmlu_holdout.c);
 *     the whole MMLU set is an optional extra from ../shared (checks the split itself). */
#include "core/util.h"
#include "embed/embed.h"
#include "route/classifier.h"
#include "cli/evaluate.h"
#include "cli/train.h"
#include "route/vocab.h"
#include "test.h"
#include <math.h>
#include <string.h>
#include <unistd.h>

#define HEAD_PATH "config/category_head.bin"
#define MODEL_DIR "models/use-lite"

static const char *tmp_path(const char *name)
{
    static char p[256];
    snprintf(p, sizeof p, "/tmp/semrouter_test_%d_%s", (int)getpid(), name);
    return p;
}

static classifier_head *toy_head(void)
{
    classifier_head *h = classifier_head_new(4, 3, "toy-model:1234");
    snprintf(h->labels[0], CLASSIFIER_MAX_LABEL, "math");
    snprintf(h->labels[1], CLASSIFIER_MAX_LABEL, "law");
    snprintf(h->labels[2], CLASSIFIER_MAX_LABEL, "computer science");
    for (int c = 0; c < 3; c++) {
        for (int j = 0; j < 4; j++) h->weights[c * 4 + j] = (c == j) ? 5.0f : -0.25f * (float)j;
        h->bias[c] = 0.1f * (float)c;
    }
    return h;
}

static void test_head_roundtrip(void)
{
    classifier_head *h = toy_head();
    char err[512];
    const char *p = tmp_path("head.bin");
    CHECK_EQ_INT(classifier_head_save(h, p, err, sizeof err), 0);
    classifier_head *g = classifier_head_load(p, "toy-model:1234", 4, err, sizeof err);
    CHECK(g != NULL, "%s", err);
    if (g) {
        CHECK_EQ_INT(g->n_classes, 3);
        CHECK_STR(g->labels[2], "computer science");
        CHECK(!memcmp(g->weights, h->weights, 12 * sizeof(float)), "weights differ");
        float x[4] = {0, 1, 0, 0}, pr[3];
        classifier_head_probs(g, x, NULL, 0, pr);
        CHECK(pr[1] > 0.9f && pr[1] < 1.0f, "p(law) = %g", pr[1]);
        CHECK_NEAR(pr[0] + pr[1] + pr[2], 1.0, 1e-5);
        CHECK_EQ_INT(classifier_head_label_index(g, "Computer Science"), 2);
        CHECK_EQ_INT(classifier_head_label_index(g, "biology"), -1);
    }
    classifier_head_free(g);
    classifier_head_free(h);
    unlink(p);
}

static void test_head_rejects_bad_files(void)
{
    classifier_head *h = toy_head();
    char err[512];
    const char *p = tmp_path("head2.bin");
    CHECK_EQ_INT(classifier_head_save(h, p, err, sizeof err), 0);
    classifier_head_free(h);
    /* wrong embedding model */
    CHECK(classifier_head_load(p, "use-lite-512:deadbeef", 0, err, sizeof err) == NULL, "loaded");
    CHECK(strstr(err, "toy-model:1234") && strstr(err, "train-classifier"), "%s", err);
    /* wrong dimension */
    CHECK(classifier_head_load(p, NULL, 512, err, sizeof err) == NULL, "loaded");
    CHECK(strstr(err, "512") != NULL, "%s", err);
    /* truncated and corrupted copies */
    size_t n;
    char *data = util_read_file(p, &n, err, sizeof err);
    CHECK(data != NULL, "%s", err);
    if (data) {
        FILE *f = fopen(p, "wb");
        fwrite(data, 1, n - 7, f);
        fclose(f);
        CHECK(classifier_head_load(p, NULL, 0, err, sizeof err) == NULL, "truncated loaded");
        data[n / 2] ^= 0x40;
        f = fopen(p, "wb");
        fwrite(data, 1, n, f);
        fclose(f);
        CHECK(classifier_head_load(p, NULL, 0, err, sizeof err) == NULL, "corrupt loaded");
        CHECK(strstr(err, "checksum") != NULL, "%s", err);
        f = fopen(p, "wb");
        fwrite("hello world, not a head file at all", 1, 35, f);
        fclose(f);
        CHECK(classifier_head_load(p, NULL, 0, err, sizeof err) == NULL, "text loaded");
        CHECK(strstr(err, "magic") != NULL, "%s", err);
    }
    free(data);
    CHECK(classifier_head_load("/nonexistent/head.bin", NULL, 0, err, sizeof err) == NULL, "?");
    unlink(p);
}

static void test_examples_beat_head_above_threshold(void)
{
    classifier *c = classifier_new(toy_head(), 0.8f);
    char err[256];
    float ex[2][4] = {{0, 0, 0, 1}, {0.6f, 0, 0, 0.8f}};
    CHECK_EQ_INT(classifier_add_examples(c, "billing", &ex[0][0], 2, 4, err, sizeof err), 0);
    CHECK_EQ_INT(classifier_n_labels(c), 4);
    CHECK_STR(classifier_label(c, 3), "billing");
    float probs[4];
    classify_result r;
    float q1[4] = {0, 0, 0, 1}; /* exactly an example */
    CHECK_EQ_INT(classifier_classify(c, q1, 4, NULL, 0, probs, &r), 0);
    CHECK_STR(r.category, "billing");
    CHECK_EQ_INT(r.method, CLASSIFY_EXAMPLES);
    CHECK_NEAR(r.confidence, 1.0, 1e-5);
    CHECK_NEAR(probs[3], 0.0, 1e-9);
    float q2[4] = {1, 0, 0, 0}; /* cos 0.6 with the nearest example: below 0.8 */
    CHECK_EQ_INT(classifier_classify(c, q2, 4, NULL, 0, probs, &r), 0);
    CHECK_STR(r.category, "math");
    CHECK_EQ_INT(r.method, CLASSIFY_HEAD);
    CHECK_NEAR(r.example_similarity, 0.6, 1e-5);
    /* adding examples to a head label keeps the label count */
    CHECK_EQ_INT(classifier_add_examples(c, "LAW", &ex[0][0], 1, 4, err, sizeof err), 0);
    CHECK_EQ_INT(classifier_n_labels(c), 4);
    /* dimension mismatch */
    CHECK_EQ_INT(classifier_add_examples(c, "x", &ex[0][0], 1, 3, err, sizeof err), -1);
    CHECK_EQ_INT(classifier_classify(c, q2, 3, NULL, 0, probs, &r), -1);
    classifier_free(c);
}

static void test_trainer_separates_classes(void)
{
    /* three Gaussian blobs on the unit sphere in 8-d, one class each */
    enum { N = 300, D = 8, K = 3 };
    float *X = malloc(sizeof(float) * N * D);
    int y[N];
    unsigned s = 12345;
    for (int i = 0; i < N; i++) {
        y[i] = i % K;
        double norm = 0;
        for (int j = 0; j < D; j++) {
            s = s * 1103515245u + 12345u;
            float noise = ((float)((s >> 8) & 0xffff) / 65535.0f - 0.5f) * 0.6f;
            X[i * D + j] = (j == y[i] ? 1.0f : 0.0f) + noise;
            norm += X[i * D + j] * X[i * D + j];
        }
        for (int j = 0; j < D; j++) X[i * D + j] /= (float)sqrt(norm);
    }
    train_options opt = {1e-4, 200, 1, 0};
    char err[256];
    classifier_head *h = train_softmax(X, y, NULL, N, D, K, "toy", &opt, NULL, err, sizeof err);
    CHECK(h != NULL, "%s", err);
    if (h) {
        int ok = 0;
        float p[K];
        for (int i = 0; i < N; i++) {
            classifier_head_probs(h, X + i * D, NULL, 0, p);
            int top = 0;
            for (int c = 1; c < K; c++)
                if (p[c] > p[top]) top = c;
            ok += top == y[i];
        }
        CHECK(ok >= N * 98 / 100, "%d/%d correct", ok, N);
    }
    classifier_head_free(h);
    int bad[3] = {0, 1, 7};
    CHECK(train_softmax(X, bad, NULL, 3, D, K, "toy", &opt, NULL, err, sizeof err) == NULL, "bad label");
    free(X);
}

static void test_mmlu_stem(void)
{
    const char *p = "What is 2+2?\nA. 3\nB. 4\nC. 5\nD. 6\nAnswer:";
    CHECK_EQ_INT(route_mmlu_stem(p, strlen(p)), 12);
    const char *q = "Statement 1 | x\nAnswer:";
    CHECK_EQ_INT(route_mmlu_stem(q, strlen(q)), 15);
}

static embed_model *load_model(char *err, size_t errlen)
{
    embed_options eo = {.type = EMBED_USE_LITE, .path = MODEL_DIR};
    return embed_load(&eo, err, errlen);
}

static double dev_accuracy(embed_model *m, classifier_head *h, const char *file, int min_n)
{
    char err[512];
    route_dataset d;
    route_dataset_init(&d);
    int rc = route_dataset_load_tsv(&d, file, 1, 1, err, sizeof err);
    CHECK(rc == 0, "%s", err);
    CHECK(d.n >= min_n && d.n_labels == 14, "%s: %d texts, %d labels", file, d.n, d.n_labels);
    double acc = -1;
    route_embedded e;
    if (h && rc == 0 && route_embed_dataset(m, &d, -1, 1, 0, 2, NULL, &e, err, sizeof err) == 0) {
        acc = route_accuracy(h, &e, NULL);
        printf("     %s accuracy %.4f on %d\n", file, acc, e.n);
        route_embedded_free(&e);
    }
    route_dataset_free(&d);
    return acc;
}

/* Floors a few points under what the shipped head measured (data/route/README.md):
 * conversational dev 0.897, blind dev 0.843, exam-style dev 0.845 (session 4 head,
 * embedding + vocabulary layer; 0.888 / 0.829 / 0.821 without the layer). */
static void test_dev_set_accuracy_floor(void)
{
    char err[512];
    embed_model *m = load_model(err, sizeof err);
    if (!m) SKIP("no embedding model (%s); run scripts/fetch-model.sh", err);
    classifier_head *h = classifier_head_load(HEAD_PATH, embed_model_id(m), embed_dim(m), err,
                                              sizeof err);
    CHECK(h != NULL, "%s", err);
    double a = dev_accuracy(m, h, "data/route/conversational_dev.tsv", 14 * 15);
    CHECK(a >= 0.87, "conversational dev accuracy %.4f below the 0.87 floor", a);
    a = dev_accuracy(m, h, "data/route/blind_dev.tsv", 140);
    CHECK(a >= 0.81, "blind dev accuracy %.4f below the 0.81 floor", a);
    a = dev_accuracy(m, h, "data/route/exam_dev.tsv", 84);
    CHECK(a >= 0.80, "exam-style dev accuracy %.4f below the 0.80 floor", a);
    classifier_head_free(h);
    embed_free(m);
}

/* Vocabulary features: case, curly quotes, emoji and plurals do not split a word;
 * CJK characters are words; a version-2 head keeps its layer through save/load and
 * the layer moves the probabilities only when the text is given. */
static void test_vocab_layer(void)
{
    vocab_feature a[VOCAB_MAX_FEATURES], b[VOCAB_MAX_FEATURES];
    const char *t1 = "\xe2\x80\x9c" "Enzymes\xe2\x80\x9d catalyse \xf0\x9f\xa7\xaa reactions";
    const char *t2 = "enzyme, CATALYSE; reaction!";
    int n1 = vocab_count(t1, strlen(t1), 1024, a, VOCAB_MAX_FEATURES);
    int n2 = vocab_count(t2, strlen(t2), 1024, b, VOCAB_MAX_FEATURES);
    CHECK_EQ_INT(n1, 5); /* 3 words + 2 pairs (distinct buckets in 1024 for these) */
    CHECK_EQ_INT(n2, n1);
    for (int i = 0; i < n1 && i < n2; i++)
        CHECK(a[i].bucket == b[i].bucket && a[i].value == 1, "feature %d differs", i);
    const char *zh = "\xe5\x8c\x96\xe5\xad\xa6"; /* 化学: two characters, one pair */
    CHECK_EQ_INT(vocab_count(zh, strlen(zh), 1024, a, VOCAB_MAX_FEATURES), 3);
    CHECK_EQ_INT(vocab_count("  ...  ", 7, 1024, a, VOCAB_MAX_FEATURES), 0);
    /* weighting: unseen buckets (idf 0) dropped, the rest L2-normalised */
    float idf[1024] = {0};
    n2 = vocab_count(t2, strlen(t2), 1024, b, VOCAB_MAX_FEATURES);
    idf[b[0].bucket] = 2, idf[b[1].bucket] = 2;
    int m = vocab_weight(b, n2, idf);
    CHECK_EQ_INT(m, 2);
    CHECK(fabsf(b[0].value * b[0].value + b[1].value * b[1].value - 1) < 1e-5f, "not unit norm");

    classifier_head *h = classifier_head_new(2, 2, "toy");
    CHECK(h && classifier_head_add_vocab(h, 1024) == 0, "add vocab");
    CHECK(classifier_head_add_vocab(h, 1000) == -1, "non-power-of-two accepted");
    snprintf(h->labels[0], CLASSIFIER_MAX_LABEL, "chemistry");
    snprintf(h->labels[1], CLASSIFIER_MAX_LABEL, "law");
    n1 = vocab_count(t1, strlen(t1), 1024, a, VOCAB_MAX_FEATURES);
    for (int i = 0; i < n1; i++) idf[a[i].bucket] = 1, h->vocab_weights[a[i].bucket] = 3;
    memcpy(h->idf, idf, sizeof idf);
    char path[] = "/tmp/test_classifier_vocab_XXXXXX", err[256];
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    close(fd);
    CHECK(classifier_head_save(h, path, err, sizeof err) == 0, "%s", err);
    classifier_head *g = classifier_head_load(path, "toy", 2, err, sizeof err);
    CHECK(g != NULL, "%s", err);
    if (g) {
        CHECK_EQ_INT(g->vocab_buckets, 1024);
        float x[2] = {0.6f, 0.8f}, p[2], q[2];
        classifier_head_probs(g, x, NULL, 0, p);
        classifier_head_probs(g, x, t2, strlen(t2), q);
        CHECK(fabsf(p[0] - 0.5f) < 1e-6f, "zero head without text: %f", p[0]);
        CHECK(q[0] > 0.99f, "vocabulary layer did not move chemistry: %f", q[0]);
        classifier_head_free(g);
    }
    unlink(path);
    classifier_head_free(h);
}

/* The in-repo subset: every prompt held out (the files hold only held-out prompts). */
static void test_mmlu_holdout_accuracy_floor(void)
{
    char err[512], dir[512];
    test_data_path("mmlu-holdout", dir, sizeof dir);
    embed_model *m = load_model(err, sizeof err);
    if (!m) SKIP("no embedding model (%s)", err);
    classifier_head *h = classifier_head_load(HEAD_PATH, embed_model_id(m), embed_dim(m), err,
                                              sizeof err);
    CHECK(h != NULL, "%s", err);
    route_dataset d;
    route_dataset_init(&d);
    int rc = route_dataset_load_mmlu(&d, dir, "data/route/mmlu_subject_to_category.tsv", 100, err,
                                     sizeof err);
    CHECK(rc == 0, "%s", err);
    int nh = 0;
    for (int i = 0; i < d.n; i++) nh += d.samples[i].holdout;
    CHECK(d.n == 283 && nh == 283 && d.n_labels == 14, "%d prompts, %d held out, %d labels", d.n,
          nh, d.n_labels);
    route_embedded e;
    if (h && rc == 0 && route_embed_dataset(m, &d, 1, 1, 0, 2, NULL, &e, err, sizeof err) == 0) {
        double acc = route_accuracy(h, &e, NULL);
        printf("     held-out MMLU accuracy %.4f on %d (tests/data/mmlu-holdout)\n", acc, e.n);
        CHECK(acc >= 0.80, "accuracy %.4f below the 0.80 floor", acc);
        route_embedded_free(&e);
    }
    route_dataset_free(&d);
    classifier_head_free(h);
    embed_free(m);
}

/* Optional extra: the whole MMLU set from ../shared: the split has the sizes the trainer
 * used, and the in-repo subset is exactly its every-10th held-out prompt. */
static void test_mmlu_full_split_matches_subset(void)
{
    const char *shared = test_shared_dir();
    if (!shared) SKIP("optional extra: ../shared is absent (the whole MMLU set)");
    char err[512], dir[512], sub[512];
    snprintf(dir, sizeof dir, "%s/data/train/mmlu", shared);
    printf("# optional extra: using %s\n", dir);
    route_dataset d, s;
    route_dataset_init(&d);
    route_dataset_init(&s);
    int rc = route_dataset_load_mmlu(&d, dir, "data/route/mmlu_subject_to_category.tsv", 20, err,
                                     sizeof err);
    CHECK(rc == 0, "%s", err);
    int rs = route_dataset_load_mmlu(&s, test_data_path("mmlu-holdout", sub, sizeof sub),
                                     "data/route/mmlu_subject_to_category.tsv", 100, err,
                                     sizeof err);
    CHECK(rs == 0, "%s", err);
    int nh = 0;
    for (int i = 0; i < d.n; i++) nh += d.samples[i].holdout;
    CHECK(d.n == 14042 && nh == 2827, "%d prompts, %d held out", d.n, nh);
    int k = 0, j = 0, same = 1;
    for (int i = 0; i < d.n && rc == 0 && rs == 0; i++) {
        if (!d.samples[i].holdout || (k++ % 10)) continue;
        if (j >= s.n || strcmp(d.samples[i].text, s.samples[j].text)) same = 0;
        j++;
    }
    CHECK(same && j == s.n, "the subset differs from the split (%d of %d)", j, s.n);
    route_dataset_free(&d);
    route_dataset_free(&s);
}

static void test_dataset_errors(void)
{
    route_dataset d;
    route_dataset_init(&d);
    char err[512];
    const char *p = tmp_path("bad.tsv");
    FILE *f = fopen(p, "w");
    fputs("# comment\nmath\tok line\n\nno tab here\n", f);
    fclose(f);
    CHECK_EQ_INT(route_dataset_load_tsv(&d, p, 1, 0, err, sizeof err), -1);
    CHECK(strstr(err, ":4:") != NULL, "%s", err);
    CHECK_EQ_INT(route_dataset_load_mmlu(&d, "/nonexistent", "data/route/mmlu_subject_to_category.tsv",
                                         20, err, sizeof err),
                 -1);
    route_dataset_free(&d);
    unlink(p);
}

int main(void)
{
    RUN(test_head_roundtrip);
    RUN(test_head_rejects_bad_files);
    RUN(test_examples_beat_head_above_threshold);
    RUN(test_trainer_separates_classes);
    RUN(test_mmlu_stem);
    RUN(test_dataset_errors);
    RUN(test_vocab_layer);
    RUN(test_dev_set_accuracy_floor);
    RUN(test_mmlu_holdout_accuracy_floor);
    RUN(test_mmlu_full_split_matches_subset);
    TEST_MAIN_END();
}
