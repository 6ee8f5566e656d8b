#!/usr/bin/env bash
# Chaos part, spool full when a job ends: the worker's spool (a small tmpfs)
# fills up while a job runs, and the job exits 0 before space returns. The
# shim cannot write the outcome (the test takes away the blocks the worker
# reserved for it); it must keep it and write it once it can:
#   - while the spool is full the attempt stays RUNNING (not LOST, no second
#     attempt, nothing requeued), past the worker's lease;
#   - once the filler is deleted the job ends SUCCEEDED with exit code 0, on
#     its first attempt, having run exactly once.
# Needs root (mount); skipped otherwise. The tmpfs is unmounted at exit.
IT_DEADLINE=${IT_DEADLINE:-120}
# shellcheck disable=SC2034 # read by lib.sh
CHAOS_NEEDS="root mount"
# shellcheck source=tests/chaos/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

STATE=$T/state
STAMPS=$T/stamps
SPOOL=$T/spool-w1
mkdir -p "$STATE" "$STAMPS" "$SPOOL"
mount -t tmpfs -o size=4m mlq-chaos-spool "$SPOOL" || fail "mount tmpfs on $SPOOL"
chaos_on_exit "umount $SPOOL 2>/dev/null || umount -l $SPOOL"

start_scheduler "$STATE" --heartbeat 1s --lease 3s --kill-grace 1s
start_worker w1 "$SPOOL" --cpus 2 --mem 2G --gpus 0 --heartbeat 1s

run "$MLQ" submit --scheduler "$SCHED_ADDR" --name full-end --cpus 0.5 --mem 32M -- \
    python3 -S "$CHAOS_JOB" "$STAMPS" "go:$T/go" ok 0
[ "$RC" = 0 ] || fail "submit: exit $RC: $ERR"
J=$OUT
echo "full-end $J" >"$T/acked"
echo "full-end SUCCEEDED 0 1" >"$T/expect"
wait_state "$J" RUNNING 20
# The worker records the scheduler's acknowledgement of the start in the
# spool: let it do so before the spool fills.
wait_until "$MLQ_SRC_DIR/tests/integration/spooljournal.py $SPOOL | grep -q acked_started" 10 || fail "start never acknowledged"
# The worker reserved the blocks of the attempt's status file when it made
# the folder (so that a full spool cannot keep an outcome out): take that
# reservation away, as a file system without fallocate would lack it, so
# that what follows tests the shim's own retries.
A=$(sql "SELECT id FROM attempts WHERE job_id = '$J'")
printf x >"$SPOOL/attempts/$A/status" && truncate -s 0 "$SPOOL/attempts/$A/status"
# The standby shim's prepared folder stays while the worker is idle (it is
# only used or removed at the next assignment), so it frees no page once the
# spool is full.

# Down to the last page (a status file needs one).
dd if=/dev/zero of="$SPOOL/filler" bs=64k 2>/dev/null || true
dd if=/dev/zero of="$SPOOL/filler2" bs=4k 2>/dev/null || true
log "spool full: $(df -k --output=avail "$SPOOL" | tail -n 1 | tr -d ' ') KiB free"
touch "$T/go" # the job exits 0 now, with nowhere to write its outcome
wait_until "grep -q '^END' $STAMPS/$J" 10 || fail "the job did not end"
t0=$(now_ms)
# Longer than the lease and a few report re-sends: nothing may change.
while [ $(($(now_ms) - t0)) -lt 6000 ]; do
    st=$(job_state "$J")
    [ "$st" = RUNNING ] || fail "job $st while its outcome waits for spool space ($(sql "SELECT num, state, detail FROM attempts WHERE job_id = '$J'"))"
    sleep 0.5
done
assert_eq 1 "$(sql "SELECT count(*) FROM attempts WHERE job_id = '$J'")" "attempts while the spool is full"

rm -f "$SPOOL/filler" "$SPOOL/filler2"
t0=$(now_ms)
expect_rc 0 mlq wait "$J" --timeout 30s
REC_MS=$(($(now_ms) - t0))
ok mlq status "$J" --json
assert_eq SUCCEEDED "$(json "d['state']" <<<"$OUT")" "state"
assert_eq 1 "$(json "d['attempt']" <<<"$OUT")" "attempts"
assert_eq 1 "$(sql "SELECT count(*) FROM attempts WHERE job_id = '$J'")" "attempt rows"
integrity
run python3 "$CHAOS_CHECK" --db "$STATE/mlq.db" --stamps "$STAMPS" --expect "$T/expect" --acked "$T/acked"
printf '%s\n' "$ERR" >&2
[ "$RC" = 0 ] || fail "outcomes are wrong ($OUT)"
summary spool-full-end "$OUT outcome_recorded_after=$(secs "$REC_MS")s"
