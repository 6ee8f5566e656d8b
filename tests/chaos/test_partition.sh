#!/usr/bin/env bash
# Chaos part 4, partition: a worker in its own network namespace, linked to
# the scheduler by a veth pair, is cut off while its job runs.
#   - A cut shorter than the lease changes nothing: the worker is never
#     declared lost, the same attempt finishes SUCCEEDED, attempt 1.
#   - A cut longer than the lease: the worker kills its run itself
#     (self-fencing) before the scheduler's retry starts elsewhere, the job
#     runs again on another worker, never twice at once; when the link
#     returns the stale run is gone, its late report changes nothing (the
#     attempt stays LOST), and the job's outcome is that of attempt 2.
#
# The link: the scheduler listens on a 127.201.N.1 address (loopback range,
# the only kind it accepts without CURVE; in the root namespace every
# 127/8 address is local), the namespace's end of the veth pair has
# 127.201.N.2/30, and route_localnet is set on the test's own veth ends only
# so that the kernel routes those addresses over the pair. A cut is the
# namespace's end of the pair going down: nothing arrives either way, and
# nobody is told (no reset). Needs root and `ip`; skipped otherwise.
IT_DEADLINE=${IT_DEADLINE:-240}
# shellcheck disable=SC2034 # read by lib.sh
CHAOS_NEEDS="root netns"
# shellcheck source=tests/chaos/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

HB=1 LEASE=4 GRACE=1 SLACK=4
SHORT_CUT=2             # < LEASE - HB: at most 3 s without a heartbeat
LONG_CUT=$((LEASE + 7)) # the retry runs while the link is still down
BOUND=$((LEASE + GRACE + 2 * HB + SLACK))
STATE=$T/state
STAMPS=$T/stamps
mkdir -p "$STAMPS"
: >"$T/acked"
: >"$T/expect"

# --- the namespace and the link ----------------------------------------------
NS=mlqchaos$$
VR=mlqr$$ # root namespace end
VN=mlqn$$ # namespace end
for _ in $(seq 1 20); do
    SUB=127.201.$((RANDOM % 250 + 1))
    [ -z "$(ip -4 addr show to "$SUB.0/30")" ] && break
done
HOST=$SUB.1
ip netns add "$NS" || fail "ip netns add"
CHAOS_NETNS+=("$NS")
chaos_on_exit "ip netns del $NS 2>/dev/null"
ip link add "$VR" type veth peer name "$VN" || fail "ip link add veth"
chaos_on_exit "ip link del $VR 2>/dev/null"
ip link set "$VN" netns "$NS"
ip addr add "$HOST/30" dev "$VR"
sysctl -qw "net.ipv4.conf.$VR.route_localnet=1"
ip link set "$VR" up
nsx() { ip netns exec "$NS" "$@"; }
nsx sysctl -qw net.ipv4.conf.all.route_localnet=1
nsx sysctl -qw "net.ipv4.conf.$VN.route_localnet=1"
nsx ip addr add "$SUB.2/30" dev "$VN"
nsx ip link set "$VN" up
link() { nsx ip link set "$VN" "$1"; }
log "namespace $NS: $SUB.2 <-> $HOST ($VN <-> $VR)"

# --- the scheduler, on the veth address ----------------------------------------
host_port_open() {
    python3 -c '
import socket, sys
s = socket.socket()
s.settimeout(0.5)
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
except OSError:
    sys.exit(1)
' "$HOST" "$1"
}
SCHED_PORT=$(free_port)
SCHED_ADDR=tcp://$HOST:$SCHED_PORT
"$MLQ_SCHEDULER_BIN" --listen "$SCHED_ADDR" --state-dir "$STATE" --key "$IT_KEYS/server.key" \
    --authorize "admin:$IT_ME:$IT_KEYS/admin.key.pub" --allow-root-jobs --heartbeat "${HB}s" \
    --lease "${LEASE}s" --kill-grace "${GRACE}s" >>"$T/logs/scheduler.log" 2>&1 &
SCHED_PID=$!
IT_PIDS+=("$SCHED_PID")
if ! wait_until "host_port_open $SCHED_PORT || ! pid_alive $SCHED_PID" 15 || ! pid_alive "$SCHED_PID"; then
    fail "scheduler did not start on $SCHED_ADDR"
fi
nsx python3 -c '
import socket, sys
socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3).close()
' "$HOST" "$SCHED_PORT" || fail "the namespace does not reach $SCHED_ADDR"

# The partitioned worker, wp, in the namespace (`ip netns exec` execs it, so
# the pid is the worker's).
worker_keys wp
ip netns exec "$NS" "$MLQ_WORKER_BIN" --scheduler "$SCHED_ADDR" --name wp --spool "$T/spool-wp" \
    "${IT_WORKER_KEYS[@]}" --cpus 2 --mem 2G --gpus 0 --heartbeat "${HB}s" \
    >>"$T/logs/worker-wp.log" 2>&1 &
WP=$!
IT_PIDS+=("$WP")
wait_until "worker_up wp || ! pid_alive $WP" 15 || true
worker_up wp || fail "worker wp (in $NS) not UP"

worker_state() {
    mlq workers --json | json "[w['state'] for w in d['workers'] if w['name'] == '$1'][0]"
}
lost_events() { sql "SELECT count(*) FROM events WHERE kind = 'worker_lost' AND worker = 'wp'"; }
run_pid() { awk -v a="$2" '$1 == "START" && $2 == a { print $3 }' "$STAMPS/$1" | tail -n 1; }
submit_job() { # submit_job NAME DURATION: sets J (DURATION: see job.py)
    ok mlq submit --name "$1" --cpus 1 --mem 64M -- python3 -S "$CHAOS_JOB" "$STAMPS" "$2" ok 0
    J=$OUT
    echo "$1 $J" >>"$T/acked"
    wait_state "$J" RUNNING 30
    wait_until "[ -s $STAMPS/$J ]" 10 || fail "job $1 did not start"
    assert_eq wp "$(job_field "$J" worker)" "job $1's worker"
}

# --- a cut shorter than the lease -------------------------------------------------
submit_job short "go:$T/go-short"
S=$J
link down
log "link cut for ${SHORT_CUT} s"
sleep "$SHORT_CUT"
st=$(worker_state wp)
link up
assert_eq UP "$st" "wp at the end of a ${SHORT_CUT} s cut"
# Past the lease since the cut began, the run is still there.
sleep "$LEASE"
pid_alive "$(run_pid "$S" 1)" || fail "the run died after a short cut"
touch "$T/go-short"
expect_rc 0 mlq wait "$S" --timeout 30s
assert_eq 1 "$(job_field "$S" attempt)" "job after a short cut: attempts"
assert_eq 0 "$(lost_events)" "worker_lost events after a short cut"
echo "short SUCCEEDED 0 1" >>"$T/expect"

# --- a cut longer than the lease ----------------------------------------------------
submit_job long "go:$T/go-long"
L=$J
P1=$(run_pid "$L" 1)
start_worker w2 "$T/spool-w2" --cpus 2 --mem 2G --gpus 0 --heartbeat "${HB}s"
t0=$(now_ms)
link down
log "link cut for ${LONG_CUT} s"
# The worker fences itself: its run dies by lease + kill grace (+ slack).
wait_until "! pid_alive $P1" $((LEASE + GRACE + 3)) ||
    fail "wp did not kill its run $P1 within $((LEASE + GRACE + 3)) s of losing the scheduler"
FENCE_MS=$(($(now_ms) - t0))
log "wp's run gone $(secs "$FENCE_MS") s into the cut"
wait_until "grep -q '^START 2 ' $STAMPS/$L" $((BOUND - ($(now_ms) - t0) / 1000)) ||
    fail "job not run again within ${BOUND} s of the cut ($(job_state "$L"))"
REC_MS=$(($(now_ms) - t0))
assert_eq w2 "$(job_field "$L" worker)" "the retry's worker"
assert_eq LOST "$(worker_state wp)" "wp during the long cut"
A1=$(sql "SELECT id FROM attempts WHERE job_id = '$L' AND num = 1")
left=$((LONG_CUT * 1000 - ($(now_ms) - t0)))
[ "$left" -le 0 ] || sleep "$(secs "$left")"
link up
log "link back"

# wp comes back: its stale run stays dead, nothing of it is left in the
# namespace but the daemon, its late report changes nothing.
wait_until "[ \"\$(worker_state wp)\" = UP ]" 20 || fail "wp not UP after the link returned"
# (The worker keeps one standby shim while idle: a child of its own.)
others_in_ns() {
    local p
    for p in $(ip netns pids "$NS"); do
        [ "$p" = "$WP" ] && continue
        grep -qa -- --standby "/proc/$p/cmdline" 2>/dev/null &&
            [ "$(awk '/^PPid:/ {print $2}' "/proc/$p/status" 2>/dev/null)" = "$WP" ] && continue
        echo "$p $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
    done
}
wait_until "[ -z \"\$(others_in_ns)\" ]" 10 ||
    fail "processes left in $NS besides the worker and its standby shim: $(others_in_ns)"
[ "$(ip netns pids "$NS" | wc -l)" -le 2 ] ||
    fail "more than one standby shim in $NS: $(ip netns pids "$NS" | paste -sd' ')"
touch "$T/go-long"
expect_rc 0 mlq wait "$L" --timeout 30s
ok mlq status "$L" --json
assert_eq 2 "$(json "d['attempt']" <<<"$OUT")" "attempts of the job cut off"
assert_eq 1 "$(json "d.get('node_failures')" <<<"$OUT")" "node failures of the job cut off"
assert_eq '["LOST", "SUCCEEDED"]' "$(json "[a['state'] for a in d.get('attempts', [])]" <<<"$OUT")" \
    "attempt states of the job cut off"
assert_eq 6 "$(sql "SELECT state FROM attempts WHERE id = '$A1'")" \
    "attempt 1 stays LOST (6) after wp's late report"
assert_eq 1 "$(sql "SELECT count(*) FROM events WHERE job_id = '$L' AND kind = 'state'
    AND to_state IN ('SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT')")" "terminal state events"
grep -rqs 'self-fenced' "$T/logs/worker-wp.log" "$T/spool-wp" ||
    fail "wp's log and spool do not say it fenced itself"
echo "long SUCCEEDED 0 2" >>"$T/expect"

integrity
run python3 "$CHAOS_CHECK" --db "$STATE/mlq.db" --stamps "$STAMPS" --expect "$T/expect" --acked "$T/acked"
printf '%s\n' "$ERR" >&2
[ "$RC" = 0 ] || fail "outcomes are wrong ($OUT)"
summary partition "$OUT cuts=2 short_cut=${SHORT_CUT}s long_cut=${LONG_CUT}s" \
    "self_fence=$(secs "$FENCE_MS")s recovery=$(secs "$REC_MS")s bound=${BOUND}s"
