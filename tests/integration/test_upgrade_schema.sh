#!/usr/bin/env bash
# The scheduler opens a database made by every earlier schema version
# (mlq-upgrade-fixture: the store's own steps 1..k plus representative rows,
# tests/upgrade/fixture.h): it migrates it to its own version, the file
# passes integrity and foreign key checks, and `mlq list` / `mlq status`
# show every job in its state with its attempts; in the file upgraded from
# the version before, a batch stores its environment once (the jobs
# before it name none) and one submit event that each of its jobs shows. Versions 1..current-1, read
# from the build, so a schema step added later is covered unchanged.
IT_DEADLINE=200
. "$(dirname "$0")/lib.sh" "$@"

FIXTURE=$MLQ_BIN_DIR/mlq-upgrade-fixture
[ -x "$FIXTURE" ] || fail "missing $FIXTURE (build first)"
CURRENT=$("$FIXTURE" --current)
[ "$CURRENT" -gt 1 ] || fail "no earlier schema version"

OK=00000001-0000-4000-8000-000000000001
FAILED=00000002-0000-4000-8000-000000000002
PENDING=00000003-0000-4000-8000-000000000003
RUNNING=00000004-0000-4000-8000-000000000004
CANCELLED=00000005-0000-4000-8000-000000000005
TASK1=00000007-0000-4000-8000-000000000007

for v in $(seq 1 $((CURRENT - 1))); do
    log "schema v$v -> v$CURRENT"
    state=$T/state-v$v
    mkdir -p "$state"
    ok "$FIXTURE" "$state/mlq.db" "$v"
    SCHED_PORT=""
    start_scheduler "$state"
    ok mlq list --json --limit 1000
    list=$OUT
    want='[["'$OK'", "SUCCEEDED"], ["'$FAILED'", "FAILED"], ["'$PENDING'", "PENDING"], ["'$RUNNING'", "RUNNING"], ["'$CANCELLED'", "CANCELLED"]'
    [ "$v" -lt 4 ] || want+=', ["00000006-0000-4000-8000-000000000006", "SUCCEEDED"], ["'$TASK1'", "PENDING"]'
    assert_eq "$want]" "$(json 'sorted([j["id"], j["state"]] for j in d["jobs"])' <<<"$list")" "v$v: jobs"
    ok mlq status "$FAILED" --json
    assert_eq '[["FAILED", 3], ["FAILED", 3]]' \
        "$(json "[[a['state'], a['exit_code']] for a in d['attempts']]" <<<"$OUT")" "v$v: attempts"
    ok mlq status "$RUNNING" --json
    assert_eq w-old "$(json "d['worker']" <<<"$OUT")" "v$v: the running job's worker"
    ok mlq status "00000004" # a prefix, human output
    assert_contains "$OUT" "RUNNING" "v$v: mlq status"
    if [ "$v" -ge 4 ]; then
        ok mlq status 000000aa-0000-4000-8000-0000000000aa --json
        assert_eq '[2, 1, 1]' "$(json "[d['size'], d['counts']['PENDING'], d['counts']['SUCCEEDED']]" <<<"$OUT")" "v$v: the array"
    fi
    if [ "$v" = $((CURRENT - 1)) ]; then # a batch in the upgraded file shares its environment
        printf '%s\n' '{"argv": ["true"]}' '{"argv": ["true"]}' >"$T/batch.jsonl"
        ok mlq submit --from "$T/batch.jsonl" --pool nowhere --export NONE --env A=1
        mapfile -t BIDS <<<"$OUT"
        assert_eq "1 2" "$(sqlite3 "$state/mlq.db" 'SELECT count(*), sum(refs) FROM envs' | tr '|' ' ')" \
            "v$v: the batch's environment stored once"
        assert_eq 2 "$(sqlite3 "$state/mlq.db" 'SELECT count(*) FROM jobs WHERE env_id IS NOT NULL')" \
            "v$v: only the batch's jobs name it"
        assert_eq 1 "$(sqlite3 "$state/mlq.db" 'SELECT count(*) FROM events WHERE batch_last IS NOT NULL')" \
            "v$v: one submit event for the batch"
        ok mlq events --job "${BIDS[1]}" --json
        assert_eq "submit ${BIDS[1]}" "$(json "d['events'][0]['kind'] + ' ' + d['events'][0]['job_id']" <<<"$OUT")" \
            "v$v: the batch's second job shows its submit"
    fi
    stop_pid "$SCHED_PID"
    assert_eq "$CURRENT" "$(sqlite3 "$state/mlq.db" 'PRAGMA user_version')" "v$v: version after the upgrade"
    assert_eq ok "$(sqlite3 "$state/mlq.db" 'PRAGMA integrity_check')" "v$v: integrity"
    assert_eq "" "$(sqlite3 "$state/mlq.db" 'PRAGMA foreign_key_check')" "v$v: foreign keys"
done
