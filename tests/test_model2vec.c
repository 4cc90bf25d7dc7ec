/* Tests for src/embed/model2vec.c: the vocab-quantized Unigram fixture (tests/data/model2vec-fixture)
 * against expected_embeddings.json, an in-repo plain-layout WordPiece fixture
 * (tests/data/m2v-wordpiece, values from the numpy reference), edge cases and
 * damaged files. */
#include "core/util.h"
#include "embed/embed.h"
#include "test.h"
#include <cjson/cJSON.h>
#include <unistd.h>

static const char *root_dir(void)
{
    const char *r = getenv("SEMROUTER_ROOT");
    return r ? r : ".";
}

static embed_model *load(const char *dir, char *err, size_t errlen)
{
    embed_options o = {.type = EMBED_MODEL2VEC, .path = dir};
    return embed_load(&o, err, errlen);
}

static void fixture_matches_expected_embeddings(void)
{
    char dir[1024], path[1100], err[256];
    test_data_path("model2vec-fixture", dir, sizeof dir);
    embed_model *m = load(dir, err, sizeof err);
    CHECK(m != NULL, "%s", err);
    if (!m) return;
    CHECK_EQ_INT(embed_dim(m), 64);
    CHECK(!strncmp(embed_model_id(m), "model2vec-64:", 13), "id %s", embed_model_id(m));
    embed_state *s = embed_state_new(m);
    /* "hello" repeated 1000 times, joined by spaces */
    char *text = malloc(6000);
    size_t n = 0;
    for (int i = 0; i < 1000; i++) {
        if (i) text[n++] = ' ';
        memcpy(text + n, "hello", 5), n += 5;
    }
    float v[64];
    int nt = 0;
    CHECK(embed_text(m, s, text, n, v, &nt, err, sizeof err) == 0, "%s", err);
    CHECK_EQ_INT(nt, 1000);
    free(text);
    snprintf(path, sizeof path, "%s/expected_embeddings.json", dir);
    size_t len;
    char *js = util_read_file(path, &len, err, sizeof err);
    cJSON *e = cJSON_Parse(js);
    free(js);
    const cJSON *row = cJSON_GetArrayItem(e, 0);
    CHECK_EQ_INT(cJSON_GetArraySize(row), 64);
    double maxd = 0;
    for (int i = 0; i < 64 && i < cJSON_GetArraySize(row); i++) {
        double d = fabs(v[i] - cJSON_GetArrayItem(row, i)->valuedouble);
        if (d > maxd) maxd = d;
    }
    CHECK(maxd <= 1e-5, "max-abs %g", maxd);
    printf("# fixture: max-abs vs expected_embeddings.json %.3g\n", maxd);
    cJSON_Delete(e);
    /* token ids from the reference (Unigram + Metaspace + Replace normalizers) */
    int ids[32];
    const char *t = "Hello, World! caf\xc3\xa9";
    CHECK_EQ_INT(embed_tokenize(m, s, t, strlen(t), ids, 32), 5);
    static const int want[] = {6594, 13, 1091, 2, 23691};
    for (int i = 0; i < 5; i++)
        CHECK_EQ_INT(ids[i], want[i]);
    t = "  na\xc3\xafve  r\xc3\xa9sum\xc3\xa9  \xc2\xbd x\xc2\xb2  "
        "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e ";
    static const int want2[] = {5585, 2728, 57, 16423, 95, 63, 9703, 867, 29404, 29478};
    CHECK_EQ_INT(embed_tokenize(m, s, t, strlen(t), ids, 32), 10);
    for (int i = 0; i < 10; i++)
        CHECK_EQ_INT(ids[i], want2[i]);
    /* cosine from the reference run: cos("hello world", "Hello, World! café") = 0.6145 */
    float a[64], b[64];
    embed_text(m, s, "hello world", 11, a, NULL, err, sizeof err);
    embed_text(m, s, "Hello, World! caf\xc3\xa9", 19, b, NULL, err, sizeof err);
    double c = 0;
    for (int i = 0; i < 64; i++)
        c += (double)a[i] * b[i];
    CHECK_NEAR(c, 0.6145, 1e-4);
    /* edge cases: empty, invalid UTF-8, 10 MB */
    CHECK(embed_text(m, s, "", 0, v, &nt, err, sizeof err) == 0 && nt == 0, "empty");
    CHECK(embed_text(m, s, "\xff\xfe hello \xc3", 10, v, &nt, err, sizeof err) == 0 && nt >= 1,
          "invalid utf8 nt=%d", nt);
    size_t big = 10u << 20;
    char *huge = malloc(big);
    for (size_t i = 0; i < big; i++)
        huge[i] = "hello world "[i % 12];
    CHECK(embed_text(m, s, huge, big, v, &nt, err, sizeof err) == 0, "%s", err);
    CHECK(nt > 100000, "10 MB gave %d tokens", nt);
    free(huge);
    embed_state_free(s);
    embed_free(m);
}

static void wordpiece_plain_layout(void)
{
    char dir[1024], err[256];
    snprintf(dir, sizeof dir, "%s/tests/data/m2v-wordpiece", root_dir());
    embed_model *m = load(dir, err, sizeof err);
    CHECK(m != NULL, "%s", err);
    if (!m) return;
    CHECK_EQ_INT(embed_dim(m), 8);
    CHECK_EQ_INT(embed_max_tokens(m), 0);
    embed_state *s = embed_state_new(m);
    /* from tests/data/make_m2v_wordpiece.py run against the numpy reference */
    static const struct {
        const char *text;
        int n, ids[8];
        float v[8];
    } ref[] = {
        {"Hello, worlds!",
         5,
         {3, 9, 4, 5, 10},
         {-0.438518f, -0.3647079f, -0.2934366f, -0.1919498f, 0.2060554f, -0.5561399f, -0.4149127f,
          0.1668453f}},
        {"The cats running quickly",
         5,
         {11, 6, 5, 28, 27},
         {0.0625151f, 0.6033562f, -0.4457523f, -0.5011576f, -0.013847f, -0.3390352f, -0.1493986f,
          0.2115243f}},
        {"Unbelievable caf\xc3\xa9 na\xc3\xafve 42_\xe6\x97\xa5\xe6\x9c\xac?",
         7,
         {14, 15, 16, 12, 13, 18, 23},
         {-0.5782281f, -0.1495336f, 0.0022286f, -0.3402686f, 0.0130814f, -0.3815064f, -0.115561f,
          0.6069858f}},
        {"don't\tstop\xe2\x80\x8b the fox",
         5,
         {26, 24, 25, 11, 29},
         {0.4197222f, 0.1426707f, 0.6168528f, 0.3610706f, 0.3292056f, 0.2566877f, -0.277603f,
          -0.203152f}},
        {"zzz qqq", 0, {0}, {0, 0, 0, 0, 0, 0, 0, 0}},
    };
    for (size_t i = 0; i < sizeof ref / sizeof ref[0]; i++) {
        int ids[16];
        int n = embed_tokenize(m, s, ref[i].text, strlen(ref[i].text), ids, 16);
        CHECK_EQ_INT(n, ref[i].n);
        for (int k = 0; k < n && k < ref[i].n; k++)
            CHECK_EQ_INT(ids[k], ref[i].ids[k]);
        float v[8];
        CHECK(embed_text(m, s, ref[i].text, strlen(ref[i].text), v, NULL, err, sizeof err) == 0,
              "%s", err);
        for (int k = 0; k < 8; k++)
            CHECK_NEAR(v[k], ref[i].v[k], 1e-5);
    }
    embed_state_free(s);
    embed_free(m);
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(data, 1, n, f);
    fclose(f);
}

static void damaged_files_are_errors(void)
{
    char src[1024], tmp[] = "/tmp/semrouter-m2v-XXXXXX", p[1200], q[1200], err[256];
    snprintf(src, sizeof src, "%s/tests/data/m2v-wordpiece", root_dir());
    CHECK(mkdtemp(tmp) != NULL, "mkdtemp");
    size_t st_len, tok_len;
    snprintf(p, sizeof p, "%s/model.safetensors", src);
    char *st = util_read_file(p, &st_len, err, sizeof err);
    snprintf(p, sizeof p, "%s/tokenizer.json", src);
    char *tok = util_read_file(p, &tok_len, err, sizeof err);
    CHECK(st && tok, "fixture unreadable: %s", err);
    if (!st || !tok) return;
    snprintf(p, sizeof p, "%s/model.safetensors", tmp);
    snprintf(q, sizeof q, "%s/tokenizer.json", tmp);
    write_file(q, tok, tok_len);
    /* every truncation of the safetensors file is an error, never a crash */
    int loaded = 0;
    for (size_t cut = 0; cut < st_len; cut += 7) {
        write_file(p, st, cut);
        embed_model *m = load(tmp, err, sizeof err);
        loaded += m != NULL;
        embed_free(m);
    }
    CHECK_EQ_INT(loaded, 0);
    /* garbled header bytes: error or load, never a crash */
    for (size_t at = 8; at < 8 + 80 && at < st_len; at++) {
        st[at] ^= 0x21;
        write_file(p, st, st_len);
        embed_free(load(tmp, err, sizeof err));
        st[at] ^= 0x21;
    }
    write_file(p, st, st_len);
    embed_model *m = load(tmp, err, sizeof err);
    CHECK(m != NULL, "intact copy: %s", err);
    embed_free(m);
    write_file(q, tok, tok_len / 2);
    CHECK(load(tmp, err, sizeof err) == NULL && strstr(err, "tokenizer"), "%s", err);
    const char *bpe = "{\"model\":{\"type\":\"BPE\",\"vocab\":{}}}";
    write_file(q, bpe, strlen(bpe));
    CHECK(load(tmp, err, sizeof err) == NULL && strstr(err, "BPE"), "%s", err);
    const char *big_id = "{\"model\":{\"type\":\"WordPiece\",\"vocab\":{\"a\":999}}}";
    write_file(q, big_id, strlen(big_id));
    CHECK(load(tmp, err, sizeof err) == NULL && strstr(err, "outside"), "%s", err);
    unlink(p);
    unlink(q);
    rmdir(tmp);
    free(st);
    free(tok);
}

int main(void)
{
    RUN(fixture_matches_expected_embeddings);
    RUN(wordpiece_plain_layout);
    RUN(damaged_files_are_errors);
    TEST_MAIN_END();
}
