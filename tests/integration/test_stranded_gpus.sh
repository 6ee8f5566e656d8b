#!/usr/bin/env bash
# Stranded GPUs on a real scheduler and worker: a GPU job that takes every
# CPU of a 2-GPU worker leaves its other GPU free but useless for the GPU
# jobs that come (the recent mix); mlq workers --summary (text and JSON),
# the metric and mlq why say so; once the job ends nothing is stranded.
# Also --placement: a bad policy is refused, pack starts and places.
IT_DEADLINE=120
. "$(dirname "$0")/lib.sh" "$@"

expect_rc 2 "$MLQ_SCHEDULER_BIN" --config none --placement tightest --state-dir "$T/bad"
start_scheduler "$T/state" --placement pack
start_worker w1 "$T/spool" --cpus 1 --gpus 2
ok mlq submit --cpus 1 --mem 16M --gpus 1 -- sleep 300
J1=$OUT
wait_state "$J1" RUNNING 30

ok mlq workers --summary --json
assert_eq 1 "$(python3 -c 'import json,sys; print(round(json.load(sys.stdin)["total"]["gpus_stranded"]))' <<<"$OUT")" \
    "stranded GPUs in the summary JSON"
ok mlq workers --summary
assert_contains "$(head -1 <<<"$OUT")" "STRANDED" "summary header"
[ "$(awk '$1 == "TOTAL" { print $NF }' <<<"$OUT")" = 1 ] || fail "summary TOTAL stranded: $OUT"
ok "$MLQ" --scheduler "$SCHED_ADDR" admin metrics
assert_eq 1 "$(awk '$1 ~ /^mlq_gpus_stranded\{/ { s += $2 } END { print s + 0 }' <<<"$OUT")" \
    "mlq_gpus_stranded"

# A second GPU job waits: one GPU is free, but not beside a free CPU.
ok mlq submit --cpus 1 --mem 16M --gpus 1 -- true
J2=$OUT
ok mlq why "$J2"
assert_contains "$OUT" "1 GPU free in total, but the workers with 1 free lack" "why"

ok mlq cancel "$J1"
wait_state "$J2" SUCCEEDED 30
ok mlq workers --summary --json
assert_eq 0 "$(python3 -c 'import json,sys; print(round(json.load(sys.stdin)["total"]["gpus_stranded"]))' <<<"$OUT")" \
    "nothing stranded once the CPUs are back"
log "stranded GPUs: ok"
