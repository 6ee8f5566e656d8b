#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# A job that handled SIGTERM at its time limit (or at a cancel) and exited
# by itself shows both facts: "timed out; exited 143 after SIGTERM" in
# status, "143 after SIGTERM" in list, outcome + exit_code + signal in --json.
IT_DEADLINE=120
. "$(dirname "$0")/lib.sh" "$@"

start_scheduler "$T/state" --kill-grace 5s
start_worker w1 "$T/spool-w1" --cpus 2 --mem 1G --gpus 0

log "time limit: the job traps SIGTERM and exits 143"
ok mlq submit --cpus 0.5 --mem 64M --time-limit 2s -- sh -c \
    'trap "echo got-term; exit 143" TERM; echo ready; sleep 60 & wait'
A=$OUT
wait_state "$A" TIMED_OUT 30
ok mlq status "$A"
assert_contains "$OUT" "timed out; exited 143 after SIGTERM" "status of the timed-out job"
ok mlq status "$A" --json
assert_eq timed_out "$(json "d['outcome']" <<<"$OUT")" "outcome"
assert_eq 143 "$(json "d['exit_code']" <<<"$OUT")" "exit code"
assert_eq 15 "$(json "d['signal']" <<<"$OUT")" "signal mlq sent"
assert_eq "timed out; exited 143 after SIGTERM" "$(json "d['reason']" <<<"$OUT")" "reason"
ok mlq list --json
assert_eq timed_out "$(json "[j['outcome'] for j in d['jobs'] if j['id'] == '$A'][0]" <<<"$OUT")" \
    "outcome in list --json"
ok mlq list
echo "$OUT" | grep -E "^${A:0:8} .* TIMED_OUT .* 143 after SIGTERM *$" >/dev/null ||
    fail "list shows 143 after SIGTERM: $OUT"

log "cancel: the job traps SIGTERM and exits 0"
ok mlq submit --cpus 0.5 --mem 64M -- sh -c \
    'trap "echo got-term; exit 0" TERM; echo ready; sleep 60 & wait'
B=$OUT
wait_state "$B" RUNNING 30
wait_until "mlq logs $B | grep ready" 15 || fail "job B not ready"
ok mlq cancel "$B"
wait_state "$B" CANCELLED 20
wait_until "[ \"\$(job_field $B exit_code)\" = 0 ]" 20 || fail "cancelled job's exit code not recorded"
ok mlq status "$B"
assert_contains "$OUT" "cancelled; exited 0 after SIGTERM" "status of the cancelled job"
ok mlq status "$B" --json
assert_eq cancelled "$(json "d['outcome']" <<<"$OUT")" "outcome"
assert_eq 15 "$(json "d['signal']" <<<"$OUT")" "signal mlq sent"

log "an ordinary failure keeps its plain form"
ok mlq submit --cpus 0.5 --mem 64M -- sh -c 'exit 3'
C=$OUT
wait_state "$C" FAILED 30
ok mlq status "$C" --json
assert_eq exited "$(json "d['outcome']" <<<"$OUT")" "outcome"
assert_eq 3 "$(json "d['exit_code']" <<<"$OUT")" "exit code"
assert_eq null "$(json "d['signal']" <<<"$OUT")" "no signal"
log "ok"
