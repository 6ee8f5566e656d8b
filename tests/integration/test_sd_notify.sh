#!/usr/bin/env bash
# systemd's readiness protocol (Type=notify units): with NOTIFY_SOCKET set,
# mlq-scheduler sends READY=1 only once its port accepts connections and
# STOPPING=1 when it stops; mlq-worker sends READY=1 once started and
# STOPPING=1 on SIGTERM. Jobs never see NOTIFY_SOCKET. A stand-in for the
# service manager (notify_listen.py) binds the socket; both a path and an
# abstract ("@name") address are used.
IT_DEADLINE=90
. "$(dirname "$0")/lib.sh" "$@"

LISTEN=$IT_LIB_DIR/notify_listen.py

# listen SOCKET PORT OUT: starts the stand-in, waits until it is bound.
listen() {
    python3 "$LISTEN" "$1" "$2" "$3" &
    IT_PIDS+=("$!")
    wait_until "grep -qx bound $3" 10 || fail "the notification listener did not start"
}

# --- scheduler, a socket path ------------------------------------------------
SCHED_PORT=$(free_port)
listen "$T/notify-sched.sock" "$SCHED_PORT" "$T/sched.msgs"
NOTIFY_SOCKET=$T/notify-sched.sock start_scheduler "$T/state"
wait_until "grep -q READY=1 $T/sched.msgs" 10 || fail "no READY=1 from the scheduler: $(cat "$T/sched.msgs")"
ready=$(grep READY=1 "$T/sched.msgs")
assert_contains "$ready" "port_open=1" "READY=1 must come once the port accepts connections"
assert_contains "$ready" "STATUS=listening on tcp://127.0.0.1:$SCHED_PORT" "scheduler status"
assert_eq 1 "$(grep -c READY=1 "$T/sched.msgs")" "READY=1 sent once"

# --- worker, an abstract socket ----------------------------------------------
abstract="@mlq-it-notify-$$-$RANDOM"
listen "$abstract" 0 "$T/worker.msgs"
NOTIFY_SOCKET=$abstract start_worker w1 "$T/spool"
wait_until "grep -q READY=1 $T/worker.msgs" 10 || fail "no READY=1 from the worker: $(cat "$T/worker.msgs")"

# A job does not inherit the service manager's socket.
J=$(mlq submit --cpus 0.5 --mem 64M -- sh -c 'echo "notify=[${NOTIFY_SOCKET-unset}]"')
wait_state "$J" SUCCEEDED 30
ok mlq logs "$J"
assert_eq "notify=[unset]" "$OUT" "NOTIFY_SOCKET in a job's environment"

# --- STOPPING=1 on SIGTERM ---------------------------------------------------
stop_pid "$WORKER_PID" 10
wait_until "grep -q STOPPING=1 $T/worker.msgs" 10 || fail "no STOPPING=1 from the worker: $(cat "$T/worker.msgs")"
stop_pid "$SCHED_PID" 10
wait_until "grep -q STOPPING=1 $T/sched.msgs" 10 || fail "no STOPPING=1 from the scheduler: $(cat "$T/sched.msgs")"

# --- a malformed NOTIFY_SOCKET is logged and changes nothing else ------------
SCHED_PORT=""
NOTIFY_SOCKET=vsock:2:1234 start_scheduler "$T/state2"
grep -q "no readiness notification" "$T/logs/scheduler.log" ||
    fail "a malformed NOTIFY_SOCKET was not logged"
log "ok"
