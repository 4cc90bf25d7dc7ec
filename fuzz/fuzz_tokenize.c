/* fuzz_tokenize.c - the text front ends of the embedding models on any bytes:
 * NFKC (src/embed/text.c), the USE-lite SentencePiece tokenizer
 * (src/embed/sentencepiece.c, vocab from models/use-lite or FUZZ_SPM_VOCAB) and
 * the Model2Vec tokenizer (src/embed/model2vec.c, the fixture model in
 * tests/data/model2vec-fixture). Properties: ids inside the vocabulary, counts
 * non-negative, NFKC code points valid scalar values. */
#include "fuzz.h"
#include "embed/model2vec.h"
#include "embed/sentencepiece.h"
#include "embed/text.h"

#include <stdio.h>
#include <stdlib.h>

#define MAX_IDS 256

static spm_vocab *spm;
static spm_scratch spm_s;
static text_scratch nfkc_s;
static model2vec_model *m2v;
static model2vec_state *m2v_s;

static void load(void)
{
    char err[256];
    const char *vp = getenv("FUZZ_SPM_VOCAB");
    spm = spm_load(vp ? vp : "models/use-lite/vocab.json", err, sizeof err);
    if (!spm) fprintf(stderr, "fuzz_tokenize: no SentencePiece vocab (%s); NFKC and Model2Vec only\n", err);
    m2v = model2vec_load("tests/data/model2vec-fixture", err, sizeof err);
    if (!m2v) {
        fprintf(stderr, "fuzz_tokenize: tests/data/model2vec-fixture: %s\n", err);
        abort();
    }
    m2v_s = model2vec_state_new(m2v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!m2v) load();
    const char *text = (const char *)data;
    int ids[MAX_IDS];
    fuzz_work_begin();
    size_t count = 0;
    if (text_nfkc(&nfkc_s, text, size, 1, &count) == 0)
        for (size_t i = 0; i < count; i++) {
            int32_t cp = nfkc_s.cp[1 + i];
            if (cp < 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) fuzz_fail("NFKC produced %d", cp);
        }
    if (spm) {
        int n = spm_encode(spm, &spm_s, text, size, ids, MAX_IDS);
        int vs = spm_vocab_size(spm);
        for (int i = 0; i < n && i < MAX_IDS; i++)
            if (ids[i] < 0 || ids[i] >= vs) fuzz_fail("spm id %d of %d", ids[i], vs);
    }
    int n = model2vec_tokenize(m2v, m2v_s, text, size, ids, MAX_IDS);
    if (n < -1) fuzz_fail("model2vec_tokenize returned %d", n);
    fuzz_work_end("text_nfkc + spm_encode + model2vec_tokenize", size, 50000, 3000);
    return 0;
}
