/* classifier.c - category classifier: linear softmax head + example utterances.
 *
 * Head file format (little-endian; small enough to ship in the repository):
 *   "SRHEAD\0\0"            8-byte magic
 *   u32 version (1: embedding layer only; 2: + vocabulary layer)
 *   u32 dim, u32 n_classes
 *   u32 len + bytes         embedding model id (e.g. "use-lite-512:3855ea67")
 *   n_classes × (u32 len + bytes)   label names
 *   f32 weights[n_classes][dim], f32 bias[n_classes]
 *   version 2 only: u32 vocab_buckets, f32 idf[vocab_buckets],
 *                   f32 vocab_weights[n_classes][vocab_buckets]
 *   32 bytes                SHA-256 of everything above (detects truncation/corruption)
 */
#include "route/classifier.h"
#include "route/vocab.h"
#include "core/util.h"
#include "core/vec.h"
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char HEAD_MAGIC[8] = {'S', 'R', 'H', 'E', 'A', 'D', 0, 0};
#define HEAD_VERSION 1u
#define HEAD_VERSION_VOCAB 2u
#define HEAD_MAX_DIM 65536
#define HEAD_MAX_VOCAB (1 << 22)
#define HEAD_MAX_CLASSES 4096

classifier_head *classifier_head_new(int dim, int n_classes, const char *model_id)
{
    if (dim <= 0 || dim > HEAD_MAX_DIM || n_classes <= 0 || n_classes > HEAD_MAX_CLASSES)
        return NULL;
    classifier_head *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    h->dim = dim;
    h->n_classes = n_classes;
    snprintf(h->model_id, sizeof h->model_id, "%s", model_id ? model_id : "");
    h->labels = calloc((size_t)n_classes, sizeof *h->labels);
    h->weights = calloc((size_t)n_classes * (size_t)dim, sizeof(float));
    h->bias = calloc((size_t)n_classes, sizeof(float));
    if (!h->labels || !h->weights || !h->bias) {
        classifier_head_free(h);
        return NULL;
    }
    return h;
}

int classifier_head_add_vocab(classifier_head *h, int n_buckets)
{
    if (n_buckets <= 0 || n_buckets > HEAD_MAX_VOCAB || (n_buckets & (n_buckets - 1))) return -1;
    float *idf = calloc((size_t)n_buckets, sizeof(float));
    float *w = calloc((size_t)n_buckets * (size_t)h->n_classes, sizeof(float));
    if (!idf || !w) {
        free(idf), free(w);
        return -1;
    }
    free(h->idf), free(h->vocab_weights);
    h->idf = idf, h->vocab_weights = w, h->vocab_buckets = n_buckets;
    return 0;
}

void classifier_head_free(classifier_head *h)
{
    if (!h) return;
    free(h->idf);
    free(h->vocab_weights);
    free(h->labels);
    free(h->weights);
    free(h->bias);
    free(h);
}

/* ---- serialisation ---- */

static void put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_f32(unsigned char *p, float f)
{
    uint32_t v;
    memcpy(&v, &f, 4);
    put_u32(p, v);
}

static float get_f32(const unsigned char *p)
{
    uint32_t v = get_u32(p);
    float f;
    memcpy(&f, &v, 4);
    return f;
}

int classifier_head_save(const classifier_head *h, const char *path, char *err, size_t errlen)
{
    size_t idlen = strlen(h->model_id);
    size_t n = 8 + 4 * 4 + idlen;
    for (int i = 0; i < h->n_classes; i++) n += 4 + strlen(h->labels[i]);
    size_t nw = (size_t)h->n_classes * (size_t)h->dim + (size_t)h->n_classes;
    size_t nv = h->vocab_buckets ? (size_t)h->vocab_buckets * ((size_t)h->n_classes + 1) : 0;
    n += 4 * nw + (h->vocab_buckets ? 4 + 4 * nv : 0) + 32;
    unsigned char *b = malloc(n), *p = b;
    if (!b) {
        snprintf(err, errlen, "out of memory writing the category head");
        return -1;
    }
    memcpy(p, HEAD_MAGIC, 8), p += 8;
    put_u32(p, h->vocab_buckets ? HEAD_VERSION_VOCAB : HEAD_VERSION), p += 4;
    put_u32(p, (uint32_t)h->dim), p += 4;
    put_u32(p, (uint32_t)h->n_classes), p += 4;
    put_u32(p, (uint32_t)idlen), p += 4;
    memcpy(p, h->model_id, idlen), p += idlen;
    for (int i = 0; i < h->n_classes; i++) {
        size_t l = strlen(h->labels[i]);
        put_u32(p, (uint32_t)l), p += 4;
        memcpy(p, h->labels[i], l), p += l;
    }
    for (size_t i = 0; i < (size_t)h->n_classes * (size_t)h->dim; i++) put_f32(p, h->weights[i]), p += 4;
    for (int i = 0; i < h->n_classes; i++) put_f32(p, h->bias[i]), p += 4;
    if (h->vocab_buckets) {
        put_u32(p, (uint32_t)h->vocab_buckets), p += 4;
        for (int i = 0; i < h->vocab_buckets; i++) put_f32(p, h->idf[i]), p += 4;
        for (size_t i = 0; i < (size_t)h->vocab_buckets * h->n_classes; i++)
            put_f32(p, h->vocab_weights[i]), p += 4;
    }
    util_sha256(b, (size_t)(p - b), p);
    p += 32;

    /* Write a sibling temp file and rename, so a crash never leaves half a head. */
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    FILE *f = fopen(tmp, "wb");
    int ok = f && fwrite(b, 1, n, f) == n;
    if (f && fclose(f) != 0) ok = 0;
    free(b);
    if (!ok || rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot write category head to %s", path);
        unlink(tmp);
        return -1;
    }
    return 0;
}

classifier_head *classifier_head_load(const char *path, const char *model_id, int dim,
                                      char *err, size_t errlen)
{
    size_t n = 0;
    char ferr[256];
    unsigned char *b = (unsigned char *)util_read_file(path, &n, ferr, sizeof ferr);
    if (!b) {
        snprintf(err, errlen, "category head: %s", ferr);
        return NULL;
    }
    classifier_head *h = NULL;
    const unsigned char *p = b, *end = b + n;
#define NEED(k)                                                                                    \
    do {                                                                                           \
        if ((size_t)(end - p) < (size_t)(k)) goto truncated;                                       \
    } while (0)
    NEED(8 + 16);
    if (memcmp(p, HEAD_MAGIC, 8) != 0) {
        snprintf(err, errlen, "%s is not a semrouter category head file (bad magic)", path);
        goto fail;
    }
    p += 8;
    uint32_t version = get_u32(p), hdim = get_u32(p + 4), ncls = get_u32(p + 8),
             idlen = get_u32(p + 12);
    p += 16;
    if (version != HEAD_VERSION && version != HEAD_VERSION_VOCAB) {
        snprintf(err, errlen, "%s: category head version %u is not supported (expected %u or %u)",
                 path, version, HEAD_VERSION, HEAD_VERSION_VOCAB);
        goto fail;
    }
    if (hdim == 0 || hdim > HEAD_MAX_DIM || ncls == 0 || ncls > HEAD_MAX_CLASSES ||
        idlen >= sizeof h->model_id) {
        snprintf(err, errlen, "%s: corrupt category head header (dim %u, classes %u)", path, hdim,
                 ncls);
        goto fail;
    }
    if (n < 32 + 8) goto truncated;
    {
        unsigned char sum[32];
        util_sha256(b, n - 32, sum);
        if (memcmp(sum, b + n - 32, 32) != 0) {
            snprintf(err, errlen, "%s: category head checksum mismatch (file truncated or corrupt)",
                     path);
            goto fail;
        }
    }
    end = b + n - 32;
    h = classifier_head_new((int)hdim, (int)ncls, NULL);
    if (!h) {
        snprintf(err, errlen, "out of memory loading %s", path);
        goto fail;
    }
    NEED(idlen);
    memcpy(h->model_id, p, idlen);
    h->model_id[idlen] = 0;
    p += idlen;
    for (uint32_t i = 0; i < ncls; i++) {
        NEED(4);
        uint32_t l = get_u32(p);
        p += 4;
        if (l == 0 || l >= CLASSIFIER_MAX_LABEL) {
            snprintf(err, errlen, "%s: label %u has a bad length %u", path, i, l);
            goto fail;
        }
        NEED(l);
        memcpy(h->labels[i], p, l);
        h->labels[i][l] = 0;
        p += l;
    }
    size_t nw = (size_t)ncls * hdim;
    NEED(4 * (nw + ncls));
    for (size_t i = 0; i < nw; i++, p += 4) h->weights[i] = get_f32(p);
    for (uint32_t i = 0; i < ncls; i++, p += 4) h->bias[i] = get_f32(p);
    if (version == HEAD_VERSION_VOCAB) {
        NEED(4);
        uint32_t vb = get_u32(p);
        p += 4;
        if (classifier_head_add_vocab(h, (int)(vb <= HEAD_MAX_VOCAB ? vb : 0)) < 0) {
            snprintf(err, errlen, "%s: bad vocabulary size %u (a power of two up to %d)", path, vb,
                     HEAD_MAX_VOCAB);
            goto fail;
        }
        size_t nv = (size_t)vb * ncls;
        NEED(4 * ((size_t)vb + nv));
        for (uint32_t i = 0; i < vb; i++, p += 4) h->idf[i] = get_f32(p);
        for (size_t i = 0; i < nv; i++, p += 4) h->vocab_weights[i] = get_f32(p);
        for (size_t i = 0; i < nv; i++)
            if (!isfinite(h->vocab_weights[i])) {
                snprintf(err, errlen, "%s: category head has non-finite vocabulary weights", path);
                goto fail;
            }
        for (uint32_t i = 0; i < vb; i++)
            if (!isfinite(h->idf[i]) || h->idf[i] < 0) {
                snprintf(err, errlen, "%s: category head has a bad idf value", path);
                goto fail;
            }
    }
    if (p != end) {
        snprintf(err, errlen, "%s: %zu unexpected trailing bytes in category head", path,
                 (size_t)(end - p));
        goto fail;
    }
    for (size_t i = 0; i < nw; i++)
        if (!isfinite(h->weights[i])) {
            snprintf(err, errlen, "%s: category head has non-finite weights", path);
            goto fail;
        }
    if (model_id && strcmp(model_id, h->model_id) != 0) {
        snprintf(err, errlen,
                 "%s was trained on embedding model '%s' but the loaded model is '%s'; retrain it "
                 "with `semrouter train-classifier`",
                 path, h->model_id, model_id);
        goto fail;
    }
    if (dim > 0 && dim != (int)hdim) {
        snprintf(err, errlen, "%s expects %u-d embeddings but the model gives %d-d", path, hdim,
                 dim);
        goto fail;
    }
    free(b);
    return h;
truncated:
    snprintf(err, errlen, "%s: category head file is truncated", path);
fail:
    classifier_head_free(h);
    free(b);
    return NULL;
#undef NEED
}

void classifier_head_probs(const classifier_head *h, const float *x, const char *text, size_t len,
                           float *probs)
{
    float mx = -INFINITY;
    vocab_feature f[VOCAB_MAX_FEATURES];
    int nf = h->vocab_buckets && text
                 ? vocab_features(text, len, (uint32_t)h->vocab_buckets, h->idf, f, VOCAB_MAX_FEATURES)
                 : 0;
    for (int c = 0; c < h->n_classes; c++) {
        const float *w = h->weights + (size_t)c * h->dim;
        float s = h->bias[c] + vec_kernels_best()->dot_f32(w, x, (size_t)h->dim);
        const float *vw = nf ? h->vocab_weights + (size_t)c * h->vocab_buckets : NULL;
        for (int i = 0; i < nf; i++) s += vw[f[i].bucket] * f[i].value;
        probs[c] = s;
        if (s > mx) mx = s;
    }
    float z = 0;
    for (int c = 0; c < h->n_classes; c++) {
        probs[c] = expf(probs[c] - mx);
        z += probs[c];
    }
    for (int c = 0; c < h->n_classes; c++) probs[c] /= z;
}

int classifier_head_label_index(const classifier_head *h, const char *name)
{
    for (int i = 0; i < h->n_classes; i++)
        if (!strcasecmp(h->labels[i], name)) return i;
    return -1;
}

/* ---- head + examples ---- */

struct classifier {
    classifier_head *head;
    float examples_threshold;
    int dim;
    int n_labels;                        /* head labels first, then example-only ones */
    char (*labels)[CLASSIFIER_MAX_LABEL];
    int n_examples;
    float *examples;                     /* [n_examples][dim] */
    int *example_label;                  /* [n_examples] */
};

classifier *classifier_new(classifier_head *head, float examples_threshold)
{
    classifier *c = calloc(1, sizeof *c);
    if (!c) {
        classifier_head_free(head);
        return NULL;
    }
    c->head = head;
    c->examples_threshold = examples_threshold;
    if (head) {
        c->dim = head->dim;
        c->n_labels = head->n_classes;
        c->labels = malloc((size_t)head->n_classes * sizeof *c->labels);
        if (!c->labels) {
            classifier_free(c);
            return NULL;
        }
        memcpy(c->labels, head->labels, (size_t)head->n_classes * sizeof *c->labels);
    }
    return c;
}

void classifier_free(classifier *c)
{
    if (!c) return;
    classifier_head_free(c->head);
    free(c->labels);
    free(c->examples);
    free(c->example_label);
    free(c);
}

static int label_find(const classifier *c, const char *name)
{
    for (int i = 0; i < c->n_labels; i++)
        if (!strcasecmp(c->labels[i], name)) return i;
    return -1;
}

int classifier_add_examples(classifier *c, const char *name, const float *vecs, int n, int dim,
                            char *err, size_t errlen)
{
    if (!name || !*name || strlen(name) >= CLASSIFIER_MAX_LABEL) {
        snprintf(err, errlen, "category name is empty or longer than %d bytes",
                 CLASSIFIER_MAX_LABEL - 1);
        return -1;
    }
    if (n <= 0) return 0;
    if (c->dim && dim != c->dim) {
        snprintf(err, errlen, "examples of '%s' are %d-d but the classifier is %d-d", name, dim,
                 c->dim);
        return -1;
    }
    c->dim = dim;
    int label = label_find(c, name);
    if (label < 0) {
        void *nl = realloc(c->labels, (size_t)(c->n_labels + 1) * sizeof *c->labels);
        if (!nl) goto oom;
        c->labels = nl;
        snprintf(c->labels[c->n_labels], CLASSIFIER_MAX_LABEL, "%s", name);
        label = c->n_labels++;
    }
    float *ne = realloc(c->examples, (size_t)(c->n_examples + n) * (size_t)dim * sizeof(float));
    if (!ne) goto oom;
    c->examples = ne;
    int *nlab = realloc(c->example_label, (size_t)(c->n_examples + n) * sizeof(int));
    if (!nlab) goto oom;
    c->example_label = nlab;
    memcpy(c->examples + (size_t)c->n_examples * dim, vecs, (size_t)n * dim * sizeof(float));
    for (int i = 0; i < n; i++) c->example_label[c->n_examples + i] = label;
    c->n_examples += n;
    return 0;
oom:
    snprintf(err, errlen, "out of memory adding examples for '%s'", name);
    return -1;
}

int classifier_n_labels(const classifier *c) { return c->n_labels; }
const char *classifier_label(const classifier *c, int i)
{
    return i >= 0 && i < c->n_labels ? c->labels[i] : NULL;
}
const classifier_head *classifier_get_head(const classifier *c) { return c->head; }
int classifier_dim(const classifier *c) { return c->dim; }

const char *classify_method_name(classify_method m)
{
    switch (m) {
    case CLASSIFY_HEAD: return "head";
    case CLASSIFY_EXAMPLES: return "examples";
    default: return "none";
    }
}

int classifier_classify(const classifier *c, const float *x, int dim, const char *text, size_t len,
                        float *probs, classify_result *out)
{
    memset(out, 0, sizeof *out);
    out->label = -1;
    out->example_label = -1;
    if ((!c->head && !c->n_examples) || dim != c->dim) return -1;
    if (probs)
        for (int i = 0; i < c->n_labels; i++) probs[i] = 0;

    /* Examples: O(n_examples · dim), a linear scan; config example lists are
     * tens to hundreds of vectors, far below where an index would pay. */
    float best = -2;
    for (int e = 0; e < c->n_examples; e++) {
        const float *v = c->examples + (size_t)e * dim;
        float s = vec_kernels_best()->dot_f32(v, x, (size_t)dim);
        if (s > best) {
            best = s;
            out->example_label = c->example_label[e];
        }
    }
    if (c->n_examples) out->example_similarity = best;

    if (c->head) {
        float local[256];
        float *p = probs;
        float *heap = NULL;
        if (!p) {
            if (c->head->n_classes <= 256) p = local;
            else if (!(p = heap = malloc((size_t)c->head->n_classes * sizeof(float)))) return -1;
        }
        classifier_head_probs(c->head, x, text, len, p);
        int top = 0;
        for (int i = 1; i < c->head->n_classes; i++)
            if (p[i] > p[top]) top = i;
        out->label = top;
        out->confidence = p[top];
        out->method = CLASSIFY_HEAD;
        free(heap);
    }
    if (c->n_examples && best >= c->examples_threshold) {
        out->label = out->example_label;
        out->confidence = best;
        out->method = CLASSIFY_EXAMPLES;
    }
    if (out->label >= 0) out->category = c->labels[out->label];
    return 0;
}
