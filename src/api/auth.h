/* auth.h - who is calling: API keys -> tenants, the admin rule for management routes.
 *
 * Keys are compared as SHA-256 digests (config validation turns key, key_env and key_sha256
 * into one), every configured key in full on every request: the time a check takes says
 * nothing about which key, or how much of one, matched. No key text is ever logged.
 *
 * Management routes (/api/v1/stats, /api/v1/cache/..., /api/v1/reload): with auth on they
 * need a key of auth.keys (admin: true for everything; a tenant key may manage only its own
 * cache entries); with auth off they answer loopback clients only unless
 * auth.management_loopback_only is false. */
#ifndef SEMROUTER_API_AUTH_H
#define SEMROUTER_API_AUTH_H
#include "config/config.h"
#include "http/server.h"

/* The auth.keys entry of an "Authorization: Bearer KEY" header value, or NULL. */
const sr_auth_key *auth_key_of(const sr_config *cfg, const char *authorization);

typedef enum { AUTH_DENIED = 0, AUTH_TENANT, AUTH_ADMIN } auth_level;

/* May the caller of req use a management route? need_admin: the route is for admins only
 * (a tenant key is refused). Returns AUTH_ADMIN or AUTH_TENANT (with *tenant set to the
 * caller's tenant), or AUTH_DENIED after answering req (which is then gone) with *status
 * 401 (no or unknown key) or 403
 * (a tenant key on an admin route; a remote client with auth off) and a sentence that says
 * what is needed. */
auth_level auth_management(http_request *req, const sr_config *cfg, int need_admin,
                           const char **tenant, int *status);

struct gateway;
/* Admits a request of tenant under its auth.keys limits (limits.h). 1: admitted and counted
 * in flight: the caller calls auth_limits_release(gw, tenant) when the request ends. 0:
 * admitted, nothing to release (auth off, no limits for the tenant). -1: refused; Retry-After
 * and retry-after-ms are added to req, msg holds the sentence for the 429 error object
 * (code rate_limit_exceeded), and the rejection is counted. */
int auth_limits_admit(struct gateway *gw, const sr_config *cfg, http_request *req, const char *tenant,
                      char *msg, size_t msglen);
void auth_limits_release(struct gateway *gw, const char *tenant);

/* 1 when peer (an address as http_request_peer gives it) is a loopback address. */
int auth_peer_is_loopback(const char *peer);
#endif
