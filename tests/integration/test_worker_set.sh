#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# `mlq admin worker set` and `mlq workers --summary` with real daemons:
# an admin moves a worker to another pool, labels it and reduces what it
# offers; placement follows at once (a job pinned to the new pool starts, a
# job pinned to the pool it left waits, a job bigger than the new offer
# waits with `mlq why` naming the admin's limit); `mlq workers` shows both
# the override and what the worker says; the override outlives a scheduler
# restart and the worker's restart; --reset goes back to what the worker
# reports; bad values are refused (exit 6), unknown workers (exit 4),
# non-admins (exit 5); it is recorded as an event; `mlq admin worker rm`
# forgets a stopped worker and its override. --summary is checked against
# known workers: two pools, a drained worker, GPUs of two types, a running
# job holding one.
IT_DEADLINE=240
. "$(dirname "$0")/lib.sh" "$@"

STATE=$T/state
SCHED_ARGS=(--heartbeat 1s --lease 5s)
start_scheduler "$STATE" "${SCHED_ARGS[@]}"
W1_ARGS=(--cpus 4 --mem 4G --gpus a100:2 --heartbeat 1s)
start_worker w1 "$T/spool-w1" "${W1_ARGS[@]}"
W1_PID=$WORKER_PID
start_worker w2 "$T/spool-w2" --cpus 2 --mem 2G --gpus h100:2 --pool gpu --heartbeat 1s
start_worker w3 "$T/spool-w3" --cpus 2 --mem 2G --pool gpu --heartbeat 1s
W3_PID=$WORKER_PID

adm() { "$MLQ" --scheduler "$SCHED_ADDR" admin "$@"; }
wj() { mlq workers --json | json "[w for w in d['workers'] if w['name'] == '$1'][0]$2"; }
why() { mlq why "$1" --json | json "d['$2']"; }
held() { # held NAME ARGS...: a job that runs until $T/release-NAME exists
    local name=$1
    shift
    mlq submit --name "$name" --mem 64M "$@" -- \
        sh -c 'while [ ! -e "$1" ]; do sleep 0.1; done' h "$T/release-$name"
}

# ---- refusals change nothing
expect_rc 4 adm worker set nosuch --cpus 1
expect_rc 6 adm worker set w1 --cpus 8
assert_contains "$ERR" "reports 4 CPUs" "offering more CPUs than w1 has"
expect_rc 6 adm worker set w1 --mem 8G
expect_rc 6 adm worker set w1 --gpus 3
expect_rc 6 adm worker set w1 --gpus h100:1
assert_contains "$ERR" "type h100" "capping a GPU type w1 does not have"
expect_rc 6 adm worker set w1 --cpus abc
assert_contains "$ERR" "--cpus" "the bad value is named"
expect_rc 6 adm worker set w1 --label "no label"
assert_contains "$ERR" "--label" "the bad label is named"
expect_rc 6 adm worker set w1 --pool "a/b"
expect_rc 2 adm worker set w1
ok "$MLQ" keygen --out "$T/bob.key"
ok adm user add bob --key "$T/bob.key.pub"
expect_rc 5 env MLQ_KEY="$T/bob.key" "$MLQ" --scheduler "$SCHED_ADDR" admin worker set w1 --cpus 1
assert_eq false "$(wj w1 "['set_by_admin']")" "w1 after refused changes"
assert_eq 4.0 "$(wj w1 "['cpus']")" "w1's CPUs after refused changes"

# ---- pool and labels: placement follows at once
ok mlq submit --pool batch --require zone=eu --cpus 1 --mem 64M -- true
JB=$OUT
sleep 1.5
assert_eq PENDING "$(job_state "$JB")" "job pinned to a pool no worker is in"
ok adm worker set w1 --pool batch --label zone=eu
assert_contains "$OUT" "w1: pool batch (set by admin; worker says default)" "set prints the worker"
wait_state "$JB" SUCCEEDED 20
assert_eq w1 "$(job_field "$JB" worker)" "worker of the job pinned to the new pool"
ok mlq workers
assert_contains "$OUT" "w1: pool batch (set by admin; worker says default)" "workers shows both pools"
assert_contains "$OUT" "labels zone=eu (set by admin; worker says -)" "workers shows both labels"
assert_eq batch "$(wj w1 "['pool']")" "pool in effect"
assert_eq default "$(wj w1 "['reported']['pool']")" "pool the worker reports"
assert_eq '["zone=eu"]' "$(wj w1 "['labels']")" "labels in effect"
# w1 left pool default: a job pinned there is not placed on it any more
ok mlq submit --cpus 1 --mem 64M -- true
JD=$OUT
sleep 1.5
assert_eq PENDING "$(job_state "$JD")" "job pinned to the pool w1 left"
assert_eq pool "$(why "$JD" blocker)" "why the job pinned to the pool w1 left waits"

# ---- fewer CPUs: a job needing more waits, naming the admin's limit
ok adm worker set w1 --cpus 2
assert_eq 2.0 "$(wj w1 "['cpus']")" "CPUs in effect"
assert_eq 4.0 "$(wj w1 "['reported']['cpus']")" "CPUs the worker reports"
ok mlq submit --pool batch --cpus 3 --mem 64M -- true
JBIG=$OUT
sleep 1.5
assert_eq PENDING "$(job_state "$JBIG")" "job bigger than the offer"
assert_eq admin_limit "$(why "$JBIG" blocker)" "blocker of the job bigger than the offer"
assert_contains "$(why "$JBIG" text)" "an admin limited" "why names the admin's limit"
ok mlq submit --pool batch --cpus 2 --mem 64M -- true
J2=$OUT
wait_state "$J2" SUCCEEDED 20

# ---- fewer GPUs of one type; one running job holds the one left
ok adm worker set w2 --gpus h100:1
assert_eq 1 "$(wj w2 "['gpus']")" "GPUs offered by w2"
assert_eq 2 "$(wj w2 "['reported']['gpus']")" "GPUs w2 reports"
assert_eq '[false, true]' "$(wj w2 "['gpu_list']" | json "[g['withheld'] for g in d]")" \
    "the GPU w2 no longer offers"
ok mlq workers --gpus
assert_contains "$OUT" "w2 gpu1 h100 - free withheld by admin" "workers --gpus marks it"
ok held g1 --pool gpu --cpus 1 --gpus h100:1
JG1=$OUT
wait_state "$JG1" RUNNING 20
assert_eq w2 "$(job_field "$JG1" worker)" "worker of the GPU job"
ok mlq submit --pool gpu --cpus 1 --mem 64M --gpus h100:2 -- true
JG2=$OUT
sleep 1.5
assert_eq admin_limit "$(why "$JG2" blocker)" "blocker of a job wanting the withheld GPU"
ok mlq cancel "$JG2"

# ---- summary: pools batch (w1) and gpu (w2 up, w3 drained)
ok mlq drain w3 --reason "summary test"
ok mlq workers --summary --json
S=$OUT
sj() { json "$1" <<<"$S"; }
assert_eq '["batch", "gpu"]' "$(sj "[p['pool'] for p in d['pools']]")" "pools of the summary"
assert_eq '[1, 1, 0, 0, 0]' "$(sj "[d['pools'][0][k] for k in ('nodes', 'up', 'drained', 'down', 'unhealthy')]")" "batch counts"
assert_eq '[2, 1, 1, 0, 0]' "$(sj "[d['pools'][1][k] for k in ('nodes', 'up', 'drained', 'down', 'unhealthy')]")" "gpu counts"
assert_eq '{"free": 2.0, "total": 2.0}' "$(sj "d['pools'][0]['cpus']")" "batch CPUs (the admin's 2 of 4)"
assert_eq '{"a100": {"free": 2, "total": 2}}' "$(sj "d['pools'][0]['gpus']")" "batch GPUs"
# gpu: w2 (2 CPUs, 1 in use) and drained w3 (2 CPUs, none free for jobs)
assert_eq '{"free": 1.0, "total": 4.0}' "$(sj "d['pools'][1]['cpus']")" "gpu CPUs"
assert_eq "$((4 << 30))" "$(sj "d['pools'][1]['mem']['total']")" "gpu memory total"
assert_eq "$(((2 << 30) - (64 << 20)))" "$(sj "d['pools'][1]['mem']['free']")" "gpu memory free"
assert_eq '{"h100": {"free": 0, "total": 1}}' "$(sj "d['pools'][1]['gpus']")" "gpu GPUs"
assert_eq '[3, 2, 1]' "$(sj "[d['total'][k] for k in ('nodes', 'up', 'drained')]")" "total counts"
assert_eq '{"free": 3.0, "total": 6.0}' "$(sj "d['total']['cpus']")" "total CPUs"
assert_eq '{"a100": {"free": 2, "total": 2}, "h100": {"free": 0, "total": 1}}' \
    "$(sj "d['total']['gpus']")" "total GPUs"
ok mlq workers --summary
assert_contains "$OUT" "a100 2/2" "summary table, batch GPUs"
assert_contains "$OUT" "h100 0/1" "summary table, gpu GPUs"
assert_contains "$(grep '^TOTAL' <<<"$OUT")" "a100 2/2, h100 0/1" "summary table, TOTAL line"
touch "$T/release-g1"
wait_state "$JG1" SUCCEEDED 20

# ---- the override outlives a scheduler restart and the worker's restart
kill -KILL "$SCHED_PID"
wait "$SCHED_PID" 2>/dev/null || true
start_scheduler "$STATE" "${SCHED_ARGS[@]}"
wait_until "worker_up w1 && worker_up w2" 20 || fail "workers did not come back"
assert_eq batch "$(wj w1 "['pool']")" "w1's pool after a scheduler restart"
assert_eq 2.0 "$(wj w1 "['cpus']")" "w1's CPUs after a scheduler restart"
assert_eq 1 "$(wj w2 "['gpus']")" "w2's GPUs after a scheduler restart"
assert_eq PENDING "$(job_state "$JBIG")" "big job after a scheduler restart"
stop_pid "$W1_PID"
wait_until "! worker_up w1" 10 || fail "w1 did not stop"
start_worker w1 "$T/spool-w1" "${W1_ARGS[@]}"
assert_eq batch "$(wj w1 "['pool']")" "w1's pool after it re-registered"
assert_eq 2.0 "$(wj w1 "['cpus']")" "w1's CPUs after it re-registered"
assert_eq '["zone=eu"]' "$(wj w1 "['labels']")" "w1's labels after it re-registered"
sleep 1.5
assert_eq PENDING "$(job_state "$JBIG")" "big job after w1 re-registered"

# ---- --reset: back to what w1 reports; the job pinned to default runs
ok adm worker set w1 --reset
assert_eq false "$(wj w1 "['set_by_admin']")" "w1 after --reset"
assert_eq default "$(wj w1 "['pool']")" "w1's pool after --reset"
assert_eq 4.0 "$(wj w1 "['cpus']")" "w1's CPUs after --reset"
wait_state "$JD" SUCCEEDED 20
assert_eq w1 "$(job_field "$JD" worker)" "the job pinned to default, once w1 is back"
ok mlq cancel "$JBIG"

# ---- recorded as events, by whom
ok mlq events --json
assert_eq 4 "$(json "len([e for e in d['events'] if e['kind'] == 'worker_set'])" <<<"$OUT")" \
    "worker_set events"
assert_contains "$(json "[e['detail'] for e in d['events'] if e['kind'] == 'worker_set']" <<<"$OUT")" \
    "pool batch, label zone=eu" "event detail"
assert_contains "$(json "[e['actor'] for e in d['events'] if e['kind'] == 'worker_set'][0]" <<<"$OUT")" \
    "$IT_ME" "event actor"

# ---- rm: refused while the worker holds a live attempt; a stopped worker
# and its override are forgotten
ok held r1 --pool gpu --cpus 1
JR=$OUT
wait_state "$JR" RUNNING 20
expect_rc 1 adm worker rm w2
assert_contains "$ERR" "live attempt" "rm of a worker running a job"
touch "$T/release-r1"
wait_state "$JR" SUCCEEDED 20
ok adm worker set w3 --pool retired
stop_pid "$W3_PID"
wait_until "! worker_up w3" 10 || fail "w3 did not stop"
ok adm worker rm w3
ok mlq workers --json
assert_eq false "$(json "any(w['name'] == 'w3' for w in d['workers'])" <<<"$OUT")" "w3 forgotten"
expect_rc 4 adm worker set w3 --cpus 1
# it comes back, should it register again, as it reports itself
start_worker w3 "$T/spool-w3" --cpus 2 --mem 2G --pool gpu --heartbeat 1s
assert_eq false "$(wj w3 "['set_by_admin']")" "w3 back after rm"
assert_eq gpu "$(wj w3 "['pool']")" "w3's pool back after rm"
log "ok"
