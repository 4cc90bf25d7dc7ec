#!/usr/bin/env bash
# End-to-end test of build/fakellm, the test model server: real HTTP with curl, answers checked
# with python3's json against the OpenAI response shapes (CreateChatCompletionResponse,
# CreateChatCompletionStreamResponse, CreateEmbeddingResponse, ListModelsResponse), plus the
# fault injection and admin endpoints the router tests rely on. No timing assertions.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/e2e/lib/fakellm.sh
. tests/e2e/lib/check.sh

if [ ! -x "$FAKELLM_BIN" ]; then
    fail "fakellm_build" "$FAKELLM_BIN is missing (run make)"
    exit 1
fi
command -v curl >/dev/null || { skip "fakellm" "curl is not installed"; exit 0; }
# the system python starts in 20 ms; a pyenv shim takes 10x that, and this test runs it 70 times
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=$(command -v python3) || {
    skip "fakellm" "python3 is not installed"; exit 0; }; fi
python3() { "$PY" "$@"; }

TMP=$(mktemp -d)
trap 'fakellm_stop_all; rm -rf "$TMP"' EXIT

# jcheck NAME PYTHON-EXPR FILE: PASS when the expression is true. In the expression, t is the file's
# text, d its JSON (None when not JSON), ev the SSE events (parsed JSON, or "[DONE]").
jcheck() {
    local name=$1 expr=$2 file=$3 why
    why=$(python3 - "$expr" "$file" <<'EOF'
import json, sys, math
expr, path = sys.argv[1], sys.argv[2]
t = open(path, encoding="utf-8").read()
try:
    d = json.loads(t)
except ValueError:
    d = None
ev = []
for line in t.split("\n"):
    if line.startswith("data: "):
        p = line[6:]
        ev.append(p if p == "[DONE]" else json.loads(p))
chunks = [e for e in ev if e != "[DONE]"]
def joined(field):
    return "".join(c["choices"][0]["delta"].get(field) or "" for c in chunks if c["choices"])
def cos(a, b):
    return sum(x * y for x, y in zip(a, b))
def norm(a):
    return math.sqrt(sum(x * x for x in a))
try:
    ok = eval(expr)
except Exception as e:
    print("%s: %s" % (type(e).__name__, e)); sys.exit(0)
if not ok:
    print("false: %s -- got: %s" % (expr, t[:400].replace("\n", "\\n")))
EOF
)
    if [ -z "$why" ]; then pass "$name"; else fail "$name" "$why"; fi
}

fakellm_start --model m-small --model m-large --tokens 16 || { fail fakellm_start "$FAKELLM_PID"; exit 1; }
U=$FAKELLM_URL
C="curl -s --max-time 10"
chat() { $C "$U/v1/chat/completions" -H 'content-type: application/json' "$@"; }
admin() { $C "$U/admin/$1" "${@:2}"; }

# ---- basics
$C -o "$TMP/h" -w '%{http_code}' "$U/health" >"$TMP/code"
jcheck health 'open(path.replace("/h","/code")).read()=="200" and d["status"]=="ok"' "$TMP/h"
$C "$U/v1/models" >"$TMP/models"
jcheck models_list 'd["object"]=="list" and [m["id"] for m in d["data"]]==["m-small","m-large"] and all(m["object"]=="model" and isinstance(m["created"],int) and m["owned_by"] for m in d["data"])' "$TMP/models"

# ---- non-stream chat completion
REQ='{"model":"m-small","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"what is the capital of France"}]}'
chat -d "$REQ" >"$TMP/c1"
jcheck chat_shape 'd["object"]=="chat.completion" and d["id"].startswith("chatcmpl-") and isinstance(d["created"],int) and d["model"]=="m-small" and len(d["choices"])==1 and d["choices"][0]["index"]==0 and d["choices"][0]["message"]["role"]=="assistant" and d["choices"][0]["finish_reason"]=="stop" and "logprobs" in d["choices"][0]' "$TMP/c1"
jcheck chat_content 'd["choices"][0]["message"]["content"].startswith("[m-small] ") and len(d["choices"][0]["message"]["content"].split())==17' "$TMP/c1"
jcheck chat_usage 'd["usage"]=={"prompt_tokens":8,"completion_tokens":16,"total_tokens":24,"completion_tokens_details":{"reasoning_tokens":0}}' "$TMP/c1"
chat -d "$REQ" >"$TMP/c2"
chat -d '{"model":"m-large","messages":[{"role":"system","content":"other"},{"role":"user","content":"what is the capital of France"}]}' >"$TMP/c3"
chat -d '{"model":"m-small","messages":[{"role":"user","content":"tell me about the history of Rome"}]}' >"$TMP/c4"
python3 -c 'import json,sys; print(json.dumps([json.load(open(f))["choices"][0]["message"]["content"] for f in sys.argv[1:]]))' \
    "$TMP/c1" "$TMP/c2" "$TMP/c3" "$TMP/c4" >"$TMP/contents"
jcheck chat_deterministic 'd[0]==d[1] and d[2]=="[m-large] "+d[0].split(" ",1)[1] and d[3].startswith("[m-small] ") and d[3]!=d[0]' "$TMP/contents"
chat -d '{"model":"m-small","max_tokens":3,"messages":[{"role":"user","content":"short please"}]}' >"$TMP/c5"
jcheck chat_max_tokens 'd["choices"][0]["finish_reason"]=="length" and len(d["choices"][0]["message"]["content"].split())==4 and d["usage"]["completion_tokens"]==3' "$TMP/c5"
chat -d '{"messages":[{"role":"user","content":[{"type":"text","text":"parts"},{"type":"text","text":"of text"}]}]}' >"$TMP/c6"
jcheck chat_content_parts_default_model 'd["model"]=="m-small" and d["choices"][0]["message"]["content"].startswith("[m-small] ") and d["usage"]["prompt_tokens"]==3' "$TMP/c6"

# ---- streaming: the same text as non-stream, chunk by chunk
SREQ='{"model":"m-small","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"what is the capital of France"}]}'
chat -N -d "$SREQ" -D "$TMP/sh" >"$TMP/s1"
jcheck stream_headers '"text/event-stream" in t.lower()' "$TMP/sh"
jcheck stream_shape 'ev[-1]=="[DONE]" and all(c["object"]=="chat.completion.chunk" and c["id"]==chunks[0]["id"] and c["model"]=="m-small" and isinstance(c["created"],int) for c in chunks)' "$TMP/s1"
jcheck stream_role_first 'chunks[0]["choices"][0]["delta"]=={"role":"assistant","content":""} and chunks[0]["choices"][0]["finish_reason"] is None' "$TMP/s1"
jcheck stream_one_chunk_per_word 'len([c for c in chunks if c["choices"] and c["choices"][0]["delta"].get("content")])==16' "$TMP/s1"
jcheck stream_finish_then_usage 'chunks[-2]["choices"][0]["finish_reason"]=="stop" and chunks[-2]["choices"][0]["delta"]=={} and chunks[-1]["choices"]==[] and chunks[-1]["usage"]["completion_tokens"]==16 and chunks[-1]["usage"]["prompt_tokens"]==8' "$TMP/s1"
python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["choices"][0]["message"]["content"]))' "$TMP/c1" >"$TMP/c1content"
cp "$TMP/s1" "$TMP/s1x"
printf '%s' "$(cat "$TMP/c1content")" >"$TMP/want"
jcheck stream_equals_nonstream 'joined("content")==json.load(open(path.replace("s1x","want")))' "$TMP/s1x"
chat -N -d '{"model":"m-small","stream":true,"messages":[{"role":"user","content":"no usage"}]}' >"$TMP/s2"
jcheck stream_no_usage_chunk 'all(c["choices"] and "usage" not in c for c in chunks) and chunks[-1]["choices"][0]["finish_reason"]=="stop" and ev[-1]=="[DONE]"' "$TMP/s2"

# ---- tool calls (non-stream and stream reassemble to the same call)
TOOLS='"tools":[{"type":"function","function":{"name":"get_time","parameters":{"type":"object"}}},{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]'
chat -d "{\"model\":\"m-small\",$TOOLS,\"messages\":[{\"role\":\"user\",\"content\":\"please call tool get_weather for Paris\"}]}" >"$TMP/t1"
jcheck tool_call_nonstream 'd["choices"][0]["finish_reason"]=="tool_calls" and d["choices"][0]["message"]["content"] is None and d["choices"][0]["message"]["tool_calls"][0]["type"]=="function" and d["choices"][0]["message"]["tool_calls"][0]["function"]["name"]=="get_weather" and isinstance(json.loads(d["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]),dict) and d["choices"][0]["message"]["tool_calls"][0]["id"].startswith("call_")' "$TMP/t1"
chat -N -d "{\"model\":\"m-small\",\"stream\":true,$TOOLS,\"messages\":[{\"role\":\"user\",\"content\":\"please call tool get_weather for Paris\"}]}" >"$TMP/t2"
python3 - "$TMP/t1" "$TMP/t2" >"$TMP/tools" <<'EOF'
import json, sys
full = json.load(open(sys.argv[1]))["choices"][0]["message"]["tool_calls"][0]
calls = {}
finish = None
for line in open(sys.argv[2]):
    if not line.startswith("data: ") or line.strip() == "data: [DONE]":
        continue
    c = json.loads(line[6:])
    for ch in c["choices"]:
        finish = ch["finish_reason"] or finish
        for tc in ch["delta"].get("tool_calls") or []:
            cur = calls.setdefault(tc["index"], {"id": None, "type": None, "function": {"name": "", "arguments": ""}})
            cur["id"] = tc.get("id") or cur["id"]
            cur["type"] = tc.get("type") or cur["type"]
            fn = tc.get("function") or {}
            cur["function"]["name"] += fn.get("name") or ""
            cur["function"]["arguments"] += fn.get("arguments") or ""
print(json.dumps({"same": calls.get(0) == full, "finish": finish, "pieces": len(calls)}))
EOF
jcheck tool_call_stream_reassembles 'd=={"same":True,"finish":"tool_calls","pieces":1}' "$TMP/tools"
chat -d "{\"model\":\"m-small\",$TOOLS,\"messages\":[{\"role\":\"user\",\"content\":\"just chat\"}]}" >"$TMP/t3"
jcheck tools_without_trigger_answer_text 'd["choices"][0]["finish_reason"]=="stop" and d["choices"][0]["message"]["content"].startswith("[m-small]")' "$TMP/t3"

# ---- reasoning
chat -d '{"model":"m-large","reasoning_effort":"high","messages":[{"role":"user","content":"think hard"}]}' >"$TMP/r1"
jcheck reasoning_nonstream 'd["choices"][0]["message"]["reasoning_content"].startswith("thinking") and d["usage"]["completion_tokens_details"]["reasoning_tokens"]==8 and d["usage"]["completion_tokens"]==24' "$TMP/r1"
chat -N -d '{"model":"m-large","stream":true,"chat_template_kwargs":{"enable_thinking":true},"messages":[{"role":"user","content":"think hard"}]}' >"$TMP/r2"
cp "$TMP/r1" "$TMP/r1x"
jcheck reasoning_stream_before_content 'joined("reasoning_content")==json.load(open(path.replace("r2","r1x")))["choices"][0]["message"]["reasoning_content"] and [i for i,c in enumerate(chunks) if c["choices"][0]["delta"].get("reasoning_content")][-1] < [i for i,c in enumerate(chunks) if c["choices"][0]["delta"].get("content")][0]' "$TMP/r2"
chat -d '{"model":"m-large","chat_template_kwargs":{"enable_thinking":false},"messages":[{"role":"user","content":"think hard"}]}' >"$TMP/r3"
jcheck reasoning_off_when_false '"reasoning_content" not in d["choices"][0]["message"]' "$TMP/r3"

# ---- invalid requests
for case in 'not_json|{bad' 'no_messages|{"model":"x"}' 'empty_messages|{"messages":[]}' \
    'message_without_role|{"messages":[{"content":"x"}]}' 'array_body|[1,2]' \
    'stream_not_bool|{"stream":"yes","messages":[{"role":"user","content":"x"}]}'; do
    name=${case%%|*} body=${case#*|}
    chat -o "$TMP/e" -w '%{http_code}' -d "$body" >"$TMP/ecode"
    jcheck "bad_request_$name" 'open(path+"code").read()=="400" and d["error"]["type"]=="invalid_request_error" and d["error"]["message"] and "param" in d["error"] and "code" in d["error"]' "$TMP/e"
done
$C -o "$TMP/e" -w '%{http_code}' "$U/v1/nope" >"$TMP/ecode"
jcheck unknown_path_404 'open(path+"code").read()=="404" and "error" in d' "$TMP/e"

# ---- embeddings
$C "$U/v1/embeddings" -d '{"model":"emb","input":["the cat sat on the mat","the cat sat on a mat today","quantum chromodynamics lecture","the cat sat on the mat"]}' >"$TMP/emb"
jcheck embeddings_shape 'd["object"]=="list" and d["model"]=="emb" and [e["index"] for e in d["data"]]==[0,1,2,3] and all(e["object"]=="embedding" and len(e["embedding"])==64 for e in d["data"]) and d["usage"]=={"prompt_tokens":22,"total_tokens":22}' "$TMP/emb"
jcheck embeddings_normalised 'all(abs(norm(e["embedding"])-1)<1e-4 for e in d["data"])' "$TMP/emb"
jcheck embeddings_deterministic_and_similar 'd["data"][0]["embedding"]==d["data"][3]["embedding"] and cos(d["data"][0]["embedding"],d["data"][1]["embedding"])>0.6 and cos(d["data"][0]["embedding"],d["data"][1]["embedding"])>cos(d["data"][0]["embedding"],d["data"][2]["embedding"])+0.3' "$TMP/emb"
$C "$U/v1/embeddings" -d '{"model":"emb","input":"The CAT sat, on the mat!","dimensions":16}' >"$TMP/emb2"
jcheck embeddings_string_input_dimensions 'len(d["data"])==1 and len(d["data"][0]["embedding"])==16 and abs(norm(d["data"][0]["embedding"])-1)<1e-4' "$TMP/emb2"
$C "$U/v1/embeddings" -d '{"model":"emb","input":"hello","encoding_format":"base64","dimensions":4}' >"$TMP/emb3"
jcheck embeddings_base64 '__import__("struct").unpack("<4f",__import__("base64").b64decode(d["data"][0]["embedding"])) and abs(norm(__import__("struct").unpack("<4f",__import__("base64").b64decode(d["data"][0]["embedding"])))-1)<1e-5' "$TMP/emb3"
$C -o "$TMP/e" -w '%{http_code}' "$U/v1/embeddings" -d '{"model":"emb","input":[]}' >"$TMP/ecode"
jcheck embeddings_bad_input 'open(path+"code").read()=="400" and d["error"]["param"]=="input"' "$TMP/e"

# ---- last_request: what a router forwarded, byte for byte
admin reset -X POST >/dev/null
RAW='{"model":"m-small",  "messages":[{"role":"user","content":"héllo \"quoted\""}],"zz_unknown":{"b":1,"a":2}}'
chat -H 'Authorization: Bearer sk-test' -H 'X-Request-Id: rid-123' -D "$TMP/lh" -d "$RAW" >/dev/null
jcheck echo_request_id '"x-request-id: rid-123" in t.lower()' "$TMP/lh"
admin last_request >"$TMP/last"
printf '%s' "$RAW" >"$TMP/raw"
jcheck last_request_headers 'd["headers"]["authorization"]=="Bearer sk-test" and d["headers"]["x-request-id"]=="rid-123" and d["path"]=="/v1/chat/completions"' "$TMP/last"
jcheck last_request_body_raw '("\"body\":"+open(path.replace("last","raw"),encoding="utf-8").read()+"}") in t and d["body"]["zz_unknown"]=={"b":1,"a":2}' "$TMP/last"

# ---- faults: fail_first, status override header, stats, reset
admin reset -X POST >/dev/null
admin faults -d '{"fail_status":503,"fail_first":2}' >"$TMP/f"
jcheck faults_set 'd["fail_status"]==503 and d["fail_first"]==2 and d["tokens"]==16' "$TMP/f"
codes=""
for i in 1 2 3 4; do codes="$codes$(chat -o "$TMP/fe$i" -w '%{http_code}' -d "$REQ") "; done
echo "{\"codes\":\"$codes\"}" >"$TMP/codes"
jcheck fail_first_then_healthy 'd["codes"]=="503 503 200 200 "' "$TMP/codes"
jcheck fault_error_body 'd["error"]["type"]=="server_error" and d["error"]["code"]=="injected_fault"' "$TMP/fe1"
admin stats >"$TMP/st"
jcheck stats_count 'd["requests"]==4 and d["chat_requests"]==4 and d["faults_injected"]==2 and d["embedding_requests"]==0' "$TMP/st"
chat -o "$TMP/e" -w '%{http_code}' -H 'x-fakellm-status: 429' -d "$REQ" >"$TMP/ecode"
jcheck header_status_override 'open(path+"code").read()=="429" and d["error"]["type"]=="rate_limit_error"' "$TMP/e"
admin faults -d '{"fail_status":"x"}' -o "$TMP/e" -w '%{http_code}' >"$TMP/ecode"
jcheck faults_bad_value_400 'open(path+"code").read()=="400"' "$TMP/e"
admin faults -d '{"fail_statuss":500}' -o "$TMP/e" -w '%{http_code}' >"$TMP/ecode"
jcheck faults_unknown_key_400 'open(path+"code").read()=="400" and "fail_statuss" in d["error"]["message"]' "$TMP/e"
admin faults -d '{"fail_status":500}' >/dev/null
$C -o "$TMP/e" -w '%{http_code}' "$U/v1/embeddings" -d '{"input":"x"}' >"$TMP/ecode"
jcheck embeddings_fault 'open(path+"code").read()=="500"' "$TMP/e"
admin reset -X POST >/dev/null
admin stats >"$TMP/st"
# (connections: the stats request's own, accepted after the reset)
jcheck reset_zeroes 'all(v==0 for k, v in d.items() if k != "connections") and d["connections"]==1' "$TMP/st"
$C -o "$TMP/e" -w '%{http_code}' "$U/admin/last_request" >"$TMP/ecode"
jcheck reset_forgets_last_request 'open(path+"code").read()=="404"' "$TMP/e"
chat -o /dev/null -w '%{http_code}' -d "$REQ" >"$TMP/code"
jcheck reset_clears_faults 't=="200"' "$TMP/code"

# ---- disconnects: stream cut after N token chunks, non-stream closed unanswered
admin faults -d '{"disconnect_after":3}' >/dev/null
chat -N -d "$SREQ" >"$TMP/d1"
echo "{\"rc\":$?}" >"$TMP/d1rc"
jcheck stream_cut_after_3 '"[DONE]" not in ev and len([c for c in chunks if c["choices"][0]["delta"].get("content")])==3 and all(c["choices"][0]["finish_reason"] is None for c in chunks)' "$TMP/d1"
jcheck stream_cut_is_transport_error 'd["rc"]!=0' "$TMP/d1rc"
chat -d "$REQ" >"$TMP/d2"
echo "{\"rc\":$?,\"len\":$(stat -c %s "$TMP/d2")}" >"$TMP/d2rc"
jcheck nonstream_cut_no_answer 'd["rc"]!=0 and d["len"]==0' "$TMP/d2rc"
admin faults -d '{"disconnect_after":2,"fail_first":1}' >/dev/null
chat -N -d "$SREQ" >"$TMP/d3"
chat -N -d "$SREQ" >"$TMP/d4"
jcheck disconnect_fail_first_then_whole '"[DONE]" in ev and joined("content").count(" ")==16' "$TMP/d4"
admin reset -X POST >/dev/null
chat -N -H 'x-fakellm-disconnect-after: 1' -d "$SREQ" >"$TMP/d5"
jcheck header_disconnect_override '"[DONE]" not in ev and len([c for c in chunks if c["choices"][0]["delta"].get("content")])==1' "$TMP/d5"

# ---- delays on timers: a slow stream still completes; a client that leaves is cleaned up
admin faults -d '{"ttft_ms":30,"token_ms":2,"delay_ms":5}' >/dev/null
chat -N -d "$SREQ" >"$TMP/slow"
jcheck slow_stream_complete 'ev[-1]=="[DONE]" and len([c for c in chunks if c["choices"] and c["choices"][0]["delta"].get("content")])==16' "$TMP/slow"
chat -d "$REQ" >"$TMP/slow2"
jcheck slow_nonstream_complete 'd["choices"][0]["message"]["content"].startswith("[m-small]")' "$TMP/slow2"
admin faults -d '{"ttft_ms":100,"token_ms":500}' >/dev/null
$C --max-time 0.3 -N "$U/v1/chat/completions" -d "$SREQ" >/dev/null
$C --max-time 0.05 "$U/v1/chat/completions" -d "$REQ" >/dev/null
for i in $(seq 1 100); do
    admin stats >"$TMP/st"
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["active"]==0 else 1)' "$TMP/st" && break
    sleep 0.05
done
jcheck client_disconnect_cleaned_up 'd["active"]==0 and d["client_disconnects"]==2' "$TMP/st"
admin reset -X POST >/dev/null
chat -d "$REQ" >"$TMP/after"
jcheck healthy_after_disconnects 'd["choices"][0]["message"]["content"].startswith("[m-small]")' "$TMP/after"

# ---- the answers against OpenAI's published schemas (tests/tools/openapi_check.py)
SPEC=${OPENAPI_SPEC:-tests/data/openai/openapi-subset.json}
spec_cases=(chat:CreateChatCompletionResponse:c1 chat_length:CreateChatCompletionResponse:c5
    tool_call:CreateChatCompletionResponse:t1 reasoning:CreateChatCompletionResponse:r1
    stream:CreateChatCompletionStreamResponse:s1 stream_tool_call:CreateChatCompletionStreamResponse:t2
    stream_reasoning:CreateChatCompletionStreamResponse:r2 embeddings:CreateEmbeddingResponse:emb
    models:ListModelsResponse:models error:ErrorResponse:fe1)
for c in "${spec_cases[@]}"; do
    IFS=: read -r name schema file <<<"$c"
    if [ ! -f "$SPEC" ] || [ ! -f tests/tools/openapi_check.py ]; then
        skip "spec_$name" "the OpenAPI spec or tests/tools/openapi_check.py is absent"
        continue
    fi
    flags=()
    [[ $schema == *Stream* ]] && flags=(--sse --require-done)
    why=$("$PY" tests/tools/openapi_check.py "${flags[@]}" "$SPEC" "$schema" "$TMP/$file" 2>&1)
    case $? in
    0) pass "spec_$name" ;;
    2) skip "spec_$name" "validator unavailable: ${why:0:200}" ;;
    *) fail "spec_$name" "$(echo "$why" | head -3 | tr '\n' ' ')" ;;
    esac
done

# ---- command line: --help, bad flags, threads, fault flags
"$FAKELLM_BIN" --help >"$TMP/help"
jcheck help_lists_flags 'all(f in t for f in ["--port","--ttft-ms","--token-ms","--fail-status","--fail-first","--disconnect-after","--delay-ms","--threads","/admin/faults"])' "$TMP/help"
"$FAKELLM_BIN" --port 0 --tokens nope >/dev/null 2>"$TMP/bad"
echo "{\"rc\":$?}" >"$TMP/badrc"
jcheck bad_flag_exit_2 'd["rc"]==2' "$TMP/badrc"
jcheck bad_flag_message '"--tokens" in t' "$TMP/bad"
fakellm_start --threads 2 --model mt --fail-status 502 --fail-first 1 || fail fakellm_threads_start "no port"
U2=$FAKELLM_URL
codes=""
for i in 1 2 3; do codes="$codes$($C -o /dev/null -w '%{http_code}' "$U2/v1/chat/completions" -d "$REQ") "; done
echo "{\"codes\":\"$codes\"}" >"$TMP/codes2"
jcheck flags_fail_first 'd["codes"]=="502 200 200 "' "$TMP/codes2"
mkdir -p "$TMP/par"
pids=()
for i in $(seq 1 8); do
    $C "$U2/v1/chat/completions" -d "$REQ" -o "$TMP/par/$i" &
    pids+=($!)
done
for j in "${pids[@]}"; do wait "$j"; done
python3 -c 'import sys,json; print(json.dumps([json.load(open(f))["choices"][0]["message"]["content"] for f in sys.argv[1:]]))' "$TMP"/par/* >"$TMP/par.json"
jcheck threads_parallel_identical 'len(d)==8 and len(set(d))==1 and d[0].startswith("[m-small]")' "$TMP/par.json"
$C "$U2/admin/stats" >"$TMP/st2"
jcheck threads_shared_counters 'd["chat_requests"]==11' "$TMP/st2"
exit 0
