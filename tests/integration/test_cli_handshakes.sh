#!/usr/bin/env bash
# The CURVE handshakes a command costs, as the scheduler counts them
# (mlq_zap_requests_total in `mlq admin metrics`, answered by the ZAP
# handler's own thread):
#   - `mlq wait` that polls a pending job for a second shakes hands once for
#     all its polls (one connection per command);
#   - an unknown key is refused at the handshake (exit 5) and counted as
#     refused; the next command with a good key still gets in.
IT_DEADLINE=120
. "$(dirname "$0")/lib.sh" "$@"

start_scheduler "$T/state"

# zap_count RESULT: the counter of that result, read by a command of its
# own (one handshake); the metrics are rendered at most once a second.
zap_count() {
    sleep 1.1
    ok "$MLQ" --scheduler "$SCHED_ADDR" admin metrics
    awk -v s="mlq_zap_requests_total{result=\"$1\"}" '$1 == s { print $2 }' <<<"$OUT"
}

ok mlq submit --cpus 0.1 --mem 16M -- true
JOB=$OUT
a0=$(zap_count accepted)
[ -n "$a0" ] || fail "no mlq_zap_requests_total in the metrics: $OUT"

# No worker: the job stays pending, and wait polls it (10, 20, 40 ... ms)
# until its timeout, on one connection.
t0=$(date +%s%N)
expect_rc 7 mlq wait "$JOB" --timeout 1s
[ $((($(date +%s%N) - t0) / 1000000)) -ge 900 ] || fail "wait gave up before its timeout"
a1=$(zap_count accepted)
assert_eq $((a0 + 2)) "$a1" "handshakes of one mlq wait (and the metrics read)"

r0=$(zap_count refused)
ok "$MLQ" keygen --out "$T/stranger.key"
expect_rc 5 env MLQ_KEY="$T/stranger.key" "$MLQ" --scheduler "$SCHED_ADDR" list
assert_contains "$ERR" "not authorized" "a refused key's message"
r1=$(zap_count refused)
[ "$r1" -gt "$r0" ] || fail "the refused handshake was not counted ($r0 -> $r1)"
ok mlq list --limit 1
log "ok"
