#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# Cancel: a running job's whole process tree goes away, a pending job never
# starts, a job that ignores SIGTERM is killed after the grace period.
IT_DEADLINE=200
. "$(dirname "$0")/lib.sh" "$@"

start_scheduler "$T/state" --kill-grace 2s
start_worker w1 "$T/spool-w1" --cpus 1 --mem 1G --gpus 0

# group_alive PGID: true while any process is in that process group.
group_alive() { ps -e -o pgid= | tr -d ' ' | grep -x "$1" >/dev/null; }

# --- a running job with a child: everything of it goes ---------------------
ok mlq submit --cpus 0.5 --mem 64M -- sh -c \
    'echo $$ > "$1.sh"; sleep 300 & echo $! > "$1.child"; sleep 300; wait' tree "$T/a"
A=$OUT
wait_state "$A" RUNNING 30
wait_until "[ -s $T/a.sh ] && [ -s $T/a.child ]" 15 || fail "job A did not record its pids"
a_sh=$(cat "$T/a.sh")
a_child=$(cat "$T/a.child")
pid_alive "$a_sh" || fail "job A's shell not running"
pid_alive "$a_child" || fail "job A's child not running"
a_pgid=$(ps -o pgid= -p "$a_sh" | tr -d ' ')
[ "$a_pgid" != "$(ps -o pgid= -p $$ | tr -d ' ')" ] || fail "job runs in the test's process group"
[ "$(ps -o pgid= -p "$a_child" | tr -d ' ')" = "$a_pgid" ] || fail "child in another group"

ok mlq cancel "$A"
assert_contains "$OUT$ERR" "${A:0:8}" "cancel names the job"
wait_state "$A" CANCELLED 20
wait_until "! pid_alive $a_sh && ! pid_alive $a_child && ! group_alive $a_pgid" 20 ||
    fail "job A's processes survived the cancel: $(ps -o pid,pgid,stat,args -g "$a_pgid" 2>&1)"
expect_rc 1 mlq wait "$A" --timeout 10s
ok mlq status "$A" --json
assert_eq CANCELLED "$(json "d['state']" <<<"$OUT")" "state of the cancelled job"
# cancelling again is not an error and changes nothing
ok mlq cancel "$A"
assert_eq CANCELLED "$(job_state "$A")" "second cancel"

# --- the job gets SIGTERM first -----------------------------------------------
ok mlq submit --cpus 0.5 --mem 64M -- sh -c \
    'trap "echo got-term; exit 143" TERM; echo ready; sleep 300 & wait'
B=$OUT
wait_state "$B" RUNNING 30
wait_until "mlq logs $B | grep ready" 15 || fail "job B not ready"
ok mlq cancel "$B"
wait_state "$B" CANCELLED 20
wait_until "mlq logs $B | grep got-term" 10 || fail "job B never saw SIGTERM: $(mlq logs "$B" 2>&1)"

# --- a pending job is cancelled without ever starting --------------------------
ok mlq submit --cpus 1 --mem 64M -- sh -c 'echo $$ > "$1"; sleep 300' blocker "$T/blocker.pid"
BLK=$OUT
wait_state "$BLK" RUNNING 30
ok mlq submit --cpus 1 --mem 64M -- sh -c 'touch "$1"' pending "$T/p.ran"
P=$OUT
sleep 1
assert_eq PENDING "$(job_state "$P")" "job behind a full worker"
ok mlq cancel "$P"
assert_eq CANCELLED "$(job_state "$P")" "cancelled pending job (at once)"
ok mlq status "$P" --json
assert_eq 0 "$(json "d['attempt']" <<<"$OUT")" "a cancelled pending job has no attempt"
assert_eq null "$(json "d['start_time']" <<<"$OUT")" "a cancelled pending job never started"
expect_rc 1 mlq wait "$P" --timeout 10s
ok mlq cancel "$BLK"
wait_state "$BLK" CANCELLED 20
sleep 1
[ ! -e "$T/p.ran" ] || fail "the cancelled pending job ran"

# --- a job that ignores SIGTERM is killed after the grace ----------------------
ok mlq submit --cpus 0.5 --mem 64M -- sh -c \
    'trap "" TERM; echo $$ > "$1"; while :; do sleep 0.2; done' stubborn "$T/c.pid"
C=$OUT
wait_state "$C" RUNNING 30
wait_until "[ -s $T/c.pid ]" 15 || fail "job C did not record its pid"
c_pid=$(cat "$T/c.pid")
c_pgid=$(ps -o pgid= -p "$c_pid" | tr -d ' ')
t0=$(date +%s%N)
ok mlq cancel "$C"
sleep 0.5
pid_alive "$c_pid" || fail "job C died at once although it ignores SIGTERM (no grace?)"
wait_until "! pid_alive $c_pid && ! group_alive $c_pgid" 30 ||
    fail "job C still alive 30 s after cancel"
elapsed_ms=$((($(date +%s%N) - t0) / 1000000))
log "SIGTERM-ignoring job died ${elapsed_ms} ms after cancel"
[ "$elapsed_ms" -ge 1500 ] || fail "job C killed after ${elapsed_ms} ms, before the 2 s grace"
[ "$elapsed_ms" -le 15000 ] || fail "job C killed only after ${elapsed_ms} ms (grace is 2 s)"
wait_state "$C" CANCELLED 20
ok mlq status "$C" --json
sig=$(json "d['signal']" <<<"$OUT")
assert_eq 9 "$sig" "signal of the job killed after the grace"

# worker is idle again
wait_until "[ \"\$(mlq workers --json | json \"d['workers'][0]['running']\")\" = 0 ]" 15 ||
    fail "worker still shows running jobs: $(mlq workers --json 2>&1)"
