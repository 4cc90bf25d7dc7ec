/* classify.c - classification API handlers (see classify.h; `semrouter classify` is
 * src/cli/classify.c). */
#include "api/classify.h"
#include "core/openai_error.h"
#include "api/classify_guard.h"
#include "config/config.h"
#include "core/util.h"
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int error_out(buf *out, int status, const char *msg, const char *param)
{
    api_error_json(out, msg, api_error_type_for_status(status), param,
                   status >= 500 ? "classification_failed" : "invalid_value");
    return status;
}

int classify_text(const classify_api_ctx *ctx, const char *text, size_t len,
                         classify_one *r, char *err, size_t errlen)
{
    uint64_t t0 = util_now_ns();
    int dim = embed_dim(ctx->model);
    float *vec = r->vec;
    r->dim = dim;
    if (dim > CLASSIFY_MAX_DIM) {
        snprintf(err, errlen, "embedding dimension %d is too large", dim);
        return -1;
    }
    if (embed_text(ctx->model, ctx->state, text, len, vec, NULL, err, errlen) < 0) return -1;
    const classifier *c = route_engine_classifier(ctx->engine);
    if (classifier_n_labels(c) > CLASSIFY_MAX_LABELS ||
        classifier_classify(c, vec, dim, text, len, r->probs, &r->cr) < 0) {
        snprintf(err, errlen, "the classifier cannot classify this embedding");
        return -1;
    }
    const classifier_head *h = classifier_get_head(c);
    r->n_probs = h ? h->n_classes : 0;
    route_input in = {.text = text, .text_len = len, .embedding = vec, .dim = dim};
    if (route_decide(ctx->engine, &in, &r->d, err, errlen) < 0) return -1;
    if (r->d.category) r->category = r->d.category;
    else {
        int cat = route_engine_label_category(ctx->engine, r->cr.label);
        r->category = cat >= 0 ? route_engine_config(ctx->engine)->categories[cat].name
                               : r->cr.category;
    }
    r->ms = (double)(util_now_ns() - t0) / 1e6;
    return 0;
}

static void write_probs(buf *out, const classify_api_ctx *ctx, const classify_one *r)
{
    const classifier *c = route_engine_classifier(ctx->engine);
    buf_putc(out, '{');
    for (int i = 0; i < r->n_probs; i++) {
        if (i) buf_putc(out, ',');
        const char *l = classifier_label(c, i);
        buf_json_str(out, l, strlen(l));
        buf_printf(out, ":%.6f", r->probs[i]);
    }
    buf_putc(out, '}');
}

static void json_str_or_null(buf *out, const char *s)
{
    if (s) buf_json_str(out, s, strlen(s));
    else buf_puts(out, "null");
}

/* Parses {"text"|"texts", "options"}; returns the root or NULL after writing a 400. */
static cJSON *parse_body(const char *body, size_t len, buf *out, int *status)
{
    cJSON *root = body ? cJSON_ParseWithLength(body, len) : NULL;
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        *status = error_out(out, 400, "The request body must be a JSON object.", NULL);
        return NULL;
    }
    return root;
}

static double option_number(const cJSON *root, const char *name, double dflt)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(root, "options");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

static int option_bool(const cJSON *root, const char *name)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(root, "options");
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, name));
}

/* The intent object of one classified text. */
static void write_intent(buf *out, const classify_api_ctx *ctx, const classify_one *r, double th,
                         int probs)
{
    buf_puts(out, "{\"classification\":{\"category\":");
    json_str_or_null(out, r->category);
    buf_printf(out, ",\"confidence\":%.6f,\"processing_time_ms\":%.3f}", r->d.confidence, r->ms);
    if (probs && r->n_probs) {
        buf_puts(out, ",\"probabilities\":");
        write_probs(out, ctx, r);
    }
    buf_puts(out, ",\"recommended_model\":");
    json_str_or_null(out, r->d.model);
    buf_printf(out, ",\"routing_decision\":\"%s\"",
               r->d.confidence >= th && r->category ? "high_confidence_specialized"
                                                    : "low_confidence_general");
    buf_printf(out, ",\"method\":\"%s\",\"reason_code\":\"%s\"", r->d.method,
               route_reason_name(r->d.reason));
    buf_printf(out, ",\"reasoning\":{\"enabled\":%s,\"effort\":", r->d.reasoning ? "true" : "false");
    json_str_or_null(out, r->d.reasoning_effort);
    if (r->d.entropy.level)
        buf_printf(out, ",\"uncertainty_level\":\"%s\",\"normalized_entropy\":%.4f",
                   r->d.entropy.level, r->d.entropy.normalized_entropy);
    buf_puts(out, "}}");
}

/* The security check reuses the embedding computed for the intent. */
typedef struct vec_ctx {
    const float *vec;
    int dim;
} vec_ctx;

static int reuse_vec(void *c, const char *text, size_t len, float *vec)
{
    (void)text, (void)len;
    const vec_ctx *v = c;
    memcpy(vec, v->vec, (size_t)v->dim * sizeof(float));
    return 0;
}

/* {"text": text, "options": options} for the guard handlers. */
static void sub_body(buf *b, const char *text, const cJSON *options)
{
    buf_puts(b, "{\"text\":");
    buf_json_str(b, text, strlen(text));
    if (cJSON_IsObject(options)) {
        char *o = cJSON_PrintUnformatted(options);
        if (o) {
            buf_puts(b, ",\"options\":");
            buf_puts(b, o);
            free(o);
        } else b->oom = 1;
    }
    buf_putc(b, '}');
}

/* The guard handlers own their output buffer (they may reset it), so each
 * writes into a scratch buffer that is then appended. */
static void write_pii(buf *out, const char *text, const cJSON *options)
{
    buf b, o;
    buf_init(&b);
    buf_init(&o);
    sub_body(&b, text, options);
    classify_pii_api_handle(b.data, b.len, &o);
    buf_append(out, o.data ? o.data : "null", o.data ? o.len : 4);
    if (b.oom || o.oom) out->oom = 1;
    buf_free(&b);
    buf_free(&o);
}

static void write_security(buf *out, const classify_guard_ctx *guard, const char *text,
                           const cJSON *options, const classify_one *r)
{
    buf b, o;
    buf_init(&b);
    buf_init(&o);
    sub_body(&b, text, options);
    vec_ctx v = {r->vec, r->dim};
    classify_security_api_handle(b.data, b.len, guard ? guard->jailbreak : NULL, reuse_vec, &v,
                                 guard ? guard->threshold : 0, &o);
    buf_append(out, o.data ? o.data : "null", o.data ? o.len : 4);
    if (b.oom || o.oom) out->oom = 1;
    buf_free(&b);
    buf_free(&o);
}

/* {"intent", "pii", "security", "processing_time_ms"} of one classified text. */
static void write_combined(buf *out, const classify_api_ctx *ctx, const classify_guard_ctx *guard,
                           const char *text, const cJSON *options, const classify_one *r,
                           double th, int probs)
{
    uint64_t t0 = util_now_ns();
    buf_puts(out, "{\"intent\":");
    write_intent(out, ctx, r, th, probs);
    buf_puts(out, ",\"pii\":");
    write_pii(out, text, options);
    buf_puts(out, ",\"security\":");
    write_security(out, guard, text, options, r);
    buf_printf(out, ",\"processing_time_ms\":%.3f}", r->ms + (double)(util_now_ns() - t0) / 1e6);
}

static int finish(buf *out, int status)
{
    if (out->oom) {
        buf_reset(out);
        out->oom = 0;
        return error_out(out, 500, "out of memory", NULL);
    }
    return status;
}

/* intent (combined = 0) and combined (1) share request parsing. */
static int single_text(const classify_api_ctx *ctx, const classify_guard_ctx *guard,
                       const char *body, size_t len, buf *out, int combined)
{
    int status = 200;
    cJSON *root = parse_body(body, len, out, &status);
    if (!root) return status;
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(root, "text");
    if (!cJSON_IsString(text) || !text->valuestring[0]) {
        cJSON_Delete(root);
        return error_out(out, 400, "'text' is required and must be a non-empty string.", "text");
    }
    const sr_config *cfg = route_engine_config(ctx->engine);
    double th = option_number(root, "confidence_threshold",
                              cfg->classifier.category_model.threshold);
    int probs = option_bool(root, "return_probabilities");
    classify_one *r = malloc(sizeof *r);
    char err[512];
    if (!r || classify_text(ctx, text->valuestring, strlen(text->valuestring), r, err,
                            sizeof err) < 0) {
        cJSON_Delete(root);
        status = error_out(out, 500, r ? err : "out of memory", NULL);
        free(r);
        return status;
    }
    if (combined)
        write_combined(out, ctx, guard, text->valuestring,
                       cJSON_GetObjectItemCaseSensitive(root, "options"), r, th, probs);
    else write_intent(out, ctx, r, th, probs);
    free(r);
    cJSON_Delete(root);
    return finish(out, 200);
}

int classify_api_intent(const classify_api_ctx *ctx, const char *body, size_t len, buf *out)
{
    return single_text(ctx, NULL, body, len, out, 0);
}

int classify_api_combined(const classify_api_ctx *ctx, const classify_guard_ctx *guard,
                          const char *body, size_t len, buf *out)
{
    return single_text(ctx, guard, body, len, out, 1);
}

enum { TASK_INTENT, TASK_PII, TASK_SECURITY, TASK_ALL };

int classify_api_batch(const classify_api_ctx *ctx, const char *body, size_t len, buf *out)
{
    return classify_api_batch_guarded(ctx, NULL, body, len, out);
}

int classify_api_batch_guarded(const classify_api_ctx *ctx, const classify_guard_ctx *guard,
                               const char *body, size_t len, buf *out)
{
    int status = 200;
    cJSON *root = parse_body(body, len, out, &status);
    if (!root) return status;
    const sr_config *cfg = route_engine_config(ctx->engine);
    int max = cfg->batch_classification.max_batch_size > 0 ? cfg->batch_classification.max_batch_size
                                                           : 100;
    const cJSON *texts = cJSON_GetObjectItemCaseSensitive(root, "texts");
    const cJSON *task = cJSON_GetObjectItemCaseSensitive(root, "task_type");
    const cJSON *options = cJSON_GetObjectItemCaseSensitive(root, "options");
    char msg[256];
    if (!cJSON_IsArray(texts) || cJSON_GetArraySize(texts) == 0) {
        cJSON_Delete(root);
        return error_out(out, 400, "'texts' is required and must be a non-empty array of strings.",
                         "texts");
    }
    int n = cJSON_GetArraySize(texts);
    if (n > max) {
        snprintf(msg, sizeof msg, "'texts' has %d items; the maximum batch size is %d.", n, max);
        cJSON_Delete(root);
        return error_out(out, 400, msg, "texts");
    }
    int kind = TASK_INTENT;
    if (task) {
        const char *tn = cJSON_IsString(task) ? task->valuestring : "";
        if (!strcmp(tn, "intent")) kind = TASK_INTENT;
        else if (!strcmp(tn, "pii")) kind = TASK_PII;
        else if (!strcmp(tn, "security")) kind = TASK_SECURITY;
        else if (!strcmp(tn, "all")) kind = TASK_ALL;
        else {
            cJSON_Delete(root);
            return error_out(out, 400,
                             "'task_type' must be one of \"intent\", \"pii\", \"security\", \"all\".",
                             "task_type");
        }
    }
    const cJSON *t;
    int i = 0;
    cJSON_ArrayForEach(t, texts)
    {
        if (!cJSON_IsString(t) || !t->valuestring[0]) {
            snprintf(msg, sizeof msg, "texts[%d] must be a non-empty string.", i);
            cJSON_Delete(root);
            return error_out(out, 400, msg, "texts");
        }
        i++;
    }
    int probs = option_bool(root, "return_probabilities");
    double th = option_number(root, "confidence_threshold",
                              cfg->classifier.category_model.threshold);
    uint64_t t0 = util_now_ns();
    classify_one *r = malloc(sizeof *r);
    /* category distribution: count per category name (n ≤ max batch, linear lookup) */
    const char **names = calloc((size_t)n, sizeof *names);
    int *counts = calloc((size_t)n, sizeof *counts);
    int n_names = 0, low = 0;
    double sum_conf = 0;
    char err[512];
    buf res;
    buf_init(&res);
    if (!r || !names || !counts) goto oom;
    i = 0;
    cJSON_ArrayForEach(t, texts)
    {
        if (i++) buf_putc(&res, ',');
        if (kind == TASK_PII) { /* no embedding needed */
            write_pii(&res, t->valuestring, options);
            continue;
        }
        if (classify_text(ctx, t->valuestring, strlen(t->valuestring), r, err, sizeof err) < 0) {
            free(r), free(names), free(counts), buf_free(&res);
            cJSON_Delete(root);
            return error_out(out, 500, err, NULL);
        }
        if (kind == TASK_SECURITY) {
            write_security(&res, guard, t->valuestring, options, r);
            continue;
        }
        if (kind == TASK_ALL) {
            write_combined(&res, ctx, guard, t->valuestring, options, r, th, probs);
        } else {
            buf_puts(&res, "{\"category\":");
            json_str_or_null(&res, r->category);
            buf_printf(&res, ",\"confidence\":%.6f,\"processing_time_ms\":%.3f", r->d.confidence,
                       r->ms);
            if (probs && r->n_probs) {
                buf_puts(&res, ",\"probabilities\":");
                write_probs(&res, ctx, r);
            }
            buf_putc(&res, '}');
        }
        sum_conf += r->d.confidence;
        if (r->d.confidence < th) low++;
        const char *cat = r->category ? r->category : "unknown";
        int k = 0;
        while (k < n_names && strcmp(names[k], cat)) k++;
        if (k == n_names) names[n_names++] = cat;
        counts[k]++;
    }
    buf_puts(out, "{\"results\":[");
    buf_append(out, res.data ? res.data : "", res.len);
    buf_printf(out, "],\"total_count\":%d,\"processing_time_ms\":%.3f", n,
               (double)(util_now_ns() - t0) / 1e6);
    if (kind == TASK_INTENT || kind == TASK_ALL) {
        buf_puts(out, ",\"statistics\":{\"category_distribution\":{");
        for (int k = 0; k < n_names; k++) {
            if (k) buf_putc(out, ',');
            buf_json_str(out, names[k], strlen(names[k]));
            buf_printf(out, ":%d", counts[k]);
        }
        buf_printf(out, "},\"avg_confidence\":%.6f,\"low_confidence_count\":%d}", sum_conf / n,
                   low);
    }
    buf_putc(out, '}');
    if (res.oom) goto oom;
    free(r), free(names), free(counts), buf_free(&res);
    cJSON_Delete(root);
    return finish(out, 200);
oom:
    free(r), free(names), free(counts), buf_free(&res);
    cJSON_Delete(root);
    buf_reset(out);
    out->oom = 0;
    return error_out(out, 500, "out of memory", NULL);
}
