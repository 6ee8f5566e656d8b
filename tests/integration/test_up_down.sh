#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# mlq up / mlq down: a second `up` on the same state dir is refused, `down`
# stops whatever the pid files name (also a scheduler restarted by hand),
# `down --kill-jobs` leaves no job process behind; --help everywhere.
IT_DEADLINE=200
. "$(dirname "$0")/lib.sh" "$@"

# --- --help on every command and daemon --------------------------------------
for cmd in up down submit status list logs wait cancel workers; do
    expect_rc 0 "$MLQ" "$cmd" --help
    assert_contains "${OUT,,}" usage "mlq $cmd --help"
    assert_contains "$OUT" "$cmd" "mlq $cmd --help names the command"
done
expect_rc 0 "$MLQ" --help
assert_contains "${OUT,,}" usage "mlq --help"
for cmd in up down submit status list logs wait cancel workers; do
    assert_contains "$OUT" "$cmd" "mlq --help lists $cmd"
done
expect_rc 2 "$MLQ"
[ -n "$ERR" ] || fail "mlq without a command says nothing"
for d in "$MLQ_SCHEDULER_BIN" "$MLQ_WORKER_BIN"; do
    expect_rc 0 "$d" --help
    assert_contains "${OUT,,}" usage "$(basename "$d") --help"
    expect_rc 2 "$d" --bogus-option
done

# --- up, then up again on the same state dir ---------------------------------
STATE=$T/state
mlq_up "$STATE" --workers 2 --cpus 1 --mem 512M --gpus 0
FIRST_ADDR=$UP_ADDR
SCHED=$(pidfile_pid "$STATE/scheduler.pid")
pid_alive "$SCHED" || fail "scheduler not running after mlq up"
mapfile -t WPIDS < <(find "$STATE" -name worker.pid -exec awk '{print $1}' {} \;)
assert_eq 2 "${#WPIDS[@]}" "worker pid files"
# workers on one machine: each its own slice of gang rendezvous ports
for w in 1 2; do
    p=$(awk '{print $1}' "$STATE/workers/w$w/worker.pid")
    lo=$((29400 + (w - 1) * 8))
    assert_contains "$(tr '\0' ' ' <"/proc/$p/cmdline")" "--rendezvous-ports $lo-$((lo + 7))" \
        "w$w's rendezvous ports"
done
CFG=$(cat "$MLQ_CONFIG")
# the HTTP API: up printed its URL and an admin token for us
URL=$(cat "$STATE/http.url")
assert_contains "$ERR" "$URL/" "up prints the dashboard URL"
TOKEN=$(tail -n1 <<<"$OUT")
[[ "$TOKEN" =~ ^mlq_[0-9a-f]{64}$ ]] || fail "up printed no token: $OUT"
NW=$(curl -sf -H "Authorization: Bearer $TOKEN" "$URL/api/v1/workers" | json "len(d['workers'])") ||
    fail "the API at $URL did not answer with the token"
assert_eq 2 "$NW" "workers over HTTP"

other=$(free_port)
run "$MLQ" up --workers 1 --listen "tcp://127.0.0.1:$other" --state-dir "$STATE"
[ "$RC" != 0 ] || fail "second mlq up on the same state dir was accepted"
[ -n "$ERR" ] || fail "second mlq up refused without a message"
log "second up refused with exit $RC: $ERR"
assert_eq "$SCHED" "$(pidfile_pid "$STATE/scheduler.pid")" "scheduler.pid after the refused up"
pid_alive "$SCHED" || fail "the refused up stopped the running scheduler"
assert_eq "$CFG" "$(cat "$MLQ_CONFIG")" "client config after the refused up"
port_open "$other" && fail "the refused up left something listening on $other"
# a second scheduler on the same state dir, by hand, is refused too
run timeout 10 "$MLQ_SCHEDULER_BIN" --listen "tcp://127.0.0.1:$other" --state-dir "$STATE"
case "$RC" in 0 | 124) fail "a second scheduler on the same state dir was not refused (exit $RC)" ;; esac
[ -n "$ERR" ] || fail "second scheduler refused without a message"
assert_eq "$SCHED" "$(pidfile_pid "$STATE/scheduler.pid")" "scheduler.pid after the refused scheduler"
pid_alive "$SCHED" || fail "the refused scheduler stopped the running one"

# the cluster still works, found through the config
ok "$MLQ" submit --cpus 0.5 --mem 64M -- sh -c 'echo $$ > "$1"; sleep 300' sleeper "$T/job.pid"
J=$OUT
wait_until "[ -s $T/job.pid ]" 30 || fail "job did not start"
jpid=$(cat "$T/job.pid")
jpgid=$(ps -o pgid= -p "$jpid" | tr -d ' ')

# --- down --kill-jobs: daemons and the job's process group are gone ---------
ok "$MLQ" down --state-dir "$STATE" --kill-jobs
for p in "$SCHED" "${WPIDS[@]}"; do
    wait_until "! pid_alive $p" 15 || fail "daemon $p survived mlq down"
done
wait_until "! pid_alive $jpid" 15 || fail "job survived mlq down --kill-jobs"
ps -e -o pgid= | tr -d ' ' | grep -x "$jpgid" >/dev/null && fail "job process group survived --kill-jobs"
port_open "${FIRST_ADDR##*:}" && fail "scheduler port still open after down"

# --- down stops a scheduler restarted by hand on the same state dir ----------
SCHED_PORT=${FIRST_ADDR##*:}
# with the cluster's own key (the client config is the one `mlq up` wrote)
IT_SECURE=1 start_scheduler "$STATE" --key "$STATE/keys/server.key"
assert_eq "$SCHED_PID" "$(pidfile_pid "$STATE/scheduler.pid")" "pid file of the hand-started scheduler"
ok mlq status "$J" --json
assert_eq "$J" "$(json "d['id']" <<<"$OUT")" "job kept in the state dir across down/up"
ok "$MLQ" down --state-dir "$STATE"
wait_until "! pid_alive $SCHED_PID" 15 || fail "mlq down did not stop the hand-started scheduler"

# --- up again on the same (now stopped) state dir works ---------------------
mlq_up "$STATE" --workers 1 --cpus 1 --mem 512M --gpus 0
assert_contains "$(cat "$MLQ_CONFIG")" "$UP_ADDR" "config rewritten by the new up"
ok "$MLQ" status "$J" --json
assert_eq "$J" "$(json "d['id']" <<<"$OUT")" "job found after the second up"
ok "$MLQ" submit --cpus 0.5 --mem 64M -- true
expect_rc 0 "$MLQ" wait "$OUT" --timeout 30s
SCHED=$(pidfile_pid "$STATE/scheduler.pid")
ok "$MLQ" down --state-dir "$STATE"
wait_until "! pid_alive $SCHED" 15 || fail "scheduler survived the last down"
