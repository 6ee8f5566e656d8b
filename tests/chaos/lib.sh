# shellcheck shell=bash
# lib.sh: helpers for the mlq chaos tests (tests/chaos/test_*.sh).
#
# Source it first thing from a chaos test, passing the script's arguments:
#
#     IT_DEADLINE=300
#     CHAOS_NEEDS="root mount"     # optional: root, mount, netns
#     . "$(dirname "$0")/lib.sh" "$@"
#
# It checks CHAOS_NEEDS first (exit 77, which ctest reports as skipped, with
# a message saying what is missing; as root a missing need fails instead),
# then sources the integration tests'
# lib.sh (temp dir T, deadline, cleanup of every process the test started,
# sanitizer checks; see tests/integration/lib.sh) and adds:
#   - CHAOS_FULL (1 when MLQ_CHAOS_FULL=1: the long variant);
#   - chaos_on_exit CMD: cleanup commands (unmounts, namespaces), run in
#     reverse order at exit, after the test's daemons and the processes in
#     its namespaces are dead, before the integration lib's own cleanup;
#   - summary: the one line of figures each part prints;
#   - sql, integrity, now_ms, mono_ns, restart helpers, run checks.

CHAOS_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# The rule of it_skip (integration/lib.sh), before that lib is loaded: a
# part that needs root is skipped only where the runner is not root; as root
# (CI) whatever it lacks is a failure, never a silent skip.
chaos_skip() {
    if [ "$(id -u)" = 0 ]; then
        printf '[%s] FAIL: cannot run as root: %s (a root-only test may not be skipped as root)\n' \
            "$(basename "$0" .sh)" "$*" >&2
        exit 1
    fi
    printf '[%s] SKIP: %s\n' "$(basename "$0" .sh)" "$*" >&2
    exit 77
}

# Checks what the test needs before anything is started, so that a skip
# leaves nothing behind.
chaos_check_needs() {
    local need d
    for need in ${CHAOS_NEEDS:-}; do
        case "$need" in
        root)
            [ "$(id -u)" = 0 ] || chaos_skip "needs root"
            ;;
        mount)
            d=$(mktemp -d "${TMPDIR:-/tmp}/mlq-chaos-probe.XXXXXX")
            if ! mount -t tmpfs -o size=1m mlq-chaos-probe "$d" 2>/dev/null; then
                rmdir "$d"
                chaos_skip "cannot mount a tmpfs here (no CAP_SYS_ADMIN?)"
            fi
            umount "$d"
            rmdir "$d"
            ;;
        netns)
            command -v ip >/dev/null || chaos_skip "needs ip (iproute2)"
            d=mlqprobe$$
            ip netns add "$d" 2>/dev/null || chaos_skip "cannot create a network namespace here"
            ip netns del "$d"
            ;;
        *)
            echo "chaos lib: unknown need $need" >&2
            exit 2
            ;;
        esac
    done
}
chaos_check_needs

# shellcheck source=tests/integration/lib.sh
. "$CHAOS_LIB_DIR/../integration/lib.sh" "$@"

CHAOS_FULL=${MLQ_CHAOS_FULL:-0}
[ "$CHAOS_FULL" = 1 ] || CHAOS_FULL=0
# shellcheck disable=SC2034 # used by the tests that source this
CHAOS_JOB=$CHAOS_LIB_DIR/job.py
# shellcheck disable=SC2034
CHAOS_CHECK=$CHAOS_LIB_DIR/check_runs.py
CHAOS_EXIT_CMDS=()
CHAOS_NETNS=()

# ---------------------------------------------------------------- cleanup

chaos_on_exit() { CHAOS_EXIT_CMDS+=("$1"); }

# Kills every process in a namespace this test created (all of them are
# ours: nothing else runs in it).
chaos_kill_netns_procs() {
    local ns=$1 p
    for p in $(ip netns pids "$ns" 2>/dev/null); do
        kill -KILL "$p" 2>/dev/null
    done
}

chaos_cleanup() {
    local rc=$? i pid
    set +e
    trap - EXIT
    for ns in "${CHAOS_NETNS[@]+"${CHAOS_NETNS[@]}"}"; do
        chaos_kill_netns_procs "$ns"
    done
    # Daemons first when there is something to undo (a tmpfs cannot be
    # unmounted while the scheduler holds its database open); TERM first so
    # that sanitizers still get to report leaks.
    if [ "${#CHAOS_EXIT_CMDS[@]}" -gt 0 ]; then
        for pid in "${IT_PIDS[@]+"${IT_PIDS[@]}"}"; do
            stop_pid "$pid" 3
        done
    fi
    for ((i = ${#CHAOS_EXIT_CMDS[@]} - 1; i >= 0; i--)); do
        eval "${CHAOS_EXIT_CMDS[$i]}"
    done
    (exit "$rc")
    it_cleanup
}
trap chaos_cleanup EXIT

# ---------------------------------------------------------------- figures

# summary PART KEY=VALUE...: the part's one line of figures, on stderr and
# appended to $MLQ_CHAOS_SUMMARY when set (tests/chaos/run.sh collects them).
summary() {
    local line
    line="chaos $1: ${*:2}"
    printf '%s\n' "$line" >&2
    if [ -n "${MLQ_CHAOS_SUMMARY:-}" ]; then
        printf '%s\n' "$line" >>"$MLQ_CHAOS_SUMMARY"
    fi
}

# ---------------------------------------------------------------- helpers

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# mono_ns: CLOCK_MONOTONIC in ns (the clock the job stamps use).
mono_ns() { python3 -c 'import time; print(time.monotonic_ns())'; }

# secs MS: milliseconds as seconds with one decimal.
secs() { printf '%d.%d' $(($1 / 1000)) $((($1 % 1000) / 100)); }

# sql QUERY, integrity: on the test's $STATE/mlq.db.
# shellcheck disable=SC2153
sql() { sqlite3 -cmd '.timeout 5000' "$STATE/mlq.db" "$1"; }

integrity() {
    run sqlite3 -cmd '.timeout 5000' "$STATE/mlq.db" 'PRAGMA integrity_check'
    assert_eq 0 "$RC" "sqlite3 on mlq.db ($ERR)"
    assert_eq ok "$OUT" "PRAGMA integrity_check"
}

# kill_scheduler: SIGKILL, reaped.
kill_scheduler() {
    kill -KILL "$SCHED_PID" 2>/dev/null || true
    wait "$SCHED_PID" 2>/dev/null || true
}

# proc_tree PID...: the pids given and all their descendants, one a line.
proc_tree() {
    ps -e -o pid=,ppid= | python3 -c '
import sys
roots = set(int(a) for a in sys.argv[1:])
kids = {}
for line in sys.stdin:
    p, pp = map(int, line.split())
    kids.setdefault(pp, []).append(p)
seen, todo = set(), list(roots)
while todo:
    p = todo.pop()
    if p in seen:
        continue
    seen.add(p)
    todo.extend(kids.get(p, []))
print("\n".join(str(p) for p in sorted(seen)))
' "$@"
}

# spool_shim_pids SPOOL: the shim pid of every attempt in a worker's spool.
spool_shim_pids() {
    local f pid
    for f in "$1"/attempts/*/shim.pid; do
        [ -e "$f" ] || continue
        pid=$(pidfile_pid "$f")
        [ -n "$pid" ] && it_marked "$pid" && echo "$pid"
    done
    return 0
}

# pids_alive "PID STARTTIME" lines on stdin: prints those still alive (the
# start time guards against pid reuse; zombies count as dead).
pids_alive() {
    python3 -c '
import sys
for line in sys.stdin:
    f = line.split()
    if len(f) < 2:
        continue
    try:
        with open("/proc/%s/stat" % f[0]) as fh:
            st = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        continue
    if st[0] != "Z" and st[19] == f[1]:
        print(f[0])
'
}
