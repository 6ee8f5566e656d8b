#!/usr/bin/env bash
# The web dashboard in a real browser: headless Chromium (Debian's chromium,
# chromium-driver, python3-selenium) against a scheduler serving the page and
# the API on loopback, with one worker. dashboard_browser.py logs in through
# the page (a wrong token first), submits a job through the API, watches it
# go from PENDING/RUNNING to SUCCEEDED on the queue page, opens it and reads
# its log, checks that markup in a job name stays text, follows another job's
# log while it runs, cancels a job that cannot start from its page, opens an
# array, sees the worker's GPUs and a drain's reason, visits usage and
# schedules, logs out;
# then logs in as a plain user, whose cancel of another's job is refused,
# and whose token, revoked while the page is open, sends it back to login.
# Last, what a new user does: `mlq up`, open the URL it prints, log in with
# the token it prints, see the queue and the worker.
# Screenshots of every page go to $T/shots (the test's temp dir, never the
# repository); MLQ_IT_KEEP=1 keeps them.
IT_DEADLINE=120
. "$(dirname "$0")/lib.sh" "$@"

# Debian's python3-selenium is installed for the system python, which need
# not be the first python3 on PATH.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
missing=""
command -v chromium >/dev/null || missing+=" chromium"
command -v chromedriver >/dev/null || missing+=" chromium-driver"
"$PY" -c 'import selenium' 2>/dev/null || missing+=" python3-selenium"
# Not root: skipped; as root (CI) a missing browser fails the test.
[ -z "$missing" ] || it_skip "missing Debian packages:$missing (deploy/install-deps.sh installs them)"

HTTP_PORT=$(free_port)
URL=http://127.0.0.1:$HTTP_PORT
start_scheduler "$T/state" --http "127.0.0.1:$HTTP_PORT" --http-root "$MLQ_SRC_DIR/scheduler/web"
wait_until "port_open $HTTP_PORT" 10 || fail "the scheduler does not serve HTTP on $HTTP_PORT"
# Two fake GPUs: the workers page shows each, with no utilisation (none read).
start_worker w1 "$T/spool" --cpus 2 --gpus 2

# An admin token for the user running the test (jobs run as their owner).
ok "$MLQ" --scheduler "$SCHED_ADDR" admin token create "$IT_ME" --admin
TOKEN=$(printf '%s\n' "$OUT" | awk 'NF { t = $NF } END { print t }')
[ -n "$TOKEN" ] || fail "no token in: $OUT"
# A plain user's token, to check that the page gets no more rights than the
# API gives (cancelling someone else's job is refused).
ok "$MLQ" --scheduler "$SCHED_ADDR" admin token create dash-user
USER_TOKEN=$(printf '%s\n' "$OUT" | awk 'NF { t = $NF } END { print t }')

# The page itself needs no token; the data does.
# http_get URL OUTFILE: prints the status code, the body goes to OUTFILE.
http_get() {
    python3 - "$1" "$2" <<'PYEOF'
import sys, urllib.request, urllib.error
try:
    with urllib.request.urlopen(sys.argv[1], timeout=10) as r:
        code, body = r.status, r.read()
except urllib.error.HTTPError as e:
    code, body = e.code, e.read()
open(sys.argv[2], "wb").write(body)
print(code)
PYEOF
}
code=$(http_get "$URL/" "$T/index.html")
assert_eq 200 "$code" "GET / status"
assert_contains "$(cat "$T/index.html")" 'src="app.js"' "index.html"
code=$(http_get "$URL/api/v1/jobs" "$T/noauth.json")
assert_eq 401 "$code" "GET /api/v1/jobs without a token"

# A schedule, so that its page has a row with its next fires.
ok mlq schedule add nightly --cron '0 3 * * *' -- true

mkdir -p "$T/shots"
start=$(date +%s)
"$PY" "$MLQ_SRC_DIR/tests/integration/dashboard_browser.py" check --url "$URL" --token "$TOKEN" \
    --user-token "$USER_TOKEN" \
    --revoke-cmd "'$MLQ' --scheduler '$SCHED_ADDR' admin token rm dash-user" --shots "$T/shots" --tmp "$T" --worker w1 --gpus 2 --schedule nightly 2>&1 | tee "$T/logs/browser.log" >&2 ||
    fail "the browser check failed (screenshots in $T/shots)"
grep -q 'dashboard check passed' "$T/logs/browser.log" || fail "the browser check did not finish"
log "browser check took $(($(date +%s) - start)) s"

# The screenshots are there, and nowhere in the source tree.
n=$(find "$T/shots" -name '*.png' -size +1k | wc -l)
[ "$n" -ge 9 ] || fail "expected at least 9 screenshots, got $n"
[ -z "$(find "$MLQ_SRC_DIR" -name '*.png' -newer "$T/index.html" -not -path '*/build/*' 2>/dev/null)" ] ||
    fail "screenshots were written into the source tree"
log "screenshots: $T/shots (kept with MLQ_IT_KEEP=1)"

# `mlq up`: the URL (stderr) and the admin token (stdout) it prints are
# enough to get into the dashboard.
mlq_up "$T/up"
UP_URL=$(printf '%s\n' "$ERR" | grep -o 'http://127\.0\.0\.1:[0-9]*/' | head -n 1)
UP_TOKEN=$(printf '%s\n' "$OUT" | awk 'NF { t = $NF } END { print t }')
{ [ -n "$UP_URL" ] && [ -n "$UP_TOKEN" ]; } || fail "mlq up printed no dashboard URL or token: $ERR / $OUT"
"$PY" "$MLQ_SRC_DIR/tests/integration/dashboard_browser.py" login --url "$UP_URL" --token "$UP_TOKEN" \
    --shots "$T/shots" --tmp "$T" 2>&1 | tee -a "$T/logs/browser.log" >&2 ||
    fail "could not log in to the dashboard of mlq up"
ok "$MLQ" down --state-dir "$T/up"
