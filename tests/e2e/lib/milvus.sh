# The Milvus REST v2 test server (tests/milvus/server.mjs) for e2e tests, with --state so a
# killed server comes back with its data like a real Milvus volume. Source after proc.sh
# (router.sh/fakellm.sh bring it) and set STATE first.
#   milvus_start [PORT]   start it (port 0 = any); sets MILVUS_PID, MILVUS_PORT, MILVUS_URL
#   rows COLLECTION       rows the server holds in COLLECTION
#   wait_rows COLLECTION N  stores are asynchronous: wait (bounded) until N rows are there
milvus_start() {
    if ! proc_start "$E2E_TMP/milvus.$RANDOM.log" '^milvus-test listening on .*:\([0-9][0-9]*\) (version.*$' \
        node tests/milvus/server.mjs --port "${1:-0}" --version 2.5 --state "$STATE"; then
        echo "milvus test server did not start: $PROC_ERROR"
        return 1
    fi
    MILVUS_PID=$PROC_PID MILVUS_PORT=$PROC_MATCH
    MILVUS_URL="http://127.0.0.1:$MILVUS_PORT"
}
rows() { curl -s "$MILVUS_URL/_test/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["collections"].get(sys.argv[1], 0))' "$1"; }
wait_rows() { local i; for i in $(seq 1 100); do [ "$(rows "$1")" -ge "$2" ] 2>/dev/null && return 0; sleep 0.05; done; return 1; }
