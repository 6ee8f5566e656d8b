#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# Job arrays: a 1000-task submit returns fast and `mlq status` shows the
# tasks per state; tasks see MLQ_ARRAY_JOB_ID, MLQ_ARRAY_INDEX,
# MLQ_ARRAY_SIZE and their own MLQ_JOB_ID; stepped and listed index specs;
# --max-running bounds the tasks running at once; status, logs and cancel of
# ARRAY/N and of a whole array; `mlq wait` on an array exits 1 when a task
# fails and 7 on --timeout.
IT_DEADLINE=280
. "$(dirname "$0")/lib.sh" "$@"

start_scheduler "$T/state"
start_worker w1 "$T/spool-w1" --cpus 4 --mem 4G
small=(--cpus 0.1 --mem 16M)
D=$T/out
mkdir -p "$D"

# array_field ID EXPR: a field of `mlq status ARRAY --json` (EXPR over d).
array_field() { mlq status "$1" --json | json "$2"; }

# --- 1000 tasks held behind a gate: fast submit, counts, cancel of all ------------
ok mlq submit "${small[@]}" -- sh -c 'while [ ! -e "$0" ]; do sleep 0.1; done' "$D/gate"
GATE=$OUT
t0=$(date +%s%N)
ok mlq submit "${small[@]}" --name big --array 0-999 --after "$GATE" -- true
BIG=$OUT
ms=$((($(date +%s%N) - t0) / 1000000))
log "1000-task submit answered in $ms ms"
[ "$ms" -lt 5000 ] || fail "submitting 1000 tasks took $ms ms"
ok mlq status "$BIG" --json
assert_eq 1000 "$(json "d['size']" <<<"$OUT")" "array size"
assert_eq 1000 "$(json "sum(d['counts'].values())" <<<"$OUT")" "tasks counted"
assert_eq 1000 "$(json "d['counts']['PENDING']" <<<"$OUT")" "tasks pending behind the gate"
assert_eq "$BIG" "$(json "d['id']" <<<"$OUT")" "array id"
ok mlq status "$BIG"
assert_contains "$OUT" "1000 pending" "human summary counts"
assert_contains "$OUT" "tasks:      1000" "human summary size"
n=$(mlq list --json --limit 10000 | json "len([j for j in d['jobs'] if j['array_id'] == '$BIG'])")
assert_eq 1000 "$n" "tasks listed by mlq list"
ok mlq status "$BIG/999" --json
assert_eq 999 "$(json "d['array_index']" <<<"$OUT")" "index of task 999"
expect_rc 4 mlq status "$BIG/1000"
ok mlq cancel "${BIG:0:8}"
assert_contains "$ERR" "cancelled 1000 tasks" "cancel of the whole array"
assert_eq 1000 "$(array_field "$BIG" "d['counts']['CANCELLED']")" "tasks cancelled"
assert_eq true "$(array_field "$BIG" "d['done']")" "cancelled array is done"
expect_rc 1 mlq wait "$BIG" --timeout 10s
ok mlq cancel "$GATE"

# --- what tasks see ---------------------------------------------------------------
ENV='echo "$MLQ_ARRAY_JOB_ID $MLQ_ARRAY_INDEX $MLQ_ARRAY_SIZE $MLQ_JOB_ID" > "$0/env.$MLQ_ARRAY_INDEX"'
ok mlq submit "${small[@]}" --array 0-4 -- sh -c "$ENV" "$D"
E=$OUT
ok mlq wait "$E" --timeout 60s
for i in 0 1 2 3 4; do
    read -r aid idx size jid <"$D/env.$i" || fail "task $i left no environment"
    assert_eq "$E" "$aid" "MLQ_ARRAY_JOB_ID of task $i"
    assert_eq "$i" "$idx" "MLQ_ARRAY_INDEX of task $i"
    assert_eq 5 "$size" "MLQ_ARRAY_SIZE of task $i"
    assert_eq "$(job_field "$E/$i" id)" "$jid" "MLQ_JOB_ID of task $i"
done

# --- index specs ------------------------------------------------------------------
TOUCH='touch "$0/$1.$MLQ_ARRAY_INDEX.$MLQ_ARRAY_SIZE"'
ok mlq submit "${small[@]}" --array 0-99:10 -- sh -c "$TOUCH" "$D" step
STEP=$OUT
ok mlq submit "${small[@]}" --array 1,5,7 -- sh -c "$TOUCH" "$D" list
LIST=$OUT
ok mlq wait "$STEP" "$LIST" --timeout 60s
got=$(cd "$D" && printf '%s\n' step.* | sort -t. -k2 -n | tr '\n' ' ')
assert_eq "step.0.10 step.10.10 step.20.10 step.30.10 step.40.10 step.50.10 step.60.10 step.70.10 step.80.10 step.90.10 " \
    "$got" "tasks of 0-99:10"
got=$(cd "$D" && printf '%s\n' list.* | sort -t. -k2 -n | tr '\n' ' ')
assert_eq "list.1.3 list.5.3 list.7.3 " "$got" "tasks of 1,5,7"
assert_eq 3 "$(array_field "$LIST" "d['size']")" "size of 1,5,7"
expect_rc 4 mlq status "$LIST/2"

# --- --max-running 2: never more than two at once ------------------------------------
IVAL='date +%s%N > "$0/s.$MLQ_ARRAY_INDEX"; sleep 0.6; date +%s%N > "$0/e.$MLQ_ARRAY_INDEX"'
mkdir -p "$D/iv"
ok mlq submit "${small[@]}" --array 0-7 --max-running 2 -- sh -c "$IVAL" "$D/iv"
MR=$OUT
assert_eq 2 "$(array_field "$MR" "d['max_running']")" "max_running shown"
ok mlq wait "$MR" --timeout 120s
python3 - "$D/iv" <<'PY' || fail "--max-running 2 was exceeded"
import sys
d = sys.argv[1]
iv = []
for i in range(8):
    s = int(open("%s/s.%d" % (d, i)).read())
    e = int(open("%s/e.%d" % (d, i)).read())
    iv.append((s, e))
events = sorted([(s, 1) for s, _ in iv] + [(e, -1) for _, e in iv], key=lambda x: (x[0], x[1]))
cur = peak = 0
for _, k in events:
    cur += k
    peak = max(peak, cur)
print("peak overlap", peak)
sys.exit(0 if 1 <= peak <= 2 else 1)
PY

# --- status, logs and cancel of ARRAY/N ----------------------------------------------
ok mlq submit "${small[@]}" --array 0-19 -- sh -c 'echo "hello $MLQ_ARRAY_INDEX"'
H=$OUT
ok mlq wait "$H" --timeout 120s
ok mlq status "${H:0:8}/17" --json
assert_eq 17 "$(json "d['array_index']" <<<"$OUT")" "status ARRAY/17: index"
assert_eq "$H" "$(json "d['array_id']" <<<"$OUT")" "status ARRAY/17: array"
assert_eq SUCCEEDED "$(json "d['state']" <<<"$OUT")" "status ARRAY/17: state"
ok mlq logs "${H:0:8}/17"
assert_eq "hello 17" "$OUT" "logs ARRAY/17"
ok mlq list
assert_contains "$OUT" "[17]" "mlq list shows task indices"
expect_rc 6 mlq logs "$H"

ok mlq submit "${small[@]}" --array 0-19 --max-running 1 -- sleep 300
SL=$OUT
wait_until "[ \"\$(array_field $SL \"d['counts']['RUNNING']\")\" = 1 ]" 30 ||
    fail "no task of the sleepy array running"
ok mlq cancel "$SL/17"
assert_eq CANCELLED "$(job_state "$SL/17")" "cancelled task 17"
assert_eq 1 "$(array_field "$SL" "d['counts']['CANCELLED']")" "only task 17 cancelled"
assert_eq 17 "$(array_field "$SL" "d['failed']")" "task 17 listed as not ok"
expect_rc 7 mlq wait "$SL" --timeout 2s
ok mlq cancel "$SL"
wait_until "[ \"\$(array_field $SL \"d['done']\")\" = true ]" 30 || fail "sleepy array not done"

# --- wait on an array with a failing task -----------------------------------------------
ok mlq submit "${small[@]}" --array 0-4 -- sh -c '[ "$MLQ_ARRAY_INDEX" != 3 ]'
F=$OUT
expect_rc 1 mlq wait "$F" --timeout 60s
assert_contains "$ERR" "4 succeeded, 1 failed" "wait summary"
ok mlq status "$F" --json
assert_eq 3 "$(json "d['failed']" <<<"$OUT")" "failed index"
assert_eq 1 "$(json "d['counts']['FAILED']" <<<"$OUT")" "failed count"
expect_rc 1 mlq wait "$F" --json --timeout 10s
assert_eq 5 "$(json "d['arrays'][0]['counts']['SUCCEEDED'] + d['arrays'][0]['counts']['FAILED']" <<<"$OUT")" \
    "wait --json counts"
