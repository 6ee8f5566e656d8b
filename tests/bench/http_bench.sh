#!/usr/bin/env bash
# API submissions per second (tests/bench/http_submit.py) against a real
# mlq-scheduler --http on loopback, with keys, as the integration tests run
# it (tests/integration/lib.sh: temp state, cleanup). No workers: the jobs
# stay pending, so this measures the API, the inproc bridge, the loop and
# its durable commit. Arguments: JOBS CLIENTS REPS (default 4000 8 5).
IT_DEADLINE=600
. "$(dirname "$0")/../integration/lib.sh" "$@"

HTTP_PORT=$(free_port)
start_scheduler "$T/state" --http "127.0.0.1:$HTTP_PORT" --log-level warn
wait_until "port_open $HTTP_PORT" 10 || fail "HTTP port not open"
ok "$MLQ" --scheduler "$SCHED_ADDR" admin token create bench --user "$IT_ME"
python3 "$MLQ_SRC_DIR/tests/bench/http_submit.py" "http://127.0.0.1:$HTTP_PORT" "$OUT" \
    "${1:-4000}" "${2:-8}" "${3:-5}"
