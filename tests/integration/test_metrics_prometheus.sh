#!/usr/bin/env bash
# A real Prometheus (Debian's `prometheus`) scrapes the scheduler's
# GET /metrics with a bearer token from a file, every second; the values it
# stores, read back through its HTTP query API, are what the test did. Also:
# /metrics without a token is 401; promtool lints the text; every expression
# of the Grafana dashboard in deploy/ is valid PromQL over these metrics;
# promtool accepts the scrape configuration in deploy/.
IT_DEADLINE=90
. "$(dirname "$0")/lib.sh" "$@"

PROM=$(command -v prometheus || true)
[ -n "$PROM" ] || fail "prometheus is not installed (deploy/install-deps.sh installs it)"

HTTP_PORT=$(free_port)
start_scheduler "$T/state" --http "127.0.0.1:$HTTP_PORT"
wait_until "port_open $HTTP_PORT" 10 || fail "no HTTP server on port $HTTP_PORT"
start_worker w1 "$T/spool" --cpus 2
ok mlq submit --cpus 0.1 --mem 16M -- true
J1=$OUT
ok mlq submit --cpus 0.1 --mem 16M -- true
J2=$OUT
ok mlq submit --cpus 0.1 --mem 16M -- false
J3=$OUT
wait_state "$J1" SUCCEEDED 30
wait_state "$J2" SUCCEEDED 30
wait_state "$J3" FAILED 30

# A token for Prometheus alone (a plain user: reading metrics needs no admin).
ok "$MLQ" --scheduler "$SCHED_ADDR" admin token create prometheus
TOKEN=$(grep -oE 'mlq_[0-9a-f]{64}' <<<"$OUT" | head -1)
[ -n "$TOKEN" ] || fail "no token in: $OUT"
(umask 077 && printf '%s\n' "$TOKEN" >"$T/prom.token") # as `token create >FILE` writes it
URL=http://127.0.0.1:$HTTP_PORT/metrics
assert_eq 401 "$(curl -s -o /dev/null -w '%{http_code}' "$URL")" "/metrics without a token"
assert_eq 200 "$(curl -s -o "$T/scrape.txt" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$URL")" \
    "/metrics with the token"
assert_contains "$(cat "$T/scrape.txt")" '# TYPE mlq_jobs gauge' "scraped text"
# Prometheus's own linter: names, types, HELP, suffixes, histograms.
promtool check metrics <"$T/scrape.txt" >"$T/logs/lint.log" 2>&1 ||
    fail "promtool check metrics: $(cat "$T/logs/lint.log")"

# The shipped scrape configuration, pointed at this scheduler and token.
sed -e "s#/etc/prometheus/mlq.token#$T/prom.token#" -e "s#127.0.0.1:8080#127.0.0.1:$HTTP_PORT#" \
    -e 's#scrape_interval: 15s#scrape_interval: 1s#' \
    "$MLQ_SRC_DIR/deploy/prometheus/prometheus.yml" >"$T/prometheus.yml"
promtool check config "$T/prometheus.yml" >"$T/logs/promtool.log" 2>&1 ||
    fail "promtool rejects deploy/prometheus/prometheus.yml: $(cat "$T/logs/promtool.log")"

PROM_PORT=$(free_port)
"$PROM" --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/prom-data" \
    --web.listen-address="127.0.0.1:$PROM_PORT" >"$T/logs/prometheus.log" 2>&1 &
IT_PIDS+=("$!")
wait_until "port_open $PROM_PORT" 20 || fail "prometheus did not start"
API=http://127.0.0.1:$PROM_PORT/api/v1

# query EXPR: the value of its one sample ("" when none yet).
query() {
    curl -s -G --data-urlencode "query=$1" "$API/query" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["status"] == "success", d
r = d["data"]["result"]
print(r[0]["value"][1] if len(r) == 1 else "")'
}
wait_until "[ \"\$(query 'mlq_completions_total{outcome=\"SUCCEEDED\"}')\" = 2 ]" 30 ||
    fail "Prometheus never stored 2 successes: $(query 'up') / $(tail -5 "$T/logs/prometheus.log")"
assert_eq 1 "$(query 'up{job="mlq"}')" "scrape target up"
assert_eq 2 "$(query 'mlq_jobs{state="SUCCEEDED"}')" "mlq_jobs SUCCEEDED"
assert_eq 1 "$(query 'mlq_jobs{state="FAILED"}')" "mlq_jobs FAILED"
assert_eq 1 "$(query 'mlq_completions_total{outcome="FAILED"}')" "failures"
assert_eq 3 "$(query 'mlq_submissions_total{outcome="accepted"}')" "submissions"
assert_eq 3 "$(query 'mlq_queue_wait_seconds_count')" "queue wait observations"
assert_eq 1 "$(query 'mlq_workers{state="UP"}')" "workers UP"

# Every expression of the dashboard parses and runs (Grafana's variables
# replaced by what Grafana would put there).
python3 - "$MLQ_SRC_DIR/deploy/grafana/mlq-dashboard.json" >"$T/exprs.txt" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for p in d["panels"]:
    for t in p.get("targets", []):
        print(t["expr"])
PY
[ -s "$T/exprs.txt" ] || fail "no expressions in the dashboard"
while IFS= read -r e; do
    st=$(curl -s -G --data-urlencode "query=$e" "$API/query" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
    assert_eq success "$st" "dashboard expression $e"
done <"$T/exprs.txt"
log "ok"
