#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# mlq rerun: a job submitted again runs with the same command, environment
# and working directory; submit's options override; an array's failed tasks
# (odd indices fail here) run again as a new array keeping their indices;
# nothing to rerun is exit 0; --failed on a plain job is a usage error.
IT_DEADLINE=120
. "$(dirname "$0")/lib.sh" "$@"

start_scheduler "$T/state"
start_worker w1 "$T/spool-w1" --cpus 4 --mem 2G

WD=$T/wd
mkdir -p "$WD"

# --- the same job again ---------------------------------------------------------
ok mlq submit --name first --mem 64M --env GREETING=hello --workdir "$WD" -- \
    sh -c 'echo "$GREETING $1 $(pwd)" > "out-$MLQ_JOB_ID"' job arg-one
A=$OUT
ok mlq wait "$A" --timeout 30s
ok mlq status "$A" --json
A_JSON=$OUT

# from elsewhere: the working directory is the job's, not the caller's
ok sh -c "cd / && \"$MLQ\" --scheduler $SCHED_ADDR rerun ${A:0:8}"
B=$OUT
[ "$B" != "$A" ] || fail "rerun printed the original id"
ok mlq wait "$B" --timeout 30s
assert_eq "hello arg-one $WD" "$(cat "$WD/out-$B" 2>/dev/null)" "what the rerun saw"
ok mlq status "$B" --json
B_JSON=$OUT
for f in argv workdir name cpus mem gpus; do
    assert_eq "$(json "d.get('$f')" <<<"$A_JSON")" "$(json "d.get('$f')" <<<"$B_JSON")" "rerun's $f"
done

# --- overrides: same parsing as submit ----------------------------------------
ok mlq rerun "$A" --env GREETING=bonjour --mem 128M --name second
C=$OUT
ok mlq wait "$C" --timeout 30s
assert_eq "bonjour arg-one $WD" "$(cat "$WD/out-$C")" "an overridden --env replaces the value"
ok mlq status "$C" --json
assert_eq second "$(json "d['name']" <<<"$OUT")" "overridden name"
assert_eq 134217728 "$(json "d['mem']" <<<"$OUT")" "overridden memory"
# a new command replaces the old one, the environment stays
ok mlq rerun "$A" -- sh -c 'echo "new $GREETING" > "out-$MLQ_JOB_ID"'
D=$OUT
ok mlq wait "$D" --timeout 30s
assert_eq "new hello" "$(cat "$WD/out-$D")" "a new command"
expect_rc 6 mlq rerun "$A" --cpus banana
assert_contains "$ERR" "CPU count \"banana\"" "a bad override is refused like submit refuses it"
expect_rc 2 mlq rerun "$A" --no-such-option
expect_rc 2 mlq rerun --mem 1G
expect_rc 4 mlq rerun 00000000

# --- an array's failed tasks, with their indices -------------------------------
ok mlq submit --array 0-5 --mem 32M --workdir "$WD" -- \
    sh -c 'echo "$MLQ_ARRAY_JOB_ID $MLQ_ARRAY_INDEX" >> ran.txt; [ $((MLQ_ARRAY_INDEX % 2)) -eq 0 ]'
ARR=$OUT
expect_rc 1 mlq wait "$ARR" --timeout 60s
ok mlq rerun "$ARR" --failed
ARR2=$OUT
[ "$ARR2" != "$ARR" ] || fail "rerun --failed printed the original array"
expect_rc 1 mlq wait "$ARR2" --timeout 60s
assert_eq "1 3 5" "$(awk -v a="$ARR2" '$1 == a { print $2 }' "$WD/ran.txt" | sort -n | xargs)" \
    "indices the rerun ran"
assert_eq "0 1 2 3 4 5" "$(awk -v a="$ARR" '$1 == a { print $2 }' "$WD/ran.txt" | sort -n | xargs)" \
    "indices the first run ran"
# one task alone keeps its index too
ok mlq rerun "$ARR/3"
T3=$OUT
expect_rc 1 mlq wait "$T3" --timeout 30s
assert_eq 3 "$(awk -v a="$T3" '$1 == a { print $2 }' "$WD/ran.txt" | xargs)" "a task's rerun index"

# --- nothing to rerun, and --failed on a job -----------------------------------
ok mlq submit --array 0-1 --mem 32M --workdir "$WD" -- true
OKARR=$OUT
ok mlq wait "$OKARR" --timeout 30s
ok mlq rerun "$OKARR" --failed
assert_eq "" "$OUT" "nothing printed on stdout when nothing is rerun"
assert_contains "$ERR" "nothing to rerun" "message when nothing failed"
expect_rc 2 mlq rerun "$A" --failed
assert_contains "$ERR" "not an array" "--failed on a plain job"

log "PASS"
