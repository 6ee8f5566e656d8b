#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# GPU discovery and isolation on a machine with real NVIDIA GPUs. Skipped
# (exit 77) where nvidia-smi is absent or sees no GPU, as on CI machines;
# tests/integration/test_worker_gpus.sh covers the same paths with a fake
# nvidia-smi everywhere.
#
# 1. `mlq-worker --list-gpus` through NVML and through nvidia-smi each find
#    every GPU with the index, UUID, memory and model nvidia-smi reports,
#    and the same normalised type.
# 2. A real scheduler and a worker with automatic discovery: `mlq workers`
#    lists the GPUs; a job asking for TYPE:1 runs on one of them and sees
#    only that one (CUDA_VISIBLE_DEVICES, NVIDIA_VISIBLE_DEVICES, MLQ_GPUS;
#    when python3 has PyTorch, torch sees exactly one device of that model
#    and computes on it); its run manifest names that GPU (index, UUID,
#    model) and the driver's version as nvidia-smi reports them.
# 3. Jobs asking for every GPU each never overlap (two jobs never share a
#    GPU), and a job asking for one GPU more than the machine has waits
#    with `mlq why` naming the GPUs.
# 0. First, MIG: prints what `nvidia-smi -L`, the MIG mode and both
#    discovery methods see. Where a GPU is in MIG mode, both methods must
#    offer exactly the MIG devices `nvidia-smi -L` lists (by UUID, typed
#    PARENT-PROFILE) and not their GPUs, and a job asking for one MIG type
#    sees its MIG UUID in CUDA_VISIBLE_DEVICES (and runs on it with PyTorch
#    when there); the whole-GPU checks 1-3 are then left out.
IT_DEADLINE=280
. "$(dirname "$0")/../integration/lib.sh" "$@"

command -v nvidia-smi >/dev/null || {
    log "SKIP: no nvidia-smi on this machine"
    exit 77
}
QUERY=--query-gpu=index,uuid,name,memory.total
TRUTH=$(nvidia-smi "$QUERY" --format=csv,noheader,nounits 2>/dev/null) || {
    log "SKIP: nvidia-smi failed"
    exit 77
}
[ -n "$TRUTH" ] || {
    log "SKIP: nvidia-smi sees no GPU"
    exit 77
}
log "nvidia-smi: $TRUTH"
NGPU=$(printf '%s\n' "$TRUTH" | wc -l)

# --- 0. MIG ----------------------------------------------------------------
LIST=$(nvidia-smi -L 2>&1) || fail "nvidia-smi -L failed: $LIST"
log "nvidia-smi -L:"$'\n'"$LIST"
MODES=$(nvidia-smi --query-gpu=index,mig.mode.current --format=csv,noheader 2>&1 || true)
log "MIG mode per GPU: $(paste -sd' ' <<<"$MODES")"
for how in nvml nvidia-smi; do
    run "$MLQ_WORKER_BIN" --list-gpus --gpu-discovery "$how"
    log "MIG discovery, --list-gpus --gpu-discovery $how (exit $RC): $ERR"$'\n'"$OUT"
done
MIG_UUIDS=$(sed -n 's/^ *MIG .*(UUID: \(MIG-[^)]*\))$/\1/p' <<<"$LIST")
if grep -qi enabled <<<"$MODES" || [ -n "$MIG_UUIDS" ]; then
    [ -n "$MIG_UUIDS" ] || fail "a GPU is in MIG mode without MIG devices: create some to test"
    for how in nvml nvidia-smi; do
        ok "$MLQ_WORKER_BIN" --list-gpus --gpu-discovery "$how"
        printf '%s\n' "$OUT" >"$T/mig-$how.tsv"
        for u in $MIG_UUIDS; do
            grep -q "	$u	" "$T/mig-$how.tsv" || fail "$how does not offer MIG device $u"
        done
        while read -r g; do
            # a GPU with MIG lines under it must not be offered whole
            if awk -v g="$g" '$0 ~ "UUID: " g {on=1; next} /^GPU /{on=0} on && /MIG /{f=1} END{exit !f}' \
                <<<"$LIST" && grep -q "	$g	" "$T/mig-$how.tsv"; then
                fail "$how offers GPU $g whole while it is in MIG mode"
            fi
        done < <(sed -n 's/^GPU .*(UUID: \(GPU-[^)]*\))$/\1/p' <<<"$LIST")
    done
    MIG_TYPE=$(awk -F'\t' '$3 ~ /^MIG-/{print $2; exit}' "$T/mig-nvml.tsv")
    log "MIG type to test: $MIG_TYPE"
    start_scheduler "$T/state"
    mkdir -p "$T/spool"
    worker_keys gpu-node
    "$MLQ_WORKER_BIN" --scheduler "$SCHED_ADDR" --name gpu-node "${IT_WORKER_KEYS[@]}" \
        --spool "$T/spool" --cpus 4 --mem 8G >>"$T/logs/worker-gpu-node.log" 2>&1 &
    WORKER_PID=$!
    IT_PIDS+=("$WORKER_PID")
    wait_until "worker_up gpu-node || ! pid_alive $WORKER_PID" 30 || true
    worker_up gpu-node || fail "worker gpu-node not UP"
    ok mlq workers --json
    log "GPU types offered: $(json "[g['type'] for g in d['workers'][0]['gpu_list']]" <<<"$OUT")"
    ok mlq submit --gpus "$MIG_TYPE:1" --cpus 1 --mem 4G -- sh -c \
        'echo "CVD=<$CUDA_VISIBLE_DEVICES>"; python3 -c "import torch; x = torch.ones(1024, 1024, device=\"cuda\"); print(\"TORCH count=%d sum=%d\" % (torch.cuda.device_count(), int((x @ x).sum().item())))" 2>/dev/null || echo "TORCH absent"'
    J=$OUT
    expect_rc 0 mlq wait "$J" --timeout 120s
    ok mlq logs "$J"
    log "MIG job output: $OUT"
    cvd=$(sed -n 's/.*CVD=<\([^>]*\)>.*/\1/p' <<<"$OUT")
    grep -qx -- "$cvd" <<<"$MIG_UUIDS" || fail "a $MIG_TYPE job saw CUDA_VISIBLE_DEVICES=<$cvd>"
    case "$OUT" in
    *"TORCH absent"*) ;;
    *) assert_contains "$OUT" "TORCH count=1 sum=1073741824" "PyTorch on the MIG device" ;;
    esac
    log "MIG devices offered and isolated; the whole-GPU checks are left out on a MIG machine"
    exit 0
fi
log "no GPU in MIG mode: MIG discovery offers the GPUs whole"

# truth_tsv: nvidia-smi's view as --list-gpus prints it, without the type:
# index, UUID, memory, model.
truth_tsv() {
    printf '%s\n' "$TRUTH" | awk -F', *' '{printf "%s\t%s\t%s MiB\t%s\n", $1, $2, $4, $3}'
}

# --- 1. both discovery methods agree with nvidia-smi ---------------------
TYPE=""
for how in nvml nvidia-smi; do
    ok "$MLQ_WORKER_BIN" --list-gpus --gpu-discovery "$how"
    log "--list-gpus --gpu-discovery $how: $ERR"
    printf '%s\n' "$OUT" >"$T/list-$how.tsv"
    assert_contains "$ERR" "$NGPU GPU(s) from $how" "discovery method $how"
    assert_eq "$(truth_tsv)" "$(cut -f1,3,4,5 "$T/list-$how.tsv")" "GPUs found by $how"
    types=$(cut -f2 "$T/list-$how.tsv" | sort -u)
    [ -z "$TYPE" ] || assert_eq "$TYPE" "$types" "types from nvml and nvidia-smi"
    TYPE=$types
done
assert_eq 1 "$(printf '%s\n' "$TYPE" | wc -l)" "one GPU type on this machine"
MODEL=$(printf '%s\n' "$TRUTH" | head -1 | awk -F', *' '{print $3}')
# The type is the model's family, lowercase, without vendor words.
squashed=$(printf '%s' "$MODEL" | tr 'A-Z' 'a-z' | tr -d ' -')
assert_contains "$squashed" "$TYPE" "type $TYPE of model $MODEL"
case "$MODEL" in *H100*) assert_eq h100 "$TYPE" "type of an H100" ;; esac
case "$MODEL" in *H200*) assert_eq h200 "$TYPE" "type of an H200" ;; esac
log "every GPU found by NVML and nvidia-smi alike: type $TYPE, model $MODEL"

# --- 2. a cluster with automatic discovery --------------------------------
start_scheduler "$T/state"
mkdir -p "$T/spool"
worker_keys gpu-node
"$MLQ_WORKER_BIN" --scheduler "$SCHED_ADDR" --name gpu-node "${IT_WORKER_KEYS[@]}" --spool "$T/spool" \
    --cpus 4 --mem 8G >>"$T/logs/worker-gpu-node.log" 2>&1 &
WORKER_PID=$!
IT_PIDS+=("$WORKER_PID")
wait_until "worker_up gpu-node || ! pid_alive $WORKER_PID" 30 || true
worker_up gpu-node || fail "worker gpu-node not UP"
log "worker: $(grep -m1 ' up: ' "$T/logs/worker-gpu-node.log")"

ok mlq workers --json
W=$OUT
assert_eq "$NGPU" "$(json "d['workers'][0]['gpus']" <<<"$W")" "GPU count in mlq workers"
want_uuids=$(printf '%s\n' "$TRUTH" | awk -F', *' '{print $2}' | paste -sd' ')
assert_eq "$want_uuids" "$(json "' '.join(g['uuid'] for g in d['workers'][0]['gpu_list'])" <<<"$W")" \
    "GPU UUIDs in mlq workers"
ok mlq workers
log "mlq workers:"$'\n'"$OUT"

cat >"$T/probe.sh" <<'EOF'
#!/bin/sh
echo "CVD=<$CUDA_VISIBLE_DEVICES> NVD=<$NVIDIA_VISIBLE_DEVICES> MLQ_GPUS=<$MLQ_GPUS>"
if python3 -c 'import torch' 2>/dev/null; then
    python3 -c '
import torch
n = torch.cuda.device_count()
x = torch.ones(1024, 1024, device="cuda")
print("TORCH count=%d name=%s sum=%d" % (n, torch.cuda.get_device_name(0), int((x @ x).sum().item())))
'
else
    echo "TORCH absent"
fi
EOF
chmod +x "$T/probe.sh"
ok mlq submit --gpus "$TYPE:1" --cpus 1 --mem 4G -- "$T/probe.sh"
J=$OUT
expect_rc 0 mlq wait "$J" --timeout 120s
ok mlq logs "$J"
LOGS=$OUT
log "job output: $LOGS"
cvd=$(sed -n 's/.*CVD=<\([^>]*\)>.*/\1/p' <<<"$LOGS")
case "$cvd" in '' | *,*) fail "a 1-GPU job saw CUDA_VISIBLE_DEVICES=<$cvd>" ;; esac
assert_contains "$LOGS" "NVD=<$cvd>" "NVIDIA_VISIBLE_DEVICES matches CUDA_VISIBLE_DEVICES"
assert_contains "$LOGS" "MLQ_GPUS=<$cvd>" "MLQ_GPUS matches CUDA_VISIBLE_DEVICES"
case "$LOGS" in
*"TORCH absent"*) log "no PyTorch here: device visibility checked through the variables only" ;;
*) assert_contains "$LOGS" "TORCH count=1 name=$MODEL sum=1073741824" "PyTorch in the job" ;;
esac
# its run manifest names that GPU, and the driver nvidia-smi reports
ok mlq manifest "$J" --json
M=$OUT
assert_eq "$cvd" "$(json "d['gpus'][0]['index']" <<<"$M")" "GPU index in the manifest"
assert_eq "$(nvidia-smi -i "$cvd" --query-gpu=uuid --format=csv,noheader)" \
    "$(json "d['gpus'][0]['uuid']" <<<"$M")" "GPU UUID in the manifest"
assert_eq "$MODEL" "$(json "d['gpus'][0]['model']" <<<"$M")" "GPU model in the manifest"
assert_eq "$(nvidia-smi -i "$cvd" --query-gpu=driver_version --format=csv,noheader)" \
    "$(json "d['gpu_driver']['version']" <<<"$M")" "driver version in the manifest"
log "manifest: CUDA $(json "d['gpu_driver']['cuda']" <<<"$M")"

# --- 3. never shared; more than the machine has waits -------------------
cat >"$T/hold.sh" <<'EOF'
#!/bin/sh
echo "start $(date +%s%N) $CUDA_VISIBLE_DEVICES"
sleep 2
echo "end $(date +%s%N)"
EOF
chmod +x "$T/hold.sh"
ok mlq submit --gpus "$NGPU" --cpus 1 --mem 1G -- "$T/hold.sh"
A=$OUT
ok mlq submit --gpus "$NGPU" --cpus 1 --mem 1G -- "$T/hold.sh"
B=$OUT
expect_rc 0 mlq wait "$A" --timeout 60s
expect_rc 0 mlq wait "$B" --timeout 60s
ok mlq logs "$A"
LA=$OUT
ok mlq logs "$B"
LB=$OUT
a_end=$(awk '/^end/{print $2}' <<<"$LA")
b_start=$(awk '/^start/{print $2}' <<<"$LB")
a_start=$(awk '/^start/{print $2}' <<<"$LA")
b_end=$(awk '/^end/{print $2}' <<<"$LB")
if [ "$b_start" -lt "$a_end" ] && [ "$a_start" -lt "$b_end" ]; then
    fail "two jobs holding all $NGPU GPU(s) overlapped: $LA / $LB"
fi
log "two all-GPU jobs ran one after the other"

ok mlq submit --gpus "$TYPE:$((NGPU + 1))" --cpus 1 --mem 1G -- true
C=$OUT
sleep 1
assert_eq PENDING "$(job_state "$C")" "a job asking for more GPUs than the machine has"
ok mlq why "$C"
log "mlq why: $OUT"
assert_contains "$OUT" "lacks: 1 GPU of type $TYPE" "mlq why of a job too big for the machine"
ok mlq why "$C" --json
assert_eq never_fits "$(json "d['blocker']" <<<"$OUT")" "why blocker"
ok mlq cancel "$C"
