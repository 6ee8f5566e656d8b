#!/usr/bin/env bash
# Gang jobs across hosts with real network separation: the scheduler and four
# workers, each in its own network namespace (deploy/multihost/netns-cluster.sh;
# w1 to w3 offer 2 fake GPUs, w4 one). The ranks of each gang run
# tests/integration/gang_allreduce.py, which rendezvouses at
# MLQ_MASTER_ADDR:MLQ_MASTER_PORT over the cluster's network and stamps its
# runs (CLOCK_MONOTONIC, shared by every namespace) into a folder that every
# host sees (namespaces share the file system).
#   (a) a gang of 3 all-reduces: every rank gets the same sum, the
#       environment (MLQ_NNODES, NODE_RANK, WORLD_SIZE, MASTER_ADDR, the
#       hostfile) is right, the ranks ran on three distinct hosts (the
#       addresses their rendezvous connections had), and each node's output
#       is read with `mlq logs --node K` and `--all`;
#   (b) rank 2 exits 1: the others, sleeping, are stopped (their stamps show
#       SIGTERM), the gang is retried as one attempt (--retries 1), then FAILED;
#   (c) one node's worker daemon SIGKILLed and its host cut off: its rank
#       fences itself when the lease runs out, the others are stopped, the
#       gang runs again on three hosts that are up, and no rank of the new
#       attempt started before every rank of the old one had ended;
#   (d) gangs that cannot fit (4 nodes with 2 GPUs: w4 has 1; 5 nodes on 4
#       workers) stay pending and `mlq why` says how many nodes fit and what
#       the others lack;
#   (e) `mlq cancel` and a time limit stop every rank, on every host;
#   (f) every rendezvous port of every host held by another process: rank 0
#       cannot start ("rendezvous port P is in use"), the gang is retried as
#       one attempt and FAILED, no rank got through the rendezvous (one that
#       began before rank 0's check failed was stopped);
#   and (c) ends with the killed worker started again: the job stays done
#   after its stale part is reported, and the worker holds nothing.
# Root only (namespaces); everything is deleted on exit, also on failure.
IT_DEADLINE=150
. "$(dirname "$0")/lib.sh" "$@"

# The jobs run as `nobody`: the script and the stamp folder must be
# reachable for that user.
chmod 711 "$T"
SHARE=$T/share
S=$SHARE/stamps
mkdir -p "$S"
chmod 755 "$SHARE"
chmod 1777 "$S"
install -m 644 "$MLQ_SRC_DIR/tests/integration/gang_allreduce.py" \
    "$MLQ_SRC_DIR/tests/integration/jobstamp.py" "$SHARE/"
RANK=(python3 -S "$SHARE/gang_allreduce.py" "$S")

export MLQ_NETNS_HEARTBEAT=1s MLQ_NETNS_LEASE=3s MLQ_NETNS_WORKERS=4 MLQ_NETNS_GPUS=2,2,2,1
netns_cluster_up

state_of() { user status "$1" --json | json "d['state']"; }
# rank_json JOB ATTEMPT RANK EXPR: EXPR on what that rank wrote (d).
rank_json() { json "$4" <"$S/$1.$2.$3.json"; }
# stamps JOB ATTEMPT KIND: the stamp lines of one kind for one attempt.
stamps() { grep "^$3 $2 " "$S/$1" 2>/dev/null || true; }

# ---------------------------------------------------------------- (a)
log "(a) a gang of 3 all-reduces across three hosts"
ok user submit --name allreduce --nodes 3 --gpus 1 --workdir / -- "${RANK[@]}" reduce
A=$OUT
ok user wait "$A" --timeout 30s
assert_eq SUCCEEDED "$(state_of "$A")" "state of the all-reduce gang"
ok user status "$A" --json
ST=$OUT
assert_eq 3 "$(json "d['nodes']" <<<"$ST")" "nodes of $A in mlq status --json"
assert_eq 3 "$(json "len(d['parts'])" <<<"$ST")" "parts of $A in mlq status --json"
assert_eq 3 "$(json "len(set(p['worker'] for p in d['parts']))" <<<"$ST")" "distinct workers of $A"
HOSTS=()
for r in 0 1 2; do
    [ -s "$S/$A.1.$r.json" ] || fail "rank $r of $A wrote nothing ($(cat "$S/$A" 2>&1))"
    assert_eq 60 "$(rank_json "$A" 1 $r "d['sum']")" "sum seen by rank $r (10 + 20 + 30)"
    assert_eq 3 "$(rank_json "$A" 1 $r "d['env']['MLQ_NNODES']")" "MLQ_NNODES of rank $r"
    assert_eq $r "$(rank_json "$A" 1 $r "d['env']['MLQ_NODE_RANK']")" "MLQ_NODE_RANK of rank $r"
    assert_eq $r "$(rank_json "$A" 1 $r "d['env']['NODE_RANK']")" "NODE_RANK of rank $r"
    assert_eq 3 "$(rank_json "$A" 1 $r "d['env']['WORLD_SIZE']")" "WORLD_SIZE of rank $r (3 nodes x 1 GPU)"
    assert_eq 1 "$(rank_json "$A" 1 $r "d['env']['MLQ_ATTEMPT']")" "MLQ_ATTEMPT of rank $r"
    w=$(rank_json "$A" 1 $r "d['env']['MLQ_WORKER']")
    addr=$(rank_json "$A" 1 $r "d['local_addr']")
    # The address its end of the rendezvous connection had is the one of
    # the host that mlq says ran it, and of the part in mlq status.
    assert_eq "$(addr_of "$w")" "$addr" "address rank $r used (it ran on $w)"
    assert_eq "$w" "$(json "[p['worker'] for p in d['parts'] if p['rank'] == $r][0]" <<<"$ST")" \
        "worker of part $r in mlq status"
    assert_eq "$addr" "$(json "[p['addr'] for p in d['parts'] if p['rank'] == $r][0]" <<<"$ST")" \
        "address of part $r in mlq status"
    HOSTS+=("$addr")
done
assert_eq 3 "$(printf '%s\n' "${HOSTS[@]}" | sort -u | wc -l)" "distinct hosts of the ranks (${HOSTS[*]})"
EXPECT_HOSTFILE=$(printf '"%s slots=1", ' "${HOSTS[@]}")
for r in 0 1 2; do
    assert_eq "${HOSTS[0]}" "$(rank_json "$A" 1 $r "d['env']['MLQ_MASTER_ADDR']")" "MLQ_MASTER_ADDR of rank $r"
    assert_eq "${HOSTS[0]}" "$(rank_json "$A" 1 $r "d['env']['MASTER_ADDR']")" "MASTER_ADDR of rank $r"
    assert_eq "$(rank_json "$A" 1 0 "d['env']['MLQ_MASTER_PORT']")" \
        "$(rank_json "$A" 1 $r "d['env']['MASTER_PORT']")" "MASTER_PORT of rank $r"
    assert_eq "[${EXPECT_HOSTFILE%, }]" "$(rank_json "$A" 1 $r "d['hostfile']")" "hostfile of rank $r"
done
# Each node's output, read from the scheduler's host.
for r in 0 2; do
    ok user logs "$A" --node $r
    assert_eq "rank $r sum 60" "$OUT" "mlq logs $A --node $r"
done
ok user logs "$A" --all
assert_eq "[0] rank 0 sum 60|[1] rank 1 sum 60|[2] rank 2 sum 60" "$(sort <<<"$OUT" | paste -sd '|')" \
    "mlq logs $A --all"

# ---------------------------------------------------------------- (b)
log "(b) rank 2 exits 1: the others are stopped, one retry as a whole, FAILED"
ok user submit --name rank2fails --nodes 3 --retries 1 --retry-backoff 200ms --workdir / -- \
    "${RANK[@]}" fail:2
B=$OUT
run user wait "$B" --timeout 40s
assert_eq 1 "$RC" "mlq wait on the failing gang (stderr: $ERR)"
ok user status "$B" --json
ST=$OUT
assert_eq FAILED "$(json "d['state']" <<<"$ST")" "state of $B"
assert_eq 2 "$(json "d['attempt']" <<<"$ST")" "attempts of $B (one retry)"
assert_contains "$(json "d.get('detail') or d.get('reason') or ''" <<<"$ST")" "node 2" \
    "what $B's outcome names"
for att in 1 2; do
    assert_eq 3 "$(stamps "$B" $att START | wc -l)" "ranks started in attempt $att of $B"
    stamps "$B" $att END | grep -q "^END $att 2 [0-9]* [0-9]* 1\$" ||
        fail "rank 2 of attempt $att did not exit 1: $(cat "$S/$B")"
    for r in 0 1; do
        stamps "$B" $att TERM | grep -q "^TERM $att $r " ||
            fail "rank $r of attempt $att was not stopped with SIGTERM: $(cat "$S/$B")"
    done
done
# The retry began only once every rank of the first attempt had ended.
python3 - "$S/$B" <<'EOF' || fail "attempts of $B overlap: $(cat "$S/$B")"
import sys
end1 = max(int(l.split()[4]) for l in open(sys.argv[1]) if l.split()[0] in ("END", "TERM") and l.split()[1] == "1")
start2 = min(int(l.split()[4]) for l in open(sys.argv[1]) if l.split()[0] == "START" and l.split()[1] == "2")
sys.exit(0 if start2 > end1 else 1)
EOF

# ---------------------------------------------------------------- (d)
log "(d) gangs that cannot fit wait, and mlq why says why"
ok user submit --name toowide --nodes 4 --gpus 2 --workdir / -- "${RANK[@]}" reduce
D1=$OUT
ok user submit --name toomany --nodes 5 --workdir / -- "${RANK[@]}" reduce
D2=$OUT
sleep 2
assert_eq PENDING "$(state_of "$D1")" "state of a gang of 4 x 2 GPUs (w4 has 1)"
assert_eq PENDING "$(state_of "$D2")" "state of a gang of 5 on 4 workers"
ok user why "$D1"
WHY1=$OUT
log "why $D1: $WHY1"
assert_contains "$WHY1" "4 nodes" "mlq why of a gang of 4"
assert_contains "$WHY1" "3 fit" "mlq why: how many nodes fit now"
assert_contains "$WHY1" "w4 has 1" "mlq why: what the node that does not fit lacks"
ok user why "$D2"
WHY2=$OUT
log "why $D2: $WHY2"
assert_contains "$WHY2" "5 nodes" "mlq why of a gang of 5"
assert_contains "$WHY2" "4 fit" "mlq why: all 4 workers fit now, still short of 5"
ok user cancel "$D1" "$D2"
assert_eq CANCELLED "$(state_of "$D1")" "state of $D1 after cancel"
if [ -e "$S/$D1" ] || [ -e "$S/$D2" ]; then fail "a gang that could not fit ran a rank"; fi

# ---------------------------------------------------------------- (e)
log "(e) cancel and time limit stop every rank on every host"
ok user submit --name tocancel --nodes 3 --mem 128M --workdir / -- "${RANK[@]}" hold1
E1=$OUT
ok user submit --name timelimit --nodes 3 --mem 128M --time-limit 4s --workdir / -- "${RANK[@]}" hold1
E2=$OUT
for j in "$E1" "$E2"; do
    wait_until "[ -s $S/$j.1.0.json ] && [ -s $S/$j.1.1.json ] && [ -s $S/$j.1.2.json ]" 20 ||
        fail "gang $j did not rendezvous ($(cat "$S/$j" 2>&1))"
done
ok user cancel "$E1"
wait_until "[ \"\$(stamps $E1 1 TERM | wc -l)\" = 3 ]" 10 ||
    fail "cancel did not stop every rank of $E1: $(cat "$S/$E1")"
assert_eq CANCELLED "$(state_of "$E1")" "state of $E1 after cancel"
wait_until "[ \"\$(state_of $E2)\" = TIMED_OUT ]" 15 || fail "gang $E2 not TIMED_OUT: $(state_of "$E2")"
assert_eq 3 "$(stamps "$E2" 1 TERM | wc -l)" "ranks of $E2 stopped at its time limit ($(cat "$S/$E2"))"
for j in "$E1" "$E2"; do
    assert_eq 3 "$(grep -c '^START ' "$S/$j")" "runs of the ranks of $j (no second attempt)"
done

# ---------------------------------------------------------------- (f)
log "(f) rendezvous ports all taken on every host: could not start, retried as one, FAILED"
# A listener on each worker host holds every port of the default range
# (`ip netns exec` execs python: $! is the holder itself).
HOLDERS=()
for w in w1 w2 w3 w4; do
    ip netns exec "$PREFIX-$w" python3 -c '
import socket, sys, time
held = []
for p in range(29400, 29500):
    s = socket.socket()
    # past the TIME_WAIT of earlier rendezvous; a listener still excludes
    # any other bind, the check of the worker included
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", p))
    s.listen(1)
    held.append(s)
open(sys.argv[1], "w").close()
time.sleep(120)
' "$T/ports-$w" >>"$T/logs/ports.log" 2>&1 &
    HOLDERS+=($!)
done
wait_until "[ -e $T/ports-w1 ] && [ -e $T/ports-w2 ] && [ -e $T/ports-w3 ] && [ -e $T/ports-w4 ]" 10 ||
    fail "could not hold the rendezvous ports ($(cat "$T/logs/ports.log"))"
ok user submit --name portbusy --nodes 2 --mem 128M --retries 1 --retry-backoff 200ms --workdir / -- \
    "${RANK[@]}" reduce
F=$OUT
run user wait "$F" --timeout 30s
assert_eq 1 "$RC" "mlq wait on a gang whose rendezvous port is taken"
ok user status "$F" --json
assert_eq FAILED "$(json "d['state']" <<<"$OUT")" "state of $F"
assert_eq 2 "$(json "d['attempt']" <<<"$OUT")" "attempts of $F (one retry)"
assert_contains "$OUT" "is in use" "what $F's outcome says"
# Rank 1 may have begun before rank 0's check failed: then it was stopped,
# and no rank ever got through the rendezvous.
assert_eq "$(grep -c '^START ' "$S/$F" 2>/dev/null || true)" "$(grep -c '^TERM ' "$S/$F" 2>/dev/null || true)" \
    "ranks of $F begun and stopped ($(cat "$S/$F" 2>/dev/null))"
if compgen -G "$S/$F.*.json" >/dev/null; then fail "a rank of $F got through the rendezvous"; fi
for p in "${HOLDERS[@]}"; do stop_pid "$p" 2; done
for w in w1 w2 w3 w4; do
    pid_alive "$(ip netns pids "$PREFIX-$w" | grep -Fx -f <(printf '%s\n' "${HOLDERS[@]}") || true)" &&
        fail "a port holder on $w is still alive"
done

# ---------------------------------------------------------------- (c)
log "(c) a node's worker killed and its host cut: stopped, requeued, no overlap"
ok user submit --name hold --nodes 3 --workdir / -- "${RANK[@]}" hold1
H=$OUT
wait_until "[ -s $S/$H.1.0.json ] && [ -s $S/$H.1.1.json ] && [ -s $S/$H.1.2.json ]" 20 ||
    fail "gang $H did not rendezvous ($(cat "$S/$H" 2>&1))"
assert_eq RUNNING "$(state_of "$H")" "state of $H once its ranks all-reduced"
VICTIM=$(rank_json "$H" 1 1 "d['env']['MLQ_WORKER']")
OLD=$(for r in 0 1 2; do rank_json "$H" 1 $r "d['env']['MLQ_WORKER']"; done | sort | tr '\n' ' ')
VPID=$(cat "$C/pids/$VICTIM.pid")
log "gang $H on $OLD; SIGKILL of $VICTIM's daemon (pid $VPID) and its cable cut"
kill -KILL "$VPID"
ok "$NETNS" cut "$C" "$VICTIM"
T0=$(date +%s)
wait_until "[ \"\$(stamps $H 2 END | wc -l)\" = 3 ]" 45 ||
    fail "gang $H did not run again ($(cat "$S/$H"); $(user status "$H" 2>&1))"
log "gang $H ran again $(($(date +%s) - T0)) s after the cut"
ok user wait "$H" --timeout 20s
ok user status "$H" --json
ST=$OUT
assert_eq SUCCEEDED "$(json "d['state']" <<<"$ST")" "state of $H"
assert_eq 2 "$(json "d['attempt']" <<<"$ST")" "attempt of $H after the cut"
assert_eq LOST "$(worker_state "$VICTIM")" "state of the cut worker $VICTIM"
for r in 0 1 2; do
    w=$(rank_json "$H" 2 $r "d['env']['MLQ_WORKER']")
    [ "$w" != "$VICTIM" ] || fail "rank $r of attempt 2 ran on the cut host $VICTIM"
    assert_eq 60 "$(rank_json "$H" 2 $r "d['sum']")" "sum of rank $r in attempt 2"
    # Every rank of attempt 1 was stopped: the cut one by its own shim
    # (self-fenced at the end of the lease), the others by the scheduler.
    stamps "$H" 1 TERM | grep -q "^TERM 1 $r " ||
        fail "rank $r of attempt 1 was not stopped with SIGTERM: $(cat "$S/$H")"
done
! grep -q '^PREV .* alive' "$S/$H" || fail "attempt 2 of $H found a rank of attempt 1 alive: $(cat "$S/$H")"
python3 - "$S/$H" <<'EOF' || fail "attempts of $H overlap: $(cat "$S/$H")"
import sys
lines = [l.split() for l in open(sys.argv[1])]
end1 = max(int(p[4]) for p in lines if p[0] in ("END", "TERM") and p[1] == "1")
start2 = min(int(p[4]) for p in lines if p[0] == "START" and p[1] == "2")
print("attempt 2 began %.2f s after the last rank of attempt 1 ended" % ((start2 - end1) / 1e9),
      file=sys.stderr)
sys.exit(0 if start2 > end1 else 1)
EOF

# The killed worker comes back: its stale part changes nothing, and what
# the lost part held on it is free again.
ok "$NETNS" mend "$C" "$VICTIM"
ok "$NETNS" start "$C" "$VICTIM"
wait_until "[ \"\$(worker_state $VICTIM)\" = UP ]" 20 || fail "$VICTIM not UP after its restart"
used() { admin workers --json | json "[(w['cpus_used'], w['running']) for w in d['workers'] if w['name'] == '$1'][0]"; }
wait_until "[ \"\$(used $VICTIM)\" = '[0.0, 0]' ]" 10 || fail "$VICTIM still holds $(used "$VICTIM") after its restart"
ok user status "$H" --json
assert_eq SUCCEEDED "$(json "d['state']" <<<"$OUT")" "state of $H after $VICTIM came back"
assert_eq 2 "$(json "d['attempt']" <<<"$OUT")" "attempt of $H after $VICTIM came back"
assert_eq 6 "$(grep -c '^START ' "$S/$H")" "runs of the ranks of $H (3 per attempt)"
