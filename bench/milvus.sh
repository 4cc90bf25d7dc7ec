#!/usr/bin/env bash
# bench/milvus.sh - the Milvus cache backend against the memory backend, same router binary,
# same requests, in the same run (numbers are meaningful as ratios):
#
#   hit     a paraphrase answered from the cache (1 connection, wrk): p50 / p99, memory vs milvus
#           vs hybrid (local search + one fetch of the answer by id)
#   miss    distinct questions (4 connections, threshold 0.999 so none hits): every request is
#           a lookup miss + the model + a store; req/s, and stores per second kept
#
# Milvus here is tests/milvus/server.mjs (Node, a linear scan in JS): it shows what the
# client side costs (HTTP round trip, JSON, the event loop), not what a real Milvus costs;
# against a real one set MILVUS_URI (and MILVUS_TOKEN). Environment: DURATION (s, 8), BUILD.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
DURATION=${DURATION:-8}
command -v wrk >/dev/null || { echo "milvus bench: wrk missing (scripts/deps.sh --test)"; exit 1; }
command -v node >/dev/null || { echo "milvus bench: node missing (scripts/deps.sh --test)"; exit 1; }
[ -f models/use-lite/model.json ] || scripts/fetch-model.sh || exit 1
. tests/e2e/lib/proc.sh
T=$(mktemp -d)
trap 'proc_stop_all; [ -n "${KEEP:-}" ] && echo "kept $T" || rm -rf "$T"' EXIT

proc_start "$T/fakellm.log" '^fakellm listening on .*:\([0-9][0-9]*\)$' \
    "$BUILD/fakellm" --port 0 --model small --quiet || { echo "fakellm: $PROC_ERROR"; exit 1; }
FPORT=$PROC_MATCH
if [ -n "${MILVUS_URI:-}" ]; then
    MURL=$MILVUS_URI
else
    proc_start "$T/milvus.log" '^milvus-test listening on .*:\([0-9][0-9]*\) (version.*$' \
        node tests/milvus/server.mjs --port 0 --version 2.5 || { echo "milvus test server: $PROC_ERROR"; exit 1; }
    MURL="http://127.0.0.1:$PROC_MATCH"
fi
mvyaml() { # FILE COLLECTION: each backend its own collection (the same number of rows)
    cat >"$1" <<EOF
connection: {uri: "$MURL", token: "${MILVUS_TOKEN:-}", timeout: 30}
collection:
  name: "$2"
  vector_field: {name: "embedding", dimension: 0, metric_type: "COSINE"}
  index: {type: "HNSW", params: {M: 16, efConstruction: 64}}
search: {params: {ef: 64}, topk: 4, consistency_level: "Bounded", timeout_ms: 2000}
hybrid: {sync_interval_ms: 1000}
EOF
}
config() { # FILE BACKEND [THRESHOLD]
    cat >"$1" <<EOF
server: {listen: 127.0.0.1, metrics_port: 0, workers: 1, log_requests: false}
vllm_endpoints:
  - {name: a, address: 127.0.0.1, port: $FPORT}
model_config:
  small: {preferred_endpoints: [a]}
default_model: small
embedding_model: {type: use-lite, path: models/use-lite}
semantic_cache:
  enabled: true
  backend_type: "$2"
  backend_config_path: "$T/milvus_$2.yaml"
  similarity_threshold: ${3:-0.8}
EOF
}
body() { python3 -c 'import json,sys; print(json.dumps({"model":"small","messages":[{"role":"user","content":sys.argv[1]}]}))' "$1"; }
cat >"$T/hit.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[$(body 'I forgot my password, how can I change it?')]]
EOF
cat >"$T/miss.lua" <<'EOF'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local threads = 0
function setup(thread)
    threads = threads + 1
    thread:set("tid", threads)
end
local n = 0
request = function()
    n = n + 1
    local q = string.format("Question %d from thread %d: what is %d times %d in base %d?", n, tid, n, n * 7 + 3, 2 + n % 30)
    return wrk.format(nil, nil, nil, '{"model":"small","messages":[{"role":"user","content":"' .. q .. '"}]}')
end
EOF
p() { sed -n "s/^ *$1% *\([0-9.]*\)\(us\|ms\|s\)$/\1 \2/p" "$2" | awk '{v=$1; if ($2=="us") v/=1000; if ($2=="s") v*=1000; printf "%.2f", v}'; }
rps() { sed -n 's/^Requests\/sec: *\([0-9.]*\)/\1/p' "$1"; }
stored() { # memory: llm_cache_operations add_entry success; milvus: same counter with backend milvus
    curl -s "$1/metrics" | sed -n "s/^llm_cache_operations_total{backend=\"$2\",operation=\"add_entry\",status=\"success\"} \([0-9.e+]*\).*/\1/p"
}

declare -A HIT50 HIT99 MISSRPS STORES
for backend in memory milvus hybrid; do
    mvyaml "$T/milvus_$backend.yaml" "bench_${$}_$backend"
    config "$T/router_$backend.yaml" "$backend"
    proc_start "$T/r_$backend.log" '^semrouter listening on .*:\([0-9][0-9]*\) (metrics.*$' \
        "$BUILD/semrouter" serve -c "$T/router_$backend.yaml" --port 0 || { echo "router ($backend): $PROC_ERROR"; cat "$T/r_$backend.log"; exit 1; }
    RURL="http://127.0.0.1:$PROC_MATCH" RPID=$PROC_PID
    curl -s -o /dev/null "$RURL/v1/chat/completions" -H 'Content-Type: application/json' --data-binary "$(body 'How do I reset my password?')"
    for i in $(seq 1 50); do # the store is asynchronous with milvus
        st=$(curl -s -D - -o /dev/null "$RURL/v1/chat/completions" -H 'Content-Type: application/json' \
            --data-binary "$(body 'I forgot my password, how can I change it?')" | tr -d '\r' | sed -n 's/^x-vsr-cache-hit: //Ip')
        [ "$st" = true ] && break
        sleep 0.1
    done
    [ "$st" = true ] || { echo "milvus bench: no hit with $backend"; exit 1; }
    wrk -t1 -c1 -d"${DURATION}s" --latency -s "$T/hit.lua" "$RURL/v1/chat/completions" >"$T/hit_$backend.txt"
    HIT50[$backend]=$(p 50 "$T/hit_$backend.txt") HIT99[$backend]=$(p 99 "$T/hit_$backend.txt")
    proc_stop "$RPID"
    # misses: the generated questions look alike, so a threshold of 0.999 keeps them misses
    config "$T/router_$backend.yaml" "$backend" 0.999
    proc_start "$T/r_$backend.log" '^semrouter listening on .*:\([0-9][0-9]*\) (metrics.*$' \
        "$BUILD/semrouter" serve -c "$T/router_$backend.yaml" --port 0 || { echo "router ($backend): $PROC_ERROR"; exit 1; }
    RURL="http://127.0.0.1:$PROC_MATCH" RPID=$PROC_PID
    label=$backend; [ $backend = hybrid ] && label=milvus # hybrid's upserts are the Milvus backend's
    s0=$(stored "$RURL" "$label")
    wrk -t2 -c4 -d"${DURATION}s" -s "$T/miss.lua" "$RURL/v1/chat/completions" >"$T/miss_$backend.txt"
    sleep 1
    s1=$(stored "$RURL" "$label")
    MISSRPS[$backend]=$(rps "$T/miss_$backend.txt")
    STORES[$backend]=$(awk -v a="${s0:-0}" -v b="${s1:-0}" -v d="$DURATION" 'BEGIN{printf "%.0f", (b-a)/d}')
    proc_stop "$RPID"
done
ratio() { awk -v a="$1" -v b="$2" -v f="$3" 'BEGIN{printf f, b/a}'; }
printf "%-28s %10s %10s %10s %9s %9s\n" "" memory milvus hybrid milvus/m hybrid/m
for row in "hit p50 (ms, 1 conn)|HIT50|%.1fx" "hit p99 (ms, 1 conn)|HIT99|%.1fx" "miss+store req/s (4 conn)|MISSRPS|%.2fx"; do
    IFS='|' read -r name var f <<<"$row"
    declare -n V=$var
    printf "%-28s %10s %10s %10s %9s %9s\n" "$name" "${V[memory]}" "${V[milvus]}" "${V[hybrid]}" \
        "$(ratio "${V[memory]}" "${V[milvus]}" "$f")" "$(ratio "${V[memory]}" "${V[hybrid]}" "$f")"
    unset -n V
done
printf "%-28s %10s %10s %10s\n" "stores/s kept" "${STORES[memory]}" "${STORES[milvus]}" "${STORES[hybrid]}"
echo "milvus: $MURL (${MILVUS_URI:+real Milvus}${MILVUS_URI:-tests/milvus/server.mjs, Node})"
