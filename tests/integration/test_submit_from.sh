#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# `mlq submit --from`: 1,000 different jobs in one request all run and their
# ids come back in the order of the lines; a bad line 500 of 1,000 fails the
# whole request as FILE:500 with exit 6 and stores nothing; stdin; the
# options as defaults that lines override; an idempotency key for the whole
# request (another batch with it refused); POST /api/v1/jobs:batch with a
# token, all or nothing, the environment its jobs all bring stored once;
# the shared environment stored once and every job running with all of it,
# also after a restart and in a rerun; kill -9 of the scheduler right after
# the reply loses no acknowledged job, and while a batch is being stored
# leaves all of it or none of it; the batch's one stored submit event shows
# in each job's history and in the whole history.
IT_DEADLINE=240
. "$(dirname "$0")/lib.sh" "$@"

command -v curl >/dev/null || fail "curl is required (deploy/install-deps.sh)"
STATE=$T/state
HTTP_PORT=$(free_port)
SCHED_ARGS=(--http "127.0.0.1:$HTTP_PORT")
start_scheduler "$STATE" "${SCHED_ARGS[@]}"
BASE=http://127.0.0.1:$HTTP_PORT
start_worker w1 "$T/spool-w1" --cpus 4 --mem 4G
D=$T/out
mkdir -p "$D"

# count [STATE]: jobs `mlq list` shows (all, or in STATE).
count() {
    local st=()
    [ -z "${1:-}" ] || st=(--state "$1")
    mlq list --limit 10000 --json "${st[@]}" | json "len(d['jobs'])"
}

# lines N FILE [BAD_LINE]: N jobs j-1..j-N writing $D/N, one per line; line
# BAD_LINE (if given) asks for negative CPUs.
lines() {
    python3 - "$@" "$D" <<'PY'
import json, sys
n, path = int(sys.argv[1]), sys.argv[2]
bad = int(sys.argv[3]) if len(sys.argv) > 4 else 0
out = sys.argv[-1]
with open(path, "w") as f:
    for i in range(1, n + 1):
        job = {"argv": ["sh", "-c", 'echo "$MLQ_JOB_ID" > "$0"', "%s/%d" % (out, i)],
               "name": "j-%d" % i}
        if i == bad:
            job["cpus"] = -1
        f.write(json.dumps(job) + "\n")
PY
}

# --- a bad line 500 of 1,000 stores nothing -------------------------------------
lines 1000 "$T/bad.jsonl" 500
expect_rc 6 mlq submit --from "$T/bad.jsonl" --cpus 0.01 --mem 8M
assert_contains "$ERR" "$T/bad.jsonl:500: cpus must be" "the bad line is named"
[ -z "$OUT" ] || fail "ids printed for a refused request: $OUT"
assert_eq 0 "$(count)" "jobs stored after a refused request"

# --- 1,000 jobs in one request: all run, ids in order ---------------------------
lines 1000 "$T/jobs.jsonl"
t0=$(date +%s%N)
ok mlq submit --from "$T/jobs.jsonl" --cpus 0.01 --mem 8M
log "1000 jobs submitted in $((($(date +%s%N) - t0) / 1000000)) ms"
mapfile -t IDS <<<"$OUT"
assert_eq 1000 "${#IDS[@]}" "ids printed"
wait_until "[ \$(count SUCCEEDED) = 1000 ]" 150 || fail "not all 1000 jobs succeeded: $(count SUCCEEDED)"
for i in 1 2 500 999 1000; do # each line's id is the job that ran that line
    assert_eq "${IDS[$((i - 1))]}" "$(cat "$D/$i")" "id of line $i"
done
mlq list --limit 10000 --json >"$T/list.json"
python3 - "$T/list.json" "${IDS[@]}" <<'PY' || fail "ids not in line order"
import json, sys
names = {j["id"]: j["name"] for j in json.load(open(sys.argv[1]))["jobs"]}
for i, job_id in enumerate(sys.argv[2:], 1):
    assert names[job_id] == "j-%d" % i, (i, job_id, names.get(job_id))
PY

# --- one stored submit event for the batch, shown as each job's own ------------
assert_eq 1 "$(sqlite3 "$STATE/mlq.db" "SELECT count(*) FROM events WHERE kind = 'submit'")" \
    "submit rows stored for one batch"
for i in 1 500 1000; do
    ok mlq events --job "${IDS[$((i - 1))]}" --json
    assert_eq "submit ${IDS[$((i - 1))]} admin:$IT_ME" \
        "$(json "' '.join([d['events'][0][k] for k in ('kind', 'job_id', 'actor')])" <<<"$OUT")" \
        "job $i's history starts with its submit"
    assert_eq SUCCEEDED "$(json "d['events'][-1]['to']" <<<"$OUT")" "job $i's history goes on"
done

# --- stdin, --json, defaults that a line overrides ------------------------------
printf '%s\n' '{"argv": ["true"], "name": "s1"}' '' '{"argv": ["true"], "name": "s2", "mem": "32M"}' |
    mlq submit --from - --cpus 0.01 --mem 16M --pool nowhere-pool --json >"$T/stdin.json" ||
    fail "submit --from - failed"
mapfile -t SIDS < <(json "'\n'.join(d['ids'])" <"$T/stdin.json")
assert_eq 2 "${#SIDS[@]}" "ids from stdin"
ok mlq events --limit 2 --json
assert_eq "${SIDS[*]}" "$(json "' '.join(e['job_id'] for e in d['events'] if e['kind'] == 'submit')" <<<"$OUT")" \
    "the whole history shows the submit of each job of a batch"
assert_eq 16777216 "$(job_field "${SIDS[0]}" mem)" "--mem is the default"
assert_eq 33554432 "$(job_field "${SIDS[1]}" mem)" "a line overrides --mem"
assert_eq nowhere-pool "$(job_field "${SIDS[1]}" pool)" "--pool is the default"

# --- an idempotency key covers the whole request --------------------------------
printf '%s\n' '{"argv": ["true"], "name": "k1"}' '{"argv": ["true"], "name": "k2"}' >"$T/keyed.jsonl"
ok mlq submit --from "$T/keyed.jsonl" --pool nowhere-pool --idempotency-key nightly-1
FIRST=$OUT
n=$(count)
ok mlq submit --from "$T/keyed.jsonl" --pool nowhere-pool --idempotency-key nightly-1
assert_eq "$FIRST" "$OUT" "the same ids for the same key"
assert_eq "$n" "$(count)" "nothing more stored for a key seen before"
printf '%s\n' '{"argv": ["true"], "name": "k1"}' '{"argv": ["false"], "name": "k2"}' >"$T/keyed2.jsonl"
expect_rc 6 mlq submit --from "$T/keyed2.jsonl" --pool nowhere-pool --idempotency-key nightly-1
assert_contains "$ERR" "key nightly-1 was used for a different request (job ${FIRST:0:8})" \
    "the key with another batch is refused"
[ -z "$OUT" ] || fail "ids printed for a reused key with another batch: $OUT"
assert_eq "$n" "$(count)" "nothing stored for a reused key with another batch"
expect_rc 6 mlq submit --from "$T/keyed.jsonl" --pool other-pool --idempotency-key nightly-1
ok mlq submit --from "$T/keyed.jsonl" --pool nowhere-pool --idempotency-key nightly-1
assert_eq "$FIRST" "$OUT" "the first batch again still gets its ids"

# --- HTTP batch with a token: all or nothing ------------------------------------
ok "$MLQ" --scheduler "$SCHED_ADDR" admin token create batch-tok --user "$IT_ME"
TOK=$OUT
before=$(count)
post() { # post BODY [TOKEN]: sets CODE and BODY
    local args=(-s -o "$T/resp" -w '%{http_code}' -X POST -H 'Content-Type: application/json')
    [ -z "${2:-}" ] || args+=(-H "Authorization: Bearer $2")
    CODE=$(curl "${args[@]}" --data-binary "$1" "$BASE/api/v1/jobs:batch") || CODE=000
    BODY=$(cat "$T/resp")
}
post '[{"argv": ["true"], "pool": "nowhere-pool"}]'
assert_eq 401 "$CODE" "batch without a token"
post '[{"argv": ["true"], "pool": "nowhere-pool"}, {"argv": ["true"], "cpus": 0}]' "$TOK"
assert_eq 400 "$CODE" "batch with a bad job ($BODY)"
assert_contains "$BODY" "job 2: cpus" "the bad job is named"
assert_eq "$before" "$(count)" "nothing stored by a refused batch"
post '[{"argv": ["true"], "name": "h1", "pool": "nowhere-pool"}, {"argv": ["true"], "name": "h2", "pool": "nowhere-pool"}]' "$TOK"
assert_eq 201 "$CODE" "batch ($BODY)"
H2=$(json "d['ids'][1]" <<<"$BODY")
assert_eq h2 "$(job_field "$H2" name)" "the second id is the second job"
# jobs that all bring the same environment share one stored copy of it
envs=$(sqlite3 "$STATE/mlq.db" 'SELECT count(*) FROM envs')
post '[{"argv": ["true"], "pool": "nowhere-pool", "env": {"HB": "1"}}, {"argv": ["true"], "pool": "nowhere-pool", "env": {"HB": "1"}}]' "$TOK"
assert_eq 201 "$CODE" "batch with one environment ($BODY)"
assert_eq "$((envs + 1)) 2" "$(sqlite3 "$STATE/mlq.db" 'SELECT count(*), (SELECT refs FROM envs ORDER BY id DESC LIMIT 1) FROM envs' | tr '|' ' ')" \
    "the HTTP batch's common environment stored once"

# --- the shared environment: stored once, every job runs with all of it --------
# The lines without entries of their own name the request's one stored copy
# (one envs row, their spec blobs carry none); a line's own entries win over
# it; held over a scheduler restart, the jobs still run with all of it, and
# a rerun too.
python3 - "$D" >"$T/env.jsonl" <<'PY'
import json, sys
d, cmd = sys.argv[1], 'echo "$SHARED_A:$SHARED_B:${OWN-}" > "$0"'
print(json.dumps({"argv": ["sh", "-c", cmd, d + "/env-1"], "name": "env-1"}))
print(json.dumps({"argv": ["sh", "-c", cmd, d + "/env-2"], "name": "env-2",
                  "env": {"SHARED_B": "own", "OWN": "yes"}}))
print(json.dumps({"argv": ["sh", "-c", cmd, d + "/env-3"], "name": "env-3"}))
PY
db() { sqlite3 "$STATE/mlq.db" "$1"; }
envs=$(db 'SELECT count(*) FROM envs')
ok mlq submit --from "$T/env.jsonl" --cpus 0.01 --mem 8M --hold --export NONE \
    --env SHARED_A=a1 --env SHARED_B=b1
mapfile -t EIDS <<<"$OUT"
assert_eq $((envs + 1)) "$(db 'SELECT count(*) FROM envs')" "one stored environment for the batch"
assert_eq 2 "$(db 'SELECT refs FROM envs ORDER BY id DESC LIMIT 1')" "named by the two jobs without entries of their own"
assert_eq "0 1 0" "$(for id in "${EIDS[@]}"; do db "SELECT instr(spec, CAST('SHARED_A=' AS BLOB)) > 0 FROM jobs WHERE id = '$id'"; done | xargs)" \
    "only the job with entries of its own carries an environment in its spec"
stop_pid "$SCHED_PID"
start_scheduler "$STATE" "${SCHED_ARGS[@]}"
ok mlq release "${EIDS[@]}"
wait_until "[ -s $D/env-1 ] && [ -s $D/env-2 ] && [ -s $D/env-3 ]" 90 || fail "the held jobs did not run after the restart"
assert_eq "a1:b1:" "$(cat "$D/env-1")" "job 1 runs with the shared environment"
assert_eq "a1:own:yes" "$(cat "$D/env-2")" "job 2's own entries win"
assert_eq "a1:b1:" "$(cat "$D/env-3")" "job 3 runs with the shared environment"
rm -f "$D/env-3"
ok mlq rerun "${EIDS[2]}"
wait_until "[ -s $D/env-3 ]" 60 || fail "the rerun did not run"
assert_eq "a1:b1:" "$(cat "$D/env-3")" "the rerun runs with the shared environment"

# --- kill -9 right after the reply: every acknowledged job is there -------------
# The worker is not needed from here on (the jobs wait in a pool nobody
# serves): it is stopped first so that it does not see the scheduler die.
stop_pid "$WORKER_PID"
lines 1000 "$T/held.jsonl"
ok mlq submit --from "$T/held.jsonl" --pool nowhere-pool
kill -KILL "$SCHED_PID"
wait "$SCHED_PID" 2>/dev/null || true
printf '%s\n' "$OUT" >"$T/held.ids"
start_scheduler "$STATE" "${SCHED_ARGS[@]}"
mlq list --limit 10000 --json --state PENDING >"$T/after.json"
python3 - "$T/after.json" "$T/held.ids" <<'PY' || fail "acknowledged jobs lost in the crash"
import json, sys
have = {j["id"] for j in json.load(open(sys.argv[1]))["jobs"]}
want = open(sys.argv[2]).read().split()
assert len(want) == 1000 and not set(want) - have, len(set(want) - have)
PY
run sqlite3 "$STATE/mlq.db" 'PRAGMA integrity_check'
assert_eq ok "$OUT" "PRAGMA integrity_check"

# --- kill -9 while a batch is being stored: all of it or none of it -------------
python3 - "$T/crash.jsonl" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(1, 50001):
        f.write(json.dumps({"argv": ["true"], "name": "crash-%d" % i}) + "\n")
PY
# The scheduler's CPU time in ticks: the kill comes once it has spent some
# on the batch (decoded it and begun storing it).
sched_ticks() { awk '{ print $14 + $15 }' "/proc/$SCHED_PID/stat"; }
CPU0=$(sched_ticks)
mlq submit --from "$T/crash.jsonl" --pool nowhere-pool --timeout 60s >"$T/crash.ids" 2>/dev/null &
CLI_PID=$!
wait_until "[ \$(sched_ticks) -gt $((CPU0 + ${CRASH_TICKS:-25})) ]" 20 ||
    fail "the scheduler never started on the batch"
log "killing the scheduler after $(($(sched_ticks) - CPU0)) ticks of CPU on the batch"
kill -KILL "$SCHED_PID"
wait "$SCHED_PID" 2>/dev/null || true
wait "$CLI_PID" 2>/dev/null || true
start_scheduler "$STATE" "${SCHED_ARGS[@]}"
stored=$(sqlite3 "$STATE/mlq.db" "SELECT count(*) FROM jobs WHERE name LIKE 'crash-%'")
log "killed during a 50000-job batch: $stored stored, $(wc -l <"$T/crash.ids") ids printed"
[ "$stored" = 0 ] || [ "$stored" = 50000 ] || fail "a batch stored in part: $stored of 50000"
[ -s "$T/crash.ids" ] && [ "$stored" = 0 ] && fail "ids printed for a batch that was lost"
run sqlite3 "$STATE/mlq.db" 'PRAGMA integrity_check'
assert_eq ok "$OUT" "PRAGMA integrity_check after a kill during a batch"
log "PASS"
