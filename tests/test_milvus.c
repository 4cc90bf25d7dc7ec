/* test_milvus.c - the Milvus backend: wire format (milvus_proto) and the backend
 * against tests/milvus/server.mjs (the REST v2 test server, started here with node;
 * those cases are skipped when node is missing). */
#include "cache/milvus.h"
#include "cache/milvus_proto.h"
#include "cache/select.h"
#include "core/codec.h"
#include "core/util.h"
#include "test.h"

#include <event2/event.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

/* ------------------------------------------------------------------ wire format */

static void test_answer_success_codes(void)
{
    mv_answer a;
    const char *ok0 = "{\"code\":0,\"cost\":0,\"data\":{\"has\":true},\"message\":\"sub-call warning\"}";
    CHECK(mv_answer_parse(200, ok0, strlen(ok0), &a) == 0, "code 0 with a message is success");
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(a.data, "has")), "data read");
    mv_answer_free(&a);
    const char *ok200 = "{\"code\":200,\"data\":[]}";
    CHECK(mv_answer_parse(200, ok200, strlen(ok200), &a) == 0 && a.code == 0, "2.4.0 code 200 is success");
    mv_answer_free(&a);
    const char *s200 = "{\"code\":\"0\",\"data\":{}}"; /* a string code is not a Milvus answer */
    CHECK(mv_answer_parse(200, s200, strlen(s200), &a) == -1 && a.error == MV_ERR_GARBAGE, "string code");
    mv_answer_free(&a);
}

static void test_answer_errors_by_code(void)
{
    mv_answer a;
    struct {
        int status;
        const char *body;
        mv_error err;
        int code;
        const char *reason;
    } cases[] = {
        {200, "{\"code\":100,\"message\":\"collection not found[database=default][collection=x]\"}", MV_ERR_CODE, 100,
         "collection_not_found"},
        /* same code, another message: the same class (messages are not stable) */
        {200, "{\"code\":100,\"message\":\"something else entirely\"}", MV_ERR_CODE, 100, "collection_not_found"},
        {200, "{\"code\":101,\"message\":\"collection not loaded\"}", MV_ERR_CODE, 101, "collection_not_loaded"},
        {200, "{\"code\":1801,\"message\":\"can only accept json format request\"}", MV_ERR_CODE, 1801, "bad_json"},
        {200, "{\"code\":1804,\"message\":\"fail to deal the insert data\"}", MV_ERR_CODE, 1804, "insert_data_rejected"},
        {401, "{\"code\":1800,\"message\":\"user hasn't authenticated\"}", MV_ERR_AUTH, 1800, "auth"},
        {403, "{\"code\":1401,\"message\":\"denied\"}", MV_ERR_AUTH, 1401, "auth"},
        {404, "404 page not found", MV_ERR_ROUTE, 0, "route_missing"},
        {408, "{\"code\":10001,\"message\":\"request timeout\"}", MV_ERR_TIMEOUT, 10001, "timeout"},
        {500, "{\"code\":500}", MV_ERR_HTTP, 500, "http_error"},
        {200, "<html>\x01 not json", MV_ERR_GARBAGE, 0, "garbage"},
        {200, "{\"code\":0,\"data\":", MV_ERR_GARBAGE, 0, "garbage"},
        {200, "", MV_ERR_GARBAGE, 0, "garbage"},
        {200, "[1,2]", MV_ERR_GARBAGE, 0, "garbage"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int rc = mv_answer_parse(cases[i].status, cases[i].body, strlen(cases[i].body), &a);
        CHECK(rc == -1 && a.error == cases[i].err && a.code == cases[i].code, "case %zu: rc %d error %d code %d", i,
              rc, a.error, a.code);
        const char *reason = a.error == MV_ERR_CODE ? mv_code_name(a.code) : mv_error_name(a.error);
        CHECK_STR(reason, cases[i].reason);
        mv_answer_free(&a);
    }
}

static void test_int64_both_forms(void)
{
    cJSON *j = cJSON_Parse("{\"a\":1767225600,\"b\":\"1767225600\",\"c\":\"-5\",\"d\":\"12x\",\"e\":1.5,\"f\":\"\"}");
    int64_t v = 0;
    CHECK(mv_int64(cJSON_GetObjectItem(j, "a"), &v) == 0 && v == 1767225600, "number");
    CHECK(mv_int64(cJSON_GetObjectItem(j, "b"), &v) == 0 && v == 1767225600, "string");
    CHECK(mv_int64(cJSON_GetObjectItem(j, "c"), &v) == 0 && v == -5, "negative string");
    CHECK(mv_int64(cJSON_GetObjectItem(j, "d"), &v) == -1, "junk string");
    CHECK(mv_int64(cJSON_GetObjectItem(j, "e"), &v) == -1, "fraction");
    CHECK(mv_int64(cJSON_GetObjectItem(j, "f"), &v) == -1, "empty");
    cJSON_Delete(j);
}

/* The literal, JSON-encoded as it travels, decodes to a filter whose literal is the input. */
static void test_filter_literal_hostile(void)
{
    const char *hostile[] = {
        "acme",
        "evil\" or tenant != \"",
        "back\\slash\\\" or 1==1 or \"",
        "line\nbreak\rand\ttab",
        "“curly” ‘quotes’ — Ünïcödé 🌍 日本語",
        "ctl\x01\x1f\x7f",
        "",
    };
    for (size_t i = 0; i < sizeof hostile / sizeof *hostile; i++) {
        buf b;
        buf_init(&b);
        mv_filter_literal(&b, hostile[i], strlen(hostile[i]));
        CHECK(b.data[0] == '"' && b.data[b.len - 1] == '"', "quoted");
        /* no raw quote, CR or LF inside, and every backslash starts an escape */
        int bad = 0;
        for (size_t k = 1; k + 1 < b.len; k++) {
            char ch = b.data[k];
            if (ch == '\n' || ch == '\r' || (unsigned char)ch < 0x20) bad = 1;
            if (ch == '"') bad = 1;
            if (ch == '\\') {
                char n = b.data[k + 1];
                if (!strchr("\\\"nrtu", n)) bad = 1;
                k++;
            }
        }
        CHECK(!bad, "literal %zu is closed: %s", i, b.data);
        buf_free(&b);
    }
}

static void test_vector_writer(void)
{
    float v[512];
    for (int i = 0; i < 512; i++) v[i] = (float)sin(i * 0.37) * (i % 7 == 0 ? -1.0f : 0.05f);
    v[3] = 0;
    v[4] = 1;
    v[5] = -1;
    buf b;
    buf_init(&b);
    mv_put_vector(&b, v, 512);
    cJSON *j = cJSON_Parse(b.data);
    CHECK(cJSON_IsArray(j) && cJSON_GetArraySize(j) == 512, "a JSON array of 512");
    double worst = 0;
    for (int i = 0; i < 512 && j; i++) {
        double d = fabs(cJSON_GetArrayItem(j, i)->valuedouble - v[i]);
        if (d > worst) worst = d;
    }
    CHECK(worst <= 5.1e-8, "7 decimals: worst error %g", worst);
    cJSON_Delete(j);
    buf_free(&b);
}

static void test_body_encoding(void)
{
    const char *small = "{\"choices\":[{\"message\":{\"content\":\"Paris — “ville lumière” 🌍\"}}]}";
    buf e;
    buf_init(&e);
    CHECK_EQ_INT(mv_body_encode(small, strlen(small), 65535, &e), 0);
    CHECK_STR(e.data, small);
    buf_free(&e);
    /* 200 KB of text: compressed + base64 fits */
    size_t n = 200000;
    char *big = malloc(n + 1);
    for (size_t i = 0; i < n; i++) big[i] = "The quick brown fox jumps. "[i % 27];
    big[n] = 0;
    buf_init(&e);
    CHECK_EQ_INT(mv_body_encode(big, n, 65535, &e), 1);
    CHECK(e.len <= 65535, "fits: %zu", e.len);
    size_t got = 0;
    char *back = mv_body_decode(e.data, e.len, 1, &got);
    CHECK(back && got == n && !memcmp(back, big, n), "round trip");
    free(back);
    buf_free(&e);
    /* incompressible 200 KB: does not fit, skipped */
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        big[i] = (char)(x >> 24);
    }
    buf_init(&e);
    CHECK_EQ_INT(mv_body_encode(big, n, 65535, &e), -1);
    buf_free(&e);
    /* invalid UTF-8 even when small: compressed (the VarChar must be UTF-8) */
    buf_init(&e);
    CHECK_EQ_INT(mv_body_encode("ab\xff\xfe", 4, 65535, &e), 1);
    back = mv_body_decode(e.data, e.len, 1, &got);
    CHECK(back && got == 4 && !memcmp(back, "ab\xff\xfe", 4), "binary round trip");
    free(back);
    buf_free(&e);
    CHECK(mv_body_decode("!!!", 3, 1, &got) == NULL, "bad base64");
    CHECK(mv_body_decode("AAAA", 4, 1, &got) == NULL, "not zlib");
    CHECK(mv_body_decode("x", 1, 7, &got) == NULL, "unknown encoding");
    free(big);
}

static void test_utf8_prefix(void)
{
    const char *s = "ab🌍cd"; /* 🌍 is 4 bytes at 2..5 */
    CHECK_EQ_INT(mv_utf8_prefix(s, strlen(s), 4), 2);
    CHECK_EQ_INT(mv_utf8_prefix(s, strlen(s), 6), 6);
    CHECK_EQ_INT(mv_utf8_prefix("a\xff" "b", 3, 10), 1);
}

static const char *hex64(char c)
{
    /* one buffer per call in a whole argument list (10 calls below): with fewer, which
     * call's value a pointer shows depends on the compiler's evaluation order (clang) */
    static char k[16][65];
    static int slot;
    char *o = k[slot++ & 15];
    memset(o, c, 64);
    o[64] = 0;
    return o;
}

static void test_rows_to_candidates(void)
{
    float ctx[2 * 4] = {1, 0, 0, 0, 0, 1, 0, 0};
    buf c64;
    buf_init(&c64);
    codec_base64_encode(&c64, ctx, sizeof ctx);
    buf j;
    buf_init(&j);
    buf_printf(&j,
               "[{\"id\":\"%s\",\"distance\":0.91,\"tenant\":\"t\",\"partition_hash\":\"%s\",\"response_body\":\"B1\","
               "\"body_encoding\":0,\"n_context\":\"2\",\"context\":\"%s\",\"created_at\":\"17\",\"query_text\":\"q1\"},"
               "{\"id\":\"%s\",\"distance\":0.99,\"tenant\":\"t\",\"partition_hash\":\"%s\",\"response_body\":\"B2\","
               "\"body_encoding\":0,\"n_context\":0,\"context\":\"\",\"created_at\":18},"
               "{\"id\":\"%s\",\"distance\":0.95,\"tenant\":\"other\",\"partition_hash\":\"%s\",\"response_body\":\"X\","
               "\"body_encoding\":0,\"n_context\":0,\"context\":\"\",\"created_at\":18},"
               "{\"id\":\"%s\",\"distance\":0.30,\"tenant\":\"t\",\"partition_hash\":\"%s\",\"response_body\":\"low\","
               "\"body_encoding\":0,\"n_context\":0,\"context\":\"\",\"created_at\":18},"
               "{\"id\":\"%s\",\"distance\":0.97,\"tenant\":\"t\",\"partition_hash\":\"%s\",\"response_body\":\"ctx\","
               "\"body_encoding\":0,\"n_context\":3,\"context\":\"%s\",\"created_at\":18}]",
               hex64('a'), hex64('p'), c64.data, hex64('b'), hex64('p'), hex64('c'), hex64('p'), hex64('d'),
               hex64('p'), hex64('e'), hex64('p'), c64.data);
    cJSON *data = cJSON_Parse(j.data);
    cache_candidates out;
    int n = mv_rows_to_candidates(data, "COSINE", 4, "t", hex64('p'), hex64('a'), 0.5f, 10, &out);
    /* kept: a (exact), b; dropped: other tenant, below floor, context of the wrong size */
    CHECK_EQ_INT(n, 2);
    if (n == 2) {
        CHECK(out.v[0].tier == CACHE_TIER_EXACT && out.v[0].similarity == 1.0f, "exact first");
        CHECK_STR(out.v[0].body, "B1");
        CHECK_STR(out.v[0].query_text, "q1");
        CHECK(out.v[0].n_context == 2 && out.v[0].context_vecs && out.v[0].context_vecs[5] == 1.0f, "context");
        CHECK_EQ_INT(out.v[0].inserted_at, 17);
        CHECK(out.v[1].tier == CACHE_TIER_SEMANTIC, "semantic");
        CHECK_NEAR(out.v[1].similarity, 0.99, 1e-6);
    }
    cache_candidates_free(&out);
    /* L2 on unit vectors: similarity 1 - d/2 */
    n = mv_rows_to_candidates(data, "L2", 4, "t", hex64('p'), NULL, -10.0f, 10, &out);
    CHECK(n >= 1, "L2 rows");
    if (n >= 1) CHECK_NEAR(out.v[0].similarity, 1.0 - 0.30 / 2, 1e-6);
    cache_candidates_free(&out);
    CHECK_EQ_INT(mv_rows_to_candidates(cJSON_GetArrayItem(data, 0), "COSINE", 4, "t", NULL, NULL, 0, 1, &out), -1);
    cJSON_Delete(data);
    buf_free(&j);
    buf_free(&c64);
}

/* The conversation field: written from the request's turns, read back into a
 * candidate exactly as the memory backend fills one (select.h), and a field that
 * does not fit the row's turn count drops the row instead of being misread. */
static void test_conversation_field(void)
{
    const char *texts[] = {"Où est la Tour Eiffel ? “Paris” 🗼", "It is in Paris, France.", "tool: {\"k\":\"v\\n\"}"};
    size_t lens[] = {strlen(texts[0]), strlen(texts[1]), strlen(texts[2])};
    unsigned char roles[] = {CACHE_ROLE_USER, CACHE_ROLE_ASSISTANT, CACHE_ROLE_OTHER};
    buf conv;
    buf_init(&conv);
    CHECK_EQ_INT(mv_put_conversation(&conv, 3, texts, lens, roles, 65535), 0);
    cache_candidate c;
    memset(&c, 0, sizeof c);
    c.n_context = 3;
    CHECK_EQ_INT(mv_get_conversation(conv.data, &c), 0);
    unsigned char h[32];
    CHECK(cache_context_hash(3, texts, lens, roles, h) == 1, "hash of the assistant turn");
    CHECK(c.has_answer_hash && !memcmp(c.answer_hash, h, 32), "answer hash back");
    CHECK(c.context_roles && c.context_roles[0] == CACHE_ROLE_USER && c.context_roles[1] == CACHE_ROLE_ASSISTANT &&
              c.context_roles[2] == CACHE_ROLE_OTHER,
          "roles back");
    CHECK(c.context_texts && c.context_texts[1] == NULL, "no assistant text kept");
    if (c.context_texts) {
        CHECK_STR(c.context_texts[0], texts[0]);
        CHECK_STR(c.context_texts[2], texts[2]);
    }
    mv_candidate_clear(&c);
    /* the same field for a row that says 2 turns: refused */
    c.n_context = 2;
    CHECK_EQ_INT(mv_get_conversation(conv.data, &c), -1);
    CHECK(!c.context_texts && !c.context_roles && !c.has_answer_hash, "nothing half-read");
    const char *bad[] = {"{\"roles\":\"ux\",\"texts\":[\"a\",\"b\"]}", "{\"roles\":\"ua\",\"texts\":[\"a\",\"b\"]}",
                         "{\"roles\":\"ua\",\"answers\":\"zz\",\"texts\":[\"a\",null]}", "not json", "[1]"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        memset(&c, 0, sizeof c);
        c.n_context = 2;
        CHECK(mv_get_conversation(bad[i], &c) == -1 && !c.context_texts, "bad field %zu refused", i);
    }
    memset(&c, 0, sizeof c);
    c.n_context = 2;
    CHECK(mv_get_conversation("", &c) == 0 && !c.context_texts, "empty field: vectors only");
    /* over the VarChar limit: -1, the buffer as it was */
    buf small;
    buf_init(&small);
    buf_puts(&small, "x");
    CHECK(mv_put_conversation(&small, 3, texts, lens, roles, 20) == -1 && small.len == 1, "too large");
    buf_free(&small);
    /* a row carrying it: the candidate has the conversation and the match accepts the same
     * conversation (byte-identical answer: 2) and refuses another conversation's answer */
    float ctx[3 * 4] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0};
    buf c64, j;
    buf_init(&c64);
    buf_init(&j);
    codec_base64_encode(&c64, ctx, sizeof ctx);
    buf_puts(&j, "[{\"id\":\"");
    buf_puts(&j, hex64('a'));
    buf_puts(&j, "\",\"distance\":0.9,\"tenant\":\"t\",\"partition_hash\":\"");
    buf_puts(&j, hex64('p'));
    buf_printf(&j, "\",\"response_body\":\"B\",\"body_encoding\":0,\"n_context\":3,\"context\":\"%s\",\"created_at\":1,"
                   "\"conversation\":",
               c64.data);
    buf_json_str(&j, conv.data, conv.len);
    buf_puts(&j, "}]");
    cJSON *data = cJSON_Parse(j.data);
    cache_candidates out;
    CHECK_EQ_INT(mv_rows_to_candidates(data, "COSINE", 4, "t", hex64('p'), NULL, 0.5f, 5, &out), 1);
    if (out.n == 1) {
        cache_select_input in;
        cache_select_input_default(&in);
        in.dim = 4;
        in.n_context = 3;
        in.context_vecs = ctx;
        in.context_texts = texts;
        in.context_lens = lens;
        in.context_roles = roles;
        CHECK_EQ_INT(cache_context_match(&in, &out.v[0], NULL), 2);
        const char *other[] = {texts[0], "The Eiffel Tower is in Las Vegas, Nevada.", texts[2]};
        size_t olens[] = {lens[0], strlen(other[1]), lens[2]};
        in.context_texts = other;
        in.context_lens = olens;
        float octx[3 * 4] = {1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0}; /* its answer embeds elsewhere */
        in.context_vecs = octx;
        CHECK_EQ_INT(cache_context_match(&in, &out.v[0], NULL), 0);
    }
    cache_candidates_free(&out);
    cJSON_Delete(data);
    /* the same row with a conversation of 2 turns: dropped, never misread */
    buf_free(&j);
    buf_init(&j);
    buf_printf(&j, "[{\"id\":\"%s\",\"distance\":0.9,\"tenant\":\"t\",\"partition_hash\":\"%s\",\"response_body\":\"B\","
                   "\"body_encoding\":0,\"n_context\":3,\"context\":\"%s\",\"created_at\":1,"
                   "\"conversation\":\"{\\\"roles\\\":\\\"ua\\\",\\\"texts\\\":[\\\"a\\\",null]}\"}]",
               hex64('a'), hex64('p'), c64.data);
    data = cJSON_Parse(j.data);
    CHECK(data != NULL, "row json");
    CHECK_EQ_INT(mv_rows_to_candidates(data, "COSINE", 4, "t", hex64('p'), NULL, 0.5f, 5, &out), 0);
    cache_candidates_free(&out);
    cJSON_Delete(data);
    buf_free(&j);
    buf_free(&c64);
    buf_free(&conv);
}

/* Bounded random and mutated inputs through the answer parser and the row decoder:
 * nothing crashes, leaks or reads out of bounds (run under ASan by make asan). */
static void test_parser_random_inputs(void)
{
    const char *seeds[] = {
        "{\"code\":0,\"data\":[{\"id\":\"x\",\"distance\":0.9,\"tenant\":\"\",\"partition_hash\":\"p\","
        "\"response_body\":\"eJxLTEoGAAJNASc=\",\"body_encoding\":1,\"n_context\":1,\"context\":\"AACAPw==\","
        "\"created_at\":1}]}",
        "{\"code\":200,\"data\":{\"has\":true}}",
        "{\"code\":1804,\"message\":\"fail\"}",
    };
    uint32_t x = 2463534242u;
    char in[600];
    int parsed = 0;
    for (int iter = 0; iter < 20000; iter++) {
        const char *s = seeds[iter % 3];
        size_t n = strlen(s);
        memcpy(in, s, n);
        int flips = 1 + iter % 6;
        for (int f = 0; f < flips; f++) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            size_t at = x % n;
            in[at] = (char)(x >> 8);
        }
        if (iter % 5 == 0) n = x % (n + 1);
        mv_answer a;
        if (mv_answer_parse(iter % 7 ? 200 : 404, in, n, &a) == 0) {
            cache_candidates c;
            if (mv_rows_to_candidates(a.data, iter & 1 ? "COSINE" : NULL, 1, "", "p", "x", 0, 3, &c) >= 0) parsed++;
            cache_candidates_free(&c);
        }
        mv_answer_free(&a);
    }
    CHECK(parsed > 0, "some mutations still parse (%d)", parsed);
}

/* ------------------------------------------------------------------ against the test server */

static pid_t server_pid;
static int server_stateless;
static char server_url[128];
static char state_file[128];

static int server_start(const char *version, int keep_state)
{
    char portfile[128];
    snprintf(portfile, sizeof portfile, "/tmp/test_milvus_port.%d", (int)getpid());
    unlink(portfile);
    if (!keep_state) {
        snprintf(state_file, sizeof state_file, "/tmp/test_milvus_state.%d", (int)getpid());
        unlink(state_file);
    }
    const char *root = getenv("SEMROUTER_ROOT");
    char script[1024];
    snprintf(script, sizeof script, "%s/tests/milvus/server.mjs", root ? root : ".");
    int port = 0;
    if (server_url[0]) sscanf(server_url, "http://127.0.0.1:%d", &port);
    char portarg[16];
    snprintf(portarg, sizeof portarg, "%d", keep_state ? port : 0);
    pid_t p = fork();
    if (p == 0) {
        freopen("/dev/null", "w", stdout);
        if (server_stateless) /* nothing to keep across a restart: no state file rewritten per change */
            execlp("node", "node", script, "--port", portarg, "--version", version, "--portfile", portfile,
                   (char *)NULL);
        else
            execlp("node", "node", script, "--port", portarg, "--version", version, "--state", state_file,
                   "--portfile", portfile, (char *)NULL);
        _exit(127);
    }
    server_pid = p;
    for (int i = 0; i < 500; i++) {
        FILE *f = fopen(portfile, "r");
        if (f) {
            int got = 0;
            if (fscanf(f, "%d", &got) == 1 && got > 0) {
                fclose(f);
                snprintf(server_url, sizeof server_url, "http://127.0.0.1:%d", got);
                unlink(portfile);
                return 0;
            }
            fclose(f);
        }
        int st;
        if (waitpid(p, &st, WNOHANG) == p) return -1;
        usleep(20000);
    }
    return -1;
}

static void server_stop(void)
{
    if (server_pid > 0) {
        kill(server_pid, SIGKILL);
        waitpid(server_pid, NULL, 0);
    }
    server_pid = 0;
}

static int have_node(void)
{
    return system("node --version >/dev/null 2>&1") == 0;
}

static sr_milvus_config *test_config(const char *collection)
{
    static sr_milvus_config m;
    memset(&m, 0, sizeof m);
    m.connection.uri = server_url;
    m.connection.database = "default";
    m.connection.timeout = 5;
    m.collection.name = (char *)collection;
    m.collection.vector_field.name = "embedding";
    m.collection.vector_field.metric_type = "COSINE";
    m.collection.index.type = "HNSW";
    m.collection.index.m = 16;
    m.collection.index.ef_construction = 64;
    m.search.ef = 64;
    m.search.topk = 5;
    m.search.consistency_level = "Bounded";
    m.search.timeout_ms = 2000;
    m.cleanup_interval = 0;
    m.development.auto_create_collection = true;
    return &m;
}

#define DIM 8
static void unit(float *v, int seed)
{
    double n = 0;
    for (int i = 0; i < DIM; i++) {
        v[i] = (float)sin(seed * 1.7 + i * 0.9);
        n += v[i] * v[i];
    }
    for (int i = 0; i < DIM; i++) v[i] = (float)(v[i] / sqrt(n));
}

static cache_request req(const char *tenant, const char *ek, const char *pk, const float *vec, int n,
                         const float *ctx)
{
    cache_request r;
    memset(&r, 0, sizeof r);
    r.tenant = tenant;
    r.exact_key = ek;
    r.partition_key = pk;
    r.query_vec = vec;
    r.n_context = n;
    r.context_vecs = ctx;
    return r;
}

typedef struct result {
    int done;
    cache_status status;
    cache_candidates cands;
} result;

static void on_lookup(void *arg, cache_status st, cache_candidates *c)
{
    result *r = arg;
    r->done = 1;
    r->status = st;
    if (c) { /* take them (backend.h): the backend frees what is left in *c */
        r->cands = *c;
        c->n = 0;
        c->v = NULL;
    }
}
static void on_store(void *arg, cache_status st)
{
    result *r = arg;
    r->done++;
    r->status = st;
}

static void wait_done(struct event_base *base, result *r, int want)
{
    for (int i = 0; i < 3000 && r->done < want; i++) event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(1000);
}

static cache_backend *open_backend(const char *collection, int dim, const char *model, int64_t ttl, char *err)
{
    milvus_options o = {0};
    o.cfg = test_config(collection);
    o.dim = dim;
    o.embedding_model_id = model;
    o.ttl_seconds = ttl;
    int degraded = 0;
    cache_backend *b = milvus_backend_open(&o, &degraded, err, 512);
    if (b && degraded) {
        b->ops->close(b);
        return NULL;
    }
    return b;
}

static void test_backend_store_lookup(void)
{
    if (!have_node()) SKIP("node is not installed");
    if (server_start("2.5", 0)) SKIP("the Milvus test server did not start");
    char err[512] = "";
    cache_backend *b = open_backend("semcache_unit", DIM, "use-lite-test", 0, err);
    CHECK(b, "open: %s", err);
    if (!b) {
        server_stop();
        return;
    }
    CHECK(b->ops->healthy(b) == 1, "healthy after bootstrap");
    struct event_base *base = event_base_new();
    float q[DIM], near[DIM], ctx[2 * DIM];
    unit(q, 1);
    memcpy(near, q, sizeof q);
    near[0] += 0.05f;
    unit(ctx, 5);
    unit(ctx + DIM, 6);
    const char *tenants[] = {"acme", "evil\" or tenant != \"", "“curly” 🌍\\\n"};
    for (int t = 0; t < 3; t++) {
        char ek[65], pk[65];
        memset(ek, 'a' + t, 64), ek[64] = 0;
        memset(pk, 'p', 64), pk[64] = 0;
        cache_request r = req(tenants[t], ek, pk, q, 2, ctx);
        char body[128];
        snprintf(body, sizeof body, "{\"answer\":\"for tenant %d — “ok” 🌍\"}", t);
        result s = {0};
        b->ops->store(b, base, &r, "What is the capital of France? ¿Qué?", body, strlen(body), on_store, &s);
        wait_done(base, &s, 1);
        CHECK(s.done == 1 && s.status == CACHE_STATUS_OK, "store tenant %d: status %d", t, s.status);
    }
    for (int t = 0; t < 3; t++) {
        char ek[65], pk[65];
        memset(ek, 'z', 64), ek[64] = 0; /* another exact key: a paraphrase */
        memset(pk, 'p', 64), pk[64] = 0;
        cache_request r = req(tenants[t], ek, pk, near, 2, ctx);
        result l = {0};
        b->ops->lookup(b, base, &r, 3, 0.5f, on_lookup, &l);
        wait_done(base, &l, 1);
        CHECK(l.done && l.status == CACHE_STATUS_OK && l.cands.n == 1, "tenant %d: exactly its own entry (%d)", t,
              l.cands.n);
        if (l.cands.n == 1) {
            char want[128];
            snprintf(want, sizeof want, "{\"answer\":\"for tenant %d — “ok” 🌍\"}", t);
            CHECK_STR(l.cands.v[0].body, want);
            CHECK(l.cands.v[0].tier == CACHE_TIER_SEMANTIC && l.cands.v[0].similarity > 0.99f, "similar %f",
                  l.cands.v[0].similarity);
            CHECK(l.cands.v[0].n_context == 2 && !memcmp(l.cands.v[0].context_vecs, ctx, sizeof ctx), "context back");
            CHECK_STR(l.cands.v[0].query_text, "What is the capital of France? ¿Qué?");
        }
        cache_candidates_free(&l.cands);
    }
    /* exact tier without a vector (non-text turn) */
    {
        char ek[65], pk[65];
        memset(ek, 'a', 64), ek[64] = 0;
        memset(pk, 'p', 64), pk[64] = 0;
        cache_request r = req("acme", ek, pk, NULL, 0, NULL);
        result l = {0};
        b->ops->lookup(b, base, &r, 3, 0.5f, on_lookup, &l);
        wait_done(base, &l, 1);
        CHECK(l.status == CACHE_STATUS_OK && l.cands.n == 1 && l.cands.v[0].tier == CACHE_TIER_EXACT, "exact by id");
        cache_candidates_free(&l.cands);
        /* another partition: nothing */
        memset(pk, 'q', 64);
        cache_request r2 = req("acme", ek, pk, q, 0, NULL);
        result l2 = {0};
        b->ops->lookup(b, base, &r2, 3, 0.0f, on_lookup, &l2);
        wait_done(base, &l2, 1);
        CHECK(l2.status == CACHE_STATUS_OK && l2.cands.n == 0, "partition isolation: %d", l2.cands.n);
        cache_candidates_free(&l2.cands);
    }
    /* a 300 KB compressible answer: stored compressed, read back whole */
    {
        size_t n = 300000;
        char *big = malloc(n + 1);
        for (size_t i = 0; i < n; i++) big[i] = "Ünïcödé answer text. "[i % 22];
        big[n] = 0;
        char ek[65], pk[65];
        memset(ek, 'L', 64), ek[64] = 0;
        memset(pk, 'P', 64), pk[64] = 0;
        float v[DIM];
        unit(v, 9);
        cache_request r = req("acme", ek, pk, v, 0, NULL);
        result s = {0};
        b->ops->store(b, base, &r, "big", big, n, on_store, &s);
        wait_done(base, &s, 1);
        CHECK(s.status == CACHE_STATUS_OK, "big stored: %d", s.status);
        result l = {0};
        b->ops->lookup(b, base, &r, 1, 0.5f, on_lookup, &l);
        wait_done(base, &l, 1);
        CHECK(l.cands.n == 1 && l.cands.v[0].len == n && !memcmp(l.cands.v[0].body, big, n), "big back");
        cache_candidates_free(&l.cands);
        free(big);
    }
    char e2[256];
    CHECK_EQ_INT(milvus_backend_count(b, "acme", e2, sizeof e2), 2);
    CHECK_EQ_INT(milvus_backend_count(b, NULL, e2, sizeof e2), 4);
    CHECK_EQ_INT(milvus_backend_clear(b, tenants[1], e2, sizeof e2), 1);
    CHECK_EQ_INT(milvus_backend_count(b, NULL, e2, sizeof e2), 3);
    b->ops->close(b);
    /* reopen: the collection is verified and reused */
    b = open_backend("semcache_unit", DIM, "use-lite-test", 0, err);
    CHECK(b, "reopen: %s", err);
    if (b) b->ops->close(b);
    /* another dimension or embedding model: a clear error, nothing reused */
    b = open_backend("semcache_unit", 16, "use-lite-test", 0, err);
    CHECK(!b && strstr(err, "dimensional"), "dimension mismatch: %s", err);
    if (b) b->ops->close(b);
    b = open_backend("semcache_unit", DIM, "other-model", 0, err);
    CHECK(!b && strstr(err, "embedding model"), "model mismatch: %s", err);
    if (b) b->ops->close(b);
    event_base_free(base);
    server_stop();
}

static void test_backend_ttl_and_purge(void)
{
    if (!have_node()) SKIP("node is not installed");
    if (server_start("2.4.0", 0)) SKIP("the Milvus test server did not start");
    char err[512] = "";
    /* ttl 1 s: the entry is filtered out once expires_at <= now */
    cache_backend *b = open_backend("ttl_unit", DIM, "m", 1, err);
    CHECK(b, "open on 2.4.0: %s", err);
    if (!b) {
        server_stop();
        return;
    }
    struct event_base *base = event_base_new();
    float q[DIM];
    unit(q, 3);
    char ek[65], pk[65];
    memset(ek, 'e', 64), ek[64] = 0;
    memset(pk, 'p', 64), pk[64] = 0;
    cache_request r = req("t", ek, pk, q, 0, NULL);
    result s = {0};
    b->ops->store(b, base, &r, "q", "{\"a\":1}", 7, on_store, &s);
    wait_done(base, &s, 1);
    CHECK(s.status == CACHE_STATUS_OK, "stored (2.4.0 success code 200)");
    result l = {0};
    b->ops->lookup(b, base, &r, 1, 0.5f, on_lookup, &l);
    wait_done(base, &l, 1);
    CHECK(l.cands.n == 1, "fresh entry found");
    cache_candidates_free(&l.cands);
    sleep(2);
    result l2 = {0};
    b->ops->lookup(b, base, &r, 1, 0.5f, on_lookup, &l2);
    wait_done(base, &l2, 1);
    CHECK(l2.status == CACHE_STATUS_OK && l2.cands.n == 0, "expired entry not returned");
    cache_candidates_free(&l2.cands);
    char e2[256];
    CHECK_EQ_INT(milvus_backend_count(b, NULL, e2, sizeof e2), 0);
    CHECK(milvus_backend_purge_expired(b, e2, sizeof e2) >= 0, "purge: %s", e2);
    b->ops->close(b);
    event_base_free(base);
    server_stop();
}

static void test_backend_failures_and_recovery(void)
{
    if (!have_node()) SKIP("node is not installed");
    if (server_start("2.6", 0)) SKIP("the Milvus test server did not start");
    char err[512] = "";
    cache_backend *b = open_backend("fail_unit", DIM, "m", 0, err);
    CHECK(b, "open: %s", err);
    if (!b) {
        server_stop();
        return;
    }
    struct event_base *base = event_base_new();
    float q[DIM];
    unit(q, 4);
    char ek[65], pk[65];
    memset(ek, 'f', 64), ek[64] = 0;
    memset(pk, 'p', 64), pk[64] = 0;
    cache_request r = req("t", ek, pk, q, 0, NULL);
    result s = {0};
    b->ops->store(b, base, &r, "q", "{\"a\":1}", 7, on_store, &s);
    wait_done(base, &s, 1);
    CHECK(s.status == CACHE_STATUS_OK, "stored");
    /* garbage answer: an error, degraded, then fail-fast without network */
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "curl -s -o /dev/null -X POST %s/_test/faults -d '{\"mode\":\"garbage\",\"count\":1,\"match\":\"search\"}'",
             server_url);
    CHECK(system(cmd) == 0, "fault set");
    result l = {0};
    b->ops->lookup(b, base, &r, 1, 0.5f, on_lookup, &l);
    wait_done(base, &l, 1);
    CHECK(l.done && l.status == CACHE_STATUS_ERROR && l.cands.n == 0, "garbage = error");
    CHECK(b->ops->healthy(b) == 0, "degraded");
    result l2 = {0};
    b->ops->lookup(b, base, &r, 1, 0.5f, on_lookup, &l2);
    CHECK(l2.done == 1 && l2.status == CACHE_STATUS_ERROR, "fails at once while degraded (callback before return)");
    /* the maintenance thread probes and brings it back */
    for (int i = 0; i < 100 && !b->ops->healthy(b); i++) usleep(50000);
    CHECK(b->ops->healthy(b) == 1, "recovered");
    /* Milvus killed: errors; restarted on the same port with its data: back */
    server_stop();
    result l3 = {0};
    b->ops->lookup(b, base, &r, 1, 0.5f, on_lookup, &l3);
    wait_done(base, &l3, 1);
    CHECK(l3.done && l3.status == CACHE_STATUS_ERROR, "down = error");
    result s2 = {0};
    b->ops->store(b, base, &r, "q", "{\"a\":2}", 7, on_store, &s2);
    wait_done(base, &s2, 1);
    CHECK(s2.done && s2.status == CACHE_STATUS_ERROR, "store skipped while down");
    CHECK(server_start("2.6", 1) == 0, "restarted");
    for (int i = 0; i < 100 && !b->ops->healthy(b); i++) usleep(50000);
    CHECK(b->ops->healthy(b) == 1, "recovered after restart");
    result l4 = {0};
    b->ops->lookup(b, base, &r, 1, 0.5f, on_lookup, &l4);
    wait_done(base, &l4, 1);
    CHECK(l4.status == CACHE_STATUS_OK && l4.cands.n == 1 && !strcmp(l4.cands.v[0].body, "{\"a\":1}"),
          "the entry survived");
    cache_candidates_free(&l4.cands);
    /* slow server beyond search.timeout_ms: an error, not a hang */
    snprintf(cmd, sizeof cmd,
             "curl -s -o /dev/null -X POST %s/_test/faults -d '{\"mode\":\"delay\",\"delay_ms\":2500,\"count\":1,\"match\":\"search\"}'",
             server_url);
    CHECK(system(cmd) == 0, "fault set");
    result l5 = {0};
    b->ops->lookup(b, base, &r, 1, 0.5f, on_lookup, &l5);
    wait_done(base, &l5, 1);
    CHECK(l5.done && l5.status == CACHE_STATUS_ERROR, "timeout = error");
    b->ops->close(b);
    event_base_free(base);
    server_stop();
    unlink(state_file);
}

static void test_backend_unreachable_at_start(void)
{
    snprintf(server_url, sizeof server_url, "http://127.0.0.1:9"); /* discard port: nothing listens */
    milvus_options o = {0};
    o.cfg = test_config("x");
    o.dim = DIM;
    o.embedding_model_id = "m";
    o.no_thread = 1;
    int degraded = 0;
    char err[512] = "";
    cache_backend *b = milvus_backend_open(&o, &degraded, err, sizeof err);
    CHECK(b && degraded == 1 && b->ops->healthy(b) == 0, "returned degraded: %s", err);
    CHECK(strstr(err, "unreachable") != NULL, "says why: %s", err);
    if (b) b->ops->close(b);
    server_url[0] = 0;
}

/* ------------------------------------------------------------------ the admin op */

static void test_admin_filter_and_count(void)
{
    buf b;
    buf_init(&b);
    mv_admin_filter(&b, "evil\" or tenant != \"", NULL, 1, 1767225600);
    CHECK_STR(b.data, "tenant == \"evil\\\" or tenant != \\\"\" and expires_at > 1767225600");
    buf_reset(&b);
    mv_admin_filter(&b, NULL, NULL, 0, 0); /* every row: a delete needs a filter */
    CHECK_STR(b.data, "id != \"\"");
    buf_reset(&b);
    char id[65];
    memset(id, 'a', 64), id[64] = 0;
    mv_admin_filter(&b, "", id, 1, 5);
    CHECK(strstr(b.data, "id == \"aaaa") == b.data && strstr(b.data, " and tenant == \"\" and expires_at > 5"),
          "id, shared tenant, live: %s", b.data);
    buf_free(&b);
    struct {
        const char *data;
        int rc;
        long long n;
    } cases[] = {
        {"[{\"count(*)\":42}]", 0, 42},   {"[{\"count(*)\":\"17\"}]", 0, 17}, {"[{\"count(*)\":0}]", 0, 0},
        {"[{\"count(*)\":-1}]", -1, 0},   {"[]", -1, 0},                     {"{\"count(*)\":3}", -1, 0},
        {"[{\"count\":3}]", -1, 0},       {"[{\"count(*)\":1.5}]", -1, 0},   {"[{\"count(*)\":1},{\"count(*)\":2}]", -1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cJSON *j = cJSON_Parse(cases[i].data);
        long long n = 0;
        int rc = mv_count_of(j, &n);
        CHECK(rc == cases[i].rc && (rc || n == cases[i].n), "count case %zu: rc %d n %lld", i, rc, n);
        cJSON_Delete(j);
    }
}

/* A row as a query returns it becomes the line cache_export writes (export.c): read back by cJSON. */
static void test_admin_export_line(void)
{
    float v[4] = {0.5f, -0.5f, 0.5f, -0.5f}, ctx[4] = {1, 0, 0, 0};
    buf c64;
    buf_init(&c64);
    codec_base64_encode(&c64, ctx, sizeof ctx);
    char id[65], part[65];
    memset(id, 'b', 64), id[64] = 0;
    memset(part, 'c', 64), part[64] = 0;
    buf row;
    buf_init(&row);
    buf_printf(&row,
               "{\"id\":\"%s\",\"partition_hash\":\"%s\",\"tenant\":\"t “q”\",\"query_text\":\"hi?\","
               "\"response_body\":\"{\\\"a\\\":1}\",\"body_encoding\":0,\"context\":\"%s\",\"n_context\":1,"
               "\"conversation\":\"{\\\"roles\\\":\\\"u\\\",\\\"texts\\\":[\\\"first\\\"]}\",\"semantic\":1,"
               "\"created_at\":100,\"expires_at\":\"200\",\"embedding\":[0.5,-0.5,0.5,-0.5]}",
               id, part, c64.data);
    cJSON *r = cJSON_Parse(row.data);
    CHECK(r != NULL, "row parses");
    buf line;
    buf_init(&line);
    CHECK(mv_export_line(&line, r, "embedding", 4) == 0, "row exports");
    CHECK(line.len && line.data[line.len - 1] == '\n', "one line");
    cJSON *j = cJSON_Parse(line.data);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "tenant")), "t “q”");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "exact_key")), id);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "partition")), part);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "body")), "{\"a\":1}");
    CHECK_EQ_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "expires_at")), 200);
    size_t got = 0;
    const char *vs = cJSON_GetStringValue(cJSON_GetObjectItem(j, "vector"));
    unsigned char *back = vs ? codec_base64_decode(vs, strlen(vs), &got) : NULL;
    CHECK(back && got == sizeof v && !memcmp(back, v, sizeof v), "vector as base64 f32");
    free(back);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "conversation"), "roles")), "u");
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "context_vectors")), 1);
    cJSON_Delete(j);
    /* a row that does not decode appends nothing */
    size_t before = line.len;
    cJSON_ReplaceItemInObject(r, "embedding", cJSON_CreateString("nope"));
    CHECK(mv_export_line(&line, r, "embedding", 4) == -1 && line.len == before, "bad vector: nothing appended");
    cJSON_ReplaceItemInObject(r, "id", cJSON_CreateString("short"));
    CHECK(mv_export_line(&line, r, "embedding", 4) == -1 && line.len == before, "bad id: nothing appended");
    cJSON_Delete(r);
    buf_free(&line);
    buf_free(&row);
    buf_free(&c64);
}

typedef struct admin_res {
    int done;
    cache_status status;
    long long n, total;
    int truncated;
    char *lines;
    size_t len;
    char err[800];
    char reason[64];
} admin_res;

static void on_admin(void *arg, const cache_admin_result *r)
{
    admin_res *a = arg;
    a->done++;
    a->status = r->status;
    a->n = r->n;
    a->total = r->total;
    a->truncated = r->truncated;
    free(a->lines);
    a->lines = r->lines ? strndup(r->lines, r->len) : NULL;
    a->len = r->len;
    snprintf(a->err, sizeof a->err, "%s", r->err ? r->err : "");
    snprintf(a->reason, sizeof a->reason, "%s", r->reason ? r->reason : "");
}

/* op on tenant, waited for on base (bounded); the result in *a (lines freed by the caller). */
static void admin_run(cache_backend *b, struct event_base *base, cache_admin_op op, const char *tenant,
                      const char *id, admin_res *a)
{
    free(a->lines);
    memset(a, 0, sizeof *a);
    b->ops->admin(b, base, op, tenant, id, on_admin, a);
    for (int i = 0; i < 20000 && !a->done; i++) event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(500);
}

static long long admin_count(cache_backend *b, struct event_base *base, const char *tenant)
{
    admin_res a = {0};
    admin_run(b, base, CACHE_ADMIN_COUNT, tenant, NULL, &a);
    free(a.lines);
    return a.done == 1 && a.status == CACHE_STATUS_OK ? a.n : -1;
}

static void key_of(char *out, int tenant, int i)
{
    snprintf(out, 65, "%02x%062x", tenant & 0xff, (unsigned)i);
}

/* n entries of tenant (numbered from first), stored in batches the backend takes. */
static int store_many(cache_backend *b, struct event_base *base, const char *tenant, int tno, int first, int n)
{
    char pk[65]; /* hex like every partition key (an export line needs it) */
    memset(pk, 'd', 64), pk[64] = 0;
    for (int at = 0; at < n;) {
        int batch = n - at < 200 ? n - at : 200;
        result s = {0};
        for (int i = 0; i < batch; i++) {
            char ek[65];
            key_of(ek, tno, first + at + i);
            float v[DIM];
            unit(v, first + at + i);
            cache_request r = req(tenant, ek, pk, v, 0, NULL);
            char body[64];
            snprintf(body, sizeof body, "{\"n\":%d}", first + at + i);
            b->ops->store(b, base, &r, "q", body, strlen(body), on_store, &s);
        }
        wait_done(base, &s, batch);
        if (s.done != batch || s.status != CACHE_STATUS_OK) return -1;
        at += batch;
    }
    return 0;
}

static void test_backend_admin(void)
{
    if (!have_node()) SKIP("node is not installed");
    if (server_start("2.5", 0)) SKIP("the Milvus test server did not start");
    char err[512] = "";
    cache_backend *b = open_backend("admin_unit", DIM, "m", 0, err);
    CHECK(b && b->ops->admin, "open with an admin op: %s", err);
    if (!b) {
        server_stop();
        return;
    }
    struct event_base *base = event_base_new();
    const char *A = "team-a", *B = "team-b", *EVIL = "evil\" or tenant != \"";
    CHECK(store_many(b, base, A, 1, 0, 3) == 0 && store_many(b, base, B, 2, 0, 2) == 0 &&
              store_many(b, base, EVIL, 3, 0, 1) == 0,
          "stored");
    /* count per tenant, all tenants */
    CHECK_EQ_INT(admin_count(b, base, A), 3);
    CHECK_EQ_INT(admin_count(b, base, B), 2);
    CHECK_EQ_INT(admin_count(b, base, EVIL), 1);
    CHECK_EQ_INT(admin_count(b, base, NULL), 6);
    CHECK_EQ_INT(admin_count(b, base, "nobody"), 0);
    /* list: the tenant's entries as export lines */
    admin_res a = {0};
    admin_run(b, base, CACHE_ADMIN_LIST, A, NULL, &a);
    CHECK(a.done == 1 && a.status == CACHE_STATUS_OK && a.n == 3 && !a.truncated, "list A: %lld (%s)", a.n, a.err);
    int lines = 0, own = 0;
    for (char *p = a.lines, *nl; p && (nl = strchr(p, '\n')); p = nl + 1) {
        *nl = 0;
        cJSON *j = cJSON_Parse(p);
        lines++;
        char want[65];
        for (int i = 0; i < 3; i++) {
            key_of(want, 1, i);
            if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "tenant")) ?: "", A) &&
                !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "exact_key")) ?: "", want))
                own++;
        }
        cJSON_Delete(j);
    }
    CHECK(lines == 3 && own == 3, "three lines of A's own keys (%d, %d)", lines, own);
    /* evict: another tenant's id is "no such entry", its entry stays */
    char kb[65], ka[65];
    key_of(kb, 2, 0);
    key_of(ka, 1, 1);
    admin_run(b, base, CACHE_ADMIN_EVICT, A, kb, &a);
    CHECK(a.done == 1 && a.status == CACHE_STATUS_OK && a.n == 0, "A evicting B's id: n %lld", a.n);
    CHECK_EQ_INT(admin_count(b, base, B), 2);
    admin_run(b, base, CACHE_ADMIN_EVICT, A, ka, &a);
    CHECK(a.done == 1 && a.status == CACHE_STATUS_OK && a.n == 1, "A evicts its own: n %lld (%s)", a.n, a.err);
    CHECK_EQ_INT(admin_count(b, base, A), 2);
    admin_run(b, base, CACHE_ADMIN_EVICT, A, ka, &a);
    CHECK(a.status == CACHE_STATUS_OK && a.n == 0, "evicted twice: n %lld", a.n);
    /* an upper-case id names the same entry */
    char KA[65];
    key_of(KA, 1, 2);
    for (char *p = KA; *p; p++)
        if (*p >= 'a' && *p <= 'f') *p = (char)(*p - 32);
    admin_run(b, base, CACHE_ADMIN_EVICT, A, KA, &a);
    CHECK(a.status == CACHE_STATUS_OK && a.n == 1, "upper-case id: n %lld (%s)", a.n, a.err);
    /* clear: one tenant only, the hostile name included */
    admin_run(b, base, CACHE_ADMIN_CLEAR, A, NULL, &a);
    CHECK(a.done == 1 && a.status == CACHE_STATUS_OK && a.n == 1, "clear A: %lld (%s)", a.n, a.err);
    CHECK_EQ_INT(admin_count(b, base, A), 0);
    CHECK_EQ_INT(admin_count(b, base, B), 2);
    CHECK_EQ_INT(admin_count(b, base, EVIL), 1);
    admin_run(b, base, CACHE_ADMIN_CLEAR, EVIL, NULL, &a);
    CHECK(a.status == CACHE_STATUS_OK && a.n == 1, "clear the hostile tenant: %lld", a.n);
    CHECK_EQ_INT(admin_count(b, base, B), 2);
    CHECK_EQ_INT(admin_count(b, base, NULL), 2);
    /* the shared tenant of scope global ("") is a tenant of its own */
    CHECK(store_many(b, base, "", 4, 0, 2) == 0, "shared entries stored");
    CHECK_EQ_INT(admin_count(b, base, ""), 2);
    admin_run(b, base, CACHE_ADMIN_CLEAR, "", NULL, &a);
    CHECK(a.status == CACHE_STATUS_OK && a.n == 2 && admin_count(b, base, B) == 2, "clear of the shared entries");
    /* a listing pages 256 rows at a time */
    CHECK(store_many(b, base, "pages", 5, 0, 600) == 0, "600 stored");
    admin_run(b, base, CACHE_ADMIN_LIST, "pages", NULL, &a);
    int nl = 0;
    for (size_t i = 0; i < a.len; i++) nl += a.lines[i] == '\n';
    CHECK(a.status == CACHE_STATUS_OK && a.n == 600 && nl == 600 && !a.truncated, "600 listed in pages: %lld, %d",
          a.n, nl);
    /* clear of every tenant */
    admin_run(b, base, CACHE_ADMIN_CLEAR, NULL, NULL, &a);
    CHECK(a.status == CACHE_STATUS_OK && a.n == 602, "clear all: %lld", a.n);
    CHECK_EQ_INT(admin_count(b, base, NULL), 0);
    free(a.lines);
    b->ops->close(b);
    event_base_free(base);
    server_stop();
}

/* Past Milvus's query window (offset + limit <= 16,384) a listing stops and says so. */
static void test_backend_admin_list_window(void)
{
    if (!have_node()) SKIP("node is not installed");
    server_stateless = 1;
    int started = server_start("2.6", 0);
    server_stateless = 0;
    if (started) SKIP("the Milvus test server did not start");
    char err[512] = "";
    cache_backend *b = open_backend("admin_window", DIM, "m", 0, err);
    CHECK(b, "open: %s", err);
    if (!b) {
        server_stop();
        return;
    }
    struct event_base *base = event_base_new();
    CHECK(store_many(b, base, "big", 6, 0, 16500) == 0, "16,500 stored");
    admin_res a = {0};
    admin_run(b, base, CACHE_ADMIN_LIST, "big", NULL, &a);
    int nl = 0;
    for (size_t i = 0; i < a.len; i++) nl += a.lines[i] == '\n';
    CHECK(a.status == CACHE_STATUS_OK && a.n == 16384 && nl == 16384 && a.truncated == 1 && a.total == 16500,
          "window: n %lld lines %d truncated %d total %lld (%s)", a.n, nl, a.truncated, a.total, a.err);
    /* exactly the window: nothing is cut */
    admin_run(b, base, CACHE_ADMIN_CLEAR, "big", NULL, &a);
    CHECK(a.status == CACHE_STATUS_OK && a.n == 16500, "cleared %lld", a.n);
    CHECK(store_many(b, base, "big", 6, 0, 16384) == 0, "16,384 stored");
    admin_run(b, base, CACHE_ADMIN_LIST, "big", NULL, &a);
    CHECK(a.status == CACHE_STATUS_OK && a.n == 16384 && a.truncated == 0 && a.total == 16384,
          "16,384: all listed, not truncated (n %lld truncated %d total %lld)", a.n, a.truncated, a.total);
    free(a.lines);
    b->ops->close(b);
    event_base_free(base);
    server_stop();
}

static void fault(const char *json)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "curl -s -o /dev/null -X POST %s/_test/faults -d '%s'", server_url, json);
    CHECK(system(cmd) == 0, "fault %s", json);
}

/* Milvus errors, slow or down: an error with a sentence, at once or within connection.timeout;
 * never a hang. */
static void test_backend_admin_failures(void)
{
    if (!have_node()) SKIP("node is not installed");
    if (server_start("2.4.0", 0)) SKIP("the Milvus test server did not start");
    char err[512] = "";
    milvus_options o = {0};
    sr_milvus_config *cfg = test_config("admin_fail");
    cfg->connection.timeout = 1; /* the admin calls' bound */
    o.cfg = cfg;
    o.dim = DIM;
    o.embedding_model_id = "m";
    int degraded = 0;
    cache_backend *b = milvus_backend_open(&o, &degraded, err, sizeof err);
    CHECK(b && !degraded, "open on 2.4.0: %s", err);
    if (!b) {
        server_stop();
        return;
    }
    struct event_base *base = event_base_new();
    CHECK(store_many(b, base, "t", 7, 0, 3) == 0, "stored");
    admin_res a = {0};
    admin_run(b, base, CACHE_ADMIN_EVICT, "t", NULL, &a);
    CHECK(a.status == CACHE_STATUS_ERROR && !strcmp(a.reason, "invalid_id"), "a NULL id is refused");
    /* an error code on the count: nothing removed, the sentence says so */
    fault("{\"mode\":\"code\",\"code\":65535,\"count\":1,\"match\":\"entities/query\"}");
    admin_run(b, base, CACHE_ADMIN_CLEAR, "t", NULL, &a);
    CHECK(a.done == 1 && a.status == CACHE_STATUS_ERROR && strstr(a.err, "count failed") &&
              strstr(a.err, "nothing was removed") && strstr(a.err, server_url) && !strcmp(a.reason, "unexpected"),
          "code on count: %s (%s)", a.err, a.reason);
    for (int i = 0; i < 100 && !b->ops->healthy(b); i++) usleep(50000);
    CHECK_EQ_INT(admin_count(b, base, "t"), 3);
    /* an error on the delete: the sentence says the outcome is not known */
    fault("{\"mode\":\"status\",\"status\":500,\"count\":1,\"match\":\"entities/delete\"}");
    admin_run(b, base, CACHE_ADMIN_CLEAR, "t", NULL, &a);
    CHECK(a.status == CACHE_STATUS_ERROR && strstr(a.err, "delete failed") && strstr(a.err, "may have been removed"),
          "500 on delete: %s", a.err);
    for (int i = 0; i < 100 && !b->ops->healthy(b); i++) usleep(50000);
    /* 2.4.0: delete answers {} (no deleteCount): the count before the delete is the answer */
    admin_run(b, base, CACHE_ADMIN_CLEAR, "t", NULL, &a);
    CHECK(a.status == CACHE_STATUS_OK && a.n == 3, "clear on 2.4.0 counts what it removed: %lld (%s)", a.n, a.err);
    /* garbage on a page of the listing */
    CHECK(store_many(b, base, "t", 7, 0, 2) == 0, "stored again");
    fault("{\"mode\":\"garbage\",\"count\":1,\"match\":\"entities/query\"}");
    admin_run(b, base, CACHE_ADMIN_LIST, "t", NULL, &a);
    CHECK(a.status == CACHE_STATUS_ERROR && !strcmp(a.reason, "garbage") && a.len == 0, "garbage: %s", a.err);
    for (int i = 0; i < 100 && !b->ops->healthy(b); i++) usleep(50000);
    /* slower than connection.timeout: Milvus's 408 (Request-Timeout) or ours, bounded */
    fault("{\"mode\":\"delay\",\"delay_ms\":3000,\"count\":1,\"match\":\"entities/query\"}");
    uint64_t t0 = util_now_ns();
    admin_run(b, base, CACHE_ADMIN_COUNT, "t", NULL, &a);
    double s = (double)(util_now_ns() - t0) / 1e9;
    CHECK(a.done == 1 && a.status == CACHE_STATUS_ERROR && !strcmp(a.reason, "timeout") && s < 2.5,
          "slow: %s after %.2f s", a.err, s);
    for (int i = 0; i < 100 && !b->ops->healthy(b); i++) usleep(50000);
    /* down: an error (unreachable), then at once while degraded */
    server_stop();
    t0 = util_now_ns();
    admin_run(b, base, CACHE_ADMIN_COUNT, "t", NULL, &a);
    s = (double)(util_now_ns() - t0) / 1e9;
    CHECK(a.done == 1 && a.status == CACHE_STATUS_ERROR && !strcmp(a.reason, "unreachable") && s < 2.5,
          "down: %s (%s) after %.2f s", a.err, a.reason, s);
    memset(&a, 0, sizeof a);
    b->ops->admin(b, base, CACHE_ADMIN_CLEAR, "t", NULL, on_admin, &a);
    CHECK(a.done == 1 && a.status == CACHE_STATUS_ERROR && !strcmp(a.reason, "degraded") &&
              strstr(a.err, "not answering") && strstr(a.err, "nothing was removed"),
          "degraded: at once, %s", a.err);
    free(a.lines);
    b->ops->close(b);
    event_base_free(base);
    unlink(state_file);
}

int main(void)
{
    RUN(test_answer_success_codes);
    RUN(test_answer_errors_by_code);
    RUN(test_int64_both_forms);
    RUN(test_filter_literal_hostile);
    RUN(test_vector_writer);
    RUN(test_body_encoding);
    RUN(test_utf8_prefix);
    RUN(test_rows_to_candidates);
    RUN(test_conversation_field);
    RUN(test_parser_random_inputs);
    RUN(test_backend_unreachable_at_start);
    RUN(test_backend_store_lookup);
    RUN(test_backend_ttl_and_purge);
    RUN(test_backend_failures_and_recovery);
    RUN(test_admin_filter_and_count);
    RUN(test_admin_export_line);
    RUN(test_backend_admin);
    RUN(test_backend_admin_list_window);
    RUN(test_backend_admin_failures);
    TEST_MAIN_END();
}
