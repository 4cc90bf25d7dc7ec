#!/usr/bin/env bash
# End-to-end: the router's kept-alive connections to Milvus obey
# server.upstream_keepalive_idle_seconds and server.upstream_keepalive_lifetime_seconds, as its
# model-server connections do (test_upstream_keepalive.sh): a connection idle for more than the
# first, or opened more than the second ago (whole seconds, strictly more), is closed, not
# reused. The Milvus test server counts the TCP connections that carried a /v2/ request, so reuse
# and reconnects are seen from the server's side.
#   - the loops' pools (lookups, stores): milvus backend at 127.0.0.1 (native engine) and at
#     localhost (libcurl multi); one worker, so one pool; requests close together share one
#     connection (the control), one after 4 s idle with a 2 s limit comes on a new one;
#   - the blocking handle (bootstrap, maintenance, the hybrid tier's sync pulls every 300 ms):
#     with a 2 s lifetime the pulls over 7 s open new connections, without one they reuse one.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib/fakellm.sh
. tests/e2e/lib/router.sh
. tests/e2e/lib/check.sh
if [ ! -f models/use-lite/model.json ]; then
    skip "milvus_keepalive" "models/use-lite missing (run scripts/fetch-model.sh)"
    exit 0
fi
if ! command -v node >/dev/null; then
    skip "milvus_keepalive" "node is not installed (scripts/deps.sh --test)"
    exit 0
fi
fakellm_start --model small --tokens 4 || exit 1
STATE=$E2E_TMP/milvus.state
. tests/e2e/lib/milvus.sh
milvus_start || exit 1
conns() { curl -s "$MILVUS_URL/_test/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["connections"])'; }

# config BACKEND HOST IDLE LIFETIME COLLECTION
config() {
    cat >"$E2E_TMP/mv.yaml" <<EOF
connection: {uri: "http://$2:$MILVUS_PORT", database: "default", timeout: 5}
collection:
  name: "$5"
  vector_field: {name: "embedding", dimension: 0, metric_type: "COSINE"}
search: {topk: 5, consistency_level: "Strong", timeout_ms: 3000}
data_management: {ttl: {cleanup_interval: 0}}
hybrid: {sync_interval_ms: 300, sync_overlap_seconds: 10, resync_seconds: 0}
EOF
    cat >"$E2E_TMP/r.yaml" <<EOF
server:
  listen: 127.0.0.1
  metrics_port: 0
  workers: 1
  upstream_keepalive_idle_seconds: $3
  upstream_keepalive_lifetime_seconds: $4
vllm_endpoints:
  - {name: a, address: 127.0.0.1, port: $FAKELLM_PORT}
model_config:
  small: {preferred_endpoints: [a]}
default_model: small
embedding_model: {type: use-lite, path: models/use-lite}
semantic_cache:
  enabled: true
  backend_type: "$1"
  backend_config_path: "$E2E_TMP/mv.yaml"
  similarity_threshold: 0.8
EOF
}
ready() { wait_for 20 'curl -s "$ROUTER_URL/ready" | grep -q "\"status\":\"ok\"}"'; }
FAILED=0
# ask N COLLECTION: a new question (a miss: one search, one store); waits until its row is there
# and the store's answer is back, so the next lookup finds the connection idle
ask() {
    local st
    st=$(chat "{\"model\":\"small\",\"messages\":[{\"role\":\"user\",\"content\":\"keep-alive question number $1 about $RANDOM\"}]}")
    [ "$st" = 200 ] || FAILED=$((FAILED + 1))
    wait_rows "$2" "$1" || FAILED=$((FAILED + 1))
    sleep 0.3
}

# --- the loops' pools: idle age 2 s -----------------------------------------------------------------
for host in 127.0.0.1 localhost; do
    engine=native
    [ "$host" = localhost ] && engine=curl
    coll=ka_$engine
    config milvus "$host" 2 0 "$coll"
    router_start "$E2E_TMP/r.yaml" || exit 1
    check "${engine}_ready" ready
    c0=$(conns)
    ask 1 "$coll"
    ask 2 "$coll"
    ask 3 "$coll"
    d=$(($(conns) - c0))
    check "${engine}_young_connection_reused" --why "3 lookups and stores, $d connections" '[ "$d" = 1 ]'
    c1=$(conns)
    sleep 4 # idle for more than 2 whole seconds
    ask 4 "$coll"
    d=$(($(conns) - c1))
    check "${engine}_idle_past_max_age_not_reused" --why "$d new connections" '[ "$d" = 1 ]'
    router_stop
done
check "pool_no_request_failed" --why "$FAILED failed" '[ "$FAILED" = 0 ]'

# --- the blocking handle: the hybrid tier's sync pulls, lifetime 2 s vs none ------------------------
for life in 0 2; do
    config hybrid 127.0.0.1 30 "$life" ka_hybrid
    router_start "$E2E_TMP/r.yaml" || exit 1
    check "hybrid_life${life}_ready" ready
    p0=$(curl -s "$MILVUS_URL/_test/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"].get("entities/query", 0))')
    c0=$(conns)
    sleep 7
    d=$(($(conns) - c0))
    pulls=$(($(curl -s "$MILVUS_URL/_test/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"].get("entities/query", 0))') - p0))
    if [ "$life" = 0 ]; then
        check "hybrid_pulls_reuse_without_lifetime" --why "$pulls pulls in 7 s, $d new connections" '[ "$pulls" -ge 5 ] && [ "$d" = 0 ]'
    else
        # replaced from 3 s of age on: about 2 new ones in 7 s, never more than one per 3 s
        check "hybrid_pulls_reconnect_after_lifetime" --why "$pulls pulls in 7 s, $d new connections" \
            '[ "$pulls" -ge 5 ] && [ "$d" -ge 1 ] && [ "$d" -le 3 ]'
    fi
    router_stop
done
exit 0
