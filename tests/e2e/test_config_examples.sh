#!/usr/bin/env bash
# README's model-server examples (config/examples/*.yaml): README shows each file verbatim,
# check-config accepts it, and a router started with it - its upstream addresses pointed at
# fakellm, nothing else changed - answers through it: vLLM (two servers, routing, Qwen3's
# thinking switch, upstream_model), llama.cpp's server (base_url with /v1), a hosted
# provider (base_url + api_key_env forwarded as the bearer key; clients use the router's keys).
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib/fakellm.sh
. tests/e2e/lib/router.sh
SR=${BUILD:-build}/semrouter
export PROVIDER_API_KEY="sk-prov-test-Ωmega-42" TEAM_A_KEY="team-a-key-“x”" OPS_ADMIN_KEY="ops-admin-key-9"

# README blocks: the ```yaml block after <!-- config/examples/NAME.yaml -->
python3 - "$E2E_TMP" <<'PY'
import re, sys
readme = open("README.md", encoding="utf-8").read()
for name, body in re.findall(r"<!-- (config/examples/[\w.-]+\.yaml) -->\n```yaml\n(.*?)```\n", readme, re.S):
    open(sys.argv[1] + "/readme-" + name.split("/")[-1], "w", encoding="utf-8").write(body)
PY
for f in config/examples/*.yaml; do
    n=$(basename "$f" .yaml)
    check "readme_shows_$n" cmp -s "$f" "$E2E_TMP/readme-$n.yaml"
    "$SR" check-config -c "$f" >"$E2E_TMP/cc.out" 2>&1
    check "check_config_accepts_$n" --why "$(cat "$E2E_TMP/cc.out")" \
        '[ $? = 0 ] && grep -q "^config/examples/$n.yaml: OK" "$E2E_TMP/cc.out"'
done
check readme_has_three_examples '[ "$(ls "$E2E_TMP"/readme-*.yaml | wc -l)" = 3 ] && [ "$(ls config/examples/*.yaml | wc -l)" = 3 ]'

if [ ! -f models/use-lite/model.json ] || [ ! -f config/category_head.bin ]; then
    skip config_examples_serve "models/use-lite or config/category_head.bin missing"
    exit 0
fi
fakellm_start --tokens 5 || exit 1
A_URL=$FAKELLM_URL A_PORT=$FAKELLM_PORT
fakellm_start --tokens 5 || exit 1
B_URL=$FAKELLM_URL B_PORT=$FAKELLM_PORT
body() { python3 -c 'import json,sys; print(json.dumps({"model": sys.argv[1], "messages": [{"role": "user", "content": sys.argv[2]}]}))' "$1" "$2"; }
last() { curl -s "$1/admin/last_request" >"$E2E_TMP/last.json"; jget "$E2E_TMP/last.json" "$2"; }

# vLLM: the two servers' ports -> the fakellms
sed -e "s/port: 8000}/port: $A_PORT}/" -e "s/port: 8001}/port: $B_PORT}/" -e 's/listen: 0.0.0.0/listen: 127.0.0.1/' \
    config/examples/vllm.yaml >"$E2E_TMP/vllm.yaml"
router_start "$E2E_TMP/vllm.yaml" --metrics-port 0 || exit 1
st=$(chat "$(body MoM 'Solve for x: 3x² − 12 = 0 ✏️')")
check vllm_math_to_large --why "status $st model $(header x-vsr-selected-model): $(cat "$E2E_TMP/last.json" 2>/dev/null)" \
    '[ "$st" = 200 ] && [ "$(header x-vsr-selected-model)" = large ] &&
     [ "$(last "$B_URL" "j[\"body\"][\"model\"]+\" \"+str(j[\"body\"][\"chat_template_kwargs\"][\"enable_thinking\"])")" = "Qwen/Qwen3-32B True" ]'
st=$(chat "$(body small 'What time is it in Tōkyō right now? ⏰')")
check vllm_named_model_to_small '[ "$st" = 200 ] && [ "$(last "$A_URL" "j[\"body\"][\"model\"]")" = Qwen/Qwen3-1.7B ]'
router_stop

# llama.cpp: base_url -> a fakellm's /v1
sed -e "s|http://127.0.0.1:8080/v1|$A_URL/v1|" config/examples/llamacpp.yaml >"$E2E_TMP/llamacpp.yaml"
router_start "$E2E_TMP/llamacpp.yaml" --metrics-port 0 || exit 1
st=$(chat "$(body MoM 'Wie funktioniert ein Kühlschrank? 🧊')")
check llamacpp_answers --why "status $st" '[ "$st" = 200 ] && [ "$(last "$A_URL" "j[\"path\"]")" = /v1/chat/completions ]'
st=$(chat "$(body MoM 'Wie funktioniert ein Kühlschrank? 🧊')")
check llamacpp_cache_hit '[ "$st" = 200 ] && [ "$(header x-vsr-cache-hit)" = true ]'
router_stop

# hosted: base_url -> a fakellm; the provider key goes upstream, the client's key does not
sed -e "s|https://api.openai.com/v1|$B_URL/v1|" -e 's/listen: 0.0.0.0/listen: 127.0.0.1/' \
    config/examples/hosted.yaml >"$E2E_TMP/hosted.yaml"
router_start "$E2E_TMP/hosted.yaml" --metrics-port 0 || exit 1
st=$(chat "$(body fast 'Summarise “War and Peace” in one line')")
check hosted_needs_a_router_key '[ "$st" = 401 ]'
st=$(chat "$(body fast 'Summarise “War and Peace” in one line')" -H "Authorization: Bearer $TEAM_A_KEY")
check hosted_forwards_provider_key --why "status $st: $(cat "$E2E_TMP/last.json" 2>/dev/null | head -c 400)" \
    '[ "$st" = 200 ] && [ "$(last "$B_URL" "j[\"headers\"][\"authorization\"]+\" \"+j[\"body\"][\"model\"]")" = "Bearer $PROVIDER_API_KEY gpt-4o-mini" ]'
st=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $OPS_ADMIN_KEY" "$ROUTER_URL/api/v1/stats")
check hosted_admin_reads_stats '[ "$st" = 200 ]'
router_stop
