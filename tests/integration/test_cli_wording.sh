#!/usr/bin/env bash
# What the CLI says, in the user's words, with real daemons:
#   - no scheduler at the address (a closed port, an ipc path with no
#     socket): exit 3 "nothing listening at ADDR: is mlq-scheduler
#     running?" in about a second, not after the 10 s reply timeout;
#   - a request the user's role may not make says what is refused and who
#     they are ("only admins may drain workers (you are bob, a user)");
#   - `mlq keygen --out .../worker.key` suggests `mlq admin worker add`;
#   - the output of a job whose worker is gone names the worker and when it
#     was last heard from;
#   - a schedule whose last run was an array shows the array's progress.
IT_DEADLINE=150
. "$(dirname "$0")/lib.sh" "$@"

# --- nothing listening ---------------------------------------------------------
CLOSED=$(free_port)
t0=$(date +%s%N)
# (--insecure: the scheduler's public key does not exist yet)
expect_rc 3 "$MLQ" --insecure list --scheduler "tcp://127.0.0.1:$CLOSED"
took=$((($(date +%s%N) - t0) / 1000000))
assert_contains "$ERR" "nothing listening at tcp://127.0.0.1:$CLOSED: is mlq-scheduler running?" \
    "closed port"
[ "$took" -lt 3000 ] || fail "a closed port took $took ms to report (the reply timeout is 10 s)"
t0=$(date +%s%N)
expect_rc 3 "$MLQ" --insecure status abc --scheduler "ipc://$T/no-such.sock"
took=$((($(date +%s%N) - t0) / 1000000))
assert_contains "$ERR" "nothing listening at ipc://$T/no-such.sock" "ipc path with no socket"
[ "$took" -lt 3000 ] || fail "an ipc path with no socket took $took ms"

start_scheduler "$T/state" --heartbeat 1s --lease 3s --kill-grace 1s
start_worker w1 "$T/spool-w1" --cpus 2 --mem 1G --heartbeat 1s
WPID=$WORKER_PID

# --- refusals in words ---------------------------------------------------------
ok "$MLQ" keygen --out "$T/bob.key"
assert_contains "$ERR" "mlq admin user add NAME --key $T/bob.key.pub" "keygen for a user"
ok "$MLQ" keygen --out "$T/keys2/worker.key"
assert_contains "$ERR" "mlq admin worker add NAME --key $T/keys2/worker.key.pub" \
    "keygen for a worker suggests worker add"
case "$ERR" in *"admin user add"*) fail "keygen of a worker key suggests user add: $ERR" ;; esac
ok "$MLQ" --scheduler "$SCHED_ADDR" admin user add bob --key "$T/bob.key.pub"
bob() { env MLQ_KEY="$T/bob.key" "$MLQ" "$1" --scheduler "$SCHED_ADDR" "${@:2}"; }
expect_rc 5 bob drain w1
assert_contains "$ERR" "only admins may drain workers (you are bob, a user)" "drain as a user"
case "$ERR" in *"may not send"*) fail "a refusal in the wire's words: $ERR" ;; esac
expect_rc 5 env MLQ_KEY="$T/bob.key" "$MLQ" --scheduler "$SCHED_ADDR" admin users
assert_contains "$ERR" "only admins may list the registered keys (you are bob, a user)" \
    "admin users as a user"
expect_rc 5 bob events
assert_contains "$ERR" "only admins may read the whole history" "events as a user"

# --- the output of a job on a worker that is gone ------------------------------
ok mlq submit --name talk --cpus 0.1 --mem 16M -- sh -c 'echo hello; sleep 300'
J=$OUT
wait_state "$J" RUNNING 20
wait_until "mlq logs $J | grep -q hello" 10 || fail "no output while running"
kill -STOP "$WPID"
worker_state() { mlq workers --json --timeout 2s | json "[w['state'] for w in d['workers'] if w['name'] == 'w1'][0]"; }
wait_until "[ \"\$(worker_state)\" = LOST ]" 20 || fail "w1 not LOST after its lease"
expect_rc 1 mlq logs "$J"
assert_contains "$ERR" "is on worker w1, which is not connected (last heard from" \
    "logs of a job on a gone worker"
kill -CONT "$WPID"

# --- a schedule that submits an array --------------------------------------------
ok mlq schedule add sweep --cron '0 3 * * *' --array 0-3 --cpus 0.1 --mem 16M -- sh -c 'sleep 1'
ok mlq schedule run-now sweep
ARR=$OUT
ok mlq schedule show sweep
assert_contains "$OUT" "array " "a run of an array shows its progress"
echo "$OUT" | grep -E "array [0-9]/4 done, [0-9] running" >/dev/null || fail "array progress: $OUT"
ok mlq wait "$ARR" --timeout 60s
ok mlq schedule list
assert_contains "$OUT" "${ARR:0:8} array 4/4 done, all succeeded" "finished array in schedule list"
ok mlq schedule show sweep --json
assert_eq "4 4 0 SUCCEEDED" "$(json "' '.join(str(x) for x in [*d['runs'][0]['array'].values(), d['runs'][0]['state']])" <<<"$OUT")" \
    "schedule show --json: the run's array"
log "ok"
