#!/usr/bin/env bash
# run.sh: commit latency of SQLite (as mlq uses it), PostgreSQL 15 with and
# without a synchronous standby, and dqlite with 1 and 3 nodes, all on this
# machine. MANUAL benchmark: run it as root on a Debian 12 machine you may
# install packages on; it is not part of CI or ctest. See README.md.
#
# It installs (apt-get) postgresql-15, libpq-dev, libsqlite3-dev and
# go-dqlite when missing, makes its own PostgreSQL primary and standby with
# initdb and pg_basebackup in a temp dir (the distribution's clusters are
# not touched), and stops and removes everything it started on exit, also
# on failure. Figures go to stdout, notes to stderr.
#
# The cases run interleaved: ROUNDS rounds, each a short batch of every
# case, and the latencies of all rounds are pooled per case, so that load
# from other processes on a shared machine falls on every case alike.
#
#   ROUNDS=N     rounds (default 10)
#   COMMITS=N    timed single-job commits per case, over all rounds (2000)
#   GROUPED=N    timed commits of GROUP jobs per case, over all rounds (300)
#   GROUP=N      jobs per grouped commit (default 64)
#   DQ_ROUNDS=N DQ_SECONDS=S  dqlite: rounds of S seconds per cluster size
#                (default 4 rounds of 5 s)
#   DATA_DIR=D   where the databases live (default /var/tmp: the disk a
#                state dir would be on; not a tmpfs)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROUNDS=${ROUNDS:-10}
COMMITS=${COMMITS:-2000}
GROUPED=${GROUPED:-300}
GROUP=${GROUP:-64}
DQ_ROUNDS=${DQ_ROUNDS:-4}
DQ_SECONDS=${DQ_SECONDS:-5}
PGBIN=/usr/lib/postgresql/15/bin
W=$(mktemp -d "${DATA_DIR:-/var/tmp}/mlq-ha-commit.XXXXXX")
PIDS=()
cleanup() {
    local p d
    for d in "$W/pg-standby" "$W/pg-primary"; do
        [ ! -f "$d/postmaster.pid" ] ||
            runuser -u postgres -- "$PGBIN/pg_ctl" -D "$d" -m immediate stop >/dev/null 2>&1 || true
    done
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP
note() { echo "# $*" >&2; }
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

[ "$(id -u)" = 0 ] || { echo "run.sh: run as root (it installs packages)" >&2; exit 1; }
need=()
[ -x "$PGBIN/initdb" ] || need+=(postgresql-15)
command -v pg_config >/dev/null || need+=(libpq-dev)
[ -f /usr/include/sqlite3.h ] || need+=(libsqlite3-dev)
command -v dqlite-benchmark >/dev/null || need+=(go-dqlite)
if [ ${#need[@]} -gt 0 ]; then
    note "installing ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi

gcc -O2 -std=c11 -Wall -Wextra -I"$(pg_config --includedir)" "$HERE/ha_commit.c" \
    -o "$W/ha_commit" -lsqlite3 -lpq
echo "# $(date -u +%FT%TZ) $(uname -n), $(nproc) cpus, $(. /etc/os-release && echo "$PRETTY_NAME")," \
    "data in $(df --output=source "$W" | tail -1) ($(findmnt -no FSTYPE -T "$W")), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# sqlite $(sqlite3 --version 2>/dev/null | cut -d' ' -f1), postgres $("$PGBIN/postgres" -V | cut -d' ' -f3)," \
    "dqlite $(dpkg-query -W -f '${Version}' libdqlite0 2>/dev/null); $ROUNDS rounds of $((COMMITS / ROUNDS))" \
    "single and $((GROUPED / ROUNDS)) grouped commits per case"

# summary LABEL GROUP FILE: percentiles of the latencies (ns) in FILE;
# jobs/s is what one client committing back to back reaches.
summary() {
    sort -n "$3" | awk -v l="$1" -v g="$2" '
        {a[NR] = $1; s += $1}
        function p(q) { k = int(q * NR + 0.999999); return a[k < 1 ? 1 : k] / 1e6 }
        END {
            if (NR == 0) { print l ": no samples"; exit }
            printf "%s group=%d commits=%d p50=%.3f ms p90=%.3f ms p99=%.3f ms max=%.3f ms mean=%.3f ms jobs/s=%.0f\n",
                l, g, NR, p(0.5), p(0.9), p(0.99), a[NR] / 1e6, s / NR / 1e6, g * NR / (s / 1e9)
        }'
}

# ---- PostgreSQL 15 on loopback TCP: a primary and a streaming standby ----
pg_start() { # pg_start DIR PORT
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$1" -l "$W/$(basename "$1").log" -w -t 60 \
        -o "-p $2 -k $W/sock -c listen_addresses=127.0.0.1" start >/dev/null
}
mkdir -p "$W/sock" "$W/raw"
chown postgres: "$W" "$W/sock"
PGP=$(free_port)
runuser -u postgres -- "$PGBIN/initdb" -D "$W/pg-primary" -A trust -U postgres >/dev/null
pg_start "$W/pg-primary" "$PGP"
conn="host=127.0.0.1 port=$PGP user=postgres dbname=postgres"
PGS=$(free_port)
runuser -u postgres -- "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$PGP" -U postgres \
    -D "$W/pg-standby" -R -X stream -c fast >/dev/null
pg_start "$W/pg-standby" "$PGS"
psql -qAt "$conn" -c "ALTER SYSTEM SET synchronous_standby_names = '*'" -c "SELECT pg_reload_conf()" >/dev/null
st=
for _ in $(seq 100); do
    st=$(psql -qAt "$conn" -c "SELECT sync_state FROM pg_stat_replication" || true)
    [ "$st" = sync ] && break
    sleep 0.1
done
[ "$st" = sync ] || { echo "run.sh: the standby did not become synchronous ($st)" >&2; exit 1; }
pgc() { echo "$conn options='-c synchronous_commit=$1 -c client_min_messages=warning'"; }

# ---- the cases: LABEL BACKEND TARGET ----
# synchronous_commit=local waits for the primary's own flush only: the
# primary alone, as far as a commit is concerned.
CASES=(
    "sqlite-full sqlite-full $W/lite.db"
    "sqlite-normal sqlite-normal $W/lite.db"
    "pg-primary-only pg-pipeline $(pgc local)"
    "pg-sync-remote_write pg-pipeline $(pgc remote_write)"
    "pg-sync-on pg-pipeline $(pgc on)"
    "pg-sync-remote_apply pg-pipeline $(pgc remote_apply)"
    "pg-primary-only-per-statement pg $(pgc local)"
    "pg-sync-on-per-statement pg $(pgc on)"
)
for ((r = 1; r <= ROUNDS; r++)); do
    note "round $r of $ROUNDS"
    for c in "${CASES[@]}"; do
        read -r label backend target <<<"$c"
        for g in 1 "$GROUP"; do
            n=$((g == 1 ? COMMITS / ROUNDS : GROUPED / ROUNDS))
            HA_COMMIT_RAW=$W/raw/$label-$g "$W/ha_commit" "$backend" "$target" "$n" "$g" 10 >/dev/null
        done
        rm -f "$W"/lite.db*
    done
done
for c in "${CASES[@]}"; do
    read -r label _ <<<"$c"
    summary "$label" 1 "$W/raw/$label-1"
    summary "$label" "$GROUP" "$W/raw/$label-$GROUP"
done
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$W/pg-standby" -m fast stop >/dev/null
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$W/pg-primary" -m fast stop >/dev/null

# ---- dqlite: go-dqlite's dqlite-benchmark, one INSERT per transaction ----
dq() { # dq LABEL NODES: one round, latencies appended to raw/LABEL
    local label=$1 nodes=$2 ports=() i cluster dir=$W/dq-$1-$RANDOM
    for ((i = 0; i < nodes; i++)); do ports+=("$(free_port)"); done
    cluster=$(printf '127.0.0.1:%s,' "${ports[@]}")
    cluster=${cluster%,}
    for ((i = 1; i < nodes; i++)); do
        dqlite-benchmark --db "127.0.0.1:${ports[$i]}" --join "127.0.0.1:${ports[0]}" \
            --dir "$dir" >>"$W/dq.log" 2>&1 &
        PIDS+=($!)
    done
    timeout $((DQ_SECONDS + 150)) dqlite-benchmark --db "127.0.0.1:${ports[0]}" --driver \
        --cluster "$cluster" --duration "$DQ_SECONDS" --value-size 300 --dir "$dir" >>"$W/dq.log" 2>&1
    # Result files: a header, then "timestamp_ns latency_ms" per query.
    cat "$dir/127.0.0.1:${ports[0]}"/results/*exec* |
        awk 'NF == 2 && $1 ~ /^[0-9]+$/ {printf "%d\n", $2 * 1e6}' >>"$W/raw/$label"
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        kill "${PIDS[$i]}" 2>/dev/null || true
        wait "${PIDS[$i]}" 2>/dev/null || true
    done
    PIDS=()
    rm -rf "$dir"
}
for ((r = 1; r <= DQ_ROUNDS; r++)); do
    note "dqlite round $r of $DQ_ROUNDS ($DQ_SECONDS s per cluster)"
    dq dqlite-1-node 1
    dq dqlite-3-nodes 3
done
summary dqlite-1-node 1 "$W/raw/dqlite-1-node"
summary dqlite-3-nodes 1 "$W/raw/dqlite-3-nodes"
