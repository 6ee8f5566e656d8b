#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# GPU discovery end to end: a worker finds two H100s through a fake
# nvidia-smi (MLQ_NVIDIA_SMI: the GPU query and -L), logs them, sends them
# with its pool and labels in register; `mlq workers` shows them; a job asking for h100 runs
# on one of them and sees its index in CUDA_VISIBLE_DEVICES; a job asking
# for a100 waits (mlq why: gpu_type). A fake nvidia-smi that hangs does not
# hang the worker: --gpu-discovery nvidia-smi gives up at its deadline
# (exit 1, a clear message); garbled output is rejected with the line.
IT_DEADLINE=200
. "$(dirname "$0")/lib.sh" "$@"

U0=GPU-11111111-2222-3333-4444-555555555555
U1=GPU-66666666-7777-8888-9999-000000000000
cat >"$T/nvidia-smi" <<EOF
#!/bin/sh
if [ "\$1" = -L ]; then
    echo "GPU 0: NVIDIA H100 80GB HBM3 (UUID: $U0)"
    echo "GPU 1: NVIDIA H100 80GB HBM3 (UUID: $U1)"
    exit 0
fi
[ "\$1" = --query-gpu=index,uuid,name,memory.total ] || exit 3
echo "0, $U0, NVIDIA H100 80GB HBM3, 81559"
echo "1, $U1, NVIDIA H100 80GB HBM3, 81559"
EOF
chmod +x "$T/nvidia-smi"

# --- a bad nvidia-smi: refused clearly, never waited on for long ---------
printf '#!/bin/sh\necho "0, %s, NVIDIA H100"\n' "$U0" >"$T/smi-garbled"
# keys that parse, for workers that fail before they connect
ok "$MLQ" keygen --out "$T/bad.key"
BAD_KEYS=(--key "$T/bad.key" --scheduler-key "$T/bad.key.pub")
chmod +x "$T/smi-garbled"
MLQ_NVIDIA_SMI=$T/smi-garbled expect_rc 1 "$MLQ_WORKER_BIN" --scheduler tcp://127.0.0.1:1 \
    --name bad --spool "$T/spool-bad" --gpu-discovery nvidia-smi "${BAD_KEYS[@]}"
assert_contains "$OUT$ERR" "nvidia-smi output line 1: 3 field(s) where 4 were expected" \
    "garbled nvidia-smi output"
expect_rc 2 "$MLQ_WORKER_BIN" --name bad --spool "$T/spool-bad" --gpus 1 --gpu-discovery none
assert_contains "$ERR" "exclude each other" "--gpus with --gpu-discovery"
expect_rc 2 "$MLQ_WORKER_BIN" --name bad --spool "$T/spool-bad" --label 'no key'
assert_contains "$ERR" "--label" "a bad label"

start_scheduler "$T/state"
mkdir -p "$T/spool-g"
worker_keys g
MLQ_NVIDIA_SMI=$T/nvidia-smi "$MLQ_WORKER_BIN" --scheduler "$SCHED_ADDR" --name g "${IT_WORKER_KEYS[@]}" \
    --spool "$T/spool-g" --cpus 2 --mem 2G --pool gpu --label zone=eu-1 --label ib=yes \
    >>"$T/logs/worker-g.log" 2>&1 &
WORKER_PID=$!
IT_PIDS+=("$WORKER_PID")
wait_until "worker_up g || ! pid_alive $WORKER_PID" 15 || true
worker_up g || fail "worker g not UP"

# The start-up line names the GPUs.
assert_contains "$(cat "$T/logs/worker-g.log")" "gpus 2 (nvidia-smi: gpu0 h100 79.64G $U0, gpu1 h100" \
    "worker start-up line"

ok mlq workers --json
W=$OUT
assert_eq 2 "$(json "d['workers'][0]['gpus']" <<<"$W")" "GPU count"
assert_eq gpu "$(json "d['workers'][0]['pool']" <<<"$W")" "pool"
assert_eq '["zone=eu-1", "ib=yes"]' "$(json "d['workers'][0]['labels']" <<<"$W")" "labels"
assert_eq '["h100", "h100"]' "$(json "[g['type'] for g in d['workers'][0]['gpu_list']]" <<<"$W")" \
    "GPU types"
assert_eq "[\"$U0\", \"$U1\"]" "$(json "[g['uuid'] for g in d['workers'][0]['gpu_list']]" <<<"$W")" \
    "GPU UUIDs"
assert_eq '[0, 1]' "$(json "[g['index'] for g in d['workers'][0]['gpu_list']]" <<<"$W")" \
    "GPU indexes"

# An h100 job runs and sees the index of its GPU.
ok mlq submit --pool gpu --require zone=eu-1 --gpus h100:1 --cpus 0.5 --mem 128M -- \
    sh -c 'echo "CVD=<$CUDA_VISIBLE_DEVICES>"'
J=$OUT
expect_rc 0 mlq wait "$J" --timeout 60s
ok mlq logs "$J"
case "$OUT" in
*"CVD=<0>"* | *"CVD=<1>"*) ;;
*) fail "CUDA_VISIBLE_DEVICES of an h100 job: $OUT" ;;
esac

# An a100 job waits, and says why.
ok mlq submit --pool gpu --gpus a100:1 --cpus 0.5 --mem 128M -- true
A=$OUT
sleep 1
assert_eq PENDING "$(job_state "$A")" "an a100 job on an h100 worker"
ok mlq why "$A" --json
assert_eq gpu_type "$(json "d['blocker']" <<<"$OUT")" "why an a100 job waits"
ok mlq cancel "$A"

# --- nvidia-smi that never answers: the worker gives up at its deadline --
printf '#!/bin/sh\nsleep 1000\n' >"$T/smi-hang"
chmod +x "$T/smi-hang"
t0=$(date +%s)
MLQ_NVIDIA_SMI=$T/smi-hang expect_rc 1 "$MLQ_WORKER_BIN" --scheduler "$SCHED_ADDR" \
    --name hang --spool "$T/spool-hang" --gpu-discovery nvidia-smi "${BAD_KEYS[@]}"
assert_contains "$ERR" "nvidia-smi: no answer within 10000 ms" "hanging nvidia-smi"
[ $(($(date +%s) - t0)) -lt 20 ] || fail "the worker waited too long on nvidia-smi"
