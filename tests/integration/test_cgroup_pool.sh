#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# Pooled job cgroups (cgroup v1, worker/cglimit.c): the worker's standby
# shim makes one job's cgroups ahead of need (mlq-pool-<its pid> in the
# memory, cpu and cpuacct hierarchies); the next job's shim claims them by
# renaming them to mlq-<attempt> (the very folder: same inode), so no mkdir
# is on the job's start path; once the job runs, a fresh set is made under
# the pool's name; the job's usage still comes from its own cgroup; and
# when the worker stops (or is killed with SIGKILL), its standby removes
# the pool.
# On a cgroup v2 host no pool is made (a v2 cgroup cannot be renamed).
# Needs root (cgroups).
IT_DEADLINE=90
. "$(dirname "$0")/lib.sh" "$@"

[ "$(id -u)" = 0 ] || it_skip "job cgroups need root"

start_scheduler "$T/state"
start_worker w1 "$T/spool-w1" --cpus 2 --mem 2G
W=$WORKER_PID
export MLQ_SCHEDULER=$SCHED_ADDR
LOG=$T/logs/worker-w1.log

own_dir() { # own_dir CONTROLLER: this shell's (and the worker's) v1 folder
    local rel
    rel=$(awk -F: -v c="$1" '$2 ~ "(^|,)" c "(,|$)" {print $3}' /proc/self/cgroup)
    echo "/sys/fs/cgroup/$1${rel%/}"
}
# pool_of DIR: the worker's pool folder in DIR (its standby's, a child of
# the worker: other tests' workers may share the folder); empty when none.
pool_of() {
    local d pid
    for d in "$1"/mlq-pool-*; do
        [ -d "$d" ] || continue
        pid=${d##*/mlq-pool-}
        [ "$(awk '/^PPid:/ {print $2}' "/proc/$pid/status" 2>/dev/null)" = "$W" ] && echo "$d"
    done
    return 0
}

if ! grep -q "limits: enforce through cgroup v1" "$LOG"; then
    grep -q "limits: enforce through cgroup v2" "$LOG" ||
        fail "as root the worker found no cgroup hierarchy: $(grep limits "$LOG")"
    ok mlq submit -- true
    ok mlq wait "$OUT" --timeout 30s
    [ -z "$(find /sys/fs/cgroup -maxdepth 8 -type d -name 'mlq-pool-*' 2>/dev/null)" ] ||
        fail "a v2 worker made pooled cgroups"
    log "cgroup v2 host: no pool, as meant"
    exit 0
fi

MEM=$(own_dir memory)
CPU=$(own_dir cpu)
wait_until '[ -n "$(pool_of "$MEM")" ] && [ -n "$(pool_of "$CPU")" ]' 15 ||
    fail "no pooled job cgroups in $MEM and $CPU while the worker is idle: $(ls -d "$MEM"/mlq-* "$CPU"/mlq-* 2>&1)"
POOL=$(pool_of "$MEM")
INO=$(stat -c %i "$POOL")
CPU_INO=$(stat -c %i "$(pool_of "$CPU")")
log "pool $POOL (inode $INO)"

ok mlq submit --mem 64M --cpus 1 -- sh -c 'cat /proc/self/cgroup; python3 -c "b = bytearray(24 << 20); import time; time.sleep(3)"'
JOB=$OUT
wait_until "[ \"\$(mlq logs $JOB 2>/dev/null | grep -c memory)\" = 1 ]" 20 || fail "job $JOB printed no cgroups"
ATT=$(job_field "$JOB" attempt_id)
JMEM=/sys/fs/cgroup/memory$(mlq logs "$JOB" | awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}')
JCPU=/sys/fs/cgroup/cpu$(mlq logs "$JOB" | awk -F: '$2 ~ /(^|,)cpu(,|$)/ {print $3}')
assert_eq "$MEM/mlq-$ATT" "$JMEM" "the job's memory cgroup"
assert_eq "$INO" "$(stat -c %i "$JMEM")" "inode of the job's memory cgroup (the pool's folder, renamed)"
assert_eq "$CPU_INO" "$(stat -c %i "$JCPU")" "inode of the job's cpu cgroup (the pool's folder, renamed)"
assert_eq 64M "$(numfmt --to=iec "$(cat "$JMEM/memory.limit_in_bytes")")" "the job's memory limit"
assert_eq 100000 "$(cat "$JCPU/cpu.cfs_quota_us")" "the job's CPU quota"
wait_until '[ -n "$(pool_of "$MEM")" ]' 10 || fail "no fresh pool once the job runs"
[ "$(stat -c %i "$(pool_of "$MEM")")" != "$INO" ] || fail "the pool's folder was not made anew"

ok mlq wait "$JOB" --timeout 30s
PEAK=$(mlq status "$JOB" --json | json "d['attempts'][-1]['usage']['mem_peak']")
SRC=$(mlq status "$JOB" --json | json "d['attempts'][-1]['usage']['source']")
assert_eq cgroup1 "$SRC" "the usage source"
[ "$PEAK" -ge $((24 << 20)) ] && [ "$PEAK" -lt $((64 << 20)) ] ||
    fail "the job's peak $PEAK is not its own 24M buffer (and a bit)"
wait_until "[ ! -d $JMEM ]" 10 || fail "the job's cgroup $JMEM was not removed"

# A second job takes the fresh pool in turn.
POOL2_INO=$(stat -c %i "$(pool_of "$MEM")")
ok mlq submit -- sh -c 'cat /proc/self/cgroup; sleep 2'
JOB2=$OUT
wait_until "[ \"\$(mlq logs $JOB2 2>/dev/null | grep -c memory)\" = 1 ]" 20 || fail "job $JOB2 printed no cgroups"
J2=/sys/fs/cgroup/memory$(mlq logs "$JOB2" | awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}')
assert_eq "$POOL2_INO" "$(stat -c %i "$J2")" "inode of the second job's memory cgroup"
ok mlq wait "$JOB2" --timeout 30s

stop_pid "$W"
CPOOL=$CPU/${POOL##*/}
wait_until "[ ! -d $POOL ] && [ ! -d $CPOOL ]" 10 ||
    fail "the pool $POOL or $CPOOL is still there after the worker stopped"

# A worker killed with SIGKILL: its standby sees the end of its socket and
# removes its pool too; the next worker makes its own.
start_worker w1 "$T/spool-w1" --cpus 2 --mem 2G
W=$WORKER_PID
wait_until '[ -n "$(pool_of "$MEM")" ]' 15 || fail "no pool after the restart"
POOL=$(pool_of "$MEM")
kill -KILL "$W"
wait "$W" 2>/dev/null || true
wait_until "[ ! -d $POOL ]" 10 || fail "the pool $POOL of a worker killed with SIGKILL stayed"
start_worker w1 "$T/spool-w1" --cpus 2 --mem 2G
W=$WORKER_PID
wait_until '[ -n "$(pool_of "$MEM")" ]' 15 || fail "no pool after the second restart"
ok mlq submit -- true
ok mlq wait "$OUT" --timeout 30s
log "PASS"
