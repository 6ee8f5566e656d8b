#!/usr/bin/env bash
# mlq-bench measures the default configuration (CURVE keys for every
# client and every simulated worker, the scheduler at log level info) and,
# with --lab, the lab set (--insecure, --log-level warn) under lab.NAME:
# one small dispatch run of each, checked for its figure and for the
# scheduler's configuration in its log.
IT_DEADLINE=240
. "$(dirname "$0")/lib.sh" "$@"

BENCH=$MLQ_BIN_DIR/mlq-bench
[ -x "$BENCH" ] || fail "no $BENCH"

run_bench() { # out-file, then mlq-bench options
    local out=$1
    shift
    "$BENCH" --quick --only dispatch --keep --tmpdir "$T" "$@" >"$out" 2>"$out.err" ||
        fail "mlq-bench $*: exit $?: $(tail -n 20 "$out.err")"
}

run_bench "$T/default.txt"
grep -Eq '^dispatch_per_s: [0-9]+ jobs/s$' "$T/default.txt" ||
    fail "no dispatch figure: $(cat "$T/default.txt")"
grep -q 'default configuration (CURVE keys, log level info)' "$T/default.txt.err" ||
    fail "not announced as the default configuration"
log=$(ls "$T"/mlq-bench.*/run-1/scheduler.log)
# keys: each simulated worker registered with a key of its own, then came
# up with it (both lines at log level info)
grep -q 'INFO key of worker sim-0099 added by' "$log" ||
    fail "the simulated workers' keys were not registered: $(tail -n 5 "$log")"
grep -q 'INFO worker sim-0099 up' "$log" || fail "the last simulated worker did not come up"
rm -rf "$T"/mlq-bench.*

run_bench "$T/lab.txt" --lab
grep -Eq '^lab\.dispatch_per_s: [0-9]+ jobs/s$' "$T/lab.txt" ||
    fail "no lab figure: $(cat "$T/lab.txt")"
grep -q 'lab set (--insecure, --log-level warn)' "$T/lab.txt.err" || fail "not announced as lab"
log=$(ls "$T"/mlq-bench.*/run-1/scheduler.log)
! grep -q ' INFO ' "$log" || fail "the lab set logged at info: $(grep ' INFO ' "$log" | head -n 3)"
rm -rf "$T"/mlq-bench.*
log "PASS"
