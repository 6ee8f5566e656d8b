#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# Pools and labels: workers in pools a and b (and the default pool) with
# labels; jobs with --pool / --require run only on matching workers; a job
# whose pool has no worker, or whose labels no worker in its pool carries,
# stays PENDING and `mlq why` says why; a worker joining its pool runs it.
IT_DEADLINE=220
. "$(dirname "$0")/lib.sh" "$@"

start_scheduler "$T/state"
start_worker a1 "$T/spool-a1" --cpus 1 --pool a --label zone=eu --label ib=hdr
start_worker b1 "$T/spool-b1" --cpus 1 --pool b --label zone=us
start_worker d1 "$T/spool-d1" --cpus 1

ok mlq workers --json
w() { json "[w for w in d['workers'] if w['name'] == '$1'][0]['$2']" <<<"$OUT"; }
assert_eq a "$(w a1 pool)" "pool of a1"
assert_eq '["zone=eu", "ib=hdr"]' "$(w a1 labels)" "labels of a1"
assert_eq b "$(w b1 pool)" "pool of b1"
assert_eq default "$(w d1 pool)" "pool of a worker started without --pool"
assert_eq '[]' "$(w d1 labels)" "labels of d1"
ok mlq workers
assert_contains "$OUT" "POOL" "workers table has a POOL column"
assert_contains "$OUT" "zone=eu,ib=hdr" "workers table shows labels"

expect_rc 6 mlq submit --pool 'a b' -- true
expect_rc 6 mlq submit --require zone -- true
expect_rc 6 mlq submit --require 'zo ne=eu' -- true

submit() { mlq submit --cpus 0.1 --mem 16M "$@" -- true; }
on_worker() { job_field "$1" worker; }

ok submit --pool a
PA=$OUT
ok submit --pool b
PB=$OUT
ok submit
PD=$OUT
ok submit --pool a --require zone=eu --require ib=hdr
PAL=$OUT
ok submit --pool b --require zone=us
PBL=$OUT
PA_MORE=()
for _ in 1 2 3; do
    ok submit --pool a
    PA_MORE+=("$OUT")
done
expect_rc 0 mlq wait "$PA" "$PB" "$PD" "$PAL" "$PBL" "${PA_MORE[@]}" --timeout 60s
assert_eq a1 "$(on_worker "$PA")" "worker of a --pool a job"
assert_eq b1 "$(on_worker "$PB")" "worker of a --pool b job"
assert_eq d1 "$(on_worker "$PD")" "worker of a job without --pool"
assert_eq a1 "$(on_worker "$PAL")" "worker of a --pool a --require zone=eu,ib=hdr job"
assert_eq b1 "$(on_worker "$PBL")" "worker of a --pool b --require zone=us job"
for j in "${PA_MORE[@]}"; do
    assert_eq a1 "$(on_worker "$j")" "worker of job $j of pool a"
done

# Jobs nobody can run: they wait and say why.
ok submit --pool c
PC=$OUT
ok submit --require zone=eu # the default pool has no such worker
LBL=$OUT
ok submit --pool b --require zone=eu
BLBL=$OUT
sleep 2
for j in "$PC" "$LBL" "$BLBL"; do
    assert_eq PENDING "$(job_state "$j")" "job $j that no worker matches"
done
ok mlq why "$PC" --json
assert_eq pool "$(json "d['blocker']" <<<"$OUT")" "blocker of a job for an empty pool"
assert_contains "$(json "d['text']" <<<"$OUT")" "pool c" "why text of a job for pool c"
ok mlq why "$PC"
assert_contains "$OUT" "${PC:0:8} PENDING: " "human why of the pool-c job"
assert_contains "$OUT" "pool" "human why names the pool"
ok mlq why "$LBL" --json
assert_eq labels "$(json "d['blocker']" <<<"$OUT")" "blocker of a job whose labels no default worker has"
ok mlq why "$BLBL" --json
assert_eq labels "$(json "d['blocker']" <<<"$OUT")" "blocker of a pool-b job requiring zone=eu"

# A worker joining pool c takes the waiting job; the others keep waiting.
start_worker c1 "$T/spool-c1" --cpus 1 --pool c
expect_rc 0 mlq wait "$PC" --timeout 30s
assert_eq c1 "$(on_worker "$PC")" "worker of the pool-c job once c1 joined"
assert_eq PENDING "$(job_state "$LBL")" "the labelled job after c1 joined"
ok mlq cancel "$LBL" "$BLBL"
