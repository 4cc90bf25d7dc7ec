#!/usr/bin/env bash
# End-to-end: kept-alive model-server connections have a maximum idle age
# (server.upstream_keepalive_idle_seconds) and a maximum lifetime
# (server.upstream_keepalive_lifetime_seconds), on both upstream engines: the native HTTP/1.1
# client (an endpoint given as 127.0.0.1) and libcurl (the same server named "localhost";
# CURLOPT_MAXAGE_CONN, CURLOPT_MAXLIFETIME_CONN). fakellm counts the TCP connections it accepted,
# so reuse and reconnects are seen from the server's side: requests close together share one
# connection (the control that shows the count measures reuse), one after a longer idle gap or
# past the lifetime comes on a new connection. Ages count in whole seconds, strictly more than the
# limit (as libcurl counts), so a 2 s limit drops a connection from 3 s on. One worker, so one
# connection pool.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib/fakellm.sh
. tests/e2e/lib/router.sh
fakellm_start --model m --tokens 4 || exit 1
F_URL=$FAKELLM_URL F_PORT=$FAKELLM_PORT
# connections fakellm accepted, counting this stats request's own; since SNAPSHOT: the ones
# opened after that snapshot, this request left out
conns() { curl -s "$F_URL/admin/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["connections"])'; }
since() { echo $(($(conns) - $1 - 1)); }
now() { date +%s.%N; }

config() { # idle_seconds lifetime_seconds
    cat >"$E2E_TMP/ka.yaml" <<YAML
server:
  listen: 127.0.0.1
  metrics_port: 0
  workers: 1
  upstream_keepalive_idle_seconds: $1
  upstream_keepalive_lifetime_seconds: $2
vllm_endpoints:
  - {name: native, address: 127.0.0.1, port: $F_PORT}
  - {name: viacurl, address: localhost, port: $F_PORT}
model_config:
  native: {preferred_endpoints: [native], upstream_model: m}
  curl: {preferred_endpoints: [viacurl], upstream_model: m}
default_model: native
YAML
}

# the router probes endpoints that never answered (one connection each, at start): counting
# starts once both are up
settle() {
    local i
    for i in $(seq 1 200); do
        curl -s "$ROUTER_URL/ready" | python3 -c 'import json,sys; sys.exit(0 if all(e["state"] == "up" for e in json.load(sys.stdin)["endpoints"]) else 1)' && return 0
        sleep 0.05
    done
    return 1
}

FAILED_REQUESTS=0
req() { # model: one chat completion; counts answers other than 200
    local st
    st=$(curl -s -o "$E2E_TMP/out" -w '%{http_code}' --max-time 20 -H 'Content-Type: application/json' \
        "$ROUTER_URL/v1/chat/completions" \
        -d "{\"model\":\"$1\",\"messages\":[{\"role\":\"user\",\"content\":\"keep “alive” $RANDOM\"}]}")
    [ "$st" = 200 ] || FAILED_REQUESTS=$((FAILED_REQUESTS + 1))
}

# requests every 0.3 s for $2 seconds to model $1; sets N (requests) and ELAPSED (seconds)
steady() {
    local t0 t
    t0=$(now)
    N=0
    while :; do
        req "$1"
        N=$((N + 1))
        t=$(now)
        ELAPSED=$(python3 -c "print(int($t - $t0 + 0.999))")
        python3 -c "import sys; sys.exit(0 if $t - $t0 >= $2 else 1)" && break
        sleep 0.3
    done
}

# --- idle age: 2 s, no lifetime limit ---------------------------------------------------------------
config 2 0
router_start "$E2E_TMP/ka.yaml" || exit 1
check "endpoints_up" settle
for model in native curl; do
    c0=$(conns)
    req "$model"
    req "$model"
    req "$model"
    d=$(since "$c0")
    check "${model}_young_connection_reused" --why "3 requests, $d connections" '[ "$d" = 1 ]'
    c1=$(conns)
    sleep 4 # idle for more than 2 whole seconds
    req "$model"
    d=$(since "$c1")
    check "${model}_idle_past_max_age_not_reused" --why "$d new connections" '[ "$d" = 1 ]'
    # the control of the lifetime case below: 3 s of requests 0.3 s apart, no lifetime limit
    c2=$(conns)
    steady "$model" 3
    d=$(since "$c2")
    check "${model}_no_lifetime_limit_one_connection" --why "$N requests in ${ELAPSED}s, $d new connections" \
        '[ "$d" = 0 ]'
done
check "idle_age_no_request_failed" --why "$FAILED_REQUESTS failed" '[ "$FAILED_REQUESTS" = 0 ]'
router_stop

# --- lifetime: 2 s (idle age far above the gaps) ----------------------------------------------------
config 30 2
router_start "$E2E_TMP/ka.yaml" || exit 1
check "lifetime_endpoints_up" settle
for model in native curl; do
    c0=$(conns)
    steady "$model" 7
    d=$(since "$c0")
    # opened at the first request, replaced from 3 s of age on: at about 3 and 6 s, and never
    # more often than every 3 s of the time elapsed
    check "${model}_connection_replaced_after_lifetime" --why "$N requests in ${ELAPSED}s, $d connections" \
        '[ "$d" -ge 3 ] && [ "$d" -le $((ELAPSED / 3 + 1)) ] && [ "$N" -gt "$d" ]'
done
check "lifetime_no_request_failed" --why "$FAILED_REQUESTS failed" '[ "$FAILED_REQUESTS" = 0 ]'
router_stop

# --- idle connections are closed while no request comes (native engine) ---------------------------
# Ages are otherwise checked only when a request takes a connection, so a router whose traffic
# stopped would hold its model-server connections open forever. Counted from the router's side:
# its established TCP sockets to fakellm's port (/proc), one endpoint on the native engine only.
cat >"$E2E_TMP/ka1.yaml" <<YAML
server:
  listen: 127.0.0.1
  metrics_port: 0
  workers: 1
  upstream_keepalive_idle_seconds: 2
vllm_endpoints:
  - {name: native, address: 127.0.0.1, port: $F_PORT}
model_config:
  native: {preferred_endpoints: [native], upstream_model: m}
default_model: native
YAML
# router_conns: the running router's established TCP connections to fakellm
router_conns() {
    python3 - "$ROUTER_PID" "$F_PORT" <<'PY'
import os, sys
pid, port = sys.argv[1], int(sys.argv[2])
inodes = set()
for fd in os.listdir(f"/proc/{pid}/fd"):
    try:
        link = os.readlink(f"/proc/{pid}/fd/{fd}")
    except OSError:
        continue
    if link.startswith("socket:["):
        inodes.add(link[8:-1])
n = 0
for table in ("/proc/net/tcp", "/proc/net/tcp6"):
    with open(table) as f:
        next(f)
        for line in f:
            col = line.split()
            if col[3] == "01" and int(col[2].rsplit(":", 1)[1], 16) == port and col[9] in inodes:
                n += 1
print(n)
PY
}
router_start "$E2E_TMP/ka1.yaml" || exit 1
check "sweep_endpoint_up" settle
req native
req native
t_last=$(now)
open=$(router_conns)
check "sweep_connection_kept_after_request" --why "$open connections open" '[ "$open" -ge 1 ]'
wait_for 10 '[ "$(router_conns)" = 0 ]'
gone=$?
waited=$(python3 -c "print(round($(now) - $t_last, 1))")
# idle 2 s: closed from 3 s of age on (whole seconds, strictly more), by the sweep soon after
check "sweep_idle_connection_closed_without_traffic" --why "closed=$((gone == 0)) after ${waited}s" \
    '[ "$gone" = 0 ] && python3 -c "import sys; sys.exit(0 if 2.5 <= $waited <= 6 else 1)"'
req native
check "sweep_request_after_close_ok" --why "$FAILED_REQUESTS failed" '[ "$FAILED_REQUESTS" = 0 ]'
router_stop

# --- the keys are validated ------------------------------------------------------------------------
config 0 300
check "idle_zero_rejected" '! build/semrouter check-config -c "$E2E_TMP/ka.yaml" >"$E2E_TMP/cc" 2>&1 && grep -q "upstream_keepalive_idle_seconds" "$E2E_TMP/cc"'
config 30 -1
check "lifetime_negative_rejected" '! build/semrouter check-config -c "$E2E_TMP/ka.yaml" >"$E2E_TMP/cc" 2>&1 && grep -q "upstream_keepalive_lifetime_seconds" "$E2E_TMP/cc"'
