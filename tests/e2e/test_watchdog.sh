#!/usr/bin/env bash
# The stuck-loop watchdog (src/core/watchdog.c, server.watchdog_seconds), with a real stall. No
# production route blocks a loop any more (chat model work and the router's own /v1/embeddings and
# classification endpoints run on the compute pool: test_pipeline.sh, test_model_api.sh), so the
# stall comes from a test-only build of the router, build/tests/semrouter_stall (src/main.c +
# tests/hooks/stall.c): POST /test/stall?ms=8000 blocks its worker's loop inside a request (long
# enough for the /ready and /metrics polls that land on the stalled worker to time out and retry).
# The watchdog must log which request and stage it is stuck in, count it in
# semrouter_watchdog_stalls_total, and make /ready answer 503 naming the worker; when the loop
# turns again, /ready is 200 again and the recovery is logged. The semrouter binary itself has no
# such route (404).
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib/fakellm.sh
. tests/e2e/lib/router.sh
fakellm_start --model small --tokens 4 || exit 1
CHAT_PORT=$FAKELLM_PORT
cat >"$E2E_TMP/wd.yaml" <<EOF
server: {listen: 127.0.0.1, metrics_port: 0, workers: 2, watchdog_seconds: 1}
vllm_endpoints:
  - {name: a, address: 127.0.0.1, port: $CHAT_PORT}
model_config:
  small: {preferred_endpoints: [a]}
default_model: small
EOF
STALL_BIN=${BUILD:-build}/tests/semrouter_stall
[ -x "$STALL_BIN" ] || { echo "FAIL watchdog: $STALL_BIN missing (make all)"; exit 1; }
PROD_BIN=${ROUTER_BIN:-${BUILD:-build}/semrouter}
ROUTER_BIN=$STALL_BIN
router_start "$E2E_TMP/wd.yaml" || exit 1

ready() { # prints the /ready status; new connections, so some reach the loop that still turns
    local i st
    for i in $(seq 1 12); do
        st=$(curl -s -o "$E2E_TMP/ready" -w '%{http_code}' --max-time 0.5 "$ROUTER_URL/ready")
        [ "$st" != 000 ] && { echo "$st"; return; }
    done
    echo 000
}
check "ready_before_stall" '[ "$(ready)" = 200 ]'
# the stalled request
curl -s -o "$E2E_TMP/chat" -X POST -H 'x-request-id: wd-stuck-1' "$ROUTER_URL/test/stall?ms=8000" &
chat_pid=$!
# wait (bounded) for the watchdog's line: stall 1 s + up to half a beat interval to notice
for i in $(seq 1 60); do
    grep -q 'watchdog: worker' "$ROUTER_LOG" && break
    sleep 0.1
done
line=$(grep -m1 'watchdog: worker [0-9]* has not turned' "$ROUTER_LOG")
check "stall_logged_with_request_and_stage" --why "log: $(grep watchdog "$ROUTER_LOG" | head -3)" \
    '[[ "$line" == *"request wd-stuck-1, stage test_stall"* ]]'
st=$(ready)
check "ready_503_while_stalled" --why "status $st: $(cat "$E2E_TMP/ready")" \
    '[ "$st" = 503 ] && grep -q "\"stalled_workers\":\[{\"worker\":[01],\"seconds\":[0-9.]*,\"request_id\":\"wd-stuck-1\",\"stage\":\"test_stall\"}\]" "$E2E_TMP/ready"'
for i in $(seq 1 12); do # new connections until one reaches the loop that still turns
    curl -s --max-time 0.5 "$ROUTER_URL/metrics" -o "$E2E_TMP/metrics" && break
done
check "stall_counted" grep -q '^semrouter_watchdog_stalls_total{worker="[01]"} 1$' "$E2E_TMP/metrics"
wait "$chat_pid"
# the stall ended and the request was answered
check "stalled_request_still_answered" grep -q '^{"stalled_ms":8000}$' "$E2E_TMP/chat"
for i in $(seq 1 30); do
    grep -q 'watchdog: worker [0-9]* turns again' "$ROUTER_LOG" && break
    sleep 0.1
done
check "recovery_logged" grep -q 'watchdog: worker [01] turns again after [0-9.]* s stalled (request wd-stuck-1, stage test_stall)' "$ROUTER_LOG"
check "ready_after_recovery" '[ "$(ready)" = 200 ]'
router_stop

# watchdog_seconds: 0 turns it off: the same stall leaves /ready alone
sed -i 's/watchdog_seconds: 1/watchdog_seconds: 0/' "$E2E_TMP/wd.yaml"
router_start "$E2E_TMP/wd.yaml" || exit 1
curl -s -o /dev/null -X POST "$ROUTER_URL/test/stall?ms=3000" &
chat_pid=$!
sleep 2
check "watchdog_off_no_stall_reported" '! grep -q "watchdog:" "$ROUTER_LOG"'
wait "$chat_pid"
router_stop

# the production binary has no stall route
ROUTER_BIN=$PROD_BIN
router_start "$E2E_TMP/wd.yaml" || exit 1
st=$(curl -s -o "$E2E_TMP/nostall" -w '%{http_code}' -X POST --max-time 5 "$ROUTER_URL/test/stall?ms=3000")
check "no_stall_route_in_semrouter" --why "status $st: $(head -c 200 "$E2E_TMP/nostall")" \
    '[ "$st" = 404 ] && grep -q unknown_url "$E2E_TMP/nostall"'
router_stop
