#!/usr/bin/env bash
# outage.sh: what a scheduler outage does to a running job, measured with
# real daemons on loopback (a scheduler, one worker, one `sleep` job).
# Manual benchmark, not a ctest: it takes about two minutes with the
# default timings.
#
# For each outage length D (OUTAGES, seconds) it kills the scheduler with
# SIGKILL while the job runs, waits D seconds, starts it again on the same
# state dir and port, and reports: how long after the restart the worker
# was UP again, and whether the job kept its first attempt (the worker
# re-adopted it) or lost it (the shim fenced the job when the worker's lease
# ran out). Uses tests/integration/lib.sh for the daemons and keys.
#
#   OUTAGES="5 20 40"  outage lengths in seconds
#   HEARTBEAT=5s LEASE=30s  the scheduler's --heartbeat and --lease (its
#                      defaults)
#   MLQ_BIN_DIR=DIR    binaries (default <repo>/build/bin)
IT_DEADLINE=${IT_DEADLINE:-600}
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../../integration/lib.sh" "$@"

OUTAGES=${OUTAGES:-"5 20 40"}
SARGS=(--heartbeat "${HEARTBEAT:-5s}" --lease "${LEASE:-30s}")
now_ms() { echo $(($(date +%s%N) / 1000000)); }

start_scheduler "$T/state" "${SARGS[@]}"
start_worker w1 "$T/spool"
echo "# $(date -u +%FT%TZ) $(uname -n); scheduler ${SARGS[*]}"
for d in $OUTAGES; do
    t_sub=$(now_ms)
    job=$(mlq submit -- sleep 3600)
    wait_state "$job" RUNNING 120
    echo "# outage ${d}s: the job started $(($(now_ms) - t_sub)) ms after its submission"
    sleep 6 # a heartbeat or so: the lease was renewed a moment ago, as usual
    kill -KILL "$SCHED_PID"
    wait "$SCHED_PID" 2>/dev/null || true
    t_kill=$(now_ms)
    sleep "$d"
    t0=$(now_ms)
    start_scheduler "$T/state" "${SARGS[@]}"
    t_port=$(now_ms)
    wait_until "worker_up w1" 120 || fail "worker not UP again after the restart"
    t_up=$(now_ms)
    # Give the worker a moment to report a fenced attempt, if any.
    sleep 3
    state=$(job_state "$job")
    attempts=$(mlq status "$job" --json |
        json "'; '.join('#%d %s %s' % (a['num'], a['state'], a['detail'] or '') for a in d['attempts'])")
    fenced=$(grep -c "self-fenc" "$T/logs/worker-w1.log" || true)
    printf 'outage %ss: restart->port %d ms, restart->worker UP %d ms (%.1f s after the kill); job %s, attempts %s, self-fence lines in worker log so far %s\n' \
        "$d" $((t_port - t0)) $((t_up - t0)) "$(echo "($t_up - $t_kill) / 1000" | bc -l)" \
        "$state" "$attempts" "$fenced"
    mlq cancel "$job" >/dev/null
done
grep -h "self-fenc\|registering again\|registered with" "$T/logs/worker-w1.log" | tail -n 20 >&2
