/* model2vec.c - Model2Vec static models (see model2vec.h).
 *
 * Loading parses the safetensors header (every offset and size checked against
 * the file) and tokenizer.json; the vocabulary becomes one open-addressing hash
 * table from UTF-8 piece to id. Encoding normalises the text into per-thread
 * scratch (code points + their UTF-8 with per-character byte offsets, so any
 * substring is a byte range for the hash lookup), tokenizes, and averages rows
 * in double precision like the numpy reference. */
#include "embed/model2vec.h"
#include "core/array.h"
#include "core/util.h"
#include "core/vec.h"
#include "embed/text.h"
#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

enum { M2V_WORDPIECE, M2V_UNIGRAM };
#define MAX_REPLACES 256

typedef struct piece_map {
    char **key; /* NUL-terminated UTF-8, owned */
    uint32_t *key_len;
    int32_t *id;
    size_t mask;
} piece_map;

typedef struct replace_rule {
    uint32_t *from, *to;
    int from_len, to_len;
} replace_rule;

struct model2vec_model {
    int kind, dim, rows, vocab_size;
    float *emb;       /* [rows][dim] */
    int32_t *mapping; /* [vocab_size] or NULL */
    double *weights;  /* [vocab_size] or NULL */
    piece_map vocab;
    double *score;       /* unigram: per id */
    int maxlen;          /* unigram: longest piece in characters */
    int drop[3], n_drop; /* unigram: ids never emitted ([UNK], [PAD], U+2581) */
    int unk_id;          /* wordpiece: id of the unknown token (dropped), -1 if none */
    char prefix[16];     /* wordpiece: continuing-subword prefix */
    int max_word_chars;  /* wordpiece: longer words are unknown */
    replace_rule rep[MAX_REPLACES];
    int n_rep;
    char id[64];
};

struct model2vec_state {
    uint32_t *a, *b; /* code point buffers (normalisation ping-pongs between them) */
    size_t cap;
    char *utf8;    /* UTF-8 of the normalised text */
    uint32_t *off; /* byte offset of each character in utf8, [n + 1] */
    size_t utf8_cap;
    double *best;
    int32_t *back_start, *back_id;
    int32_t *ids;
    size_t ids_cap;
    char *cand; /* candidate piece (prefix + substring) */
    size_t cand_cap;
    double *acc;
};

/* ---- piece map ------------------------------------------------------------ */

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = util_fnv1a(UTIL_FNV1A_BASIS, s, n);
    return h ^ (h >> 29);
}

static int map_init(piece_map *m, size_t n)
{
    size_t cap = 16;
    while (cap < n * 2)
        cap *= 2;
    m->key = calloc(cap, sizeof *m->key);
    m->key_len = calloc(cap, sizeof *m->key_len);
    m->id = calloc(cap, sizeof *m->id);
    m->mask = cap - 1;
    return m->key && m->key_len && m->id ? 0 : -1;
}

static void map_free(piece_map *m)
{
    if (m->key)
        for (size_t i = 0; i <= m->mask; i++)
            free(m->key[i]);
    free(m->key);
    free(m->key_len);
    free(m->id);
}

static int map_get(const piece_map *m, const char *s, size_t n)
{
    size_t i = hash_bytes(s, n) & m->mask;
    while (m->key[i]) {
        if (m->key_len[i] == n && !memcmp(m->key[i], s, n)) return m->id[i];
        i = (i + 1) & m->mask;
    }
    return -1;
}

/* Sets s -> id; a later duplicate overwrites (as a Python dict does). */
static int map_put(piece_map *m, const char *s, size_t n, int id)
{
    size_t i = hash_bytes(s, n) & m->mask;
    while (m->key[i]) {
        if (m->key_len[i] == n && !memcmp(m->key[i], s, n)) {
            m->id[i] = id;
            return 0;
        }
        i = (i + 1) & m->mask;
    }
    if (!(m->key[i] = malloc(n + 1))) return -1;
    memcpy(m->key[i], s, n);
    m->key[i][n] = 0;
    m->key_len[i] = (uint32_t)n;
    m->id[i] = id;
    return 0;
}

static int utf8_chars(const char *s)
{
    int n = 0;
    for (size_t i = 0, len = strlen(s); i < len; n++) {
        uint32_t cp;
        i += text_utf8_next((const unsigned char *)s + i, len - i, &cp);
    }
    return n;
}

static uint32_t *to_cps(const char *s, int *n_out)
{
    size_t len = strlen(s);
    uint32_t *c = malloc((len + 1) * sizeof *c);
    if (!c) return NULL;
    int n = 0;
    for (size_t i = 0; i < len; n++)
        i += text_utf8_next((const unsigned char *)s + i, len - i, &c[n]);
    *n_out = n;
    return c;
}

/* ---- safetensors ---------------------------------------------------------- */

typedef struct st_tensor {
    const unsigned char *data;
    size_t bytes;
    int rank;
    long long shape[4];
    char dtype[8];
} st_tensor;

/* Finds tensor name in the parsed header; 1 found, 0 absent, -1 malformed. */
static int st_find(const cJSON *hdr, const unsigned char *base, size_t data_len, const char *name,
                   st_tensor *t, char *err, size_t errlen)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(hdr, name);
    if (!e) return 0;
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *of = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!cJSON_IsString(dt) || !cJSON_IsArray(sh) || !cJSON_IsArray(of) ||
        cJSON_GetArraySize(of) != 2 || cJSON_GetArraySize(sh) > 4 || strlen(dt->valuestring) > 7)
        goto bad;
    strcpy(t->dtype, dt->valuestring);
    int esize = !strcmp(t->dtype, "F64") || !strcmp(t->dtype, "I64")   ? 8
                : !strcmp(t->dtype, "F32") || !strcmp(t->dtype, "I32") ? 4
                : !strcmp(t->dtype, "F16")                             ? 2
                : !strcmp(t->dtype, "I8")                              ? 1
                                                                       : 0;
    if (!esize) {
        snprintf(err, errlen, "model.safetensors: tensor %s has unsupported dtype %s", name,
                 t->dtype);
        return -1;
    }
    t->rank = cJSON_GetArraySize(sh);
    double count = 1;
    for (int i = 0; i < t->rank; i++) {
        const cJSON *d = cJSON_GetArrayItem(sh, i);
        if (!cJSON_IsNumber(d) || d->valuedouble < 0 || d->valuedouble > 1e9) goto bad;
        t->shape[i] = (long long)d->valuedouble;
        count *= d->valuedouble;
    }
    double b0 = cJSON_GetArrayItem(of, 0)->valuedouble, b1 = cJSON_GetArrayItem(of, 1)->valuedouble;
    if (!(b0 >= 0 && b1 >= b0 && b1 <= (double)data_len) || count * esize != b1 - b0) goto bad;
    t->data = base + (size_t)b0;
    t->bytes = (size_t)(b1 - b0);
    return 1;
bad:
    snprintf(err, errlen, "model.safetensors: tensor %s has a malformed or out-of-range entry",
             name);
    return -1;
}

static int load_tensors(model2vec_model *m, const char *dir, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    size_t len;
    unsigned char *file = (unsigned char *)util_read_file(path, &len, err, errlen);
    if (!file) return -1;
    int rc = -1;
    cJSON *hdr = NULL;
    uint64_t hl = 0;
    if (len >= 8) memcpy(&hl, file, 8); /* little-endian hosts only (x86-64, arm64) */
    if (len < 8 || hl > len - 8 || hl > (64u << 20)) {
        snprintf(err, errlen, "%s is truncated or not a safetensors file", path);
        goto out;
    }
    hdr = cJSON_ParseWithLength((const char *)file + 8, (size_t)hl);
    if (!cJSON_IsObject(hdr)) {
        snprintf(err, errlen, "%s: the safetensors header is not a JSON object", path);
        goto out;
    }
    const unsigned char *base = file + 8 + hl;
    size_t data_len = len - 8 - (size_t)hl;
    st_tensor e, mp, w;
    int he = st_find(hdr, base, data_len, "embeddings", &e, err, errlen);
    int hm = st_find(hdr, base, data_len, "mapping", &mp, err, errlen);
    int hw = st_find(hdr, base, data_len, "weights", &w, err, errlen);
    if (he < 0 || hm < 0 || hw < 0) goto out;
    if (!he || e.rank != 2 || e.shape[0] < 1 || e.shape[1] < 1 || e.shape[1] > 65536) {
        snprintf(err, errlen, "%s has no 2-d \"embeddings\" tensor", path);
        goto out;
    }
    m->rows = (int)e.shape[0];
    m->dim = (int)e.shape[1];
    size_t n = (size_t)m->rows * (size_t)m->dim;
    if (!(m->emb = malloc(n * sizeof *m->emb))) goto oom;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(e.dtype, "F32"))
            memcpy(&m->emb[i], e.data + 4 * i, 4);
        else if (!strcmp(e.dtype, "F16")) {
            uint16_t h;
            memcpy(&h, e.data + 2 * i, 2);
            m->emb[i] = vec_f16_to_f32_one(h);
        } else if (!strcmp(e.dtype, "I8"))
            m->emb[i] = (float)(int8_t)e.data[i];
        else if (!strcmp(e.dtype, "F64")) {
            double d;
            memcpy(&d, e.data + 8 * i, 8);
            m->emb[i] = (float)d;
        } else {
            snprintf(err, errlen, "%s: embeddings must be F32, F16, F64 or I8", path);
            goto out;
        }
    }
    if (hm) { /* vocab-quantized layout */
        if (mp.rank != 1 || !hw || w.rank != 1 || w.shape[0] != mp.shape[0] ||
            (strcmp(mp.dtype, "I32") && strcmp(mp.dtype, "I64")) ||
            (strcmp(w.dtype, "F64") && strcmp(w.dtype, "F32"))) {
            snprintf(err, errlen,
                     "%s: \"mapping\" (I32/I64 [V]) needs a matching \"weights\" (F64/F32 [V])",
                     path);
            goto out;
        }
        size_t V = (size_t)mp.shape[0];
        m->mapping = malloc((V ? V : 1) * sizeof *m->mapping);
        m->weights = malloc((V ? V : 1) * sizeof *m->weights);
        if (!m->mapping || !m->weights) goto oom;
        for (size_t i = 0; i < V; i++) {
            long long v;
            if (!strcmp(mp.dtype, "I32")) {
                int32_t x;
                memcpy(&x, mp.data + 4 * i, 4);
                v = x;
            } else {
                int64_t x;
                memcpy(&x, mp.data + 8 * i, 8);
                v = x;
            }
            if (v < 0 || v >= m->rows) {
                snprintf(err, errlen, "%s: mapping[%zu] = %lld is outside the %d embedding rows",
                         path, i, v, m->rows);
                goto out;
            }
            m->mapping[i] = (int32_t)v;
            if (!strcmp(w.dtype, "F64"))
                memcpy(&m->weights[i], w.data + 8 * i, 8);
            else {
                float f;
                memcpy(&f, w.data + 4 * i, 4);
                m->weights[i] = f;
            }
        }
        m->vocab_size = (int)V;
    } else {
        m->vocab_size = m->rows;
    }
    /* id: hash of the tensor file */
    char hex[65];
    util_sha256_hex(file, len, hex);
    snprintf(m->id, sizeof m->id, "model2vec-%d:%.8s", m->dim, hex);
    rc = 0;
    goto out;
oom:
    snprintf(err, errlen, "out of memory loading %s", path);
out:
    cJSON_Delete(hdr);
    free(file);
    return rc;
}

/* ---- tokenizer.json ----------------------------------------------------- */

static int load_tokenizer(model2vec_model *m, const char *dir, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    size_t len;
    char *text = util_read_file(path, &len, err, errlen);
    if (!text) return -1;
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    int rc = -1;
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(model, "type");
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    if (!cJSON_IsString(type)) {
        snprintf(err, errlen, "%s has no model.type", path);
        goto out;
    }
    if (!strcmp(type->valuestring, "WordPiece")) {
        m->kind = M2V_WORDPIECE;
        if (!cJSON_IsObject(vocab) || map_init(&m->vocab, (size_t)cJSON_GetArraySize(vocab))) {
            snprintf(err, errlen, "%s: WordPiece model.vocab must be an object", path);
            goto out;
        }
        const cJSON *e;
        cJSON_ArrayForEach(e, vocab)
        {
            if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble >= m->vocab_size) {
                snprintf(err, errlen, "%s: token %s has an id outside the %d embedding rows", path,
                         e->string, m->vocab_size);
                goto out;
            }
            if (map_put(&m->vocab, e->string, strlen(e->string), e->valueint)) goto oom;
        }
        const cJSON *unk = cJSON_GetObjectItemCaseSensitive(model, "unk_token");
        const char *u = cJSON_IsString(unk) ? unk->valuestring : "[UNK]";
        m->unk_id = map_get(&m->vocab, u, strlen(u));
        const cJSON *pre = cJSON_GetObjectItemCaseSensitive(model, "continuing_subword_prefix");
        snprintf(m->prefix, sizeof m->prefix, "%s", cJSON_IsString(pre) ? pre->valuestring : "##");
        const cJSON *mx = cJSON_GetObjectItemCaseSensitive(model, "max_input_chars_per_word");
        m->max_word_chars = cJSON_IsNumber(mx) && mx->valueint > 0 ? mx->valueint : 100;
    } else if (!strcmp(type->valuestring, "Unigram")) {
        m->kind = M2V_UNIGRAM;
        int n = cJSON_GetArraySize(vocab);
        if (!cJSON_IsArray(vocab) || n == 0 || map_init(&m->vocab, (size_t)n)) {
            snprintf(err, errlen, "%s: Unigram model.vocab must be a list", path);
            goto out;
        }
        if (n > m->vocab_size) {
            snprintf(err, errlen, "%s has %d pieces but the model only %d rows", path, n,
                     m->vocab_size);
            goto out;
        }
        if (!(m->score = calloc((size_t)n, sizeof *m->score))) goto oom;
        int id = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, vocab)
        {
            const cJSON *p = cJSON_GetArrayItem(e, 0), *sc = cJSON_GetArrayItem(e, 1);
            if (!cJSON_IsString(p) || !cJSON_IsNumber(sc)) {
                snprintf(err, errlen, "%s: vocab entry %d is not [piece, score]", path, id);
                goto out;
            }
            if (map_put(&m->vocab, p->valuestring, strlen(p->valuestring), id)) goto oom;
            int chars = utf8_chars(p->valuestring);
            if (chars > m->maxlen) m->maxlen = chars;
            id++;
        }
        /* scores by final id of each piece (a later duplicate wins, as in the reference) */
        id = 0;
        cJSON_ArrayForEach(e, vocab)
        {
            const char *p = cJSON_GetArrayItem(e, 0)->valuestring;
            m->score[map_get(&m->vocab, p, strlen(p))] = cJSON_GetArrayItem(e, 1)->valuedouble;
            id++;
        }
        static const char *const dropped[] = {"[UNK]", "[PAD]", "\xe2\x96\x81"};
        for (int i = 0; i < 3; i++) {
            int d = map_get(&m->vocab, dropped[i], strlen(dropped[i]));
            if (d >= 0) m->drop[m->n_drop++] = d;
        }
        const cJSON *norm = cJSON_GetObjectItemCaseSensitive(root, "normalizer");
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(norm, "normalizers");
        const cJSON *x;
        cJSON_ArrayForEach(x, list)
        {
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(x, "type");
            const cJSON *pat = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(x, "pattern"), "String");
            const cJSON *content = cJSON_GetObjectItemCaseSensitive(x, "content");
            if (!cJSON_IsString(t) || strcmp(t->valuestring, "Replace") || !cJSON_IsString(pat) ||
                !cJSON_IsString(content) || !pat->valuestring[0])
                continue;
            if (m->n_rep == MAX_REPLACES) {
                snprintf(err, errlen, "%s: more than %d Replace normalizers", path, MAX_REPLACES);
                goto out;
            }
            replace_rule *r = &m->rep[m->n_rep];
            r->from = to_cps(pat->valuestring, &r->from_len);
            r->to = to_cps(content->valuestring, &r->to_len);
            if (!r->from || !r->to) goto oom;
            m->n_rep++;
        }
    } else {
        snprintf(err, errlen, "%s: tokenizer model type %s is not supported (WordPiece, Unigram)",
                 path, type->valuestring);
        goto out;
    }
    rc = 0;
    goto out;
oom:
    snprintf(err, errlen, "out of memory loading %s", path);
out:
    cJSON_Delete(root);
    return rc;
}

model2vec_model *model2vec_load(const char *dir, char *err, size_t errlen)
{
    model2vec_model *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    m->unk_id = -1;
    if (load_tensors(m, dir, err, errlen) || load_tokenizer(m, dir, err, errlen)) {
        model2vec_free(m);
        return NULL;
    }
    return m;
}

void model2vec_free(model2vec_model *m)
{
    if (!m) return;
    free(m->emb);
    free(m->mapping);
    free(m->weights);
    free(m->score);
    map_free(&m->vocab);
    for (int i = 0; i < m->n_rep; i++) {
        free(m->rep[i].from);
        free(m->rep[i].to);
    }
    free(m);
}

int model2vec_dim(const model2vec_model *m)
{
    return m->dim;
}
const char *model2vec_id(const model2vec_model *m)
{
    return m->id;
}

model2vec_state *model2vec_state_new(const model2vec_model *m)
{
    model2vec_state *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    if (!(s->acc = calloc((size_t)m->dim, sizeof *s->acc))) {
        free(s);
        return NULL;
    }
    return s;
}

void model2vec_state_free(model2vec_state *s)
{
    if (!s) return;
    free(s->a);
    free(s->b);
    free(s->utf8);
    free(s->off);
    free(s->best);
    free(s->back_start);
    free(s->back_id);
    free(s->ids);
    free(s->cand);
    free(s->acc);
    free(s);
}

/* ---- encoding ------------------------------------------------------------- */

/* Ensures every per-character buffer holds n characters. */
static int reserve_chars(model2vec_state *s, size_t n)
{
    if (n <= s->cap) return 0;
    size_t cap = array_next_cap(s->cap, n, 256);
    /* off, best, back_start, back_id and ids hold one more than the characters; utf8 and
     * cand four bytes a character */
    if (!cap || cap > SIZE_MAX / 4 - 32 || array_resize(&s->a, cap, sizeof *s->a) ||
        array_resize(&s->b, cap, sizeof *s->b) || array_resize(&s->off, cap + 1, sizeof *s->off) ||
        array_resize(&s->best, cap + 1, sizeof *s->best) ||
        array_resize(&s->back_start, cap + 1, sizeof *s->back_start) ||
        array_resize(&s->back_id, cap + 1, sizeof *s->back_id) ||
        array_resize(&s->ids, cap + 1, sizeof *s->ids) || array_resize(&s->utf8, 4 * cap + 1, 1) ||
        array_resize(&s->cand, 4 * cap + 32, 1))
        return -1;
    s->cap = cap;
    return 0;
}

/* Decodes text into s->a; returns the character count. */
static size_t decode(model2vec_state *s, const char *text, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len;)
        i += text_utf8_next((const unsigned char *)text + i, len - i, &s->a[n++]);
    return n;
}

/* UTF-8 of c[0..n) into s->utf8 with per-character offsets in s->off. */
static void encode_utf8(model2vec_state *s, const uint32_t *c, size_t n)
{
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        s->off[i] = (uint32_t)at;
        at += text_utf8_put(c[i], s->utf8 + at);
    }
    s->off[n] = (uint32_t)at;
}

static int is_word_char(uint32_t c)
{
    if (c < 0x80)
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_';
    switch (utf8proc_category((utf8proc_int32_t)c)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
        return 1;
    default:
        return 0;
    }
}

/* WordPiece: BERT basic pre-tokenization, then greedy longest-match-first. */
static int wordpiece(const model2vec_model *m, model2vec_state *s, size_t n)
{
    size_t k = 0; /* normalise in place: drop controls, whitespace -> ' ', lower-case */
    for (size_t i = 0; i < n; i++) {
        uint32_t c = s->a[i];
        if (text_is_space(c))
            c = ' ';
        else {
            utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)c);
            if (cat == UTF8PROC_CATEGORY_CC || cat == UTF8PROC_CATEGORY_CF) continue;
            c = (uint32_t)utf8proc_tolower((utf8proc_int32_t)c);
        }
        s->a[k++] = c;
    }
    n = k;
    encode_utf8(s, s->a, n);
    size_t plen = strlen(m->prefix);
    int count = 0;
    for (size_t i = 0; i < n;) {
        if (s->a[i] == ' ') {
            i++;
            continue;
        }
        size_t j = i + 1;
        if (is_word_char(s->a[i]))
            while (j < n && is_word_char(s->a[j]))
                j++;
        /* word = [i, j) */
        int first = count;
        if (j - i > (size_t)m->max_word_chars) {
            i = j; /* an over-long word is unknown, and unknown tokens are dropped */
            continue;
        }
        for (size_t st = i; st < j;) {
            size_t e = j;
            int id = -1;
            for (; e > st; e--) {
                size_t at = 0;
                if (st > i) memcpy(s->cand, m->prefix, plen), at = plen;
                size_t bl = s->off[e] - s->off[st];
                memcpy(s->cand + at, s->utf8 + s->off[st], bl);
                if ((id = map_get(&m->vocab, s->cand, at + bl)) >= 0) break;
            }
            if (id < 0) { /* the whole word becomes [UNK], which is dropped */
                count = first;
                break;
            }
            s->ids[count++] = id;
            st = e;
        }
        i = j;
    }
    /* model2vec drops the unknown token */
    int out = 0;
    for (int i = 0; i < count; i++)
        if (s->ids[i] != m->unk_id) s->ids[out++] = s->ids[i];
    return out;
}

/* Python str.replace of every rule, in order; result in s->a. */
static int apply_replaces(const model2vec_model *m, model2vec_state *s, size_t *n)
{
    for (int r = 0; r < m->n_rep; r++) {
        const replace_rule *R = &m->rep[r];
        size_t hits = 0;
        for (size_t i = 0; i + (size_t)R->from_len <= *n;) {
            if (!memcmp(s->a + i, R->from, (size_t)R->from_len * 4))
                hits++, i += (size_t)R->from_len;
            else
                i++;
        }
        if (!hits) continue;
        size_t out_n = *n + hits * (size_t)R->to_len;
        if (reserve_chars(s, out_n + 2)) return -1;
        size_t o = 0;
        for (size_t i = 0; i < *n;) {
            if (i + (size_t)R->from_len <= *n &&
                !memcmp(s->a + i, R->from, (size_t)R->from_len * 4)) {
                memcpy(s->b + o, R->to, (size_t)R->to_len * 4);
                o += (size_t)R->to_len;
                i += (size_t)R->from_len;
            } else {
                s->b[o++] = s->a[i++];
            }
        }
        uint32_t *t = s->a;
        s->a = s->b;
        s->b = t;
        *n = o;
    }
    return 0;
}

/* Unigram + Metaspace: lower-case, Replace rules, collapse whitespace, U+2581,
 * then Viterbi (unknown characters cost 100, strict > keeps the earlier split). */
static int unigram(const model2vec_model *m, model2vec_state *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        s->a[i] =
            text_is_space(s->a[i]) ? ' ' : (uint32_t)utf8proc_tolower((utf8proc_int32_t)s->a[i]);
    if (apply_replaces(m, s, &n)) return -1;
    if (reserve_chars(s, n + 2)) return -1;
    /* collapse whitespace runs to one space, strip, then prefix U+2581 and map spaces */
    size_t k = 0;
    int seen = 0, gap = 0;
    s->b[k++] = 0x2581;
    for (size_t i = 0; i < n; i++) {
        if (text_is_space(s->a[i])) {
            gap = seen;
            continue;
        }
        if (gap) s->b[k++] = 0x2581, gap = 0;
        s->b[k++] = s->a[i];
        seen = 1;
    }
    const size_t N = k;
    const uint32_t *str = s->b;
    encode_utf8(s, str, N);
    double *best = s->best;
    for (size_t i = 0; i <= N; i++)
        best[i] = -1e18, s->back_start[i] = -1;
    best[0] = 0;
    for (size_t i = 0; i < N; i++) {
        size_t maxL = N - i < (size_t)m->maxlen ? N - i : (size_t)m->maxlen;
        for (size_t L = 1; L <= maxL; L++) {
            int id = map_get(&m->vocab, s->utf8 + s->off[i], s->off[i + L] - s->off[i]);
            if (id >= 0 && best[i] + m->score[id] > best[i + L]) {
                best[i + L] = best[i] + m->score[id];
                s->back_start[i + L] = (int32_t)i;
                s->back_id[i + L] = id;
            }
        }
        if (s->back_start[i + 1] < 0) {
            best[i + 1] = best[i] - 100.0;
            s->back_start[i + 1] = (int32_t)i;
            s->back_id[i + 1] = -1;
        }
    }
    int count = 0;
    for (size_t j = N; j > 0; j = (size_t)s->back_start[j])
        s->ids[count++] = s->back_id[j];
    /* reverse, dropping unknowns and the never-emitted pieces */
    for (int i = 0, j = count - 1; i < j; i++, j--) {
        int32_t t = s->ids[i];
        s->ids[i] = s->ids[j];
        s->ids[j] = t;
    }
    int out = 0;
    for (int i = 0; i < count; i++) {
        int id = s->ids[i], skip = id < 0;
        for (int d = 0; d < m->n_drop; d++)
            skip |= id == m->drop[d];
        if (!skip) s->ids[out++] = id;
    }
    return out;
}

static int tokenize(const model2vec_model *m, model2vec_state *s, const char *text, size_t len)
{
    if (len > MODEL2VEC_MAX_INPUT_BYTES) {
        len = MODEL2VEC_MAX_INPUT_BYTES;
        while (len > 0 && ((unsigned char)text[len] & 0xC0) == 0x80)
            len--;
    }
    if (reserve_chars(s, len + 2)) return -1;
    size_t n = decode(s, text, len);
    return m->kind == M2V_WORDPIECE ? wordpiece(m, s, n) : unigram(m, s, n);
}

int model2vec_tokenize(const model2vec_model *m, model2vec_state *s, const char *text, size_t len,
                       int *ids, int max_ids)
{
    int n = tokenize(m, s, text, len);
    for (int i = 0; i < n && i < max_ids; i++)
        ids[i] = s->ids[i];
    return n;
}

int model2vec_encode(const model2vec_model *m, model2vec_state *s, const char *text, size_t len,
                     float *out, int *n_tokens)
{
    int n = tokenize(m, s, text, len);
    if (n < 0) return -1;
    if (n_tokens) *n_tokens = n;
    const int D = m->dim;
    memset(s->acc, 0, (size_t)D * sizeof *s->acc);
    for (int t = 0; t < n; t++) {
        int id = s->ids[t];
        const float *row = m->emb + (size_t)(m->mapping ? m->mapping[id] : id) * D;
        double w = m->weights && m->mapping ? m->weights[id] : 1.0;
        for (int i = 0; i < D; i++)
            s->acc[i] += (double)row[i] * w;
    }
    double ss = 0;
    for (int i = 0; i < D; i++) {
        s->acc[i] = n ? s->acc[i] / n : 0.0;
        ss += s->acc[i] * s->acc[i];
    }
    double inv = ss > 0 ? 1.0 / sqrt(ss) : 0.0;
    for (int i = 0; i < D; i++)
        out[i] = (float)(s->acc[i] * inv);
    return 0;
}
