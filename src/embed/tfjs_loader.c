/* tfjs_loader.c - TF.js graph-model weights: manifest parsing and shard reading
 * (see tfjs_loader.h). Every size is checked before it is used, so a truncated or
 * garbled model is an error sentence, never an out-of-bounds read. */
#include "embed/tfjs_loader.h"
#include "core/util.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A shard path is a plain file name inside the model folder: no directories, so
 * a hostile manifest cannot make us read elsewhere. */
static int shard_name_ok(const char *p)
{
    return p && *p && !strchr(p, '/') && !strchr(p, '\\') && strcmp(p, ".") && strcmp(p, "..");
}

/* Parses one manifest entry into t; returns its byte size or -1 (err filled). */
static long long parse_entry(const cJSON *e, tfjs_tensor *t, char *err, size_t errlen)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    if (!cJSON_IsString(name) || !cJSON_IsArray(shape) || !cJSON_IsString(dtype)) {
        snprintf(err, errlen, "model.json: a weights entry lacks name, shape or dtype");
        return -1;
    }
    if (cJSON_GetObjectItemCaseSensitive(e, "quantization")) {
        snprintf(err, errlen,
                 "model.json: weight %s is quantized; only float32/int32 are supported",
                 name->valuestring);
        return -1;
    }
    if (!strcmp(dtype->valuestring, "float32"))
        t->dtype = TFJS_FLOAT32;
    else if (!strcmp(dtype->valuestring, "int32"))
        t->dtype = TFJS_INT32;
    else {
        snprintf(err, errlen, "model.json: weight %s has unsupported dtype %s", name->valuestring,
                 dtype->valuestring);
        return -1;
    }
    int rank = cJSON_GetArraySize(shape);
    if (rank > TFJS_MAX_RANK) {
        snprintf(err, errlen, "model.json: weight %s has rank %d (at most %d supported)",
                 name->valuestring, rank, TFJS_MAX_RANK);
        return -1;
    }
    size_t count = 1;
    for (int i = 0; i < rank; i++) {
        const cJSON *d = cJSON_GetArrayItem(shape, i);
        if (!cJSON_IsNumber(d) || d->valuedouble < 0 || d->valuedouble > (1 << 30) ||
            d->valuedouble != (double)(int)d->valuedouble) {
            snprintf(err, errlen, "model.json: weight %s has an invalid shape", name->valuestring);
            return -1;
        }
        t->shape[i] = (int)d->valuedouble;
        if (t->shape[i] && count > ((size_t)1 << 34) / (size_t)t->shape[i]) {
            snprintf(err, errlen, "model.json: weight %s is implausibly large", name->valuestring);
            return -1;
        }
        count *= (size_t)t->shape[i];
    }
    t->rank = rank;
    t->count = count;
    t->name = strdup(name->valuestring);
    if (!t->name) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return (long long)(count * 4);
}

/* Appends the shard files of one group to w->blob at *off; they must hold exactly
 * need bytes. */
static int read_group_shards(tfjs_weights *w, const char *dir, const cJSON *paths, size_t *off,
                             size_t need, char *err, size_t errlen)
{
    size_t start = *off;
    const cJSON *p;
    cJSON_ArrayForEach(p, paths)
    {
        if (!cJSON_IsString(p) || !shard_name_ok(p->valuestring)) {
            snprintf(err, errlen, "model.json: invalid shard path in weightsManifest");
            return -1;
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, p->valuestring);
        FILE *f = fopen(path, "rb");
        if (!f) {
            snprintf(err, errlen, "cannot open weight shard %s: %s", path, strerror(errno));
            return -1;
        }
        struct stat st;
        if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
            snprintf(err, errlen, "weight shard %s is not a regular file", path);
            fclose(f);
            return -1;
        }
        size_t n = (size_t)st.st_size;
        if (n > need - (*off - start)) {
            snprintf(err, errlen,
                     "weight shard %s is larger than model.json's manifest allows (%zu bytes "
                     "expected in all)",
                     path, need);
            fclose(f);
            return -1;
        }
        if (n && fread(w->blob + *off, 1, n, f) != n) {
            snprintf(err, errlen, "short read on weight shard %s", path);
            fclose(f);
            return -1;
        }
        fclose(f);
        *off += n;
    }
    if (*off - start != need) {
        snprintf(err, errlen,
                 "weight shards hold %zu bytes but model.json's manifest needs %zu: truncated "
                 "or mismatched model files",
                 *off - start, need);
        return -1;
    }
    return 0;
}

int tfjs_load(tfjs_weights *w, const char *dir, char *err, size_t errlen)
{
    memset(w, 0, sizeof *w);
    char path[4096];
    snprintf(path, sizeof path, "%s/model.json", dir);
    size_t len;
    char *text = util_read_file(path, &len, err, errlen);
    if (!text) return -1;
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    if (!root) {
        snprintf(err, errlen, "%s is not valid JSON", path);
        return -1;
    }
    const cJSON *man = cJSON_GetObjectItemCaseSensitive(root, "weightsManifest");
    if (!cJSON_IsArray(man) || cJSON_GetArraySize(man) == 0) {
        snprintf(err, errlen, "%s has no weightsManifest", path);
        goto err;
    }
    /* Pass 1: count tensors and bytes, so the blob is allocated once. */
    int total_tensors = 0;
    const cJSON *g;
    cJSON_ArrayForEach(g, man)
    {
        const cJSON *ws = cJSON_GetObjectItemCaseSensitive(g, "weights");
        const cJSON *ps = cJSON_GetObjectItemCaseSensitive(g, "paths");
        if (!cJSON_IsArray(ws) || !cJSON_IsArray(ps)) {
            snprintf(err, errlen, "%s: a weightsManifest group lacks paths or weights", path);
            goto err;
        }
        total_tensors += cJSON_GetArraySize(ws);
    }
    if (total_tensors <= 0 || total_tensors > 100000) {
        snprintf(err, errlen, "%s: implausible number of weights (%d)", path, total_tensors);
        goto err;
    }
    w->tensors = calloc((size_t)total_tensors, sizeof *w->tensors);
    if (!w->tensors) {
        snprintf(err, errlen, "out of memory");
        goto err;
    }
    size_t total_bytes = 0;
    cJSON_ArrayForEach(g, man)
    {
        const cJSON *e;
        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(g, "weights"))
        {
            tfjs_tensor *t = &w->tensors[w->n_tensors];
            long long nb = parse_entry(e, t, err, errlen);
            if (nb < 0) goto err;
            w->n_tensors++;
            total_bytes += (size_t)nb;
            if (total_bytes > ((size_t)1 << 34)) {
                snprintf(err, errlen, "%s: weights larger than 16 GiB", path);
                goto err;
            }
        }
    }
    w->blob = malloc(total_bytes ? total_bytes : 1);
    if (!w->blob) {
        snprintf(err, errlen, "out of memory for %zu bytes of weights", total_bytes);
        goto err;
    }
    w->blob_len = total_bytes;
    /* Pass 2: read each group's shards and point the tensors into the blob. */
    size_t off = 0;
    int ti = 0;
    cJSON_ArrayForEach(g, man)
    {
        const cJSON *ws = cJSON_GetObjectItemCaseSensitive(g, "weights");
        size_t group_start = off, need = 0;
        int n = cJSON_GetArraySize(ws);
        for (int i = 0; i < n; i++)
            need += w->tensors[ti + i].count * 4;
        if (read_group_shards(w, dir, cJSON_GetObjectItemCaseSensitive(g, "paths"), &off, need, err,
                              errlen))
            goto err;
        size_t at = group_start;
        for (int i = 0; i < n; i++, ti++) {
            w->tensors[ti].data = w->blob + at;
            at += w->tensors[ti].count * 4;
        }
    }
    cJSON_Delete(root);
    return 0;
err:
    cJSON_Delete(root);
    tfjs_free(w);
    return -1;
}

void tfjs_free(tfjs_weights *w)
{
    for (int i = 0; i < w->n_tensors; i++)
        free(w->tensors[i].name);
    free(w->tensors);
    free(w->blob);
    memset(w, 0, sizeof *w);
}

const float *tfjs_get_f32(const tfjs_weights *w, const char *name, int rank, const int *shape,
                          char *err, size_t errlen)
{
    for (int i = 0; i < w->n_tensors; i++) {
        const tfjs_tensor *t = &w->tensors[i];
        if (strcmp(t->name, name)) continue;
        int ok = t->dtype == TFJS_FLOAT32 && t->rank == rank;
        for (int d = 0; ok && d < rank; d++)
            ok = t->shape[d] == shape[d];
        if (!ok) {
            snprintf(err, errlen, "model weight %s has an unexpected dtype or shape", name);
            return NULL;
        }
        return t->data;
    }
    snprintf(err, errlen, "model weight %s is missing from model.json", name);
    return NULL;
}
