# tests/e2e/lib/proc.sh - start, wait for and stop background processes (source this file).
# One library for the e2e tests (through fakellm.sh and router.sh), bench/*.sh and
# scripts/demo.sh, so that every script starts servers, waits for them and stops them alike.
#
#   proc_start LOG PATTERN CMD...  starts CMD in the background (stdout and stderr to LOG) and
#                                  waits until a line of LOG matches PATTERN, a sed regex (BRE)
#                                  for the whole line with one \( group: the group (the port) is in
#                                  PROC_MATCH, the pid in PROC_PID. Returns 1 (PROC_PID empty,
#                                  the reason in PROC_ERROR) when CMD exits first or
#                                  PROC_TIMEOUT seconds (default 60) pass.
#   proc_spawn LOG CMD...          starts CMD like proc_start but does not wait (a server that
#                                  prints nothing, e.g. nginx); PROC_PID
#   proc_is_child PID              the process is a child of this shell
#   proc_stop PID [SIGNAL]         signals PID (default TERM) only when it is our child, then
#                                  waits for it; returns its exit status
#   proc_stop_all                  proc_stop every process proc_start started, newest first
#
#   proc_start "$T/f.log" '^fakellm listening on .*:\([0-9][0-9]*\)$' build/fakellm --port 0
#   port=$PROC_MATCH pid=$PROC_PID
#
# Why only children: a PID that we already stopped and waited for can belong to anybody's
# process by now (pid_max is 32768 here and PIDs wrap within minutes on a busy machine), so a
# stale `kill` would stop a stranger, e.g. another test run's router.
[ -n "${_PROC_SH_LOADED:-}" ] && return 0
_PROC_SH_LOADED=1
PROC_PIDS=()

# proc_is_child PID: running, or exited and not yet waited for, and a child of this shell.
proc_is_child() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    set -- $stat
    [ "${2:-}" = "$BASHPID" ]
}

proc_start() {
    local log=$1 pattern=$2
    shift 2
    PROC_PID= PROC_MATCH= PROC_ERROR=
    : >"$log" # before the child opens it: the first read below must find the file
    "$@" >>"$log" 2>&1 &
    local pid=$!
    PROC_PIDS+=("$pid")
    local deadline=$((SECONDS + ${PROC_TIMEOUT:-60})) match d=$'\001' # sed delimiter: any / in PATTERN is literal
    while :; do
        match=$(sed -n "s$d$pattern$d\\1${d}p" "$log" | head -1)
        if [ -n "$match" ]; then
            PROC_PID=$pid PROC_MATCH=$match
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null || [ "$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)" = Z ]; then
            wait "$pid" 2>/dev/null
            PROC_ERROR="$1 exited with status $? before printing /$pattern/"
            return 1
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            proc_stop "$pid"
            PROC_ERROR="$1 printed no /$pattern/ within ${PROC_TIMEOUT:-60} s"
            return 1
        fi
        sleep 0.02
    done
}

proc_spawn() {
    local log=$1
    shift
    "$@" >"$log" 2>&1 &
    PROC_PID=$!
    PROC_PIDS+=("$PROC_PID")
}

proc_stop() {
    [ -n "${1:-}" ] || return 0
    proc_is_child "$1" && kill -"${2:-TERM}" "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}

proc_stop_all() {
    local i p
    for ((i = ${#PROC_PIDS[@]} - 1; i >= 0; i--)); do
        p=${PROC_PIDS[i]}
        proc_is_child "$p" && kill "$p" 2>/dev/null
    done
    for p in "${PROC_PIDS[@]}"; do wait "$p" 2>/dev/null; done
    PROC_PIDS=()
}

# the name the tests have used
e2e_is_child() { proc_is_child "$@"; }
