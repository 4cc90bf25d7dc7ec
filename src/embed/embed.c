/* embed.c - the embed.h interface: dispatch over the model types.
 *
 * Each type keeps its own model and per-thread state; this file only routes
 * calls and enforces the contract (L2-normalised vectors of embed_dim floats,
 * errors as sentences). */
#include "embed/embed.h"
#include "embed/use_lite.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct embed_model {
    embed_type type;
    int dim, max_tokens;
    const char *id;
    use_lite_model *use_lite;
};

struct embed_state {
    const embed_model *model;
    use_lite_state *use_lite;
};

embed_model *embed_load(const embed_options *opt, char *err, size_t errlen)
{
    embed_model *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    m->type = opt->type;
    switch (opt->type) {
    case EMBED_USE_LITE:
        if (!opt->path || !*opt->path) {
            snprintf(err, errlen, "use-lite model: no model folder given");
            goto err;
        }
        if (!(m->use_lite = use_lite_load(opt->path, err, errlen))) goto err;
        m->dim = USE_LITE_DIM;
        m->max_tokens = USE_LITE_MAX_TOKENS;
        m->id = use_lite_id(m->use_lite);
        return m;
    default:
        snprintf(err, errlen, "embedding model type %d is not supported", (int)opt->type);
        goto err;
    }
err:
    free(m);
    return NULL;
}

void embed_free(embed_model *m)
{
    if (!m) return;
    use_lite_free(m->use_lite);
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

embed_state *embed_state_new(const embed_model *m)
{
    embed_state *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->model = m;
    if (m->type == EMBED_USE_LITE && !(s->use_lite = use_lite_state_new(m->use_lite))) {
        free(s);
        return NULL;
    }
    return s;
}

void embed_state_free(embed_state *s)
{
    if (!s) return;
    use_lite_state_free(s->use_lite);
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
        if (use_lite_encode(m->use_lite, s->use_lite, text, len, out, n_tokens)) {
            snprintf(err, errlen, "out of memory while tokenizing %zu bytes", len);
            return -1;
        }
        return 0;
    default:
        snprintf(err, errlen, "embedding model type %d is not supported", (int)m->type);
        return -1;
    }
}

int embed_batch(const embed_model *m, embed_state *s, const char *const *texts, const size_t *lens,
                int n, float *out, char *err, size_t errlen)
{
    for (int i = 0; i < n; i++)
        if (embed_text(m, s, texts[i], lens[i], out + (size_t)i * m->dim, NULL, err, errlen))
            return -1;
    return 0;
}

use_lite_model *embed_test_use_lite(const embed_model *m)
{
    return m->use_lite;
}
