#!/usr/bin/env bash
# bench/passthrough_callgrind.sh - instructions per pass-through request, counted by callgrind.
#
# Starts fakellm, then the router (explicit model, cache off, log_requests false, 1 worker: the
# same config as bench/passthrough.sh) under valgrind --tool=callgrind with instrumentation off.
# One keep-alive connection sends WARMUP requests (connections, first-use allocations, lazy
# initialisation: not counted), then instrumentation is switched on (callgrind_control -i on),
# N requests are sent, instrumentation is switched off and the router is stopped, which writes
# the profile to a fresh file at a known path (--callgrind-out-file, checked to hold this run's
# pid: no stale callgrind.out.* is ever read). Prints instructions (Ir) per request and the
# functions with the most inclusive instructions per request.
#
# Instruction counts do not depend on the machine's load (unlike bench/passthrough.sh's times),
# so this is the number to compare across commits. Environment: N (default 2000), WARMUP
# (default 200), TOP (default 30 functions), STREAM=1 (SSE requests), BUILD (default build),
# KEEP=DIR (copy the profile there, for callgrind_annotate / kcachegrind).
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
N=${N:-2000}
WARMUP=${WARMUP:-200}
TOP=${TOP:-30}
STREAM=${STREAM:-0}
MODEL=bench-model

die() { echo "passthrough_callgrind: $*" >&2; exit 1; }
for tool in valgrind callgrind_control callgrind_annotate; do
    command -v $tool >/dev/null || die "$tool is missing (apt-get install valgrind)"
done
[ -x "$BUILD/fakellm" ] && [ -x "$BUILD/semrouter" ] || die "$BUILD/fakellm or $BUILD/semrouter is missing (make)"
PY=/usr/bin/python3
[ -x $PY ] || PY=python3

. tests/e2e/lib/proc.sh
T=$(mktemp -d)
cleanup() {
    proc_stop_all
    rm -rf "$T"
}
trap cleanup EXIT
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

proc_start "$T/fakellm.out" '^fakellm listening on .*:\([0-9][0-9]*\)$' \
    "$BUILD/fakellm" --port 0 --quiet --model "$MODEL" || die "fakellm did not start: $PROC_ERROR"
FPORT=$PROC_MATCH

RPORT=$(free_port)
MPORT=$(free_port)
cat >"$T/router.yaml" <<EOF
server:
  listen: "127.0.0.1"
  port: $RPORT
  metrics_port: $MPORT
  log_requests: false
  shutdown_grace_seconds: 1
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
OUT=$T/callgrind.out
rm -f "$OUT"
PROC_TIMEOUT=180 proc_start "$T/router.out" '^semrouter listening on .*:\([0-9][0-9]*\) (metrics.*$' \
    valgrind --tool=callgrind --callgrind-out-file="$OUT" --instr-atstart=no \
    "$BUILD/semrouter" serve -c "$T/router.yaml" --workers 1 ||
    die "router did not start under callgrind: $PROC_ERROR: $(tail -5 "$T/router.out")"
RPID=$PROC_PID

if [ "$STREAM" = 1 ]; then SFIELD='"stream":true,'; else SFIELD=''; fi
BODY="{\"model\":\"$MODEL\",$SFIELD\"messages\":[{\"role\":\"user\",\"content\":\"What is the capital of France? Answer in one word.\"}]}"

# send COUNT: COUNT requests on one keep-alive connection, each checked (200, fakellm's answer).
send() {
    BODY=$BODY MODEL=$MODEL $PY - "$RPORT" "$1" <<'EOF' || die "requests failed"
import http.client, os, sys
port, count = int(sys.argv[1]), int(sys.argv[2])
body, model = os.environ["BODY"].encode(), os.environ["MODEL"]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
for i in range(count):
    c.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read().decode("utf-8", "replace")
    if r.status != 200 or ("[%s]" % model) not in data:
        sys.exit("request %d: status %d: %s" % (i, r.status, data[:200]))
c.close()
EOF
}

send "$WARMUP"
callgrind_control -i on "$RPID" >"$T/ctl.out" 2>&1 || die "callgrind_control -i on failed: $(cat "$T/ctl.out")"
send "$N"
callgrind_control -i off "$RPID" >>"$T/ctl.out" 2>&1 || die "callgrind_control -i off failed: $(cat "$T/ctl.out")"
proc_stop "$RPID"
[ -s "$OUT" ] || die "no profile at $OUT (router log: $(tail -5 "$T/router.out"))"
grep -qx "pid: $RPID" "$OUT" || die "$OUT is not this run's profile (pid $RPID)"
[ -n "${KEEP:-}" ] && mkdir -p "$KEEP" && cp "$OUT" "$KEEP/callgrind.out.passthrough"

total=$(sed -n 's/^totals: *\([0-9][0-9]*\).*/\1/p' "$OUT" | head -1)
[ -n "$total" ] || total=$(sed -n 's/^summary: *\([0-9][0-9]*\).*/\1/p' "$OUT" | head -1)
[ -n "$total" ] || die "no totals line in $OUT"
echo "passthrough_callgrind: $N requests (after $WARMUP warm-up) on 1 keep-alive connection," \
    "stream=$STREAM, build $BUILD ($(git rev-parse --short HEAD 2>/dev/null || echo '?'))"
echo "instructions per request: $((total / N))   (total Ir $total)"
echo
# top ARGS...: the TOP functions of `callgrind_annotate ARGS`, instructions per request.
top() {
    callgrind_annotate "$@" --auto=no --threshold=100 "$OUT" 2>/dev/null | N=$N TOP=$TOP $PY -c '
import os, re, sys
n, top = int(os.environ["N"]), int(os.environ["TOP"])
rows = []
for line in sys.stdin:
    if "=>" in line or "PROGRAM TOTALS" in line: continue
    m = re.match(r"\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(\S.*)$", line)
    if not m or ":" not in m.group(2): continue
    where, fn = m.group(2).split(":", 1)
    row = (int(m.group(1).replace(",", "")), "%s  (%s)" % (fn.split(" [")[0], os.path.basename(where)))
    # run from the source tree, callgrind_annotate prints a function of a found source file
    # twice (absolute and relative path)
    if row not in rows: rows.append(row)
for ir, name in rows[:top]:
    print("%10.0f  %s" % (ir / n, name))'
}
echo "top $TOP functions by inclusive instructions per request:"
top --inclusive=yes
echo
echo "top $TOP functions by self instructions per request:"
top --inclusive=no
