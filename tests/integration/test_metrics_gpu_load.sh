#!/usr/bin/env bash
# GPU load end to end: a worker whose GPUs NVML found sends each GPU's
# utilisation and memory in its heartbeats; the scheduler exports them per
# worker and GPU and counts an allocated GPU at 0% as idle; `mlq workers
# --gpus` and --json show them. NVML here is a stand-in libnvidia-ml.so.1
# built by the test and found by the dynamic loader (LD_LIBRARY_PATH), so
# the worker runs its production code path.
IT_DEADLINE=90
. "$(dirname "$0")/lib.sh" "$@"

command -v cc >/dev/null || fail "no C compiler to build the stand-in NVML"
mkdir -p "$T/nvml"
cat >"$T/nvml/fake.c" <<'C'
#include <stdio.h>
struct mem { unsigned long long total, free, used; };
struct util { unsigned gpu, memory; };
int nvmlInit_v2(void) { return 0; }
int nvmlShutdown(void) { return 0; }
const char *nvmlErrorString(int r) { (void)r; return "Unknown"; }
int nvmlDeviceGetCount_v2(unsigned *n) { *n = 2; return 0; }
int nvmlDeviceGetHandleByIndex_v2(unsigned i, void **d) { *d = (void *)(size_t)(i + 1); return 0; }
int nvmlDeviceGetName(void *d, char *b, unsigned n) { (void)d; snprintf(b, n, "NVIDIA H100 80GB HBM3"); return 0; }
int nvmlDeviceGetUUID(void *d, char *b, unsigned n) { snprintf(b, n, "GPU-%08zu-0000-0000-0000-000000000000", (size_t)d - 1); return 0; }
int nvmlDeviceGetMemoryInfo(void *d, struct mem *m) { m->total = 80ULL << 30; m->used = ((size_t)d - 1) ? 3ULL << 30 : 0; m->free = m->total - m->used; return 0; }
/* GPU 0 reads 0% (held and idle), GPU 1 reads 42% */
int nvmlDeviceGetUtilizationRates(void *d, struct util *u) { u->gpu = ((size_t)d - 1) ? 42 : 0; u->memory = 0; return 0; }
C
cc -shared -fPIC -o "$T/nvml/libnvidia-ml.so.1" "$T/nvml/fake.c" || fail "building the stand-in NVML"

start_scheduler "$T/state" --heartbeat 200ms --lease 5s
mkdir -p "$T/spool"
worker_keys n1
LD_LIBRARY_PATH=$T/nvml "$MLQ_WORKER_BIN" --scheduler "$SCHED_ADDR" --name n1 "${IT_WORKER_KEYS[@]}" \
    --spool "$T/spool" --cpus 2 --mem 2G --gpu-discovery nvml --heartbeat 200ms \
    >>"$T/logs/worker-n1.log" 2>&1 &
WORKER_PID=$!
IT_PIDS+=("$WORKER_PID")
wait_until "worker_up n1 || ! pid_alive $WORKER_PID" 15 || true
worker_up n1 || fail "worker n1 not UP"
assert_contains "$(cat "$T/logs/worker-n1.log")" "gpus 2 (nvml" "GPUs found through the stand-in NVML"
ok mlq submit --cpus 0.1 --mem 16M --gpus 1 -- sleep 60
J=$OUT
wait_state "$J" RUNNING 20

val() { awk -v s="$1" '$1 == s { print $2 }' <<<"$M"; }
# Two heartbeats at least after the job took GPU 0: idle for > 0 s.
wait_until "M=\$(\"$MLQ\" --scheduler $SCHED_ADDR admin metrics 2>/dev/null) && awk '\$1 == \"mlq_gpu_idle_seconds{worker=\\\"n1\\\",gpu=\\\"0\\\",gpu_type=\\\"h100\\\"}\" && \$2 > 0.3 { f = 1 } END { exit !f }' <<<\"\$M\"" 20 ||
    fail "GPU 0 never idle: $("$MLQ" --scheduler "$SCHED_ADDR" admin metrics | grep mlq_gpu_)"
M=$("$MLQ" --scheduler "$SCHED_ADDR" admin metrics)
assert_eq 0.42 "$(val 'mlq_gpu_utilization_ratio{worker="n1",gpu="1",gpu_type="h100"}')" "GPU 1 utilisation"
assert_eq 0.00 "$(val 'mlq_gpu_utilization_ratio{worker="n1",gpu="0",gpu_type="h100"}')" "GPU 0 utilisation"
assert_eq 3221225472 "$(val 'mlq_gpu_memory_used_bytes{worker="n1",gpu="1",gpu_type="h100"}')" "GPU 1 memory"
assert_eq 0.000 "$(val 'mlq_gpu_idle_seconds{worker="n1",gpu="1",gpu_type="h100"}')" "a free GPU is never idle"
ok mlq workers --gpus
assert_contains "$OUT" "n1 gpu1 h100 GPU-00000001-0000-0000-0000-000000000000 free util 42% mem 3G" "workers --gpus"
ok mlq workers --json
assert_eq 42 "$(json "d['workers'][0]['gpu_list'][1]['util']" <<<"$OUT")" "util in --json"
assert_eq 0 "$(json "d['workers'][0]['gpu_list'][0]['util']" <<<"$OUT")" "GPU 0 util in --json"
printf "%s\n" "$M" >"$T/metrics.txt"
ok mlq cancel "$J"
log "ok"
