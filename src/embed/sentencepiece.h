/* sentencepiece.h - the SentencePiece-unigram tokenizer of USE-lite.
 *
 * Reproduces the TF.js tokenizer shipped with the model, quirks included (see
 * ../shared/models/use-lite/reference.py): NFKC, spaces -> U+2581 with one
 * U+2581 prepended, Viterbi over piece scores where a best score of exactly 0
 * counts as "unset", ids 0..5 reserved (0 = unknown character), null scores
 * read as 0, later duplicate pieces win, runs of unknowns merged into one id. */
#ifndef SEMROUTER_SENTENCEPIECE_H
#define SEMROUTER_SENTENCEPIECE_H
#include "embed/text.h"
#include <stddef.h>

/* Inputs longer than this many bytes are tokenized from their first
 * SPM_MAX_INPUT_BYTES only (cut at a character boundary); the reported count is
 * then that prefix's count, raised to at least the caller's max_ids + 1 so the
 * input still reads as longer than the model window. Keeps a 10 MB input to a
 * bounded cost; only absurd inputs (over 64 KiB) see the difference. */
#define SPM_MAX_INPUT_BYTES 65536

typedef struct spm_vocab spm_vocab;

/* Loads a vocab.json (a JSON list of [piece, score|null]; id = index). */
spm_vocab *spm_load(const char *path, char *err, size_t errlen);
void spm_free(spm_vocab *v);
int spm_vocab_size(const spm_vocab *v);

/* Per-thread scratch; zero-initialise, free with spm_scratch_free. */
typedef struct spm_scratch {
    text_scratch text;
    double *best;
    int32_t *word, *rev;
    size_t dp_cap;
} spm_scratch;
void spm_scratch_free(spm_scratch *s);

/* Tokenizes text[0..len). Writes the first min(count, max_ids) ids into ids and
 * returns the token count (before truncation), or -1 when memory runs out. */
int spm_encode(const spm_vocab *v, spm_scratch *s, const char *text, size_t len, int *ids,
               int max_ids);
#endif
