#!/usr/bin/env bash
# bench/hnsw.sh - our HNSW (src/index/hnsw.c) against hnswlib (Debian
# libhnswlib-dev) on the same data, M, efConstruction and ef, one thread.
#
# Data sets (bench/hnsw_bench.c gen): "random" = random unit vectors, queries
# are base vectors moved to cosine ~0.75 by noise (a cache lookup has a near
# neighbour); "topics" = sums of a few of 300 topic directions plus noise
# (clustered like sentence embeddings), queries fresh from the same model;
# "real" = USE-lite embeddings of generated questions, queries rephrase them.
# bench/hnswlib_bench.cpp builds both indexes in one process and alternates
# their query passes (best of 5, thread CPU time), printing per ef queries/s,
# recall@1, recall@10 and the ours/hnswlib ratio; then bench/hnsw_bench.c runs
# our f16 and int8 storage on one data set. About 4 CPU-minutes at the defaults.
#
#   N=100000 bench/hnsw.sh           (defaults: N=50000 NQ=1000 DIM=512 M=16 EFC=100)
#   KINDS="topics" EFS="32 64" STORAGES="f32" bench/hnsw.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-50000} NQ=${NQ:-1000} DIM=${DIM:-512} M=${M:-16} EFC=${EFC:-100}
EFS=${EFS:-"16 32 64 128 256"} KINDS=${KINDS:-"random topics real"} STORAGES=${STORAGES:-"f16 i8"}
# "real" embeds REAL_N texts with USE-lite once (~3 ms each), cached in $OUT/data
REAL_N=${REAL_N:-20000}
# reduced-precision builds run on one data set only, to keep the run short
STORAGE_KIND=${STORAGE_KIND:-topics}
OUT=${BENCH_DIR:-build/bench}
mkdir -p "$OUT/data"
make -s -j2 build/libsemrouter.a
CFLAGS_B="-std=c11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -Isrc"
# the same packages as the Makefile's PKGS (the embedder needs them)
PKGS="libevent libevent_pthreads libcurl libcjson yaml-0.1 libcrypto lmdb libutf8proc openblas"
cc $CFLAGS_B $(pkg-config --cflags $PKGS) bench/hnsw_bench.c build/libsemrouter.a \
    $(pkg-config --libs $PKGS) -lpthread -lm -o "$OUT/hnsw_bench"
# hnswlib picks its SIMD kernels at compile time: give it this machine's ISA.
c++ -O3 -march=native -DNDEBUG -w -Isrc bench/hnswlib_bench.cpp build/libsemrouter.a \
    -o "$OUT/hnswlib_bench" -lpthread -lm

for kind in $KINDS; do
    n=$N
    if [ "$kind" = real ]; then
        n=$REAL_N
        [ -f models/use-lite/model.json ] || scripts/fetch-model.sh
    fi
    data="$OUT/data/$kind-$n-$DIM"
    [ -f "$data.gt" ] || "$OUT/hnsw_bench" gen "$kind" "$n" "$NQ" "$DIM" 7 "$data"
    echo "== $kind: n=$n nq=$NQ dim=$DIM M=$M efConstruction=$EFC"
    "$OUT/hnswlib_bench" "$data" "$M" "$EFC" $EFS
    [ "$kind" = "$STORAGE_KIND" ] || continue
    for st in $STORAGES; do
        [ "$st" = f32 ] && continue
        "$OUT/hnsw_bench" run "$data" "$M" "$EFC" "$st" $EFS
    done
done

# Memory at cache scale: MEM_N=1000000 bench/hnsw.sh (about 2 CPU-minutes per storage)
if [ "${MEM_N:-0}" -gt 0 ]; then
    for st in ${MEM_STORAGES:-f16}; do "$OUT/hnsw_bench" mem "$MEM_N" "$DIM" "$st"; done
fi
