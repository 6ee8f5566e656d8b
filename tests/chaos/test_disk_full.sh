#!/usr/bin/env bash
# Chaos part 5, disk full: the scheduler's state dir on a small tmpfs
# (size=8m), filled up mid-workload by a file in the same filesystem.
#   - submissions fail with a clear error (not 0, not "unreachable", a
#     message about the disk or the database), print no id, and leave no
#     job behind;
#   - reads (list, status, workers) keep working, jobs already running end
#     and are recorded once space returns;
#   - the database passes PRAGMA integrity_check while full and after;
#   - once the filler is deleted, submissions work again without
#     restarting anything.
# Then the same for a worker's spool (also a small tmpfs): an assignment it
# cannot write is refused with a clear detail (attempt LOST, no retry used),
# the worker keeps running, and takes the job once space returns.
# Needs root (mount); skipped otherwise. The tmpfs are unmounted at exit.
IT_DEADLINE=${IT_DEADLINE:-240}
# shellcheck disable=SC2034 # read by lib.sh
CHAOS_NEEDS="root mount"
# shellcheck source=tests/chaos/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

STATE=$T/state
STAMPS=$T/stamps
mkdir -p "$STATE" "$STAMPS"
mount -t tmpfs -o size=8m mlq-chaos-state "$STATE" || fail "mount tmpfs on $STATE"
chaos_on_exit "umount $STATE 2>/dev/null || umount -l $STATE"
: >"$T/acked"
: >"$T/expect"

start_scheduler "$STATE" --heartbeat 1s --lease 4s --kill-grace 1s
SPID=$SCHED_PID
start_worker w1 "$T/spool-w1" --cpus 4 --mem 4G --gpus 0 --heartbeat 1s

# submit NAME DURATION_MS: sets RC, OUT (the id), ERR.
submit() {
    run "$MLQ" submit --scheduler "$SCHED_ADDR" --timeout 5s --name "$1" --cpus 0.5 --mem 32M -- \
        python3 -S "$CHAOS_JOB" "$STAMPS" "$2" ok 0
    if [ "$RC" = 0 ]; then
        echo "$1 $OUT" >>"$T/acked"
        echo "$1 SUCCEEDED 0 1" >>"$T/expect"
    fi
}
free_kb() { df -k --output=avail "$STATE" | tail -n 1 | tr -d ' '; }

# --- a workload, some of it still running when the disk fills --------------
for i in $(seq 1 20); do
    submit "before$i" 200
    [ "$RC" = 0 ] || fail "submit before the disk filled: exit $RC: $ERR"
done
for i in 1 2 3; do
    submit "long$i" 6000
    [ "$RC" = 0 ] || fail "submit before the disk filled: exit $RC: $ERR"
done
LONG=$(awk '$1 ~ /^long/ { print $2 }' "$T/acked")
for j in $LONG; do wait_state "$j" RUNNING 20; done

# --- fill it ------------------------------------------------------------------
dd if=/dev/zero of="$STATE/filler" bs=64k 2>/dev/null || true
log "state dir full: $(free_kb) KiB free, mlq.db* $(du -ck "$STATE"/mlq.db* | tail -n 1 | cut -f1) KiB"
# The WAL may still have room in pages it already owns: keep submitting
# until the database needs a page it cannot get (a few hundred at most).
n=0
while :; do
    n=$((n + 1))
    submit "full$n" 100
    [ "$RC" = 0 ] || break
    [ "$n" -lt 2000 ] || fail "2000 submits acknowledged on a full disk"
done
FULL_OK=$((n - 1))
log "first failed submit after $FULL_OK more on the full disk: exit $RC: $ERR"
[ "$RC" != 3 ] || fail "submit on a full disk: the scheduler looks unreachable (exit 3): $ERR"
[ -z "$OUT" ] || fail "a failed submit printed [$OUT]"
shopt -s nocasematch
[[ "$ERR" =~ disk|space|full|database|storage ]] || fail "submit on a full disk: unclear error: $ERR"
shopt -u nocasematch
pid_alive "$SPID" || fail "the scheduler died when the disk filled"
FAILED_SUBMITS=1
for i in 1 2 3; do
    submit "fail$i" 100
    [ "$RC" != 0 ] || fail "submit $i acknowledged after one had failed for a full disk ($OUT)"
    [ "$RC" != 3 ] || fail "submit on a full disk: the scheduler looks unreachable (exit 3): $ERR"
    FAILED_SUBMITS=$((FAILED_SUBMITS + 1))
done

# Reads keep working.
ok mlq list --json
mapfile -t some < <(awk '{ print $2 }' "$T/acked" | head -n 5)
ok mlq status "${some[@]}" --json
ok mlq workers --json
integrity

# The long jobs end while the disk is full; their outcome must not be lost.
sleep 7

# --- free it ---------------------------------------------------------------------
rm -f "$STATE/filler"
t0=$(now_ms)
n=0
while :; do
    n=$((n + 1))
    submit "after$n" 100
    [ "$RC" = 0 ] && break
    [ $(($(now_ms) - t0)) -lt 15000 ] || fail "submits still fail 15 s after space returned: exit $RC: $ERR"
    sleep 0.2
done
REC_MS=$(($(now_ms) - t0))
log "submits work again $(secs "$REC_MS") s after space returned"
assert_eq "$SPID" "$SCHED_PID" "scheduler pid (no restart)"
pid_alive "$SPID" || fail "the scheduler died"
for i in 1 2 3 4 5; do
    submit "later$i" 100
    [ "$RC" = 0 ] || fail "submit after recovery: exit $RC: $ERR"
done

# Everything acknowledged ends, recorded once; nothing else was written.
mapfile -t IDS < <(awk '{ print $2 }' "$T/acked")
for ((i = 0; i < ${#IDS[@]}; i += 500)); do
    expect_rc 0 mlq wait "${IDS[@]:i:500}" --timeout 90s
done
assert_eq "${#IDS[@]}" "$(sql 'SELECT count(*) FROM jobs')" "jobs in the database (acknowledged submits only)"
integrity
run python3 "$CHAOS_CHECK" --db "$STATE/mlq.db" --stamps "$STAMPS" --expect "$T/expect" --acked "$T/acked"
printf '%s\n' "$ERR" >&2
[ "$RC" = 0 ] || fail "outcomes are wrong ($OUT)"
FIG=$OUT

# --- a worker's spool -------------------------------------------------------------
# w1 goes away (and is DOWN at once, as it says goodbye, so that nothing is
# placed on it): wf, on a full spool, is the only worker.
stop_pid "$WORKER_PID"
wait_until "mlq workers --json | json \"[w['state'] for w in d['workers'] if w['name'] == 'w1'][0]\" | grep -qx DOWN" 15 ||
    fail "w1 not DOWN after it stopped"
SPOOL=$T/spool-wf
mkdir -p "$SPOOL"
mount -t tmpfs -o size=4m mlq-chaos-spool "$SPOOL" || fail "mount tmpfs on $SPOOL"
chaos_on_exit "umount $SPOOL 2>/dev/null || umount -l $SPOOL"
start_worker wf "$SPOOL" --cpus 4 --mem 4G --gpus 0 --heartbeat 1s
WF=$WORKER_PID
dd if=/dev/zero of="$SPOOL/filler" bs=64k 2>/dev/null || true
log "spool full: $(df -k --output=avail "$SPOOL" | tail -n 1 | tr -d ' ') KiB free"
submit spool 100
[ "$RC" = 0 ] || fail "submit for the full spool: exit $RC: $ERR"
J=$OUT
wait_until "[ \"\$(sql \"SELECT state FROM attempts WHERE job_id = '$J' AND num = 1\")\" = 6 ]" 20 ||
    fail "the assignment to a full spool was not refused ($(job_state "$J"))"
rm -f "$SPOOL/filler"
detail=$(sql "SELECT detail FROM attempts WHERE job_id = '$J' AND num = 1")
log "refused: $detail"
shopt -s nocasematch
[[ "$detail" =~ refused && "$detail" =~ disk|space|full|spool|write ]] ||
    fail "the refusal does not say why: $detail"
shopt -u nocasematch
pid_alive "$WF" || fail "the worker died when its spool filled"
# The retry (without using a retry) runs on the same worker, now with room.
expect_rc 0 mlq wait "$J" --timeout 30s
ok mlq status "$J" --json
assert_eq 2 "$(json "d['attempt']" <<<"$OUT")" "attempts of the refused job"
assert_eq 0 "$(json "d.get('node_failures')" <<<"$OUT")" "node failures of the refused job (the worker's fault)"
assert_eq wf "$(json "d['worker']" <<<"$OUT")" "worker of the refused job"
submit spool2 100
[ "$RC" = 0 ] || fail "submit after the spool recovered: exit $RC: $ERR"
expect_rc 0 mlq wait "$OUT" --timeout 30s
integrity
run python3 "$CHAOS_CHECK" --db "$STATE/mlq.db" --stamps "$STAMPS" --expect "$T/expect" --acked "$T/acked"
printf '%s\n' "$ERR" >&2
[ "$RC" = 0 ] || fail "outcomes are wrong after the spool filled ($OUT)"
summary disk-full "$FIG failed_submits=$FAILED_SUBMITS acked_while_full=$FULL_OK recovery=$(secs "$REC_MS")s" \
    "spool_refused=1"
