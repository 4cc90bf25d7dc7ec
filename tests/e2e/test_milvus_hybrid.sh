#!/usr/bin/env bash
# End-to-end: semantic_cache.backend_type hybrid (cache/hybrid.h) through the router against the
# Milvus REST v2 test server (tests/milvus/server.mjs --state: a killed server comes back with its
# data like a real Milvus volume). Local search, answers fetched from Milvus: miss then a hit on
# a paraphrase; the local index is rebuilt from Milvus after a restart; two routers share entries
# through the sync (bounded wait, no timing asserted); an entry cleared in Milvus is not served;
# Milvus killed mid-run -> requests still succeed from the model, /ready degraded, the cache
# comes back; the official SDK reads what hybrid wrote.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib/fakellm.sh
. tests/e2e/lib/router.sh
. tests/e2e/lib/check.sh
if [ ! -f models/use-lite/model.json ]; then
    skip "milvus_hybrid" "models/use-lite missing (run scripts/fetch-model.sh)"
    exit 0
fi
if ! command -v node >/dev/null; then
    skip "milvus_hybrid" "node is not installed (scripts/deps.sh --test)"
    exit 0
fi
fakellm_start --model small --tokens 8 || exit 1
UP=$FAKELLM_URL
upstream_calls() { curl -s "$UP/admin/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["chat_requests"])'; }
STATE=$E2E_TMP/milvus.state
. tests/e2e/lib/milvus.sh
milvus_start || exit 1

cat >"$E2E_TMP/milvus.yaml" <<EOF
connection: {uri: "$MILVUS_URL", database: "default", timeout: 5}
collection:
  name: "semcache_hybrid"
  vector_field: {name: "embedding", dimension: 0, metric_type: "COSINE"}
  index: {type: "HNSW", params: {M: 16, efConstruction: 64}}
search: {params: {ef: 64}, topk: 5, consistency_level: "Strong", timeout_ms: 2000}
hybrid: {sync_interval_ms: 200, sync_overlap_seconds: 10}
EOF
cat >"$E2E_TMP/r.yaml" <<EOF
server: {listen: 127.0.0.1, metrics_port: 0, workers: 2}
vllm_endpoints:
  - {name: a, address: 127.0.0.1, port: $FAKELLM_PORT}
model_config:
  small: {preferred_endpoints: [a]}
default_model: small
embedding_model: {type: use-lite, path: models/use-lite}
semantic_cache:
  enabled: true
  backend_type: "hybrid"
  backend_config_path: "$E2E_TMP/milvus.yaml"
  similarity_threshold: 0.8
auth:
  enabled: true
  keys:
    - {key: key-team-a, tenant: team-a}
    - {key: key-team-b, tenant: 'team-b “curly” 🌍'}
EOF
q() { python3 -c 'import json,sys; print(json.dumps({"model":"small","messages":[{"role":"user","content":sys.argv[1]}]}))' "$1"; }
content() { jget "$E2E_TMP/out" 'j["choices"][0]["message"]["content"]'; }
metrics() { curl -s "$ROUTER_URL/metrics"; }
A=(-H 'Authorization: Bearer key-team-a')
B=(-H 'Authorization: Bearer key-team-b')
NS=(-H 'Cache-Control: no-store')
# wait_hit BODY ARGS...: asks (never storing) until it is a hit, at most 10 s; 0 when it hit
wait_hit() { local i; for i in $(seq 1 100); do chat "$@" "${NS[@]}" >/dev/null; [ "$(header x-vsr-cache-hit)" = true ] && return 0; sleep 0.1; done; return 1; }
PW='How do I reset my password? ¿Cómo? “quickly” 🔑'
PW2='I forgot my password, how can I change it? “quickly” 🔑'

router_start "$E2E_TMP/r.yaml" || exit 1
check "startup_says_hybrid" grep -q "hybrid: local search, answers in Milvus at $MILVUS_URL" "$ROUTER_LOG"

# --- miss, then a hit on a paraphrase: local search, answer from Milvus ---------------------------
n0=$(upstream_calls)
st=$(chat "$(q "$PW")" "${A[@]}")
first=$(content)
check "miss_goes_upstream" '[ "$st" = 200 ] && [ "$(header x-vsr-cache-hit)" = false ] && [ "$(upstream_calls)" = $((n0 + 1)) ]'
check "store_reaches_milvus" wait_rows semcache_hybrid 1
st=$(chat "$(q "$PW2")" "${A[@]}")
check "paraphrase_hits" '[ "$st" = 200 ] && [ "$(header x-vsr-cache-hit)" = true ] && [ "$(header x-vsr-response-path)" = cache ]'
check "hit_returns_stored_answer" '[ -n "$first" ] && [ "$(content)" = "$first" ] && [ "$(upstream_calls)" = $((n0 + 1)) ]'
st=$(chat "$(q "$PW2")" "${B[@]}" "${NS[@]}")
check "other_tenant_misses" '[ "$st" = 200 ] && [ "$(header x-vsr-cache-hit)" = false ]'
check "metrics_hybrid_hits" 'metrics | grep -q "llm_cache_operations_total{backend=\"hybrid\",operation=\"find_similar\",status=\"hit\"}"'
check "ready_shows_hybrid_ok" 'curl -s "$ROUTER_URL/ready" | grep -q "\"cache\":{\"backend\":\"hybrid\",\"status\":\"ok\"}"'

# --- restart: the local index is rebuilt from Milvus (progress line), the entry hits -------------
router_stop
n_rows=$(rows semcache_hybrid)
router_start "$E2E_TMP/r.yaml" || exit 1
check "rebuild_progress_line" --why "$(grep -m2 'hybrid' "$ROUTER_LOG")" \
    'grep -q "hybrid: rebuilding the local index from Milvus: .*$n_rows entries" "$ROUTER_LOG" && grep -q "local index built from Milvus: $n_rows rows read" "$ROUTER_LOG"'
n1=$(upstream_calls)
st=$(chat "$(q "$PW2")" "${A[@]}")
check "rebuild_after_restart_hits" '[ "$st" = 200 ] && [ "$(header x-vsr-cache-hit)" = true ] && [ "$(content)" = "$first" ] && [ "$(upstream_calls)" = "$n1" ]'

# --- two routers share entries through the sync -----------------------------------------------------
R1_URL=$ROUTER_URL R1_PID=$ROUTER_PID R1_LOG=$ROUTER_LOG
router_start "$E2E_TMP/r.yaml" || exit 1
R2_URL=$ROUTER_URL R2_PID=$ROUTER_PID R2_LOG=$ROUTER_LOG
st=$(chat "$(q 'What is the boiling point of water at sea level?')" "${A[@]}")
check "router2_miss_stored" '[ "$(header x-vsr-cache-hit)" = false ] && wait_rows semcache_hybrid $((n_rows + 1))'
ROUTER_URL=$R1_URL
check "router1_sees_router2_entry" wait_hit "$(q 'What’s the boiling point of water at sea level?')" "${A[@]}"
st=$(chat "$(q 'Name the largest ocean on Earth. 🌊')" "${B[@]}")
check "router1_miss_stored" '[ "$(header x-vsr-cache-hit)" = false ] && wait_rows semcache_hybrid $((n_rows + 2))'
ROUTER_URL=$R2_URL
check "router2_sees_router1_entry" wait_hit "$(q 'Name the largest ocean on Earth. 🌊')" "${B[@]}"
router_stop
ROUTER_URL=$R1_URL ROUTER_PID=$R1_PID ROUTER_LOG=$R1_LOG

# --- the official SDK reads what hybrid wrote ------------------------------------------------------
if [ -d tests/node/node_modules/@zilliz/milvus2-sdk-node ]; then
    node tests/milvus/sdk_check.mjs --readback "$MILVUS_URL" semcache_hybrid 512 >"$E2E_TMP/rb.txt" 2>&1
    check "sdk_reads_hybrid_rows" --why "$(grep FAIL "$E2E_TMP/rb.txt" | head -2)" \
        '! grep -q "^FAIL" "$E2E_TMP/rb.txt" && [ "$(grep -c "^PASS" "$E2E_TMP/rb.txt")" = 4 ]'
else
    skip "sdk_reads_hybrid_rows" "tests/node/node_modules/@zilliz/milvus2-sdk-node missing (scripts/deps.sh --test)"
fi

# --- an entry cleared in Milvus is not served from the local index ------------------------------
"$ROUTER_BIN" cache clear -c "$E2E_TMP/r.yaml" --tenant 'team-b “curly” 🌍' >"$E2E_TMP/cl.txt" 2>&1
check "cli_clears_hybrid_collection" grep -q "removed 1 entries" "$E2E_TMP/cl.txt"
n2=$(upstream_calls)
st=$(chat "$(q 'Name the largest ocean on Earth. 🌊')" "${B[@]}" "${NS[@]}")
check "cleared_entry_not_served" '[ "$st" = 200 ] && [ "$(header x-vsr-cache-hit)" = false ] && [ "$(upstream_calls)" = $((n2 + 1)) ]'

# --- Milvus killed mid-run: local search runs, answers cannot be fetched -> miss; comes back ------
proc_stop "$MILVUS_PID" KILL
n3=$(upstream_calls)
st=$(chat "$(q "$PW2")" "${A[@]}")
check "down_request_succeeds_from_model" '[ "$st" = 200 ] && [ "$(header x-vsr-cache-hit)" = false ] && [ "$(upstream_calls)" = $((n3 + 1)) ]'
st=$(chat "$(q 'Name three primary colors.')" "${A[@]}")
check "down_second_request_succeeds" '[ "$st" = 200 ]'
check "ready_shows_hybrid_degraded" 'curl -s "$ROUTER_URL/ready" | grep -q "\"cache\":{\"backend\":\"hybrid\",\"status\":\"degraded\"}"'
check "down_counted_as_error" 'metrics | grep -q "llm_cache_operations_total{backend=\"hybrid\",operation=\"find_similar\",status=\"error\"}"'
milvus_start "$MILVUS_PORT" || exit 1
back=0
for i in $(seq 1 100); do
    curl -s "$ROUTER_URL/ready" | grep -q '"cache":{"backend":"hybrid","status":"ok"}' && { back=1; break; }
    sleep 0.1
done
check "cache_comes_back" [ "$back" = 1 ]
st=$(chat "$(q "$PW2")" "${A[@]}")
check "hit_after_milvus_returns" '[ "$st" = 200 ] && [ "$(header x-vsr-cache-hit)" = true ] && [ "$(content)" = "$first" ]'
router_stop

# --- Milvus down at start: the router starts degraded, rebuilds when Milvus answers -------------
proc_stop "$MILVUS_PID" KILL
router_start "$E2E_TMP/r.yaml" || exit 1
check "starts_degraded" 'curl -s "$ROUTER_URL/ready" | grep -q "\"cache\":{\"backend\":\"hybrid\",\"status\":\"degraded\"}"'
milvus_start "$MILVUS_PORT" || exit 1
check "rebuilds_when_milvus_answers" wait_hit "$(q "$PW2")" "${A[@]}"
check "late_rebuild_logged" grep -q "local index built from Milvus" "$ROUTER_LOG"
router_stop
exit 0
