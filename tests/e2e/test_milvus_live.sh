#!/usr/bin/env bash
# Live: the Milvus backend through the router against a real Milvus (standalone, cluster or
# Zilliz Cloud). Runs when MILVUS_URI is set (e.g. http://localhost:19530), with MILVUS_TOKEN
# ("root:Milvus" or an API key) when auth is on; prints SKIP otherwise. Uses a collection of its
# own (semrouter_live_<pid>) and drops it at the end.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib/check.sh
if [ -z "${MILVUS_URI:-}" ]; then
    skip "milvus_live" "MILVUS_URI is not set (e.g. MILVUS_URI=http://localhost:19530 MILVUS_TOKEN=root:Milvus); the same cases ran against tests/milvus/server.mjs in test_milvus.sh"
    exit 0
fi
if [ ! -f models/use-lite/model.json ]; then
    skip "milvus_live" "models/use-lite missing (run scripts/fetch-model.sh)"
    exit 0
fi
. tests/e2e/lib/fakellm.sh
. tests/e2e/lib/router.sh
fakellm_start --model small --tokens 8 || exit 1
UP=$FAKELLM_URL
upstream_calls() { curl -s "$UP/admin/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["chat_requests"])'; }
COLL=semrouter_live_$$
AUTH=()
[ -n "${MILVUS_TOKEN:-}" ] && AUTH=(-H "Authorization: Bearer $MILVUS_TOKEN")
mv() { curl -s -X POST "${AUTH[@]}" -H 'Content-Type: application/json' "${MILVUS_URI%/}/v2/vectordb/$1" -d "$2"; }
rows() {
    mv entities/query "{\"collectionName\":\"$COLL\",\"filter\":\"id != \\\"\\\"\",\"outputFields\":[\"count(*)\"]}" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["count(*)"])' 2>/dev/null || echo 0
}
wait_rows() { local i; for i in $(seq 1 100); do [ "$(rows)" -ge "$1" ] 2>/dev/null && return 0; sleep 0.1; done; return 1; }
cleanup_live() { mv collections/drop "{\"collectionName\":\"$COLL\"}" >/dev/null; }

cat >"$E2E_TMP/milvus.yaml" <<EOF
connection:
  uri: "$MILVUS_URI"
  token: "${MILVUS_TOKEN:-}"
  timeout: 30
collection:
  name: "$COLL"
  vector_field: {name: "embedding", dimension: 0, metric_type: "COSINE"}
  index: {type: "HNSW", params: {M: 16, efConstruction: 64}}
search: {params: {ef: 64}, topk: 5, consistency_level: "Strong", timeout_ms: 5000}
EOF
cat >"$E2E_TMP/r.yaml" <<EOF
server: {listen: 127.0.0.1, metrics_port: 0, workers: 2}
vllm_endpoints:
  - {name: a, address: 127.0.0.1, port: $FAKELLM_PORT}
model_config:
  small: {preferred_endpoints: [a]}
default_model: small
embedding_model: {type: use-lite, path: models/use-lite}
semantic_cache: {enabled: true, backend_type: "milvus", backend_config_path: "$E2E_TMP/milvus.yaml", similarity_threshold: 0.8}
auth:
  enabled: true
  keys:
    - {key: key-team-a, tenant: team-a}
    - {key: key-evil, tenant: 'evil" or tenant != "'}
EOF
q() { python3 -c 'import json,sys; print(json.dumps({"model":"small","messages":[{"role":"user","content":sys.argv[1]}]}))' "$1"; }
A=(-H 'Authorization: Bearer key-team-a')
EVIL=(-H 'Authorization: Bearer key-evil')
router_start "$E2E_TMP/r.yaml" || { cleanup_live; exit 1; }
check "live_ready_cache_ok" 'curl -s "$ROUTER_URL/ready" | grep -q "\"status\":\"ok\"}"'
n0=$(upstream_calls)
st=$(chat "$(q 'How do I reset my password? “quickly” 🔑')" "${A[@]}")
check "live_miss" '[ "$st" = 200 ] && [ "$(header x-vsr-cache-hit)" = false ]'
check "live_stored" wait_rows 1
st=$(chat "$(q 'I forgot my password, how can I change it? “quickly” 🔑')" "${A[@]}")
check "live_paraphrase_hit" '[ "$(header x-vsr-cache-hit)" = true ] && [ "$(upstream_calls)" = $((n0 + 1)) ]'
st=$(chat "$(q 'How do I reset my password? “quickly” 🔑')" "${EVIL[@]}")
check "live_hostile_tenant_isolated" '[ "$st" = 200 ] && [ "$(header x-vsr-cache-hit)" = false ]'
router_stop
router_start "$E2E_TMP/r.yaml" || { cleanup_live; exit 1; }
st=$(chat "$(q 'I forgot my password, how can I change it? “quickly” 🔑')" "${A[@]}")
check "live_survives_restart" [ "$(header x-vsr-cache-hit)" = true ]
if [ -d tests/node/node_modules/@zilliz/milvus2-sdk-node ]; then
    node tests/milvus/sdk_check.mjs --readback "$MILVUS_URI" "$COLL" 512 "${MILVUS_TOKEN:-}" >"$E2E_TMP/rb.txt" 2>&1
    check "live_sdk_readback" --why "$(grep -m1 FAIL "$E2E_TMP/rb.txt")" '! grep -q "^FAIL" "$E2E_TMP/rb.txt"'
fi
router_stop
cleanup_live
exit 0
