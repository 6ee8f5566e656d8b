#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# `admin backup` while a job runs and submits keep coming, then
# `mlq-scheduler --restore` into a fresh state dir: every job and attempt of
# the backup is back (same `mlq list --json` / `mlq status --json`), the job
# that was running is confirmed by its worker and ends normally, exactly
# once, and jobs submitted after the backup are gone. Also the refusals: an
# existing file, a missing folder, a relative path, a user who is no admin,
# a restore while a scheduler runs, a damaged file or one of a newer schema -- none leaves
# a file behind.
IT_DEADLINE=200
. "$(dirname "$0")/lib.sh" "$@"

STATE=$T/state
BK=$T/backups
# admin ARGS...: `mlq admin` at this test's scheduler (the global
# --scheduler: admin's first word must be its group).
admin() { "$MLQ" --scheduler "$SCHED_ADDR" admin "$@"; }
mkdir -p "$BK"
SCHED_ARGS=(--heartbeat 1s --lease 5s)
start_scheduler "$STATE" "${SCHED_ARGS[@]}"
start_worker w1 "$T/spool-w1" --cpus 2 --mem 1G --gpus 0 --heartbeat 1s

# --- jobs in every state --------------------------------------------------
ok mlq submit --name ok --cpus 0.1 --mem 16M -- true
S=$OUT
ok mlq submit --name bad --cpus 0.1 --mem 16M --retries 1 --retry-backoff 10ms -- sh -c 'exit 3'
F=$OUT
ok mlq submit --name long --cpus 0.5 --mem 32M -- sh -c \
    'echo $$ >> "$1"; i=0; while [ ! -e "$2" ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done' \
    long "$T/long.pids" "$T/go"
R=$OUT
ok mlq submit --name after --cpus 0.1 --mem 16M --after "$R" -- sh -c 'echo x >> "$1"' a "$T/after.ran"
P=$OUT
expect_rc 0 mlq wait "$S" --timeout 30s
expect_rc 1 mlq wait "$F" --timeout 30s
wait_state "$R" RUNNING 30
wait_until "[ -s $T/long.pids ]" 10 || fail "the long job did not start"
lpid=$(head -n1 "$T/long.pids")
assert_eq 2 "$(job_field "$F" attempt)" "the failing job ran twice"
assert_eq PENDING "$(job_state "$P")" "the dependent job"

# --- refusals, before the real backup --------------------------------------
expect_rc 2 admin backup relative.db
expect_rc 6 admin backup "$BK/missing/x.db"
assert_contains "$ERR" "not an existing folder" "backup into a missing folder"
ok "$MLQ" keygen --out "$T/bob.key"
ok admin user add bob --key "$T/bob.key.pub"
expect_rc 5 env MLQ_KEY="$T/bob.key" "$MLQ" --scheduler "$SCHED_ADDR" admin backup "$BK/bob.db"
[ -z "$(ls -A "$BK")" ] || fail "refused backups left files: $(ls -A "$BK")"

# --- backup under load -------------------------------------------------------
# Submits to a pool without workers (they stay PENDING, so their state at
# the backup is known) keep the scheduler writing during the copy.
load() {
    for _ in $(seq 1 40); do
        "$MLQ" submit --scheduler "$SCHED_ADDR" --pool idle --cpus 0.1 --mem 16M -- true \
            >>"$T/load.ids" 2>>"$T/logs/cli.log" || break
    done
}
: >"$T/load.ids"
load &
LOAD=$!
wait_until "[ \$(wc -l <$T/load.ids) -ge 5 ]" 20 || fail "no load"
before_n=$(wc -l <"$T/load.ids")
ok mlq list --json --limit 10000
LIST_BEFORE=$OUT
ok admin backup "$BK/mlq.db" --json
DONE=$OUT
after_n=$(wc -l <"$T/load.ids")
wait "$LOAD" || true
assert_eq ok "$(json "d['integrity']" <<<"$DONE")" "backup integrity"
assert_eq "$(sqlite3 "$STATE/mlq.db" 'PRAGMA user_version')" "$(json "d['schema']" <<<"$DONE")" "backup schema"
assert_eq "$(stat -c %s "$BK/mlq.db")" "$(json "d['size']" <<<"$DONE")" "backup size"
[ "$(json "d['pages']" <<<"$DONE")" -gt 0 ] || fail "backup reports no pages: $DONE"
assert_eq "$BK/mlq.db" "$(json "d['path']" <<<"$DONE")" "backup path"
assert_eq 600 "$(stat -c %a "$BK/mlq.db")" "backup file mode"
assert_eq ok "$(sqlite3 "$BK/mlq.db" 'PRAGMA integrity_check')" "integrity_check of the copy"
assert_eq "mlq.db" "$(ls -A "$BK")" "only the backup in its folder"
log "backup: $DONE"
# a second backup to the same name is refused and leaves the first alone
sum=$(sha256sum <"$BK/mlq.db")
expect_rc 6 admin backup "$BK/mlq.db"
assert_contains "$ERR" "already exists" "backup over an existing file"
assert_eq "$sum" "$(sha256sum <"$BK/mlq.db")" "the first backup after a refused one"
assert_eq "mlq.db" "$(ls -A "$BK")" "no partial file after the refusal"

# jobs submitted after the backup: gone after the restore
ok mlq submit --name late --cpus 0.1 --mem 16M --pool idle -- true
LATE=$OUT

# --- restore -------------------------------------------------------------------
expect_rc 1 "$MLQ_SCHEDULER_BIN" --restore "$BK/mlq.db" --state-dir "$STATE"
assert_contains "$ERR" "a scheduler is running" "restore under a running scheduler"
echo "not a database" >"$T/junk.db"
expect_rc 1 "$MLQ_SCHEDULER_BIN" --restore "$T/junk.db" --state-dir "$T/state2"
cp "$BK/mlq.db" "$T/future.db"
sqlite3 "$T/future.db" 'PRAGMA user_version = 100000'
expect_rc 1 "$MLQ_SCHEDULER_BIN" --restore "$T/future.db" --state-dir "$T/state2"
assert_contains "$ERR" "newer than this mlq-scheduler supports" "restore of a newer schema"
[ ! -e "$T/state2/mlq.db" ] || fail "a refused restore installed a database"

stop_pid "$SCHED_PID"
pid_alive "$lpid" || fail "the running job died with the scheduler"
ok "$MLQ_SCHEDULER_BIN" --restore "$BK/mlq.db" --state-dir "$T/state2"
assert_eq ok "$(sqlite3 "$T/state2/mlq.db" 'PRAGMA integrity_check')" "restored database"
start_scheduler "$T/state2" "${SCHED_ARGS[@]}"

# the fixed jobs: the same listing and histories
pick='sorted([[j[k] for k in ("id", "name", "state", "exit_code", "attempt", "attempt_id", "worker")] for j in d["jobs"] if j["id"] in "'"$S $F $R $P"'".split()])'
ok mlq list --json --limit 10000
LIST_AFTER=$OUT
assert_eq "$(json "$pick" <<<"$LIST_BEFORE")" "$(json "$pick" <<<"$LIST_AFTER")" "mlq list --json after the restore"
for j in "$S" "$F"; do
    assert_eq 1 "$(json "len([x for x in d['jobs'] if x['id'] == '$j'])" <<<"$LIST_AFTER")" "job $j listed"
done
ok mlq status "$F" --json
assert_eq '[["FAILED", 3], ["FAILED", 3]]' \
    "$(json "[[a['state'], a['exit_code']] for a in d['attempts']]" <<<"$OUT")" "attempts of the failing job"
# every job acknowledged before the backup started is there, PENDING
for j in $(head -n "$before_n" "$T/load.ids"); do
    assert_eq PENDING "$(job_state "$j")" "load job $j"
done
# jobs acknowledged during the copy may or may not be there; after it,
# none (the dependent job P counts one; one more for a submit whose reply
# was still on its way into load.ids when the backup answered)
n_after=$(json "len(d['jobs'])" < <(mlq list --json --limit 10000 --state PENDING))
if [ "$n_after" -lt $((before_n + 1)) ] || [ "$n_after" -gt $((after_n + 2)) ]; then
    fail "PENDING jobs after the restore: $n_after, expected $((before_n + 1))..$((after_n + 2))"
fi
expect_rc 4 mlq status "$LATE"

# the running job: confirmed by its worker, ends normally, ran once
wait_until "worker_up w1" 20 || fail "the worker did not come back"
sleep 6 # past one lease: an unconfirmed attempt would be LOST by now
assert_eq RUNNING "$(job_state "$R")" "the long job after the restore"
pid_alive "$lpid" || fail "the running job was killed after the restore"
touch "$T/go"
expect_rc 0 mlq wait "$R" "$P" --timeout 60s
ok mlq status "$R" --json
assert_eq SUCCEEDED "$(json "d['state']" <<<"$OUT")" "the long job"
assert_eq 1 "$(json "d['attempt']" <<<"$OUT")" "the long job's attempts"
assert_eq 1 "$(wc -l <"$T/long.pids")" "the long job started once"
assert_eq 1 "$(wc -l <"$T/after.ran")" "the dependent job ran once"
assert_eq ok "$(sqlite3 "$T/state2/mlq.db" 'PRAGMA integrity_check')" "database at the end"
