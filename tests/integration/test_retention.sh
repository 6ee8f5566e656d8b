#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# Retention: with --retain-jobs 2s a finished job, its attempts, events and
# stored logs disappear from the scheduler (`mlq status`, `mlq list`, the
# database, STATE_DIR/logs) a little after it ended, while a running job, a
# finished job that a pending job still depends on, and the newest job
# stay; the database stays consistent. Then, with --retain-logs-size, the
# oldest stored logs go and `mlq logs` of their job says none is kept.
IT_DEADLINE=120
. "$(dirname "$0")/lib.sh" "$@"

STATE=$T/state
start_scheduler "$STATE" --retain-jobs 2s --retain-events 1h
start_worker w1 "$T/spool-w1" --cpus 4 --mem 2G --gpus 0

sql() { sqlite3 -cmd '.timeout 5000' "$STATE/mlq.db" "$1"; }
listed() { mlq list --limit 1000 --json | json "'$1' in [j['id'] for j in d['jobs']]"; }

ok mlq submit --name done -- sh -c 'echo done-output'
DONE=$OUT
ok mlq submit --name dep -- sh -c 'echo dep-output'
DEP=$OUT
expect_rc 0 mlq wait "$DONE" "$DEP" --timeout 30s
A=$(sql "SELECT id FROM attempts WHERE job_id = '$DONE'")
wait_until "[ -e $STATE/logs/$A.stdout ]" 15 || fail "the finished job's log was not stored"
ok mlq submit --name long -- sh -c 'while [ ! -e "$1/go" ]; do sleep 0.1; done' long "$T"
LONG=$OUT
ok mlq submit --name waiter --after "$DEP,$LONG" -- true
WAITER=$OUT
wait_state "$LONG" RUNNING 30

# The finished job goes, with everything it had.
wait_until "! mlq status $DONE >/dev/null 2>&1" 20 || fail "finished job $DONE still there"
expect_rc 4 mlq status "$DONE"
assert_eq false "$(listed "$DONE")" "finished job in mlq list"
assert_eq 0 "$(sql "SELECT count(*) FROM attempts WHERE job_id = '$DONE'")" "its attempts"
assert_eq 0 "$(sql "SELECT count(*) FROM events WHERE job_id = '$DONE'")" "its events"
[ ! -e "$STATE/logs/$A.stdout" ] || fail "its stored log is still there"
# What must stay, stays.
assert_eq RUNNING "$(job_state "$LONG")" "the running job"
assert_eq true "$(listed "$LONG")" "running job in mlq list"
assert_eq SUCCEEDED "$(job_state "$DEP")" "the job a pending job depends on"
assert_eq PENDING "$(job_state "$WAITER")" "the pending job"

# Once the dependency is used, its job may go too; the newest job never.
touch "$T/go"
expect_rc 0 mlq wait "$LONG" "$WAITER" --timeout 30s
wait_until "! mlq status $DEP >/dev/null 2>&1 && ! mlq status $LONG >/dev/null 2>&1" 20 ||
    fail "finished jobs not deleted once nothing depends on them"
assert_eq SUCCEEDED "$(job_state "$WAITER")" "the newest job (kept)"
assert_eq 1 "$(sql 'SELECT count(*) FROM jobs')" "jobs left"
assert_eq 0 "$(sql 'SELECT count(*) FROM pragma_foreign_key_check')" "foreign keys"
assert_eq ok "$(sql 'PRAGMA integrity_check')" "integrity"
# New work still runs.
ok mlq submit -- sh -c 'echo after'
AFTER=$OUT
expect_rc 0 mlq wait "$AFTER" --timeout 30s
ok mlq logs "$AFTER"
assert_eq after "$OUT" "log of a job after retention"

# The log store's size cap: a kept job whose logs were removed says so.
stop_pid "$SCHED_PID"
start_scheduler "$STATE" --retain-jobs off --retain-logs-size 1
wait_until "worker_up w1" 20 || fail "worker did not come back"
ok mlq submit -- sh -c 'echo capped'
CAPPED=$OUT
expect_rc 0 mlq wait "$CAPPED" --timeout 30s
CA=$(sql "SELECT id FROM attempts WHERE job_id = '$CAPPED'")
wait_until "[ ! -e $T/spool-w1/attempts/$CA ]" 20 || fail "spool folder of $CAPPED not removed"
# (empty files weigh nothing: only those with bytes go)
wait_until "! ls $STATE/logs/*.stdout" 20 || fail "logs over the cap not removed: $(ls "$STATE/logs")"
assert_eq SUCCEEDED "$(job_state "$CAPPED")" "the job whose logs went"
expect_rc 4 mlq logs "$CAPPED"
assert_contains "$ERR" "no log of this job is kept" "mlq logs of a job whose logs went"
