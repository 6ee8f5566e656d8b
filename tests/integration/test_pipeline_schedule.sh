#!/usr/bin/env bash
# Cron schedules. The scheduler runs with MLQ_TEST_TIME_SCALE=60 (a real
# second is a minute of its wall clock), so a '* * * * *' schedule fires
# about once a second: pause stops it, run-now fires at once, show lists the
# next fire times and the runs. Then catch-up, in real time shifted by
# MLQ_TEST_TIME_OFFSET: a scheduler down for ten minutes runs a missed fire
# exactly once when the catch-up window (default 1h) covers it, and not at
# all with --catch-up 1m.
IT_DEADLINE=280
. "$(dirname "$0")/lib.sh" "$@"

export MLQ_TEST_TIME_SCALE=60
start_scheduler "$T/state"
unset MLQ_TEST_TIME_SCALE
start_worker w1 "$T/spool-w1" --cpus 4 --mem 4G
small=(--cpus 0.1 --mem 16M)

# runs_of NAME: jobs the schedule has submitted (its jobs carry its name).
runs_of() {
    mlq list --json --limit 10000 | json "len([j for j in d['jobs'] if j['name'] == '$1'])"
}

# --- bad input ----------------------------------------------------------------------
expect_rc 6 mlq schedule add bad --cron '61 * * * *' -- true
expect_rc 6 mlq schedule add bad --cron '* * * * *' --timezone Mars/Olympus -- true
expect_rc 2 mlq schedule add bad -- true
expect_rc 6 mlq schedule add 'bad name' --cron '@daily' -- true
expect_rc 4 mlq schedule pause nosuch
expect_rc 4 mlq schedule show nosuch

# --- about one fire per real second -----------------------------------------------------
ok mlq schedule add tick --cron '* * * * *' "${small[@]}" -- true
expect_rc 6 mlq schedule add tick --cron '@daily' -- true
assert_contains "$ERR" "exists" "duplicate schedule name"
sleep 0.5
n0=$(runs_of tick)
sleep 6
n1=$(runs_of tick)
log "tick fired $((n1 - n0)) times in 6 s"
if [ $((n1 - n0)) -lt 4 ] || [ $((n1 - n0)) -gt 8 ]; then
    fail "expected about 6 fires in 6 s at 60x, got $((n1 - n0))"
fi

ok mlq schedule show tick --json
assert_eq 5 "$(json "len(d['next_fires'])" <<<"$OUT")" "next fire times listed"
python3 - "$OUT" <<'PY' || fail "next fires are not one scheduler minute apart: $OUT"
import json, sys, datetime
d = json.loads(sys.argv[1])
t = [datetime.datetime.strptime(x, "%Y-%m-%dT%H:%M:%S.%fZ") for x in d["next_fires"]]
gaps = {(b - a).total_seconds() for a, b in zip(t, t[1:])}
sys.exit(0 if gaps == {60.0} and all(x.second == 0 for x in t) else 1)
PY
runs=$(json "len(d['runs'])" <<<"$OUT")
if [ "$runs" -lt 4 ] || [ "$runs" -gt 10 ]; then fail "runs listed: $runs"; fi
assert_eq "active" "$(mlq schedule list --json | json "['paused' if s['paused'] else 'active' for s in d['schedules'] if s['name'] == 'tick'][0]")" \
    "tick in the list"
ok mlq schedule show tick
assert_contains "$OUT" "next runs:" "human show: next runs"
assert_contains "$OUT" "runs (newest first):" "human show: runs"
ok mlq schedule list
assert_contains "$OUT" "tick" "human list"

# --- pause stops it, run-now fires at once, resume starts again ----------------------------
ok mlq schedule pause tick
sleep 0.5
p0=$(runs_of tick)
sleep 3
p1=$(runs_of tick)
assert_eq "$p0" "$p1" "fires while paused"
assert_eq true "$(mlq schedule show tick --json | json "d['paused']")" "paused flag"
ok mlq schedule run-now tick
NOW_JOB=$OUT
[ ${#NOW_JOB} -eq 36 ] || fail "run-now printed [$NOW_JOB], not a job id"
assert_eq $((p1 + 1)) "$(runs_of tick)" "run-now fired once"
ok mlq wait "$NOW_JOB" --timeout 30s
ok mlq schedule resume tick
sleep 3
r1=$(runs_of tick)
[ "$r1" -gt $((p1 + 1)) ] || fail "no fires after resume ($r1)"
ok mlq schedule rm tick
expect_rc 4 mlq schedule show tick
sleep 2
r2=$(runs_of tick)
sleep 2
assert_eq "$r2" "$(runs_of tick)" "fires after rm"

# --- catch-up after an outage --------------------------------------------------------------
# Real time from here on (no scale), so that a restart can move the clock
# by exactly ten minutes.
stop_pid "$SCHED_PID"
start_scheduler "$T/state"
ok mlq schedule add cu-default --cron '* * * * *' "${small[@]}" -- true
ok mlq schedule add cu-short --cron '* * * * *' --catch-up 1m "${small[@]}" -- true
ok mlq schedule add cu-none --cron '* * * * *' --catch-up 0 "${small[@]}" -- true
stop_pid "$SCHED_PID"
restart_ms=$(($(date +%s%N) / 1000000 + 600000))
export MLQ_TEST_TIME_OFFSET=600
start_scheduler "$T/state"
unset MLQ_TEST_TIME_OFFSET
sleep 2
# caught_up NAME: runs the schedule fired for times before the restart
caught_up() {
    mlq schedule show "$1" --json | python3 -c '
import json, sys, datetime
d = json.load(sys.stdin)
cut = (int(sys.argv[1]) - 30000) / 1000
n = 0
for r in d["runs"]:
    t = datetime.datetime.strptime(r["fire_time"], "%Y-%m-%dT%H:%M:%S.%fZ")
    t = t.replace(tzinfo=datetime.timezone.utc).timestamp()
    n += t < cut
print(n)' "$restart_ms"
}
assert_eq 1 "$(caught_up cu-default)" "catch-up runs with the default 1h window"
assert_eq 0 "$(caught_up cu-short)" "catch-up runs with --catch-up 1m"
ok mlq schedule show cu-default --json
ok mlq wait "$(json "d['runs'][-1]['job_id']" <<<"$OUT")" --timeout 30s
assert_eq 0 "$(caught_up cu-none)" "catch-up runs with --catch-up 0 (never catch up)"
