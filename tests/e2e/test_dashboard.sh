#!/usr/bin/env bash
# End-to-end: GET /api/v1/stats (the admin rule) and GET /dashboard in a real browser
# (Debian's chromium driven by npm playwright-core, tests/node/dashboard_check.mjs) against
# a router with two fakellm models, a dead endpoint (ejections), the cache, guards and auth.
# The screenshot is left in $BUILD/dashboard.png (docs/images/dashboard.png is a copy).
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib/fakellm.sh
. tests/e2e/lib/router.sh
if [ ! -f models/use-lite/model.json ] || [ ! -f config/category_head.bin ]; then
    echo "SKIP dashboard_e2e: models/use-lite or config/category_head.bin missing"
    exit 0
fi
fakellm_start --model small --tokens 12 --token-ms 2 || exit 1
S_PORT=$FAKELLM_PORT
fakellm_start --model large --tokens 16 --ttft-ms 60 --token-ms 3 || exit 1
L_PORT=$FAKELLM_PORT
# a port nothing listens on: the "dead" endpoint (weight 1000, so the first request to large
# tries it) fails once, is ejected, and the request fails over to l
DEAD_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

ADMIN=dash-admin-key-7f3c TENANT=dash-tenant-key-91ab
CFG=$E2E_TMP/dashboard.yaml
cat >"$CFG" <<EOF
server: {listen: 127.0.0.1, metrics_port: 0}
vllm_endpoints:
  - {name: s, address: 127.0.0.1, port: $S_PORT}
  - {name: l, address: 127.0.0.1, port: $L_PORT}
  - {name: dead, address: 127.0.0.1, port: $DEAD_PORT, weight: 1000, max_fails: 1, eject_seconds: 600}
model_config:
  small:
    preferred_endpoints: [s]
    pii_policy: {allow_by_default: false, pii_types_allowed: [EMAIL_ADDRESS]}
  large:
    preferred_endpoints: [dead, l]
    pii_policy: {allow_by_default: true}
default_model: small
embedding_model: {type: use-lite, path: models/use-lite}
classifier:
  category_model: {threshold: 0.5, head_path: config/category_head.bin}
prompt_guard: {enabled: true, threshold: 0.7}
pii: {enabled: true, action: block}
semantic_cache: {enabled: true, similarity_threshold: 0.84}
auth:
  enabled: true
  keys:
    - {key: $ADMIN, tenant: ops, admin: true}
    - {key: $TENANT, tenant: acme}
    - {key: dash-other-key, tenant: globex}
categories:
  - name: math
    model_scores:
      - {model: large, score: 1.0, use_reasoning: true}
      - {model: small, score: 0.4, use_reasoning: false}
  - name: computer science
    model_scores:
      - {model: large, score: 1.0, use_reasoning: false}
  - name: other
    model_scores:
      - {model: small, score: 1.0, use_reasoning: false}
EOF
router_start "$CFG" || exit 1

# The admin rule, through HTTP.
st() { curl -s -o "$E2E_TMP/stats.json" -w '%{http_code}' "$@" "$ROUTER_URL/api/v1/stats"; }
check "stats_no_key_401" test "$(st)" = 401
check "stats_unknown_key_401" test "$(st -H 'Authorization: Bearer not-a-key')" = 401
check "stats_tenant_key_403" test "$(st -H "Authorization: Bearer $TENANT")" = 403
check "stats_tenant_key_error_object" test "$(jget "$E2E_TMP/stats.json" 'j["error"]["code"]')" = insufficient_permissions
check "stats_admin_key_200" test "$(st -H "Authorization: Bearer $ADMIN")" = 200
check "stats_is_stats" test "$(jget "$E2E_TMP/stats.json" 'j["object"]+" "+str(len(j["endpoints"]))')" = "semrouter.stats 3"
check "stats_post_405" test "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $ADMIN" "$ROUTER_URL/api/v1/stats")" = 405

# The page: from the binary, with a policy that forbids loading anything from elsewhere.
code=$(curl -s -D "$E2E_TMP/dh" -o "$E2E_TMP/page.html" -w '%{http_code}' "$ROUTER_URL/dashboard")
check "dashboard_200" test "$code" = 200
check "dashboard_csp_self" grep -qi "^content-security-policy: default-src 'self'" "$E2E_TMP/dh"
for a in app.js style.css; do
    check "dashboard_asset_$a" test "$(curl -s -o "$E2E_TMP/$a" -w '%{http_code}' "$ROUTER_URL/dashboard/$a")" = 200
done
check "dashboard_assets_are_the_sources" cmp -s "$E2E_TMP/app.js" web/dashboard/app.js
check "dashboard_no_external_urls" bash -c "! cat '$E2E_TMP/page.html' '$E2E_TMP/app.js' '$E2E_TMP/style.css' |
    grep -oE 'https?://[^\"'\'' )]+' | grep -v '^http://www.w3.org/2000/svg$' | grep -q ."
check "dashboard_unknown_asset_404" test "$(curl -s -o /dev/null -w '%{http_code}' "$ROUTER_URL/dashboard/nope.js")" = 404

if [ ! -x /usr/bin/chromium ] || [ ! -d tests/node/node_modules/playwright-core ]; then
    echo "FAIL dashboard_browser: /usr/bin/chromium or tests/node/node_modules/playwright-core missing (scripts/deps.sh --test installs both)"
    router_stop
    exit 0
fi
mkdir -p "$BUILD"
node tests/node/dashboard_check.mjs "$ROUTER_URL" "$ADMIN" "$TENANT" "$BUILD/dashboard.png"
check "screenshot_is_png" bash -c "head -c 8 '$BUILD/dashboard.png' | od -An -tx1 | grep -q '89 50 4e 47'"
router_stop
