/* jailbreak.h - the prompt guard: is this request an attempt to jailbreak the model?
 *
 * Two kinds of evidence, combined into one probability-like confidence:
 *  - pattern signals: hand-written detectors for the known attack families
 *    (instruction override, DAN/persona role-play, developer mode, "no
 *    restrictions", system-prompt exfiltration, payload splitting, encoded
 *    instructions, fiction-framed harmful requests, fake role tags), each with a
 *    weight. Base64 blobs and rot13 text are decoded and scanned too.
 *  - similarity of the request's embedding to a shipped corpus of attack
 *    exemplars (data/guard/jailbreak_exemplars.txt), vectors computed at load.
 * The request embedding is computed once by the caller and passed in; without
 * it (or without a model) only the patterns decide. Text longer than the
 * embedding window: see JAILBREAK_WINDOW_BYTES. A detector is immutable
 * after load and may be shared by threads. */
#ifndef SEMROUTER_JAILBREAK_H
#define SEMROUTER_JAILBREAK_H
#include <stddef.h>

#include "embed/embed.h"

/* Attack families (bits of jailbreak_result.types). */
enum {
    JAILBREAK_INSTRUCTION_OVERRIDE = 1 << 0,
    JAILBREAK_ROLEPLAY = 1 << 1,
    JAILBREAK_DEVELOPER_MODE = 1 << 2,
    JAILBREAK_NO_RESTRICTIONS = 1 << 3,
    JAILBREAK_PROMPT_EXFILTRATION = 1 << 4,
    JAILBREAK_PAYLOAD_SPLITTING = 1 << 5,
    JAILBREAK_ENCODED = 1 << 6,
    JAILBREAK_HARMFUL_FICTION = 1 << 7,
    JAILBREAK_FAKE_ROLE_TAG = 1 << 8,
    JAILBREAK_SIMILARITY = 1 << 9, /* close to an attack exemplar */
    JAILBREAK_TYPE_COUNT = 10
};

#define JAILBREAK_MAX_PATTERNS 16
/* Default decision threshold on confidence, chosen on the labelled sets so that
 * false positives stay rare (a blocked legitimate user is the worse error). */
#define JAILBREAK_DEFAULT_THRESHOLD 0.8f
/* Long texts: the caller's vector sees the first embedding window (128 tokens)
 * only. The patterns read the whole text (in chunks, linear); besides, up to
 * JAILBREAK_MAX_WINDOWS windows of JAILBREAK_WINDOW_BYTES further into the text
 * are embedded and compared with the exemplars: the ones with the most
 * attack-like words, and the last one. At most 4 embeddings (~2 ms each) per
 * request, only for texts over 2 windows. */
#define JAILBREAK_WINDOW_BYTES 480
#define JAILBREAK_MAX_WINDOWS 4
/* Scan cap (README "Bounded work per request"): a text longer than HEAD + TAIL bytes is
 * checked as its first JAILBREAK_SCAN_HEAD_BYTES and its last JAILBREAK_SCAN_TAIL_BYTES
 * (cut at UTF-8 boundaries, joined by a newline): patterns, decoders and windows never read
 * the middle, so the work per call is bounded (README has the measured worst case), and an
 * attack appended after padding is still seen. */
#define JAILBREAK_SCAN_HEAD_BYTES (192u << 10)
#define JAILBREAK_SCAN_TAIL_BYTES (64u << 10)

typedef struct jailbreak_result {
    float confidence;        /* [0,1] */
    int is_jailbreak;        /* confidence >= threshold */
    float similarity;        /* max cosine to an attack exemplar (0 without a vector) */
    float benign_similarity; /* max cosine to a benign anchor (0 without anchors) */
    float pattern_score;     /* [0,1] from the pattern signals alone */
    int nearest;             /* index of the nearest exemplar, -1 if none */
    unsigned types;          /* JAILBREAK_* bits */
    int windows;             /* windows of a long text embedded besides the caller's vector */
    int n_patterns;
    const char *patterns[JAILBREAK_MAX_PATTERNS]; /* names of matched signals (static strings) */
    size_t scanned_bytes;                          /* bytes of the text read (< len: capped) */
} jailbreak_result;

typedef struct jailbreak_detector jailbreak_detector;

/* Loads exemplars (one attack per line; blank lines and lines starting with
 * '#' skipped) and embeds them with m. When a file JAILBREAK_ANCHORS_FILE sits
 * in the same folder, its lines (ordinary requests) are embedded as a contrast
 * set: similarity counts by how much nearer a request is to the attacks than to
 * them. exemplars_path and m may be NULL: then the detector uses patterns only.
 * NULL + sentence in err on failure. */
#define JAILBREAK_ANCHORS_FILE "jailbreak_benign_anchors.txt"
jailbreak_detector *jailbreak_load(const char *exemplars_path, const embed_model *m, char *err,
                                   size_t errlen);
void jailbreak_free(jailbreak_detector *d);
int jailbreak_exemplar_count(const jailbreak_detector *d);
const char *jailbreak_exemplar(const jailbreak_detector *d, int i);
/* Embedding dimension the detector expects for text_vec (0 = patterns only). */
int jailbreak_dim(const jailbreak_detector *d);

/* Scores text[0..len). text_vec is the request's L2-normalised embedding
 * (jailbreak_dim floats) or NULL. threshold <= 0 means the default. Fills r;
 * returns 0, or -1 for a NULL detector/result. */
int jailbreak_check(const jailbreak_detector *d, const char *text, size_t len,
                    const float *text_vec, float threshold, jailbreak_result *r);

/* Name of one JAILBREAK_* bit ("instruction_override", ...), "unknown" otherwise. */
const char *jailbreak_type_name(unsigned type_bit);
#endif
