#!/usr/bin/env bash
# HTTP API: every /api/v1 endpoint over real HTTP (curl) against a real
# scheduler and worker: status codes, bodies (the same documents as the
# CLI's --json), bearer tokens (401 without, 403 for another user's job,
# revoked at once), the static dashboard files, and every JSON response
# checked against docs/openapi.yaml (tests/integration/openapi_check.py).
IT_DEADLINE=240
. "$(dirname "$0")/lib.sh" "$@"

command -v curl >/dev/null || fail "curl is required (deploy/install-deps.sh)"
python3 -c 'import yaml' 2>/dev/null || fail "python3-yaml is required (deploy/install-deps.sh)"
CHECK="python3 $MLQ_SRC_DIR/tests/integration/openapi_check.py $MLQ_SRC_DIR/docs/openapi.yaml"

mkdir -p "$T/web/sub"
echo '<!doctype html><title>mlq</title>' >"$T/web/index.html"
echo 'body{}' >"$T/web/sub/app.css"
echo 'secret' >"$T/secret.txt"
HTTP_PORT=$(free_port)
start_scheduler "$T/state" --http "127.0.0.1:$HTTP_PORT" --http-root "$T/web"
BASE=http://127.0.0.1:$HTTP_PORT
wait_until "port_open $HTTP_PORT" 10 || fail "HTTP port not open"
assert_eq "$BASE" "$(cat "$T/state/http.url")" "http.url"
start_worker w1 "$T/spool-w1" --cpus 2 --mem 2G --gpus 0

# hcurl METHOD PATH [TOKEN] [BODY]: sets CODE and BODY (response).
hcurl() {
    local m=$1 p=$2 tok=${3:-} data=${4:-}
    local args=(-s -o "$T/resp" -w '%{http_code}' -X "$m")
    [ -z "$tok" ] || args+=(-H "Authorization: Bearer $tok")
    [ -z "$data" ] || args+=(-H 'Content-Type: application/json' --data-binary "$data")
    CODE=$(curl "${args[@]}" "$BASE$p") || CODE=000
    BODY=$(cat "$T/resp" 2>/dev/null || true)
    rm -f "$T/resp"
}
# expect CODE METHOD PATH [TOKEN] [BODY]
expect() {
    local want=$1
    shift
    hcurl "$@"
    [ "$CODE" = "$want" ] || fail "$1 $2: HTTP $CODE, expected $want: $BODY"
}
# schema NAME: the last body matches components/schemas/NAME (or a path
# response: "GET /api/v1/jobs 200").
schema() { printf '%s' "$BODY" | $CHECK "$@" || fail "response does not match $*: $BODY"; }

# --- tokens ------------------------------------------------------------------
ok "$MLQ" --scheduler "$SCHED_ADDR" admin token create root-tok --admin --user "$IT_ME"
ADMIN=$OUT
[[ "$ADMIN" =~ ^mlq_[0-9a-f]{64}$ ]] || fail "token looks wrong: $ADMIN"
ok "$MLQ" --scheduler "$SCHED_ADDR" admin token create alice-tok --expires 1h --user "$IT_ME"
ALICE=$OUT
ok "$MLQ" --scheduler "$SCHED_ADDR" admin token create bob
BOB=$OUT
ok "$MLQ" --scheduler "$SCHED_ADDR" admin tokens --json
assert_eq 3 "$(json "len(d['tokens'])" <<<"$OUT")" "three tokens"
assert_contains "$OUT" "\"name\": \"alice-tok\"" "tokens list"
if grep -q "$ALICE" <<<"$OUT"; then fail "tokens lists a secret"; fi
run "$MLQ" --scheduler "$SCHED_ADDR" admin token create root-tok
[ "$RC" != 0 ] || fail "a second token named root-tok was made"
assert_contains "$ERR" "exists" "duplicate token name"

# --- auth --------------------------------------------------------------------
expect 401 GET /api/v1/jobs
schema Error
expect 401 GET /api/v1/jobs "mlq_nope"
assert_contains "$BODY" '"code":-13' "401 error code"
expect 401 GET /api/v1/jobs "$(head -c 300 /dev/zero | tr '\0' a)"
expect 200 GET /api/v1/jobs "$ALICE"
schema "GET /api/v1/jobs 200"

# --- static files ------------------------------------------------------------
expect 200 GET /
assert_contains "$BODY" "<title>mlq</title>" "index"
expect 200 GET /sub/app.css
expect 404 GET /../secret.txt
expect 404 GET /sub/../../secret.txt
expect 404 GET /%2e%2e/secret.txt
expect 404 GET /.hidden
expect 405 POST /

# --- submit, one job, list ---------------------------------------------------
expect 201 POST /api/v1/jobs "$ALICE" '{"argv": ["sh", "-c", "echo hello; echo oops >&2"], "name": "h1", "cpus": 0.5, "mem": "64M"}'
schema "POST /api/v1/jobs 201"
J1=$(json "d['id']" <<<"$BODY")
expect 200 GET "/api/v1/jobs/$J1/wait?timeout=30s" "$ALICE"
schema JobStatus
assert_eq SUCCEEDED "$(json "d['state']" <<<"$BODY")" "job 1 state"
# the same document as `mlq status --json` (the CLI runs as the admin key;
# owner and everything else are the same)
ok mlq status "$J1" --json
assert_eq "$OUT" "$BODY" "API and CLI print the same job"
expect 200 GET "/api/v1/jobs/${J1:0:8}" "$ALICE"
schema JobStatus
assert_eq "$IT_ME" "$(json "d['owner']" <<<"$BODY")" "owner from the token"
expect 200 GET "/api/v1/jobs/$J1/logs" "$ALICE"
assert_eq hello "$BODY" "stdout"
expect 200 GET "/api/v1/jobs/$J1/logs?stream=stderr" "$ALICE"
assert_eq oops "$BODY" "stderr"
expect 200 GET "/api/v1/jobs/$J1/logs?offset=2&max=2" "$ALICE"
assert_eq ll "$BODY" "log range"
expect 400 GET "/api/v1/jobs/$J1/logs?stream=both" "$ALICE"
schema Error
# the same rules as the CLI: anyone may see a job, only its owner (or an
# admin) read its logs or cancel it
expect 200 GET "/api/v1/jobs/$J1" "$BOB"
expect 403 GET "/api/v1/jobs/$J1/logs" "$BOB"
schema Error
expect 403 POST "/api/v1/jobs/$J1/cancel" "$BOB"
expect 404 GET "/api/v1/jobs/00000000" "$ALICE"
schema Error
expect 200 GET "/api/v1/jobs?user=$IT_ME&limit=10" "$ADMIN"
schema "GET /api/v1/jobs 200"
assert_eq 1 "$(json "len(d['jobs'])" <<<"$BODY")" "alice's jobs"



# --- submit: every kind of body -----------------------------------------------
expect 400 POST /api/v1/jobs "$ALICE" '{"argv": []}'
schema Error
assert_contains "$BODY" "argv" "empty argv message"
expect 400 POST /api/v1/jobs "$ALICE" '{"argv": ["true"], "colour": "red"}'
assert_contains "$BODY" 'unknown key' "unknown key"
expect 400 POST /api/v1/jobs "$ALICE" '{"argv": ["true"], "cpus": "lots"}'
expect 400 POST /api/v1/jobs "$ALICE" '{"argv": ["true"], "workdir": "relative"}'
assert_contains "$BODY" "absolute" "same message as the CLI for a relative workdir"
expect 400 POST /api/v1/jobs "$ALICE" '{"argv": ["true"'
assert_contains "$BODY" "not valid JSON" "malformed JSON"
# idempotency: the same key gives the same id
expect 201 POST /api/v1/jobs "$ALICE" '{"argv": ["true"], "idempotency_key": "k-1", "mem": 67108864, "cpus": 0.1}'
K1=$(json "d['id']" <<<"$BODY")
expect 201 POST /api/v1/jobs "$ALICE" '{"argv": ["true"], "idempotency_key": "k-1", "mem": 67108864, "cpus": 0.1}'
assert_eq "$K1" "$(json "d['id']" <<<"$BODY")" "idempotent submit"
# an array of submissions, the second depending on the first; a job array
expect 201 POST /api/v1/jobs "$ALICE" "[{\"argv\": [\"sleep\", \"1\"], \"mem\": \"64M\", \"cpus\": 0.1, \"name\": \"first\"}, {\"argv\": [\"true\"], \"mem\": \"64M\", \"cpus\": 0.1, \"after\": [\"$J1\"], \"env\": {\"A\": \"1\"}, \"time_limit\": \"1h\", \"retries\": 1, \"priority\": 5}]"
schema "POST /api/v1/jobs 201"
assert_eq 2 "$(json "len(d)" <<<"$BODY")" "two results"
D2=$(json "d[1]['id']" <<<"$BODY")
expect 201 POST /api/v1/jobs "$ALICE" '{"argv": ["sh", "-c", "echo $MLQ_ARRAY_INDEX"], "array": "0-2", "mem": "64M", "cpus": 0.1}'
assert_eq true "$(json "d['is_array']" <<<"$BODY")" "array flag"
ARR=$(json "d['id']" <<<"$BODY")
expect 200 GET "/api/v1/jobs/$D2/wait?timeout=60s" "$ALICE"
assert_eq SUCCEEDED "$(json "d['state']" <<<"$BODY")" "dependent job"
assert_eq "$J1" "$(json "d['deps'][0]['target']" <<<"$BODY")" "dependency kept"
expect 200 GET "/api/v1/jobs/$ARR/wait?timeout=60s" "$ALICE"
schema Array
assert_eq true "$(json "d['done']" <<<"$BODY")" "array done"

# --- list with a cursor --------------------------------------------------------
expect 200 GET "/api/v1/jobs?limit=2" "$ALICE"
schema "GET /api/v1/jobs 200"
assert_eq 2 "$(json "len(d['jobs'])" <<<"$BODY")" "page size"
NEXT=$(json "d['next']" <<<"$BODY")
[ "$NEXT" != null ] || fail "no next cursor"
FIRST=$(json "[j['id'] for j in d['jobs']]" <<<"$BODY")
expect 200 GET "/api/v1/jobs?limit=2&cursor=$NEXT" "$ALICE"
for id in $(json "' '.join(j['id'] for j in d['jobs'])" <<<"$BODY"); do
    if grep -q "$id" <<<"$FIRST"; then fail "page 2 repeats $id"; fi
done
expect 200 GET "/api/v1/jobs?state=succeeded&name=first" "$ALICE"
assert_eq first "$(json "d['jobs'][0]['name']" <<<"$BODY")" "name filter"
# pool filter: a job in a pool without workers stays PENDING and is the only
# one listed for that pool; the others are in "default"
ok mlq submit --pool nowhere --name pooled --cpus 0.1 --mem 16M -- true
P1=$OUT
expect 200 GET "/api/v1/jobs?pool=nowhere" "$ALICE"
schema "GET /api/v1/jobs 200"
assert_eq "$P1" "$(json "' '.join(j['id'] for j in d['jobs'])" <<<"$BODY")" "pool filter"
assert_eq nowhere "$(json "d['jobs'][0]['pool']" <<<"$BODY")" "job JSON has its pool"
expect 200 GET "/api/v1/jobs?pool=default&limit=1000" "$ALICE"
assert_eq 0 "$(json "len([j for j in d['jobs'] if j['id'] == '$P1' or j['pool'] != 'default'])" <<<"$BODY")" "default pool filter"
assert_eq "$J1" "$(json "[j['id'] for j in d['jobs'] if j['id'] == '$J1'][0]" <<<"$BODY")" "default pool lists job 1"
expect 200 GET "/api/v1/jobs?pool=nosuchpool" "$ALICE"
assert_eq 0 "$(json "len(d['jobs'])" <<<"$BODY")" "empty pool"
ok mlq status "$P1" --json
assert_eq nowhere "$(json "d['pool']" <<<"$OUT")" "CLI JSON has the pool"
ok mlq cancel "$P1"
expect 400 GET "/api/v1/jobs?state=sleepy" "$ALICE"
expect 400 GET "/api/v1/jobs?limit=-3" "$ALICE"

# --- wait timeout, why, cancel, follow ----------------------------------------
expect 201 POST /api/v1/jobs "$ALICE" '{"argv": ["sh", "-c", "for i in 1 2 3; do echo line$i; sleep 1; done"], "mem": "64M", "cpus": 0.1}'
F=$(json "d['id']" <<<"$BODY")
curl -sN -H "Authorization: Bearer $ALICE" "$BASE/api/v1/jobs/$F/logs?follow=1" >"$T/follow.out" &
FOLLOW=$!
expect 201 POST /api/v1/jobs "$ALICE" '{"argv": ["sleep", "300"], "mem": "64M", "cpus": 0.1, "name": "long"}'
L=$(json "d['id']" <<<"$BODY")
expect 408 GET "/api/v1/jobs/$L/wait?timeout=1s" "$ALICE"
schema JobStatus
expect 400 GET "/api/v1/jobs/$L/wait?timeout=forever" "$ALICE"
expect 200 GET "/api/v1/jobs/$L/why" "$ALICE"
schema Why
ok mlq why "$L" --json
assert_eq "$(json "d['job_id']" <<<"$OUT")" "$(json "d['job_id']" <<<"$BODY")" "why: same job"
expect 200 POST "/api/v1/jobs/$L/cancel" "$ALICE"
schema "POST /api/v1/jobs/{id}/cancel 200"
assert_eq true "$(json "d['cancelled']" <<<"$BODY")" "cancelled"
expect 200 GET "/api/v1/jobs/$L/wait?timeout=30s" "$ALICE"
assert_eq CANCELLED "$(json "d['state']" <<<"$BODY")" "cancelled state"
wait_until "! pid_alive $FOLLOW" 30 || fail "log follow did not end with the job"
assert_eq "line1 line2 line3" "$(tr '\n' ' ' <"$T/follow.out" | sed 's/ $//')" "followed log"
# the run manifest of the followed job, as the CLI shows it
expect 200 GET "/api/v1/jobs/$F/wait?timeout=30s" "$ALICE"
expect 200 GET "/api/v1/jobs/$F/manifest" "$ALICE"
schema "GET /api/v1/jobs/{id}/manifest 200"
ok mlq manifest "$F" --json
assert_eq "$(json "d['argv']" <<<"$OUT")" "$(json "d['argv']" <<<"$BODY")" "manifest: same argv"
expect 200 GET "/api/v1/jobs/$F/manifest?attempt=1" "$ALICE"
expect 400 GET "/api/v1/jobs/$F/manifest?attempt=zero" "$ALICE"
expect 404 GET "/api/v1/jobs/$F/manifest?attempt=2" "$ALICE"
expect 403 GET "/api/v1/jobs/$F/manifest" "$BOB" # it holds the job's environment

# --- workers, drain, resume, schedules, events, usage --------------------------
expect 200 GET /api/v1/workers "$ALICE"
schema "GET /api/v1/workers 200"
ok mlq workers --json
assert_eq "$(json "[w['name'] for w in d['workers']]" <<<"$OUT")" \
    "$(json "[w['name'] for w in d['workers']]" <<<"$BODY")" "workers as the CLI"
expect 403 POST /api/v1/workers/w1/drain "$ALICE" '{"reason": "nope"}'
expect 404 POST /api/v1/workers/nosuch/drain "$ADMIN"
expect 200 POST /api/v1/workers/w1/drain "$ADMIN" '{"reason": "maintenance"}'
schema "POST /api/v1/workers/{name}/drain 200"
assert_eq true "$(json "d['draining']" <<<"$BODY")" "drained"
expect 200 POST /api/v1/workers/w1/resume "$ADMIN"
assert_eq false "$(json "d['draining']" <<<"$BODY")" "resumed"
ok mlq schedule add nightly --cron '0 3 * * *' --mem 64M -- true
expect 200 GET /api/v1/schedules "$ALICE"
schema "GET /api/v1/schedules 200"
assert_eq nightly "$(json "d['schedules'][0]['name']" <<<"$BODY")" "schedule"
expect 200 GET "/api/v1/events?job=$J1&limit=50" "$ALICE"
schema "GET /api/v1/events 200"
ok mlq events --job "$J1" --json
assert_eq "$OUT" "$(json "d" <<<"$BODY" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin), indent=2))')" "events as the CLI"
expect 403 GET /api/v1/events "$ALICE"
expect 200 GET /api/v1/events "$ADMIN"
expect 200 GET /api/v1/usage "$ALICE"
schema "GET /api/v1/usage 200"
# the jobs that ran count for their owner (a few CPU-seconds at least)
used=$(json "[u['core_seconds'] for u in d['users'] if u['user'] == '$IT_ME'][0]" <<<"$BODY")
[ "$used" -ge 1 ] || fail "no fair-share use recorded: $BODY"
# usage accounting: the jobs that ran, as `mlq usage --json` prints it
expect 200 GET "/api/v1/accounting?by=user&since=2000-01-01" "$ADMIN"
schema "GET /api/v1/accounting 200"
assert_eq user "$(json "d['by']" <<<"$BODY")" "accounting by"
assert_eq 2000-01-01T00:00:00.000Z "$(json "d['since']" <<<"$BODY")" "accounting since"
[ "$(json "sum(g['succeeded'] for g in d['groups'])" <<<"$BODY")" -ge 1 ] ||
    fail "no succeeded run in the accounting: $BODY"
expect 400 GET "/api/v1/accounting?since=2026-02-30" "$ADMIN"
expect 400 GET "/api/v1/accounting?by=colour" "$ADMIN"
expect 405 POST /api/v1/accounting "$ADMIN"
expect 404 GET /api/v1/nothing "$ALICE"
expect 405 DELETE /api/v1/jobs "$ALICE"
expect 405 GET "/api/v1/jobs/$J1/cancel" "$ALICE"
expect 404 GET "/api/v1/jobs/$J1/nothing" "$ALICE"

# --- revocation and expiry at once ----------------------------------------------
ok "$MLQ" --scheduler "$SCHED_ADDR" admin token rm bob
expect 401 GET /api/v1/jobs "$BOB"
ok "$MLQ" --scheduler "$SCHED_ADDR" admin token create brief --expires 1s
BRIEF=$OUT
expect 200 GET /api/v1/jobs "$BRIEF"
sleep 1.2
expect 401 GET /api/v1/jobs "$BRIEF"
assert_contains "$BODY" expired "expired token"

# --- off loopback: plain HTTP refused; TLS with a certificate ------------------
run "$MLQ_SCHEDULER_BIN" --listen "tcp://127.0.0.1:$(free_port)" --state-dir "$T/state2" \
    --insecure --http "0.0.0.0:$(free_port)"
[ "$RC" != 0 ] || fail "plain HTTP off loopback was accepted"
assert_contains "$ERR" "refusing plain HTTP" "off-loopback refusal"
if command -v openssl >/dev/null; then
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/tls.key" -out "$T/tls.crt" -days 1 \
        -subj /CN=127.0.0.1 >/dev/null 2>&1 || fail "openssl could not make a certificate"
    stop_pid "$SCHED_PID"
    TLS_PORT=$(free_port)
    start_scheduler "$T/state" --http "127.0.0.1:$TLS_PORT" --http-cert "$T/tls.crt" \
        --http-key "$T/tls.key"
    wait_until "port_open $TLS_PORT" 10 || fail "TLS port not open"
    assert_eq "https://127.0.0.1:$TLS_PORT" "$(cat "$T/state/http.url")" "https URL"
    code=$(curl -s -o "$T/resp" -w '%{http_code}' --cacert "$T/tls.crt" \
        -H "Authorization: Bearer $ADMIN" "https://127.0.0.1:$TLS_PORT/api/v1/jobs/$J1")
    assert_eq 200 "$code" "job over TLS (tokens survive a restart)"
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$TLS_PORT/api/v1/jobs") || true
    [ "$code" != 200 ] || fail "plain HTTP answered on the TLS port"
else
    log "openssl missing: TLS part skipped"
fi
