/* admin.h - the management API over HTTP (auth.h says who may call it).
 *
 *   GET    /api/v1/cache/stats[?tenant=T]    live entries (of T; admins without T: the whole
 *                                            cache with its counters)
 *   GET    /api/v1/cache/export[?tenant=T]   the entries as JSON lines (cache_export's format)
 *   POST   /api/v1/cache/clear?tenant=T|all=true   remove entries
 *   DELETE /api/v1/cache/entries/ID          remove one entry (ID = its exact_key)
 *   POST   /api/v1/reload                    reload the configuration file (admins), like SIGHUP
 *
 * A tenant key works on its own tenant's entries only (no tenant parameter needed); an admin
 * key (or any loopback client while auth is off) may name any tenant. Every backend answers
 * them: memory directly, milvus and hybrid through the backend's admin op (backend.h), where a
 * Milvus failure is a 503 cache_backend_unavailable and an export stops at Milvus's query
 * window of 16,384 entries (x-semrouter-truncated: true). */
#ifndef SEMROUTER_API_ADMIN_H
#define SEMROUTER_API_ADMIN_H
#include "api/gateway.h"

/* 1 for the paths above. */
int admin_owns(const char *path);
/* Answers a request for such a path; returns the status sent, or 0 when a cache backend's
 * admin op (milvus, hybrid) took it over: the answer is sent from the request's loop when the
 * backend calls back (possibly before this returns: req is then gone) and counted then in
 * http_requests under counted_path. */
int admin_handle(http_request *req, gateway *gw, const char *path, const char *method, const char *counted_path);
#endif
