# shellcheck shell=bash
# lib.sh: helpers for mlq integration tests (real daemons on loopback).
#
# Source it first thing from a test script, passing the script's arguments:
#
#     IT_DEADLINE=180              # optional, seconds; default 240
#     . "$(dirname "$0")/lib.sh" "$@"
#
# What it sets up:
#   - the script re-executes itself under `timeout`, so a hung test is killed
#     after IT_DEADLINE seconds and its EXIT trap still cleans up;
#   - T: a fresh temp dir (mktemp -d) holding everything the test creates:
#     state dirs, spools, logs, the client config (XDG_CONFIG_HOME and
#     MLQ_CONFIG point inside T, so the user's real config is never touched);
#   - an EXIT trap that stops every daemon the test started, every process
#     group named by a shim.pid under T, and any process whose command line,
#     environment or working directory names T; then removes T (kept on
#     failure, or always with MLQ_IT_KEEP=1).
#
# Never uses pkill/killall: only pids this test started or that carry T.

set -euo pipefail

IT_DEADLINE=${IT_DEADLINE:-240}

# Re-exec under a watchdog. timeout puts itself in a new process group and,
# on expiry, signals the whole group, so a foreground command blocked in a
# read dies too and bash gets to run the EXIT trap.
if [ -z "${MLQ_IT_INNER:-}" ]; then
    export MLQ_IT_INNER=1
    exec timeout -k 15 "$IT_DEADLINE" bash "$0" "$@"
fi

IT_NAME=$(basename "$0" .sh)
IT_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MLQ_SRC_DIR=${MLQ_SRC_DIR:-$(cd "$IT_LIB_DIR/../.." && pwd)}
MLQ_BIN_DIR=${MLQ_BIN_DIR:-$MLQ_SRC_DIR/build/bin}
MLQ=$MLQ_BIN_DIR/mlq
MLQ_SCHEDULER_BIN=$MLQ_BIN_DIR/mlq-scheduler
MLQ_WORKER_BIN=$MLQ_BIN_DIR/mlq-worker
export MLQ_SRC_DIR MLQ_BIN_DIR

T=$(mktemp -d "${TMPDIR:-/tmp}/mlq-it-$IT_NAME.XXXXXX")
# Canonical path: /proc/PID/cwd shows resolved paths.
T=$(cd "$T" && pwd -P)
mkdir -p "$T/logs" "$T/config"
export XDG_CONFIG_HOME=$T/config
export MLQ_CONFIG=$T/config/mlq/config
unset MLQ_SCHEDULER MLQ_KEY
# Daemons started by start_scheduler/start_worker run with keys, the default
# configuration (a worker running as root refuses --insecure): lib.sh makes
# them under IT_KEYS with the real tools (`mlq keygen`, `mlq admin worker
# add`), as `mlq up` does, and the client config names the admin key of the
# user running the test. A test that sets IT_SECURE=1 brings its own keys
# and config instead.
# (The admin key and the config are made at the end of this file, once the
# binaries are known to be there.)
IT_KEYS=$T/keys
IT_ME=$(id -un)
# Sanitizer reports of any mlq process (CLI, daemons, shims) go to stderr,
# which ends up in a log file under T (daemon logs, logs/cli.log; a shim
# writes to its worker's stderr, i.e. the worker's log); the EXIT
# trap fails the test when any of them holds one. (log_path is not used:
# UBSan in a combined ASan+UBSan runtime ignores it.)
IT_SAN_RE='runtime error:|ERROR: AddressSanitizer|ERROR: LeakSanitizer|LeakSanitizer has encountered|Sanitizer:DEADLYSIGNAL|SUMMARY: [A-Za-z]*Sanitizer'
# Extra marker inherited by everything we start, so cleanup can find it.
# Jobs do not get the worker's environment, nor MLQ_* variables of the
# submitter's: they carry IT_JOB_TAG, which `mlq submit` exports with the
# rest of this environment (--export ALL).
export MLQ_IT_TAG=$T
export IT_JOB_TAG=$T

IT_PIDS=()      # daemons started by this test, in start order
IT_PORT_DIR=${TMPDIR:-/tmp}/mlq-it-ports-$(id -u)
IT_FAILED=0
SCHED_PORT=""
SCHED_ADDR=""

log() { printf '[%s %s] %s\n' "$IT_NAME" "$(date +%T)" "$*" >&2; }

# ---------------------------------------------------------------- failure

# Prints the tail of every log under T (daemon logs, CLI stderr captures).
it_dump_logs() {
    local f
    while IFS= read -r f; do
        [ -s "$f" ] || continue
        printf '\n----- %s (last 40 lines) -----\n' "${f#"$T"/}" >&2
        tail -n 40 "$f" >&2 || true
    done < <(find "$T" -type f \( -name '*.log' -o -name 'stderr' -o -name 'run.err' \) 2>/dev/null | sort)
}

fail() {
    IT_FAILED=1
    log "FAIL: $*"
    it_dump_logs
    exit 1
}

# it_skip REASON: for a test that needs root (namespaces, mounts, running
# jobs as their owners): skipped (exit 77, which ctest reports as such) when
# the runner is not root; as root, where CI runs, the test must run, so a
# skip there is a failure (a broken probe never turns into a silent pass).
it_skip() {
    if [ "$(id -u)" = 0 ]; then
        fail "cannot run as root: $* (a root-only test may not be skipped as root)"
    fi
    log "SKIP: $*"
    exit 77
}

# assert_eq EXPECTED ACTUAL WHAT
assert_eq() {
    [ "$1" = "$2" ] || fail "$3: expected [$1], got [$2]"
}

# assert_contains HAYSTACK NEEDLE WHAT
assert_contains() {
    case "$1" in
    *"$2"*) ;;
    *) fail "$3: [$2] not found in: $1" ;;
    esac
}

# ---------------------------------------------------------------- running

# run CMD...: runs a command without tripping set -e. Sets RC, OUT (stdout)
# and ERR (stderr); the last stderr is also kept in $T/logs/run.err.
run() {
    RC=0
    "$@" >"$T/run.out" 2>"$T/run.err" || RC=$?
    OUT=$(cat "$T/run.out")
    ERR=$(cat "$T/run.err")
    cat "$T/run.err" >>"$T/logs/cli.log"
}

# expect_rc N CMD...: runs CMD and fails the test unless it exits N.
expect_rc() {
    local want=$1
    shift
    run "$@"
    [ "$RC" = "$want" ] || fail "expected exit $want from [$*], got $RC; stdout: $OUT; stderr: $ERR"
}

# ok CMD...: runs CMD, fails the test unless it exits 0; stdout in OUT.
ok() { expect_rc 0 "$@"; }

# mlq CMD ARGS...: the CLI pointed at this test's scheduler (when one runs);
# --scheduler goes right after the command name; the keys come from the
# client config. Its stderr is passed on and also kept in logs/cli.log
# (checked for sanitizer reports at exit).
mlq() {
    local rc=0 ef
    ef=$(mktemp "$T/logs/.err.XXXXXX")
    if [ -n "$SCHED_ADDR" ] && [ $# -gt 0 ]; then
        "$MLQ" "$1" --scheduler "$SCHED_ADDR" "${@:2}" 2>"$ef" || rc=$?
    else
        "$MLQ" "$@" 2>"$ef" || rc=$?
    fi
    cat "$ef" >&2
    cat "$ef" >>"$T/logs/cli.log"
    rm -f "$ef"
    return "$rc"
}

# wait_until "SHELL CONDITION" TIMEOUT_S: polls every 0.1 s; returns 1 on
# timeout (callers add `|| fail "..."`).
wait_until() {
    local cond=$1 limit=${2:-10} end
    end=$(($(date +%s%N) + limit * 1000000000))
    while :; do
        if eval "$cond" >/dev/null 2>&1; then
            return 0
        fi
        [ "$(date +%s%N)" -lt "$end" ] || return 1
        sleep 0.1
    done
}

# shim_exec_logger WRAPPER LOG: writes WRAPPER, an mlq-shim that appends
# "PID ARGS" to LOG (emptied here) before it execs the real one; give it to
# a worker with --shim to count how often mlq-shim itself is executed.
shim_exec_logger() {
    cat >"$1" <<WRAP
#!/bin/sh
echo "\$\$ \$*" >>"$2"
exec "$MLQ_BIN_DIR/mlq-shim" "\$@"
WRAP
    chmod +x "$1"
    : >"$2"
}

# pid_alive PID: true while PID exists and is not a zombie.
pid_alive() {
    local st
    [ -n "${1:-}" ] || return 1
    st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    case "$st" in Z*) return 1 ;; esac
    return 0
}

# json EXPR: reads one JSON document on stdin, evaluates the Python
# expression EXPR with it bound to `d`, prints the result (strings raw,
# everything else as JSON). Exits non-zero when the input is not JSON.
json() {
    python3 -c '
import json, sys
d = json.load(sys.stdin)
r = eval(sys.argv[1], {"d": d, "len": len, "any": any, "all": all, "sorted": sorted})
print(r if isinstance(r, str) else json.dumps(r))
' "$1"
}

# ---------------------------------------------------------------- ports

# free_port: prints a loopback port nobody listens on, reserved for this
# test (a directory under IT_PORT_DIR, created atomically) so that tests
# running in parallel never pick the same one.
free_port() {
    local p
    mkdir -p "$IT_PORT_DIR"
    for _ in $(seq 1 50); do
        p=$(python3 -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()')
        if mkdir "$IT_PORT_DIR/$p" 2>/dev/null; then
            echo "$T" >"$IT_PORT_DIR/$p/owner"
            echo "$p"
            return 0
        fi
        # Reservation left by a test that died without cleanup?
        local owner
        owner=$(cat "$IT_PORT_DIR/$p/owner" 2>/dev/null || true)
        if [ -n "$owner" ] && [ ! -d "$owner" ]; then
            rm -rf "${IT_PORT_DIR:?}/$p"
        fi
    done
    fail "no free port after 50 tries"
}

# port_open PORT: true when something accepts TCP connections there.
port_open() {
    python3 -c '
import socket, sys
s = socket.socket()
s.settimeout(0.5)
try:
    s.connect(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
' "$1"
}

# ---------------------------------------------------------------- daemons

# start_scheduler STATE_DIR [EXTRA ARGS...]: starts mlq-scheduler on a free
# port (or on SCHED_PORT when already set, for restarts), waits until the
# port answers. Sets SCHED_PORT, SCHED_ADDR, SCHED_PID.
start_scheduler() {
    local state=$1 try
    shift
    mkdir -p "$state"
    for try in 1 2 3 4 5; do
        [ -n "$SCHED_PORT" ] || SCHED_PORT=$(free_port)
        SCHED_ADDR=tcp://127.0.0.1:$SCHED_PORT
        # lib.sh's keys unless the test sets IT_SECURE=1 and brings its own.
        local sec=()
        [ "${IT_SECURE:-0}" = 1 ] || sec=(--key "$IT_KEYS/server.key"
            --authorize "admin:$IT_ME:$IT_KEYS/admin.key.pub")
        # Tests run as root and submit as root: let those jobs run.
        [ "$(id -u)" != 0 ] || sec+=(--allow-root-jobs)
        # --config none: a test never reads the machine's /etc/mlq (a test's
        # own --config comes later and wins).
        "$MLQ_SCHEDULER_BIN" --config none --listen "$SCHED_ADDR" --state-dir "$state" "${sec[@]}" "$@" \
            >>"$T/logs/scheduler.log" 2>&1 &
        SCHED_PID=$!
        IT_PIDS+=("$SCHED_PID")
        if wait_until "port_open $SCHED_PORT || ! pid_alive $SCHED_PID" 15 &&
            pid_alive "$SCHED_PID"; then
            log "scheduler pid $SCHED_PID on $SCHED_ADDR"
            return 0
        fi
        # Lost a race for the port to someone outside our reservations:
        # retry on another one, unless this was a restart on a fixed port.
        if grep -qi 'in use' "$T/logs/scheduler.log" && [ "$try" -lt 5 ]; then
            log "port $SCHED_PORT taken, retrying"
            SCHED_PORT=""
            continue
        fi
        break
    done
    fail "scheduler did not start"
}

# worker_keys NAME: makes worker NAME's key pair under IT_KEYS (once) and
# registers it with the running scheduler (`mlq admin worker add`, which
# replaces the same key harmlessly); sets IT_WORKER_KEYS to the worker's
# options (--key ... --scheduler-key ...), for workers a test starts itself.
worker_keys() {
    local name=$1 key=$IT_KEYS/worker-$1.key
    if [ ! -s "$key.pub" ]; then
        "$MLQ" keygen --out "$key" >/dev/null 2>>"$T/logs/cli.log" || fail "keygen for $name"
    fi
    wait_until "[ -s $IT_KEYS/server.key.pub ]" 10 || fail "the scheduler wrote no public key"
    "$MLQ" --scheduler "$SCHED_ADDR" admin worker add "$name" --key "$key.pub" \
        2>>"$T/logs/cli.log" ||
        fail "could not register the key of worker $name"
    IT_WORKER_KEYS=(--key "$key" --scheduler-key "$IT_KEYS/server.key.pub")
}

# start_worker NAME SPOOL [EXTRA ARGS...]: starts mlq-worker against the
# current scheduler (defaults --cpus 2 --mem 2G --gpus 0 unless given in
# EXTRA ARGS) with its keys (worker_keys), waits until `mlq workers` shows it
# UP. Sets WORKER_PID.
start_worker() {
    local name=$1 spool=$2
    shift 2
    local args=("$@")
    case " ${args[*]-} " in *" --cpus "*) ;; *) args+=(--cpus 2) ;; esac
    case " ${args[*]-} " in *" --mem "*) ;; *) args+=(--mem 2G) ;; esac
    case " ${args[*]-} " in *" --gpus "*) ;; *) args+=(--gpus 0) ;; esac
    if [ "${IT_SECURE:-0}" != 1 ]; then
        worker_keys "$name"
        args+=("${IT_WORKER_KEYS[@]}")
    fi
    mkdir -p "$spool"
    "$MLQ_WORKER_BIN" --config none --scheduler "$SCHED_ADDR" --name "$name" --spool "$spool" "${args[@]}" \
        >>"$T/logs/worker-$name.log" 2>&1 &
    WORKER_PID=$!
    IT_PIDS+=("$WORKER_PID")
    wait_until "worker_up $name || ! pid_alive $WORKER_PID" 15 || true
    pid_alive "$WORKER_PID" || fail "worker $name exited at start"
    worker_up "$name" || fail "worker $name not UP after 15 s"
    log "worker $name pid $WORKER_PID"
}

# mlq_up STATE_DIR [ARGS...]: `mlq up --listen <free port> --state-dir
# STATE_DIR ARGS...`, retried on another port when the chosen one turns out
# to be taken. Sets UP_PORT and UP_ADDR (SCHED_ADDR is left alone, so that
# callers can check that the CLI finds the cluster through the config file).
mlq_up() {
    local state=$1 try
    shift
    for try in 1 2 3 4 5; do
        UP_PORT=$(free_port)
        UP_ADDR=tcp://127.0.0.1:$UP_PORT
        run "$MLQ" up --listen "$UP_ADDR" --state-dir "$state" "$@"
        printf '%s\n' "$ERR" >>"$T/logs/mlq-up.log"
        [ "$RC" = 0 ] && return 0
        case "$ERR" in *"in use"* | *"In use"*) [ "$try" -lt 5 ] && continue ;; esac
        break
    done
    fail "mlq up failed (exit $RC): $ERR"
}

# worker_up NAME: true when `mlq workers --json` lists NAME in state UP.
worker_up() {
    mlq workers --timeout 2s --json 2>/dev/null |
        json "any(w['name'] == '$1' and w['state'] == 'UP' for w in d['workers'])" |
        grep -x true >/dev/null
}

# stop_pid PID [GRACE_S]: TERM, then KILL after the grace; waits for it.
stop_pid() {
    local pid=$1 grace=${2:-5}
    pid_alive "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null || true
    wait_until "! pid_alive $pid" "$grace" || kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# pidfile_pid FILE: the pid a pid file names (its first word; shim.pid
# holds "PID STARTTIME START_MS"); nothing when it names none.
pidfile_pid() {
    local pid=""
    # A record written in place (worker/spoolrec.h) starts with a header line.
    { read -r pid _ && [ "$pid" = MLQR ] && read -r pid _; } <"$1" 2>/dev/null || true
    case "$pid" in '' | *[!0-9]*) return 0 ;; esac
    echo "$pid"
}

# job_state ID: prints the job's state from `mlq status --json`.
job_state() {
    mlq status "$1" --json | json "d['state']"
}

# job_field ID FIELD: prints one field of `mlq status --json`.
job_field() {
    mlq status "$1" --json | json "d['$2']"
}

# wait_state ID STATE TIMEOUT_S
wait_state() {
    wait_until "[ \"\$(job_state $1)\" = $2 ]" "${3:-20}" ||
        fail "job $1 not $2 after ${3:-20} s (now: $(job_state "$1" 2>&1))"
}

# ---------------------------------------------------------------- hosts

# netns_cluster_up: for the root-only tests of several hosts. Skips where
# network namespaces cannot be made (it_skip: as root that fails), then
# starts deploy/multihost/netns-cluster.sh's cluster in C=$T/cluster with
# the MLQ_NETNS_* settings the caller exported, loads its cluster.env
# (PREFIX, SUBNET, ...) and has its namespaces and links deleted at exit,
# also on failure. Sets NETNS (the script) and C, and defines the CLI on
# the scheduler's host, as the admin (admin ARGS...) and as a user (user
# ARGS...), addr_of WORKER (the address WORKER advertises) and
# worker_state WORKER.
# shellcheck disable=SC2317 # the helpers it defines are called by the tests
netns_cluster_up() {
    [ "$(id -u)" = 0 ] || it_skip "network namespaces need root"
    command -v ip >/dev/null || it_skip "no ip command (iproute2)"
    ip netns list >/dev/null 2>&1 || it_skip "ip netns does not work here"
    NETNS=$MLQ_SRC_DIR/deploy/multihost/netns-cluster.sh
    C=$T/cluster
    trap netns_cleanup EXIT
    ok "$NETNS" up "$C"
    # shellcheck source=/dev/null
    . "$C/cluster.env"
    log "cluster up: prefix $PREFIX, subnet $SUBNET.0/24, $NWORKERS workers"
    ip netns list | grep -q "^$PREFIX-sched" || fail "no scheduler namespace"
    # Defined here, not for every test that sources this file.
    admin() { "$NETNS" mlq "$C" "$@" 2>>"$T/logs/cli.log"; }
    user() { MLQ_CONFIG_AS=$C/user.config "$NETNS" mlq "$C" "$@" 2>>"$T/logs/cli.log"; }
    addr_of() { echo "$SUBNET.$((10 + ${1#w}))"; }
    worker_state() { admin workers --json | json "[w['state'] for w in d['workers'] if w['name'] == '$1'][0]"; }
}

# The exit trap of netns_cluster_up: the script's `down` deletes the
# namespaces and links it made; it_cleanup then stops every process of the
# test as always.
netns_cleanup() {
    local rc=$?
    "$NETNS" down "$C" >>"$T/logs/netns-down.log" 2>&1 || true
    set +e
    (exit "$rc") # it_cleanup reads the test's exit status from $?
    it_cleanup
}

# ---------------------------------------------------------------- cleanup

# marked PID: true when the process's command line, environment or working
# directory names T (i.e. it belongs to this test).
it_marked() {
    local p=$1
    grep -qzF -- "$T" "/proc/$p/cmdline" 2>/dev/null && return 0
    grep -qzF -- "MLQ_IT_TAG=$T" "/proc/$p/environ" 2>/dev/null && return 0
    grep -qzF -- "IT_JOB_TAG=$T" "/proc/$p/environ" 2>/dev/null && return 0
    case "$(readlink "/proc/$p/cwd" 2>/dev/null)" in "$T" | "$T"/*) return 0 ;; esac
    return 1
}

# Every live process belonging to this test, except this shell and its
# ancestors.
it_our_procs() {
    local skip=" $$ ${BASHPID:-} $PPID " p d
    for d in /proc/[0-9]*; do
        p=${d#/proc/}
        case "$skip" in *" $p "*) continue ;; esac
        it_marked "$p" && echo "$p"
    done
    return 0
}

# it_kill_group PGID: SIGKILL to a job's process group when its leader is
# ours; when the leader is gone, to each member that is ours (a pid in a
# stale pid file may belong to someone else by now).
it_kill_group() {
    local pg=$1 p
    if it_marked "$pg"; then
        kill -KILL -- "-$pg" 2>/dev/null
        return 0
    fi
    for p in $(ps -e -o pid=,pgid= | awk -v pg="$pg" '$2 == pg { print $1 }'); do
        it_marked "$p" && kill -KILL "$p" 2>/dev/null
    done
    return 0
}

it_cleanup() {
    local rc=$? pid pgid f
    trap - EXIT
    set +e
    # Daemons: the ones we started and the ones `mlq up` started (their pid
    # files); TERM, a short grace, then KILL.
    local daemons=("${IT_PIDS[@]+"${IT_PIDS[@]}"}")
    while IFS= read -r f; do
        pid=$(pidfile_pid "$f")
        [ -n "$pid" ] && it_marked "$pid" && daemons+=("$pid")
    done < <(find "$T" \( -name scheduler.pid -o -name worker.pid \) -type f 2>/dev/null)
    for pid in "${daemons[@]+"${daemons[@]}"}"; do
        kill -TERM "$pid" 2>/dev/null
    done
    for pid in "${daemons[@]+"${daemons[@]}"}"; do
        wait_until "! pid_alive $pid" 3 || kill -KILL "$pid" 2>/dev/null
    done
    # Jobs: each runs in its shim's process group.
    while IFS= read -r f; do
        pid=$(pidfile_pid "$f")
        [ -n "$pid" ] || continue
        it_kill_group "$pid"
    done < <(find "$T" -name shim.pid -type f 2>/dev/null)
    # Anything else that carries our marker (jobs whose worker died, ...).
    for pid in $(it_our_procs); do
        pgid=$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ')
        kill -KILL "$pid" 2>/dev/null
        [ -n "$pgid" ] && [ "$pgid" != "$(ps -o pgid= -p $$ | tr -d ' ')" ] &&
            it_kill_group "$pgid"
    done
    for pid in "${IT_PIDS[@]+"${IT_PIDS[@]}"}"; do
        wait "$pid" 2>/dev/null
    done
    # Sanitizer reports from any process of this test fail it.
    local san
    san=$(find "$T" -path '*/attempts' -prune -o -type f \( -name '*.log' -o -name 'run.err' \) \
        -print0 2>/dev/null | xargs -0 -r grep -l -E "$IT_SAN_RE" 2>/dev/null)
    if [ -n "$san" ]; then
        log "FAIL: sanitizer reports in: $san"
        [ "$IT_FAILED" = 1 ] || it_dump_logs
        IT_FAILED=1
        [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] || rc=1
    fi
    # Port reservations (free_port runs in $(...), so find them by owner).
    for f in "$IT_PORT_DIR"/*/owner; do
        [ "$(cat "$f" 2>/dev/null)" = "$T" ] && rm -rf "$(dirname "$f")"
    done
    local bad=$rc
    [ "$rc" -ne 77 ] || bad=0 # it_skip: nothing went wrong
    if [ "$bad" -ne 0 ] && [ "$IT_FAILED" = 0 ]; then
        log "exited with status $rc"
        it_dump_logs
    fi
    if [ "$bad" -ne 0 ] || [ -n "${MLQ_IT_KEEP:-}" ]; then
        log "kept $T"
    else
        rm -rf "$T"
    fi
    [ "$rc" -eq 0 ] && log "PASS"
    exit "$rc"
}

trap it_cleanup EXIT
trap 'log "killed by signal (deadline ${IT_DEADLINE}s?)"; exit 124' TERM INT HUP

for b in "$MLQ" "$MLQ_SCHEDULER_BIN" "$MLQ_WORKER_BIN"; do
    [ -x "$b" ] || fail "missing binary $b (build first; MLQ_BIN_DIR=$MLQ_BIN_DIR)"
done
unset b
if [ "${IT_SECURE:-0}" != 1 ]; then
    mkdir -p "$T/config/mlq" "$IT_KEYS"
    "$MLQ" keygen --out "$IT_KEYS/admin.key" >/dev/null 2>>"$T/logs/cli.log" ||
        fail "mlq keygen could not make the test's admin key"
    printf '# written by lib.sh\nkey = %s\nscheduler_key = %s\n' "$IT_KEYS/admin.key" \
        "$IT_KEYS/server.key.pub" >"$MLQ_CONFIG"
fi
cd "$T"
