/* use_lite.c - the Universal Sentence Encoder lite forward pass.
 *
 * Architecture (read from the TF.js graph; ../shared/models/use-lite/reference.py
 * is the executable spec):
 *   x0 = 2 * embedding[id] + timing signal            T x 256
 *   layer 0: y  = attn(LN(x0)) [4 heads x 64] + dense(x0)   -> T x 512
 *            y += FFN(LN(y))   [512 -> 1536 ReLU -> 512]
 *   layer 1: y += attn(LN(y))  [4 heads x 128]
 *            y += FFN(LN(y))
 *   e = tanh(mean_t(y) @ W + b); out = e / |e|
 * LayerNorm eps is 1e-6; there is no final LayerNorm. Because the mean over
 * tokens is linear, the last FFN's output projection is applied once to the
 * mean of its hidden activations instead of to every token (same result up to
 * float rounding, 17% fewer multiply-adds).
 *
 * Plain structs in the manner of llama2.c's run.c: the weights point into the
 * loaded blob; the state holds every activation buffer for 128 tokens, so an
 * encode allocates nothing. */
#include "embed/use_lite.h"
#include "core/util.h"
#include "embed/kernels.h"
#include "embed/sentencepiece.h"
#include "embed/tfjs_loader.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define D_EMB 256
#define D_MODEL 512
#define D_FF 1536
#define N_HEADS 4
#define LN_EPS 1e-6f

typedef struct use_lite_layer {
    int d_in, depth;                  /* input width; per-head width (heads = 4) */
    float scale;                      /* query scale, 1/sqrt(depth) */
    const float *ln_att_g, *ln_att_b; /* [d_in] */
    kernel_matrix qkv;                /* [d_in][3*D], D = 4 * depth */
    const float *b_qkv;               /* [3*D] */
    kernel_matrix out;                /* [D][512] */
    const float *b_out;
    kernel_matrix res; /* layer 0: [256][512] residual projection */
    const float *b_res;
    const float *ln_ffn_g, *ln_ffn_b; /* [512] */
    kernel_matrix ff1;                /* [512][1536] */
    const float *b_ff1;
    kernel_matrix ff2; /* [1536][512] */
    const float *b_ff2;
} use_lite_layer;

struct use_lite_model {
    tfjs_weights tf;
    spm_vocab *vocab;
    int vocab_rows;
    const float *emb; /* [vocab_rows][256] */
    float timing[USE_LITE_MAX_TOKENS][D_EMB];
    use_lite_layer layer[2];
    kernel_matrix tanh_w; /* [512][512] */
    const float *b_tanh;  /* [512] */
    float l2_floor;       /* max(|e|^2, floor) under the square root */
    kernel_precision prec;
    char id[64];
};

/* A batch runs as chunks of whole texts: up to CHUNK_ROWS tokens and
 * CHUNK_TEXTS texts share every matrix product (rows are independent, so a
 * text's vector is bit-identical to embedding it alone), and the weights are
 * streamed once per chunk instead of once per text. */
#define CHUNK_ROWS 256
#define CHUNK_TEXTS 64

struct use_lite_state {
    spm_scratch tok;
    int ids[CHUNK_ROWS]; /* token ids of the texts in the chunk, back to back */
    int one[USE_LITE_MAX_TOKENS];
    float *x0;  /* [rows][256] layer-0 input */
    float *xn;  /* [rows][512] LayerNorm output */
    float *qkv; /* [rows][1536] queries | keys | values */
    float *att; /* [rows][512] attention context, heads side by side */
    float *y;   /* [rows][512] residual stream */
    float *ff;  /* [rows][1536] FFN hidden */
    float prob[USE_LITE_MAX_TOKENS];
    float *pooled, *hidden, *pre; /* per text: [64][512], [64][1536], [64][512] */
    uint16_t *xq;                 /* [rows][1536] a matmul's input rounded to bf16 */
};

/* ---- loading ----------------------------------------------------------- */

#define PK "module_apply_default/Encoder_en/KonaTransformer/Encode/"
#define PM "module/Encoder_en/KonaTransformer/Encode/"

static const float *get(const use_lite_model *m, const char *name, int rank, int d0, int d1, int d2,
                        int d3, char *err, size_t errlen)
{
    int shape[4] = {d0, d1, d2, d3};
    return tfjs_get_f32(&m->tf, name, rank, shape, err, errlen);
}

/* Tensor of a layer: the name pattern has one %d for the layer number. */
static const float *get_l(const use_lite_model *m, const char *pattern, int l, int rank, int d0,
                          int d1, int d2, int d3, char *err, size_t errlen)
{
    char name[512];
    snprintf(name, sizeof name, pattern, l);
    return get(m, name, rank, d0, d1, d2, d3, err, errlen);
}

static int bind_layer(use_lite_model *m, int l, char *err, size_t errlen)
{
    use_lite_layer *L = &m->layer[l];
    int din = l == 0 ? D_EMB : D_MODEL, D = l == 0 ? 256 : 512;
    const float *w_qkv, *w_out, *w_res = NULL, *w_ff1, *w_ff2;
    L->d_in = din;
    L->depth = D / N_HEADS;
#define C(s) PK "Layer_%d/TransformerLayer/" s "/ConcatPartitions/concat"
    if (!(L->ln_att_g = get_l(m, C("layer_prepostprocess/layer_norm/layer_norm_scale"), l, 1, din,
                              0, 0, 0, err, errlen)) ||
        !(L->ln_att_b = get_l(m, C("layer_prepostprocess/layer_norm/layer_norm_bias"), l, 1, din, 0,
                              0, 0, err, errlen)) ||
        !(w_qkv = get_l(m,
                        PM "Layer_%d/TransformerLayer/MultiheadAttention/qkv_transform_single/"
                           "kernel/part_0",
                        l, 4, 1, 1, din, 3 * D, err, errlen)) ||
        !(L->b_qkv = get_l(m, C("MultiheadAttention/qkv_transform_single/bias"), l, 1, 3 * D, 0, 0,
                           0, err, errlen)) ||
        !(w_out = get_l(m,
                        PM "Layer_%d/TransformerLayer/MultiheadAttention/"
                           "output_transform_single/kernel/part_0",
                        l, 4, 1, 1, D, D_MODEL, err, errlen)) ||
        !(L->b_out = get_l(m, C("MultiheadAttention/output_transform_single/bias"), l, 1, D_MODEL,
                           0, 0, 0, err, errlen)) ||
        !(L->ln_ffn_g = get_l(m, C("FFN/layer_prepostprocess/layer_norm/layer_norm_scale"), l, 1,
                              D_MODEL, 0, 0, 0, err, errlen)) ||
        !(L->ln_ffn_b = get_l(m, C("FFN/layer_prepostprocess/layer_norm/layer_norm_bias"), l, 1,
                              D_MODEL, 0, 0, 0, err, errlen)) ||
        !(w_ff1 = get_l(m,
                        PK "TransformerStack/Layer_%d/TransformerLayer/FFN/conv1/Tensordot/"
                           "Reshape_1",
                        l, 2, D_MODEL, D_FF, 0, 0, err, errlen)) ||
        !(L->b_ff1 = get_l(m, C("FFN/conv1/bias"), l, 1, D_FF, 0, 0, 0, err, errlen)) ||
        !(w_ff2 = get_l(m,
                        PK "TransformerStack/Layer_%d/TransformerLayer/FFN/conv2/Tensordot/"
                           "Reshape_1",
                        l, 2, D_FF, D_MODEL, 0, 0, err, errlen)) ||
        !(L->b_ff2 = get_l(m, C("FFN/conv2/bias"), l, 1, D_MODEL, 0, 0, 0, err, errlen)))
        return -1;
    if (l == 0 &&
        (!(w_res = get(m, PK "Layer_0/TransformerLayer/dense/kernel/ConcatPartitions/concat", 2,
                       D_EMB, D_MODEL, 0, 0, err, errlen)) ||
         !(L->b_res = get(m, PK "Layer_0/TransformerLayer/dense/bias/ConcatPartitions/concat", 1,
                          D_MODEL, 0, 0, 0, err, errlen))))
        return -1;
#undef C
    const float *scale = get_l(m,
                               PK "TransformerStack/Layer_%d/TransformerLayer/"
                                  "MultiheadAttention/mul/y",
                               l, 0, 0, 0, 0, 0, err, errlen);
    if (!scale) return -1;
    L->scale = *scale;
    const kernel_precision p = m->prec;
    if (kernel_matrix_init_prec(&L->qkv, w_qkv, din, 3 * D, p) ||
        kernel_matrix_init_prec(&L->out, w_out, D, D_MODEL, p) ||
        (w_res && kernel_matrix_init_prec(&L->res, w_res, D_EMB, D_MODEL, p)) ||
        kernel_matrix_init_prec(&L->ff1, w_ff1, D_MODEL, D_FF, p) ||
        kernel_matrix_init_prec(&L->ff2, w_ff2, D_FF, D_MODEL, p)) {
        snprintf(err, errlen, "out of memory packing the model weights");
        return -1;
    }
    if (!(fabsf(L->scale * L->scale * (float)L->depth - 1.0f) < 1e-3f)) {
        snprintf(err, errlen, "model layer %d has attention scale %g, expected 1/sqrt(%d)", l,
                 (double)L->scale, L->depth);
        return -1;
    }
    return 0;
}

use_lite_model *use_lite_load(const char *dir, int bf16, char *err, size_t errlen)
{
    use_lite_model *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    m->prec = bf16 ? KERNEL_BF16 : KERNEL_F32;
    if (tfjs_load(&m->tf, dir, err, errlen)) {
        free(m);
        return NULL;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/vocab.json", dir);
    if (!(m->vocab = spm_load(path, err, errlen))) goto err;
    /* the embedding table's row count is read from the manifest, then checked */
    const tfjs_tensor *et = NULL;
    for (int i = 0; i < m->tf.n_tensors; i++)
        if (!strcmp(m->tf.tensors[i].name, "module/Embeddings_en")) et = &m->tf.tensors[i];
    if (!et || et->rank != 2) {
        snprintf(err, errlen, "model weight module/Embeddings_en is missing or not a matrix");
        goto err;
    }
    m->vocab_rows = et->shape[0];
    if (m->vocab_rows < spm_vocab_size(m->vocab)) {
        snprintf(err, errlen, "vocab.json has %d pieces but the embedding table only %d rows",
                 spm_vocab_size(m->vocab), m->vocab_rows);
        goto err;
    }
    if (!(m->emb = get(m, "module/Embeddings_en", 2, m->vocab_rows, D_EMB, 0, 0, err, errlen)))
        goto err;
    const float *inv =
        get(m, PK "TransformerStack/Layer_0/AddTimingSignal/TimingSignal/ExpandDims_1", 2, 1,
            D_EMB / 2, 0, 0, err, errlen);
    if (!inv) goto err;
    for (int t = 0; t < USE_LITE_MAX_TOKENS; t++)
        for (int i = 0; i < D_EMB / 2; i++) {
            double a = (double)t * (double)inv[i];
            m->timing[t][i] = (float)sin(a);
            m->timing[t][D_EMB / 2 + i] = (float)cos(a);
        }
    for (int l = 0; l < 2; l++)
        if (bind_layer(m, l, err, errlen)) goto err;
    const float *w_tanh;
    if (!(w_tanh = get(m, "module/Encoder_en/hidden_layers/tanh_layer_0/weights", 2, D_MODEL,
                       D_MODEL, 0, 0, err, errlen)) ||
        !(m->b_tanh = get(m, "module/Encoder_en/hidden_layers/tanh_layer_0/bias", 1, D_MODEL, 0, 0,
                          0, err, errlen)))
        goto err;
    const float *floor =
        get(m, "module_apply_default/Encoder_en/hidden_layers/l2_normalize/Maximum/y", 0, 0, 0, 0,
            0, err, errlen);
    if (!floor) goto err;
    m->l2_floor = *floor;
    if (kernel_matrix_init_prec(&m->tanh_w, w_tanh, D_MODEL, D_MODEL, m->prec)) {
        snprintf(err, errlen, "out of memory packing the model weights");
        goto err;
    }
    /* id: hash of the weight bytes and the vocabulary (what decides the vectors) */
    size_t vlen;
    char *vtext = util_read_file(path, &vlen, err, errlen);
    if (!vtext) goto err;
    unsigned char h1[32], h2[32], both[64];
    util_sha256(m->tf.blob, m->tf.blob_len, h1);
    util_sha256(vtext, vlen, h2);
    free(vtext);
    memcpy(both, h1, 32);
    memcpy(both + 32, h2, 32);
    char hex[65];
    util_sha256_hex(both, sizeof both, hex);
    snprintf(m->id, sizeof m->id, "use-lite-512:%.8s", hex);
    return m;
err:
    use_lite_free(m);
    return NULL;
}

void use_lite_free(use_lite_model *m)
{
    if (!m) return;
    for (int l = 0; l < 2; l++) {
        use_lite_layer *L = &m->layer[l];
        kernel_matrix_free(&L->qkv);
        kernel_matrix_free(&L->out);
        kernel_matrix_free(&L->res);
        kernel_matrix_free(&L->ff1);
        kernel_matrix_free(&L->ff2);
    }
    kernel_matrix_free(&m->tanh_w);
    tfjs_free(&m->tf);
    spm_free(m->vocab);
    free(m);
}

const char *use_lite_id(const use_lite_model *m)
{
    return m->id;
}

use_lite_state *use_lite_state_new(const use_lite_model *m)
{
    (void)m;
    use_lite_state *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    const size_t T = CHUNK_ROWS, G = CHUNK_TEXTS;
    s->x0 = malloc(T * D_EMB * sizeof(float));
    s->xn = malloc(T * D_MODEL * sizeof(float));
    s->qkv = malloc(T * 3 * D_MODEL * sizeof(float));
    s->att = malloc(T * D_MODEL * sizeof(float));
    s->y = malloc(T * D_MODEL * sizeof(float));
    s->ff = malloc(T * D_FF * sizeof(float));
    s->pooled = malloc(G * D_MODEL * sizeof(float));
    s->hidden = malloc(G * D_FF * sizeof(float));
    s->pre = malloc(G * D_MODEL * sizeof(float));
    s->xq = malloc(T * D_FF * sizeof(uint16_t));
    if (!s->x0 || !s->xn || !s->qkv || !s->att || !s->y || !s->ff || !s->pooled || !s->hidden ||
        !s->pre || !s->xq) {
        use_lite_state_free(s);
        return NULL;
    }
    return s;
}

void use_lite_state_free(use_lite_state *s)
{
    if (!s) return;
    spm_scratch_free(&s->tok);
    free(s->x0);
    free(s->xn);
    free(s->qkv);
    free(s->att);
    free(s->y);
    free(s->ff);
    free(s->pooled);
    free(s->hidden);
    free(s->pre);
    free(s->xq);
    free(s);
}

/* ---- forward ----------------------------------------------------------- */

static void layer_norm(float *out, const float *x, const float *g, const float *b, int T, int D)
{
    for (int t = 0; t < T; t++) {
        const float *xt = x + (size_t)t * D;
        float *ot = out + (size_t)t * D;
        float mean = 0;
        for (int i = 0; i < D; i++)
            mean += xt[i];
        mean /= (float)D;
        float var = 0;
        for (int i = 0; i < D; i++) {
            float d = xt[i] - mean;
            var += d * d;
        }
        float inv = 1.0f / sqrtf(var / (float)D + LN_EPS);
        for (int i = 0; i < D; i++)
            ot[i] = (xt[i] - mean) * (g[i] * inv) + b[i];
    }
}

/* Multi-head self-attention over s->xn into s->att; each text of the chunk
 * (rows off[g] .. off[g] + len[g]) attends only to itself. */
static void attention(const use_lite_layer *L, use_lite_state *s, int rows, int n, const int *off,
                      const int *len)
{
    const int depth = L->depth, D = N_HEADS * depth, D3 = 3 * D;
    kernel_matmul(s->qkv, s->xn, &L->qkv, L->b_qkv, rows, 0, s->xq);
    for (int g = 0; g < n; g++) {
        const float *base = s->qkv + (size_t)off[g] * D3;
        const int T = len[g];
        for (int h = 0; h < N_HEADS; h++) {
            for (int t = 0; t < T; t++) {
                const float *q = base + (size_t)t * D3 + h * depth;
                float mx = -INFINITY;
                for (int j = 0; j < T; j++) {
                    const float *k = base + (size_t)j * D3 + D + h * depth;
                    s->prob[j] = L->scale * kernel_dot(q, k, depth);
                    if (s->prob[j] > mx) mx = s->prob[j];
                }
                float sum = 0;
                for (int j = 0; j < T; j++)
                    sum += s->prob[j] = expf(s->prob[j] - mx);
                float *o = s->att + (size_t)(off[g] + t) * D + h * depth;
                memset(o, 0, (size_t)depth * sizeof *o);
                for (int j = 0; j < T; j++)
                    kernel_axpy(o, s->prob[j] / sum, base + (size_t)j * D3 + 2 * D + h * depth,
                                depth);
            }
        }
    }
}

/* s->ff = ReLU(LN(s->y) @ W1 + b1), rows x 1536. */
static void ffn_hidden(const use_lite_layer *L, use_lite_state *s, int rows)
{
    layer_norm(s->xn, s->y, L->ln_ffn_g, L->ln_ffn_b, rows, D_MODEL);
    kernel_matmul(s->ff, s->xn, &L->ff1, L->b_ff1, rows, 0, s->xq);
    for (size_t i = 0; i < (size_t)rows * D_FF; i++)
        if (s->ff[i] < 0) s->ff[i] = 0;
}

/* out[g] = normalise(tanh(pooled[g] @ W + b)) for n pooled rows. */
static void finish(const use_lite_model *m, use_lite_state *s, int n, float *out)
{
    kernel_matmul(s->pre, s->pooled, &m->tanh_w, m->b_tanh, n, 0, s->xq);
    for (int g = 0; g < n; g++) {
        float *o = out + (size_t)g * D_MODEL;
        const float *p = s->pre + (size_t)g * D_MODEL;
        float ss = 0;
        for (int i = 0; i < D_MODEL; i++) {
            o[i] = tanhf(p[i]);
            ss += o[i] * o[i];
        }
        float inv = 1.0f / sqrtf(ss > m->l2_floor ? ss : m->l2_floor);
        for (int i = 0; i < D_MODEL; i++)
            o[i] *= inv;
    }
}

/* The encoder over a chunk: n texts (1..64) of len[g] >= 1 tokens at s->ids +
 * off[g], rows = total tokens (<= 256); vectors into out[n][512]. */
static void forward(const use_lite_model *m, use_lite_state *s, int n, const int *off,
                    const int *len, int rows, float *out)
{
    for (int g = 0; g < n; g++)
        for (int t = 0; t < len[g]; t++) {
            const float *e = m->emb + (size_t)s->ids[off[g] + t] * D_EMB;
            float *x = s->x0 + (size_t)(off[g] + t) * D_EMB;
            for (int i = 0; i < D_EMB; i++)
                x[i] = 2.0f * e[i] + m->timing[t][i];
        }
    const use_lite_layer *L0 = &m->layer[0], *L1 = &m->layer[1];
    /* layer 0 */
    layer_norm(s->xn, s->x0, L0->ln_att_g, L0->ln_att_b, rows, D_EMB);
    attention(L0, s, rows, n, off, len);
    kernel_matmul(s->y, s->att, &L0->out, L0->b_out, rows, 0, s->xq);
    kernel_matmul(s->y, s->x0, &L0->res, L0->b_res, rows, 1, s->xq);
    ffn_hidden(L0, s, rows);
    kernel_matmul(s->y, s->ff, &L0->ff2, L0->b_ff2, rows, 1, s->xq);
    /* layer 1 */
    layer_norm(s->xn, s->y, L1->ln_att_g, L1->ln_att_b, rows, D_MODEL);
    attention(L1, s, rows, n, off, len);
    kernel_matmul(s->y, s->att, &L1->out, L1->b_out, rows, 1, s->xq);
    ffn_hidden(L1, s, rows);
    /* mean over each text's tokens; the last projection commutes with it */
    for (int g = 0; g < n; g++) {
        float *pooled = s->pooled + (size_t)g * D_MODEL, *hidden = s->hidden + (size_t)g * D_FF;
        const float invT = 1.0f / (float)len[g];
        for (int i = 0; i < D_MODEL; i++)
            pooled[i] = 0;
        for (int i = 0; i < D_FF; i++)
            hidden[i] = 0;
        for (int t = off[g]; t < off[g] + len[g]; t++) {
            const float *yt = s->y + (size_t)t * D_MODEL, *ft = s->ff + (size_t)t * D_FF;
            for (int i = 0; i < D_MODEL; i++)
                pooled[i] += yt[i];
            for (int i = 0; i < D_FF; i++)
                hidden[i] += ft[i];
        }
        for (int i = 0; i < D_MODEL; i++)
            pooled[i] *= invT;
        for (int i = 0; i < D_FF; i++)
            hidden[i] *= invT;
    }
    kernel_matmul(s->pooled, s->hidden, &L1->ff2, L1->b_ff2, n, 1, s->xq);
    finish(m, s, n, out);
}

/* No tokens: the mean of nothing is taken as the zero vector. */
static void encode_empty(const use_lite_model *m, use_lite_state *s, float *out)
{
    memset(s->pooled, 0, D_MODEL * sizeof *s->pooled);
    finish(m, s, 1, out);
}

void use_lite_encode_ids(const use_lite_model *m, use_lite_state *s, const int *ids, int T,
                         float *out)
{
    if (T > USE_LITE_MAX_TOKENS) T = USE_LITE_MAX_TOKENS;
    if (T <= 0) {
        encode_empty(m, s, out);
        return;
    }
    if (ids != s->ids) memmove(s->ids, ids, (size_t)T * sizeof *ids);
    int off = 0;
    forward(m, s, 1, &off, &T, T, out);
}

int use_lite_tokenize(const use_lite_model *m, use_lite_state *s, const char *text, size_t len,
                      int *ids, int max_ids)
{
    return spm_encode(m->vocab, &s->tok, text, len, ids, max_ids);
}

int use_lite_encode(const use_lite_model *m, use_lite_state *s, const char *text, size_t len,
                    float *out, int *n_tokens)
{
    int n = spm_encode(m->vocab, &s->tok, text, len, s->ids, USE_LITE_MAX_TOKENS);
    if (n < 0) return -1;
    if (n_tokens) *n_tokens = n;
    use_lite_encode_ids(m, s, s->ids, n < USE_LITE_MAX_TOKENS ? n : USE_LITE_MAX_TOKENS, out);
    return 0;
}

int use_lite_encode_batch(const use_lite_model *m, use_lite_state *s, const char *const *texts,
                          const size_t *lens, int n, float *out, int *n_tokens)
{
    int off[CHUNK_TEXTS], len[CHUNK_TEXTS], slot[CHUNK_TEXTS];
    /* a text tokenized into s->one that did not fit the last chunk */
    int i = 0, pending = -1, pending_T = 0;
    while (i < n || pending >= 0) {
        int g = 0, rows = 0;
        while (g < CHUNK_TEXTS && (pending >= 0 || i < n)) {
            int T, which;
            if (pending >= 0) {
                which = pending, T = pending_T, pending = -1;
            } else {
                which = i++;
                int c = spm_encode(m->vocab, &s->tok, texts[which] ? texts[which] : "",
                                   texts[which] ? lens[which] : 0, s->one, USE_LITE_MAX_TOKENS);
                if (c < 0) return -1;
                if (n_tokens) n_tokens[which] = c;
                T = c < USE_LITE_MAX_TOKENS ? c : USE_LITE_MAX_TOKENS;
                if (T == 0) {
                    encode_empty(m, s, out + (size_t)which * D_MODEL);
                    continue;
                }
            }
            if (rows + T > CHUNK_ROWS) { /* s->one keeps it for the next chunk */
                pending = which, pending_T = T;
                break;
            }
            memmove(s->ids + rows, s->one, (size_t)T * sizeof(int));
            off[g] = rows, len[g] = T, slot[g] = which;
            rows += T, g++;
        }
        if (g == 0) continue;
        /* the chunk's vectors go to a contiguous scratch (xn is free once forward
         * has used it), then to their rows */
        float *res = s->xn;
        forward(m, s, g, off, len, rows, res);
        for (int k = 0; k < g; k++)
            memcpy(out + (size_t)slot[k] * D_MODEL, res + (size_t)k * D_MODEL,
                   D_MODEL * sizeof(float));
    }
    return 0;
}
