#!/usr/bin/env bash
# startsteps.sh [N]: where the time of one `mlq submit` -> the job's first
# instruction goes, step by step (CLI exec, connect, CURVE handshake,
# request, scheduler receive, commit, ASSIGN, worker receive, attempt
# folder, standby shim told, shim fork, job exec). Runs a real scheduler
# and one real worker (CURVE on, default settings, lib.sh's free loopback
# ports and temp dir) and N samples (default 12) of
# `mlq submit -- sh -c 'date ...'`, one at a time after a random pause of
# 0.2-1.0 s (STARTSTEPS_PAUSE=S: a fixed pause of S seconds instead, e.g.
# 61 for the cold path), all under `perf trace -T` (needs perf and root);
# tests/bench/startsteps.py turns the trace into a table of medians.
# Cold mode: STARTSTEPS_IDLE=S (e.g. 60) leaves the worker idle S seconds
# before each sample (N defaults to 3 then) and prints the same table, to
# compare with a warm run (the target: within 2 ms of it).
# Knobs: MLQ_BIN_DIR (use a Release build), STARTSTEPS_TRACE (keep the
# trace at this path). Examples:
#   MLQ_BIN_DIR=$PWD/build-rel/bin tests/bench/startsteps.sh 20
#   STARTSTEPS_IDLE=60 MLQ_BIN_DIR=$PWD/build-rel/bin tests/bench/startsteps.sh
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ -n "${STARTSTEPS_IDLE:-}" ]; then
    case "$STARTSTEPS_IDLE" in *[!0-9]* | "") echo "STARTSTEPS_IDLE: whole seconds" >&2 && exit 2 ;; esac
    export STARTSTEPS_PAUSE=$STARTSTEPS_IDLE
fi
if [ "${1:-}" != --inner ]; then
    N=${1:-$([ -n "${STARTSTEPS_IDLE:-}" ] && echo 3 || echo 12)}
    case "$N" in *[!0-9]* | "") echo "usage: $0 [N]" >&2 && exit 2 ;; esac
    [ -z "${STARTSTEPS_IDLE:-}" ] ||
        echo "cold path: the worker idle ${STARTSTEPS_IDLE} s before each of $N samples" >&2
    command -v perf >/dev/null || { echo "startsteps.sh: needs perf" >&2 && exit 2; }
    TRACE=${STARTSTEPS_TRACE:-$(mktemp /tmp/startsteps.XXXXXX)}
    perf trace -T -o "$TRACE" -e 'execve,connect,sendto,recvfrom,fdatasync,fsync,rename,renameat,renameat2,clone,clone3,read,exit_group' \
        -- bash "$0" --inner "$N" || exit 1
    python3 "$HERE/startsteps.py" "$TRACE"
    rc=$?
    [ -n "${STARTSTEPS_TRACE:-}" ] || rm -f "$TRACE"
    exit "$rc"
fi
N=$2
PAUSE_S=${STARTSTEPS_PAUSE:-1}
PAUSE_S=${PAUSE_S%.*} # whole seconds, for the deadline
IT_DEADLINE=${IT_DEADLINE:-$((120 + N * (${PAUSE_S:-0} + 1) * 2))}
# shellcheck source=tests/integration/lib.sh
. "$HERE/../integration/lib.sh"
set +e
start_scheduler "$T/state"
start_worker w1 "$T/spool-w1" --cpus 64 --mem 64G --gpus 4
export MLQ_SCHEDULER=$SCHED_ADDR
mkdir -p "$T/out"
for _ in 1 2 3; do "$MLQ" submit -- true >/dev/null && sleep 0.3; done
for ((s = 0; s < N; s++)); do
    sleep "${STARTSTEPS_PAUSE:-0.$((RANDOM % 9 + 2))}"
    # shellcheck disable=SC2016 # expanded by the job's shell
    id=$("$MLQ" submit -- sh -c 'date +%s.%N >"$0/$MLQ_JOB_ID"' "$T/out") || fail "submit failed"
    wait_until "[ -s $T/out/$id ]" 30 || fail "job $id did not start"
    sleep 0.1
done
