#!/usr/bin/env bash
# When will it start: a worker full with a time-limited job; `mlq submit
# --dry-run` of a second job estimates its start at the first one's start
# plus its time limit ("latest"), stores nothing (no job, no event, no
# idempotency key), answers --json with its fields; `mlq why` on the same
# job really submitted gives the same estimate; a job behind it is "not
# before" the end of both; a request that can never fit exits 1 with the
# reason; `mlq list` is unchanged by every dry run, also one over HTTP
# (POST /api/v1/jobs?dry_run=1).
IT_DEADLINE=120
. "$(dirname "$0")/lib.sh" "$@"
command -v curl >/dev/null || fail "curl is required (deploy/install-deps.sh)"
python3 -c 'import yaml' 2>/dev/null || fail "python3-yaml is required (deploy/install-deps.sh)"
CHECK="python3 $MLQ_SRC_DIR/tests/integration/openapi_check.py $MLQ_SRC_DIR/docs/openapi.yaml"

HTTP_PORT=$(free_port)
start_scheduler "$T/state" --http "127.0.0.1:$HTTP_PORT"
wait_until "port_open $HTTP_PORT" 10 || fail "HTTP port not open"
start_worker w1 "$T/spool-w1" --cpus 2 --mem 1G --gpus 2
ok "$MLQ" --scheduler "$SCHED_ADDR" admin token create dry-tok
TOK=$OUT

now_ms() { date +%s%3N; }
LIMIT_MS=600000 # the running job's --time-limit 10m

T0=$(now_ms)
ok mlq submit --cpus 2 --mem 512M --gpus 2 --time-limit 10m -- sleep 300
A=$OUT
wait_state "$A" RUNNING 30
T1=$(now_ms)

ok mlq list --json
LIST_BEFORE=$(json "sorted(j['id'] for j in d['jobs'])" <<<"$OUT")
ok mlq events --json
EVENTS_BEFORE=$(json "len(d['events'])" <<<"$OUT")

# The dry run: the worker is full until A's limit runs out.
ok mlq submit --dry-run --json --cpus 1 --mem 256M --gpus 1 --time-limit 5m \
    --idempotency-key dry-key -- true
DRY=$OUT
assert_eq true "$(json "d['fits_ever']" <<<"$DRY")" "fits_ever of a job that fits w1"
assert_eq '[]' "$(json "d['reasons']" <<<"$DRY")" "reasons of a job that fits"
assert_eq 0 "$(json "d['position']" <<<"$DRY")" "position with nothing pending"
assert_eq null "$(json "d['would_start']" <<<"$DRY")" "would_start on a full worker"
assert_eq null "$(json "d['quota']" <<<"$DRY")" "quota without quotas"
assert_eq latest "$(json "d['estimate']['kind']" <<<"$DRY")" "estimate kind behind a limited job"
AT=$(json "d['estimate']['at_ms']" <<<"$DRY")
[ "$AT" -ge $((T0 + LIMIT_MS - 2000)) ] && [ "$AT" -le $((T1 + LIMIT_MS + 2000)) ] ||
    fail "estimate $AT is not A's start + 10m (A started between $T0 and $T1)"
assert_contains "$(json "d['order']" <<<"$DRY")" "priority" "what the order is based on"

ok mlq submit --dry-run --cpus 1 --mem 256M --gpus 1 --time-limit 5m -- true
assert_contains "$OUT" "fits:" "dry run text"
assert_contains "$OUT" "position: 0" "dry run text position"
assert_contains "$OUT" "estimated start: at the latest" "dry run text estimate"

# An array and a gang may be dry-run too.
ok mlq submit --dry-run --array 0-3 --cpus 1 --mem 128M -- true
expect_rc 1 mlq submit --dry-run --json --nodes 2 --cpus 1 --mem 128M -- true
assert_eq false "$(json "d['fits_ever']" <<<"$OUT")" "a 2-node gang on one worker"

# Never fits: exit 1 with the reason.
expect_rc 1 mlq submit --dry-run --gpus 8 -- true
assert_contains "$OUT" "never fits" "8 GPUs on a 2-GPU cluster"
assert_contains "$OUT" "largest: w1" "the largest worker is named"
expect_rc 1 mlq submit --dry-run --json --require zone=mars -- true
assert_eq false "$(json "d['fits_ever']" <<<"$OUT")" "fits_ever with a label nobody carries"
assert_contains "$(json "d['reasons'][0]" <<<"$OUT")" "carries label zone=mars" "reason of a missing label"
assert_eq null "$(json "d['estimate']['at_ms']" <<<"$OUT")" "no start time when it never fits"

# Over HTTP: the same answer, 200, nothing stored.
CODE=$(curl -s -o "$T/resp" -w '%{http_code}' -X POST -H "Authorization: Bearer $TOK" \
    -H 'Content-Type: application/json' \
    --data-binary '{"argv": ["true"], "cpus": 1, "mem": "256M", "gpus": 1, "time_limit": "5m"}' \
    "http://127.0.0.1:$HTTP_PORT/api/v1/jobs?dry_run=1")
assert_eq 200 "$CODE" "HTTP dry run status ($(cat "$T/resp"))"
$CHECK "POST /api/v1/jobs 200" <"$T/resp" || fail "HTTP dry run does not match the document"
assert_eq "$AT" "$(json "d['estimate']['at_ms']" <"$T/resp")" "HTTP dry run estimate"

# Nothing was stored by any dry run.
ok mlq list --json
assert_eq "$LIST_BEFORE" "$(json "sorted(j['id'] for j in d['jobs'])" <<<"$OUT")" \
    "jobs after dry runs"
ok mlq events --json
assert_eq "$EVENTS_BEFORE" "$(json "len(d['events'])" <<<"$OUT")" "events after dry runs"

# The same job for real: `mlq why` gives the same estimate; the key of the
# dry run was not taken.
ok mlq submit --cpus 1 --mem 256M --gpus 1 --time-limit 5m --idempotency-key dry-key -- true
B=$OUT
[ "$B" != "00000000-0000-0000-0000-000000000000" ] || fail "the dry run's nil id came back"
ok mlq why "$B" --json
assert_eq latest "$(json "d['estimate']['kind']" <<<"$OUT")" "why's estimate kind"
assert_eq "$AT" "$(json "d['estimate']['at_ms']" <<<"$OUT")" "why's estimate equals the dry run's"
ok mlq why "$B"
assert_contains "$OUT" "estimated start: at the latest" "why text estimate"

# Behind B (5m), a third job that needs the whole worker waits for both.
ok mlq submit --dry-run --json --cpus 2 --mem 256M --time-limit 1m -- true
assert_eq 1 "$(json "d['position']" <<<"$OUT")" "position behind B"
assert_eq not_before "$(json "d['estimate']['kind']" <<<"$OUT")" "estimate kind behind B"
assert_eq $((AT + 300000)) "$(json "d['estimate']['at_ms']" <<<"$OUT")" \
    "estimate behind B: A's end plus B's limit"
assert_contains "$(json "d['estimate']['why']" <<<"$OUT")" "behind 1 pending job" "why of not_before"

ok mlq cancel "$A" "$B"
