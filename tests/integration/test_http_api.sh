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


