/* json_scan.c - one-pass JSON check with the answer's usage picked out (see json_scan.h).
 * Each rule below that is looser than RFC 8259 is there because cJSON has it: the proxy
 * took its verdicts from cJSON before, and tests/test_json_scan.c and the fuzz target
 * compare the two on the same bytes. */
#include "core/json_scan.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

long json_scan_to_long(double v)
{
    if (v != v) return 0;
    if (v >= (double)LONG_MAX) return LONG_MAX;
    if (v <= (double)LONG_MIN) return LONG_MIN;
    return (long)v;
}

/* which member a name is, for the places that care */
enum { KEY_OTHER, KEY_USAGE, KEY_CHOICES, KEY_PROMPT, KEY_COMPLETION, KEY_TOTAL };

typedef struct scan {
    const unsigned char *s;
    size_t len, i;
} scan;

/* cJSON skips every byte <= 0x20 (NUL and control characters too) */
static void skip_ws(scan *p)
{
    while (p->i < p->len && p->s[p->i] <= 0x20)
        p->i++;
}

/* Four hex digits at s; anything else reads as 0 (cJSON's parse_hex4 does so). */
static unsigned hex4(const unsigned char *s)
{
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        unsigned char ch = s[k];
        v <<= 4;
        if (ch >= '0' && ch <= '9')
            v |= (unsigned)(ch - '0');
        else if (ch >= 'a' && ch <= 'f')
            v |= (unsigned)(ch - 'a' + 10);
        else if (ch >= 'A' && ch <= 'F')
            v |= (unsigned)(ch - 'A' + 10);
        else
            return 0;
    }
    return v;
}

/* A string at p->i (the opening quote). Its end is the first quote not preceded by a
 * backslash that pairs with it (a backslash takes the next byte whatever it is); the
 * escapes are then decoded inside those bounds, a \u taking six bytes even where they
 * hold a quote or a backslash. If name is not NULL, the decoded text up to its first NUL
 * is kept there when it fits in cap-1 bytes and is plain ASCII; *name_ok says it did (the
 * only names that matter are short ASCII words). */
static int string(scan *p, char *name, size_t cap, int *name_ok)
{
    const unsigned char *s = p->s;
    size_t start = p->i + 1, end = start;
    while (end < p->len && s[end] != '"') {
        if (s[end] == '\\') {
            if (end + 1 >= p->len) return 0;
            end++;
        }
        end++;
    }
    if (end >= p->len) return 0;
    p->i = end + 1;
    /* a run with no backslash needs no decoding */
    if (!name && !memchr(s + start, '\\', end - start)) return 1;
    size_t n = 0;
    int keep = name != NULL, ok = keep;
    for (size_t k = start; k < end;) {
        unsigned c;
        if (s[k] != '\\') {
            c = s[k++];
        } else { /* k + 1 < end + 1: the pair's second byte is inside the buffer */
            switch (s[k + 1]) {
            case '"':
                c = '"';
                break;
            case '\\':
                c = '\\';
                break;
            case '/':
                c = '/';
                break;
            case 'b':
                c = '\b';
                break;
            case 'f':
                c = '\f';
                break;
            case 'n':
                c = '\n';
                break;
            case 'r':
                c = '\r';
                break;
            case 't':
                c = '\t';
                break;
            case 'u': {
                if (end - k < 6) return 0;
                unsigned cp = hex4(s + k + 2);
                if (cp >= 0xDC00 && cp <= 0xDFFF) return 0; /* a low surrogate first */
                if (cp >= 0xD800 && cp <= 0xDBFF) {         /* needs its low half */
                    if (end - (k + 6) < 6 || s[k + 6] != '\\' || s[k + 7] != 'u') return 0;
                    unsigned lo = hex4(s + k + 8);
                    if (lo < 0xDC00 || lo > 0xDFFF) return 0;
                    cp = 0x10000; /* not ASCII: no name of ours */
                    k += 6;
                }
                c = cp;
                k += 4; /* with the 2 below: six bytes */
                break;
            }
            default:
                return 0;
            }
            k += 2;
        }
        if (!keep) continue;
        if (c == 0)
            keep = 0; /* cJSON's name ends here */
        else if (c >= 0x80 || n + 1 >= cap)
            keep = ok = 0;
        else
            name[n++] = (char)c;
    }
    if (name) {
        name[ok ? n : 0] = 0;
        *name_ok = ok;
    }
    return 1;
}

static int is_digit(unsigned char ch)
{
    return ch >= '0' && ch <= '9';
}

/* A number at p->i (a '-' or a digit) as cJSON reads one: it hands strtod the run of
 * characters from [0-9+-eE.] there, and the number is what strtod takes of it: [sign]
 * digits [. digits] or [sign] . digits, then an exponent if it has a digit. Its value into
 * *v when v is not NULL. */
static int number(scan *p, double *v)
{
    const unsigned char *t = p->s + p->i;
    size_t n = p->len - p->i, k = 0, digits = 0;
    if (t[k] == '-') k++; /* a number starts with '-' or a digit */
    while (k < n && is_digit(t[k]))
        k++, digits++;
    if (k < n && t[k] == '.') {
        k++;
        while (k < n && is_digit(t[k]))
            k++, digits++;
    }
    if (!digits) return 0;
    if (k < n && (t[k] == 'e' || t[k] == 'E')) {
        size_t e = k + 1;
        if (e < n && (t[e] == '+' || t[e] == '-')) e++;
        if (e < n && is_digit(t[e])) {
            while (e < n && is_digit(t[e]))
                e++;
            k = e;
        }
    }
    if (v) { /* strtod needs a terminated copy; the text need not be terminated */
        char small[64];
        char *copy = k < sizeof small ? small : malloc(k + 1);
        if (!copy) return 0;
        memcpy(copy, t, k);
        copy[k] = 0;
        *v = strtod(copy, NULL);
        if (copy != small) free(copy);
    }
    p->i += k;
    return 1;
}

static int literal(scan *p, const char *word, size_t n)
{
    if (p->len - p->i < n || memcmp(p->s + p->i, word, n)) return 0;
    p->i += n;
    return 1;
}

static int key_of(const char *name, int depth, int in_usage)
{
    if (depth == 1) {
        if (!strcmp(name, "usage")) return KEY_USAGE;
        if (!strcmp(name, "choices")) return KEY_CHOICES;
    } else if (depth == 2 && in_usage) {
        if (!strcmp(name, "prompt_tokens")) return KEY_PROMPT;
        if (!strcmp(name, "completion_tokens")) return KEY_COMPLETION;
        if (!strcmp(name, "total_tokens")) return KEY_TOTAL;
    }
    return KEY_OTHER;
}

int json_scan_usage(const char *text, size_t len, json_usage *out)
{
    memset(out, 0, sizeof *out);
    scan p = {(const unsigned char *)text, len, 0};
    /* cJSON skips a BOM only where it may read 5 bytes */
    if (len >= 5 && !memcmp(text, "\xEF\xBB\xBF", 3)) p.i = 3;
    unsigned char stack[JSON_SCAN_MAX_DEPTH]; /* '{' or '[' per open container */
    int depth = 0;
    int key = KEY_OTHER; /* the member whose value comes next (objects only) */
    int in_usage = 0;    /* the open depth-2 object is the answer's usage */
    int seen_usage = 0, seen_choices = 0, seen_prompt = 0, seen_completion = 0, seen_total = 0;
    for (;;) {
        /* a value */
        skip_ws(&p);
        if (p.i >= p.len) return 0;
        unsigned char ch = p.s[p.i];
        /* the first member of a name is the one cJSON finds; later ones are ignored */
        int first = 0;
        if (key == KEY_USAGE)
            first = !seen_usage, seen_usage = 1;
        else if (key == KEY_CHOICES)
            first = !seen_choices, seen_choices = 1;
        else if (key == KEY_PROMPT)
            first = !seen_prompt, seen_prompt = 1;
        else if (key == KEY_COMPLETION)
            first = !seen_completion, seen_completion = 1;
        else if (key == KEY_TOTAL)
            first = !seen_total, seen_total = 1;
        if (ch == '{' || ch == '[') {
            if (depth >= JSON_SCAN_MAX_DEPTH) return 0;
            if (depth == 0 && ch == '{') out->is_object = 1;
            if (first && key == KEY_CHOICES && ch == '[') out->choices_array = 1;
            if (depth == 1) in_usage = first && key == KEY_USAGE && ch == '{';
            if (in_usage && depth == 1) out->has_usage = 1;
            stack[depth++] = ch;
            p.i++;
            skip_ws(&p);
            if (p.i < p.len && p.s[p.i] == (ch == '{' ? '}' : ']')) {
                p.i++;
                depth--;
                if (depth == 1) in_usage = 0;
            } else if (ch == '{') {
                goto member;
            } else {
                key = KEY_OTHER;
                continue;
            }
        } else if (ch == '"') {
            if (!string(&p, NULL, 0, NULL)) return 0;
        } else if (ch == '-' || is_digit(ch)) {
            double v = 0;
            int want = first && (key == KEY_PROMPT || key == KEY_COMPLETION || key == KEY_TOTAL);
            if (!number(&p, want ? &v : NULL)) return 0;
            if (want) {
                long n = json_scan_to_long(v);
                if (key == KEY_PROMPT)
                    out->has_prompt = 1, out->prompt_tokens = n;
                else if (key == KEY_COMPLETION)
                    out->has_completion = 1, out->completion_tokens = n;
                else
                    out->has_total = 1, out->total_tokens = n;
            }
        } else if (ch == 't') {
            if (!literal(&p, "true", 4)) return 0;
        } else if (ch == 'f') {
            if (!literal(&p, "false", 5)) return 0;
        } else if (ch == 'n') {
            if (!literal(&p, "null", 4)) return 0;
        } else {
            return 0;
        }
        /* after a value: the end (cJSON ignores what follows the first value), or the
         * next element or member of the open container */
        for (;;) {
            if (depth == 0) return 1;
            skip_ws(&p);
            if (p.i >= p.len) return 0;
            unsigned char c = p.s[p.i++];
            unsigned char open = stack[depth - 1];
            if (c == ',') {
                if (open == '[') {
                    key = KEY_OTHER;
                    break;
                }
                goto member;
            }
            if (c != (open == '{' ? '}' : ']')) return 0;
            depth--;
            if (depth == 1) in_usage = 0;
        }
        continue;
    member: /* a member's name and colon; its value is next */
        skip_ws(&p);
        if (p.i >= p.len || p.s[p.i] != '"') return 0;
        {
            char name[24];
            int name_ok = 0;
            /* names deeper than the usage object's members are not ours: not decoded */
            if (!string(&p, depth <= 2 ? name : NULL, sizeof name, &name_ok)) return 0;
            key = name_ok && depth <= 2 ? key_of(name, depth, in_usage) : KEY_OTHER;
        }
        skip_ws(&p);
        if (p.i >= p.len || p.s[p.i] != ':') return 0;
        p.i++;
    }
}
