#!/usr/bin/env bash
# Metrics update cost: semrouter's registry (1 and 4 shards) next to the
# prometheus-cpp anchor, in the same run. Prints ns per update and the ratio
# anchor / ours (> 1 = ours is faster).  usage: bench/metrics_bench.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
n=${1:-2000000}
make -s -j2 "$BUILD/libsemrouter.a"
flags=$(pkg-config --cflags --libs libcjson yaml-0.1 libcrypto 2>/dev/null || true)
cc -std=c11 -O2 -D_GNU_SOURCE -Isrc bench/metrics_bench.c -o "$BUILD/metrics_bench" \
   "$BUILD/libsemrouter.a" $flags -lpthread -lm
have_anchor=0
if [ -f /usr/include/prometheus/counter.h ]; then
    g++ -std=c++17 -O2 bench/metrics_bench_promcpp.cc -o "$BUILD/metrics_bench_promcpp" \
        -lprometheus-cpp-core -lpthread && have_anchor=1
else
    echo "(prometheus-cpp-dev not installed: no anchor; scripts/deps.sh --test installs it)"
fi
ours=$(mktemp); anchor=$(mktemp)
trap 'rm -f "$ours" "$anchor"' EXIT
"$BUILD/metrics_bench" "$n" >"$ours"
[ $have_anchor = 1 ] && "$BUILD/metrics_bench_promcpp" "$n" >"$anchor"
echo "ns per update (per thread; $n updates per thread; $(nproc) cores)"
printf '%-24s %7s %10s %10s %12s %8s\n' case threads '1 shard' '4 shards' prometheus-cpp ratio
while read -r name threads shards ns; do
    [ "$shards" = 1 ] || continue
    four=$(awk -v c="$name" -v t="$threads" '$1==c && $2==t && $3==4 {print $4}' "$ours")
    ref=$(awk -v c="$name" -v t="$threads" '$1==c && $2==t {print $4}' "$anchor")
    ratio=$([ -n "$ref" ] && awk -v a="$ref" -v b="$four" 'BEGIN{printf "%.1fx", a/b}' || echo -)
    printf '%-24s %7s %10s %10s %12s %8s\n' "$name" "$threads" "$ns" "$four" "${ref:--}" "$ratio"
done <"$ours"
