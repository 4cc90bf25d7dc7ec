#!/usr/bin/env bash
# The e2e helpers themselves (tests/e2e/lib): they must never signal a process that is not
# their own child. PIDs wrap quickly on a busy machine (pid_max 32768), so a PID that a
# helper already stopped and waited for soon belongs to somebody else's process, e.g. the
# router of another test run; signalling it kills that router in the middle of its test.
# Also: a router that dies on its own is reported as a failed case with its log; check
# asserts its whole condition; proc_start waits for the listening line; and no check call in
# tests/e2e, bench or scripts lets part of its condition run outside the call.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib/fakellm.sh
. tests/e2e/lib/router.sh

# --- check: the whole condition counts ------------------------------------------------------------
out=$(check t '[ 1 = 1 ] && [ 1 = 2 ]')
check "check_fails_on_second_condition" '[ "${out%%:*}" = "FAIL t" ]'
out=$(check t '[ 1 = 1 ] && [ 2 = 2 ] && ! false')
check "check_passes_whole_condition" '[ "$out" = "PASS t" ]'
out=$(check t false || echo status1; check u true && echo status0)
check "check_status_follows_result" '[ "$out" = "FAIL t: false"$'\''\n'\''"status1"$'\''\n'\''"PASS u"$'\''\n'\''"status0" ]'
name=zz why=yy ok=xx
out=$(check t '[ "$name$why$ok" = zzyyxx ]')
check "check_sees_caller_variables" '[ "$out" = "PASS t" ]'
out=$(check t --why "the detail" grep -q nothing /dev/null)
check "check_why_printed_on_fail" '[ "$out" = "FAIL t: the detail" ]'
out=$(check t grep -q "a b" <<<"x a b y")
check "check_runs_simple_command" '[ "$out" = "PASS t" ]'
out=$(check t)
check "check_without_condition_fails" '[ "${out%%:*}" = "FAIL t" ]'

# --- wait_for: returns once the condition holds, or at its deadline -------------------------------
t0=${EPOCHREALTIME/[.,]/}
wait_for 1 '[ 1 = 2 ]'
rc=$? ms=$(((${EPOCHREALTIME/[.,]/} - t0) / 1000))
check "wait_for_gives_up_at_deadline" --why "rc $rc after $ms ms" '[ $rc = 1 ] && [ $ms -ge 1000 ] && [ $ms -lt 10000 ]'
rm -f "$E2E_TMP/flag"
(sleep 0.3; touch "$E2E_TMP/flag") &
toucher=$!
t0=${EPOCHREALTIME/[.,]/}
wait_for 30 test -e "$E2E_TMP/flag"
rc=$? ms=$(((${EPOCHREALTIME/[.,]/} - t0) / 1000))
wait "$toucher"
check "wait_for_returns_when_true" --why "rc $rc after $ms ms" '[ $rc = 0 ] && [ $ms -ge 300 ] && [ $ms -lt 20000 ]'

# --- the lint: conditions leaking out of check calls ----------------------------------------------
cat >"$E2E_TMP/lint.sh" <<'EOF'
check a [ "$x" = 1 ] && [ "$y" = 2 ]
check b '[ "$x" = 1 ] && [ "$y" = 2 ]'
check c grep -q 'a|b' "$f"  # a comment with && in it
check d "$(echo 1 && echo 2)" || true
check e "multi
line && quoted" && echo leaked
check f [ "$(grep -c x <(echo a | tr a x))" = 1 ]
    check g grep -q x "$f" | tee log
check h "a \" && b" '"'
check i '[ "$x" = 1 ] &&
    [ "$y" = 2 ]'
EOF
python3 tests/tools/check_lint.py "$E2E_TMP/lint.sh" >"$E2E_TMP/lint.out"
lint_rc=$?
check "lint_finds_leaking_conditions" --why "rc $lint_rc: $(tr '\n' '|' <"$E2E_TMP/lint.out")" \
    '[ $lint_rc = 1 ] && [ "$(cut -d: -f2 "$E2E_TMP/lint.out" | tr "\n" " ")" = "1 4 5 8 " ]'
python3 tests/tools/check_lint.py tests/e2e/*.sh bench/*.sh scripts/*.sh >"$E2E_TMP/lint.out"
lint_rc=$?
check "no_check_condition_leaks_in_tree" --why "$(head -5 "$E2E_TMP/lint.out" | tr '\n' '|')" '[ $lint_rc = 0 ]'

# --- proc_start: waits for the listening line, reports a server that exits first ------------------
proc_start "$E2E_TMP/p1.log" '^srv listening on .*:\([0-9][0-9]*\)$' \
    bash -c 'sleep 0.3; echo "starting"; echo "srv listening on 127.0.0.1:4242"; exec sleep 60'
rc=$?
check "proc_start_reads_port" '[ $rc = 0 ] && [ "$PROC_MATCH" = 4242 ] && proc_is_child "$PROC_PID"'
p=$PROC_PID
proc_stop "$p"
check "proc_stop_stops_own" '! kill -0 "$p" 2>/dev/null'
proc_start "$E2E_TMP/p2.log" '^srv listening on .*:\([0-9][0-9]*\)$' bash -c 'echo "no port today"; exit 7'
rc=$?
check "proc_start_reports_exit" --why "rc $rc: $PROC_ERROR" \
    '[ $rc = 1 ] && [ -z "$PROC_PID" ] && [[ "$PROC_ERROR" == *"exited with status 7"* ]]'
PROC_TIMEOUT=1 proc_start "$E2E_TMP/p3.log" '^srv listening on .*:\([0-9][0-9]*\)$' sleep 60
rc=$?
p=${PROC_PIDS[-1]}
check "proc_start_gives_up_and_stops_it" --why "rc $rc: $PROC_ERROR" \
    '[ $rc = 1 ] && [[ "$PROC_ERROR" == *"within 1 s"* ]] && ! kill -0 "$p" 2>/dev/null'

# a stranger: a process that is not our child (its parent, a subshell, is gone); it stands
# for a process that got the PID of a server we stopped earlier
stranger=$(sleep 60 >/dev/null 2>&1 & echo $!)
# running (a killed stranger may stay a zombie for a while: its new parent reaps it)
alive() { [ "$(stat=$(cat "/proc/$1/stat" 2>/dev/null) && set -- ${stat##*) } && echo "$1")" = S ]; }

check "is_child_rejects_stranger" eval '! e2e_is_child "$stranger"'
check "is_child_rejects_init" eval '! e2e_is_child 1'
sleep 60 &
own=$!
check "is_child_accepts_own_child" e2e_is_child "$own"
kill "$own"
wait "$own" 2>/dev/null
check "is_child_rejects_waited_pid" eval '! e2e_is_child "$own"'

# fakellm_stop_all / fakellm_stop with a stale PID in their list
sleep 60 &
own=$!
FAKELLM_PIDS=("$stranger" "$own")
fakellm_stop_all
check "fakellm_stop_all_spares_stranger" alive "$stranger"
check "fakellm_stop_all_stops_own" eval '! kill -0 "$own" 2>/dev/null'
FAKELLM_PID=$stranger
fakellm_stop
check "fakellm_stop_spares_stranger" alive "$stranger"

# router_stop: a router that exited by itself is a failed case with its log
ROUTER_BIN=$E2E_TMP/fake-router.sh
cat >"$ROUTER_BIN" <<'EOF'
#!/usr/bin/env bash
echo "semrouter listening on 127.0.0.1:1 (metrics -1)"
echo "last words of the router"
sleep 0.2
exit 3
EOF
chmod +x "$ROUTER_BIN"
router_start "$E2E_TMP/none.yaml" || exit 1
sleep 0.6
router_stop >"$E2E_TMP/stop.out" 2>&1
check "router_death_reported" grep -q '^FAIL router_alive: .*exit status 3' "$E2E_TMP/stop.out"
check "router_death_log_shown" grep -q 'last words of the router' "$E2E_TMP/stop.out"

# ... and one that crashed, with the signal named
cat >"$ROUTER_BIN" <<'EOF'
#!/usr/bin/env bash
echo "semrouter listening on 127.0.0.1:1 (metrics -1)"
sleep 0.2
kill -SEGV $$
EOF
router_start "$E2E_TMP/none.yaml" || exit 1
sleep 0.6
router_stop >"$E2E_TMP/stop.out" 2>&1
check "router_crash_reported" grep -q '^FAIL router_alive: .*killed by signal 11 (SEGV)' "$E2E_TMP/stop.out"

# a router still running when stopped: no failure
cat >"$ROUTER_BIN" <<'EOF'
#!/usr/bin/env bash
echo "semrouter listening on 127.0.0.1:1 (metrics -1)"
exec sleep 60
EOF
router_start "$E2E_TMP/none.yaml" || exit 1
router_stop >"$E2E_TMP/stop.out" 2>&1
check "router_stop_of_live_router_quiet" eval '! grep -q FAIL "$E2E_TMP/stop.out"'

# e2e_cleanup (the EXIT trap) with stopped and stale PIDs in ROUTER_PIDS
ROUTER_PIDS+=("$stranger")
e2e_cleanup
trap - EXIT
check "cleanup_spares_stranger" alive "$stranger"
kill "$stranger" # ours to stop: we started it above
