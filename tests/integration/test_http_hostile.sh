#!/usr/bin/env bash
# Hostile HTTP input (tests/integration/http_hostile.py): malformed JSON,
# bodies over the limit (announced or chunked), bad UTF-8, wrong types,
# deep nesting, garbage request lines, long tokens, path traversal, held
# idle connections and floods, from 30 threads at once, while a legitimate
# client keeps being answered; every hostile request gets a 4xx (or its
# connection closed); the scheduler's RSS stays bounded and it keeps
# working afterwards. MLQ_HOSTILE_SECS lengthens it (default 15).
IT_DEADLINE=200
. "$(dirname "$0")/lib.sh" "$@"

HTTP_PORT=$(free_port)
start_scheduler "$T/state" --http "127.0.0.1:$HTTP_PORT"
BASE=http://127.0.0.1:$HTTP_PORT
wait_until "port_open $HTTP_PORT" 10 || fail "HTTP port not open"
ok "$MLQ" --scheduler "$SCHED_ADDR" admin token create t --user "$IT_ME"
TOKEN=$OUT

run python3 "$MLQ_SRC_DIR/tests/integration/http_hostile.py" "$BASE" "$TOKEN" "$SCHED_PID" \
    "${MLQ_HOSTILE_SECS:-15}"
log "hostile: $OUT"
[ "$RC" = 0 ] || fail "hostile run failed: $OUT $ERR"
peak=$(json "d['rss_peak_kb']" <<<"$OUT")
start=$(json "d['rss_start_kb']" <<<"$OUT")
# ASan keeps freed memory in quarantine (256 MiB): a sanitizer build gets a
# looser bound.
bound=262144
if grep -qa __asan_init "$MLQ_SCHEDULER_BIN"; then bound=1048576; fi
[ $((peak - start)) -lt $bound ] || fail "RSS grew by $(((peak - start) / 1024)) MiB under attack"
# libmicrohttpd's complaints about garbage are rate-limited: the attack
# cannot fill the disk through the log
lines=$(wc -l <"$T/logs/scheduler.log")
[ "$lines" -lt 100 ] || fail "the attack wrote $lines log lines"
pid_alive "$SCHED_PID" || fail "scheduler died"
# still working, for the API and the CLI
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
    "$BASE/api/v1/jobs")
assert_eq 200 "$code" "API after the attack"
ok mlq list --json
