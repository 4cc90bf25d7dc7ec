/* config_summary.c - what a loaded configuration will do, in a few aligned lines
 * (`semrouter check-config` prints it under "FILE: OK"). */
#include "config/config.h"
#include <stdio.h>
#include <string.h>

static const char *const backend_names[] = {"memory", "milvus", "hybrid"};
static const char *const eviction_names[] = {"fifo", "lru", "lfu"};
static const char *const embed_names[] = {"use-lite", "model2vec", "remote"};

/* Lists up to max names of n, then "+K more". */
static void names(FILE *out, size_t n, const char *(*get)(const sr_config *, size_t), const sr_config *c,
                  size_t max)
{
    for (size_t i = 0; i < n && i < max; i++) fprintf(out, "%s%s", i ? ", " : "", get(c, i));
    if (n > max) fprintf(out, ", +%zu more", n - max);
}
static const char *category_name(const sr_config *c, size_t i) { return c->categories[i].name; }

void config_print_summary(const sr_config *c, FILE *out)
{
    const char *pad = "  ";
    int w = 8; /* the name column: as wide as the longest endpoint or model name */
    for (size_t i = 0; i < c->n_endpoints; i++)
        if ((int)strlen(c->endpoints[i].name) > w) w = (int)strlen(c->endpoints[i].name);
    for (size_t i = 0; i < c->n_models; i++)
        if ((int)strlen(c->models[i].name) > w) w = (int)strlen(c->models[i].name);
    if (w > 32) w = 32;
    fprintf(out, "%slisten      %s:%d", pad, c->server.listen, c->server.port);
    if (c->server.metrics_port > 0) fprintf(out, " (metrics :%d)", c->server.metrics_port);
    fprintf(out, "; dashboard at /dashboard\n");

    fprintf(out, "%sendpoints   %zu\n", pad, c->n_endpoints);
    for (size_t i = 0; i < c->n_endpoints; i++) {
        const sr_endpoint *e = &c->endpoints[i];
        fprintf(out, "%s  %-*s  %s", pad, w, e->name, e->api_base ? e->api_base : "?");
        if (e->weight != 1) fprintf(out, "  weight %d", e->weight);
        if (e->api_key_env) fprintf(out, "  key $%s%s", e->api_key_env, e->api_key ? "" : " (NOT SET)");
        fputc('\n', out);
    }
    fprintf(out, "%smodels      %zu (default %s; clients ask for \"%s\" to route)\n", pad, c->n_models,
            c->default_model, c->auto_model_name);
    for (size_t i = 0; i < c->n_models; i++) {
        const sr_model *m = &c->models[i];
        fprintf(out, "%s  %-*s ->", pad, w, m->name);
        for (size_t k = 0; k < m->n_endpoints; k++)
            fprintf(out, "%s%s", k ? ", " : " ", c->endpoints[m->endpoint_index[k]].name);
        if (m->upstream_model && strcmp(m->upstream_model, m->name)) fprintf(out, "  (as \"%s\")", m->upstream_model);
        if (!m->pii_policy.allow_by_default) fprintf(out, "  PII policy: restrictive");
        fputc('\n', out);
    }
    fprintf(out, "%srouting     ", pad);
    if (!c->n_categories && !c->n_keyword_rules) fprintf(out, "off: every automatic request goes to %s", c->default_model);
    else {
        fprintf(out, "%zu categor%s (", c->n_categories, c->n_categories == 1 ? "y" : "ies");
        names(out, c->n_categories, category_name, c, 6);
        fprintf(out, "), %zu keyword rule%s, below %.2f confidence -> %s", c->n_keyword_rules,
                c->n_keyword_rules == 1 ? "" : "s", c->classifier.category_model.threshold, c->default_model);
    }
    fputc('\n', out);
    const sr_semantic_cache_config *sc = &c->semantic_cache;
    fprintf(out, "%scache       ", pad);
    if (!sc->enabled) fprintf(out, "off");
    else {
        fprintf(out, "%s, threshold %.2f, ", backend_names[sc->backend_type], sc->similarity_threshold);
        if (sc->max_entries) fprintf(out, "max %ld entries (%s)", sc->max_entries, eviction_names[sc->eviction_policy]);
        else fprintf(out, "unbounded");
        if (sc->ttl_seconds) fprintf(out, ", ttl %ld s", sc->ttl_seconds);
        fprintf(out, ", %s", sc->persist_path ? sc->persist_path : "memory only");
        fprintf(out, ", scope %s", sc->scope == SR_CACHE_SCOPE_GLOBAL ? "global" : "tenant");
    }
    fputc('\n', out);
    const sr_embedding_model_config *em = &c->embedding_model;
    fprintf(out, "%sembedding   %s %s\n", pad, embed_names[em->type],
            em->type == SR_EMBED_REMOTE ? (em->url ? em->url : "?") : (em->path ? em->path : "models/use-lite"));
    fprintf(out, "%sguards      prompt guard %s", pad, c->prompt_guard.enabled ? "on" : "off");
    if (c->prompt_guard.enabled) fprintf(out, " (threshold %.2f)", c->prompt_guard.threshold);
    fprintf(out, ", PII %s\n", !c->pii.enabled ? "off" : c->pii.action == SR_PII_ACTION_REDACT ? "on (redact)" : "on (block)");
    fprintf(out, "%sauth        ", pad);
    if (!c->auth.enabled)
        fprintf(out, "off: one anonymous tenant; management routes (stats, cache, reload) %s\n",
                c->auth.management_loopback_only ? "from loopback clients only" : "open to every client");
    else {
        size_t admins = 0;
        for (size_t i = 0; i < c->auth.n_keys; i++) admins += c->auth.keys[i].admin;
        size_t limited = 0;
        for (size_t i = 0; i < c->auth.n_keys; i++)
            limited += c->auth.keys[i].requests_per_second > 0 || c->auth.keys[i].max_concurrent > 0;
        fprintf(out, "on: %zu key%s, %zu admin (for /api/v1/stats)%s", c->auth.n_keys,
                c->auth.n_keys == 1 ? "" : "s", admins, admins ? "" : " - nobody can read the stats");
        if (limited) fprintf(out, ", %zu with rate/concurrency limits", limited);
        fputc('\n', out);
    }
}
