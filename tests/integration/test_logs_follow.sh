#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# Logs: `mlq logs -f` streams a running job's output as it is printed and
# returns when the job ends; logs stay readable afterwards; output larger
# than one log chunk arrives whole and in order.
IT_DEADLINE=200
. "$(dirname "$0")/lib.sh" "$@"

start_scheduler "$T/state"
start_worker w1 "$T/spool-w1" --cpus 2 --mem 1G --gpus 0

# The job prints a line, then waits for $T/go-N before printing the next.
ok mlq submit --name talker -- sh -c '
echo line-1; echo err-1 >&2
while [ ! -e "$1/go-1" ]; do sleep 0.1; done
echo line-2; echo err-2 >&2
while [ ! -e "$1/go-2" ]; do sleep 0.1; done
echo line-3' talker "$T"
J=$OUT
wait_state "$J" RUNNING 30

mlq logs -f "$J" >"$T/follow.out" 2>"$T/logs/follow.err" &
F=$!
IT_PIDS+=("$F")
mlq logs -f --stderr "$J" >"$T/follow-err.out" 2>"$T/logs/follow-err.err" &
FE=$!
IT_PIDS+=("$FE")

wait_until "grep -x line-1 $T/follow.out" 15 || fail "logs -f did not show line-1: $(cat "$T/follow.out")"
wait_until "grep -x err-1 $T/follow-err.out" 15 || fail "logs -f --stderr did not show err-1"
pid_alive "$F" || fail "logs -f returned while the job runs"
grep -x line-2 "$T/follow.out" >/dev/null && fail "line-2 shown before it was printed"

touch "$T/go-1"
wait_until "grep -x line-2 $T/follow.out" 15 || fail "logs -f did not stream line-2: $(cat "$T/follow.out")"
wait_until "grep -x err-2 $T/follow-err.out" 15 || fail "logs -f --stderr did not stream err-2"
assert_eq RUNNING "$(job_state "$J")" "job while it waits for go-2"
pid_alive "$F" || fail "logs -f returned while the job runs"

touch "$T/go-2"
wait_until "! pid_alive $F && ! pid_alive $FE" 20 || fail "logs -f did not return after the job ended"
rc=0
wait "$F" || rc=$?
assert_eq 0 "$rc" "exit status of logs -f"
rc=0
wait "$FE" || rc=$?
assert_eq 0 "$rc" "exit status of logs -f --stderr"
assert_eq "$(printf 'line-1\nline-2\nline-3')" "$(cat "$T/follow.out")" "everything logs -f showed"
assert_eq "$(printf 'err-1\nerr-2')" "$(cat "$T/follow-err.out")" "everything logs -f --stderr showed"
assert_eq SUCCEEDED "$(job_state "$J")" "talker"

# after the end
ok mlq logs "$J"
assert_eq "$(printf 'line-1\nline-2\nline-3')" "$OUT" "logs after the end"
ok mlq logs --stderr "$J"
assert_eq "$(printf 'err-1\nerr-2')" "$OUT" "logs --stderr after the end"
expect_rc 0 timeout 10 "$MLQ" logs --scheduler "$SCHED_ADDR" -f "$J"
assert_eq "$(printf 'line-1\nline-2\nline-3')" "$OUT" "logs -f of a finished job returns at once"

# a log larger than one chunk (1 MiB), with and without -f
ok mlq submit --name big -- sh -c 'seq 1 300000; sleep 1; seq 300001 400000'
B=$OUT
mlq logs -f "$B" >"$T/big-follow.out" 2>"$T/logs/big-follow.err" &
BF=$!
IT_PIDS+=("$BF")
expect_rc 0 mlq wait "$B" --timeout 60s
wait_until "! pid_alive $BF" 30 || fail "logs -f of the big job did not return"
seq 1 400000 >"$T/big.want"
cmp "$T/big.want" "$T/big-follow.out" || fail "logs -f of a big log differs"
mlq logs "$B" >"$T/big.out"
cmp "$T/big.want" "$T/big.out" || fail "logs of a big log differs"

# a job that never started: empty logs, no error
ok mlq submit --cpus 64 -- echo never
N=$OUT
ok mlq cancel "$N"
ok mlq logs "$N"
assert_eq "" "$OUT" "logs of a job that never ran"
expect_rc 0 timeout 10 "$MLQ" logs --scheduler "$SCHED_ADDR" -f "$N"
