#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# Upgrades while a job runs, in the order docs/admin.md "Upgrading" gives:
# 1. a rolling worker upgrade: the worker is stopped with SIGTERM (its job
#    keeps running under its shim) and a worker started on the same spool
#    re-adopts the job, also when the spool is one written before the spool
#    carried its format marker (SPOOL/format absent); a spool of a later
#    format is refused;
# 2. a scheduler upgrade: backup, stop, and a start on a database whose
#    schema is one version older than this build (the running scheduler's
#    rows, rewritten as the previous version holds them: mlq-upgrade-fixture
#    --from), so the start migrates the schema with the attempt in flight;
#    the worker confirms the attempt and the job ends normally, exactly once.
IT_DEADLINE=150
. "$(dirname "$0")/lib.sh" "$@"

FIXTURE=$MLQ_BIN_DIR/mlq-upgrade-fixture
[ -x "$FIXTURE" ] || fail "missing $FIXTURE (build first)"
CURRENT=$("$FIXTURE" --current)
STATE=$T/state
SPOOL=$T/spool-w1
SCHED_ARGS=(--heartbeat 1s --lease 5s)
start_scheduler "$STATE" "${SCHED_ARGS[@]}"
start_worker w1 "$SPOOL" --cpus 2 --mem 1G --gpus 0 --heartbeat 1s

ok mlq submit --name long --cpus 0.5 --mem 32M -- sh -c \
    'echo $$ >> "$1"; i=0; while [ ! -e "$2" ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done; exit 0' \
    long "$T/long.pids" "$T/go"
R=$OUT
wait_state "$R" RUNNING 30
wait_until "[ -s $T/long.pids ]" 10 || fail "the job did not start"
lpid=$(head -n1 "$T/long.pids")
RA=$(job_field "$R" attempt_id)

# --- 1. rolling worker upgrade ---------------------------------------------------
OLD_WORKER=$WORKER_PID
stop_pid "$OLD_WORKER" 10
pid_alive "$lpid" || fail "the job died with its worker (SIGTERM must leave jobs running)"
[ -d "$SPOOL/attempts/$RA" ] || fail "the attempt's spool folder is gone"
FORMAT=$(cat "$SPOOL/format" 2>/dev/null) || fail "the worker wrote no SPOOL/format"
case "$FORMAT" in "mlq-spool "[0-9]*) ;; *) fail "SPOOL/format holds [$FORMAT]" ;; esac
# a later format: refused before anything is touched
mkdir -p "$T/spool-later"
echo "mlq-spool 1000" >"$T/spool-later/format"
run timeout 10 "$MLQ_WORKER_BIN" --scheduler "$SCHED_ADDR" --name w1 --cpus 1 --mem 1G --gpus 0 \
    --spool "$T/spool-later" "${IT_WORKER_KEYS[@]}"
assert_eq 1 "$RC" "a worker on a spool of a later format"
assert_contains "$ERR" "newer than this mlq-worker" "refusal of a later spool format"
# the spool as a release before the format marker left it
rm "$SPOOL/format"
start_worker w1 "$SPOOL" --cpus 2 --mem 1G --gpus 0 --heartbeat 1s
[ "$WORKER_PID" != "$OLD_WORKER" ] || fail "the worker did not restart"
assert_eq "$FORMAT" "$(cat "$SPOOL/format")" "SPOOL/format after the adoption"
sleep 6 # past one lease: an attempt the worker did not re-adopt would be LOST
assert_eq RUNNING "$(job_state "$R")" "the job after the worker upgrade"
assert_eq "$RA" "$(job_field "$R" attempt_id)" "the same attempt after the worker upgrade"
pid_alive "$lpid" || fail "the job was killed after the worker upgrade"

# --- 2. scheduler upgrade: backup, stop, start on an older schema -------------------
ok "$MLQ" --scheduler "$SCHED_ADDR" admin backup "$T/before-upgrade.db"
stop_pid "$SCHED_PID"
pid_alive "$lpid" || fail "the job died with the scheduler"
[ "$CURRENT" -gt 1 ] || fail "no earlier schema version to upgrade from"
OLDER=$((CURRENT - 1))
run "$FIXTURE" --from "$STATE/mlq.db" "$T/older.db" "$OLDER"
assert_eq 0 "$RC" "rewriting the database as schema $OLDER ($ERR)"
assert_eq "$OLDER" "$(sqlite3 "$T/older.db" 'PRAGMA user_version')" "the older database's version"
assert_eq 1 "$(sqlite3 "$T/older.db" "SELECT count(*) FROM attempts WHERE id = '$RA' AND state = 1")" \
    "the running attempt in the older database"
rm -f "$STATE/mlq.db" "$STATE/mlq.db-wal" "$STATE/mlq.db-shm"
mv "$T/older.db" "$STATE/mlq.db"
start_scheduler "$STATE" "${SCHED_ARGS[@]}"
assert_eq "$CURRENT" "$(sqlite3 "$STATE/mlq.db" 'PRAGMA user_version')" "schema after the upgrade"
wait_until "worker_up w1" 20 || fail "the worker did not reconnect to the upgraded scheduler"
sleep 6 # past one lease: an unconfirmed attempt would be LOST by now
assert_eq RUNNING "$(job_state "$R")" "the job after the scheduler upgrade"
assert_eq "$RA" "$(job_field "$R" attempt_id)" "the same attempt after the scheduler upgrade"

touch "$T/go"
expect_rc 0 mlq wait "$R" --timeout 60s
ok mlq status "$R" --json
assert_eq SUCCEEDED "$(json "d['state']" <<<"$OUT")" "the job"
assert_eq 1 "$(json "d['attempt']" <<<"$OUT")" "the job's attempts"
assert_eq 1 "$(json "len(d['attempts'])" <<<"$OUT")" "attempts listed"
assert_eq 1 "$(wc -l <"$T/long.pids")" "the job started once"
assert_eq ok "$(sqlite3 "$STATE/mlq.db" 'PRAGMA integrity_check')" "database after the upgrade"
