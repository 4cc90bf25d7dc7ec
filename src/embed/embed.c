/* embed.c - the embed.h interface: dispatch over the model types through one
 * backend table (BACKENDS below), no switch per call.
 *
 * Each type keeps its own model and per-thread state; this file only routes
 * calls and enforces the contract (embed_dim floats per text, errors as
 * sentences). */
#include "embed/embed.h"
#include "embed/model2vec.h"
#include "embed/remote.h"
#include "embed/use_lite.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One embedding backend: what embed.c needs of a model type. Each entry adapts its
 * module's own functions (use_lite.h, model2vec.h, remote.h); model and state are that
 * module's types behind void pointers. Adding a type is one table row and its adapters. */
typedef struct embed_backend {
    embed_type type;
    const char *name; /* embed_type_name: the config's embedding_model.type */
    int needs_path;   /* loads from a model folder (embed_options.path) */
    void *(*load)(const embed_options *opt, char *err, size_t errlen);
    void (*free)(void *model);
    int (*dim)(const void *model);
    const char *(*id)(const void *model);
    int max_tokens; /* 0 = no token limit of its own */
    void *(*state_new)(const void *model);
    void (*state_free)(void *state);
    /* n texts (never NULL; n >= 1) into out (n * dim floats); n_tokens (may be NULL)
     * per text, -1 where the backend does not count. 0, or -1 with err. */
    int (*encode)(const void *model, void *state, const char *const *texts, const size_t *lens,
                  int n, float *out, int *n_tokens, char *err, size_t errlen);
    /* NULL: the backend has no tokenizer of its own (embed_tokenize returns -1) */
    int (*tokenize)(const void *model, void *state, const char *text, size_t len, int *ids,
                    int max_ids);
} embed_backend;

/* ---- USE-lite ---- */
static void *use_lite_load_any(const embed_options *opt, char *err, size_t errlen)
{
    return use_lite_load(opt->path, opt->precision == EMBED_BF16, err, errlen);
}
static void use_lite_free_any(void *m)
{
    use_lite_free(m);
}
static int use_lite_dim_any(const void *m)
{
    (void)m;
    return USE_LITE_DIM;
}
static const char *use_lite_id_any(const void *m)
{
    return use_lite_id(m);
}
static void *use_lite_state_new_any(const void *m)
{
    return use_lite_state_new(m);
}
static void use_lite_state_free_any(void *s)
{
    use_lite_state_free(s);
}
static int use_lite_encode_any(const void *m, void *s, const char *const *texts, const size_t *lens,
                               int n, float *out, int *n_tokens, char *err, size_t errlen)
{
    if (n == 1 ? use_lite_encode(m, s, texts[0], lens[0], out, n_tokens)
               : use_lite_encode_batch(m, s, texts, lens, n, out, n_tokens)) {
        if (n == 1)
            snprintf(err, errlen, "out of memory while embedding %zu bytes", lens[0]);
        else
            snprintf(err, errlen, "out of memory while embedding a batch");
        return -1;
    }
    return 0;
}
static int use_lite_tokenize_any(const void *m, void *s, const char *text, size_t len, int *ids,
                                 int max_ids)
{
    return use_lite_tokenize(m, s, text, len, ids, max_ids);
}

/* ---- Model2Vec ---- */
static void *model2vec_load_any(const embed_options *opt, char *err, size_t errlen)
{
    return model2vec_load(opt->path, err, errlen);
}
static void model2vec_free_any(void *m)
{
    model2vec_free(m);
}
static int model2vec_dim_any(const void *m)
{
    return model2vec_dim(m);
}
static const char *model2vec_id_any(const void *m)
{
    return model2vec_id(m);
}
static void *model2vec_state_new_any(const void *m)
{
    return model2vec_state_new(m);
}
static void model2vec_state_free_any(void *s)
{
    model2vec_state_free(s);
}
static int model2vec_encode_any(const void *m, void *s, const char *const *texts,
                                const size_t *lens, int n, float *out, int *n_tokens, char *err,
                                size_t errlen)
{
    int dim = model2vec_dim(m);
    for (int i = 0; i < n; i++) /* a lookup and a mean: nothing to gain from batching */
        if (model2vec_encode(m, s, texts[i], lens[i], out + (size_t)i * dim,
                             n_tokens ? n_tokens + i : NULL)) {
            snprintf(err, errlen, "out of memory while embedding %zu bytes", lens[i]);
            return -1;
        }
    return 0;
}
static int model2vec_tokenize_any(const void *m, void *s, const char *text, size_t len, int *ids,
                                  int max_ids)
{
    return model2vec_tokenize(m, s, text, len, ids, max_ids);
}

/* ---- remote /v1/embeddings ---- */
static void *remote_load_any(const embed_options *opt, char *err, size_t errlen)
{
    return remote_load(opt, err, errlen);
}
static void remote_free_any(void *m)
{
    remote_free(m);
}
static int remote_dim_any(const void *m)
{
    return remote_dim(m);
}
static const char *remote_id_any(const void *m)
{
    return remote_id(m);
}
static void *remote_state_new_any(const void *m)
{
    return remote_state_new(m);
}
static void remote_state_free_any(void *s)
{
    remote_state_free(s);
}
static int remote_encode_any(const void *m, void *s, const char *const *texts, const size_t *lens,
                             int n, float *out, int *n_tokens, char *err, size_t errlen)
{
    if (n_tokens) /* one request for the whole batch: the server counts the batch only */
        for (int i = 0; i < n; i++)
            n_tokens[i] = -1;
    return remote_embed(m, s, texts, lens, n, out, n == 1 && n_tokens ? n_tokens : NULL, err,
                        errlen);
}

static const embed_backend BACKENDS[] = {
    {EMBED_USE_LITE, "use-lite", 1, use_lite_load_any, use_lite_free_any, use_lite_dim_any,
     use_lite_id_any, USE_LITE_MAX_TOKENS, use_lite_state_new_any, use_lite_state_free_any,
     use_lite_encode_any, use_lite_tokenize_any},
    {EMBED_MODEL2VEC, "model2vec", 1, model2vec_load_any, model2vec_free_any, model2vec_dim_any,
     model2vec_id_any, 0, model2vec_state_new_any, model2vec_state_free_any, model2vec_encode_any,
     model2vec_tokenize_any},
    {EMBED_REMOTE, "remote", 0, remote_load_any, remote_free_any, remote_dim_any, remote_id_any, 0,
     remote_state_new_any, remote_state_free_any, remote_encode_any, NULL},
};

static const embed_backend *backend_of(embed_type t)
{
    for (size_t i = 0; i < sizeof BACKENDS / sizeof BACKENDS[0]; i++)
        if (BACKENDS[i].type == t) return &BACKENDS[i];
    return NULL;
}

struct embed_model {
    const embed_backend *be;
    embed_precision precision;
    int dim;
    const char *id;
    void *impl; /* the backend's model */
};

struct embed_state {
    const embed_model *model;
    void *impl; /* the backend's per-thread state */
};

embed_model *embed_load(const embed_options *opt, char *err, size_t errlen)
{
    const embed_backend *be = backend_of(opt->type);
    if (!be) {
        snprintf(err, errlen, "embedding model type %d is not supported", (int)opt->type);
        return NULL;
    }
    if (be->needs_path && (!opt->path || !*opt->path)) {
        snprintf(err, errlen, "%s embedding model: no model folder given", be->name);
        return NULL;
    }
    embed_model *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    m->be = be;
    if (!(m->impl = be->load(opt, err, errlen))) {
        free(m);
        return NULL;
    }
    /* only USE-lite has reduced-precision weights */
    m->precision =
        be->type == EMBED_USE_LITE && opt->precision == EMBED_BF16 ? EMBED_BF16 : EMBED_F32;
    m->dim = be->dim(m->impl);
    m->id = be->id(m->impl);
    return m;
}

void embed_free(embed_model *m)
{
    if (!m) return;
    m->be->free(m->impl);
    free(m);
}

int embed_dim(const embed_model *m)
{
    return m->dim;
}
const char *embed_model_id(const embed_model *m)
{
    return m->id;
}
int embed_max_tokens(const embed_model *m)
{
    return m->be->max_tokens;
}
embed_type embed_model_type(const embed_model *m)
{
    return m->be->type;
}

embed_precision embed_model_precision(const embed_model *m)
{
    return m->precision;
}

const char *embed_precision_name(embed_precision p)
{
    return p == EMBED_BF16 ? "bf16" : "f32";
}

const char *embed_type_name(embed_type t)
{
    const embed_backend *be = backend_of(t);
    return be ? be->name : "unknown";
}

int embed_parse_type(const char *name, embed_type *out)
{
    for (size_t i = 0; i < sizeof BACKENDS / sizeof BACKENDS[0]; i++)
        if (name && !strcmp(name, BACKENDS[i].name)) {
            *out = BACKENDS[i].type;
            return 0;
        }
    return -1;
}

embed_state *embed_state_new(const embed_model *m)
{
    embed_state *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->model = m;
    if (!(s->impl = m->be->state_new(m->impl))) {
        free(s);
        return NULL;
    }
    return s;
}

void embed_state_free(embed_state *s)
{
    if (!s) return;
    s->model->be->state_free(s->impl);
    free(s);
}

int embed_text(const embed_model *m, embed_state *s, const char *text, size_t len, float *out,
               int *n_tokens, char *err, size_t errlen)
{
    if (!text && len) {
        snprintf(err, errlen, "no text given");
        return -1;
    }
    if (!text) text = "";
    return m->be->encode(m->impl, s->impl, &text, &len, 1, out, n_tokens, err, errlen);
}

int embed_batch(const embed_model *m, embed_state *s, const char *const *texts, const size_t *lens,
                int n, float *out, char *err, size_t errlen)
{
    return embed_batch_tokens(m, s, texts, lens, n, out, NULL, err, errlen);
}

int embed_batch_tokens(const embed_model *m, embed_state *s, const char *const *texts,
                       const size_t *lens, int n, float *out, int *n_tokens, char *err,
                       size_t errlen)
{
    for (int i = 0; i < n; i++)
        if (!texts[i] && lens[i]) {
            snprintf(err, errlen, "no text given for item %d", i);
            return -1;
        }
    if (n <= 0) return 0;
    /* a NULL text of length 0 is the empty text */
    const char **t = NULL;
    for (int i = 0; i < n && !t; i++)
        if (!texts[i] && !(t = malloc((size_t)n * sizeof *t))) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    if (t)
        for (int i = 0; i < n; i++)
            t[i] = texts[i] ? texts[i] : "";
    int rc = m->be->encode(m->impl, s->impl, t ? t : texts, lens, n, out, n_tokens, err, errlen);
    free(t);
    return rc;
}

int embed_tokenize(const embed_model *m, embed_state *s, const char *text, size_t len, int *ids,
                   int max_ids)
{
    if (!text) text = "", len = 0;
    if (!m->be->tokenize) return -1;
    return m->be->tokenize(m->impl, s->impl, text, len, ids, max_ids);
}

use_lite_model *embed_test_use_lite(const struct embed_model *m)
{
    return m->be->type == EMBED_USE_LITE ? m->impl : NULL;
}
model2vec_model *embed_test_model2vec(const struct embed_model *m)
{
    return m->be->type == EMBED_MODEL2VEC ? m->impl : NULL;
}

int embed_remote_call(const embed_model *m, const char *const *texts, const size_t *lens, int n,
                      embed_remote_target *target, buf *body)
{
    if (!m || m->be->type != EMBED_REMOTE || n <= 0) return -1;
    const remote_model *r = m->impl;
    target->url = remote_url(r);
    target->auth_header = remote_auth_header(r);
    target->timeout_ms = remote_timeout_ms(r);
    remote_write_body(r, body, texts, lens, n);
    return body->oom ? -1 : 0;
}

int embed_remote_answer(const embed_model *m, long status, const char *body, size_t len, int n,
                        float *out, char *err, size_t errlen)
{
    if (!m || m->be->type != EMBED_REMOTE) {
        snprintf(err, errlen, "not a remote embedding model");
        return -1;
    }
    return remote_parse(m->impl, status, body, len, n, out, err, errlen);
}
