#!/usr/bin/env bash
# restart_time.sh [BIN_DIR]: how long a real mlq-scheduler takes from its
# start to answering a client, with 10,000 and 100,000 jobs in its database.
# Manual benchmark (not a ctest). BIN_DIR holds mlq-scheduler and mlq
# (default: <repo>/build/bin; a Release build gives the figures to quote).
#
# For each size N it fills one database through the scheduler itself (one
# job array of N tasks, no workers, so all N stay PENDING), then restarts
# the scheduler RUNS times and reports the median and the maximum of:
#   start->port  from exec to the ZeroMQ port accepting connections
#   start->reply from exec to the first answered `mlq list --limit 1`
# three ways: after a clean stop (SIGTERM), after a crash (SIGKILL right after
# a burst of writes, an array of 1,000 more tasks, so that the next start
# finds a WAL to recover), and
# with the same N jobs cancelled (terminal rows: on disk, not reloaded).
#
#   RUNS=N     restarts per case (default 5)
#   SIZES="A B" database sizes in jobs (default "10000 100000")
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
BIN=${1:-$SRC/build/bin}
RUNS=${RUNS:-5}
SIZES=${SIZES:-"10000 100000"}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mlq-restart.XXXXXX")
SPID=
cleanup() {
    [ -z "$SPID" ] || kill -9 "$SPID" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
PORT=$(free_port)
ADDR=tcp://127.0.0.1:$PORT
now_us() { echo $(($(date +%s%N) / 1000)); }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }
cli() { "$BIN/mlq" --insecure --scheduler "$ADDR" --timeout 120s "$@"; }

start() { # start STATE_DIR: sets SPID, T_PORT and T_REPLY (microseconds)
    local t0
    t0=$(now_us)
    "$BIN/mlq-scheduler" --insecure --listen "$ADDR" --state-dir "$1" \
        --retain-jobs off --retain-events off >>"$TMP/sched.log" 2>&1 &
    SPID=$!
    until port_open; do
        kill -0 "$SPID" 2>/dev/null || { tail "$TMP/sched.log" >&2; exit 1; }
        sleep 0.005
    done
    T_PORT=$(($(now_us) - t0))
    cli list --limit 1 >/dev/null 2>&1
    T_REPLY=$(($(now_us) - t0))
}
stop() { # stop SIGNAL
    kill -"$1" "$SPID"
    wait "$SPID" 2>/dev/null || true
    SPID=
}
# median and max of the numbers on stdin, in ms with one decimal
summary() { sort -n | awk '{a[NR]=$1} END {printf "median %.1f ms, max %.1f ms (n=%d)", a[int((NR+1)/2)]/1000, a[NR]/1000, NR}'; }

measure() { # measure LABEL SIGNAL DIR [BURST]
    local label=$1 sig=$2 dir=$3 burst=${4:-0} i
    : >"$TMP/port" && : >"$TMP/reply"
    for ((i = 0; i < RUNS; i++)); do
        start "$dir"
        echo "$T_PORT" >>"$TMP/port"
        echo "$T_REPLY" >>"$TMP/reply"
        # A crash right after writes: the next start recovers the WAL.
        [ "$burst" = 0 ] || cli submit --array "0-$((burst - 1))" -- true >>"$TMP/bursts"
        stop "$sig"
    done
    echo "$label: start->port $(summary <"$TMP/port"); start->reply $(summary <"$TMP/reply")"
}

echo "# $(date -u +%FT%TZ) $(uname -n) $(nproc) cpus; $("$BIN/mlq-scheduler" --version | head -1)"
for n in $SIZES; do
    dir=$TMP/state-$n
    : >"$TMP/bursts"
    start "$dir"
    t0=$(now_us)
    id=$(cli submit --array "0-$((n - 1))" -- true)
    echo "# N=$n: submitted one array of $n tasks in $((($(now_us) - t0) / 1000)) ms"
    stop TERM
    echo "# N=$n: database $(du -k "$dir/mlq.db" | cut -f1) KiB"
    measure "N=$n pending, clean stop" TERM "$dir"
    measure "N=$n pending, SIGKILL after writes" KILL "$dir" 1000
    start "$dir"
    mapfile -t bursts <"$TMP/bursts"
    cli cancel "$id" "${bursts[@]}" >/dev/null
    : >"$TMP/bursts"
    stop TERM
    measure "N=$n cancelled, clean stop" TERM "$dir"
    rm -rf "$dir"
done
