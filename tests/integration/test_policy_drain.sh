#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# Drain and resume: a drained worker finishes what it runs and takes nothing
# new; new jobs go to other workers or wait (`mlq why` says "drained");
# `mlq workers` shows the reason; the drain survives a scheduler restart;
# resume lets the waiting job start; unknown workers and bad reasons are
# refused.
IT_DEADLINE=240
. "$(dirname "$0")/lib.sh" "$@"

STATE=$T/state
SCHED_ARGS=(--heartbeat 1s --lease 5s)
start_scheduler "$STATE" "${SCHED_ARGS[@]}"
start_worker w1 "$T/spool-w1" --cpus 1 --mem 1G --heartbeat 1s

held() {
    local name=$1
    mlq submit --name "$name" --cpus 1 --mem 64M -- sh -c 'while [ ! -e "$1" ]; do sleep 0.1; done' h "$T/release-$name"
}

ok held j1
J1=$OUT
wait_state "$J1" RUNNING 30
start_worker w2 "$T/spool-w2" --cpus 1 --mem 1G --heartbeat 1s

expect_rc 4 mlq drain nosuch
expect_rc 4 mlq resume nosuch
expect_rc 6 mlq drain w1 --reason "$(printf 'two\nlines')"
expect_rc 2 mlq drain
expect_rc 2 mlq resume w1 --reason x

ok mlq drain w1 --reason "bad fan, ticket 42"
assert_contains "$ERR" "w1: drained (bad fan, ticket 42), 1 job still running" "drain report"
ok mlq workers --json
wj() { json "[w for w in d['workers'] if w['name'] == '$1'][0]['$2']" <<<"$OUT"; }
assert_eq "bad fan, ticket 42" "$(wj w1 drain_reason)" "drain reason of w1"
assert_eq true "$(wj w1 draining)" "w1 takes no new jobs"
assert_eq null "$(wj w2 drain_reason)" "drain reason of w2"
ok mlq workers
assert_contains "$OUT" "UP (drained)" "workers table state of w1"
assert_contains "$OUT" "w1 drained: bad fan, ticket 42" "workers detail line of w1"

# new work goes to w2; the job on w1 keeps running
ok held j2
J2=$OUT
wait_state "$J2" RUNNING 30
assert_eq w2 "$(job_field "$J2" worker)" "worker of a job submitted while w1 is drained"
assert_eq RUNNING "$(job_state "$J1")" "job on the drained worker"

# with both drained, a new job waits and says why
ok mlq drain w2
assert_contains "$ERR" "w2: drained, 1 job still running" "drain report without a reason"
touch "$T/release-j1" "$T/release-j2"
expect_rc 0 mlq wait "$J1" "$J2" --timeout 30s
ok held j3
J3=$OUT
sleep 2
assert_eq PENDING "$(job_state "$J3")" "a job while every worker is drained"
ok mlq why "$J3" --json
assert_eq drained "$(json "d['blocker']" <<<"$OUT")" "blocker while every worker is drained"

# the drains outlive a scheduler restart
kill -KILL "$SCHED_PID"
wait "$SCHED_PID" 2>/dev/null || true
start_scheduler "$STATE" "${SCHED_ARGS[@]}"
wait_until "worker_up w1 && worker_up w2" 20 || fail "workers did not come back"
ok mlq workers --json
assert_eq "bad fan, ticket 42" "$(wj w1 drain_reason)" "drain reason of w1 after a scheduler restart"
assert_eq true "$(wj w1 draining)" "w1 still drained after the restart"
assert_eq true "$(wj w2 draining)" "w2 still drained after the restart"
sleep 2
assert_eq PENDING "$(job_state "$J3")" "waiting job after the restart"
ok mlq why "$J3" --json
assert_eq drained "$(json "d['blocker']" <<<"$OUT")" "blocker after the restart"

# resume w1: the waiting job starts there
ok mlq resume w1
assert_contains "$ERR" "w1: resumed" "resume report"
wait_state "$J3" RUNNING 30
assert_eq w1 "$(job_field "$J3" worker)" "worker of the job once w1 resumed"
ok mlq workers --json
assert_eq null "$(wj w1 drain_reason)" "drain reason of w1 after resume"
assert_eq false "$(wj w1 draining)" "w1 after resume"
touch "$T/release-j3"
expect_rc 0 mlq wait "$J3" --timeout 30s
ok mlq resume w2
