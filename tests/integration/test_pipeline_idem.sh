#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# Idempotent submits: the same --idempotency-key twice gives the same id and
# one job (also for an array, and after a scheduler restart); another key
# gives another job; the same key with a different request is refused
# (exit 6), the order of --env options is not a difference. `mlq wait --timeout` exits 7, `mlq wait --json` prints
# the final states.
IT_DEADLINE=200
. "$(dirname "$0")/lib.sh" "$@"

start_scheduler "$T/state"
start_worker w1 "$T/spool-w1" --cpus 2 --mem 2G
small=(--cpus 0.1 --mem 16M)

# jobs_named NAME: how many jobs carry that name.
jobs_named() {
    mlq list --json --limit 10000 | json "len([j for j in d['jobs'] if j['name'] == '$1'])"
}

ok mlq submit "${small[@]}" --name nightly --idempotency-key 'nightly 2024-05-01' -- \
    sh -c 'echo run >> "$0"' "$T/ran"
A=$OUT
ok mlq submit "${small[@]}" --name nightly --idempotency-key 'nightly 2024-05-01' -- \
    sh -c 'echo run >> "$0"' "$T/ran"
assert_eq "$A" "$OUT" "second submit with the same key"
ok mlq submit "${small[@]}" --name nightly --idempotency-key 'nightly 2024-05-01' --json -- \
    sh -c 'echo run >> "$0"' "$T/ran"
assert_eq "$A" "$(json "d['id']" <<<"$OUT")" "third submit (--json)"
assert_eq false "$(json "d['is_array']" <<<"$OUT")" "a job is not an array"
assert_eq 1 "$(jobs_named nightly)" "jobs created for one key"
ok mlq wait "$A" --timeout 60s
assert_eq 1 "$(wc -l <"$T/ran")" "runs of the job"

ok mlq submit "${small[@]}" --name nightly --idempotency-key 'nightly 2024-05-02' -- true
B=$OUT
[ "$B" != "$A" ] || fail "another key gave the same job"
assert_eq 2 "$(jobs_named nightly)" "jobs after a second key"

# the environment is a set: another order of --env is the same request
ok mlq submit "${small[@]}" --env A=1 --env B=2 --idempotency-key env-1 -- true
E=$OUT
ok mlq submit "${small[@]}" --env B=2 --env A=1 --idempotency-key env-1 -- true
assert_eq "$E" "$OUT" "--env in another order"
expect_rc 6 mlq submit "${small[@]}" --env B=3 --env A=1 --idempotency-key env-1 -- true

# an array under a key
ok mlq submit "${small[@]}" --name sweep --array 0-9 --idempotency-key sweep-1 --json -- true
ARR=$(json "d['id']" <<<"$OUT")
assert_eq true "$(json "d['is_array']" <<<"$OUT")" "an array says so"
ok mlq submit "${small[@]}" --name sweep --array 0-9 --idempotency-key sweep-1 -- true
assert_eq "$ARR" "$OUT" "array submitted twice with one key"
assert_eq 10 "$(jobs_named sweep)" "tasks created for one key"

# keys outlive a restart of the scheduler
stop_pid "$SCHED_PID"
start_scheduler "$T/state"
wait_until "worker_up w1" 30 || fail "worker did not come back"
ok mlq submit "${small[@]}" --name nightly --idempotency-key 'nightly 2024-05-01' -- \
    sh -c 'echo run >> "$0"' "$T/ran"
assert_eq "$A" "$OUT" "same key after a restart"
# the same key with another request is refused, not answered with the old job
expect_rc 6 mlq submit "${small[@]}" --name nightly --idempotency-key 'nightly 2024-05-01' -- true
assert_contains "$ERR" "key nightly 2024-05-01 was used for a different request (job ${A:0:8})" \
    "a key reused with another command"
expect_rc 6 mlq submit --cpus 0.2 --mem 16M --name nightly --idempotency-key 'nightly 2024-05-01' \
    -- sh -c 'echo run >> "$0"' "$T/ran"
expect_rc 6 mlq submit "${small[@]}" --name sweep --array 0-10 --idempotency-key sweep-1 -- true
assert_contains "$ERR" "(array ${ARR:0:8})" "a key reused with another array"
ok mlq submit "${small[@]}" --name sweep --array 0-9 --idempotency-key sweep-1 -- true
assert_eq "$ARR" "$OUT" "same array key after a restart"
assert_eq 2 "$(jobs_named nightly)" "jobs after the restart"
expect_rc 6 mlq submit "${small[@]}" --idempotency-key '' -- true

# wait: --timeout exits 7, --json gives the final states
ok mlq submit "${small[@]}" -- sleep 300
S=$OUT
wait_state "$S" RUNNING 30
t0=$(date +%s%N)
expect_rc 7 mlq wait "$S" "$B" --timeout 2s
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -lt 6000 ] || fail "wait --timeout 2s took $ms ms"
assert_contains "$ERR" "timed out waiting" "timeout summary"
run mlq wait "$S" --timeout 1s --json
assert_eq 7 "$RC" "wait --json --timeout"
assert_eq RUNNING "$(json "d['jobs'][0]['state']" <<<"$OUT")" "state in wait --json"
ok mlq cancel "$S"
ok mlq wait "$A" "$B" "$ARR" --json --timeout 60s
assert_eq '["SUCCEEDED", "SUCCEEDED"]' "$(json "[j['state'] for j in d['jobs']]" <<<"$OUT")" \
    "wait --json jobs"
assert_eq true "$(json "d['arrays'][0]['succeeded']" <<<"$OUT")" "wait --json array"
assert_contains "$ERR" "12 succeeded" "summary counts tasks"
