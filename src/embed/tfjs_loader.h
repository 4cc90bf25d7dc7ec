/* tfjs_loader.h - reads the weights of a TF.js graph model (model.json + shards).
 *
 * model.json's weightsManifest lists groups; each group's shard files are one
 * byte stream split into pieces, and its tensors lie back to back in that stream
 * in manifest order. The loader reads every shard into one buffer, checks that
 * the bytes add up exactly, and indexes the tensors by name. The graph topology
 * is not interpreted: the model code (use_lite.c) knows its architecture and
 * asks for tensors by name and shape. */
#ifndef SEMROUTER_TFJS_LOADER_H
#define SEMROUTER_TFJS_LOADER_H
#include <stddef.h>

enum { TFJS_FLOAT32 = 0, TFJS_INT32 = 1 };
#define TFJS_MAX_RANK 8

typedef struct tfjs_tensor {
    char *name;
    int dtype;
    int rank;
    int shape[TFJS_MAX_RANK];
    size_t count;     /* elements (1 for a scalar) */
    const void *data; /* little-endian, 4-byte aligned, inside tfjs_weights.blob */
} tfjs_tensor;

typedef struct tfjs_weights {
    tfjs_tensor *tensors;
    int n_tensors;
    unsigned char *blob; /* every group's shards, back to back */
    size_t blob_len;
} tfjs_weights;

/* Loads dir/model.json and its shards into w. Returns 0, or -1 with a sentence in
 * err (missing file, malformed manifest, unsupported dtype or quantization, shard
 * sizes that do not add up). On failure w holds nothing to free. */
int tfjs_load(tfjs_weights *w, const char *dir, char *err, size_t errlen);
void tfjs_free(tfjs_weights *w);

/* The float32 tensor called name whose shape is exactly shape[0..rank), or NULL
 * with a sentence in err naming what is wrong. */
const float *tfjs_get_f32(const tfjs_weights *w, const char *name, int rank, const int *shape,
                          char *err, size_t errlen);
#endif
