#!/usr/bin/env bash
# End-to-end: difficulty routing through the router. Two fakellm servers stand for
# the small and the large model; every auto-routed question carries its score and
# decision in x-vsr-difficulty-score / -decision, the decision follows the
# threshold (score >= threshold -> large), the request really went to that model
# (/admin/last_request), the log line and metrics say the same, a category's
# difficulty_threshold overrides the global one, and an explicit model is never
# scored.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib/fakellm.sh
. tests/e2e/lib/router.sh
if [ ! -f models/use-lite/model.json ] || [ ! -f config/category_head.bin ] || [ ! -f config/difficulty_head.bin ]; then
    skip "difficulty_e2e" "models/use-lite, config/category_head.bin or config/difficulty_head.bin missing"
    exit 0
fi
fakellm_start --model small-upstream --tokens 4 || exit 1
S_URL=$FAKELLM_URL S_PORT=$FAKELLM_PORT
fakellm_start --model large-upstream --tokens 4 || exit 1
L_URL=$FAKELLM_URL L_PORT=$FAKELLM_PORT

THR=0.55
CFG=$E2E_TMP/difficulty.yaml
cat >"$CFG" <<EOF
server: {listen: 127.0.0.1, metrics_port: 0}
vllm_endpoints:
  - {name: s, address: 127.0.0.1, port: $S_PORT}
  - {name: l, address: 127.0.0.1, port: $L_PORT}
model_config:
  small: {preferred_endpoints: [s], upstream_model: small-upstream}
  large: {preferred_endpoints: [l], upstream_model: large-upstream}
default_model: small
embedding_model: {type: use-lite, path: models/use-lite}
classifier:
  category_model: {threshold: 0.3, head_path: config/category_head.bin}
difficulty_routing: {enabled: true, small_model: small, large_model: large, threshold: $THR}
categories:
  - name: math
    difficulty_threshold: 1.0
    model_scores: [{model: large, score: 1.0, use_reasoning: false}]
  - {name: physics, model_scores: [{model: large, score: 1.0, use_reasoning: false}]}
  - {name: chemistry, model_scores: [{model: large, score: 1.0, use_reasoning: false}]}
  - {name: biology, model_scores: [{model: small, score: 1.0, use_reasoning: false}]}
  - {name: history, model_scores: [{model: small, score: 1.0, use_reasoning: false}]}
  - {name: law, model_scores: [{model: small, score: 1.0, use_reasoning: false}]}
  - {name: economics, model_scores: [{model: small, score: 1.0, use_reasoning: false}]}
  - {name: computer science, model_scores: [{model: large, score: 1.0, use_reasoning: false}]}
  - {name: other, model_scores: [{model: small, score: 1.0, use_reasoning: false}]}
EOF
router_start "$CFG" || exit 1

ask() { # CONTENT [model]
    local body
    body=$(python3 -c 'import json,sys; print(json.dumps({"model":sys.argv[2],"messages":[{"role":"user","content":sys.argv[1]}]}))' "$1" "${2:-auto}")
    chat "$body" >"$E2E_TMP/st"
}

TEXTS=(
    "What is the capital of France?"
    "hey, what's a good name for a goldfish? 🐟"
    "Prove that the fundamental group of the circle is isomorphic to the integers, using covering space theory."
    "A 2.0 kg block slides down a frictionless 30° incline from rest; after 3 m, what is its speed? Then add kinetic friction μ=0.2 and redo it."
    "Explique la différence entre une obligation convertible et une action privilégiée, avec les implications fiscales."
    "In Chomsky normal form, how many steps does a derivation of a string of length n take, and why?"
    "¿Cuál fue la causa principal de la caída del Imperio Romano de Occidente?"
    "Given the enthalpies of formation, compute ΔH for CH4 + 2 O2 → CO2 + 2 H2O and explain whether it is exothermic."
    "What does \`git rebase --onto A B C\` do when B is not an ancestor of C?"
    "Under the Erie doctrine, when must a federal court sitting in diversity apply state procedural rules?"
)
n=0 ok_hdr=0 ok_dec=0 ok_sent=0 n_large=0 n_small=0 bad=""
for t in "${TEXTS[@]}"; do
    st=$(ask "$t"; cat "$E2E_TMP/st")
    [ "$st" = 200 ] || { bad="$bad [status $st for '$t']"; continue; }
    n=$((n + 1))
    score=$(header x-vsr-difficulty-score) dec=$(header x-vsr-difficulty-decision)
    model=$(header x-vsr-selected-model) cat=$(header x-vsr-selected-category)
    [ -n "$score" ] && [ -n "$dec" ] && ok_hdr=$((ok_hdr + 1))
    thr=$THR
    [ "$cat" = math ] && thr=1.0
    want=$(python3 -c "import sys; print('large' if float(sys.argv[1]) >= float(sys.argv[2]) else 'small')" "${score:-0}" "$thr")
    if [ "$dec" = "$want" ] && [ "$model" = "$want" ]; then ok_dec=$((ok_dec + 1)); else bad="$bad ['$t': score $score cat $cat decision $dec model $model, want $want]"; fi
    if [ "$want" = large ]; then u=$L_URL n_large=$((n_large + 1)); else u=$S_URL n_small=$((n_small + 1)); fi
    curl -s "$u/admin/last_request" -o "$E2E_TMP/last"
    got=$(jget "$E2E_TMP/last" 'j["body"]["messages"][-1]["content"] if "body" in j else j["messages"][-1]["content"]')
    [ "$got" = "$t" ] && ok_sent=$((ok_sent + 1)) || bad="$bad ['$t' not the last request of the $want model: '$got']"
done
check "difficulty_all_answered" --why "$bad" '[ "$n" = "${#TEXTS[@]}" ]'
check "difficulty_headers_on_every_auto_request" --why "$ok_hdr of $n" '[ "$ok_hdr" = "$n" ]'
check "difficulty_decision_follows_threshold" --why "$bad" '[ "$ok_dec" = "$n" ]'
check "difficulty_request_reached_that_model" --why "$bad" '[ "$ok_sent" = "$n" ]'
check "difficulty_both_models_used" --why "large $n_large small $n_small" '[ "$n_large" -ge 1 ] && [ "$n_small" -ge 1 ]'

# the category override: a math question with difficulty_threshold 1.0 never goes large
ask "Find all real x with x^4 - 5x^2 + 4 = 0, and prove there are no others."
check "difficulty_category_override" --why "category $(header x-vsr-selected-category) score $(header x-vsr-difficulty-score) decision $(header x-vsr-difficulty-decision)" \
    '[ "$(header x-vsr-selected-category)" = math ] && [ "$(header x-vsr-difficulty-decision)" = small ] && [ "$(header x-vsr-selected-model)" = small ]'

# an explicit model is used as is and not scored
ask "Prove that the fundamental group of the circle is isomorphic to the integers, using covering space theory." small
check "difficulty_not_for_explicit_model" --why "$(grep -i difficulty "$E2E_TMP/hdr")" \
    '[ "$(cat "$E2E_TMP/st")" = 200 ] && [ -z "$(header x-vsr-difficulty-decision)" ] && [ "$(header x-vsr-selected-model)" = small ]'

# log line and metrics agree with the headers
logged=$(grep -c '"difficulty_score":[0-9.]*,"difficulty":"\(small\|large\)"' "$ROUTER_LOG")
check "difficulty_in_log_line" --why "$logged lines" '[ "$logged" -ge $((n + 1)) ]'
curl -s "$ROUTER_URL/metrics" -o "$E2E_TMP/metrics"
sum=$(awk '/^semrouter_difficulty_decisions_total\{/ {s += $2} END {print s + 0}' "$E2E_TMP/metrics")
cnt=$(awk '/^semrouter_difficulty_score_count/ {print $2}' "$E2E_TMP/metrics")
check "difficulty_metrics" --why "decisions $sum, score count $cnt, want $((n + 1))" \
    '[ "$sum" = $((n + 1)) ] && [ "$cnt" = $((n + 1)) ] && grep -q "^semrouter_difficulty_decisions_total{decision=\"large\",model=\"large\"} $n_large" "$E2E_TMP/metrics"'
router_stop
