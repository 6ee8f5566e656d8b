#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# Bad input gets the documented exit code, one line on stderr, and changes
# nothing: usage errors 2, invalid values 6, unknown job 4, ambiguous or
# malformed id 6, unreachable scheduler 3.
IT_DEADLINE=150
. "$(dirname "$0")/lib.sh" "$@"

start_scheduler "$T/state"
start_worker w1 "$T/spool-w1" --cpus 2 --mem 1G --gpus 0

count_jobs() { mlq list --limit 10000 --json | json "len(d['jobs'])"; }

# expect_reject CODE WHAT CMD...: exit CODE, empty stdout, exactly one
# non-empty line on stderr.
expect_reject() {
    local code=$1 what=$2
    shift 2
    expect_rc "$code" "$@"
    [ -z "$OUT" ] || fail "$what: stdout must be empty, got [$OUT]"
    [ -n "$ERR" ] || fail "$what: no message on stderr"
    [ "$(printf '%s\n' "$ERR" | wc -l)" = 1 ] || fail "$what: stderr must be one line, got [$ERR]"
}

ok mlq submit -- true
J0=$OUT
expect_rc 0 mlq wait "$J0" --timeout 30s
before=$(count_jobs)
assert_eq 1 "$before" "jobs after the first submit"

# invalid values: 6
expect_reject 6 "--gpus -1" mlq submit --gpus -1 -- true
expect_reject 6 "--gpus 65" mlq submit --gpus 65 -- true
expect_reject 6 "--gpus x" mlq submit --gpus x -- true
expect_reject 6 "--mem 5Q" mlq submit --mem 5Q -- true
expect_reject 6 "--mem 0" mlq submit --mem 0 -- true
expect_reject 6 "--mem -1G" mlq submit --mem -1G -- true
expect_reject 6 "--cpus 0" mlq submit --cpus 0 -- true
expect_reject 6 "--cpus -2" mlq submit --cpus -2 -- true
expect_reject 6 "--cpus 0.0001" mlq submit --cpus 0.0001 -- true
expect_reject 6 "--cpus 5000" mlq submit --cpus 5000 -- true
expect_reject 6 "--cpus 1x" mlq submit --cpus 1x -- true
expect_reject 6 "--env without =" mlq submit --env NOEQUALS -- true
expect_reject 6 "--env with empty key" mlq submit --env =v -- true
expect_reject 6 "--name too long" mlq submit --name "$(printf 'n%.0s' $(seq 1 200))" -- true
expect_reject 6 "empty command" mlq submit -- ''

# usage errors: 2
expect_reject 2 "no command" mlq submit
expect_reject 2 "no command after --" mlq submit --
expect_reject 2 "unknown option" mlq submit --bogus -- true
expect_reject 2 "unknown command" mlq frobnicate
expect_reject 2 "status without id" mlq status
expect_reject 2 "wait without id" mlq wait
expect_reject 2 "cancel without id" mlq cancel
expect_reject 2 "logs without id" mlq logs
expect_reject 2 "list --limit x" mlq list --limit x
expect_reject 2 "missing option value" mlq submit --cpus

assert_eq "$before" "$(count_jobs)" "nothing stored by rejected submits"

# unknown job: 4
missing=$(python3 -c 'import uuid; print(uuid.uuid4())')
expect_reject 4 "status of an unknown id" mlq status "$missing"
expect_reject 4 "logs of an unknown id" mlq logs "$missing"
expect_reject 4 "cancel of an unknown id" mlq cancel "$missing"
expect_reject 4 "wait on an unknown id" mlq wait "$missing" --timeout 5s

# what is no id may be a job's name: none of the user's active jobs is
# called so (4); what can be no name either (control characters, longer
# than a name) is malformed (6)
expect_reject 4 "a name no job carries" mlq status zz
expect_reject 4 "uppercase id (a name then)" mlq status "${J0^^}"
expect_reject 4 "a name no job carries, for cancel" mlq cancel 'x;y'
expect_reject 6 "junk id" mlq status "$(printf 'a\033[2Jb')"
expect_reject 6 "an id longer than any name" mlq cancel "$(printf 'n%.0s' $(seq 1 129))"

# ambiguous prefix: submit until two ids share their first hex digit
declare -A seen=()
amb=""
for i in $(seq 1 17); do
    ok mlq submit --name "amb$i" -- true
    c=${OUT:0:1}
    if [ -n "${seen[$c]:-}" ]; then
        amb=$c
        break
    fi
    seen[$c]=$OUT
done
[ -n "$amb" ] || fail "17 ids without a shared first digit"
# also J0 may share it; either way the prefix matches at least two jobs
expect_reject 6 "ambiguous prefix" mlq status "$amb"
expect_reject 6 "ambiguous prefix for cancel" mlq cancel "$amb"
# the full id of one of them still works
ok mlq status "${seen[$amb]}" --json
assert_eq "${seen[$amb]}" "$(json "d['id']" <<<"$OUT")" "full id next to an ambiguous prefix"

# unreachable scheduler: 3, and quickly
closed=$(free_port)
start=$(date +%s)
expect_reject 3 "unreachable scheduler" "$MLQ" list --scheduler "tcp://127.0.0.1:$closed" --timeout 1s
expect_reject 3 "unreachable scheduler (submit)" "$MLQ" submit --scheduler "tcp://127.0.0.1:$closed" --timeout 1s -- true
expect_reject 3 "unreachable scheduler via MLQ_SCHEDULER" \
    env MLQ_SCHEDULER="tcp://127.0.0.1:$closed" "$MLQ" status --timeout 1s "$J0"
[ $(($(date +%s) - start)) -le 15 ] || fail "unreachable scheduler took too long to report"

# the scheduler survived all of it
ok mlq status "$J0" --json
assert_eq SUCCEEDED "$(json "d['state']" <<<"$OUT")" "first job after the bad input"
pid_alive "$SCHED_PID" || fail "scheduler died"
