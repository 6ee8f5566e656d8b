#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# Gangs in the scheduler, on loopback with three real workers: a gang of
# three runs on three distinct workers, as one attempt, and succeeds; one
# whose node 2 exits 1 stops the others, is retried as one attempt
# (--retries 1) and fails as one; cancel stops every node; a gang of four
# on three workers waits, and `mlq why` says so.
IT_DEADLINE=150
. "$(dirname "$0")/lib.sh" "$@"

start_scheduler "$T/state" --kill-grace 2s
for w in w1 w2 w3; do
    start_worker "$w" "$T/spool-$w" --cpus 2 --mem 2G
done

# ---- a gang of three succeeds on three distinct workers
mkdir -p "$T/ok"
ok mlq submit --nodes 3 --cpus 1 --mem 64M -- sh -c \
    'echo "$MLQ_JOB_ID $MLQ_ATTEMPT $MLQ_NODE_RANK" > "$1/$MLQ_WORKER"' ok "$T/ok"
J=$OUT
ok mlq wait "$J" --timeout 40s
assert_eq SUCCEEDED "$(job_state "$J")" "the gang of three"
assert_eq "w1 w2 w3" "$(cd "$T/ok" && echo *)" "one node part on each worker"
assert_eq "$J 1" "$(cut -d' ' -f1,2 "$T"/ok/* | sort -u)" "one job, one attempt number"
assert_eq "0 1 2" "$(cut -d' ' -f3 "$T"/ok/* | sort | tr '\n' ' ' | sed 's/ $//')" "ranks"
ok mlq status "$J" --json
assert_eq 3 "$(json "d['nodes']" <<<"$OUT")" "nodes"
assert_eq '["SUCCEEDED", "SUCCEEDED", "SUCCEEDED"]' "$(json "[p['state'] for p in d['parts']]" <<<"$OUT")" \
    "every part succeeded"
assert_eq 3 "$(json "len(set(p['worker'] for p in d['parts']))" <<<"$OUT")" "distinct workers"
assert_eq 1 "$(json "len(d['attempts'])" <<<"$OUT")" "one attempt for the whole gang"

# ---- node 2 exits 1: the others are stopped, retried as one, failed as one
mkdir -p "$T/fail"
ok mlq submit --nodes 3 --cpus 1 --mem 64M --retries 1 --retry-backoff 1s -- sh -c \
    'echo "$MLQ_ATTEMPT" >> "$1/$MLQ_NODE_RANK"
     if [ "$MLQ_NODE_RANK" = 2 ]; then sleep 1; exit 1; fi
     sleep 300' fail "$T/fail"
F=$OUT
wait_until "[ \"\$(job_state $F)\" = FAILED ]" 60 || fail "gang not FAILED: $(job_state "$F")"
for k in 0 1 2; do
    assert_eq "1 2" "$(tr '\n' ' ' <"$T/fail/$k" | sed 's/ $//')" "attempts seen by node $k"
done
ok mlq status "$F" --json
assert_eq 2 "$(json "len(d['attempts'])" <<<"$OUT")" "two attempts of the gang"
assert_contains "$(json "d['reason']" <<<"$OUT")" "node 2 (worker " "the reason names node 2"
assert_contains "$(json "d['reason']" <<<"$OUT")" "exited 1; others stopped" "and what it did"
assert_eq 2 "$(json "sum(p['state'] != 'FAILED' for p in d['parts'])" <<<"$OUT")" \
    "the two others were stopped"
assert_eq FAILED "$(json "d['parts'][2]['state']" <<<"$OUT")" "node 2 failed"

# ---- cancel stops every node
mkdir -p "$T/cancel"
ok mlq submit --nodes 3 --cpus 1 --mem 64M -- sh -c 'echo $$ > "$1/$MLQ_NODE_RANK"; sleep 300' \
    cancel "$T/cancel"
C=$OUT
wait_state "$C" RUNNING 30
wait_until "[ -s $T/cancel/0 ] && [ -s $T/cancel/1 ] && [ -s $T/cancel/2 ]" 15 ||
    fail "not every node started"
ok mlq cancel "$C"
wait_state "$C" CANCELLED 20
for k in 0 1 2; do
    pid=$(cat "$T/cancel/$k")
    wait_until "! pid_alive $pid" 20 || fail "node $k (pid $pid) survived the cancel"
done
ok mlq workers --json
assert_eq 0 "$(json "int(sum(w['cpus_used'] for w in d['workers']))" <<<"$OUT")" "nothing stays booked"

# ---- a gang of four on three workers waits, and why says so
ok mlq submit --nodes 4 --cpus 1 --mem 64M -- true
B=$OUT
sleep 1
assert_eq PENDING "$(job_state "$B")" "a gang larger than the cluster"
ok mlq why "$B"
assert_contains "$OUT" "needs 4 nodes" "why names the size"
assert_contains "$OUT" "3 fit now" "why counts the workers that fit"
assert_contains "$OUT" "it waits for more" "why says it waits"
log "ok"
