#!/usr/bin/env bash
# bench/e2e_latency.sh - request latency through the router for the semantic paths (docs/DESIGN.md §8):
#
#   passthrough  explicit model, cache off          (the anchor: proxying alone)
#   auto miss    model MoM: embed + PII scan + classify + cache lookup (a miss) + proxy;
#                "added" = its p50 minus the pass-through p50 (target <= 3 ms)
#   cache hit    a paraphrase answered from a cache holding ENTRIES entries (default 100000)
#                in the same partition (target p50 <= 2 ms)
#
# One connection (wrk -c1), so p50/p99 are service times, not queueing. The cache is filled
# through `semrouter cache import` with one real entry (stored by the router) plus ENTRIES-1
# clones carrying random unit vectors, which is what a large cache looks like to the index.
# Environment: ENTRIES (100000), DURATION (s, 10), BUILD (build).
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
ENTRIES=${ENTRIES:-100000}
DURATION=${DURATION:-10}
PY=/usr/bin/python3
[ -x $PY ] || PY=python3
command -v wrk >/dev/null || { echo "e2e_latency: wrk missing (scripts/deps.sh --test)"; exit 1; }
[ -f models/use-lite/model.json ] || scripts/fetch-model.sh || exit 1

. tests/e2e/lib/proc.sh # start, wait for the listening line, stop only our own children
T=$(mktemp -d)
cleanup() {
    proc_stop_all
    rm -rf "$T"
}
trap cleanup EXIT

proc_start "$T/fakellm.log" '^fakellm listening on .*:\([0-9][0-9]*\)$' \
    "$BUILD/fakellm" --port 0 --model small --model large --quiet || { echo "fakellm did not start: $PROC_ERROR"; exit 1; }
FPORT=$PROC_MATCH

# the default config's models and categories, on our fakellm, with a persistent cache
sed -e "s/port: 8811/port: $FPORT/; s/port: 8812/port: $FPORT/" config/config.yaml >"$T/config.yaml"
$PY - "$T/config.yaml" "$T/cache.log" <<'PY'
import sys, re
p, persist = sys.argv[1], sys.argv[2]
s = open(p).read()
s = s.replace('  # persist_path: "data/cache"', f'  persist_path: "{persist}"')
s = re.sub(r'max_entries: \d+', 'max_entries: 0', s, count=1)
s = s.replace('metrics_port: 9190', 'metrics_port: 0')
s = s.replace('log_requests: true', 'log_requests: false')
s = s.replace('  workers: 0', '  workers: 1')
open(p, "w").write(s)
PY
grep -q "persist_path: \"$T/cache.log\"" "$T/config.yaml" || { echo "could not set persist_path"; exit 1; }

# the anchor: the same router binary with nothing semantic on (explicit model, no cache, no guard)
$PY - "$T/config.yaml" "$T/plain.yaml" <<'PY'
import sys
s = open(sys.argv[1]).read()
s = s.replace("semantic_cache:\n  enabled: true", "semantic_cache:\n  enabled: false")
s = s.replace("prompt_guard:\n  enabled: true", "prompt_guard:\n  enabled: false")
s = s.replace("  enabled: true\n  action: block", "  enabled: false\n  action: block")
open(sys.argv[2], "w").write(s)
PY
grep -q "enabled: false" "$T/plain.yaml" || { echo "could not write the plain config"; exit 1; }

start_router() { # [config]; loading a large cache takes a while
    PROC_TIMEOUT=600 proc_start "$T/router.log" '^semrouter listening on .*:\([0-9][0-9]*\) (metrics.*$' \
        "$BUILD/semrouter" serve -c "${1:-$T/config.yaml}" --port 0 ||
        { echo "router did not start: $PROC_ERROR"; cat "$T/router.log"; exit 1; }
    RPID=$PROC_PID RPORT=$PROC_MATCH
    URL="http://127.0.0.1:$RPORT/v1/chat/completions"
}
stop_router() { proc_stop "$RPID"; }

body() { $PY -c 'import json,sys; print(json.dumps({"model":sys.argv[1],"messages":[{"role":"user","content":sys.argv[2]}]}))' "$1" "$2"; }
# wrk_p50 NAME URL BODY [HEADER]: prints "p50_us p99_us reqs"
wrk_run() {
    local cc=""
    [ -n "${3:-}" ] && cc="wrk.headers[\"Cache-Control\"] = \"$3\""
    cat >"$T/post.lua" <<EOF
wrk.method = "POST"
wrk.body = [[$2]]
wrk.headers["Content-Type"] = "application/json"
$cc
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %d\n", latency:percentile(50), latency:percentile(99), summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
EOF
    wrk -t1 -c1 -d"${DURATION}s" -s "$T/post.lua" "$1" 2>"$T/wrk.err" | tee "$T/wrk.out" | sed -n 's/^RESULT //p'
}

start_router "$T/plain.yaml"
URL="http://127.0.0.1:$RPORT/v1/chat/completions"
echo "e2e_latency: one connection, ${DURATION}s each; router with 1 worker; $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
read -r pt50 pt99 ptn pte <<<"$(wrk_run "$URL" "$(body small 'Say hello to the benchmark.')")"
stop_router

start_router
URL="http://127.0.0.1:$RPORT/v1/chat/completions"
Q1="How do I compute the derivative of x^3 times sin(x)?"
Q2="What is the derivative of x^3 * sin(x), and how do I compute it?"
curl -s -o /dev/null -H 'Content-Type: application/json' "$URL" -d "$(body MoM "$Q1")"

read -r am50 am99 amn ame <<<"$(wrk_run "$URL" "$(body MoM 'Explain how a transformer attention layer works, step by step.')" no-store)"
[ -n "$am50" ] || { echo "auto-miss run failed:"; cat "$T/post.lua" "$T/wrk.err" "$T/wrk.out"; }
stop_router

# fill the cache: the real entry plus clones with random vectors in the same partition
"$BUILD/semrouter" cache export -p "$T/cache.log" -o "$T/one.jsonl" >/dev/null 2>&1
$PY - "$T/one.jsonl" "$ENTRIES" "$T/fill.jsonl" <<'PY'
import json, sys, base64, hashlib
import numpy as np
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
base = next(l for l in lines if "vector" in l)
n = int(sys.argv[2]) - len(lines)
rng = np.random.default_rng(7)
dim = len(base64.b64decode(base["vector"])) // 4
with open(sys.argv[3], "w") as out:
    for i in range(max(n, 0)):
        v = rng.standard_normal(dim).astype("<f4")
        v /= np.linalg.norm(v)
        e = dict(base)
        e["exact_key"] = hashlib.sha256(b"fill%d" % i).hexdigest()
        e["vector"] = base64.b64encode(v.tobytes()).decode()
        e["query_text"] = "filler %d" % i
        out.write(json.dumps(e) + "\n")
PY
t0=$(date +%s.%N)
"$BUILD/semrouter" cache import -p "$T/cache.log" -i "$T/fill.jsonl" >"$T/import.log" 2>&1 || { cat "$T/import.log"; exit 1; }
t1=$(date +%s.%N)
entries=$("$BUILD/semrouter" cache stats -p "$T/cache.log" 2>/dev/null | sed -n 's/.*entries[": ]*\([0-9][0-9]*\).*/\1/p' | head -1)
start_router
rss_kb=$(awk '/VmRSS/ {print $2}' /proc/$RPID/status)
read -r ch50 ch99 chn che <<<"$(wrk_run "$URL" "$(body MoM "$Q2")")"
[ -n "$ch50" ] || { echo "cache-hit run failed:"; cat "$T/wrk.err" "$T/wrk.out" "$T/import.log"; tail -5 "$T/router.log"; }
hit_hdr=$(curl -s -D - -o /dev/null -H 'Content-Type: application/json' "$URL" -d "$(body MoM "$Q2")" | grep -i x-vsr-cache-hit | tr -d '\r')
stop_router

printf '\n%-34s %10s %10s %9s %7s\n' target "p50 (us)" "p99 (us)" requests errors
printf '%-34s %10s %10s %9s %7s\n' "passthrough (explicit, no cache)" "$pt50" "$pt99" "$ptn" "$pte"
printf '%-34s %10s %10s %9s %7s\n' "auto route, cache miss" "$am50" "$am99" "$amn" "$ame"
printf '%-34s %10s %10s %9s %7s\n' "cache hit, ${entries:-?} entries" "$ch50" "$ch99" "$chn" "$che"
echo
echo "auto-route miss added p50: $(( am50 - pt50 )) us (target <= 3000 us)"
echo "cache hit p50: $ch50 us (target <= 2000 us); check: $hit_hdr"
printf 'import of %s entries: %.1f s; router RSS with them loaded: %d MB\n' "$ENTRIES" "$(echo "$t1 - $t0" | bc -l 2>/dev/null || echo 0)" "$((rss_kb / 1024))"
