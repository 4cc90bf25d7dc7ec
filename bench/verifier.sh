#!/usr/bin/env bash
# Cache hit verifier latency (bench/verifier_bench.c): cache_select on 8 real
# question candidates with the shipped model, next to anchors measured in the
# same run. Usage: bench/verifier.sh [LOOKUPS]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
make -s -j2 "$BUILD/libsemrouter.a"
CFLAGS="-std=c11 -O2 -g -D_GNU_SOURCE -Isrc"
LIBS="$(pkg-config --libs libcjson libcrypto libutf8proc 2>/dev/null) -lpthread -lm"
cc $CFLAGS bench/verifier_bench.c -o "$BUILD/verifier_bench" "$BUILD/libsemrouter.a" $LIBS
"$BUILD/verifier_bench" config/cache_verifier.model tests/data/cache/qqp_heldout_sample.csv "${1:-3000}"
