#!/usr/bin/env bash
# netns-cluster.sh: an mlq cluster of four "hosts" on one Linux machine, each
# host a network namespace with its own address, joined by a bridge that
# lives in a fifth namespace (the "switch"). It runs the steps of the admin
# guide's "Several hosts" walkthrough (docs/admin.md) for real: keys made
# and registered with the mlq tools, a scheduler listening on its host's
# address with CURVE, workers on the other hosts pointed at it with
# --scheduler tcp://ADDR:7710 --scheduler-key and --advertise-addr. Read it
# as that walkthrough; tests/integration/test_multihost.sh runs it in CI.
#
# usage (as root: namespaces and links need CAP_NET_ADMIN):
#   netns-cluster.sh up DIR         make the network, the keys, start the
#                                   scheduler and the workers (3 unless
#                                   MLQ_NETNS_WORKERS says), wait until UP
#   netns-cluster.sh down DIR       stop everything `up` started (pid files)
#                                   and delete every namespace and link it made
#   netns-cluster.sh demo [DIR]     up, a few jobs across the hosts, status,
#                                   down (DIR: a fresh temp dir by default)
#   netns-cluster.sh mlq DIR ARGS   the admin's CLI, run on the scheduler host
#   netns-cluster.sh exec DIR HOST CMD...
#                                   CMD inside HOST's namespace (sched, w1..wN)
#   netns-cluster.sh cut DIR HOST   unplug HOST's cable (its switch port down)
#   netns-cluster.sh mend DIR HOST  plug it back in
#   netns-cluster.sh start DIR HOST start worker HOST's daemon again (after it
#                                   was stopped or killed), as `up` did
#
# Isolation: every namespace name starts with a prefix unique to the run
# (mlq + 6 random hex digits, kept in DIR/cluster.env), and every link is
# made inside those namespaces (`ip -n`), never in the root namespace,
# whose addresses and interfaces this script does not touch. The hosts'
# subnet, 10.213.X.0/24 with X from the same random draw, is reachable only
# from inside the run's own namespaces, so parallel runs cannot collide even
# where X happens to repeat.
#
# Environment: MLQ_BIN_DIR (mlq, mlq-scheduler, mlq-worker; default: the
# source tree's build/bin, else PATH), MLQ_NETNS_HEARTBEAT and
# MLQ_NETNS_LEASE (the scheduler's --heartbeat and --lease, default 1s and
# 5s, short so that a cut host shows quickly), MLQ_NETNS_USER (the user
# whose key submits the demo's jobs, and whose Unix account runs them on the
# workers; default nobody), MLQ_NETNS_WORKERS (how many worker hosts, w1 to
# wN, 1 to 9; default 3), MLQ_NETNS_GPUS (the fake GPUs each worker offers
# with --gpus: one number for all, or a comma-separated list in worker
# order; default 0).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SELF=$HERE/$(basename "${BASH_SOURCE[0]}")
if [ -z "${MLQ_BIN_DIR:-}" ] && [ -x "$HERE/../../build/bin/mlq" ]; then
    MLQ_BIN_DIR=$(cd "$HERE/../../build/bin" && pwd)
fi
bin() { if [ -n "${MLQ_BIN_DIR:-}" ]; then echo "$MLQ_BIN_DIR/$1"; else command -v "$1"; fi; }

PORT=7710
NWORKERS=${MLQ_NETNS_WORKERS:-3}
case "$NWORKERS" in [1-9]) ;; *)
    echo "netns-cluster: MLQ_NETNS_WORKERS: expected 1 to 9, got '$NWORKERS'" >&2
    exit 2 ;;
esac
GPUS=${MLQ_NETNS_GPUS:-0}
HEARTBEAT=${MLQ_NETNS_HEARTBEAT:-1s}
LEASE=${MLQ_NETNS_LEASE:-5s}
JOB_USER=${MLQ_NETNS_USER:-nobody}

say() { printf 'netns-cluster: %s\n' "$*" >&2; }
die() {
    say "$*"
    exit 1
}

# ------------------------------------------------------------- addresses

# Host number of each node on the subnet: the scheduler .1, wN .(10+N).
host_num() { case $1 in sched) echo 1 ;; w[1-9]) echo $((10 + ${1#w})) ;; *) return 1 ;; esac; }
node_addr() { echo "$SUBNET.$(host_num "$1")"; }
node_ns() { echo "$PREFIX-$1"; }

# WORKERS: the worker hosts' names, w1 to wNWORKERS.
set_workers() {
    local i
    WORKERS=()
    for ((i = 1; i <= NWORKERS; i++)); do WORKERS+=("w$i"); done
}
set_workers

# gpus_of wN: the fake GPUs worker N offers (MLQ_NETNS_GPUS: one number for
# every worker, or the N-th of a comma-separated list).
gpus_of() {
    local n=${1#w} list
    IFS=, read -r -a list <<<"$GPUS"
    if [ "${#list[@]}" -le 1 ]; then n=1; fi
    local g=${list[$((n - 1))]:-}
    case "$g" in '' | *[!0-9]*) die "MLQ_NETNS_GPUS: no GPU count for $1 in '$GPUS'" ;; esac
    echo "$g"
}

# Reads what `up` recorded about DIR's cluster.
load_env() {
    local dir=$1
    [ -f "$dir/cluster.env" ] || die "no cluster in $dir (no cluster.env)"
    NWORKERS=3 # a cluster.env written before the count was recorded had 3
    # shellcheck source=/dev/null
    . "$dir/cluster.env"
    case "$PREFIX" in mlq[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]) ;; *)
        die "bad PREFIX in $dir/cluster.env" ;;
    esac
    case "$NWORKERS" in [1-9]) ;; *) die "bad NWORKERS in $dir/cluster.env" ;; esac
    case "$GPUS" in *[!0-9,]*) die "bad GPUS in $dir/cluster.env" ;; esac
    case "$HEARTBEAT" in *[!0-9a-z.]*) die "bad HEARTBEAT in $dir/cluster.env" ;; esac
    set_workers
}

# ------------------------------------------------------------- network

# A fresh prefix: the switch namespace is made first and `ip netns add`
# fails when the name exists, so two runs never share one.
claim_prefix() {
    local dir=$1 hex
    for _ in 1 2 3 4 5 6 7 8; do
        hex=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
        PREFIX=mlq$hex
        SUBNET=10.213.$((0x${hex:0:2}))
        if ip netns add "$PREFIX-sw" 2>/dev/null; then
            # what `start` needs to start a worker again as `up` did
            printf 'PREFIX=%s\nSUBNET=%s\nNWORKERS=%s\nGPUS=%s\nHEARTBEAT=%s\n' "$PREFIX" \
                "$SUBNET" "$NWORKERS" "$GPUS" "$HEARTBEAT" >"$dir/cluster.env"
            return 0
        fi
    done
    die "could not claim a namespace prefix"
}

# The switch: a bridge in its own namespace, with loopback up.
make_switch() {
    ip -n "$PREFIX-sw" link set lo up
    ip -n "$PREFIX-sw" link add br0 type bridge
    ip -n "$PREFIX-sw" link set br0 up
}

# One host: its namespace, a veth pair made inside the switch namespace
# (port pNODE on the bridge, eth0 moved into the host), its address.
make_host() {
    local node=$1 ns
    ns=$(node_ns "$node")
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip -n "$PREFIX-sw" link add "p$node" type veth peer name eth0 netns "$ns"
    ip -n "$PREFIX-sw" link set "p$node" master br0 up
    ip -n "$ns" addr add "$(node_addr "$node")/24" dev eth0
    ip -n "$ns" link set eth0 up
}

# Deletes the run's namespaces; their veths and the bridge go with them.
delete_network() {
    local node
    for node in sched "${WORKERS[@]}" sw; do
        ip netns del "$(node_ns "$node")" 2>/dev/null || true
    done
}

# ------------------------------------------------------------- processes

# in_ns NODE CMD...: runs CMD on that host.
in_ns() {
    local ns
    ns=$(node_ns "$1")
    shift
    ip netns exec "$ns" "$@"
}

# The admin's CLI (or, with MLQ_CONFIG set, someone else's) on the
# scheduler host.
admin_mlq() { MLQ_CONFIG=${MLQ_CONFIG_AS:-$DIR/admin.config} in_ns sched "$(bin mlq)" "$@"; }

# start_daemon NAME NODE CMD...: in the background on NODE, logging to
# DIR/logs/NAME.log, its pid in DIR/pids/NAME.pid (a simple command put in
# the background, and `ip netns exec` execs CMD: the pid is CMD's own).
start_daemon() {
    local name=$1 node=$2
    shift 2
    ip netns exec "$(node_ns "$node")" "$@" >>"$DIR/logs/$name.log" 2>&1 &
    echo $! >"$DIR/pids/$name.pid"
}

# wait_for SECONDS CMD...: until CMD succeeds.
wait_for() {
    local end=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        [ "$SECONDS" -lt "$end" ] || return 1
        sleep 0.2
    done
}

pid_of() {
    local p=""
    read -r p _ <"$1" 2>/dev/null || true
    case "$p" in '' | *[!0-9]*) ;; *) echo "$p" ;; esac
}

# ours PID: the process is alive (not a zombie) and its command line names
# DIR, so a stale pid file never gets a stranger killed.
ours() {
    local st
    st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    case "$st" in Z*) return 1 ;; esac
    grep -qzF -- "$DIR" "/proc/$1/cmdline" 2>/dev/null
}

# stop_pidfile FILE: TERM, then KILL after 5 s, the process it names.
stop_pidfile() {
    local pid
    pid=$(pid_of "$1")
    [ -n "$pid" ] && ours "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null || true
    wait_for 5 eval "! ours $pid" || kill -KILL "$pid" 2>/dev/null || true
}

# ------------------------------------------------------------- keys

# The steps of docs/admin.md, "Setting up a cluster": every party makes its
# own pair with `mlq keygen`; the first admin is registered when the
# scheduler starts (--authorize); the scheduler's public key is copied to
# every worker host; workers and users are added by the admin over the
# network.
keygen() { "$(bin mlq)" keygen --out "$1" >/dev/null 2>>"$DIR/logs/keys.log"; }

make_admin_key() {
    mkdir -p "$DIR/keys"
    keygen "$DIR/keys/admin.key"
    keygen "$DIR/keys/$JOB_USER.key"
}

write_config() { # FILE KEY
    printf 'scheduler = tcp://%s:%s\nkey = %s\nscheduler_key = %s\n' "$(node_addr sched)" \
        "$PORT" "$2" "$DIR/keys/server.key.pub" >"$1"
}

add_workers_and_user() {
    local w
    cp "$DIR/sched/state/keys/server.key.pub" "$DIR/keys/server.key.pub"
    write_config "$DIR/admin.config" "$DIR/keys/admin.key"
    write_config "$DIR/user.config" "$DIR/keys/$JOB_USER.key"
    for w in "${WORKERS[@]}"; do
        mkdir -p "$DIR/$w/etc"
        keygen "$DIR/$w/etc/worker.key"
        cp "$DIR/keys/server.key.pub" "$DIR/$w/etc/server.key.pub"
        admin_mlq admin worker add "$w" --key "$DIR/$w/etc/worker.key.pub" >/dev/null
    done
    admin_mlq admin user add "$JOB_USER" --key "$DIR/keys/$JOB_USER.key.pub" >/dev/null
}

# ------------------------------------------------------------- daemons

start_scheduler() {
    local me
    me=$(id -un)
    mkdir -p "$DIR/sched/state"
    start_daemon scheduler sched "$(bin mlq-scheduler)" \
        --listen "tcp://$(node_addr sched):$PORT" --state-dir "$DIR/sched/state" \
        --authorize "admin:$me:$DIR/keys/admin.key.pub" \
        --heartbeat "$HEARTBEAT" --lease "$LEASE" --kill-grace 1s
    wait_for 15 test -s "$DIR/sched/state/keys/server.key.pub" ||
        die "the scheduler did not start (see $DIR/logs/scheduler.log)"
}

start_worker() {
    local w=$1
    mkdir -p "$DIR/$w/spool"
    start_daemon "$w" "$w" "$(bin mlq-worker)" \
        --scheduler "tcp://$(node_addr sched):$PORT" --name "$w" \
        --key "$DIR/$w/etc/worker.key" --scheduler-key "$DIR/$w/etc/server.key.pub" \
        --advertise-addr "$(node_addr "$w")" --label "host=$w" \
        --spool "$DIR/$w/spool" --cpus 2 --mem 1G --gpus "$(gpus_of "$w")" --heartbeat "$HEARTBEAT"
}

all_up() {
    local n
    n=$(admin_mlq workers --json --timeout 2s | python3 -c '
import json, sys
print(sum(w["state"] == "UP" for w in json.load(sys.stdin)["workers"]))')
    [ "$n" = "${#WORKERS[@]}" ]
}

# ------------------------------------------------------------- commands

cmd_up() {
    [ "$(id -u)" = 0 ] || die "run as root (network namespaces need CAP_NET_ADMIN)"
    command -v ip >/dev/null || die "no 'ip' command (install iproute2)"
    local w
    for w in "${WORKERS[@]}"; do gpus_of "$w" >/dev/null; done
    mkdir -p "$DIR/logs" "$DIR/pids"
    chmod 700 "$DIR"
    claim_prefix "$DIR"
    make_switch
    local node
    for node in sched "${WORKERS[@]}"; do make_host "$node"; done
    say "network: switch $PREFIX-sw, hosts $(for n in sched "${WORKERS[@]}"; do
        printf '%s=%s ' "$(node_ns "$n")" "$(node_addr "$n")"
    done)"
    make_admin_key
    start_scheduler
    add_workers_and_user
    for node in "${WORKERS[@]}"; do start_worker "$node"; done
    wait_for 30 all_up || die "not every worker came UP (see $DIR/logs)"
    say "scheduler tcp://$(node_addr sched):$PORT, ${#WORKERS[*]} workers UP; admin config $DIR/admin.config"
}

# Stops the daemons by their pid files, then any job still running under a
# shim (each shim leads its own process group: its pid file names it),
# then deletes the namespaces.
cmd_down() {
    local f pid
    [ -f "$DIR/cluster.env" ] || { say "nothing to take down in $DIR"; return 0; }
    load_env "$DIR"
    for f in "$DIR"/pids/w*.pid; do [ -e "$f" ] && stop_pidfile "$f"; done
    [ -e "$DIR/pids/scheduler.pid" ] && stop_pidfile "$DIR/pids/scheduler.pid"
    while IFS= read -r f; do
        pid=$(pid_of "$f")
        if [ -n "$pid" ] && ours "$pid"; then kill -KILL -- "-$pid" 2>/dev/null || true; fi
    done < <(find "$DIR" -name shim.pid -type f 2>/dev/null)
    delete_network
    rm -f "$DIR/pids/"*.pid "$DIR/cluster.env"
    say "down: namespaces $PREFIX-* deleted"
}

# shellcheck disable=SC2016 # the jobs' scripts are single-quoted on purpose
cmd_demo() {
    local j w ids=()
    DEMO_TMP=""
    if [ -z "$DIR" ]; then
        DEMO_TMP=$(mktemp -d "${TMPDIR:-/tmp}/mlq-netns.XXXXXX")
        DIR=$DEMO_TMP
    fi
    trap 'cmd_down; [ -z "$DEMO_TMP" ] || [ -n "${MLQ_DEMO_KEEP:-}" ] || rm -rf "$DEMO_TMP"' EXIT
    cmd_up
    say "mlq workers, on the scheduler host:"
    admin_mlq workers
    # One job per host, pinned with the label each worker declares; each
    # says where it ran. Submitted, waited for and read by the user.
    for w in "${WORKERS[@]}"; do
        j=$(MLQ_CONFIG_AS=$DIR/user.config admin_mlq submit --name "on-$w" --require "host=$w" \
            --workdir / -- sh -c 'echo "$MLQ_WORKER at $MLQ_WORKER_ADDR: hostname -I says $(hostname -I)"')
        ids+=("$j")
    done
    MLQ_CONFIG_AS=$DIR/user.config admin_mlq wait "${ids[@]}" --timeout 30s
    say "their logs, fetched from the scheduler host:"
    for j in "${ids[@]}"; do MLQ_CONFIG_AS=$DIR/user.config admin_mlq logs "$j"; done
    admin_mlq list
}

down_on_failure() { [ "$1" = 0 ] || cmd_down; }

usage() { sed -n '11,26p' "$SELF" | sed 's/^# \{0,1\}//'; }

main() {
    local cmd=${1:-}
    DIR=${2:-}
    case "$cmd" in
    up | down | mlq | exec | cut | mend | start) [ -n "$DIR" ] || { usage >&2; exit 2; } ;;
    demo) ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
    [ -z "$DIR" ] || { mkdir -p "$DIR" && DIR=$(cd "$DIR" && pwd -P); }
    shift 2 || shift
    case "$cmd" in
    up)
        [ ! -f "$DIR/cluster.env" ] || die "$DIR already holds a cluster (down it first)"
        # a failed `up` leaves nothing behind
        trap 'down_on_failure $?' EXIT
        cmd_up
        trap - EXIT ;;
    down) cmd_down ;;
    demo) cmd_demo ;;
    mlq) load_env "$DIR"; admin_mlq "$@" ;;
    exec) load_env "$DIR"; host_num "${1:-}" >/dev/null || die "no host '${1:-}'"; in_ns "$@" ;;
    start)
        load_env "$DIR"
        case " ${WORKERS[*]} " in *" ${1:-} "*) ;; *) die "no worker host '${1:-}'" ;; esac
        if pid=$(pid_of "$DIR/pids/$1.pid") && [ -n "$pid" ] && ours "$pid"; then
            die "$1's worker runs already (pid $pid)"
        fi
        start_worker "$1" ;;
    cut | mend)
        load_env "$DIR"
        host_num "${1:-}" >/dev/null || die "no host '${1:-}'"
        ip -n "$PREFIX-sw" link set "p$1" "$([ "$cmd" = cut ] && echo down || echo up)" ;;
    esac
}

main "$@"
