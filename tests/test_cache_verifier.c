/* Tests for the cache hit verifier (verify.c) and the conversation match
 * (select.c) with real embeddings (USE-lite) and the shipped model
 * (config/cache_verifier.model):
 *   - model file: save/load round trip, damaged files refused, training on a
 *     separable toy set;
 *   - QQP held-out sample (tests/data/cache/qqp_heldout_sample.csv, every 4th
 *     pair of the held-out fifth that neither training nor tuning saw):
 *     precision at the default operating point, and against cosine alone at
 *     the same recall;
 *   - conversations (data/cache/conversations_dev.jsonl, 106 two-turn
 *     conversations in 53 topically close pairs): the same conversation in
 *     other words hits, a follow-up under another first turn never returns
 *     this conversation's answer; contextual_queries.json (unparaphrased).
 * The floors asserted are the values measured when the model was shipped
 * (README "Cache hit verifier"), rounded down. Skips the embedding cases when
 * models/use-lite is absent (scripts/fetch-model.sh). */
#include "cache/cache.h"
#include "cache/keys.h"
#include "cache/select.h"
#include "cache/verify.h"
#include "core/util.h"
#include "embed/embed.h"
#include "test.h"
#include <cjson/cJSON.h>
#include <unistd.h>

#define THRESHOLD 0.75f /* config/config.yaml semantic_cache.similarity_threshold */
#define MIN_P 0.65f     /* semantic_cache.verifier.min_probability */
#define CTX_MIN_P 0.1f /* semantic_cache.verifier.context_min_probability */
#define FU_MIN_P 0.4f  /* .follow_up_min_probability */
#define FU_THRESHOLD 0.65f /* .follow_up_similarity_threshold */

static embed_model *model;
static embed_state *state;
static int dim;
static cache_verifier *verifier;
static cache_verifier *follow_up_verifier; /* config/cache_followup.model */

static const char *root(void)
{
    const char *r = getenv("SEMROUTER_ROOT");
    return r ? r : ".";
}

static int load_verifier(void)
{
    if (verifier) return follow_up_verifier != NULL;
    char path[1024], err[256];
    snprintf(path, sizeof path, "%s/config/cache_verifier.model", root());
    verifier = cache_verifier_load(path, err, sizeof err);
    if (!verifier) printf("     %s\n", err);
    if (!follow_up_verifier) { /* else trace's own */
        snprintf(path, sizeof path, "%s/config/cache_followup.model", root());
        follow_up_verifier = cache_verifier_load(path, err, sizeof err);
        if (!follow_up_verifier) printf("     %s\n", err);
    }
    return verifier && follow_up_verifier;
}

static int load_model(void)
{
    if (model) return 1;
    char path[1024], err[256];
    snprintf(path, sizeof path, "%s/models/use-lite", root());
    embed_options o = {.type = EMBED_USE_LITE, .path = path};
    model = embed_load(&o, err, sizeof err);
    if (!model) return 0;
    state = embed_state_new(model);
    dim = embed_dim(model);
    return state != NULL;
}

/* Embeddings memoised by text (the sets repeat texts). */
typedef struct memo {
    char *text;
    float *vec;
} memo;
static memo *memos;
static int n_memos, cap_memos;

static const float *vec(const char *text)
{
    for (int i = 0; i < n_memos; i++)
        if (!strcmp(memos[i].text, text)) return memos[i].vec;
    if (n_memos == cap_memos) {
        cap_memos = cap_memos ? cap_memos * 2 : 256;
        memos = realloc(memos, sizeof *memos * (size_t)cap_memos);
    }
    float *v = malloc(sizeof(float) * (size_t)dim);
    char err[256];
    if (embed_text(model, state, text, strlen(text), v, NULL, err, sizeof err))
        memset(v, 0, sizeof(float) * (size_t)dim);
    memos[n_memos].text = strdup(text);
    memos[n_memos].vec = v;
    return memos[n_memos++].vec;
}

static float cosine(const float *a, const float *b)
{
    float s = 0;
    for (int i = 0; i < dim; i++)
        s += a[i] * b[i];
    return s;
}

/* ------------------------------------------------------------ model file */

static void model_round_trip_and_damage(void)
{
    if (!load_verifier()) {
        CHECK(0, "config/cache_verifier.model does not load");
        return;
    }
    const char *a = "How do I learn Python quickly?", *b = "What’s the fastest way to learn Python? 🐍";
    const char *c = "How do I learn Java quickly?";
    float p1 = cache_verifier_score(verifier, a, strlen(a), b, strlen(b), 0.88f);
    float p2 = cache_verifier_score(verifier, a, strlen(a), c, strlen(c), 0.88f);
    CHECK(p1 >= 0 && p1 <= 1 && p2 >= 0 && p2 <= 1, "%f %f", p1, p2);
    CHECK(p1 > p2, "another language must score lower: %f vs %f", p1, p2);
    /* the batch form (request parsed once) gives the same numbers */
    const char *cands[2] = {b, c};
    size_t lens[2] = {strlen(b), strlen(c)};
    float coss[2] = {0.88f, 0.88f}, many[2];
    cache_verifier_score_many(verifier, a, strlen(a), 2, cands, lens, coss, many);
    CHECK(many[0] == p1 && many[1] == p2, "%f %f vs %f %f", many[0], many[1], p1, p2);
    char path[] = "/tmp/semrouter-verifier-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    char err[256] = "";
    CHECK_EQ_INT(cache_verifier_save(verifier, path, err, sizeof err), 0);
    cache_verifier *v2 = cache_verifier_load(path, err, sizeof err);
    CHECK(v2 != NULL, "%s", err);
    if (v2) {
        CHECK_NEAR(cache_verifier_score(v2, a, strlen(a), b, strlen(b), 0.88f), p1, 1e-5);
        CHECK_NEAR(cache_verifier_score(v2, a, strlen(a), c, strlen(c), 0.88f), p2, 1e-5);
        cache_verifier_free(v2);
    }
    /* damaged files: a clear error, never a half model */
    size_t len;
    char *text = util_read_file(path, &len, err, sizeof err);
    const char *cases[] = {"semrouter-verifier 2\n", "features 31 cosine\n", NULL};
    for (int i = 0; cases[i]; i++) {
        FILE *f = fopen(path, "w");
        fputs(cases[i], f);
        fclose(f);
        err[0] = 0;
        CHECK(cache_verifier_load(path, err, sizeof err) == NULL && err[0], "case %d: %s", i, err);
    }
    FILE *f = fopen(path, "w"); /* cut in the middle of the trees */
    fwrite(text, 1, len / 3, f);
    fclose(f);
    err[0] = 0;
    CHECK(cache_verifier_load(path, err, sizeof err) == NULL && strstr(err, "malformed"), "%s", err);
    free(text);
    unlink(path);
    snprintf(path, sizeof path, "/nonexistent/verifier.model");
    err[0] = 0;
    CHECK(cache_verifier_load(path, err, sizeof err) == NULL && err[0], "missing file");
}

/* The trainer learns a rule the features carry: a duplicate is a pair whose
 * texts share their words (and the cosine is high). */
static void trainer_learns_a_separable_set(void)
{
    const char *words[] = {"apple", "banana", "cherry", "grape", "lemon", "mango", "melon", "peach",
                           "pear", "plum", "kiwi", "lime", "fig", "date", "olive", "guava"};
    enum { N = 400 };
    char *ta[N], *tb[N];
    const char *texts[2 * N];
    size_t lens[2 * N];
    float x[N * CACHE_VERIFY_NFEAT], cos[N];
    int y[N];
    for (int i = 0; i < N; i++) {
        int w1 = i % 16, w2 = (i / 16) % 16, w3 = (i * 7 + 3) % 16;
        y[i] = i % 2;
        char a[128], b[128];
        snprintf(a, sizeof a, "How do I grow a %s and a %s tree?", words[w1], words[w2]);
        if (y[i])
            snprintf(b, sizeof b, "What is the way to grow a %s and a %s tree?", words[w1], words[w2]);
        else
            snprintf(b, sizeof b, "How do I grow a %s and a %s tree?", words[w1], words[(w3 == w2 ? w3 + 1 : w3) % 16]);
        ta[i] = strdup(a);
        tb[i] = strdup(b);
        texts[2 * i] = ta[i];
        texts[2 * i + 1] = tb[i];
        lens[2 * i] = strlen(a);
        lens[2 * i + 1] = strlen(b);
        cos[i] = 0.9f; /* the cosine does not tell them apart */
    }
    cache_idf *idf = cache_idf_build(texts, lens, 2 * N);
    CHECK(idf != NULL, "idf");
    for (int i = 0; idf && i < N; i++)
        cache_verify_features(idf, ta[i], strlen(ta[i]), tb[i], strlen(tb[i]), cos[i],
                              x + (size_t)i * CACHE_VERIFY_NFEAT);
    cache_gbt_params p;
    cache_gbt_params_default(&p);
    p.trees = 30;
    cache_verifier *v = idf ? cache_verifier_train(idf, x, y, N, &p) : NULL;
    CHECK(v != NULL, "train");
    int right = 0;
    for (int i = 0; v && i < N; i++)
        right += (cache_verifier_predict(v, x + (size_t)i * CACHE_VERIFY_NFEAT) >= 0.5f) == y[i];
    CHECK(right >= N * 95 / 100, "%d of %d", right, N);
    CHECK(cache_verifier_set_vetoes(v, "negation_diff,no_such_feature", 0.1f) == -1, "unknown name");
    cache_verifier_free(v);
    cache_idf_free(idf);
    for (int i = 0; i < N; i++) {
        free(ta[i]);
        free(tb[i]);
    }
}

/* ------------------------------------------------------------ QQP held-out sample */

static char *csv_field(char **p)
{
    char *s = *p, *out = s, *w = s;
    if (*s == '"') {
        s++;
        out = w = s;
        while (*s && !(*s == '"' && s[1] != '"')) {
            if (*s == '"') s++;
            *w++ = *s++;
        }
        if (*s == '"') s++;
    } else {
        while (*s && *s != ',' && *s != '\n')
            w++, s++;
    }
    if (*s == ',') s++;
    else if (*s == '\n') s++;
    *w = 0;
    *p = s;
    return out;
}

static void qqp_heldout_precision(void)
{
    if (!load_verifier()) {
        CHECK(0, "model");
        return;
    }
    if (!load_model()) SKIP("models/use-lite not found (run scripts/fetch-model.sh)");
    char path[1024], err[256];
    snprintf(path, sizeof path, "%s/tests/data/cache/qqp_heldout_sample.csv", root());
    size_t len;
    char *text = util_read_file(path, &len, err, sizeof err);
    CHECK(text != NULL, "%s", err);
    if (!text) return;
    char *p = strchr(text, '\n') + 1;
    int n = 0, pos = 0;
    float cs[1000], ps[1000];
    int ys[1000];
    while (*p && n < 1000) {
        char *q1 = csv_field(&p), *q2 = csv_field(&p), *lab = csv_field(&p);
        cs[n] = cosine(vec(q1), vec(q2));
        ps[n] = cache_verifier_score(verifier, q1, strlen(q1), q2, strlen(q2), cs[n]);
        ys[n] = lab[0] == '1';
        pos += ys[n];
        n++;
    }
    free(text);
    int tp = 0, fp = 0;
    for (int i = 0; i < n; i++)
        if (cs[i] >= THRESHOLD && ps[i] >= MIN_P) tp += ys[i], fp += !ys[i];
    double prec = tp + fp ? (double)tp / (tp + fp) : 0, rec = (double)tp / pos;
    /* cosine alone at (at least) the same recall: the highest threshold reaching it */
    int ctp = 0, cfp = 0;
    for (float t = 0.99f; t > 0.3f; t -= 0.005f) {
        ctp = cfp = 0;
        for (int i = 0; i < n; i++)
            if (cs[i] >= t) ctp += ys[i], cfp += !ys[i];
        if (ctp >= tp) break;
    }
    double cprec = ctp + cfp ? (double)ctp / (ctp + cfp) : 0;
    printf("     %d held-out pairs (%d duplicates): verifier precision %.3f recall %.3f; cosine "
           "alone at that recall: precision %.3f\n",
           n, pos, prec, rec, cprec);
    CHECK(n > 500, "%d pairs", n);
    CHECK(prec >= 0.76, "precision %.3f", prec);
    CHECK(rec >= 0.45, "recall %.3f", rec);
    CHECK(prec >= cprec + 0.05, "verifier %.3f vs cosine %.3f", prec, cprec);
}

/* ------------------------------------------------------------ conversations */

/* A chat request of n (role, text) turns: keys, vectors, request. */
typedef struct creq {
    cache_keys k;
    cache_request r;
    float ctx[8 * 512];
} creq;

static int creq_make(creq *c, int n, const char *const *roles, const char *const *texts)
{
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "model", "auto");
    cJSON *msgs = cJSON_AddArrayToObject(req, "messages");
    for (int i = 0; i < n; i++) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "role", roles[i]);
        cJSON_AddStringToObject(m, "content", texts[i]);
        cJSON_AddItemToArray(msgs, m);
    }
    char err[256];
    int rc = cache_keys_compute(req, "tenant", embed_model_id(model), &c->k, err, sizeof err);
    cJSON_Delete(req);
    if (rc || !c->k.semantic_ok || c->k.n_context != n - 1 || n > 8 || dim > 512) return -1;
    for (int i = 0; i < c->k.n_context; i++)
        memcpy(c->ctx + (size_t)i * dim, vec(c->k.context[i]), sizeof(float) * (size_t)dim);
    memset(&c->r, 0, sizeof c->r);
    c->r.tenant = "tenant";
    c->r.exact_key = c->k.exact;
    c->r.partition_key = c->k.partition;
    c->r.query_vec = vec(c->k.query);
    c->r.n_context = c->k.n_context;
    c->r.context_vecs = c->ctx;
    c->r.context_texts = (const char *const *)c->k.context;
    c->r.context_lens = c->k.context_len;
    c->r.context_roles = c->k.context_role;
    return 0;
}

/* Looks c up the way chat.c does (semantic tier; exact key replaced). Returns
 * the served body's conversation id (atoi after "{\"conv\":"), or -1. */
static int ask(cache *ch, creq *c, const cache_verifier *v, float *prob)
{
    char other[65];
    util_sha256_hex("never stored", 12, other);
    c->r.exact_key = other;
    cache_candidates cands;
    int n = cache_search(ch, &c->r, 8, v && c->r.n_context ? FU_THRESHOLD : THRESHOLD, &cands);
    int got = -1;
    if (n > 0) {
        cache_select_input in;
        cache_select_input_default(&in);
        in.query = c->k.query;
        in.query_len = c->k.query_len;
        in.query_vec = c->r.query_vec;
        in.dim = dim;
        in.n_context = c->r.n_context;
        in.context_vecs = c->r.context_vecs;
        in.context_texts = c->r.context_texts;
        in.context_lens = c->r.context_lens;
        in.context_roles = c->r.context_roles;
        in.threshold = THRESHOLD;
        in.verifier = v;
        in.min_probability = MIN_P;
        in.context_min_probability = CTX_MIN_P;
        if (v) {
            in.follow_up_threshold = FU_THRESHOLD;
            in.follow_up_min_probability = FU_MIN_P;
            in.follow_up_verifier = follow_up_verifier;
        }
        cache_selection sel;
        int pick = cache_select(&in, &cands, &sel);
        if (prob) *prob = sel.probability;
        if (pick >= 0) got = atoi(strchr(cands.v[pick].body, ':') + 1);
    }
    cache_candidates_free(&cands);
    return got;
}

static cJSON *load_lines(const char *path)
{
    char err[256];
    size_t len;
    char *text = util_read_file(path, &len, err, sizeof err);
    if (!text) return NULL;
    cJSON *arr = cJSON_CreateArray();
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *o = cJSON_Parse(line);
        if (o) cJSON_AddItemToArray(arr, o);
    }
    free(text);
    return arr;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static void store_conv(cache *ch, int id, const char *u1, const char *a1, const char *u2)
{
    static const char *const roles[3] = {"user", "assistant", "user"};
    const char *texts[3] = {u1, a1, u2};
    creq c;
    if (creq_make(&c, 3, roles, texts)) {
        CHECK(0, "conversation %d: keys", id);
        return;
    }
    char body[64], err[256];
    snprintf(body, sizeof body, "{\"conv\":%d}", id);
    CHECK(cache_store(ch, &c.r, c.k.query, body, strlen(body), err, sizeof err) == 0, "%s", err);
    cache_keys_free(&c.k);
}

/* Asks [u1, a1, u2]; returns the conversation served or -1. */
static int ask_conv(cache *ch, const char *u1, const char *a1, const char *u2, const cache_verifier *v)
{
    static const char *const roles[3] = {"user", "assistant", "user"};
    const char *texts[3] = {u1, a1, u2};
    creq c;
    if (creq_make(&c, 3, roles, texts)) return -2;
    int got = ask(ch, &c, v, NULL);
    cache_keys_free(&c.k);
    return got;
}

typedef struct conv_stats {
    int n, para_hits[2], own_hits[2], cross[2], cross_asked, wrong_fu[2], other_asked;
} conv_stats;

/* Stores every conversation of FILE (data/cache/...) and asks them again:
 * the first turn reworded with its answer as stored + the follow-up reworded
 * (should hit), other follow-ups of the same conversation and this follow-up
 * under a close and a far conversation's first turn (must not). Index 0 of
 * each stat: verifier + conversation match; 1: cosine + the old context rule.
 * Returns 0, or -1 when the file or a model is missing (checked/skipped). */
static int run_conversations(const char *file, conv_stats *st)
{
    memset(st, 0, sizeof *st);
    char path[1024], err[256];
    snprintf(path, sizeof path, "%s/data/cache/%s", root(), file);
    cJSON *convs = load_lines(path);
    CHECK(convs != NULL, "%s not found", path);
    if (!convs) return -1;
    int n = cJSON_GetArraySize(convs);
    st->n = n;
    cache_options o;
    cache_options_default(&o, dim);
    cache *ch = cache_open(&o, err, sizeof err);
    for (int i = 0; i < n; i++) {
        const cJSON *c = cJSON_GetArrayItem(convs, i);
        store_conv(ch, i, str(c, "first"), str(c, "answer"), str(c, "follow_up"));
    }
    const cache_verifier *settings[2] = {verifier, NULL};
    const char *names[2] = {"verifier + conversation match", "cosine + old context rule"};
    int *para_hits = st->para_hits, *cross = st->cross, *own_hits = st->own_hits;
    int *wrong_fu = st->wrong_fu;
    int cross_asked = 0, other_asked = 0;
    for (int s = 0; s < 2; s++) {
        const cache_verifier *v = settings[s];
        for (int i = 0; i < n; i++) {
            const cJSON *c = cJSON_GetArrayItem(convs, i);
            const char *u1 = str(c, "first"), *u1p = str(c, "first_paraphrase"), *a1 = str(c, "answer");
            const char *u2 = str(c, "follow_up"), *u2p = str(c, "follow_up_paraphrase");
            /* the first turn in other words, its answer byte-identical (as when
             * that turn was itself served from the cache) */
            para_hits[s] += ask_conv(ch, u1p, a1, u2p, v) == i;
            own_hits[s] += ask_conv(ch, u1, a1, u2p, v) == i;
            /* another follow-up in the same conversation must not get this answer */
            const char *other_fu = str(c, "other_follow_up");
            int wf[2] = {ask_conv(ch, u1, a1, other_fu, v), ask_conv(ch, u1p, a1, other_fu, v)};
            for (int g = 0; g < 2; g++) {
                if (!s) other_asked++;
                if (wf[g] == i) {
                    wrong_fu[s]++;
                    if (wrong_fu[s] <= 3 && !s)
                        printf("     wrong follow-up hit: '%s' got the answer to '%s'\n", other_fu, u2);
                }
            }
            int close = (int)cJSON_GetObjectItemCaseSensitive(c, "close_to")->valuedouble;
            int others[2] = {close, (i + n / 2 + 1) % n};
            for (int k = 0; k < 2; k++) {
                const cJSON *oc = cJSON_GetArrayItem(convs, others[k]);
                if (others[k] == i) continue;
                const char *ou1 = str(oc, "first"), *ou1p = str(oc, "first_paraphrase");
                const char *oa1 = str(oc, "answer");
                /* this follow-up (as written and reworded) under the other first turn */
                int got[4] = {ask_conv(ch, ou1, oa1, u2, v), ask_conv(ch, ou1p, oa1, u2p, v),
                              ask_conv(ch, ou1, oa1, u2p, v), ask_conv(ch, ou1p, oa1, u2, v)};
                for (int g = 0; g < 4; g++) {
                    if (!s) cross_asked++;
                    if (got[g] == i) {
                        cross[s]++;
                        if (cross[s] <= 3 && !s)
                            printf("     cross hit: follow-up of %d under first turn of %d\n", i, others[k]);
                    }
                }
            }
        }
        printf("     %s, %s: paraphrased follow-ups hit %d/%d (%.1f%%), follow-up reworded under the "
               "same first turn %d/%d, cross hits %d of %d, another follow-up served this "
               "answer %d of %d\n",
               file, names[s], para_hits[s], n, 100.0 * para_hits[s] / n, own_hits[s], n, cross[s],
               cross_asked, wrong_fu[s], other_asked);
    }
    st->cross_asked = cross_asked;
    st->other_asked = other_asked;
    cache_close(ch);
    cJSON_Delete(convs);
    return 0;
}

static void paraphrased_conversations(void)
{
    if (!load_verifier()) {
        CHECK(0, "model");
        return;
    }
    if (!load_model()) SKIP("models/use-lite not found (run scripts/fetch-model.sh)");
    conv_stats st;
    if (run_conversations("conversations_dev.jsonl", &st)) return;
    CHECK(st.n >= 100, "%d conversations", st.n);
    /* the hard requirement: never another conversation's answer */
    CHECK_EQ_INT(st.cross[0], 0);
    /* measured when the follow-up model (config/cache_followup.model) was shipped: 1 of 212
     * ("And the integral of it?" served the answer to "And the second derivative?"), 60 of 106
     * paraphrased follow-ups hit (35 with the hit verifier's model scoring them; the issue's
     * target is 80%: not reached, README) */
    CHECK(st.wrong_fu[0] <= 2, "%d of %d", st.wrong_fu[0], st.other_asked);
    CHECK(st.wrong_fu[0] < st.wrong_fu[1], "fewer than the old rule: %d vs %d", st.wrong_fu[0], st.wrong_fu[1]);
    CHECK(st.para_hits[0] >= 58, "%d of %d", st.para_hits[0], st.n);
    CHECK(st.para_hits[0] > st.para_hits[1], "better than the old rule: %d vs %d", st.para_hits[0], st.para_hits[1]);
}

/* The held-out conversations (data/cache/conversations_heldout.jsonl: 56, in
 * 28 other domains, written before any tuning and measured, never tuned on). */
static void heldout_conversations(void)
{
    if (!load_verifier()) {
        CHECK(0, "model");
        return;
    }
    if (!load_model()) SKIP("models/use-lite not found (run scripts/fetch-model.sh)");
    conv_stats st;
    if (run_conversations("conversations_heldout.jsonl", &st)) return;
    CHECK(st.n >= 50, "%d conversations", st.n);
    CHECK_EQ_INT(st.cross[0], 0); /* hard requirement */
    /* measured once per shipped follow-up scoring: with the hit verifier's model 10 of 56
     * paraphrased follow-ups hit (7 with the old rule); with the follow-up model
     * (config/cache_followup.model, floors chosen on the dev set) 17 of 56 (30.4%); 0 of 112
     * other follow-ups got this answer both times. Floors a little below. */
    CHECK(st.para_hits[0] >= 15, "%d of %d", st.para_hits[0], st.n);
    CHECK(st.wrong_fu[0] <= 1, "%d of %d", st.wrong_fu[0], st.other_asked);
}

/* Which model scores what: the follow-up model only the last turn of a candidate in the
 * same conversation state (byte-identical earlier answers); the earlier user turns and a
 * candidate in another state stay with the hit verifier's model. Real texts (curly quotes,
 * emoji, accents); the probabilities served are compared with each model's own score. */
static void follow_up_model_scores_only_the_same_state(void)
{
    if (!load_verifier()) {
        CHECK(0, "model");
        return;
    }
    if (!load_model()) SKIP("models/use-lite not found (run scripts/fetch-model.sh)");
    char err[256];
    cache_options o;
    cache_options_default(&o, dim);
    cache *ch = cache_open(&o, err, sizeof err);
    const char *u1 = "What’s the capital of Australia? 🇦🇺", *a1 = "It’s Canberra — not Sydney.";
    const char *u2 = "How many people live there?", *q2 = "How many people live in that city?";
    store_conv(ch, 7, u1, a1, u2);
    static const char *const roles[3] = {"user", "assistant", "user"};
    /* 0: the same state (answer byte-identical), 1: the same first turn with another answer */
    const char *answers[2] = {a1, "Canberra is the capital of Australia."};
    for (int k = 0; k < 2; k++) {
        const char *texts[3] = {"Which city is the capital of Australia?", answers[k], q2};
        creq c;
        if (creq_make(&c, 3, roles, texts)) {
            CHECK(0, "keys");
            continue;
        }
        char other[65];
        util_sha256_hex("never stored", 12, other);
        c.r.exact_key = other;
        cache_candidates cands;
        int n = cache_search(ch, &c.r, 8, 0.0f, &cands);
        CHECK_EQ_INT(n, 1);
        if (n == 1) {
            cache_select_input in;
            cache_select_input_default(&in);
            in.query = c.k.query;
            in.query_len = c.k.query_len;
            in.query_vec = c.r.query_vec;
            in.dim = dim;
            in.n_context = c.r.n_context;
            in.context_vecs = c.r.context_vecs;
            in.context_texts = c.r.context_texts;
            in.context_lens = c.r.context_lens;
            in.context_roles = c.r.context_roles;
            in.verifier = verifier;
            in.follow_up_verifier = follow_up_verifier;
            in.threshold = 0.0f; /* every candidate is scored: the probabilities are compared */
            in.min_probability = 0.0f;
            in.context_min_probability = 0.0f;
            in.context_threshold = 0.0f;
            in.follow_up_threshold = 0.0f;
            in.follow_up_min_probability = 0.0f;
            CHECK_EQ_INT(cache_context_match(&in, &cands.v[0], NULL), k ? 1 : 2);
            cache_selection sel;
            CHECK_EQ_INT(cache_select(&in, &cands, &sel), 0);
            float cs = cands.v[0].similarity;
            float pf = cache_verifier_score(follow_up_verifier, q2, strlen(q2), u2, strlen(u2), cs);
            float pv = cache_verifier_score(verifier, q2, strlen(q2), u2, strlen(u2), cs);
            CHECK(fabsf(pf - pv) > 1e-3f, "the two models differ on this pair: %.4f %.4f", pf, pv);
            CHECK_NEAR(sel.probability, k ? pv : pf, 1e-6);
            printf("     %s: p %.3f (follow-up model %.3f, hit verifier %.3f, cosine %.3f)\n",
                   k ? "other state" : "same state", sel.probability, pf, pv, cs);
        }
        cache_candidates_free(&cands);
        cache_keys_free(&c.k);
    }
    cache_close(ch);
}

/* The unparaphrased case: each follow-up hits under its own first turn and
 * never returns another conversation's answer. */
static void contextual_queries_with_verifier(void)
{
    if (!load_verifier()) {
        CHECK(0, "model");
        return;
    }
    if (!load_model()) SKIP("models/use-lite not found (run scripts/fetch-model.sh)");
    char path[1024], err[256];
    snprintf(path, sizeof path, "%s/tests/data/cache/contextual_queries.json", root());
    size_t len;
    char *text = util_read_file(path, &len, err, sizeof err);
    cJSON *cases = text ? cJSON_ParseWithLength(text, len) : NULL;
    free(text);
    CHECK(cases != NULL, "%s", path);
    if (!cases) return;
    int n = cJSON_GetArraySize(cases);
    cache_options o;
    cache_options_default(&o, dim);
    cache *ch = cache_open(&o, err, sizeof err);
    for (int i = 0; i < n; i++) {
        const cJSON *c = cJSON_GetArrayItem(cases, i);
        store_conv(ch, i, str(c, "Main Query"), str(c, "Main Query Response"), str(c, "Follow-Up Query"));
    }
    int own = 0, wrong = 0;
    for (int i = 0; i < n; i++) {
        const cJSON *c = cJSON_GetArrayItem(cases, i);
        for (int shift = 0; shift < 3; shift++) {
            int j = (i + shift * 37) % n;
            const cJSON *cj = cJSON_GetArrayItem(cases, j);
            int got = ask_conv(ch, str(cj, "Main Query"), str(cj, "Main Query Response"),
                               str(c, "Follow-Up Query"), verifier);
            if (got < 0) continue;
            /* right when stored under the same first turn (the data repeats a few) */
            const cJSON *g = cJSON_GetArrayItem(cases, got);
            if (strcmp(str(g, "Main Query"), str(cj, "Main Query"))) {
                wrong++;
                if (wrong <= 3)
                    printf("     '%s' under '%s' got the answer stored under '%s' / '%s'\n",
                           str(c, "Follow-Up Query"), str(cj, "Main Query"), str(g, "Main Query"),
                           str(g, "Follow-Up Query"));
            }
            else if (!shift)
                own++;
        }
    }
    printf("     %d cases: %d own hits, %d wrong answers\n", n, own, wrong);
    CHECK_EQ_INT(wrong, 0);
    CHECK(own * 100 >= n * 95, "%d of %d", own, n);
    cache_close(ch);
    cJSON_Delete(cases);
}


/* ------------------------------------------------------------ trace (analysis, not a case) */

static float pair_cos(const char *a, const char *b) { return cosine(vec(a), vec(b)); }

/* "a b": the first turn's words before the follow-up (a reference resolved by
 * putting what it refers to beside it). */
static const char *joined(char *out, size_t cap, const char *a, const char *b)
{
    snprintf(out, cap, "%s %s", a, b);
    return out;
}

/* One probe of the same conversation state: the follow-up q asked after the
 * first turn u (its answer as stored) against the stored (u1, u2). Prints a
 * row: the first turn's hit-verifier probability, the follow-up's cosine and
 * follow-up-model probability, the same two with the first turn joined to
 * each side, and what cache_select served. */
static void trace_row(cache *ch, const char *kind, int id, const char *u, const char *u1,
                      const char *a1, const char *q, const char *u2)
{
    char jq[1024], js[1024];
    float cc = pair_cos(u, u1);
    float ctx_p = strcmp(u, u1) ? cache_verifier_score(verifier, u, strlen(u), u1, strlen(u1), cc) : 1.0f;
    float fc = pair_cos(q, u2);
    float fp = cache_verifier_score(follow_up_verifier, q, strlen(q), u2, strlen(u2), fc);
    joined(jq, sizeof jq, u, q);
    joined(js, sizeof js, u1, u2);
    float jc = pair_cos(jq, js);
    float jp = cache_verifier_score(follow_up_verifier, jq, strlen(jq), js, strlen(js), jc);
    int got = ask_conv(ch, u, a1, q, verifier);
    printf("%s\t%d\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%d\t%s\t%s\n", kind, id, ctx_p, fc, fp, jc, jp,
           got, q, u2);
}

/* build/tests/test_cache_verifier --trace FILE [MODEL]: every conversation of
 * data/cache/FILE stored, then one row per probe (tab-separated, header first):
 * "para" (first turn and follow-up reworded: should hit), "other" / "other_p"
 * (another follow-up of the conversation after the first turn as written /
 * reworded: must not) and "borrowed" (the close conversation's first turn with
 * this conversation's answer and follow-up reworded: a state that only the
 * first-turn check can tell apart). A summary of where the shipped floors
 * lose the paraphrases follows on stderr. MODEL (optional) replaces
 * config/cache_followup.model. For analysis on the dev set. */
static int trace(const char *file, const char *follow_up_model)
{
    if (follow_up_model) { /* another follow-up model to compare (train-verifier --out) */
        char err[256];
        follow_up_verifier = cache_verifier_load(follow_up_model, err, sizeof err);
        if (!follow_up_verifier) {
            fprintf(stderr, "trace: %s\n", err);
            return 1;
        }
    }
    if (!load_verifier() || !load_model()) {
        fprintf(stderr, "trace: models missing\n");
        return 1;
    }
    char path[1024], err[256];
    snprintf(path, sizeof path, "%s/data/cache/%s", root(), file);
    cJSON *convs = load_lines(path);
    if (!convs) {
        fprintf(stderr, "trace: %s not found\n", path);
        return 1;
    }
    int n = cJSON_GetArraySize(convs);
    cache_options o;
    cache_options_default(&o, dim);
    cache *ch = cache_open(&o, err, sizeof err);
    for (int i = 0; i < n; i++) {
        const cJSON *c = cJSON_GetArrayItem(convs, i);
        store_conv(ch, i, str(c, "first"), str(c, "answer"), str(c, "follow_up"));
    }
    printf("kind\tid\tctx_p\tfu_cos\tfu_p\tjoined_cos\tjoined_p\tserved\tasked\tstored\n");
    int hits = 0, first = 0, low_cos = 0, model = 0, rest = 0;
    for (int i = 0; i < n; i++) {
        const cJSON *c = cJSON_GetArrayItem(convs, i);
        const char *u1 = str(c, "first"), *u1p = str(c, "first_paraphrase"), *a1 = str(c, "answer");
        const char *u2 = str(c, "follow_up"), *u2p = str(c, "follow_up_paraphrase");
        const char *other = str(c, "other_follow_up");
        int close = (int)cJSON_GetObjectItemCaseSensitive(c, "close_to")->valuedouble;
        const char *cu1 = str(cJSON_GetArrayItem(convs, close), "first");
        trace_row(ch, "para", i, u1p, u1, a1, u2p, u2);
        trace_row(ch, "other", i, u1, u1, a1, other, u2);
        trace_row(ch, "other_p", i, u1p, u1, a1, other, u2);
        if (close != i) trace_row(ch, "borrowed", i, cu1, u1, a1, u2p, u2);
        /* where the paraphrase is lost with the shipped floors */
        float cc = pair_cos(u1p, u1), fc = pair_cos(u2p, u2);
        if (ask_conv(ch, u1p, a1, u2p, verifier) == i) hits++;
        else if (cache_verifier_score(verifier, u1p, strlen(u1p), u1, strlen(u1), cc) < CTX_MIN_P) first++;
        else if (fc < FU_THRESHOLD) low_cos++;
        else if (cache_verifier_score(follow_up_verifier, u2p, strlen(u2p), u2, strlen(u2), fc) < FU_MIN_P) model++;
        else rest++;
    }
    fprintf(stderr, "%s: %d conversations, paraphrases hit %d; misses: first turn below p %.2f %d, "
            "follow-up cosine below %.2f %d, follow-up model below p %.2f %d, other %d\n",
            file, n, hits, CTX_MIN_P, first, FU_THRESHOLD, low_cos, FU_MIN_P, model, rest);
    cache_close(ch);
    cJSON_Delete(convs);
    return 0;
}

int main(int argc, char **argv)
{
    int traced = -1;
    if ((argc == 3 || argc == 4) && !strcmp(argv[1], "--trace")) {
        traced = trace(argv[2], argc == 4 ? argv[3] : NULL);
    } else {
        RUN(model_round_trip_and_damage);
        RUN(trainer_learns_a_separable_set);
        RUN(qqp_heldout_precision);
        RUN(paraphrased_conversations);
        RUN(heldout_conversations);
        RUN(follow_up_model_scores_only_the_same_state);
        RUN(contextual_queries_with_verifier);
    }
    cache_verifier_free(verifier);
    cache_verifier_free(follow_up_verifier);
    for (int i = 0; i < n_memos; i++) {
        free(memos[i].text);
        free(memos[i].vec);
    }
    free(memos);
    embed_state_free(state);
    embed_free(model);
    if (traced >= 0) return traced;
    TEST_MAIN_END();
}
