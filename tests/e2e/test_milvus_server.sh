#!/usr/bin/env bash
# The Milvus REST v2 test server (tests/milvus/server.mjs) checked by the official Milvus
# Node SDK's REST client (HttpClient of @zilliz/milvus2-sdk-node, tests/node): profiles
# 2.4.0 / 2.5 / 2.6, error codes, int64 rendering, auth, faults.
set -u
cd "$(dirname "$0")/../.."
if [ ! -d tests/node/node_modules/@zilliz/milvus2-sdk-node ]; then
    echo "SKIP milvus_server: tests/node/node_modules/@zilliz/milvus2-sdk-node missing (run scripts/deps.sh --test)"
    exit 0
fi
node tests/milvus/sdk_check.mjs
