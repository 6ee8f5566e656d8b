#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# mlq hold / release / submit --hold and mlq update, end to end: a held job
# is never placed, says who held it, keeps its place in the queue and its
# hold across a scheduler restart; events record who held, released and
# updated (old -> new); only the owner or an admin (exit 5); a job that is
# not pending is refused with its state (exit 6); an update is checked as a
# submit is.
IT_DEADLINE=180
. "$(dirname "$0")/lib.sh" "$@"

start_scheduler "$T/state"
start_worker w1 "$T/spool-w1" --cpus 1 --mem 1G --gpus 0
ok "$MLQ" keygen --out "$T/bob.key"
ok "$MLQ" --scheduler "$SCHED_ADDR" admin user add bob --key "$T/bob.key.pub"
bob() { env MLQ_KEY="$T/bob.key" "$MLQ" --scheduler "$SCHED_ADDR" "$@"; }

log "submit --hold: never placed, why names who held it"
ok mlq submit --hold --cpus 0.5 --mem 64M -- sh -c 'touch "$1"' held "$T/h.ran"
H=$OUT
sleep 1.5
assert_eq PENDING "$(job_state "$H")" "held job"
[ ! -e "$T/h.ran" ] || fail "the held job ran"
ok mlq why "$H"
assert_contains "$OUT" "held by $IT_ME at " "why of a held job"
ok mlq status "$H"
assert_contains "$OUT" "held by $IT_ME" "status of a held job"
assert_contains "$OUT" "held:       by $IT_ME since " "held line of status"
ok mlq status "$H" --json
assert_eq "$IT_ME" "$(json "d['held_by']" <<<"$OUT")" "held_by in --json"
ok mlq events --job "$H"
assert_contains "$OUT" "held by $IT_ME (submitted held)" "hold event of submit --hold"

log "a schedule cannot submit held jobs"
expect_rc 6 mlq schedule add nightly-held --cron '0 3 * * *' --hold --cpus 0.1 --mem 16M -- true
assert_contains "$ERR" "cannot submit held jobs" "schedule add --hold"

log "another user may not release it; a running job cannot be held"
expect_rc 5 bob release "$H"
ok mlq submit --cpus 1 --mem 64M -- sh -c 'echo $$ > "$1"; sleep 300' blocker "$T/blk.pid"
BLK=$OUT
wait_state "$BLK" RUNNING 30
expect_rc 6 mlq hold "$BLK"
assert_contains "$ERR" "is RUNNING" "hold of a running job"
expect_rc 6 mlq update "$BLK" --priority 5
assert_contains "$ERR" "job ${BLK:0:8} is RUNNING; only pending jobs can be updated" "update of a running job"

log "queue position: X (held, older) goes before Y once released"
ok mlq submit --cpus 1 --mem 64M -- sh -c 'date +%s%N > "$1"' x "$T/x.t"
X=$OUT
ok mlq hold "$X"
ok mlq submit --cpus 1 --mem 64M -- sh -c 'sleep 1; date +%s%N > "$1"' y "$T/y.t"
Y=$OUT

log "update a pending job: checked as a submit, stored, recorded"
expect_rc 6 mlq update "$X" --cpus 5000
expect_rc 5 bob update "$X" --priority 3
ok mlq update "$X" --mem 128M --retries 2 --time-limit 1h
ok mlq status "$X" --json
assert_eq 134217728 "$(json "d['mem']" <<<"$OUT")" "updated memory"
assert_eq 2 "$(json "d['retries']" <<<"$OUT")" "updated retries"
assert_eq 3600 "$(json "d['time_limit']" <<<"$OUT")" "updated time limit"
ok mlq events --job "$X"
assert_contains "$OUT" "mem 64M -> 128M" "update event"
assert_contains "$OUT" "retries 0 -> 2" "update event"
assert_contains "$OUT" "held by $IT_ME" "hold event"

log "restart: holds and updates survive"
stop_pid "$SCHED_PID"
start_scheduler "$T/state"
wait_until "worker_up w1" 30 || fail "worker did not come back"
ok mlq why "$H"
assert_contains "$OUT" "held by $IT_ME at " "hold after restart"
ok mlq status "$X" --json
assert_eq 134217728 "$(json "d['mem']" <<<"$OUT")" "update after restart"
sleep 1
assert_eq PENDING "$(job_state "$H")" "held job after restart"

ok mlq release "$X" "$H"
ok mlq cancel "$BLK"
wait_state "$X" SUCCEEDED 30
wait_state "$Y" SUCCEEDED 30
wait_state "$H" SUCCEEDED 30
[ "$(cat "$T/x.t")" -lt "$(cat "$T/y.t")" ] || fail "the released job lost its place to a younger one"
ok mlq events --job "$H"
assert_contains "$OUT" "released by $IT_ME" "release event"
ok mlq status "$H" --json
assert_eq null "$(json "d['held_by']" <<<"$OUT")" "held_by after the release"
expect_rc 6 mlq release "$H"
assert_contains "$ERR" "SUCCEEDED" "release of an ended job names its state"

log "arrays: hold applies to the pending tasks"
ok mlq submit --cpus 1 --mem 64M -- sleep 300
BLK2=$OUT
wait_state "$BLK2" RUNNING 30
ok mlq submit --array 0-2 --cpus 1 --mem 64M -- true
A=$OUT
ok mlq hold "$A"
ok mlq cancel "$BLK2"
sleep 2
for i in 0 1 2; do
    assert_eq PENDING "$(job_state "$A/$i")" "held task $i"
done
ok mlq release "$A"
for i in 0 1 2; do
    wait_state "$A/$i" SUCCEEDED 30
done
log "ok"
