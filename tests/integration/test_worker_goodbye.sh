#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# A cleanly stopped worker says goodbye:
#   - SIGTERM to an idle worker: `mlq workers` shows it DOWN at once (not UP
#     until its lease runs out, then LOST), with a worker_down event;
#   - SIGTERM to a worker with a running job: DOWN at once, the job stays
#     RUNNING under its shim (not requeued), and the worker restarted within
#     the lease takes it up again: same attempt, which then succeeds;
#   - `mlq admin worker rm` refuses a worker that still holds a live attempt
#     and forgets a decommissioned one: gone from `mlq workers`, its key
#     removed, a worker_removed event.
IT_DEADLINE=150
. "$(dirname "$0")/lib.sh" "$@"

STATE=$T/state
LEASE=30
start_scheduler "$STATE" --heartbeat 1s --lease "${LEASE}s"

worker_state() {
    mlq workers --json | json "([w['state'] for w in d['workers'] if w['name'] == '$1'] + ['-'])[0]"
}
events_of() { sqlite3 -cmd '.timeout 5000' "$STATE/mlq.db" \
    "SELECT count(*) FROM events WHERE kind = '$1' AND worker = '$2'"; }

# --- an idle worker ---------------------------------------------------------------
start_worker w1 "$T/spool-w1" --heartbeat 1s
t0=$(date +%s)
stop_pid "$WORKER_PID"
wait_until '[ "$(worker_state w1)" = DOWN ]' 5 ||
    fail "w1 is $(worker_state w1) after a clean stop, not DOWN"
[ $(($(date +%s) - t0)) -lt "$LEASE" ] || fail "w1 went DOWN only after its lease"
assert_eq 1 "$(events_of worker_down w1)" "worker_down events of w1"
grep -q "said goodbye" "$T/logs/worker-w1.log" || fail "w1 does not say it said goodbye"

# --- a worker with a running job --------------------------------------------------
start_worker w2 "$T/spool-w2" --heartbeat 1s
ok mlq submit --cpus 0.5 --mem 64M -- sh -c \
    'echo $$ >>"$1"; while [ ! -e "$2" ]; do sleep 0.1; done' job "$T/pids" "$T/go"
J=$OUT
wait_state "$J" RUNNING 30
A=$(job_field "$J" attempt_id)
stop_pid "$WORKER_PID"
wait_until '[ "$(worker_state w2)" = DOWN ]' 5 ||
    fail "w2 is $(worker_state w2) after a clean stop, not DOWN"
pid_alive "$(head -n1 "$T/pids")" || fail "the job died with its worker"
sleep 3 # several heartbeats: nothing may requeue the job meanwhile
assert_eq RUNNING "$(job_state "$J")" "the job of the stopped worker"
assert_eq "$A" "$(job_field "$J" attempt_id)" "its attempt"

# rm refuses a worker that still holds a live attempt
expect_rc 1 "$MLQ" --scheduler "$SCHED_ADDR" admin worker rm w2
assert_contains "$ERR" "still holds 1 live attempt" "worker rm of a worker with a job"
assert_eq DOWN "$(worker_state w2)" "w2 after the refused rm"

start_worker w2 "$T/spool-w2" --heartbeat 1s
assert_eq RUNNING "$(job_state "$J")" "the job once its worker is back"
assert_eq "$A" "$(job_field "$J" attempt_id)" "the attempt once its worker is back"
touch "$T/go"
ok mlq wait "$J" --timeout 30s
assert_eq SUCCEEDED "$(job_state "$J")" "the re-adopted job"
assert_eq 1 "$(job_field "$J" attempt)" "attempts of the re-adopted job"

# --- forgetting a decommissioned worker -----------------------------------------------
ok "$MLQ" --scheduler "$SCHED_ADDR" admin worker rm w1
assert_contains "$ERR" "removed worker w1" "what worker rm says"
assert_eq - "$(worker_state w1)" "w1 in mlq workers after worker rm"
assert_eq UP "$(worker_state w2)" "w2 after w1 was removed"
assert_eq 1 "$(events_of worker_removed w1)" "worker_removed events of w1"
ok "$MLQ" --scheduler "$SCHED_ADDR" admin users --json
assert_eq '["w2"]' "$(json "sorted(u['name'] for u in d['users'] if u['role'] == 'worker')" <<<"$OUT")" \
    "worker keys after worker rm"
expect_rc 4 "$MLQ" --scheduler "$SCHED_ADDR" admin worker rm w1
# forgotten across a restart too (its row is gone)
stop_pid "$SCHED_PID"
start_scheduler "$STATE" --heartbeat 1s --lease "${LEASE}s"
assert_eq - "$(worker_state w1)" "w1 in mlq workers after a restart"
