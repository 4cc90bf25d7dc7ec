/* validate.c - the checks that need the whole file, run after parsing: names
 * that refer to other sections (models, endpoints, categories, reasoning
 * families), duplicates, endpoint addresses and URLs, and the fields derived
 * from them (endpoint api_base, *_index, effective per-category overrides).
 *
 * Every problem is reported (nothing stops at the first one) at the line of
 * the field that carries it, using the marks recorded while parsing. */
#include "config/config_internal.h"
#include "core/codec.h"
#include "core/util.h"
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static int is_ip_literal(const char *s)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* RFC 1123 host name (underscores tolerated: container names use them). */
static int is_hostname(const char *s)
{
    size_t n = strlen(s), label = 0;
    if (n == 0 || n > 253) return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '.') {
            if (label == 0 || s[i - 1] == '-') return 0;
            label = 0;
            continue;
        }
        if (!isalnum((unsigned char)ch) && ch != '-' && ch != '_') return 0;
        if (label == 0 && ch == '-') return 0;
        if (++label > 63) return 0;
    }
    return label > 0 || s[n - 1] == '.';
}

/* Parses http(s)://host[:port][/path]. On success fills the outputs (owned by the
 * caller) and returns 0; on failure writes a sentence fragment into err. */
static int parse_http_url(const char *url, bool *tls, char **host, int *port, char **path,
                          char *err, size_t errlen)
{
    const char *p;
    if (!strncasecmp(url, "http://", 7))
        *tls = false, p = url + 7;
    else if (!strncasecmp(url, "https://", 8))
        *tls = true, p = url + 8;
    else
        return snprintf(err, errlen, "must start with http:// or https://"), -1;
    if (strpbrk(p, "?#")) return snprintf(err, errlen, "must not contain a query or fragment"), -1;
    if (strpbrk(p, " \t\r\n")) return snprintf(err, errlen, "must not contain spaces"), -1;
    const char *slash = strchr(p, '/');
    const char *hostend = slash ? slash : p + strlen(p);
    const char *at = memchr(p, '@', (size_t)(hostend - p));
    if (at) return snprintf(err, errlen, "must not contain credentials (use api_key_env)"), -1;
    const char *h = p, *he, *portstr = NULL;
    if (*h == '[') {
        const char *close = memchr(h, ']', (size_t)(hostend - h));
        if (!close) return snprintf(err, errlen, "has an unterminated IPv6 address"), -1;
        h++;
        he = close;
        if (close + 1 < hostend) {
            if (close[1] != ':')
                return snprintf(err, errlen, "has junk after the IPv6 address"), -1;
            portstr = close + 2;
        }
    } else {
        const char *colon = memchr(h, ':', (size_t)(hostend - h));
        he = colon ? colon : hostend;
        if (colon) portstr = colon + 1;
    }
    char *hs = strndup(h, (size_t)(he - h));
    if (!hs) return snprintf(err, errlen, "out of memory"), -1;
    if (!*hs || !(is_ip_literal(hs) || is_hostname(hs))) {
        snprintf(err, errlen, "has an invalid host '%s'", hs);
        free(hs);
        return -1;
    }
    int pt = *tls ? 443 : 80;
    if (portstr) {
        char *end;
        long v = strtol(portstr, &end, 10);
        if (end == portstr || end != hostend || v < 1 || v > 65535) {
            snprintf(err, errlen, "has an invalid port");
            free(hs);
            return -1;
        }
        pt = (int)v;
    }
    /* Path prefix without trailing slashes. */
    size_t plen = slash ? strlen(slash) : 0;
    while (plen > 0 && slash[plen - 1] == '/')
        plen--;
    *host = hs;
    *port = pt;
    *path = strndup(slash ? slash : "", plen);
    return 0;
}

static char *make_api_base(bool tls, const char *host, int port, const char *path)
{
    char *out = NULL;
    int v6 = strchr(host, ':') != NULL;
    if (asprintf(&out, "%s://%s%s%s:%d%s", tls ? "https" : "http", v6 ? "[" : "", host,
                 v6 ? "]" : "", port, path && *path ? path : "/v1") < 0)
        return NULL;
    return out;
}

static void validate_server(cfg_loader *L)
{
    sr_server_config *s = &L->cfg->server;
    if (!s->listen || !*s->listen || !(is_ip_literal(s->listen) || is_hostname(s->listen)))
        cfg_error_addr(L, &s->listen, "server.listen must be an IP address or host name, got '%s'",
                       s->listen ? s->listen : "");
    if (s->metrics_port && s->metrics_port == s->port)
        cfg_error_addr(L, &s->metrics_port,
                       "server.metrics_port %d is the same as server.port; use another port or "
                       "0 (metrics on the main listener only)",
                       s->metrics_port);
}

static void validate_endpoint(cfg_loader *L, sr_endpoint *e, size_t i)
{
    char what[300];
    if (e->name && *e->name)
        snprintf(what, sizeof what, "endpoint '%s'", e->name);
    else
        snprintf(what, sizeof what, "vllm_endpoints[%zu]", i);
    if (!e->name || !*e->name) cfg_error_addr(L, e, "%s: missing 'name'", what);

    bool has_addr = e->address && *e->address, has_url = e->base_url && *e->base_url;
    if (has_addr && has_url) {
        cfg_error_addr(L, &e->base_url,
                       "%s has both address and base_url; give one (address+port, or base_url)",
                       what);
        return;
    }
    if (!has_addr && !has_url) {
        cfg_error_addr(L, e, "%s needs address and port, or base_url", what);
        return;
    }
    char err[200];
    if (has_url) {
        char *path = NULL;
        if (parse_http_url(e->base_url, &e->tls, &e->host, &e->host_port, &path, err, sizeof err)) {
            cfg_error_addr(L, &e->base_url, "%s: base_url '%s' %s", what, e->base_url, err);
            return;
        }
        if (e->port)
            cfg_error_addr(L, &e->port, "%s: port goes inside base_url, not next to it", what);
        e->api_base = make_api_base(e->tls, e->host, e->host_port, path);
        free(path);
        return;
    }
    const char *a = e->address;
    if (strstr(a, "://") || strchr(a, '/')) {
        cfg_error_addr(L, &e->address,
                       "%s: address '%s' must be an IP address or host name without scheme or "
                       "path; use base_url for URLs",
                       what, a);
        return;
    }
    const char *colon = strchr(a, ':');
    if (colon && !strchr(colon + 1, ':')) { /* one colon: host:port, not IPv6 */
        cfg_error_addr(L, &e->address, "%s: address '%s' must not include a port; put it in 'port'",
                       what, a);
        return;
    }
    char *host = NULL;
    if (a[0] == '[' && a[strlen(a) - 1] == ']')
        host = strndup(a + 1, strlen(a) - 2);
    else
        host = strdup(a);
    if (!host) return;
    if (!is_ip_literal(host) && !is_hostname(host)) {
        cfg_error_addr(L, &e->address, "%s: address '%s' is not an IP address or host name", what,
                       a);
        free(host);
        return;
    }
    if (!e->port) {
        cfg_error_addr(L, e, "%s: missing 'port' (needed with address)", what);
        free(host);
        return;
    }
    e->tls = false;
    e->host = host;
    e->host_port = e->port;
    e->api_base = make_api_base(false, host, e->port, "/v1");
}

static void validate_endpoints(cfg_loader *L)
{
    sr_config *c = L->cfg;
    for (size_t i = 0; i < c->n_endpoints; i++) {
        sr_endpoint *e = &c->endpoints[i];
        validate_endpoint(L, e, i);
        for (size_t j = 0; j < i && e->name; j++)
            if (c->endpoints[j].name && !strcmp(c->endpoints[j].name, e->name))
                cfg_error_addr(L, &e->name, "endpoint name '%s' is used twice (first at line %d)",
                               e->name, cfg_line_of(L, &c->endpoints[j].name));
        if (e->api_key_env && *e->api_key_env) {
            const char *v = getenv(e->api_key_env);
            if (v && *v)
                e->api_key = strdup(v);
            else
                cfg_warn_addr(L, &e->api_key_env,
                              "endpoint '%s': environment variable %s is not set; requests go "
                              "without an Authorization header",
                              e->name ? e->name : "?", e->api_key_env);
        }
    }
}

static void validate_families(cfg_loader *L)
{
    sr_config *c = L->cfg;
    for (size_t i = 0; i < c->n_reasoning_families; i++)
        for (size_t j = 0; j < i; j++)
            if (!strcmp(c->reasoning_families[i].name, c->reasoning_families[j].name))
                cfg_error_addr(L, &c->reasoning_families[i],
                               "reasoning family '%s' is defined twice (first at line %d)",
                               c->reasoning_families[i].name,
                               cfg_line_of(L, &c->reasoning_families[j]));
}

static void validate_models(cfg_loader *L)
{
    sr_config *c = L->cfg;
    if (c->n_models == 0) {
        cfg_error_addr(L, &c->models,
                       "model_config defines no models; add at least one model with its "
                       "preferred_endpoints");
        return;
    }
    for (size_t i = 0; i < c->n_models; i++) {
        sr_model *m = &c->models[i];
        for (size_t j = 0; j < i; j++)
            if (!strcmp(c->models[j].name, m->name))
                cfg_error_addr(L, m, "model '%s' is defined twice (first at line %d)", m->name,
                               cfg_line_of(L, &c->models[j]));
        if (!*m->name) cfg_error_addr(L, m, "model_config has a model with an empty name");
        if (!m->upstream_model || !*m->upstream_model) {
            free(m->upstream_model);
            m->upstream_model = strdup(m->name);
        }
        if (m->pricing.set && !m->pricing.currency) m->pricing.currency = strdup("USD");

        /* Endpoints: preferred_endpoints, or (legacy) every endpoint listing the model. */
        size_t n = m->preferred_endpoints.count;
        if (n == 0)
            for (size_t e = 0; e < c->n_endpoints; e++)
                for (size_t k = 0; k < c->endpoints[e].models.count; k++)
                    if (!strcmp(c->endpoints[e].models.items[k], m->name)) n++;
        m->endpoint_index = calloc(n ? n : 1, sizeof *m->endpoint_index);
        if (!m->endpoint_index) continue;
        if (m->preferred_endpoints.count) {
            for (size_t k = 0; k < m->preferred_endpoints.count; k++) {
                const char *en = m->preferred_endpoints.items[k];
                int idx = config_find_endpoint(c, en);
                if (idx < 0) {
                    cfg_error_addr(L, &m->preferred_endpoints.items[k],
                                   "model '%s': preferred endpoint '%s' is not in vllm_endpoints",
                                   m->name, en);
                    continue;
                }
                for (size_t q = 0; q < m->n_endpoints; q++)
                    if (m->endpoint_index[q] == idx) idx = -1;
                if (idx < 0) {
                    cfg_error_addr(L, &m->preferred_endpoints.items[k],
                                   "model '%s': endpoint '%s' is listed twice", m->name, en);
                    continue;
                }
                m->endpoint_index[m->n_endpoints++] = idx;
            }
        } else {
            for (size_t e = 0; e < c->n_endpoints; e++)
                for (size_t k = 0; k < c->endpoints[e].models.count; k++)
                    if (!strcmp(c->endpoints[e].models.items[k], m->name))
                        m->endpoint_index[m->n_endpoints++] = (int)e;
            /* The classic router loads such a file (its endpoint check is not called at
             * load); requests for the model then fail with a 503 naming the fix. */
            if (m->n_endpoints == 0)
                cfg_warn_addr(L, m,
                              "model '%s' has no endpoints: requests routed to it fail with 503 "
                              "until preferred_endpoints: [NAME] names entries of vllm_endpoints",
                              m->name);
        }
        if (m->reasoning_family && *m->reasoning_family) {
            m->reasoning_family_index = config_find_reasoning_family(c, m->reasoning_family);
            if (m->reasoning_family_index < 0) /* classic: a warning, reasoning stays off */
                cfg_warn_addr(L, &m->reasoning_family,
                              "model '%s': reasoning_family '%s' is not defined in "
                              "reasoning_families; reasoning cannot be switched for this model",
                              m->name, m->reasoning_family);
        }
        for (size_t k = 0; k < m->n_loras; k++)
            for (size_t q = 0; q < k; q++)
                if (m->loras[k].name && m->loras[q].name && !strcmp(m->loras[k].name, m->loras[q].name))
                    cfg_error_addr(L, &m->loras[k], "model '%s': LoRA '%s' is listed twice",
                                   m->name, m->loras[k].name);
        for (size_t k = 0; k < m->pii_policy.pii_types_allowed.count; k++)
            if (!*m->pii_policy.pii_types_allowed.items[k])
                cfg_error_addr(L, &m->pii_policy.pii_types_allowed.items[k],
                               "model '%s': pii_types_allowed has an empty entry", m->name);
    }
}

static int valid_effort(const char *s)
{
    static const char *ok[] = {"minimal", "low", "medium", "high"};
    for (size_t i = 0; i < 4; i++)
        if (!strcasecmp(s, ok[i])) return 1;
    return 0;
}

static void validate_top(cfg_loader *L)
{
    sr_config *c = L->cfg;
    if (c->default_model && *c->default_model) {
        c->default_model_index = config_find_model(c, c->default_model);
        if (c->default_model_index < 0 && c->n_models)
            cfg_error_addr(L, &c->default_model, "default_model '%s' is not in model_config",
                           c->default_model);
    } else if (c->n_models) {
        free(c->default_model);
        c->default_model = strdup(c->models[0].name);
        c->default_model_index = 0;
    }
    if (!c->auto_model_name || !*c->auto_model_name)
        cfg_error_addr(L, &c->auto_model_name, "auto_model_name must not be empty");
    else
        for (size_t i = 0; i < c->n_models; i++)
            if (config_is_auto_model(c, c->models[i].name))
                cfg_error_addr(L, &c->models[i],
                               "model name '%s' is reserved for automatic routing "
                               "(auto_model_name, or 'auto'); rename the model",
                               c->models[i].name);
    if (!c->default_reasoning_effort || !valid_effort(c->default_reasoning_effort))
        cfg_error_addr(L, &c->default_reasoning_effort,
                       "default_reasoning_effort must be low, medium or high, got '%s'",
                       c->default_reasoning_effort ? c->default_reasoning_effort : "");
}

static void validate_categories(cfg_loader *L)
{
    sr_config *c = L->cfg;
    for (size_t i = 0; i < c->n_categories; i++) {
        sr_category *cat = &c->categories[i];
        char what[300];
        if (cat->name && *cat->name)
            snprintf(what, sizeof what, "category '%s'", cat->name);
        else
            snprintf(what, sizeof what, "categories[%zu]", i);
        if (!cat->name || !*cat->name) cfg_error_addr(L, cat, "%s: missing 'name'", what);
        /* Classifier lookups are case-insensitive, so names differing only in case clash. */
        for (size_t j = 0; j < i && cat->name; j++)
            if (c->categories[j].name && !strcasecmp(c->categories[j].name, cat->name))
                cfg_error_addr(L, &cat->name, "category name '%s' is used twice (first at line %d)",
                               cat->name, cfg_line_of(L, &c->categories[j].name));
        if (cat->n_model_scores == 0)
            cfg_error_addr(L, &cat->model_scores,
                           "%s needs at least one model_scores entry {model, score, "
                           "use_reasoning}",
                           what);
        for (size_t k = 0; k < cat->n_model_scores; k++) {
            sr_model_score *s = &cat->model_scores[k];
            if (s->model && !*s->model)
                cfg_error_addr(L, &s->model, "%s: model_scores[%zu].model is empty", what, k);
            else if (s->model) {
                s->model_index = config_find_model(c, s->model);
                if (s->model_index < 0 && c->n_models)
                    cfg_error_addr(L, &s->model,
                                   "%s: model_scores[%zu] names model '%s', which is not in "
                                   "model_config",
                                   what, k, s->model);
            }
            if (s->lora_name && s->model_index >= 0) {
                const sr_model *m = &c->models[s->model_index];
                size_t q = 0;
                while (q < m->n_loras && (!m->loras[q].name || strcmp(m->loras[q].name, s->lora_name)))
                    q++;
                if (!*s->lora_name)
                    cfg_error_addr(L, &s->lora_name, "%s: model_scores[%zu].lora_name is empty",
                                   what, k);
                else if (q == m->n_loras)
                    cfg_error_addr(L, &s->lora_name,
                                   "%s: model_scores[%zu].lora_name '%s' is not in the loras of "
                                   "model '%s'",
                                   what, k, s->lora_name, s->model);
            }
            if (s->reasoning_effort && *s->reasoning_effort && !valid_effort(s->reasoning_effort))
                cfg_error_addr(L, &s->reasoning_effort,
                               "%s: reasoning_effort must be low, medium or high, got '%s'", what,
                               s->reasoning_effort);
        }
        for (size_t k = 0; k < cat->examples.count; k++)
            if (!*cat->examples.items[k])
                cfg_error_addr(L, &cat->examples.items[k], "%s: examples has an empty entry", what);
        /* Effective overrides: the category's value when given, else the global one. */
        if (!cat->semantic_cache_enabled_set)
            cat->semantic_cache_enabled = c->semantic_cache.enabled;
        if (!cat->semantic_cache_similarity_threshold_set)
            cat->semantic_cache_similarity_threshold = c->semantic_cache.similarity_threshold;
        if (!cat->semantic_cache_verifier_min_probability_set)
            cat->semantic_cache_verifier_min_probability = c->semantic_cache.verifier.min_probability;
        if (!cat->jailbreak_enabled_set) cat->jailbreak_enabled = c->prompt_guard.enabled;
        if (!cat->jailbreak_threshold_set) cat->jailbreak_threshold = c->prompt_guard.threshold;
        if (!cat->pii_enabled_set) cat->pii_enabled = c->pii.enabled;
        if (!cat->pii_threshold_set) cat->pii_threshold = c->classifier.pii_model.threshold;
    }
}

static void validate_keyword_rules(cfg_loader *L)
{
    sr_config *c = L->cfg;
    for (size_t i = 0; i < c->n_keyword_rules; i++) {
        sr_keyword_rule *r = &c->keyword_rules[i];
        if (r->category) {
            r->category_index = config_find_category(c, r->category);
            if (r->category_index < 0)
                cfg_error_addr(L, &r->category,
                               "keyword_rules[%zu]: category '%s' is not in categories", i,
                               r->category);
        }
        if (cfg_line_of(L, &r->keywords) && r->keywords.count == 0)
            cfg_error_addr(L, &r->keywords, "keyword_rules[%zu]: keywords is empty", i);
        for (size_t k = 0; k < r->keywords.count; k++)
            if (!*r->keywords.items[k])
                cfg_error_addr(L, &r->keywords.items[k],
                               "keyword_rules[%zu]: keywords has an empty entry", i);
    }
}

/* embedding_rules are read (a classic file loads) but not evaluated: say so once. */
static void validate_embedding_rules(cfg_loader *L)
{
    sr_config *c = L->cfg;
    for (size_t i = 0; i < c->n_embedding_rules; i++) {
        sr_embedding_rule *r = &c->embedding_rules[i];
        if (!r->name && r->category) r->name = strdup(r->category);
        if (!r->name || !*r->name)
            cfg_error_addr(L, r, "embedding_rules[%zu]: missing 'name' (the category)", i);
        else if (config_find_category(c, r->name) < 0)
            cfg_warn_addr(L, r, "embedding_rules[%zu]: category '%s' is not in categories", i,
                          r->name);
    }
    if (c->n_embedding_rules)
        cfg_warn_addr(L, &c->embedding_rules,
                      "embedding_rules are accepted but not evaluated by semrouter; put the "
                      "candidate phrases in the categories' examples to route by similarity");
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static void validate_cache(cfg_loader *L)
{
    sr_config *c = L->cfg;
    sr_semantic_cache_config *sc = &c->semantic_cache;
    if (sc->backend_type == SR_CACHE_MEMORY) return;
    const char *bname = sc->backend_type == SR_CACHE_MILVUS ? "milvus" : "hybrid";
    bool has_path = sc->backend_config_path && *sc->backend_config_path;
    if (!has_path) {
        if (sc->enabled)
            cfg_error_addr(L, &sc->backend_type,
                           "semantic_cache: backend_type %s needs backend_config_path (e.g. "
                           "config/cache/milvus.yaml)",
                           bname);
        return;
    }
    char resolved[4096];
    config_resolve_path(c, sc->backend_config_path, resolved, sizeof resolved);
    if (!file_exists(resolved)) {
        if (sc->enabled)
            cfg_error_addr(L, &sc->backend_config_path,
                           "semantic_cache.backend_config_path '%s' does not exist",
                           sc->backend_config_path);
        return;
    }
    sc->milvus = cfg_milvus_load(L, resolved);
}

void cfg_validate_milvus(cfg_loader *L, sr_milvus_config *m)
{
    if (m->connection.uri && *m->connection.uri) {
        bool tls;
        char *host = NULL, *path = NULL, err[200];
        int port;
        if (parse_http_url(m->connection.uri, &tls, &host, &port, &path, err, sizeof err))
            cfg_error_addr(L, &m->connection.uri, "connection.uri '%s' %s", m->connection.uri, err);
        free(host);
        free(path);
    } else if (!m->connection.host || !*m->connection.host ||
               !(is_ip_literal(m->connection.host) || is_hostname(m->connection.host))) {
        cfg_error_addr(L, &m->connection.host,
                       "connection.host must be a host name or IP address, got '%s'",
                       m->connection.host ? m->connection.host : "");
    }
    if (!m->connection.database || !*m->connection.database) {
        free(m->connection.database);
        m->connection.database = strdup("default");
    }
    if (m->connection.auth.enabled &&
        (!m->connection.auth.username || !*m->connection.auth.username))
        cfg_error_addr(L, &m->connection.auth.enabled,
                       "connection.auth is enabled but username is empty");
    if (!m->collection.name || !*m->collection.name)
        cfg_error_addr(L, &m->collection.name, "collection.name must not be empty");
    if (!m->collection.vector_field.name || !*m->collection.vector_field.name)
        cfg_error_addr(L, &m->collection.vector_field.name,
                       "collection.vector_field.name must not be empty");
    static const char *metrics[] = {"IP", "COSINE", "L2"};
    int ok = 0;
    for (size_t i = 0; i < 3; i++)
        if (m->collection.vector_field.metric_type &&
            !strcasecmp(m->collection.vector_field.metric_type, metrics[i]))
            ok = 1;
    if (!ok)
        cfg_error_addr(
            L, &m->collection.vector_field.metric_type,
            "collection.vector_field.metric_type must be IP, COSINE or L2, got '%s'",
            m->collection.vector_field.metric_type ? m->collection.vector_field.metric_type : "");
    static const char *indexes[] = {"HNSW", "FLAT", "IVF_FLAT", "AUTOINDEX"};
    ok = 0;
    for (size_t i = 0; i < 4; i++)
        if (m->collection.index.type && !strcasecmp(m->collection.index.type, indexes[i])) ok = 1;
    if (!ok)
        cfg_error_addr(L, &m->collection.index.type,
                       "collection.index.type must be HNSW, FLAT, IVF_FLAT or AUTOINDEX, got '%s'",
                       m->collection.index.type ? m->collection.index.type : "");
    if (m->connection.tls.enabled) {
        char **files[] = {&m->connection.tls.ca_file, &m->connection.tls.cert_file,
                          &m->connection.tls.key_file};
        static const char *names[] = {"ca_file", "cert_file", "key_file"};
        for (int i = 0; i < 3; i++)
            if (*files[i] && **files[i] && !file_exists(*files[i]))
                cfg_error_addr(L, files[i], "connection.tls.%s '%s' does not exist", names[i], *files[i]);
        if ((m->connection.tls.cert_file && *m->connection.tls.cert_file) !=
            (m->connection.tls.key_file && *m->connection.tls.key_file))
            cfg_error_addr(L, &m->connection.tls.enabled,
                           "connection.tls: cert_file and key_file go together (client certificate)");
    }
    if (m->connection.uri && *m->connection.uri && m->connection.tls.enabled &&
        strncasecmp(m->connection.uri, "https://", 8))
        cfg_error_addr(L, &m->connection.uri, "connection.tls is enabled but connection.uri '%s' is not https://",
                       m->connection.uri);
    static const char *levels[] = {"Strong", "Session", "Bounded", "Eventually"};
    ok = 0;
    for (size_t i = 0; i < 4; i++)
        if (m->search.consistency_level && !strcasecmp(m->search.consistency_level, levels[i]))
            ok = 1;
    if (!ok)
        cfg_error_addr(L, &m->search.consistency_level,
                       "search.consistency_level must be Strong, Session, Bounded or Eventually, "
                       "got '%s'",
                       m->search.consistency_level ? m->search.consistency_level : "");
}

static void validate_embedding(cfg_loader *L)
{
    sr_embedding_model_config *em = &L->cfg->embedding_model;
    if (em->type == SR_EMBED_REMOTE) {
        bool tls;
        char *host = NULL, *path = NULL, err[200];
        int port;
        if (!em->url || !*em->url)
            cfg_error_addr(L, &em->type, "embedding_model: type remote needs url");
        else if (parse_http_url(em->url, &tls, &host, &port, &path, err, sizeof err))
            cfg_error_addr(L, &em->url, "embedding_model.url '%s' %s", em->url, err);
        free(host);
        free(path);
    } else if (em->type == SR_EMBED_MODEL2VEC &&
               (!cfg_line_of(L, &em->path) || !em->path || !*em->path)) {
        cfg_error_addr(L, &em->type,
                       "embedding_model: type model2vec needs path (the model folder)");
    } else if (!em->path || !*em->path) {
        cfg_error_addr(L, &em->path, "embedding_model.path must not be empty");
    }
}

static void validate_guards_tools(cfg_loader *L)
{
    sr_config *c = L->cfg;
    int st = c->prompt_guard.block_status;
    if (st != 200 && (st < 400 || st > 499))
        cfg_error_addr(L, &c->prompt_guard.block_status,
                       "prompt_guard.block_status must be 200 (classic) or a 4xx code, got %d", st);
    if (c->tools.enabled && (!c->tools.tools_db_path || !*c->tools.tools_db_path))
        cfg_error_addr(L, &c->tools.enabled, "tools is enabled but tools_db_path is not set");
}

/* Every key ends as a SHA-256 digest (the request path compares digests: constant time,
 * no length leak); an inline key is wiped once hashed so the loaded config holds no secret. */
static void validate_auth(cfg_loader *L)
{
    sr_auth_config *a = &L->cfg->auth;
    if (a->enabled && a->n_keys == 0)
        cfg_error_addr(L, &a->enabled,
                       "auth is enabled but has no keys; add keys: [{key_env: NAME, tenant: T}]");
    for (size_t i = 0; i < a->n_keys; i++) {
        sr_auth_key *k = &a->keys[i];
        bool has_key = k->key && *k->key, has_env = k->key_env && *k->key_env,
             has_hash = k->key_sha256 && *k->key_sha256;
        if (!k->tenant || !*k->tenant) {
            free(k->tenant);
            if (asprintf(&k->tenant, "key-%zu", i) < 0) k->tenant = NULL;
        }
        if (k->burst == 0 && k->requests_per_second > 0) {
            double b = k->requests_per_second;
            k->burst = b < 1 ? 1 : b > 1e9 ? 1000000000 : (int)b + ((double)(int)b < b);
        }
        if ((int)has_key + (int)has_env + (int)has_hash != 1) {
            cfg_error_addr(L, k, "auth.keys[%zu] needs exactly one of key, key_env or key_sha256", i);
            continue;
        }
        if (has_hash) {
            size_t n = strlen(k->key_sha256);
            int ok = !codec_hex_decode_exact(k->key_sha256, 32, k->digest);
            if (!ok) {
                char got[48];
                if (n == 64) snprintf(got, sizeof got, "a character that is not one");
                else snprintf(got, sizeof got, "%zu characters", n);
                cfg_error_addr(L, &k->key_sha256,
                               "auth.keys[%zu].key_sha256 must be 64 hex digits (the SHA-256 of the key, "
                               "e.g. printf %%s KEY | sha256sum), got %s",
                               i, got);
                continue;
            }
        } else if (has_env) {
            const char *v = getenv(k->key_env);
            if (!v || !*v) {
                /* A missing key would lock that tenant out; only fatal when auth is on. */
                if (a->enabled)
                    cfg_error_addr(L, &k->key_env,
                                   "auth.keys[%zu]: environment variable %s is not set", i,
                                   k->key_env);
                else
                    cfg_warn_addr(L, &k->key_env,
                                  "auth.keys[%zu]: environment variable %s is not set", i,
                                  k->key_env);
                continue;
            }
            util_sha256(v, strlen(v), k->digest);
        } else {
            util_sha256(k->key, strlen(k->key), k->digest);
            explicit_bzero(k->key, strlen(k->key));
            free(k->key);
            k->key = NULL;
        }
        k->has_digest = true;
        for (size_t j = 0; j < i; j++)
            if (a->keys[j].has_digest && !memcmp(a->keys[j].digest, k->digest, 32))
                cfg_error_addr(L, k, "auth.keys[%zu] repeats the key of auth.keys[%zu]", i, j);
    }
    /* limits are per tenant: its keys share one bucket and one in-flight count */
    for (size_t i = 0; i < a->n_keys; i++)
        for (size_t j = 0; j < i; j++) {
            const sr_auth_key *x = &a->keys[i], *y = &a->keys[j];
            if (!x->tenant || !y->tenant || strcmp(x->tenant, y->tenant)) continue;
            if (x->requests_per_second != y->requests_per_second || x->burst != y->burst ||
                x->max_concurrent != y->max_concurrent) {
                cfg_error_addr(L, x,
                               "auth.keys[%zu] gives tenant '%s' other limits than auth.keys[%zu] "
                               "(requests_per_second, burst, max_concurrent are per tenant: give the same "
                               "on every key of a tenant)",
                               i, x->tenant, j);
            }
            break;
        }
}

/* Files semrouter itself reads later: a missing one is a warning here (the
 * module that opens it fails with its own error), so check-config shows it
 * early without making a config that is fine otherwise unloadable. */
static void warn_missing(cfg_loader *L, const void *addr, const char *key, const char *path,
                         bool dir)
{
    if (!path || !*path) return;
    char resolved[4096];
    struct stat st;
    config_resolve_path(L->cfg, path, resolved, sizeof resolved);
    if (stat(resolved, &st) == 0 && (dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode))) return;
    cfg_warn_addr(L, addr, "%s '%s' does not exist%s", key, path,
                  dir ? " (run scripts/fetch-model.sh for the default model)" : "");
}

static void check_paths(cfg_loader *L)
{
    sr_config *c = L->cfg;
    bool want_embed = c->semantic_cache.enabled || c->prompt_guard.enabled || c->n_categories > 0 ||
                      c->tools.enabled;
    if (c->embedding_model.type != SR_EMBED_REMOTE && want_embed) {
        char resolved[4096];
        struct stat st;
        const char *p = c->embedding_model.path ? c->embedding_model.path : "";
        config_resolve_path(c, p, resolved, sizeof resolved);
        if (stat(resolved, &st) != 0 || !S_ISDIR(st.st_mode))
            cfg_warn_addr(L, &c->embedding_model.path,
                          "embedding_model.path '%s' does not exist (looked next to the config "
                          "file, in the install prefix '%s' and the working directory): the "
                          "semantic cache, the category classifier, the jailbreak guard's "
                          "similarity check and tool selection cannot work, and automatic "
                          "requests all go to default_model; run scripts/fetch-model.sh or set "
                          "embedding_model.path",
                          p, *config_install_prefix() ? config_install_prefix() : "(none)");
    }
    if (c->tools.enabled)
        warn_missing(L, &c->tools.tools_db_path, "tools.tools_db_path", c->tools.tools_db_path,
                     false);
    if (c->prompt_guard.enabled)
        warn_missing(L, &c->prompt_guard.exemplars_path, "prompt_guard.exemplars_path",
                     c->prompt_guard.exemplars_path, false);
    warn_missing(L, &c->classifier.category_model.head_path, "classifier.category_model.head_path",
                 c->classifier.category_model.head_path, false);
}

void cfg_validate(cfg_loader *L)
{
    cfg_marks_index(L);
    validate_server(L);
    validate_endpoints(L);
    validate_families(L);
    validate_models(L);
    validate_top(L);
    validate_categories(L);
    validate_keyword_rules(L);
    validate_embedding_rules(L);
    validate_cache(L);
    validate_embedding(L);
    validate_guards_tools(L);
    validate_auth(L);
    check_paths(L);
}
