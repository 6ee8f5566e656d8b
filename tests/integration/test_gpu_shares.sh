#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# GPU shares: four 0.25 jobs share one fake GPU at once and see
# MLQ_GPU_FRACTION and the same CUDA_VISIBLE_DEVICES; `mlq workers` counts
# the shares; a whole-GPU job waits while a share is held on a 1-GPU worker
# and `mlq why` says what the share waits for; bad --gpus / --gpu-mem give
# exit 6 and store nothing; a --gpu-mem no GPU can hold stays pending with
# its reason; a job without GPUs runs while a share waits; after a
# scheduler SIGKILL with shares in use, no GPU is booked beyond one; `mlq
# usage` counts a 0.5 share for T as 0.5 x T GPU-hours, a whole GPU as T.
IT_DEADLINE=200
. "$(dirname "$0")/lib.sh" "$@"

STATE=$T/state
SCHED_ARGS=(--heartbeat 1s --lease 5s)
start_scheduler "$STATE" "${SCHED_ARGS[@]}"
start_worker g1 "$T/spool-g1" --cpus 4 --mem 2G --gpus fake:1 --heartbeat 1s

# A job that prints what it sees, then waits for $T/release-<name>.
held() {
    local name=$1
    shift
    mlq submit --name "$name" --cpus 0.5 --mem 64M "$@" -- sh -c '
printf "CVD=<%s> FRAC=<%s> GMEM=<%s>\n" "${CUDA_VISIBLE_DEVICES-unset}" \
    "${MLQ_GPU_FRACTION-unset}" "${MLQ_GPU_MEM-unset}"
while [ ! -e "$1" ]; do sleep 0.1; done' held "$T/release-$name"
}
seen() { mlq logs "$1" | sed -n "s/^.*$2=<\([^>]*\)>.*/\1/p"; }
# The most any GPU of any worker has booked, in hundredths.
max_share() {
    ok mlq workers --json
    json "round(max([g.get('share', 0) for w in d['workers'] for g in w['gpu_list']] + [0]) * 100)" <<<"$OUT"
}

# --- bad input: exit 6, nothing stored -------------------------------------
for bad in 1.5 0 0.001 0.255 h100:0 'a100|:1' 'a100|a100:1'; do
    [ "$bad" = 0 ] && continue # --gpus 0 is no GPU, as before
    expect_rc 6 mlq submit --gpus "$bad" -- true
    assert_contains "$ERR" "$bad" "message for --gpus $bad"
done
expect_rc 6 mlq submit --gpu-mem 0 -- true
expect_rc 6 mlq submit --gpus 2 --gpu-mem 1G -- true
expect_rc 6 mlq submit --nodes 2 --gpus 0.5 -- true
assert_contains "$ERR" "--nodes cannot be combined with a share" "gang with a share"
ok mlq list --json
assert_eq 0 "$(json "len(d['jobs'])" <<<"$OUT")" "jobs stored after bad input"
ok mlq submit --gpus 0 -- true # no GPU, as it always meant
expect_rc 0 mlq wait "$OUT" --timeout 30s

# --- four quarters share the one GPU ---------------------------------------
IDS=()
for i in 1 2 3 4; do
    ok held "q$i" --gpus 0.25
    IDS+=("$OUT")
done
for j in "${IDS[@]}"; do
    wait_state "$j" RUNNING 30
done
wait_until 'for j in "${IDS[@]}"; do [ -n "$(seen "$j" CVD)" ] || exit 1; done' 15 ||
    fail "shared jobs printed nothing"
for j in "${IDS[@]}"; do
    assert_eq 0 "$(seen "$j" CVD)" "CUDA_VISIBLE_DEVICES of a quarter share"
    assert_eq 0.25 "$(seen "$j" FRAC)" "MLQ_GPU_FRACTION of a quarter share"
    assert_eq unset "$(seen "$j" GMEM)" "MLQ_GPU_MEM without --gpu-mem"
done
ok mlq status "${IDS[0]}" --json
assert_eq 0.25 "$(json "d['gpu_share']" <<<"$OUT")" "gpu_share in status --json"
ok mlq status "${IDS[0]}"
assert_contains "$OUT" "gpus 0.25" "resources line of a share"
ok mlq workers --json
assert_eq 1.0 "$(json "d['workers'][0]['gpus_used_share']" <<<"$OUT")" "GPUs in use with four quarters"
assert_eq 4 "$(json "d['workers'][0]['gpu_list'][0]['shares']" <<<"$OUT")" "shares on GPU 0"
assert_eq 100 "$(max_share)" "share booked on GPU 0"

# a fifth quarter waits: the GPU is full
ok held q5 --gpus 0.25
Q5=$OUT
sleep 1
assert_eq PENDING "$(job_state "$Q5")" "fifth quarter on a full GPU"
ok mlq why "$Q5" --json
assert_contains "$(json "d['text']" <<<"$OUT")" "no GPU has 0.25 free on any worker of pool default" \
    "why of a share on a full GPU"
# a job without GPUs is not held up behind the waiting share (its own shape)
ok mlq submit --cpus 0.5 --mem 64M -- true
expect_rc 0 mlq wait "$OUT" --timeout 30s
ok mlq list
assert_contains "$OUT" "0.25" "GPUS column of mlq list for a share"

# --- a whole-GPU job waits while one share is held --------------------------
for i in 2 3 4; do touch "$T/release-q$i"; done
expect_rc 0 mlq wait "${IDS[@]:1}" --timeout 30s
wait_state "$Q5" RUNNING 30 # the freed quarter goes to the fifth
touch "$T/release-q5"
expect_rc 0 mlq wait "$Q5" --timeout 30s
ok mlq workers
assert_contains "$OUT" "0.25/1" "GPUS column with one quarter held"
ok held whole --gpus 1
W=$OUT
sleep 1.5
assert_eq PENDING "$(job_state "$W")" "whole-GPU job while a share is held"
touch "$T/release-q1"
expect_rc 0 mlq wait "${IDS[0]}" --timeout 30s
wait_state "$W" RUNNING 30
assert_eq unset "$(wait_until "[ -n \"\$(seen $W FRAC)\" ]" 15; seen "$W" FRAC)" "MLQ_GPU_FRACTION of a whole GPU"
touch "$T/release-whole"
expect_rc 0 mlq wait "$W" --timeout 30s

# --- GPU memory no GPU can hold: accepted, pending, explained ---------------
ok mlq submit --gpu-mem 10G -- true
M=$OUT
sleep 1
assert_eq PENDING "$(job_state "$M")" "a --gpu-mem no GPU holds"
ok mlq why "$M" --json
assert_eq never_fits "$(json "d['blocker']" <<<"$OUT")" "blocker of a --gpu-mem no GPU holds"
assert_contains "$(json "d['text']" <<<"$OUT")" "10G" "why names the GPU memory"
ok mlq cancel "$M"

# --- scheduler SIGKILL with shares in use: rebuilt exactly -----------------
IDS=()
for i in 1 2 3; do
    ok held "r$i" --gpus 0.3
    IDS+=("$OUT")
done
for j in "${IDS[@]}"; do wait_state "$j" RUNNING 30; done
ok held r4 --gpus 0.3 # 0.9 booked: this one waits
R4=$OUT
assert_eq 90 "$(max_share)" "booked before the restart"
kill -KILL "$SCHED_PID"
wait "$SCHED_PID" 2>/dev/null || true
start_scheduler "$STATE" "${SCHED_ARGS[@]}"
wait_until 'worker_up g1' 20 || fail "worker did not come back"
sleep 1
assert_eq 90 "$(max_share)" "booked after the restart"
assert_eq PENDING "$(job_state "$R4")" "fourth 0.3 share after the restart"
touch "$T/release-r1"
wait_state "$R4" RUNNING 30
[ "$(max_share)" -le 100 ] || fail "a GPU is booked beyond one after the restart"
for i in 2 3 4; do touch "$T/release-r$i"; done
expect_rc 0 mlq wait "${IDS[@]}" "$R4" --timeout 60s
assert_eq 0 "$(max_share)" "booked once every share ended"

# --- usage counts a share as its fraction of a GPU --------------------------
ok mlq submit --gpus 0.5 --cpus 0.5 --mem 64M --project half-gpu -- sleep 2
HALF=$OUT
ok mlq submit --gpus 1 --cpus 0.5 --mem 64M --project whole-gpu -- sleep 2
WHOLE=$OUT
expect_rc 0 mlq wait "$HALF" "$WHOLE" --timeout 60s
ok mlq usage --by project --json
echo "$OUT" >"$T/usage.json"
ok mlq status "$HALF" --json
echo "$OUT" >"$T/half.json"
ok mlq status "$WHOLE" --json
echo "$OUT" >"$T/whole.json"
python3 - "$T/usage.json" "$T/half.json" "$T/whole.json" <<'PY' || fail "GPU-hours of a share"
import datetime, json, sys
t = lambda s: datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
groups = {g["name"]: g for g in json.load(open(sys.argv[1]))["groups"]}
for name, path, frac in (("half-gpu", sys.argv[2], 0.5), ("whole-gpu", sys.argv[3], 1.0)):
    job = json.load(open(path))
    wall_h = sum(t(a["end_time"]) - t(a["start_time"]) for a in job["attempts"]) / 3600
    got, want = groups[name]["gpu_hours"], frac * wall_h
    print(name, got, want)
    assert abs(got - want) <= max(0.02 * want, 2 / 3.6e6), (name, got, want)
PY
log "ok"
