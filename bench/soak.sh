#!/usr/bin/env bash
# bench/soak.sh - 1,000 connections for 60 s on three workloads (issue 8 "Soak"):
#   a  pass-through: explicit model, cache off, fakellm without delay
#   b  cache hits: 12 questions in many scripts, asked over and over (all hits after the first)
#   c  misses: every request a new question (curly quotes, emoji, CJK, RTL, combining marks),
#      half streamed, fakellm with model-like delays (TTFT_MS 300, TOKEN_MS 15, 24 tokens)
# wrk -t2 -cCONNS -dDURATION with a Lua script that checks every answer whole (200; a stream
# ends with data: [DONE]; a completion has choices), and prints req/s, p50/p99/p99.9 and the
# errors by kind. The router's RSS and open fds are sampled before the load, every 5 s under it,
# and 5 s after wrk has closed its connections (idle); "flat" compares the sample after the
# warm-up (WARMUP s) with the last one taken under load, and the idle fds with the ones before.
# b and c run with semantic_cache.max_entries CACHE_ENTRIES (as a deployment would): c fills it
# during the warm-up, so after it every insert evicts and RSS must stay flat (an unbounded cache
# would grow by one entry per miss, which is not a leak but would hide one). Prints the load
# average before and after each workload.
#
# Environment: CONNS (1000), DURATION (60), WARMUP (15), WORKLOADS ("a b c"), BUILD (build),
# CACHE_ENTRIES (5000).
# Needs wrk (scripts/deps.sh --test). The machine is shared: run it once, quote the load average.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
CONNS=${CONNS:-1000}
DURATION=${DURATION:-60}
WARMUP=${WARMUP:-15}
WORKLOADS=${WORKLOADS:-a b c}
TTFT_MS=${TTFT_MS:-300}
TOKEN_MS=${TOKEN_MS:-15}
CACHE_ENTRIES=${CACHE_ENTRIES:-5000}
die() { echo "soak: $*" >&2; exit 1; }
command -v wrk >/dev/null || die "wrk is missing (scripts/deps.sh --test)"
[ -x "$BUILD/semrouter" ] && [ -x "$BUILD/fakellm" ] || die "build first (make)"
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -gt $((CONNS * 2 + 100)) ] || die "ulimit -n $(ulimit -n) is too low for $CONNS connections"

. tests/e2e/lib/proc.sh
T=$(mktemp -d)
trap 'proc_stop_all; rm -rf "$T"' EXIT

cat >"$T/soak.lua" <<'LUA'
-- MODE: a / b / c (from the environment); every answer is checked whole
local mode = os.getenv("SOAK_MODE") or "a"
local texts = {
  "What’s the “best” way to learn Python?", "the end.’?", "he said ’ hi",
  "Explain recursion 😀👍🏽 in two sentences", "请解释量子计算",
  "ما هو الذكاء؟", "Café naı̈ve résumé — loanwords?",
  "Как работает блокчейн?",
  "Write a haiku about the sea 🌊", "¿Dónde está la biblioteca? «por favor»",
  "Summarise: ‘It was the best of times’", "מה שלומך? ‏nice",
}
local function esc(s) return (s:gsub('\\', '\\\\'):gsub('"', '\\"')) end
local threads = {}
local counter = 0
tid, bad, first_bad = 0, 0, "" -- globals: setup() sets tid, done() reads bad through thread:get
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
function request()
  counter = counter + 1
  local text = texts[(counter % #texts) + 1]
  local stream = (counter % 2 == 0) and "true" or "false"
  if mode == "c" then
    text = text .. " (question " .. tid .. "-" .. counter .. ", ’" .. math.random(1, 1000000000) .. "”)"
  end
  local body = '{"model":"small","stream":' .. stream .. ',"messages":[{"role":"user","content":"' .. esc(text) .. '"}]}'
  return wrk.format("POST", "/v1/chat/completions", {["Content-Type"] = "application/json"}, body)
end
function response(status, headers, body)
  local ok = status == 200
  if ok then
    if body:sub(1, 5) == "data:" then ok = body:sub(-14) == "data: [DONE]\n\n"
    else ok = body:find('"choices"', 1, true) ~= nil end
  end
  if not ok then
    bad = bad + 1
    if first_bad == "" then first_bad = status .. " " .. body:sub(1, 160) end
  end
end
function done(summary, latency, requests)
  local nbad, why = 0, ""
  for _, t in ipairs(threads) do
    nbad = nbad + t:get("bad")
    if why == "" then why = t:get("first_bad") end
  end
  local e = summary.errors
  io.write(string.format("RESULT requests=%d seconds=%.1f rps=%.0f p50_ms=%.2f p99_ms=%.2f p999_ms=%.2f bad_answers=%d connect=%d read=%d write=%d status=%d timeout=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency:percentile(99.9) / 1000,
    nbad, e.connect, e.read, e.write, e.status, e.timeout))
  if why ~= "" then io.write("FIRST_BAD " .. why .. "\n") end
end
LUA

sample() { # PID PORT -> "rss_kb fds cache_kb" (cache_kb: the cache's own count of the memory it
    # holds, /api/v1/cache/stats "bytes"; "-" with the cache off), so RSS growth can be told apart
    # from cache growth
    local rss fds ckb
    rss=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status" 2>/dev/null)
    fds=$(ls "/proc/$1/fd" 2>/dev/null | wc -l)
    ckb=$(curl -s -m 5 "http://127.0.0.1:$2/api/v1/cache/stats" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["bytes"] // 1024)' 2>/dev/null)
    echo "${rss:-0} $fds ${ckb:--}"
}

echo "soak: load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; ulimit -n $(ulimit -n)"
for w in $WORKLOADS; do
    case $w in
    a) fargs=(--tokens 16) cache=false ;;
    b) fargs=(--tokens 16) cache=true ;;
    c) fargs=(--tokens 24 --ttft-ms "$TTFT_MS" --token-ms "$TOKEN_MS") cache=true ;;
    *) die "unknown workload $w" ;;
    esac
    proc_start "$T/fakellm.$w" '^fakellm listening on .*:\([0-9][0-9]*\)$' \
        "$BUILD/fakellm" --port 0 --quiet --model small --threads 2 "${fargs[@]}" || die "fakellm: $PROC_ERROR"
    FPID=$PROC_PID FPORT=$PROC_MATCH
    cat >"$T/router.$w.yaml" <<EOF
server: {listen: 127.0.0.1, metrics_port: 0, workers: 2, log_requests: false}
vllm_endpoints:
  - {name: a, address: 127.0.0.1, port: $FPORT}
model_config:
  small: {preferred_endpoints: [a]}
default_model: small
embedding_model: {type: use-lite, path: models/use-lite}
semantic_cache: {enabled: $cache, similarity_threshold: 0.8, max_entries: $CACHE_ENTRIES}
EOF
    proc_start "$T/router.$w.log" '^semrouter listening on .*:\([0-9][0-9]*\) (metrics.*$' \
        "$BUILD/semrouter" serve -c "$T/router.$w.yaml" --port 0 || die "router: $PROC_ERROR $(tail -5 "$T/router.$w.log")"
    RPID=$PROC_PID RPORT=$PROC_MATCH
    if [ "$w" = b ]; then # fill the cache: every question once, stream and not
        SOAK_MODE=b wrk -t1 -c1 -d2s -s "$T/soak.lua" "http://127.0.0.1:$RPORT" >/dev/null
    fi
    before=$(sample "$RPID" "$RPORT")
    load0=$(cut -d' ' -f1-3 /proc/loadavg)
    : >"$T/samples.$w"
    (
        t0=$(date +%s)
        for i in $(seq 0 5 $((DURATION - 5))); do # the first column: seconds since the start
            sleep $((t0 + i - $(date +%s))) 2>/dev/null
            echo "$(($(date +%s) - t0)) $(sample "$RPID" "$RPORT")" >>"$T/samples.$w"
        done
    ) &
    SPID=$!
    SOAK_MODE=$w wrk -t2 -c"$CONNS" -d"${DURATION}s" --timeout 30s -s "$T/soak.lua" \
        "http://127.0.0.1:$RPORT" >"$T/wrk.$w" 2>&1
    wait "$SPID"
    load1=$(cut -d' ' -f1-3 /proc/loadavg)
    sleep 5
    idle=$(sample "$RPID" "$RPORT")
    res=$(grep '^RESULT' "$T/wrk.$w")
    [ -n "$res" ] || { cat "$T/wrk.$w"; die "wrk gave no result for $w"; }
    warm=$(awk -v w="$WARMUP" '$1 >= w {print $2, $3, $4; exit}' "$T/samples.$w")
    last=$(tail -1 "$T/samples.$w" | cut -d' ' -f2-)
    errs=$(grep -cE '"level":"error"|error:' "$T/router.$w.log")
    echo "soak $w: $res"
    grep '^FIRST_BAD' "$T/wrk.$w" | head -1
    echo "soak $w: load average before: $load0; at the end: $load1"
    echo "soak $w: rss_kb/fds/cache_kb before: $before; after ${WARMUP}s warm-up: $warm; at the end: $last; idle 5 s after: $idle"
    echo "soak $w: samples every 5 s: $(cut -d' ' -f2- "$T/samples.$w" | tr '\n' ',' )"
    echo "soak $w: router error lines in its log: $errs; fakellm chat requests: $(curl -s "http://127.0.0.1:$FPORT/admin/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["chat_requests"])')"
    proc_stop "$RPID"
    proc_stop "$FPID"
done
echo "soak: load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
