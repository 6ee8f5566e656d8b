#!/usr/bin/env bash
# Teams and usage accounting on a cluster made by `mlq up` (keys for
# everyone; the key `mlq up` made is an admin's):
#   - teams are managed by admins only (exit 5 with the reason), bad names
#     are refused naming them (exit 6), unknown teams are exit 4;
#   - jobs (and array tasks) carry their submitter's team and their
#     --project (status --json);
#   - removing a team is refused while it has a running job (naming it) or
#     members (naming them), and works once neither is left;
#   - `mlq usage --by team --json` gives, per team, CPU-hours within a
#     tolerance of cpus x the wall time status reports, and runs by outcome;
#     --csv parses; a user sees only their own usage; bad dates are exit 6.
# The two users who run jobs are named after accounts every Debian system
# has (daemon, nobody): a worker running as root runs jobs as their
# submitters, as anyone else as itself.
IT_DEADLINE=120
. "$(dirname "$0")/lib.sh" "$@"

STATE=$T/state
rm -f "$MLQ_CONFIG"
mlq_up "$STATE" --workers 1 --cpus 2 --mem 1G --gpus 0
ME=$(id -un)
chmod 0711 "$T" # the spool is below: jobs may run as daemon and nobody
for u in bob daemon nobody; do
    ok "$MLQ" keygen --out "$T/$u.key"
done
ok "$MLQ" admin user add bob --key "$T/bob.key.pub"
ok "$MLQ" admin user add daemon --key "$T/daemon.key.pub"
bob() { env MLQ_KEY="$T/bob.key" "$MLQ" "$@"; }
dmn() { env MLQ_KEY="$T/daemon.key" "$MLQ" "$@"; }
nob() { env MLQ_KEY="$T/nobody.key" "$MLQ" "$@"; }

# --- who may do what, and bad input -------------------------------------------
expect_rc 5 bob admin team add ml
assert_contains "$ERR" "only admins may manage teams (you are bob, a user)" "a user adds a team"
expect_rc 5 bob admin teams
expect_rc 5 bob admin user set bob --team ml
expect_rc 6 "$MLQ" admin team add 'ml team!'
assert_contains "$ERR" 'ml team!' "a bad team name is named"
ok "$MLQ" admin team add ml
ok "$MLQ" admin team add cv --json
assert_eq cv "$(json "d['teams'][0]['name']" <<<"$OUT")" "team add --json"
expect_rc 6 "$MLQ" admin team add ml
expect_rc 4 "$MLQ" admin user set bob --team nosuch
assert_contains "$ERR" "no team named nosuch" "unknown team"
expect_rc 4 "$MLQ" admin user add nobody --key "$T/nobody.key.pub" --team nosuch
expect_rc 4 "$MLQ" admin user set nobody --team ml
expect_rc 4 "$MLQ" admin team rm nosuch
ok "$MLQ" admin user set daemon --team ml
ok "$MLQ" admin user add nobody --key "$T/nobody.key.pub" --team cv
ok "$MLQ" admin users --json
assert_eq ml "$(json "[u['team'] for u in d['users'] if u['name'] == 'daemon'][0]" <<<"$OUT")" \
    "daemon's team in users --json"
expect_rc 6 dmn submit --cpus 0.1 --mem 16M --project 'bad project!' -- true

# --- a team with a running job is not removed ---------------------------------
ok dmn submit --cpus 0.1 --mem 16M --workdir / --project churn -- sleep 300
LONG=$OUT
wait_until "\"\$MLQ\" status $LONG --json | grep -q '\"state\": \"RUNNING\"'" 20 ||
    fail "the long job did not start"
ok "$MLQ" status "$LONG" --json
assert_eq ml "$(json "d['team']" <<<"$OUT")" "the job's team"
assert_eq churn "$(json "d['project']" <<<"$OUT")" "the job's project"
ok "$MLQ" admin user set daemon --no-team
expect_rc 6 "$MLQ" admin team rm ml
assert_contains "$ERR" "1 pending or running job" "team rm with a running job"
assert_contains "$ERR" "${LONG:0:8}" "team rm names the job"
ok "$MLQ" admin teams --json
assert_eq 1 "$(json "[t['running'] for t in d['teams'] if t['name'] == 'ml'][0]" <<<"$OUT")" \
    "teams counts the running job (daemon left the team, the job keeps it)"
ok "$MLQ" admin user set daemon --team ml
ok "$MLQ" cancel "$LONG"

# --- jobs of two users in two teams -------------------------------------------
ok dmn submit --cpus 1 --mem 16M --workdir / --project churn -- sleep 1.5
B=$OUT
ok nob submit --cpus 0.5 --mem 16M --workdir / --project vision -- sleep 2.5
C=$OUT
ok dmn submit --cpus 0.1 --mem 16M --workdir / --array 0-1 --project churn -- true
ARR=$OUT
ok "$MLQ" wait "$B" "$C" "$ARR" --timeout 60s
ok "$MLQ" status "$ARR/1" --json
assert_eq ml/churn "$(json "d['team'] + '/' + d['project']" <<<"$OUT")" "an array task's team and project"
# cpus x wall of every attempt of the team's jobs, as status reports it
cpu_h() {
    "$MLQ" status "$@" --json | python3 -c '
import json, sys, datetime
d = json.load(sys.stdin)
t = lambda s: datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
print(sum(j["cpus"] * (t(a["end_time"]) - t(a["start_time"])) / 3600
          for j in d.get("jobs", [d]) for a in j["attempts"] if a["start_time"] and a["end_time"]))'
}
WANT_ML=$(cpu_h "$LONG" "$B" "$ARR/0" "$ARR/1")
WANT_CV=$(cpu_h "$C")
ok "$MLQ" usage --by team --json
USAGE=$OUT
close() { # close GOT WANT WHAT: within 2% or 2 ms of CPU time
    python3 -c "import sys; g, w = float('$1'), float('$2'); sys.exit(abs(g - w) > max(0.02 * w, 2 / 3.6e6))" ||
        fail "$3: got $1, expected about $2"
}
grp() { json "[g for g in d['groups'] if g['name'] == '$1'][0]$2" <<<"$USAGE"; }
close "$(grp ml "['cpu_hours']")" "$WANT_ML" "ml's CPU-hours"
close "$(grp cv "['cpu_hours']")" "$WANT_CV" "cv's CPU-hours"
assert_eq 3 "$(grp ml "['succeeded']")" "ml's succeeded runs (a job, two tasks)"
assert_eq 1 "$(grp ml "['cancelled']")" "ml's cancelled runs"
assert_eq 1 "$(grp cv "['succeeded']")" "cv's succeeded runs"
assert_eq 0.0 "$(grp cv "['gpu_hours']")" "no GPU time"
assert_eq null "$(grp cv "['gpu_idle_share']")" "idle share of no GPU time"
assert_eq team "$(json "d['by']" <<<"$USAGE")" "by"

ok "$MLQ" usage --by project --csv
python3 -c '
import csv, sys
rows = list(csv.DictReader(sys.stdin))
p = {r["project"]: r for r in rows}
assert set(p) == {"churn", "vision"}, p
assert int(p["vision"]["succeeded"]) == 1 and float(p["vision"]["cpu_hours"]) > 0, p
' <<<"$OUT" || fail "usage --csv: $OUT"

# a user sees their own usage only
ok dmn usage --json
assert_eq '["daemon"]' "$(json "[g['name'] for g in d['groups']]" <<<"$OUT")" "a user's own usage"
ok bob usage --json
assert_eq '[]' "$(json "[g['name'] for g in d['groups']]" <<<"$OUT")" "bob ran nothing"
ok "$MLQ" usage --json --since 1d
assert_eq '["daemon", "nobody"]' "$(json "[g['name'] for g in d['groups']]" <<<"$OUT")" \
    "an admin sees everyone"
ok "$MLQ" usage --since 2000-01-01 --until 2000-01-02T12:00:00Z --json
assert_eq 0 "$(json "len(d['groups'])" <<<"$OUT")" "an old window is empty"
expect_rc 6 "$MLQ" usage --since 2026-13-01
assert_contains "$ERR" '2026-13-01' "a bad date is named"
expect_rc 6 "$MLQ" usage --since yesterday
expect_rc 2 "$MLQ" usage --by colour

# --- removing teams -----------------------------------------------------------
expect_rc 6 "$MLQ" admin team rm cv
assert_contains "$ERR" "nobody" "team rm names its members"
ok "$MLQ" admin user set nobody --no-team
ok "$MLQ" admin team rm cv
ok "$MLQ" admin teams --json
assert_eq '["ml"]' "$(json "[t['name'] for t in d['teams']]" <<<"$OUT")" "teams after rm"
ok "$MLQ" down --state-dir "$STATE" --kill-jobs
log "ok"
