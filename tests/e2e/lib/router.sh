# tests/e2e/lib/router.sh - start/stop the router and report test cases (source this file).
#
#   . tests/e2e/lib/router.sh
#   router_start CONFIG.yaml        # sets ROUTER_PID, ROUTER_PORT, ROUTER_URL, ROUTER_LOG
#   check NAME 'CONDITION'          # prints PASS NAME / FAIL NAME (lib/check.sh)
#   router_stop
#
# The router is started with --port 0 (a free port) and no metrics listener unless the
# config sets one. ROUTER_WRAP runs it under a tool (valgrind).
. "$(dirname "${BASH_SOURCE[0]}")/proc.sh"
. "$(dirname "${BASH_SOURCE[0]}")/check.sh"
ROUTER_BIN=${ROUTER_BIN:-${BUILD:-build}/semrouter}
# Debian's python3 (scripts/deps.sh installs it with python3-yaml) starts ~10x faster than a
# pyenv shim, and the tests call it for every JSON check.
[ -x /usr/bin/python3 ] && export PATH="/usr/bin:$PATH"
E2E_TMP=$(mktemp -d)
ROUTER_PIDS=()

# router_check_alive: when the running router ($ROUTER_PID) has died without being stopped by
# us (crash, abort, exit), a failed case with its exit status and the tail of its log.
router_check_alive() {
    [ -n "${ROUTER_PID:-}" ] || return 0
    local stat
    stat=$(cat "/proc/$ROUTER_PID/stat" 2>/dev/null)
    stat=${stat##*) }
    set -- $stat
    [ "${1:-}" != Z ] && [ "${2:-}" = "$BASHPID" ] && return 0 # still running
    wait "$ROUTER_PID" 2>/dev/null
    local rc=$?
    local why="exit status $rc"
    [ "$rc" -gt 128 ] && why="killed by signal $((rc - 128)) ($(kill -l "$((rc - 128))" 2>/dev/null))"
    fail "router_alive" "router pid $ROUTER_PID died unexpectedly: $why; last lines of $ROUTER_LOG:"
    tail -n 40 "$ROUTER_LOG" 2>/dev/null | sed 's/^/    /'
    ROUTER_PID=
}

e2e_cleanup() {
    local p
    router_check_alive
    for p in "${ROUTER_PIDS[@]}"; do proc_is_child "$p" && kill "$p" 2>/dev/null; done
    for p in "${ROUTER_PIDS[@]}"; do wait "$p" 2>/dev/null; done
    declare -F fakellm_stop_all >/dev/null && fakellm_stop_all
    proc_stop_all
    rm -rf "$E2E_TMP"
}
trap e2e_cleanup EXIT

# router_start CONFIG [extra serve args]: 1 (with the log) when it does not come up.
router_start() {
    ROUTER_LOG="$E2E_TMP/router.$RANDOM.log"
    ROUTER_PORT= ROUTER_PID=
    if ! proc_start "$ROUTER_LOG" '^semrouter listening on .*:\([0-9][0-9]*\) (metrics.*$' \
        ${ROUTER_WRAP:-} "$ROUTER_BIN" serve -c "$1" --port 0 "${@:2}"; then
        echo "router did not start: $PROC_ERROR"
        cat "$ROUTER_LOG"
        return 1
    fi
    ROUTER_PID=$PROC_PID ROUTER_PORT=$PROC_MATCH
    ROUTER_PIDS+=("$ROUTER_PID")
    ROUTER_URL="http://127.0.0.1:$ROUTER_PORT"
}

# router_stop: stops the router gracefully; under a sanitizer build (make asan) a report in
# its log (memory error, leak, undefined behaviour) is a failed case.
router_stop() {
    [ -n "${ROUTER_PID:-}" ] || return 0
    router_check_alive
    if [ -n "$ROUTER_PID" ]; then
        proc_stop "$ROUTER_PID"
        ROUTER_PID=
    fi
    if grep -qE 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:|definitely lost: [1-9]' "$ROUTER_LOG"; then
        fail "router_sanitizer_clean" "$(grep -m1 -E 'ERROR:|runtime error:|definitely lost' "$ROUTER_LOG")"
        grep -A30 -m1 -E 'ERROR:|runtime error:' "$ROUTER_LOG" | head -40
    fi
}

# jget FILE PYEXPR: evaluates a Python expression on the parsed JSON `j`; prints the result.
jget() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2" 2>/dev/null; }

# chat BODY [curl args]: POST /v1/chat/completions; body in $E2E_TMP/out, headers in
# $E2E_TMP/hdr, status printed.
chat() {
    curl -s -o "$E2E_TMP/out" -D "$E2E_TMP/hdr" -w '%{http_code}' -H 'Content-Type: application/json' \
        "${@:2}" "$ROUTER_URL/v1/chat/completions" --data-binary "$1"
}
# header NAME: value of a response header of the last chat call.
header() { grep -i "^$1:" "$E2E_TMP/hdr" | head -1 | cut -d: -f2- | tr -d '\r' | sed 's/^ //'; }

# Validate a JSON document against the OpenAI spec when the shared folder and the checker exist.
OPENAPI_SPEC=${SEMROUTER_SHARED:-../shared}/openai/openapi.yaml
openapi_ok() { # SCHEMA FILE [--sse]
    [ -f "$OPENAPI_SPEC" ] && [ -f tests/tools/openapi_check.py ] || return 0
    python3 tests/tools/openapi_check.py "${@:3}" "$OPENAPI_SPEC" "$1" "$2" >"$E2E_TMP/oa.txt" 2>&1 ||
        { cat "$E2E_TMP/oa.txt" | head -5; return 1; }
}
