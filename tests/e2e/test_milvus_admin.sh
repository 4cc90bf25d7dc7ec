#!/usr/bin/env bash
# End-to-end: the management API's cache routes (GET /api/v1/cache/stats, GET /api/v1/cache/export,
# POST /api/v1/cache/clear, DELETE /api/v1/cache/entries/ID) on backend_type milvus and hybrid,
# against the Milvus REST v2 test server (tests/milvus/server.mjs). Per-tenant count, export,
# evict and clear; tenant isolation (a tenant's clear leaves another's rows in Milvus, another
# tenant's id is a 404); a cleared entry is never served again (hybrid: not even looked up in
# Milvus); Milvus down or slow: 503 cache_backend_unavailable with a sentence, bounded, the
# router stays up.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib/fakellm.sh
. tests/e2e/lib/router.sh
. tests/e2e/lib/check.sh
if [ ! -f models/use-lite/model.json ]; then
    skip "milvus_admin" "models/use-lite missing (run scripts/fetch-model.sh)"
    exit 0
fi
if ! command -v node >/dev/null; then
    skip "milvus_admin" "node is not installed (scripts/deps.sh --test)"
    exit 0
fi
fakellm_start --model small --tokens 8 || exit 1
UP=$FAKELLM_URL
upstream_calls() { curl -s "$UP/admin/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["chat_requests"])'; }
STATE=$E2E_TMP/milvus.state
. tests/e2e/lib/milvus.sh
milvus_start || exit 1
# requests the test server answered on ROUTE
served() { curl -s "$MILVUS_URL/_test/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"].get(sys.argv[1], 0))' "$1"; }

# config BACKEND COLLECTION: the router's and the Milvus file
config() {
    cat >"$E2E_TMP/milvus_$1.yaml" <<EOF
connection: {uri: "$MILVUS_URL", database: "default", timeout: 2}
collection:
  name: "$2"
  vector_field: {name: "embedding", dimension: 0, metric_type: "COSINE"}
  index: {type: "HNSW", params: {M: 16, efConstruction: 64}}
search: {params: {ef: 64}, topk: 5, consistency_level: "Strong", timeout_ms: 2000}
hybrid: {sync_interval_ms: 200, sync_overlap_seconds: 10}
EOF
    cat >"$E2E_TMP/r_$1.yaml" <<EOF
server: {listen: 127.0.0.1, metrics_port: 0, workers: 2}
vllm_endpoints:
  - {name: a, address: 127.0.0.1, port: $FAKELLM_PORT}
model_config:
  small: {preferred_endpoints: [a]}
default_model: small
embedding_model: {type: use-lite, path: models/use-lite}
semantic_cache:
  enabled: true
  backend_type: "$1"
  backend_config_path: "$E2E_TMP/milvus_$1.yaml"
  similarity_threshold: 0.8
auth:
  enabled: true
  keys:
    - {key: key-team-a, tenant: team-a}
    - {key: key-evil, tenant: 'evil" or tenant != "'}
    - {key: key-admin, tenant: ops, admin: true}
EOF
}
q() { python3 -c 'import json,sys; print(json.dumps({"model":"small","messages":[{"role":"user","content":sys.argv[1]}]}))' "$1"; }
api() { curl -s -o "$E2E_TMP/api" -D "$E2E_TMP/api_hdr" -w '%{http_code}' -X "$1" "${@:3}" "$ROUTER_URL$2"; }
api_header() { grep -i "^$1:" "$E2E_TMP/api_hdr" | head -1 | cut -d: -f2- | tr -d '\r' | sed 's/^ //'; }
err_code() { jget "$E2E_TMP/api" 'j["error"]["code"]'; }
err_msg() { jget "$E2E_TMP/api" 'j["error"]["message"]'; }
entries() { jget "$E2E_TMP/api" 'j["entries"]'; }
A=(-H 'Authorization: Bearer key-team-a')
EVIL=(-H 'Authorization: Bearer key-evil')
ADM=(-H 'Authorization: Bearer key-admin')
EVIL_Q='evil%22%20or%20tenant%20!%3D%20%22'
Q1='How do I reset my password? ¿Cómo? “quickly” 🔑'
Q2='What is the boiling point of water at sea level?'
Q3='Name three primary colors.'

# ================================================================== milvus
config milvus semcache_admin
router_start "$E2E_TMP/r_milvus.yaml" || exit 1
chat "$(q "$Q1")" "${A[@]}" >/dev/null
chat "$(q "$Q2")" "${A[@]}" >/dev/null
chat "$(q "$Q1")" "${EVIL[@]}" >/dev/null
check "stored_three" wait_rows semcache_admin 3

# --- count: per tenant, the whole collection for an admin ---------------------------------------
check "a_counts_its_own" '[ "$(api GET /api/v1/cache/stats "${A[@]}")" = 200 ] && [ "$(entries)" = 2 ] && [ "$(jget "$E2E_TMP/api" "j[\"backend\"]")" = milvus ]'
check "evil_counts_its_own" '[ "$(api GET /api/v1/cache/stats "${EVIL[@]}")" = 200 ] && [ "$(entries)" = 1 ]'
check "admin_counts_all" '[ "$(api GET /api/v1/cache/stats "${ADM[@]}")" = 200 ] && [ "$(entries)" = 3 ] && [ "$(jget "$E2E_TMP/api" "j[\"tenant\"]")" = None ]'
check "admin_counts_hostile_tenant" '[ "$(api GET "/api/v1/cache/stats?tenant=$EVIL_Q" "${ADM[@]}")" = 200 ] && [ "$(entries)" = 1 ]'
check "tenant_naming_another_403" '[ "$(api GET "/api/v1/cache/stats?tenant=$EVIL_Q" "${A[@]}")" = 403 ] && [ "$(err_code)" = insufficient_permissions ]'

# --- export: the tenant's entries as JSON lines ---------------------------------------------------
check "a_exports_two_lines" '[ "$(api GET /api/v1/cache/export "${A[@]}")" = 200 ] && [ "$(grep -c . "$E2E_TMP/api")" = 2 ] && [ "$(api_header x-semrouter-entries)" = 2 ] && [ -z "$(api_header x-semrouter-truncated)" ]'
check "export_lines_are_a_s" '[ "$(python3 -c "import json,sys; print(sorted({json.loads(l)[\"tenant\"] for l in open(sys.argv[1])}))" "$E2E_TMP/api")" = "['"'"'team-a'"'"']" ]'
KEY_A=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["exact_key"])' "$E2E_TMP/api")
cp "$E2E_TMP/api" "$E2E_TMP/export_a"
# the lines are cache_export's format: the memory cache imports them as they are
"$ROUTER_BIN" cache import -p "$E2E_TMP/imp.cache" -i "$E2E_TMP/export_a" >"$E2E_TMP/imp.txt" 2>&1
"$ROUTER_BIN" cache stats -p "$E2E_TMP/imp.cache" --json >"$E2E_TMP/imp.json" 2>>"$E2E_TMP/imp.txt"
check "export_imports_into_memory" --why "$(cat "$E2E_TMP/imp.txt" "$E2E_TMP/imp.json")" '[ "$(jget "$E2E_TMP/imp.json" "j[\"entries\"]")" = 2 ]'

# --- evict: another tenant's id is a 404 and stays; the own one goes once -------------------------
check "evil_evicting_a_404" '[ "$(api DELETE "/api/v1/cache/entries/$KEY_A" "${EVIL[@]}")" = 404 ] && [ "$(err_code)" = entry_not_found ] && [ "$(rows semcache_admin)" = 3 ]'
check "bad_id_400" '[ "$(api DELETE /api/v1/cache/entries/not-hex "${A[@]}")" = 400 ] && [ "$(err_code)" = invalid_value ]'
check "a_evicts_own" '[ "$(api DELETE "/api/v1/cache/entries/$KEY_A" "${A[@]}")" = 200 ] && [ "$(jget "$E2E_TMP/api" "j[\"deleted\"]")" = True ] && [ "$(rows semcache_admin)" = 2 ]'
check "evicted_twice_404" [ "$(api DELETE "/api/v1/cache/entries/$KEY_A" "${A[@]}")" = 404 ]

# --- clear: one tenant's rows only ------------------------------------------------------------------
check "a_clears_own" '[ "$(api POST /api/v1/cache/clear "${A[@]}")" = 200 ] && [ "$(jget "$E2E_TMP/api" "j[\"cleared\"]")" = 1 ] && [ "$(jget "$E2E_TMP/api" "j[\"tenant\"]")" = team-a ]'
check "clear_left_evil_row" '[ "$(rows semcache_admin)" = 1 ] && [ "$(api GET /api/v1/cache/stats "${EVIL[@]}")" = 200 ] && [ "$(entries)" = 1 ]'
check "a_count_zero" '[ "$(api GET /api/v1/cache/stats "${A[@]}")" = 200 ] && [ "$(entries)" = 0 ]'
n0=$(upstream_calls)
st=$(chat "$(q "$Q1")" "${A[@]}" -H 'Cache-Control: no-store')
check "cleared_entry_not_served" '[ "$st" = 200 ] && [ "$(header x-vsr-cache-hit)" = false ] && [ "$(upstream_calls)" = $((n0 + 1)) ]'
st=$(chat "$(q "$Q1")" "${EVIL[@]}")
check "other_tenant_still_hits" '[ "$st" = 200 ] && [ "$(header x-vsr-cache-hit)" = true ]'
check "admin_clear_needs_tenant_400" [ "$(api POST /api/v1/cache/clear "${ADM[@]}")" = 400 ]
check "http_counted" 'curl -s "$ROUTER_URL/metrics" | grep -q "path=\"/api/v1/cache/clear\",status=\"200\""'

# --- Milvus slow or down: 503 with a sentence, bounded; the router stays up -------------------------
curl -s -o /dev/null -X POST "$MILVUS_URL/_test/faults" -d '{"mode":"delay","delay_ms":6000,"count":1,"match":"entities/query"}'
t0=$(date +%s%N)
st=$(api GET /api/v1/cache/stats "${A[@]}")
ms=$((($(date +%s%N) - t0) / 1000000))
check "slow_milvus_503_bounded" --why "status $st after $ms ms: $(cat "$E2E_TMP/api")" '[ "$st" = 503 ] && [ "$(err_code)" = cache_backend_unavailable ] && [ "$ms" -lt 4000 ] && err_msg | grep -q "timeout"'
for i in $(seq 1 50); do curl -s "$ROUTER_URL/ready" | grep -q '"status":"ok"}' && break; sleep 0.1; done
proc_stop "$MILVUS_PID" KILL
t0=$(date +%s%N)
st=$(api POST /api/v1/cache/clear "${EVIL[@]}")
ms=$((($(date +%s%N) - t0) / 1000000))
check "down_clear_503" --why "status $st after $ms ms: $(cat "$E2E_TMP/api")" '[ "$st" = 503 ] && [ "$(err_code)" = cache_backend_unavailable ] && [ "$ms" -lt 4000 ] && err_msg | grep -q "Milvus at $MILVUS_URL"'
check "down_stats_503_at_once" '[ "$(api GET /api/v1/cache/stats "${A[@]}")" = 503 ] && err_msg | grep -q "not answering"'
check "down_export_503" [ "$(api GET /api/v1/cache/export "${A[@]}")" = 503 ]
check "down_evict_503" [ "$(api DELETE "/api/v1/cache/entries/$KEY_A" "${A[@]}")" = 503 ]
check "down_logged_with_code" grep -q "cache_backend_unavailable" "$ROUTER_LOG"
check "router_alive_while_down" '[ "$(curl -s -o /dev/null -w "%{http_code}" "$ROUTER_URL/health")" = 200 ]'
milvus_start "$MILVUS_PORT" || exit 1
for i in $(seq 1 100); do curl -s "$ROUTER_URL/ready" | grep -q '"status":"ok"}' && break; sleep 0.1; done
check "back_counts_again" '[ "$(api GET /api/v1/cache/stats "${EVIL[@]}")" = 200 ] && [ "$(entries)" = 1 ]'
router_stop
exit 0
