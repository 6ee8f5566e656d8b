#!/usr/bin/env bash
# Listings bigger than one message (4 MiB): 40 pending jobs and 24
# schedules with 200 KB of argv each. `mlq list`, `mlq status` of every job
# and `mlq schedule list` get the whole listing, page after page, through the
# replies' cursors, instead of an error for everyone; --limit N stops at N
# with a hint on stderr that there are more.
IT_DEADLINE=200
. "$(dirname "$0")/lib.sh" "$@"

start_scheduler "$T/state" # no worker: the jobs stay PENDING
BIG=$(head -c 100000 /dev/zero | tr '\0' a)
ids=()
for i in $(seq 1 40); do
    ok mlq submit --name "big$i" --cpus 0.1 --mem 16M -- /bin/echo "$BIG" "$BIG"
    ids+=("$OUT")
done

ok mlq list --limit 1000 --json
assert_eq 40 "$(json "len(d['jobs'])" <<<"$OUT")" "jobs listed"
assert_eq 40 "$(json "len(set(j['id'] for j in d['jobs']))" <<<"$OUT")" "distinct jobs"
assert_eq big40 "$(json "d['jobs'][0]['name']" <<<"$OUT")" "newest first"
ok mlq list --json # the default limit (100) covers all 40
assert_eq 40 "$(json "len(d['jobs'])" <<<"$OUT")" "jobs listed by default"

ok mlq list --limit 5 --json
assert_eq 5 "$(json "len(d['jobs'])" <<<"$OUT")" "--limit 5"
assert_eq "big40 big39 big38 big37 big36" "$(json "' '.join(j['name'] for j in d['jobs'])" <<<"$OUT")" \
    "the newest five"
assert_contains "$ERR" "--limit N shows more" "a hint that there are more"
ok mlq list --limit 40
case "$ERR" in *"shows more"*) fail "hint with nothing more to show: $ERR" ;; esac

ok mlq status "${ids[@]}" --json
assert_eq 40 "$(json "len(d['jobs'])" <<<"$OUT")" "status of every job"
assert_eq "${ids[39]}" "$(json "d['jobs'][39]['id']" <<<"$OUT")" "status keeps the order asked"

for i in $(seq 1 24); do
    ok mlq schedule add "s$(printf %02d "$i")" --cron '0 3 * * *' --cpus 0.1 --mem 16M -- \
        /bin/echo "$BIG" "$BIG"
done
ok mlq schedule list --json
assert_eq 24 "$(json "len(d['schedules'])" <<<"$OUT")" "schedules listed"
assert_eq "s01 s24" "$(json "d['schedules'][0]['name'] + ' ' + d['schedules'][-1]['name']" <<<"$OUT")" \
    "schedules in order"
log "ok"
