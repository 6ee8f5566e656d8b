#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# mlq rerun: a job submitted again runs with the same command, environment
# and working directory (its manifest equals the original's: `mlq diff`
# exits 0); submit's options override; a changed --input file or another
# commit is warned about, and --strict refuses (exit 1, nothing stored); an
# array's failed tasks (odd indices fail here) run again as an array of
# their own keeping their indices; nothing to rerun is exit 0; --failed on a plain job
# is a usage error.
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
# a command given replaces the original one, the environment stays
ok mlq rerun "$A" -- sh -c 'echo "new $GREETING" > "out-$MLQ_JOB_ID"'
D=$OUT
ok mlq wait "$D" --timeout 30s
assert_eq "new hello" "$(cat "$WD/out-$D")" "a command given"
expect_rc 6 mlq rerun "$A" --cpus banana
assert_contains "$ERR" "CPU count \"banana\"" "a bad override is refused like submit refuses it"
expect_rc 2 mlq rerun "$A" --no-such-option
expect_rc 2 mlq rerun --mem 1G
expect_rc 4 mlq rerun 00000000

# --- provenance: code and inputs compared with the original's manifest -------
REPO=$T/repo
mkdir -p "$REPO"
g() { git -C "$REPO" -c user.name=t -c user.email=t@example.com "$@" >/dev/null; }
g init -q
echo 'echo "trained on $(cat data.csv)"' >"$REPO/train.sh"
echo "1,2,3" >"$REPO/data.csv"
g add train.sh
g commit -q -m one
ok mlq submit --mem 64M --env MY_API_TOKEN=s3cret --input data.csv --workdir "$REPO" -- \
    sh train.sh
P=$OUT
ok mlq wait "$P" --timeout 30s
ok mlq rerun "$P"
P2=$OUT
[ -z "$ERR" ] || fail "a rerun of an unchanged job warned: $ERR"
ok mlq wait "$P2" --timeout 30s
# the two runs' manifests agree on everything but what differs per run
expect_rc 0 mlq diff "$P" "$P2"
ok mlq manifest "$P2" --json
assert_eq "$(mlq manifest "$P" --json | json "[d['argv'], d['workdir'], d['env']['MY_API_TOKEN']]")" \
    "$(json "[d['argv'], d['workdir'], d['env']['MY_API_TOKEN']]" <<<"$OUT")" "argv, workdir, env"

n_jobs() { mlq list --json | json "len(d['jobs'])"; }
before=$(n_jobs)
echo "4,5,6" >"$REPO/data.csv"
expect_rc 1 mlq rerun "$P" --strict
assert_contains "$ERR" "inputs: data.csv" "--strict names the changed input"
assert_contains "$ERR" "--strict: not rerun" "--strict says it refused"
assert_eq "" "$OUT" "--strict printed no id"
assert_eq "$before" "$(n_jobs)" "jobs after a refused rerun"
ok mlq rerun "$P"
assert_contains "$ERR" "warning: differs from $P" "a plain rerun warns"
assert_contains "$ERR" "data.csv" "the warning names the input"
ok mlq wait "$OUT" --timeout 30s
echo "4,5,6" >"$REPO/data.csv"
echo "# more" >>"$REPO/train.sh"
g commit -q -am two
ok mlq rerun "$P"
assert_contains "$ERR" "code.commit" "another commit is warned about"
ok mlq wait "$OUT" --timeout 30s

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
