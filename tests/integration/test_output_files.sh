#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# mlq submit -o/--stdout FILE and -e/--stderr FILE: the job's output also
# goes to files on the worker (relative to the workdir, placeholders %j %a
# %A %%), while `mlq logs` keeps it as before; an unknown placeholder is
# refused (exit 6); a file that cannot be opened is a start failure.
IT_DEADLINE=120
. "$(dirname "$0")/lib.sh" "$@"

start_scheduler "$T/state"
start_worker w1 "$T/spool-w1" --cpus 2 --mem 1G --gpus 0
mkdir -p "$T/wd"

log "a job's stdout and stderr in files, and in mlq logs"
ok mlq submit --cpus 0.5 --mem 64M --workdir "$T/wd" -o 'out-%j-%A-100%%.log' --stderr "$T/err.log" \
    -- sh -c 'for i in 1 2 3; do echo "line $i"; done; echo oops >&2'
J=$OUT
wait_state "$J" SUCCEEDED 30
assert_eq "$(printf 'line 1\nline 2\nline 3')" "$(cat "$T/wd/out-$J-1-100%.log")" "stdout file"
assert_eq oops "$(cat "$T/err.log")" "stderr file"
ok mlq logs "$J"
assert_eq "$(printf 'line 1\nline 2\nline 3')" "$OUT" "mlq logs keeps the output too"
ok mlq logs "$J" --stderr
assert_eq oops "$OUT" "mlq logs --stderr"

log "output written while the job runs"
ok mlq submit --cpus 0.5 --mem 64M --workdir "$T/wd" -o live.log -- sh -c 'echo started; sleep 30'
L=$OUT
wait_until "[ \"\$(cat $T/wd/live.log 2>/dev/null)\" = started ]" 20 || fail "live output not in the file"
ok mlq cancel "$L"
wait_state "$L" CANCELLED 20

log "arrays: %a is the task index"
ok mlq submit --array 0-1 --cpus 0.5 --mem 64M --workdir "$T/wd" -o 'task-%a.log' -- \
    sh -c 'echo "task $MLQ_ARRAY_INDEX"'
A=$OUT
wait_state "$A/0" SUCCEEDED 30
wait_state "$A/1" SUCCEEDED 30
assert_eq "task 0" "$(cat "$T/wd/task-0.log")" "task 0's file"
assert_eq "task 1" "$(cat "$T/wd/task-1.log")" "task 1's file"

log "an unknown placeholder is refused"
expect_rc 6 mlq submit --cpus 0.5 --mem 64M -o 'x-%q.log' -- true
assert_contains "$ERR" "unknown placeholder %q" "message"

log "a file that cannot be opened: could not start"
ok mlq submit --retries 2 --cpus 0.5 --mem 64M -e "$T/no-such-dir/err.log" -- true
F=$OUT
wait_state "$F" FAILED 30
ok mlq status "$F" --json
assert_contains "$(json "d['reason']" <<<"$OUT")" \
    "could not start: cannot open output file $T/no-such-dir/err.log: no such directory" "reason"
assert_eq 1 "$(json "d['attempt']" <<<"$OUT")" "no retry"
log "ok"
