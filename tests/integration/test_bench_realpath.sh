#!/usr/bin/env bash
# The side-by-side benchmark's tool, tests/bench/realpath.sh --quick (tiny
# N): it runs every phase through the real CLI, scheduler and worker, and
# its table holds a figure for each, with every job of each phase succeeded.
# (A test of the tool, not of the figures.)
IT_DEADLINE=200
. "$(dirname "$0")/lib.sh" "$@"

run env -u MLQ_IT_INNER MLQ_BIN_DIR="$MLQ_BIN_DIR" "$MLQ_SRC_DIR/tests/bench/realpath.sh" --quick
printf '%s\n' "$ERR" >"$T/logs/realpath.log"
[ "$RC" = 0 ] || fail "realpath.sh --quick exited $RC: $(tail -n 20 <<<"$ERR")"
num='[0-9]+(\.[0-9]+)?'
line() { grep -F -- "$1" <<<"$OUT" || fail "no line [$1] in: $OUT"; }
[[ "$(line "(0) mean of 10 sequential 'mlq submit' calls")" =~ $num\ ms\ wall,\ $num\ ms\ user ]] ||
    fail "no per-call cost: $OUT"
[[ "$(line "(0) one call, ms  median / p90 / min / max")" =~ $num\ /\ $num\ /\ $num\ /\ $num ]] ||
    fail "no per-call spread: $OUT"
[[ "$(line "(c) first submit -> all N done")" =~ $num\ s\ +-\>\ $num\ jobs/s ]] || fail "no (c) rate"
[[ "$(line "(b) array submit -> all N tasks done")" =~ $num\ jobs/s ]] || fail "no (b) rate"
[[ "$(line "(h) release all N at once -> all done")" =~ $num\ jobs/s ]] || fail "no (h) rate"
[[ "$(line "(e) first submit -> all 8 gpus:1 jobs done")" =~ $num\ jobs/s ]] || fail "no (e) rate"
# every phase's jobs succeeded: 10 single calls, 20 in (a), (b), (h), 8 GPU jobs
assert_eq "10 / 0
20 / 0
20 / 0
20 / 0
8 / 0" "$(grep -F '    jobs ok/failed' <<<"$OUT" | awk '{print $3, $4, $5}')" "jobs ok/failed per phase"
for key in "submit -> job's first command" "submit -> job ended (mlq status)"; do
    [ "$(grep -F -- "$key" <<<"$OUT" | grep -cE -- " $num / $num / $num / $num$")" = 2 ] ||
        fail "latency [$key] not measured in (d) and (e): $OUT"
done
assert_contains "$(line "(d) latency, idle cluster")" "(n=3)" "latency samples"
