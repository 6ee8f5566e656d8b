#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# Run manifests end to end: what an attempt ran is recorded on the worker
# and stored by the scheduler (`mlq manifest`), and `mlq diff` tells two
# runs apart by exactly what changed: a committed change differs by commit,
# an uncommitted one by dirty and the diff hash. A secret's value is never
# stored in clear; --input files are hashed; a missing --input stops the
# attempt before the command runs; a worker killed while its job runs
# reports the manifest after its restart; a shim killed with its job leaves
# the manifest it recorded at the start; a worker without git still runs
# jobs.
IT_DEADLINE=150
. "$(dirname "$0")/lib.sh" "$@"

STATE=$T/state
start_scheduler "$STATE"
start_worker w1 "$T/spool1" --secret-env 'MY_*_PASS'

# --- a git repository with the job's code and data ---------------------------
REPO=$T/repo
mkdir -p "$REPO"
git -C "$REPO" init -q -b main
git -C "$REPO" config user.email it@example.com
git -C "$REPO" config user.name it
printf 'a,b\n1,2\n' >"$REPO/data.csv"
printf 'first\n' >"$REPO/README"
printf 'cat data.csv > out.txt\n' >"$REPO/train.sh"
printf 'out.txt\n' >"$REPO/.gitignore"
git -C "$REPO" add -A && git -C "$REPO" commit -q -m first
C1=$(git -C "$REPO" rev-parse HEAD)

submit_train() {
    ok mlq submit --workdir "$REPO" --input data.csv --output out.txt \
        --env MY_API_TOKEN=s3cret --env MY_DB_PASS=hunter2 --env PLAIN=visible -- sh train.sh
    echo "$OUT"
}
J1=$(submit_train)
expect_rc 0 mlq wait "$J1" --timeout 30s

ok mlq manifest "$J1" --json
M1=$OUT
assert_eq '["sh", "train.sh"]' "$(json "d['argv']" <<<"$M1")" "argv"
assert_eq "$REPO" "$(json "d['workdir']" <<<"$M1")" "workdir"
assert_eq "$C1" "$(json "d['git']['commit']" <<<"$M1")" "commit"
assert_eq main "$(json "d['git']['branch']" <<<"$M1")" "branch"
assert_eq false "$(json "d['git']['dirty']" <<<"$M1")" "clean tree"
assert_eq w1 "$(json "d['worker']" <<<"$M1")" "worker"
assert_eq "$(id -un)" "$(json "d['account']['user']" <<<"$M1")" "account"
assert_eq visible "$(json "d['env']['PLAIN']" <<<"$M1")" "a plain variable is recorded"
TOKEN_HASH=$(printf s3cret | sha256sum | cut -c1-16)
assert_eq "sha256:$TOKEN_HASH" "$(json "d['env']['MY_API_TOKEN']" <<<"$M1")" "a secret is its hash"
assert_eq true "$(json "d['env']['MY_DB_PASS'].startswith('sha256:')" <<<"$M1")" \
    "--secret-env pattern"
DATA_SHA=$(sha256sum "$REPO/data.csv" | cut -d' ' -f1)
assert_eq "$DATA_SHA" "$(json "d['inputs'][0]['sha256']" <<<"$M1")" "input hashed"
assert_eq data.csv "$(json "d['inputs'][0]['path']" <<<"$M1")" "input path"
assert_eq "$DATA_SHA" "$(json "d['outputs'][0]['sha256']" <<<"$M1")" "output hashed at the end"
case "$M1" in *s3cret* | *hunter2*) fail "a secret value in mlq manifest --json: $M1" ;; esac
ok mlq manifest "$J1"
assert_contains "$OUT" "$C1" "human form names the commit"
assert_contains "$OUT" "train.sh" "human form shows the command"

# the stored document, read from the database itself
ROWS=$(sqlite3 -cmd '.timeout 5000' "$STATE/mlq.db" "SELECT json FROM attempt_manifests")
assert_contains "$ROWS" "$C1" "the manifest is in attempt_manifests"
case "$ROWS" in *s3cret* | *hunter2*) fail "a secret value in attempt_manifests" ;; esac

# --- a committed change: the runs differ by exactly the commit ---------------
printf 'second\n' >"$REPO/README"
git -C "$REPO" commit -q -am second
C2=$(git -C "$REPO" rev-parse HEAD)
J2=$(submit_train)
expect_rc 0 mlq wait "$J2" --timeout 30s
expect_rc 1 mlq diff "$J1" "$J2" --json
assert_eq '{"code": {"commit": ["'"$C1"'", "'"$(git -C "$REPO" rev-parse HEAD)"'"]}}' \
    "$(json "d['differences']" <<<"$OUT")" "a committed change differs by its commit"
assert_eq false "$(json "d['identical']" <<<"$OUT")" "identical"
expect_rc 1 mlq diff "$J1" "$J2"
assert_contains "$OUT" "code.commit: $C1 ->" "text form"
expect_rc 0 mlq diff "$J2" "$J2@1"
assert_contains "$OUT" "no differences" "a run against itself"

# --- an uncommitted change: dirty, with the diff's hash ----------------------
printf 'third\n' >"$REPO/README"
J3=$(submit_train)
expect_rc 0 mlq wait "$J3" --timeout 30s
ok mlq manifest "$J3" --json
assert_eq true "$(json "d['git']['dirty']" <<<"$OUT")" "uncommitted change sets dirty"
DIFF_SHA=$(git -C "$REPO" diff HEAD --no-ext-diff --no-color --binary | sha256sum | cut -d' ' -f1)
assert_eq "$DIFF_SHA" "$(json "d['git']['diff_sha256']" <<<"$OUT")" "diff hash"
expect_rc 1 mlq diff "$J2" "$J3" --json
assert_eq '["diff_sha256", "dirty"]' "$(json "sorted(d['differences']['code'])" <<<"$OUT")" \
    "an uncommitted change differs by dirty and diff hash"
assert_eq '["code"]' "$(json "sorted(d['differences'])" <<<"$OUT")" "nothing else differs"

# --- a missing --input: the attempt never runs the command -------------------
ok mlq submit --workdir "$T" --input "$T/nope.csv" -- sh -c "touch $T/stamp"
J4=$OUT
expect_rc 1 mlq wait "$J4" --timeout 30s
assert_eq "could not start: input $T/nope.csv missing" "$(job_field "$J4" reason)" \
    "reason of a job whose input is missing"
[ ! -e "$T/stamp" ] || fail "the command ran although its input was missing"

# --- durable: recorded while its worker was down, reported after a restart ---
W1_PID=$WORKER_PID
ok mlq submit --workdir "$REPO" --input data.csv -- sh -c "while [ ! -e $T/go ]; do sleep 0.1; done"
J6=$OUT
wait_state "$J6" RUNNING 30
kill -KILL "$W1_PID"
touch "$T/go"
wait_until "find $T/spool1/attempts -mindepth 2 -name status -size +0 | grep -q ." 30 || fail "the job did not end under its shim"
start_worker w1 "$T/spool1" --secret-env 'MY_*_PASS'
expect_rc 0 mlq wait "$J6" --timeout 30s
ok mlq manifest "$J6" --json
assert_eq "$DATA_SHA" "$(json "d['inputs'][0]['sha256']" <<<"$OUT")" \
    "the manifest of an attempt reported by a restarted worker"

# --- a shim that dies with its job leaves the manifest it recorded at start ---
ok mlq submit --workdir "$REPO" -- sh -c 'sleep 300'
J7=$OUT
wait_state "$J7" RUNNING 30
wait_until "find $T/spool1/attempts -mindepth 2 -name manifest -size +0 | grep -q ." 10 || fail "no manifest in the spool at the start"
for d in "$T"/spool1/attempts/*/; do
    [ -s "$d/status" ] || SHIM=$(pidfile_pid "$d/shim.pid")
done
[ -n "${SHIM:-}" ] || fail "no running attempt's shim found"
kill -KILL "$SHIM"
wait_until "mlq manifest $J7 --attempt 1 --json" 30 || fail "no manifest for the lost attempt"
ok mlq manifest "$J7@1" --json
assert_eq "$C2" "$(json "d['git']['commit']" <<<"$OUT")" "the lost attempt's manifest"
ok mlq cancel "$J7"

# --- a worker without git on its PATH still runs the job ---------------------
# the worker (and so its shims and jobs) gets a PATH with no git in it
mkdir -p "$T/nogit"
printf '#!/bin/sh\nPATH=%s exec %s "$@"\n' "$T/nogit" "$MLQ_WORKER_BIN" >"$T/worker-nogit"
chmod +x "$T/worker-nogit"
MLQ_WORKER_BIN=$T/worker-nogit start_worker w2 "$T/spool2" --pool nogit
ok mlq submit --pool nogit --workdir "$REPO" -- /bin/sh -c 'echo ran'
J5=$OUT
expect_rc 0 mlq wait "$J5" --timeout 30s
ok mlq manifest "$J5" --json
assert_eq "git not found" "$(json "d['git']['error']" <<<"$OUT")" "git's absence is recorded"

log "OK"
