#!/usr/bin/env bash
# Semantic cache core benchmark (see bench/cache_bench.c). Builds the bench
# against build/libsemrouter.a and runs:
#   1. 100k x 512-d entries (M 16, efConstruction 64 = the classic milvus.yaml
#      defaults, ef 64): insert rate with 2 storing threads, lookup p50/p99
#      (semantic hit, exact hit, miss) next to the bare hnsw_search anchor on
#      the same vectors;
#   2. 1M x 512-d entries with f16 index storage and 300k with f32: RSS and
#      bytes/entry (efConstruction 16 to keep the run short: it changes build
#      time and recall, not memory; per-entry memory does not depend on n).
# Usage: bench/cache_bench.sh [quick|full]   quick = 20k/100k, full = 1M for f32 too.
# Results and their reading: bench/cache_results.md.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
make -s -j2 "$BUILD/libsemrouter.a"
CFLAGS="-std=c11 -O2 -g -D_GNU_SOURCE -Isrc $(pkg-config --cflags libcjson 2>/dev/null)"
LIBS="$(pkg-config --libs libcjson libcrypto 2>/dev/null) -lpthread -lm"
cc $CFLAGS bench/cache_bench.c -o "$BUILD/cache_bench" "$BUILD/libsemrouter.a" $LIBS
n1=100000 n16=1000000 n32=300000
case "${1:-}" in
quick) n1=20000 n16=100000 n32=100000 ;;
full) n32=1000000 ;;
esac
echo "== latency at $n1 entries"
"$BUILD/cache_bench" --n $n1 --dim 512 --queries 2000 --efc 64 --m 16 --ef 64 --threads 2
echo "== memory at $n16 entries, f16 storage"
"$BUILD/cache_bench" --n $n16 --dim 512 --queries 500 --efc 16 --m 16 --ef 64 --storage f16 --threads 2
echo "== memory at $n32 entries, f32 storage"
"$BUILD/cache_bench" --n $n32 --dim 512 --queries 500 --efc 16 --m 16 --ef 64 --storage f32 --threads 2
