#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# A spool of the earlier layout (format 1: marker files, whole-file status
# and shim.pid, no journal, no folder pool) left by a worker killed with
# SIGKILL is adopted by this worker: an attempt still running is reported
# when it ends, one that ended while no worker ran is reported at once,
# both ran once and keep their logs; the spool is marked format 2 and the
# finished attempt's folder is recycled. The spool is made by this worker
# and then rewritten into format 1's files, as an earlier worker left them.
IT_DEADLINE=120
. "$(dirname "$0")/lib.sh" "$@"
SPOOL=$T/spool-w1
JOURNAL=$MLQ_SRC_DIR/tests/integration/spooljournal.py
start_scheduler "$T/state"
start_worker w1 "$SPOOL" --cpus 2 --mem 1G --gpus 0
W=$WORKER_PID

ok mlq submit --cpus 0.1 --mem 16M -- sh -c 'echo run-out; while [ ! -e "$1" ]; do sleep 0.1; done; echo run-end' r "$T/go-r"
R=$OUT
ok mlq submit --cpus 0.1 --mem 16M -- sh -c 'echo fin-out; while [ ! -e "$1" ]; do sleep 0.1; done; exit 3' f "$T/go-f"
F=$OUT
wait_state "$R" RUNNING 30
wait_state "$F" RUNNING 30
RA=$(job_field "$R" attempt_id)
FA=$(job_field "$F" attempt_id)
wait_until "python3 $JOURNAL $SPOOL $RA | grep -q acked_started && python3 $JOURNAL $SPOOL $FA | grep -q acked_started" 15 ||
    fail "starts not acknowledged: $(python3 "$JOURNAL" "$SPOOL")"
kill -KILL "$W"
wait_until "! pid_alive $W" 5 || fail "worker still alive"
touch "$T/go-f"
wait_until "[ -s $SPOOL/attempts/$FA/status ]" 15 || fail "the finished job's shim wrote no status"

# Rewrite into format 1: records to whole files, journal to marker files.
for d in "$SPOOL"/attempts/*-*-*-*-*/; do
    for f in shim.pid status manifest cgroup cgroup_v1; do
        p=$d$f
        [ -e "$p" ] || continue
        if [ ! -s "$p" ]; then
            rm -f "$p"
        elif [ "$(head -c 5 "$p")" = "MLQR " ]; then
            tail -n +2 "$p" >"$p.tmp" && mv "$p.tmp" "$p"
        fi
    done
    id=$(basename "$d")
    python3 "$JOURNAL" "$SPOOL" "$id" | grep -q acked_started && echo 1 >"$d/acked_started"
done
rm -rf "$SPOOL/journal" "$SPOOL"/attempts/.pool-*
echo "mlq-spool 1" >"$SPOOL/format"
grep -q '^outcome=exited' "$SPOOL/attempts/$FA/status" || fail "status not in format 1: $(cat "$SPOOL/attempts/$FA/status")"
[ -e "$SPOOL/attempts/$RA/acked_started" ] || fail "no acked_started marker written"

start_worker w1 "$SPOOL" --cpus 2 --mem 1G --gpus 0
assert_eq "mlq-spool 2" "$(cat "$SPOOL/format")" "the spool's format after the start"
expect_rc 1 mlq wait "$F" --timeout 30s
ok mlq status "$F" --json
assert_eq FAILED "$(json "d['state']" <<<"$OUT")" "the job that ended while no worker ran"
assert_eq 3 "$(json "d['exit_code']" <<<"$OUT")" "its exit code"
assert_eq 1 "$(json "d['attempt']" <<<"$OUT")" "its attempts"
assert_eq RUNNING "$(job_state "$R")" "the adopted running job"
touch "$T/go-r"
expect_rc 0 mlq wait "$R" --timeout 30s
ok mlq status "$R" --json
assert_eq 1 "$(json "d['attempt']" <<<"$OUT")" "attempts of the adopted job"
ok mlq logs "$R"
assert_eq "$(printf 'run-out\nrun-end')" "$OUT" "the adopted job's whole log"
ok mlq logs "$F"
assert_eq fin-out "$OUT" "the finished job's log"
wait_until "[ ! -e $SPOOL/attempts/$FA ] && [ ! -e $SPOOL/attempts/$RA ]" 20 || fail "folders of the done attempts left"
python3 "$JOURNAL" "$SPOOL" "$FA" | grep -q ',done$' || fail "no done record for $FA"
