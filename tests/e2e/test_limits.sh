#!/usr/bin/env bash
# End-to-end: per-tenant request-rate (token bucket) and concurrency limits. Over a limit the
# router answers 429 with Retry-After, retry-after-ms and an OpenAI error object, counts it in
# semrouter_tenant_rejections_total, and other tenants are not affected; the official npm
# `openai` client sees a RateLimitError and its own retries get through.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib/fakellm.sh
. tests/e2e/lib/router.sh
fakellm_start --model small --tokens 6 || exit 1
UP=$FAKELLM_URL UP_PORT=$FAKELLM_PORT
fakellm_start --model slow --tokens 6 --ttft-ms 60000 || exit 1 # answers only after a minute
SLOW_URL=$FAKELLM_URL SLOW_PORT=$FAKELLM_PORT
active() { curl -s "$SLOW_URL/admin/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["active"])'; }
CFG=$E2E_TMP/limits.yaml
# a rate of 0.0001/s refills one token in ~3 hours: the burst is all a tenant gets here
cat >"$CFG" <<YAML
server: {listen: 127.0.0.1, metrics_port: 0, workers: 2}
vllm_endpoints:
  - {name: a, address: 127.0.0.1, port: $UP_PORT}
  - {name: s, address: 127.0.0.1, port: $SLOW_PORT}
model_config: {small: {preferred_endpoints: [a]}, slow: {preferred_endpoints: [s]}}
default_model: small
auth:
  enabled: true
  keys:
    - {key: k-rate, tenant: rate, requests_per_second: 0.0001, burst: 3}
    - {key: k-rate-2, tenant: rate, requests_per_second: 0.0001, burst: 3}
    - {key: k-free, tenant: free}
    - {key: k-conc, tenant: “conc” 🙂, max_concurrent: 2}
    - {key: k-strict, tenant: strict, requests_per_second: 0.0001, burst: 1}
    - {key: k-retry, tenant: retry, requests_per_second: 4, burst: 1}
YAML
router_start "$CFG" || exit 1
body='{"model":"small","messages":[{"role":"user","content":"How many “tokens” 🙂 may I send?"}]}'

# --- rate: the burst, then 429 ------------------------------------------------------------------
codes=""
for i in 1 2 3 4 5; do codes="$codes $(chat "$body" -H 'Authorization: Bearer k-rate')"; done
check "rate_burst_then_429" --why "codes:$codes" [ "$codes" = " 200 200 200 429 429" ]
check "rate_429_error_object" python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))["error"]
sys.exit(0 if e["type"] == "rate_limit_error" and e["code"] == "rate_limit_exceeded" and e["param"] is None
         and e["message"].startswith("Rate limit reached for tenant '"'"'rate'"'"': 0.0001 requests per second (burst 3).") else 1)' "$E2E_TMP/out"
ra=$(header retry-after) ms=$(header retry-after-ms)
check "rate_429_retry_after" --why "Retry-After '$ra' retry-after-ms '$ms'" \
    '[ "$ra" -ge 9000 ] && [ "$ms" -ge $(((ra - 1) * 1000)) ] && [ "$ms" -le $((ra * 1000)) ]'
st=$(chat "$body" -H 'Authorization: Bearer k-rate-2')
check "rate_is_per_tenant_not_per_key" [ "$st" = 429 ]
codes=""
for i in 1 2 3 4 5 6; do codes="$codes $(chat "$body" -H 'Authorization: Bearer k-free')"; done
check "other_tenant_unaffected" [ "$codes" = " 200 200 200 200 200 200" ]
st=$(chat "$body" -H 'Authorization: Bearer nope')
check "unknown_key_still_401_not_429" [ "$st" = 401 ]

# --- concurrency: two slow requests in flight, the third is refused -----------------------------
slow_body=${body/\"small\"/\"slow\"}
curl -s -o /dev/null -H 'Content-Type: application/json' -H 'Authorization: Bearer k-conc' "$ROUTER_URL/v1/chat/completions" -d "$slow_body" &
SLOW1=$!
curl -s -o /dev/null -H 'Content-Type: application/json' -H 'Authorization: Bearer k-conc' "$ROUTER_URL/v1/chat/completions" -d "$slow_body" &
SLOW2=$!
for _ in $(seq 1 500); do [ "$(active)" = 2 ] && break; sleep 0.02; done
check "two_in_flight_upstream" [ "$(active)" = 2 ]
st=$(chat "$slow_body" -H 'Authorization: Bearer k-conc')
check "third_concurrent_429" --why "status $st $(head -c 200 "$E2E_TMP/out")" \
    '[ "$st" = 429 ] && [ "$(header retry-after)" = 1 ] && grep -q "Too many concurrent requests for tenant '"'"'“conc” 🙂'"'"': at most 2 in flight" "$E2E_TMP/out"'
st=$(chat "$body" -H 'Authorization: Bearer k-free')
check "other_tenant_not_blocked_by_concurrency" [ "$st" = 200 ]
kill "$SLOW1" 2>/dev/null
wait "$SLOW1" 2>/dev/null # the client leaves: its slot is given back
for _ in $(seq 1 500); do [ "$(active)" = 1 ] && break; sleep 0.02; done
st=$(chat "$body" -H 'Authorization: Bearer k-conc')
check "slot_freed_by_client_leaving" [ "$st" = 200 ]
kill "$SLOW2" 2>/dev/null
wait "$SLOW2" 2>/dev/null
for _ in $(seq 1 500); do [ "$(active)" = 0 ] && break; sleep 0.02; done
codes=""
for i in 1 2 3 4; do codes="$codes $(chat "$body" -H 'Authorization: Bearer k-conc')"; done
check "sequential_requests_never_refused" [ "$codes" = " 200 200 200 200" ]

# --- metrics ------------------------------------------------------------------------------------
curl -s "$ROUTER_URL/metrics" -o "$E2E_TMP/metrics"
check "rejections_counted_rate" grep -q '^semrouter_tenant_rejections_total{tenant="rate",reason="rate"} 3$' "$E2E_TMP/metrics"
check "rejections_counted_concurrency" grep -q '^semrouter_tenant_rejections_total{tenant="“conc” 🙂",reason="concurrency"} 1$' "$E2E_TMP/metrics"
check "rejection_logged" grep -q '"status":429.*"error":"rate_limited"' "$ROUTER_LOG"

# --- the npm openai client -------------------------------------------------------------------------
if [ -d tests/node/node_modules/openai ]; then
    chat "$body" -H 'Authorization: Bearer k-strict' >/dev/null # its one token
    node tests/node/rate_limit_check.mjs "$ROUTER_URL" small k-strict k-retry
else
    skip "openai_client_limits" "tests/node/node_modules/openai missing (run scripts/deps.sh --test)"
fi

# --- reload: a new limit applies to the running bucket --------------------------------------------
sed -i 's/{key: k-free, tenant: free}/{key: k-free, tenant: free, requests_per_second: 0.0001, burst: 1}/' "$CFG"
kill -HUP "$ROUTER_PID"
for _ in $(seq 1 250); do grep -q "configuration reloaded" "$ROUTER_LOG" && break; sleep 0.02; done
codes=""
for i in 1 2 3; do codes="$codes $(chat "$body" -H 'Authorization: Bearer k-free')"; done
check "reloaded_limit_applies" --why "codes:$codes" [ "$codes" = " 200 429 429" ]
router_stop
