#!/usr/bin/env bash
# Streams from a real OpenAI-compatible server (fakellm) through the cache's
# stream code: the assembled stream must equal the server's non-stream answer,
# a cut stream must not be cacheable, and the replay of a stored answer must be
# valid against OpenAI's spec and rebuild the same completion in the official
# `openai` npm client. Uses `semrouter cache assemble|replay`.
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
. tests/e2e/lib/fakellm.sh
. tests/e2e/lib/check.sh
tmp=$(mktemp -d)
trap 'fakellm_stop_all; rm -rf "$tmp"' EXIT
SR="$BUILD/semrouter"
spec=${OPENAPI_SPEC:-tests/data/openai/openapi-subset.json}

if ! fakellm_start --tokens 40; then
    fail "cache_stream_fakellm" "fakellm did not start"
    exit 0
fi

# Semantic equality of two chat.completion files, ignoring id and created
# (the server numbers its answers).
same_completion() {
    python3 - "$1" "$2" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for d in (a, b):
    d.pop("id", None); d.pop("created", None); d.pop("system_fingerprint", None)
    for c in d.get("choices", []):
        c.pop("logprobs", None)
        for t in c.get("message", {}).get("tool_calls", []) or []:
            t.pop("index", None)
        m = c.get("message", {})
        for k in [k for k, v in m.items() if v is None and k != "content"]:
            m.pop(k)
sys.exit(0 if a == b else 1)
PY
}

cases=(
  'plain|{"model":"m","messages":[{"role":"user","content":"What is HTTP?"}]}'
  'reasoning|{"model":"m","reasoning_effort":"high","messages":[{"role":"user","content":"Think about it"}]}'
  'tool_call|{"model":"m","tools":[{"type":"function","function":{"name":"search","parameters":{"type":"object"}}}],"messages":[{"role":"user","content":"please call tool search"}]}'
  'length|{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"Long answer please"}]}'
)
for c in "${cases[@]}"; do
    name=${c%%|*} body=${c#*|}
    stream_body=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d["stream"]=True; d["stream_options"]={"include_usage":True}; print(json.dumps(d))' "$body")
    curl -s "$FAKELLM_URL/v1/chat/completions" -H 'content-type: application/json' -d "$body" >"$tmp/$name.json"
    curl -sN "$FAKELLM_URL/v1/chat/completions" -H 'content-type: application/json' -d "$stream_body" >"$tmp/$name.sse"
    if ! "$SR" cache assemble <"$tmp/$name.sse" >"$tmp/$name.asm.json" 2>"$tmp/err"; then
        fail "cache_assemble_$name" "$(cat "$tmp/err"); stream of $(wc -c <"$tmp/$name.sse") bytes ends: $(tail -c 200 "$tmp/$name.sse" | tr '\n' '|')"
        continue
    fi
    if same_completion "$tmp/$name.json" "$tmp/$name.asm.json"; then
        pass "cache_assemble_$name"
    else
        fail "cache_assemble_$name" "assembled $(head -c 300 "$tmp/$name.asm.json") vs non-stream $(head -c 300 "$tmp/$name.json")"
    fi
    "$SR" cache replay --include-usage <"$tmp/$name.json" >"$tmp/$name.replay.sse"
    if [ -f "$spec" ]; then
        if python3 tests/tools/openapi_check.py --sse --require-done "$spec" \
            CreateChatCompletionStreamResponse "$tmp/$name.replay.sse" >"$tmp/err" 2>&1; then
            pass "cache_replay_openapi_$name"
        else
            fail "cache_replay_openapi_$name" "$(head -c 400 "$tmp/err" | tr '\n' '|')"
        fi
    else
        skip "cache_replay_openapi_$name" "$spec absent"
    fi
    if [ -d tests/node/node_modules/openai ]; then
        res=$(cd tests/node && node cache_replay_check.mjs "$tmp/$name.replay.sse" "$tmp/$name.json" 2>&1)
        if [ "$res" = ok ]; then pass "cache_replay_openai_client_$name"
        else fail "cache_replay_openai_client_$name" "$res"; fi
    else
        skip "cache_replay_openai_client_$name" "tests/node/node_modules/openai not installed"
    fi
done

# A stream cut mid-answer is not cacheable.
curl -s "$FAKELLM_URL/admin/faults" -d '{"disconnect_after":3}' >/dev/null
curl -sN "$FAKELLM_URL/v1/chat/completions" -H 'content-type: application/json' \
    -d '{"model":"m","stream":true,"messages":[{"role":"user","content":"cut me"}]}' >"$tmp/cut.sse"
if "$SR" cache assemble <"$tmp/cut.sse" >/dev/null 2>"$tmp/err"; then
    fail "cache_assemble_cut_stream" "a cut stream was accepted ($(wc -c <"$tmp/cut.sse") bytes)"
elif grep -q "not cacheable" "$tmp/err"; then
    pass "cache_assemble_cut_stream"
else
    fail "cache_assemble_cut_stream" "$(cat "$tmp/err")"
fi
