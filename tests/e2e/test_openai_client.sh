#!/usr/bin/env bash
# End-to-end: the official npm `openai` client (v6, tests/node) against the router.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib/fakellm.sh
. tests/e2e/lib/router.sh
if [ ! -d tests/node/node_modules/openai ]; then
    echo "SKIP openai_client: tests/node/node_modules/openai missing (run scripts/deps.sh --test)"
    exit 0
fi
fakellm_start --model small --tokens 12 || exit 1
cat >"$E2E_TMP/config.yaml" <<EOF
server: {listen: 127.0.0.1, metrics_port: 0}
vllm_endpoints:
  - {name: a, address: 127.0.0.1, port: $FAKELLM_PORT}
model_config:
  small: {preferred_endpoints: [a]}
default_model: small
EOF
router_start "$E2E_TMP/config.yaml" || exit 1
node tests/node/openai_client.mjs "$ROUTER_URL" small
rc=$?
router_stop
exit $rc
