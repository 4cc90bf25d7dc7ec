#!/usr/bin/env bash
# bench/restart.sh - how long a router with a large persisted cache takes from start to its
# first semantic cache hit (issue 9 item 5: <= 10 s at 100k entries).
#
#   rebuild    first start after `semrouter cache import`: no index snapshot yet, every vector
#              is inserted into the HNSW graph (the anchor: what every start cost before
#              PERSIST_PATH.hnsw existed); this start writes the snapshot
#   snapshot   a restart (SIGTERM, then start): the graph is read from the snapshot
#   stale      ADD more entries imported offline while the router was stopped (a stale snapshot:
#              its nodes are reused, the new entries inserted)
#   kill -9    the router killed with SIGKILL, then started (the snapshot of the last clean
#              start or stop is used)
#
# "time to first hit" = from launching `semrouter serve` to the answer of a paraphrase that is a
# semantic hit (x-vsr-cache-hit: true). The cache holds one real entry stored by the router and
# ENTRIES-1 clones with random unit vectors in the same partition (as bench/e2e_latency.sh).
# Environment: ENTRIES (100000), ADD (1000), BUILD (build).
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
ENTRIES=${ENTRIES:-100000}
ADD=${ADD:-1000}
PY=/usr/bin/python3
[ -x $PY ] || PY=python3
[ -f models/use-lite/model.json ] || scripts/fetch-model.sh || exit 1

T=$(mktemp -d)
PIDS=()
cleanup() {
    # only our own children: a router stopped earlier had its PID reused by now (pid_max 32768)
    for p in "${PIDS[@]}"; do
        [ "$(stat=$(cat /proc/$p/stat 2>/dev/null); set -- ${stat##*) }; echo "${2:-}")" = "$BASHPID" ] &&
            kill "$p" 2>/dev/null
    done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 3000); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.02; done; return 1; }

FPORT=$(free_port)
"$BUILD/fakellm" --port "$FPORT" --model small --model large --quiet >"$T/fakellm.log" 2>&1 &
PIDS+=($!)
wait_port "$FPORT" || { echo "fakellm did not start"; exit 1; }

sed -e "s/port: 8811/port: $FPORT/; s/port: 8812/port: $FPORT/" config/config.yaml >"$T/config.yaml"
$PY - "$T/config.yaml" "$T/cache.log" <<'PY'
import sys, re
p, persist = sys.argv[1], sys.argv[2]
s = open(p).read()
s = s.replace('  # persist_path: "data/cache"', f'  persist_path: "{persist}"')
s = re.sub(r'max_entries: \d+', 'max_entries: 0', s, count=1)
s = s.replace('metrics_port: 9190', 'metrics_port: 0')
s = s.replace('log_requests: true', 'log_requests: false')
s = s.replace('  workers: 0', '  workers: 1')
open(p, "w").write(s)
PY
grep -q "persist_path: \"$T/cache.log\"" "$T/config.yaml" || { echo "could not set persist_path"; exit 1; }

body() { $PY -c 'import json,sys; print(json.dumps({"model":sys.argv[1],"messages":[{"role":"user","content":sys.argv[2]}]}))' "$1" "$2"; }
Q1="How do I compute the derivative of x^3 times sin(x)?"
Q2="What is the derivative of x^3 * sin(x), and how do I compute it?"

# start_router LOG: launches, waits for the listening line; sets RPID, URL, T0
start_router() {
    T0=$(date +%s.%N)
    "$BUILD/semrouter" serve -c "$T/config.yaml" --port 0 >"$1" 2>&1 &
    RPID=$!
    PIDS+=($RPID)
    for _ in $(seq 1 60000); do
        RPORT=$(sed -n 's/^semrouter listening on .*:\([0-9][0-9]*\) (metrics.*$/\1/p' "$1")
        [ -n "$RPORT" ] && { URL="http://127.0.0.1:$RPORT/v1/chat/completions"; return 0; }
        kill -0 "$RPID" 2>/dev/null || break
        sleep 0.05
    done
    echo "router did not start"; tail -20 "$1"; exit 1
}
# first_hit: sends the paraphrase until it is a cache hit; prints seconds since T0
first_hit() {
    for _ in $(seq 1 200); do
        if curl -s -D - -o /dev/null -H 'Content-Type: application/json' "$URL" -d "$(body MoM "$Q2")" |
            grep -qi '^x-vsr-cache-hit: true'; then
            echo "$(date +%s.%N) - $T0" | bc -l | xargs printf '%.2f'
            return 0
        fi
        sleep 0.05
    done
    echo "no-hit"
}
load_line() { grep -o 'loaded [0-9]* entries.*' "$1" | head -1; }
stop_router() { kill "$RPID"; wait "$RPID" 2>/dev/null; }

# the real entry, stored by the router itself
start_router "$T/r0.log"
curl -s -o /dev/null -H 'Content-Type: application/json' "$URL" -d "$(body MoM "$Q1")"
stop_router

fill() { # N OUT SEED: N clones of the real entry with random vectors
    $PY - "$T/one.jsonl" "$1" "$2" "$3" <<'PY'
import json, sys, base64, hashlib
import numpy as np
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
base = next(l for l in lines if "vector" in l)
n, seed = int(sys.argv[2]), int(sys.argv[4])
rng = np.random.default_rng(seed)
dim = len(base64.b64decode(base["vector"])) // 4
with open(sys.argv[3], "w") as out:
    for i in range(max(n, 0)):
        v = rng.standard_normal(dim).astype("<f4")
        v /= np.linalg.norm(v)
        e = dict(base)
        e["exact_key"] = hashlib.sha256(b"fill%d-%d" % (seed, i)).hexdigest()
        e["vector"] = base64.b64encode(v.tobytes()).decode()
        e["query_text"] = "filler %d" % i
        out.write(json.dumps(e) + "\n")
PY
}
"$BUILD/semrouter" cache export -p "$T/cache.log" -o "$T/one.jsonl" >/dev/null 2>&1
fill $((ENTRIES - 1)) "$T/fill.jsonl" 7
fill "$ADD" "$T/add.jsonl" 8
"$BUILD/semrouter" cache import -p "$T/cache.log" -i "$T/fill.jsonl" >"$T/import.log" 2>&1 || { cat "$T/import.log"; exit 1; }
echo "restart: $ENTRIES entries ($(du -m "$T/cache.log" | cut -f1) MB log); $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"

start_router "$T/r1.log"
rebuild=$(first_hit); rebuild_line=$(load_line "$T/r1.log")
stop_router
snap_mb=$(du -m "$T/cache.log.hnsw" 2>/dev/null | cut -f1)

start_router "$T/r2.log"
snap=$(first_hit); snap_line=$(load_line "$T/r2.log"); rss_kb=$(awk '/VmRSS/ {print $2}' /proc/$RPID/status)
stop_router

"$BUILD/semrouter" cache import -p "$T/cache.log" -i "$T/add.jsonl" >"$T/import2.log" 2>&1 || { cat "$T/import2.log"; exit 1; }
start_router "$T/r3.log"
stale=$(first_hit); stale_line=$(load_line "$T/r3.log")
kill -9 "$RPID"; wait "$RPID" 2>/dev/null

start_router "$T/r4.log"
k9=$(first_hit); k9_line=$(load_line "$T/r4.log")
stop_router

printf '\n%-10s %22s  %s\n' start "time to first hit (s)" "the router's load line"
printf '%-10s %22s  %s\n' rebuild "$rebuild" "$rebuild_line"
printf '%-10s %22s  %s\n' snapshot "$snap" "$snap_line"
printf '%-10s %22s  %s\n' "stale+$ADD" "$stale" "$stale_line"
printf '%-10s %22s  %s\n' "kill -9" "$k9" "$k9_line"
echo
echo "snapshot file: ${snap_mb:-?} MB; RSS after a snapshot start: $((rss_kb / 1024)) MB"
grep -h "index snapshot" "$T"/r*.log | sed 's/^/  /'
