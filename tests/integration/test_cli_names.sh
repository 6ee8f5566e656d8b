#!/usr/bin/env bash
# Naming and finding jobs the way a data scientist does, with real daemons:
#   - status, cancel, wait, why and logs take the name of one of your active
#     jobs; an id prefix still wins; a name several of your active jobs
#     carry is exit 6 listing them (id, state, submitted); an unknown name,
#     or the name of an ended job, exit 4; another user's jobs never count;
#   - mlq list --name, --owner, --array, --state A,B, --since DATE|DUR,
#     filtered by the scheduler (paging and --limit still hold), with OWNER
#     and ELAPSED columns; a user lists everyone's jobs (as before) and never
#     sees anyone's environment;
#   - every human time carries its zone (TZ), schedules in their own zone;
#   - mlq status shows the GPU type, pool, required labels and priority.
IT_DEADLINE=150
. "$(dirname "$0")/lib.sh" "$@"

start_scheduler "$T/state"
start_worker w1 "$T/spool-w1" --cpus 4 --mem 2G
ME=$IT_ME

ok "$MLQ" keygen --out "$T/bob.key"
ok "$MLQ" --scheduler "$SCHED_ADDR" admin user add bob --key "$T/bob.key.pub"
bob() { env MLQ_KEY="$T/bob.key" "$MLQ" "$1" --scheduler "$SCHED_ADDR" "${@:2}"; }

# --- jobs by name ------------------------------------------------------------
ok mlq submit --name train --cpus 0.1 --mem 16M --env SECRET=hunter2-in-env -- sleep 300
TRAIN=$OUT
wait_state "$TRAIN" RUNNING 20
ok mlq submit --name evalrun --cpus 0.1 --mem 16M -- sleep 300
E1=$OUT
ok mlq submit --name evalrun --cpus 0.1 --mem 16M -- sleep 300
E2=$OUT
# bob is no account here: his job waits in a pool no worker serves
ok bob submit --name train --pool nowhere --cpus 0.1 --mem 16M -- sleep 300
BOBTRAIN=$OUT

ok mlq status train --json
assert_eq "$TRAIN" "$(json "d['id']" <<<"$OUT")" "status NAME names my active job (not bob's)"
ok bob status train --json
assert_eq "$BOBTRAIN" "$(json "d['id']" <<<"$OUT")" "bob's name names bob's job"
ok mlq why train
assert_contains "$OUT" "${TRAIN:0:8}" "why NAME"
ok mlq logs train
expect_rc 7 mlq wait train --timeout 1s # resolved, still running

expect_rc 6 mlq status evalrun
assert_contains "$ERR" 'several of your active jobs are named "evalrun"' "ambiguous name"
assert_contains "$ERR" "${E1:0:8}" "candidate 1 listed"
assert_contains "$ERR" "${E2:0:8}" "candidate 2 listed"
assert_contains "$ERR" "SUBMITTED" "candidates with their submit time"
expect_rc 6 mlq cancel evalrun
[ "$(job_state "$E1")" != CANCELLED ] || fail "an ambiguous cancel cancelled something"

expect_rc 4 mlq status nosuchname
assert_contains "$ERR" '"nosuchname"' "unknown name"

# an id prefix wins over a job named like it
ok mlq submit --name "${E1:0:6}" --cpus 0.1 --mem 16M -- sleep 300
ok mlq status "${E1:0:6}" --json
assert_eq "$E1" "$(json "d['id']" <<<"$OUT")" "id prefix wins over a name"

ok mlq cancel train
assert_contains "$ERR" "cancelled ${TRAIN:0:8}" "cancel NAME"
wait_state "$TRAIN" CANCELLED 20
expect_rc 4 mlq status train # ended: by id only
ok bob status train          # bob's is still active

# --- listing filters -----------------------------------------------------------
ok mlq list --name evalrun --json
assert_eq "[\"$E2\", \"$E1\"]" "$(json "[j['id'] for j in d['jobs']]" <<<"$OUT")" "list --name"
ok mlq list --owner bob --json
assert_eq "[\"$BOBTRAIN\"]" "$(json "[j['id'] for j in d['jobs']]" <<<"$OUT")" "list --owner"
ok mlq list --state cancelled,pending,running --name train --json
assert_eq "[\"$BOBTRAIN\", \"$TRAIN\"]" "$(json "[j['id'] for j in d['jobs']]" <<<"$OUT")" \
    "list --state A,B --name"
ok mlq list --state cancelled --json
assert_eq "[\"$TRAIN\"]" "$(json "[j['id'] for j in d['jobs']]" <<<"$OUT")" "list --state one"
ok mlq list --since 1h --json
assert_eq 5 "$(json "len(d['jobs'])" <<<"$OUT")" "list --since 1h"
ok mlq list --since "$(date -d tomorrow +%F)" --json
assert_eq 0 "$(json "len(d['jobs'])" <<<"$OUT")" "list --since tomorrow"
ok mlq list --since 2020-01-01 --limit 2 --json
assert_eq 2 "$(json "len(d['jobs'])" <<<"$OUT")" "list --since with --limit"
assert_contains "$ERR" "--limit N shows more" "filtered pages still say there is more"
expect_rc 2 mlq list --since yesterday
assert_contains "$ERR" "bad --since" "bad --since"
expect_rc 2 mlq list --state running,bogus

ok mlq submit --name sweep --array 0-3 --cpus 0.1 --mem 16M -- true
ARR=$OUT
ok mlq list --array "${ARR:0:8}" --json
assert_eq 4 "$(json "len(d['jobs'])" <<<"$OUT")" "list --array"
assert_eq "[0, 1, 2, 3]" "$(json "sorted(j['array_index'] for j in d['jobs'])" <<<"$OUT")" \
    "list --array lists its tasks"
expect_rc 6 mlq list --array "${E1:0:8}" # a job, not an array
# an array by its name, while a task of it is active
ok mlq submit --name grid --array 0-1 --pool nowhere --cpus 0.1 --mem 16M -- true
GRID=$OUT
ok mlq status grid
assert_contains "$OUT" "array:      $GRID" "status NAME of an array"
ok mlq cancel grid
assert_contains "$ERR" "cancelled 2 tasks of array ${GRID:0:8}" "cancel NAME of an array"

# table: OWNER and ELAPSED
ok mlq list --name train
echo "$OUT" | head -1 | grep -E 'OWNER +SUBMITTED +ELAPSED +EXIT' >/dev/null || fail "list header: $OUT"
echo "$OUT" | grep -E "^${BOBTRAIN:0:8} .* bob +[0-9-]+ [0-9:]+ [A-Z]+ +([0-9.]+[smh]|-)" >/dev/null ||
    fail "bob's row with owner and elapsed: $OUT"
echo "$OUT" | grep -E "^${TRAIN:0:8} .* $ME +[0-9-]+ [0-9:]+ [A-Z]+ +[0-9.]+[smh]" >/dev/null ||
    fail "the cancelled run shows how long it ran: $OUT"

# privacy: bob lists and reads alice's job, never its environment
ok bob list --owner "$ME" --json
assert_contains "$OUT" "$TRAIN" "bob lists my jobs"
case "$OUT" in *hunter2*) fail "another user got an environment in a listing: $OUT" ;; esac
ok bob status "$TRAIN" --json
case "$OUT" in *hunter2*) fail "another user got an environment in status: $OUT" ;; esac
expect_rc 4 bob status evalrun # my job's name means nothing to bob
expect_rc 5 bob cancel "$E1"
assert_contains "$ERR" "only they or an admin may cancel it" "cancel someone else's"

# --- times with their zone ---------------------------------------------------
run env TZ=Europe/Paris "$MLQ" status "$E1" --scheduler "$SCHED_ADDR"
echo "$OUT" | grep -E '^submitted: +[0-9-]+ [0-9:]+ CES?T$' >/dev/null || fail "status time zone: $OUT"
run env TZ=UTC "$MLQ" list --scheduler "$SCHED_ADDR" --name evalrun
echo "$OUT" | grep -E ' [0-9:]+ UTC ' >/dev/null || fail "list time zone: $OUT"
ok mlq schedule add nightly --cron '0 3 * * *' --timezone America/New_York --cpus 0.1 --mem 16M -- true
run env TZ=Europe/Paris "$MLQ" schedule show nightly --scheduler "$SCHED_ADDR"
echo "$OUT" | grep -E ' 03:00:00 E[SD]T' >/dev/null || fail "schedule times in its own zone: $OUT"
run env TZ=UTC "$MLQ" events --job "$E1" --scheduler "$SCHED_ADDR"
echo "$OUT" | grep -E ' [0-9:]+ UTC ' >/dev/null || fail "events time zone: $OUT"

# --- status shows the placement asked for ------------------------------------
ok mlq submit --name placed --gpus a100:2 --pool gpu --require zone=eu --require ib=yes \
    --priority 7 --cpus 0.1 --mem 16M -- true
P=$OUT
ok mlq status placed
assert_contains "$OUT" "gpus a100:2" "status: GPU type"
echo "$OUT" | grep -E '^pool: +gpu$' >/dev/null || fail "status: pool: $OUT"
echo "$OUT" | grep -E '^requires: +zone=eu, ib=yes$' >/dev/null || fail "status: labels: $OUT"
echo "$OUT" | grep -E '^priority: +7$' >/dev/null || fail "status: priority: $OUT"
ok mlq status "$P" --json
assert_eq "a100 gpu 7 ['zone=eu', 'ib=yes']" \
    "$(json "' '.join([d['gpu_type'], d['pool'], str(d['priority']), str(d['require'])])" <<<"$OUT")" \
    "status --json placement"
ok mlq status "$E1"
echo "$OUT" | grep -E '^requires: +none$' >/dev/null || fail "status without labels: $OUT"
ok mlq events --job placed # waits in pool gpu: active, named
assert_contains "$OUT" "${P:0:8}" "events --job NAME"
log "ok"
