#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# The shim's own stderr is the worker's: whatever mlq-shim says (its errors,
# and sanitizer reports in sanitizer builds) lands in the worker's log, which
# lib.sh scans at exit like every daemon log. The job's stderr stays its own
# (the attempt's stderr file), never the worker's log.
IT_DEADLINE=90
. "$(dirname "$0")/lib.sh" "$@"

SPOOL=$T/spool-w1
start_scheduler "$T/state"
start_worker w1 "$SPOOL"
WLOG=$T/logs/worker-w1.log

ok mlq submit --cpus 0.5 --mem 64M -- sh -c \
    'echo job-says-this-on-stderr >&2; while [ ! -e "$1" ]; do sleep 0.1; done' job "$T/go"
J=$OUT
wait_state "$J" RUNNING 30
A=$(job_field "$J" attempt_id)
wait_until "[ -s $SPOOL/attempts/$A/shim.pid ]" 10 || fail "no shim.pid for the attempt"
SHIM=$(pidfile_pid "$SPOOL/attempts/$A/shim.pid")
[ -n "$SHIM" ] && pid_alive "$SHIM" || fail "the attempt's shim is not running"

# Whatever the shim writes on its descriptor 2 goes to the worker's log.
assert_eq "$WLOG" "$(readlink "/proc/$SHIM/fd/2")" "the shim's stderr"
assert_eq /dev/null "$(readlink "/proc/$SHIM/fd/1")" "the shim's stdout"
# The job's own stderr is the attempt's file.
JOB=$(pgrep -P "$SHIM" | head -n1)
[ -n "$JOB" ] || fail "no job process under the shim"
assert_eq "$SPOOL/attempts/$A/stderr" "$(readlink "/proc/$JOB/fd/2")" "the job's stderr"

touch "$T/go"
ok mlq wait "$J" --timeout 30s
grep -q job-says-this-on-stderr "$WLOG" && fail "the job's stderr went to the worker's log"
ok mlq logs "$J" --stderr
assert_eq job-says-this-on-stderr "$OUT" "the job's stderr"
