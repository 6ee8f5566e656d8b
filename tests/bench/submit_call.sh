#!/usr/bin/env bash
# submit_call.sh [N]: the cost of one `mlq submit -- true` as a user pays it:
# N calls (default 100) one after the other against a real mlq-scheduler on
# loopback (CURVE on, default configuration and log level, the client config
# lib.sh writes, default --export ALL), no worker (the jobs stay pending).
# Prints the mean and median wall time per call and the mean user and sys
# CPU per call (the CPU figures move less when other work shares the host).
#
# Knobs: MLQ_BIN_DIR (default build/bin; use a Release build for figures),
#   BENCH_CLIENTS: other `mlq` binaries to time against the same scheduler
#   (one line each, in turn, so that they share the same host load),
#   BENCH_STRACE=1 also writes one call's `strace -f -tt -T` to
#   $BENCH_OUT/submit.strace and the scheduler's side of one to
#   scheduler.strace; BENCH_PERF=1 prints a `perf stat` of N calls of each
#   client (task-clock: CPU ms a call) and writes a `perf record` profile
#   of 50 calls to $BENCH_OUT/submit.perf (when those tools are installed;
#   BENCH_OUT defaults to the current directory).
# Example: MLQ_BIN_DIR=build-rel/bin tests/bench/submit_call.sh 100
N=${1:-100}
case "$N" in *[!0-9]* | "" | 0) echo "usage: $0 [N >= 1]" >&2 && exit 2 ;; esac
IT_DEADLINE=${IT_DEADLINE:-600}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../integration/lib.sh" "$@"
set +e
OUT=${BENCH_OUT:-$PWD}

start_scheduler "$T/state"
export MLQ_SCHEDULER=$SCHED_ADDR
"$MLQ" submit -- true >/dev/null || fail "a first submit failed"

# calls BIN: times N calls of BIN and prints one line of figures.
calls() {
    local bin=$1 i t0 w u s median
    : >"$T/call.raw"
    TIMEFORMAT='%R %U %S'
    { time for ((i = 0; i < N; i++)); do
        t0=$EPOCHREALTIME
        "$bin" submit -- true >/dev/null || echo "submit failed" >&2
        echo "$t0 $EPOCHREALTIME" >>"$T/call.raw" # builtins only: the CPU is the CLI's
    done; } 2>"$T/call.time"
    read -r w u s < <(tail -n 1 "$T/call.time")
    median=$(awk '{ print 1000 * ($2 - $1) }' "$T/call.raw" | sort -n |
        awk '{ a[NR] = $1 } END { printf "%.2f", (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
    awk -v n="$N" -v w="$w" -v u="$u" -v s="$s" -v m="$median" -v b="$bin" 'BEGIN {
        printf "%s: %d calls: mean %.2f ms, median %.2f ms, user %.2f ms, sys %.2f ms a call\n",
            b, n, 1000 * w / n, m, 1000 * u / n, 1000 * s / n }'
}
for bin in "$MLQ" ${BENCH_CLIENTS:-}; do
    calls "$bin"
done

if [ "${BENCH_STRACE:-0}" = 1 ] && command -v strace >/dev/null; then
    strace -f -tt -T -o "$OUT/submit.strace" "$MLQ" submit -- true >/dev/null
    # the scheduler's side of one submit, traced while it happens
    strace -f -tt -T -p "$SCHED_PID" -o "$OUT/scheduler.strace" &
    st=$!
    sleep 1
    "$MLQ" submit -- true >/dev/null
    sleep 0.2
    kill -INT "$st"
    wait "$st"
    log "strace of one call: $OUT/submit.strace, the scheduler's: $OUT/scheduler.strace"
fi
if [ "${BENCH_PERF:-0}" = 1 ] && command -v perf >/dev/null; then
    for bin in "$MLQ" ${BENCH_CLIENTS:-}; do
        printf '%s: perf stat of %d calls: ' "$bin" "$N"
        perf stat -r "$N" "$bin" submit -- true 2>&1 >/dev/null |
            awk '/task-clock|context-switches|page-faults|elapsed/ { printf "%s %s; ", $1, $2 } END { print "" }'
    done
    # where the CLI's CPU goes, over 50 calls (the software clock: VMs often
    # have no cycle counter)
    perf record -q -e cpu-clock -F 20000 -g -o "$OUT/submit.perf" -- \
        bash -c 'for i in $(seq 50); do "$0" submit -- true; done >/dev/null' "$MLQ"
    perf report -i "$OUT/submit.perf" --comm mlq --no-children --sort dso,sym 2>/dev/null |
        grep -v '^#' | grep -v '^$' | head -n 40
fi
exit 0
