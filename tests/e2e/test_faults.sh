#!/usr/bin/env bash
# End-to-end: upstream faults, with fakellm (and a socket that accepts and never answers)
# behind the router. Each scenario uses its own endpoint names (the balancer's health state is
# per name), several names may point at one fakellm; upstream calls are counted at fakellm.
#   refused; accept-then-silence (timeout -> failover, or 504); 500/503 with and without
#   Retry-After; 429 passed through without a retry storm; disconnect after N chunks (error
#   event + [DONE], nothing cached); slow trickle (idle timeout); client gone mid-stream
#   (upstream cancelled, no fd leak); all endpoints down (503 naming the model); recovery after
#   ejection; malformed upstream JSON; an answer larger than the limit, whole and streamed (stopped
#   at the limit with an error event, whole events only). The npm openai client
#   checks the 429 and the cut stream where it matters.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib/fakellm.sh
. tests/e2e/lib/router.sh
fakellm_start --model m --tokens 8 || exit 1
A_URL=$FAKELLM_URL A_PORT=$FAKELLM_PORT
fakellm_start --model m --tokens 8 || exit 1
B_URL=$FAKELLM_URL B_PORT=$FAKELLM_PORT
fakellm_start --model m --tokens 2000 || exit 1 # ~14 KB answers, over the 4 KiB limit below
BIG_URL=$FAKELLM_URL BIG_PORT=$FAKELLM_PORT
fakellm_start --model m --tokens 50 --token-ms 200 || exit 1 # a 10 s stream
LONG_URL=$FAKELLM_URL LONG_PORT=$FAKELLM_PORT
calls() { curl -s "$1/admin/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["chat_requests"])'; }
stat() { curl -s "$1/admin/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])"; }
faults() { curl -s -o /dev/null -X POST "$1/admin/faults" -d "$2"; }
reset() { for u in "$A_URL" "$B_URL" "$BIG_URL" "$LONG_URL"; do curl -s -o /dev/null -X POST "$u/admin/reset"; done; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
DEAD1=$(free_port) DEAD2=$(free_port)

# a server that accepts connections and never reads or answers; it counts the connections
SILENT_LOG=$E2E_TMP/silent.log
python3 - "$SILENT_LOG" >"$E2E_TMP/silent.out" 2>&1 <<'PY' &
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(64)
print("silent listening on 127.0.0.1:%d" % s.getsockname()[1], flush=True)
held = []
while True:
    c, _ = s.accept(); held.append(c)
    open(sys.argv[1], "a").write("accept\n")
PY
SILENT_PID=$!
PROC_PIDS+=("$SILENT_PID")
for _ in $(seq 1 250); do grep -q listening "$E2E_TMP/silent.out" && break; sleep 0.02; done
SILENT_PORT=$(sed -n 's/^silent listening on .*:\([0-9]*\)$/\1/p' "$E2E_TMP/silent.out")
accepts() { grep -c accept "$SILENT_LOG" 2>/dev/null || echo 0; }

CFG=$E2E_TMP/faults.yaml
cat >"$CFG" <<YAML
server:
  listen: 127.0.0.1
  metrics_port: 0
  workers: 2
  first_byte_timeout_seconds: 1
  upstream_idle_timeout_seconds: 1
  max_upstream_body_bytes: 4096
vllm_endpoints:
  - {name: dead1, address: 127.0.0.1, port: $DEAD1, max_fails: 1, eject_seconds: 600}
  - {name: dead2, address: 127.0.0.1, port: $DEAD2, max_fails: 1, eject_seconds: 600}
  - {name: silent, address: 127.0.0.1, port: $SILENT_PORT, weight: 1000000, max_fails: 100}
  - {name: silent_only, address: 127.0.0.1, port: $SILENT_PORT, max_fails: 100}
  - {name: fallback, address: 127.0.0.1, port: $B_PORT, weight: 1}
  - {name: e500a, address: 127.0.0.1, port: $A_PORT, max_fails: 100}
  - {name: e500b, address: 127.0.0.1, port: $B_PORT, max_fails: 100}
  - {name: e503a, address: 127.0.0.1, port: $A_PORT, max_fails: 100}
  - {name: e503b, address: 127.0.0.1, port: $B_PORT, max_fails: 100}
  - {name: e429a, address: 127.0.0.1, port: $A_PORT}
  - {name: e429b, address: 127.0.0.1, port: $B_PORT}
  - {name: e429c, address: 127.0.0.1, port: $A_PORT}
  - {name: cut, address: 127.0.0.1, port: $A_PORT, max_fails: 100}
  - {name: rec, address: 127.0.0.1, port: $A_PORT, max_fails: 1, eject_seconds: 1}
  - {name: mal, address: 127.0.0.1, port: $A_PORT, weight: 1000000, max_fails: 100}
  - {name: mal_only, address: 127.0.0.1, port: $A_PORT, max_fails: 100}
  - {name: big, address: 127.0.0.1, port: $BIG_PORT, max_fails: 1}
  - {name: long, address: 127.0.0.1, port: $LONG_PORT}
model_config:
  down: {preferred_endpoints: [dead1, dead2], upstream_model: m}
  silence: {preferred_endpoints: [silent, fallback], upstream_model: m}
  silence_only: {preferred_endpoints: [silent_only], upstream_model: m}
  five: {preferred_endpoints: [e500a, e500b], upstream_model: m}
  unavail: {preferred_endpoints: [e503a, e503b], upstream_model: m}
  limited: {preferred_endpoints: [e429a, e429b], upstream_model: m}
  limited1: {preferred_endpoints: [e429c], upstream_model: m}
  cut: {preferred_endpoints: [cut], upstream_model: m}
  recovering: {preferred_endpoints: [rec], upstream_model: m}
  garbled: {preferred_endpoints: [mal, fallback], upstream_model: m}
  garbled_only: {preferred_endpoints: [mal_only], upstream_model: m}
  big: {preferred_endpoints: [big], upstream_model: m}
  long: {preferred_endpoints: [long], upstream_model: m}
default_model: cut
semantic_cache: {enabled: true}
embedding_model: {type: use-lite, path: no-such-model} # exact tier only: no model load
YAML
router_start "$CFG" || exit 1
q() { python3 -c 'import json,sys; b={"model":sys.argv[1],"messages":[{"role":"user","content":sys.argv[2]}]}; b.update(json.loads(sys.argv[3] if len(sys.argv)>3 else "{}")); print(json.dumps(b))' "$@"; }
err() { jget "$E2E_TMP/out" "j['error']['$1']"; }
sse() { curl -sN -o "$E2E_TMP/sse" -D "$E2E_TMP/hdr" -w '%{http_code}' -H 'Content-Type: application/json' "$ROUTER_URL/v1/chat/completions" -d "$1"; }
last_data() { grep '^data:' "$E2E_TMP/sse" | tail -1; }

# --- refused: every endpoint down -> 503 naming the model; then fail fast while ejected ---------
st=$(chat "$(q down 'Is anybody “there”? 👋')")
check "refused_all_503_names_model" --why "$st $(head -c 300 "$E2E_TMP/out")" \
    '[ "$st" = 503 ] && [ "$(err code)" = upstream_unreachable ] && err message | grep -q "The model server for '"'"'down'"'"' could not be reached after 2 attempts"'
st=$(chat "$(q down 'again')")
ra=$(header retry-after)
check "all_ejected_503_fast_with_retry_after" --why "$st ra=$ra $(head -c 300 "$E2E_TMP/out")" \
    '[ "$st" = 503 ] && [ "$(err code)" = no_healthy_endpoint ] && err message | grep -q "The model '"'"'down'"'"' has no endpoint taking traffic" && [ "$ra" -ge 590 ] && [ "$ra" -le 600 ]'

# --- accept, then silence: first-byte timeout -> failover; alone -> 504 --------------------------
n0=$(calls "$B_URL") a0=$(accepts)
st=$(chat "$(q silence 'Are you listening?')")
check "silence_fails_over" --why "$st accepts $a0->$(accepts)" \
    '[ "$st" = 200 ] && [ "$(accepts)" -gt "$a0" ] && [ "$(calls "$B_URL")" = $((n0 + 1)) ]'
st=$(chat "$(q silence_only 'Are you listening?')")
check "silence_alone_504" '[ "$st" = 504 ] && [ "$(err code)" = upstream_timeout ] && err message | grep -q "timed out"'

# --- 500 without Retry-After: failover; every endpoint 500 -> 502, no Retry-After ------------------
reset
faults "$A_URL" '{"fail_status":500}'
st=$(chat "$(q five 'five hundred')")
check "500_fails_over" [ "$st" = 200 ]
faults "$B_URL" '{"fail_status":500}'
st=$(chat "$(q five 'five hundred twice')")
check "500_everywhere_502" --why "$st $(header retry-after)" \
    '[ "$st" = 502 ] && [ "$(err code)" = upstream_error ] && [ -z "$(header retry-after)" ]'
check "500_endpoints_still_in_rotation" bash -c "curl -s '$ROUTER_URL/ready' | python3 -c 'import json,sys; e={x[\"name\"]:x[\"state\"] for x in json.load(sys.stdin)[\"endpoints\"]}; sys.exit(0 if e[\"e500a\"] != \"ejected\" and e[\"e500b\"] != \"ejected\" else 1)'"

# --- 503 with Retry-After: the endpoint is left alone for that long --------------------------------
reset
faults "$A_URL" '{"fail_status":503,"retry_after":30}'
na=$(calls "$A_URL") nb=$(calls "$B_URL")
ok=1
for i in $(seq 1 8); do st=$(chat "$(q unavail "five oh three $i")"); [ "$st" = 200 ] || ok=0; done
check "503_retry_after_fails_over" [ $ok = 1 ]
check "503_retry_after_endpoint_called_once" --why "A $na->$(calls "$A_URL") B $nb->$(calls "$B_URL")" \
    '[ "$(calls "$A_URL")" -le $((na + 1)) ] && [ "$(calls "$B_URL")" -ge $((nb + 7)) ]'
faults "$B_URL" '{"fail_status":503,"retry_after":20}'
for i in $(seq 1 3); do st=$(chat "$(q unavail "both away $i")"); done # b answers 503 once, then both are ejected
nb=$(calls "$B_URL") na=$(calls "$A_URL")
st=$(chat "$(q unavail 'both away, last try')")
ra=$(header retry-after)
check "503_everywhere_503_with_retry_after" --why "$st ra=$ra $(head -c 200 "$E2E_TMP/out")" \
    '[ "$st" = 503 ] && [ "$ra" -ge 1 ] && [ "$ra" -le 30 ] && [ -n "$(header retry-after-ms)" ]'
check "503_no_retry_storm" [ "$(calls "$A_URL")$(calls "$B_URL")" = "$na$nb" ]
reset
faults "$A_URL" '{"fail_status":503}'
faults "$B_URL" '{"fail_status":503}'
st=$(chat "$(q five 'plain 503s')")
check "503_without_retry_after_503" '[ "$st" = 503 ] && [ "$(err code)" = upstream_unavailable ] && [ -z "$(header retry-after)" ]'

# --- 429: passed through as is, one upstream call, no failover ----------------------------------
reset
faults "$A_URL" '{"fail_status":429,"retry_after":7}'
faults "$B_URL" '{"fail_status":429,"retry_after":7}'
st=$(chat "$(q limited 'slow down')")
check "429_passed_through" --why "$st $(head -c 200 "$E2E_TMP/out")" \
    '[ "$st" = 429 ] && [ "$(header retry-after)" = 7 ] && [ "$(header retry-after-ms)" = 7000 ] && [ "$(err code)" = injected_fault ]'
check "429_one_upstream_call" [ $(($(calls "$A_URL") + $(calls "$B_URL"))) = 1 ]
st=$(chat "$(q limited 'slow down 2')")
st=$(chat "$(q limited 'slow down 3')")
check "429_retry_after_honoured_no_storm" --why "calls $(($(calls "$A_URL") + $(calls "$B_URL")))" \
    '[ "$st" = 503 ] && [ "$(err code)" = no_healthy_endpoint ] && [ $(($(calls "$A_URL") + $(calls "$B_URL"))) = 2 ]'
if [ -d tests/node/node_modules/openai ]; then
    reset
    faults "$A_URL" '{"fail_status":429}'
    node tests/node/upstream_faults_check.mjs "$ROUTER_URL" 429
    check "openai_client_429_three_attempts_three_calls" [ "$(calls "$A_URL")" = 3 ]
else
    skip "openai_client_faults" "tests/node/node_modules/openai missing (run scripts/deps.sh --test)"
fi

# --- disconnect after N chunks: error event + [DONE], nothing cached ------------------------------
reset
faults "$A_URL" '{"disconnect_after":3}'
body=$(q cut 'Cut me off after three words, “please” ✂️' '{"stream":true}')
st=$(sse "$body")
check "cut_stream_error_event" --why "$(tr '\n' '|' <"$E2E_TMP/sse" | tail -c 300)" \
    '[ "$st" = 200 ] && grep "^data: {\"error\"" "$E2E_TMP/sse" | grep -q upstream_stream_interrupted && [ "$(last_data)" = "data: [DONE]" ]'
check "cut_stream_had_content_first" grep -q '"delta":{"content"' "$E2E_TMP/sse"
[ -d tests/node/node_modules/openai ] && node tests/node/upstream_faults_check.mjs "$ROUTER_URL" cut
faults "$A_URL" '{}'
n0=$(calls "$A_URL")
st=$(sse "$body")
check "cut_stream_not_cached" --why "hit=$(header x-vsr-cache-hit) calls $n0->$(calls "$A_URL")" \
    '[ "$st" = 200 ] && [ "$(header x-vsr-cache-hit)" = false ] && [ "$(calls "$A_URL")" = $((n0 + 1)) ] && ! grep -q "^data: {\"error\"" "$E2E_TMP/sse"'
st=$(sse "$body")
check "clean_stream_then_cached" '[ "$(header x-vsr-cache-hit)" = true ] && [ "$(calls "$A_URL")" = $((n0 + 1)) ]'

# --- slow trickle: silence between chunks past the idle timeout ----------------------------------
faults "$A_URL" '{"token_ms":3000}'
body=$(q cut 'Trickle slowly 🐢' '{"stream":true}')
st=$(sse "$body")
check "trickle_idle_timeout_error_event" --why "$(tr '\n' '|' <"$E2E_TMP/sse" | tail -c 300)" \
    '[ "$st" = 200 ] && grep "^data: {\"error\"" "$E2E_TMP/sse" | grep -q "sent nothing for 1.0 s" && [ "$(last_data)" = "data: [DONE]" ]'
check "trickle_logged_as_timeout" grep -q '"error":"timeout"' "$ROUTER_LOG"
faults "$A_URL" '{}'
n0=$(calls "$A_URL")
st=$(sse "$body")
check "trickle_not_cached" '[ "$(header x-vsr-cache-hit)" = false ] && [ "$(calls "$A_URL")" = $((n0 + 1)) ]'

# --- malformed JSON: a 200 that is not JSON fails over; alone it is a 502 --------------------------
reset
faults "$A_URL" '{"malformed":1}'
nb=$(calls "$B_URL")
st=$(chat "$(q garbled 'Garble this')")
check "malformed_fails_over" --why "$st $(head -c 200 "$E2E_TMP/out")" \
    '[ "$st" = 200 ] && [ "$(jget "$E2E_TMP/out" "j[\"object\"]")" = chat.completion ] && [ "$(calls "$B_URL")" = $((nb + 1)) ]'
st=$(chat "$(q garbled_only 'Garble this')")
check "malformed_alone_502" --why "$st $(head -c 300 "$E2E_TMP/out")" \
    '[ "$st" = 502 ] && [ "$(err code)" = upstream_invalid_response ] && err message | grep -q "not a JSON object"'
faults "$A_URL" '{}'
n0=$(calls "$A_URL")
st=$(chat "$(q garbled_only 'Garble this')")
check "malformed_not_cached" '[ "$st" = 200 ] && [ "$(header x-vsr-cache-hit)" = false ] && [ "$(calls "$A_URL")" = $((n0 + 1)) ]'

# --- an answer larger than the limit --------------------------------------------------------------
st=$(chat "$(q big 'Write me a very long answer')")
check "oversize_502" --why "$st $(head -c 300 "$E2E_TMP/out")" \
    '[ "$st" = 502 ] && [ "$(err code)" = upstream_response_too_large ] && err message | grep -q "more than 4096 bytes"'
check "oversize_endpoint_not_ejected" [ "$(curl -s "$ROUTER_URL/ready" | python3 -c 'import json,sys; print([e["state"] for e in json.load(sys.stdin)["endpoints"] if e["name"]=="big"][0])')" = up ]
# a stream over the limit (2,000 chunks, ~300 KB of SSE): stopped at 4 KiB, whole events only, an
# error event + [DONE], the upstream transfer cancelled, nothing cached, counted, endpoint still up
body=$(q big 'Stream me a very long answer about “rivers” 🌊 and ’quotes’' '{"stream":true}')
faults "$BIG_URL" '{"token_ms":5}' # a 10 s stream: fakellm is still writing when it is cut
nbig=$(calls "$BIG_URL") dbig=$(stat "$BIG_URL" client_disconnects)
st=$(sse "$body")
check "oversize_stream_stopped_with_error_event" --why "$st $(tr '\n' '|' <"$E2E_TMP/sse" | tail -c 400)" \
    '[ "$st" = 200 ] && [ "$(last_data)" = "data: [DONE]" ] && grep "^data: {\"error\"" "$E2E_TMP/sse" | grep "upstream_response_too_large" | grep -q "streamed more than 4096 bytes"'
# every event before the error is a whole chat.completion.chunk, their bytes within the limit,
# and there is content (the stream was relayed up to the limit, not refused)
check "oversize_stream_whole_events_within_limit" --why "$(head -c 600 "$E2E_TMP/sse")" python3 - "$E2E_TMP/sse" <<'PY'
import json, sys
raw = open(sys.argv[1], "rb").read()
events = raw.split(b"\n\n")
assert events[-1] == b"" and events[-2] == b"data: [DONE]", events[-3:]
err = json.loads(events[-3][len(b"data: "):])
assert err["error"]["code"] == "upstream_response_too_large", err
relayed = events[:-3]
assert len(relayed) >= 3, len(relayed)
for e in relayed:
    assert e.startswith(b"data: {"), e[:80]
    j = json.loads(e[len(b"data: "):])
    assert j["object"] == "chat.completion.chunk", j
assert sum(len(e) + 2 for e in relayed) <= 4096, sum(len(e) + 2 for e in relayed)
assert any(j.get("content") for e in relayed for j in [json.loads(e[6:])["choices"][0]["delta"]])
PY
for _ in $(seq 1 100); do [ "$(stat "$BIG_URL" active)" = 0 ] && break; sleep 0.02; done
check "oversize_stream_upstream_cancelled" --why "disconnects $dbig -> $(stat "$BIG_URL" client_disconnects)" \
    '[ "$(stat "$BIG_URL" client_disconnects)" = $((dbig + 1)) ] && [ "$(calls "$BIG_URL")" = $((nbig + 1)) ]'
faults "$BIG_URL" '{}'
st=$(sse "$body")
check "oversize_stream_not_cached" --why "hit=$(header x-vsr-cache-hit) calls $nbig->$(calls "$BIG_URL")" \
    '[ "$st" = 200 ] && [ "$(header x-vsr-cache-hit)" = false ] && [ "$(calls "$BIG_URL")" = $((nbig + 2)) ]'
curl -s "$ROUTER_URL/metrics" -o "$E2E_TMP/metrics_big"
check "oversize_counted_by_reason" --why "$(grep llm_request_errors_total "$E2E_TMP/metrics_big" | grep big)" \
    grep -q '^llm_request_errors_total{model="big",reason="upstream_response_too_large"} 3$' "$E2E_TMP/metrics_big"
check "oversize_stream_endpoint_not_ejected" [ "$(curl -s "$ROUTER_URL/ready" | python3 -c 'import json,sys; print([e["state"] for e in json.load(sys.stdin)["endpoints"] if e["name"]=="big"][0])')" = up ]
check "oversize_stream_logged" grep -q '"error":"upstream_response_too_large"' "$ROUTER_LOG"

# --- recovery after ejection ----------------------------------------------------------------------
faults "$A_URL" '{"fail_status":500}'
st=$(chat "$(q recovering 'fail once')")
check "recover_failure_ejects" '[ "$st" = 502 ] && [ "$(curl -s "$ROUTER_URL/ready" | python3 -c "import json,sys; print([e[\"state\"] for e in json.load(sys.stdin)[\"endpoints\"] if e[\"name\"]==\"rec\"][0])")" = ejected ]'
faults "$A_URL" '{}'
for _ in $(seq 1 300); do
    s=$(curl -s "$ROUTER_URL/ready" | python3 -c 'import json,sys; print([e["state"] for e in json.load(sys.stdin)["endpoints"] if e["name"]=="rec"][0])')
    [ "$s" = ejected ] || break
    sleep 0.02
done
n0=$(calls "$A_URL")
st=$(chat "$(q recovering 'back again')")
check "recover_after_ejection" '[ "$st" = 200 ] && [ "$(calls "$A_URL")" = $((n0 + 1)) ]'
check "recovered_endpoint_up" [ "$(curl -s "$ROUTER_URL/ready" | python3 -c 'import json,sys; print([e["state"] for e in json.load(sys.stdin)["endpoints"] if e["name"]=="rec"][0])')" = up ]

# --- client gone mid-stream: upstream cancelled, no fd left behind --------------------------------
# Each condition is polled until it holds or a deadline of wall-clock time passes (wait_for): a
# loaded machine only makes the wait longer. The deadlines are far beyond the normal time (well
# under a second) and beyond the 10 s a stream lasts, so a router that did not cancel (the stream
# then ends whole, not counted as a client disconnect) or that leaks an fd still fails.
fds() { ls "/proc/$ROUTER_PID/fd" | wc -l; }
quiet() { wait_for 60 '[ "$(stat "$LONG_URL" active)" = 0 ]'; } # LONG has no answer in flight
body=$(q long 'Tell me a long story about “lighthouses” 🌊' '{"stream":true}')
leave() { timeout 0.6 curl -sN -o /dev/null -H 'Content-Type: application/json' "$ROUTER_URL/v1/chat/completions" -d "$body"; }
leave # warm-up: the worker's connection pools exist from here on
check "client_gone_warmup_quiet" quiet
fd0=$(fds) d0=$(stat "$LONG_URL" client_disconnects) c0=$(grep -c '"error":"cancellation"' "$ROUTER_LOG")
for i in $(seq 1 10); do leave; done
wait_for 60 '[ "$(stat "$LONG_URL" client_disconnects)" = $((d0 + 10)) ] && [ "$(grep -c "\"error\":\"cancellation\"" "$ROUTER_LOG")" = $((c0 + 10)) ]'
check "client_gone_upstream_cancelled" --why "client_disconnects $d0 -> $(stat "$LONG_URL" client_disconnects), cancellations logged $c0 -> $(grep -c '"error":"cancellation"' "$ROUTER_LOG")" \
    '[ "$(stat "$LONG_URL" client_disconnects)" = $((d0 + 10)) ] && [ "$(grep -c "\"error\":\"cancellation\"" "$ROUTER_LOG")" = $((c0 + 10)) ]'
check "client_gone_quiet" quiet
wait_for 60 '[ "$(fds)" -le "$fd0" ]'
check "client_gone_no_fd_leak" --why "fds $fd0 -> $(fds)" [ "$(fds)" -le "$fd0" ]
st=$(chat "$(q cut 'still fine after all that?')")
check "serving_after_faults" [ "$st" = 200 ]
router_stop
