#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# Running as the user: a worker running as root runs each job as the Unix
# account of the user who submitted it. The owner is the name of the key the
# CLI connects with, so the test makes throwaway accounts (useradd -M -r,
# removed at exit), registers a key under each name (`mlq admin user add`)
# and submits as them through setpriv.
#   - the job runs with the account's uid, gid, USER and HOME, and the files
#     it writes and its spool log files belong to that account;
#   - a job whose owner has no account on the worker fails to start, with a
#     reason that names the account and the worker;
#   - a job of root runs as root only when the scheduler allows root jobs.
# Needs root, useradd, userdel and setpriv: skipped (exit 77) without root,
# and a failure as root when a tool is missing (it_skip).
IT_DEADLINE=150
. "$(dirname "$0")/lib.sh" "$@"

[ "$(id -u)" = 0 ] || it_skip "needs root (a worker runs jobs as their owner only as root)"
for tool in useradd userdel setpriv; do
    command -v "$tool" >/dev/null || it_skip "needs $tool"
done

# --- throwaway accounts ---------------------------------------------------------
RUNAS_USERS=()
runas_cleanup() {
    local rc=$? u
    set +e # under set -e the failed test's `(exit "$rc")` would skip it_cleanup
    for u in "${RUNAS_USERS[@]+"${RUNAS_USERS[@]}"}"; do
        id "$u" >/dev/null 2>&1 || continue # removed by the test itself
        userdel -f "$u" >/dev/null 2>&1 || log "warning: could not remove user $u"
    done
    (exit "$rc")
    it_cleanup
}
trap runas_cleanup EXIT

# new_user NAME_VAR: creates an account, stores its name in NAME_VAR.
new_user() {
    local u
    u=mlqtest_$(printf '%04x%04x' $((RANDOM)) $((RANDOM)))
    useradd -M -r "$u" >/dev/null 2>&1 || fail "useradd $u"
    RUNAS_USERS+=("$u")
    printf -v "$1" '%s' "$u"
}

# The accounts must reach their own folder inside T, and the worker's spool
# stays root's.
chmod 0711 "$T"

# user_dir U: a folder of U's own with a key registered under U's name and a
# client config for this scheduler.
user_dir() {
    local d=$T/home-$1
    mkdir -p "$d"
    ok "$MLQ" keygen --out "$d/key"
    ok "$MLQ" --scheduler "$SCHED_ADDR" admin user add "$1" --key "$d/key.pub"
    printf 'scheduler = %s\nkey = %s\nscheduler_key = %s\n' "$SCHED_ADDR" "$d/key" \
        "$IT_KEYS/server.key.pub" >"$d/config"
    chown -R "$1:" "$d"
}

# as_user U CMD...: runs CMD as U (its groups too) in U's folder, with U's
# client config; like `run` (RC, OUT, ERR).
as_user() {
    local u=$1 d
    shift
    d=$T/home-$u
    run env -C "$d" HOME="$d" XDG_CONFIG_HOME="$d" MLQ_CONFIG="$d/config" \
        setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups "$@"
}

start_scheduler "$T/state"

# --- an owner without an account on the worker: never runs --------------------
# Submitted while no worker is up; the account is gone by the time one is.
new_user GONE
user_dir "$GONE"
as_user "$GONE" "$MLQ" submit --cpus 0.5 --mem 64M -- touch never-ran
[ "$RC" = 0 ] || fail "submit as $GONE: exit $RC: $ERR"
J_GONE=$OUT
assert_eq "$GONE" "$(job_field "$J_GONE" owner)" "owner of the job submitted as $GONE"
userdel -f "$GONE" >/dev/null 2>&1 || fail "userdel $GONE"

start_worker w1 "$T/spool-w1" --cpus 2 --mem 1G
grep -q "jobs run as their submitting users" "$T/logs/worker-w1.log" ||
    fail "the root worker does not say that jobs run as their users"

wait_state "$J_GONE" FAILED 30
reason=$(job_field "$J_GONE" reason)
assert_contains "$reason" "no Unix account $GONE on worker w1" "reason of the job without an account"
[ ! -e "$T/home-$GONE/never-ran" ] || fail "the job without an account ran"

# --- a job runs as its owner -------------------------------------------------------
new_user ALICE
user_dir "$ALICE"
D=$T/home-$ALICE
A_UID=$(id -u "$ALICE")
A_GID=$(id -g "$ALICE")
as_user "$ALICE" "$MLQ" submit --cpus 0.5 --mem 64M -- \
    sh -c 'id -u; id -g; echo "$USER $LOGNAME"; echo made >made-by-job; echo to-stderr >&2
while [ ! -e go ]; do sleep 0.1; done'
[ "$RC" = 0 ] || fail "submit as $ALICE: exit $RC: $ERR"
J=$OUT
assert_eq "$ALICE" "$(job_field "$J" owner)" "owner of the job submitted as $ALICE"
# The spool's log files belong to the job's account (looked at while the job
# runs: the attempt folder goes once the logs are at the scheduler).
wait_until "grep -qs to-stderr $T/spool-w1/attempts/*/stderr" 30 || fail "$ALICE's job wrote no stderr"
n=0
for f in "$T"/spool-w1/attempts/*/stdout "$T"/spool-w1/attempts/*/stderr; do
    grep -q -e "$A_UID" -e to-stderr "$f" 2>/dev/null || continue
    assert_eq "$ALICE:$A_GID" "$(stat -c %U:%g "$f")" "owner of the spool log $f"
    n=$((n + 1))
done
assert_eq 2 "$n" "spool log files of $ALICE's job"
touch "$D/go"
ok mlq wait "$J" --timeout 30s
assert_eq SUCCEEDED "$(job_state "$J")" "state of $ALICE's job"
ok mlq logs "$J"
assert_eq "$A_UID
$A_GID
$ALICE $ALICE" "$OUT" "ids the job ran with"
[ -f "$D/made-by-job" ] || fail "the job's file is missing"
assert_eq "$ALICE" "$(stat -c %U "$D/made-by-job")" "owner of the file the job wrote"

# --- its run manifest reads what the job may read, as the job's account -----------
printf 'root only\n' >"$T/root-only.txt"
chmod 0600 "$T/root-only.txt"
printf 'abc' >"$D/mine.txt"
chown "$ALICE:" "$D/mine.txt"
as_user "$ALICE" "$MLQ" submit --cpus 0.5 --mem 64M --input mine.txt --input "$T/root-only.txt" \
    -- true
[ "$RC" = 0 ] || fail "submit with inputs as $ALICE: exit $RC: $ERR"
J_IN=$OUT
ok mlq wait "$J_IN" --timeout 30s
ok mlq manifest "$J_IN" --json
M=$OUT
assert_eq "$ALICE $A_UID" "$(json "d['account']['user'] + ' ' + str(d['account']['uid'])" <<<"$M")" \
    "account in the manifest"
assert_eq "$(printf abc | sha256sum | cut -d' ' -f1)" "$(json "d['inputs'][0]['sha256']" <<<"$M")" \
    "the account's own input is hashed"
assert_eq "None Permission denied" \
    "$(json "str(d['inputs'][1].get('sha256')) + ' ' + d['inputs'][1].get('reason', '')" <<<"$M")" \
    "a file only root may read is not hashed for $ALICE's job"

# --- a job of root: as root only when the scheduler allows it -----------------
ok mlq submit --cpus 0.5 --mem 64M -- id -u
J_ROOT=$OUT
assert_eq root "$(job_field "$J_ROOT" owner)" "owner of root's job"
if tr '\0' '\n' <"/proc/$SCHED_PID/cmdline" | grep -qx -- --allow-root-jobs; then
    ok mlq wait "$J_ROOT" --timeout 30s
    ok mlq logs "$J_ROOT"
    assert_eq 0 "$OUT" "uid of root's job with --allow-root-jobs"
else
    wait_state "$J_ROOT" FAILED 30
    assert_contains "$(job_field "$J_ROOT" reason)" "refusing to run as root" \
        "reason of root's job without --allow-root-jobs"
fi
