#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# Jobs held to what they asked for, through whichever cgroup hierarchy the
# machine offers (v2, else v1), and what they used recorded per attempt:
# - a job growing past its --mem is OOM-killed and fails with "out of memory
#   (limit 64M, peak ...)", while a neighbour on the same worker holding 20M
#   succeeds untouched;
# - a process the job forks, moves to a new session and double-forks stays
#   in the job's cgroup, and goes with the job; a job whose shim dies is
#   ended by the worker through its cgroups, which are removed;
# - usage (peak memory, CPU time, wall time) is in `mlq status`, its --json,
#   the HTTP API, and plausible; 4 spinning processes with --cpus 1 get about one CPU;
# - a worker without cgroups (MLQ_CGROUP_FS=none) says so (LIMITS none) and
#   still runs jobs with usage from /proc.
# Needs root (cgroups); as root a machine with neither hierarchy fails it.
IT_DEADLINE=150
. "$(dirname "$0")/lib.sh" "$@"

[ "$(id -u)" = 0 ] || it_skip "cgroup limits need root"
command -v python3 >/dev/null || fail "python3 is needed for the job scripts"

HTTP_PORT=$(free_port)
start_scheduler "$T/state" --http "127.0.0.1:$HTTP_PORT"
# Job cgroups left behind by shims that died with no worker to clean up
# (v1 here: the test's own memory cgroup is the worker's): an old empty one
# goes when a worker starts, a young one (a job about to join it) stays.
MEMOWN=/sys/fs/cgroup/memory$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}' /proc/self/cgroup)
MEMOWN=${MEMOWN%/}
LEFT_OLD="" LEFT_NEW=""
if [ -f "$MEMOWN/memory.limit_in_bytes" ]; then
    LEFT_OLD=$MEMOWN/mlq-$(basename "$T")-old
    LEFT_NEW=$MEMOWN/mlq-$(basename "$T")-new
    mkdir "$LEFT_OLD" "$LEFT_NEW"
    touch -d '2 hours ago' "$LEFT_OLD"
fi
start_worker w1 "$T/spool-w1" --cpus 4 --mem 2G --label host=w1

limits_of() { mlq workers --json | json "[w['limits'] for w in d['workers'] if w['name'] == '$1'][0]"; }
L=$(limits_of w1)
case "$L" in
enforce/v1 | enforce/v2) log "worker w1 limits: $L" ;;
*) fail "as root the worker found no cgroup hierarchy to enforce limits with: limits [$L]; $(grep limits "$T/logs/worker-w1.log")" ;;
esac
grep -q "limits: enforce through cgroup ${L#enforce/}" "$T/logs/worker-w1.log" ||
    fail "the worker's start log does not say which hierarchy it uses"
if [ "$L" = enforce/v1 ] && [ -n "$LEFT_OLD" ]; then
    [ ! -d "$LEFT_OLD" ] || fail "an old empty job cgroup was not removed at worker start"
    [ -d "$LEFT_NEW" ] || fail "a young job cgroup was removed at worker start"
    rmdir "$LEFT_NEW"
    grep -q "removed [0-9]* empty job cgroup" "$T/logs/worker-w1.log" ||
        fail "the worker did not say it removed leftovers"
fi
ok mlq workers
assert_contains "$OUT" "LIMITS" "mlq workers header"
echo "$OUT" | grep -E "^w1 .* $L( |\$)" >/dev/null || fail "w1's row lacks its limits: $OUT"

attempt_of() { job_field "$1" attempt_id; }
usage_of() { mlq status "$1" --json | json "d['attempts'][-1]['usage']['$2']"; }

# ---- memory: the hungry job dies alone
ok mlq submit --require host=w1 --mem 128M --cpus 0.5 -- python3 -c '
import os, time
held = b"n" * (20 << 20)
time.sleep(4)
print("neighbour ok", len(held), os.environ.get("MLQ_LIMITS_CGROUP"))'
NEIGHBOUR=$OUT
ok mlq submit --require host=w1 --mem 64M --cpus 0.5 --retries 0 -- python3 -c '
b = bytearray()
while len(b) < (256 << 20):
    b += b"x" * (8 << 20)
print("never here")'
HUNGRY=$OUT
expect_rc 1 mlq wait "$HUNGRY" --timeout 30s
assert_eq FAILED "$(job_state "$HUNGRY")" "state of the job past its memory"
ok mlq status "$HUNGRY"
assert_contains "$OUT" "out of memory (limit 64M, peak " "mlq status of the OOM-killed job"
DETAIL=$(mlq status "$HUNGRY" --json | json "d['attempts'][-1]['detail']")
assert_contains "$DETAIL" "out of memory (limit 64M, peak " "the attempt's detail"
PEAK=$(usage_of "$HUNGRY" mem_peak)
[ "$PEAK" -ge $((60 << 20)) ] || fail "OOM job's peak $PEAK is below its 64M limit"
# the same through the HTTP API
command -v curl >/dev/null || fail "curl is required (deploy/install-deps.sh)"
ok "$MLQ" --scheduler "$SCHED_ADDR" admin token create limits-tok --user "$IT_ME"
HJSON=$(curl -sf -H "Authorization: Bearer $OUT" "http://127.0.0.1:$HTTP_PORT/api/v1/jobs/$HUNGRY") ||
    fail "GET /api/v1/jobs/$HUNGRY"
assert_eq "$PEAK" "$(json "d['attempts'][-1]['usage']['mem_peak']" <<<"$HJSON")" "HTTP usage.mem_peak"
assert_contains "$(json "d['attempts'][-1]['detail']" <<<"$HJSON")" "out of memory (limit 64M" \
    "HTTP attempt detail"
ok mlq wait "$NEIGHBOUR" --timeout 30s
ok mlq logs "$NEIGHBOUR"
# (the worker's notes to its shims stay out of the job's environment)
assert_contains "$OUT" "neighbour ok 20971520 None" "the neighbour's output"
NPEAK=$(usage_of "$NEIGHBOUR" mem_peak)
[ "$NPEAK" -ge $((20 << 20)) ] || fail "neighbour's peak $NPEAK is below the 20M it held"
[ "$NPEAK" -lt $((128 << 20)) ] || fail "neighbour's peak $NPEAK is past its limit"
SRC=$(usage_of "$NEIGHBOUR" source)
assert_eq "cgroup${L#enforce/v}" "$SRC" "usage source of a job in a cgroup"

# ---- no escape: fork, setsid, double fork
ok mlq submit --require host=w1 --mem 128M -- python3 -c '
import os, sys, time
r, w = os.pipe()
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.write(w, str(os.getpid()).encode())
        time.sleep(120)
        os._exit(0)
    os._exit(0)
os.close(w)
pid = int(os.read(r, 32))
os.wait()
print("grandchild", pid, flush=True)
time.sleep(120)'
ESC=$OUT
wait_until "mlq logs $ESC 2>/dev/null | grep -q grandchild" 20 || fail "the escaping job did not start"
GPID=$(mlq logs "$ESC" | awk '/grandchild/ {print $2}')
ATT=$(attempt_of "$ESC")
CG=$(cat "/proc/$GPID/cgroup")
if [ "$L" = enforce/v1 ]; then
    echo "$CG" | grep -E "^[0-9]+:([a-z,]*,)?memory(,[a-z,]*)?:.*/mlq-$ATT\$" >/dev/null ||
        fail "the double-forked grandchild left the job's memory cgroup: $CG"
    echo "$CG" | grep -E "^[0-9]+:([a-z,]*,)?cpu(,[a-z,]*)?:.*/mlq-$ATT\$" >/dev/null ||
        fail "the double-forked grandchild left the job's cpu cgroup: $CG"
    MEMCG=/sys/fs/cgroup/memory$(echo "$CG" | awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}')
else
    echo "$CG" | grep -E "^0::.*/mlq-$ATT\$" >/dev/null ||
        fail "the double-forked grandchild left the job's cgroup: $CG"
    MEMCG=${MLQ_CGROUP_FS:-/sys/fs/cgroup}$(echo "$CG" | awk -F: '$1 == 0 {print $3}')
fi
grep -qx "$GPID" "$MEMCG/cgroup.procs" || fail "$GPID is not in $MEMCG/cgroup.procs"
ok mlq cancel "$ESC"
wait_until "[ \"\$(job_state $ESC)\" = CANCELLED ] && ! pid_alive $GPID" 20 ||
    fail "the grandchild outlived its cancelled job"
wait_until "[ ! -d $MEMCG ]" 10 || fail "the job's cgroup $MEMCG was not removed"

# ---- a shim that dies: the worker ends what is left in the job's cgroups
ok mlq submit --require host=w1 --mem 64M --retries 0 -- python3 -c '
import os, time
print("pid", os.getpid(), flush=True)
time.sleep(300)'
ORPH=$OUT
wait_until "mlq logs $ORPH 2>/dev/null | grep -q pid" 20 || fail "the orphan job did not start"
JPID=$(mlq logs "$ORPH" | awk '/^pid/ {print $2}')
ATT=$(attempt_of "$ORPH")
SHIM=$(pidfile_pid "$T/spool-w1/attempts/$ATT/shim.pid")
[ -n "$SHIM" ] || fail "no shim pid for attempt $ATT"
OCG=$(grep -E "mlq-$ATT\$" "/proc/$JPID/cgroup" | head -1 | cut -d: -f3)
[ -n "$OCG" ] || fail "the job is in no cgroup of its own: $(cat "/proc/$JPID/cgroup")"
kill -KILL "$SHIM"
wait_until "! pid_alive $JPID" 20 || fail "the job of a dead shim kept running"
wait_until "[ -z \"\$(find /sys/fs/cgroup -maxdepth 8 -type d -name mlq-$ATT 2>/dev/null)\" ]" 10 ||
    fail "the dead shim's job cgroups were not removed: $(find /sys/fs/cgroup -maxdepth 8 -type d -name "mlq-$ATT")"

# ---- CPU: 4 spinners, one CPU's worth; usage in words
ok mlq submit --require host=w1 --cpus 1 --mem 256M -- python3 -c '
import os, time
end = time.time() + 3
for _ in range(3):
    if os.fork() == 0:
        break
while time.time() < end:
    pass'
SPIN=$OUT
ok mlq wait "$SPIN" --timeout 30s
CPU=$(usage_of "$SPIN" cpu_us)
WALL=$(usage_of "$SPIN" wall_ms)
[ "$CPU" -gt 500000 ] || fail "a job spinning for 3 s used only $CPU us of CPU"
[ "$WALL" -ge 2900 ] || fail "wall time $WALL ms of a 3 s job"
USED=$(python3 -c "print(round($CPU / 1000 / $WALL, 2))")
log "4 spinners with --cpus 1 used $USED CPUs"
python3 -c "import sys; sys.exit(0 if $USED < 1.6 else 1)" ||
    fail "4 spinners with --cpus 1 used $USED CPUs"
ok mlq status "$SPIN"
assert_contains "$OUT" "mem: asked 256M, peak " "usage line of mlq status"
assert_contains "$OUT" "cpu: asked 1, used " "usage line of mlq status"

# ---- a hybrid host's cgroup v2 mount without controllers: probed, then v1
U=/sys/fs/cgroup/unified
if [ "$L" = enforce/v1 ] && [ "$(stat -f -c %T "$U" 2>/dev/null)" = cgroup2fs ] &&
    ! grep -qw memory "$U/cgroup.controllers"; then
    MLQ_CGROUP_FS=$U start_worker w3 "$T/spool-w3" --label host=w3
    assert_eq enforce/v1 "$(limits_of w3)" "limits of a worker whose v2 mount has no controllers"
    grep -q "limits: enforce through cgroup v1 (not v2: cgroup v2 $U offers no memory and cpu controllers)" \
        "$T/logs/worker-w3.log" || fail "w3 did not say why it fell back to cgroup v1"
fi

# ---- a worker without cgroups says so and still runs jobs
MLQ_CGROUP_FS=none start_worker w2 "$T/spool-w2" --label host=w2
assert_eq none "$(limits_of w2)" "limits of a worker without cgroups"
grep -q "limits: none: cgroups are off" "$T/logs/worker-w2.log" ||
    fail "the worker without cgroups did not say so at start"
ok mlq submit --require host=w2 --mem 64M -- python3 -c '
b = b"y" * (100 << 20)
s = 0
for i in range(2000000):
    s += i
print("unlimited", len(b))'
FREE=$OUT
ok mlq wait "$FREE" --timeout 30s
assert_eq proc "$(usage_of "$FREE" source)" "usage source without cgroups"
FPEAK=$(usage_of "$FREE" mem_peak)
[ "$FPEAK" -ge $((100 << 20)) ] || fail "peak $FPEAK of a job that held 100M (from /proc)"
[ "$(usage_of "$FREE" cpu_us)" -gt 0 ] || fail "no CPU time from /proc"
ok mlq status "$FREE"
assert_contains "$OUT" "(largest process)" "a /proc peak says what it is"
log "ok"
