#!/usr/bin/env bash
# End-to-end: the router in front of fakellm servers, talked to with curl.
# Pass-through (stream and not), OpenAI surface, bad input, backend faults,
# failover, load spreading, passive health, client disconnect, config reload.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib/fakellm.sh
. tests/e2e/lib/router.sh

fakellm_start --model small --tokens 8 || exit 1
A_URL=$FAKELLM_URL A_PORT=$FAKELLM_PORT
fakellm_start --model large --tokens 8 || exit 1
B_URL=$FAKELLM_URL B_PORT=$FAKELLM_PORT
fakellm_start --model large --tokens 8 || exit 1
C_URL=$FAKELLM_URL C_PORT=$FAKELLM_PORT
# a port with nothing listening: connection refused
DEAD_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DEAD2_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

CFG=$E2E_TMP/config.yaml
write_config() { # $1 = weight of endpoint b, $2 = extra server keys
    cat >"$CFG" <<EOF
server:
  listen: 127.0.0.1
  metrics_port: 0
  max_body_bytes: 65536
  max_header_bytes: 8192
  first_byte_timeout_seconds: 2
  workers: 2
vllm_endpoints:
  - {name: a, address: 127.0.0.1, port: $A_PORT, max_fails: 100} # the fault cases below must not eject it
  - {name: b, address: 127.0.0.1, port: $B_PORT, weight: ${1:-1}}
  - {name: c, address: 127.0.0.1, port: $C_PORT, weight: 1, max_fails: 2, eject_seconds: 30}
  - {name: dead, address: 127.0.0.1, port: $DEAD_PORT, max_fails: 1, eject_seconds: 30}
  - {name: nothing, address: 127.0.0.1, port: $DEAD2_PORT}
model_config:
  small: {preferred_endpoints: [a]}
  large: {preferred_endpoints: [b, c]}
  flaky: {preferred_endpoints: [dead, a], upstream_model: small}
  gone: {preferred_endpoints: [nothing]}
default_model: small
EOF
}
write_config 1
router_start "$CFG" || exit 1

# --- pass-through -----------------------------------------------------------------------------
st=$(chat '{"model":"small","messages":[{"role":"user","content":"What is the capital of France?"}],"x_custom_field":{"keep":[1,2,3]}}' -H 'x-request-id: test-rid-1')
check "nonstream_200" [ "$st" = 200 ]
check "nonstream_answer_from_small" grep -q '"content":"\[small\]' "$E2E_TMP/out"
check "nonstream_headers" [ "$(header x-vsr-selected-model)" = small ] 
check "response_path_header" [ "$(header x-vsr-response-path)" = upstream ]
check "request_id_echoed" [ "$(header x-request-id)" = test-rid-1 ]
check "nonstream_openapi_shape" openapi_ok CreateChatCompletionResponse "$E2E_TMP/out"
curl -s "$A_URL/admin/last_request" >"$E2E_TMP/last"
check "request_id_forwarded" [ "$(jget "$E2E_TMP/last" 'j["headers"].get("x-request-id")')" = test-rid-1 ]
check "unknown_fields_pass_through" [ "$(jget "$E2E_TMP/last" 'j["body"]["x_custom_field"]')" = "{'keep': [1, 2, 3]}" ]

st=$(chat '{"model":"MoM","messages":[{"role":"user","content":"hi"}]}')
check "auto_model_goes_to_default" '[ "$st" = 200 ] && [ "$(header x-vsr-selected-model)" = small ]'
rid=$(header x-request-id)
check "request_id_generated" [ -n "$rid" ]

st=$(chat '{"model":"flaky","messages":[{"role":"user","content":"hi"}]}')
curl -s "$A_URL/admin/last_request" >"$E2E_TMP/last"
check "upstream_model_rewritten" [ "$(jget "$E2E_TMP/last" 'j["body"]["model"]')" = small ]

curl -sN -o "$E2E_TMP/sse" -D "$E2E_TMP/hdr" -H 'Content-Type: application/json' "$ROUTER_URL/v1/chat/completions" \
    -d '{"model":"small","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Stream me"}]}'
check "stream_content_type" grep -qi '^content-type: text/event-stream' "$E2E_TMP/hdr"
check "stream_ends_with_done" [ "$(grep '^data:' "$E2E_TMP/sse" | tail -1)" = "data: [DONE]" ]
check "stream_has_content" [ "$(grep -c '"content":' "$E2E_TMP/sse")" -ge 8 ]
check "stream_chunks_openapi_shape" openapi_ok CreateChatCompletionStreamResponse "$E2E_TMP/sse" --sse

curl -s "$ROUTER_URL/v1/models" -o "$E2E_TMP/models"
check "models_list" [ "$(jget "$E2E_TMP/models" '",".join(m["id"] for m in j["data"])')" = "MoM,small,large,flaky,gone" ]
check "models_openapi_shape" openapi_ok ListModelsResponse "$E2E_TMP/models"
check "health" [ "$(curl -s -o /dev/null -w '%{http_code}' "$ROUTER_URL/health")" = 200 ]
check "ready" [ "$(curl -s -o /dev/null -w '%{http_code}' "$ROUTER_URL/ready")" = 200 ]
# /ready: an endpoint that never answered is "unknown", never healthy; the start-up probe
# marks the ones that answer GET /v1/models "up" (wait for its first round: not a timing check)
for _ in $(seq 50); do
    curl -s "$ROUTER_URL/ready" -o "$E2E_TMP/ready0"
    [ "$(jget "$E2E_TMP/ready0" '[e["state"] for e in j["endpoints"] if e["name"]=="c"][0]')" = up ] && break
    sleep 0.1
done
check "ready_probe_marks_answering_up" '[ "$(jget "$E2E_TMP/ready0" '"'"'",".join(e["state"] for e in j["endpoints"] if e["name"] in ("a","b","c"))'"'"')" = up,up,up ]'
check "ready_never_answered_is_unknown" '[ "$(jget "$E2E_TMP/ready0" '"'"'[(e["state"], e["healthy"]) for e in j["endpoints"] if e["name"]=="nothing"][0]'"'"')" = "('"'"'unknown'"'"', False)" ]'
check "start_warns_endpoint_not_answering" grep -q "endpoint 'nothing' at http://127.0.0.1:$DEAD2_PORT/v1 does not answer" "$ROUTER_LOG"
curl -s "$ROUTER_URL/metrics" -o "$E2E_TMP/metrics"
check "metrics_requests_counted" grep -q '^llm_model_requests_total{model="small"} [1-9]' "$E2E_TMP/metrics"
check "metrics_tokens_counted" grep -q '^llm_model_completion_tokens_total{model="small"} [1-9]' "$E2E_TMP/metrics"
check "metrics_ttft_histogram" grep -q '^llm_model_ttft_seconds_count{model="small"} [1-9]' "$E2E_TMP/metrics"

# --- bad input: a 4xx OpenAI error object each, and the server keeps serving -------------------
err_is() { # STATUS_EXPECTED STATUS_GOT [code]
    [ "$2" = "$1" ] && [ -n "$(jget "$E2E_TMP/out" 'j["error"]["message"]')" ] &&
        { [ -z "${3:-}" ] || [ "$(jget "$E2E_TMP/out" 'j["error"]["code"]')" = "$3" ]; }
}
st=$(chat '{"model":"small","messages":[')
check "malformed_json_400" err_is 400 "$st" invalid_json
check "error_openapi_shape" openapi_ok ErrorResponse "$E2E_TMP/out"
st=$(chat '{"model":"small","messages":"hello"}')
check "messages_not_array_400" err_is 400 "$st"
check "messages_error_names_param" [ "$(jget "$E2E_TMP/out" 'j["error"]["param"]')" = messages ]
st=$(chat '{"messages":[{"role":"user","content":"hi"}]}')
check "model_missing_400" err_is 400 "$st" missing_required_parameter
st=$(chat '{"model":42,"messages":[{"role":"user","content":"hi"}]}')
check "model_wrong_type_400" err_is 400 "$st"
st=$(chat '')
check "empty_body_400" err_is 400 "$st"
st=$(chat '[1,2]')
check "body_not_object_400" err_is 400 "$st"
st=$(chat '{"model":"small","messages":[{"role":"wizard","content":"hi"}]}')
check "unknown_role_400" err_is 400 "$st"
st=$(chat '{"model":"small","stream":"yes","messages":[{"role":"user","content":"hi"}]}')
check "stream_wrong_type_400" err_is 400 "$st"
python3 -c 'import sys; sys.stdout.buffer.write(b"{\"model\":\"small\",\"messages\":[{\"role\":\"user\",\"content\":\"caf\xe9\"}]}")' >"$E2E_TMP/badutf8"
st=$(curl -s -o "$E2E_TMP/out" -w '%{http_code}' -H 'Content-Type: application/json' "$ROUTER_URL/v1/chat/completions" --data-binary @"$E2E_TMP/badutf8")
check "invalid_utf8_400" err_is 400 "$st" invalid_encoding
st=$(curl -s -o "$E2E_TMP/out" -w '%{http_code}' -H 'Content-Type: text/plain' "$ROUTER_URL/v1/chat/completions" -d '{"model":"small","messages":[{"role":"user","content":"hi"}]}')
check "bad_content_type_415" err_is 415 "$st"
python3 -c 'print("{\"model\":\"small\",\"messages\":[{\"role\":\"user\",\"content\":\"" + "x"*70000 + "\"}]}")' >"$E2E_TMP/big"
st=$(curl -s -o "$E2E_TMP/out" -w '%{http_code}' -H 'Content-Type: application/json' "$ROUTER_URL/v1/chat/completions" --data-binary @"$E2E_TMP/big")
check "oversize_body_413" err_is 413 "$st" request_too_large
hdrs=()
for i in $(seq 1 300); do hdrs+=(-H "x-flood-$i: $(printf 'v%.0s' $(seq 1 20))"); done
st=$(curl -s -o "$E2E_TMP/out" -w '%{http_code}' "${hdrs[@]}" -H 'Content-Type: application/json' "$ROUTER_URL/v1/chat/completions" -d '{}')
check "header_flood_431" err_is 431 "$st"
st=$(chat '{"model":"gpt-9","messages":[{"role":"user","content":"hi"}]}')
check "unknown_model_404" err_is 404 "$st" model_not_found
check "unknown_model_names_valid_ones" grep -q 'small, large' "$E2E_TMP/out"
st=$(curl -s -o "$E2E_TMP/out" -w '%{http_code}' "$ROUTER_URL/v1/nothing")
check "unknown_url_404" err_is 404 "$st"
st=$(curl -s -o "$E2E_TMP/out" -w '%{http_code}' "$ROUTER_URL/v1/chat/completions")
check "wrong_method_405" err_is 405 "$st"
python3 - "$ROUTER_PORT" >"$E2E_TMP/raw" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GARBAGE\r\n\r\n"); s.settimeout(2)
data = b""
try:
    while True:
        d = s.recv(4096)
        if not d: break
        data += d
except Exception: pass
sys.stdout.write(data.decode("latin1"))
PY
check "garbage_request_line_400" grep -q '^HTTP/1.1 400' "$E2E_TMP/raw"
st=$(chat '{"model":"small","messages":[{"role":"user","content":"sent in chunks"}]}' -H 'Transfer-Encoding: chunked')
check "chunked_request_body" '[ "$st" = 200 ] && grep -q "\"content\":\"\[small\]" "$E2E_TMP/out"'
python3 -c 'print("{\"model\":\"small\",\"messages\":[{\"role\":\"user\",\"content\":\"" + "y"*70000 + "\"}]}")' >"$E2E_TMP/bigc"
st=$(curl -s -o "$E2E_TMP/out" -w '%{http_code}' -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' "$ROUTER_URL/v1/chat/completions" --data-binary @"$E2E_TMP/bigc")
check "oversize_chunked_body_413" err_is 413 "$st"
# a chunk size that wraps the body-size sum (ffff...ff, or -5 which strtoull also takes) must
# not lift the limit: 413 (a signed size: 400) at once, not a body that grows for as long as
# the client sends
for case in ffffffffffffffff:413 -5:400; do
    size=${case%:*} want=${case#*:}
    python3 - "$ROUTER_PORT" "$size" >"$E2E_TMP/raw" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nContent-Type: application/json\r\n"
          b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n" + sys.argv[2].encode() + b"\r\n")
s.settimeout(5) # the fixed server answers at once; the old one waited for the chunk's bytes
data = b""
try:
    while True:
        d = s.recv(4096)
        if not d: break
        data += d
except Exception: pass
sys.stdout.write(data.decode("latin1"))
PY
    check "wrapping_chunk_size_${size}_$want" grep -q "^HTTP/1.1 $want" "$E2E_TMP/raw"
done
st=$(chat '{"model":"small","messages":[{"role":"user","content":"still alive?"}]}')
check "still_serving_after_bad_input" [ "$st" = 200 ]

# --- keep-alive: several requests on one connection ------------------------------------------
n=$(curl -s -o /dev/null -o /dev/null -w '%{num_connects}\n' -H 'Content-Type: application/json' \
    -d '{"model":"small","messages":[{"role":"user","content":"a"}]}' \
    "$ROUTER_URL/v1/chat/completions" "$ROUTER_URL/v1/chat/completions" | awk '{s+=$1} END {print s}')
check "keepalive_reuses_connection" [ "$n" = 1 ]

# --- load spreading and passive health -------------------------------------------------------
curl -s -X POST "$B_URL/admin/reset" >/dev/null; curl -s -X POST "$C_URL/admin/reset" >/dev/null
for i in $(seq 1 60); do chat '{"model":"large","messages":[{"role":"user","content":"spread"}]}' >/dev/null; done
nb=$(curl -s "$B_URL/admin/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["chat_requests"])')
nc_=$(curl -s "$C_URL/admin/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["chat_requests"])')
check "equal_weights_spread_load" '[ "$nb" -ge 15 ] && [ "$nc_" -ge 15 ]'

# 5xx before the first byte: fail over to the other endpoint, client sees 200
curl -s -X POST "$B_URL/admin/faults" -d '{"fail_status":503}' >/dev/null
curl -s -X POST "$C_URL/admin/reset" >/dev/null
ok=1
# 30 requests: b is drawn first often enough to reach max_fails (3) with certainty (p < 1e-6 not to)
for i in $(seq 1 30); do st=$(chat '{"model":"large","messages":[{"role":"user","content":"failover"}]}'); [ "$st" = 200 ] || ok=0; done
check "failover_on_5xx" [ $ok = 1 ]
nc_=$(curl -s "$C_URL/admin/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["chat_requests"])')
check "failover_reached_healthy_endpoint" [ "$nc_" = 30 ]
curl -s "$ROUTER_URL/ready" -o "$E2E_TMP/ready"
check "unhealthy_endpoint_ejected" [ "$(jget "$E2E_TMP/ready" '[e["healthy"] for e in j["endpoints"] if e["name"]=="b"][0]')" = False ]
curl -s -X POST "$B_URL/admin/reset" >/dev/null

# refused connection: fail over
st=$(chat '{"model":"flaky","messages":[{"role":"user","content":"refused"}]}')
check "failover_on_refused" [ "$st" = 200 ]

# nothing listening at the model's only endpoint: a 503 (the model is unavailable) that says what
# to check, counted as upstream_unreachable (not upstream_5xx: no server answered)
st=$(chat '{"model":"gone","messages":[{"role":"user","content":"Is anyone there? “hello” 👋"}]}')
check "refused_503_unreachable" err_is 503 "$st" upstream_unreachable
check "refused_503_says_what_to_check" python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))["error"]["message"]
sys.exit(0 if "could not be reached" in m and "Is a model server running there?" in m
         and sys.argv[2] in m and "nothing" in m and sys.argv[3] in m else 1)' "$E2E_TMP/out" "127.0.0.1:$DEAD2_PORT" "$CFG"
curl -s "$ROUTER_URL/metrics" -o "$E2E_TMP/metrics2"
check "refused_counted_unreachable" grep -q '^llm_request_errors_total{model="gone",reason="upstream_unreachable"} [1-9]' "$E2E_TMP/metrics2"
check "refused_not_counted_5xx" bash -c "! grep -q 'model=\"gone\",reason=\"upstream_5xx\"' '$E2E_TMP/metrics2'"

# all endpoints failing: 502 with an OpenAI error; timeouts: 504
curl -s -X POST "$A_URL/admin/faults" -d '{"fail_status":500}' >/dev/null
st=$(chat '{"model":"small","messages":[{"role":"user","content":"x"}]}')
check "all_failed_502" err_is 502 "$st" upstream_error
curl -s -X POST "$A_URL/admin/faults" -d '{"ttft_ms":4000}' >/dev/null
st=$(chat '{"model":"small","messages":[{"role":"user","content":"slow"}]}')
check "first_byte_timeout_504" err_is 504 "$st" upstream_timeout
curl -s -X POST "$A_URL/admin/faults" -d '{"disconnect_after":1}' >/dev/null
st=$(chat '{"model":"small","messages":[{"role":"user","content":"cut"}]}')
check "nonstream_disconnect_502" err_is 502 "$st"

# mid-stream cut: the stream ends with an error event and [DONE]
curl -s -X POST "$A_URL/admin/faults" -d '{"disconnect_after":3}' >/dev/null
curl -sN -o "$E2E_TMP/sse" -H 'Content-Type: application/json' "$ROUTER_URL/v1/chat/completions" \
    -d '{"model":"small","stream":true,"messages":[{"role":"user","content":"cut me"}]}'
check "midstream_cut_error_event" grep -q '^data: {"error"' "$E2E_TMP/sse"
check "midstream_cut_done" [ "$(grep '^data:' "$E2E_TMP/sse" | tail -1)" = "data: [DONE]" ]
curl -s -X POST "$A_URL/admin/reset" >/dev/null

# client disconnect cancels the upstream transfer (fakellm sees its connection close)
curl -s -X POST "$A_URL/admin/faults" -d '{"token_ms":200}' >/dev/null
timeout 0.5 curl -sN -o /dev/null -H 'Content-Type: application/json' "$ROUTER_URL/v1/chat/completions" \
    -d '{"model":"small","stream":true,"messages":[{"role":"user","content":"long"}]}'
sleep 0.3
curl -s "$A_URL/admin/stats" -o "$E2E_TMP/stats"
check "client_disconnect_cancels_upstream" [ "$(jget "$E2E_TMP/stats" 'j.get("client_disconnects", j.get("disconnects", 0))')" -ge 1 ]
check "client_disconnect_logged" grep -q '"error":"cancellation"' "$ROUTER_LOG"
curl -s -X POST "$A_URL/admin/reset" >/dev/null

# --- reload: a bad file is rejected, a good one applied -----------------------------------------
cp "$CFG" "$E2E_TMP/good.yaml"
echo "bogus_key: 1" >>"$CFG"
kill -HUP "$ROUTER_PID"; sleep 0.3
check "bad_reload_rejected" grep -q 'config reload rejected' "$ROUTER_LOG"
st=$(chat '{"model":"small","messages":[{"role":"user","content":"after bad reload"}]}')
check "serving_after_bad_reload" [ "$st" = 200 ]
cp "$E2E_TMP/good.yaml" "$CFG"
sed -i 's/^  flaky:.*$/  extra: {preferred_endpoints: [a]}/' "$CFG"
kill -HUP "$ROUTER_PID"; sleep 0.3
st=$(chat '{"model":"extra","messages":[{"role":"user","content":"new model"}]}')
check "good_reload_applied" [ "$st" = 200 ]

# a burst of reload signals (one arriving while a reload runs) must not kill the router
for i in $(seq 1 10); do kill -HUP "$ROUTER_PID"; done
sleep 0.5
check "reload_signal_burst_survived" kill -0 "$ROUTER_PID"

# --- the router refuses an invalid config at start ----------------------------------------------
echo "server: {port: notanumber}" >"$E2E_TMP/bad.yaml"
"$ROUTER_BIN" serve -c "$E2E_TMP/bad.yaml" >"$E2E_TMP/badstart" 2>&1
rc=$?
check "invalid_config_refused" '[ $rc -ne 0 ] && grep -q "bad.yaml:1" "$E2E_TMP/badstart"'
router_stop
# the log names who stopped it (a stray kill from elsewhere is then found at once)
check "stop_signal_sender_logged" grep -q "signal 15 from pid $BASHPID (" "$ROUTER_LOG"
