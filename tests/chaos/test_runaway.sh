#!/usr/bin/env bash
# Chaos part 2, runaway trees: a job that ignores SIGTERM, calls setsid and
# double-forks (tests/chaos/runaway.py) leaves no process behind 10 s after
# `mlq cancel`, nor 10 s after its --time-limit (state TIMED_OUT). Its GPU
# is free again only once none of its processes is left: a job waiting for
# the same GPU checks, as it starts, that none of them is alive.
IT_DEADLINE=${IT_DEADLINE:-200}
# shellcheck source=tests/chaos/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

STATE=$T/state
start_scheduler "$STATE" --heartbeat 1s --lease 4s --kill-grace 2s
start_worker w1 "$T/spool-w1" --cpus 2 --mem 2G --gpus 1 --heartbeat 1s

# The GPU's next job: writes which of the runaway's processes are alive as
# it starts ("none" when none is).
SEEN_PY='
import sys
alive = []
for line in open(sys.argv[1]):
    pid, start = line.split()
    try:
        st = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()
    except OSError:
        continue
    if st[0] != "Z" and st[19] == start:
        alive.append(pid)
open(sys.argv[2], "w").write(" ".join(alive) or "none")
'
NPROCS=3 # runaway.py: itself, a child, a grandchild in its own session

# start_runaway NAME [SUBMIT ARGS...]: submits the runaway and, behind it on
# the same GPU, the job that looks for its processes; waits until all of
# them run. Sets RA (runaway id), NEXT (the next job's id), PIDS (file).
start_runaway() {
    local name=$1
    shift
    PIDS=$T/$name.pids
    ok mlq submit --name "$name" --cpus 0.5 --mem 64M --gpus 1 "$@" -- \
        python3 "$CHAOS_LIB_DIR/runaway.py" "$PIDS"
    RA=$OUT
    ok mlq submit --name "$name-next" --cpus 0.5 --mem 64M --gpus 1 -- \
        python3 -c "$SEEN_PY" "$PIDS" "$T/$name.seen"
    NEXT=$OUT
    wait_state "$RA" RUNNING 30
    wait_until "[ \$(wc -l <$PIDS) -ge $NPROCS ]" 15 ||
        fail "$name: the runaway did not start its processes ($(cat "$PIDS" 2>&1))"
    RA_START=$(now_ms)
    assert_eq "$NPROCS" "$(pids_alive <"$PIDS" | wc -l)" "$name: runaway processes alive"
    log "$name: runaway $RA running, pids $(awk '{ printf "%s ", $1 }' "$PIDS")"
}

# gone_within NAME FROM_MS LIMIT_S: waits until no runaway process is
# alive, at most LIMIT_S seconds after FROM_MS; sets GONE_MS (time taken).
gone_within() {
    local left=$(($3 * 1000 - ($(now_ms) - $2)))
    [ "$left" -gt 0 ] || left=1
    if ! wait_until "[ -z \"\$(pids_alive <$PIDS)\" ]" $(((left + 999) / 1000)); then
        ps -o pid,pgid,sid,stat,args -p "$(pids_alive <"$PIDS" | paste -sd,)" >&2 || true
        fail "$1: processes left $3 s later: $(pids_alive <"$PIDS" | paste -sd' ')"
    fi
    GONE_MS=$(($(now_ms) - $2))
}

# next_saw_nothing NAME: the job behind it on the GPU ran, and saw none of
# the runaway's processes alive as it started.
next_saw_nothing() {
    expect_rc 0 mlq wait "$NEXT" --timeout 30s
    assert_eq none "$(cat "$T/$1.seen")" "$1: runaway processes alive when its GPU was handed on"
}

# --- cancel ----------------------------------------------------------------
start_runaway cancel --kill-grace 2s
t0=$(now_ms)
ok mlq cancel "$RA"
gone_within cancel "$t0" 10
CANCEL_MS=$GONE_MS
wait_state "$RA" CANCELLED 15
next_saw_nothing cancel
log "cancel: every process gone $(secs "$CANCEL_MS") s after mlq cancel"

# --- time limit -------------------------------------------------------------
start_runaway limit --time-limit 3s --kill-grace 1s
wait_state "$RA" TIMED_OUT 20
# The shim reports only once nothing of the job is left.
left=$(pids_alive <"$PIDS" | paste -sd' ')
[ -z "$left" ] || fail "limit: job TIMED_OUT while its processes $left are alive"
gone_within limit "$RA_START" $((3 + 10))
LIMIT_MS=$((GONE_MS - 3000))
[ "$LIMIT_MS" -ge 0 ] || LIMIT_MS=0
ok mlq status "$RA" --json
sig=$(json "d['signal']" <<<"$OUT")
# It ignores SIGTERM: only the SIGKILL after the grace can have ended it.
case "$sig" in 9 | KILL | SIGKILL) ;; *) fail "limit: TIMED_OUT job ended by signal [$sig], expected SIGKILL" ;; esac
next_saw_nothing limit
log "limit: every process gone $(secs "$LIMIT_MS") s after the limit"

summary runaway "trees=2 procs=$((2 * NPROCS)) left=0 cancel_cleanup=$(secs "$CANCEL_MS")s" \
    "limit_cleanup=$(secs "$LIMIT_MS")s"
