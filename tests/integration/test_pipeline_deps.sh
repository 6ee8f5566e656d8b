#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# Dependencies: train -> 100-task scoring array (--after train) -> merge
# (--after the array) runs in that order (the jobs write start and end
# stamps); a failed training job cancels the whole chain with reasons that
# name the dependency; --after-failed runs only on failure, --after-any in
# any case; an unknown dependency is refused at submit.
IT_DEADLINE=280
. "$(dirname "$0")/lib.sh" "$@"

start_scheduler "$T/state"
start_worker w1 "$T/spool-w1" --cpus 4 --mem 4G

S=$T/stamps
mkdir -p "$S"
# sh -c "$STAMP" DIR NAME: records when the job started and ended (ns), in
# DIR/start.NAME and DIR/end.NAME (NAME.INDEX for a task of an array).
STAMP='n=$1${MLQ_ARRAY_INDEX+.$MLQ_ARRAY_INDEX}; date +%s%N > "$0/start.$n"; sleep 0.2;
date +%s%N > "$0/end.$n"'
small=(--cpus 0.1 --mem 16M)

# --- the chain, held at the start until the test says go ---------------------
ok mlq submit "${small[@]}" --name train -- sh -c \
    'date +%s%N > "$0/start.train"; while [ ! -e "$0/go" ]; do sleep 0.1; done;
     date +%s%N > "$0/end.train"' "$S"
TRAIN=$OUT
t0=$(date +%s%N)
ok mlq submit "${small[@]}" --name score --array 0-99 --after "${TRAIN:0:8}" -- \
    sh -c "$STAMP" "$S" score
SCORE=$OUT
ok mlq submit "${small[@]}" --name merge --after "$SCORE" -- sh -c "$STAMP" "$S" merge
MERGE=$OUT
log "train $TRAIN, score array $SCORE, merge $MERGE"
if [ "$SCORE" = "$TRAIN" ] || [ "$MERGE" = "$SCORE" ]; then fail "ids repeat"; fi

wait_state "$TRAIN" RUNNING 30
sleep 1
ok mlq status "$SCORE" --json
assert_eq 100 "$(json "d['size']" <<<"$OUT")" "tasks in the scoring array"
assert_eq 100 "$(json "d['counts']['PENDING']" <<<"$OUT")" "scoring tasks waiting for train"
ok mlq status "$SCORE/5" --json
assert_eq PENDING "$(json "d['state']" <<<"$OUT")" "task 5 while train runs"
assert_contains "$(json "d['reason']" <<<"$OUT")" "${TRAIN:0:8}" "task 5's reason names train"
assert_eq "$TRAIN" "$(json "d['deps'][0]['target']" <<<"$OUT")" "task 5 depends on train"
ok mlq status "$MERGE" --json
assert_eq PENDING "$(json "d['state']" <<<"$OUT")" "merge while train runs"
assert_contains "$(json "d['reason']" <<<"$OUT")" "${SCORE:0:8}" "merge's reason names the array"
assert_eq "$SCORE" "$(json "d['deps'][0]['target']" <<<"$OUT")" "merge depends on the array"
ok mlq status "$MERGE"
assert_contains "$OUT" "after:" "status shows the dependency"
assert_contains "$OUT" "${SCORE:0:8} succeeded" "status names what merge waits for"

touch "$S/go"
ok mlq wait "$MERGE" --timeout 220s
log "chain of 102 jobs done in $((($(date +%s%N) - t0) / 1000000)) ms"
ok mlq wait "$SCORE" "$TRAIN" --timeout 10s
ok mlq status "$SCORE" --json
assert_eq 100 "$(json "d['counts']['SUCCEEDED']" <<<"$OUT")" "scoring tasks succeeded"
assert_eq true "$(json "d['succeeded']" <<<"$OUT")" "array succeeded"
# order: train ended before any task started; every task ended before merge
python3 - "$S" <<'PY' || fail "jobs ran out of order (see above)"
import os, sys
d = sys.argv[1]
def t(name):
    with open(os.path.join(d, name)) as f:
        return int(f.read())
scores = [i for i in range(100)]
missing = [i for i in scores if not os.path.exists(os.path.join(d, "end.score.%d" % i))]
if missing:
    sys.exit("tasks without stamps: %s" % missing[:10])
first_score = min(t("start.score.%d" % i) for i in scores)
last_score = max(t("end.score.%d" % i) for i in scores)
if not t("end.train") <= first_score:
    sys.exit("a task started %d ms before train ended" % ((t("end.train") - first_score) // 10**6))
if not last_score <= t("start.merge"):
    sys.exit("merge started %d ms before the last task ended" % ((last_score - t("start.merge")) // 10**6))
PY

# --- a failed training job cancels the whole chain ------------------------------
ok mlq submit "${small[@]}" --name train2 -- sh -c 'sleep 1; exit 3'
TRAIN2=$OUT
ok mlq submit "${small[@]}" --array 0-9 --after "$TRAIN2" -- sh -c 'touch "$0/ran2.$MLQ_ARRAY_INDEX"' "$S"
SCORE2=$OUT
ok mlq submit "${small[@]}" --after "$SCORE2" -- touch "$S/merge2.ran"
MERGE2=$OUT
# reactions: one only when train2 failed, one whatever happened, and the
# opposites on the successful train
ok mlq submit "${small[@]}" --after-failed "$TRAIN2" -- touch "$S/onfail.ran"
ONFAIL=$OUT
ok mlq submit "${small[@]}" --after-any "$TRAIN2" -- touch "$S/anyfail.ran"
ANY2=$OUT
ok mlq submit "${small[@]}" --after-failed "$TRAIN" -- touch "$S/onfail-ok.ran"
ONFAIL_OK=$OUT
ok mlq submit "${small[@]}" --after-any "$TRAIN" -- touch "$S/any-ok.ran"
ANY_OK=$OUT

expect_rc 1 mlq wait "$TRAIN2" --timeout 60s
assert_eq FAILED "$(job_state "$TRAIN2")" "train2"
expect_rc 1 mlq wait "$SCORE2" --timeout 60s
ok mlq status "$SCORE2" --json
assert_eq 10 "$(json "d['counts']['CANCELLED']" <<<"$OUT")" "tasks cancelled with train2"
assert_eq 0-9 "$(json "d['failed']" <<<"$OUT")" "failed indices of the cancelled array"
ok mlq status "$SCORE2/4" --json
assert_eq CANCELLED "$(json "d['state']" <<<"$OUT")" "task 4 of the cancelled array"
assert_contains "$(json "d['reason']" <<<"$OUT")" "${TRAIN2:0:8}" "task 4's reason names train2"
wait_state "$MERGE2" CANCELLED 30
assert_contains "$(job_field "$MERGE2" reason)" "${SCORE2:0:8}" "merge2's reason names the array"

ok mlq wait "$ONFAIL" "$ANY2" "$ANY_OK" --timeout 60s
[ -e "$S/onfail.ran" ] || fail "--after-failed job did not run after a failure"
if [ ! -e "$S/anyfail.ran" ] || [ ! -e "$S/any-ok.ran" ]; then
    fail "--after-any jobs did not run"
fi
wait_state "$ONFAIL_OK" CANCELLED 30
assert_contains "$(job_field "$ONFAIL_OK" reason)" "${TRAIN:0:8}" "reason of the unneeded handler"
sleep 1
for f in "$S"/ran2.* "$S/merge2.ran" "$S/onfail-ok.ran"; do
    [ ! -e "$f" ] || fail "$f: a job of the cancelled chain ran"
done

# --- bad dependencies are refused at submit ---------------------------------------
run mlq submit "${small[@]}" --after deadbeef -- true
case "$RC" in 4 | 6) ;; *) fail "unknown dependency: exit $RC (want 4 or 6): $ERR" ;; esac
assert_contains "$ERR" "deadbeef" "the refusal names the dependency"
run mlq submit "${small[@]}" --after "${SCORE:0:8}/100" -- true
case "$RC" in 4 | 6) ;; *) fail "task 100 of a 100-task array: exit $RC: $ERR" ;; esac
expect_rc 6 mlq submit "${small[@]}" --after 'xyz!' -- true
n=$(mlq list --json --limit 10000 | json "len(d['jobs'])")
assert_eq 118 "$n" "jobs in all (no refused submit created one)"
