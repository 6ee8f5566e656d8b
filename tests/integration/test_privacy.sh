#!/usr/bin/env bash
# Who sees what, on a cluster made by `mlq up` (keys for everyone):
#   - the state dir, the database and its WAL, the logs and the keys are
#     private to the scheduler's account (0700 / 0600), also when the state
#     dir and database were left open to others before a plain scheduler
#     start (made private, with a warning in the log);
#   - another user reads a job's and a schedule's argv and workdir but never
#     their environment (the scheduler leaves it out of the reply itself:
#     tests/unit/test_sched_privacy.c checks the bytes on the wire);
#   - a worker key registering under another worker's name, or sending a
#     heartbeat on the routing id another worker registered with
#     (tests/integration/spoof.c), is refused and the scheduler logs it;
#   - a key added with `mlq admin user add` works at once, and is refused
#     again once removed.
IT_DEADLINE=150
. "$(dirname "$0")/lib.sh" "$@"

mode() { stat -c %a "$1"; }

STATE=$T/state
mkdir -p "$STATE" && chmod 755 "$STATE" # there before, open to others
rm -f "$MLQ_CONFIG"
mlq_up "$STATE" --workers 1 --cpus 1 --mem 512M --gpus 0
ME=$(id -un)

# --- modes after `mlq up` -----------------------------------------------------
assert_contains "$ERR" "was open to other users" "mlq up warns about a wide state dir"
assert_eq 700 "$(mode "$STATE")" "state dir"
assert_eq 700 "$(mode "$STATE/logs")" "logs dir"
assert_eq 700 "$(mode "$STATE/keys")" "keys dir"
assert_eq 700 "$(mode "$STATE/workers/w1")" "worker dir"
ok "$MLQ" submit --cpus 0.1 --mem 16M --env SECRET=hunter2-on-the-wire -- sleep 300
JOB=$OUT
for f in mlq.db mlq.db-wal; do
    [ -e "$STATE/$f" ] || fail "no $f in the state dir"
    assert_eq 600 "$(mode "$STATE/$f")" "mode of $f"
done
for f in "$STATE"/logs/*.log; do
    assert_eq 600 "$(mode "$f")" "mode of $f"
done

# --- another user sees no environment -----------------------------------------
ok "$MLQ" keygen --out "$T/bob.key"
ok "$MLQ" admin user add bob --key "$T/bob.key.pub"
bob() { env MLQ_KEY="$T/bob.key" "$MLQ" "$@"; }
ok "$MLQ" schedule add nightly --cron '0 3 * * *' --cpus 0.1 --mem 16M \
    --env SECRET=hunter2-on-the-wire -- /bin/echo hello
ok bob status "$JOB" --json
assert_eq "$ME" "$(json "d['owner']" <<<"$OUT")" "bob reads alice's job"
assert_eq "sleep 300" "$(json "' '.join(d['argv'])" <<<"$OUT")" "argv visible to all"
case "$OUT" in *hunter2*) fail "another user got the job's environment: $OUT" ;; esac
ok bob schedule list --json
assert_eq "nightly" "$(json "d['schedules'][0]['name']" <<<"$OUT")" "bob lists the schedule"
case "$OUT" in *hunter2*) fail "another user got the schedule's environment: $OUT" ;; esac
ok bob list --json
case "$OUT" in *hunter2*) fail "another user got an environment in the listing: $OUT" ;; esac

# --- a worker key speaks only for its own worker name -------------------------
mkdir -p "$T/spool-w2"
"$MLQ_WORKER_BIN" --scheduler "$UP_ADDR" --name w2 --spool "$T/spool-w2" --cpus 1 --mem 256M \
    --gpus 0 --key "$STATE/keys/workers/w1.key" --scheduler-key "$STATE/keys/server.key.pub" \
    >>"$T/logs/worker-w2.log" 2>&1 &
IT_PIDS+=("$!")
wait_until "grep -q 'the key of worker w1 tried to register as w2' '$STATE/logs/scheduler.log'" 15 ||
    fail "the scheduler did not log a worker key registering under another name"
worker_up w2 && fail "w1's key registered a worker w2"
worker_up w1 || fail "w1 itself is no longer UP"
# w2 registers on a routing id of its choosing and leaves; w1's key then
# takes that routing id and sends a heartbeat as w2.
ok "$MLQ" keygen --out "$T/w2.key"
ok "$MLQ" admin worker add w2 --key "$T/w2.key.pub"
ok "${MLQ_SPOOF_BIN:-$MLQ_BIN_DIR/mlq-spoof}" --scheduler "$UP_ADDR" \
    --scheduler-key "$STATE/keys/server.key.pub" --owner-key "$T/w2.key" \
    --key "$STATE/keys/workers/w1.key" --name w2
assert_contains "$OUT" "error -7 the key of worker w1 may not speak for worker w2" \
    "a heartbeat for w2 with w1's key"
grep -q 'refused: the key of worker w1 spoke for worker w2' "$STATE/logs/scheduler.log" ||
    fail "the scheduler did not log the spoofed heartbeat"

# --- key removal takes effect -------------------------------------------------
ok "$MLQ" admin user rm bob
expect_rc 5 bob list --timeout 5s
rm -f "$MLQ_CONFIG"
ok "$MLQ" down --state-dir "$STATE" --kill-jobs

# --- a plain scheduler start on a state dir left open -------------------------
chmod 755 "$STATE" "$STATE/logs"
chmod 644 "$STATE/mlq.db"
start_scheduler "$STATE"
assert_eq 700 "$(mode "$STATE")" "state dir after a plain start"
assert_eq 700 "$(mode "$STATE/logs")" "logs dir after a plain start"
assert_eq 600 "$(mode "$STATE/mlq.db")" "database after a plain start"
wait_until "[ -e '$STATE/mlq.db-wal' ]" 10 || fail "no WAL"
assert_eq 600 "$(mode "$STATE/mlq.db-wal")" "WAL after a plain start"
grep -q "was open to other users" "$T/logs/scheduler.log" || fail "no warning in the log"

FRESH=$T/fresh
stop_pid "$SCHED_PID"
SCHED_PORT=""
start_scheduler "$FRESH"
assert_eq 700 "$(mode "$FRESH")" "fresh state dir"
assert_eq 600 "$(mode "$FRESH/mlq.db")" "fresh database"
log "ok"
