#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# A worker that stays away longer than its lease: the scheduler marks it
# LOST and requeues its job; the attempt it gave up on is ended by its own
# shim when the worker's lease runs out (the daemon is dead), and when the
# worker comes back the job's outcome is that of its new attempt, recorded
# once.
IT_DEADLINE=200
. "$(dirname "$0")/lib.sh" "$@"

STATE=$T/state
SPOOL=$T/spool-w1
start_scheduler "$STATE" --heartbeat 1s --lease 3s --kill-grace 2s
start_worker w1 "$SPOOL" --cpus 1 --mem 1G --gpus 0 --heartbeat 1s

sql() { sqlite3 "$STATE/mlq.db" "$1"; }
worker_state() { mlq workers --json | json "[w['state'] for w in d['workers'] if w['name'] == 'w1'][0]"; }

# Each attempt appends "ATTEMPT PID" to runs, then waits for go.
ok mlq submit --name lost --cpus 1 --mem 64M -- sh -c \
    'echo "$MLQ_ATTEMPT $$" >> "$1"; while [ ! -e "$2" ]; do sleep 0.1; done; echo "attempt $MLQ_ATTEMPT done"' \
    lost "$T/runs" "$T/go"
J=$OUT
wait_state "$J" RUNNING 30
wait_until "[ -s $T/runs ]" 10 || fail "job did not start"
read -r n1 p1 <"$T/runs"
assert_eq 1 "$n1" "first attempt number"
A1=$(job_field "$J" attempt_id)

kill -KILL "$WORKER_PID"
wait "$WORKER_PID" 2>/dev/null || true
wait_until "[ \"\$(worker_state)\" = LOST ]" 20 || fail "worker not LOST after its lease: $(mlq workers --json 2>&1)"
wait_state "$J" PENDING 10
ok mlq status "$J" --json
log "job after its worker was lost: reason [$(json "d['reason']" <<<"$OUT")]"
assert_eq 6 "$(sql "SELECT state FROM attempts WHERE id='$A1'")" \
    "attempt 1 LOST (6) after the lease expired"
assert_contains "$(sql "SELECT detail FROM events WHERE attempt_id='$A1' AND kind='state' AND to_state='PENDING'")" \
    "requeued" "the requeue event names attempt 1"
# Its shim fenced it on its own when the worker's lease ran out, by the
# time the job may start again (lease + 0.25 s + kill grace + 1 s).
wait_until "! pid_alive $p1" 10 || fail "attempt 1 still runs after the lease: its shim did not fence it"
# its logs live on the worker, which is gone: a clear error, not a hang
expect_rc 1 mlq logs "$J"
[ -n "$ERR" ] || fail "logs of a job whose worker is gone: no message"
log "logs while the worker is gone: $ERR"

# The worker comes back: attempt 1 is fenced, attempt 2 runs.
start_worker w1 "$SPOOL" --cpus 1 --mem 1G --gpus 0 --heartbeat 1s
wait_until "! pid_alive $p1" 20 || fail "the attempt the scheduler gave up on was not killed"
wait_until "[ \$(wc -l <$T/runs) -ge 2 ]" 30 || fail "no second attempt: $(cat "$T/runs")"
read -r n2 p2 < <(sed -n 2p "$T/runs")
assert_eq 2 "$n2" "second attempt number"
pid_alive "$p2" || fail "attempt 2 is not running"
wait_state "$J" RUNNING 10
A2=$(job_field "$J" attempt_id)
[ "$A2" != "$A1" ] || fail "attempt id did not change"

touch "$T/go"
expect_rc 0 mlq wait "$J" --timeout 30s
ok mlq status "$J" --json
assert_eq SUCCEEDED "$(json "d['state']" <<<"$OUT")" "job after the fenced attempt"
assert_eq 2 "$(json "d['attempt']" <<<"$OUT")" "attempts"
assert_eq "$A2" "$(json "d['attempt_id']" <<<"$OUT")" "current attempt"
assert_eq 2 "$(wc -l <"$T/runs")" "the job ran exactly twice"
ok mlq logs "$J"
assert_eq "attempt 2 done" "$OUT" "logs are those of the current attempt"

assert_eq 2 "$(sql "SELECT count(*) FROM attempts WHERE job_id='$J'")" "attempt rows"
assert_eq 6 "$(sql "SELECT state FROM attempts WHERE id='$A1'")" \
    "attempt 1 stays LOST (6; its late outcome is refused)"
assert_eq 1 "$(sql "SELECT count(*) FROM events WHERE job_id='$J' AND kind='state'
    AND to_state IN ('SUCCEEDED','FAILED','CANCELLED','TIMED_OUT')")" "terminal state events"
wait_until "[ \"\$(worker_state)\" = UP ]" 10 || fail "worker not UP again"
run sqlite3 "$STATE/mlq.db" 'PRAGMA integrity_check'
assert_eq ok "$OUT" "integrity_check"
