#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# An array's --max-running holds across a kill -9 of the scheduler: the
# restarted scheduler counts the tasks still running (recovered attempts)
# against the limit, so that it does not start two more beside them. Checked
# from the tasks' own start and end stamps.
IT_DEADLINE=200
. "$(dirname "$0")/lib.sh" "$@"

STATE=$T/state
SCHED_ARGS=(--heartbeat 1s --lease 5s)
start_scheduler "$STATE" "${SCHED_ARGS[@]}"
start_worker w1 "$T/spool-w1" --cpus 4 --mem 2G --heartbeat 1s
D=$T/iv
mkdir -p "$D"

# Each task stamps its start, runs 4 s, stamps its end.
IVAL='date +%s%N > "$0/s.$MLQ_ARRAY_INDEX"; sleep 4; date +%s%N > "$0/e.$MLQ_ARRAY_INDEX"'
ok mlq submit --cpus 0.1 --mem 16M --array 0-5 --max-running 2 -- sh -c "$IVAL" "$D"
A=$OUT
wait_until "[ \$(ls $D | grep -c '^s\.') -ge 2 ]" 30 || fail "the first two tasks did not start"

kill -KILL "$SCHED_PID"
wait "$SCHED_PID" 2>/dev/null || true
start_scheduler "$STATE" "${SCHED_ARGS[@]}"

ok mlq wait "$A" --timeout 120s
python3 - "$D" <<'PY' || fail "--max-running 2 was exceeded after the restart"
import sys
d = sys.argv[1]
iv = []
for i in range(6):
    s = int(open("%s/s.%d" % (d, i)).read())
    e = int(open("%s/e.%d" % (d, i)).read())
    iv.append((s, e))
events = sorted([(s, 1) for s, _ in iv] + [(e, -1) for _, e in iv], key=lambda x: (x[0], x[1]))
cur = peak = 0
for _, k in events:
    cur += k
    peak = max(peak, cur)
print("peak overlap", peak)
sys.exit(0 if 1 <= peak <= 2 else 1)
PY
