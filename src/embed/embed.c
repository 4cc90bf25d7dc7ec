/* embed.c - the embed.h interface: dispatch over the model types.
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

struct embed_model {
    embed_type type;
    embed_precision precision;
    int dim, max_tokens;
    const char *id;
    use_lite_model *use_lite;
    model2vec_model *model2vec;
    remote_model *remote;
};

struct embed_state {
    const embed_model *model;
    use_lite_state *use_lite;
    model2vec_state *model2vec;
    remote_state *remote;
};

embed_model *embed_load(const embed_options *opt, char *err, size_t errlen)
{
    embed_model *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    m->type = opt->type;
    if ((opt->type == EMBED_USE_LITE || opt->type == EMBED_MODEL2VEC) &&
        (!opt->path || !*opt->path)) {
        snprintf(err, errlen, "%s embedding model: no model folder given",
                 embed_type_name(opt->type));
        goto err;
    }
    switch (opt->type) {
    case EMBED_USE_LITE:
        if (!(m->use_lite = use_lite_load(opt->path, opt->precision == EMBED_BF16, err, errlen)))
            goto err;
        m->precision = opt->precision == EMBED_BF16 ? EMBED_BF16 : EMBED_F32;
        m->dim = USE_LITE_DIM;
        m->max_tokens = USE_LITE_MAX_TOKENS;
        m->id = use_lite_id(m->use_lite);
        return m;
    case EMBED_MODEL2VEC:
        if (!(m->model2vec = model2vec_load(opt->path, err, errlen))) goto err;
        m->dim = model2vec_dim(m->model2vec);
        m->id = model2vec_id(m->model2vec);
        return m;
    case EMBED_REMOTE:
        if (!(m->remote = remote_load(opt, err, errlen))) goto err;
        m->dim = remote_dim(m->remote);
        m->id = remote_id(m->remote);
        return m;
    }
    snprintf(err, errlen, "embedding model type %d is not supported", (int)opt->type);
err:
    free(m);
    return NULL;
}

void embed_free(embed_model *m)
{
    if (!m) return;
    use_lite_free(m->use_lite);
    model2vec_free(m->model2vec);
    remote_free(m->remote);
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
    return m->max_tokens;
}
embed_type embed_model_type(const embed_model *m)
{
    return m->type;
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
    switch (t) {
    case EMBED_USE_LITE:
        return "use-lite";
    case EMBED_MODEL2VEC:
        return "model2vec";
    case EMBED_REMOTE:
        return "remote";
    }
    return "unknown";
}

int embed_parse_type(const char *name, embed_type *out)
{
    static const embed_type all[] = {EMBED_USE_LITE, EMBED_MODEL2VEC, EMBED_REMOTE};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (name && !strcmp(name, embed_type_name(all[i]))) {
            *out = all[i];
            return 0;
        }
    return -1;
}

embed_state *embed_state_new(const embed_model *m)
{
    embed_state *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->model = m;
    int ok = 1;
    if (m->use_lite) ok = (s->use_lite = use_lite_state_new(m->use_lite)) != NULL;
    if (m->model2vec) ok = (s->model2vec = model2vec_state_new(m->model2vec)) != NULL;
    if (m->remote) ok = (s->remote = remote_state_new(m->remote)) != NULL;
    if (!ok) {
        embed_state_free(s);
        return NULL;
    }
    return s;
}

void embed_state_free(embed_state *s)
{
    if (!s) return;
    use_lite_state_free(s->use_lite);
    model2vec_state_free(s->model2vec);
    remote_state_free(s->remote);
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
    switch (m->type) {
    case EMBED_USE_LITE:
        if (use_lite_encode(m->use_lite, s->use_lite, text, len, out, n_tokens)) break;
        return 0;
    case EMBED_MODEL2VEC:
        if (model2vec_encode(m->model2vec, s->model2vec, text, len, out, n_tokens)) break;
        return 0;
    case EMBED_REMOTE: {
        int pt = -1;
        if (remote_embed(m->remote, s->remote, &text, &len, 1, out, &pt, err, errlen)) return -1;
        if (n_tokens) *n_tokens = pt;
        return 0;
    }
    }
    snprintf(err, errlen, "out of memory while embedding %zu bytes", len);
    return -1;
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
    if (m->type == EMBED_REMOTE) { /* one request for the whole batch */
        if (n_tokens)
            for (int i = 0; i < n; i++) n_tokens[i] = -1; /* the server counts the batch only */
        return remote_embed(m->remote, s->remote, texts, lens, n, out,
                            n == 1 && n_tokens ? n_tokens : NULL, err, errlen);
    }
    if (m->type == EMBED_USE_LITE) {
        if (use_lite_encode_batch(m->use_lite, s->use_lite, texts, lens, n, out, n_tokens)) {
            snprintf(err, errlen, "out of memory while embedding a batch");
            return -1;
        }
        return 0;
    }
    for (int i = 0; i < n; i++)
        if (embed_text(m, s, texts[i], lens[i], out + (size_t)i * m->dim, n_tokens ? n_tokens + i : NULL,
                       err, errlen))
            return -1;
    return 0;
}

int embed_tokenize(const embed_model *m, embed_state *s, const char *text, size_t len, int *ids,
                   int max_ids)
{
    if (!text) text = "", len = 0;
    if (m->use_lite) return use_lite_tokenize(m->use_lite, s->use_lite, text, len, ids, max_ids);
    if (m->model2vec)
        return model2vec_tokenize(m->model2vec, s->model2vec, text, len, ids, max_ids);
    return -1;
}

use_lite_model *embed_test_use_lite(const struct embed_model *m)
{
    return m->use_lite;
}
model2vec_model *embed_test_model2vec(const struct embed_model *m)
{
    return m->model2vec;
}

int embed_remote_call(const embed_model *m, const char *const *texts, const size_t *lens, int n,
                      embed_remote_target *target, buf *body)
{
    if (!m || m->type != EMBED_REMOTE || n <= 0) return -1;
    target->url = remote_url(m->remote);
    target->auth_header = remote_auth_header(m->remote);
    target->timeout_ms = remote_timeout_ms(m->remote);
    remote_write_body(m->remote, body, texts, lens, n);
    return body->oom ? -1 : 0;
}

int embed_remote_answer(const embed_model *m, long status, const char *body, size_t len, int n,
                        float *out, char *err, size_t errlen)
{
    if (!m || m->type != EMBED_REMOTE) {
        snprintf(err, errlen, "not a remote embedding model");
        return -1;
    }
    return remote_parse(m->remote, status, body, len, n, out, err, errlen);
}
