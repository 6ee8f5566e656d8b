#!/usr/bin/env bash
# Worker keys: a worker talks CURVE to a scheduler that requires keys.
#   - a worker whose key is not registered says "not authorized" (once, not
#     every retry), stays alive and keeps trying; once an admin adds its key
#     (`mlq admin worker add`) it registers within seconds, without a
#     restart, and runs jobs;
#   - a worker holding the wrong scheduler public key, and a plain
#     (--insecure) worker, are told what is wrong and never registered; as
#     root a plain worker (and `mlq up --insecure`) refuses to start at all
#     (exit 2), saying how to run with keys;
#   - without --insecure a worker needs both key options (usage error).
IT_DEADLINE=150
IT_SECURE=1 # lib.sh: no --insecure for the daemons it starts
. "$(dirname "$0")/lib.sh" "$@"

K=$T/keys
mkdir -p "$K"
ME=$(id -un)
for k in admin w1 w2 other; do
    ok "$MLQ" keygen --out "$K/$k.key"
done

# --- usage errors ----------------------------------------------------------------
expect_rc 2 "$MLQ_WORKER_BIN" --name u --spool "$T/spool-u"
assert_contains "$ERR" "--key FILE and --scheduler-key FILE.pub" "a worker without keys"
expect_rc 2 "$MLQ_WORKER_BIN" --name u --spool "$T/spool-u" --key "$K/w1.key"
assert_contains "$ERR" "missing --scheduler-key" "a worker without the scheduler's key"
expect_rc 2 "$MLQ_WORKER_BIN" --name u --spool "$T/spool-u" --insecure --key "$K/w1.key"
assert_contains "$ERR" "plain TCP uses no keys" "--insecure with a key"
expect_rc 2 "$MLQ_WORKER_BIN" --name u --spool "$T/spool-u" --insecure \
    --scheduler tcp://192.0.2.1:7710
assert_contains "$ERR" "loopback" "--insecure to a remote scheduler"
expect_rc 2 "$MLQ_WORKER_BIN" --name u --spool "$T/spool-u" --key "$K/nope.key" \
    --scheduler-key "$K/admin.key.pub"
assert_contains "$ERR" "nope.key" "a missing key file"

# --- the scheduler requires keys; root is its admin ---------------------------
start_scheduler "$T/state" --key "$K/server.key" --authorize "admin:$ME:$K/admin.key.pub"
[ -s "$K/server.key.pub" ] || fail "the scheduler did not write its public key"
mkdir -p "$(dirname "$MLQ_CONFIG")"
printf 'key = %s\nscheduler_key = %s\n' "$K/admin.key" "$K/server.key.pub" >"$MLQ_CONFIG"
ok mlq workers

# start_bg NAME ARGS...: a worker in the background (not waited for).
start_bg() {
    local name=$1
    shift
    mkdir -p "$T/spool-$name"
    "$MLQ_WORKER_BIN" --scheduler "$SCHED_ADDR" --name "$name" --spool "$T/spool-$name" \
        --cpus 1 --mem 1G --gpus 0 "$@" >>"$T/logs/worker-$name.log" 2>&1 &
    IT_PIDS+=("$!")
    BG_PID=$!
}

# --- an unknown key: refused, said once, retried until an admin adds it -------
start_bg w1 --key "$K/w1.key" --scheduler-key "$K/server.key.pub"
W1=$BG_PID
wait_until "grep -q 'not authorized' $T/logs/worker-w1.log" 15 ||
    fail "the refused worker did not say it is not authorized"
assert_contains "$(cat "$T/logs/worker-w1.log")" "mlq admin worker add w1" \
    "the refusal says how to fix it"
sleep 7 # more than one retry
pid_alive "$W1" || fail "the refused worker exited"
worker_up w1 && fail "a worker with an unknown key is UP"
n=$(grep -c 'not authorized' "$T/logs/worker-w1.log")
[ "$n" = 1 ] || fail "the refusal was logged $n times, not once"

ok "$MLQ" --scheduler "$SCHED_ADDR" admin worker add w1 --key "$K/w1.key.pub"
wait_until "worker_up w1" 15 || fail "w1 not UP within 15 s of its key being added"
grep -q "accepts this worker's key now" "$T/logs/worker-w1.log" ||
    fail "the worker did not say that its key is accepted now"
ok mlq submit --cpus 0.5 --mem 64M -- echo over-curve
J=$OUT
ok mlq wait "$J" --timeout 30s
ok mlq logs "$J"
assert_eq over-curve "$OUT" "output of a job run over CURVE"

# --- the wrong scheduler key, and a plain worker: told, never UP --------------
ok "$MLQ" --scheduler "$SCHED_ADDR" admin worker add w2 --key "$K/w2.key.pub"
start_bg w2 --key "$K/w2.key" --scheduler-key "$K/other.key.pub"
wait_until "grep -q 'is its public key the one configured' $T/logs/worker-w2.log" 20 ||
    fail "a worker with the wrong scheduler key was not told"
if [ "$(id -u)" = 0 ]; then
    # As root a plain worker does not even start: without keys it would run
    # jobs as whatever account an unauthenticated client names.
    expect_rc 2 timeout 10 "$MLQ_WORKER_BIN" --scheduler "$SCHED_ADDR" --name w3 --spool "$T/spool-w3" \
        --cpus 1 --mem 1G --gpus 0 --insecure
    assert_contains "$ERR" "--insecure: refused as root" "a root worker with --insecure"
    assert_contains "$ERR" "mlq up" "the refusal says how to run a local root cluster"
    assert_contains "$ERR" "mlq admin worker add" "the refusal says how to register a key"
    expect_rc 2 timeout 20 "$MLQ" up --insecure --state-dir "$T/up-insecure"
    assert_contains "$ERR" "refused as root" "mlq up --insecure as root"
    [ ! -e "$T/up-insecure/scheduler.pid" ] || fail "mlq up --insecure started something"
else
    start_bg w3 --insecure
    # (libzmq reports a mechanism mismatch, or just a dropped handshake, by timing)
    wait_until "grep -E -q 'requires CURVE|drops the handshake' $T/logs/worker-w3.log" 15 ||
        fail "a plain worker against a CURVE scheduler was not told"
fi
worker_up w2 && fail "a worker with the wrong scheduler key is UP"
worker_up w3 && fail "a plain worker is UP on a CURVE scheduler"
true
