#!/usr/bin/env bash
# Graceful shutdown and reload with a load generator running (tests/e2e/lib/load.py: threads
# sending chat completions, half streamed, texts with curly quotes, emoji, CJK, RTL, and
# checking every answer whole).
#  - SIGTERM: the router stops accepting, lets the in-flight requests and streams finish
#    (fakellm takes ~0.5 s per answer), flushes the persistent cache and exits 0; every request
#    it accepted was answered whole; after a restart the answers are cache hits.
#  - SIGTERM with a request longer than server.shutdown_grace_seconds: cut at the deadline,
#    still exit 0, and the log says so.
#  - SIGHUP under load: 12 reloads (alternating two valid files, one invalid one) while 8
#    keep-alive clients run: no request lost or failed, each reload counted.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib/fakellm.sh
. tests/e2e/lib/router.sh
LOAD="python3 tests/e2e/lib/load.py"

fakellm_start --model small --tokens 10 --ttft-ms 100 --token-ms 40 || exit 1
UP=$FAKELLM_URL
upstream_calls() { curl -s "$UP/admin/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["chat_requests"])'; }

config() { # FILE GRACE [extra semantic_cache keys]
    cat >"$1" <<EOF
server: {listen: 127.0.0.1, metrics_port: 0, workers: 2, shutdown_grace_seconds: $2}
vllm_endpoints:
  - {name: a, address: 127.0.0.1, port: $FAKELLM_PORT}
model_config:
  small: {preferred_endpoints: [a]}
default_model: small
embedding_model: {type: use-lite, path: models/use-lite}
semantic_cache:
  enabled: true
  similarity_threshold: 0.8
  ${3:-}
EOF
}
# wait_for COMMAND...: up to 60 s for a condition (not a timed assertion: the condition is)
wait_for() {
    local i
    for i in $(seq 1 600); do "$@" && return 0; sleep 0.1; done
    return 1
}
progress_at_least() { [ "$(cat "$1" 2>/dev/null || echo 0)" -ge "$2" ]; }
router_gone() { ! kill -0 "$1" 2>/dev/null; }
# a router we stopped ourselves: its log must hold no sanitizer report (as router_stop checks)
log_clean() {
    check "${1}_sanitizer_clean" --why "$(grep -m1 -E 'ERROR:|runtime error:' "$ROUTER_LOG")" \
        '! grep -qE "ERROR: (Address|Leak|Thread)Sanitizer|runtime error:" "$ROUTER_LOG"'
}
upstream_busy() { [ "$(upstream_calls)" -ge 1 ]; }

# --- SIGTERM under load -----------------------------------------------------------------------
config "$E2E_TMP/t.yaml" 20 "persist_path: $E2E_TMP/cache.log"
router_start "$E2E_TMP/t.yaml" || exit 1
$LOAD "$ROUTER_URL" --threads 12 --unique --signal-file "$E2E_TMP/term" --progress-file "$E2E_TMP/prog" \
    --max-seconds 90 >"$E2E_TMP/load1.json" 2>"$E2E_TMP/load1.err" &
LOAD_PID=$!
wait_for progress_at_least "$E2E_TMP/prog" 30
# in flight now: 12 clients, each a cache miss whose answer takes ~0.5 s upstream
touch "$E2E_TMP/term"
pid=$ROUTER_PID
kill -TERM "$pid"
wait "$LOAD_PID"
wait "$pid"; rc=$?
ROUTER_PID=
s=$(cat "$E2E_TMP/load1.json")
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$s" "$1"; }
check "sigterm_exit_status_0" --why "exit status $rc" [ "$rc" = 0 ]
check "sigterm_answered_before" [ "$(field ok)" -ge 30 ]
check "sigterm_no_failed_request" --why "$s $(head -c 300 "$E2E_TMP/load1.err")" [ "$(field errors)" = 0 ]
check "sigterm_inflight_finished" --why "$s" '[ "$(field completed_after_signal)" -ge 1 ]'
check "sigterm_streams_finished" --why "$s" '[ "$(field ok_stream)" -ge 1 ]'
check "sigterm_new_connections_refused" --why "$s" '[ "$(field refused)" -ge 1 ]'
check "sigterm_logged" grep -q 'stopping - no new connections; .* get up to 20 s (server.shutdown_grace_seconds)' "$ROUTER_LOG"
check "sigterm_nothing_cut" '! grep -q "cuts .* connection" "$ROUTER_LOG"'
closed=$(sed -n "s|.*cache: closed $E2E_TMP/cache.log (\([0-9]*\) entries; log synced to disk.*|\1|p" "$ROUTER_LOG")
# every upstream answer (a miss) was stored once: the closed cache holds all of them
n_up=$(upstream_calls)
check "sigterm_cache_flushed" --why "closed with '$closed' entries, $n_up upstream answers" '[ -n "$closed" ] && [ "$closed" = "$n_up" ]'
log_clean sigterm

# restart: every answer given before and during the drain is in the cache
router_start "$E2E_TMP/t.yaml" || exit 1
loaded=$(sed -n "s|.*cache: loaded \([0-9]*\) entries from $E2E_TMP/cache.log.*|\1|p" "$ROUTER_LOG")
check "restart_loads_every_answer" --why "loaded '$loaded', closed with $closed" [ "$loaded" = "$closed" ]
router_stop

# --- SIGTERM with a request longer than the deadline ------------------------------------------
config "$E2E_TMP/d.yaml" 1
router_start "$E2E_TMP/d.yaml" || exit 1
curl -s -X POST "$UP/admin/reset" >/dev/null
curl -s -X POST "$UP/admin/faults" -d '{"ttft_ms":30000}' >/dev/null
curl -s -N -o "$E2E_TMP/slow.out" -H 'Content-Type: application/json' "$ROUTER_URL/v1/chat/completions" \
    -d '{"model":"small","stream":true,"messages":[{"role":"user","content":"a very slow answer ’"}]}' &
CURL_PID=$!
wait_for upstream_busy
pid=$ROUTER_PID
kill -TERM "$pid"
wait_for router_gone "$pid"
wait "$pid"; rc=$?
ROUTER_PID=
wait "$CURL_PID"
check "deadline_exit_status_0" --why "exit status $rc" [ "$rc" = 0 ]
check "deadline_cut_logged" grep -q 'shutdown: worker [0-9] cuts 1 connection(s) still busy at the deadline' "$ROUTER_LOG"
check "deadline_stream_not_completed" '! grep -q "data: \[DONE\]" "$E2E_TMP/slow.out"'
log_clean deadline
curl -s -X POST "$UP/admin/reset" >/dev/null

# --- SIGHUP under load ------------------------------------------------------------------------
CFG=$E2E_TMP/h.yaml
config "$E2E_TMP/h1.yaml" 20
config "$E2E_TMP/h2.yaml" 20 "max_entries: 5000"
cp "$E2E_TMP/h1.yaml" "$CFG"
router_start "$CFG" || exit 1
rm -f "$E2E_TMP/prog"
$LOAD "$ROUTER_URL" --threads 8 --keepalive --stop-file "$E2E_TMP/stop" --progress-file "$E2E_TMP/prog" \
    --max-seconds 120 >"$E2E_TMP/load2.json" 2>"$E2E_TMP/load2.err" &
LOAD_PID=$!
wait_for progress_at_least "$E2E_TMP/prog" 20
good=0
for i in $(seq 1 12); do
    if [ "$i" = 6 ]; then
        echo "bogus_key: 1" >>"$CFG" # rejected; the running configuration stays
    elif [ $((i % 2)) = 0 ]; then
        cp "$E2E_TMP/h2.yaml" "$CFG"; good=$((good + 1))
    else
        cp "$E2E_TMP/h1.yaml" "$CFG"; good=$((good + 1))
    fi
    kill -HUP "$ROUTER_PID"
    before=$(cat "$E2E_TMP/prog")
    wait_for progress_at_least "$E2E_TMP/prog" $((before + 10)) # requests go on between reloads
done
touch "$E2E_TMP/stop"
wait "$LOAD_PID"
s=$(cat "$E2E_TMP/load2.json")
curl -s "$ROUTER_URL/metrics" >"$E2E_TMP/metrics"
reloads() { sed -n "s/^semrouter_config_reloads_total{result=\"$1\"} \([0-9]*\).*/\1/p" "$E2E_TMP/metrics"; }
check "sighup_load_no_failed_request" --why "$s $(head -c 300 "$E2E_TMP/load2.err")" [ "$(field errors)" = 0 ]
check "sighup_load_answered" --why "$s" '[ "$(field ok)" -ge 140 ] && [ "$(field ok_stream)" -ge 1 ]'
check "sighup_load_nothing_refused" --why "$s" [ "$(field refused)" = 0 ]
check "sighup_reloads_counted" --why "ok $(reloads ok) rejected $(reloads rejected)" \
    '[ "$(reloads ok)" = "$good" ] && [ "$(reloads rejected)" = 1 ]'
check "sighup_router_alive" kill -0 "$ROUTER_PID"
pid=$ROUTER_PID
kill -TERM "$pid"
wait "$pid"; rc=$?
ROUTER_PID=
check "sighup_then_sigterm_exit_0" --why "exit status $rc" [ "$rc" = 0 ]
log_clean sighup
