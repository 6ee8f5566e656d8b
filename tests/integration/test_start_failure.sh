#!/usr/bin/env bash
# A job that could not start (command not found, not executable, working
# directory missing) ends FAILED with a reason that says so, not as exit
# 127/126, and without using a retry: status, list, events and --json show it.
IT_DEADLINE=120
. "$(dirname "$0")/lib.sh" "$@"

start_scheduler "$T/state"
start_worker w1 "$T/spool-w1" --cpus 2 --mem 1G --gpus 0

# ended_with ID REASON: the job is FAILED, without exit code, the reason in
# status (human and --json), in its events and in the list.
ended_with() {
    wait_state "$1" FAILED 30
    ok mlq status "$1"
    assert_contains "$OUT" "could not start: $2" "status of $1"
    ok mlq status "$1" --json
    assert_eq "could not start: $2" "$(json "d['reason']" <<<"$OUT")" "reason in --json"
    assert_eq null "$(json "d.get('exit_code')" <<<"$OUT")" "no exit code of a job that never ran"
    assert_eq 1 "$(json "d['attempt']" <<<"$OUT")" "no retry for a start failure of the request"
    assert_eq start_failed "$(json "d['outcome']" <<<"$OUT")" "outcome in --json"
    ok mlq events --job "$1"
    assert_contains "$OUT" "could not start: $2" "events of $1"
    ok mlq list
    echo "$OUT" | grep -E "^${1:0:8} .* FAILED .* not started *$" >/dev/null ||
        fail "list shows $1 as not started: $OUT"
    ok mlq why "$1"
    assert_contains "$OUT$ERR" "could not start: $2" "why of $1"
}

log "a command that is on no PATH"
ok mlq submit --retries 2 --cpus 0.5 --mem 64M -- no-such-trainer-mlq.py --epochs 1
A=$OUT
ended_with "$A" "no-such-trainer-mlq.py: command not found"

log "a script without the execute bit"
mkdir -p "$T/wd"
printf '#!/bin/sh\necho hi\n' >"$T/wd/run.sh"
chmod 0644 "$T/wd/run.sh"
ok mlq submit --retries 2 --cpus 0.5 --mem 64M --workdir "$T/wd" -- ./run.sh
B=$OUT
ended_with "$B" "./run.sh: permission denied"

log "a working directory that is not there"
ok mlq submit --retries 1 --cpus 0.5 --mem 64M --workdir "$T/gone" -- true
C=$OUT
ended_with "$C" "workdir $T/gone: no such directory"

log "a job that exits 127 by itself is still an exit code"
ok mlq submit --cpus 0.5 --mem 64M -- sh -c 'exit 127'
D=$OUT
wait_state "$D" FAILED 30
ok mlq status "$D" --json
assert_eq 127 "$(json "d['exit_code']" <<<"$OUT")" "exit code of a job that ran"
log "ok"
