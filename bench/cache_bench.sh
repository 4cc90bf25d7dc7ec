#!/usr/bin/env bash
# Semantic cache core benchmark (see bench/cache_bench.c). Builds the bench
# against build/libsemrouter.a and runs:
#   1. 100k x 512-d entries: insert rate, lookup p50/p99 (semantic hit, exact
#      hit, miss) next to the bare hnsw_search anchor on the same vectors;
#   2. 1M x 512-d entries, f32 then f16 index storage: RSS and bytes/entry
#      (efConstruction lowered to 40 to keep the run short: it changes build
#      time, not memory).
# Usage: bench/cache_bench.sh [quick]   (quick = 20k / 200k entries)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
make -s -j2 "$BUILD/libsemrouter.a"
CFLAGS="-std=c11 -O2 -g -D_GNU_SOURCE -Isrc $(pkg-config --cflags libcjson 2>/dev/null)"
LIBS="$(pkg-config --libs libcjson libcrypto openblas 2>/dev/null) -lpthread -lm"
cc $CFLAGS bench/cache_bench.c -o "$BUILD/cache_bench" "$BUILD/libsemrouter.a" $LIBS
n1=100000 n2=1000000
[ "${1:-}" = quick ] && n1=20000 n2=200000
echo "== latency at $n1 entries"
"$BUILD/cache_bench" --n $n1 --dim 512 --queries 2000 --efc 200 --m 16 --ef 64
for st in f32 f16; do
    echo "== memory at $n2 entries, $st"
    "$BUILD/cache_bench" --n $n2 --dim 512 --queries 500 --efc 40 --m 16 --ef 64 --storage $st
done
