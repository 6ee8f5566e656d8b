#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# The standby shim is a zygote: once it is there, a burst of jobs runs with
# no further exec of mlq-shim (it forks one shim per attempt folder), and a
# shim it forked outlives a kill -9 of both the worker and the standby and
# is re-adopted by the restarted worker, its job recorded exactly once.
# The worker runs mlq-shim through a wrapper that logs each exec.
IT_DEADLINE=180
. "$(dirname "$0")/lib.sh" "$@"

STATE=$T/state
SPOOL=$T/spool-w1
EXECS=$T/shim-execs
shim_exec_logger "$T/shim-wrap" "$EXECS"

start_scheduler "$STATE" --heartbeat 1s --lease 15s
start_worker w1 "$SPOOL" --cpus 32 --mem 8G --gpus 0 --heartbeat 1s --shim "$T/shim-wrap"

BURST=20
ids=()
for ((i = 0; i < BURST; i++)); do
    ok mlq submit --hold --cpus 0.1 --mem 16M -- true
    ids+=("$OUT")
done
# K stays running until told, under a shim the standby forked.
ok mlq submit --hold --cpus 0.1 --mem 16M -- sh -c \
    'echo $$ >> "$1"; while [ ! -e "$2" ]; do sleep 0.1; done; exit 0' k "$T/k.pids" "$T/k.go"
K=$OUT

# The standby is started with the worker and stays however long the
# worker is idle: even the first job runs without an exec of its own.
ok mlq submit --cpus 0.1 --mem 16M -- sh -c 'while [ ! -e "$1" ]; do sleep 0.1; done' w "$T/w.go"
W=$OUT
wait_state "$W" RUNNING 30
wait_until "grep -q -- --standby $EXECS" 10 || fail "no standby shim started: $(cat "$EXECS")"
ZYGOTE=$(awk '/--standby/ {print $1}' "$EXECS")
ok mlq release "${ids[@]}" "$K"
wait_state "$K" RUNNING 30
wait_until "[ -s $T/k.pids ]" 10 || fail "job k did not start"
kpid=$(head -n1 "$T/k.pids")
KA=$(job_field "$K" attempt_id)
KSHIM=$(pidfile_pid "$SPOOL/attempts/$KA/shim.pid")
[ -n "$KSHIM" ] && [ "$KSHIM" != "$ZYGOTE" ] || fail "shim.pid of $KA names ${KSHIM:-nobody}, not a forked shim"
pid_alive "$KSHIM" || fail "K's shim $KSHIM is not running"
assert_eq "$WORKER_PID" "$(awk '/^PPid:/ {print $2}' "/proc/$KSHIM/status")" "parent of K's shim (the worker)"

# K was released last: the whole burst is assigned by now, with no exec.
assert_eq 1 "$(wc -l <"$EXECS")" "execs of mlq-shim for $((BURST + 2)) jobs (the standby's, started with the worker): $(cat "$EXECS")"
pid_alive "$ZYGOTE" || fail "the standby $ZYGOTE is gone"
kill -KILL "$WORKER_PID" "$ZYGOTE"
wait "$WORKER_PID" 2>/dev/null || true
wait_until "! pid_alive $ZYGOTE" 10 || fail "the standby shim survived SIGKILL"
sleep 0.3
pid_alive "$KSHIM" || fail "K's shim died with the worker and the standby"
pid_alive "$kpid" || fail "job k died with the worker and the standby"

start_worker w1 "$SPOOL" --cpus 32 --mem 8G --gpus 0 --heartbeat 1s --shim "$T/shim-wrap"
assert_contains "$(cat "$T/logs/worker-w1.log")" "re-adopted attempt ${KA:0:8}" "restarted worker log"
touch "$T/k.go" "$T/w.go"
expect_rc 0 mlq wait "${ids[@]}" "$W" "$K" --timeout 60s
ok mlq status "$K" --json
assert_eq SUCCEEDED "$(json "d['state']" <<<"$OUT")" "job k"
assert_eq 1 "$(json "d['attempt']" <<<"$OUT")" "job k attempts"
assert_eq 1 "$(wc -l <"$T/k.pids")" "job k started once"
