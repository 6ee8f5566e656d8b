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
# cli.perf (BENCH_OUT defaults to the current directory). BENCH_VIA=http
# posts the same jobs as one JSON array to POST /api/v1/jobs:batch with
# curl and a token instead (no shared environment there: the "CLI" CPU is
# curl's). Use a Release build:
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
VIA=${BENCH_VIA:-cli}
[ "$VIA" != http ] || python3 -c 'import sys, json; json.dump([json.loads(l) for l in sys.stdin], sys.stdout)' \
    <"$T/jobs.jsonl" >"$T/jobs.json"
rates=()
for r in $(seq 1 "$RUNS"); do
    SCHED_PORT=""
    extra=()
    if [ "$VIA" = http ]; then
        HTTP_PORT=$(free_port)
        extra=(--http "127.0.0.1:$HTTP_PORT")
    fi
    start_scheduler "$T/state-$r" "${extra[@]}"
    cli=("$MLQ" submit --scheduler "$SCHED_ADDR" --from "$T/jobs.jsonl"
        --export "${MLQ_BENCH_EXPORT:-ALL}" --timeout 120s)
    if [ "$VIA" = http ]; then
        ok "$MLQ" --scheduler "$SCHED_ADDR" admin token create "bench-$r" --user "$IT_ME"
        cli=(sh -c 'curl -sS -f -X POST -H "Content-Type: application/json" \
            -H "Authorization: Bearer $0" --data-binary "@$1" "$2" |
            python3 -c "import sys, json; print(*json.load(sys.stdin)[\"ids\"], sep=\"\n\")"' \
            "$OUT" "$T/jobs.json" "http://127.0.0.1:$HTTP_PORT/api/v1/jobs:batch")
    fi
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
echo "submit --from ($VIA): $N jobs, median of $RUNS: $median jobs/s"
