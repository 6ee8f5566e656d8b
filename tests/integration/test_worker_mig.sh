#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# MIG end to end without a GPU: a worker loads the fake libnvidia-ml of
# tests/gpu/fake_nvml.c (--nvml-library) that reports an A100 in MIG mode
# with three MIG devices and a plain H100. --list-gpus shows the MIG
# devices and not the A100; `mlq workers --json` lists their types
# (a100-1g.10gb, a100-2g.20gb) and UUIDs; a job asking for a100-1g.10gb
# sees its MIG UUID in CUDA_VISIBLE_DEVICES (and NVIDIA_VISIBLE_DEVICES),
# the H100 job its physical index, and no job sees the worker's note to its
# shims. The nvidia-smi fallback finds the same devices through `nvidia-smi
# -L`. Fake GPUs of several types (`--gpus a100:2,h100:2`) and MIG-like
# types (`--gpus a100-1g.10gb:7`) are offered as declared.
IT_DEADLINE=200
. "$(dirname "$0")/lib.sh" "$@"

LIB=$MLQ_BIN_DIR/libmlq-fake-nvml.so
[ -f "$LIB" ] || fail "missing $LIB (build first)"
export MLQ_FAKE_NVML='A100-SXM4-80GB=81920=1g.10gb,1g.10gb,2g.20gb;H100 80GB HBM3=81559'
MIG0=MIG-00000000-0000-5000-8000-000000000000
MIG1=MIG-00000000-0001-5000-8000-000000000000
MIG2=MIG-00000000-0002-5000-8000-000000000000
H100=GPU-00000001-0000-4000-8000-000000000000

# --- --list-gpus: the MIG devices instead of the A100 ----------------------
ok "$MLQ_WORKER_BIN" --list-gpus --gpu-discovery nvml --nvml-library "$LIB"
assert_contains "$ERR" "4 GPU(s) from nvml" "--list-gpus through the fake NVML"
assert_eq "0 a100-1g.10gb $MIG0
1 a100-1g.10gb $MIG1
2 a100-2g.20gb $MIG2
3 h100 $H100" "$(cut -f1-3 <<<"$OUT" | tr '\t' ' ')" "--list-gpus lines"
assert_contains "$OUT" "NVIDIA A100-SXM4-80GB MIG 2g.20gb" "a MIG device's model"
case "$OUT" in *"GPU-00000000-0000"*) fail "the A100 in MIG mode is offered whole: $OUT" ;; esac

# the nvidia-smi fallback sees them through `nvidia-smi -L`
cat >"$T/nvidia-smi" <<EOF
#!/bin/sh
if [ "\$1" = -L ]; then
    echo "GPU 0: NVIDIA A100-SXM4-80GB (UUID: GPU-00000000-0000-4000-8000-000000000000)"
    echo "  MIG 1g.10gb     Device  0: (UUID: $MIG0)"
    echo "  MIG 1g.10gb     Device  1: (UUID: $MIG1)"
    echo "  MIG 2g.20gb     Device  2: (UUID: $MIG2)"
    echo "GPU 1: NVIDIA H100 80GB HBM3 (UUID: $H100)"
    exit 0
fi
[ "\$1" = --query-gpu=index,uuid,name,memory.total ] || exit 3
echo "0, GPU-00000000-0000-4000-8000-000000000000, NVIDIA A100-SXM4-80GB, 81920"
echo "1, $H100, NVIDIA H100 80GB HBM3, 81559"
EOF
chmod +x "$T/nvidia-smi"
MLQ_NVIDIA_SMI=$T/nvidia-smi ok "$MLQ_WORKER_BIN" --list-gpus --gpu-discovery nvidia-smi
assert_contains "$ERR" "4 GPU(s) from nvidia-smi" "--list-gpus through nvidia-smi"
assert_eq "0 a100-1g.10gb $MIG0 10240 MiB
3 h100 $H100 81559 MiB" "$(sed -n '1p;4p' <<<"$OUT" | cut -f1-4 | tr '\t' ' ')" \
    "nvidia-smi MIG devices"

# a garbled -L is refused whole, with its line
printf '#!/bin/sh\n[ "$1" = -L ] && { echo "GPU 0: NVIDIA A100"; exit 0; }\necho "0, %s, NVIDIA A100, 1"\n' \
    "GPU-00000000-0000-4000-8000-000000000000" >"$T/smi-garbled"
chmod +x "$T/smi-garbled"
MLQ_NVIDIA_SMI=$T/smi-garbled expect_rc 1 "$MLQ_WORKER_BIN" --list-gpus --gpu-discovery nvidia-smi
assert_contains "$ERR" 'nvidia-smi -L line 1: no "(UUID: ...)"' "garbled nvidia-smi -L"

# --- a worker with MIG devices, a scheduler, jobs ---------------------------
start_scheduler "$T/state"
mkdir -p "$T/spool-m"
worker_keys m
"$MLQ_WORKER_BIN" --config none --scheduler "$SCHED_ADDR" --name m "${IT_WORKER_KEYS[@]}" \
    --spool "$T/spool-m" --cpus 4 --mem 2G --gpu-discovery nvml --nvml-library "$LIB" \
    >>"$T/logs/worker-m.log" 2>&1 &
WORKER_PID=$!
IT_PIDS+=("$WORKER_PID")
wait_until "worker_up m || ! pid_alive $WORKER_PID" 15 || true
worker_up m || fail "worker m not UP"
assert_contains "$(cat "$T/logs/worker-m.log")" "3 MIG device(s); jobs see them by UUID" \
    "worker log on MIG"

ok mlq workers --json
W=$OUT
sel="[w for w in d['workers'] if w['name'] == 'm'][0]"
assert_eq 4 "$(json "${sel}['gpus']" <<<"$W")" "GPU count"
assert_eq '["a100-1g.10gb", "a100-1g.10gb", "a100-2g.20gb", "h100"]' \
    "$(json "[g['type'] for g in ${sel}['gpu_list']]" <<<"$W")" "GPU types"
assert_eq "[\"$MIG0\", \"$MIG1\", \"$MIG2\", \"$H100\"]" \
    "$(json "[g['uuid'] for g in ${sel}['gpu_list']]" <<<"$W")" "GPU UUIDs"

# job_env SPEC: submits a job asking --gpus SPEC that prints what it sees,
# waits for it, and sets SEEN to its output.
job_env() {
    ok mlq submit --gpus "$1" --cpus 0.5 --mem 64M -- sh -c \
        'echo "CVD=<$CUDA_VISIBLE_DEVICES> NVD=<$NVIDIA_VISIBLE_DEVICES> G=<$MLQ_GPUS> N=<${MLQ_GPU_CUDA_NAMES-unset}>"'
    local j=$OUT
    expect_rc 0 mlq wait "$j" --timeout 60s
    ok mlq logs "$j"
    SEEN=$OUT
}

job_env a100-1g.10gb:1
case "$SEEN" in
*"CVD=<$MIG0> NVD=<$MIG0> G=<0>"* | *"CVD=<$MIG1> NVD=<$MIG1> G=<1>"*) ;;
*) fail "a job on a100-1g.10gb sees: $SEEN" ;;
esac
assert_contains "$SEEN" "N=<unset>" "the worker's note to its shims stays out of the job"

job_env a100-2g.20gb:1
assert_contains "$SEEN" "CVD=<$MIG2> NVD=<$MIG2> G=<2>" "a job on a100-2g.20gb"
job_env a100-1g.10gb:2
assert_contains "$SEEN" "CVD=<$MIG0,$MIG1> NVD=<$MIG0,$MIG1> G=<0,1>" "a job on both 1g.10gb"
# the whole GPU: its physical index (1), not the worker's index (3)
job_env h100:1
assert_contains "$SEEN" "CVD=<1> NVD=<1> G=<3>" "a job on the whole h100"

# a job asking for more MIG devices of a profile than there are waits
ok mlq submit --gpus a100-1g.10gb:3 --cpus 0.5 --mem 64M -- true
J=$OUT
sleep 1
assert_eq PENDING "$(job_state "$J")" "three a100-1g.10gb on a worker with two"
ok mlq cancel "$J"

# --- fake GPUs of several types ---------------------------------------------
start_worker f "$T/spool-f" --gpus a100:2,h100:2
start_worker g "$T/spool-g" --gpus A100-1g.10gb:7
ok mlq workers --json
W=$OUT
assert_eq '["a100", "a100", "h100", "h100"]' \
    "$(json "[g['type'] for g in [w for w in d['workers'] if w['name'] == 'f'][0]['gpu_list']]" <<<"$W")" \
    "--gpus a100:2,h100:2"
assert_eq '[0, 1, 2, 3]' \
    "$(json "[g['index'] for g in [w for w in d['workers'] if w['name'] == 'f'][0]['gpu_list']]" <<<"$W")" \
    "indexes in order"
assert_eq 7 \
    "$(json "len([g for g in [w for w in d['workers'] if w['name'] == 'g'][0]['gpu_list'] if g['type'] == 'a100-1g.10gb'])" <<<"$W")" \
    "--gpus a100-1g.10gb:7"
expect_rc 2 "$MLQ_WORKER_BIN" --name bad --spool "$T/spool-bad" --gpus a100:2,h100
assert_contains "$ERR" "--gpus" "a bad --gpus list"
expect_rc 2 "$MLQ_WORKER_BIN" --name bad --spool "$T/spool-bad" --gpus a100:40,h100:40
assert_contains "$ERR" "more than 64 GPUs in all" "too many fake GPUs"
log "ok"
