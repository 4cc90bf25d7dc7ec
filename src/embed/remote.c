/* remote.c - OpenAI-compatible POST {url}/embeddings over libcurl easy (see remote.h). */
#include "embed/remote.h"
#include "core/buf.h"
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct remote_model {
    char *endpoint; /* {url}/embeddings */
    char *model;    /* "model" sent, or NULL */
    char *auth;     /* "Authorization: Bearer ..." header, or NULL */
    int dim, timeout_ms;
    char id[256];
};

struct remote_state {
    CURL *curl;
    struct curl_slist *headers;
    buf req, resp;
};

static size_t on_body(char *p, size_t size, size_t n, void *userdata)
{
    buf *b = userdata;
    if (b->len + size * n > (64u << 20)) return 0; /* refuse absurd answers: aborts the transfer */
    buf_append(b, p, size * n);
    return b->oom ? 0 : size * n;
}

static void write_request(const remote_model *m, buf *b, const char *const *texts,
                          const size_t *lens, int n)
{
    buf_reset(b);
    buf_puts(b, "{");
    if (m->model) {
        buf_puts(b, "\"model\":");
        buf_json_str(b, m->model, strlen(m->model));
        buf_puts(b, ",");
    }
    buf_puts(b, "\"encoding_format\":\"float\",\"input\":");
    if (n == 1)
        buf_json_str(b, texts[0], lens[0]);
    else {
        buf_putc(b, '[');
        for (int i = 0; i < n; i++) {
            if (i) buf_putc(b, ',');
            buf_json_str(b, texts[i], lens[i]);
        }
        buf_putc(b, ']');
    }
    buf_putc(b, '}');
}

/* Parses an embeddings answer into out (dim checked unless *dim == 0, then learnt). */
static int parse_answer(const char *body, size_t len, int n, int *dim, float *out,
                        int *prompt_tokens, char *err, size_t errlen)
{
    cJSON *root = cJSON_ParseWithLength(body, len);
    int rc = -1;
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
    if (!cJSON_IsArray(data) || cJSON_GetArraySize(data) != n) {
        snprintf(err, errlen, "remote embeddings answer has no data list of %d item(s)", n);
        goto out;
    }
    const cJSON *item;
    int pos = 0;
    cJSON_ArrayForEach(item, data)
    {
        const cJSON *idx = cJSON_GetObjectItemCaseSensitive(item, "index");
        const cJSON *emb = cJSON_GetObjectItemCaseSensitive(item, "embedding");
        int row = cJSON_IsNumber(idx) ? idx->valueint : pos;
        pos++;
        if (row < 0 || row >= n || !cJSON_IsArray(emb)) {
            snprintf(err, errlen, "remote embeddings answer item %d is malformed", pos - 1);
            goto out;
        }
        int d = cJSON_GetArraySize(emb);
        if (*dim == 0) *dim = d;
        if (d != *dim || d <= 0) {
            snprintf(err, errlen, "remote embedding has %d dimensions, expected %d", d, *dim);
            goto out;
        }
        if (!out) continue;
        float *o = out + (size_t)row * d;
        double ss = 0;
        int k = 0;
        const cJSON *v;
        cJSON_ArrayForEach(v, emb)
        {
            if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) {
                snprintf(err, errlen, "remote embedding holds a non-number");
                goto out;
            }
            o[k++] = (float)v->valuedouble;
            ss += v->valuedouble * v->valuedouble;
        }
        float inv = ss > 0 ? (float)(1.0 / sqrt(ss)) : 0.0f;
        for (k = 0; k < d; k++)
            o[k] *= inv;
    }
    if (prompt_tokens) {
        const cJSON *pt = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(root, "usage"), "prompt_tokens");
        *prompt_tokens = cJSON_IsNumber(pt) ? pt->valueint : -1;
    }
    rc = 0;
out:
    cJSON_Delete(root);
    return rc;
}

/* 0 for HTTP 200; else -1 with the status and the server's error message in err. */
static int status_error(const remote_model *m, long status, const char *body, size_t len, char *err,
                        size_t errlen)
{
    if (status == 200) return 0;
    cJSON *e = cJSON_ParseWithLength(body ? body : "", len);
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(e, "error"), "message");
    snprintf(err, errlen, "remote embeddings endpoint %s answered HTTP %ld%s%s", m->endpoint, status,
             cJSON_IsString(msg) ? ": " : "", cJSON_IsString(msg) ? msg->valuestring : "");
    cJSON_Delete(e);
    return -1;
}

/* One POST; on success the body is in s->resp. */
static int post(const remote_model *m, remote_state *s, char *err, size_t errlen)
{
    buf_reset(&s->resp);
    CURL *c = s->curl;
    curl_easy_setopt(c, CURLOPT_URL, m->endpoint);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, s->headers);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, s->req.data);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)s->req.len);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s->resp);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)m->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)m->timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    CURLcode cc = curl_easy_perform(c);
    if (cc == CURLE_OPERATION_TIMEDOUT) {
        snprintf(err, errlen, "remote embeddings request to %s timed out after %d ms", m->endpoint,
                 m->timeout_ms);
        return -1;
    }
    if (cc != CURLE_OK) {
        snprintf(err, errlen, "remote embeddings request to %s failed: %s", m->endpoint,
                 curl_easy_strerror(cc));
        return -1;
    }
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    return status_error(m, status, s->resp.data, s->resp.len, err, errlen);
}

remote_model *remote_load(const embed_options *opt, char *err, size_t errlen)
{
    if (!opt->url || (strncmp(opt->url, "http://", 7) && strncmp(opt->url, "https://", 8))) {
        snprintf(err, errlen, "remote embedding model: url must start with http:// or https://");
        return NULL;
    }
    if (opt->dim < 0 || opt->dim > 65536 || opt->timeout_ms < 0) {
        snprintf(err, errlen, "remote embedding model: dim must be 0..65536, timeout_ms >= 0");
        return NULL;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    remote_model *m = calloc(1, sizeof *m);
    if (!m) goto oom;
    size_t ul = strlen(opt->url);
    while (ul > 0 && opt->url[ul - 1] == '/')
        ul--;
    if (!(m->endpoint = malloc(ul + sizeof "/embeddings"))) goto oom;
    memcpy(m->endpoint, opt->url, ul);
    strcpy(m->endpoint + ul, "/embeddings");
    if (opt->remote_model && !(m->model = strdup(opt->remote_model))) goto oom;
    if (opt->api_key_env && *opt->api_key_env) {
        const char *key = getenv(opt->api_key_env);
        if (!key || !*key) {
            snprintf(err, errlen, "remote embedding model: environment variable %s is not set",
                     opt->api_key_env);
            remote_free(m);
            return NULL;
        }
        size_t n = strlen(key) + 32;
        if (!(m->auth = malloc(n))) goto oom;
        snprintf(m->auth, n, "Authorization: Bearer %s", key);
    }
    m->timeout_ms = opt->timeout_ms ? opt->timeout_ms : 10000;
    m->dim = opt->dim;
    if (m->dim == 0) { /* learn it: one blocking request */
        remote_state *s = remote_state_new(m);
        if (!s) goto oom;
        const char *probe = "dimension probe";
        size_t plen = strlen(probe);
        write_request(m, &s->req, &probe, &plen, 1);
        int rc = post(m, s, err, errlen);
        if (!rc) rc = parse_answer(s->resp.data, s->resp.len, 1, &m->dim, NULL, NULL, err, errlen);
        remote_state_free(s);
        if (rc) {
            remote_free(m);
            return NULL;
        }
    }
    snprintf(m->id, sizeof m->id, "remote-%d:%.100s@%.120s", m->dim, m->model ? m->model : "",
             m->endpoint);
    return m;
oom:
    snprintf(err, errlen, "out of memory");
    remote_free(m);
    return NULL;
}

void remote_free(remote_model *m)
{
    if (!m) return;
    free(m->endpoint);
    free(m->model);
    free(m->auth);
    free(m);
}

int remote_dim(const remote_model *m)
{
    return m->dim;
}
const char *remote_id(const remote_model *m)
{
    return m->id;
}

remote_state *remote_state_new(const remote_model *m)
{
    remote_state *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    buf_init(&s->req);
    buf_init(&s->resp);
    s->curl = curl_easy_init();
    s->headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (s->headers && m->auth) {
        struct curl_slist *h = curl_slist_append(s->headers, m->auth);
        if (h)
            s->headers = h;
        else {
            curl_slist_free_all(s->headers);
            s->headers = NULL;
        }
    }
    if (!s->curl || !s->headers) {
        remote_state_free(s);
        return NULL;
    }
    return s;
}

void remote_state_free(remote_state *s)
{
    if (!s) return;
    if (s->curl) curl_easy_cleanup(s->curl);
    curl_slist_free_all(s->headers);
    buf_free(&s->req);
    buf_free(&s->resp);
    free(s);
}

int remote_embed(const remote_model *m, remote_state *s, const char *const *texts,
                 const size_t *lens, int n, float *out, int *prompt_tokens, char *err,
                 size_t errlen)
{
    if (n <= 0) return 0;
    write_request(m, &s->req, texts, lens, n);
    if (s->req.oom) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (post(m, s, err, errlen)) return -1;
    int dim = m->dim;
    return parse_answer(s->resp.data, s->resp.len, n, &dim, out, prompt_tokens, err, errlen);
}

void remote_write_body(const remote_model *m, buf *b, const char *const *texts, const size_t *lens,
                       int n)
{
    write_request(m, b, texts, lens, n);
}

int remote_parse(const remote_model *m, long status, const char *body, size_t len, int n, float *out,
                 char *err, size_t errlen)
{
    if (status_error(m, status, body, len, err, errlen)) return -1;
    int dim = m->dim;
    return parse_answer(body ? body : "", len, n, &dim, out, NULL, err, errlen);
}

const char *remote_url(const remote_model *m)
{
    return m->endpoint;
}

const char *remote_auth_header(const remote_model *m)
{
    return m->auth;
}

int remote_timeout_ms(const remote_model *m)
{
    return m->timeout_ms;
}
