/* Tests for the hit decision (select.c), the memory backend adapter
 * (memory_backend.c, cache_search) and the conversation match data kept with
 * an entry (cache.c blob, persist.c CTX1 extension). Vectors are random unit
 * vectors in 64 dimensions so each case knows which entry is near. */
#include "cache/backend.h"
#include "cache/select.h"
#include "core/util.h"
#include "test.h"
#include <unistd.h>

#define DIM 64

static void vec_of(unsigned seed, float *v)
{
    unsigned x = seed * 2654435761u + 1;
    double s = 0;
    for (int i = 0; i < DIM; i++) {
        x = x * 1664525u + 1013904223u;
        v[i] = (float)((x >> 8) & 0xffff) / 65536.0f - 0.5f;
        s += (double)v[i] * v[i];
    }
    for (int i = 0; i < DIM; i++)
        v[i] /= (float)sqrt(s);
}

/* v = unit(vec_of(seed) + amount * vec_of(seed + 7777)) */
static void near_of(unsigned seed, float amount, float *v)
{
    float w[DIM];
    vec_of(seed, v);
    vec_of(seed + 7777, w);
    double s = 0;
    for (int i = 0; i < DIM; i++) {
        v[i] += amount * w[i];
        s += (double)v[i] * v[i];
    }
    for (int i = 0; i < DIM; i++)
        v[i] /= (float)sqrt(s);
}

typedef struct conv {
    char exact[65], part[65];
    float vec[DIM], ctx[2 * DIM];
    const char *texts[2];
    size_t lens[2];
    unsigned char roles[2];
    cache_request r;
} conv;

/* A two-turn request: earlier user turn u1 (vector seed s1), assistant a1
 * (seed s2), last user turn vector seed sq (moved by amount). */
static conv *mk(conv *c, const char *name, const char *u1, unsigned s1, const char *a1, unsigned s2,
                unsigned sq, float amount)
{
    memset(c, 0, sizeof *c);
    util_sha256_hex(name, strlen(name), c->exact);
    util_sha256_hex("partition", 9, c->part);
    near_of(sq, amount, c->vec);
    vec_of(s1, c->ctx);
    vec_of(s2, c->ctx + DIM);
    c->texts[0] = u1;
    c->texts[1] = a1;
    c->lens[0] = strlen(u1);
    c->lens[1] = strlen(a1);
    c->roles[0] = CACHE_ROLE_USER;
    c->roles[1] = CACHE_ROLE_ASSISTANT;
    c->r.tenant = "t";
    c->r.exact_key = c->exact;
    c->r.partition_key = c->part;
    c->r.query_vec = c->vec;
    c->r.n_context = 2;
    c->r.context_vecs = c->ctx;
    c->r.context_texts = c->texts;
    c->r.context_lens = c->lens;
    c->r.context_roles = c->roles;
    return c;
}

static cache *open_cache(const char *path)
{
    cache_options o;
    cache_options_default(&o, DIM);
    o.persist_path = path;
    char err[256] = "";
    cache *c = cache_open(&o, err, sizeof err);
    if (!c) printf("     cache_open: %s\n", err);
    return c;
}

static void input_of(cache_select_input *in, const conv *q, const char *query)
{
    cache_select_input_default(in);
    in->query = query;
    in->query_len = strlen(query);
    in->query_vec = q->vec;
    in->dim = DIM;
    in->n_context = 2;
    in->context_vecs = q->ctx;
    in->context_texts = q->texts;
    in->context_lens = q->lens;
    in->context_roles = q->roles;
}

typedef struct got {
    int calls;
    cache_status status;
    cache_candidates cands;
} got;

static void on_lookup(void *arg, cache_status status, cache_candidates *cands)
{
    got *g = arg;
    g->calls++;
    g->status = status;
    g->cands = *cands; /* take them */
    cands->n = 0;
    cands->v = NULL;
}

static void on_store(void *arg, cache_status status)
{
    *(int *)arg = status == CACHE_STATUS_OK ? 1 : -1;
}

static const char *first_turn = "What is the capital of Australia — Sydney or Canberra?";
static const char *answer = "{\"answer\":\"Canberra is the capital; Sydney is the largest city.\"}";

/* The memory backend returns the exact entry first, then semantic candidates
 * with their stored text and conversation; callbacks run before return. */
static void test_memory_backend_candidates(void)
{
    cache *c = open_cache(NULL);
    cache_backend *b = cache_backend_memory(c);
    conv s;
    mk(&s, "stored", first_turn, 1, "Canberra 🇦🇺 is the capital.", 2, 10, 0);
    int stored = 0;
    b->ops->store(b, NULL, &s.r, "And how many people live there?", answer, strlen(answer),
                  on_store, &stored);
    CHECK_EQ_INT(stored, 1);

    conv q; /* same conversation, the follow-up reworded (vector nearby) */
    mk(&q, "other-words", first_turn, 1, "Canberra 🇦🇺 is the capital.", 2, 10, 0.2f);
    got g = {0};
    b->ops->lookup(b, NULL, &q.r, 8, 0.5f, on_lookup, &g);
    CHECK_EQ_INT(g.calls, 1);
    CHECK_EQ_INT(g.status, CACHE_STATUS_OK);
    CHECK_EQ_INT(g.cands.n, 1);
    if (g.cands.n == 1) {
        cache_candidate *x = &g.cands.v[0];
        CHECK_EQ_INT(x->tier, CACHE_TIER_SEMANTIC);
        CHECK(x->similarity > 0.9f && x->similarity < 1.0f, "%f", x->similarity);
        CHECK_STR(x->query_text, "And how many people live there?");
        CHECK_EQ_INT(x->n_context, 2);
        CHECK_STR(x->context_texts[0], first_turn);
        CHECK(x->context_texts[1] == NULL, "assistant text is not kept");
        CHECK_EQ_INT(x->context_roles[1], CACHE_ROLE_ASSISTANT);
        CHECK_EQ_INT(x->has_answer_hash, 1);
        CHECK_EQ_INT(x->len, strlen(answer));
        CHECK_STR(x->body, answer);
        CHECK_STR(x->id, s.exact);
        CHECK_NEAR(x->context_vecs[5], s.ctx[5], 1e-3);
    }
    cache_candidates_free(&g.cands);

    /* the exact key comes first, as tier exact, and is not repeated */
    got e = {0};
    b->ops->lookup(b, NULL, &s.r, 8, 0.0f, on_lookup, &e);
    CHECK_EQ_INT(e.cands.n, 1);
    if (e.cands.n) CHECK_EQ_INT(e.cands.v[0].tier, CACHE_TIER_EXACT);
    cache_selection sel;
    cache_select_input in;
    input_of(&in, &s, "And how many people live there?");
    CHECK_EQ_INT(cache_select(&in, &e.cands, &sel), 0);
    CHECK_EQ_INT(sel.outcome, CACHE_SELECT_HIT_EXACT);
    b->ops->result(b, &e.cands.v[0]);
    cache_candidates_free(&e.cands);

    /* another tenant sees nothing; a malformed key is an error, called back once */
    q.r.tenant = "u";
    got t = {0};
    b->ops->lookup(b, NULL, &q.r, 8, 0.0f, on_lookup, &t);
    CHECK_EQ_INT(t.cands.n, 0);
    cache_candidates_free(&t.cands);
    q.r.tenant = "t";
    q.r.exact_key = "zz";
    got bad = {0};
    b->ops->lookup(b, NULL, &q.r, 8, 0.0f, on_lookup, &bad);
    CHECK_EQ_INT(bad.calls, 1);
    CHECK_EQ_INT(bad.status, CACHE_STATUS_ERROR);
    CHECK_EQ_INT(bad.cands.n, 0);
    b->ops->result(b, NULL);
    cache_stats st;
    cache_stats_get(c, &st);
    CHECK_EQ_INT(st.hits, 1);
    CHECK_EQ_INT(st.exact_hits, 1);
    CHECK_EQ_INT(st.misses, 1);
    CHECK_EQ_INT(b->ops->healthy(b), 1);
    b->ops->close(b);
    cache_close(c);
}

/* Context match: the byte-identical earlier answer plus a reworded first turn
 * passes; another conversation (another answer, another first turn) fails even
 * with the same follow-up; without texts the old vector rule applies. */
static void test_context_match_rules(void)
{
    conv s, same, other, reworded;
    mk(&s, "s", first_turn, 1, "Canberra is the capital.", 2, 10, 0);
    mk(&same, "q", first_turn, 1, "Canberra is the capital.", 2, 10, 0.1f);
    /* first turn in other words: its vector is moved off the stored one */
    mk(&reworded, "r", "Which city is Australia's capital?", 1, "Canberra is the capital.", 2, 10, 0.1f);
    near_of(1, 0.6f, reworded.ctx);
    mk(&other, "o", "What is the capital of Austria?", 3, "Vienna is the capital.", 4, 10, 0.1f);

    cache *c = open_cache(NULL);
    char err[256];
    CHECK_EQ_INT(cache_store(c, &s.r, "How many people live there?", answer, strlen(answer), err,
                             sizeof err),
                 0);
    cache_candidates cands;
    cache_select_input in;
    cache_selection sel;

    CHECK_EQ_INT(cache_search(c, &same.r, 8, 0.5f, &cands), 1);
    input_of(&in, &same, "How many people live there?");
    CHECK_EQ_INT(cache_select(&in, &cands, &sel), 0);
    CHECK_EQ_INT(sel.outcome, CACHE_SELECT_HIT_SIMILAR);
    cache_candidates_free(&cands);

    /* reworded first turn, identical answer: vectors alone (0.9) refuse it */
    CHECK_EQ_INT(cache_search(c, &reworded.r, 8, 0.5f, &cands), 1);
    input_of(&in, &reworded, "How many people live there?");
    CHECK(in.context_vecs && cands.n == 1, "setup");
    CHECK_EQ_INT(cache_select(&in, &cands, &sel), -1);
    CHECK_EQ_INT(sel.outcome, CACHE_SELECT_MISS_CONTEXT);
    cache_candidates_free(&cands);

    /* another conversation: the answer hash differs and its vectors are far */
    CHECK_EQ_INT(cache_search(c, &other.r, 8, 0.5f, &cands), 1);
    input_of(&in, &other, "How many people live there?");
    CHECK_EQ_INT(cache_select(&in, &cands, &sel), -1);
    CHECK_EQ_INT(sel.outcome, CACHE_SELECT_MISS_CONTEXT);
    /* even when the earlier answer vector is identical, the other first turn fails */
    memcpy(other.ctx + DIM, s.ctx + DIM, sizeof(float) * DIM);
    CHECK_EQ_INT(cache_select(&in, &cands, &sel), -1);
    cache_candidates_free(&cands);

    /* a stored entry without texts (older file): the vector rule decides */
    conv old;
    mk(&old, "old", first_turn, 5, "x", 6, 20, 0);
    old.r.context_texts = NULL;
    old.r.context_roles = NULL;
    old.r.context_lens = NULL;
    CHECK_EQ_INT(cache_store(c, &old.r, "q", answer, strlen(answer), err, sizeof err), 0);
    conv oq;
    mk(&oq, "oq", "different words entirely", 5, "y", 6, 20, 0.1f);
    CHECK_EQ_INT(cache_search(c, &oq.r, 8, 0.5f, &cands), 1);
    input_of(&in, &oq, "q");
    CHECK_EQ_INT(cache_select(&in, &cands, &sel), 0); /* vectors identical: the old rule passes */
    CHECK(cands.v[0].context_texts == NULL && !cands.v[0].has_answer_hash, "no texts kept");
    cache_candidates_free(&cands);

    /* threshold: a far follow-up is below it */
    conv far;
    mk(&far, "far", first_turn, 1, "Canberra is the capital.", 2, 99, 0);
    CHECK_EQ_INT(cache_search(c, &far.r, 8, -1.0f, &cands), 2);
    input_of(&in, &far, "What is the weather like?");
    CHECK_EQ_INT(cache_select(&in, &cands, &sel), -1);
    CHECK_EQ_INT(sel.outcome, CACHE_SELECT_MISS_THRESHOLD);
    cache_candidates_free(&cands);
    cache_close(c);
}

/* The conversation data survives a restart (persist CTX1 extension) and compaction. */
static void test_context_persisted(void)
{
    char path[] = "/tmp/semrouter-select-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    unlink(path);
    conv s;
    mk(&s, "s", "Wie spät ist es in Tōkyō?", 1, "Es ist 21 Uhr.", 2, 10, 0);
    cache *c = open_cache(path);
    char err[256];
    CHECK_EQ_INT(cache_store(c, &s.r, "Und in Osaka?", answer, strlen(answer), err, sizeof err), 0);
    cache_close(c);
    c = open_cache(path);
    CHECK(c != NULL, "reopen");
    cache_candidates cands;
    CHECK_EQ_INT(cache_search(c, &s.r, 8, 0.5f, &cands), 1);
    if (cands.n) {
        CHECK_STR(cands.v[0].context_texts[0], "Wie spät ist es in Tōkyō?");
        CHECK_EQ_INT(cands.v[0].has_answer_hash, 1);
        unsigned char h[32];
        CHECK_EQ_INT(cache_context_hash(2, s.texts, s.lens, s.roles, h), 1);
        CHECK(!memcmp(h, cands.v[0].answer_hash, 32), "hash kept");
    }
    cache_candidates_free(&cands);
    CHECK_EQ_INT(cache_compact(c, err, sizeof err), 0);
    cache_close(c);
    c = open_cache(path);
    CHECK_EQ_INT(cache_search(c, &s.r, 8, 0.5f, &cands), 1);
    if (cands.n) CHECK_STR(cands.v[0].context_texts[0], "Wie spät ist es in Tōkyō?");
    cache_candidates_free(&cands);
    cache_close(c);
    unlink(path);
}

/* The answer hash depends on every assistant turn and on turn boundaries. */
static void test_context_hash(void)
{
    const char *t1[3] = {"hi", "ab", "c"}, *t2[3] = {"hi", "a", "bc"};
    size_t l1[3] = {2, 2, 1}, l2[3] = {2, 1, 2};
    unsigned char r[3] = {CACHE_ROLE_USER, CACHE_ROLE_ASSISTANT, CACHE_ROLE_ASSISTANT};
    unsigned char h1[32], h2[32];
    CHECK_EQ_INT(cache_context_hash(3, t1, l1, r, h1), 1);
    CHECK_EQ_INT(cache_context_hash(3, t2, l2, r, h2), 1);
    CHECK(memcmp(h1, h2, 32), "boundaries are hashed");
    unsigned char u[3] = {CACHE_ROLE_USER, CACHE_ROLE_USER, CACHE_ROLE_OTHER};
    CHECK_EQ_INT(cache_context_hash(3, t1, l1, u, h1), 0);
    CHECK_EQ_INT(cache_context_hash(0, NULL, NULL, NULL, h1), 0);
}

/* Export/import carry the conversation: an imported follow-up still knows
 * its own conversation state (byte-identical answers: match 2, the follow-up
 * floors) - without the texts and the answer hash it would fall back to the
 * vector rule (match 1) - and another conversation with the very same
 * vectors is not that state. */
static void test_context_export_import(void)
{
    const char *u1 = "Is “Canberra” really the capital? 🇦🇺\n(not \"Sydney\")";
    conv s, same, other;
    mk(&s, "s", u1, 1, "Yes — Canberra, since 1913.", 2, 10, 0);
    mk(&same, "q", u1, 1, "Yes — Canberra, since 1913.", 2, 10, 0.1f);
    mk(&other, "o", "Is Vienna the capital of Austria?", 1, "Yes, Vienna.", 2, 10, 0.1f);
    char path[] = "/tmp/semrouter-select-XXXXXX"; /* persisted: the export has the vector */
    close(mkstemp(path));
    unlink(path);
    cache *c = open_cache(path);
    char err[256];
    CHECK_EQ_INT(cache_store(c, &s.r, "Wie viele Einwohner hat sie?", answer, strlen(answer), err,
                             sizeof err),
                 0);
    char *text = NULL;
    size_t text_len = 0;
    FILE *out = open_memstream(&text, &text_len);
    CHECK_EQ_INT(cache_export(c, NULL, out, err, sizeof err), 1);
    fclose(out);
    cache_close(c);
    unlink(path);
    CHECK(strstr(text, "\"conversation\":{\"roles\":\"ua\",\"answers\":\"") &&
              strstr(text, "\"texts\":[\"Is “Canberra” really the capital? 🇦🇺\\n(not \\\"Sydney\\\")\",null]}"),
          "export: %s", text);

    cache *d = open_cache(NULL);
    FILE *in = fmemopen(text, text_len, "r");
    long long skipped = -1;
    CHECK_EQ_INT(cache_import(d, NULL, in, &skipped, err, sizeof err), 1);
    CHECK_EQ_INT(skipped, 0);
    fclose(in);
    cache_candidates cands;
    cache_select_input in_sel;
    cache_selection sel;
    CHECK_EQ_INT(cache_search(d, &same.r, 8, 0.5f, &cands), 1);
    if (cands.n == 1) {
        cache_candidate *x = &cands.v[0];
        CHECK(x->context_texts && x->context_roles, "conversation imported");
        if (x->context_texts) {
            CHECK_STR(x->context_texts[0], u1);
            CHECK(x->context_texts[1] == NULL, "no assistant text");
        }
        if (x->context_roles) CHECK_EQ_INT(x->context_roles[1], CACHE_ROLE_ASSISTANT);
        unsigned char h[32];
        CHECK_EQ_INT(cache_context_hash(2, s.texts, s.lens, s.roles, h), 1);
        CHECK(x->has_answer_hash && !memcmp(h, x->answer_hash, 32), "answer hash imported");
        input_of(&in_sel, &same, "Wie viele Einwohner hat sie?");
        /* only the same conversation state reaches the follow-up floor */
        in_sel.threshold = 0.999f;
        in_sel.follow_up_threshold = 0.9f;
        CHECK_EQ_INT(cache_context_match(&in_sel, x, NULL), 2);
        CHECK_EQ_INT(cache_select(&in_sel, &cands, &sel), 0);
    }
    cache_candidates_free(&cands);
    /* another conversation with identical vectors is not that state */
    CHECK_EQ_INT(cache_search(d, &other.r, 8, 0.5f, &cands), 1);
    input_of(&in_sel, &other, "Wie viele Einwohner hat sie?");
    in_sel.threshold = 0.999f;
    in_sel.follow_up_threshold = 0.9f;
    if (cands.n) CHECK_EQ_INT(cache_context_match(&in_sel, &cands.v[0], NULL), 1);
    CHECK_EQ_INT(cache_select(&in_sel, &cands, &sel), -1);
    cache_candidates_free(&cands);
    cache_close(d);

    /* a conversation that does not fit its line is skipped, never imported bare */
    const char *bad[] = {"{\"roles\":\"u\",\"texts\":[\"x\"]}",
                         "{\"roles\":\"ux\",\"texts\":[\"x\",null]}",
                         "{\"roles\":\"ua\",\"answers\":\"zz\",\"texts\":[\"x\",null]}",
                         "{\"roles\":\"ua\",\"texts\":[\"x\",\"an answer\"]}",
                         "{\"roles\":\"ua\",\"texts\":[null,null]}", "\"ua\""};
    char *at = strstr(text, "\"conversation\":");
    char *end = at ? strstr(at, "]}") : NULL;
    CHECK(at && end, "conversation in the export");
    for (size_t k = 0; at && end && k < sizeof bad / sizeof *bad; k++) {
        char line[8192];
        snprintf(line, sizeof line, "%.*s\"conversation\":%s%s", (int)(at - text), text, bad[k],
                 end + 2);
        d = open_cache(NULL);
        in = fmemopen(line, strlen(line), "r");
        CHECK_EQ_INT(cache_import(d, NULL, in, &skipped, err, sizeof err), 0);
        CHECK(skipped == 1, "case %zu skipped %lld: %s", k, skipped, line);
        fclose(in);
        cache_close(d);
    }
    free(text);
}

int main(void)
{
    RUN(test_memory_backend_candidates);
    RUN(test_context_match_rules);
    RUN(test_context_persisted);
    RUN(test_context_hash);
    RUN(test_context_export_import);
    TEST_MAIN_END();
}
