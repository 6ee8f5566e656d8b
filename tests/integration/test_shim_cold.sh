#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# The cold path: a worker idle for longer than any of its timers (the
# heartbeats, registration retries, the standby's reply wait and its retry,
# report and upload re-sends: 5 s at most) still starts the next job with
# the standby shim it started before the pause, in the steps of a busy
# run: the standby's prepared folder becomes the attempt's (renamed, same
# inode), the standby forks the attempt's shim as a child of the worker,
# and mlq-shim is not executed again. COLD_IDLE_S (default 12) sets the
# pause. The worker runs mlq-shim through a wrapper that logs each exec.
IDLE_S=${COLD_IDLE_S:-12}
IT_DEADLINE=$((120 + IDLE_S))
. "$(dirname "$0")/lib.sh" "$@"

SPOOL=$T/spool-w1
EXECS=$T/shim-execs
shim_exec_logger "$T/shim-wrap" "$EXECS"
mkdir -p "$T/out"

start_scheduler "$T/state" --heartbeat 1s --lease 15s
start_worker w1 "$SPOOL" --cpus 8 --mem 4G --gpus 0 --heartbeat 1s --shim "$T/shim-wrap"

# The standby's prepared folder and its inode ("" when there is none).
standby_dir() { find "$SPOOL/attempts" -maxdepth 1 -name '.tmp-standby-*' | head -n1; }
# Starts one job that stamps its first instruction and then waits for
# release (its folder stays until it ends): the job id into JOB, submit ->
# stamp in ms into LAT.
sample() {
    local t0 stamp
    t0=$(date +%s%N)
    ok mlq submit --cpus 0.1 --mem 16M -- sh -c \
        'date +%s%N >"$0/$MLQ_JOB_ID"; while [ ! -e "$0/$MLQ_JOB_ID.go" ]; do sleep 0.05; done' "$T/out"
    JOB=$OUT
    wait_until "[ -s $T/out/$JOB ]" 30 || fail "job $JOB did not start"
    stamp=$(cat "$T/out/$JOB")
    LAT=$(((stamp - t0) / 1000000))
}
release() {
    touch "$T/out/$JOB.go"
    expect_rc 0 mlq wait "$JOB" --timeout 30s
}

warm=()
for _ in 1 2 3 4 5; do
    sample
    release
    warm+=("$LAT")
    sleep 0.3
done
wait_until '[ -n "$(standby_dir)" ]' 10 || fail "no standby ready after the warm jobs"
ZYGOTE=$(awk '/--standby/ {pid = $1} END {print pid}' "$EXECS")
[ -n "$ZYGOTE" ] || fail "no standby shim was executed: $(cat "$EXECS")"
execs_before=$(wc -l <"$EXECS")

log "idle for ${IDLE_S}s"
sleep "$IDLE_S"
pid_alive "$ZYGOTE" || fail "the standby $ZYGOTE went away while the worker idled"
SDIR=$(standby_dir)
[ -n "$SDIR" ] || fail "no prepared standby folder after the idle"
SINO=$(stat -c %i "$SDIR")

sample
cold=$LAT
A=$(job_field "$JOB" attempt_id)
assert_eq "$SINO" "$(stat -c %i "$SPOOL/attempts/$A")" "inode of $A's folder (the standby's prepared one)"
assert_eq "$execs_before" "$(wc -l <"$EXECS")" "execs of mlq-shim (none for the cold job): $(cat "$EXECS")"
SHIM=$(pidfile_pid "$SPOOL/attempts/$A/shim.pid")
[ -n "$SHIM" ] && [ "$SHIM" != "$ZYGOTE" ] || fail "shim.pid of $A names ${SHIM:-nobody}, not a forked shim"
pid_alive "$ZYGOTE" || fail "the standby $ZYGOTE is gone after serving the cold job"
assert_eq "$WORKER_PID" "$(awk '/^PPid:/ {print $2}' "/proc/$SHIM/status")" "parent of the cold job's shim (the worker)"
release
ok mlq status "$JOB" --json
assert_eq SUCCEEDED "$(json "d['state']" <<<"$OUT")" "cold job"
median=$(printf '%s\n' "${warm[@]}" | sort -n | sed -n 3p)
log "submit -> first instruction: warm ${warm[*]} ms (median $median), cold after ${IDLE_S}s: $cold ms"
