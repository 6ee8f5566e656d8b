#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# Every attempt keeps its own output: `mlq logs --attempt N` reads attempt
# N's; `mlq logs -f` follows the job across its retries, each attempt
# marked on stderr with "--- attempt N on WORKER ---", until the job ends.
IT_DEADLINE=120
. "$(dirname "$0")/lib.sh" "$@"

start_scheduler "$T/state"
start_worker w1 "$T/spool-w1" --cpus 2 --mem 1G --gpus 0

ok mlq submit --retries 2 --retry-backoff 1s --cpus 0.5 --mem 64M -- sh -c \
    'echo "run $MLQ_ATTEMPT"; echo "err $MLQ_ATTEMPT" >&2; sleep 1; [ "$MLQ_ATTEMPT" -ge 3 ]'
J=$OUT
mlq logs -f "$J" >"$T/follow.out" 2>"$T/follow.err" &
FOLLOW=$!
wait_state "$J" SUCCEEDED 60
wait_until "! pid_alive $FOLLOW" 20 || fail "logs -f did not end with the job"
wait "$FOLLOW" || fail "logs -f failed: $(cat "$T/follow.err")"
assert_eq "$(printf 'run 1\nrun 2\nrun 3')" "$(cat "$T/follow.out")" "logs -f across the retries"
assert_contains "$(cat "$T/follow.err")" "--- attempt 2 on w1 ---" "marker of attempt 2"
assert_contains "$(cat "$T/follow.err")" "--- attempt 3 on w1 ---" "marker of attempt 3"

for n in 1 2 3; do
    ok mlq logs "$J" --attempt "$n"
    assert_eq "run $n" "$OUT" "output of attempt $n"
    ok mlq logs "$J" --attempt "$n" --stderr
    assert_eq "err $n" "$OUT" "stderr of attempt $n"
done
ok mlq logs "$J"
assert_eq "run 3" "$OUT" "without --attempt: the last attempt"
expect_rc 4 mlq logs "$J" --attempt 4
assert_contains "$ERR" "has no attempt 4" "an attempt the job does not have"
log "ok"
