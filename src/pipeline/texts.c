/* texts.c - stage 2: the request's texts, extracted once, and the model work
 * they need.
 *
 * From the parsed request: the cache keys (cache/keys.h: exact and partition
 * keys, the last user turn, the earlier turns) and the guards' views
 * (api/texts.h: every text part the model will read, also beside images and
 * in tool/system/developer messages). Guards and routing read these whether or
 * not the cache may use the request (an image part turns the semantic tier
 * off, never the guards).
 *
 * Then what the later stages need, so a request pays only for what it uses:
 * an explicit model with the cache, guards and tools off is pure proxying and
 * computes nothing here. */
#include "pipeline/chat.h"
#include "core/watchdog.h"

static int pii_policy_used(const sr_config *cfg)
{
    if (!cfg->pii.enabled) return 0;
    for (size_t i = 0; i < cfg->n_models; i++)
        if (!cfg->models[i].pii_policy.allow_by_default) return 1;
    return 0;
}

void chat_texts_stage(chat_ctx *c)
{
    c->stage = CHAT_STAGE_TEXTS;
    watchdog_stage(c->request_id, "keys");
    const sr_config *cfg = c->cfg;
    gateway *gw = c->gw;
    int cache_used = (gw->cache || gw->backend) && cfg->semantic_cache.enabled && !(c->no_cache && c->no_store);
    int pii_used = pii_policy_used(cfg);
    int classify = c->is_auto && c->rt->route;
    int guard = c->rt->jailbreak != NULL; /* loaded when prompt_guard.enabled */
    if (!cache_used && !pii_used && !classify && !guard && !cfg->tools.enabled) return;

    char err[256];
    const char *model_id = gw->embed ? embed_model_id(gw->embed) : "none";
    /* scope global: one namespace, so the keys must not carry the tenant either */
    const char *key_tenant = cfg->semantic_cache.scope == SR_CACHE_SCOPE_GLOBAL ? "" : c->tenant;
    /* Every alias of the automatic route (auto, auto_model_name) routes the same way, so they
     * share one partition: the keys see "auto" for all of them. */
    cJSON *model = c->is_auto ? cJSON_GetObjectItemCaseSensitive(c->json, "model") : NULL;
    char *requested = cJSON_IsString(model) ? model->valuestring : NULL;
    if (requested) model->valuestring = (char *)"auto";
    if (cache_keys_compute(c->json, key_tenant, model_id, &c->keys, err, sizeof err) == 0) c->have_keys = 1;
    if (requested) model->valuestring = requested;
    if (chat_texts_extract(c->json, &c->texts) == 0) c->have_texts = 1;

    int has_query = c->have_keys && c->keys.query && c->keys.query_len > 0;
    /* the vector of the last user turn serves the semantic tier (text-only
     * turns), the classifier, the guard's similarity signal and tool selection */
    int vec_users = (cache_used && c->keys.semantic_ok) || classify || guard || cfg->tools.enabled;
    c->need_embedding = gw->embed && has_query && vec_users;
    c->need_pii = pii_used && c->have_texts;
    c->need_classify = classify;
    c->need_jailbreak = guard;
}
