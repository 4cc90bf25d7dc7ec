/* keyword.h - keyword_rules: the first routing signal (docs/DESIGN.md §5).
 *
 * A rule names a category and a list of keywords combined by an operator:
 * OR (any keyword present), AND (all present), NOR (none present). Rules are
 * tried in order and the first that matches wins. A keyword matches as a whole
 * word: "urgent" does not match "insurgents", but multi-word keywords
 * ("machine learning") and keywords with punctuation ("c++", ".net") work.
 * A boundary is only required on a keyword edge that is itself a word
 * character (Unicode letters, digits, marks, '_'), so "c++" matches in
 * "c++ templates" and "I like c++." but not in "abc++". Case-insensitive rules
 * compare Unicode case-folded, NFC-composed text. */
#ifndef SEMROUTER_KEYWORD_H
#define SEMROUTER_KEYWORD_H
#include <stddef.h>

typedef enum { KEYWORD_OR = 0, KEYWORD_AND = 1, KEYWORD_NOR = 2 } keyword_operator;

typedef struct keyword_rule {
    const char *category;
    keyword_operator op;
    const char *const *keywords;
    int n_keywords;
    int case_sensitive;
} keyword_rule;

/* "AND" | "OR" | "NOR" (any case) -> the operator, else -1. */
int keyword_operator_from_name(const char *name);

/* Index of the first rule in rules[0..n) that matches text[0..len), or -1.
 * A rule without keywords never matches. Convenience form: folds the rules on
 * every call; the request path should use a compiled keyword_set. */
int keyword_match(const keyword_rule *rules, int n, const char *text, size_t len);

/* Rules compiled once (keywords case-folded up front). Immutable after
 * compile, so one set is shared by all threads. The set copies everything it
 * needs; the rules may be freed afterwards. */
typedef struct keyword_set keyword_set;

/* Returns NULL with a sentence in err on bad input (NULL/empty keyword,
 * unknown operator, out of memory). */
keyword_set *keyword_compile(const keyword_rule *rules, int n, char *err, size_t errlen);
void keyword_set_free(keyword_set *s);
int keyword_set_count(const keyword_set *s);
const char *keyword_set_category(const keyword_set *s, int rule);
/* Same contract as keyword_match. Allocates one case-folded copy of the text
 * per call when some rule is case-insensitive. */
int keyword_set_match(const keyword_set *s, const char *text, size_t len);
/* Scan cap (README "Bounded work per request"): keyword_set_match and keyword_match read the
 * first KEYWORD_SCAN_MAX_BYTES of a text (cut at a UTF-8 boundary); a keyword further in
 * neither matches an OR/AND rule nor spoils a NOR rule. */
#define KEYWORD_SCAN_MAX_BYTES (32u << 10)
#endif
