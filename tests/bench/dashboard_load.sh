#!/usr/bin/env bash
# Load time of the web dashboard's queue page with a big queue.
#
#     tests/bench/dashboard_load.sh [JOBS]        (default 100000)
#
# Starts a scheduler serving the dashboard on loopback (--http, --http-root
# scheduler/web) and one worker, drains the worker (nothing runs: every job
# stays PENDING in the queue), submits JOBS jobs as arrays of 10,000 tasks
# (`mlq submit --array`), then opens the queue page in a fresh headless
# Chromium three times and times each first render: from navigation start
# (performance.timeOrigin) to the jobs table filled with its first page
# (the page stamps data-first on the table when it has put the rows in).
# Prints the three runs and the median, and the time of the page's one API
# call alone (GET /api/v1/jobs?limit=50) for reference.
#
# Needs the build (build/bin) and Debian's chromium, chromium-driver and
# python3-selenium. Uses tests/integration/lib.sh for daemons, keys, ports
# and cleanup; MLQ_IT_KEEP=1 keeps its temp dir (screenshots in shots/).
JOBS=${1:-100000}
IT_DEADLINE=${IT_DEADLINE:-1800}
. "$(dirname "$0")/../integration/lib.sh" "$@"

PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
"$PY" -c 'import selenium' 2>/dev/null || fail "python3-selenium missing (deploy/install-deps.sh)"
command -v chromedriver >/dev/null || fail "chromium-driver missing (deploy/install-deps.sh)"

HTTP_PORT=$(free_port)
URL=http://127.0.0.1:$HTTP_PORT
start_scheduler "$T/state" --log-level warn --http "127.0.0.1:$HTTP_PORT" \
    --http-root "$MLQ_SRC_DIR/scheduler/web"
wait_until "port_open $HTTP_PORT" 10 || fail "no HTTP on $HTTP_PORT"
start_worker w1 "$T/spool"
mlq drain w1 --reason "dashboard bench: keep the queue full" >/dev/null || fail "drain"

t0=$(date +%s%N)
left=$JOBS
while [ "$left" -gt 0 ]; do
    n=$((left < 10000 ? left : 10000))
    mlq submit --array "0-$((n - 1))" --name bench -- true >/dev/null || fail "submit --array 0-$((n - 1))"
    left=$((left - n))
done
log "submitted $JOBS jobs in $((($(date +%s%N) - t0) / 1000000)) ms"

ok "$MLQ" --scheduler "$SCHED_ADDR" admin token create "$IT_ME" --admin
TOKEN=$(printf '%s\n' "$OUT" | awk 'NF { t = $NF } END { print t }')

# Every job is there and waiting: walk the whole queue through the API's
# cursor (1,000 a page), which also times paging at this size.
walk=$(python3 - "$URL" "$TOKEN" <<'EOF'
import json, sys, time, urllib.parse, urllib.request
url, tok = sys.argv[1], sys.argv[2]
n, pages, cur, t = 0, 0, None, time.perf_counter()
while True:
    q = "limit=1000&state=PENDING" + ("&cursor=" + urllib.parse.quote(cur) if cur else "")
    req = urllib.request.Request(url + "/api/v1/jobs?" + q, headers={"Authorization": "Bearer " + tok})
    d = json.load(urllib.request.urlopen(req, timeout=60))
    n += len(d["jobs"])
    pages += 1
    cur = d["next"]
    if not cur:
        break
print(n, pages, "%.0f" % ((time.perf_counter() - t) * 1000))
EOF
)
read -r pending pages walk_ms <<<"$walk"
assert_eq "$JOBS" "$pending" "PENDING jobs listed through the cursor"
log "walked $pending PENDING jobs in $pages pages of 1000 in $walk_ms ms"

# The API call the page makes first, alone (median of 3, ms).
read -r api_ms usage_ms < <(python3 - "$URL" "$TOKEN" <<'EOF'
import statistics, sys, time, urllib.request
url, tok = sys.argv[1], sys.argv[2]
def median_ms(path):
    runs = []
    for _ in range(3):
        req = urllib.request.Request(url + path, headers={"Authorization": "Bearer " + tok})
        t = time.perf_counter()
        with urllib.request.urlopen(req, timeout=60) as r:
            r.read()
        runs.append((time.perf_counter() - t) * 1000)
    return statistics.median(runs)
print("%.1f %.1f" % (median_ms("/api/v1/jobs?limit=50"), median_ms("/api/v1/usage")))
EOF
)
log "with $JOBS jobs queued: GET /api/v1/jobs?limit=50 median ${api_ms} ms, GET /api/v1/usage median ${usage_ms} ms"

mkdir -p "$T/shots"
"$PY" "$MLQ_SRC_DIR/tests/integration/dashboard_browser.py" loadtime --url "$URL" --token "$TOKEN" \
    --runs 3 --tmp "$T" --shots "$T/shots" >"$T/loadtime.json" || fail "the browser run failed"
cat "$T/loadtime.json"
median=$(json "d['median_ms']" <"$T/loadtime.json")
echo "dashboard_queue_first_render_ms: $median (median of 3, $JOBS jobs queued, first page of 50)"
echo "dashboard_queue_next_page_ms: $(json "d['next_page_median_ms']" <"$T/loadtime.json") (median of 3, click on Older to the rows replaced)"
echo "api_jobs_first_page_ms: $api_ms (median of 3)"
echo "api_usage_ms: $usage_ms (median of 3; the page's counts by state when /metrics is not readable)"
