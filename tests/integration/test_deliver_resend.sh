#!/usr/bin/env bash
# Messages that must arrive are sent again until they do (DESIGN.md rule 8).
# A fake worker (mlq-fakeworker, tests/integration/fakeworker.c) throws away
# the first ASSIGN and the first KILL it receives, as a worker whose socket
# dropped them would; another never answers an assignment at all.
#   - a dropped ASSIGN is sent again and the job runs;
#   - a dropped KILL is sent again and the cancelled job's run ends; so is a
#     dropped KILL of an attempt the scheduler no longer knows (fencing);
#   - an assignment nobody acknowledges is lost after the lease and its job
#     requeued, instead of waiting in ASSIGNED forever.
IT_DEADLINE=150
. "$(dirname "$0")/lib.sh" "$@"

FAKE=${MLQ_FAKEWORKER:-$MLQ_BIN_DIR/mlq-fakeworker}
[ -x "$FAKE" ] || fail "missing $FAKE (build the mlq-fakeworker target)"

start_scheduler "$T/state" --heartbeat 1s --lease 4s --kill-grace 1s

# start_fake NAME ARGS...: a fake worker, UP before this returns.
start_fake() {
    local name=$1
    shift
    worker_keys "$name"
    "$FAKE" --scheduler "$SCHED_ADDR" "${IT_WORKER_KEYS[@]}" --name "$name" "$@" \
        >>"$T/logs/fake-$name.log" 2>&1 &
    FAKE_PID=$!
    IT_PIDS+=("$FAKE_PID")
    wait_until "worker_up $name" 15 || fail "fake worker $name not UP"
}

# --- a dropped ASSIGN is sent again -------------------------------------------
start_fake dropper --drop-assigns 1 --drop-kills 1
DROPPER=$FAKE_PID
ok mlq submit --cpus 1 --mem 64M -- true
A=$OUT
wait_until "grep -q 'assign dropped' $T/logs/fake-dropper.log" 15 || fail "no assignment seen"
wait_state "$A" SUCCEEDED 15
assert_eq 1 "$(grep -c 'assign taken' "$T/logs/fake-dropper.log")" "the resent assignment ran once"
ok mlq status "$A" --json
assert_eq 1 "$(json "len(d['attempts'])" <<<"$OUT")" "one attempt: the same one, resent"

# --- a dropped KILL is sent again ---------------------------------------------
ok mlq submit --cpus 1 --mem 64M -- sleep hold
B=$OUT
wait_state "$B" RUNNING 15
ok mlq cancel "$B"
wait_until "grep -q 'kill dropped' $T/logs/fake-dropper.log" 15 || fail "no kill seen"
wait_until "grep -q 'kill taken' $T/logs/fake-dropper.log" 15 ||
    fail "the dropped kill was never sent again: $(cat "$T/logs/fake-dropper.log")"
wait_until "[ \"\$(mlq workers --json | json \"[w['running'] for w in d['workers'] if w['name']=='dropper'][0]\")\" = 0 ]" 10 ||
    fail "the cancelled run still holds the worker"
stop_pid "$DROPPER"

# --- a dropped fencing KILL is sent again ------------------------------------
STRANGER=dddddddd-0000-4000-8000-000000000000
start_fake holder --holding "$STRANGER" --drop-kills 1
wait_until "grep -q 'kill dropped $STRANGER' $T/logs/fake-holder.log" 15 || fail "no fencing kill seen"
wait_until "grep -q 'kill taken $STRANGER' $T/logs/fake-holder.log" 15 ||
    fail "the dropped fencing kill was never sent again: $(cat "$T/logs/fake-holder.log")"
stop_pid "$FAKE_PID"

# --- an assignment nobody acknowledges has a deadline ------------------------
start_fake mute --silent
ok mlq submit --cpus 1 --mem 64M -- true
C=$OUT
wait_until "grep -q 'assign ignored' $T/logs/fake-mute.log" 15 || fail "no assignment seen"
wait_until "mlq status $C --json | grep -q 'did not acknowledge'" 20 ||
    fail "job C still waits for an answer: $(mlq status "$C" --json)"
ok mlq status "$C" --json
assert_eq LOST "$(json "d['attempts'][0]['state']" <<<"$OUT")" "the unacknowledged attempt"
