#!/usr/bin/env bash
# The stuck-loop watchdog (src/core/watchdog.c, server.watchdog_seconds), with a real stall. No
# production route blocks a loop any more (chat model work and the router's own /v1/embeddings and
# classification endpoints run on the compute pool: test_pipeline.sh, test_model_api.sh), so the
# stall comes from a test-only build of the router, build/tests/semrouter_stall (src/main.c +
# tests/hooks/stall.c): POST /test/stall?ms=12000 blocks its worker's loop inside a request.
# The watchdog must log which request and stage it is stuck in, count it in
# semrouter_watchdog_stalls_total, and make /ready answer 503 naming the worker; when the loop
# turns again, /ready is 200 again and the recovery is logged. While the worker is stalled every
# new connection is answered: the kernel hands about half of them to the stalled worker's
# SO_REUSEPORT socket, and the other worker accepts from it too (src/http/server.c), so ten probes
# on new connections must all get 503 (before that, a probe that landed on the stalled worker got
# no answer; the test retried, and failed when every retry landed there or timed out under load).
# The semrouter binary itself has no such route (404).
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

ready() { # the /ready status on a new connection (000: no answer within 5 s)
    rm -f "$E2E_TMP/ready"
    curl -s -o "$E2E_TMP/ready" -w '%{http_code}' --max-time 5 "$ROUTER_URL/ready"
}
check "ready_before_stall" '[ "$(ready)" = 200 ]'
# the stalled request
curl -s -o "$E2E_TMP/chat" -X POST -H 'x-request-id: wd-stuck-1' "$ROUTER_URL/test/stall?ms=12000" &
chat_pid=$!
# the watchdog's line (stall 1 s + up to half a beat interval to notice; it is written once the
# other worker takes the stalled one's new connections)
wait_for 10 grep -q 'watchdog: worker [0-9]* has not turned' "$ROUTER_LOG"
line=$(grep -m1 'watchdog: worker [0-9]* has not turned' "$ROUTER_LOG")
check "stall_logged_with_request_and_stage" --why "log: $(grep watchdog "$ROUTER_LOG" | head -3)" \
    '[[ "$line" == *"request wd-stuck-1, stage test_stall"* ]]'
codes= bad=
for i in $(seq 1 10); do
    st=$(ready)
    codes="$codes $st"
    grep -q "\"stalled_workers\":\[{\"worker\":[01],\"seconds\":[0-9.]*,\"request_id\":\"wd-stuck-1\",\"stage\":\"test_stall\"}\]" "$E2E_TMP/ready" ||
        bad="$bad $i:$(head -c 200 "$E2E_TMP/ready")"
done
check "ready_503_while_stalled" --why "statuses:$codes; bodies not naming the stall:$bad" \
    '[ "$codes" = " 503 503 503 503 503 503 503 503 503 503" ] && [ -z "$bad" ]'
st=$(curl -s --max-time 5 -w '%{http_code}' "$ROUTER_URL/metrics" -o "$E2E_TMP/metrics")
check "stall_counted" --why "status $st: $(grep watchdog_stalls "$E2E_TMP/metrics")" \
    grep -q '^semrouter_watchdog_stalls_total{worker="[01]"} 1$' "$E2E_TMP/metrics"
wait "$chat_pid"
# the stall ended and the request was answered
check "stalled_request_still_answered" grep -q '^{"stalled_ms":12000}$' "$E2E_TMP/chat"
wait_for 10 grep -q 'watchdog: worker [0-9]* turns again' "$ROUTER_LOG"
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
