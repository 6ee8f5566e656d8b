#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# Gang jobs through the worker and the CLI, on loopback with two workers,
# each offering one rendezvous port of its own (--rendezvous-ports P-P):
# usage errors (worker --rendezvous-ports, submit --nodes, --nodes with
# --array); a gang of two where every node sees its rank, the node count,
# node 0's address and port (from node 0's worker's range), WORLD_SIZE and
# the hostfile; `mlq logs --node K` and `--all` ([K] prefixes, and -f
# following both nodes of a running gang to its end); `mlq status`
# (nodes line, rank table, --json parts) and `mlq list` (NODES); node 0's
# port held by another process: "could not start: rendezvous port P is in
# use" and the gang fails as one.
IT_DEADLINE=120
. "$(dirname "$0")/lib.sh" "$@"

# ---- usage errors, before any daemon
for bad in 0-5 10-5 x 1-65536 5- ''; do
    expect_rc 2 "$MLQ_WORKER_BIN" --scheduler tcp://127.0.0.1:1 --name w9 --spool "$T/spool-w9" \
        --rendezvous-ports "$bad" --insecure
    assert_contains "$ERR" "--rendezvous-ports" "worker error for '$bad'"
done
for bad in 0 257 x; do
    expect_rc 6 "$MLQ" submit --nodes "$bad" -- true
    assert_eq "mlq: --nodes: expected 1 to 256" "$ERR" "submit --nodes $bad"
done
expect_rc 6 "$MLQ" submit --nodes 2 --array 0-3 -- true
assert_eq "mlq: --nodes cannot be combined with --array" "$ERR" "submit --nodes with --array"

# ---- a gang of two
start_scheduler "$T/state"
P1=$(free_port)
P2=$(free_port)
start_worker w1 "$T/spool-w1" --gpus 2 --rendezvous-ports "$P1-$P1"
start_worker w2 "$T/spool-w2" --gpus 2 --rendezvous-ports "$P2"

ok mlq submit --nodes 2 --gpus 1 --name gang -- sh -c 'echo "rank=$MLQ_NODE_RANK/$NODE_RANK n=$MLQ_NNODES master=$MLQ_MASTER_ADDR:$MLQ_MASTER_PORT/$MASTER_ADDR:$MASTER_PORT world=$WORLD_SIZE on=$MLQ_WORKER"; cat "$MLQ_HOSTFILE"'
J=$OUT
ok mlq wait "$J" --timeout 30s
assert_eq SUCCEEDED "$(job_state "$J")" "the gang's state"

ok mlq status "$J" --json
ST=$OUT
assert_eq 2 "$(echo "$ST" | json "d['nodes']")" "nodes in JSON"
assert_eq '[0, 1]' "$(echo "$ST" | json "[p['rank'] for p in d['parts']]")" "ranks of the parts"
W0=$(echo "$ST" | json "d['parts'][0]['worker']")
W1=$(echo "$ST" | json "d['parts'][1]['worker']")
[ "$W0" != "$W1" ] || fail "both nodes on $W0"
if [ "$W0" = w1 ]; then PORT=$P1; else PORT=$P2; fi

ok mlq logs "$J"
assert_eq "rank=0/0 n=2 master=127.0.0.1:$PORT/127.0.0.1:$PORT world=2 on=$W0
127.0.0.1 slots=1
127.0.0.1 slots=1" "$OUT" "node 0's output"
ok mlq logs "$J" --node 1
assert_contains "$OUT" "rank=1/1 n=2 master=127.0.0.1:$PORT/127.0.0.1:$PORT world=2 on=$W1" \
    "node 1's output"
ok mlq logs "$J" --all
assert_eq "[0] rank=0/0 n=2 master=127.0.0.1:$PORT/127.0.0.1:$PORT world=2 on=$W0
[0] 127.0.0.1 slots=1
[0] 127.0.0.1 slots=1
[1] rank=1/1 n=2 master=127.0.0.1:$PORT/127.0.0.1:$PORT world=2 on=$W1
[1] 127.0.0.1 slots=1
[1] 127.0.0.1 slots=1" "$OUT" "logs --all"
ok mlq logs "$J" --all -f
assert_eq 6 "$(echo "$OUT" | wc -l)" "logs --all -f of an ended gang"
expect_rc 6 mlq logs "$J" --node 2
assert_contains "$ERR" "has 2 nodes" "logs --node past the last node"

ok mlq status "$J"
echo "$OUT" | grep -E '^nodes: +2 ' >/dev/null || fail "no nodes line: $OUT"
echo "$OUT" | grep -E "^0 +$W0 +127\.0\.0\.1 +SUCCEEDED " >/dev/null || fail "node 0's row: $OUT"
echo "$OUT" | grep -E "^1 +$W1 +127\.0\.0\.1 +SUCCEEDED " >/dev/null || fail "node 1's row: $OUT"
ok mlq list
echo "$OUT" | head -1 | grep -E 'WORKER +NODES +CPUS' >/dev/null || fail "list header: $OUT"
echo "$OUT" | grep -E "^${J:0:8} +gang +SUCCEEDED +$W0 +2 " >/dev/null || fail "list row: $OUT"

# ---- following every node of a gang while it runs
ok mlq submit --nodes 2 -- sh -c 'for i in 1 2 3; do echo "n$MLQ_NODE_RANK:$i"; sleep 0.3; done'
J3=$OUT
ok mlq logs "$J3" --all -f
assert_eq "[0] n0:1
[0] n0:2
[0] n0:3" "$(echo "$OUT" | grep -F '[0] ')" "node 0's lines, followed"
assert_eq "[1] n1:1
[1] n1:2
[1] n1:3" "$(echo "$OUT" | grep -F '[1] ')" "node 1's lines, followed"
assert_eq 6 "$(echo "$OUT" | wc -l)" "nothing but the two nodes' lines"
assert_eq SUCCEEDED "$(job_state "$J3")" "state once logs -f returned"

# ---- node 0's port taken: could not start, and the gang fails as one
python3 -c '
import socket, sys, time
socks = []
for p in sys.argv[1:]:
    s = socket.socket()
    s.bind(("0.0.0.0", int(p)))
    s.listen(1)
    socks.append(s)
print("held", flush=True)
time.sleep(120)
' "$P1" "$P2" >"$T/held.out" 2>&1 &
IT_PIDS+=("$!")
wait_until "grep -q held $T/held.out" 10 || fail "could not hold the ports: $(cat "$T/held.out")"
ok mlq submit --nodes 2 -- sleep 30
J2=$OUT
wait_until "[ \"\$(job_state $J2)\" = FAILED ]" 30 || fail "gang not FAILED: $(job_state "$J2")"
ok mlq status "$J2" --json
assert_contains "$(echo "$OUT" | json "d['parts'][0]['detail']")" \
    "rendezvous port" "node 0's detail"
assert_contains "$OUT" "is in use" "the reason names the port"
log "ok"
