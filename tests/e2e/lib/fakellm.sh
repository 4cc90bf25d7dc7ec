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

FAKELLM_BIN=${FAKELLM_BIN:-${BUILD:-build}/fakellm}
FAKELLM_PIDS=()

# e2e_is_child PID: the process is a child of this shell (running, or exited and not yet waited
# for). A PID we already waited for can belong to anybody's process by now (pid_max is 32768
# here and PIDs wrap within minutes on a busy machine), so a stale `kill` would stop a stranger,
# e.g. another test run's router. Only signal PIDs that pass this check.
e2e_is_child() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    set -- $stat
    [ "${2:-}" = "$BASHPID" ]
}

# fakellm_start [fakellm options...]: returns 1 (and prints why) when it does not come up.
fakellm_start() {
    local out
    out=$(mktemp)
    ${FAKELLM_WRAP:-} "$FAKELLM_BIN" --port 0 --quiet "$@" >"$out" 2>&1 &
    FAKELLM_PID=$!
    FAKELLM_PIDS+=("$FAKELLM_PID")
    [ -n "$(trap -p EXIT)" ] || trap fakellm_stop_all EXIT
    local i
    for i in $(seq 1 500); do
        FAKELLM_PORT=$(sed -n 's/^fakellm listening on .*:\([0-9][0-9]*\)$/\1/p' "$out")
        [ -n "$FAKELLM_PORT" ] && break
        if ! kill -0 "$FAKELLM_PID" 2>/dev/null; then
            echo "fakellm did not start: $(cat "$out")"
            rm -f "$out"
            return 1
        fi
        sleep 0.02
    done
    rm -f "$out"
    if [ -z "$FAKELLM_PORT" ]; then
        echo "fakellm did not print its port"
        return 1
    fi
    FAKELLM_URL="http://127.0.0.1:$FAKELLM_PORT"
    return 0
}

fakellm_stop() {
    [ -n "${FAKELLM_PID:-}" ] || return 0
    e2e_is_child "$FAKELLM_PID" && kill "$FAKELLM_PID" 2>/dev/null
    wait "$FAKELLM_PID" 2>/dev/null
    FAKELLM_PID=
}

fakellm_stop_all() {
    local p
    for p in "${FAKELLM_PIDS[@]}"; do e2e_is_child "$p" && kill "$p" 2>/dev/null; done
    for p in "${FAKELLM_PIDS[@]}"; do wait "$p" 2>/dev/null; done
    FAKELLM_PIDS=()
}
