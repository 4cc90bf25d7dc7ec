/* keyword.c - keyword_rules matching (see keyword.h for the semantics).
 *
 * Matching is substring search (memmem) plus a word-boundary check on the
 * keyword edges that are word characters. That is cheaper than a regex per
 * rule and avoids the classic "\bc\+\+\b never matches" trap of wrapping
 * QuoteMeta(keyword) in \b. Case-insensitive rules compare case-folded text:
 * the keywords are folded once at compile time, the text once per call. */
#include "route/keyword.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <utf8proc.h>

#include "core/util.h"

typedef struct compiled_keyword {
    char *text;
    size_t len;
    int check_start, check_end; /* edge is a word character: boundary required */
} compiled_keyword;

typedef struct compiled_rule {
    char *category;
    keyword_operator op;
    int case_sensitive;
    int n;
    compiled_keyword *kw;
} compiled_rule;

struct keyword_set {
    int n;
    int any_folded;
    compiled_rule *rules;
};

int keyword_operator_from_name(const char *name)
{
    if (!name) return -1;
    if (!strcasecmp(name, "OR")) return KEYWORD_OR;
    if (!strcasecmp(name, "AND")) return KEYWORD_AND;
    if (!strcasecmp(name, "NOR")) return KEYWORD_NOR;
    return -1;
}

/* Decodes one code point at s[i..n); returns its length (1 for invalid bytes,
 * which then count as non-word). */
static int decode_at(const char *s, size_t n, size_t i, int32_t *cp)
{
    utf8proc_ssize_t r =
        utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), cp);
    if (r <= 0) {
        *cp = -1;
        return 1;
    }
    return (int)r;
}

static int is_word_cp(int32_t cp)
{
    if (cp < 0) return 0;
    if (cp < 128)
        return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9') ||
               cp == '_';
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
    case UTF8PROC_CATEGORY_PC:
        return 1;
    default:
        return 0;
    }
}

static int word_char_after(const char *s, size_t n, size_t i)
{
    if (i >= n) return 0;
    int32_t cp;
    decode_at(s, n, i, &cp);
    return is_word_cp(cp);
}

static int word_char_before(const char *s, size_t n, size_t i)
{
    if (i == 0) return 0;
    size_t j = i - 1;
    /* Walk back over at most 3 continuation bytes to the lead byte. */
    while (j > 0 && i - j < 4 && ((unsigned char)s[j] & 0xC0) == 0x80)
        j--;
    int32_t cp;
    int l = decode_at(s, n, j, &cp);
    if ((size_t)l != i - j) return 0;
    return is_word_cp(cp);
}

/* Case-folds + NFC-composes s; falls back to ASCII lowercase for invalid UTF-8.
 * Returns a malloc'd NUL-terminated string and its length, or NULL on OOM. */
static char *fold(const char *s, size_t n, size_t *out_len)
{
    utf8proc_uint8_t *dst = NULL;
    utf8proc_ssize_t r = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &dst,
                                      UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD);
    if (r >= 0) {
        *out_len = (size_t)r;
        return (char *)dst;
    }
    char *c = malloc(n + 1);
    if (!c) return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        c[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
    }
    c[n] = 0;
    *out_len = n;
    return c;
}

/* 1 when kw occurs in text as a whole word (boundaries only on word edges). */
static int contains_word(const char *text, size_t n, const compiled_keyword *kw)
{
    if (kw->len == 0 || kw->len > n) return 0;
    const char *p = text, *end = text + n;
    while (p + kw->len <= end) {
        const char *hit = memmem(p, (size_t)(end - p), kw->text, kw->len);
        if (!hit) return 0;
        size_t at = (size_t)(hit - text);
        if ((!kw->check_start || !word_char_before(text, n, at)) &&
            (!kw->check_end || !word_char_after(text, n, at + kw->len)))
            return 1;
        p = hit + 1;
    }
    return 0;
}

void keyword_set_free(keyword_set *s)
{
    if (!s) return;
    for (int i = 0; i < s->n; i++) {
        compiled_rule *r = &s->rules[i];
        free(r->category);
        for (int k = 0; k < r->n; k++)
            free(r->kw[k].text);
        free(r->kw);
    }
    free(s->rules);
    free(s);
}

keyword_set *keyword_compile(const keyword_rule *rules, int n, char *err, size_t errlen)
{
    keyword_set *s = calloc(1, sizeof *s);
    if (!s || n < 0 || (n > 0 && !rules)) goto oom;
    s->rules = calloc((size_t)(n ? n : 1), sizeof *s->rules);
    if (!s->rules) goto oom;
    for (int i = 0; i < n; i++) {
        const keyword_rule *in = &rules[i];
        compiled_rule *r = &s->rules[i];
        s->n = i + 1;
        if (in->op != KEYWORD_OR && in->op != KEYWORD_AND && in->op != KEYWORD_NOR) {
            snprintf(err, errlen, "keyword rule %d: operator must be AND, OR or NOR", i);
            goto fail;
        }
        r->op = in->op;
        r->case_sensitive = in->case_sensitive;
        if (!r->case_sensitive) s->any_folded = 1;
        r->category = strdup(in->category ? in->category : "");
        if (!r->category) goto oom;
        if (in->n_keywords < 0 || (in->n_keywords > 0 && !in->keywords)) {
            snprintf(err, errlen, "keyword rule %d: keyword list is missing", i);
            goto fail;
        }
        r->kw = calloc((size_t)(in->n_keywords ? in->n_keywords : 1), sizeof *r->kw);
        if (!r->kw) goto oom;
        for (int k = 0; k < in->n_keywords; k++) {
            const char *w = in->keywords[k];
            if (!w || !*w) {
                snprintf(err, errlen, "keyword rule %d (%s): keyword %d is empty", i, r->category,
                         k);
                goto fail;
            }
            compiled_keyword *c = &r->kw[k];
            r->n = k + 1;
            if (r->case_sensitive) {
                c->text = strdup(w);
                c->len = strlen(w);
            } else {
                c->text = fold(w, strlen(w), &c->len);
            }
            if (!c->text) goto oom;
            c->check_start = word_char_after(c->text, c->len, 0);
            c->check_end = word_char_before(c->text, c->len, c->len);
        }
        r->n = in->n_keywords;
    }
    return s;
oom:
    snprintf(err, errlen, "keyword rules: out of memory");
fail:
    keyword_set_free(s);
    return NULL;
}

int keyword_set_count(const keyword_set *s)
{
    return s ? s->n : 0;
}

const char *keyword_set_category(const keyword_set *s, int rule)
{
    return s && rule >= 0 && rule < s->n ? s->rules[rule].category : NULL;
}

static int rule_matches(const compiled_rule *r, const char *text, size_t n)
{
    if (r->n == 0) return 0;
    for (int k = 0; k < r->n; k++) {
        int hit = contains_word(text, n, &r->kw[k]);
        if (r->op == KEYWORD_OR && hit) return 1;
        if (r->op == KEYWORD_AND && !hit) return 0;
        if (r->op == KEYWORD_NOR && hit) return 0;
    }
    return r->op != KEYWORD_OR;
}

int keyword_set_match(const keyword_set *s, const char *text, size_t len)
{
    if (!s || s->n == 0) return -1;
    if (!text) len = 0, text = "";
    len = util_utf8_head(text, len, KEYWORD_SCAN_MAX_BYTES);
    char *folded = NULL;
    size_t flen = 0;
    if (s->any_folded) {
        folded = fold(text, len, &flen);
        if (!folded) return -1;
    }
    int found = -1;
    for (int i = 0; i < s->n && found < 0; i++) {
        const compiled_rule *r = &s->rules[i];
        if (r->case_sensitive ? rule_matches(r, text, len) : rule_matches(r, folded, flen))
            found = i;
    }
    free(folded);
    return found;
}

int keyword_match(const keyword_rule *rules, int n, const char *text, size_t len)
{
    char err[160];
    keyword_set *s = keyword_compile(rules, n, err, sizeof err);
    if (!s) return -1;
    int r = keyword_set_match(s, text, len);
    keyword_set_free(s);
    return r;
}
