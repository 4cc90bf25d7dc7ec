/* The cache with real embeddings (USE-lite) on real conversations: every
 * two-turn case of tests/data/cache/contextual_queries.json is stored
 * (keys from the chat request, vectors of the follow-up and of the earlier
 * turns); a follow-up must then hit under its own first turn and never return
 * an answer stored under another first turn. Also: paraphrases of
 * cache_cases.json questions hit, different questions do not. Skips when
 * the model (scripts/fetch-model.sh) is absent. */
#include "cache/cache.h"
#include "cache/keys.h"
#include "core/util.h"
#include "embed/embed.h"
#include "test.h"
#include <cjson/cJSON.h>

static embed_model *model;
static embed_state *state;
static int dim;

static int load_model(void)
{
    if (model) return 1;
    const char *root = getenv("SEMROUTER_ROOT");
    char path[1024], err[256];
    snprintf(path, sizeof path, "%s/models/use-lite", root ? root : ".");
    embed_options o = {.type = EMBED_USE_LITE, .path = path};
    model = embed_load(&o, err, sizeof err);
    if (!model) return 0;
    state = embed_state_new(model);
    dim = embed_dim(model);
    return state != NULL;
}

static cJSON *load_json(const char *name)
{
    char rel[256], path[1024], err[256];
    snprintf(rel, sizeof rel, "cache/%s", name);
    test_data_path(rel, path, sizeof path);
    size_t len;
    char *text = util_read_file(path, &len, err, sizeof err);
    if (!text) return NULL;
    cJSON *j = cJSON_ParseWithLength(text, len);
    free(text);
    return j;
}

static void embed(const char *text, float *out)
{
    char err[256];
    if (embed_text(model, state, text, strlen(text), out, NULL, err, sizeof err))
        memset(out, 0, (size_t)dim * sizeof *out);
}

static const char *field(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* Vectors of every case's texts, embedded once: main query, main response, follow-up. */
static float *case_vecs;
static const float *vec_of(int i, int which)
{
    return case_vecs + ((size_t)i * 3 + which) * dim;
}

/* Builds the two-turn request (first turn of case ctx, follow-up of case q),
 * computes its keys into k and points r at the matching vectors. */
static int request_of(const cJSON *cases, int ctx, int q, cache_keys *k, cache_request *r)
{
    const cJSON *c = cJSON_GetArrayItem(cases, ctx), *f = cJSON_GetArrayItem(cases, q);
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "model", "auto");
    cJSON *msgs = cJSON_AddArrayToObject(req, "messages");
    const char *roles[3] = {"user", "assistant", "user"};
    const char *texts[3] = {field(c, "Main Query"), field(c, "Main Query Response"),
                            field(f, "Follow-Up Query")};
    for (int i = 0; i < 3; i++) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "role", roles[i]);
        cJSON_AddStringToObject(m, "content", texts[i]);
        cJSON_AddItemToArray(msgs, m);
    }
    char err[256];
    int rc = cache_keys_compute(req, "tenant", embed_model_id(model), k, err, sizeof err);
    cJSON_Delete(req);
    if (rc || !k->semantic_ok || k->n_context != 2 || strcmp(k->query, texts[2]) ||
        strcmp(k->context[0], texts[0]) || strcmp(k->context[1], texts[1]))
        return -1;
    static float ctx_buf[2 * 4096];
    if (dim > 4096) return -1;
    memcpy(ctx_buf, vec_of(ctx, 0), (size_t)dim * sizeof(float));
    memcpy(ctx_buf + dim, vec_of(ctx, 1), (size_t)dim * sizeof(float));
    memset(r, 0, sizeof *r);
    r->tenant = "tenant";
    r->exact_key = k->exact;
    r->partition_key = k->partition;
    r->query_vec = vec_of(q, 2);
    r->n_context = 2;
    r->context_vecs = ctx_buf;
    return 0;
}

static void followup_hits_only_under_its_first_turn(void)
{
    cJSON *cases = load_json("contextual_queries.json");
    CHECK(cases != NULL, "tests/data/cache/contextual_queries.json not found");
    if (!cases) return;
    if (!load_model()) {
        cJSON_Delete(cases);
        SKIP("models/use-lite not found (run scripts/fetch-model.sh)");
    }
    int n = cJSON_GetArraySize(cases);
    case_vecs = malloc((size_t)n * 3 * dim * sizeof *case_vecs);
    static const char *const names[3] = {"Main Query", "Main Query Response", "Follow-Up Query"};
    for (int i = 0; i < n; i++)
        for (int w = 0; w < 3; w++)
            embed(field(cJSON_GetArrayItem(cases, i), names[w]), (float *)vec_of(i, w));
    cache_options o;
    cache_options_default(&o, dim);
    char err[256];
    cache *c = cache_open(&o, err, sizeof err);
    for (int i = 0; i < n; i++) {
        cache_keys k;
        cache_request r;
        if (request_of(cases, i, i, &k, &r)) {
            CHECK(0, "case %d: keys or texts wrong", i);
            continue;
        }
        char body[64];
        snprintf(body, sizeof body, "{\"case\":%d}", i);
        CHECK(cache_store(c, &r, k.query, body, strlen(body), err, sizeof err) == 0, "%s", err);
        cache_keys_free(&k);
    }
    char other_exact[65];
    util_sha256_hex("no exact hit", 12, other_exact);
    int own_hits = 0, wrong = 0, cross_hits = 0;
    for (int i = 0; i < n; i++) {
        for (int shift = 0; shift < 3; shift++) {
            int j = (i + shift * 37) % n; /* first turn of case j, follow-up of case i */
            cache_keys k;
            cache_request r;
            if (request_of(cases, j, i, &k, &r)) continue;
            r.exact_key = other_exact; /* semantic tier only */
            cache_hit h;
            if (cache_lookup(c, &r, -1, &h) == 1) {
                /* Right when the entry was stored under the same first turn
                 * (the data holds a few duplicated conversations). */
                int m = atoi(h.body + 8);
                const cJSON *got = cJSON_GetArrayItem(cases, m),
                            *ctx = cJSON_GetArrayItem(cases, j);
                if (!got || strcmp(field(got, "Main Query"), field(ctx, "Main Query"))) {
                    wrong++;
                    if (wrong <= 3)
                        printf("     follow-up %d under first turn %d returned %s (sim %.3f)\n", i,
                               j, h.body, h.similarity);
                } else if (shift == 0) {
                    own_hits++;
                } else {
                    cross_hits++; /* same first turn in two cases */
                }
                free(h.body);
            }
            cache_keys_free(&k);
        }
    }
    CHECK_EQ_INT(wrong, 0);
    CHECK_EQ_INT(own_hits, n);
    printf("     %d cases: %d own hits, %d wrong answers, %d legitimate cross hits\n", n, own_hits,
           wrong, cross_hits);
    free(case_vecs);
    cache_close(c);
    cJSON_Delete(cases);
}

static void paraphrases_hit_other_questions_miss(void)
{
    cJSON *groups = load_json("cache_cases.json");
    CHECK(groups != NULL, "tests/data/cache/cache_cases.json not found");
    if (!groups) return;
    if (!load_model()) {
        cJSON_Delete(groups);
        SKIP("models/use-lite not found (run scripts/fetch-model.sh)");
    }
    cache_options o;
    cache_options_default(&o, dim);
    char err[256];
    cache *c = cache_open(&o, err, sizeof err);
    float *v = malloc((size_t)dim * sizeof *v);
    char part[65], exact[65];
    util_sha256_hex("partition", 9, part);
    int g = 0, n_groups = cJSON_GetArraySize(groups);
    const cJSON *grp;
    cJSON_ArrayForEach(grp, groups)
    {
        const char *q = field(grp, "original_question");
        embed(q, v);
        util_sha256_hex(q, strlen(q), exact);
        cache_request r = {
            .tenant = "t", .exact_key = exact, .partition_key = part, .query_vec = v};
        char body[32];
        snprintf(body, sizeof body, "G%d", g++);
        cache_store(c, &r, q, body, strlen(body), err, sizeof err);
    }
    int hits = 0, total = 0, wrong = 0;
    g = 0;
    cJSON_ArrayForEach(grp, groups)
    {
        const cJSON *s;
        char want[32];
        snprintf(want, sizeof want, "G%d", g++);
        cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(grp, "similar_questions"))
        {
            embed(s->valuestring, v);
            util_sha256_hex(s->valuestring, strlen(s->valuestring), exact);
            cache_request r = {
                .tenant = "t", .exact_key = exact, .partition_key = part, .query_vec = v};
            cache_hit h;
            total++;
            if (cache_lookup(c, &r, 0.75f, &h) == 1) {
                if (!strcmp(h.body, want))
                    hits++;
                else
                    wrong++;
                free(h.body);
            }
        }
    }
    CHECK_EQ_INT(wrong, 0);
    CHECK(hits * 2 >= total, "only %d of %d paraphrases hit at 0.75", hits, total);
    printf("     %d groups: %d of %d paraphrases hit at 0.75, %d wrong\n", n_groups, hits, total,
           wrong);
    free(v);
    cache_close(c);
    cJSON_Delete(groups);
}

int main(void)
{
    RUN(followup_hits_only_under_its_first_turn);
    RUN(paraphrases_hit_other_questions_miss);
    if (state) embed_state_free(state);
    if (model) embed_free(model);
    TEST_MAIN_END();
}
