#!/usr/bin/env bash
# bench/miss_path.sh - the miss path under load, against the previous main binary built in the
# same run (the anchor), and what misses do to pass-through requests beside them (issue 9).
#
#   miss        wrk -c CONNS: model MoM, every request a new text (the semantic cache is off, so
#               each one is embedded, PII-scanned, classified and guarded, then proxied): req/s
#               and the router's CPU per request
#   pass        wrk -c1: an explicit model with Cache-Control no-cache, no-store (no routing, no
#               cache; with the default config's prompt guard and PII policy its texts are still
#               embedded and scanned: guard-only model work, the pool's urgent lane; GUARDS=0: none):
#               p50/p99 alone (pass) and while the miss load runs beside it (pass+miss)
#   direct      the same request straight to fakellm while the miss load runs (direct+miss): the
#               part of pass+miss that the machine's contention costs without the router
#
# Both routers run the default config (config/config.yaml: categories, prompt guard, PII policy)
# on one fakellm, with server.workers WORKERS (default 2) and the cache off. Runs are interleaved
# (round by round, new then anchor) so machine noise hits both alike; the summary gives medians
# and new/anchor ratios. The machine may be shared: the load average is printed with the numbers,
# and only same-run ratios mean anything.
#
# Environment: ANCHOR_REV (git revision of the anchor, default: the parent of the commit that made
# the staged pipeline; built into a temp folder with make), ANCHOR (1; 0 = no anchor binary),
# DURATION (s, 10), ROUNDS (2), CONNS (32), WORKERS (2), BUILD (build), NEW_PRECISION
# (embedding_model.precision for the new binary only, e.g. f32 to compare at the anchor's
# precision; unset = the config's default), VARIANTS (several configurations of the new binary
# in the same run instead of one: space-separated LABEL:key=value,key=value with server.* keys,
# e.g. "idle:compute_priority=idle low:compute_priority=low one:compute_threads=1"; ratios are
# then against the first variant), GUARDS (1; 0 = prompt_guard and pii off in every router's config:
# the pass-through request then needs no model work at all, and the misses embed and classify).
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-2}
CONNS=${CONNS:-32}
WORKERS=${WORKERS:-2}
PY=/usr/bin/python3
[ -x $PY ] || PY=python3
die() { echo "miss_path: $*" >&2; exit 1; }
command -v wrk >/dev/null || die "wrk missing (scripts/deps.sh --test)"
[ -f models/use-lite/model.json ] || die "models/use-lite missing (scripts/fetch-model.sh)"
[ -x "$BUILD/semrouter" ] && [ -x "$BUILD/fakellm" ] || die "$BUILD/semrouter or fakellm missing (make)"
ANCHOR=${ANCHOR:-1}
GUARDS=${GUARDS:-1}
VARIANTS=${VARIANTS:-new:}
if [ -z "${ANCHOR_REV:-}" ]; then
    pipe=$(git log --format=%H --diff-filter=A -1 -- src/pipeline/validate.c)
    [ -n "$pipe" ] || die "cannot find the pipeline commit; set ANCHOR_REV"
    ANCHOR_REV=$pipe^
fi
ANCHOR_SHA=$(git rev-parse --short "$ANCHOR_REV") || die "bad ANCHOR_REV $ANCHOR_REV"

. tests/e2e/lib/proc.sh
T=$(mktemp -d)
cleanup() {
    proc_stop_all
    rm -rf "$T"
}
trap cleanup EXIT

declare -A BIN CFG URL PID
LABELS=()
for v in $VARIANTS; do
    LABELS+=("${v%%:*}")
    BIN[${v%%:*}]="$BUILD/semrouter"
done
# ---- the anchor binary, built now from ANCHOR_REV
if [ "$ANCHOR" = 1 ]; then
    echo "miss_path: building the anchor ($ANCHOR_SHA) in $T/anchor ..."
    mkdir -p "$T/anchor"
    git archive "$ANCHOR_REV" | tar -x -C "$T/anchor" || die "git archive $ANCHOR_REV failed"
    make -C "$T/anchor" -j2 build/semrouter >"$T/anchor.log" 2>&1 || die "anchor build failed: $(tail -5 "$T/anchor.log")"
    BIN[anchor]="$T/anchor/build/semrouter"
    LABELS+=(anchor)
fi

proc_start "$T/fakellm.log" '^fakellm listening on .*:\([0-9][0-9]*\)$' \
    "$BUILD/fakellm" --port 0 --model small --model large --quiet || die "fakellm did not start: $PROC_ERROR"
FPORT=$PROC_MATCH
FURL="http://127.0.0.1:$FPORT/v1/chat/completions"

# the default config on our fakellm: cache off (every request a miss), WORKERS workers, no log lines;
# write_config SRC DST (the anchor gets its own tree's config/config.yaml: keys it does not know
# would stop it)
write_config() {
sed -e "s/port: 8811/port: $FPORT/; s/port: 8812/port: $FPORT/" "$1" >"$2"
$PY - "$2" "$WORKERS" "$PWD" "$GUARDS" <<'PY' || die "could not write the config"
import sys
p, workers, root, guards = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
s = open(p).read()
s = s.replace("semantic_cache:\n  enabled: true", "semantic_cache:\n  enabled: false")
s = s.replace('metrics_port: 9190', 'metrics_port: 0')
s = s.replace('log_requests: true', 'log_requests: false')
s = s.replace('  workers: 0', '  workers: %s' % workers)
s = s.replace('path: "models/use-lite"', 'path: "%s/models/use-lite"' % root)
if guards == "0":
    s = s.replace("prompt_guard:\n  enabled: true", "prompt_guard:\n  enabled: false")
    s = s.replace("pii:                                   # ours\n  enabled: true", "pii:\n  enabled: false")
    assert "prompt_guard:\n  enabled: false" in s and "pii:\n  enabled: false" in s, "guards"
open(p, "w").write(s)
PY
$PY -c 'import sys; s = open(sys.argv[1]).read(); sys.exit(0 if "semantic_cache:\n  enabled: false" in s and "workers: %s" % sys.argv[2] in s else 1)' \
    "$2" "$WORKERS" || die "could not write the config"

}
write_config config/config.yaml "$T/config.yaml"
cp "$T/config.yaml" "$T/config.new.yaml"
if [ -n "${NEW_PRECISION:-}" ]; then
    $PY - "$T/config.new.yaml" "$NEW_PRECISION" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
s = s.replace('embedding_model:\n', 'embedding_model:\n  precision: %s\n' % sys.argv[2], 1)
open(p, "w").write(s)
PY
    grep -q "precision: $NEW_PRECISION" "$T/config.new.yaml" || die "could not set the precision"
fi
CFG[anchor]="$T/config.yaml"
[ "$ANCHOR" = 1 ] && { write_config "$T/anchor/config/config.yaml" "$T/config.anchor.yaml"; CFG[anchor]="$T/config.anchor.yaml"; }
for v in $VARIANTS; do # LABEL:key=value,...: server.* overrides on the new binary's config
    label=${v%%:*}
    CFG[$label]="$T/config.$label.yaml"
    $PY - "$T/config.new.yaml" "${CFG[$label]}" "${v#*:}" <<'PY' || die "bad variant $v"
import sys
src, dst, kv = sys.argv[1:4]
s = open(src).read()
for pair in filter(None, kv.split(",")):
    k, val = pair.split("=", 1)
    lines = s.split("\n")
    i = lines.index("server:")
    j = i + 1
    while j < len(lines) and lines[j].startswith("  "):
        if lines[j].split(":")[0].strip() == k:
            del lines[j]
            continue
        j += 1
    lines.insert(i + 1, "  %s: %s" % (k, val))
    s = "\n".join(lines)
open(dst, "w").write(s)
PY
done
for v in "${LABELS[@]}"; do
    # relative paths of the config resolve from its folder, then the binary's install prefix
    SEMROUTER_HOME=$PWD proc_start "$T/$v.log" '^semrouter listening on .*:\([0-9][0-9]*\) (metrics.*$' \
        "${BIN[$v]}" serve -c "${CFG[$v]}" --port 0 || die "$v router did not start: $PROC_ERROR: $(tail -5 "$T/$v.log")"
    URL[$v]="http://127.0.0.1:$PROC_MATCH/v1/chat/completions"
    PID[$v]=$PROC_PID
    out=$(curl -s --max-time 10 "${URL[$v]}" -H 'Content-Type: application/json' \
        -d '{"model":"MoM","messages":[{"role":"user","content":"How do I sort a list in Python?"}]}' -D "$T/$v.hdr")
    [[ "$out" == *'"choices"'* ]] && grep -qi '^x-vsr-selected-category:' "$T/$v.hdr" ||
        die "$v router did not route a MoM request: ${out:0:200}"
done

# every miss request a new text: a counter per wrk thread and connection, a few words drawn at random
cat >"$T/miss.lua" <<'EOF'
local words = {"tide", "orbit", "recipe", "contract", "python", "theorem", "enzyme", "tariff",
               "sonnet", "glacier", "mortgage", "kernel", "vaccine", "opera", "harbor", "ledger"}
local n = 0
local tid = 0
function setup(thread) tid = tid + 1; thread:set("tid", tid) end
function init() math.randomseed(os.time() + (tid or 0) * 7919) end
function request()
    n = n + 1
    local a, b = words[math.random(#words)], words[math.random(#words)]
    local body = string.format('{"model":"MoM","messages":[{"role":"user","content":"Question %d.%d: how does a %s relate to a “%s”? 🌊"}]}',
        tid or 0, n, a, b)
    return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
EOF
cat >"$T/pass.lua" <<'EOF'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Cache-Control"] = "no-cache, no-store"
wrk.body = '{"model":"small","messages":[{"role":"user","content":"pass-through: say hello"}]}'
EOF

cpu_ticks() { # user+system ticks of a process (all its threads)
    awk '{print $14 + $15}' /proc/"$1"/stat 2>/dev/null || echo 0
}
# wrk_parse FILE -> "req/s p50_us p99_us requests non2xx"
wrk_parse() {
    $PY - "$1" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
def us(v):
    m = re.match(r"([\d.]+)(us|ms|s)", v)
    return float(m.group(1)) * {"us": 1, "ms": 1e3, "s": 1e6}[m.group(2)]
rps = re.search(r"Requests/sec:\s+([\d.]+)", t)
p50 = re.search(r"^\s+50%\s+(\S+)", t, re.M)
p99 = re.search(r"^\s+99%\s+(\S+)", t, re.M)
n = re.search(r"(\d+) requests in", t)
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
if not (rps and p50 and p99 and n):
    print("nan nan nan nan nan"); sys.exit()
print("%.1f %.0f %.0f %s %s" % (float(rps.group(1)), us(p50.group(1)), us(p99.group(1)), n.group(1),
                                bad.group(1) if bad else 0))
PY
}

echo "miss_path: ${DURATION}s per run, $ROUNDS round(s), miss load $CONNS connections, $WORKERS workers, guards $GUARDS," \
    "$(nproc) cores, load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "new: $BUILD/semrouter ($(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src || echo '+changes'), precision ${NEW_PRECISION:-default}), variants: $VARIANTS  anchor: $([ "$ANCHOR" = 1 ] && echo "$ANCHOR_SHA" || echo none)"
: >"$T/results"
for r in $(seq 1 "$ROUNDS"); do
    for v in "${LABELS[@]}"; do
        u=${URL[$v]}
        wrk -t2 -c"$CONNS" -d2s -s "$T/miss.lua" "$u" >/dev/null 2>&1 # warm-up
        c0=$(cpu_ticks "${PID[$v]}")
        wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency -s "$T/miss.lua" "$u" >"$T/miss.out" 2>&1
        c1=$(cpu_ticks "${PID[$v]}")
        set -- $(wrk_parse "$T/miss.out")
        cpu=$($PY -c "print('%.0f' % (($c1 - $c0) / $(getconf CLK_TCK) * 1e6 / max(1, $4)))")
        echo "miss $v $1 $2 $3 $4 $5 $cpu" >>"$T/results"
        printf 'round %d %-8s miss       c=%-3d %8s req/s  p50 %7sus p99 %8sus  non-2xx %s  cpu/req %sus\n' "$r" "$v" "$CONNS" "$1" "$2" "$3" "$5" "$cpu"

        wrk -t1 -c1 -d"${DURATION}s" --latency -s "$T/pass.lua" "$u" >"$T/pass.out" 2>&1
        set -- $(wrk_parse "$T/pass.out")
        echo "pass $v $1 $2 $3 $4 $5 0" >>"$T/results"
        printf 'round %d %-8s pass       c=1   %8s req/s  p50 %7sus p99 %8sus  non-2xx %s\n' "$r" "$v" "$1" "$2" "$3" "$5"

        wrk -t2 -c"$CONNS" -d"$((DURATION + 2))s" -s "$T/miss.lua" "$u" >"$T/bg.out" 2>&1 &
        bg=$!
        sleep 1
        wrk -t1 -c1 -d"${DURATION}s" --latency -s "$T/pass.lua" "$u" >"$T/pass.out" 2>&1
        wait "$bg"
        set -- $(wrk_parse "$T/pass.out")
        echo "pass+miss $v $1 $2 $3 $4 $5 0" >>"$T/results"
        printf 'round %d %-8s pass+miss  c=1   %8s req/s  p50 %7sus p99 %8sus  non-2xx %s\n' "$r" "$v" "$1" "$2" "$3" "$5"
        # the same pass-through request straight to fakellm while the misses run: what the load
        # costs a request that never enters the router (wrk, fakellm and the machine's share)
        wrk -t2 -c"$CONNS" -d"$((DURATION + 2))s" -s "$T/miss.lua" "$u" >"$T/bg.out" 2>&1 &
        bg=$!
        sleep 1
        wrk -t1 -c1 -d"${DURATION}s" --latency -s "$T/pass.lua" "$FURL" >"$T/pass.out" 2>&1
        wait "$bg"
        set -- $(wrk_parse "$T/pass.out")
        echo "direct+miss $v $1 $2 $3 $4 $5 0" >>"$T/results"
        printf 'round %d %-8s direct+miss c=1  %8s req/s  p50 %7sus p99 %8sus  non-2xx %s\n' "$r" "$v" "$1" "$2" "$3" "$5"
        echo "           load average $(cut -d' ' -f1-3 /proc/loadavg)"
    done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

$PY - "$T/results" "${LABELS[@]}" <<'PY'
import statistics, sys
labels = sys.argv[2:]
rows = {}
for line in open(sys.argv[1]):
    f = line.split()
    rows.setdefault((f[0], f[1]), []).append([float(x) for x in f[2:8]])
med = {k: [statistics.median(r[i] for r in v) for i in range(6)] for k, v in rows.items()}
print()
print("%-10s %-9s %9s %9s %10s %10s" % ("run", "binary", "req/s", "p50", "p99", "cpu/req"))
for run in ("miss", "pass", "pass+miss", "direct+miss"):
    for v in labels:
        m = med.get((run, v))
        if m:
            print("%-10s %-9s %9.1f %7.0fus %8.0fus %8s" % (run, v, m[0], m[1], m[2],
                  "%.0fus" % m[5] if run == "miss" else "-"))
def g(run, v, i):
    return med[(run, v)][i]
print()
base = labels[0]
for v in labels[1:]:
    print("miss req/s          %s/%s %.2fx" % (base, v, g("miss", base, 0) / g("miss", v, 0)))
    print("miss CPU/request    %s/%s %.2fx" % (base, v, g("miss", base, 5) / g("miss", v, 5)))
    print("pass-through p99 beside misses      %s/%s %.2fx" % (base, v, g("pass+miss", base, 2) / g("pass+miss", v, 2)))
for v in labels:
    print("pass-through p99 beside misses / alone (%-8s) %.2fx  (p50 %.2fx)" %
          (v, g("pass+miss", v, 2) / g("pass", v, 2), g("pass+miss", v, 1) / g("pass", v, 1)))
PY
