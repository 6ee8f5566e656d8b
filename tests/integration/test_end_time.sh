#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# A job that ends while the scheduler is down is recorded with the time it
# really ended (its worker's clock, read once when the shim wrote the
# outcome), not with the time the restarted scheduler heard of it: a 2 s run
# stays a 2 s run in the attempt, the job and fair share, however long the
# outage.
IT_DEADLINE=120
. "$(dirname "$0")/lib.sh" "$@"

STATE=$T/state
SPOOL=$T/spool-w1
start_scheduler "$STATE" --heartbeat 1s --lease 60s
start_worker w1 "$SPOOL" --cpus 1 --mem 1G --heartbeat 1s

sql() { sqlite3 -cmd '.timeout 5000' "$STATE/mlq.db" "$1"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# The job waits for the go file, then runs 2 s.
ok mlq submit --cpus 0.5 --mem 64M -- sh -c \
    'while [ ! -e "$1" ]; do sleep 0.05; done; sleep 2' job "$T/go"
J=$OUT
wait_state "$J" RUNNING 30
A=$(job_field "$J" attempt_id)

stop_pid "$SCHED_PID"
pid_alive "$SCHED_PID" && fail "the scheduler did not stop"
GO=$(now_ms)
touch "$T/go"
wait_until "[ -s $SPOOL/attempts/$A/status ]" 15 || fail "the job did not end on its worker"
ENDED=$(now_ms)
sleep 4 # the scheduler stays down well past the job's end
start_scheduler "$STATE" --heartbeat 1s --lease 60s
wait_state "$J" SUCCEEDED 30

att_end=$(sql "SELECT end_ms FROM attempts WHERE id = '$A'")
job_end=$(sql "SELECT end_ms FROM jobs WHERE id = '$J'")
att_start=$(sql "SELECT start_ms FROM attempts WHERE id = '$A'")
log "go at $GO, status seen at $ENDED; recorded end $att_end (job $job_end), start $att_start"
# The run ended about 2 s after the go file; the scheduler heard of it 4 s
# or more after that. 0.5 s of slack for the job's polling and the shim.
[ "$att_end" -ge $((GO + 1900)) ] || fail "attempt end $att_end is before the run could end"
[ "$att_end" -le $((ENDED + 500)) ] ||
    fail "attempt end $att_end is $((att_end - ENDED)) ms after the job ended on its worker"
assert_eq "$att_end" "$job_end" "the job's end time"
run_ms=$((att_end - att_start))
waited_ms=$((GO - att_start))
[ "$run_ms" -le $((waited_ms + 2500)) ] ||
    fail "run time $run_ms ms for a job that waited $waited_ms ms and then ran 2 s"
