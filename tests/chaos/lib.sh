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
#   - sql, integrity, now_ms, mono_ns, restart helpers, run checks;
#   - the scheduler killed under a workload: submit_acked, start_submitter,
#     kill_while_submitting, submitter_done, all_ended, save_statuses.

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

# ---------------------------------------------------------------- kills under a workload

# The parts that SIGKILL the scheduler while a submitter goes on share these.
# They restart it on $STATE with SCHED_ARGS and keep, under T: acked ("NAME
# ID MS" for each submit whose id was printed), submit-retries (the moment of
# each submit that found no scheduler), submit-errors, kills (the moment of
# each kill).

# submit_acked NAME ARGS...: `mlq submit --name NAME ARGS...`, tried again
# while it finds no scheduler (exit 3), until its id is printed; then the
# id goes to acked. Any other exit goes to submit-errors and returns 1.
submit_acked() {
    local name=$1 id rc
    shift
    while :; do
        rc=0
        id=$("$MLQ" submit --scheduler "$SCHED_ADDR" --timeout 2s --name "$name" "$@" \
            2>>"$T/logs/submit.log") || rc=$?
        if [ "$rc" = 0 ]; then
            echo "$name $id $(now_ms)" >>"$T/acked"
            return 0
        fi
        now_ms >>"$T/submit-retries"
        if [ "$rc" != 3 ]; then
            echo "submit of $name exited $rc" >>"$T/submit-errors"
            return 1
        fi
        sleep 0.2
    done
}

# submits_ok: fails the test once a submit has failed for another reason
# than a missing scheduler.
submits_ok() {
    [ ! -s "$T/submit-errors" ] ||
        fail "submit failed: $(cat "$T/submit-errors"); $(tail -n 5 "$T/logs/submit.log")"
}

# start_submitter FUNCTION: runs FUNCTION (the test's plan, submitted with
# submit_acked) in the background as SUBMITTER, and waits until its first
# submit got through.
start_submitter() {
    : >"$T/acked"
    : >"$T/submit-retries"
    "$1" &
    SUBMITTER=$!
    IT_PIDS+=("$SUBMITTER")
    wait_until "[ -s $T/acked ] || [ -s $T/submit-errors ]" 30 || fail "no submit gets through"
    submits_ok
}

# kill_and_restart: SIGKILLs the scheduler (its moment goes to kills),
# sometimes stays down a little while, and starts it again. KILLED counts.
kill_and_restart() {
    KILLED=$((KILLED + 1))
    now_ms >>"$T/kills"
    kill_scheduler
    [ $((RANDOM % 4)) != 0 ] || sleep "0.$((RANDOM % 10))"
    start_scheduler "$STATE" "${SCHED_ARGS[@]}"
}

# kill_while_submitting TOTAL: at least KILLS kills, and more while the
# submitter goes on (up to 4 x KILLS), so that they hit the whole workload
# of TOTAL submits; up to GAP_S seconds apart.
kill_while_submitting() {
    : >"$T/kills"
    KILLED=0
    while [ "$KILLED" -lt "$KILLS" ] ||
        { pid_alive "$SUBMITTER" && [ "$KILLED" -lt $((4 * KILLS)) ]; }; do
        # Most kills some time after the restart, every third one right
        # after it (while workers are still reconnecting and reconciling).
        if [ $(((KILLED + 1) % 3)) = 0 ]; then
            sleep "0.$((RANDOM % 6 + 1))"
        else
            sleep "$((RANDOM % GAP_S)).$((RANDOM % 10))"
        fi
        submits_ok
        log "kill $((KILLED + 1)) ($(wc -l <"$T/acked") of $1 acknowledged)"
        kill_and_restart
    done
}

# submitter_done TOTAL TIMEOUT_S: waits for the submitter; every one of the
# TOTAL submits must have been acknowledged.
submitter_done() {
    wait_until "! pid_alive $SUBMITTER" "$2" ||
        fail "submitter did not finish ($(wc -l <"$T/acked") of $1)"
    wait "$SUBMITTER" 2>/dev/null || true
    submits_ok
    assert_eq "$1" "$(wc -l <"$T/acked")" "acknowledged submits"
}

# all_ended WHAT TIMEOUT_S: waits until no job in the database is left
# unfinished (WHAT names them in the messages).
all_ended() {
    log "waiting for every $1 to end"
    wait_until "[ \"\$(sql 'SELECT count(*) FROM jobs WHERE state < 3')\" = 0 ]" "$2" ||
        fail "${1}s not terminal: $(sql 'SELECT name, state, reason FROM jobs WHERE state < 3 LIMIT 20')"
}

# save_statuses [--wait] ID...: `mlq status --json` of the jobs, one line of
# JSON for each batch of 50 (the scheduler lists attempts for at most 64
# ids at a time), in status.jsonl. --wait: `mlq wait` on each batch first,
# which must say that every job in it has ended (exit 0 or 1).
save_statuses() {
    local wait=0 i
    if [ "${1:-}" = --wait ]; then
        wait=1
        shift
    fi
    local ids=("$@") batch
    : >"$T/status.jsonl"
    for ((i = 0; i < ${#ids[@]}; i += 50)); do
        batch=("${ids[@]:i:50}")
        if [ "$wait" = 1 ]; then
            run mlq wait "${batch[@]}" --timeout 60s
            case "$RC" in 0 | 1) ;; *) fail "mlq wait exited $RC: $ERR" ;; esac
        fi
        ok mlq status "${batch[@]}" --json
        python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin)))' <<<"$OUT" >>"$T/status.jsonl"
    done
}
