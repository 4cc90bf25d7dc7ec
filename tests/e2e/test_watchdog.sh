#!/usr/bin/env bash
# The stuck-loop watchdog (src/core/watchdog.c, server.watchdog_seconds), with a real stall:
# the embedding model is a remote /v1/embeddings endpoint (a second fakellm), and the router's
# own POST /v1/embeddings calls it on the worker's loop (blocking, up to embedding_model.timeout_ms;
# the chat path does its model work on the compute pool and no longer stalls, see
# test_pipeline.sh). The endpoint is made slow (delay_ms 8000: long enough for the /ready and
# /metrics polls that land on the stalled worker to time out and retry) and one embeddings request
# is sent: its worker stops turning. The watchdog must log which request and stage it is stuck in,
# count it in semrouter_watchdog_stalls_total, and make /ready answer 503 naming the worker; when the call times out and the loop turns again, /ready
# is 200 again and the recovery is logged.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib/fakellm.sh
. tests/e2e/lib/router.sh
fakellm_start --model small --tokens 4 || exit 1
CHAT_PORT=$FAKELLM_PORT
fakellm_start --model emb --embed-dim 64 || exit 1
EMB_URL=$FAKELLM_URL
cat >"$E2E_TMP/wd.yaml" <<EOF
server: {listen: 127.0.0.1, metrics_port: 0, workers: 2, watchdog_seconds: 1}
vllm_endpoints:
  - {name: a, address: 127.0.0.1, port: $CHAT_PORT}
model_config:
  small: {preferred_endpoints: [a]}
default_model: small
embedding_model: {type: remote, url: "$EMB_URL/v1", model: emb, dim: 64, timeout_ms: 10000}
semantic_cache: {enabled: true, similarity_threshold: 0.9}
EOF
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
curl -s -X POST "$EMB_URL/admin/faults" -d '{"delay_ms":8000}' >/dev/null
# the stalled request: curly quotes and an emoji, as users type them
curl -s -o "$E2E_TMP/chat" -H 'Content-Type: application/json' -H 'x-request-id: wd-stuck-1' \
    "$ROUTER_URL/v1/embeddings" \
    -d '{"model":"emb","input":"What\u2019s the capital of France? \ud83d\ude00"}' &
chat_pid=$!
# wait (bounded) for the watchdog's line: stall 1 s + up to half a beat interval to notice
for i in $(seq 1 60); do
    grep -q 'watchdog: worker' "$ROUTER_LOG" && break
    sleep 0.1
done
line=$(grep -m1 'watchdog: worker [0-9]* has not turned' "$ROUTER_LOG")
check "stall_logged_with_request_and_stage" --why "log: $(grep watchdog "$ROUTER_LOG" | head -3)" \
    '[[ "$line" == *"request wd-stuck-1, stage api"* ]]'
st=$(ready)
check "ready_503_while_stalled" --why "status $st: $(cat "$E2E_TMP/ready")" \
    '[ "$st" = 503 ] && grep -q "\"stalled_workers\":\[{\"worker\":[01],\"seconds\":[0-9.]*,\"request_id\":\"wd-stuck-1\",\"stage\":\"api\"}\]" "$E2E_TMP/ready"'
for i in $(seq 1 12); do # new connections until one reaches the loop that still turns
    curl -s --max-time 0.5 "$ROUTER_URL/metrics" -o "$E2E_TMP/metrics" && break
done
check "stall_counted" grep -q '^semrouter_watchdog_stalls_total{worker="[01]"} 1$' "$E2E_TMP/metrics"
wait "$chat_pid"
# the remote call gave up (8 s delay < 10 s timeout: it answered late); the request was answered
check "stalled_request_still_answered" grep -q '"embedding"' "$E2E_TMP/chat"
for i in $(seq 1 30); do
    grep -q 'watchdog: worker [0-9]* turns again' "$ROUTER_LOG" && break
    sleep 0.1
done
check "recovery_logged" grep -q 'watchdog: worker [01] turns again after [0-9.]* s stalled (request wd-stuck-1, stage api)' "$ROUTER_LOG"
check "ready_after_recovery" '[ "$(ready)" = 200 ]'
router_stop

# watchdog_seconds: 0 turns it off: the same stall leaves /ready alone
sed -i 's/watchdog_seconds: 1/watchdog_seconds: 0/' "$E2E_TMP/wd.yaml"
router_start "$E2E_TMP/wd.yaml" || exit 1
curl -s -o /dev/null -H 'Content-Type: application/json' "$ROUTER_URL/v1/embeddings" \
    -d '{"model":"emb","input":"another question"}' &
chat_pid=$!
sleep 2
check "watchdog_off_no_stall_reported" '! grep -q "watchdog:" "$ROUTER_LOG"'
wait "$chat_pid"
router_stop
