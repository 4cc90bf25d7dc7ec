/* embeddings.c - /v1/embeddings and /api/v1/similarity (see embeddings.h). */
#include "api/embeddings.h"
#include "core/codec.h"
#include "core/openai_error.h"
#include "core/util.h"
#include "core/vec.h"
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(buf *out, int status, const char *msg, const char *param, const char *code)
{
    buf_reset(out);
    api_error_json(out, msg, api_error_type_for_status(status), param,
                   code ? code : status >= 500 ? "embedding_failed" : "invalid_value");
    return status;
}

static void put_vector(buf *out, const float *v, int dim)
{
    char num[32];
    buf_reserve(out, (size_t)dim * 14 + 2);
    buf_putc(out, '[');
    for (int i = 0; i < dim; i++) {
        /* %.9g round-trips a float32 exactly */
        int n = snprintf(num, sizeof num, i ? ",%.9g" : "%.9g", (double)v[i]);
        buf_append(out, num, (size_t)n);
    }
    buf_putc(out, ']');
}

int embeddings_api_handle(const embed_model *m, embed_state *s, const char *body, size_t len,
                          buf *out)
{
    cJSON *root = cJSON_ParseWithLength(body ? body : "", len);
    int status = 200;
    float *v = NULL;
    if (!cJSON_IsObject(root)) {
        status = fail(out, 400, "The request body must be a JSON object.", NULL, "invalid_json");
        goto done;
    }
    const cJSON *input = cJSON_GetObjectItemCaseSensitive(root, "input");
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "encoding_format");
    const cJSON *dims = cJSON_GetObjectItemCaseSensitive(root, "dimensions");
    const int dim = embed_dim(m);
    if (model && !cJSON_IsString(model) && !cJSON_IsNull(model)) {
        status = fail(out, 400, "'model' must be a string.", "model", NULL);
        goto done;
    }
    int base64 = 0;
    if (fmt && !cJSON_IsNull(fmt)) {
        if (!cJSON_IsString(fmt) ||
            (strcmp(fmt->valuestring, "float") && strcmp(fmt->valuestring, "base64"))) {
            status = fail(out, 400, "'encoding_format' must be \"float\" or \"base64\".",
                          "encoding_format", NULL);
            goto done;
        }
        base64 = !strcmp(fmt->valuestring, "base64");
    }
    if (dims && !cJSON_IsNull(dims) && !(cJSON_IsNumber(dims) && dims->valuedouble == dim)) {
        char msg[128];
        snprintf(msg, sizeof msg, "This model produces %d dimensions; 'dimensions' must be %d.",
                 dim, dim);
        status = fail(out, 400, msg, "dimensions", NULL);
        goto done;
    }
    if (!input) {
        status = fail(out, 400, "'input' is required.", "input", NULL);
        goto done;
    }
    int n = 0;
    if (cJSON_IsString(input))
        n = 1;
    else if (cJSON_IsArray(input))
        n = cJSON_GetArraySize(input);
    if (!cJSON_IsString(input) && !cJSON_IsArray(input)) {
        status = fail(out, 400, "'input' must be a string or an array of strings.", "input", NULL);
        goto done;
    }
    if (n == 0 || n > EMBEDDINGS_API_MAX_INPUTS) {
        status = fail(out, 400, "'input' must hold 1 to 2048 strings.", "input", NULL);
        goto done;
    }
    const cJSON *it = cJSON_IsString(input) ? input : input->child;
    for (const cJSON *x = it; x; x = cJSON_IsString(input) ? NULL : x->next) {
        if (cJSON_IsNumber(x) || cJSON_IsArray(x)) {
            status = fail(out, 400,
                          "Token-id input is not supported by this embedding model; "
                          "send strings.",
                          "input", NULL);
            goto done;
        }
        if (!cJSON_IsString(x)) {
            status =
                fail(out, 400, "'input' must be a string or an array of strings.", "input", NULL);
            goto done;
        }
        if (!x->valuestring[0]) {
            status = fail(out, 400, "'input' must not contain empty strings.", "input", NULL);
            goto done;
        }
    }
    if (!(v = malloc((size_t)dim * sizeof *v))) {
        status = fail(out, 500, "Out of memory.", NULL, NULL);
        goto done;
    }
    buf_reset(out);
    buf_puts(out, "{\"object\":\"list\",\"data\":[");
    long long tokens = 0;
    int i = 0;
    char err[256];
    for (const cJSON *x = it; x; x = cJSON_IsString(input) ? NULL : x->next, i++) {
        int nt = 0;
        if (embed_text(m, s, x->valuestring, strlen(x->valuestring), v, &nt, err, sizeof err)) {
            /* a remote model's failure is the upstream's, anything else ours */
            int st = embed_model_type(m) == EMBED_REMOTE ? 502 : 500;
            status = fail(out, st, err, NULL, NULL);
            goto done;
        }
        if (nt > 0) tokens += nt;
        buf_printf(out, "%s{\"object\":\"embedding\",\"index\":%d,\"embedding\":", i ? "," : "", i);
        if (base64)
            codec_base64_encode_quoted(out, v, (size_t)dim * sizeof *v);
        else
            put_vector(out, v, dim);
        buf_putc(out, '}');
    }
    const char *name = cJSON_IsString(model) ? model->valuestring : embed_model_id(m);
    buf_puts(out, "],\"model\":");
    buf_json_str(out, name, strlen(name));
    buf_printf(out, ",\"usage\":{\"prompt_tokens\":%lld,\"total_tokens\":%lld}}", tokens, tokens);
    if (out->oom) status = fail(out, 500, "Out of memory.", NULL, NULL);
done:
    free(v);
    cJSON_Delete(root);
    return status;
}

int similarity_api_handle(const embed_model *m, embed_state *s, const char *body, size_t len,
                          buf *out)
{
    uint64_t t0 = util_now_ns();
    cJSON *root = cJSON_ParseWithLength(body ? body : "", len);
    int status = 200;
    float *a = NULL, *b = NULL;
    if (!cJSON_IsObject(root)) {
        status = fail(out, 400, "The request body must be a JSON object.", NULL, "invalid_json");
        goto done;
    }
    const cJSON *t1 = cJSON_GetObjectItemCaseSensitive(root, "text1");
    const cJSON *t2 = cJSON_GetObjectItemCaseSensitive(root, "text2");
    const cJSON *dims = cJSON_GetObjectItemCaseSensitive(root, "dimension");
    const int dim = embed_dim(m);
    if (!cJSON_IsString(t1) || !cJSON_IsString(t2)) {
        status = fail(out, 400, "'text1' and 'text2' are required strings.",
                      cJSON_IsString(t1) ? "text2" : "text1", NULL);
        goto done;
    }
    if (dims && !cJSON_IsNull(dims) &&
        !(cJSON_IsNumber(dims) && (dims->valuedouble == dim || dims->valuedouble == 0))) {
        char msg[128];
        snprintf(msg, sizeof msg, "This model produces %d dimensions; 'dimension' must be %d.", dim,
                 dim);
        status = fail(out, 400, msg, "dimension", NULL);
        goto done;
    }
    a = malloc((size_t)dim * sizeof *a);
    b = malloc((size_t)dim * sizeof *b);
    if (!a || !b) {
        status = fail(out, 500, "Out of memory.", NULL, NULL);
        goto done;
    }
    char err[256];
    if (embed_text(m, s, t1->valuestring, strlen(t1->valuestring), a, NULL, err, sizeof err) ||
        embed_text(m, s, t2->valuestring, strlen(t2->valuestring), b, NULL, err, sizeof err)) {
        status = fail(out, embed_model_type(m) == EMBED_REMOTE ? 502 : 500, err, NULL, NULL);
        goto done;
    }
    double sim = vec_dot_f32_acc64(a, b, (size_t)dim);
    buf_reset(out);
    buf_puts(out, "{\"model_used\":");
    buf_json_str(out, embed_model_id(m), strlen(embed_model_id(m)));
    buf_printf(out, ",\"similarity\":%.6f,\"processing_time_ms\":%.3f}", sim,
               (double)(util_now_ns() - t0) / 1e6);
    if (out->oom) status = fail(out, 500, "Out of memory.", NULL, NULL);
done:
    free(a);
    free(b);
    cJSON_Delete(root);
    return status;
}
