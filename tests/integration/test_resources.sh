#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# Resources: fake GPUs handed out by index without overlap, a job that does
# not fit waits, a job that can never fit says so and does not block the
# others, fractional CPUs, what a job sees in its environment.
IT_DEADLINE=200
. "$(dirname "$0")/lib.sh" "$@"

start_scheduler "$T/state"
start_worker gpu1 "$T/spool-gpu1" --cpus 2 --mem 2G --gpus 2

ok mlq workers --json
assert_eq 2 "$(json "d['workers'][0]['gpus']" <<<"$OUT")" "declared fake GPUs"
assert_eq 2.0 "$(json "float(d['workers'][0]['cpus'])" <<<"$OUT")" "declared CPUs"
assert_eq 2147483648 "$(json "d['workers'][0]['mem']" <<<"$OUT")" "declared memory"

# A job that prints what it was given, then waits for $T/release-<name>.
held_job() {
    local name=$1
    shift
    mlq submit --name "$name" --cpus 0.5 --mem 256M "$@" -- sh -c '
printf "CVD=<%s> NVD=<%s> GPUS=<%s> CPUS=<%s>\n" "${CUDA_VISIBLE_DEVICES-unset}" \
  "${NVIDIA_VISIBLE_DEVICES-unset}" "$MLQ_GPUS" "$MLQ_CPUS"
while [ ! -e "$1" ]; do sleep 0.1; done' held "$T/release-$name"
}
release() { touch "$T/release-$1"; }
line_of() { mlq logs "$1" | grep '^CVD='; }

# --- fractional CPUs, no GPU --------------------------------------------
ok mlq submit --cpus 0.5 --mem 128M --gpus 0 -- sh -c \
    'printf "CPUS=%s GPUS=%s CVD=<%s> NVD=<%s>\n" "$MLQ_CPUS" "$MLQ_GPUS" "${CUDA_VISIBLE_DEVICES-unset}" "${NVIDIA_VISIBLE_DEVICES-unset}"'
C=$OUT
expect_rc 0 mlq wait "$C" --timeout 60s
ok mlq logs "$C"
cpus=$(sed -n 's/^CPUS=\([^ ]*\) .*/\1/p' <<<"$OUT")
assert_eq 0.5 "$(python3 -c "print(float('$cpus'))")" "MLQ_CPUS of a 0.5-CPU job"
assert_contains "$OUT" "GPUS= " "MLQ_GPUS (granted GPU ids) of a CPU job is empty"
assert_contains "$OUT" "CVD=<>" "CUDA_VISIBLE_DEVICES of a --gpus 0 job is empty"
assert_contains "$OUT" "NVD=<" "NVIDIA_VISIBLE_DEVICES of a --gpus 0 job"
assert_eq 0.5 "$(job_field "$C" cpus)" "status cpus"

# --- two 1-GPU jobs at once, on different GPUs ---------------------------
G1=$(held_job g1 --gpus 1)
G2=$(held_job g2 --gpus 1)
wait_state "$G1" RUNNING 30
wait_state "$G2" RUNNING 30
wait_until "line_of $G1 && line_of $G2" 15 || fail "GPU jobs printed nothing"
l1=$(line_of "$G1")
l2=$(line_of "$G2")
cvd1=$(sed -n 's/^CVD=<\([^>]*\)>.*/\1/p' <<<"$l1")
cvd2=$(sed -n 's/^CVD=<\([^>]*\)>.*/\1/p' <<<"$l2")
assert_eq "0 1" "$(printf '%s\n' "$cvd1" "$cvd2" | sort | xargs)" "CUDA_VISIBLE_DEVICES of two 1-GPU jobs"
assert_contains "$l1" "NVD=<$cvd1>" "NVIDIA_VISIBLE_DEVICES matches CUDA_VISIBLE_DEVICES"
assert_contains "$l1" "GPUS=<$cvd1>" "MLQ_GPUS (granted GPU ids) of a 1-GPU job"
assert_contains "$l2" "GPUS=<$cvd2>" "MLQ_GPUS (granted GPU ids) of a 1-GPU job"
assert_eq "[$cvd1]" "$(job_field "$G1" gpu_ids)" "status gpu_ids of g1"
assert_eq "[$cvd2]" "$(job_field "$G2" gpu_ids)" "status gpu_ids of g2"
ok mlq workers --json
assert_eq 2 "$(json "d['workers'][0]['gpus_used']" <<<"$OUT")" "gpus_used with two GPU jobs"
assert_eq 2 "$(json "d['workers'][0]['running']" <<<"$OUT")" "running with two GPU jobs"
assert_eq 1.0 "$(json "float(d['workers'][0]['cpus_used'])" <<<"$OUT")" "cpus_used with two 0.5-CPU jobs"

# --- a third GPU job waits -------------------------------------------------
G3=$(held_job g3 --gpus 1)
# --- a job that can never fit is accepted, says why, stays PENDING --------
ok mlq submit --name huge --gpus 8 -- true
BIG=$OUT
sleep 2
assert_eq PENDING "$(job_state "$G3")" "third GPU job while both GPUs are taken"
ok mlq status "$BIG" --json
assert_eq PENDING "$(json "d['state']" <<<"$OUT")" "8-GPU job"
reason=$(json "d['reason'] or ''" <<<"$OUT")
[ -n "$reason" ] || fail "8-GPU job has no pending reason"
assert_contains "${reason,,}" gpu "reason of the 8-GPU job names GPUs: $reason"
assert_contains "${reason,,}" never "reason of the 8-GPU job says it can never fit: $reason"
ok mlq status "$BIG"
assert_contains "$OUT" "$reason" "status text shows the pending reason"

# one GPU frees up: the third job gets exactly that GPU
release g1
expect_rc 0 mlq wait "$G1" --timeout 30s
wait_state "$G3" RUNNING 30
wait_until "line_of $G3" 15 || fail "g3 printed nothing"
cvd3=$(line_of "$G3" | sed -n 's/^CVD=<\([^>]*\)>.*/\1/p')
assert_eq "$cvd1" "$cvd3" "third GPU job reuses the freed GPU"
release g2
release g3
expect_rc 0 mlq wait "$G2" "$G3" --timeout 30s

# the never-fitting job blocks nobody
ok mlq submit --gpus 2 -- sh -c 'echo "CVD=$CUDA_VISIBLE_DEVICES"'
G4=$OUT
expect_rc 0 mlq wait "$G4" --timeout 30s
ok mlq logs "$G4"
assert_contains "$OUT" "CVD=0,1" "a 2-GPU job sees both GPUs"
assert_eq PENDING "$(job_state "$BIG")" "8-GPU job after the others ran"
ok mlq workers --json
assert_eq 0 "$(json "d['workers'][0]['gpus_used']" <<<"$OUT")" "gpus_used when idle"
assert_eq 0 "$(json "d['workers'][0]['running']" <<<"$OUT")" "running when idle"

ok mlq cancel "$BIG"
wait_state "$BIG" CANCELLED 10
