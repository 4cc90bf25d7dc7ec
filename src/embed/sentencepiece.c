/* sentencepiece.c - SentencePiece-unigram tokenization (see sentencepiece.h).
 *
 * Pieces live in a trie over code points whose edges are one open-addressing
 * hash table keyed by (node, code point): a lookup of every piece starting at a
 * position walks at most max-piece-length edges. The Viterbi pass goes forward
 * over start positions; updating best[end] in ascending start order is the same
 * order the reference uses (for each end, starts ascending), which matters
 * because of the "0 means unset" quirk and because ties go to the later start. */
#include "embed/sentencepiece.h"
#include "core/array.h"
#include "core/util.h"
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPM_RESERVED 6       /* ids 0..5: unknown, <s>, </s>, extra ids */
#define SPM_WORD_MARK 0x2581 /* "▁" */

struct spm_vocab {
    int n_pieces;
    int32_t *piece_len; /* code points of piece i (backtracking step) */
    /* trie edges: key = (parent + 1) << 21 | code point, 0 = empty slot */
    uint64_t *keys;
    int32_t *child;
    size_t mask;
    int n_nodes, nodes_cap;
    int32_t *node_piece; /* piece id ending at node, -1 if none */
    double *node_score;
};

static size_t edge_slot(const spm_vocab *v, uint64_t key)
{
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    size_t i = (size_t)(h >> 20) & v->mask;
    while (v->keys[i] && v->keys[i] != key)
        i = (i + 1) & v->mask;
    return i;
}

static inline int trie_child(const spm_vocab *v, int node, uint32_t cp)
{
    uint64_t key = ((uint64_t)(node + 1) << 21) | cp;
    size_t i = edge_slot(v, key);
    return v->keys[i] ? v->child[i] : -1;
}

static int new_node(spm_vocab *v)
{
    if (v->n_nodes == v->nodes_cap) {
        size_t cap = array_next_cap((size_t)v->nodes_cap, (size_t)v->n_nodes + 1, 1024);
        if (!cap || cap > INT32_MAX || array_resize(&v->node_piece, cap, sizeof *v->node_piece) ||
            array_resize(&v->node_score, cap, sizeof *v->node_score))
            return -1;
        v->nodes_cap = (int)cap;
    }
    v->node_piece[v->n_nodes] = -1;
    v->node_score[v->n_nodes] = 0;
    return v->n_nodes++;
}

/* Inserts piece id (code points cps[0..n)); a later duplicate overwrites. */
static int trie_insert(spm_vocab *v, const uint32_t *cps, int n, int id, double score)
{
    int node = 0;
    for (int i = 0; i < n; i++) {
        uint64_t key = ((uint64_t)(node + 1) << 21) | cps[i];
        size_t slot = edge_slot(v, key);
        if (!v->keys[slot]) {
            int c = new_node(v);
            if (c < 0) return -1;
            v->keys[slot] = key;
            v->child[slot] = c;
        }
        node = v->child[slot];
    }
    v->node_piece[node] = id;
    v->node_score[node] = score;
    return 0;
}

spm_vocab *spm_load(const char *path, char *err, size_t errlen)
{
    size_t len;
    char *text = util_read_file(path, &len, err, errlen);
    if (!text) return NULL;
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    spm_vocab *v = calloc(1, sizeof *v);
    if (!root || !cJSON_IsArray(root)) {
        snprintf(err, errlen, "%s is not a JSON list of [piece, score] pairs", path);
        goto err;
    }
    if (!v) goto oom;
    int n = cJSON_GetArraySize(root);
    if (n <= SPM_RESERVED || n > 10000000) {
        snprintf(err, errlen, "%s holds %d pieces; expected more than %d", path, n, SPM_RESERVED);
        goto err;
    }
    v->n_pieces = n;
    v->piece_len = calloc((size_t)n, sizeof *v->piece_len);
    size_t cap = 1;
    while (cap < (size_t)n * 16)
        cap *= 2; /* load factor stays under 1/2 for pieces <= 8 cps avg */
    v->keys = calloc(cap, sizeof *v->keys);
    v->child = calloc(cap, sizeof *v->child);
    v->mask = cap - 1;
    if (!v->piece_len || !v->keys || !v->child || new_node(v) < 0) goto oom;
    uint32_t cps[256];
    size_t edges = 0;
    int id = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, root)
    {
        const cJSON *p = cJSON_GetArrayItem(e, 0), *sc = cJSON_GetArrayItem(e, 1);
        if (!cJSON_IsArray(e) || !cJSON_IsString(p) || !(cJSON_IsNumber(sc) || cJSON_IsNull(sc))) {
            snprintf(err, errlen, "%s: entry %d is not [piece, score]", path, id);
            goto err;
        }
        const unsigned char *s = (const unsigned char *)p->valuestring;
        size_t sl = strlen(p->valuestring);
        int k = 0;
        for (size_t i = 0; i < sl; k++) {
            if (k == (int)(sizeof cps / sizeof cps[0])) {
                snprintf(err, errlen, "%s: piece %d is longer than 256 characters", path, id);
                goto err;
            }
            i += text_utf8_next(s + i, sl - i, &cps[k]);
        }
        v->piece_len[id] = k ? k : 1;
        if (id >= SPM_RESERVED && k > 0) {
            edges += (size_t)k;
            if (edges > cap / 2) {
                snprintf(err, errlen, "%s: pieces too long for the tokenizer's table", path);
                goto err;
            }
            /* a null score reads as 0, as in the JS tokenizer */
            if (trie_insert(v, cps, k, id, cJSON_IsNumber(sc) ? sc->valuedouble : 0.0)) goto oom;
        }
        id++;
    }
    v->piece_len[0] = 1; /* unknown: one character */
    cJSON_Delete(root);
    return v;
oom:
    snprintf(err, errlen, "out of memory loading %s", path);
err:
    cJSON_Delete(root);
    spm_free(v);
    return NULL;
}

void spm_free(spm_vocab *v)
{
    if (!v) return;
    free(v->piece_len);
    free(v->keys);
    free(v->child);
    free(v->node_piece);
    free(v->node_score);
    free(v);
}

int spm_vocab_size(const spm_vocab *v)
{
    return v->n_pieces;
}

void spm_scratch_free(spm_scratch *s)
{
    text_scratch_free(&s->text);
    free(s->best);
    free(s->word);
    free(s->rev);
    memset(s, 0, sizeof *s);
}

static int grow_dp(spm_scratch *s, size_t need)
{
    if (need <= s->dp_cap) return 0;
    size_t cap = array_next_cap(s->dp_cap, need, 256);
    if (!cap || array_resize(&s->best, cap, sizeof *s->best) ||
        array_resize(&s->word, cap, sizeof *s->word) || array_resize(&s->rev, cap, sizeof *s->rev))
        return -1;
    s->dp_cap = cap;
    return 0;
}

int spm_encode(const spm_vocab *v, spm_scratch *s, const char *text, size_t len, int *ids,
               int max_ids)
{
    int cut = 0;
    if (len > SPM_MAX_INPUT_BYTES) {
        len = SPM_MAX_INPUT_BYTES;
        while (len > 0 && ((unsigned char)text[len] & 0xC0) == 0x80)
            len--;
        cut = 1;
    }
    size_t n;
    if (text_nfkc(&s->text, text, len, 1, &n)) return -1;
    if (n == 0) return 0;
    int32_t *str = s->text.cp; /* str[0] is the reserved slot for the word mark */
    str[0] = SPM_WORD_MARK;
    for (size_t i = 1; i <= n; i++)
        if (str[i] == ' ') str[i] = SPM_WORD_MARK;
    size_t N = n + 1;
    if (grow_dp(s, N + 1)) return -1;
    double *best = s->best;
    int32_t *word = s->word;
    memset(best, 0, (N + 1) * sizeof *best);
    memset(word, 0, (N + 1) * sizeof *word);
    for (size_t i = 0; i < N; i++) {
        int node = 0, hit = 0;
        for (size_t e = i; e < N; e++) {
            node = trie_child(v, node, (uint32_t)str[e]);
            if (node < 0) break;
            int id = v->node_piece[node];
            if (id < 0) continue;
            hit = 1;
            double score = v->node_score[node] + best[i];
            if (best[e + 1] == 0 || score >= best[e + 1]) {
                best[e + 1] = score;
                word[e + 1] = id;
            }
        }
        if (!hit) { /* unknown character: score 0, id 0 */
            double score = best[i];
            if (best[i + 1] == 0 || score >= best[i + 1]) {
                best[i + 1] = score;
                word[i + 1] = 0;
            }
        }
    }
    /* Backtrack from the end (reverse order), then merge unknown runs forward. */
    size_t nrev = 0;
    for (size_t it = N; it > 0;) {
        int id = word[it];
        s->rev[nrev++] = id;
        size_t step = (size_t)v->piece_len[id];
        it = step > it ? 0 : it - step;
    }
    int count = 0, prev_unknown = 0;
    while (nrev > 0) {
        int id = s->rev[--nrev];
        if (prev_unknown && id == 0) continue;
        prev_unknown = id == 0;
        if (count < max_ids) ids[count] = id;
        count++;
    }
    if (cut && count <= max_ids) count = max_ids + 1;
    return count;
}
