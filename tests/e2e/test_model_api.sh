#!/usr/bin/env bash
# End-to-end: the router's own model-work endpoints (POST /v1/embeddings, /api/v1/similarity,
# /api/v1/classify/*) run on the compute pool (src/api/model_api.c), not on the worker's loop: with
# one worker and one compute thread, a pass-through chat request and /health are answered while a
# big embeddings or classification request is still computing, and the big answer is complete and
# equal to the answers of the same texts sent alone. No timed assertion: each big request is seen
# in flight by the router's own gauge (semrouter_inflight_requests, read through /metrics on the
# same loop: on a blocked loop that read would only come back after the big answer, when the gauge
# has dropped) and is still unanswered when the pass-through answer arrives; a remote embedding
# model is held open by its server (8 s) for the deterministic case.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib/fakellm.sh
. tests/e2e/lib/router.sh

fakellm_start --model small --tokens 4 || exit 1
S_PORT=$FAKELLM_PORT
fakellm_start --model emb --embed-dim 64 || exit 1
E_URL=$FAKELLM_URL

PASS_BODY='{"model":"small","messages":[{"role":"user","content":"Pass-through: “say hello” 👋 — nothing else"}]}'
# inflight_seen N: until the router reports N requests in flight (bounded: 30 s)
inflight_seen() {
    local i v
    for i in $(seq 1 300); do
        v=$(curl -s --max-time 2 "$ROUTER_URL/metrics" | awk '$1 == "semrouter_inflight_requests" {print $2}')
        [ -n "$v" ] && [ "${v%.*}" -ge "$1" ] && return 0
        sleep 0.1
    done
    return 1
}
alive() { kill -0 "$1" 2>/dev/null; }
# pass_answered_beside PID: a pass-through chat and /health answered while PID's request runs
pass_answered_beside() {
    local st hst
    st=$(chat "$PASS_BODY" -H 'Cache-Control: no-cache, no-store')
    hst=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$ROUTER_URL/health")
    [ "$st" = 200 ] && grep -q '"choices"' "$E2E_TMP/out" && [ "$hst" = 200 ] && alive "$1"
}

# ------------------------------------------------------------ A: the built-in model, big requests
if [ -f models/use-lite/model.json ] && [ -f config/category_head.bin ]; then
    cat >"$E2E_TMP/a.yaml" <<EOF
server: {listen: 127.0.0.1, metrics_port: 0, workers: 1, compute_threads: 1}
vllm_endpoints:
  - {name: s, address: 127.0.0.1, port: $S_PORT}
model_config:
  small: {preferred_endpoints: [s]}
default_model: small
embedding_model: {type: use-lite, path: models/use-lite}
classifier:
  category_model: {threshold: 0.5, head_path: config/category_head.bin}
api: {batch_classification: {max_batch_size: 2048}}
categories:
  - name: other
    model_scores: [{model: small, score: 1.0, use_reasoning: false}]
EOF
    router_start "$E2E_TMP/a.yaml" || exit 1
    # 2,048 long texts in many scripts (each ~100 tokens: seconds of embedding on one thread)
    python3 - "$E2E_TMP" <<'PY'
import json, sys
base = ["What’s the best way to “reset” a router’s admin password? 🔐",
        "¿Cuál es la capital de Australia y por qué no es Sídney? 🇦🇺",
        "Объясни теорему Пифагора простыми словами, пожалуйста",
        "日本語の文章をembedしてください — mixed scripts, “quoted” text",
        "Tool result: {\"temperature\": 21.5, \"unit\": \"°C\"} — summarise it 🌡️"]
tail = " Then explain it again in more detail, with an example, a counter-example and a short summary at the end."
texts = ["%s (%d)%s%s" % (base[i % len(base)], i, tail, tail) for i in range(2048)]
d = sys.argv[1]
json.dump({"model": "text-embedding-3-small", "input": texts}, open(d + "/big_emb.json", "w"), ensure_ascii=False)
json.dump({"texts": texts, "task_type": "intent"}, open(d + "/big_cls.json", "w"), ensure_ascii=False)
for k in (0, 7, 2047):
    json.dump({"model": "text-embedding-3-small", "input": texts[k]}, open(d + "/one_%d.json" % k, "w"), ensure_ascii=False)
    json.dump({"text": texts[k]}, open(d + "/cls_%d.json" % k, "w"), ensure_ascii=False)
PY
    curl -s -o "$E2E_TMP/big_emb.out" -w '%{http_code}' -H 'Content-Type: application/json' \
        "$ROUTER_URL/v1/embeddings" --data-binary @"$E2E_TMP/big_emb.json" >"$E2E_TMP/big_emb.st" &
    big=$!
    check "big_embeddings_in_flight" inflight_seen 2
    check "pass_through_answered_while_embedding" pass_answered_beside "$big"
    wait "$big"
    for k in 0 7 2047; do
        curl -s -o "$E2E_TMP/one_$k.out" -H 'Content-Type: application/json' "$ROUTER_URL/v1/embeddings" \
            --data-binary @"$E2E_TMP/one_$k.json"
    done
    check "big_embeddings_whole_and_equal_to_single" --why "status $(cat "$E2E_TMP/big_emb.st"): $(head -c 200 "$E2E_TMP/big_emb.out")" \
        python3 - "$E2E_TMP" <<'PY'
import json, sys
d = sys.argv[1]
big = json.load(open(d + "/big_emb.out"))
assert [e["index"] for e in big["data"]] == list(range(2048)), "indices"
assert all(len(e["embedding"]) == 512 for e in big["data"]), "dims"
for k in (0, 7, 2047):
    one = json.load(open(d + "/one_%d.out" % k))
    assert one["data"][0]["embedding"] == big["data"][k]["embedding"], "text %d differs" % k
assert big["usage"]["prompt_tokens"] > 2048 * 20, big["usage"]
PY

    curl -s -o "$E2E_TMP/big_cls.out" -w '%{http_code}' -H 'Content-Type: application/json' \
        "$ROUTER_URL/api/v1/classify/batch" --data-binary @"$E2E_TMP/big_cls.json" >"$E2E_TMP/big_cls.st" &
    big=$!
    check "big_classify_batch_in_flight" inflight_seen 2
    check "pass_through_answered_while_classifying" pass_answered_beside "$big"
    wait "$big"
    for k in 0 7 2047; do
        curl -s -o "$E2E_TMP/cls_$k.out" -H 'Content-Type: application/json' "$ROUTER_URL/api/v1/classify/intent" \
            --data-binary @"$E2E_TMP/cls_$k.json"
    done
    check "big_batch_whole_and_equal_to_single" --why "status $(cat "$E2E_TMP/big_cls.st"): $(head -c 300 "$E2E_TMP/big_cls.out")" \
        python3 - "$E2E_TMP" <<'PY'
import json, sys
d = sys.argv[1]
big = json.load(open(d + "/big_cls.out"))
assert big["total_count"] == 2048 and len(big["results"]) == 2048, "count"
for k in (0, 7, 2047):
    one = json.load(open(d + "/cls_%d.out" % k))["classification"]
    r = big["results"][k]
    assert r["category"] == one["category"] and abs(r["confidence"] - one["confidence"]) < 1e-9, (k, r, one)
PY
    # the other model-work routes still answer from the pool
    st=$(curl -s -o "$E2E_TMP/sim" -w '%{http_code}' -H 'Content-Type: application/json' "$ROUTER_URL/api/v1/similarity" \
        --data-binary '{"text1":"How do I sort a list in Python? 🐍","text2":"Sorting a Python list — how?"}')
    check "similarity_answered" --why "$st $(cat "$E2E_TMP/sim")" \
        python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert sys.argv[2]=="200" and 0.5 < d["similarity"] <= 1.0' "$E2E_TMP/sim" "$st"
    st=$(curl -s -o "$E2E_TMP/pii" -w '%{http_code}' -H 'Content-Type: application/json' "$ROUTER_URL/api/v1/classify/pii" \
        --data-binary '{"text":"Schreib an jane.doe@example.com 📧 oder ruf 555-867-5309 an — “bitte”"}')
    check "pii_answered" --why "$st $(cat "$E2E_TMP/pii")" '[ "$st" = 200 ] && grep -q EMAIL "$E2E_TMP/pii"'
    st=$(curl -s -o "$E2E_TMP/bad" -w '%{http_code}' -H 'Content-Type: application/json' "$ROUTER_URL/v1/embeddings" \
        --data-binary '{"input":["ok", ""]}')
    check "bad_input_clear_400" --why "$st $(cat "$E2E_TMP/bad")" '[ "$st" = 400 ] && grep -q "empty strings" "$E2E_TMP/bad"'
    curl -s "$ROUTER_URL/metrics" >"$E2E_TMP/metrics"
    check "counted_by_path_and_status" grep -q '^semrouter_http_requests_total{path="/v1/embeddings",status="400"} 1$' "$E2E_TMP/metrics"
    router_stop
else
    echo "SKIP model_api_local: models/use-lite or config/category_head.bin missing"
fi

# ------------------------------------------------------- B: a remote embedding model, held open
cat >"$E2E_TMP/b.yaml" <<EOF
server: {listen: 127.0.0.1, metrics_port: 0, workers: 1, compute_threads: 1}
vllm_endpoints:
  - {name: s, address: 127.0.0.1, port: $S_PORT}
model_config:
  small: {preferred_endpoints: [s]}
default_model: small
embedding_model: {type: remote, url: "$E_URL/v1", model: emb, dim: 64, timeout_ms: 20000}
semantic_cache: {enabled: true, similarity_threshold: 0.9}
EOF
router_start "$E2E_TMP/b.yaml" || exit 1
emb_active() { curl -s "$E_URL/admin/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("active", -1))'; }
curl -s -o /dev/null -X POST "$E_URL/admin/faults" -d '{"delay_ms":8000}'
curl -s -o "$E2E_TMP/held.out" -H 'Content-Type: application/json' "$ROUTER_URL/v1/embeddings" \
    --data-binary '{"model":"emb","input":"What’s held? ⏳ — a remote call"}' &
held=$!
ok=0
for i in $(seq 1 300); do
    [ "$(emb_active)" -ge 1 ] && { ok=1; break; }
    sleep 0.1
done
check "remote_embedding_held_open" [ "$ok" = 1 ]
check "pass_through_answered_while_remote_embedding_held" pass_answered_beside "$held"
curl -s -o /dev/null -X POST "$E_URL/admin/faults" -d '{"delay_ms":0}'
wait "$held"
check "held_embedding_answered_whole" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["model"] == "emb" and len(d["data"]) == 1 and len(d["data"][0]["embedding"]) == 64' "$E2E_TMP/held.out"
router_stop
