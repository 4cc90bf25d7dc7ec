/* dashboard.h - GET /api/v1/stats (the router's live state as JSON) and GET /dashboard
 * (a page compiled into the binary that draws it; no file or CDN is read at run time).
 *
 * /api/v1/stats follows the admin rule of the management routes (auth.h: an auth.keys entry
 * with admin: true when auth is on; loopback clients when it is off). The page itself holds no data and is
 * served to anyone; it asks for the key when the stats answer 401. */
#ifndef SEMROUTER_API_DASHBOARD_H
#define SEMROUTER_API_DASHBOARD_H
#include "api/gateway.h"
#include "core/buf.h"

/* 1 for the paths served here: /api/v1/stats, /dashboard and /dashboard/<asset>. */
int dashboard_owns(const char *path);
/* Answers a GET of such a path; returns the status sent. */
int dashboard_handle(http_request *req, gateway *gw, const char *path);

/* The /api/v1/stats document (query: "recent=N&series=N&window=N", may be NULL). */
void dashboard_stats_json(gateway *gw, const char *query, buf *out);

/* The embedded assets (generated at build time from web/dashboard/ by scripts/embed-assets.sh). */
typedef struct dashboard_asset {
    const char *path; /* "/dashboard", "/dashboard/app.js", ... */
    const char *content_type;
    const unsigned char *data;
    size_t len;
} dashboard_asset;
extern const dashboard_asset dashboard_assets[];
extern const size_t dashboard_assets_n;
#endif
