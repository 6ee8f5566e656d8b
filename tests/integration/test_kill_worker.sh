#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# kill -9 a worker daemon while jobs run: the jobs keep running under their
# shims; a worker restarted on the same spool re-adopts them and their
# outcomes are recorded exactly once -- both for a job that ends after the
# restart and for one that ends while no worker is there.
IT_DEADLINE=200
. "$(dirname "$0")/lib.sh" "$@"

STATE=$T/state
SPOOL=$T/spool-w1
start_scheduler "$STATE" --heartbeat 1s --lease 15s
start_worker w1 "$SPOOL" --cpus 2 --mem 1G --gpus 0 --heartbeat 1s
[ "$(pidfile_pid "$SPOOL/worker.pid")" = "$WORKER_PID" ] || fail "worker.pid does not name the worker"

sql() { sqlite3 "$STATE/mlq.db" "$1"; }

# F ends (exit 5) after the worker is back; S ends (exit 0) while it is away.
ok mlq submit --name f --cpus 0.5 --mem 64M -- sh -c \
    'echo $$ >> "$1"; while [ ! -e "$2" ]; do sleep 0.1; done; exit 5' f "$T/f.pids" "$T/f.go"
F=$OUT
ok mlq submit --name s --cpus 0.5 --mem 64M -- sh -c \
    'echo $$ >> "$1"; while [ ! -e "$2" ]; do sleep 0.1; done; exit 0' s "$T/s.pids" "$T/s.go"
S=$OUT
wait_state "$F" RUNNING 30
wait_state "$S" RUNNING 30
wait_until "[ -s $T/f.pids ] && [ -s $T/s.pids ]" 10 || fail "jobs did not start"
fpid=$(head -n1 "$T/f.pids")
spid=$(head -n1 "$T/s.pids")
FA=$(job_field "$F" attempt_id)
SA=$(job_field "$S" attempt_id)
[ -d "$SPOOL/attempts/$FA" ] || fail "no spool folder for attempt $FA"
[ -s "$SPOOL/attempts/$FA/shim.pid" ] || fail "no shim.pid for attempt $FA"

OLD_WORKER=$WORKER_PID
kill -KILL "$OLD_WORKER"
wait "$OLD_WORKER" 2>/dev/null || true
sleep 0.5
pid_alive "$fpid" || fail "job f died with its worker"
pid_alive "$spid" || fail "job s died with its worker"

# s ends while no worker is running
touch "$T/s.go"
wait_until "! pid_alive $spid" 10 || fail "job s did not end"
sleep 0.5
st=$(job_state "$S")
case "$st" in RUNNING | ASSIGNED) ;; *) fail "job s is $st while its worker is down (nobody could know it ended)" ;; esac

start_worker w1 "$SPOOL" --cpus 2 --mem 1G --gpus 0 --heartbeat 1s
[ "$WORKER_PID" != "$OLD_WORKER" ] || fail "worker did not restart"
# one worker per spool: a second one on the same spool is refused
run timeout 10 "$MLQ_WORKER_BIN" --scheduler "$SCHED_ADDR" --name w1-twin --cpus 1 --mem 1G \
    --gpus 0 --spool "$SPOOL" "${IT_WORKER_KEYS[@]}"
case "$RC" in 0 | 124) fail "a second worker on the same spool was not refused (exit $RC)" ;; esac
assert_contains "$ERR" "$WORKER_PID" "refusal names the worker holding the spool"
pid_alive "$WORKER_PID" || fail "the refused twin stopped the worker"
expect_rc 0 mlq wait "$S" --timeout 30s
pid_alive "$fpid" || fail "job f died when the worker restarted"
assert_eq RUNNING "$(job_state "$F")" "job f after its worker came back"

touch "$T/f.go"
expect_rc 1 mlq wait "$F" --timeout 30s

ok mlq status "$F" --json
assert_eq FAILED "$(json "d['state']" <<<"$OUT")" "job f"
assert_eq 5 "$(json "d['exit_code']" <<<"$OUT")" "job f exit code"
assert_eq 1 "$(json "d['attempt']" <<<"$OUT")" "job f attempts"
assert_eq "$FA" "$(json "d['attempt_id']" <<<"$OUT")" "job f attempt id unchanged"
ok mlq status "$S" --json
assert_eq SUCCEEDED "$(json "d['state']" <<<"$OUT")" "job s"
assert_eq 0 "$(json "d['exit_code']" <<<"$OUT")" "job s exit code"
assert_eq 1 "$(json "d['attempt']" <<<"$OUT")" "job s attempts"
assert_eq 1 "$(wc -l <"$T/f.pids")" "job f started once"
assert_eq 1 "$(wc -l <"$T/s.pids")" "job s started once"

# the history: one attempt per job, one finish per attempt, one terminal
# state change per job
for pair in "$F:$FA:FAILED" "$S:$SA:SUCCEEDED"; do
    IFS=: read -r j a final <<<"$pair"
    assert_eq 1 "$(sql "SELECT count(*) FROM attempts WHERE job_id='$j'")" "attempt rows of $j"
    assert_eq 1 "$(sql "SELECT count(*) FROM events WHERE attempt_id='$a'
        AND to_state IN ('SUCCEEDED','FAILED','CANCELLED','TIMED_OUT','LOST')")" "finish events of attempt $a"
    assert_eq 1 "$(sql "SELECT count(*) FROM events WHERE job_id='$j' AND kind='state'
        AND to_state IN ('SUCCEEDED','FAILED','CANCELLED','TIMED_OUT')")" "terminal state events of $j"
    assert_eq "$final" "$(sql "SELECT to_state FROM events WHERE job_id='$j' AND kind='state' ORDER BY seq DESC LIMIT 1")" \
        "last state event of $j"
done

# the restarted worker works normally
ok mlq submit -- sh -c 'echo after-restart'
N=$OUT
expect_rc 0 mlq wait "$N" --timeout 30s
ok mlq logs "$N"
assert_eq after-restart "$OUT" "job on the restarted worker"
ok mlq logs "$F"
ok mlq workers --json
assert_eq "UP 0" "$(json "' '.join(str(x) for x in (d['workers'][0]['state'], d['workers'][0]['running']))" <<<"$OUT")" \
    "worker state after everything ended"
assert_eq 1 "$(json "len(d['workers'])" <<<"$OUT")" "one worker, not a duplicate after restart"
run sqlite3 "$STATE/mlq.db" 'PRAGMA integrity_check'
assert_eq ok "$OUT" "integrity_check"
