/* classify_guard.c - /api/v1/classify/pii and /api/v1/classify/security bodies. */
#include "api/classify_guard.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/openai_error.h"
#include "core/util.h"
#include "guard/pii.h"

#define MAX_ENTITIES 256

static int fail(buf *out, int status, const char *msg, const char *param)
{
    buf_reset(out);
    api_error_json(out, msg, api_error_type_for_status(status), param,
                   status >= 500 ? "out_of_memory" : "invalid_value");
    return status;
}

/* Parses the body and returns the "text" string (borrowed from *root) or NULL
 * after writing the error into out (status in *status). */
static const char *parse_text(const char *body, size_t len, cJSON **root, buf *out, int *status)
{
    *root = body ? cJSON_ParseWithLength(body, len) : NULL;
    if (!*root || !cJSON_IsObject(*root)) {
        *status = fail(out, 400, "Request body must be a JSON object.", NULL);
        return NULL;
    }
    cJSON *t = cJSON_GetObjectItemCaseSensitive(*root, "text");
    if (!cJSON_IsString(t)) {
        *status = fail(out, 400, "Field 'text' is required and must be a string.", "text");
        return NULL;
    }
    if (!t->valuestring[0]) {
        *status = fail(out, 400, "Field 'text' must not be empty.", "text");
        return NULL;
    }
    if (!util_utf8_valid(t->valuestring, strlen(t->valuestring))) {
        *status = fail(out, 400, "Field 'text' is not valid UTF-8.", "text");
        return NULL;
    }
    return t->valuestring;
}

/* Number of code points in s[0..n). */
static long codepoints(const char *s, size_t n)
{
    long c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

static int bool_option(const cJSON *opts, const char *name, int dflt, int *ok)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(opts, name);
    if (!v || cJSON_IsNull(v)) return dflt;
    if (!cJSON_IsBool(v)) *ok = 0;
    return cJSON_IsTrue(v);
}

int classify_pii_api_handle(const char *body, size_t len, buf *out)
{
    uint64_t t0 = util_now_ns();
    cJSON *root = NULL;
    int status = 200;
    const char *text = parse_text(body, len, &root, out, &status);
    if (!text) goto done;
    const cJSON *opts = cJSON_GetObjectItemCaseSensitive(root, "options");
    if (opts && !cJSON_IsNull(opts) && !cJSON_IsObject(opts)) {
        status = fail(out, 400, "Field 'options' must be an object.", "options");
        goto done;
    }
    int ok = 1;
    int positions = bool_option(opts, "return_positions", 1, &ok);
    int mask = bool_option(opts, "mask_entities", 0, &ok);
    if (!ok) {
        status = fail(out, 400, "Options 'return_positions' and 'mask_entities' must be booleans.",
                      "options");
        goto done;
    }
    double min_conf = 0;
    const cJSON *ct = cJSON_GetObjectItemCaseSensitive(opts, "confidence_threshold");
    if (ct && !cJSON_IsNull(ct)) {
        if (!cJSON_IsNumber(ct) || ct->valuedouble < 0 || ct->valuedouble > 1) {
            status = fail(out, 400, "Option 'confidence_threshold' must be a number in [0,1].",
                          "options.confidence_threshold");
            goto done;
        }
        min_conf = ct->valuedouble;
    }
    int want[PII_TYPE_COUNT], filter = 0;
    for (int t = 0; t < PII_TYPE_COUNT; t++)
        want[t] = 1;
    const cJSON *et = cJSON_GetObjectItemCaseSensitive(opts, "entity_types");
    if (et && !cJSON_IsNull(et)) {
        if (!cJSON_IsArray(et)) {
            status = fail(out, 400, "Option 'entity_types' must be an array of strings.",
                          "options.entity_types");
            goto done;
        }
        const cJSON *e;
        cJSON_ArrayForEach(e, et)
        {
            if (!cJSON_IsString(e)) {
                status = fail(out, 400, "Option 'entity_types' must be an array of strings.",
                              "options.entity_types");
                goto done;
            }
            if (!filter) memset(want, 0, sizeof want), filter = 1;
            int t = pii_type_from_name(e->valuestring);
            if (t >= 0) want[t] = 1;
        }
    }
    size_t tl = strlen(text);
    pii_entity found[MAX_ENTITIES];
    int n = pii_detect(text, tl, found, MAX_ENTITIES), kept = 0;
    for (int k = 0; k < n; k++)
        if (want[found[k].type] && found[k].confidence >= min_conf) found[kept++] = found[k];
    buf_reset(out);
    buf_printf(out, "{\"has_pii\":%s,\"entities\":[", kept ? "true" : "false");
    for (int k = 0; k < kept; k++) {
        const pii_entity *e = &found[k];
        const char *name = pii_type_name(e->type);
        buf_puts(out, k ? ",{\"type\":" : "{\"type\":");
        buf_json_str(out, name, strlen(name));
        buf_puts(out, ",\"value\":");
        buf_json_str(out, text + e->start, e->end - e->start);
        buf_printf(out, ",\"confidence\":%.3f", (double)e->confidence);
        if (positions)
            buf_printf(out, ",\"start_position\":%ld,\"end_position\":%ld",
                       codepoints(text, e->start), codepoints(text, e->end));
        if (mask) buf_printf(out, ",\"masked_value\":\"[%s]\"", name);
        buf_putc(out, '}');
    }
    buf_puts(out, "]");
    if (mask) {
        buf masked;
        buf_init(&masked);
        pii_redact(text, tl, found, kept, &masked);
        buf_puts(out, ",\"masked_text\":");
        buf_json_str(out, masked.data ? masked.data : "", masked.len);
        buf_free(&masked);
    }
    buf_printf(out, ",\"security_recommendation\":\"%s\",\"processing_time_ms\":%llu}",
               kept ? "block" : "allow", (unsigned long long)((util_now_ns() - t0) / 1000000));
    if (out->oom) status = fail(out, 500, "Out of memory.", NULL);
done:
    cJSON_Delete(root);
    return status;
}

static void json_str_list(buf *out, const char *const *v, int n)
{
    buf_putc(out, '[');
    for (int k = 0; k < n; k++) {
        if (k) buf_putc(out, ',');
        buf_json_str(out, v[k], strlen(v[k]));
    }
    buf_putc(out, ']');
}

int classify_security_api_handle(const char *body, size_t len, const jailbreak_detector *d,
                                 classify_embed_fn embed, void *embed_ctx, float threshold,
                                 buf *out)
{
    uint64_t t0 = util_now_ns();
    cJSON *root = NULL;
    int status = 200;
    float *vec = NULL;
    const char *text = parse_text(body, len, &root, out, &status);
    if (!text) goto done;
    if (!d) {
        status = fail(out, 503, "The prompt guard is not enabled.", NULL);
        goto done;
    }
    const cJSON *opts = cJSON_GetObjectItemCaseSensitive(root, "options");
    if (opts && !cJSON_IsNull(opts) && !cJSON_IsObject(opts)) {
        status = fail(out, 400, "Field 'options' must be an object.", "options");
        goto done;
    }
    int ok = 1;
    int reasoning = bool_option(opts, "include_reasoning", 0, &ok);
    if (!ok) {
        status = fail(out, 400, "Option 'include_reasoning' must be a boolean.", "options");
        goto done;
    }
    const cJSON *sens = cJSON_GetObjectItemCaseSensitive(opts, "sensitivity");
    if (sens && !cJSON_IsNull(sens)) {
        if (cJSON_IsString(sens) && !strcasecmp(sens->valuestring, "high"))
            threshold = 0.6f;
        else if (cJSON_IsString(sens) && !strcasecmp(sens->valuestring, "medium"))
            threshold = 0;
        else if (cJSON_IsString(sens) && !strcasecmp(sens->valuestring, "low"))
            threshold = 0.9f;
        else if (cJSON_IsNumber(sens) && sens->valuedouble > 0 && sens->valuedouble <= 1)
            threshold = (float)sens->valuedouble;
        else {
            status = fail(out, 400,
                          "Option 'sensitivity' must be low, medium, high or a number in (0,1].",
                          "options.sensitivity");
            goto done;
        }
    }
    size_t tl = strlen(text);
    int dim = jailbreak_dim(d);
    const float *v = NULL;
    if (embed && dim > 0 && (vec = malloc(sizeof(float) * (size_t)dim)) &&
        embed(embed_ctx, text, tl, vec) == 0)
        v = vec;
    jailbreak_result r;
    jailbreak_check(d, text, tl, v, threshold, &r);
    const char *types[JAILBREAK_TYPE_COUNT];
    int nt = 0;
    for (int k = 0; k < JAILBREAK_TYPE_COUNT; k++)
        if (r.types & (1u << k)) types[nt++] = jailbreak_type_name(1u << k);
    buf_reset(out);
    buf_printf(out, "{\"is_jailbreak\":%s,\"risk_score\":%.4f,\"detection_types\":",
               r.is_jailbreak ? "true" : "false", (double)r.confidence);
    json_str_list(out, types, nt);
    buf_printf(out, ",\"confidence\":%.4f,\"recommendation\":\"%s\"",
               (double)(r.is_jailbreak ? r.confidence : 1.0f - r.confidence),
               r.is_jailbreak ? "block" : "allow");
    if (reasoning) {
        buf why;
        buf_init(&why);
        if (r.n_patterns) {
            buf_puts(&why, "Matched signals: ");
            for (int k = 0; k < r.n_patterns; k++)
                buf_printf(&why, "%s%s", k ? ", " : "", r.patterns[k]);
            buf_printf(&why, " (pattern score %.2f). ", (double)r.pattern_score);
        } else {
            buf_puts(&why, "No attack pattern matched. ");
        }
        if (v)
            buf_printf(&why,
                       "Nearest attack exemplar similarity %.3f, nearest benign anchor %.3f. ",
                       (double)r.similarity, (double)r.benign_similarity);
        else
            buf_puts(&why, "Scored without an embedding. ");
        buf_printf(&why, "Risk %.3f %s threshold %.2f.", (double)r.confidence,
                   r.is_jailbreak ? "reaches" : "is below",
                   (double)(threshold > 0 ? threshold : JAILBREAK_DEFAULT_THRESHOLD));
        buf_puts(out, ",\"reasoning\":");
        buf_json_str(out, why.data ? why.data : "", why.len);
        buf_free(&why);
    }
    buf_puts(out, ",\"patterns_detected\":");
    json_str_list(out, r.patterns, r.n_patterns);
    buf_printf(out, ",\"processing_time_ms\":%llu}",
               (unsigned long long)((util_now_ns() - t0) / 1000000));
    if (out->oom) status = fail(out, 500, "Out of memory.", NULL);
done:
    free(vec);
    cJSON_Delete(root);
    return status;
}
