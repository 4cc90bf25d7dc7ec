#!/usr/bin/env bash
# End-to-end: semantic_cache.backend_type milvus through the router, against the Milvus
# REST v2 test server (tests/milvus/server.mjs, with --state so a killed server comes back
# with its data like a real Milvus volume). fakellm counts the upstream calls; the official
# Milvus Node SDK reads back what the router wrote.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib/fakellm.sh
. tests/e2e/lib/router.sh
. tests/e2e/lib/check.sh
if [ ! -f models/use-lite/model.json ]; then
    skip "milvus_e2e" "models/use-lite missing (run scripts/fetch-model.sh)"
    exit 0
fi
if ! command -v node >/dev/null; then
    skip "milvus_e2e" "node is not installed (scripts/deps.sh --test)"
    exit 0
fi
fakellm_start --model small --tokens 8 || exit 1
UP=$FAKELLM_URL
upstream_calls() { curl -s "$UP/admin/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["chat_requests"])'; }

STATE=$E2E_TMP/milvus.state
. tests/e2e/lib/milvus.sh
milvus_start || exit 1

# milvus_yaml FILE COLLECTION [extra yaml]
milvus_yaml() {
    cat >"$1" <<EOF
connection:
  uri: "$MILVUS_URL"
  database: "default"
  timeout: 5
collection:
  name: "$2"
  vector_field: {name: "embedding", dimension: 0, metric_type: "COSINE"}
  index: {type: "HNSW", params: {M: 16, efConstruction: 64}}
search:
  params: {ef: 64}
  topk: 5
  consistency_level: "Strong"
  timeout_ms: 2000
${3:-}
EOF
}
# router_yaml FILE MILVUS_YAML [semantic_cache extra]
router_yaml() {
    cat >"$1" <<EOF
server: {listen: 127.0.0.1, metrics_port: 0, workers: 2}
vllm_endpoints:
  - {name: a, address: 127.0.0.1, port: $FAKELLM_PORT}
model_config:
  small: {preferred_endpoints: [a]}
default_model: small
embedding_model: {type: use-lite, path: models/use-lite}
semantic_cache:
  enabled: true
  backend_type: "milvus"
  backend_config_path: "$2"
  similarity_threshold: 0.8
  ${3:-}
auth:
  enabled: true
  keys:
    - {key: key-team-a, tenant: team-a}
    - {key: key-evil, tenant: 'evil" or tenant != "'}
EOF
}
q() { # QUESTION [extra JSON members] -> request body
    python3 -c 'import json,sys; b={"model":"small","messages":[{"role":"user","content":sys.argv[1]}]}; b.update(json.loads(sys.argv[2] or "{}")); print(json.dumps(b))' "$1" "${2:-}"
}
content() { jget "$E2E_TMP/out" 'j["choices"][0]["message"]["content"]'; }
A=(-H 'Authorization: Bearer key-team-a')
EVIL=(-H 'Authorization: Bearer key-evil')

milvus_yaml "$E2E_TMP/milvus.yaml" semcache_e2e
router_yaml "$E2E_TMP/r.yaml" "$E2E_TMP/milvus.yaml"
router_start "$E2E_TMP/r.yaml" || exit 1
check "startup_says_milvus" grep -q "milvus: .*semcache_e2e" "$ROUTER_LOG"
check "no_memory_fallback" --why "$(grep -m1 'memory backend' "$ROUTER_LOG")" '! grep -q "using the memory backend" "$ROUTER_LOG"'

# --- miss, then a hit on a paraphrase, from Milvus ---------------------------------------------
n0=$(upstream_calls)
st=$(chat "$(q 'How do I reset my password? ¿Cómo? “quickly” 🔑')" "${A[@]}")
first=$(content)
check "miss_goes_upstream" '[ "$st" = 200 ] && [ "$(header x-vsr-cache-hit)" = false ] && [ "$(upstream_calls)" = $((n0 + 1)) ]'
check "store_reaches_milvus" wait_rows semcache_e2e 1
st=$(chat "$(q 'I forgot my password, how can I change it? “quickly” 🔑')" "${A[@]}")
check "paraphrase_hits" '[ "$st" = 200 ] && [ "$(header x-vsr-cache-hit)" = true ] && [ "$(header x-vsr-response-path)" = cache ]'
check "hit_returns_stored_answer" '[ -n "$first" ] && [ "$(content)" = "$first" ]'
check "hit_made_no_upstream_call" [ "$(upstream_calls)" = $((n0 + 1)) ]
st=$(chat "$(q 'How do I reset my router to factory settings?')" "${A[@]}")
check "different_meaning_misses" '[ "$st" = 200 ] && [ "$(header x-vsr-cache-hit)" = false ]'

# --- tenant isolation with a hostile tenant name (filter literal escaping) -----------------------
st=$(chat "$(q 'How do I reset my password? ¿Cómo? “quickly” 🔑')" "${EVIL[@]}")
check "hostile_tenant_gets_no_other_tenant_entry" '[ "$st" = 200 ] && [ "$(header x-vsr-cache-hit)" = false ]'
check "hostile_tenant_entry_stored" wait_rows semcache_e2e 3
st=$(chat "$(q 'How do I reset my password? ¿Cómo? “quickly” 🔑')" "${EVIL[@]}")
check "hostile_tenant_hits_its_own" '[ "$(header x-vsr-cache-hit)" = true ]'

# --- a streamed answer is stored and replayed -------------------------------------------------------
n1=$(upstream_calls)
curl -s -N -o "$E2E_TMP/sse1" -H 'Content-Type: application/json' "${A[@]}" "$ROUTER_URL/v1/chat/completions" \
    --data-binary "$(q 'Explain photosynthesis in one sentence.' '{"stream":true}')"
check "stream_miss_upstream" '[ "$(upstream_calls)" = $((n1 + 1)) ] && grep -q "data: \[DONE\]" "$E2E_TMP/sse1"'
check "stream_stored" wait_rows semcache_e2e 4
curl -s -N -o "$E2E_TMP/sse2" -D "$E2E_TMP/hdr" -H 'Content-Type: application/json' "${A[@]}" \
    "$ROUTER_URL/v1/chat/completions" --data-binary "$(q 'Explain photosynthesis in one sentence.' '{"stream":true}')"
check "stream_replayed_from_milvus" '[ "$(header x-vsr-cache-hit)" = true ] && grep -q "data: \[DONE\]" "$E2E_TMP/sse2" && [ "$(upstream_calls)" = $((n1 + 1)) ]'

# --- metrics name the backend ----------------------------------------------------------------------
metrics() { curl -s "$ROUTER_URL/metrics"; }
check "metrics_milvus_hits" 'metrics | grep -q "llm_cache_operations_total{backend=\"milvus\",operation=\"find_similar\",status=\"hit\"}"'
check "metrics_milvus_stores" 'metrics | grep -q "llm_cache_operations_total{backend=\"milvus\",operation=\"add_entry\",status=\"success\"}"'
check "ready_shows_cache_ok" 'curl -s "$ROUTER_URL/ready" | grep -q "\"cache\":{\"backend\":\"milvus\",\"status\":\"ok\"}"'

# --- entries survive a router restart; two routers share them ------------------------------------
router_stop
router_start "$E2E_TMP/r.yaml" || exit 1
n2=$(upstream_calls)
st=$(chat "$(q 'I forgot my password, how can I change it? “quickly” 🔑')" "${A[@]}")
check "survives_router_restart" '[ "$(header x-vsr-cache-hit)" = true ] && [ "$(upstream_calls)" = "$n2" ]'
R1_URL=$ROUTER_URL R1_PID=$ROUTER_PID R1_LOG=$ROUTER_LOG
router_start "$E2E_TMP/r.yaml" || exit 1
R2_URL=$ROUTER_URL
st=$(chat "$(q 'What is the boiling point of water at sea level?')" "${A[@]}")
check "router2_miss" [ "$(header x-vsr-cache-hit)" = false ]
check "router2_stored" wait_rows semcache_e2e 5
ROUTER_URL=$R1_URL
st=$(chat "$(q 'What’s the boiling point of water at sea level?')" "${A[@]}") # (the hit verifier rejects 'At sea level, what temperature does water boil at?': p 0.58)
check "router1_hits_router2_entry" '[ "$st" = 200 ] && [ "$(header x-vsr-cache-hit)" = true ]'
ROUTER_URL=$R2_URL
router_stop
ROUTER_URL=$R1_URL ROUTER_PID=$R1_PID ROUTER_LOG=$R1_LOG

# --- semrouter cache on the Milvus collection ------------------------------------------------------
"$ROUTER_BIN" cache stats -c "$E2E_TMP/r.yaml" --json >"$E2E_TMP/st.json" 2>"$E2E_TMP/st.err"
check "cli_stats_counts_milvus_rows" '[ "$(jget "$E2E_TMP/st.json" "j[\"live_entries\"]")" = "$(rows semcache_e2e)" ] && [ "$(jget "$E2E_TMP/st.json" "j[\"dim\"]")" = 512 ]'
"$ROUTER_BIN" cache stats -c "$E2E_TMP/r.yaml" --tenant 'evil" or tenant != "' >"$E2E_TMP/st.txt" 2>&1
check "cli_stats_hostile_tenant" grep -q "entries      1 live of tenant" "$E2E_TMP/st.txt"
before=$(rows semcache_e2e)
"$ROUTER_BIN" cache clear -c "$E2E_TMP/r.yaml" --tenant 'evil" or tenant != "' >"$E2E_TMP/cl.txt" 2>&1
check "cli_clear_one_tenant_only" '[ "$(rows semcache_e2e)" = $((before - 1)) ] && grep -q "removed 1 entries" "$E2E_TMP/cl.txt"'

# --- the official SDK reads back the collection the router created --------------------------------
if [ -d tests/node/node_modules/@zilliz/milvus2-sdk-node ]; then
    node tests/milvus/sdk_check.mjs --readback "$MILVUS_URL" semcache_e2e 512 >"$E2E_TMP/rb.txt" 2>&1
    cat "$E2E_TMP/rb.txt" | sed 's/^/  /' | grep -v '^  PASS' || true
    check "sdk_readback" '! grep -q "^FAIL" "$E2E_TMP/rb.txt" && [ "$(grep -c "^PASS" "$E2E_TMP/rb.txt")" = 4 ]'
else
    skip "sdk_readback" "tests/node/node_modules/@zilliz/milvus2-sdk-node missing (scripts/deps.sh --test)"
fi

# --- Milvus killed mid-run: requests keep succeeding, the cache comes back -------------------------
proc_stop "$MILVUS_PID" KILL
n3=$(upstream_calls)
st=$(chat "$(q 'I forgot my password, how can I change it? “quickly” 🔑')" "${A[@]}")
check "down_request_succeeds_from_model" '[ "$st" = 200 ] && [ "$(header x-vsr-cache-hit)" = false ] && [ "$(upstream_calls)" = $((n3 + 1)) ]'
st=$(chat "$(q 'Name three primary colors.')" "${A[@]}")
check "down_second_request_succeeds" '[ "$st" = 200 ]'
check "ready_shows_cache_degraded" 'curl -s "$ROUTER_URL/ready" | grep -q "\"cache\":{\"backend\":\"milvus\",\"status\":\"degraded\"}"'
check "down_counted_as_error" 'metrics | grep -q "llm_cache_operations_total{backend=\"milvus\",operation=\"find_similar\",status=\"error\"}"'
check "down_logged" grep -q "milvus: .* failed" "$ROUTER_LOG"
milvus_start "$MILVUS_PORT" || exit 1
back=0
for i in $(seq 1 100); do
    curl -s "$ROUTER_URL/ready" | grep -q '"status":"ok"}' && { back=1; break; }
    sleep 0.1
done
check "cache_comes_back" [ "$back" = 1 ]
st=$(chat "$(q 'I forgot my password, how can I change it? “quickly” 🔑')" "${A[@]}")
check "hit_after_milvus_returns" '[ "$st" = 200 ] && [ "$(header x-vsr-cache-hit)" = true ]'
router_stop

# --- TTL: an expired entry is not served ----------------------------------------------------------
milvus_yaml "$E2E_TMP/milvus_ttl.yaml" semcache_ttl
router_yaml "$E2E_TMP/r_ttl.yaml" "$E2E_TMP/milvus_ttl.yaml" "ttl_seconds: 2"
router_start "$E2E_TMP/r_ttl.yaml" || exit 1
st=$(chat "$(q 'What is the capital of Australia?')" "${A[@]}")
check "ttl_stored" wait_rows semcache_ttl 1
st=$(chat "$(q 'What is the capital of Australia?')" "${A[@]}")
check "ttl_fresh_hits" [ "$(header x-vsr-cache-hit)" = true ]
sleep 3
st=$(chat "$(q 'What is the capital of Australia?')" "${A[@]}")
check "ttl_expired_misses" '[ "$st" = 200 ] && [ "$(header x-vsr-cache-hit)" = false ]'
router_stop

# --- setup errors are clear, never a silent fallback ------------------------------------------------
milvus_yaml "$E2E_TMP/milvus_dim.yaml" semcache_e2e_dim
sed -i 's/dimension: 0/dimension: 384/' "$E2E_TMP/milvus_dim.yaml"
router_yaml "$E2E_TMP/r_dim.yaml" "$E2E_TMP/milvus_dim.yaml"
"$ROUTER_BIN" serve -c "$E2E_TMP/r_dim.yaml" --port 0 >"$E2E_TMP/dim.log" 2>&1
rc=$?
check "dimension_mismatch_refuses_start" '[ "$rc" != 0 ] && grep -q "dimension is 384 but the embedding model" "$E2E_TMP/dim.log"'
milvus_yaml "$E2E_TMP/milvus_bad.yaml" semcache_bad
sed -i 's/metric_type: "COSINE"/metric_type: "HAMMING"/' "$E2E_TMP/milvus_bad.yaml"
router_yaml "$E2E_TMP/r_bad.yaml" "$E2E_TMP/milvus_bad.yaml"
"$ROUTER_BIN" check-config -c "$E2E_TMP/r_bad.yaml" >"$E2E_TMP/cc.txt" 2>&1
rc=$?
line=$(grep -n 'metric_type' "$E2E_TMP/milvus_bad.yaml" | cut -d: -f1)
check "check_config_names_file_and_line" '[ "$rc" != 0 ] && grep -q "milvus_bad.yaml:$line:.*metric_type must be IP, COSINE or L2" "$E2E_TMP/cc.txt"'
# --- auth (2.4.0 profile, root:Milvus): the right token works, a wrong one is a clear error ------
if proc_start "$E2E_TMP/milvus_auth.log" '^milvus-test listening on .*:\([0-9][0-9]*\) (version.*$' \
    node tests/milvus/server.mjs --port 0 --version 2.4.0 --auth root:Milvus; then
    AUTH_URL="http://127.0.0.1:$PROC_MATCH"
    sed "s|uri: \"$MILVUS_URL\"|uri: \"$AUTH_URL\"\n  token: \"root:Milvus\"|" "$E2E_TMP/milvus.yaml" >"$E2E_TMP/milvus_auth.yaml"
    router_yaml "$E2E_TMP/r_auth.yaml" "$E2E_TMP/milvus_auth.yaml"
    router_start "$E2E_TMP/r_auth.yaml" || exit 1
    st=$(chat "$(q 'Which planet is the largest?')" "${A[@]}")
    SAVED_URL=$MILVUS_URL MILVUS_URL=$AUTH_URL
    check "auth_token_v24_stored" wait_rows semcache_e2e 1
    MILVUS_URL=$SAVED_URL
    st=$(chat "$(q 'Which planet is the largest?')" "${A[@]}")
    check "auth_token_v24_hit" '[ "$st" = 200 ] && [ "$(header x-vsr-cache-hit)" = true ]'
    router_stop
    sed -i 's/root:Milvus/root:wrong/' "$E2E_TMP/milvus_auth.yaml"
    "$ROUTER_BIN" serve -c "$E2E_TMP/r_auth.yaml" --port 0 >"$E2E_TMP/auth.log" 2>&1
    rc=$?
    check "wrong_credentials_refuse_start" '[ "$rc" != 0 ] && grep -q "refused the credentials (HTTP 401, code 1800)" "$E2E_TMP/auth.log"'
else
    fail "auth_server_start" "$PROC_ERROR"
fi
exit 0
