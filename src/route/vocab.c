/* vocab.c - hashed word and word-pair tf-idf features of a text (vocab.h). */
#include "route/vocab.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define WORD_MAX 64 /* bytes of a lowercased word that are hashed */

/* FNV-1a, 32 bit: stable across platforms, so shipped weights mean the same everywhere. */
static uint32_t fnv(uint32_t h, const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 16777619u;
    return h;
}
#define FNV_INIT 2166136261u

/* One code point at s (n bytes left); *used = bytes consumed (>= 1). Invalid
 * sequences give 0xFFFD, which is not a letter. */
static uint32_t decode(const unsigned char *s, size_t n, size_t *used)
{
    uint32_t c = s[0];
    size_t k = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (!k || k > n) {
        *used = 1;
        return 0xFFFD;
    }
    if (k == 1) {
        *used = 1;
        return c;
    }
    c &= 0x7F >> k;
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *used = i;
            return 0xFFFD;
        }
        c = c << 6 | (s[i] & 0x3F);
    }
    *used = k;
    return c;
}

enum { SEP, LETTER, IDEOGRAPH };

/* Letters and digits of the alphabets users write questions in; punctuation,
 * symbols, quotes and emoji separate words. */
static int char_class(uint32_t c)
{
    if (c < 0x80) return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ? LETTER : SEP;
    if ((c >= 0x3040 && c <= 0x30FF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x4E00 && c <= 0x9FFF) ||
        (c >= 0xAC00 && c <= 0xD7AF) || (c >= 0xF900 && c <= 0xFAFF))
        return IDEOGRAPH;
    if ((c >= 0xC0 && c <= 0x24F && c != 0xD7 && c != 0xF7) || (c >= 0x370 && c <= 0x3FF) ||
        (c >= 0x400 && c <= 0x52F) || (c >= 0x590 && c <= 0x6FF) || (c >= 0x900 && c <= 0xDFF))
        return LETTER;
    return SEP;
}

static uint32_t lower(uint32_t c)
{
    if (c >= 'A' && c <= 'Z') return c + 32;
    if ((c >= 0xC0 && c <= 0xDE && c != 0xD7) || (c >= 0x391 && c <= 0x3A9) || (c >= 0x410 && c <= 0x42F))
        return c + 32;
    if (c >= 0x400 && c <= 0x40F) return c + 80;
    if (c >= 0x100 && c <= 0x17F) return c | 1; /* Latin Extended-A: mostly upper/lower pairs */
    return c;
}

static size_t encode(uint32_t c, unsigned char *o)
{
    if (c < 0x80) return o[0] = (unsigned char)c, 1;
    if (c < 0x800) return o[0] = (unsigned char)(0xC0 | c >> 6), o[1] = (unsigned char)(0x80 | (c & 0x3F)), 2;
    if (c < 0x10000) {
        o[0] = (unsigned char)(0xE0 | c >> 12), o[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (c & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | c >> 18), o[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3F)), o[3] = (unsigned char)(0x80 | (c & 0x3F));
    return 4;
}

/* English plural: "enzymes" -> "enzyme", but not "class", "virus", "analysis". */
static size_t stem(const unsigned char *w, size_t n)
{
    if (n >= 5 && w[n - 1] == 's' && w[n - 2] != 's' && w[n - 2] != 'u' && w[n - 2] != 'i') return n - 1;
    return n;
}

static int cmp_feature(const void *a, const void *b)
{
    uint32_t x = ((const vocab_feature *)a)->bucket, y = ((const vocab_feature *)b)->bucket;
    return x < y ? -1 : x > y;
}

typedef struct counter {
    vocab_feature *feats;
    int n, cap, have_prev;
    uint32_t mask, prev; /* prev: hash of the previous word */
} counter;

/* Adds one word and its pair with the previous word. */
static void emit(counter *k, const unsigned char *w, size_t n)
{
    uint32_t h = fnv(FNV_INIT, w, n);
    k->feats[k->n++] = (vocab_feature){h & k->mask, 1};
    /* the pair hash mixes the previous word's hash with this word's bytes */
    if (k->have_prev) k->feats[k->n++] = (vocab_feature){fnv(k->prev * 31u + 0x9E3779B9u, w, n) & k->mask, 1};
    k->prev = h, k->have_prev = 1;
}

int vocab_count(const char *text, size_t len, uint32_t n_buckets, vocab_feature *feats, int cap)
{
    const unsigned char *s = (const unsigned char *)text;
    counter k = {feats, 0, cap, 0, n_buckets - 1, 0};
    unsigned char word[WORD_MAX + 4];
    size_t wl = 0;
    for (size_t i = 0; i <= len && k.n + 4 <= cap;) {
        size_t used = 1;
        uint32_t c = i < len ? decode(s + i, len - i, &used) : 0;
        int cls = i < len ? char_class(c) : SEP;
        if (cls == LETTER) {
            if (wl + 4 <= WORD_MAX) wl += encode(lower(c), word + wl);
        } else {
            if (wl) emit(&k, word, stem(word, wl));
            wl = 0;
            if (cls == IDEOGRAPH) { /* each character is a word */
                unsigned char one[4];
                emit(&k, one, encode(c, one));
            }
        }
        i += used;
    }
    int n = k.n;
    if (!n) return 0;
    qsort(feats, (size_t)n, sizeof *feats, cmp_feature);
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (m && feats[m - 1].bucket == feats[i].bucket) feats[m - 1].value += 1;
        else feats[m++] = feats[i];
    }
    return m;
}

int vocab_weight(vocab_feature *feats, int n, const float *idf)
{
    int m = 0;
    double norm = 0;
    for (int i = 0; i < n; i++) {
        float w = idf[feats[i].bucket];
        if (w <= 0) continue;
        float v = (1 + logf(feats[i].value)) * w;
        feats[m].bucket = feats[i].bucket;
        feats[m++].value = v;
        norm += (double)v * v;
    }
    if (norm > 0) {
        float inv = (float)(1 / sqrt(norm));
        for (int i = 0; i < m; i++) feats[i].value *= inv;
    }
    return m;
}

int vocab_features(const char *text, size_t len, uint32_t n_buckets, const float *idf,
                   vocab_feature *feats, int cap)
{
    return vocab_weight(feats, vocab_count(text, len, n_buckets, feats, cap), idf);
}
