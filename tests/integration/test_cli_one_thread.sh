#!/usr/bin/env bash
# What one `mlq` command costs the machine: it loads no libzmq (nor the
# ~15 libraries libzmq pulls in), and it waits for a scheduler's answer in
# its one thread (no ZeroMQ I/O or reaper thread); a silent scheduler still
# ends in exit 3 at the --timeout.
IT_DEADLINE=60
. "$(dirname "$0")/lib.sh" "$@"

loaded=$(LD_DEBUG=libs "$MLQ" --version 2>&1 >/dev/null | grep -o 'calling init: [^ ]*' || true)
assert_contains "$loaded" "libc.so" "libraries mlq initialises"
case "$loaded" in *libzmq* | *libstdc++* | *libgssapi* | *libpgm* | *libnorm*)
    fail "mlq loads libzmq or its dependencies: $loaded" ;;
esac

# A listener that accepts and never answers.
PORT=$(free_port)
python3 -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(4)
conns = []
while True:
    c, _ = s.accept()
    conns.append(c)
' "$PORT" &
IT_PIDS+=($!)
wait_until "port_open $PORT" 10 || fail "the silent listener did not start"
"$MLQ" --insecure submit --scheduler "tcp://127.0.0.1:$PORT" --timeout 3s -- true \
    >"$T/out" 2>"$T/logs/submit.err" &
pid=$!
sleep 1
threads=$(ls "/proc/$pid/task" 2>/dev/null | wc -l)
rc=0
wait "$pid" || rc=$?
assert_eq 1 "$threads" "threads of mlq waiting for an answer"
assert_eq 3 "$rc" "exit status of a request nobody answers"
assert_contains "$(cat "$T/logs/submit.err")" "no answer from the scheduler" "message"
