#!/usr/bin/env bash
# --signal SIG without @DUR: the signal a preemption and a cancel send, for
# a job without a time limit (one fake GPU, a team that preempts within):
#   - --signal SIG@DUR still needs --time-limit (exit 6 saying so), SIG@0
#     is exit 6; --signal USR1 alone is accepted without a time limit;
#   - a low-priority job submitted with --signal USR1 and no time limit is
#     preempted by a high-priority one: it gets SIGUSR1 (not SIGTERM),
#     is requeued and finishes on its second run;
#   - while the victim drains, `mlq why` of the waiting job names it, its
#     team and the latest end of its grace;
#   - cancelling a job submitted with --signal USR1 sends it SIGUSR1.
IT_DEADLINE=90
. "$(dirname "$0")/lib.sh" "$@"

STATE=$T/state
start_scheduler "$STATE" --heartbeat 1s --lease 4s --preempt-grace-default 2s
start_worker w1 "$T/spool" --cpus 0.5 --mem 2G --gpus 1
adm() { "$MLQ" --scheduler "$SCHED_ADDR" admin "$@"; }
ok adm team add nlp
ok adm user set "$(id -un)" --team nlp
ok adm team set nlp --preempt-within on

expect_rc 6 mlq submit --signal USR1@1m --cpus 0.1 --mem 16M -- true
assert_contains "$ERR" "needs --time-limit" "SIG@DUR still needs a time limit"
expect_rc 6 mlq submit --signal USR1@0 --time-limit 1m --cpus 0.1 --mem 16M -- true
assert_contains "$ERR" "at least 1ms" "SIG@0 is refused"
expect_rc 6 mlq submit --signal NOSUCH --cpus 0.1 --mem 16M -- true
assert_contains "$ERR" "unknown signal" "an unknown signal is refused"

# low.sh: stamps "TAG start NS"; on USR1 "TAG usr1", on TERM "TAG term",
# then keeps running until SIGKILL; a run that finds its checkpoint ends.
cat >"$T/low.sh" <<'SH'
#!/bin/bash
S=$1 TAG=$2
echo "$TAG start" >>"$S"
if [ -e "$S.$TAG.ckpt" ]; then echo "$TAG end" >>"$S"; exit 0; fi
trap 'echo "$TAG usr1" >>"$S"; touch "$S.$TAG.ckpt"' USR1
trap 'echo "$TAG term" >>"$S"' TERM
while :; do sleep 0.1; done
SH
chmod +x "$T/low.sh"
ST=$T/stamps
ok mlq submit --gpus 1 --cpus 0.5 --mem 16M --priority 0 --signal USR1 --preempt-grace 3s \
    --workdir "$T" -- "$T/low.sh" "$ST" L1
LOW=$OUT
ok mlq status "$LOW" --json
assert_eq 0 "$(json "d.get('time_limit_ms') or 0" <<<"$OUT")" "the job has no time limit"
wait_state "$LOW" RUNNING 20
wait_until "grep -q 'L1 start' $ST" 10 || fail "the low job did not start"
ok mlq submit --gpus 1 --cpus 0.5 --mem 16M --priority 10 --workdir "$T" -- sleep 1
HIGH=$OUT
wait_until "grep -q 'L1 usr1' $ST" 15 || fail "the preempted job got no SIGUSR1: $(cat "$ST")"
# While the victim drains, `mlq why` of the waiting job names it and when
# its grace ends at the latest (the decision time + 3 s).
ok mlq why "$HIGH"
assert_contains "$OUT$ERR" "waiting for job ${LOW:0:8} (team nlp) to end its preemption grace, at most until" \
    "mlq why of the waiting job names the victim"
ok mlq why "$HIGH" --json
python3 -c '
import json, re, sys, time
d = json.loads(sys.argv[1])
t = d.get("reason") or d.get("text") or json.dumps(d)
m = re.search(r"at most until (\d\d):(\d\d):(\d\d)", t)
assert m, t
lt = time.localtime()
now = lt.tm_hour * 3600 + lt.tm_min * 60 + lt.tm_sec
until = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + int(m.group(3))
assert 0 <= (until - now) % 86400 <= 4, "until %s, now %s" % (m.group(0), time.strftime("%T"))
assert "preemption" in json.dumps(d), d
' "$OUT" || fail "mlq why --json: $OUT"
wait_state "$HIGH" SUCCEEDED 30
wait_state "$LOW" SUCCEEDED 30
grep -q 'L1 term' "$ST" && fail "the preempted job got SIGTERM: $(cat "$ST")"
[ "$(grep -c '^L1 start' "$ST")" = 2 ] || fail "the low job did not run twice: $(cat "$ST")"
ok mlq status "$LOW" --json
assert_eq PREEMPTED "$(json "d['attempts'][0]['state']" <<<"$OUT")" "first attempt PREEMPTED"

# A cancel sends the job's --signal too.
ok mlq submit --cpus 0.1 --mem 16M --signal USR1 --kill-grace 2s --workdir "$T" -- "$T/low.sh" "$ST" C1
CAN=$OUT
wait_until "grep -q 'C1 start' $ST" 20 || fail "the job to cancel did not start"
ok mlq cancel "$CAN"
wait_until "grep -q 'C1 usr1' $ST" 10 || fail "the cancelled job got no SIGUSR1: $(cat "$ST")"
wait_state "$CAN" CANCELLED 20
grep -q 'C1 term' "$ST" && fail "the cancelled job got SIGTERM: $(cat "$ST")"
log "ok"
