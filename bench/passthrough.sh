#!/usr/bin/env bash
# bench/passthrough.sh - pass-through overhead of the gateway (docs/DESIGN.md §8, "gateway pass-through").
#
# Measures, in one run and interleaved so machine noise hits every target alike:
#   direct   wrk -> fakellm                      (the backend alone: the floor)
#   nginx    wrk -> nginx proxy_pass -> fakellm  (the anchor: a keepalive reverse proxy)
#   router   wrk -> semrouter serve -> fakellm   (explicit model, cache off; runs once
#                                                 build/semrouter supports `serve`)
# with the same body, connections and duration, in two modes: throughput (CONNS connections)
# and latency (1 connection, so p50/p99 are service time, not queueing). Prints req/s and
# latency p50/p99 per target (median over ROUNDS), the CPU time per request of fakellm and of the
# proxy (robust to a busy machine), and the ratios the targets are stated in:
#   router added p50 <= 100 us, added p99 <= 1 ms (vs direct), req/s >= 0.8 x nginx,
#   CPU per request <= 1.5 x nginx (issue 9).
#
# Environment: DURATION (s, default 10), CONNS (default 32), ROUNDS (default 3), STREAM=1 (SSE
# requests), NGINX_WORKERS (default 1; also the router's --workers), ROUTER_ONLY=1 (skip nginx),
# BUILD (default build), ROUTER_LOG (default false: the router's per-request decision log line,
# like nginx's access_log, which the anchor has off; true measures its cost).
# Needs wrk and nginx (Debian wrk, nginx-light: scripts/deps.sh --test).
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
DURATION=${DURATION:-10}
CONNS=${CONNS:-32}
ROUNDS=${ROUNDS:-3}
STREAM=${STREAM:-0}
NGINX_WORKERS=${NGINX_WORKERS:-1}
MODEL=bench-model
ROUTER_LOG=${ROUTER_LOG:-false}

die() { echo "passthrough: $*" >&2; exit 1; }
for tool in wrk nginx curl; do
    command -v $tool >/dev/null || [ -x /usr/sbin/$tool ] || die "$tool is missing (scripts/deps.sh --test)"
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$BUILD/fakellm" ] || die "$BUILD/fakellm is missing (make)"
PY=/usr/bin/python3
[ -x $PY ] || PY=python3

. tests/e2e/lib/proc.sh
T=$(mktemp -d)
chmod 755 "$T" # nginx workers may run as another user
cleanup() {
    proc_stop_all
    rm -rf "$T"
}
trap cleanup EXIT

free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_http URL: until it answers (any status) or 10 s pass.
wait_http() {
    local i
    for i in $(seq 1 200); do
        curl -s -o /dev/null --max-time 1 "$1" && return 0
        sleep 0.05
    done
    return 1
}

# ---- the backend
proc_start "$T/fakellm.out" '^fakellm listening on .*:\([0-9][0-9]*\)$' \
    "$BUILD/fakellm" --port 0 --quiet --model "$MODEL" || die "fakellm did not start: $PROC_ERROR: $(cat "$T/fakellm.out")"
FAKELLM_PID=$PROC_PID FPORT=$PROC_MATCH

declare -A URL
URL[direct]="http://127.0.0.1:$FPORT"
TARGETS=(direct)

# ---- the anchor: nginx proxy_pass with a keepalive upstream, non-daemon, from a temp prefix
if [ "${ROUTER_ONLY:-0}" != 1 ]; then
    NPORT=$(free_port)
    mkdir -p "$T/nginx/logs"
    cat >"$T/nginx/nginx.conf" <<EOF
worker_processes $NGINX_WORKERS;
daemon off;
pid $T/nginx/nginx.pid;
error_log $T/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $T/nginx/body;
    proxy_temp_path $T/nginx/proxy;
    upstream fakellm {
        server 127.0.0.1:$FPORT;
        keepalive 128;
    }
    server {
        listen 127.0.0.1:$NPORT;
        location / {
            proxy_pass http://fakellm;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }
    }
}
EOF
    proc_spawn "$T/nginx/out" "$NGINX" -p "$T/nginx" -c "$T/nginx/nginx.conf"
    NGINX_PID=$PROC_PID
    URL[nginx]="http://127.0.0.1:$NPORT"
    wait_http "${URL[nginx]}/health" || die "nginx did not start: $(cat "$T/nginx/out" "$T/nginx/logs/error.log" 2>/dev/null)"
    TARGETS+=(nginx)
fi

# ---- ROUTER SLOT: semrouter serve with one endpoint (fakellm), explicit model, cache off.
# Runs when build/semrouter knows `serve`; the config keys are docs/DESIGN.md §2.4's.
ROUTER_NOTE=""
if [ -x "$BUILD/semrouter" ] && "$BUILD/semrouter" serve --help >/dev/null 2>&1; then
    RPORT=$(free_port)
    MPORT=$(free_port)
    cat >"$T/router.yaml" <<EOF
server:
  listen: "127.0.0.1"
  port: $RPORT
  metrics_port: $MPORT
  log_requests: $ROUTER_LOG
vllm_endpoints:
  - name: fakellm
    address: "127.0.0.1"
    port: $FPORT
    weight: 1
model_config:
  $MODEL:
    preferred_endpoints: ["fakellm"]
default_model: $MODEL
semantic_cache:
  enabled: false
EOF
    # the same number of worker threads as nginx worker processes, for a fair ratio
    RARGS=()
    "$BUILD/semrouter" serve --help 2>&1 | grep -q -- --workers && RARGS=(--workers "$NGINX_WORKERS")
    if proc_start "$T/router.out" '^semrouter listening on .*:\([0-9][0-9]*\) (metrics.*$' \
        "$BUILD/semrouter" serve -c "$T/router.yaml" "${RARGS[@]}"; then
        ROUTER_PID=$PROC_PID
        URL[router]="http://127.0.0.1:$PROC_MATCH"
        TARGETS+=(router)
    else
        ROUTER_NOTE="router did not come up: $PROC_ERROR: $(tail -5 "$T/router.out")"
    fi
else
    ROUTER_NOTE="skipped: $BUILD/semrouter has no 'serve' yet"
fi

# ---- the request (and a check that every target really answers it from fakellm)
if [ "$STREAM" = 1 ]; then SFIELD='"stream":true,'; else SFIELD=''; fi
BODY="{\"model\":\"$MODEL\",$SFIELD\"messages\":[{\"role\":\"user\",\"content\":\"What is the capital of France? Answer in one word.\"}]}"
cat >"$T/chat.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[$BODY]]
EOF
for t in "${TARGETS[@]}"; do
    out=$(curl -s --max-time 5 "${URL[$t]}/v1/chat/completions" -H 'Content-Type: application/json' -d "$BODY")
    [[ "$out" == *"[$MODEL]"* ]] || die "$t did not return fakellm's answer: ${out:0:300}"
done

# cpu_ticks PID...: user+system CPU ticks of the processes and their children threads/workers.
# CPU time per request is the overhead measure that survives a busy machine: wall-clock
# latencies swing with other load, the work done per request much less.
cpu_ticks() {
    local total=0 p
    for p in "$@" $(for q in "$@"; do cat /proc/"$q"/task/*/children 2>/dev/null; done); do
        [ -r /proc/"$p"/stat ] || continue
        total=$((total + $(awk '{print $14 + $15}' /proc/"$p"/stat)))
    done
    echo $total
}
proxy_pid() {
    case $1 in nginx) echo "$NGINX_PID" ;; router) echo "$ROUTER_PID" ;; *) echo "" ;; esac
}

# run TARGET CONNS -> "req/s p50_us p99_us backend_cpu_us/req proxy_cpu_us/req [errors]"
run() {
    local url="${URL[$1]}/v1/chat/completions" c=$2 pp b0 p0 b1 p1
    pp=$(proxy_pid "$1")
    wrk -t1 -c"$c" -d1s -s "$T/chat.lua" "$url" >/dev/null 2>&1 # warm-up: connections, caches
    b0=$(cpu_ticks "$FAKELLM_PID")
    p0=$([ -n "$pp" ] && cpu_ticks "$pp" || echo 0)
    wrk -t1 -c"$c" -d"${DURATION}s" --latency -s "$T/chat.lua" "$url" >"$T/wrk.out" 2>&1
    b1=$(cpu_ticks "$FAKELLM_PID")
    p1=$([ -n "$pp" ] && cpu_ticks "$pp" || echo 0)
    CPU="$((b1 - b0)) $((p1 - p0)) $(getconf CLK_TCK)" $PY -c '
import re, sys
t = sys.stdin.read()
def us(v):
    m = re.match(r"([\d.]+)(us|ms|s)", v)
    return float(m.group(1)) * {"us": 1, "ms": 1e3, "s": 1e6}[m.group(2)]
import os
bt, pt, hz = (float(x) for x in os.environ["CPU"].split())
n = re.search(r"(\d+) requests in", t)
n = float(n.group(1)) if n else float("nan")
rps = re.search(r"Requests/sec:\s+([\d.]+)", t)
p50 = re.search(r"^\s+50%\s+(\S+)", t, re.M)
p99 = re.search(r"^\s+99%\s+(\S+)", t, re.M)
errs = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)", t)
if not (rps and p50 and p99):
    print("nan nan nan nan nan wrk-output-unparsed"); sys.exit()
print("%.0f %.1f %.1f %.2f %.2f %s" % (float(rps.group(1)), us(p50.group(1)), us(p99.group(1)),
      bt / hz * 1e6 / n, pt / hz * 1e6 / n,
      "errors:" + errs.group(0).replace(" ", "_") if errs else ""))' <"$T/wrk.out"
}

echo "passthrough: ${DURATION}s per run, $ROUNDS round(s), wrk 1 thread, stream=$STREAM," \
    "nginx workers=$NGINX_WORKERS, router log_requests=$ROUTER_LOG, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "targets: ${TARGETS[*]}${ROUTER_NOTE:+  (router: $ROUTER_NOTE)}"
: >"$T/results"
for r in $(seq 1 "$ROUNDS"); do
    for mode in throughput latency; do
        c=$CONNS
        [ $mode = latency ] && c=1
        for t in "${TARGETS[@]}"; do
            res=$(run "$t" "$c")
            echo "$mode $t $res" >>"$T/results"
            printf 'round %d  %-10s %-6s c=%-3d  %s\n' "$r" "$mode" "$t" "$c" "$res"
        done
    done
done

# ---- summary: medians per target and mode, ratios against the targets
$PY - "$T/results" <<'EOF'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    f = line.split()
    rows.setdefault((f[0], f[1]), []).append(tuple(float(x) for x in f[2:7]))
med = {k: tuple(statistics.median(r[i] for r in v) for i in range(5)) for k, v in rows.items()}
print()
print("%-10s %-7s %10s %9s %9s %17s %15s" % ("mode", "target", "req/s", "p50", "p99",
                                            "fakellm cpu/req", "proxy cpu/req"))
for (mode, t), (rps, p50, p99, bcpu, pcpu) in sorted(med.items()):
    print("%-10s %-7s %10.0f %7.0fus %7.0fus %15.1fus %13.1fus" % (mode, t, rps, p50, p99, bcpu, pcpu))
def get(mode, t):
    return med.get((mode, t))
print()
for mode in ("throughput", "latency"):
    d, n, r = get(mode, "direct"), get(mode, "nginx"), get(mode, "router")
    if d and n:
        print("%-10s nginx : req/s %.2fx direct, added p50 %+.0fus, added p99 %+.0fus"
              % (mode, n[0] / d[0], n[1] - d[1], n[2] - d[2]))
    if d and r:
        print("%-10s router: req/s %.2fx direct, added p50 %+.0fus (target <= 100), added p99 %+.0fus (target <= 1000)"
              % (mode, r[0] / d[0], r[1] - d[1], r[2] - d[2]))
    if n and r:
        print("%-10s router: req/s %.2fx nginx (target >= 0.8), CPU per request %.2fx nginx (target <= 1.5)"
              % (mode, r[0] / n[0], r[4] / n[4]))
EOF
