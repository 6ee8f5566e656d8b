#!/usr/bin/env bash
# The worker's cgroup-favordynmods setting (worker/cgfavor.h):
# - on a cgroup v1 host, by default, each worker mounts a controller-less
#   hierarchy with favordynmods at SPOOL/cgroup-favordynmods, listed in
#   /proc/self/mountinfo while it runs and gone after it stops; two workers
#   on one node each have their own mount, and one stopping leaves the
#   other's (which still runs jobs); a worker killed with SIGKILL leaves its
#   mount, which the next worker on that spool keeps (not a second one on
#   top) and removes at its own stop;
# - with --cgroup-favordynmods off there is no mount, and one left behind
#   is removed;
# - on a cgroup v2 host the worker logs how an admin turns it on (or that it
#   is on) and mounts nothing;
# - a mount that cannot be made is a warning: the worker runs jobs anyway;
# - a bad value is a usage error.
# Needs root (mounts).
IT_DEADLINE=120
. "$(dirname "$0")/lib.sh" "$@"

[ "$(id -u)" = 0 ] || it_skip "mounting a cgroup hierarchy needs root"

# At exit: the usual cleanup, with every mount this test's workers may have
# left under $T removed (lazily) before the test folder is.
umount_then_cleanup() {
    local rc=$?
    set +e # under set -e the failed test's `(exit "$rc")` would skip it_cleanup
    (exit "$rc")
    it_cleanup
    local m
    for m in $(awk -v t="$T/" 'index($5, t) == 1 {print $5}' /proc/self/mountinfo); do
        umount -l "$m" 2>/dev/null
    done
}
trap umount_then_cleanup EXIT

# mounts_at DIR: how many mounts mountinfo lists at DIR; favor_at DIR: how
# many of them are cgroup hierarchies with favordynmods.
mounts_at() { awk -v d="$1" '$5 == d' /proc/self/mountinfo | wc -l; }
favor_at() {
    awk -v d="$1" '$5 == d { for (i = 7; i <= NF; i++) if ($i == "-") { print $(i + 1), $(i + 3) } }' \
        /proc/self/mountinfo | grep -cE '^cgroup .*(^|,)favordynmods(,|$)' || true
}

expect_rc 2 "$MLQ_WORKER_BIN" --config none --cgroup-favordynmods maybe --insecure --spool "$T/x"
assert_contains "$ERR" "cgroup-favordynmods: expected on or off" "a bad value"

start_scheduler "$T/state"
start_worker w1 "$T/spool-w1"
LOG1=$T/logs/worker-w1.log
MNT1=$T/spool-w1/cgroup-favordynmods

if grep -q "limits: enforce through cgroup v2" "$LOG1"; then
    # v2 host: a log line, no mount of the worker's own.
    grep -qE "cgroup favordynmods: (on: cgroup v2 at .* is mounted with favordynmods|off: .*mount -o remount,favordynmods)" "$LOG1" ||
        fail "a v2 worker's log says nothing of favordynmods: $(grep favordynmods "$LOG1")"
    assert_eq 0 "$(mounts_at "$MNT1")" "mounts at $MNT1 on a v2 host"
    log "cgroup v2 host: $(grep -o 'cgroup favordynmods: [a-z]*' "$LOG1")"
    exit 0
fi
grep -q "limits: enforce through cgroup v1" "$LOG1" ||
    fail "as root the worker found no cgroup hierarchy: $(grep limits "$LOG1")"

# ---- v1 host, default on: a mount per worker while it runs
grep -q "cgroup favordynmods: on: mounted a cgroup v1 hierarchy without controllers (none,name=mlq-favordynmods,favordynmods) at $MNT1" "$LOG1" ||
    fail "w1's log does not say it mounted the hierarchy: $(grep favordynmods "$LOG1")"
grep -q "no longer waits for an RCU grace period; forks and exits cost slightly more" "$LOG1" ||
    fail "w1's log does not say why and at what cost"
assert_eq 1 "$(favor_at "$MNT1")" "favordynmods cgroup mounts at $MNT1 (w1 running)"
W1=$WORKER_PID

start_worker w2 "$T/spool-w2"
MNT2=$T/spool-w2/cgroup-favordynmods
W2=$WORKER_PID
assert_eq 1 "$(favor_at "$MNT2")" "favordynmods cgroup mounts at $MNT2 (w2 running)"
assert_eq 1 "$(favor_at "$MNT1")" "favordynmods cgroup mounts at $MNT1 (w1 and w2 running)"

stop_pid "$W1"
assert_eq 0 "$(mounts_at "$MNT1")" "mounts at $MNT1 after w1 stopped"
[ ! -e "$MNT1" ] || fail "w1 left its mount folder $MNT1"
assert_eq 1 "$(favor_at "$MNT2")" "w2's mount after w1 stopped"
export MLQ_SCHEDULER=$SCHED_ADDR
ok mlq submit --mem 32M -- sh -c 'cat /proc/self/cgroup'
JOB=$OUT
ok mlq wait "$JOB" --timeout 30s
ok mlq logs "$JOB"
assert_contains "$OUT" "memory:" "the job's cgroups on w2"
stop_pid "$W2"
assert_eq 0 "$(mounts_at "$MNT2")" "mounts at $MNT2 after w2 stopped"

# ---- killed with SIGKILL: the mount stays; the next worker keeps it
start_worker w3 "$T/spool-w3"
MNT3=$T/spool-w3/cgroup-favordynmods
kill -KILL "$WORKER_PID"
wait "$WORKER_PID" 2>/dev/null || true
assert_eq 1 "$(favor_at "$MNT3")" "w3's mount after SIGKILL"
start_worker w3 "$T/spool-w3"
wait_until "grep -q 'cgroup favordynmods: on: kept a cgroup v1 hierarchy' $T/logs/worker-w3.log" 10 ||
    fail "the restarted w3 does not say it kept the mount: $(grep favordynmods "$T/logs/worker-w3.log")"
assert_eq 1 "$(mounts_at "$MNT3")" "mounts at $MNT3 after the restart (one, not two)"
stop_pid "$WORKER_PID"
assert_eq 0 "$(mounts_at "$MNT3")" "mounts at $MNT3 after the restarted w3 stopped"

# ---- off: no mount, and one left behind goes
start_worker w4 "$T/spool-w4"
MNT4=$T/spool-w4/cgroup-favordynmods
kill -KILL "$WORKER_PID"
wait "$WORKER_PID" 2>/dev/null || true
assert_eq 1 "$(favor_at "$MNT4")" "w4's mount after SIGKILL"
start_worker w4 "$T/spool-w4" --cgroup-favordynmods off
wait_until "grep -q 'cgroup favordynmods: off' $T/logs/worker-w4.log" 10 || fail "w4 does not say it is off"
assert_eq 0 "$(mounts_at "$MNT4")" "mounts at $MNT4 with the setting off"
start_worker w5 "$T/spool-w5" --cgroup-favordynmods off
assert_eq 0 "$(mounts_at "$T/spool-w5/cgroup-favordynmods")" "mounts of w5 with the setting off"
# ---- a mount that cannot be made is a warning, never fatal
mkdir -p "$T/spool-w6"
touch "$T/spool-w6/cgroup-favordynmods"
start_worker w6 "$T/spool-w6"
wait_until "grep -q 'WARN cgroup favordynmods: not on: cannot make' $T/logs/worker-w6.log" 10 ||
    fail "w6 does not warn that it could not mount: $(grep favordynmods "$T/logs/worker-w6.log")"
ok mlq submit -- true
ok mlq wait "$OUT" --timeout 30s
[ "$(awk -v t="$T/" 'index($5, t) == 1' /proc/self/mountinfo | wc -l)" = 0 ] ||
    fail "mounts under the test folder with the setting off: $(grep "$T" /proc/self/mountinfo)"
log "PASS"
