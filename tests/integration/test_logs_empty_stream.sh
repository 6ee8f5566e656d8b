#!/usr/bin/env bash
# An output stream a job left empty is stored as a mark on its attempt, not
# as a file: the scheduler's log folder holds only the streams with bytes,
# and `mlq logs` of an empty one prints nothing and exits 0, from the
# scheduler alone once the worker is gone.
IT_DEADLINE=90
. "$(dirname "$0")/lib.sh" "$@"

start_scheduler "$T/state"
start_worker w1 "$T/spool-w1" --cpus 2 --mem 1G --gpus 0

ok mlq submit -- sh -c 'echo out-only'
J1=$OUT
ok mlq submit -- true
J2=$OUT
wait_state "$J1" SUCCEEDED 30
wait_state "$J2" SUCCEEDED 30
# both attempts' streams uploaded and acknowledged: one with bytes, three empty
uploaded() { [ "$(grep -c ": logs uploaded" "$T/logs/worker-w1.log")" -ge 2 ]; }
wait_until uploaded 30 || fail "the logs of both attempts were not uploaded"

files=$(find "$T/state/logs" -type f | sort)
assert_eq 1 "$(grep -c . <<<"$files")" "one stored log file (stdout of $J1), found: $files"
assert_contains "$files" ".stdout" "the stream with bytes is a file"
assert_eq 9 "$(stat -c %s "$files")" "its size"

stop_pid "$WORKER_PID" # now only the scheduler can answer
ok mlq logs "$J1"
assert_eq "out-only" "$OUT" "stdout of $J1"
ok mlq logs "$J1" --stderr
assert_eq "" "$OUT" "empty stderr of $J1"
ok mlq logs "$J2"
assert_eq "" "$OUT" "empty stdout of $J2"
ok mlq logs "$J2" --stderr
assert_eq "" "$OUT" "empty stderr of $J2"
log "ok"
