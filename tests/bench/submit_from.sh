#!/usr/bin/env bash
# `mlq submit --from` throughput: N small jobs (default 100000) in one
# request through the real CLI to a real scheduler (CURVE on, default log
# level, synchronous=FULL), timed end to end (reading the file, checking
# every line, the request, one durable commit, the ids printed). Prints
# jobs/s for each of RUNS runs (default 3) and their median; each run has a
# fresh scheduler and state directory. MLQ_BENCH_EXPORT sets --export
# (default ALL, as a user would run it). Besides the wall time each run
# prints the CPU time (user + system) of the CLI and of the scheduler, which
# on a loaded machine say more. BENCH_PERF=1 writes a `perf record -g`
# profile of the last run's scheduler and CLI to $BENCH_OUT/sched.perf and
# cli.perf (BENCH_OUT defaults to the current directory). Use a Release build:
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
    cli=("$MLQ" submit --scheduler "$SCHED_ADDR" --from "$T/jobs.jsonl"
        --export "${MLQ_BENCH_EXPORT:-ALL}" --timeout 120s)
    perf_pid=""
    if [ "${BENCH_PERF:-0}" = 1 ] && [ "$r" = "$RUNS" ]; then
        perf record -q ${BENCH_PERF_OPTS:--g} -o "${BENCH_OUT:-.}/sched.perf" -p "$SCHED_PID" 2>/dev/null &
        perf_pid=$!
        sleep 1
        cli=(perf record -q ${BENCH_PERF_OPTS:--g} -o "${BENCH_OUT:-.}/cli.perf" -- "${cli[@]}")
    fi
    t0=$(date +%s%N)
    /usr/bin/time -f "%U %S" -o "$T/cli.time" "${cli[@]}" >"$T/ids" 2>>"$T/logs/cli.log" ||
        fail "submit --from failed: $(tail -3 "$T/logs/cli.log")"
    ns=$(($(date +%s%N) - t0))
    [ -z "$perf_pid" ] || { kill -INT "$perf_pid"; wait "$perf_pid" || true; }
    cli_ms=$(awk 'END { print int(($1 + $2) * 1000) }' "$T/cli.time")
    [ "$(wc -l <"$T/ids")" = "$N" ] || fail "expected $N ids"
    rate=$((N * 1000000000 / ns))
    # The scheduler's CPU time (user + system) for the whole run: on a
    # loaded machine it says more than the wall time.
    tck=$(getconf CLK_TCK)
    cpu_ms=$(awk -v t="$tck" '{ print int(($14 + $15) * 1000 / t) }' "/proc/$SCHED_PID/stat")
    log "run $r: $N jobs in $((ns / 1000000)) ms: $rate jobs/s (CPU: scheduler $cpu_ms ms," \
        "CLI $cli_ms ms; load $(cut -d' ' -f1 /proc/loadavg))"
    rates+=("$rate")
    stop_pid "$SCHED_PID"
done
median=$(printf '%s\n' "${rates[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p")
echo "submit --from: $N jobs, median of $RUNS: $median jobs/s"
