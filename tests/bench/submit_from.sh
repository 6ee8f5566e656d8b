#!/usr/bin/env bash
# `mlq submit --from` throughput: N small jobs (default 100000) in one
# request through the real CLI to a real scheduler (CURVE on, default log
# level, synchronous=FULL), timed end to end (reading the file, checking
# every line, the request, one durable commit, the ids printed). Prints
# jobs/s for each of RUNS runs (default 3) and their median; each run has a
# fresh scheduler and state directory. MLQ_BENCH_EXPORT sets --export
# (default ALL, as a user would run it). Use a Release build:
#   MLQ_BIN_DIR=build-rel/bin tests/bench/submit_from.sh [N] [RUNS]
IT_DEADLINE=${IT_DEADLINE:-600}
N=${1:-100000}
RUNS=${2:-3}
. "$(dirname "$0")/../integration/lib.sh" "$@"

python3 - "$N" >"$T/jobs.jsonl" <<'PY'
import sys
for i in range(int(sys.argv[1])):
    print('{"argv": ["python3", "score.py", "%d"], "cpus": 1, "mem": "2G", "name": "score-%d"}'
          % (i, i))
PY
rates=()
for r in $(seq 1 "$RUNS"); do
    SCHED_PORT=""
    start_scheduler "$T/state-$r"
    t0=$(date +%s%N)
    mlq submit --from "$T/jobs.jsonl" --export "${MLQ_BENCH_EXPORT:-ALL}" --timeout 120s \
        >"$T/ids" || fail "submit --from failed"
    ns=$(($(date +%s%N) - t0))
    [ "$(wc -l <"$T/ids")" = "$N" ] || fail "expected $N ids"
    rate=$((N * 1000000000 / ns))
    # The scheduler's CPU time (user + system) for the whole run: on a
    # loaded machine it says more than the wall time.
    tck=$(getconf CLK_TCK)
    cpu_ms=$(awk -v t="$tck" '{ print int(($14 + $15) * 1000 / t) }' "/proc/$SCHED_PID/stat")
    log "run $r: $N jobs in $((ns / 1000000)) ms: $rate jobs/s (scheduler CPU $cpu_ms ms)"
    rates+=("$rate")
    stop_pid "$SCHED_PID"
done
median=$(printf '%s\n' "${rates[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p")
echo "submit --from: $N jobs, median of $RUNS: $median jobs/s"
