#!/usr/bin/env bash
# End-to-end: the semantic cache through the router, with fakellm counting the
# upstream calls. Needs the embedding model (scripts/fetch-model.sh; make test fetches it).
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib/fakellm.sh
. tests/e2e/lib/router.sh
if [ ! -f models/use-lite/model.json ]; then
    skip "cache_e2e" "models/use-lite missing (run scripts/fetch-model.sh)"
    exit 0
fi
fakellm_start --model small --tokens 8 || exit 1
UP=$FAKELLM_URL
upstream_calls() { curl -s "$UP/admin/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["chat_requests"])'; }

# cache_config FILE [semantic_cache extra keys] [top-level extra]
cache_config() {
    cat >"$1" <<EOF
server: {listen: 127.0.0.1, metrics_port: 0, workers: 2}
vllm_endpoints:
  - {name: a, address: 127.0.0.1, port: $FAKELLM_PORT}
model_config:
  small: {preferred_endpoints: [a]}
default_model: small
embedding_model: {type: use-lite, path: models/use-lite}
semantic_cache:
  enabled: true
  similarity_threshold: 0.8
  ${2:-}
${3:-}
EOF
}
q() { # QUESTION [extra JSON members] -> request body
    python3 -c 'import json,sys; b={"model":"small","messages":[{"role":"user","content":sys.argv[1]}]}; b.update(json.loads(sys.argv[2] or "{}")); print(json.dumps(b))' "$1" "${2:-}"
}
content() { jget "$E2E_TMP/out" 'j["choices"][0]["message"]["content"]'; }

TWO_TENANTS="auth:
  enabled: true
  keys:
    - {key: key-team-a, tenant: team-a}
    - {key: key-team-b, tenant: team-b}"
cache_config "$E2E_TMP/c1.yaml" "" "$TWO_TENANTS"
router_start "$E2E_TMP/c1.yaml" || exit 1
A=(-H 'Authorization: Bearer key-team-a')
B=(-H 'Authorization: Bearer key-team-b')

# --- miss, then a hit on a paraphrase; no hit on a different meaning -----------------------------
n0=$(upstream_calls)
st=$(chat "$(q 'How do I reset my password?')" "${A[@]}")
first=$(content)
check "miss_goes_upstream" '[ "$st" = 200 ] && [ "$(header x-vsr-cache-hit)" = false ] && [ "$(upstream_calls)" = $((n0 + 1)) ]'
st=$(chat "$(q 'I forgot my password, how can I change it?')" "${A[@]}")
check "paraphrase_hits" '[ "$(header x-vsr-cache-hit)" = true ] && [ "$(header x-vsr-response-path)" = cache ]'
check "hit_returns_stored_answer" [ "$(content)" = "$first" ]
check "hit_similarity_header" python3 -c "import sys; s=float('$(header x-vsr-cache-similarity)'); sys.exit(0 if 0.8 <= s < 1 else 1)"
check "hit_made_no_upstream_call" [ "$(upstream_calls)" = $((n0 + 1)) ]
st=$(chat "$(q 'How do I reset my router to factory settings?')" "${A[@]}")
check "different_meaning_misses" [ "$(header x-vsr-cache-hit)" = false ]
st=$(chat "$(q 'How do I reset my password?')")
code=$(jget "$E2E_TMP/out" 'j["error"]["code"]')
check "missing_key_401" '[ "$st" = 401 ] && [ "$code" = invalid_api_key ]'

# --- tenants never share entries ------------------------------------------------------------------
st=$(chat "$(q 'How do I reset my password?')" "${B[@]}")
check "other_tenant_misses" [ "$(header x-vsr-cache-hit)" = false ]
st=$(chat "$(q 'How do I reset my password?')" "${B[@]}")
check "other_tenant_own_entry_hits" [ "$(header x-vsr-cache-hit)" = true ]

# --- the automatic route's aliases (auto, auto_model_name MoM) share one partition ---------------
st=$(chat "$(q 'How do I reset my password?' '{"model":"MoM"}')" "${A[@]}")
check "mom_is_its_own_partition_from_small" '[ "$st" = 200 ] && [ "$(header x-vsr-cache-hit)" = false ]'
n1=$(upstream_calls)
st=$(chat "$(q 'I forgot my password, how can I change it?' '{"model":"auto"}')" "${A[@]}")
check "auto_hits_what_mom_stored" '[ "$(header x-vsr-cache-hit)" = true ] && [ "$(upstream_calls)" = "$n1" ]'
st=$(chat "$(q 'How do I reset my password?' '{"model":"auto"}')" "${A[@]}")
check "auto_exact_hits_what_mom_stored" '[ "$(header x-vsr-cache-hit)" = true ] && [ "$(upstream_calls)" = "$n1" ]'

# --- partitions: a different system prompt or temperature is another partition -------------------
st=$(chat "$(q 'How do I reset my password?' '{"temperature":1.5}')" "${A[@]}")
check "different_sampling_misses" [ "$(header x-vsr-cache-hit)" = false ]
body=$(python3 -c 'import json; print(json.dumps({"model":"small","messages":[{"role":"system","content":"Answer like a pirate."},{"role":"user","content":"How do I reset my password?"}]}))')
st=$(chat "$body" "${A[@]}")
check "different_system_prompt_misses" [ "$(header x-vsr-cache-hit)" = false ]

# --- conversation context: a follow-up hits only under its own first turn ------------------------
CTX=tests/data/cache/contextual_queries.json
if [ -f "$CTX" ]; then
    python3 - "$CTX" "$E2E_TMP" <<'PY'
import json, sys
cases = json.load(open(sys.argv[1]))
def conv(c, follow):
    return {"model": "small", "messages": [
        {"role": "user", "content": c["Main Query"]},
        {"role": "assistant", "content": c["Main Query Response"]},
        {"role": "user", "content": follow}]}
picked = cases[:12]
for i, c in enumerate(picked):
    json.dump(conv(c, c["Follow-Up Query"]), open(f"{sys.argv[2]}/own{i}.json", "w"))
    other = picked[(i + 1) % len(picked)]
    json.dump(conv(other, c["Follow-Up Query"]), open(f"{sys.argv[2]}/cross{i}.json", "w"))
PY
    own_hits=0 cross_hits=0
    for i in $(seq 0 11); do chat "$(cat "$E2E_TMP/own$i.json")" "${A[@]}" >/dev/null; done
    for i in $(seq 0 11); do
        chat "$(cat "$E2E_TMP/cross$i.json")" "${A[@]}" >/dev/null
        [ "$(header x-vsr-cache-hit)" = true ] && cross_hits=$((cross_hits + 1))
        chat "$(cat "$E2E_TMP/own$i.json")" "${A[@]}" >/dev/null
        [ "$(header x-vsr-cache-hit)" = true ] && own_hits=$((own_hits + 1))
    done
    check "followup_under_other_first_turn_never_hits" [ $cross_hits = 0 ]
    check "followup_under_own_first_turn_hits" [ $own_hits = 12 ]
else
    skip "followup_context" "$CTX absent"
fi

# --- streams: a streamed miss is stored, replayed as a valid stream -------------------------------
sse() { curl -sN -o "$E2E_TMP/sse" -D "$E2E_TMP/hdr" -H 'Content-Type: application/json' "${@:2}" "$ROUTER_URL/v1/chat/completions" --data-binary "$1"; }
sse_text() { grep '^data: {' "$E2E_TMP/sse" | python3 -c 'import json,sys
t=""
for l in sys.stdin:
    for c in json.loads(l[6:]).get("choices",[]): t+=(c.get("delta") or {}).get("content") or ""
print(t)'; }
sse "$(q 'What is the tallest mountain in Africa?' '{"stream":true,"stream_options":{"include_usage":true}}')" "${A[@]}"
streamed=$(sse_text)
check "stream_miss_passes_through" '[ "$(header x-vsr-cache-hit)" = false ] && [ -n "$streamed" ]'
sse "$(q 'Which is the tallest mountain in Africa?' '{"stream":true,"stream_options":{"include_usage":true}}')" "${A[@]}"
check "stream_hit_replayed" '[ "$(header x-vsr-cache-hit)" = true ] && [ "$(sse_text)" = "$streamed" ]'
check "stream_replay_ends_with_done" [ "$(grep '^data:' "$E2E_TMP/sse" | tail -1)" = "data: [DONE]" ]
check "stream_replay_has_usage_chunk" grep -q '"choices":\[\],"usage"' "$E2E_TMP/sse"
check "stream_replay_openapi_shape" openapi_ok CreateChatCompletionStreamResponse "$E2E_TMP/sse" --sse
st=$(chat "$(q 'Which is the tallest mountain in Africa?')" "${A[@]}")
check "streamed_answer_served_as_json" '[ "$(header x-vsr-cache-hit)" = true ] && [ "$(content)" = "$streamed" ]'
check "json_hit_openapi_shape" openapi_ok CreateChatCompletionResponse "$E2E_TMP/out"
if [ -d tests/node/node_modules/openai ]; then
    (cd tests/node && node --input-type=module -e '
import OpenAI from "openai";
const c = new OpenAI({ baseURL: process.argv[1] + "/v1", apiKey: "key-team-a", maxRetries: 0 });
const s = await c.chat.completions.create({ model: "small", stream: true,
  messages: [{ role: "user", content: "In Africa, which mountain is the tallest?" }] });
let t = ""; for await (const ch of s) for (const x of ch.choices) t += x.delta?.content || "";
process.stdout.write(t);' "$ROUTER_URL") >"$E2E_TMP/node_out" 2>&1
    check "openai_client_parses_replayed_stream" [ "$(cat "$E2E_TMP/node_out")" = "$streamed" ]
fi

# --- what is not stored: cut streams, errors, no-store; no-cache skips the lookup ------------------
curl -s -X POST "$UP/admin/faults" -d '{"disconnect_after":2}' >/dev/null
sse "$(q 'Name three rivers in South America.' '{"stream":true}')" "${A[@]}"
curl -s -X POST "$UP/admin/faults" -d '{}' >/dev/null
n0=$(upstream_calls)
st=$(chat "$(q 'Name three rivers in South America.')" "${A[@]}")
check "cut_stream_not_stored" '[ "$(header x-vsr-cache-hit)" = false ] && [ "$(upstream_calls)" = $((n0 + 1)) ]'
curl -s -X POST "$UP/admin/faults" -d '{"fail_status":400}' >/dev/null
st=$(chat "$(q 'What is the boiling point of ethanol?')" "${A[@]}")
curl -s -X POST "$UP/admin/faults" -d '{}' >/dev/null
check "error_passed_through" [ "$st" = 400 ]
st=$(chat "$(q 'What is the boiling point of ethanol?')" "${A[@]}")
check "error_not_stored" '[ "$(header x-vsr-cache-hit)" = false ] && [ "$st" = 200 ]'
st=$(chat "$(q 'What is the boiling point of ethanol?')" "${A[@]}" -H 'Cache-Control: no-cache')
check "no_cache_skips_lookup" [ "$(header x-vsr-cache-hit)" = false ]
st=$(chat "$(q 'Who painted the Mona Lisa?')" "${A[@]}" -H 'Cache-Control: no-store')
st=$(chat "$(q 'Who painted the Mona Lisa?')" "${A[@]}")
check "no_store_not_stored" [ "$(header x-vsr-cache-hit)" = false ]

# --- inputs longer than the embedding window skip the semantic tier -------------------------------
long=$(python3 -c 'print(" ".join(["Please summarise the following meeting notes about quarterly planning, budgets and hiring."]*20))')
st=$(chat "$(q "$long Focus on the budget.")" "${A[@]}")
st=$(chat "$(q "$long Focus on the hiring plan instead.")" "${A[@]}")
check "over_window_no_false_hit" [ "$(header x-vsr-cache-hit)" = false ]
st=$(chat "$(q "$long Focus on the budget.")" "${A[@]}")
check "over_window_exact_tier_still_hits" '[ "$(header x-vsr-cache-hit)" = true ] && [ "$(header x-vsr-cache-similarity)" = 1.0000 ]'
rid=$(header x-request-id)
check "exact_hit_skips_embedding" bash -c "grep -F '\"request_id\":\"$rid\"' '$ROUTER_LOG' | grep -q '\"cache\":\"hit\"' && ! grep -F '\"request_id\":\"$rid\"' '$ROUTER_LOG' | grep -q embed_ms"

# --- single-flight: identical concurrent requests make one upstream call --------------------------
curl -s -X POST "$UP/admin/faults" -d '{"ttft_ms":600}' >/dev/null
n0=$(upstream_calls)
sf_pids=()
for i in 1 2 3 4 5 6; do
    curl -s -o "$E2E_TMP/sf$i" -H 'Content-Type: application/json' "${A[@]}" "$ROUTER_URL/v1/chat/completions" \
        --data-binary "$(q 'Explain photosynthesis in one sentence.')" &
    sf_pids+=($!)
done
wait "${sf_pids[@]}"
curl -s -X POST "$UP/admin/faults" -d '{}' >/dev/null
check "single_flight_one_upstream_call" [ "$(upstream_calls)" = $((n0 + 1)) ]
same=1
for i in 2 3 4 5 6; do cmp -s "$E2E_TMP/sf1" "$E2E_TMP/sf$i" || same=0; done
check "single_flight_all_answered_alike" '[ $same = 1 ] && grep -q "\"choices\"" "$E2E_TMP/sf1"'

# --- the embedding model's own endpoints ----------------------------------------------------------
# (auth is on in this router: these routes need a key too)
curl -s -o "$E2E_TMP/emb" -w '%{http_code}' -H 'Content-Type: application/json' "${A[@]}" "$ROUTER_URL/v1/embeddings" \
    -d '{"model":"use-lite","input":["How do I reset my password?","I forgot my password"]}' >"$E2E_TMP/st"
dim=$(jget "$E2E_TMP/emb" 'len(j["data"][1]["embedding"])')
check "embeddings_endpoint" '[ "$(cat "$E2E_TMP/st")" = 200 ] && [ "$dim" = 512 ]'
check "embeddings_openapi_shape" openapi_ok CreateEmbeddingResponse "$E2E_TMP/emb"
curl -s -o "$E2E_TMP/sim" -H 'Content-Type: application/json' "${A[@]}" "$ROUTER_URL/api/v1/similarity" \
    -d '{"text1":"How do I reset my password?","text2":"I forgot my password, how can I change it?"}'
check "similarity_endpoint" python3 -c "import json,sys; s=json.load(open('$E2E_TMP/sim'))['similarity']; sys.exit(0 if 0.8 < s < 1 else 1)"
curl -s "${A[@]}" "$ROUTER_URL/v1/models" -o "$E2E_TMP/models"
check "models_lists_embedding_model" grep -q '"id":"use-lite' "$E2E_TMP/models"

curl -s "$ROUTER_URL/metrics" >"$E2E_TMP/metrics"
check "cache_metrics" 'grep -q "^llm_cache_hits_total [1-9]" "$E2E_TMP/metrics" && grep -q "^llm_cache_misses_total [1-9]" "$E2E_TMP/metrics"'
check "cache_entries_gauge" grep -q '^llm_cache_entries_total{backend="memory"} [1-9]' "$E2E_TMP/metrics"
check "hit_in_request_log" grep -q '"cache":"hit","cache_similarity":' "$ROUTER_LOG"
router_stop

# --- scope: global shares entries across tenants (single-tenant deployments behind auth) ---------
cache_config "$E2E_TMP/cg.yaml" "scope: global" "$TWO_TENANTS"
router_start "$E2E_TMP/cg.yaml" || exit 1
chat "$(q 'What is the capital of Australia?')" "${A[@]}" >/dev/null
chat "$(q 'What is the capital of Australia?')" "${B[@]}" >/dev/null
check "global_scope_shares_across_tenants" [ "$(header x-vsr-cache-hit)" = true ]
router_stop

# --- TTL from insertion ---------------------------------------------------------------------------
cache_config "$E2E_TMP/c2.yaml" "ttl_seconds: 2"
router_start "$E2E_TMP/c2.yaml" || exit 1
chat "$(q 'What year did the Berlin Wall fall?')" >/dev/null
chat "$(q 'What year did the Berlin Wall fall?')" >/dev/null
check "ttl_fresh_hit" [ "$(header x-vsr-cache-hit)" = true ]
sleep 3.2
chat "$(q 'What year did the Berlin Wall fall?')" >/dev/null
check "ttl_expired_miss" [ "$(header x-vsr-cache-hit)" = false ]
router_stop

# --- eviction policies at max_entries -------------------------------------------------------------
Q1='What is the chemical symbol for gold?'
Q2='How many legs does a spider have?'
Q3='Who wrote the novel Moby Dick?'
hit() { chat "$(q "$1")" >/dev/null; [ "$(header x-vsr-cache-hit)" = true ]; }
miss() { ! hit "$1"; }
for policy in fifo lru lfu; do
    cache_config "$E2E_TMP/c3.yaml" "max_entries: 2
  eviction_policy: $policy"
    router_start "$E2E_TMP/c3.yaml" || exit 1
    chat "$(q "$Q1")" >/dev/null
    chat "$(q "$Q2")" >/dev/null
    hit "$Q1"; hit "$Q1"  # Q1 used twice: recent (lru) and frequent (lfu)
    chat "$(q "$Q3")" >/dev/null  # third entry: one must go
    # checks in an order where a miss (which stores, and may evict) comes last
    check "evict_${policy}_keeps_newest" hit "$Q3"
    if [ $policy = fifo ]; then
        check "evict_fifo_drops_oldest" miss "$Q1"
    else
        check "evict_${policy}_keeps_used_entry" hit "$Q1"
        check "evict_${policy}_drops_other" miss "$Q2"
    fi
    router_stop
done

# --- persistence survives kill -9 -----------------------------------------------------------------
cache_config "$E2E_TMP/c4.yaml" "persist_path: $E2E_TMP/cache.log"
router_start "$E2E_TMP/c4.yaml" || exit 1
chat "$(q 'What is the speed of light in vacuum?')" >/dev/null
kill -9 "$ROUTER_PID"; wait "$ROUTER_PID" 2>/dev/null; ROUTER_PID=
router_start "$E2E_TMP/c4.yaml" || exit 1
n0=$(upstream_calls)
chat "$(q 'How fast does light travel in a vacuum?')" >/dev/null
check "persisted_entry_survives_kill9" '[ "$(header x-vsr-cache-hit)" = true ] && [ "$(upstream_calls)" = "$n0" ]'
router_stop
printf 'garbage tail \x00\x01\x02' >>"$E2E_TMP/cache.log"
router_start "$E2E_TMP/c4.yaml" || exit 1
chat "$(q 'How fast does light travel in a vacuum?')" >/dev/null
check "corrupt_tail_tolerated" [ "$(header x-vsr-cache-hit)" = true ]
router_stop
