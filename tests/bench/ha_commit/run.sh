#!/usr/bin/env bash
# run.sh [OUT_DIR]: commit latency of SQLite (as mlq uses it), PostgreSQL 15
# with and without a synchronous standby, and dqlite with 1 and 3 nodes, all
# on this machine. MANUAL benchmark: run as root on a Debian 12 machine you
# may install packages on; not part of CI or ctest. See README.md.
#
# It installs (apt-get) postgresql-15, libpq-dev, libsqlite3-dev and
# go-dqlite when missing, makes its own PostgreSQL clusters with initdb in a
# temp dir (the distribution's cluster is not touched), and stops and
# removes everything it started on exit, also on failure. Figures go to
# stdout; also kept in OUT_DIR/results.txt when OUT_DIR is given.
#
#   COMMITS=N    timed single-job commits per case (default 2000)
#   GROUPED=N    timed commits of GROUP jobs each (default 300)
#   GROUP=N      jobs per grouped commit (default 64)
#   DQ_SECONDS=N duration of each dqlite run (default 20)
#   DATA_DIR=D   where the databases live (default /var/tmp: the disk a
#                state dir would be on; not tmpfs)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
COMMITS=${COMMITS:-2000}
GROUPED=${GROUPED:-300}
GROUP=${GROUP:-64}
DQ_SECONDS=${DQ_SECONDS:-20}
PGBIN=/usr/lib/postgresql/15/bin
W=$(mktemp -d "${DATA_DIR:-/var/tmp}/mlq-ha-commit.XXXXXX")
PIDS=()
cleanup() {
    local p
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
[ -x /usr/bin/pg_config ] || need+=(libpq-dev)
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
    "data in $(df --output=source "$W" | tail -1) ($(findmnt -no FSTYPE -T "$W"))"
echo "# sqlite $(sqlite3 --version 2>/dev/null | cut -d' ' -f1), postgres $("$PGBIN/postgres" -V | cut -d' ' -f3)," \
    "dqlite $(dpkg-query -W -f '${Version}' libdqlite0 2>/dev/null)"

cases() { # cases BACKEND TARGET
    "$W/ha_commit" "$1" "$2" "$COMMITS" 1
    "$W/ha_commit" "$1" "$2" "$GROUPED" "$GROUP"
}

# ---- SQLite, as mlq-scheduler opens it, and without the fsync ----
cases sqlite-full "$W/lite.db"
rm -f "$W"/lite.db*
cases sqlite-normal "$W/lite.db"
rm -f "$W"/lite.db*

# ---- PostgreSQL 15 on loopback TCP ----
pg_start() { # pg_start DIR PORT
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$1" -l "$W/$(basename "$1").log" -w -t 60 \
        -o "-p $2 -k $W/sock -c listen_addresses=127.0.0.1" start >/dev/null
}
mkdir -p "$W/sock"
chown postgres: "$W" "$W/sock"
PGP=$(free_port)
runuser -u postgres -- "$PGBIN/initdb" -D "$W/pg-primary" -A trust -U postgres >/dev/null
pg_start "$W/pg-primary" "$PGP"
conn="host=127.0.0.1 port=$PGP user=postgres dbname=postgres"
note "postgres alone, synchronous_commit=on"
cases pg "$conn options='-c synchronous_commit=on -c client_min_messages=warning'" | sed 's/^pg/pg-alone/'
cases pg-pipeline "$conn options='-c synchronous_commit=on -c client_min_messages=warning'" | sed 's/^pg-pipeline/pg-pipeline-alone/'

# A streaming standby on this machine, made synchronous.
PGS=$(free_port)
runuser -u postgres -- "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$PGP" -U postgres \
    -D "$W/pg-standby" -R -X stream -c fast >/dev/null
pg_start "$W/pg-standby" "$PGS"
psql -qAt "$conn" -c "ALTER SYSTEM SET synchronous_standby_names = '*'" -c "SELECT pg_reload_conf()" >/dev/null
for _ in $(seq 100); do
    st=$(psql -qAt "$conn" -c "SELECT sync_state FROM pg_stat_replication" || true)
    [ "$st" = sync ] && break
    sleep 0.1
done
[ "$st" = sync ] || { echo "run.sh: the standby did not become synchronous ($st)" >&2; exit 1; }
for mode in on remote_write remote_apply; do
    note "postgres with a synchronous standby, synchronous_commit=$mode"
    cases pg-pipeline "$conn options='-c synchronous_commit=$mode -c client_min_messages=warning'" |
        sed "s/^pg-pipeline/pg-pipeline-sync-standby-$mode/"
done
cases pg "$conn options='-c synchronous_commit=on -c client_min_messages=warning'" | sed 's/^pg/pg-sync-standby-on/'
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$W/pg-standby" -m fast stop >/dev/null
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$W/pg-primary" -m fast stop >/dev/null

# ---- dqlite (go-dqlite's dqlite-benchmark: one INSERT per transaction) ----
dq_summary() { # dq_summary LABEL RESULTS_DIR
    local f
    f=$(ls "$2"/*exec* 2>/dev/null | head -1)
    [ -n "$f" ] || { echo "$1: no results" ; return; }
    awk 'NR > 6 {print $2}' "$f" | sort -g | awk -v l="$1" '
        {a[NR] = $1; s += $1}
        END {n = NR
             printf "%s group=1 commits=%d p50=%.3f ms p90=%.3f ms p99=%.3f ms max=%.3f ms mean=%.3f ms jobs/s=%.0f\n",
                 l, n, a[int(n*0.5+0.999999)], a[int(n*0.9+0.999999)], a[int(n*0.99+0.999999)], a[n], s/n, n/'"$DQ_SECONDS"'}'
}
dq() { # dq LABEL NODES
    local nodes=$2 ports=() i cluster
    for ((i = 0; i < nodes; i++)); do ports+=("$(free_port)"); done
    cluster=$(printf '127.0.0.1:%s,' "${ports[@]}")
    cluster=${cluster%,}
    for ((i = 1; i < nodes; i++)); do
        dqlite-benchmark --db "127.0.0.1:${ports[$i]}" --join "127.0.0.1:${ports[0]}" \
            --dir "$W/dq-$1" >>"$W/dq.log" 2>&1 &
        PIDS+=($!)
    done
    note "dqlite $nodes node(s), $DQ_SECONDS s of kvwrite"
    timeout $((DQ_SECONDS + 150)) dqlite-benchmark --db "127.0.0.1:${ports[0]}" --driver \
        --cluster "$cluster" --duration "$DQ_SECONDS" --value-size 300 --dir "$W/dq-$1" >>"$W/dq.log" 2>&1
    dq_summary "$1" "$W/dq-$1/127.0.0.1:${ports[0]}/results"
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill "${PIDS[$i]}" 2>/dev/null || true; wait "${PIDS[$i]}" 2>/dev/null || true; done
    PIDS=()
}
dq dqlite-1-node 1
dq dqlite-3-nodes 3
