#!/usr/bin/env bash
# Hostile input: a hostile client and a hostile worker that hold
# valid keys (mlq-hostile, tests/integration/hostile.c) send 12,000 random,
# truncated, oversized, wrongly typed and out-of-order frames. Throughout:
#   - the scheduler stays up and answers legitimate clients: mlq-hostile
#     asks `jobs` every 500 frames and fails when one is not answered within
#     5 s; meanwhile this script runs `mlq workers` (the real worker must
#     stay UP) and checks that an unknown key is still refused quickly;
#   - a real job on a real worker succeeds before and after the flood;
#   - the database passes PRAGMA integrity_check afterwards, and the
#     scheduler still stops cleanly;
#   - the hostile worker's batches are read entry by entry, each bad entry
#     (no message, a batch inside the batch) refused alone;
#   - no process logged a crash (sanitizer reports fail the test in lib.sh).
# MLQ_HOSTILE_FRAMES and MLQ_HOSTILE_SEED change the flood.
IT_DEADLINE=${IT_DEADLINE:-280}
IT_SECURE=1 # lib.sh: no --insecure for the daemons it starts
. "$(dirname "$0")/lib.sh" "$@"

HOSTILE=$MLQ_BIN_DIR/mlq-hostile
FRAMES=${MLQ_HOSTILE_FRAMES:-12000}
SEED=${MLQ_HOSTILE_SEED:-1}
[ -x "$HOSTILE" ] || fail "missing $HOSTILE (build the mlq-hostile target)"
command -v sqlite3 >/dev/null || fail "sqlite3 (the command) is needed for PRAGMA integrity_check"

K=$T/keys
mkdir -p "$K"
ME=$(id -un)
for k in admin alice hw w1 stranger; do
    ok "$MLQ" keygen --out "$K/$k.key"
done

start_scheduler "$T/state" --key "$K/server.key" \
    --authorize "admin:$ME:$K/admin.key.pub" \
    --authorize "admin:alice:$K/alice.key.pub" \
    --authorize "worker:hw:$K/hw.key.pub" \
    --authorize "worker:w1:$K/w1.key.pub"
SPID=$SCHED_PID
mkdir -p "$(dirname "$MLQ_CONFIG")"
printf 'key = %s\nscheduler_key = %s\n' "$K/admin.key" "$K/server.key.pub" >"$MLQ_CONFIG"

# The real worker is alone in pool "real", so the jobs a hostile submit may
# get accepted never land on it, and ours never land on the hostile worker.
start_worker w1 "$T/spool-w1" --pool real --key "$K/w1.key" --scheduler-key "$K/server.key.pub"
W1=$WORKER_PID

# real_job WORD: a job in pool real that prints WORD; waits for its success.
real_job() {
    ok mlq submit --pool real --cpus 0.5 --mem 64M -- echo "$1"
    local id=$OUT
    ok mlq wait "$id" --timeout 60s
    ok mlq logs "$id"
    assert_eq "$1" "$OUT" "output of the real job"
    assert_eq SUCCEEDED "$(job_state "$id")" "state of the real job"
}

# unknown_refused: a key nobody registered gets exit 5 "not authorized",
# well before the request's own timeout.
unknown_refused() {
    local t0 ms
    t0=$(date +%s%N)
    run env MLQ_KEY="$K/stranger.key" "$MLQ" --scheduler "$SCHED_ADDR" --timeout 10s workers
    ms=$((($(date +%s%N) - t0) / 1000000))
    [ "$RC" = 5 ] || fail "an unknown key: expected exit 5, got $RC; stderr: $ERR"
    assert_contains "$ERR" "not authorized" "the refusal of an unknown key"
    [ "$ms" -lt 5000 ] || fail "an unknown key was refused only after $ms ms"
}

real_job before
unknown_refused

# ---- the flood -----------------------------------------------------------
log "mlq-hostile: $FRAMES frames, seed $SEED"
# Under ASan: libzmq's own leak on dropped connections, this client only
# (see hostile.lsan).
LSAN_OPTIONS="suppressions=$IT_LIB_DIR/hostile.lsan:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}" \
    "$HOSTILE" --scheduler "$SCHED_ADDR" --scheduler-key "$K/server.key.pub" \
    --user-key "$K/alice.key" --worker-key "$K/hw.key" --worker-name hw \
    --frames "$FRAMES" --seed "$SEED" >"$T/hostile.out" 2>"$T/logs/hostile.log" &
HPID=$!
IT_PIDS+=("$HPID")
t0=$(date +%s)
rounds=0
while pid_alive "$HPID"; do
    pid_alive "$SPID" || fail "the scheduler died under hostile input"
    run mlq workers --timeout 5s --json
    [ "$RC" = 0 ] || fail "\`mlq workers\` during the flood: exit $RC: $ERR"
    up=$(printf '%s' "$OUT" |
        json "any(w['name'] == 'w1' and w['state'] == 'UP' for w in d['workers'])")
    assert_eq true "$up" "the real worker UP during the flood"
    [ $((rounds % 4)) != 0 ] || unknown_refused
    rounds=$((rounds + 1))
    sleep 0.5
done
HRC=0
wait "$HPID" || HRC=$?
summary=$(tail -n 1 "$T/hostile.out")
log "$summary ($(($(date +%s) - t0)) s, $rounds checks from outside)"
log "$(tail -n 1 "$T/logs/hostile.log")"
[ "$HRC" = 0 ] || fail "mlq-hostile exited $HRC: $summary"
assert_contains "$summary" "hostile: frames=$FRAMES " "mlq-hostile's summary"
assert_contains "$summary" " legit_failed=0" "legitimate requests during the flood"
[ "$rounds" -ge 1 ] || fail "no check ran during the flood"
pid_alive "$SPID" || fail "the scheduler died under hostile input"
pid_alive "$W1" || fail "the real worker died during the flood"

# ---- afterwards ----------------------------------------------------------
unknown_refused
real_job after
worker_up w1 || fail "the real worker is not UP after the flood"
run sqlite3 "$T/state/mlq.db" 'PRAGMA integrity_check'
assert_eq ok "$OUT" "PRAGMA integrity_check while the scheduler runs"

# The scheduler still stops cleanly, and its database is still sound.
kill -TERM "$SPID"
SRC=0
wait "$SPID" || SRC=$?
[ "$SRC" = 0 ] || fail "the scheduler exited $SRC on SIGTERM after the flood"
run sqlite3 "$T/state/mlq.db" 'PRAGMA integrity_check'
assert_eq ok "$OUT" "PRAGMA integrity_check after the scheduler stopped"
if grep -nE 'Assertion failed|Segmentation fault|Aborted|core dumped|stack smashing' \
    "$T/logs/scheduler.log"; then
    fail "the scheduler's log shows a crash"
fi
n=$(grep -c 'bad message' "$T/logs/scheduler.log" || true)
log "the scheduler refused $n malformed messages"
[ "$n" -ge 1000 ] || fail "only $n malformed messages were refused: did the flood arrive?"
# The hostile worker's batches were read entry by entry: their bad entries
# refused alone (the others ran, or the fenced reports above would be fewer).
n=$(grep -c 'of its batch refused' "$T/logs/scheduler.log" || true)
log "the scheduler refused $n bad entries of the hostile worker's batches"
[ "$n" -ge 2 ] || fail "no bad entry of a worker's batch was refused alone: were the batches read?"
