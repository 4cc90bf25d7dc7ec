#!/usr/bin/env bash
# Metrics update cost: semrouter's registry (1 and 4 shards) next to the
# prometheus-cpp anchor, in the same run. Prints ns per update and the ratio
# anchor / ours (> 1 = ours is faster), default registry (4 shards).
#   usage: [REPS=3] bench/metrics_bench.sh [N]
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
# The machine is shared: run ours and the anchor alternately R times and keep
# each case's minimum, the run least disturbed by other processes.
reps=${REPS:-3}
ours=$(mktemp); anchor=$(mktemp)
trap 'rm -f "$ours" "$anchor"' EXIT
for ((i = 0; i < reps; i++)); do
    "$BUILD/metrics_bench" "$n" >>"$ours"
    [ $have_anchor = 1 ] && "$BUILD/metrics_bench_promcpp" "$n" >>"$anchor"
done
best() { # file case threads shards -> minimum ns
    awk -v c="$2" -v t="$3" -v s="$4" '$1==c && $2==t && (s=="" || $3==s) {
        if (m == "" || $4 < m) m = $4 } END { print m }' "$1"
}
echo "ns per update, per thread, best of $reps ($n updates per thread; $(nproc) cores;" \
     "load $(cut -d' ' -f1 /proc/loadavg))"
printf '%-24s %7s %10s %10s %14s %12s\n' case threads '1 shard' '4 shards' prometheus-cpp \
       'anchor/ours'
awk '$3 == 1 {print $1, $2}' "$ours" | awk '!seen[$0]++' | while read -r name threads; do
    one=$(best "$ours" "$name" "$threads" 1)
    four=$(best "$ours" "$name" "$threads" 4)
    ref=$([ $have_anchor = 1 ] && best "$anchor" "$name" "$threads" "" || true)
    ratio=$([ -n "$ref" ] && awk -v a="$ref" -v b="$four" 'BEGIN{printf "%.1fx", a/b}' || echo -)
    printf '%-24s %7s %10s %10s %14s %12s\n' "$name" "$threads" "$one" "$four" "${ref:--}" "$ratio"
done
