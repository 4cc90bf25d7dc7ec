# tests/e2e/lib/fakellm.sh - start and stop build/fakellm from an e2e script (source this file).
#
#   . tests/e2e/lib/fakellm.sh
#   fakellm_start --model small --tokens 8    # sets FAKELLM_PID, FAKELLM_PORT, FAKELLM_URL
#   curl -s "$FAKELLM_URL/admin/faults" -d '{"fail_status":503,"fail_first":2}'
#   fakellm_stop                               # also runs from the EXIT trap set by start
#
# Several servers: call fakellm_start again after saving the variables; fakellm_stop_all stops
# every server started by this shell (an EXIT trap calls it unless the script set its own).
# The port is chosen by fakellm itself (--port 0), so tests can run in parallel without colliding.
# FAKELLM_WRAP runs it under a tool, e.g. FAKELLM_WRAP="valgrind --leak-check=full".
# Processes are started and stopped by lib/proc.sh (only our own children are ever signalled).

. "$(dirname "${BASH_SOURCE[0]}")/proc.sh"
FAKELLM_BIN=${FAKELLM_BIN:-${BUILD:-build}/fakellm}
FAKELLM_PIDS=()

# fakellm_start [fakellm options...]: returns 1 (and prints why) when it does not come up.
fakellm_start() {
    local out
    out=$(mktemp)
    [ -n "$(trap -p EXIT)" ] || trap fakellm_stop_all EXIT
    if ! PROC_TIMEOUT=${PROC_TIMEOUT:-30} proc_start "$out" '^fakellm listening on .*:\([0-9][0-9]*\)$' \
        ${FAKELLM_WRAP:-} "$FAKELLM_BIN" --port 0 --quiet "$@"; then
        echo "fakellm did not start: $PROC_ERROR: $(cat "$out")"
        rm -f "$out"
        return 1
    fi
    rm -f "$out"
    FAKELLM_PID=$PROC_PID FAKELLM_PORT=$PROC_MATCH
    FAKELLM_PIDS+=("$FAKELLM_PID")
    FAKELLM_URL="http://127.0.0.1:$FAKELLM_PORT"
    return 0
}

fakellm_stop() {
    proc_stop "${FAKELLM_PID:-}"
    FAKELLM_PID=
}

fakellm_stop_all() {
    local p
    for p in "${FAKELLM_PIDS[@]}"; do proc_is_child "$p" && kill "$p" 2>/dev/null; done
    for p in "${FAKELLM_PIDS[@]}"; do wait "$p" 2>/dev/null; done
    FAKELLM_PIDS=()
}
