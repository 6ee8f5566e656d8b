#!/usr/bin/env bash
# How many CPUs a job held to --cpus really gets: a job spinning PROCS
# processes (processes, not threads: Python's GIL) for SECONDS under
# `--cpus CPUS`, measured from its own cgroup's CPU counter (cgroup v2
# cpu.stat usage_usec, v1 cpuacct.usage) over a window in the middle of its
# run, and over the whole run from what mlq recorded (mlq status --json
# usage). Then the same job on a worker with --limits off for comparison.
#
#     tests/bench/cpu_limit.sh [CPUS] [PROCS] [SECONDS]   (default 1 4 6)
#
# Needs root (cgroups) and the build (build/bin); uses
# tests/integration/lib.sh for daemons, keys, ports and cleanup. Prints one
# line per run: "limited --cpus 1: window 1.00 CPUs, whole run 0.97 CPUs".
CPUS=${1:-1}
PROCS=${2:-4}
SECS=${3:-6}
IT_DEADLINE=${IT_DEADLINE:-300}
. "$(dirname "$0")/../integration/lib.sh" "$@"

[ "$(id -u)" = 0 ] || fail "needs root (cgroups)"
NCPU=$(nproc)
start_scheduler "$T/state" --log-level warn
start_worker lim "$T/spool-lim" --cpus "$NCPU" --label bench=lim
start_worker free "$T/spool-free" --cpus "$NCPU" --label bench=free --limits off
LIMITS=$(mlq workers --json | json "[w['limits'] for w in d['workers'] if w['name'] == 'lim'][0]")
log "worker lim: limits $LIMITS on $NCPU CPUs"

# The job's cgroup CPU counter in microseconds (empty when it has none).
cg_usage_us() {
    local att=$1 d
    d=$(find /sys/fs/cgroup -maxdepth 8 -type d -name "mlq-$att" 2>/dev/null |
        while read -r x; do
            if [ -f "$x/cpuacct.usage" ] || [ -f "$x/cpu.stat" ]; then echo "$x"; fi
        done | head -1)
    [ -n "$d" ] || return 0
    if [ -f "$d/cpuacct.usage" ]; then
        echo $(($(cat "$d/cpuacct.usage") / 1000))
    else
        awk '$1 == "usage_usec" {print $2}' "$d/cpu.stat"
    fi
}

# run_one LABEL: submits the spinner there, measures, prints one line.
run_one() {
    local label=$1 job att u1 u2 t1 t2 window whole cpu wall
    ok mlq submit --require "bench=$label" --cpus "$CPUS" --mem 256M -- python3 -c "
import os, time
end = time.time() + $SECS
for _ in range($PROCS - 1):
    if os.fork() == 0:
        break
while time.time() < end:
    pass"
    job=$OUT
    wait_state "$job" RUNNING 20
    att=$(job_field "$job" attempt_id)
    sleep 1
    u1=$(cg_usage_us "$att")
    t1=$(date +%s%N)
    sleep $((SECS - 3))
    u2=$(cg_usage_us "$att")
    t2=$(date +%s%N)
    window=n/a
    if [ -n "$u1" ] && [ -n "$u2" ]; then
        window=$(python3 -c "print(f'{($u2 - $u1) * 1000 / ($t2 - $t1):.2f}')")
    fi
    ok mlq wait "$job" --timeout 60s
    cpu=$(mlq status "$job" --json | json "d['attempts'][-1]['usage']['cpu_us']")
    wall=$(mlq status "$job" --json | json "d['attempts'][-1]['usage']['wall_ms']")
    whole=$(python3 -c "print(f'{$cpu / 1000 / $wall:.2f}')")
    echo "$label --cpus $CPUS, $PROCS spinning processes, ${SECS}s on $NCPU CPUs: window $window CPUs (job cgroup), whole run $whole CPUs (mlq usage)"
}

run_one lim
run_one free
