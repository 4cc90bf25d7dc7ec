#!/usr/bin/env bash
# Installs what semrouter needs, by Debian package name. Idempotent and fast when
# everything is present (one dpkg-query). Not root: prints the exact apt-get line.
#   scripts/deps.sh          build dependencies
#   scripts/deps.sh --test   also test/bench tools, Debian's chromium (the dashboard's browser
#                          test) and the npm packages of tests/node: the `openai` client, the
#                          Milvus Node SDK, playwright-core (drives /usr/bin/chromium; it never
#                          downloads a browser of its own)
set -euo pipefail
cd "$(dirname "$0")/.."

build_pkgs=(gcc make pkg-config libevent-dev libcurl4-openssl-dev libcjson-dev libyaml-dev
            libssl-dev liblmdb-dev libutf8proc-dev libopenblas-dev zlib1g-dev)
test_pkgs=(curl valgrind clang libclang-rt-14-dev python3 python3-numpy wrk nginx-light
           hyperfine g++ libhnswlib-dev prometheus-cpp-dev python3-yaml
           python3-prometheus-client chromium)

want=("${build_pkgs[@]}")
[ "${1:-}" = "--test" ] && want+=("${test_pkgs[@]}")

missing=()
for p in "${want[@]}"; do
    st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$st" = "installed" ] || missing+=("$p")
done
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    [ "${1:-}" = "--test" ] && missing+=(nodejs npm)
fi

if [ ${#missing[@]} -gt 0 ]; then
    line="apt-get install -y --no-install-recommends ${missing[*]}"
    if [ "$(id -u)" != 0 ]; then
        echo "deps: missing packages; run as root:  apt-get update && $line" >&2
        exit 1
    fi
    echo "deps: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# every dependency of tests/node/package.json present, or npm install (from its lock file)
npm_complete() {
    node -e 'const p = require("./tests/node/package.json"), fs = require("fs");
        for (const d of Object.keys(p.dependencies || {}))
            if (!fs.existsSync("tests/node/node_modules/" + d + "/package.json")) process.exit(1);' 2>/dev/null
}
if [ "${1:-}" = "--test" ] && ! npm_complete; then
    echo "deps: installing the npm test packages into tests/node (openai, Milvus Node SDK, playwright-core)" >&2
    (cd tests/node && npm install --no-audit --no-fund --loglevel=error >&2)
fi
exit 0
