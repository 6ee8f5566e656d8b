#!/usr/bin/env bash
# Preemption within a team that enables it, on a real scheduler and worker
# (one fake GPU, so that two GPU jobs can never run at once; each job takes
# all of the worker's CPUs too, so that preemption also works where a full
# cluster leaves the placement pass nothing to place):
#   - bad input: a --preempt-grace beyond the scheduler's maximum is exit 6
#     naming the maximum; team set on an unknown team is exit 4, a bad
#     value exit 2;
#   - a low-priority job that traps its --signal (USR1) is preempted by a
#     high-priority job of its team: it gets USR1 at T, keeps running
#     through its grace and is killed near T + grace; it is requeued
#     (PENDING, no retry used), the high job runs, then the low job runs
#     again and finishes; its first attempt is PREEMPTED, its events and
#     status name the preemptor; the runs' stamp intervals never overlap;
#   - a scheduler SIGKILL right after a preemption decision, then a
#     restart: the victim is never preempted and running twice, the
#     preemption completes, and every job finishes having run once (the
#     victim: once preempted, once to the end).
IT_DEADLINE=200
. "$(dirname "$0")/lib.sh" "$@"

STATE=$T/state
SOPTS=(--heartbeat 1s --lease 4s --preempt-grace-default 2s --preempt-grace-max 1m)
start_scheduler "$STATE" "${SOPTS[@]}"
start_worker w1 "$T/spool" --cpus 0.5 --mem 2G --gpus 1
ME=$(id -un)
adm() { "$MLQ" --scheduler "$SCHED_ADDR" admin "$@"; }

# --- settings and bad input ---------------------------------------------------
ok adm team add nlp
ok adm user set "$ME" --team nlp
expect_rc 4 adm team set nosuch --preempt-within on
assert_contains "$ERR" "no team named nosuch" "team set names the unknown team"
expect_rc 2 adm team set nlp --preempt-within maybe
ok adm team set nlp --preempt-within on
ok adm teams --json
assert_eq true "$(json "d['teams'][0]['preempt_within']" <<<"$OUT")" "teams shows preempt_within"
expect_rc 6 mlq submit --preempt-grace 2m --cpus 0.1 --mem 16M -- true
assert_contains "$ERR" "1m" "a grace beyond the maximum names it"

# --- the jobs -------------------------------------------------------------------
# low.sh: one run appends "start ATTEMPT NS"; on USR1 it writes "sig NS"
# and keeps ticking ("tick NS" every 0.1 s) until SIGKILL; a run that finds
# the checkpoint finishes ("end NS"). TAG names the job in the stamps.
cat >"$T/low.sh" <<'SH'
#!/bin/bash
S=$1 TAG=$2
now() { date +%s%N; }
echo "$TAG start $MLQ_ATTEMPT $(now)" >>"$S"
if [ -e "$S.$TAG.ckpt" ]; then sleep 0.5; echo "$TAG end $(now)" >>"$S"; exit 0; fi
trap 'echo "$TAG sig $(now)" >>"$S"; touch "$S.$TAG.ckpt"; while :; do echo "$TAG tick $(now)" >>"$S"; sleep 0.1; done' USR1
while :; do echo "$TAG tick $(now)" >>"$S"; sleep 0.1; done
SH
cat >"$T/high.sh" <<'SH'
#!/bin/bash
S=$1 TAG=$2
echo "$TAG start $MLQ_ATTEMPT $(date +%s%N)" >>"$S"
sleep 1.5
echo "$TAG end $(date +%s%N)" >>"$S"
SH
chmod +x "$T/low.sh" "$T/high.sh"
ST=$T/stamps
low() {
    mlq submit --gpus 1 --cpus 0.5 --mem 16M --priority 0 --time-limit 1h --signal USR1@1m \
        --preempt-grace 2s --workdir "$T" -- "$T/low.sh" "$ST" "$1"
}
high() {
    mlq submit --gpus 1 --cpus 0.5 --mem 16M --priority 10 --workdir "$T" -- "$T/high.sh" "$ST" "$1"
}

# The runs of the stamp file as "TAG FIRST_NS LAST_NS" lines (a run: from
# its start to its last stamp before the next start of the same tag), and
# checks that no two runs overlap (one GPU).
check_no_overlap() {
    python3 - "$ST" <<'PY' || fail "runs overlap on the one GPU: $(cat "$ST")"
import sys
runs = {}
order = []
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) < 3 or not f[-1].isdigit():
        continue  # a stamp cut short: the signal killed its `date`
    tag, kind, ns = f[0], f[1], int(f[-1])
    if kind == "start":
        order.append([tag, ns, ns])
        runs.setdefault(tag, []).append(order[-1])
    else:
        runs[tag][-1][2] = ns
order.sort(key=lambda r: r[1])
for a, b in zip(order, order[1:]):
    if b[1] < a[2]:
        print("overlap:", a, b)
        sys.exit(1)
PY
}

# --- a high-priority job preempts a low one of its team ---------------------------
ok low L1
LOW=$OUT
wait_state "$LOW" RUNNING 20
wait_until "grep -q 'L1 tick' $ST" 10 || fail "the low job did not start ticking"
ok high H1
HIGH=$OUT
wait_until "grep -q 'L1 sig' $ST" 15 || fail "the low job got no USR1: $(cat "$ST")"
ok mlq status "$LOW" --json
assert_contains "$(json "d['reason']" <<<"$OUT")" "preempted by higher-priority job ${HIGH:0:8}" \
    "the victim's status says who preempts it"
wait_until "[ \"\$(job_state $HIGH)\" = RUNNING ]" 20 || fail "the high job did not start"
wait_state "$HIGH" SUCCEEDED 20
wait_state "$LOW" SUCCEEDED 30

python3 - "$ST" <<'PY' || fail "the low job's grace is wrong: $(cat "$ST")"
import sys
sig = last = None
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) < 3 or not f[-1].isdigit() or f[0] != "L1":
        continue  # another job's, or a stamp cut short by the signal
    if f[1] == "start" and sig is not None:
        break  # its second run
    if f[1] == "sig":
        sig = int(f[-1])
    elif f[1] == "tick" and sig is not None:
        last = int(f[-1])
grace = (last - sig) / 1e9
print("ticked %.2f s after USR1" % grace)
sys.exit(0 if 1.2 <= grace <= 4.0 else 1)
PY
[ "$(grep -c '^L1 start' "$ST")" = 2 ] || fail "the low job did not run exactly twice: $(cat "$ST")"
[ "$(grep -c '^H1 start' "$ST")" = 1 ] || fail "the high job did not run once"
grep -q '^L1 end' "$ST" || fail "the low job's second run did not finish"
check_no_overlap

ok mlq status "$LOW" --json
assert_eq PREEMPTED "$(json "d['attempts'][0]['state']" <<<"$OUT")" "first attempt PREEMPTED"
assert_eq SUCCEEDED "$(json "d['attempts'][1]['state']" <<<"$OUT")" "second attempt SUCCEEDED"
assert_eq 0 "$(json "d['retries_used']" <<<"$OUT")" "a preemption uses no retry"
ok mlq events --job "$LOW" --json
assert_contains "$OUT" "preempted by higher-priority job ${HIGH:0:8}" "the events name the preemptor"
assert_contains "$OUT" "requeued: preempted by higher-priority job" "the requeue is an event"

# --- a scheduler SIGKILL right after a preemption decision ---------------------
ok low L2
LOW2=$OUT
wait_state "$LOW2" RUNNING 20
wait_until "grep -q 'L2 tick' $ST" 10 || fail "the second low job did not start"
ok high H2
HIGH2=$OUT
# The decision is stored before the KILL leaves: once status shows it, the
# scheduler dies (the worker may or may not have signalled the job yet).
wait_until "mlq status $LOW2 --json | grep -q 'preempted by'" 15 || fail "no preemption decision"
kill -KILL "$SCHED_PID"
wait "$SCHED_PID" 2>/dev/null || true
start_scheduler "$STATE" "${SOPTS[@]}"
# Never both preempted (requeued) and running: while it has a live attempt
# it is RUNNING; once requeued its preempted attempt is over.
for _ in $(seq 1 40); do
    s=$(mlq status "$LOW2" --json 2>/dev/null) || continue
    python3 -c '
import json, sys
d = json.loads(sys.argv[1])
live = [a for a in d.get("attempts") or [] if a["state"] in ("ASSIGNED", "RUNNING")]
assert len(live) <= 1, "two live attempts"
if d["state"] == "PENDING":
    assert not live, "pending with a live attempt"
' "$s" || fail "victim both preempted and running: $s"
    [ "$(json "d['state']" <<<"$s")" = SUCCEEDED ] && break
    sleep 0.5
done
wait_state "$HIGH2" SUCCEEDED 40
wait_state "$LOW2" SUCCEEDED 40
[ "$(grep -c '^L2 start' "$ST")" = 2 ] || fail "the victim did not run exactly twice: $(cat "$ST")"
[ "$(grep -c '^H2 start' "$ST")" = 1 ] || fail "the preemptor ran more than once: $(cat "$ST")"
check_no_overlap
ok mlq status "$LOW2" --json
assert_eq PREEMPTED "$(json "d['attempts'][0]['state']" <<<"$OUT")" "after the restart: PREEMPTED"
assert_eq 2 "$(json "len(d['attempts'])" <<<"$OUT")" "after the restart: two attempts"
ok mlq workers --json
assert_eq 0 "$(json "d['workers'][0]['gpus_used']" <<<"$OUT")" "the GPU is free again, booked once"
log "ok"
