/* verify.c - the cache hit verifier (see verify.h).
 *
 * Text. Both sides are NFKC-casefolded (utf8proc; U+2019 becomes '), split
 * into words (runs of letters, digits and bytes >= 0x80; apostrophes inside a
 * word are dropped, so "don't" is "dont"), and each word gets a light stem
 * (plural -s/-es/-ies, -ing, -ed, -ly) for matching. Words are compared by a
 * 64-bit hash of the stem. Stop words are function words; the rest are
 * content words, weighted by IDF.
 *
 * Model. Gradient-boosted regression trees on the logistic loss, complete
 * binary trees of a fixed depth (a node sends x[f] <= thr left); the
 * probability is sigmoid(base + sum of the leaves reached). Training bins each
 * feature by quantiles and grows every tree level by level from gradient
 * histograms.
 *
 * Model file (text, one item per line):
 *   semrouter-verifier 1
 *   features N name0 name1 ...          (must equal this build's list)
 *   base B
 *   veto CAP N name...                  (features that, when > 0, cap the probability)
 *   trees T depth D
 *   T lines: (2^D - 1) "f:thr" pairs, then 2^D leaf values
 *   idf DOCS DEFAULT COUNT
 *   COUNT lines: word idf [near-synonym words, at most 3] */
#include "cache/verify.h"
#include "core/util.h"
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <utf8proc.h>

const char *const cache_verify_feature_names[CACHE_VERIFY_NFEAT] = {
    "cosine",          "word_jaccard",    "content_jaccard", "idf_overlap",
    "max_idf_only_a",  "max_idf_only_b",  "sum_idf_only_a",  "sum_idf_only_b",
    "n_only_a",        "n_only_b",        "char3_jaccard",   "char5_jaccard",
    "number_diff",     "number_any",      "name_diff",       "negation_diff",
    "qword_relation",  "polar_diff",      "compare_diff",    "word_len_ratio",
    "char_len_ratio",  "n_words_a",       "n_words_b",       "lcs_ratio",
    "first_word_same", "last_word_same",  "bigram_jaccard",  "max_idf_only_rel",
    "shared_idf_sum",  "union_idf_sum",   "oov_only",        "aux_diff",
    "hard_max_idf_a",  "hard_max_idf_b",  "hard_sum_idf",    "near_matches",
};

/* ---------------------------------------------------------------- hashing */

static uint64_t fnv(const char *s, size_t n)
{
    uint64_t h = util_fnv1a(UTIL_FNV1A_BASIS, s, n);
    return h ? h : 1;
}

/* ---------------------------------------------------------------- IDF table */

#define NBR 3
struct cache_idf {
    uint64_t *keys; /* 0 = empty */
    float *vals;
    char **words; /* for saving */
    uint64_t (*nbr)[NBR]; /* hashes of words that mean nearly the same (0 = none) */
    char **surface;       /* training only: a full word the stem was seen as */
    size_t cap, n;
    double docs;
    float dflt; /* idf of a word seen in at most one document */
};

static size_t idf_slot(const cache_idf *t, uint64_t h)
{
    if (!t || !t->cap) return (size_t)-1;
    for (size_t i = h & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        if (t->keys[i] == h) return i;
        if (!t->keys[i]) return (size_t)-1;
    }
}

/* Whether words a and b (stem hashes, at slots i and j of idf_slot) are
 * listed as near-synonyms either way. */
static int idf_near_at(const cache_idf *t, uint64_t a, size_t i, uint64_t b, size_t j)
{
    for (int k = 0; k < NBR; k++)
        if ((i != (size_t)-1 && t->nbr[i][k] == b) || (j != (size_t)-1 && t->nbr[j][k] == a))
            return 1;
    return 0;
}

static float idf_get(const cache_idf *t, uint64_t h, int *seen)
{
    if (t && t->cap) {
        for (size_t i = h & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
            if (t->keys[i] == h) {
                if (seen) *seen = 1;
                return t->vals[i];
            }
            if (!t->keys[i]) break;
        }
    }
    if (seen) *seen = 0;
    return t ? t->dflt : 1.0f;
}

static cache_idf *idf_new(size_t n_words, double docs, float dflt)
{
    cache_idf *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->cap = 16;
    while (t->cap < n_words * 2 + 2)
        t->cap *= 2;
    t->keys = calloc(t->cap, sizeof *t->keys);
    t->vals = calloc(t->cap, sizeof *t->vals);
    t->words = calloc(t->cap, sizeof *t->words);
    t->nbr = calloc(t->cap, sizeof *t->nbr);
    t->docs = docs;
    t->dflt = dflt;
    if (!t->keys || !t->vals || !t->words || !t->nbr) {
        cache_idf_free(t);
        return NULL;
    }
    return t;
}

/* Adds (word, idf); the word is copied. Returns 0 or -1 (out of memory or full). */
static int idf_put(cache_idf *t, const char *w, size_t n, float v)
{
    if (t->n * 2 + 2 > t->cap) return -1;
    uint64_t h = fnv(w, n);
    size_t i = h & (t->cap - 1);
    while (t->keys[i] && t->keys[i] != h)
        i = (i + 1) & (t->cap - 1);
    if (t->keys[i]) return 0;
    t->words[i] = strndup(w, n);
    if (!t->words[i]) return -1;
    t->keys[i] = h;
    t->vals[i] = v;
    t->n++;
    return 0;
}

void cache_idf_free(cache_idf *t)
{
    if (!t) return;
    for (size_t i = 0; t->words && i < t->cap; i++)
        free(t->words[i]);
    for (size_t i = 0; t->surface && i < t->cap; i++)
        free(t->surface[i]);
    free(t->words);
    free(t->surface);
    free(t->nbr);
    free(t->keys);
    free(t->vals);
    free(t);
}

size_t cache_idf_vocab(const cache_idf *t, const char **stems, const char **surfaces, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < t->cap && n < max; i++) {
        if (!t->keys[i]) continue;
        stems[n] = t->words[i];
        surfaces[n] = t->surface && t->surface[i] ? t->surface[i] : t->words[i];
        n++;
    }
    return n;
}

int cache_idf_add_neighbor(cache_idf *t, const char *stem, const char *neighbor)
{
    size_t i = idf_slot(t, fnv(stem, strlen(stem)));
    if (i == (size_t)-1) return -1;
    uint64_t h = fnv(neighbor, strlen(neighbor));
    for (int k = 0; k < NBR; k++) {
        if (t->nbr[i][k] == h) return 0;
        if (!t->nbr[i][k]) {
            t->nbr[i][k] = h;
            return 0;
        }
    }
    return -1;
}

/* ---------------------------------------------------------------- text */

#define MAX_WORDS 128
#define MAX_GRAMS 512

typedef struct word {
    uint64_t h;      /* hash of the stem */
    uint16_t off, len; /* the stem in the normalised text */
    uint16_t full;     /* the whole (squeezed) word's length */
    uint8_t stop, number;
} word;

typedef struct text {
    char *norm; /* normalised text (malloc'd) */
    size_t norm_len;
    word w[MAX_WORDS];
    int n;
    uint64_t content[MAX_WORDS]; /* sorted unique content stems */
    int n_content;
    uint64_t all[MAX_WORDS]; /* sorted unique stems */
    int n_all;
    uint64_t names[16]; /* sorted unique capitalised spans (raw text, not sentence-initial) */
    int n_names;
    int negation, qword, aux, compare;
    uint64_t polar[16];
    int n_polar;
    /* unique character 3- and 5-grams (hashes), each in an open-addressing set
     * of cap3/cap5 slots (a power of two >= twice the count, 0 = empty) for
     * counting shared grams without sorting */
    uint64_t g3[MAX_GRAMS], g5[MAX_GRAMS];
    int n3, n5;
    uint64_t s3[2 * MAX_GRAMS], s5[2 * MAX_GRAMS];
    int cap3, cap5;
} text;

static const char *const stop_words[] = {
    "a", "an", "the", "is", "are", "was", "were", "be", "been", "being", "am", "do", "does", "did",
    "i", "me", "my", "you", "your", "we", "our", "they", "their", "it", "its", "he", "she", "his",
    "her", "him", "them", "this", "that", "these", "those", "of", "in", "on", "at", "to", "for",
    "from", "by", "with", "about", "as", "into", "and", "or", "if", "so", "than", "then", "there",
    "what", "whats", "why", "how", "when", "where", "who", "which", "whom", "whose", "can", "could",
    "should", "would", "will", "shall", "may", "might", "must", "have", "has", "had", "some", "any",
    "all", "one", "get", "getting", "there", "here", "just", "also", "very", "really", "much",
    "many", "way", "ways", "thing", "things", "s", "t", "im", "ive", "id", "us", "own", "like",
    "know", "tell", "please", "explain", "someone", "something", "anyone", "people", "person",
    "good", "possible", "make", "does", "use", "using", "want", "need", "go", "like", NULL};
static const char *const negation_words[] = {
    "not", "no", "never", "without", "cannot", "cant", "dont", "doesnt", "didnt", "isnt",
    "arent", "wasnt", "werent", "wont", "wouldnt", "shouldnt", "couldnt", "havent", "hasnt",
    "hadnt", "nor", "none", "nothing", "nobody", "neither", "non", NULL};
static const char *const question_words[] = {"what", "whats", "why", "how", "when", "where",
                                             "who", "which", "whom", "whose", NULL};
static const char *const aux_words[] = {"can", "could", "should", "would", "will", "shall",
                                        "may", "might", "must", "did", "was", "were", "had", NULL};
static const char *const compare_words[] = {"than", "vs", "versus", "difference", "between",
                                            "compare", "compared", "comparison", "better", "or",
                                            NULL};
/* Words whose swap flips the question; each stands for itself. */
static const char *const polar_words[] = {
    "best", "worst", "good", "bad", "before", "after", "more", "less", "most", "least",
    "increase", "decrease", "buy", "sell", "pro", "con", "advantage", "disadvantage", "start",
    "stop", "male", "female", "men", "women", "man", "woman", "max", "min", "maximum", "minimum",
    "first", "last", "high", "low", "higher", "lower", "rich", "poor", "fast", "slow", "cheap",
    "expensive", "love", "hate", "win", "lose", "old", "new", "young", "positive", "negative",
    "true", "false", "easy", "hard", "easiest", "hardest", "big", "small", "largest", "smallest",
    "long", "short", "hot", "cold", "past", "future", "early", "late", "open", "close", "import",
    "export", "input", "output", "boy", "girl", "husband", "wife", "north", "south", "east",
    "west", "up", "down", "top", "bottom", "benefit", "risk", "cause", "effect", "safe",
    "dangerous", "legal", "illegal", "happy", "sad", "strong", "weak", "pass", "fail", "add",
    "remove", "enable", "disable", "upload", "download", NULL};

/* The word lists as one hash table, built once: hash -> what the word is. */
enum { W_STOP = 1, W_NEG = 2, W_COMPARE = 4, W_POLAR = 8 };
typedef struct word_info {
    uint64_t h;
    uint8_t flags, qword, aux;
} word_info;
#define WORD_TAB 1024
static word_info word_tab[WORD_TAB];
static pthread_once_t word_once = PTHREAD_ONCE_INIT;

static word_info *word_slot(uint64_t h)
{
    size_t i = h & (WORD_TAB - 1);
    while (word_tab[i].h && word_tab[i].h != h)
        i = (i + 1) & (WORD_TAB - 1);
    return &word_tab[i];
}

static void word_add(const char *const *list, int flag, int which)
{
    for (int i = 0; list[i]; i++) {
        word_info *w = word_slot(fnv(list[i], strlen(list[i])));
        w->h = fnv(list[i], strlen(list[i]));
        w->flags |= (uint8_t)flag;
        if (which == 1 && !w->qword) w->qword = (uint8_t)(i + 1);
        if (which == 2 && !w->aux) w->aux = (uint8_t)(i + 1);
    }
}

static void word_init(void)
{
    word_add(stop_words, W_STOP, 0);
    word_add(negation_words, W_NEG, 0);
    word_add(question_words, 0, 1);
    word_add(aux_words, 0, 2);
    word_add(compare_words, W_COMPARE, 0);
    word_add(polar_words, W_POLAR, 0);
}

static const word_info *word_lookup(const char *w, size_t n)
{
    static const word_info none;
    uint64_t h = fnv(w, n);
    for (size_t i = h & (WORD_TAB - 1); word_tab[i].h; i = (i + 1) & (WORD_TAB - 1))
        if (word_tab[i].h == h) return &word_tab[i];
    return &none;
}

/* Light stemmer: returns the stem length of w[0..n). */
static size_t stem_len(const char *w, size_t n)
{
    if (n > 4 && !memcmp(w + n - 3, "ies", 3)) return n - 3; /* "studies" and "study" meet at "stud" */
    if (n > 5 && !memcmp(w + n - 3, "ing", 3)) return n - 3;
    if (n > 4 && !memcmp(w + n - 2, "ed", 2)) return n - 2;
    if (n > 4 && !memcmp(w + n - 2, "ly", 2)) return n - 2;
    if (n > 4 && (!memcmp(w + n - 4, "ches", 4) || !memcmp(w + n - 4, "shes", 4) ||
                  !memcmp(w + n - 3, "xes", 3) || !memcmp(w + n - 3, "ses", 3)))
        return n - 2;
    if (n > 3 && w[n - 1] == 's' && w[n - 2] != 's' && w[n - 2] != 'u' && w[n - 2] != 'i')
        return n - 1;
    if (n > 3 && w[n - 1] == 'y') return n - 1; /* "y" -> "" so "study"/"studies" meet at "stud" */
    return n;
}

/* Sorts v[0..n) ascending: quicksort down to runs of 16, then insertion sort
 * (qsort's indirect comparisons were most of the verifier's time). */
static void sort_u64(uint64_t *v, int n)
{
    while (n > 16) {
        uint64_t a = v[0], b = v[n / 2], c = v[n - 1];
        uint64_t pivot = a < b ? (b < c ? b : a < c ? c : a) : (a < c ? a : b < c ? c : b);
        int i = 0, j = n - 1;
        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j) {
                uint64_t t = v[i];
                v[i++] = v[j];
                v[j--] = t;
            }
        }
        /* recurse into the smaller side, loop on the larger */
        if (j + 1 < n - i) {
            sort_u64(v, j + 1);
            v += i;
            n -= i;
        } else {
            sort_u64(v + i, n - i);
            n = j + 1;
        }
    }
    for (int i = 1; i < n; i++) {
        uint64_t x = v[i];
        int j = i - 1;
        while (j >= 0 && v[j] > x) {
            v[j + 1] = v[j];
            j--;
        }
        v[j + 1] = x;
    }
}

static int sort_unique(uint64_t *v, int n)
{
    sort_u64(v, n);
    int m = 0;
    for (int i = 0; i < n; i++)
        if (!m || v[m - 1] != v[i]) v[m++] = v[i];
    return m;
}

static int is_word_byte(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch >= 0x80;
}

/* Capitalised spans of the raw text: a run of words starting with A-Z (or
 * holding a digit next to letters, as versions and identifiers do), skipping
 * the first word of the text and of each sentence. */
static void find_names(text *t, const char *s, size_t n)
{
    int sentence_start = 1;
    size_t i = 0;
    while (i < n && t->n_names < 16) {
        unsigned char ch = (unsigned char)s[i];
        if (!(isalnum(ch) || ch >= 0x80)) {
            if (ch == '.' || ch == '?' || ch == '!') sentence_start = 1;
            i++;
            continue;
        }
        size_t j = i;
        int upper = ch >= 'A' && ch <= 'Z', digit = 0, alpha = 0;
        while (j < n && (isalnum((unsigned char)s[j]) || (unsigned char)s[j] >= 0x80 ||
                         s[j] == '_' || s[j] == '.' || s[j] == '-' || s[j] == '+')) {
            if (s[j] == '.' && (j + 1 >= n || !isalnum((unsigned char)s[j + 1]))) break;
            if (isdigit((unsigned char)s[j])) digit = 1;
            if (isalpha((unsigned char)s[j])) alpha = 1;
            j++;
        }
        int ident = digit && alpha;
        if ((upper && !sentence_start) || ident) {
            /* hashed like a word (lowercase, squeezed, stemmed) so it can be
             * looked up among the other side's words */
            char tmp[64];
            size_t k = 0;
            for (size_t m = i; m < j && k < sizeof tmp; m++)
                if (isalnum((unsigned char)s[m]) || (unsigned char)s[m] >= 0x80)
                    tmp[k++] = (char)tolower((unsigned char)s[m]);
            if (k) t->names[t->n_names++] = fnv(tmp, digit ? k : stem_len(tmp, k));
        }
        sentence_start = 0;
        i = j;
    }
    t->n_names = sort_unique(t->names, t->n_names);
}

static void text_free(text *t)
{
    free(t->norm);
    t->norm = NULL;
}

static int char_grams(const text *t, int n, uint64_t *g, uint64_t *set, int *cap);

/* Normalises and splits s. Returns 0, or -1 on out of memory. */
static int text_parse(text *t, const char *s, size_t n)
{
    pthread_once(&word_once, word_init);
    n = util_utf8_head(s, n, CACHE_VERIFY_SCAN_MAX_BYTES); /* the scan cap (verify.h) */
    memset(t, 0, offsetof(text, w));
    t->n = t->n_content = t->n_all = t->n_names = t->n_polar = 0;
    t->negation = t->qword = t->aux = t->compare = 0;
    utf8proc_uint8_t *out = NULL;
    int ascii = 1;
    for (size_t i = 0; i < n && ascii; i++)
        ascii = (unsigned char)s[i] < 0x80;
    /* ASCII: NFKC casefolding is lowercasing, done here without utf8proc's allocations */
    utf8proc_ssize_t m = ascii ? -1 : n ? utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &out,
                                          UTF8PROC_STABLE | UTF8PROC_COMPAT | UTF8PROC_COMPOSE |
                                              UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK)
                           : 0;
    if (m < 0 || !out) { /* invalid UTF-8 (or empty): ASCII lowercase of the bytes */
        free(out);
        out = malloc(n + 1);
        if (!out) return -1;
        for (size_t i = 0; i < n; i++)
            out[i] = (utf8proc_uint8_t)tolower((unsigned char)s[i]);
        out[n] = 0;
        m = (utf8proc_ssize_t)n;
    }
    /* U+2019 (e2 80 99) and U+2018 -> ' */
    size_t w = 0;
    for (utf8proc_ssize_t i = 0; i < m; i++) {
        if (i + 2 < m && out[i] == 0xe2 && out[i + 1] == 0x80 && (out[i + 2] == 0x99 || out[i + 2] == 0x98)) {
            out[w++] = '\'';
            i += 2;
        } else {
            out[w++] = out[i];
        }
    }
    out[w] = 0;
    t->norm = (char *)out;
    t->norm_len = w;

    /* words: apostrophes inside a word are squeezed out in place of a copy */
    char *p = t->norm;
    size_t i = 0;
    while (i < w && t->n < MAX_WORDS) {
        if (!is_word_byte((unsigned char)p[i])) {
            i++;
            continue;
        }
        size_t j = i, k = i;
        int digit = 0;
        while (j < w && (is_word_byte((unsigned char)p[j]) ||
                         (p[j] == '\'' && j + 1 < w && is_word_byte((unsigned char)p[j + 1]) && j > i))) {
            if (p[j] != '\'') {
                if (p[j] >= '0' && p[j] <= '9') digit = 1;
                p[k++] = p[j];
            }
            j++;
        }
        size_t len = k - i;
        for (size_t z = k; z < j; z++)
            p[z] = ' ';
        const char *wd = p + i;
        word *x = &t->w[t->n++];
        const word_info *wi = word_lookup(wd, len);
        x->stop = (wi->flags & W_STOP) != 0;
        x->number = (uint8_t)digit;
        if (wi->flags & W_NEG) t->negation = 1;
        int q = wi->qword;
        if (q && !t->qword) t->qword = q == 2 ? 1 : q; /* "whats" = "what" */
        if (wi->aux && !t->aux) t->aux = wi->aux;
        if (wi->flags & W_COMPARE) t->compare = 1;
        size_t sl = digit ? len : stem_len(wd, len);
        x->h = fnv(wd, sl);
        x->off = (uint16_t)(i > 65535 ? 65535 : i);
        x->len = (uint16_t)(sl > 65535 ? 65535 : sl);
        x->full = (uint16_t)(len > 65535 ? 65535 : len);
        int polar = (wi->flags & W_POLAR) || (sl != len && (word_lookup(wd, sl)->flags & W_POLAR));
        if (polar && t->n_polar < 16) t->polar[t->n_polar++] = x->h;
        t->all[t->n_all++] = x->h;
        if (!x->stop) t->content[t->n_content++] = x->h;
        i = j;
    }
    t->n_all = sort_unique(t->all, t->n_all);
    t->n_content = sort_unique(t->content, t->n_content);
    t->n_polar = sort_unique(t->polar, t->n_polar);
    find_names(t, s, n);
    t->n3 = char_grams(t, 3, t->g3, t->s3, &t->cap3);
    t->n5 = char_grams(t, 5, t->g5, t->s5, &t->cap5);
    return 0;
}

static int count_shared(const uint64_t *a, int na, const uint64_t *b, int nb)
{
    int i = 0, j = 0, s = 0;
    while (i < na && j < nb) {
        if (a[i] == b[j]) {
            s++;
            i++;
            j++;
        } else if (a[i] < b[j]) {
            i++;
        } else {
            j++;
        }
    }
    return s;
}

static int in_sorted(const uint64_t *v, int n, uint64_t x)
{
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (v[mid] == x) return 1;
        if (v[mid] < x)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return 0;
}

static float jaccard(int shared, int na, int nb)
{
    int u = na + nb - shared;
    return u ? (float)shared / (float)u : 1.0f;
}

/* Character n-grams (n bytes) of the normalised text with runs of non-word
 * bytes collapsed to one space; unique hashes into g (in first-seen order)
 * and into the set (*cap slots) that holds them. */
static int char_grams(const text *t, int n, uint64_t *g, uint64_t *set, int *cap)
{
    char buf[1024];
    size_t len = 0;
    int space = 1;
    for (size_t i = 0; i < t->norm_len && len < sizeof buf; i++) {
        unsigned char ch = (unsigned char)t->norm[i];
        if (is_word_byte(ch)) {
            buf[len++] = (char)ch;
            space = 0;
        } else if (!space) {
            buf[len++] = ' ';
            space = 1;
        }
    }
    size_t total = len >= (size_t)n ? len - (size_t)n + 1 : len ? 1 : 0;
    if (total > MAX_GRAMS) total = MAX_GRAMS;
    int c = 16;
    while ((size_t)c < 2 * total)
        c *= 2;
    *cap = c;
    memset(set, 0, (size_t)c * sizeof *set);
    int m = 0, shift = 64 - __builtin_ctz((unsigned)c);
    size_t glen = len >= (size_t)n ? (size_t)n : len;
    /* a gram (at most 8 non-NUL bytes) packed into 64 bits: no collisions */
    uint64_t h = 0, mask = glen == 8 ? ~0ull : (1ull << (8 * glen)) - 1;
    for (size_t i = 0; i + 1 < glen; i++)
        h = h << 8 | (unsigned char)buf[i];
    for (size_t i = 0; i < total; i++) {
        h = (h << 8 | (unsigned char)buf[i + glen - 1]) & mask;
        size_t k = (size_t)((h * 0x9e3779b97f4a7c15ull) >> shift);
        while (set[k] && set[k] != h)
            k = (k + 1) & (size_t)(c - 1);
        if (!set[k]) {
            set[k] = h;
            g[m++] = h;
        }
    }
    return m;
}

static int in_set(const uint64_t *set, int cap, uint64_t h)
{
    int shift = 64 - __builtin_ctz((unsigned)cap);
    for (size_t k = (size_t)((h * 0x9e3779b97f4a7c15ull) >> shift); set[k];
         k = (k + 1) & (size_t)(cap - 1))
        if (set[k] == h) return 1;
    return 0;
}

static float char_jaccard(const text *a, const text *b, int n)
{
    const uint64_t *sa = n == 3 ? a->s3 : a->s5, *gb = n == 3 ? b->g3 : b->g5;
    int cap = n == 3 ? a->cap3 : a->cap5;
    int na = n == 3 ? a->n3 : a->n5, nb = n == 3 ? b->n3 : b->n5;
    int shared = 0;
    for (int i = 0; i < nb; i++)
        shared += in_set(sa, cap, gb[i]);
    return jaccard(shared, na, nb);
}

static int bigrams(const text *t, uint64_t *g)
{
    int m = 0;
    for (int i = 0; i + 1 < t->n; i++)
        g[m++] = t->w[i].h * 31 + t->w[i + 1].h;
    return sort_unique(g, m);
}

/* Longest common subsequence of the word sequences, over the longer length. */
static float lcs_ratio(const text *a, const text *b)
{
    int na = a->n > 64 ? 64 : a->n, nb = b->n > 64 ? 64 : b->n;
    if (!na || !nb) return na == nb ? 1.0f : 0.0f;
    uint8_t prev[65] = {0}, cur[65] = {0};
    for (int i = 1; i <= na; i++) {
        for (int j = 1; j <= nb; j++)
            cur[j] = a->w[i - 1].h == b->w[j - 1].h ? (uint8_t)(prev[j - 1] + 1)
                     : prev[j] > cur[j - 1]          ? prev[j]
                                                     : cur[j - 1];
        memcpy(prev, cur, sizeof prev);
    }
    return (float)prev[nb] / (float)(na > nb ? na : nb);
}

static uint64_t last_content(const text *t)
{
    for (int i = t->n - 1; i >= 0; i--)
        if (!t->w[i].stop) return t->w[i].h;
    return 0;
}

/* Numbers present on one side only (words holding a digit). */
static int number_diff(const text *a, const text *b, int *any)
{
    uint64_t na[MAX_WORDS], nb[MAX_WORDS];
    int ca = 0, cb = 0;
    for (int i = 0; i < a->n; i++)
        if (a->w[i].number) na[ca++] = a->w[i].h;
    for (int i = 0; i < b->n; i++)
        if (b->w[i].number) nb[cb++] = b->w[i].h;
    ca = sort_unique(na, ca);
    cb = sort_unique(nb, cb);
    *any = ca || cb;
    return ca + cb - 2 * count_shared(na, ca, nb, cb);
}

static void pair_features(const cache_idf *idf, const text *a, const text *b, float cosine, float *f)
{
    memset(f, 0, sizeof(float) * CACHE_VERIFY_NFEAT);
    f[0] = cosine;
    f[1] = jaccard(count_shared(a->all, a->n_all, b->all, b->n_all), a->n_all, b->n_all);
    int sc = count_shared(a->content, a->n_content, b->content, b->n_content);
    f[2] = jaccard(sc, a->n_content, b->n_content);
    double shared = 0, uni = 0, only_a = 0, only_b = 0, max_a = 0, max_b = 0, max_all = 0;
    int n_only_a = 0, n_only_b = 0, oov = 0;
    for (int i = 0; i < a->n_content; i++) {
        int seen;
        double v = idf_get(idf, a->content[i], &seen);
        uni += v;
        if (v > max_all) max_all = v;
        if (in_sorted(b->content, b->n_content, a->content[i])) {
            shared += v;
        } else {
            only_a += v;
            n_only_a++;
            if (v > max_a) max_a = v;
            if (!seen) oov++;
        }
    }
    for (int i = 0; i < b->n_content; i++) {
        if (in_sorted(a->content, a->n_content, b->content[i])) continue;
        int seen;
        double v = idf_get(idf, b->content[i], &seen);
        uni += v;
        if (v > max_all) max_all = v;
        only_b += v;
        n_only_b++;
        if (v > max_b) max_b = v;
        if (!seen) oov++;
    }
    f[3] = uni > 0 ? (float)(shared / uni) : 1.0f;
    f[4] = (float)max_a;
    f[5] = (float)max_b;
    f[6] = (float)only_a;
    f[7] = (float)only_b;
    f[8] = (float)n_only_a;
    f[9] = (float)n_only_b;
    f[10] = char_jaccard(a, b, 3);
    f[11] = char_jaccard(a, b, 5);
    int any;
    f[12] = (float)number_diff(a, b, &any);
    f[13] = (float)any;
    int names = 0; /* a name on one side whose word the other side lacks */
    for (int i = 0; i < a->n_names; i++)
        names += !in_sorted(b->all, b->n_all, a->names[i]);
    for (int i = 0; i < b->n_names; i++)
        names += !in_sorted(a->all, a->n_all, b->names[i]);
    f[14] = (float)names;
    f[15] = (float)(a->negation != b->negation);
    f[16] = !a->qword && !b->qword ? 0.0f : a->qword == b->qword ? 1.0f : (!a->qword || !b->qword) ? 3.0f : 2.0f;
    f[17] = (float)(a->n_polar + b->n_polar - 2 * count_shared(a->polar, a->n_polar, b->polar, b->n_polar));
    f[18] = (float)(a->compare != b->compare);
    int wa = a->n, wb = b->n;
    f[19] = wa || wb ? (float)(wa < wb ? wa : wb) / (float)(wa > wb ? wa : wb) : 1.0f;
    size_t la = a->norm_len, lb = b->norm_len;
    f[20] = la || lb ? (float)(la < lb ? la : lb) / (float)(la > lb ? la : lb) : 1.0f;
    f[21] = (float)wa;
    f[22] = (float)wb;
    f[23] = lcs_ratio(a, b);
    f[24] = a->n && b->n && a->w[0].h == b->w[0].h;
    f[25] = last_content(a) == last_content(b);
    uint64_t ga[MAX_WORDS], gb[MAX_WORDS];
    int na = bigrams(a, ga), nb = bigrams(b, gb);
    f[26] = jaccard(count_shared(ga, na, gb, nb), na, nb);
    f[27] = max_all > 0 ? (float)((max_a > max_b ? max_a : max_b) / max_all) : 0.0f;
    f[28] = (float)shared;
    f[29] = (float)uni;
    f[30] = (float)oov;
    f[31] = a->aux != b->aux;
    /* words on one side only that have no near-synonym among the other
     * side's own words ("tallest"/"highest", "photos"/"pictures") */
    double hard_a = 0, hard_b = 0, hard_sum = 0;
    int near = 0;
    /* each side's words on that side only, with their IDF slots, looked up once */
    uint64_t oa[MAX_WORDS], ob[MAX_WORDS];
    size_t sa[MAX_WORDS], sb[MAX_WORDS];
    int noa = 0, nob = 0;
    for (int i = 0; i < a->n_content; i++)
        if (!in_sorted(b->content, b->n_content, a->content[i])) {
            oa[noa] = a->content[i];
            sa[noa++] = idf_slot(idf, a->content[i]);
        }
    for (int j = 0; j < b->n_content; j++)
        if (!in_sorted(a->content, a->n_content, b->content[j])) {
            ob[nob] = b->content[j];
            sb[nob++] = idf_slot(idf, b->content[j]);
        }
    for (int i = 0; i < noa; i++) {
        uint64_t w = oa[i];
        int m = 0;
        for (int j = 0; j < nob && !m; j++)
            m = idf_near_at(idf, w, sa[i], ob[j], sb[j]);
        if (m) {
            near++;
            continue;
        }
        double v = idf_get(idf, w, NULL);
        hard_sum += v;
        if (v > hard_a) hard_a = v;
    }
    for (int j = 0; j < nob; j++) {
        uint64_t w = ob[j];
        int m = 0;
        for (int i = 0; i < noa && !m; i++)
            m = idf_near_at(idf, oa[i], sa[i], w, sb[j]);
        if (m) continue;
        double v = idf_get(idf, w, NULL);
        hard_sum += v;
        if (v > hard_b) hard_b = v;
    }
    f[32] = (float)hard_a;
    f[33] = (float)hard_b;
    f[34] = (float)hard_sum;
    f[35] = (float)near;
}

void cache_verify_features(const cache_idf *idf, const char *a, size_t alen, const char *b,
                           size_t blen, float cosine, float *f)
{
    text *ta = malloc(sizeof *ta), *tb = malloc(sizeof *tb);
    if (!ta || !tb || text_parse(ta, a, alen)) {
        free(ta);
        free(tb);
        memset(f, 0, sizeof(float) * CACHE_VERIFY_NFEAT);
        f[0] = cosine;
        return;
    }
    if (text_parse(tb, b, blen)) {
        text_free(ta);
        free(ta);
        free(tb);
        memset(f, 0, sizeof(float) * CACHE_VERIFY_NFEAT);
        f[0] = cosine;
        return;
    }
    pair_features(idf, ta, tb, cosine, f);
    text_free(ta);
    text_free(tb);
    free(ta);
    free(tb);
}

cache_idf *cache_idf_build(const char *const *texts, const size_t *lens, size_t n)
{
    /* document frequency per stem, counted in a growing open-addressing table */
    size_t cap = 1 << 16, used = 0;
    uint64_t *keys = calloc(cap, sizeof *keys);
    uint32_t *df = calloc(cap, sizeof *df);
    char **words = calloc(cap, sizeof *words), **surf = calloc(cap, sizeof *surf);
    text *t = malloc(sizeof *t);
    cache_idf *out = NULL;
    if (!keys || !df || !words || !surf || !t) goto done;
    for (size_t d = 0; d < n; d++) {
        if (text_parse(t, texts[d], lens[d])) goto done;
        uint64_t seen[MAX_WORDS];
        int ns = 0;
        for (int i = 0; i < t->n; i++) {
            word *x = &t->w[i];
            int dup = 0;
            for (int k = 0; k < ns && !dup; k++)
                dup = seen[k] == x->h;
            if (dup) continue;
            seen[ns++] = x->h;
            if (used * 2 >= cap) { /* grow */
                size_t nc = cap * 2;
                uint64_t *nk = calloc(nc, sizeof *nk);
                uint32_t *nd = calloc(nc, sizeof *nd);
                char **nw = calloc(nc, sizeof *nw), **ns = calloc(nc, sizeof *ns);
                if (!nk || !nd || !nw || !ns) {
                    free(nk);
                    free(nd);
                    free(nw);
                    free(ns);
                    text_free(t);
                    goto done;
                }
                for (size_t k = 0; k < cap; k++) {
                    if (!keys[k]) continue;
                    size_t j = keys[k] & (nc - 1);
                    while (nk[j])
                        j = (j + 1) & (nc - 1);
                    nk[j] = keys[k];
                    nd[j] = df[k];
                    nw[j] = words[k];
                    ns[j] = surf[k];
                }
                free(keys);
                free(df);
                free(words);
                free(surf);
                keys = nk;
                df = nd;
                words = nw;
                surf = ns;
                cap = nc;
            }
            size_t j = x->h & (cap - 1);
            while (keys[j] && keys[j] != x->h)
                j = (j + 1) & (cap - 1);
            if (!keys[j]) {
                keys[j] = x->h;
                words[j] = strndup(t->norm + x->off, x->len);
                surf[j] = strndup(t->norm + x->off, x->full);
                if (!words[j] || !surf[j]) {
                    text_free(t);
                    goto done;
                }
                used++;
            }
            df[j]++;
        }
        text_free(t);
    }
    size_t kept = 0;
    for (size_t k = 0; k < cap; k++)
        kept += keys[k] && df[k] > 1;
    double N = (double)n;
    out = idf_new(kept, N, (float)log((N + 1) / 1.5));
    if (out) out->surface = calloc(out->cap, sizeof *out->surface);
    if (out && !out->surface) {
        cache_idf_free(out);
        out = NULL;
    }
    for (size_t k = 0; out && k < cap; k++) {
        if (!keys[k] || df[k] <= 1) continue;
        if (idf_put(out, words[k], strlen(words[k]), (float)log((N + 1) / (df[k] + 0.5)))) {
            cache_idf_free(out);
            out = NULL;
            break;
        }
        size_t at = idf_slot(out, fnv(words[k], strlen(words[k])));
        out->surface[at] = surf[k];
        surf[k] = NULL;
    }
done:
    for (size_t k = 0; words && k < cap; k++) {
        free(words[k]);
        if (surf) free(surf[k]);
    }
    free(surf);
    free(words);
    free(keys);
    free(df);
    free(t);
    return out;
}

/* ---------------------------------------------------------------- trees */

typedef struct tree_node {
    int feature;
    float thr;
} tree_node;

struct cache_verifier {
    cache_idf *idf;
    float base;
    int trees, depth;
    int n_veto, veto[8]; /* features that, when > 0, cap the probability at veto_cap */
    float veto_cap;
    tree_node *nodes; /* trees x (2^depth - 1) */
    float *leaves;    /* trees x 2^depth */
};

void cache_verifier_free(cache_verifier *v)
{
    if (!v) return;
    cache_idf_free(v->idf);
    free(v->nodes);
    free(v->leaves);
    free(v);
}

static float raw_score(const cache_verifier *v, const float *f)
{
    int inner = (1 << v->depth) - 1;
    double s = v->base;
    for (int t = 0; t < v->trees; t++) {
        const tree_node *nd = v->nodes + (size_t)t * inner;
        int i = 0;
        for (int d = 0; d < v->depth; d++)
            i = 2 * i + 1 + (f[nd[i].feature] > nd[i].thr);
        s += v->leaves[(size_t)t * (inner + 1) + (i - inner)];
    }
    return (float)s;
}

static float with_vetoes(const cache_verifier *v, const float *f, float raw)
{
    float p = 1.0f / (1.0f + expf(-raw));
    for (int i = 0; i < v->n_veto; i++)
        if (f[v->veto[i]] > 0 && p > v->veto_cap) p = v->veto_cap;
    return p;
}

float cache_verifier_predict(const cache_verifier *v, const float *f)
{
    return with_vetoes(v, f, raw_score(v, f));
}

/* raw_score of n rows at once, tree by tree: the rows' walks down a tree are
 * independent, so the processor overlaps them (one row's walk is a chain of
 * dependent loads). Sums in the same order as raw_score: the same result. */
static void raw_score_many(const cache_verifier *v, const float (*f)[CACHE_VERIFY_NFEAT], int n,
                           double *s)
{
    int inner = (1 << v->depth) - 1;
    for (int r = 0; r < n; r++)
        s[r] = v->base;
    for (int t = 0; t < v->trees; t++) {
        const tree_node *nd = v->nodes + (size_t)t * inner;
        const float *leaves = v->leaves + (size_t)t * (inner + 1);
        int at[8];
        for (int r0 = 0; r0 < n; r0 += 8) {
            int m = n - r0 < 8 ? n - r0 : 8;
            for (int r = 0; r < m; r++)
                at[r] = 0;
            for (int d = 0; d < v->depth; d++)
                for (int r = 0; r < m; r++)
                    at[r] = 2 * at[r] + 1 + (f[r0 + r][nd[at[r]].feature] > nd[at[r]].thr);
            for (int r = 0; r < m; r++)
                s[r0 + r] += leaves[at[r] - inner];
        }
    }
}

int cache_verifier_set_vetoes(cache_verifier *v, const char *names, float cap)
{
    v->n_veto = 0;
    v->veto_cap = cap;
    const char *p = names;
    while (p && *p) {
        size_t l = strcspn(p, ",");
        int found = -1;
        for (int j = 0; j < CACHE_VERIFY_NFEAT; j++)
            if (strlen(cache_verify_feature_names[j]) == l && !strncmp(cache_verify_feature_names[j], p, l))
                found = j;
        if (found < 0 || v->n_veto == 8) return -1;
        v->veto[v->n_veto++] = found;
        p += l;
        if (*p == ',') p++;
    }
    return 0;
}

void cache_verifier_score_many(const cache_verifier *v, const char *a, size_t alen, int n,
                               const char *const *b, const size_t *blen, const float *cosine,
                               float *out)
{
    text *ta = malloc(sizeof *ta), *tb = malloc(sizeof *tb);
    int ok = ta && tb && !text_parse(ta, a, alen);
    for (int i0 = 0; i0 < n; i0 += 16) { /* 16 rows of features at a time */
        float f[16][CACHE_VERIFY_NFEAT];
        double raw[16];
        int good[16], m = n - i0 < 16 ? n - i0 : 16;
        for (int r = 0; r < m; r++) {
            good[r] = ok && !text_parse(tb, b[i0 + r], blen[i0 + r]);
            if (good[r]) {
                pair_features(v->idf, ta, tb, cosine[i0 + r], f[r]);
                text_free(tb);
            } else {
                memset(f[r], 0, sizeof f[r]);
            }
        }
        raw_score_many(v, (const float (*)[CACHE_VERIFY_NFEAT])f, m, raw);
        for (int r = 0; r < m; r++) /* out of memory: not verified, a miss */
            out[i0 + r] = good[r] ? with_vetoes(v, f[r], (float)raw[r]) : 0.0f;
    }
    if (ok) text_free(ta);
    free(ta);
    free(tb);
}

float cache_verifier_score(const cache_verifier *v, const char *a, size_t alen, const char *b,
                           size_t blen, float cosine)
{
    float f[CACHE_VERIFY_NFEAT];
    cache_verify_features(v->idf, a, alen, b, blen, cosine, f);
    return cache_verifier_predict(v, f);
}

void cache_gbt_params_default(cache_gbt_params *p)
{
    p->trees = 200;
    p->depth = 4;
    p->rate = 0.1f;
    p->min_leaf = 20;
    p->bins = 64;
    p->l2 = 1.0f;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

cache_verifier *cache_verifier_train(const cache_idf *idf, const float *x, const int *y, size_t n,
                                     const cache_gbt_params *p)
{
    const int F = CACHE_VERIFY_NFEAT, D = p->depth, inner = (1 << D) - 1, B = p->bins;
    cache_verifier *v = calloc(1, sizeof *v);
    float *edges = malloc(sizeof(float) * (size_t)F * (size_t)B); /* bin upper edges */
    int *nedges = calloc((size_t)F, sizeof *nedges);
    uint8_t *bin = malloc((size_t)n * (size_t)F);
    float *col = malloc(sizeof(float) * (n ? n : 1));
    double *score = malloc(sizeof(double) * (n ? n : 1));
    double *g = malloc(sizeof(double) * (n ? n : 1)), *h = malloc(sizeof(double) * (n ? n : 1));
    int *node_of = malloc(sizeof(int) * (n ? n : 1));
    size_t hist_n = (size_t)(inner + 1) * (size_t)F * (size_t)B;
    double *hg = malloc(sizeof(double) * hist_n), *hh = malloc(sizeof(double) * hist_n);
    int *hc = malloc(sizeof(int) * hist_n);
    if (v) {
        v->trees = p->trees;
        v->depth = D;
        v->nodes = calloc((size_t)p->trees * (size_t)inner, sizeof *v->nodes);
        v->leaves = calloc((size_t)p->trees * (size_t)(inner + 1), sizeof *v->leaves);
    }
    if (!v || !edges || !nedges || !bin || !col || !score || !g || !h || !node_of || !hg || !hh ||
        !hc || !v->nodes || !v->leaves || B > 256 || B < 2 || !n) {
        cache_verifier_free(v);
        v = NULL;
        goto done;
    }
    /* quantile edges per feature */
    for (int j = 0; j < F; j++) {
        for (size_t i = 0; i < n; i++)
            col[i] = x[i * F + j];
        qsort(col, n, sizeof *col, cmp_float);
        int m = 0;
        for (int b = 1; b < B; b++) {
            float e = col[(size_t)((double)b / B * (double)(n - 1))];
            if (!m || e > edges[j * B + m - 1]) edges[j * B + m++] = e;
        }
        nedges[j] = m; /* bins 0..m: bin k holds values in (edge k-1, edge k] */
        for (size_t i = 0; i < n; i++) {
            float val = x[i * F + j];
            int lo = 0, hi = m; /* first edge >= val */
            while (lo < hi) {
                int mid = (lo + hi) / 2;
                if (edges[j * B + mid] >= val)
                    hi = mid;
                else
                    lo = mid + 1;
            }
            bin[i * F + j] = (uint8_t)lo;
        }
    }
    double pos = 0;
    for (size_t i = 0; i < n; i++)
        pos += y[i] != 0;
    double prior = (pos + 1) / ((double)n + 2);
    v->base = (float)log(prior / (1 - prior));
    for (size_t i = 0; i < n; i++)
        score[i] = v->base;
    for (int t = 0; t < p->trees; t++) {
        tree_node *nodes = v->nodes + (size_t)t * inner;
        float *leaves = v->leaves + (size_t)t * (inner + 1);
        for (size_t i = 0; i < n; i++) {
            double pr = 1 / (1 + exp(-score[i]));
            g[i] = pr - (y[i] != 0);
            h[i] = pr * (1 - pr);
            if (h[i] < 1e-6) h[i] = 1e-6;
            node_of[i] = 0;
        }
        for (int d = 0; d < D; d++) {
            int first = (1 << d) - 1, count = 1 << d;
            memset(hg, 0, sizeof(double) * (size_t)count * F * B);
            memset(hh, 0, sizeof(double) * (size_t)count * F * B);
            memset(hc, 0, sizeof(int) * (size_t)count * F * B);
            for (size_t i = 0; i < n; i++) {
                size_t base = (size_t)(node_of[i] - first) * F * B;
                for (int j = 0; j < F; j++) {
                    size_t k = base + (size_t)j * B + bin[i * F + j];
                    hg[k] += g[i];
                    hh[k] += h[i];
                    hc[k]++;
                }
            }
            for (int nd = 0; nd < count; nd++) {
                double G = 0, H = 0;
                int C = 0;
                size_t base = (size_t)nd * F * B;
                for (int b = 0; b < B; b++) {
                    G += hg[base + b];
                    H += hh[base + b];
                    C += hc[base + b];
                }
                double best = 0, parent = G * G / (H + p->l2);
                int bf = 0;
                float bt = INFINITY;
                for (int j = 0; j < F; j++) {
                    double gl = 0, hl = 0;
                    int cl = 0;
                    for (int b = 0; b < nedges[j]; b++) {
                        size_t k = base + (size_t)j * B + b;
                        gl += hg[k];
                        hl += hh[k];
                        cl += hc[k];
                        if (cl < p->min_leaf || C - cl < p->min_leaf) continue;
                        double gain = gl * gl / (hl + p->l2) +
                                      (G - gl) * (G - gl) / (H - hl + p->l2) - parent;
                        if (gain > best) {
                            best = gain;
                            bf = j;
                            bt = edges[j * B + b];
                        }
                    }
                }
                nodes[first + nd].feature = bf;
                nodes[first + nd].thr = bt;
            }
            for (size_t i = 0; i < n; i++) {
                int nd = node_of[i];
                node_of[i] = 2 * nd + 1 + (x[i * F + nodes[nd].feature] > nodes[nd].thr);
            }
        }
        /* leaves */
        double lg[256] = {0}, lh[256] = {0};
        for (size_t i = 0; i < n; i++) {
            lg[node_of[i] - inner] += g[i];
            lh[node_of[i] - inner] += h[i];
        }
        for (int l = 0; l <= inner; l++)
            leaves[l] = (float)(-lg[l] / (lh[l] + p->l2) * p->rate);
        for (size_t i = 0; i < n; i++)
            score[i] += leaves[node_of[i] - inner];
    }
    v->idf = idf_new(idf->n, idf->docs, idf->dflt);
    for (size_t k = 0; v->idf && k < idf->cap; k++) {
        if (!idf->keys[k]) continue;
        if (idf_put(v->idf, idf->words[k], strlen(idf->words[k]), idf->vals[k])) {
            cache_idf_free(v->idf);
            v->idf = NULL;
            break;
        }
        memcpy(v->idf->nbr[idf_slot(v->idf, idf->keys[k])], idf->nbr[k], sizeof idf->nbr[k]);
    }
    if (!v->idf) {
        cache_verifier_free(v);
        v = NULL;
    }
done:
    free(edges);
    free(nedges);
    free(bin);
    free(col);
    free(score);
    free(g);
    free(h);
    free(node_of);
    free(hg);
    free(hh);
    free(hc);
    return v;
}

/* ---------------------------------------------------------------- file */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int cache_verifier_save(const cache_verifier *v, const char *path, char *err, size_t errlen)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        return -1;
    }
    int inner = (1 << v->depth) - 1;
    fprintf(f, "semrouter-verifier 1\nfeatures %d", CACHE_VERIFY_NFEAT);
    for (int j = 0; j < CACHE_VERIFY_NFEAT; j++)
        fprintf(f, " %s", cache_verify_feature_names[j]);
    fprintf(f, "\nbase %.9g\nveto %.9g %d", v->base, v->veto_cap, v->n_veto);
    for (int i = 0; i < v->n_veto; i++)
        fprintf(f, " %s", cache_verify_feature_names[v->veto[i]]);
    fprintf(f, "\ntrees %d depth %d\n", v->trees, v->depth);
    for (int t = 0; t < v->trees; t++) {
        for (int i = 0; i < inner; i++) {
            const tree_node *nd = &v->nodes[(size_t)t * inner + i];
            if (isinf(nd->thr))
                fprintf(f, "%s%d:inf", i ? " " : "", nd->feature);
            else
                fprintf(f, "%s%d:%.9g", i ? " " : "", nd->feature, nd->thr);
        }
        for (int l = 0; l <= inner; l++)
            fprintf(f, " %.9g", v->leaves[(size_t)t * (inner + 1) + l]);
        fputc('\n', f);
    }
    /* words sorted so the file diffs well */
    const cache_idf *idf = v->idf;
    char **ws = malloc(sizeof(char *) * (idf->n ? idf->n : 1));
    float *vs = malloc(sizeof(float) * (idf->n ? idf->n : 1));
    size_t m = 0;
    if (!ws || !vs) {
        free(ws);
        free(vs);
        fclose(f);
        unlink(tmp);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t k = 0; k < idf->cap; k++)
        if (idf->keys[k]) ws[m++] = idf->words[k];
    qsort(ws, m, sizeof *ws, cmp_str);
    fprintf(f, "idf %.0f %.9g %zu\n", idf->docs, idf->dflt, m);
    for (size_t k = 0; k < m; k++) {
        size_t at = idf_slot(idf, fnv(ws[k], strlen(ws[k])));
        fprintf(f, "%s %.6g", ws[k], idf->vals[at]);
        for (int j = 0; j < NBR && idf->nbr[at][j]; j++) {
            size_t nb = idf_slot(idf, idf->nbr[at][j]);
            if (nb != (size_t)-1) fprintf(f, " %s", idf->words[nb]);
        }
        fputc('\n', f);
    }
    free(ws);
    free(vs);
    if (ferror(f) | fclose(f) || rename(tmp, path)) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

cache_verifier *cache_verifier_load(const char *path, char *err, size_t errlen)
{
    size_t len;
    char *data = util_read_file(path, &len, err, errlen);
    if (!data) return NULL;
    cache_verifier *v = calloc(1, sizeof *v);
    char *save = NULL, *line = strtok_r(data, "\n", &save);
    int version = 0, nf = 0, ok = 0;
    if (!v || !line || sscanf(line, "semrouter-verifier %d", &version) != 1 || version != 1) {
        snprintf(err, errlen, "%s is not a semrouter verifier model (version 1)", path);
        goto out;
    }
    line = strtok_r(NULL, "\n", &save);
    if (!line || sscanf(line, "features %d", &nf) != 1 || nf != CACHE_VERIFY_NFEAT) {
        snprintf(err, errlen, "%s: the model has %d features, this build computes %d", path, nf,
                 CACHE_VERIFY_NFEAT);
        goto out;
    }
    {
        char *p = strchr(line + 9, ' ');
        for (int j = 0; j < nf; j++) {
            while (p && *p == ' ')
                p++;
            size_t l = strlen(cache_verify_feature_names[j]);
            if (!p || strncmp(p, cache_verify_feature_names[j], l) || (p[l] != ' ' && p[l])) {
                snprintf(err, errlen, "%s: feature %d is not '%s' (retrain the model)", path, j,
                         cache_verify_feature_names[j]);
                goto out;
            }
            p += l;
        }
    }
    line = strtok_r(NULL, "\n", &save);
    if (!line || sscanf(line, "base %f", &v->base) != 1) goto bad;
    line = strtok_r(NULL, "\n", &save);
    {
        int nv, used;
        if (!line || sscanf(line, "veto %f %d%n", &v->veto_cap, &nv, &used) != 2 || nv < 0 || nv > 8)
            goto bad;
        char names[512] = "";
        const char *p = line + used;
        for (int i = 0; i < nv; i++) {
            while (*p == ' ')
                p++;
            size_t l = strcspn(p, " ");
            if (!l || strlen(names) + l + 2 > sizeof names) goto bad;
            if (i) strcat(names, ",");
            strncat(names, p, l);
            p += l;
        }
        if (cache_verifier_set_vetoes(v, names, v->veto_cap)) goto bad;
    }
    line = strtok_r(NULL, "\n", &save);
    if (!line || sscanf(line, "trees %d depth %d", &v->trees, &v->depth) != 2 || v->trees < 0 ||
        v->trees > 100000 || v->depth < 1 || v->depth > 7)
        goto bad;
    int inner = (1 << v->depth) - 1;
    v->nodes = calloc((size_t)v->trees * inner + 1, sizeof *v->nodes);
    v->leaves = calloc((size_t)v->trees * (inner + 1) + 1, sizeof *v->leaves);
    if (!v->nodes || !v->leaves) goto oom;
    for (int t = 0; t < v->trees; t++) {
        line = strtok_r(NULL, "\n", &save);
        if (!line) goto bad;
        char *p = line, *end;
        for (int i = 0; i < inner; i++) {
            long fi = strtol(p, &end, 10);
            if (end == p || *end != ':' || fi < 0 || fi >= nf) goto bad;
            p = end + 1;
            float thr = strtof(p, &end);
            if (end == p) goto bad;
            p = end;
            v->nodes[(size_t)t * inner + i] = (tree_node){(int)fi, thr};
        }
        for (int l = 0; l <= inner; l++) {
            float val = strtof(p, &end);
            if (end == p || !isfinite(val)) goto bad;
            p = end;
            v->leaves[(size_t)t * (inner + 1) + l] = val;
        }
    }
    line = strtok_r(NULL, "\n", &save);
    double docs;
    float dflt;
    size_t count;
    if (!line || sscanf(line, "idf %lf %f %zu", &docs, &dflt, &count) != 3 || count > 10000000)
        goto bad;
    v->idf = idf_new(count, docs, dflt);
    if (!v->idf) goto oom;
    for (size_t k = 0; k < count; k++) {
        line = strtok_r(NULL, "\n", &save);
        char *sp = line ? strchr(line, ' ') : NULL;
        if (!sp || sp == line) goto bad;
        char *end;
        float val = strtof(sp + 1, &end);
        if (end == sp + 1 || !isfinite(val) || (*end && *end != ' ')) goto bad;
        if (idf_put(v->idf, line, (size_t)(sp - line), val)) goto oom;
        size_t at = idf_slot(v->idf, fnv(line, (size_t)(sp - line)));
        for (int j = 0; *end == ' ' && j < NBR; j++) {
            char *w = end + 1;
            size_t l = strcspn(w, " ");
            if (!l) goto bad;
            v->idf->nbr[at][j] = fnv(w, l);
            end = w + l;
        }
        if (*end) goto bad;
    }
    ok = 1;
    goto out;
bad:
    snprintf(err, errlen, "%s: malformed verifier model (line '%.40s')", path, line ? line : "end of file");
    goto out;
oom:
    snprintf(err, errlen, "out of memory loading %s", path);
out:
    free(data);
    if (!ok) {
        cache_verifier_free(v);
        return NULL;
    }
    return v;
}
