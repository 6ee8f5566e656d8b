#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# GPUs: a worker with 4 fake GPUs runs four 1-GPU jobs at once, each seeing
# a different CUDA_VISIBLE_DEVICES; `mlq workers` shows which job holds
# which GPU; a 2-GPU job sees two ids; --gpus fake:1 runs while --gpus
# h100:1 waits with `mlq why` naming the GPU type.
IT_DEADLINE=220
. "$(dirname "$0")/lib.sh" "$@"

start_scheduler "$T/state"
start_worker g1 "$T/spool-g1" --cpus 4 --mem 2G --gpus 4

ok mlq workers --json
assert_eq 4 "$(json "d['workers'][0]['gpus']" <<<"$OUT")" "GPU count of g1"
assert_eq '[0, 1, 2, 3]' "$(json "sorted(g['index'] for g in d['workers'][0]['gpu_list'])" <<<"$OUT")" \
    "GPU indexes of g1"
assert_eq '["fake"]' "$(json "sorted(set(g['type'] for g in d['workers'][0]['gpu_list']))" <<<"$OUT")" \
    "type of fake GPUs"
assert_eq true "$(json "all(g['job_id'] is None for g in d['workers'][0]['gpu_list'])" <<<"$OUT")" \
    "no GPU held while idle"

# A job that prints its devices, then waits for $T/release-<name>.
held() {
    local name=$1
    shift
    mlq submit --name "$name" --cpus 0.5 --mem 64M "$@" -- sh -c '
printf "CVD=<%s> NVD=<%s>\n" "${CUDA_VISIBLE_DEVICES-unset}" "${NVIDIA_VISIBLE_DEVICES-unset}"
while [ ! -e "$1" ]; do sleep 0.1; done' held "$T/release-$name"
}
cvd_of() { mlq logs "$1" | sed -n 's/^CVD=<\([^>]*\)>.*/\1/p'; }

IDS=()
for i in 1 2 3 4; do
    ok held "j$i" --gpus 1
    IDS+=("$OUT")
done
for j in "${IDS[@]}"; do
    wait_state "$j" RUNNING 30
done
wait_until 'for j in "${IDS[@]}"; do [ -n "$(cvd_of "$j")" ] || exit 1; done' 15 ||
    fail "GPU jobs printed nothing"
all=""
for j in "${IDS[@]}"; do
    c=$(cvd_of "$j")
    [[ "$c" =~ ^[0-3]$ ]] || fail "CUDA_VISIBLE_DEVICES of a 1-GPU job is [$c]"
    mlq logs "$j" | grep -q "NVD=<$c>" || fail "NVIDIA_VISIBLE_DEVICES of $j differs from [$c]"
    all="$all $c"
done
assert_eq "0 1 2 3" "$(xargs -n1 <<<"$all" | sort | xargs)" "devices of four concurrent 1-GPU jobs"

# workers: each GPU names the job on it, and it is the job that sees it.
ok mlq workers --json
assert_eq 4 "$(json "d['workers'][0]['gpus_used']" <<<"$OUT")" "gpus_used with four GPU jobs"
WJ=$OUT
for j in "${IDS[@]}"; do
    c=$(cvd_of "$j")
    assert_eq "$j" "$(json "[g['job_id'] for g in d['workers'][0]['gpu_list'] if g['index'] == $c][0]" <<<"$WJ")" \
        "job holding GPU $c"
done
ok mlq workers --gpus
for j in "${IDS[@]}"; do
    assert_contains "$OUT" "g1 gpu$(cvd_of "$j") fake - job ${j:0:8}" "GPU line of job $j"
done
ok mlq workers
assert_contains "$OUT" "4/4" "GPUS column with every GPU taken"

# a fifth GPU job waits for a GPU
ok held j5 --gpus 1
J5=$OUT
sleep 1
assert_eq PENDING "$(job_state "$J5")" "fifth 1-GPU job"
ok mlq why "$J5" --json
case "$(json "d['blocker']" <<<"$OUT")" in
resources | reservation) ;;
*) fail "blocker of a job waiting for a GPU: $OUT" ;;
esac
for i in 1 2 3 4; do touch "$T/release-j$i"; done
touch "$T/release-j5"
expect_rc 0 mlq wait "${IDS[@]}" "$J5" --timeout 60s

# a 2-GPU job sees two distinct ids
ok mlq submit --gpus 2 -- sh -c 'echo "CVD=<$CUDA_VISIBLE_DEVICES> NVD=<$NVIDIA_VISIBLE_DEVICES>"'
TWO=$OUT
expect_rc 0 mlq wait "$TWO" --timeout 30s
ok mlq logs "$TWO"
c=$(sed -n 's/^CVD=<\([^>]*\)>.*/\1/p' <<<"$OUT")
[[ "$c" =~ ^[0-3],[0-3]$ ]] || fail "CUDA_VISIBLE_DEVICES of a 2-GPU job is [$c]"
[ "${c%,*}" != "${c#*,}" ] || fail "a 2-GPU job got the same GPU twice: [$c]"
assert_contains "$OUT" "NVD=<$c>" "NVIDIA_VISIBLE_DEVICES of the 2-GPU job"
assert_eq "[${c/,/, }]" "$(job_field "$TWO" gpu_ids)" "status gpu_ids of the 2-GPU job"

# GPU types: fake runs (any case), h100 waits with a reason
ok mlq submit --gpus fake:1 -- sh -c 'echo "CVD=<$CUDA_VISIBLE_DEVICES>"'
F1=$OUT
ok mlq submit --gpus FAKE:2 -- true
F2=$OUT
expect_rc 0 mlq wait "$F1" "$F2" --timeout 30s
ok mlq logs "$F1"
[[ "$OUT" =~ CVD=\<[0-3]\> ]] || fail "a fake:1 job sees [$OUT]"
ok mlq submit --gpus h100:1 -- true
H=$OUT
expect_rc 6 mlq submit --gpus h100:0 -- true
expect_rc 6 mlq submit --gpus 'h 100:1' -- true
sleep 2
assert_eq PENDING "$(job_state "$H")" "an h100 job on a worker with fake GPUs"
ok mlq why "$H" --json
assert_eq gpu_type "$(json "d['blocker']" <<<"$OUT")" "blocker of the h100 job"
assert_contains "$(json "d['text']" <<<"$OUT")" h100 "why text of the h100 job"
ok mlq why "$H"
assert_contains "$OUT" "${H:0:8} PENDING: " "human why of the h100 job"

ok mlq workers --json
assert_eq 0 "$(json "d['workers'][0]['gpus_used']" <<<"$OUT")" "gpus_used when idle"
assert_eq 0 "$(json "len([g for g in d['workers'][0]['gpu_list'] if g['job_id']])" <<<"$OUT")" \
    "GPUs held when idle"
ok mlq cancel "$H"
