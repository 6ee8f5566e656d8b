#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# kill -9 the scheduler: every acknowledged job survives, a running job keeps
# running through the restart and its outcome is recorded once, the database
# passes integrity_check; then kills at random moments during a burst of
# submits lose no id that `mlq submit` printed.
IT_DEADLINE=270
. "$(dirname "$0")/lib.sh" "$@"

STATE=$T/state
SCHED_ARGS=(--heartbeat 1s --lease 5s)
start_scheduler "$STATE" "${SCHED_ARGS[@]}"
[ "$(pidfile_pid "$STATE/scheduler.pid")" = "$SCHED_PID" ] || fail "scheduler.pid does not name the scheduler"
start_worker w1 "$T/spool-w1" --cpus 1 --mem 1G --gpus 0 --heartbeat 1s

restart_scheduler() {
    kill -KILL "$SCHED_PID"
    wait "$SCHED_PID" 2>/dev/null || true
    start_scheduler "$STATE" "${SCHED_ARGS[@]}"
}

integrity() {
    run sqlite3 "$STATE/mlq.db" 'PRAGMA integrity_check'
    assert_eq 0 "$RC" "sqlite3 on mlq.db ($ERR)"
    assert_eq ok "$OUT" "PRAGMA integrity_check"
}

# --- one long job running, three queued behind it --------------------------
# The long job runs until the test creates $T/go (at most 60 s), so that a
# slow machine cannot end it before the restart has been checked.
ok mlq submit --name long --cpus 1 --mem 64M -- sh -c 'echo $$ >> "$1"; i=0; while [ ! -e "$2" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; exit 0' long "$T/long.pids" "$T/go"
L=$OUT
Q=()
for i in 1 2 3; do
    ok mlq submit --name "q$i" --cpus 1 --mem 64M -- sh -c 'echo "$MLQ_JOB_ID" >> "$1"' q "$T/q.ran"
    Q+=("$OUT")
done
wait_state "$L" RUNNING 30
wait_until "[ -s $T/long.pids ]" 10 || fail "long job did not start"
lpid=$(head -n1 "$T/long.pids")

restart_scheduler
pid_alive "$lpid" || fail "the running job died with the scheduler"

# everything acknowledged is still there
ok mlq status "$L" "${Q[@]}" --json
for j in "$L" "${Q[@]}"; do
    ok mlq status "$j" --json
    assert_eq "$j" "$(json "d['id']" <<<"$OUT")" "job $j after the restart"
done
st=$(job_state "$L")
case "$st" in ASSIGNED | RUNNING) ;; *) fail "long job is $st right after the restart" ;; esac
pid_alive "$lpid" || fail "the running job died after the restart"

touch "$T/go"
expect_rc 0 mlq wait "$L" "${Q[@]}" --timeout 90s
ok mlq status "$L" --json
assert_eq SUCCEEDED "$(json "d['state']" <<<"$OUT")" "long job"
assert_eq 0 "$(json "d['exit_code']" <<<"$OUT")" "long job exit code"
assert_eq 1 "$(json "d['attempt']" <<<"$OUT")" "long job ran in one attempt"
assert_eq 1 "$(wc -l <"$T/long.pids")" "long job started once"
assert_eq 3 "$(sort -u "$T/q.ran" | wc -l)" "queued jobs ran"
assert_eq 3 "$(wc -l <"$T/q.ran")" "queued jobs ran once each"
integrity

# --- kills at random moments during a burst of submits ----------------------
: >"$T/acked"
# The submitter keeps going until the killer is done, so that every kill
# lands in the middle of the burst.
(
    i=0
    while [ ! -e "$T/burst.stop" ]; do
        i=$((i + 1))
        id=$("$MLQ" submit --scheduler "$SCHED_ADDR" --timeout 3s --cpus 0.1 --mem 16M \
            --name "burst$i" -- true 2>>"$T/logs/burst-submit.log") && echo "$id" >>"$T/acked"
    done
) &
SUBMITTER=$!
IT_PIDS+=("$SUBMITTER")
wait_until "[ \$(wc -l <$T/acked) -ge 5 ]" 30 || fail "burst submits do not get through"
for k in 1 2 3 4; do
    sleep "$((RANDOM % 2)).$((RANDOM % 10))"
    log "kill $k of the scheduler during the burst ($(wc -l <"$T/acked") acked so far)"
    restart_scheduler
    before=$(wc -l <"$T/acked")
    wait_until "[ \$(wc -l <$T/acked) -gt $before ]" 30 || fail "submits do not get through after restart $k"
done
touch "$T/burst.stop"
wait_until "! pid_alive $SUBMITTER" 30 || fail "burst submitter hung"
wait "$SUBMITTER" || true
mapfile -t ACKED <"$T/acked"
log "${#ACKED[@]} submits acknowledged across 4 scheduler kills"
[ "${#ACKED[@]}" -ge 10 ] || fail "too few submits acknowledged: ${#ACKED[@]}"
for j in "${ACKED[@]}"; do
    [[ "$j" =~ ^[0-9a-f-]{36}$ ]] || fail "submit printed [$j]"
done
# One request for all of them: an id that is not found fails it (exit 4).
expect_rc 0 mlq status "${ACKED[@]}" --json
assert_eq "${#ACKED[@]}" "$(json "len(set(j['id'] for j in d['jobs']))" <<<"$OUT")" \
    "acknowledged jobs found, each once"
expect_rc 0 mlq wait "${ACKED[@]}" --timeout 120s
integrity
