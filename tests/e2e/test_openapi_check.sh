#!/usr/bin/env bash
# Tests tests/tools/openapi_check.py (the OpenAPI response validator the e2e tests
# use) against OpenAI's schemas (tests/data/openai/openapi-subset.json, cut from the
# published spec by tests/data/openai/make_subset.py): valid documents
# pass, each kind of violation fails with a message naming the JSON path.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/e2e/lib/check.sh
spec=${OPENAPI_SPEC:-tests/data/openai/openapi-subset.json}
tool=tests/tools/openapi_check.py
names=(chat_completion_valid chat_missing_choices chat_wrong_object chat_created_wrong_type
       stream_chunks_valid stream_bad_chunk error_object_valid error_missing_param models_list
       embeddings_valid anyof_message duplicate_key not_json unknown_schema tool_call_oneof
       require_done stream_error_event spec_cached)
if [ ! -f "$spec" ]; then
    for n in "${names[@]}"; do skip "$n" "$spec not found"; done
    exit 0
fi
# Debian's interpreter: it has python3-yaml, and starts far faster than a pyenv shim.
py=python3
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import yaml' 2>/dev/null && py=/usr/bin/python3
if [[ "$spec" != *.json ]] && ! "$py" -c 'import yaml' 2>/dev/null && ! ls build/openapi-cache/schemas-*.json >/dev/null 2>&1; then
    for n in "${names[@]}"; do skip "$n" "python3-yaml not installed"; done
    exit 0
fi

out=$(mktemp)
trap 'rm -f "$out" "$out.sse"' EXIT

# oacheck NAME WANT_RC GREP_OR_EMPTY SCHEMA [FLAGS...] < input
oacheck() {
    local name=$1 want=$2 pattern=$3 schema=$4
    shift 4
    "$py" "$tool" "$@" "$spec" "$schema" - >"$out" 2>&1
    local rc=$?
    if [ "$rc" != "$want" ]; then
        fail "$name" "exit $rc, want $want: $(head -c 400 "$out" | tr '\n' '|')"
    elif [ -n "$pattern" ] && ! grep -qF -- "$pattern" "$out"; then
        fail "$name" "output lacks '$pattern': $(head -c 400 "$out" | tr '\n' '|')"
    else
        pass "$name"
    fi
}

chat='{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"qwen3",
 "choices":[{"index":0,"message":{"role":"assistant","content":"Hello.","refusal":null},
 "finish_reason":"stop","logprobs":null}],
 "usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11},"system_fingerprint":"fp"}'
oacheck chat_completion_valid 0 "" CreateChatCompletionResponse <<<"$chat"
oacheck chat_missing_choices 1 '$: missing required property "choices"' CreateChatCompletionResponse \
    <<<"${chat/\"choices\":/\"choicez\":}"
oacheck chat_wrong_object 1 '$.object: "foo" is not one of ["chat.completion"]' \
    CreateChatCompletionResponse <<<"${chat/\"chat.completion\"/\"foo\"}"
oacheck chat_created_wrong_type 1 '$.created: expected integer, got string' \
    CreateChatCompletionResponse <<<"${chat/1700000000/\"1700000000\"}"

chunk() { # content, finish_reason (JSON)
    printf 'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,'
    printf '"model":"qwen3","choices":[{"index":0,"delta":{"content":%s},"finish_reason":%s}]}\n\n' "$1" "$2"
}
usage_chunk='data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"qwen3","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}}'
{ printf ': keep-alive\n\n'; chunk '"Hel"' null; chunk '"lo"' null; chunk null '"stop"'
  printf '%s\n\ndata: [DONE]\n\n' "$usage_chunk"; } >"$out.sse"
oacheck stream_chunks_valid 0 "" CreateChatCompletionStreamResponse --sse --require-done <"$out.sse"
{ chunk '"a"' null; chunk '"b"' null; chunk 7 null; } >"$out.sse"
oacheck stream_bad_chunk 1 'event 3: $.choices[0].delta.content: expected string or null, got integer' \
    CreateChatCompletionStreamResponse --sse <"$out.sse"

err='{"error":{"message":"The model `x` does not exist","type":"invalid_request_error","param":"model","code":"model_not_found"}}'
oacheck error_object_valid 0 "" ErrorResponse <<<"$err"
oacheck error_missing_param 1 '$.error: missing required property "param"' ErrorResponse \
    <<<'{"error":{"message":"m","type":"t","code":null}}'

oacheck models_list 1 '$.data[1]: missing required property "owned_by"' ListModelsResponse <<<'
{"object":"list","data":[{"id":"MoM","object":"model","created":1,"owned_by":"semrouter"},
 {"id":"qwen3","object":"model","created":1}]}'
oacheck embeddings_valid 0 "" CreateEmbeddingResponse <<<'
{"object":"list","model":"use-lite","data":[{"object":"embedding","index":0,"embedding":[0.1,-0.2,0.3]}],
 "usage":{"prompt_tokens":3,"total_tokens":3}}'

# anyOf of object|null: one merged message, not two
oacheck anyof_message 1 '$.choices[0].logprobs: expected object or null, got string "x"' \
    CreateChatCompletionResponse <<<"${chat/\"logprobs\":null/\"logprobs\":\"x\"}"
oacheck duplicate_key 1 '$: duplicate key "model"' CreateChatCompletionResponse \
    <<<"${chat/\"model\":\"qwen3\"/\"model\":\"qwen3\",\"model\":\"y\"}"
oacheck not_json 1 '$: not valid JSON' CreateChatCompletionResponse <<<'{"id": '
oacheck unknown_schema 2 'no schema named NoSuchSchema' NoSuchSchema <<<'{}'

tool_msg='"message":{"role":"assistant","content":null,"refusal":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{}"}}]}'
good_tool=${chat/\"message\":\{\"role\":\"assistant\",\"content\":\"Hello.\",\"refusal\":null\}/$tool_msg}
args_string='"arguments":"{}"' args_object='"arguments":{}'
bad_tool=${good_tool/"$args_string"/$args_object}
if "$py" "$tool" "$spec" CreateChatCompletionResponse - <<<"$good_tool" >"$out" 2>&1; then
    oacheck tool_call_oneof 1 '$.choices[0].message.tool_calls[0].function.arguments: expected string, got object' \
        CreateChatCompletionResponse <<<"$bad_tool"
else
    fail "tool_call_oneof" "a valid tool call was rejected: $(tr '\n' '|' <"$out")"
fi

oacheck require_done 1 'stream: does not end with data: [DONE]' CreateChatCompletionStreamResponse \
    --sse --require-done <<<"$(chunk '"a"' null)"
{ chunk '"a"' null
  printf 'data: {"error":{"message":"upstream closed","type":"server_error","param":null,"code":null}}\n\n'
} >"$out.sse"
oacheck stream_error_event 0 "" CreateChatCompletionStreamResponse --sse --sse-errors <"$out.sse"

if ls build/openapi-cache/schemas-*.json >/dev/null 2>&1; then
    pass "spec_cached"
else
    fail "spec_cached" "no build/openapi-cache/schemas-*.json after a run"
fi
