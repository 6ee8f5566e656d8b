#!/usr/bin/env bash
# Metrics over ZeroMQ (`mlq admin metrics`, what GET /metrics serves): the
# counters and gauges follow what the test did on a real scheduler and
# worker; fake GPUs report no utilisation (nothing is made up).
IT_DEADLINE=120
. "$(dirname "$0")/lib.sh" "$@"

start_scheduler "$T/state"
start_worker w1 "$T/spool" --cpus 2 --gpus 2
ok mlq submit --cpus 0.1 --mem 16M -- true
J1=$OUT
ok mlq submit --cpus 0.1 --mem 16M --gpus 1 -- true
J2=$OUT
ok mlq submit --cpus 0.1 --mem 16M -- false
J3=$OUT
wait_state "$J1" SUCCEEDED 30
wait_state "$J2" SUCCEEDED 30
wait_state "$J3" FAILED 30
run mlq submit --cpus 0.1 --mem 16M --after 0000dead -- true # refused by the scheduler
[ "$RC" != 0 ] || fail "a submit after an unknown job was accepted: $OUT"

ok "$MLQ" --scheduler "$SCHED_ADDR" admin metrics
M=$OUT
printf '%s\n' "$M" >"$T/metrics.txt"
val() { awk -v s="$1" '$1 == s { print $2 }' "$T/metrics.txt"; }
assert_eq 3 "$(val 'mlq_submissions_total{outcome="accepted"}')" "accepted submissions"
assert_eq 1 "$(val 'mlq_submissions_total{outcome="rejected"}')" "rejected submissions"
assert_eq 3 "$(val 'mlq_dispatches_total{outcome="assigned"}')" "dispatches"
assert_eq 2 "$(val 'mlq_completions_total{outcome="SUCCEEDED"}')" "succeeded"
assert_eq 1 "$(val 'mlq_completions_total{outcome="FAILED"}')" "failed"
assert_eq 2 "$(val 'mlq_jobs{state="SUCCEEDED",pool="default"}')" "mlq_jobs SUCCEEDED"
assert_eq 0 "$(val 'mlq_jobs{state="RUNNING",pool="default"}')" "mlq_jobs RUNNING"
assert_eq 1 "$(val 'mlq_workers{state="UP"}')" "workers UP"
assert_eq 2 "$(val 'mlq_gpus{pool="default",gpu_type="fake",resource="total"}')" "GPUs total"
assert_eq 0 "$(val 'mlq_gpus_stranded{pool="default",gpu_type="fake"}')" "stranded"
assert_eq 3 "$(val 'mlq_queue_wait_seconds_count')" "queue wait observations"
assert_eq 3 "$(val 'mlq_queue_wait_seconds_bucket{le="+Inf"}')" "+Inf bucket"
[ "$(val 'mlq_store_file_bytes{file="db"}')" -gt 0 ] || fail "no database size: $M"
[ "$(val 'mlq_store_commit_seconds_count')" -gt 0 ] || fail "no commit latency: $M"
[ "$(val 'mlq_loop_iteration_seconds_count')" -gt 0 ] || fail "no loop iterations: $M"
case "$M" in *'mlq_gpu_utilization_ratio{'*) fail "fake GPUs reported a utilisation: $M" ;; esac
assert_contains "$M" "# TYPE mlq_gpu_utilization_ratio gauge" "GPU family announced"
ok mlq workers --gpus
case "$OUT" in *util*) fail "fake GPUs shown with a utilisation: $OUT" ;; esac
log "ok"
