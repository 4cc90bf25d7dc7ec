#!/usr/bin/env bash
# End-to-end: real-time adaptation (adaptation.*). Two fakellm servers stand for
# the small and the large model under difficulty routing. When the large model
# gets slow (fakellm delay) or fails (fakellm faults), it breaches its budget:
# a borderline question (difficulty score within adaptation.difficulty_margin of
# the threshold) goes to the small model with x-vsr-adapted, a clear-cut hard
# question stays on the large model; when the large model is well again (and
# its moving average is under recover_ratio x budget) the borderline question
# comes back. Metrics and the log say each switch and why.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib/fakellm.sh
. tests/e2e/lib/router.sh
if [ ! -f models/use-lite/model.json ] || [ ! -f config/category_head.bin ] || [ ! -f config/difficulty_head.bin ]; then
    skip "adaptation_e2e" "models/use-lite, config/category_head.bin or config/difficulty_head.bin missing"
    exit 0
fi
fakellm_start --model small-upstream --tokens 4 || exit 1
S_URL=$FAKELLM_URL S_PORT=$FAKELLM_PORT
fakellm_start --model large-upstream --tokens 4 || exit 1
L_URL=$FAKELLM_URL L_PORT=$FAKELLM_PORT

CFG=$E2E_TMP/adaptation.yaml
write_config() { # THRESHOLD MARGIN
cat >"$CFG" <<EOF
server: {listen: 127.0.0.1, metrics_port: 0}
vllm_endpoints:
  - {name: s, address: 127.0.0.1, port: $S_PORT}
  - {name: l, address: 127.0.0.1, port: $L_PORT, max_fails: 1000}
model_config:
  small: {preferred_endpoints: [s], upstream_model: small-upstream}
  large: {preferred_endpoints: [l], upstream_model: large-upstream}
default_model: small
embedding_model: {type: use-lite, path: models/use-lite}
classifier:
  category_model: {threshold: 0.3, head_path: config/category_head.bin}
categories:
  - {name: math, model_scores: [{model: large, score: 1.0, use_reasoning: false}]}
  - {name: physics, model_scores: [{model: large, score: 1.0, use_reasoning: false}]}
  - {name: law, model_scores: [{model: small, score: 1.0, use_reasoning: false}]}
  - {name: other, model_scores: [{model: small, score: 1.0, use_reasoning: false}]}
difficulty_routing: {enabled: true, small_model: small, large_model: large, threshold: $1}
adaptation:
  enabled: true
  alpha: 0.5
  ttft_budget_ms: 1000
  error_budget: 0.25
  recover_ratio: 0.5
  min_samples: 3
  probe_seconds: 0
  difficulty_margin: $2
EOF
}
ask() { # CONTENT
    local body
    body=$(python3 -c 'import json,sys; print(json.dumps({"model":"auto","messages":[{"role":"user","content":sys.argv[1]}]}))' "$1")
    chat "$body" >"$E2E_TMP/st"
}

# 1. the scores of a few questions
write_config 0.55 0.01
router_start "$CFG" || exit 1
TEXTS=(
    "Prove that the fundamental group of the circle is isomorphic to the integers, using covering space theory."
    "A 2.0 kg block slides down a frictionless 30° incline from rest; after 3 m, what is its speed?"
    "Explique la différence entre une obligation convertible et une action privilégiée."
    "In Chomsky normal form, how many steps does a derivation of a string of length n take, and why?"
    "Given the enthalpies of formation, compute ΔH for CH4 + 2 O2 → CO2 + 2 H2O."
    "Under the Erie doctrine, when must a federal court sitting in diversity apply state procedural rules?"
    "What is the capital of France?"
    "hey, what's a good name for a goldfish? 🐟"
    "¿Cuál fue la causa principal de la caída del Imperio Romano de Occidente?"
    "Which enzyme unwinds DNA during replication?"
)
: >"$E2E_TMP/scores"
for i in "${!TEXTS[@]}"; do
    ask "${TEXTS[$i]}"
    echo "$i $(header x-vsr-difficulty-score)" >>"$E2E_TMP/scores"
done
router_stop
# the hardest question is the clear-cut one; the borderline one scores at least 0.04 under it;
# the threshold goes just under the borderline one, the margin between the two
read -r HARD BORDER THR MARGIN < <(python3 - "$E2E_TMP/scores" <<'EOF'
import sys
s = [(float(l.split()[1]), int(l.split()[0])) for l in open(sys.argv[1]) if len(l.split()) == 2]
s.sort(reverse=True)
hi, hard = s[0]
cands = [(sc, i) for sc, i in s[1:] if hi - sc >= 0.04]
if not cands:
    print("-1 -1 0 0"); sys.exit()
b, border = cands[0]
thr = b - 0.01
margin = min(0.05, (hi - thr) / 2)
print(hard, border, "%.4f" % thr, "%.4f" % margin)
EOF
)
check "adaptation_scores_spread" --why "$(cat "$E2E_TMP/scores")" '[ "$HARD" -ge 0 ]'
[ "$HARD" -ge 0 ] || exit 0
CLEAR_TEXT=${TEXTS[$HARD]} BORDER_TEXT=${TEXTS[$BORDER]}

write_config "$THR" "$MARGIN"
router_start "$CFG" || exit 1
ask "$BORDER_TEXT"
check "adaptation_borderline_large_when_healthy" --why "model $(header x-vsr-selected-model) score $(header x-vsr-difficulty-score) thr $THR" \
    '[ "$(header x-vsr-selected-model)" = large ] && [ -z "$(header x-vsr-adapted)" ]'

# 2. the large model gets slow: its time-to-first-token average passes 1 s after 3 attempts
curl -s "$L_URL/admin/faults" -d '{"delay_ms": 2500}' >/dev/null
for k in 1 2 3; do ask "$CLEAR_TEXT"; done
check "adaptation_breach_logged" --why "$(grep adaptation "$ROUTER_LOG")" \
    'grep -q "adaptation: model .large. over its latency budget" "$ROUTER_LOG"'
ask "$BORDER_TEXT"
adapted=$(header x-vsr-adapted)
check "adaptation_borderline_moves_when_slow" --why "model $(header x-vsr-selected-model) adapted '$adapted'" \
    '[ "$(cat "$E2E_TMP/st")" = 200 ] && [ "$(header x-vsr-selected-model)" = small ] && [ "$(header x-vsr-difficulty-decision)" = small ] &&
     case "$adapted" in "from=large; reason=latency; signal=difficulty; distance="*) true ;; *) false ;; esac'
curl -s "$S_URL/admin/last_request" -o "$E2E_TMP/last"
check "adaptation_borderline_reached_small" \
    '[ "$(jget "$E2E_TMP/last" "j[\"body\"][\"messages\"][-1][\"content\"] if \"body\" in j else j[\"messages\"][-1][\"content\"]")" = "$BORDER_TEXT" ]'
ask "$CLEAR_TEXT"
check "adaptation_clear_cut_stays_when_slow" --why "model $(header x-vsr-selected-model) adapted '$(header x-vsr-adapted)'" \
    '[ "$(header x-vsr-selected-model)" = large ] && [ -z "$(header x-vsr-adapted)" ]'
grep '"adapted_from"' "$ROUTER_LOG" >"$E2E_TMP/adapted_lines"
check "adaptation_switch_in_log_line" --why "$(cat "$E2E_TMP/adapted_lines")" \
    'grep -q "\"adapted_from\":\"large\",\"adapt_reason\":\"latency\",\"adapt_signal\":\"difficulty\"" "$E2E_TMP/adapted_lines"'
curl -s "$ROUTER_URL/metrics" -o "$E2E_TMP/metrics"
check "adaptation_switch_metric" --why "$(grep adaptation "$E2E_TMP/metrics")" \
    'grep -q "^semrouter_adaptation_switches_total{from=\"large\",to=\"small\",reason=\"latency\",signal=\"difficulty\"} 1$" "$E2E_TMP/metrics" &&
     grep -q "^semrouter_adaptation_breached{model=\"large\"} 1$" "$E2E_TMP/metrics" &&
     grep -q "^semrouter_adaptation_state_changes_total{model=\"large\",change=\"breached\",reason=\"latency\"} 1$" "$E2E_TMP/metrics"'
ttft=$(awk -F' ' '/^semrouter_model_ttft_average_seconds\{model="large",endpoint="l"\}/ {print $2}' "$E2E_TMP/metrics")
check "adaptation_ttft_average_metric" --why "large/l ttft average '$ttft'" \
    'python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) > 1.0 else 1)" "${ttft:-0}"'

# 3. it is fast again: once its average is under 0.5 s the borderline question comes back.
# The average halves with each fast answer (alpha 0.5): not after one, at most after five.
curl -s "$L_URL/admin/faults" -d '{"delay_ms": 0}' >/dev/null
ask "$CLEAR_TEXT"
ask "$BORDER_TEXT"
check "adaptation_hysteresis_holds_after_one_fast_answer" --why "model $(header x-vsr-selected-model)" \
    '[ "$(header x-vsr-selected-model)" = small ] && [ -n "$(header x-vsr-adapted)" ]'
back=0
for k in 1 2 3 4 5; do
    ask "$CLEAR_TEXT"
    ask "$BORDER_TEXT"
    if [ "$(header x-vsr-selected-model)" = large ]; then back=$k; break; fi
done
check "adaptation_borderline_comes_back_after_recovery" --why "still $(header x-vsr-selected-model) after 5 fast answers" \
    '[ "$back" -ge 1 ] && [ -z "$(header x-vsr-adapted)" ]'
check "adaptation_recovery_logged" 'grep -q "adaptation: model .large. recovered (latency" "$ROUTER_LOG"'

# 4. the large model fails (503): the error-rate budget, the same move (max_fails 1000 keeps the
# balancer from ejecting the endpoint, which would take the model out of routing on its own)
curl -s "$L_URL/admin/faults" -d '{"fail_status": 503}' >/dev/null
for k in 1 2 3; do ask "$CLEAR_TEXT"; done
check "adaptation_failures_answered_as_errors" --why "status $(cat "$E2E_TMP/st")" '[ "$(cat "$E2E_TMP/st")" -ge 500 ]'
ask "$BORDER_TEXT"
check "adaptation_borderline_moves_on_errors" --why "model $(header x-vsr-selected-model) adapted '$(header x-vsr-adapted)'" \
    '[ "$(cat "$E2E_TMP/st")" = 200 ] && [ "$(header x-vsr-selected-model)" = small ] &&
     case "$(header x-vsr-adapted)" in "from=large; reason=errors;"*) true ;; *) false ;; esac'
curl -s "$L_URL/admin/reset" -X POST >/dev/null
for k in 1 2 3 4 5 6; do ask "$CLEAR_TEXT"; done
ask "$BORDER_TEXT"
check "adaptation_back_after_errors_stop" --why "model $(header x-vsr-selected-model)" '[ "$(header x-vsr-selected-model)" = large ]'
router_stop

# 5. category routing (no difficulty head): the borderline signal is the head's confidence
# within category_margin of classifier.category_model.threshold; the category's next model
# takes it. The confidences come from the log line of a first run.
write_cat_config() { # THRESHOLD MARGIN
cat >"$CFG" <<EOF
server: {listen: 127.0.0.1, metrics_port: 0}
vllm_endpoints:
  - {name: s, address: 127.0.0.1, port: $S_PORT}
  - {name: l, address: 127.0.0.1, port: $L_PORT, max_fails: 1000}
model_config:
  small: {preferred_endpoints: [s], upstream_model: small-upstream}
  large: {preferred_endpoints: [l], upstream_model: large-upstream}
default_model: small
embedding_model: {type: use-lite, path: models/use-lite}
classifier:
  category_model: {threshold: $1, head_path: config/category_head.bin}
categories:
$(for c in math physics chemistry engineering "computer science" biology health business economics law history philosophy psychology other; do
    echo "  - {name: $c, model_scores: [{model: large, score: 1.0, use_reasoning: false}, {model: small, score: 0.5, use_reasoning: false}]}"
done)
adaptation: {enabled: true, alpha: 0.5, error_budget: 0.25, ttft_budget_ms: 0, min_samples: 3, probe_seconds: 0, category_margin: $2}
EOF
}
curl -s "$L_URL/admin/reset" -X POST >/dev/null
write_cat_config 0.05 0.01
router_start "$CFG" || exit 1
: >"$E2E_TMP/conf"
for i in "${!TEXTS[@]}"; do
    ask "${TEXTS[$i]}"
    rid=$(header x-request-id)
    conf=$(grep "\"request_id\":\"$rid\"" "$ROUTER_LOG" | sed -n 's/.*"category_confidence":\([0-9.]*\).*/\1/p' | head -1)
    echo "$i $conf" >>"$E2E_TMP/conf"
done
router_stop
read -r HARD BORDER THR MARGIN < <(python3 - "$E2E_TMP/conf" <<'EOF'
import sys
s = [(float(l.split()[1]), int(l.split()[0])) for l in open(sys.argv[1]) if len(l.split()) == 2]
s.sort(reverse=True)
hi, hard = s[0]
cands = [(sc, i) for sc, i in s[1:] if hi - sc >= 0.04 and sc >= 0.1]
if not cands:
    print("-1 -1 0 0"); sys.exit()
b, border = cands[0]
thr = b - 0.01
print(hard, border, "%.4f" % thr, "%.4f" % min(0.1, (hi - thr) / 2))
EOF
)
check "adaptation_category_confidences_spread" --why "$(cat "$E2E_TMP/conf")" '[ "$HARD" -ge 0 ]'
[ "$HARD" -ge 0 ] || exit 0
CLEAR_TEXT=${TEXTS[$HARD]} BORDER_TEXT=${TEXTS[$BORDER]}
write_cat_config "$THR" "$MARGIN"
router_start "$CFG" || exit 1
curl -s "$L_URL/admin/faults" -d '{"fail_status": 500}' >/dev/null
for k in 1 2 3; do ask "$CLEAR_TEXT"; done
ask "$BORDER_TEXT"
check "adaptation_category_borderline_moves" --why "model $(header x-vsr-selected-model) category $(header x-vsr-selected-category) adapted '$(header x-vsr-adapted)' thr $THR margin $MARGIN" \
    '[ "$(cat "$E2E_TMP/st")" = 200 ] && [ "$(header x-vsr-selected-model)" = small ] && [ -n "$(header x-vsr-selected-category)" ] &&
     case "$(header x-vsr-adapted)" in "from=large; reason=errors; signal=category;"*) true ;; *) false ;; esac'
ask "$CLEAR_TEXT" # the large model still fails: a 5xx without routing headers; the log line says where it went
rid=$(header x-request-id)
line=$(grep "\"request_id\":\"$rid\"" "$ROUTER_LOG" | head -1)
check "adaptation_category_clear_cut_stays" --why "$line" \
    'case "$line" in *"\"model\":\"large\",\"endpoint\":\"l\""*) true ;; *) false ;; esac && case "$line" in *adapted_from*) false ;; *) true ;; esac'
curl -s "$L_URL/admin/reset" -X POST >/dev/null
for k in 1 2 3 4 5 6; do ask "$CLEAR_TEXT"; done
ask "$BORDER_TEXT"
check "adaptation_category_back_after_recovery" --why "model $(header x-vsr-selected-model)" \
    '[ "$(header x-vsr-selected-model)" = large ] && [ -z "$(header x-vsr-adapted)" ]'
router_stop
