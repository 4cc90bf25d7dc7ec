#!/usr/bin/env bash
# The e2e helpers themselves (tests/e2e/lib): they must never signal a process that is not
# their own child. PIDs wrap quickly on a busy machine (pid_max 32768), so a PID that a
# helper already stopped and waited for soon belongs to somebody else's process, e.g. the
# router of another test run; signalling it kills that router in the middle of its test.
# Also: a router that dies on its own is reported as a failed case with its log.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib/fakellm.sh
. tests/e2e/lib/router.sh

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
