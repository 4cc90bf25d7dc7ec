/* auth.c - API keys, tenants and the management-route rule (see auth.h). */
#include "api/auth.h"
#include "api/gateway.h"
#include "api/limits.h"
#include "core/util.h"

#include <math.h>
#include <stdio.h>

#include <string.h>
#include <strings.h>

const sr_auth_key *auth_key_of(const sr_config *cfg, const char *authorization)
{
    if (!authorization || strncasecmp(authorization, "Bearer ", 7)) return NULL;
    const char *key = authorization + 7;
    while (*key == ' ') key++;
    size_t kl = strlen(key);
    while (kl && (key[kl - 1] == ' ' || key[kl - 1] == '\t')) kl--;
    if (!kl) return NULL;
    unsigned char d[32];
    util_sha256(key, kl, d);
    const sr_auth_key *found = NULL;
    for (size_t i = 0; i < cfg->auth.n_keys; i++) {
        const sr_auth_key *k = &cfg->auth.keys[i];
        unsigned char diff = (unsigned char)!k->has_digest;
        for (int j = 0; j < 32; j++) diff |= (unsigned char)(k->digest[j] ^ d[j]);
        /* no early exit: every key costs the same whether or not it matched */
        if (!diff && !found) found = k;
    }
    return found;
}

const char *gateway_tenant(const sr_config *cfg, const char *authorization)
{
    if (!cfg->auth.enabled) return "anonymous";
    const sr_auth_key *k = auth_key_of(cfg, authorization);
    return k ? k->tenant : NULL;
}

int gateway_admin(const sr_config *cfg, const char *authorization)
{
    if (!cfg->auth.enabled) return 1;
    const sr_auth_key *k = auth_key_of(cfg, authorization);
    return k && k->admin;
}

int auth_peer_is_loopback(const char *peer)
{
    if (!peer) return 0;
    if (!strncmp(peer, "::ffff:", 7)) peer += 7; /* IPv4-mapped */
    return !strncmp(peer, "127.", 4) || !strcmp(peer, "::1");
}

auth_level auth_management(http_request *req, const sr_config *cfg, int need_admin,
                           const char **tenant, int *status)
{
    *tenant = NULL;
    if (!cfg->auth.enabled) {
        if (cfg->auth.management_loopback_only && !auth_peer_is_loopback(http_request_peer(req))) {
            *status = 403;
            http_respond_error(req, 403,
                               "Management routes answer clients on this machine only while auth is off: "
                               "turn auth on and send an admin key, or set auth.management_loopback_only: "
                               "false.",
                               NULL, "management_loopback_only");
            return AUTH_DENIED;
        }
        *tenant = "anonymous";
        return AUTH_ADMIN;
    }
    const sr_auth_key *k = auth_key_of(cfg, http_request_header(req, "authorization"));
    if (!k) {
        *status = 401;
        http_add_header(req, "WWW-Authenticate", "Bearer");
        http_respond_error(req, 401,
                           need_admin ? "This route is for administrators: send 'Authorization: Bearer KEY' "
                                        "with a key of auth.keys that has admin: true."
                                      : "Send 'Authorization: Bearer KEY' with a key of auth.keys.",
                           NULL, "invalid_api_key");
        return AUTH_DENIED;
    }
    *tenant = k->tenant;
    if (k->admin) return AUTH_ADMIN;
    if (need_admin) {
        *status = 403;
        http_respond_error(req, 403,
                           "This key is not an admin key: this route needs a key of auth.keys with "
                           "admin: true.",
                           NULL, "insufficient_permissions");
        return AUTH_DENIED;
    }
    return AUTH_TENANT;
}

int auth_limits_admit(gateway *gw, const sr_config *cfg, http_request *req, const char *tenant, char *msg,
                      size_t msglen)
{
    if (!cfg->auth.enabled || !tenant || !gw->limits) return 0;
    const sr_auth_key *k = NULL;
    for (size_t i = 0; i < cfg->auth.n_keys && !k; i++)
        if (cfg->auth.keys[i].tenant && !strcmp(cfg->auth.keys[i].tenant, tenant)) k = &cfg->auth.keys[i];
    if (!k || (k->requests_per_second <= 0 && k->max_concurrent <= 0)) return 0;
    limits_rule rule = {k->requests_per_second, k->burst, k->max_concurrent};
    double wait;
    limits_verdict v = limits_admit(gw->limits, tenant, &rule, util_now_sec(), &wait);
    if (v == LIMITS_ADMITTED) return 1;
    if (v == LIMITS_ERROR) return 0; /* a limiter failure never refuses */
    char h[32];
    snprintf(h, sizeof h, "%.0f", ceil(wait));
    http_add_header(req, "Retry-After", h);
    snprintf(h, sizeof h, "%.0f", ceil(wait * 1000));
    http_add_header(req, "retry-after-ms", h);
    if (v == LIMITS_RATE)
        snprintf(msg, msglen,
                 "Rate limit reached for tenant '%.200s': %g requests per second (burst %d). Retry after %.3f s.",
                 tenant, k->requests_per_second, k->burst, wait);
    else
        snprintf(msg, msglen,
                 "Too many concurrent requests for tenant '%.200s': at most %d in flight. Retry when one has "
                 "finished.",
                 tenant, k->max_concurrent);
    metrics_inc(gw->metrics->tenant_rejections,
                METRICS_LABELS(tenant, v == LIMITS_RATE ? "rate" : "concurrency"));
    return -1;
}

void auth_limits_release(gateway *gw, const char *tenant)
{
    limits_release(gw->limits, tenant);
}
