# tests/e2e/lib/check.sh - the one way e2e scripts report cases (source this file).
# tests/run.sh counts the PASS/FAIL/SKIP lines.
#
#   check NAME 'CONDITION'          PASS when the condition (evaluated with eval, so
#                                   &&, ||, !, pipes and $(...) inside it all count) holds
#   check NAME COMMAND ARG...       PASS when the simple command succeeds
#   check NAME --why DETAIL ...     as above; DETAIL is printed on FAIL instead of the condition
#   pass NAME / fail NAME WHY / skip NAME WHY
#   wait_for SECONDS 'CONDITION'    polls the condition (as check evaluates it) every 0.05 s
#                                   until it holds (status 0) or SECONDS of wall-clock time
#                                   have passed (1); then check the condition itself
#
#   check miss_goes_upstream '[ "$st" = 200 ] && [ "$(header x-vsr-cache-hit)" = false ]'
#   check stream_has_usage grep -q '"usage"' "$E2E_TMP/sse"
#
# Never write `check NAME [ a ] && [ b ]`: the shell runs `[ b ]` after check has printed
# PASS, so the case asserts only `a`. tests/e2e/test_e2e_lib.sh fails on any check call with
# &&, || or | outside quotes (tests/tools/check_lint.py), in tests/e2e, bench and scripts.
[ -n "${_CHECK_SH_LOADED:-}" ] && return 0
_CHECK_SH_LOADED=1

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: ${2:-}"; }
skip() { echo "SKIP $1: ${2:-}"; }

# Its locals start with _ck_ so that a condition sees the caller's variables; $1.. inside a
# single-quoted condition are check's own arguments, so expand those before (double quotes).
check() {
    local _ck_name=$1 _ck_why=
    shift
    if [ "${1:-}" = --why ]; then
        _ck_why=$2
        shift 2
    fi
    if [ $# -eq 0 ]; then
        fail "$_ck_name" "check: no condition given"
        return 1
    fi
    local _ck_ok=0
    if [ $# -eq 1 ]; then
        eval "$1" && _ck_ok=1
    else
        "$@" && _ck_ok=1
    fi
    if [ $_ck_ok = 1 ]; then
        pass "$_ck_name"
    else
        fail "$_ck_name" "${_ck_why:-$*}"
        return 1
    fi
}

# A deadline in time, not a count of polls: on a loaded machine every poll (curl, python) takes
# longer, and a fixed number of them would shorten the wait exactly when it must be longest.
wait_for() {
    local _wf_end=$((${EPOCHREALTIME/[.,]/} + $1 * 1000000))
    shift
    while :; do
        if [ $# -eq 1 ]; then
            eval "$1" && return 0
        else
            "$@" && return 0
        fi
        [ "${EPOCHREALTIME/[.,]/}" -ge "$_wf_end" ] && return 1
        sleep 0.05
    done
}
