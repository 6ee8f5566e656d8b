#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# Spool clean-up: an attempt folder (the job's whole output) stays while the
# job runs, so `mlq logs` is relayed from it, and is removed once the
# outcome is acknowledged and the logs are at the scheduler; `mlq logs`
# then still returns the whole output, from the scheduler. A refused
# assignment leaves no folder, and a restarted worker removes a finished
# folder left behind (as by a crash or an older version) at start.
IT_DEADLINE=120
. "$(dirname "$0")/lib.sh" "$@"

SPOOL=$T/spool-w1
start_scheduler "$T/state"
start_worker w1 "$SPOOL" --cpus 2 --mem 1G --gpus 0
W=$WORKER_PID

# attempt_dirs: attempt folders (canonical ids) in the spool, one a line.
attempt_dirs() {
    find "$SPOOL/attempts" -mindepth 1 -maxdepth 1 -type d \
        -regextype posix-extended -regex '.*/[0-9a-f]{8}-[0-9a-f-]{27}' | sort
}

# More than one log chunk (1 MiB), then it waits for go.
ok mlq submit --name big -- sh -c '
seq 1 300000; echo err-1 >&2
while [ ! -e "$1/go" ]; do sleep 0.1; done
echo last' big "$T"
J=$OUT
wait_state "$J" RUNNING 30
wait_until "[ \$(attempt_dirs | wc -l) = 1 ]" 10 || fail "no attempt folder for the running job"
DIR=$(attempt_dirs)
wait_until "[ -s $DIR/stdout ] && [ \$(wc -l <$DIR/stdout) = 300000 ]" 15 || fail "job output not written"
ok mlq logs "$J"
assert_eq 300000 "$(printf '%s\n' "$OUT" | wc -l)" "lines of the running job's log (relayed)"

touch "$T/go"
expect_rc 0 mlq wait "$J" --timeout 30s
wait_until "[ ! -e $DIR ]" 20 || fail "attempt folder still there after the job ended: $(ls -a "$DIR")"
assert_eq "" "$(attempt_dirs)" "attempt folders left"
assert_eq "" "$(find "$SPOOL/attempts" -mindepth 1 -maxdepth 1 -name '.trash-*')" "trash left"
"$MLQ_SRC_DIR"/tests/integration/spooljournal.py "$SPOOL" "$(basename "$DIR")" | grep -q ',done$' ||
    fail "no done record for the removed attempt: $("$MLQ_SRC_DIR"/tests/integration/spooljournal.py "$SPOOL")"
[ -n "$(find "$SPOOL/attempts" -mindepth 1 -maxdepth 1 -name '.pool-*')" ] || fail "the folder was not recycled"
ok mlq logs "$J"
assert_eq "$(seq 1 300000; echo last)" "$OUT" "the whole stdout, from the scheduler"
ok mlq logs --stderr "$J"
assert_eq err-1 "$OUT" "stderr, from the scheduler"

# A quick one, and the folder left behind by a crash is swept at start.
ok mlq submit --name quick -- sh -c 'echo quick'
Q=$OUT
expect_rc 0 mlq wait "$Q" --timeout 30s
wait_until "[ -z \"\$(attempt_dirs)\" ]" 20 || fail "quick job's folder not removed"
stop_pid "$W"
fake=$SPOOL/attempts/0123abcd-0000-4000-8000-000000000000
mkdir -p "$fake"
for f in status acked_started acked_finished logs_uploaded; do echo x >"$fake/$f"; done
echo out >"$fake/stdout"
mkdir -p "$SPOOL/attempts/.trash-0123abcd-0000-4000-8000-000000000001"
start_worker w1 "$SPOOL" --cpus 2 --mem 1G --gpus 0
[ ! -e "$fake" ] || fail "a finished folder left in the spool was not removed at start"
[ ! -e "$SPOOL/attempts/.trash-0123abcd-0000-4000-8000-000000000001" ] || fail "trash not removed at start"
ok mlq logs "$Q"
assert_eq quick "$OUT" "log of the quick job after the worker restart"
