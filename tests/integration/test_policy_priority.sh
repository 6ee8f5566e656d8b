#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# Priority: on a worker with one CPU held by a blocker, jobs submitted low
# priority first and high priority last start highest first once the blocker
# ends; `mlq why` names the reservation of the top job and the priority
# queue in front of the others; bad priorities are refused.
IT_DEADLINE=200
. "$(dirname "$0")/lib.sh" "$@"

start_scheduler "$T/state"
start_worker w1 "$T/spool-w1" --cpus 1 --mem 1G

expect_rc 6 mlq submit --priority 1001 -- true
assert_contains "$ERR" "--priority" "message of a priority above 1000"
expect_rc 6 mlq submit --priority -1001 -- true
expect_rc 6 mlq submit --priority high -- true

# The blocker holds the only CPU until $T/release exists.
ok mlq submit --name blocker --cpus 1 --mem 64M -- sh -c 'while [ ! -e "$1" ]; do sleep 0.1; done' b "$T/release"
B=$OUT
wait_state "$B" RUNNING 30

# Each job appends its name and a timestamp in ns to $T/order.
job() {
    local name=$1
    shift
    mlq submit --name "$name" --cpus 1 --mem 64M "$@" -- \
        sh -c 'echo "$1 $(date +%s%N)" >>"$2"' x "$name" "$T/order"
}
ok job mid # priority 0, submitted first
MID=$OUT
ok job low --priority -5
LOW=$OUT
ok job high --priority 50
HIGH=$OUT

sleep 1
for j in "$MID" "$LOW" "$HIGH"; do
    assert_eq PENDING "$(job_state "$j")" "job $j while the blocker holds the CPU"
done

# why: the top job waits only for the blocker (on a full cluster the
# scheduler need not reserve: nothing could backfill), the others wait
# behind it.
ok mlq why "$HIGH" --json
assert_eq "$HIGH" "$(json "d['job_id']" <<<"$OUT")" "why job_id"
assert_eq PENDING "$(json "d['state']" <<<"$OUT")" "why state of the high job"
case "$(json "d['blocker']" <<<"$OUT")" in
reservation | resources) ;;
*) fail "blocker of the highest-priority job: $OUT" ;;
esac
assert_eq w1 "$(json "d['closest_worker']" <<<"$OUT")" "worker the high job waits for"
assert_eq 0 "$(json "d['ahead']" <<<"$OUT")" "jobs ahead of the high job"
ok mlq why "$LOW" --json
assert_eq priority "$(json "d['blocker']" <<<"$OUT")" "blocker of the low job"
assert_eq 2 "$(json "d['ahead']" <<<"$OUT")" "jobs ahead of the low job"
ok mlq why "${LOW:0:8}"
assert_contains "$OUT" "${LOW:0:8} PENDING: " "human why of the low job"
assert_contains "$OUT" "ahead: 2 jobs" "human why counts the jobs ahead"
ok mlq why "$B"
assert_contains "$OUT" "${B:0:8} RUNNING: " "why of a running job"
expect_rc 4 mlq why ffffffff
# not an id, so the name of an active job of the caller's: none is
expect_rc 4 mlq why 'not-an-id!'
expect_rc 6 mlq why "$(printf 'a\033b')"

touch "$T/release"
expect_rc 0 mlq wait "$B" "$MID" "$LOW" "$HIGH" --timeout 60s
assert_eq "high mid low" "$(cut -d' ' -f1 "$T/order" | xargs)" "order the jobs ran in"

start_of() { job_field "$1" start_time; }
s_high=$(start_of "$HIGH")
s_mid=$(start_of "$MID")
s_low=$(start_of "$LOW")
[[ "$s_high" < "$s_mid" && "$s_mid" < "$s_low" ]] ||
    fail "start times out of priority order: high $s_high, mid $s_mid, low $s_low"

ok mlq why "$HIGH" --json
assert_eq none "$(json "d['blocker']" <<<"$OUT")" "blocker of a finished job"
assert_eq SUCCEEDED "$(json "d['state']" <<<"$OUT")" "why state of a finished job"

# --- reservation and backfill ------------------------------------------------
# On a 2-CPU worker (pool bf) a 1-CPU blocker runs with a 10-minute limit; a
# 2-CPU job of high priority then gets the reservation. A 1-CPU job without
# a time limit (the default limit is a day) would delay it and waits; one
# that will end before the blocker's limit runs now (backfill).
start_worker bf1 "$T/spool-bf1" --cpus 2 --mem 1G --pool bf
ok mlq submit --pool bf --name blocker2 --cpus 1 --mem 64M --time-limit 10m -- \
    sh -c 'while [ ! -e "$1" ]; do sleep 0.1; done' b "$T/release2"
B2=$OUT
wait_state "$B2" RUNNING 30
ok mlq submit --pool bf --name big --priority 100 --cpus 2 --mem 64M -- \
    sh -c 'echo "big $(date +%s%N)" >>"$1"' x "$T/order2"
BIG=$OUT
ok mlq submit --pool bf --name nolimit --cpus 1 --mem 64M -- \
    sh -c 'echo "nolimit $(date +%s%N)" >>"$1"' x "$T/order2"
NOLIM=$OUT
ok mlq submit --pool bf --name short --cpus 1 --mem 64M --time-limit 1m -- \
    sh -c 'echo "short $(date +%s%N)" >>"$1"' x "$T/order2"
SHORT=$OUT
expect_rc 0 mlq wait "$SHORT" --timeout 30s
assert_eq PENDING "$(job_state "$BIG")" "the reserved 2-CPU job while the blocker runs"
assert_eq PENDING "$(job_state "$NOLIM")" "a job that would delay the reservation"
ok mlq why "$BIG" --json
assert_eq reservation "$(json "d['blocker']" <<<"$OUT")" "blocker of the reserved job"
assert_eq bf1 "$(json "d['closest_worker']" <<<"$OUT")" "worker of the reservation"
ok mlq why "$NOLIM" --json
assert_eq reservation "$(json "d['blocker']" <<<"$OUT")" "blocker of a job that would delay it"
assert_contains "$(json "d['text']" <<<"$OUT")" "${BIG:0:8}" "why names the reserved job"

touch "$T/release2"
expect_rc 0 mlq wait "$B2" "$BIG" "$NOLIM" --timeout 60s
assert_eq "short big nolimit" "$(cut -d' ' -f1 "$T/order2" | xargs)" "order with a reservation"
