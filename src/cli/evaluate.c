/* evaluate.c - embedding labelled datasets and measuring a head (evaluate.h). */
#include "cli/evaluate.h"
#include "core/buf.h"
#include "core/progress.h"
#include "core/util.h"
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct embed_job {
    const embed_model *m;
    const char **texts;
    const size_t *lens;
    float *X;
    int from, to, dim, rc;
    char err[256];
    progress *prog;
} embed_job;

static void *embed_worker(void *arg)
{
    embed_job *j = arg;
    embed_state *s = embed_state_new(j->m);
    if (!s) {
        snprintf(j->err, sizeof j->err, "out of memory creating embedding state");
        j->rc = -1;
        return NULL;
    }
    for (int i = j->from; i < j->to && j->rc == 0; i++)
        if (embed_text(j->m, s, j->texts[i], j->lens[i], j->X + (size_t)i * j->dim, NULL, j->err,
                       sizeof j->err) < 0)
            j->rc = -1;
        else
            progress_add(j->prog, 1);
    embed_state_free(s);
    return NULL;
}

static int embed_rows(const embed_model *m, const char **texts, const size_t *lens, int n,
                      float *X, int threads, char *err, size_t errlen)
{
    if (threads < 1) threads = 1;
    if (threads > 16) threads = 16;
    if (threads > n) threads = n ? n : 1;
    embed_job jobs[16];
    pthread_t th[16];
    int dim = embed_dim(m);
    progress *prog = n > 0 ? progress_new("embedding", (uint64_t)n, "texts") : NULL;
    for (int t = 0; t < threads; t++) {
        jobs[t] = (embed_job){m, texts, lens, X, n * t / threads, n * (t + 1) / threads, dim, 0,
                              {0}, prog};
        if (t > 0 && pthread_create(&th[t], NULL, embed_worker, &jobs[t]) != 0) {
            jobs[t].rc = -1;
            snprintf(jobs[t].err, sizeof jobs[t].err, "cannot start an embedding thread");
        }
    }
    embed_worker(&jobs[0]);
    for (int t = 1; t < threads; t++)
        if (!(jobs[t].rc == -1 && !strcmp(jobs[t].err, "cannot start an embedding thread")))
            pthread_join(th[t], NULL);
    int failed = 0;
    for (int t = 0; t < threads; t++) failed |= jobs[t].rc < 0;
    if (failed) progress_abort(prog);
    else progress_done(prog, "%d texts embedded on %d thread%s", n, threads, threads == 1 ? "" : "s");
    for (int t = 0; t < threads; t++)
        if (jobs[t].rc < 0) {
            snprintf(err, errlen, "embedding failed: %s", jobs[t].err);
            return -1;
        }
    return 0;
}

/* ---- embedding cache ----
 * A file of (SHA-256(model id, text), vector) records, so a retrain with a few
 * changed texts embeds only those. Format: "SRVECC1\0", u32 dim, then records
 * of 32 key bytes + dim floats (host order: a local scratch file). */

typedef struct cache_rec {
    unsigned char key[32];
    float *vec; /* into the cache's float block */
} cache_rec;

static int cache_rec_cmp(const void *a, const void *b)
{
    return memcmp(((const cache_rec *)a)->key, ((const cache_rec *)b)->key, 32);
}

static void text_key(const embed_model *m, const char *text, size_t len, unsigned char out[32])
{
    buf kb;
    buf_init(&kb);
    buf_puts(&kb, embed_model_id(m));
    buf_putc(&kb, 0);
    buf_append(&kb, text, len);
    util_sha256(kb.data ? kb.data : "", kb.len, out);
    buf_free(&kb);
}

static int cache_embed_rows(const embed_model *m, const char **texts, const size_t *lens, int n,
                            float *X, int threads, const char *cache, char *err, size_t errlen)
{
    if (!cache) return embed_rows(m, texts, lens, n, X, threads, err, errlen);
    int dim = embed_dim(m), have = 0, rc = -1;
    size_t rec = 32 + (size_t)dim * sizeof(float);
    cache_rec *recs = NULL;
    float *block = NULL;
    unsigned char *keys = malloc((size_t)(n ? n : 1) * 32);
    int *missing = malloc((size_t)(n ? n : 1) * sizeof(int));
    if (!keys || !missing) goto oom;
    FILE *f = fopen(cache, "rb");
    if (f) {
        char magic[8];
        uint32_t fdim = 0;
        long size = 0;
        if (fread(magic, 1, 8, f) == 8 && !memcmp(magic, "SRVECC1", 8) &&
            fread(&fdim, 4, 1, f) == 1 && (int)fdim == dim && !fseek(f, 0, SEEK_END) &&
            (size = ftell(f)) >= 12 && !fseek(f, 12, SEEK_SET)) {
            have = (int)((size_t)(size - 12) / rec);
            recs = malloc((size_t)(have + n + 1) * sizeof *recs);
            block = malloc(((size_t)have + n + 1) * dim * sizeof(float));
            if (!recs || !block) {
                fclose(f);
                goto oom;
            }
            for (int i = 0; i < have; i++) {
                recs[i].vec = block + (size_t)i * dim;
                if (fread(recs[i].key, 1, 32, f) != 32 ||
                    fread(recs[i].vec, sizeof(float), (size_t)dim, f) != (size_t)dim) {
                    have = i;
                    break;
                }
            }
            qsort(recs, (size_t)have, sizeof *recs, cache_rec_cmp);
        }
        fclose(f);
    }
    if (!recs) {
        recs = malloc((size_t)(n + 1) * sizeof *recs);
        block = malloc(((size_t)n + 1) * dim * sizeof(float));
        if (!recs || !block) goto oom;
    }
    int n_missing = 0;
    for (int i = 0; i < n; i++) {
        cache_rec probe;
        text_key(m, texts[i], lens[i], probe.key);
        memcpy(keys + (size_t)i * 32, probe.key, 32);
        cache_rec *hit = have ? bsearch(&probe, recs, (size_t)have, sizeof *recs, cache_rec_cmp)
                              : NULL;
        if (hit) memcpy(X + (size_t)i * dim, hit->vec, (size_t)dim * sizeof(float));
        else missing[n_missing++] = i;
    }
    if (n_missing) {
        const char **mt = malloc((size_t)n_missing * sizeof *mt);
        size_t *ml = malloc((size_t)n_missing * sizeof *ml);
        float *mv = malloc((size_t)n_missing * dim * sizeof(float));
        int erc = -1;
        if (mt && ml && mv) {
            for (int k = 0; k < n_missing; k++) mt[k] = texts[missing[k]], ml[k] = lens[missing[k]];
            erc = embed_rows(m, mt, ml, n_missing, mv, threads, err, errlen);
            if (erc == 0) {
                for (int k = 0; k < n_missing; k++)
                    memcpy(X + (size_t)missing[k] * dim, mv + (size_t)k * dim,
                           (size_t)dim * sizeof(float));
                /* rewrite the cache: old records + the new ones */
                char tmp[4096];
                snprintf(tmp, sizeof tmp, "%s.tmp", cache);
                FILE *w = fopen(tmp, "wb");
                uint32_t d32 = (uint32_t)dim;
                int ok = w && fwrite("SRVECC1", 1, 8, w) == 8 && fwrite(&d32, 4, 1, w) == 1;
                for (int i = 0; ok && i < have; i++)
                    ok = fwrite(recs[i].key, 1, 32, w) == 32 &&
                         fwrite(recs[i].vec, sizeof(float), (size_t)dim, w) == (size_t)dim;
                for (int k = 0; ok && k < n_missing; k++)
                    ok = fwrite(keys + (size_t)missing[k] * 32, 1, 32, w) == 32 &&
                         fwrite(mv + (size_t)k * dim, sizeof(float), (size_t)dim, w) ==
                             (size_t)dim;
                if (w && fclose(w) != 0) ok = 0;
                if (ok) rename(tmp, cache);
                else remove(tmp);
            }
        } else snprintf(err, errlen, "out of memory embedding %d texts", n_missing);
        free(mt), free(ml), free(mv);
        if (erc < 0) goto out;
    }
    rc = 0;
    goto out;
oom:
    snprintf(err, errlen, "out of memory reading the embedding cache");
out:
    free(keys), free(missing), free(recs), free(block);
    return rc;
}

void route_embedded_free(route_embedded *e)
{
    free(e->X);
    free(e->y);
    free(e->w);
    free(e->text);
    free(e->len);
    free(e->labels);
    memset(e, 0, sizeof *e);
}

int route_embed_dataset(const embed_model *m, const route_dataset *d, int select, int full,
                        int stem, int threads, const char *cache, route_embedded *out, char *err,
                        size_t errlen)
{
    memset(out, 0, sizeof *out);
    int rows = 0;
    for (int i = 0; i < d->n; i++) {
        const route_sample *s = &d->samples[i];
        if (select >= 0 && s->holdout != select) continue;
        rows += s->mmlu ? (full != 0) + (stem != 0) : 1;
    }
    int dim = embed_dim(m);
    const char **texts = malloc((size_t)(rows ? rows : 1) * sizeof *texts);
    size_t *lens = malloc((size_t)(rows ? rows : 1) * sizeof *lens);
    out->X = malloc((size_t)(rows ? rows : 1) * dim * sizeof(float));
    out->y = malloc((size_t)(rows ? rows : 1) * sizeof(int));
    out->w = malloc((size_t)(rows ? rows : 1) * sizeof(float));
    out->labels = malloc((size_t)(d->n_labels ? d->n_labels : 1) * sizeof *out->labels);
    if (!texts || !lens || !out->X || !out->y || !out->w || !out->labels) {
        snprintf(err, errlen, "out of memory embedding %d texts", rows);
        goto fail;
    }
    memcpy(out->labels, d->labels, (size_t)d->n_labels * sizeof *out->labels);
    out->n_labels = d->n_labels;
    out->dim = dim;
    int r = 0;
    for (int i = 0; i < d->n; i++) {
        const route_sample *s = &d->samples[i];
        if (select >= 0 && s->holdout != select) continue;
        size_t len = strlen(s->text);
        if (!s->mmlu || full) {
            texts[r] = s->text, lens[r] = len, out->y[r] = s->label, out->w[r] = s->weight;
            r++;
        }
        if (s->mmlu && stem) {
            texts[r] = s->text, lens[r] = route_mmlu_stem(s->text, len), out->y[r] = s->label,
            out->w[r] = s->weight;
            r++;
        }
    }
    out->n = rows;

    if (cache_embed_rows(m, texts, lens, rows, out->X, threads, cache, err, errlen) < 0)
        goto fail;
    out->text = texts;
    out->len = lens;
    return 0;
fail:
    free(texts);
    free(lens);
    route_embedded_free(out);
    return -1;
}

double route_accuracy(const classifier_head *h, const route_embedded *e, int *confusion)
{
    int *map = malloc((size_t)(e->n_labels + 1) * sizeof *map);   /* e label -> head label */
    int *back = malloc((size_t)(h->n_classes + 1) * sizeof *back); /* head label -> e label */
    float *p = malloc((size_t)h->n_classes * sizeof *p);
    if (!map || !back || !p) {
        free(map), free(back), free(p);
        return -1;
    }
    for (int i = 0; i < e->n_labels; i++) map[i] = classifier_head_label_index(h, e->labels[i]);
    for (int c = 0; c < h->n_classes; c++) {
        back[c] = -1;
        for (int i = 0; i < e->n_labels; i++)
            if (map[i] == c) back[c] = i;
    }
    if (confusion) memset(confusion, 0, (size_t)e->n_labels * e->n_labels * sizeof(int));
    int correct = 0;
    for (int i = 0; i < e->n; i++) {
        classifier_head_probs(h, e->X + (size_t)i * e->dim, e->text[i], e->len[i], p);
        int top = 0;
        for (int c = 1; c < h->n_classes; c++)
            if (p[c] > p[top]) top = c;
        if (top == map[e->y[i]]) correct++;
        if (confusion && back[top] >= 0) confusion[e->y[i] * e->n_labels + back[top]]++;
    }
    free(map), free(back), free(p);
    return e->n ? (double)correct / e->n : 0;
}

void route_report(const classifier_head *h, const route_embedded *e, const char *title, FILE *out)
{
    int k = e->n_labels;
    int *conf = malloc((size_t)k * k * sizeof *conf);
    if (!conf) return;
    double acc = route_accuracy(h, e, conf);
    fprintf(out, "\n== %s: %d texts, accuracy %.4f\n", title, e->n, acc);
    fprintf(out, "confusion (rows = true, columns = predicted):\n%-17s", "");
    for (int j = 0; j < k; j++) fprintf(out, " %4.4s", e->labels[j]);
    fprintf(out, "  recall\n");
    for (int i = 0; i < k; i++) {
        int tot = 0;
        for (int j = 0; j < k; j++) tot += conf[i * k + j];
        if (!tot) continue;
        fprintf(out, "%-17.17s", e->labels[i]);
        for (int j = 0; j < k; j++) fprintf(out, " %4d", conf[i * k + j]);
        fprintf(out, "  %.3f\n", (double)conf[i * k + i] / tot);
    }
    free(conf);
    /* Coverage vs accuracy when predictions below a confidence threshold are
     * dropped (they go to default_model): what category_model.threshold costs. */
    float *p = malloc((size_t)h->n_classes * sizeof *p);
    if (!p) return;
    static const float ths[] = {0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f};
    int kept[7] = {0}, ok[7] = {0};
    for (int i = 0; i < e->n; i++) {
        classifier_head_probs(h, e->X + (size_t)i * e->dim, e->text[i], e->len[i], p);
        int top = 0;
        for (int c = 1; c < h->n_classes; c++)
            if (p[c] > p[top]) top = c;
        int right = !strcasecmp(h->labels[top], e->labels[e->y[i]]);
        for (int t = 0; t < 7; t++)
            if (p[top] >= ths[t]) kept[t]++, ok[t] += right;
    }
    fprintf(out, "threshold: coverage / accuracy of the covered\n");
    for (int t = 0; t < 7; t++)
        fprintf(out, "  %.1f: %.3f / %.3f\n", ths[t], e->n ? (double)kept[t] / e->n : 0,
                kept[t] ? (double)ok[t] / kept[t] : 0);
    free(p);
}
