/* fuzz_model_files.c - the model-file loaders on any file contents: the TF.js
 * weights loader (src/embed/tfjs_loader.c: model.json + shard) and the
 * Model2Vec loader (src/embed/model2vec.c: safetensors header +
 * tokenizer.json). The input is split at the first "\n--8<--\n" into the two
 * files; the first byte picks the loader (even: TF.js, odd: Model2Vec). A
 * model that loads must also answer: tensors inside the blob, and Model2Vec
 * must embed a text. */
#include "fuzz.h"
#include "embed/model2vec.h"
#include "embed/tfjs_loader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char SEP[] = "\n--8<--\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int m2v = data[0] & 1;
    data++;
    size--;
    const uint8_t *cut = memmem(data, size, SEP, sizeof SEP - 1);
    size_t first = cut ? (size_t)(cut - data) : size;
    const uint8_t *second = cut ? cut + sizeof SEP - 1 : data + size;
    size_t second_len = (size_t)(data + size - second);
    const char *dir = fuzz_tmpdir();
    char err[512];
    if (!m2v) {
        if (fuzz_write_file(dir, "model.json", data, first) ||
            fuzz_write_file(dir, "group1-shard1of1.bin", second, second_len))
            abort();
        tfjs_weights w;
        fuzz_work_begin();
        int rc = tfjs_load(&w, dir, err, sizeof err);
        fuzz_work_end("tfjs_load", size, 100000, 300);
        if (rc == 0) {
            for (int i = 0; i < w.n_tensors; i++) {
                const unsigned char *p = w.tensors[i].data;
                if (w.tensors[i].count && (p < w.blob || p + 4 * w.tensors[i].count > w.blob + w.blob_len))
                    fuzz_fail("tensor %s outside the blob", w.tensors[i].name);
            }
            tfjs_free(&w);
        }
    } else {
        if (fuzz_write_file(dir, "model.safetensors", data, first) ||
            fuzz_write_file(dir, "tokenizer.json", second, second_len))
            abort();
        fuzz_work_begin();
        model2vec_model *m = model2vec_load(dir, err, sizeof err);
        fuzz_work_end("model2vec_load", size, 100000, 600);
        if (m) {
            model2vec_state *s = model2vec_state_new(m);
            int dim = model2vec_dim(m), nt = 0;
            if (dim <= 0 || dim > 1 << 16) fuzz_fail("dimension %d", dim);
            float *v = calloc((size_t)(dim > 0 ? dim : 1), sizeof *v);
            static const char text[] = "How do I reset my password? \xe2\x80\x99 caf\xc3\xa9 \xf0\x9f\x98\x80";
            if (s && model2vec_encode(m, s, text, sizeof text - 1, v, &nt) != 0) fuzz_fail("encode failed");
            free(v);
            model2vec_state_free(s);
            model2vec_free(m);
        }
    }
    return 0;
}
