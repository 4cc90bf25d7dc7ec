#!/usr/bin/env bash
# End-to-end: authentication and tenant isolation through HTTP.
# Keys given three ways (inline, key_env, key_sha256); the management routes (stats, cache
# operations, reload) need an admin key with auth on and a loopback client with auth off; a
# tenant can never read, evict or clear another tenant's cache entries (hits, the cache
# routes, export); no key is ever written to the log.
# Needs the embedding model for the semantic tier (scripts/fetch-model.sh).
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib/fakellm.sh
. tests/e2e/lib/router.sh
if [ ! -f models/use-lite/model.json ]; then
    skip "auth_e2e" "models/use-lite missing (run scripts/fetch-model.sh)"
    exit 0
fi
fakellm_start --model small --tokens 8 || exit 1
UP=$FAKELLM_URL
upstream_calls() { curl -s "$UP/admin/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["chat_requests"])'; }

ADMIN_KEY="adm-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
KEY_A="ta-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
KEY_B="tb-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
UPSTREAM_KEY="up-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
ADMIN_SHA=$(printf %s "$ADMIN_KEY" | sha256sum | cut -d' ' -f1)
export SEC_TEST_KEY_A=$KEY_A SEC_TEST_UPSTREAM=$UPSTREAM_KEY
CFG=$E2E_TMP/auth.yaml
cat >"$CFG" <<EOF
server: {listen: 127.0.0.1, metrics_port: 0, workers: 2}
vllm_endpoints:
  - {name: a, address: 127.0.0.1, port: $FAKELLM_PORT, api_key_env: SEC_TEST_UPSTREAM}
model_config:
  small: {preferred_endpoints: [a]}
default_model: small
embedding_model: {type: use-lite, path: models/use-lite}
semantic_cache: {enabled: true, similarity_threshold: 0.8, max_entries_per_tenant: 4}
auth:
  enabled: true
  keys:
    - {key_sha256: $ADMIN_SHA, tenant: ops, admin: true}
    - {key_env: SEC_TEST_KEY_A, tenant: “team” á}
    - {key: $KEY_B, tenant: team-b}
EOF
router_start "$CFG" || exit 1
A=(-H "Authorization: Bearer $KEY_A")
B=(-H "Authorization: Bearer $KEY_B")
ADM=(-H "Authorization: Bearer $ADMIN_KEY")
TENANT_A_Q=%E2%80%9Cteam%E2%80%9D%20%C3%A1 # “team” á, URL-encoded
q() { python3 -c 'import json,sys; print(json.dumps({"model":"small","messages":[{"role":"user","content":sys.argv[1]}]}))' "$1"; }
# api METHOD PATH [curl args]: status printed, body in $E2E_TMP/api
api() { curl -s -o "$E2E_TMP/api" -w '%{http_code}' -X "$1" "${@:3}" "$ROUTER_URL$2"; }
err_code() { jget "$E2E_TMP/api" 'j["error"]["code"]'; }

# --- keys: each way of giving one works; near misses do not ---------------------------------------
st=$(chat "$(q 'Which planet is known as the red planet?')" "${A[@]}")
check "key_env_accepted" [ "$st" = 200 ]
st=$(chat "$(q 'Which planet is known as the red planet?')" "${B[@]}")
check "inline_key_accepted" [ "$st" = 200 ]
check "sha256_admin_key_reads_stats" [ "$(api GET /api/v1/stats "${ADM[@]}")" = 200 ]
for bad in "${KEY_A}x" "${KEY_A%?}" "$(printf %s "$KEY_A" | tr a-f A-F)" "$ADMIN_SHA" ""; do
    st=$(chat "$(q 'hello')" -H "Authorization: Bearer $bad")
    check "near_miss_key_401_${#bad}" --why "key '$bad' gave $st" \
        '[ "$st" = 401 ] && [ "$(jget "$E2E_TMP/out" "j[\"error\"][\"code\"]")" = invalid_api_key ]'
done
st=$(chat "$(q 'hello')" -H "Authorization: Basic $KEY_A")
check "basic_scheme_401" [ "$st" = 401 ]
curl -s "$UP/admin/last_request" -o "$E2E_TMP/last"
check "upstream_gets_its_own_key_not_the_clients" \
    [ "$(jget "$E2E_TMP/last" 'j["headers"].get("authorization")')" = "Bearer $UPSTREAM_KEY" ]

check "models_without_key_401" '[ "$(api GET /v1/models)" = 401 ] && [ "$(err_code)" = invalid_api_key ]'
check "models_with_key_200" [ "$(api GET /v1/models "${B[@]}")" = 200 ]
check "embeddings_without_key_401" [ "$(api POST /v1/embeddings -H 'Content-Type: application/json' -d '{"input":"hi"}')" = 401 ]
check "classify_without_key_401" [ "$(api POST /api/v1/classify/pii -H 'Content-Type: application/json' -d '{"text":"hi"}')" = 401 ]
check "classify_with_key_200" [ "$(api POST /api/v1/classify/pii "${A[@]}" -H 'Content-Type: application/json' -d '{"text":"mail me at a@b.com"}')" = 200 ]

# --- management routes need an admin key ----------------------------------------------------------
check "stats_without_key_401" '[ "$(api GET /api/v1/stats)" = 401 ] && [ "$(err_code)" = invalid_api_key ]'
check "stats_tenant_key_403" '[ "$(api GET /api/v1/stats "${A[@]}")" = 403 ] && [ "$(err_code)" = insufficient_permissions ]'
check "reload_without_key_401" [ "$(api POST /api/v1/reload)" = 401 ]
check "reload_tenant_key_403" [ "$(api POST /api/v1/reload "${B[@]}")" = 403 ]
check "reload_admin_200" '[ "$(api POST /api/v1/reload "${ADM[@]}")" = 200 ] && [ "$(jget "$E2E_TMP/api" "j[\"reloaded\"]")" = True ]'
check "reload_wrong_method_405" [ "$(api GET /api/v1/reload "${ADM[@]}")" = 405 ]
cp "$CFG" "$E2E_TMP/good.yaml"
printf 'bogus_key: 1\n' >>"$CFG"
st=$(api POST /api/v1/reload "${ADM[@]}")
check "bad_reload_422_names_the_line" --why "$st $(head -c 300 "$E2E_TMP/api")" \
    '[ "$st" = 422 ] && [ "$(jget "$E2E_TMP/api" "j[\"reloaded\"]")" = False ] &&
     jget "$E2E_TMP/api" "j[\"errors\"][0]" | grep -q "auth.yaml:15: .*bogus_key"'
cp "$E2E_TMP/good.yaml" "$CFG"
st=$(chat "$(q 'still serving?')" "${A[@]}")
check "serving_after_rejected_reload" [ "$st" = 200 ]
check "cache_clear_without_key_401" [ "$(api POST '/api/v1/cache/clear?all=true')" = 401 ]

# --- isolation: hits ------------------------------------------------------------------------------
n0=$(upstream_calls)
st=$(chat "$(q 'How do I reset my password?')" "${A[@]}")
check "a_stores_entry" '[ "$st" = 200 ] && [ "$(header x-vsr-cache-hit)" = false ] && [ "$(upstream_calls)" = $((n0 + 1)) ]'
st=$(chat "$(q 'How do I reset my password?')" "${A[@]}")
check "a_hits_own_entry" '[ "$(header x-vsr-cache-hit)" = true ] && [ "$(upstream_calls)" = $((n0 + 1)) ]'
st=$(chat "$(q 'How do I reset my password?')" "${B[@]}")
check "b_misses_a_exact" '[ "$st" = 200 ] && [ "$(header x-vsr-cache-hit)" = false ] && [ "$(upstream_calls)" = $((n0 + 2)) ]'
st=$(chat "$(q 'I forgot my password, how can I change it?')" "${B[@]}" -H 'Cache-Control: no-store')
check "b_paraphrase_hits_only_its_own" '[ "$(header x-vsr-cache-hit)" = true ] && [ "$(upstream_calls)" = $((n0 + 2)) ]'
# a tenant cannot borrow another tenant's name through request fields or headers
body=$(python3 -c 'import json; print(json.dumps({"model":"small","user":"“team” á","metadata":{"tenant":"“team” á"},"messages":[{"role":"user","content":"What is the boiling point of water in Kelvin?"}]}))')
chat "$(q 'What is the boiling point of water in Kelvin?')" "${A[@]}" >/dev/null
n1=$(upstream_calls)
st=$(chat "$body" "${B[@]}" -H 'x-tenant: “team” á' -H 'x-vsr-tenant: “team” á')
check "b_cannot_claim_a_by_fields_or_headers" '[ "$st" = 200 ] && [ "$(header x-vsr-cache-hit)" = false ] && [ "$(upstream_calls)" = $((n1 + 1)) ]'

# --- isolation: export, stats, evict, clear -------------------------------------------------------
check "b_export_200" [ "$(api GET /api/v1/cache/export "${B[@]}")" = 200 ]
cp "$E2E_TMP/api" "$E2E_TMP/b.jsonl"
check "b_export_only_b" --why "$(cut -c1-200 "$E2E_TMP/b.jsonl")" python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
sys.exit(0 if len(rows) >= 2 and all(r["tenant"] == "team-b" for r in rows) else 1)' "$E2E_TMP/b.jsonl"
check "b_export_naming_a_403" '[ "$(api GET "/api/v1/cache/export?tenant=$TENANT_A_Q" "${B[@]}")" = 403 ] && [ "$(err_code)" = insufficient_permissions ]'
check "b_export_all_403" [ "$(api GET '/api/v1/cache/export?all=true' "${B[@]}")" = 403 ]
check "b_stats_naming_a_403" [ "$(api GET "/api/v1/cache/stats?tenant=$TENANT_A_Q" "${B[@]}")" = 403 ]
api GET /api/v1/cache/export "${A[@]}" >/dev/null
cp "$E2E_TMP/api" "$E2E_TMP/a.jsonl"
na=$(grep -c . "$E2E_TMP/a.jsonl")
nb=$(grep -c . "$E2E_TMP/b.jsonl")
check "a_export_only_a" python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
sys.exit(0 if len(rows) >= 2 and all(r["tenant"] == "“team” á" for r in rows) else 1)' "$E2E_TMP/a.jsonl"
KEY_OF_A=$(python3 -c '
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["query_text"] == "How do I reset my password?": print(r["exact_key"])' "$E2E_TMP/a.jsonl")
check "b_stats_counts_only_b" '[ "$(api GET /api/v1/cache/stats "${B[@]}")" = 200 ] && [ "$(jget "$E2E_TMP/api" "j[\"entries\"]")" = "$nb" ] && [ "$(jget "$E2E_TMP/api" "j.get(\"hits\")")" = None ]'
check "b_delete_a_entry_404" '[ "$(api DELETE "/api/v1/cache/entries/$KEY_OF_A" "${B[@]}")" = 404 ] && [ "$(err_code)" = entry_not_found ]'
check "bad_entry_id_400" [ "$(api DELETE /api/v1/cache/entries/not-hex "${B[@]}")" = 400 ]
check "b_clear_naming_a_403" [ "$(api POST "/api/v1/cache/clear?tenant=$TENANT_A_Q" "${B[@]}")" = 403 ]
check "b_clear_all_403" [ "$(api POST '/api/v1/cache/clear?all=true' "${B[@]}")" = 403 ]
check "b_clear_own" '[ "$(api POST /api/v1/cache/clear "${B[@]}")" = 200 ] && [ "$(jget "$E2E_TMP/api" "j[\"cleared\"]")" = "$nb" ]'
n2=$(upstream_calls)
st=$(chat "$(q 'How do I reset my password?')" "${A[@]}")
check "a_entry_survives_b_delete_and_clear" '[ "$(header x-vsr-cache-hit)" = true ] && [ "$(upstream_calls)" = "$n2" ]'
check "a_stats_unchanged" '[ "$(api GET /api/v1/cache/stats "${A[@]}")" = 200 ] && [ "$(jget "$E2E_TMP/api" "j[\"entries\"]")" = "$na" ]'

# --- admin: any tenant, explicitly ----------------------------------------------------------------
check "admin_clear_needs_a_tenant_400" [ "$(api POST /api/v1/cache/clear "${ADM[@]}")" = 400 ]
check "admin_exports_a" '[ "$(api GET "/api/v1/cache/export?tenant=$TENANT_A_Q" "${ADM[@]}")" = 200 ] && [ "$(grep -c . "$E2E_TMP/api")" = "$na" ]'
check "admin_stats_whole_cache" '[ "$(api GET /api/v1/cache/stats "${ADM[@]}")" = 200 ] && [ "$(jget "$E2E_TMP/api" "j[\"entries\"]")" = "$na" ] && [ "$(jget "$E2E_TMP/api" "j[\"hits\"] >= 3")" = True ]'
check "admin_deletes_a_entry" '[ "$(api DELETE "/api/v1/cache/entries/$KEY_OF_A" "${ADM[@]}")" = 200 ] && [ "$(jget "$E2E_TMP/api" "j[\"deleted\"]")" = True ]'
check "deleted_entry_is_gone" [ "$(api DELETE "/api/v1/cache/entries/$KEY_OF_A" "${ADM[@]}")" = 404 ]
n3=$(upstream_calls)
st=$(chat "$(q 'How do I reset my password?')" "${A[@]}")
check "a_misses_after_delete" '[ "$(header x-vsr-cache-hit)" = false ] && [ "$(upstream_calls)" = $((n3 + 1)) ]'
check "a_clears_own" '[ "$(api POST /api/v1/cache/clear "${A[@]}")" = 200 ] && [ "$(jget "$E2E_TMP/api" "j[\"cleared\"]")" = "$na" ]'
# capacity: a tenant filling the cache evicts its own entries only (max_entries_per_tenant 4)
chat "$(q 'What is the tallest mountain on Earth?')" "${A[@]}" >/dev/null
for i in 1 2 3 4 5 6 7 8; do chat "$(q "Flood question number $i about “widgets” 🌊")" "${B[@]}" >/dev/null; done
n4=$(upstream_calls)
st=$(chat "$(q 'What is the tallest mountain on Earth?')" "${A[@]}")
check "b_flood_cannot_evict_a" '[ "$(header x-vsr-cache-hit)" = true ] && [ "$(upstream_calls)" = "$n4" ]'
check "b_flood_kept_to_its_quota" '[ "$(api GET /api/v1/cache/stats "${B[@]}")" = 200 ] && [ "$(jget "$E2E_TMP/api" "j[\"entries\"]")" = 4 ]'
check "cache_route_wrong_method_405" [ "$(api GET /api/v1/cache/clear "${ADM[@]}")" = 405 ]

# --- no secret in the log, the stats or an error --------------------------------------------------
api GET /api/v1/stats "${ADM[@]}" >/dev/null
leaks=0
for s in "$ADMIN_KEY" "$KEY_A" "$KEY_B" "$UPSTREAM_KEY"; do
    grep -qF "$s" "$ROUTER_LOG" "$E2E_TMP/api" "$E2E_TMP/out" && leaks=$((leaks + 1))
done
check "log_has_requests" grep -q '"tenant":"team-b"' "$ROUTER_LOG"
check "no_key_in_log_stats_or_errors" [ "$leaks" = 0 ]
router_stop
check "no_key_in_log_after_stop" bash -c "! grep -qF -e '$ADMIN_KEY' -e '$KEY_A' -e '$KEY_B' -e '$UPSTREAM_KEY' '$ROUTER_LOG'"

# --- bad key settings are config errors -----------------------------------------------------------
bad_cfg() {
    cat >"$E2E_TMP/bad.yaml" <<EOF
vllm_endpoints: [{name: a, address: 127.0.0.1, port: $FAKELLM_PORT}]
model_config: {small: {preferred_endpoints: [a]}}
default_model: small
auth:
  enabled: true
  keys:
$1
EOF
    "$ROUTER_BIN" check-config -c "$E2E_TMP/bad.yaml" >"$E2E_TMP/bad.out" 2>&1
}
bad_cfg "    - {key_sha256: abc123, tenant: t}"
check "short_sha256_refused" grep -q 'bad.yaml:7: auth.keys\[0\].key_sha256 must be 64 hex digits' "$E2E_TMP/bad.out"
bad_cfg "    - {key: k1, key_sha256: $ADMIN_SHA, tenant: t}"
check "two_key_sources_refused" grep -q 'bad.yaml:7: auth.keys\[0\] needs exactly one of key, key_env or key_sha256' "$E2E_TMP/bad.out"
bad_cfg "    - {key: $ADMIN_KEY, tenant: t}
    - {key_sha256: $ADMIN_SHA, tenant: u}"
check "same_key_as_hash_refused" grep -q 'bad.yaml:8: auth.keys\[1\] repeats the key of auth.keys\[0\]' "$E2E_TMP/bad.out"

# --- auth off: management routes answer loopback clients only --------------------------------------
EXT_IP=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9]+\.' | grep -v '^127\.' | head -1)
cat >"$E2E_TMP/open.yaml" <<EOF
server: {listen: 0.0.0.0, metrics_port: 0, workers: 1}
vllm_endpoints: [{name: a, address: 127.0.0.1, port: $FAKELLM_PORT}]
model_config: {small: {preferred_endpoints: [a]}}
default_model: small
semantic_cache: {enabled: true}
embedding_model: {type: use-lite, path: models/use-lite}
EOF
router_start "$E2E_TMP/open.yaml" || exit 1
check "auth_off_loopback_stats_200" [ "$(api GET /api/v1/stats)" = 200 ]
check "auth_off_loopback_cache_stats_200" [ "$(api GET /api/v1/cache/stats)" = 200 ]
if [ -n "$EXT_IP" ]; then
    ext() { curl -s -o "$E2E_TMP/api" -w '%{http_code}' -X "$1" "${@:3}" "http://$EXT_IP:$ROUTER_PORT$2"; }
    check "auth_off_remote_stats_403" '[ "$(ext GET /api/v1/stats)" = 403 ] && [ "$(err_code)" = management_loopback_only ]'
    check "auth_off_remote_clear_403" [ "$(ext POST '/api/v1/cache/clear?all=true')" = 403 ]
    check "auth_off_remote_reload_403" [ "$(ext POST /api/v1/reload)" = 403 ]
    st=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' "http://$EXT_IP:$ROUTER_PORT/v1/chat/completions" -d "$(q 'remote chat')")
    check "auth_off_remote_chat_200" [ "$st" = 200 ]
    router_stop
    printf 'auth: {management_loopback_only: false}\n' >>"$E2E_TMP/open.yaml"
    router_start "$E2E_TMP/open.yaml" || exit 1
    check "auth_off_open_management_remote_200" [ "$(ext GET /api/v1/cache/stats)" = 200 ]
else
    skip "auth_off_remote" "this machine has no non-loopback IPv4 address"
fi
router_stop
