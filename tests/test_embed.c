/* Tests for src/embed (USE-lite): tokenizer and encoder against the TF.js golden
 * file, in-repo reference values, edge cases, and a loader fuzz. */
#include "cli/cli.h"
#include "core/util.h"
#include "embed/embed.h"
#include "embed/kernels.h"
#include "embed/use_lite.h"
#include "test.h"
#include <cjson/cJSON.h>
#include <pthread.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static char model_dir[1024];
static embed_model *model;
static embed_state *state;

static int load_model(void)
{
    const char *root = getenv("SEMROUTER_ROOT");
    snprintf(model_dir, sizeof model_dir, "%s/models/use-lite", root ? root : ".");
    embed_options o = {.type = EMBED_USE_LITE, .path = model_dir};
    char err[256];
    model = embed_load(&o, err, sizeof err);
    if (!model) {
        printf("# cannot load %s: %s\n", model_dir, err);
        return -1;
    }
    state = embed_state_new(model);
    return 0;
}

static float dot(const float *a, const float *b, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += (double)a[i] * b[i];
    return (float)s;
}

static int embed_str(const char *s, float *out, int *n)
{
    char err[256];
    int r = embed_text(model, state, s, strlen(s), out, n, err, sizeof err);
    if (r) printf("# embed_text: %s\n", err);
    return r;
}

/* tests/data/use-lite/golden.json: token ids and TF.js embeddings for 18 texts. */
static void golden_matches_tfjs(void)
{
    if (!model) SKIP("model not loaded (run scripts/fetch-model.sh)");
    char path[1024], err[256];
    test_data_path("use-lite/golden.json", path, sizeof path);
    size_t len;
    char *text = util_read_file(path, &len, err, sizeof err);
    CHECK(text != NULL, "%s", err);
    if (!text) return;
    cJSON *g = cJSON_Parse(text);
    free(text);
    const cJSON *texts = cJSON_GetObjectItem(g, "texts"),
                *tok = cJSON_GetObjectItem(g, "token_ids"),
                *emb = cJSON_GetObjectItem(g, "embeddings");
    int n = cJSON_GetArraySize(texts);
    CHECK(n >= 7, "golden.json has %d texts", n);
    use_lite_state *us = use_lite_state_new(NULL);
    /* every kernel implementation this CPU has must match */
    static const char *const kernels[] = {"generic", "avx2", "avx512", "openblas"};
    const char *dflt = kernel_name();
    for (int kk = 0; kk < 4; kk++) {
        if (kernel_select(kernels[kk])) continue;
        double worst = 0;
        for (int i = 0; i < n; i++) {
            const char *s = cJSON_GetArrayItem(texts, i)->valuestring;
            const cJSON *want = cJSON_GetArrayItem(tok, i);
            int ids[USE_LITE_MAX_TOKENS];
            int count = use_lite_tokenize(embed_test_use_lite(model), us, s, strlen(s), ids,
                                          USE_LITE_MAX_TOKENS);
            CHECK_EQ_INT(count, cJSON_GetArraySize(want));
            for (int k = 0; k < count && k < USE_LITE_MAX_TOKENS; k++)
                if (ids[k] != cJSON_GetArrayItem(want, k)->valueint) {
                    CHECK(0, "text %d token %d: %d != %d", i, k, ids[k],
                          cJSON_GetArrayItem(want, k)->valueint);
                    break;
                }
            float v[512];
            int nt;
            CHECK(embed_str(s, v, &nt) == 0, "text %d", i);
            const cJSON *we = cJSON_GetArrayItem(emb, i);
            CHECK_EQ_INT(cJSON_GetArraySize(we), 512);
            double maxd = 0;
            for (int k = 0; k < 512; k++) {
                double d = fabs(v[k] - cJSON_GetArrayItem(we, k)->valuedouble);
                if (d > maxd) maxd = d;
            }
            CHECK(maxd <= 1e-5, "%s: text %d (%.30s): max-abs %g", kernels[kk], i, s, maxd);
            if (maxd > worst) worst = maxd;
        }
        printf("# kernel %s: worst max-abs vs TF.js %.3g over %d texts\n", kernels[kk], worst, n);
    }
    kernel_select(dflt);
    use_lite_state_free(us);
    cJSON_Delete(g);
}

/* Values computed by the numpy reference (reference.py, see tests/data/README.md)
 * on this model. */
static void matches_reference_values(void)
{
    if (!model) SKIP("model not loaded (run scripts/fetch-model.sh)");
    static const struct {
        const char *text;
        int n_ids, ids[12];
        float head[6], at100[3];
    } ref[] = {
        {"How do I reset my password?",
         8,
         {728, 64, 16, 137, 1383, 69, 5969, 54},
         {-0.0484591f, -0.0545726f, 0.0402263f, -0.0539382f, 0.0543737f, -0.0544703f},
         {0.0506421f, -0.0508856f, -0.0520862f}},
        {"café naïve \xef\xac\x81 \xe2\x80\x94 \xe6\x97\xa5\xe6\x9c\xac",
         10,
         {976, 209, 1133, 1216, 0, 105, 1480, 405, 30, 0},
         {-0.0260248f, -0.0163886f, -0.0375499f, 0.0210678f, -0.0586521f, -0.0520134f},
         {-0.0607991f, -0.0559162f, -0.0094604f}},
        {"   ",
         4,
         {30, 30, 30, 30},
         {0.022254f, -0.0506083f, 0.0505262f, 0.0504327f, 0.0503544f, -0.0497723f},
         {-0.0502545f, 0.0473552f, -0.0495613f}},
        {"emoji \xf0\x9f\x98\x80\xf0\x9f\x98\x80 end",
         6,
         {299, 451, 2501, 30, 0, 324},
         {0.0283437f, -0.0569887f, 0.0353098f, 0.0399236f, -0.0379616f, -0.0527909f},
         {-0.0553338f, 0.0540912f, 0.0502971f}},
    };
    use_lite_state *us = use_lite_state_new(NULL);
    for (size_t i = 0; i < sizeof ref / sizeof ref[0]; i++) {
        int ids[USE_LITE_MAX_TOKENS];
        int n = use_lite_tokenize(embed_test_use_lite(model), us, ref[i].text, strlen(ref[i].text),
                                  ids, USE_LITE_MAX_TOKENS);
        CHECK_EQ_INT(n, ref[i].n_ids);
        for (int k = 0; k < n && k < ref[i].n_ids; k++)
            CHECK_EQ_INT(ids[k], ref[i].ids[k]);
        float v[512];
        int nt = -1;
        CHECK(embed_str(ref[i].text, v, &nt) == 0, "embed");
        CHECK_EQ_INT(nt, ref[i].n_ids);
        for (int k = 0; k < 6; k++)
            CHECK_NEAR(v[k], ref[i].head[k], 1e-5);
        for (int k = 0; k < 3; k++)
            CHECK_NEAR(v[100 + k], ref[i].at100[k], 1e-5);
    }
    use_lite_state_free(us);
    float a[512], b[512];
    embed_str("How do I reset my password?", a, NULL);
    embed_str("I forgot my password, how can I change it?", b, NULL);
    CHECK_NEAR(dot(a, b, 512), 0.9162817, 1e-5);
}

static int finite_unit(const float *v)
{
    double ss = 0;
    for (int i = 0; i < 512; i++) {
        if (!isfinite(v[i])) return 0;
        ss += (double)v[i] * v[i];
    }
    return fabs(ss - 1.0) < 1e-4;
}

static void edge_cases_have_defined_results(void)
{
    if (!model) SKIP("model not loaded");
    float v[512], w[512];
    int n = -1;
    char err[256];
    /* empty: no tokens; the vector of "nothing", the same every time */
    CHECK(embed_text(model, state, "", 0, v, &n, err, sizeof err) == 0, "%s", err);
    CHECK_EQ_INT(n, 0);
    CHECK(finite_unit(v), "empty not a unit vector");
    CHECK(embed_text(model, state, NULL, 0, w, &n, err, sizeof err) == 0, "%s", err);
    CHECK(memcmp(v, w, sizeof v) == 0, "empty text not deterministic");
    /* whitespace only: U+2581 pieces, a real embedding */
    CHECK(embed_str(" \t\n ", v, &n) == 0, "ws");
    CHECK(n > 0 && finite_unit(v), "whitespace n=%d", n);
    /* invalid UTF-8 becomes U+FFFD (unknown id 0), never rejected */
    const char bad[] = "ab\xff\xfe\xc3 caf\xc3\xa9 \xed\xa0\x80 \xf4\x90\x80\x80 end";
    int ids[128];
    use_lite_state *us = use_lite_state_new(NULL);
    int nt = use_lite_tokenize(embed_test_use_lite(model), us, bad, sizeof bad - 1, ids, 128);
    CHECK(nt > 0, "nt=%d", nt);
    int unk = 0;
    for (int i = 0; i < nt && i < 128; i++)
        unk += ids[i] == 0;
    CHECK(unk >= 1, "no unknown id for invalid bytes");
    CHECK(embed_text(model, state, bad, sizeof bad - 1, v, &n, err, sizeof err) == 0, "%s", err);
    CHECK(finite_unit(v), "invalid utf8");
    /* the same as writing U+FFFD explicitly for a lone bad byte */
    CHECK(embed_str("x\xff y", v, NULL) == 0 && embed_str("x\xef\xbf\xbd y", w, NULL) == 0, "fffd");
    CHECK(dot(v, w, 512) > 0.99999f, "lone 0xff differs from U+FFFD");
    /* emoji and CJK */
    CHECK(embed_str("\xf0\x9f\x98\x80\xf0\x9f\x8e\x89\xf0\x9f\x91\x8d", v, &n) == 0, "emoji");
    CHECK(n >= 1 && finite_unit(v), "emoji n=%d", n);
    CHECK(embed_str("\xe4\xbd\xa0\xe5\xa5\xbd\xef\xbc\x8c\xe4\xb8\x96\xe7\x95\x8c", v, &n) == 0,
          "cjk");
    CHECK(n >= 1 && finite_unit(v), "cjk n=%d", n);
    /* NUL bytes inside the text are characters like any other */
    CHECK(embed_text(model, state, "a\0b", 3, v, &n, err, sizeof err) == 0 && finite_unit(v),
          "nul");
    /* 10 MB: bounded work, reported as longer than the window, first tokens exact */
    size_t big = 10u << 20;
    char *t = malloc(big);
    for (size_t i = 0; i < big; i++)
        t[i] = "hello world, this is long. "[i % 27];
    n = 0;
    CHECK(embed_text(model, state, t, big, v, &n, err, sizeof err) == 0, "%s", err);
    CHECK(n > embed_max_tokens(model), "10 MB text reported %d tokens", n);
    CHECK(finite_unit(v), "10MB");
    /* truncation: the vector equals that of a text cut after its 128th token */
    int full = use_lite_tokenize(embed_test_use_lite(model), us, t, 4000, ids, 128);
    CHECK(full > 128, "full=%d", full);
    CHECK(embed_text(model, state, t, 4000, w, NULL, err, sizeof err) == 0, "%s", err);
    CHECK(dot(v, w, 512) > 0.99999f, "10 MB and 4000-byte prefixes differ");
    memset(t, 0xff, 1 << 20); /* 1 MB of invalid bytes: one merged unknown run */
    CHECK(embed_text(model, state, t, 1 << 20, v, &n, err, sizeof err) == 0 && finite_unit(v),
          "1MB invalid");
    free(t);
    use_lite_state_free(us);
}

/* A paraphrase scores above a question of the same template that means
 * something else. */
static void paraphrase_beats_same_template(void)
{
    if (!model) SKIP("model not loaded");
    static const char *const cases[][3] = {
        {"How do I reset my password?", "I forgot my password, how can I change it?",
         "How do I reset my router?"},
        {"What is the capital of France?", "Which city is the capital of France?",
         "What is the capital of Japan?"},
        {"How can I lose weight fast?", "What is the quickest way to lose weight?",
         "How can I gain weight fast?"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        float a[512], p[512], o[512];
        embed_str(cases[i][0], a, NULL);
        embed_str(cases[i][1], p, NULL);
        embed_str(cases[i][2], o, NULL);
        CHECK(dot(a, p, 512) > dot(a, o, 512), "case %zu: paraphrase %.4f <= other %.4f", i,
              dot(a, p, 512), dot(a, o, 512));
    }
}

static void batch_equals_single(void)
{
    if (!model) SKIP("model not loaded");
    const char *texts[] = {"first text", "", "the third one, a bit longer than the others",
                           "\xe6\x97\xa5\xe6\x9c\xac"};
    size_t lens[4];
    for (int i = 0; i < 4; i++)
        lens[i] = strlen(texts[i]);
    float out[4 * 512], v[512];
    char err[256];
    CHECK(embed_batch(model, state, texts, lens, 4, out, err, sizeof err) == 0, "%s", err);
    for (int i = 0; i < 4; i++) {
        embed_str(texts[i], v, NULL);
        CHECK(memcmp(v, out + i * 512, sizeof v) == 0, "batch row %d differs", i);
    }
}

/* Many texts of mixed lengths (empty, over the window) fill several chunks of
 * the batched encoder; every row must equal the single-text vector bit for bit. */
static void big_batch_equals_single(void)
{
    if (!model) SKIP("model not loaded");
    enum { N = 150 };
    static char store[N][2200];
    const char *texts[N];
    size_t lens[N];
    for (int i = 0; i < N; i++) {
        int words = i % 7 == 0 ? 0 : i % 11 == 0 ? 300 : 1 + (i * 37) % 60;
        size_t at = 0;
        for (int w = 0; w < words && at + 8 < sizeof store[i]; w++)
            at += (size_t)snprintf(
                store[i] + at, sizeof store[i] - at, "%s%s", w ? " " : "",
                (const char *[]){"cache", "router", "why", "model", "x", "é"}[(i + w) % 6]);
        store[i][at] = 0;
        texts[i] = store[i];
        lens[i] = at;
    }
    float *out = malloc(sizeof(float) * 512 * N), v[512];
    char err[256];
    CHECK(embed_batch(model, state, texts, lens, N, out, err, sizeof err) == 0, "%s", err);
    int bad = 0;
    for (int i = 0; i < N; i++) {
        embed_text(model, state, texts[i], lens[i], v, NULL, err, sizeof err);
        if (memcmp(v, out + (size_t)i * 512, sizeof v)) bad++;
    }
    CHECK_EQ_INT(bad, 0);
    free(out);
}

typedef struct {
    float v[8][512];
} thread_out;
static const char *const thread_texts[8] = {"alpha",
                                            "How do I reset my password?",
                                            "bravo charlie delta",
                                            "x",
                                            "What is the capital of France?",
                                            "zulu",
                                            "a somewhat longer sentence about routers",
                                            "end"};

static void *thread_run(void *arg)
{
    thread_out *o = arg;
    embed_state *s = embed_state_new(model);
    char err[256];
    for (int r = 0; r < 20; r++)
        for (int i = 0; i < 8; i++)
            embed_text(model, s, thread_texts[i], strlen(thread_texts[i]), o->v[i], NULL, err,
                       sizeof err);
    embed_state_free(s);
    return NULL;
}

static void threads_share_one_model(void)
{
    if (!model) SKIP("model not loaded");
    static thread_out outs[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, thread_run, &outs[i]);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 8; i++) {
        float v[512];
        embed_str(thread_texts[i], v, NULL);
        for (int t = 0; t < 3; t++)
            CHECK(memcmp(v, outs[t].v[i], sizeof v) == 0, "thread %d text %d differs", t, i);
    }
}

/* The tiled kernels against a plain triple loop, over awkward sizes. */
static void kernels_match_naive_matmul(void)
{
    static const char *const names[] = {"generic", "avx2", "avx512"};
    const char *dflt = kernel_name();
    unsigned seed = 12345;
    for (int kk = 0; kk < 3; kk++) {
        if (kernel_select(names[kk])) continue;
        static const int dims[][3] = {{1, 7, 32},   {5, 33, 64}, {8, 16, 96},  {13, 50, 32},
                                      {17, 3, 128}, {9, 40, 20}, {128, 64, 64}};
        for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++) {
            int T = dims[d][0], K = dims[d][1], N = dims[d][2];
            float *x = malloc(sizeof(float) * T * K), *w = malloc(sizeof(float) * K * N);
            float *b = malloc(sizeof(float) * N), *y = malloc(sizeof(float) * T * N);
            for (int i = 0; i < T * K; i++)
                x[i] = (float)((seed = seed * 1103515245 + 12345) % 2001) / 1000 - 1;
            for (int i = 0; i < K * N; i++)
                w[i] = (float)((seed = seed * 1103515245 + 12345) % 2001) / 1000 - 1;
            for (int i = 0; i < N; i++)
                b[i] = (float)i / 10;
            kernel_matrix m;
            CHECK(kernel_matrix_init(&m, w, K, N) == 0, "init");
            for (int i = 0; i < T * N; i++)
                y[i] = 1.0f;
            kernel_matmul(y, x, &m, b, T, 1, NULL);
            double maxd = 0;
            for (int t = 0; t < T; t++)
                for (int n = 0; n < N; n++) {
                    double r = 1.0 + b[n];
                    for (int k = 0; k < K; k++)
                        r += (double)x[t * K + k] * w[k * N + n];
                    double dd = fabs(r - y[t * N + n]);
                    if (dd > maxd) maxd = dd;
                }
            CHECK(maxd < 1e-4, "%s T=%d K=%d N=%d: max diff %g", names[kk], T, K, N, maxd);
            CHECK_NEAR(kernel_dot(x, x, T * K) / (T * K), 0, 1.0);
            kernel_matrix_free(&m);
            free(x), free(w), free(b), free(y);
        }
    }
    kernel_select(dflt);
}

/* bf16 matrices: every kernel against a double-precision loop over the same
 * bf16-rounded inputs and weights (products are exact, so only float32
 * accumulation separates them); the portable and AVX2 kernels give the same
 * bits (same products, same order). */
static void bf16_kernels_match_reference(void)
{
    static const char *const names[] = {"generic", "avx2", "avx512", "openblas"};
    const char *dflt = kernel_name();
    static const int dims[][3] = {{1, 8, 32}, {5, 34, 64}, {16, 256, 48}, {17, 6, 16},
                                  {23, 512, 32}, {3, 40, 20}, {64, 96, 64}};
    enum { ND = sizeof dims / sizeof dims[0] };
    float *gen[ND] = {0};
    unsigned seed = 777;
    for (int kk = 0; kk < 4; kk++) {
        if (kernel_select(names[kk])) continue;
        for (int d = 0; d < ND; d++) {
            int T = dims[d][0], K = dims[d][1], N = dims[d][2];
            float *x = malloc(sizeof(float) * T * K), *w = malloc(sizeof(float) * K * N);
            float *b = malloc(sizeof(float) * N), *y = malloc(sizeof(float) * T * N);
            uint16_t *xq = malloc(sizeof(uint16_t) * T * K);
            seed = 777u + (unsigned)d; /* the same data for every kernel */
            for (int i = 0; i < T * K; i++)
                x[i] = (float)((seed = seed * 1103515245 + 12345) % 20001) / 7000.0f - 1.4f;
            for (int i = 0; i < K * N; i++)
                w[i] = (float)((seed = seed * 1103515245 + 12345) % 20001) / 9000.0f - 1.1f;
            for (int i = 0; i < N; i++)
                b[i] = (float)i / 7;
            kernel_matrix m;
            CHECK(kernel_matrix_init_prec(&m, w, K, N, KERNEL_BF16) == 0, "init");
            CHECK_EQ_INT((int)kernel_matrix_precision(&m),
                         (int)(N % KERNEL_STRIP == 0 && K % 2 == 0 ? KERNEL_BF16 : KERNEL_F32));
            for (int i = 0; i < T * N; i++)
                y[i] = 0.5f;
            kernel_matmul(y, x, &m, b, T, 1, xq);
            int bf = kernel_matrix_precision(&m) == KERNEL_BF16;
            double maxrel = 0;
            for (int t = 0; t < T; t++)
                for (int n = 0; n < N; n++) {
                    double r = 0.5 + b[n], mag = fabs(0.5 + b[n]);
                    for (int k = 0; k < K; k++) {
                        double xv = bf ? kernel_bf16_to_f32(kernel_f32_to_bf16(x[t * K + k]))
                                       : x[t * K + k];
                        double wv = bf ? kernel_bf16_to_f32(kernel_f32_to_bf16(w[k * N + n]))
                                       : w[k * N + n];
                        r += xv * wv;
                        mag += fabs(xv * wv);
                    }
                    double rel = fabs(r - y[t * N + n]) / mag;
                    if (rel > maxrel) maxrel = rel;
                }
            /* float32 accumulation of K terms: a few ulps of the magnitude sum */
            CHECK(maxrel < 1e-6 * (1 + K / 64), "%s T=%d K=%d N=%d: rel err %g", names[kk], T, K,
                  N, maxrel);
            if (!strcmp(names[kk], "generic")) {
                gen[d] = y;
                y = NULL;
            } else if (!strcmp(names[kk], "avx2") && gen[d]) {
                CHECK(memcmp(gen[d], y, sizeof(float) * T * N) == 0,
                      "avx2 bf16 T=%d K=%d N=%d differs from the portable kernel", T, K, N);
            }
            kernel_matrix_free(&m);
            free(x), free(w), free(b), free(y), free(xq);
        }
    }
    for (int d = 0; d < ND; d++)
        free(gen[d]);
    kernel_select(dflt);
}

/* The conversions: round to nearest even, ties to even, NaN kept, infinities
 * and signed zero exact. */
static void bf16_conversion_rounds_to_nearest_even(void)
{
    CHECK_EQ_INT(kernel_f32_to_bf16(1.0f), 0x3f80);
    CHECK_EQ_INT(kernel_f32_to_bf16(-0.0f), 0x8000);
    CHECK_EQ_INT(kernel_f32_to_bf16(INFINITY), 0x7f80);
    uint32_t u = 0x3f808000u; /* exactly halfway between 0x3f80 and 0x3f81: to even */
    float f;
    memcpy(&f, &u, 4);
    CHECK_EQ_INT(kernel_f32_to_bf16(f), 0x3f80);
    u = 0x3f818000u; /* halfway between 0x3f81 and 0x3f82: to even (up) */
    memcpy(&f, &u, 4);
    CHECK_EQ_INT(kernel_f32_to_bf16(f), 0x3f82);
    u = 0x3f808001u; /* just above halfway: up */
    memcpy(&f, &u, 4);
    CHECK_EQ_INT(kernel_f32_to_bf16(f), 0x3f81);
    CHECK(isnan(kernel_bf16_to_f32(kernel_f32_to_bf16(NAN))), "NaN kept");
    u = 0x7f7fffffu; /* FLT_MAX rounds up to infinity */
    memcpy(&f, &u, 4);
    CHECK_EQ_INT(kernel_f32_to_bf16(f), 0x7f80);
    CHECK(kernel_bf16_to_f32(0x4049) == 3.140625f, "bf16 0x4049 = %g",
          (double)kernel_bf16_to_f32(0x4049));
}

/* The bf16 encoder against the f32 one on varied texts: each vector's cosine
 * to f32's stays above the floor (measured worst over these texts and
 * bench/embed_texts.txt: 0.99995), under every kernel; batching keeps bits;
 * the model id and window are f32's (same vector space). */
static void bf16_encoder_close_to_f32(void)
{
    if (!model) SKIP("model not loaded (run scripts/fetch-model.sh)");
    static const char *const texts[] = {
        "How do I reset my password?",
        "\xe2\x80\x9cSmart quotes\xe2\x80\x9d and \xe2\x80\x98single ones\xe2\x80\x99 \xe2\x80\x94 "
        "with an em dash\xe2\x80\xa6",
        "emoji \xf0\x9f\x98\x80\xf0\x9f\x8e\x89 party \xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd ok",
        "Mixed scripts: \xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 \xe4\xb8\x96\xe7\x95\x8c "
        "\xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7 \xce\xb3\xce\xb5\xce\xb9\xce\xb1 hello",
        "caf\xc3\xa9 na\xc3\xafve \xef\xac\x81 \xe2\x80\x94 \xe6\x97\xa5\xe6\x9c\xac",
        "SELECT * FROM users WHERE id = 42; -- what does this SQL do?",
        "x",
        "   ",
        "",
        "Write a Python function that returns the n-th Fibonacci number using memoization, "
        "explain its time complexity, compare it to the iterative version and to the closed "
        "form with the golden ratio, and discuss integer overflow in languages with fixed-width "
        "integers such as C, Java and Go; then give three test cases including n = 0, n = 1 "
        "and a large n, and say how you would benchmark the two versions fairly on a laptop.",
    };
    enum { N = sizeof texts / sizeof texts[0] };
    embed_options o = {.type = EMBED_USE_LITE, .path = model_dir, .precision = EMBED_BF16};
    char err[256];
    embed_model *mb = embed_load(&o, err, sizeof err);
    CHECK(mb != NULL, "%s", err);
    if (!mb) return;
    CHECK_EQ_INT((int)embed_model_precision(mb), (int)EMBED_BF16);
    CHECK_EQ_INT((int)embed_model_precision(model), (int)EMBED_F32);
    CHECK_STR(embed_model_id(mb), embed_model_id(model));
    CHECK_EQ_INT(embed_max_tokens(mb), embed_max_tokens(model));
    embed_state *sb = embed_state_new(mb);
    static const char *const kernels[] = {"generic", "avx2", "avx512"};
    const char *dflt = kernel_name();
    static float ref[N][512], one[N][512], batch[N][512];
    for (int i = 0; i < N; i++)
        CHECK(embed_str(texts[i], ref[i], NULL) == 0, "f32 text %d", i);
    for (int kk = 0; kk < 3; kk++) {
        if (kernel_select(kernels[kk])) continue;
        double worst = 1;
        for (int i = 0; i < N; i++) {
            int nt = -1, nt_ref = -2;
            CHECK(embed_text(mb, sb, texts[i], strlen(texts[i]), one[i], &nt, err, sizeof err) == 0,
                  "bf16 text %d: %s", i, err);
            float tmp[512];
            embed_str(texts[i], tmp, &nt_ref);
            CHECK_EQ_INT(nt, nt_ref);
            double c = dot(one[i], ref[i], 512), n2 = dot(one[i], one[i], 512);
            CHECK(fabs(n2 - 1) < 1e-4, "%s text %d: |v|^2 = %g", kernels[kk], i, n2);
            CHECK(c >= 0.9995, "%s text %d (%.30s): cosine to f32 %.6f", kernels[kk], i,
                  texts[i], c);
            if (c < worst) worst = c;
            /* still a real embedding: far from an unrelated text's */
            CHECK(c > dot(one[i], ref[(i + 1) % N], 512) + 0.05, "%s text %d", kernels[kk], i);
        }
        size_t lens[N];
        for (int i = 0; i < N; i++)
            lens[i] = strlen(texts[i]);
        CHECK(embed_batch(mb, sb, texts, lens, N, &batch[0][0], err, sizeof err) == 0, "%s", err);
        CHECK(memcmp(batch, one, sizeof one) == 0, "%s: bf16 batch differs from single",
              kernels[kk]);
        printf("# kernel %s: bf16 worst cosine to f32 %.6f over %d texts\n", kernels[kk], worst, N);
    }
    kernel_select(dflt);
    embed_state_free(sb);
    embed_free(mb);
}

/* ---- loader fuzz: truncated and garbled model folders ---- */

static char tmpdir[256];

static int copy_file(const char *from, const char *to, long keep, long flip_at)
{
    size_t n;
    char err[256];
    char *d = util_read_file(from, &n, err, sizeof err);
    if (!d) return -1;
    if (keep >= 0 && (size_t)keep < n) n = (size_t)keep;
    if (flip_at >= 0 && (size_t)flip_at < n) d[flip_at] ^= 0x5a;
    FILE *f = fopen(to, "wb");
    if (!f) {
        free(d);
        return -1;
    }
    fwrite(d, 1, n, f);
    fclose(f);
    free(d);
    return 0;
}

/* Rebuilds tmpdir as a copy of the model (shards symlinked unless named). */
static void stage(const char *alter, long keep, long flip_at)
{
    static const char *files[] = {"model.json",       "vocab.json",       "group1-shard1of7",
                                  "group1-shard2of7", "group1-shard3of7", "group1-shard4of7",
                                  "group1-shard5of7", "group1-shard6of7", "group1-shard7of7"};
    char from[2048], to[2048];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(from, sizeof from, "%s/%s", model_dir, files[i]);
        snprintf(to, sizeof to, "%s/%s", tmpdir, files[i]);
        unlink(to);
        if (alter && !strcmp(alter, files[i])) {
            if (keep != -2) copy_file(from, to, keep, flip_at); /* -2: leave it missing */
        } else if (!strncmp(files[i], "group", 5)) {
            if (symlink(from, to)) perror("symlink");
        } else {
            copy_file(from, to, -1, -1);
        }
    }
}

static int try_load(char *err, size_t errlen)
{
    embed_options o = {.type = EMBED_USE_LITE, .path = tmpdir};
    embed_model *m = embed_load(&o, err, errlen);
    if (!m) return -1;
    embed_free(m);
    return 0;
}

static void loader_rejects_damaged_models(void)
{
    if (!model) SKIP("model not loaded");
    snprintf(tmpdir, sizeof tmpdir, "/tmp/semrouter-embed-fuzz-XXXXXX");
    CHECK(mkdtemp(tmpdir) != NULL, "mkdtemp");
    char err[256];
    stage(NULL, -1, -1);
    CHECK(try_load(err, sizeof err) == 0, "intact copy fails: %s", err);
    stage("group1-shard7of7", 2737831, -1);
    CHECK(try_load(err, sizeof err) == -1 && strstr(err, "bytes"), "short shard: %s", err);
    stage("group1-shard3of7", 1000, -1);
    CHECK(try_load(err, sizeof err) == -1, "truncated middle shard loaded");
    stage("group1-shard2of7", -2, -1);
    CHECK(try_load(err, sizeof err) == -1 && strstr(err, "shard2"), "missing shard: %s", err);
    stage("model.json", 100000, -1);
    CHECK(try_load(err, sizeof err) == -1 && strstr(err, "JSON"), "cut model.json: %s", err);
    stage("vocab.json", 5000, -1);
    CHECK(try_load(err, sizeof err) == -1 && strstr(err, "vocab"), "cut vocab.json: %s", err);
    stage("model.json", 0, -1);
    CHECK(try_load(err, sizeof err) == -1, "empty model.json loaded");
    /* garbled bytes anywhere in the manifest: an error or a load, never a crash */
    size_t mlen = 0;
    char mpath[1100];
    snprintf(mpath, sizeof mpath, "%s/model.json", model_dir);
    free(util_read_file(mpath, &mlen, err, sizeof err));
    unsigned seed = 7;
    int rejected = 0;
    for (int i = 0; i < 16; i++) {
        seed = seed * 1103515245 + 12345;
        /* most of model.json is the topology; aim half the flips at the manifest */
        long at = (long)((seed >> 8) % mlen);
        if (i % 2) at = (long)(mlen - 1 - (seed >> 8) % 20000);
        stage("model.json", -1, at);
        rejected += try_load(err, sizeof err) == -1;
    }
    printf("# garbled model.json: %d of 16 rejected, the rest loaded\n", rejected);
    CHECK(rejected > 0, "no garbled manifest was rejected");
    /* garbled shard bytes are just different weights: loads, embeds finite numbers */
    stage("group1-shard1of7", -1, 12345);
    CHECK(try_load(err, sizeof err) == 0, "flipped shard byte: %s", err);
    stage("vocab.json", -1, 0);
    CHECK(try_load(err, sizeof err) == -1, "garbled vocab.json loaded");
    /* clean up */
    stage("vocab.json", -2, -1);
    char p[512];
    static const char *files[] = {"model.json",       "vocab.json",       "group1-shard1of7",
                                  "group1-shard2of7", "group1-shard3of7", "group1-shard4of7",
                                  "group1-shard5of7", "group1-shard6of7", "group1-shard7of7"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", tmpdir, files[i]);
        unlink(p);
    }
    rmdir(tmpdir);
    embed_options o = {.type = EMBED_USE_LITE, .path = "/nonexistent/model"};
    CHECK(embed_load(&o, err, sizeof err) == NULL && strstr(err, "model.json"), "%s", err);
}

/* `semrouter embed --sim` prints the reference similarity (stdout captured). */
static void cli_sim_matches_reference(void)
{
    if (!model) SKIP("model not loaded");
    char out[] = "/tmp/semrouter-embed-cli-XXXXXX";
    int fd = mkstemp(out);
    CHECK(fd >= 0, "mkstemp");
    fflush(stdout);
    int saved = dup(1);
    dup2(fd, 1);
    char *argv[] = {"embed",
                    "-m",
                    model_dir,
                    "--sim",
                    "How do I reset my password?",
                    "I forgot my password, how can I change it?",
                    NULL};
    int rc = cli_embed(6, argv);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    char line[64] = "";
    lseek(fd, 0, SEEK_SET);
    ssize_t n = read(fd, line, sizeof line - 1);
    line[n > 0 ? n : 0] = 0;
    close(fd);
    unlink(out);
    CHECK_EQ_INT(rc, 0);
    CHECK_NEAR(atof(line), 0.9162817, 1e-4);
    char *bad[] = {"embed", "--sim", "only one", NULL};
    int saved_err = dup(2), devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 2);
    rc = cli_embed(3, bad);
    dup2(saved_err, 2);
    close(saved_err);
    close(devnull);
    CHECK_EQ_INT(rc, 2);
}

int main(void)
{
    load_model();
    RUN(matches_reference_values);
    RUN(golden_matches_tfjs);
    RUN(edge_cases_have_defined_results);
    RUN(paraphrase_beats_same_template);
    RUN(batch_equals_single);
    RUN(big_batch_equals_single);
    RUN(threads_share_one_model);
    RUN(kernels_match_naive_matmul);
    RUN(bf16_kernels_match_reference);
    RUN(bf16_conversion_rounds_to_nearest_even);
    RUN(bf16_encoder_close_to_f32);
    RUN(loader_rejects_damaged_models);
    RUN(cli_sim_matches_reference);
    embed_state_free(state);
    embed_free(model);
    TEST_MAIN_END();
}
