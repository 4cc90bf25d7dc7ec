/* Tests for src/api/embeddings.c: /v1/embeddings and /api/v1/similarity
 * handler bodies (status, OpenAI shapes, errors). */
#include "api/embeddings.h"
#include "test.h"
#include <cjson/cJSON.h>

static embed_model *use_lite, *m2v;
static embed_state *use_state, *m2v_state;

static embed_model *load(embed_type t, const char *sub)
{
    const char *root = getenv("SEMROUTER_ROOT");
    char dir[1024], err[256];
    snprintf(dir, sizeof dir, "%s/%s", root ? root : ".", sub);
    embed_options o = {.type = t, .path = dir};
    embed_model *m = embed_load(&o, err, sizeof err);
    if (!m) printf("# %s: %s\n", dir, err);
    return m;
}

static int call(int (*h)(const embed_model *, embed_state *, const char *, size_t, buf *),
                const embed_model *m, embed_state *s, const char *body, cJSON **json)
{
    buf out;
    buf_init(&out);
    int st = h(m, s, body, strlen(body), &out);
    *json = cJSON_Parse(out.data ? out.data : "");
    if (!*json) printf("# not JSON: %.200s\n", out.data ? out.data : "(null)");
    buf_free(&out);
    return st;
}

static int b64val(char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

static void embeddings_shape_and_values(void)
{
    if (!m2v) SKIP("fixture model not loaded");
    cJSON *j;
    int st = call(embeddings_api_handle, m2v, m2v_state,
                  "{\"model\":\"my-emb\",\"input\":[\"Hello, worlds!\",\"the cats\"]}", &j);
    CHECK_EQ_INT(st, 200);
    CHECK_STR(cJSON_GetObjectItem(j, "object")->valuestring, "list");
    CHECK_STR(cJSON_GetObjectItem(j, "model")->valuestring, "my-emb");
    const cJSON *data = cJSON_GetObjectItem(j, "data");
    CHECK_EQ_INT(cJSON_GetArraySize(data), 2);
    const cJSON *d0 = cJSON_GetArrayItem(data, 0);
    CHECK_STR(cJSON_GetObjectItem(d0, "object")->valuestring, "embedding");
    CHECK_EQ_INT(cJSON_GetObjectItem(cJSON_GetArrayItem(data, 1), "index")->valueint, 1);
    const cJSON *e = cJSON_GetObjectItem(d0, "embedding");
    CHECK_EQ_INT(cJSON_GetArraySize(e), 8);
    /* values from the numpy reference (see tests/test_model2vec.c) */
    CHECK_NEAR(cJSON_GetArrayItem(e, 0)->valuedouble, -0.438518, 1e-5);
    CHECK_NEAR(cJSON_GetArrayItem(e, 7)->valuedouble, 0.1668453, 1e-5);
    const cJSON *u = cJSON_GetObjectItem(j, "usage");
    CHECK_EQ_INT(cJSON_GetObjectItem(u, "prompt_tokens")->valueint, 5 + 3);
    CHECK_EQ_INT(cJSON_GetObjectItem(u, "total_tokens")->valueint, 8);
    float first = (float)cJSON_GetArrayItem(e, 0)->valuedouble;
    cJSON_Delete(j);
    /* base64: little-endian float32 bytes of the same vector */
    st = call(embeddings_api_handle, m2v, m2v_state,
              "{\"input\":\"Hello, worlds!\",\"encoding_format\":\"base64\"}", &j);
    CHECK_EQ_INT(st, 200);
    const char *b64 =
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "data"), 0), "embedding")
            ->valuestring;
    CHECK(b64 && strlen(b64) == 44, "base64 of 32 bytes is 44 chars: %s", b64 ? b64 : "");
    unsigned char bytes[33];
    int nb = 0;
    for (size_t i = 0; b64 && i + 4 <= strlen(b64); i += 4) {
        int q[4];
        for (int k = 0; k < 4; k++)
            q[k] = b64val(b64[i + k]);
        unsigned x = (unsigned)q[0] << 18 | (unsigned)q[1] << 12 |
                     (unsigned)(q[2] < 0 ? 0 : q[2]) << 6 | (unsigned)(q[3] < 0 ? 0 : q[3]);
        bytes[nb++] = (unsigned char)(x >> 16);
        if (q[2] >= 0) bytes[nb++] = (unsigned char)(x >> 8);
        if (q[3] >= 0) bytes[nb++] = (unsigned char)x;
    }
    CHECK_EQ_INT(nb, 32);
    float f0;
    memcpy(&f0, bytes, 4);
    CHECK(f0 == first, "%g != %g", (double)f0, (double)first);
    /* no model in the request: the model id is reported */
    CHECK(strncmp(cJSON_GetObjectItem(j, "model")->valuestring, "model2vec-8:", 12) == 0, "%s",
          cJSON_GetObjectItem(j, "model")->valuestring);
    cJSON_Delete(j);
}

static void embeddings_errors(void)
{
    if (!m2v) SKIP("fixture model not loaded");
    static const struct {
        const char *body, *param;
        int status;
    } cases[] = {
        {"", NULL, 400},
        {"[1,2]", NULL, 400},
        {"{\"model\":\"x\"}", "input", 400},
        {"{\"input\":\"\"}", "input", 400},
        {"{\"input\":[]}", "input", 400},
        {"{\"input\":[\"ok\",\"\"]}", "input", 400},
        {"{\"input\":[1,2,3]}", "input", 400},
        {"{\"input\":[[1,2]]}", "input", 400},
        {"{\"input\":[\"a\",7]}", "input", 400},
        {"{\"input\":{\"a\":1}}", "input", 400},
        {"{\"input\":\"x\",\"encoding_format\":\"hex\"}", "encoding_format", 400},
        {"{\"input\":\"x\",\"dimensions\":256}", "dimensions", 400},
        {"{\"input\":\"x\",\"model\":5}", "model", 400},
        {"{\"input\":\"x\",", NULL, 400},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *j;
        int st = call(embeddings_api_handle, m2v, m2v_state, cases[i].body, &j);
        CHECK(st == cases[i].status, "case %zu (%s): status %d", i, cases[i].body, st);
        const cJSON *err = cJSON_GetObjectItem(j, "error");
        CHECK(cJSON_IsString(cJSON_GetObjectItem(err, "message")), "case %zu: no message", i);
        CHECK_STR(cJSON_GetObjectItem(err, "type")->valuestring, "invalid_request_error");
        const cJSON *p = cJSON_GetObjectItem(err, "param");
        if (cases[i].param)
            CHECK_STR(p->valuestring, cases[i].param);
        else
            CHECK(cJSON_IsNull(p), "case %zu: param not null", i);
        cJSON_Delete(j);
    }
    /* the right dimension and null fields are accepted */
    cJSON *j;
    CHECK_EQ_INT(call(embeddings_api_handle, m2v, m2v_state,
                      "{\"input\":\"x\",\"dimensions\":8,\"encoding_format\":null,\"user\":\"u\"}",
                      &j),
                 200);
    cJSON_Delete(j);
}

static void similarity_matches_reference(void)
{
    if (!use_lite) SKIP("use-lite model not loaded (scripts/fetch-model.sh)");
    cJSON *j;
    int st = call(similarity_api_handle, use_lite, use_state,
                  "{\"text1\":\"How do I reset my password?\",\"text2\":\"I forgot my password, "
                  "how can I change it?\"}",
                  &j);
    CHECK_EQ_INT(st, 200);
    CHECK_NEAR(cJSON_GetObjectItem(j, "similarity")->valuedouble, 0.9162817, 1e-5);
    CHECK(!strncmp(cJSON_GetObjectItem(j, "model_used")->valuestring, "use-lite-512:", 13),
          "model_used");
    CHECK(cJSON_GetObjectItem(j, "processing_time_ms")->valuedouble >= 0, "time");
    cJSON_Delete(j);
    st = call(similarity_api_handle, use_lite, use_state, "{\"text1\":\"a\"}", &j);
    CHECK_EQ_INT(st, 400);
    CHECK_STR(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "param")->valuestring, "text2");
    cJSON_Delete(j);
    st = call(similarity_api_handle, use_lite, use_state,
              "{\"text1\":\"a\",\"text2\":\"b\",\"dimension\":768}", &j);
    CHECK_EQ_INT(st, 400);
    cJSON_Delete(j);
    st = call(similarity_api_handle, use_lite, use_state, "nope", &j);
    CHECK_EQ_INT(st, 400);
    cJSON_Delete(j);
    /* empty texts are allowed here: a defined vector each */
    st = call(similarity_api_handle, use_lite, use_state, "{\"text1\":\"\",\"text2\":\"\"}", &j);
    CHECK_EQ_INT(st, 200);
    CHECK_NEAR(cJSON_GetObjectItem(j, "similarity")->valuedouble, 1.0, 1e-5);
    cJSON_Delete(j);
}

int main(void)
{
    use_lite = load(EMBED_USE_LITE, "models/use-lite");
    m2v = load(EMBED_MODEL2VEC, "tests/data/m2v-wordpiece");
    use_state = use_lite ? embed_state_new(use_lite) : NULL;
    m2v_state = m2v ? embed_state_new(m2v) : NULL;
    RUN(embeddings_shape_and_values);
    RUN(embeddings_errors);
    RUN(similarity_matches_reference);
    embed_state_free(use_state);
    embed_state_free(m2v_state);
    embed_free(use_lite);
    embed_free(m2v);
    TEST_MAIN_END();
}
