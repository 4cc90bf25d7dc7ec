/* pii.c - PII recognizers (see pii.h).
 *
 * Every recognizer is a scanner that proposes candidates with a type, a span
 * and a confidence; pii_detect then resolves overlaps by specificity (a PEM
 * block beats the base64 inside it, an IBAN beats the digits inside it, a card
 * beats a phone) and returns the survivors in text order. Scanners check the
 * byte before and after a candidate so that a value is never cut out of a
 * longer token ("v1.2.3.4", "ISBN 978-0-306-40615-7", "1Z999AA10123456784").
 * Context words (a few bytes before a candidate) only decide the ambiguous
 * shapes: nine bare digits are an SSN after "SSN", ten bare digits a phone
 * after "call me at", and a NANP-shaped number after "order #" is not a phone. */
#include "guard/pii.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <stdlib.h>

#include "core/unifold.h"
#include "core/util.h"

#define MAX_CANDIDATES 512

typedef struct collector {
    pii_entity c[MAX_CANDIDATES];
    int n;
} collector;

/* A full collector ends the scan (hostile inputs packed with candidates). */
#define FULL(col) ((col)->n >= MAX_CANDIDATES)

static void add(collector *col, int type, size_t start, size_t end, float conf)
{
    if (col->n >= MAX_CANDIDATES || end <= start) return;
    col->c[col->n++] = (pii_entity){type, start, end, conf > 1.0f ? 1.0f : conf};
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}
static int is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static int is_alnum(int c)
{
    return is_digit(c) || is_alpha(c);
}
static int is_hex(int c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

#define AT(i) ((i) < len ? (unsigned char)text[i] : 0)
#define AT_(t, i) ((unsigned char)(t)[i])

/* The byte before `start` ends a token: not a letter/digit/underscore, and not
 * a number separator glued to a digit ("1.2", "12-34", "3/4", "10:30"). */
static int start_ok(const char *text, size_t len, size_t start)
{
    if (start == 0) return 1;
    int p = (unsigned char)text[start - 1];
    if (is_alnum(p) || p == '_') return 0;
    if ((p == '.' || p == '-' || p == '/' || p == ':' || p == ',') && start >= 2 &&
        is_alnum((unsigned char)text[start - 2]))
        return 0;
    (void)len;
    return 1;
}

/* The byte at `end` starts no continuation of the token. */
static int end_ok(const char *text, size_t len, size_t end)
{
    int c = AT(end);
    if (is_alnum(c) || c == '_') return 0;
    if ((c == '.' || c == '-' || c == '/' || c == ':' || c == ',') && is_alnum(AT(end + 1)))
        return 0;
    return 1;
}

/* Case-insensitive: does one of words occur as a whole word in the `window`
 * bytes before `at`? */
static int context_before(const char *text, size_t at, size_t window, const char *const *words)
{
    size_t from = at > window ? at - window : 0;
    /* context words start at a word start: collect those positions once */
    size_t starts[64];
    int ns = 0;
    for (size_t i = from; i < at && ns < 64; i++)
        if (is_alpha((unsigned char)text[i]) && (i == 0 || !is_alpha((unsigned char)text[i - 1])))
            starts[ns++] = i;
    for (const char *const *w = words; *w; w++) {
        size_t wl = strlen(*w);
        if (!is_alpha((unsigned char)(*w)[0])) { /* e.g. the section sign */
            if (memmem(text + from, at - from, *w, wl)) return 1;
            continue;
        }
        for (int k = 0; k < ns; k++) {
            size_t i = starts[k];
            if (i + wl > at || lower((unsigned char)text[i]) != (*w)[0]) continue;
            if (strncasecmp(text + i, *w, wl) != 0) continue;
            if (i > 0 && is_alpha((unsigned char)text[i - 1])) continue;
            if (i + wl < at && is_alpha((unsigned char)text[i + wl]) &&
                is_alpha((unsigned char)(*w)[wl - 1]))
                continue;
            return 1;
        }
    }
    return 0;
}

static const char *const NUMBER_NEGATIVE_CONTEXT[] = {
    "order",  "invoice",     "tracking",     "isbn",   "ref",  "reference", "serial",
    "sku",    "transaction", "confirmation", "ticket", "case", "booking",   "reservation",
    "part",   "model",       "version",      "build",  "po",   "receipt",   "shipment",
    "parcel", "issue",       "pr",           "id",     "no.",  "nr",        NULL};

/* ---------------------------------------------------------------- PEM keys */

static void scan_private_keys(const char *text, size_t len, collector *col)
{
    const char *p = text, *end = text + len;
    while (!FULL(col) && (p = memmem(p, (size_t)(end - p), "-----BEGIN ", 11)) != NULL) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol) eol = end;
        const char *pk = memmem(p, (size_t)(eol - p), "PRIVATE KEY", 11);
        if (!pk) {
            p += 11;
            continue;
        }
        const char *stop = end;
        const char *e = memmem(pk, (size_t)(end - pk), "-----END ", 9);
        if (e) {
            const char *close = memmem(e + 9, (size_t)(end - e - 9), "-----", 5);
            stop = close ? close + 5 : end;
        }
        add(col, PII_PRIVATE_KEY, (size_t)(p - text), (size_t)(stop - text), 1.0f);
        p = stop;
    }
}

/* ------------------------------------------------------- API keys, tokens */

static int is_tok(int c)
{
    return is_alnum(c) || c == '_' || c == '-';
}

/* Length of the run of token characters at i. */
static size_t tok_run(const char *text, size_t len, size_t i, int allow_dash)
{
    size_t j = i;
    while (j < len && (is_alnum(AT(j)) || AT(j) == '_' || (allow_dash && AT(j) == '-')))
        j++;
    return j - i;
}

static int classes(const char *s, size_t n)
{
    int lo = 0, up = 0, dg = 0, sy = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c >= 'a' && c <= 'z')
            lo = 1;
        else if (c >= 'A' && c <= 'Z')
            up = 1;
        else if (is_digit(c))
            dg = 1;
        else
            sy = 1;
    }
    return lo + up + dg + sy;
}

static int has_prefix(const char *text, size_t len, size_t i, const char *pre)
{
    size_t n = strlen(pre);
    return i + n <= len && memcmp(text + i, pre, n) == 0;
}

static void scan_tokens(const char *text, size_t len, collector *col)
{
    static const char *const aws[] = {"AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA",
                                      "AROA", "AIPA", "ANPA", "ANVA", NULL};
    for (size_t i = 0; i < len && !FULL(col); i++) {
        int c = AT(i);
        if (!is_alnum(c)) continue;
        if (i > 0 && is_tok((unsigned char)text[i - 1])) continue;
        /* only these letters start a known token shape */
        if (!strchr("AgsrxhneS", c)) {
            while (i + 1 < len && is_tok(AT(i + 1)))
                i++;
            continue;
        }
        size_t run = tok_run(text, len, i, 1);
        size_t hit = 0;
        float conf = 0.9f;
        if (c == 'A') {
            for (const char *const *p = aws; *p; p++)
                if (has_prefix(text, len, i, *p) && run == 20) {
                    int ok = 1;
                    for (size_t k = i + 4; k < i + 20; k++)
                        if (!(is_digit(AT(k)) || (AT(k) >= 'A' && AT(k) <= 'Z'))) ok = 0;
                    if (ok) hit = 20, conf = 0.95f;
                }
            if (!hit && has_prefix(text, len, i, "AIza") && run >= 39) hit = run, conf = 0.9f;
        }
        if (!hit && c == 'g') {
            if ((has_prefix(text, len, i, "ghp_") || has_prefix(text, len, i, "gho_") ||
                 has_prefix(text, len, i, "ghu_") || has_prefix(text, len, i, "ghs_") ||
                 has_prefix(text, len, i, "ghr_")) &&
                run >= 40)
                hit = run, conf = 0.95f;
            else if (has_prefix(text, len, i, "github_pat_") && run >= 40)
                hit = run, conf = 0.95f;
            else if (has_prefix(text, len, i, "glpat-") && run >= 26)
                hit = run, conf = 0.95f;
        }
        if (!hit && c == 's' && has_prefix(text, len, i, "sk-") && run >= 23 &&
            classes(text + i + 3, run - 3) >= 2) {
            int digits = 0;
            for (size_t k = i + 3; k < i + run; k++)
                digits += is_digit(AT(k));
            if (digits >= 2) hit = run, conf = 0.9f;
        }
        if (!hit && (c == 's' || c == 'r') &&
            (has_prefix(text, len, i, "sk_live_") || has_prefix(text, len, i, "sk_test_") ||
             has_prefix(text, len, i, "rk_live_") || has_prefix(text, len, i, "rk_test_")) &&
            run >= 24)
            hit = run, conf = 0.95f;
        if (!hit && c == 'x' && run >= 15 && has_prefix(text, len, i, "xox") &&
            strchr("abposr", AT(i + 3)) && AT(i + 3) && AT(i + 4) == '-')
            hit = run, conf = 0.95f;
        if (!hit && c == 'h' && has_prefix(text, len, i, "hf_") && run >= 33 &&
            classes(text + i + 3, run - 3) >= 2)
            hit = run, conf = 0.9f;
        if (!hit && c == 'n' && has_prefix(text, len, i, "npm_") && run >= 40)
            hit = run, conf = 0.9f;
        if (!hit && c == 'S' && has_prefix(text, len, i, "SG.")) { /* SendGrid: SG.<22>.<43> */
            size_t r1 = tok_run(text, len, i + 3, 1);
            if (r1 >= 16 && AT(i + 3 + r1) == '.') {
                size_t r2 = tok_run(text, len, i + 4 + r1, 1);
                if (r2 >= 30) hit = 4 + r1 + r2, conf = 0.95f;
            }
        }
        if (!hit && c == 'e' && has_prefix(text, len, i, "eyJ") && run >= 10 &&
            AT(i + run) == '.') {
            /* JWT: header.payload.signature, base64url parts */
            size_t p2 = i + run + 1, r2 = tok_run(text, len, p2, 1);
            if (r2 >= 10 && AT(p2 + r2) == '.') {
                size_t p3 = p2 + r2 + 1, r3 = tok_run(text, len, p3, 1);
                if (r3 >= 16) hit = p3 + r3 - i, conf = 0.9f;
            }
        }
        if (hit) {
            if (i + hit < len && is_tok(AT(i + hit)) && hit == 20 && c == 'A') continue;
            add(col, PII_API_KEY, i, i + hit, conf);
            i += hit - 1;
        } else {
            i += run ? run - 1 : 0;
        }
    }
}

/* key = value secrets: "password: hunter2!x", "API_KEY=...", "Authorization: Bearer ...".
 * The span is the value. Placeholders ("<your key>", "****", "${TOKEN}") are skipped. */
static void scan_assignments(const char *text, size_t len, collector *col)
{
    static const struct {
        const char *word;
        size_t min_len;
    } keys[] = {{"password", 6}, {"passwd", 6},      {"pwd", 6},          {"passphrase", 8},
                {"secret", 12},  {"api_key", 12},    {"apikey", 12},      {"api-key", 12},
                {"token", 16},   {"access_key", 12}, {"private_key", 16}, {"client_secret", 12},
                {"bearer", 16},  {NULL, 0}};
    static const char *const not_secret[] = {
        "count",  "limit",  "max",   "min",  "len",   "size", "type",    "url",
        "uri",    "file",   "path",  "name", "expir", "ttl",  "timeout", "usage",
        "budget", "policy", "field", "hint", "reset", NULL};
    for (size_t i = 0; i < len && !FULL(col); i++) {
        int c = lower(AT(i));
        if (c != 'p' && c != 's' && c != 'a' && c != 't' && c != 'b' && c != 'c') continue;
        if (i > 0 && is_alpha((unsigned char)text[i - 1])) continue;
        for (int k = 0; keys[k].word; k++) {
            if (keys[k].word[0] != c) continue;
            size_t wl = strlen(keys[k].word);
            if (i + wl > len || strncasecmp(text + i, keys[k].word, wl) != 0) continue;
            /* identifier tail: "_access_key", "_TOKEN", ... */
            size_t j = i + wl;
            while (j < len && (is_alnum(AT(j)) || AT(j) == '_' || AT(j) == '-'))
                j++;
            /* the identifier as a whole must not name a limit or a path */
            size_t id0 = i;
            while (id0 > 0 && (is_alnum((unsigned char)text[id0 - 1]) || text[id0 - 1] == '_'))
                id0--;
            int skip = 0;
            for (const char *const *n = not_secret; *n && !skip; n++) {
                size_t nl = strlen(*n);
                for (size_t q = id0; q + nl <= j; q++)
                    if (strncasecmp(text + q, *n, nl) == 0) skip = 1;
            }
            if (skip) break;
            int bearer = !strcmp(keys[k].word, "bearer");
            if (bearer) {
                if (AT(j) != ' ') break;
                j++;
            } else {
                if (AT(j) == '"' || AT(j) == '\'') j++;
                while (AT(j) == ' ' || AT(j) == '\t')
                    j++;
                if (AT(j) == ':' && AT(j + 1) == '=')
                    j += 2;
                else if (AT(j) == '=' && AT(j + 1) == '>')
                    j += 2;
                else if (AT(j) == ':' || AT(j) == '=')
                    j++;
                else
                    break;
                while (AT(j) == ' ' || AT(j) == '\t')
                    j++;
            }
            if (AT(j) == '"' || AT(j) == '\'') j++;
            size_t v0 = j;
            while (j < len && AT(j) > ' ' && AT(j) != '"' && AT(j) != '\'' && AT(j) != '`')
                j++;
            size_t v1 = j;
            while (v1 > v0 && strchr(".,;)]}", text[v1 - 1]))
                v1--;
            size_t vl = v1 - v0;
            if (vl < keys[k].min_len || vl > 512) break;
            const char *v = text + v0;
            if (v[0] == '<' || v[0] == '$' || v[0] == '{' || v[0] == '%' || v[0] == '[') break;
            int same = 1;
            for (size_t q = 1; q < vl; q++)
                same &= v[q] == v[0];
            if (same) break;
            /* v is vl bytes of a text that need not be NUL-terminated */
            if ((vl >= 4 && !strncasecmp(v, "your", 4)) || (vl >= 3 && !strncasecmp(v, "xxx", 3)) ||
                (vl >= 7 && !strncasecmp(v, "example", 7)) ||
                (vl >= 8 && !strncasecmp(v, "redacted", 8)) ||
                (vl >= 11 && !strncasecmp(v, "placeholder", 11)) ||
                (vl >= 8 && !strncasecmp(v, "changeme", 8)))
                break;
            if (classes(v, vl) < 2) break;
            add(col, PII_API_KEY, v0, v1, bearer ? 0.8f : 0.7f);
            i = v1;
            break;
        }
    }
}

/* ------------------------------------------------------------------ email */

static int is_local(int c)
{
    return is_alnum(c) || (c && strchr("._%+-'", c));
}

static void scan_email(const char *text, size_t len, collector *col)
{
    const char *p = text, *end = text + len;
    while (!FULL(col) && (p = memchr(p, '@', (size_t)(end - p))) != NULL) {
        size_t at = (size_t)(p - text);
        p++;
        size_t s = at;
        while (s > 0 && is_local((unsigned char)text[s - 1]) && at - s < 64)
            s--;
        /* glued to a non-ASCII letter, or longer than 64: not cut out of a longer token */
        if (s > 0 && ((unsigned char)text[s - 1] >= 0x80 || is_local((unsigned char)text[s - 1])))
            continue;
        while (s < at && (text[s] == '.' || text[s] == '\'' || text[s] == '-'))
            s++; /* an opening quote or dots before the address */
        if (s == at || text[at - 1] == '.') continue;
        size_t e = at + 1, last_dot = 0, label = 0;
        int ok = 1;
        while (e < len && (is_alnum(AT(e)) || AT(e) == '-' || AT(e) == '.')) {
            if (AT(e) == '.') {
                if (label == 0 || text[e - 1] == '-') break;
                if (!(is_alnum(AT(e + 1)))) break;
                last_dot = e;
                label = 0;
            } else {
                if (label == 0 && AT(e) == '-') ok = 0;
                label++;
            }
            e++;
        }
        while (e > at + 1 && text[e - 1] == '-')
            e--;
        if (!ok || !last_dot || e - last_dot - 1 < 2) continue;
        int tld_alpha = 1;
        for (size_t q = last_dot + 1; q < e; q++)
            tld_alpha &= is_alpha(AT(q));
        if (!tld_alpha || e - last_dot - 1 > 24) continue;
        if (e < len && ((unsigned char)text[e] >= 0x80 || text[e] == '@')) continue;
        add(col, PII_EMAIL_ADDRESS, s, e, 0.95f);
        p = text + e;
    }
}

/* ----------------------------------------------------- digit group reader */

#define MAX_GROUPS 10

typedef struct digit_groups {
    int n;       /* groups read */
    int ndigits; /* digits in all groups */
    int size[MAX_GROUPS];
    char sep[MAX_GROUPS]; /* separator before group k (0 for the first) */
    size_t end;           /* byte after the last digit */
    char digits[24];
} digit_groups;

/* Reads digit groups at i separated by exactly one byte of `seps`. Stops at
 * MAX_GROUPS groups or more than 23 digits (then ndigits says so). */
static void read_groups(const char *text, size_t len, size_t i, const char *seps, digit_groups *g)
{
    memset(g, 0, sizeof *g);
    size_t j = i;
    while (g->n < MAX_GROUPS) {
        size_t s = j;
        while (j < len && is_digit(AT(j))) {
            if (g->ndigits < 23) g->digits[g->ndigits] = (char)AT(j);
            g->ndigits++;
            j++;
        }
        g->size[g->n++] = (int)(j - s);
        g->end = j;
        if (g->n < MAX_GROUPS && j + 1 < len && AT(j) && strchr(seps, AT(j)) &&
            is_digit(AT(j + 1))) {
            g->sep[g->n] = (char)AT(j); /* sep[MAX_GROUPS] would be one past the end */
            j++;
        } else {
            break;
        }
    }
    g->digits[g->ndigits < 23 ? g->ndigits : 23] = 0;
}

static int same_sep(const digit_groups *g)
{
    for (int k = 2; k < g->n; k++)
        if (g->sep[k] != g->sep[1]) return 0;
    return 1;
}

/* ------------------------------------------------------------ credit card */

static int luhn_ok(const char *d, int n)
{
    int sum = 0;
    for (int k = 0; k < n; k++) {
        int v = d[n - 1 - k] - '0';
        if (k & 1) {
            v *= 2;
            if (v > 9) v -= 9;
        }
        sum += v;
    }
    return sum % 10 == 0;
}

static int prefix_num(const char *d, int k)
{
    int v = 0;
    for (int i = 0; i < k; i++)
        v = v * 10 + (d[i] - '0');
    return v;
}

/* Issuer (IIN) prefix consistent with the length. */
static int iin_ok(const char *d, int n)
{
    int p1 = d[0] - '0', p2 = prefix_num(d, 2), p3 = prefix_num(d, 3), p4 = prefix_num(d, 4);
    if (p1 == 4) return n == 13 || n == 16 || n == 19;                        /* Visa */
    if (p2 == 34 || p2 == 37) return n == 15;                                 /* Amex */
    if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return n == 16; /* Mastercard */
    if (p4 >= 2200 && p4 <= 2204) return n >= 16;                             /* Mir */
    if (p4 >= 3528 && p4 <= 3589) return n >= 16;                             /* JCB */
    if ((p3 >= 300 && p3 <= 305) || p3 == 309 || p2 == 36 || p2 == 38 || p2 == 39)
        return n >= 14;                                                     /* Diners */
    if (p4 == 6011 || (p3 >= 644 && p3 <= 649) || p2 == 65) return n >= 16; /* Discover */
    if (p2 == 62 || p2 == 81) return n >= 16;                               /* UnionPay */
    if (p2 == 50 || (p2 >= 56 && p2 <= 69)) return n >= 13;                 /* Maestro */
    return 0;
}

static const char *const CARD_CONTEXT[] = {"card",       "cc",   "visa", "mastercard", "amex",
                                           "debit",      "credit", "pan", "maestro",    "discover",
                                           "cardnumber", NULL};

static void scan_cards(const char *text, size_t len, collector *col)
{
    for (size_t i = 0; i < len && !FULL(col); i++) {
        if (!is_digit(AT(i)) || (i > 0 && is_digit((unsigned char)text[i - 1]))) continue;
        digit_groups g;
        read_groups(text, len, i, " -", &g);
        size_t next = g.end;
        if (g.ndigits < 13 || g.ndigits > 19 || !start_ok(text, len, i) ||
            !end_ok(text, len, g.end))
            goto skip;
        if (i > 0 && strchr("$€£#", text[i - 1])) goto skip;
        if (g.n > 1) {
            if (!same_sep(&g) || g.size[0] != 4) goto skip;
            for (int k = 1; k < g.n; k++)
                if (g.size[k] < (k == g.n - 1 ? 1 : 3) || g.size[k] > 6) goto skip;
        } else if (context_before(text, i, 40, NUMBER_NEGATIVE_CONTEXT)) {
            goto skip;
        }
        int same = 1;
        for (int k = 1; k < g.ndigits; k++)
            same &= g.digits[k] == g.digits[0];
        if (same) goto skip;
        if (!luhn_ok(g.digits, g.ndigits) || !iin_ok(g.digits, g.ndigits)) {
            /* A number the writer calls a card is a card even with a typo in it
             * (or made up): 16 digits in four groups of four right after "card". */
            if (g.n == 4 && g.ndigits == 16 && g.size[0] == 4 && g.size[3] == 4 &&
                context_before(text, i, 24, CARD_CONTEXT))
                add(col, PII_CREDIT_CARD, i, g.end, 0.7f);
            goto skip;
        }
        add(col, PII_CREDIT_CARD, i, g.end, g.n > 1 ? 0.9f : 0.8f);
    skip:
        /* continue after this run of digits (groups are re-read from their own starts
         * only when the start boundary allows it, which it does not inside a number) */
        while (i + 1 < next && is_digit(AT(i + 1)))
            i++;
    }
}

/* -------------------------------------------------------------------- SSN */

static const char *const SSN_CONTEXT[] = {
    "ssn", "social security", "ss#", "ss #", "soc sec", "taxpayer", "tin", "itin", "social", NULL};

static int ssn_valid(const char *d)
{
    int area = prefix_num(d, 3), group = prefix_num(d + 3, 2), serial = prefix_num(d + 5, 4);
    if (area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0) return 0;
    if (!memcmp(d, "078051120", 9) || !memcmp(d, "219099999", 9)) return 0;
    int same = 1;
    for (int k = 1; k < 9; k++)
        same &= d[k] == d[0];
    return !same;
}

static void scan_ssn(const char *text, size_t len, collector *col)
{
    for (size_t i = 0; i < len && !FULL(col); i++) {
        if (!is_digit(AT(i)) || (i > 0 && is_digit((unsigned char)text[i - 1]))) continue;
        digit_groups g;
        read_groups(text, len, i, " -", &g);
        if (g.ndigits != 9 || !start_ok(text, len, i) || !end_ok(text, len, g.end)) continue;
        int ctx = context_before(text, i, 40, SSN_CONTEXT);
        float conf;
        if (g.n == 3 && g.size[0] == 3 && g.size[1] == 2 && g.size[2] == 4 && same_sep(&g)) {
            if (g.sep[1] == ' ' && !ctx) continue;
            if (g.sep[1] == '-' && !ctx && context_before(text, i, 30, NUMBER_NEGATIVE_CONTEXT))
                continue;
            conf = ctx ? 0.95f : (g.sep[1] == '-' ? 0.85f : 0.6f);
        } else if (g.n == 1 && ctx) {
            conf = 0.7f;
        } else {
            continue;
        }
        if (!ssn_valid(g.digits)) continue;
        add(col, PII_US_SSN, i, g.end, conf);
    }
}

/* ------------------------------------------------------------------- IBAN */

static int iban_length(const char *cc)
{
    static const char table[] =
        "AD24AE23AL28AT20AZ28BA20BE16BG22BH22BI27BR29BY28CH21CR22CY28CZ24DE22DJ27DK18DO28EE20"
        "EG29ES24FI18FK18FO18FR27GB22GE22GI23GL18GR27GT28HR21HU28IE22IL23IQ23IS26IT27JO30KW30"
        "KZ20LB28LC32LI21LT20LU20LV21LY25MC27MD24ME22MK19MN20MR27MT31MU30NI28NL18NO15OM23PK24"
        "PL28PS29PT25QA29RO24RS22RU33SA24SC31SD18SE24SI19SK24SM27SO23ST25SV28TL23TN24TR26UA29"
        "VA22VG24XK20YE30";
    for (const char *p = table; *p; p += 4)
        if (p[0] == cc[0] && p[1] == cc[1]) return (p[2] - '0') * 10 + (p[3] - '0');
    return 0;
}

static void scan_iban(const char *text, size_t len, collector *col)
{
    for (size_t i = 0; i + 15 <= len && !FULL(col); i++) {
        int a = AT(i), b = AT(i + 1);
        /* country code in either case ("de89 3704 ..."): mod-97 keeps this honest */
        if (!is_alpha(a) || !is_alpha(b) || !is_digit(AT(i + 2)) || !is_digit(AT(i + 3))) continue;
        if ((a >= 'a') != (b >= 'a')) continue;
        a = a >= 'a' ? a - 32 : a;
        b = b >= 'a' ? b - 32 : b;
        if (i > 0 && (is_alnum((unsigned char)text[i - 1]) || text[i - 1] == '_')) continue;
        char cc[2] = {(char)a, (char)b};
        int want = iban_length(cc);
        if (!want) continue;
        char v[40];
        int n = 0;
        size_t j = i;
        while (j < len && n < want) {
            int c = AT(j);
            if (is_alnum(c)) {
                v[n++] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
                j++;
            } else if ((c == ' ' || c == '-') && n > 0 && n % 4 == 0 && is_alnum(AT(j + 1))) {
                j++;
            } else {
                break;
            }
        }
        if (n != want || (j < len && (is_alnum(AT(j)) || AT(j) == '_'))) continue;
        /* mod 97 of BBAN + country + check digits, letters as 10..35 */
        int rem = 0;
        for (int k = 0; k < n; k++) {
            int c = v[(k + 4) % n];
            if (is_digit(c))
                rem = (rem * 10 + (c - '0')) % 97;
            else
                rem = (rem * 100 + (c - 'A' + 10)) % 97;
        }
        if (rem != 1) continue;
        add(col, PII_IBAN_CODE, i, j, 0.95f);
        i = j;
    }
}

/* ---------------------------------------------------------------- IP, MAC */

static const char *const VERSION_CONTEXT[] = {
    "version", "ver", "release", "build", "v",       "section",   "chapter", "clause",   "step",
    "figure",  "fig", "table",   "rule",  "article", "paragraph", "item",    "\xc2\xa7", NULL};

/* Parses dotted IPv4 at i; returns its end or 0. */
static size_t parse_ipv4(const char *text, size_t len, size_t i)
{
    size_t j = i;
    for (int k = 0; k < 4; k++) {
        size_t s = j;
        int v = 0;
        while (j < len && is_digit(AT(j)) && j - s < 4) {
            v = v * 10 + (AT(j) - '0');
            j++;
        }
        size_t n = j - s;
        if (n == 0 || n > 3 || v > 255 || (n > 1 && AT(s) == '0')) return 0;
        if (k < 3) {
            if (AT(j) != '.') return 0;
            j++;
        }
    }
    return j;
}

static void scan_ipv4(const char *text, size_t len, collector *col)
{
    for (size_t i = 0; i < len && !FULL(col); i++) {
        if (!is_digit(AT(i)) || (i > 0 && is_digit((unsigned char)text[i - 1]))) continue;
        if (!start_ok(text, len, i)) continue;
        size_t e = parse_ipv4(text, len, i);
        if (!e) continue;
        if (AT(e) == '/' && is_digit(AT(e + 1))) { /* CIDR suffix */
            size_t j = e + 1;
            int v = 0;
            while (is_digit(AT(j)) && j - e <= 2) {
                v = v * 10 + (AT(j) - '0');
                j++;
            }
            if (v <= 32 && !is_digit(AT(j))) e = j;
        }
        size_t tail = e; /* ":port" after the address is not part of it but allowed */
        if (AT(e) == ':' && is_digit(AT(e + 1))) {
            tail = e + 1;
            while (is_digit(AT(tail)) && tail - e <= 5)
                tail++;
        }
        int in_url = i >= 3 && !memcmp(text + i - 3, "://", 3) && AT(tail) == '/';
        if ((!in_url && !end_ok(text, len, tail)) || (AT(e) == '.' && is_digit(AT(e + 1))))
            continue;
        if (context_before(text, i, 12, VERSION_CONTEXT)) continue;
        add(col, PII_IP_ADDRESS, i, e, 0.9f);
        i = e;
    }
}

static void scan_ipv6(const char *text, size_t len, collector *col)
{
    for (size_t i = 0; i < len && !FULL(col); i++) {
        int c = AT(i);
        if (!(is_hex(c) || (c == ':' && AT(i + 1) == ':'))) continue;
        if (i > 0) {
            int p = (unsigned char)text[i - 1];
            if (is_alnum(p) || p == ':' || p == '_' || p == '.' || p == '-') continue;
        }
        size_t j = i;
        int groups = 0, dbl = 0, longest = 0, digit = 0, colons = 0;
        if (c == ':') {
            dbl = 1;
            j += 2;
            colons += 2;
        }
        for (;;) {
            size_t s = j;
            while (j < len && is_hex(AT(j)) && j - s < 5) {
                digit |= is_digit(AT(j));
                j++;
            }
            size_t n = j - s;
            if (n == 0) break;
            if (AT(j) == '.' && groups <= 6) { /* embedded IPv4 tail */
                size_t e = parse_ipv4(text, len, s);
                if (e) {
                    j = e;
                    groups += 2;
                    longest = 4;
                } else
                    j = s, groups = 99;
                break;
            }
            if (n > 4) {
                groups = 99;
                break;
            }
            groups++;
            if ((int)n > longest) longest = (int)n;
            if (AT(j) == ':' && AT(j + 1) == ':') {
                if (dbl) break;
                dbl = 1;
                j += 2;
                colons += 2;
            } else if (AT(j) == ':' && is_hex(AT(j + 1))) {
                j++;
                colons++;
            } else {
                break;
            }
        }
        if (groups == 99) goto next;
        int valid = dbl ? groups <= 7 : groups == 8;
        if (!valid || colons < 2 || !digit) goto next;
        if (dbl && groups < 2 && !(groups == 1 && longest >= 1 && j - i == 3))
            goto next; /* "::1" */
        if (dbl && groups >= 1 && longest < 2 && j - i != 3) goto next;
        if (is_alnum(AT(j)) || AT(j) == '_' || (AT(j) == ':' && is_hex(AT(j + 1)))) goto next;
        if (AT(j) == '.' && is_alnum(AT(j + 1))) goto next;
        add(col, PII_IP_ADDRESS, i, j, 0.85f);
        i = j;
        continue;
    next:
        while (i + 1 < len && (is_hex(AT(i + 1)) || AT(i + 1) == ':'))
            i++;
    }
}

static void scan_mac(const char *text, size_t len, collector *col)
{
    for (size_t i = 0; i + 14 <= len && !FULL(col); i++) {
        if (!is_hex(AT(i)) ||
            (i > 0 && (is_alnum((unsigned char)text[i - 1]) || strchr(":-._", text[i - 1]))))
            continue;
        size_t e = 0;
        int sep = AT(i + 2);
        if ((sep == ':' || sep == '-') && i + 17 <= len) {
            int ok = 1;
            for (int k = 0; k < 6 && ok; k++) {
                size_t p = i + (size_t)k * 3;
                ok = is_hex(AT(p)) && is_hex(AT(p + 1)) && (k == 5 || AT(p + 2) == sep);
            }
            if (ok) e = i + 17;
        } else if (AT(i + 4) == '.') {
            int ok = 1;
            for (int k = 0; k < 3 && ok; k++) {
                size_t p = i + (size_t)k * 5;
                ok = is_hex(AT(p)) && is_hex(AT(p + 1)) && is_hex(AT(p + 2)) && is_hex(AT(p + 3)) &&
                     (k == 2 || AT(p + 4) == '.');
            }
            if (ok) e = i + 14;
        }
        if (!e || is_alnum(AT(e)) ||
            ((AT(e) == ':' || AT(e) == '-' || AT(e) == '.') && is_hex(AT(e + 1))))
            continue;
        add(col, PII_MAC_ADDRESS, i, e, 0.9f);
        i = e;
    }
    /* 12 bare hex digits (with a letter and a digit among them) named a MAC just before */
    static const char *const mac_context[] = {"mac", "hwaddr", "ether", "bssid", NULL};
    for (size_t i = 0; i + 12 <= len && !FULL(col); i++) {
        if (!is_hex(AT(i)) || (i > 0 && (is_alnum((unsigned char)text[i - 1]) || text[i - 1] == '_')))
            continue;
        size_t e = i;
        int letters = 0, digits = 0;
        while (e < len && is_hex(AT(e)) && e - i <= 12) {
            letters += !is_digit(AT(e));
            digits += is_digit(AT(e));
            e++;
        }
        if (e - i == 12 && !is_alnum(AT(e)) && AT(e) != '_' && letters && digits &&
            context_before(text, i, 24, mac_context))
            add(col, PII_MAC_ADDRESS, i, e, 0.75f);
        i = e;
    }
}

/* ------------------------------------------------------------------ phone */

static const char *const PHONE_CONTEXT[] = {"phone",
                                            "call",
                                            "tel",
                                            "telephone",
                                            "mobile",
                                            "cell",
                                            "contact",
                                            "text me",
                                            "whatsapp",
                                            "fax",
                                            "reach me",
                                            "ring",
                                            "dial",
                                            "sms",
                                            "number",
                                            "hotline",
                                            "landline",
                                            "n\xc3\xbamero",
                                            "numero",
                                            "tel\xc3\xa9"
                                            "fono",
                                            "telefono",
                                            "telefon",
                                            "t\xc3\xa9l",
                                            "portable",
                                            "handy",
                                            "nummer",
                                            "m\xc3\xb3vil",
                                            "movil",
                                            "cellulare",
                                            NULL};

static const char *const MATH_CONTEXT[] = {"calculate",  "compute",    "evaluate", "solve",
                                           "subtract",   "minus",      "sum",      "difference",
                                           "equation",   "expression", "simplify", "math",
                                           "arithmetic", "multiply",   "divide",   NULL};

typedef struct phone_parse {
    int plus; /* '+' or "00" international prefix */
    int n, ndigits;
    int size[MAX_GROUPS];
    int paren[MAX_GROUPS]; /* group was written in parentheses */
    char sep[MAX_GROUPS];  /* main separator before the group: ' ', '-', '.', '(' or 0 */
    int first_digit[MAX_GROUPS];
    size_t end;
} phone_parse;

/* Reads a phone-shaped run at i: [+] groups of digits, separated by one of
 * space, '-', '.' (optionally padded by a space), or parentheses. */
static int read_phone(const char *text, size_t len, size_t i, phone_parse *p)
{
    memset(p, 0, sizeof *p);
    size_t j = i;
    if (AT(j) == '+') {
        p->plus = 1;
        j++;
        if (!is_digit(AT(j))) return 0;
    }
    char sep = 0;
    while (p->n < MAX_GROUPS) {
        int paren = 0;
        if (AT(j) == '(') {
            paren = 1;
            j++;
            if (!is_digit(AT(j))) return p->n > 0;
        }
        size_t s = j;
        while (j < len && is_digit(AT(j)))
            j++;
        if (j == s) return 0;
        size_t digits = j - s;
        if (paren) {
            if (AT(j) != ')') return 0;
            j++;
        }
        p->size[p->n] = (int)digits;
        p->paren[p->n] = paren;
        p->sep[p->n] = sep;
        p->first_digit[p->n] = AT(s) - '0';
        p->ndigits += (int)digits;
        p->n++;
        p->end = j;
        /* separator */
        size_t k = j;
        sep = 0;
        if (AT(k) == ' ') {
            sep = ' ';
            k++;
        }
        if (AT(k) == '-' || AT(k) == '.') {
            if (sep == ' ' && AT(k + 1) == ' ') break; /* "123 - 456": arithmetic */
            sep = (char)AT(k);
            k++;
            if (AT(k) == ' ') k++;
        }
        if (AT(k) == '(') {
            if (!sep) sep = '(';
        } else if (!is_digit(AT(k))) {
            break;
        }
        if (!sep && !paren) break; /* digits right after digits cannot happen; "(0)20" can */
        if (!sep) sep = ')';
        j = k;
    }
    return p->n > 0;
}

static int prev_nonspace(const char *text, size_t i)
{
    while (i > 0 && (text[i - 1] == ' ' || text[i - 1] == '\t'))
        i--;
    return i > 0 ? (unsigned char)text[i - 1] : 0;
}

static int math_neighbour(const char *text, size_t len, size_t start, size_t end)
{
    size_t i = start;
    while (i > 0 && (text[i - 1] == ' ' || text[i - 1] == '\t'))
        i--;
    if (i > 0) {
        /* an operator right before counts only with an operand before it: "7 * 555-..." or
         * "x = 555-..." is arithmetic, "phone=555-..." or "mail / +353 ..." is not */
        int c = (unsigned char)text[i - 1];
        if (c && strchr("=*/^<>x+-", c) &&
            !(c == 'x' && i >= 2 && is_alpha((unsigned char)text[i - 2]))) {
            size_t q = i - 1;
            while (q > 0 && text[q - 1] == ' ')
                q--;
            if (q > 0) {
                int o = (unsigned char)text[q - 1];
                if (is_digit(o) || o == ')') return 1;
                if (is_alpha(o) && (q < 2 || !is_alnum((unsigned char)text[q - 2]))) return 1;
            }
        }
    }
    size_t j = end;
    while (j < len && (AT(j) == ' ' || AT(j) == '\t'))
        j++;
    int c = AT(j);
    if (c && strchr("=*/^<>", c)) return 1;
    if ((c == '+' || c == '-' || c == 'x') &&
        (is_digit(AT(j + 1)) || (AT(j + 1) == ' ' && is_digit(AT(j + 2)))))
        return 1;
    return 0;
}

static void scan_phone(const char *text, size_t len, collector *col)
{
    for (size_t i = 0; i < len && !FULL(col); i++) {
        int c = AT(i);
        if (!(is_digit(c) || c == '+' || c == '(')) continue;
        if (c == '(' && !is_digit(AT(i + 1))) continue;
        if (c == '+' && !is_digit(AT(i + 1))) continue;
        if (is_digit(c) && i > 0 && is_digit((unsigned char)text[i - 1])) continue;
        if (!start_ok(text, len, i)) continue;
        if (c == '+' && i > 0 &&
            (text[i - 1] == '+' || is_digit(prev_nonspace(text, i)) ||
             prev_nonspace(text, i) == ')' || prev_nonspace(text, i) == '='))
            continue;
        phone_parse p;
        if (!read_phone(text, len, i, &p)) continue;
        size_t e = p.end;
        if (p.ndigits > 17 || !end_ok(text, len, e)) goto skip_all;
        /* a run of digit groups ("9400 1000 0000 ...") is one number, not a phone inside it */
        if (i >= 2 && text[i - 1] == ' ' && is_digit((unsigned char)text[i - 2])) goto skip_all;
        if (i > 0 && strchr("$€£#", text[i - 1])) goto next;
        if (math_neighbour(text, len, i, e)) goto next;
        int d = p.ndigits;
        /* "00" + country code is the international prefix outside North America */
        int intl = p.plus || (p.size[0] >= 3 && p.size[0] <= 5 && !p.paren[0] && AT(i) == '0' &&
                              AT(i + 1) == '0' && AT(i + 2) != '0');
        int all_same = 1;
        for (size_t q = i, first = 0; q < e; q++)
            if (is_digit(AT(q))) {
                if (!first)
                    first = AT(q);
                else if ((size_t)AT(q) != first)
                    all_same = 0;
            }
        if (all_same) goto next;
        if (intl && !p.plus) d -= 2;
        int ctx = context_before(text, i, 40, PHONE_CONTEXT);
        int neg = context_before(text, i, 30, NUMBER_NEGATIVE_CONTEXT) ||
                  (!ctx && context_before(text, i, 40, MATH_CONTEXT));
        int min_group = 99;
        for (int k = 1; k < p.n; k++)
            if (p.size[k] < min_group) min_group = p.size[k];
        int one_digit_groups = 0;
        for (int k = 1; k < p.n; k++)
            one_digit_groups += p.size[k] == 1 && !p.paren[k];
        float conf = 0;
        int ssn_shape = p.n == 3 && p.size[0] == 3 && p.size[1] == 2 && p.size[2] == 4;
        if (ssn_shape) goto next;
        if (intl) {
            if (!p.plus && neg) goto next;
            if (d >= 8 && d <= 15 && (p.n == 1 || p.size[0] - (p.plus ? 0 : 2) <= 4) &&
                one_digit_groups <= 1)
                conf = 0.85f;
        } else if (p.n == 3 && p.size[0] == 3 && p.size[1] == 3 && p.size[2] == 4 &&
                   p.sep[1] != '/' && (p.paren[0] || p.sep[2] == p.sep[1] || p.sep[1] == ' ')) {
            conf = p.paren[0] ? 0.85f : (p.sep[1] == '.' ? 0.65f : 0.75f); /* NANP */
            if (neg && !ctx) conf = 0;

        } else if (p.n == 4 && p.size[0] == 1 && p.first_digit[0] == 1 && p.size[1] == 3 &&
                   p.size[2] == 3 && p.size[3] == 4) {
            conf = 0.8f; /* 1-800-555-0199 */
            if (neg && !ctx) conf = 0;
        } else if (p.n >= 2 && p.first_digit[0] == 0 && p.size[0] >= 2 && p.size[0] <= 5 &&
                   d >= 9 && d <= 11 && min_group >= 2 && !neg) {
            conf = ctx ? 0.75f : 0.6f; /* national format with trunk prefix 0 */
        } else if (p.n == 1 && !p.paren[0] && ctx && !neg &&
                   (d == 10 || (d == 11 && p.first_digit[0] == 1))) {
            conf = 0.65f; /* bare digits after "call me at" */
        } else if (p.n >= 2 && ctx && !neg && d >= 7 && d <= 12 && min_group >= 2 &&
                   !(p.n == 3 && (p.size[0] == 4 || p.size[2] == 4) && d == 8)) {
            conf = 0.55f; /* other grouped local numbers, only with phone context */
        }
        if (conf > 0) {
            if (ctx && conf < 0.9f) conf += 0.1f;
            add(col, PII_PHONE_NUMBER, i, e, conf);
            i = e - 1;
            continue;
        }
    next:
        while (i + 1 < len && is_digit(AT(i + 1)))
            i++;
        continue;
    skip_all:
        if (e > i + 1) i = e - 1;
    }
}

/* ------------------------------------------ words: names, dates, places, hosts */

/* Word = letters (ASCII, or any UTF-8 byte >= 0x80: "Müller", "Lindenstraße"),
 * with an apostrophe or hyphen inside when a letter follows ("O'Brien"). */
static int is_wchar(int c)
{
    return is_alpha(c) || c >= 0x80;
}

static size_t word_end(const char *text, size_t len, size_t i)
{
    size_t j = i;
    while (j < len) {
        int c = AT(j);
        if (is_wchar(c)) {
            j++;
        } else if ((c == '\'' || c == '-') && j > i && is_alpha(AT(j + 1))) {
            j++;
        } else {
            break;
        }
    }
    return j;
}

static int word_starts(const char *text, size_t i)
{
    if (i == 0) return 1;
    int p = (unsigned char)text[i - 1];
    /* an apostrophe continues a word ("it's"); after a space it opens a quote ('John') */
    if (p == '\'') return !(i >= 2 && (is_wchar((unsigned char)text[i - 2]) || is_digit((unsigned char)text[i - 2])));
    return !(is_wchar(p) || is_digit(p) || p == '_' || p == '-');
}

/* Blanks and opening quotes/brackets between a cue and what it introduces ("my name
 * is 'Ana Lima'", "born (March 3, 1990)") are skipped back over. */
static int cue_gap(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '"' || c == '\'' || c == '(' ||
           c == '[';
}

/* Case-insensitive membership of text[s..e) in a NULL-terminated list. */
static int word_in_list(const char *text, size_t s, size_t e, const char *const *list)
{
    size_t n = e - s;
    for (const char *const *w = list; *w; w++)
        if (strlen(*w) == n && strncasecmp(text + s, *w, n) == 0) return 1;
    return 0;
}

/* "Capitalised": an uppercase ASCII letter, then a lowercase letter somewhere
 * (so "NASA" and "I" are not names), at least two letters. */
static int capitalised(const char *text, size_t s, size_t e)
{
    if (e - s < 2 || !(AT_(text, s) >= 'A' && AT_(text, s) <= 'Z')) return 0;
    for (size_t k = s + 1; k < e; k++)
        if ((text[k] >= 'a' && text[k] <= 'z') || (unsigned char)text[k] >= 0x80) return 1;
    return 0;
}

static int all_lower(const char *text, size_t s, size_t e)
{
    for (size_t k = s; k < e; k++)
        if (text[k] >= 'A' && text[k] <= 'Z') return 0;
    return e > s;
}

/* Skips spaces/tabs (and one newline when nl) from i; returns the new position. */
static size_t skip_blank(const char *text, size_t len, size_t i, int nl)
{
    while (i < len && (AT(i) == ' ' || AT(i) == '\t' || (nl && (AT(i) == '\n' || AT(i) == '\r'))))
        i++;
    return i;
}

/* Given names common across languages, lowercase and sorted (bsearch). Words
 * that are also ordinary English words or places (Will, Mark, May, Grace,
 * Jordan, Florence, ...) are left out: those need a cue ("my name is"). */
static const char *const GIVEN_NAMES[] = {
    "aaron",    "abdul",    "abigail",   "abraham",   "adam",      "adrian",    "ahmed",
    "aisha",    "akira",    "alan",      "albert",    "alejandro", "aleksandr", "alex",
    "alexander", "alexandra", "alice",   "alicia",    "alison",    "amanda",    "amelia",
    "amir",     "amy",      "ana",       "anastasia", "andrea",    "andreas",   "andrew",
    "angela",   "anil",     "anita",     "ann",       "anna",      "anne",      "anthony",
    "antonio",  "anya",     "arjun",     "arthur",    "ashley",    "barbara",   "benjamin",
    "bernard",  "beth",     "brian",     "bruce",     "camila",    "carl",      "carlos",
    "carmen",   "caroline", "catherine", "charles",   "charlotte", "chen",      "chloe",
    "chris",    "christian", "christina", "christine", "christopher", "claire", "claudia",
    "daniel",   "david",    "deepak",    "diana",     "diego",     "dmitri",    "dmitry",
    "donald",   "dorothy",  "edward",    "elena",     "elizabeth", "ella",      "emily",
    "emma",     "eric",     "erik",      "ethan",     "eva",       "fatima",    "felix",
    "fernando", "fiona",    "francesca", "francesco", "francisco", "frida",     "gabriel",
    "gary",     "george",   "gerald",    "giulia",    "giuseppe",  "gloria",    "greg",
    "gregory",  "hana",     "hannah",    "hans",      "harold",    "harry",     "hassan",
    "helen",    "henry",    "hiroshi",   "hugo",      "ibrahim",   "igor",      "ingrid",
    "isaac",    "isabel",   "isabella",  "ivan",      "jacob",     "james",     "jane",
    "janet",    "jason",    "javier",    "jean",      "jennifer",  "jessica",   "joan",
    "joao",     "john",     "jonathan",  "jorge",     "jose",      "joseph",    "joshua",
    "juan",     "julia",    "julian",    "julie",     "karen",     "karl",      "katarzyna",
    "kate",     "katherine", "kenji",    "kevin",     "khalid",    "kim",       "klaus",
    "laura",    "lauren",   "lena",      "leo",       "leon",      "li",        "linda",
    "lisa",     "liu",      "lucas",     "lucia",     "luis",      "luka",      "maria",
    "mariana",  "marie",    "marina",    "mario",     "martin",    "mary",      "matthew",
    "mei",      "melissa",  "michael",   "michelle",  "miguel",    "mohamed",   "mohammed",
    "muhammad", "nadia",    "nancy",     "natalia",   "natasha",   "nathan",    "nicholas",
    "nicole",   "nikolai",  "nina",      "noah",      "olga",      "olivia",    "omar",
    "oscar",    "pablo",    "patricia",  "patrick",   "paul",      "paula",     "pedro",
    "peter",    "philip",   "pierre",    "pooja",     "priya",     "rachel",    "rahul",
    "raj",      "rajesh",   "ravi",      "rebecca",   "richard",   "robert",    "roberto",
    "ryan",     "samuel",   "sandra",    "sara",      "sarah",     "sean",      "sergei",
    "sergey",   "sofia",    "sophia",    "sophie",    "stefan",    "stephanie", "stephen",
    "steven",   "susan",    "takeshi",   "tanya",     "thomas",    "timothy",   "tom",
    "valentina", "vanessa", "victor",    "vijay",     "vikram",    "vincent",   "wang",
    "wei",      "william",  "xavier",    "yan",       "yuki",      "yusuf",     "zhang",
    "zoe"};
#define N_GIVEN ((int)(sizeof GIVEN_NAMES / sizeof GIVEN_NAMES[0]))

static int given_name(const char *text, size_t s, size_t e)
{
    size_t n = e - s;
    int lo = 0, hi = N_GIVEN - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        const char *g = GIVEN_NAMES[mid];
        size_t gl = strlen(g);
        int c = strncasecmp(text + s, g, n < gl ? n : gl);
        if (c == 0) c = n < gl ? -1 : n > gl ? 1 : 0;
        if (c == 0) return 1;
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return 0;
}

/* Capitalised words that do not continue a name. */
static const char *const NOT_NAME[] = {
    "the",     "and",      "or",       "of",       "in",      "on",      "at",       "to",
    "for",     "from",     "with",     "is",       "was",     "are",     "has",      "have",
    "had",     "will",     "would",    "can",      "could",   "should",  "did",      "does",
    "street",  "st",       "avenue",   "road",     "lane",    "drive",   "university",
    "college", "school",   "inc",      "ltd",      "llc",     "corp",    "company",  "group",
    "january", "february", "march",    "april",    "may",     "june",    "july",     "august",
    "september", "october", "november", "december", "monday", "tuesday", "wednesday",
    "thursday", "friday",  "saturday", "sunday",   "sales",   "director", "manager", "team",
    "hi",      "hello",    "dear",     "thanks",   "please",  "but",     "so",       "if",
    "when",    "what",     "who",      "why",      "how",     "this",    "that",     "my",
    "your",    "his",      "her",      "our",      "their",   "it",      "i",        "we",
    "you",     "he",       "she",      "they",     "am",      "not",     "also",     "just",
    NULL};

static const char *const HONORIFICS[] = {"mr",   "mrs",  "ms",   "miss", "mx",   "dr",  "prof",
                                         "sir",  "dame", "herr", "frau", "mme",  "mlle", "sr",
                                         "sra",  "srta", "madam", "mister", "doctor", "professor",
                                         NULL};

/* A few bytes before a name or a date that make it personal. */
static const char *const PERSON_CUE[] = {
    "contact", "patient",  "customer", "client",   "tell",     "ask",      "email",   "e-mail",
    "call",    "cc",       "coworker", "co-worker", "colleague", "manager", "boss",   "friend",
    "wife",    "husband",  "son",      "daughter", "mom",      "mum",      "dad",     "mother",
    "father",  "brother",  "sister",   "neighbor", "neighbour", "landlord", "tenant", "employee",
    "candidate", "applicant", "student", "teacher", "partner", "fiance",  "fiancee", "name",
    "signed",  "from:",    "to:",      "attn",     "dear",     "hi",       "hello",   "hey",
    "thanks",  "regards",  "sincerely", "cheers",  "user",     "member",   "guest",   "passenger",
    NULL};

/* Cue phrases after which the next 1-3 words are a name in any case
 * ("my name is daniel kowalski"). */
static const char *const NAME_INTRO[] = {"my name is", "my name's", "name:", "full name",
                                         "name is", "je m'appelle", "me llamo", "ich hei\xc3\x9f" "e",
                                         "mi chiamo", "mein name ist", "mi nombre es", NULL};
/* After these a name from the list (any case) or a capitalised word is one
 * ("call me maybe" is not a name). */
static const char *const NAME_INTRO_GIVEN[] = {"i am", "i'm", "im", "this is", "it's", "its",
                                               "regards,", "sincerely,", "cheers,", "thanks,",
                                               "best,", "call me", "named", "i go by", "signed,",
                                               "gru\xc3\x9f,", "gr\xc3\xbc\xc3\x9f" "e,", "saludos,",
                                               "cordialement,", "welcome", NULL};

/* Does text[..at) end with one of phrases (case-insensitive, word boundary before)? */
static int ends_with_phrase(const char *text, size_t at, const char *const *phrases)
{
    size_t blank = at;
    while (at > 0 && cue_gap((unsigned char)text[at - 1]))
        at--;
    /* the apostrophe of a phrase ("it's") is not an opening quote */
    if (at < blank && text[at] == '\'' && at > 0 && is_alpha((unsigned char)text[at - 1]) &&
        at + 1 < blank && is_alpha((unsigned char)text[at + 1]))
        at = blank;
    for (const char *const *p = phrases; *p; p++) {
        size_t n = strlen(*p);
        if (n > at || strncasecmp(text + at - n, *p, n) != 0) continue;
        if (at - n > 0 && is_alpha((unsigned char)text[at - n - 1])) continue;
        return 1;
    }
    return 0;
}

/* Up to `max` name words from i: capitalised (or lowercase when any_case), not
 * in NOT_NAME; single capital initials with a dot in between ("John F. Kennedy").
 * Returns the end of the last word, or i when none. */
static size_t name_words(const char *text, size_t len, size_t i, int max, int any_case)
{
    size_t end = i, p = i;
    int capitals = 0; /* "my name is John Smith thanks": once capitalised, the name stays so */
    for (int k = 0; k < max && p < len; k++) {
        if (k > 0) {
            size_t q = skip_blank(text, len, p, 0);
            if (q == p) break;
            p = q;
        }
        if (AT(p) >= 'A' && AT(p) <= 'Z' && AT(p + 1) == '.' && AT(p + 2) == ' ' && k > 0) {
            p += 2; /* middle initial */
            k--;
            continue;
        }
        if (!word_starts(text, p)) break;
        size_t e = word_end(text, len, p);
        if (e == p || word_in_list(text, p, e, NOT_NAME)) break;
        if (!(capitalised(text, p, e) || (any_case && !capitals && all_lower(text, p, e) && e - p >= 2)))
            break;
        capitals |= capitalised(text, p, e);
        end = p = e;
    }
    return end;
}

/* Does the word before `at` end one of the cue phrases (NAME_INTRO, NAME_INTRO_GIVEN)?
 * A quick test on its last word only; the callers then check the whole phrase. */
static int after_intro_word(const char *text, size_t at)
{
    static const char *const tails[] = {"is", "name's", "name:", "name", "appelle", "llamo",
                                        "chiamo", "ist", "es", "am", "i'm", "im", "this",
                                        "it's", "its", "me", "named", "by", "signed,", NULL};
    size_t e = at;
    while (e > 0 && cue_gap((unsigned char)text[e - 1]) && text[e - 1] != '\'')
        e--;
    if (e > 0 && text[e - 1] == '\'' && (e < 2 || !is_alpha((unsigned char)text[e - 2]) ||
                                         text[e - 2] == ' '))
        e--; /* an opening quote, not the apostrophe of "it's" */
    while (e > 0 && cue_gap((unsigned char)text[e - 1]) && text[e - 1] != '\'')
        e--;
    size_t s = e;
    while (s > 0 && e - s < 10 && (is_wchar((unsigned char)text[s - 1]) || text[s - 1] == '\'' ||
                                   text[s - 1] == ':' || text[s - 1] == ','))
        s--;
    if (s == e) return 0;
    if (text[e - 1] == ',') return 1; /* "Regards," / "Best," ... */
    return word_in_list(text, s, e, tails) || (e - s > 2 && !strncasecmp(text + e - 3, "\xc3\x9f" "e", 3));
}

static void scan_person(const char *text, size_t len, collector *col)
{
    for (size_t i = 0; i < len && !FULL(col);) {
        if (!is_wchar(AT(i)) || !word_starts(text, i)) {
            i++;
            continue;
        }
        size_t e = word_end(text, len, i);
        /* honorific + capitalised name */
        if (word_in_list(text, i, e, HONORIFICS) && (AT(i) >= 'A' && AT(i) <= 'Z')) {
            size_t p = e + (AT(e) == '.');
            size_t q = skip_blank(text, len, p, 0);
            if (q > p) {
                size_t ne = name_words(text, len, q, 3, 0);
                if (ne > q) {
                    add(col, PII_PERSON, q, ne, 0.85f);
                    i = ne;
                    continue;
                }
            }
        }
        /* most words are lowercase and follow no cue: two cheap tests first */
        int cap = AT(i) >= 'A' && AT(i) <= 'Z';
        if (!cap && !after_intro_word(text, i)) {
            i = e > i ? e : i + 1;
            continue;
        }
        int intro = ends_with_phrase(text, i, NAME_INTRO);
        int intro_given = !intro && ends_with_phrase(text, i, NAME_INTRO_GIVEN);
        int given = given_name(text, i, e);
        if (intro || (intro_given && (given || capitalised(text, i, e)))) {
            size_t ne = name_words(text, len, i, 3, intro || given);
            if (ne > i && (intro || given || capitalised(text, i, e))) {
                add(col, PII_PERSON, i, ne, 0.9f);
                i = ne;
                continue;
            }
        }
        if (given && capitalised(text, i, e)) {
            size_t q = skip_blank(text, len, e, 0);
            size_t ne = q > e ? name_words(text, len, q, 2, 0) : q;
            if (q > e && AT(q) >= 'A' && AT(q) <= 'Z' && AT(q + 1) == '.' && AT(q + 2) == ' ')
                ne = name_words(text, len, q + 3, 1, 0); /* "John F. Kennedy" */
            if (ne > q) {
                int cue = context_before(text, i, 24, PERSON_CUE);
                add(col, PII_PERSON, i, ne, cue ? 0.85f : 0.65f);
                i = ne;
                continue;
            }
        }
        i = e > i ? e : i + 1;
    }
}

/* ------------------------------------------------------------ dates, times */

static const char *const MONTHS[] = {"january", "february", "march",    "april",   "may",
                                     "june",    "july",     "august",   "september", "october",
                                     "november", "december", "jan",     "feb",     "mar",
                                     "apr",     "jun",      "jul",      "aug",     "sep",
                                     "sept",    "oct",      "nov",      "dec",     NULL};

static const char *const DATE_CUE[] = {
    "born",      "birth",     "birthday", "dob",      "d.o.b",    "appointment", "scheduled",
    "meeting",   "expires",   "expiry",   "expiration", "deadline", "due",       "flight",
    "arrive",    "arrival",   "arriving", "departure", "depart",  "check-in",    "reservation",
    "booked",    "booking",   "moved",    "visit",    "interview", "surgery",    "admitted",
    "discharged", "hired",    "married",  "wedding",  "turns",    "until",
    "since",     "termin",    "rendez-vous", "cita",  NULL};

/* Reads 1-4 digits at i; returns the count (0 = none) and the value. */
static int read_num(const char *text, size_t len, size_t i, int *v)
{
    int n = 0;
    *v = 0;
    while (n < 5 && is_digit(AT(i + (size_t)n))) {
        *v = *v * 10 + (AT(i + (size_t)n) - '0');
        n++;
    }
    return n;
}

/* Ordinal suffix after a day number: "st", "nd", "rd", "th". */
static size_t ordinal_end(const char *text, size_t len, size_t i)
{
    if ((lower(AT(i)) == 's' && lower(AT(i + 1)) == 't') ||
        (lower(AT(i)) == 'n' && lower(AT(i + 1)) == 'd') ||
        (lower(AT(i)) == 'r' && lower(AT(i + 1)) == 'd') ||
        (lower(AT(i)) == 't' && lower(AT(i + 1)) == 'h'))
        if (!is_alpha(AT(i + 2))) return i + 2;
    return i;
}

/* A clock time at i: "9am", "6:45 pm", "14:30", "14:30:05"; returns its end or 0.
 * *strong is set when am/pm (or a second field) makes it unambiguous. */
static size_t read_time(const char *text, size_t len, size_t i, int *strong)
{
    int h, m, nh = read_num(text, len, i, &h);
    *strong = 0;
    if (nh < 1 || nh > 2 || h > 23) return 0;
    size_t j = i + (size_t)nh;
    int minutes = 0;
    if (AT(j) == ':' && is_digit(AT(j + 1)) && read_num(text, len, j + 1, &m) == 2 && m < 60) {
        j += 3;
        minutes = 1;
        if (AT(j) == ':' && read_num(text, len, j + 1, &m) == 2 && m < 60) j += 3, *strong = 1;
    }
    size_t k = skip_blank(text, len, j, 0);
    if ((lower(AT(k)) == 'a' || lower(AT(k)) == 'p') && h >= 1 && h <= 12) {
        if (lower(AT(k + 1)) == 'm' && !is_alpha(AT(k + 2))) return *strong = 1, k + 2;
        if (AT(k + 1) == '.' && lower(AT(k + 2)) == 'm' && AT(k + 3) == '.') return *strong = 1, k + 4;
    }
    if (!minutes || is_digit(AT(j)) || (AT(j) == '.' && is_digit(AT(j + 1)))) return 0;
    if (nh != 2 && !*strong) return 0; /* "3:16" is a verse, "03:16" a time */
    return j;
}

static void scan_dates(const char *text, size_t len, collector *col)
{
    static const char *const time_cue[] = {"at", "@", "by", "from", "until", "till", "before",
                                           "after", "around", "about", NULL};
    for (size_t i = 0; i < len && !FULL(col);) {
        int c = AT(i);
        if (is_digit(c) && start_ok(text, len, i) && !(i > 0 && strchr("$€£#", text[i - 1]))) {
            int a, b, y;
            int na = read_num(text, len, i, &a);
            size_t j = i + (size_t)na;
            int sep = AT(j);
            size_t end = 0;
            if ((sep == '-' || sep == '/' || sep == '.') && is_digit(AT(j + 1))) {
                int nb = read_num(text, len, j + 1, &b);
                size_t k = j + 1 + (size_t)nb;
                if (nb >= 1 && nb <= 2 && AT(k) == sep && is_digit(AT(k + 1))) {
                    int ny = read_num(text, len, k + 1, &y);
                    size_t e = k + 1 + (size_t)ny;
                    int ok = 0;
                    if (na == 4 && a >= 1900 && a <= 2099 && b >= 1 && b <= 12 && ny <= 2) {
                        int d = y;
                        ok = ny >= 1 && d >= 1 && d <= 31;
                    } else if (na <= 2 && (ny == 4 || (ny == 2 && sep != '.'))) {
                        int yok = ny == 2 || (y >= 1900 && y <= 2099);
                        int md = a >= 1 && a <= 12 && b >= 1 && b <= 31;
                        int dm = b >= 1 && b <= 12 && a >= 1 && a <= 31;
                        ok = yok && (md || dm);
                    }
                    int iso_t = na == 4 && AT(e) == 'T' && is_digit(AT(e + 1));
                    if (ok && (end_ok(text, len, e) || iso_t) &&
                        !(sep == '.' && context_before(text, i, 24, VERSION_CONTEXT)))
                        end = e;
                }
            }
            if (end) {
                /* "2025-03-07T14:30" / "2025-03-07 14:30" keep the time with the date */
                int strong;
                size_t t = (AT(end) == 'T' || AT(end) == ' ') ? read_time(text, len, end + 1, &strong) : 0;
                if (t) end = t;
                int cue = context_before(text, i, 32, DATE_CUE);
                add(col, PII_DATE_TIME, i, end, cue ? 0.85f : 0.6f);
                i = end;
                continue;
            }
            /* day before a month name: "12 October", "3rd of March 1990" */
            size_t o = ordinal_end(text, len, j);
            size_t q = skip_blank(text, len, o, 0);
            if (q + 3 < len && lower(AT(q)) == 'o' && lower(AT(q + 1)) == 'f' && AT(q + 2) == ' ')
                q = skip_blank(text, len, q + 2, 0);
            size_t me = word_end(text, len, q);
            if (na <= 2 && a >= 1 && a <= 31 && q > o && me > q && AT(q) >= 'A' && AT(q) <= 'Z' &&
                word_in_list(text, q, me, MONTHS)) {
                size_t e = me + (AT(me) == '.');
                size_t r = skip_blank(text, len, e + (AT(e) == ','), 0);
                int yy;
                if (r > e && read_num(text, len, r, &yy) == 4 && yy >= 1000 && !is_digit(AT(r + 4)))
                    e = r + 4;
                int cue = context_before(text, i, 32, DATE_CUE);
                add(col, PII_DATE_TIME, i, e, cue ? 0.85f : 0.6f);
                i = e;
                continue;
            }
            int strong;
            size_t t = read_time(text, len, i, &strong);
            if (t && end_ok(text, len, t)) {
                int cue = strong || ends_with_phrase(text, i, time_cue);
                add(col, PII_DATE_TIME, i, t,
                    context_before(text, i, 32, DATE_CUE) ? 0.85f : cue ? 0.6f : 0.5f);
                i = t;
                continue;
            }
            i = j > i ? j : i + 1;
            continue;
        }
        if (AT(i) >= 'A' && AT(i) <= 'Z' && word_starts(text, i)) {
            size_t e = word_end(text, len, i);
            if (word_in_list(text, i, e, MONTHS)) {
                size_t p = e + (AT(e) == '.');
                size_t q = skip_blank(text, len, p, 0);
                int d, y;
                int nd = q > p || p > e ? read_num(text, len, q, &d) : 0;
                if (nd >= 1 && nd <= 2 && d >= 1 && d <= 31) {
                    size_t de = ordinal_end(text, len, q + (size_t)nd);
                    if (!is_digit(AT(de)) && !(AT(de) == ':' && is_digit(AT(de + 1)))) {
                        size_t end = de;
                        size_t r = AT(de) == ',' ? de + 1 : de;
                        size_t r2 = skip_blank(text, len, r, 0);
                        if (r2 > r && read_num(text, len, r2, &y) == 4 && !is_digit(AT(r2 + 4)))
                            end = r2 + 4;
                        int cue = context_before(text, i, 32, DATE_CUE);
                        add(col, PII_DATE_TIME, i, end, cue ? 0.85f : 0.6f);
                        i = end;
                        continue;
                    }
                } else if (nd == 4 && d >= 1000 && !is_digit(AT(q + 4)) &&
                           !word_in_list(text, i, e, (const char *const[]){"may", "mar", NULL})) {
                    add(col, PII_DATE_TIME, i, q + 4, 0.5f); /* "October 2023" */
                    i = q + 4;
                    continue;
                }
            }
            i = e;
            continue;
        }
        i++;
    }
}

/* ------------------------------------------------------------- hosts, URLs */

/* TLDs accepted for a bare host name. Two-letter ones that are also file
 * extensions or attribute names in code (.py .js .sh .md .rs .to .in .it .is
 * .me .at .so .cc .ts .ml .pl) are left out: "os.path" and "model.to" stay text. */
static const char *const TLDS[] = {
    "com", "org",  "net",    "edu",  "gov",   "mil",  "int",  "io",     "co",   "ai",
    "app", "dev",  "info",   "biz",  "us",    "uk",   "de",   "fr",     "es",   "nl",
    "ru",  "cn",   "jp",     "br",   "au",    "ca",   "ch",   "se",     "eu",   "tv",
    "xyz", "online", "site", "tech", "cloud", "be",   "dk",   "fi",     "no",   "nz",
    "ie",  "kr",   "mx",     "ar",   "za",    "pt",   "gr",   "cz",     "hu",   "ro",
    "tr",  "ua",   "il",     "sg",   "hk",    "tw",   "vn",   "th",     "my",   "ph",
    "id",  "pk",   "ng",     "ke",   "eg",    "sa",   "ae",   "shop",   "store", "blog",
    "news", "page", "me",    NULL};

static int host_char(int c)
{
    return is_alnum(c) || c == '-';
}

/* Host labels at i ("a.b.c"); returns the end, sets *labels and the last label's start. */
static size_t read_host(const char *text, size_t len, size_t i, int *labels, size_t *last)
{
    size_t j = i;
    *labels = 0;
    *last = i;
    while (j < len && host_char(AT(j))) {
        size_t s = j;
        while (j < len && host_char(AT(j)) && j - s < 64)
            j++;
        if (j - s >= 64) return 0;
        (*labels)++;
        *last = s;
        if (AT(j) == '.' && host_char(AT(j + 1)))
            j++;
        else
            break;
    }
    return j;
}

/* Path, query and fragment of a URL up to a blank or a quote; trailing
 * sentence punctuation stays outside. */
static size_t url_tail(const char *text, size_t len, size_t j)
{
    if (AT(j) == ':' && is_digit(AT(j + 1))) {
        j++;
        while (is_digit(AT(j)))
            j++;
    }
    if (AT(j) == '/' || AT(j) == '?' || AT(j) == '#')
        while (j < len && AT(j) > ' ' && !strchr("\"'<>`", AT(j)))
            j++;
    while (j > 0 && strchr(".,;:!?)]}", text[j - 1]))
        j--;
    return j;
}

static void scan_domains(const char *text, size_t len, collector *col)
{
    for (size_t i = 0; i < len && !FULL(col);) {
        int c = AT(i);
        if (!is_alnum(c) || (i > 0 && (host_char((unsigned char)text[i - 1]) ||
                                       strchr("._@/\\", text[i - 1])))) {
            i++;
            continue;
        }
        size_t h = i;
        float conf = 0.75f;
        int scheme = 0;
        static const char *const schemes[] = {"https://", "http://", "ftp://", "wss://", "ws://", NULL};
        for (const char *const *s = schemes; *s; s++) {
            size_t n = strlen(*s);
            if (i + n < len && strncasecmp(text + i, *s, n) == 0) {
                h = i + n, scheme = 1, conf = 0.85f;
                break;
            }
        }
        if (!scheme && i + 4 < len && strncasecmp(text + i, "www.", 4) == 0) conf = 0.8f, scheme = 1;
        int labels;
        size_t last;
        size_t e = read_host(text, len, h, &labels, &last);
        if (!e) {
            i = h + 1;
            while (i < len && host_char(AT(i)))
                i++;
            continue;
        }
        int letter = 0;
        for (size_t k = h; k < e && !letter; k++)
            letter = is_alpha(AT(k));
        int tld_ok = labels >= 2 && word_in_list(text, last, e, TLDS) && all_lower(text, last, e);
        if ((scheme && letter && (labels >= 2 || h > i)) || (tld_ok && AT(e) != '@' && AT(e) != '(' &&
                                                            AT(e) != '_' && !is_wchar(AT(e)))) {
            size_t end = url_tail(text, len, e);
            if (end < e) end = e;
            add(col, PII_DOMAIN_NAME, i, end, conf);
            i = end;
            continue;
        }
        i = e > i ? e : i + 1;
    }
}

/* -------------------------------------------------------- street addresses */

static const char *const STREET_SUFFIX[] = {
    "street", "st",     "avenue", "ave",    "road",    "rd",     "boulevard", "blvd",  "lane",
    "ln",     "drive",  "dr",     "court",  "ct",      "way",    "place",     "pl",    "terrace",
    "ter",    "parkway", "pkwy",  "highway", "hwy",    "circle", "cir",       "square", "sq",
    "crescent", "close", "grove", "gardens", "row",    "trail",  "alley",     "plaza", "loop",
    "mews",   "broadway", NULL};
static const char *const DIRECTIONS[] = {"n",    "s",    "e",     "w",    "ne",   "nw", "se", "sw",
                                         "north", "south", "east", "west", NULL};
static const char *const UNIT_WORDS[] = {"apt", "apartment", "suite", "ste", "unit", "floor",
                                         "fl",  "room",      "flat",  NULL};
/* Word endings of streets named before their number ("Lindenstraße 42"). */
static const char *const STREET_ENDINGS[] = {"stra\xc3\x9f" "e", "strasse", "str.", "weg", "gasse",
                                             "platz", "allee", "damm", "laan", "straat", "gatan",
                                             "vej", "veien", NULL};
/* Words that start a street name before its number ("Calle Mayor 5", "Via Roma 12"). */
static const char *const STREET_PREFIX[] = {"rue", "via", "calle", "avenida", "rua", "viale",
                                            "piazza", "carrer", "ulica", "ul.", "avinguda", NULL};

static int ends_with_ci(const char *text, size_t s, size_t e, const char *suffix)
{
    size_t n = strlen(suffix);
    return e - s > n + 2 && strncasecmp(text + e - n, suffix, n) == 0;
}

/* House number at i ("742", "221B", "12-14"); returns its end or 0. */
static size_t house_number(const char *text, size_t len, size_t i)
{
    int v, n = read_num(text, len, i, &v);
    if (n < 1 || n > 5 || v == 0) return 0;
    size_t j = i + (size_t)n;
    if (AT(j) == '-' && is_digit(AT(j + 1))) {
        int n2 = read_num(text, len, j + 1, &v);
        if (n2 > 5) return 0;
        j += 1 + (size_t)n2;
    }
    if (is_alpha(AT(j)) && !is_alpha(AT(j + 1))) j++;
    return is_alnum(AT(j)) ? 0 : j;
}

static void scan_addresses(const char *text, size_t len, collector *col)
{
    for (size_t i = 0; i < len && !FULL(col);) {
        int c = AT(i);
        if (is_digit(c) && start_ok(text, len, i) && !(i > 0 && strchr("$€£#", text[i - 1]))) {
            size_t hn = house_number(text, len, i);
            size_t p = hn ? skip_blank(text, len, hn, 0) : 0;
            size_t end = 0;
            if (hn && p > hn) {
                int words = 0;
                for (int k = 0; k < 6 && p < len; k++) {
                    size_t e;
                    if (is_digit(AT(p))) { /* "3rd", "42nd" */
                        int v, n = read_num(text, len, p, &v);
                        e = ordinal_end(text, len, p + (size_t)n);
                        if (e == p + (size_t)n) break;
                    } else {
                        e = word_end(text, len, p);
                        if (e == p || !(AT(p) >= 'A' && AT(p) <= 'Z')) break;
                    }
                    if (words > 0 && word_in_list(text, p, e, STREET_SUFFIX) && !is_digit(AT(p))) {
                        end = e + (AT(e) == '.');
                        size_t q = skip_blank(text, len, e + (AT(e) == '.'), 0);
                        size_t de = word_end(text, len, q);
                        if (q > e && word_in_list(text, q, de, DIRECTIONS) && AT(q) >= 'A' &&
                            AT(q) <= 'Z' && !is_alpha(AT(de)))
                            end = de;
                        break;
                    }
                    if (!(words == 0 && word_in_list(text, p, e, DIRECTIONS)) &&
                        word_in_list(text, p, e, NOT_NAME) && !word_in_list(text, p, e, STREET_SUFFIX))
                        break;
                    words++;
                    size_t q = e + (AT(e) == '.' && e - p <= 2);
                    size_t r = skip_blank(text, len, q, 0);
                    if (r == q) break;
                    p = r;
                }
            }
            if (end) {
                /* ", Apt 5B" / " Suite 400" stay with the street */
                size_t q = skip_blank(text, len, end + (AT(end) == ','), 0);
                size_t ue = word_end(text, len, q);
                if ((word_in_list(text, q, ue, UNIT_WORDS) || AT(q) == '#') && ue >= q) {
                    size_t r = skip_blank(text, len, AT(q) == '#' ? q + 1 : ue + (AT(ue) == '.'), 0);
                    size_t ve = r;
                    while (ve < len && is_alnum(AT(ve)) && ve - r < 8)
                        ve++;
                    if (ve > r && !is_alnum(AT(ve))) end = ve;
                }
                add(col, PII_STREET_ADDRESS, i, end, 0.85f);
                i = end;
                continue;
            }
            while (i < len && is_digit(AT(i)))
                i++;
            continue;
        }
        if (is_wchar(c) && word_starts(text, i)) {
            size_t e = word_end(text, len, i);
            if (AT(e) == '.' && e > i) e++; /* "Hauptstr." */
            int named_first = 0;
            size_t numpos = 0;
            if (AT(i) >= 'A' && AT(i) <= 'Z') {
                for (const char *const *s = STREET_ENDINGS; *s && !named_first; s++)
                    named_first = ends_with_ci(text, i, e, *s);
                if (named_first) numpos = skip_blank(text, len, e, 0);
                if (!named_first && word_in_list(text, i, e, STREET_PREFIX)) {
                    /* up to four words (particles like "de", "del", "di" allowed), then a number */
                    size_t p = skip_blank(text, len, e, 0);
                    for (int k = 0; k < 4 && p > e && p < len && !is_digit(AT(p)); k++) {
                        size_t we = word_end(text, len, p);
                        if (we == p) break;
                        size_t q = we + (AT(we) == ',');
                        p = skip_blank(text, len, q, 0);
                        if (p == q) break;
                        e = we;
                    }
                    if (is_digit(AT(p)) && e > i) named_first = 1, numpos = p;
                }
            }
            if (named_first && numpos > e - (AT(e - 1) == '.' ? 1 : 0) && is_digit(AT(numpos))) {
                int v, n = read_num(text, len, numpos, &v);
                size_t ne = numpos + (size_t)n;
                if (is_alpha(AT(ne)) && !is_alpha(AT(ne + 1))) ne++;
                if (n >= 1 && n <= 4 && v > 0 && !is_alnum(AT(ne)) &&
                    !(AT(ne) == '.' && is_digit(AT(ne + 1)))) {
                    add(col, PII_STREET_ADDRESS, i, ne, 0.8f);
                    i = ne;
                    continue;
                }
            }
            /* P.O. Box 4471 / PO Box 12 */
            if ((lower(c) == 'p') && i + 6 < len) {
                size_t q = i;
                if (strncasecmp(text + q, "p.o.", 4) == 0)
                    q += 4;
                else if (strncasecmp(text + q, "po", 2) == 0 && !is_alpha(AT(q + 2)))
                    q += 2;
                else
                    q = i;
                if (q > i) {
                    size_t r = skip_blank(text, len, q, 0);
                    if (strncasecmp(text + r, "box", 3) == 0 && !is_alpha(AT(r + 3))) {
                        size_t s = skip_blank(text, len, r + 3, 0);
                        int v, n = read_num(text, len, s, &v);
                        if (n >= 1 && s > r + 3) {
                            add(col, PII_STREET_ADDRESS, i, s + (size_t)n, 0.85f);
                            i = s + (size_t)n;
                            continue;
                        }
                    }
                }
            }
            i = e > i ? e : i + 1;
            continue;
        }
        i++;
    }
}

/* ------------------------------------------------------------- resolution */

static int specificity(int type)
{
    switch (type) {
    case PII_PRIVATE_KEY:
        return 9;
    case PII_API_KEY:
        return 8;
    case PII_EMAIL_ADDRESS:
        return 7;
    case PII_IBAN_CODE:
        return 6;
    case PII_CREDIT_CARD:
        return 5;
    case PII_US_SSN:
        return 4;
    case PII_MAC_ADDRESS:
        return 3;
    case PII_IP_ADDRESS:
        return 3;
    case PII_STREET_ADDRESS:
        return 3;
    case PII_DATE_TIME:
    case PII_DOMAIN_NAME:
        return 2;
    default:
        return 1;
    }
}

static int better(const pii_entity *a, const pii_entity *b)
{
    int sa = specificity(a->type), sb = specificity(b->type);
    if (sa != sb) return sa > sb;
    if (a->end - a->start != b->end - b->start) return a->end - a->start > b->end - b->start;
    return a->start < b->start;
}

static int detect_span(const char *text, size_t len, pii_entity *out, int max)
{
    collector col;
    col.n = 0;
    scan_private_keys(text, len, &col);
    scan_tokens(text, len, &col);
    scan_assignments(text, len, &col);
    scan_email(text, len, &col);
    scan_mac(text, len, &col);
    scan_domains(text, len, &col);
    scan_person(text, len, &col);
    /* everything below needs a digit (the IPv6 scanner requires one too) */
    int digit = 0;
    for (size_t i = 0; i < len && !digit; i++)
        digit = is_digit((unsigned char)text[i]);
    if (digit) {
        scan_iban(text, len, &col);
        scan_cards(text, len, &col);
        scan_ssn(text, len, &col);
        scan_ipv4(text, len, &col);
        scan_ipv6(text, len, &col);
        scan_phone(text, len, &col);
        scan_dates(text, len, &col);
        scan_addresses(text, len, &col);
    }

    /* Greedy: best candidate first, keep it unless it overlaps a kept one. */
    unsigned char kept[MAX_CANDIDATES] = {0}, done[MAX_CANDIDATES] = {0};
    for (int round = 0; round < col.n; round++) {
        int best = -1;
        for (int k = 0; k < col.n; k++)
            if (!done[k] && (best < 0 || better(&col.c[k], &col.c[best]))) best = k;
        if (best < 0) break;
        done[best] = 1;
        int overlap = 0;
        for (int k = 0; k < col.n && !overlap; k++)
            if (kept[k] && col.c[k].start < col.c[best].end && col.c[best].start < col.c[k].end)
                overlap = 1;
        if (!overlap) kept[best] = 1;
    }
    /* A name or a date next to an identifier, or next to a name that a cue made
     * personal, is personal too. */
    int identifier = 0;
    for (int k = 0; k < col.n; k++)
        if (kept[k] && ((col.c[k].type != PII_PERSON && col.c[k].type != PII_DATE_TIME &&
                         col.c[k].type != PII_DOMAIN_NAME) ||
                        (col.c[k].type == PII_PERSON && col.c[k].confidence >= 0.85f)))
            identifier = 1;
    for (int k = 0; k < col.n && identifier; k++)
        if (kept[k] && (col.c[k].type == PII_PERSON || col.c[k].type == PII_DATE_TIME) &&
            col.c[k].confidence < 0.85f)
            col.c[k].confidence += 0.2f;
    int n = 0;
    for (;;) { /* emit in text order */
        int first = -1;
        for (int k = 0; k < col.n; k++)
            if (kept[k] && (first < 0 || col.c[k].start < col.c[first].start)) first = k;
        if (first < 0 || n >= max) break;
        out[n++] = col.c[first];
        kept[first] = 0;
    }
    return n;
}

/* ------------------------------------------------- Unicode punctuation fold
 *
 * The scanners read ASCII shapes and treat a non-ASCII byte next to a value as
 * part of a longer word ("josé@…" must not become "s@…"). Punctuation, spaces
 * and symbols from outside ASCII are not word parts, though: before the scan
 * the text is folded into a copy where
 *   - quotes (“ ” ‘ ’ „ ‚ « » ‹ › 「 」 『 』 ＂ ＇) become '"' or '\'' (U+2019 is the
 *     apostrophe of "it’s"), brackets (【 】 《 》 〈 〉 〔 〕 （ ） ［ ］) '(' ')',
 *   - the full-width forms U+FF01..U+FF5E their ASCII letters, digits and
 *     punctuation ("４１１１ １１１１ …" is a card; the full-width and ideographic comma,
 *     colon and semicolon are followed by a space), the ideographic full stop and the
 *     ellipsis a space,
 *   - every other space (NBSP, thin, narrow, ideographic) a space, hyphens,
 *     non-breaking hyphens, figure and en dashes and the minus sign '-',
 *   - the em dash, bullets, the other general punctuation, arrows, dingbats,
 *     emoji (with their variation selectors, skin tones, keycaps and tags) and the
 *     letters of scripts written without spaces (Han, kana, Hangul, Thai) a space,
 *   - zero-width characters and the soft hyphen nothing,
 * and the found spans are mapped back to the original bytes. Latin, Greek,
 * Cyrillic and other letters stay as they are. One pass, one allocation of
 * 5 bytes per input byte (no allocation for ASCII text); when it fails the
 * text is scanned unfolded. */

/* Folds text into *out (malloc'd, NUL-terminated) with map[j] = the original
 * offset of folded byte j and map[out_len] = len. Returns the folded length, or
 * 0 with *out = NULL when the text is ASCII or memory is short. */
static size_t fold_text(const char *text, size_t len, char **out, uint32_t **map)
{
    *out = NULL;
    *map = NULL;
    size_t i = 0;
    while (i < len && (unsigned char)text[i] < 0x80)
        i++;
    if (i == len || len >= UINT32_MAX) return 0;
    char *f = malloc(len + 1);
    uint32_t *m = malloc(sizeof *m * (len + 1));
    if (!f || !m) {
        free(f);
        free(m);
        return 0;
    }
    size_t o = 0;
    for (i = 0; i < len;) {
        unsigned char c = (unsigned char)text[i];
        unsigned cp;
        int k = c < 0x80 ? 0 : unifold_decode((const unsigned char *)text + i, len - i, &cp);
        const char *to = k ? unifold_cp(cp, UNIFOLD_CJK_SPACE) : NULL;
        if (!to) { /* ASCII, a kept letter, or an invalid byte: copied */
            int n = k ? k : 1;
            for (int b = 0; b < n; b++, i++) {
                f[o] = text[i];
                m[o++] = (uint32_t)i;
            }
            continue;
        }
        for (const char *t = to; *t; t++) { /* never longer than the k bytes it replaces */
            f[o] = *t;
            m[o++] = (uint32_t)i;
        }
        i += (size_t)k;
    }
    f[o] = 0;
    m[o] = (uint32_t)len;
    *out = f;
    *map = m;
    return o;
}

/* detect_span on the folded text, spans mapped back to text. */
static int detect_folded(const char *text, size_t len, pii_entity *out, int max)
{
    char *f;
    uint32_t *m;
    size_t fl = fold_text(text, len, &f, &m);
    if (!f) return detect_span(text, len, out, max);
    int n = detect_span(f, fl, out, max);
    for (int k = 0; k < n; k++) {
        out[k].start = m[out[k].start];
        out[k].end = m[out[k].end]; /* the start of whatever follows the value */
        if (out[k].end <= out[k].start) { /* inside one folded character (", "): all of it */
            unsigned cp;
            int cl = unifold_decode((const unsigned char *)text + out[k].start, len - out[k].start, &cp);
            out[k].end = out[k].start + (size_t)(cl > 0 ? cl : 1);
        }
        /* dropped invisible characters right after the value stay outside it */
        while (out[k].end > out[k].start + 1 && (unsigned char)text[out[k].end - 1] >= 0x80) {
            size_t b = out[k].end - 1;
            while (b > out[k].start && ((unsigned char)text[b] & 0xC0) == 0x80)
                b--;
            unsigned cp;
            const char *to = unifold_decode((const unsigned char *)text + b, out[k].end - b, &cp) ==
                                     (int)(out[k].end - b)
                                 ? unifold_cp(cp, UNIFOLD_CJK_SPACE)
                                 : NULL;
            if (!to || *to) break;
            out[k].end = b;
        }
    }
    free(f);
    free(m);
    return n;
}

int pii_detect(const char *text, size_t len, pii_entity *out, int max)
{
    if (!text || !out || max <= 0) return 0;
    util_capped c;
    if (util_cap_head_tail(text, len, PII_SCAN_HEAD_BYTES, PII_SCAN_TAIL_BYTES, &c))
        return detect_folded(text, util_utf8_head(text, len, PII_SCAN_HEAD_BYTES), out, max);
    if (!c.text) return detect_folded(text, len, out, max);
    /* the cap: head + tail in one copy; offsets mapped back, a match across the seam dropped */
    int n = detect_folded(c.text, c.len, out, max), kept = 0;
    for (int k = 0; k < n; k++) {
        pii_entity e = out[k];
        if (e.end <= c.head) {
            out[kept++] = e;
        } else if (e.start >= c.tail_at) {
            e.start = e.start - c.tail_at + c.tail_orig;
            e.end = e.end - c.tail_at + c.tail_orig;
            out[kept++] = e;
        }
    }
    free(c.text);
    return kept;
}

int pii_detect_min(const char *text, size_t len, pii_entity *out, int max, double min_conf)
{
    int n = pii_detect(text, len, out, max), kept = 0;
    for (int k = 0; k < n; k++) /* 0.7f is 0.69999998: compare with a little slack */
        if ((double)out[k].confidence + 1e-6 >= min_conf) out[kept++] = out[k];
    return kept;
}

/* ------------------------------------------------------------ names, redact */

static const char *const TYPE_NAMES[PII_TYPE_COUNT] = {
    "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN",     "IBAN_CODE",
    "IP_ADDRESS",    "MAC_ADDRESS",  "API_KEY",     "PRIVATE_KEY", "PERSON",
    "DATE_TIME",     "DOMAIN_NAME",  "STREET_ADDRESS"};

const char *pii_type_name(int type)
{
    return type >= 0 && type < PII_TYPE_COUNT ? TYPE_NAMES[type] : "UNKNOWN";
}

int pii_type_from_name(const char *name)
{
    if (!name) return -1;
    for (int t = 0; t < PII_TYPE_COUNT; t++)
        if (!strcasecmp(name, TYPE_NAMES[t])) return t;
    static const struct {
        const char *alias;
        int type;
    } aliases[] = {{"EMAIL", PII_EMAIL_ADDRESS},
                   {"PHONE", PII_PHONE_NUMBER},
                   {"SSN", PII_US_SSN},
                   {"IBAN", PII_IBAN_CODE},
                   {"IP", PII_IP_ADDRESS},
                   {"MAC", PII_MAC_ADDRESS},
                   {"SECRET", PII_API_KEY},
                   {"CREDIT_CARD_NUMBER", PII_CREDIT_CARD},
                   {"PRIVATE_KEY_BLOCK", PII_PRIVATE_KEY},
                   {"URL", PII_DOMAIN_NAME},
                   {"DOMAIN", PII_DOMAIN_NAME},
                   {"DATE", PII_DATE_TIME},
                   {"TIME", PII_DATE_TIME},
                   {"NAME", PII_PERSON},
                   {"PERSON_NAME", PII_PERSON},
                   {"ADDRESS", PII_STREET_ADDRESS}};
    for (size_t k = 0; k < sizeof aliases / sizeof aliases[0]; k++)
        if (!strcasecmp(name, aliases[k].alias)) return aliases[k].type;
    return -1;
}

void pii_redact(const char *text, size_t len, const pii_entity *entities, int n, buf *out)
{
    size_t pos = 0;
    for (int k = 0; k < n; k++) {
        const pii_entity *e = &entities[k];
        if (e->start < pos || e->end > len || e->end <= e->start) continue;
        buf_append(out, text + pos, e->start - pos);
        buf_putc(out, '[');
        buf_puts(out, pii_type_name(e->type));
        buf_putc(out, ']');
        pos = e->end;
    }
    if (pos < len) buf_append(out, text + pos, len - pos);
}
