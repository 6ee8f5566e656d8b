#!/usr/bin/env bash
# Quotas per team and pool, with a real scheduler and a worker with 4 fake
# GPUs: bad input gives exit 5/4/6 naming the problem and stores nothing;
# team vision (quota 1 GPU, borrow cap 1) runs 1 + 1 borrowed and its third
# job waits with `mlq why` naming the quota, while team nlp's jobs behind
# it in the queue start; with a raised cap it waits because nlp uses its
# quota, then borrows nlp's idle quota once nlp's jobs end; the dry run
# names the quota and whether it would borrow; per-user limits; a
# scheduler SIGKILL and restart with running jobs keeps the in-use figures
# equal to what runs (and the quota gauges of /metrics say so); quota
# changes under load (raised and lowered while
# 50 jobs flow) are never exceeded at any sample; removing a team removes
# its quotas; a cap per GPU type holds the jobs asking for that type.
# GET /api/v1/quotas gives admins the same figures.
IT_DEADLINE=200
. "$(dirname "$0")/lib.sh" "$@"

STATE=$T/state
HTTP_PORT=$(free_port)
SCHED_ARGS=(--heartbeat 1s --lease 5s --http "127.0.0.1:$HTTP_PORT")
start_scheduler "$STATE" "${SCHED_ARGS[@]}"
start_worker g1 "$T/spool-g1" --cpus 8 --mem 4G --gpus fake:4 --heartbeat 1s
chmod 0711 "$T" # jobs of daemon run as daemon when the worker is root

adm() { "$MLQ" admin "$@" --scheduler "$SCHED_ADDR"; }
ok "$MLQ" keygen --out "$T/daemon.key"
ok adm user add daemon --key "$T/daemon.key.pub"
# daemon's CLI: --scheduler after the command's words, before any "--"
dmn() {
    case $1 in
    admin) env MLQ_KEY="$T/daemon.key" "$MLQ" "$@" --scheduler "$SCHED_ADDR" ;;
    *) env MLQ_KEY="$T/daemon.key" "$MLQ" "$1" --scheduler "$SCHED_ADDR" "${@:2}" ;;
    esac
}
ok adm team add vision
ok adm team add nlp
ok adm user set "$IT_ME" --team vision
ok adm user set daemon --team nlp

quotas() {
    ok adm quota show --json
    printf '%s' "$OUT"
}
# quota_field TEAM EXPR: EXPR over the team's quota q ("" when it has none).
quota_field() {
    quotas | json "next((str($2) for q in d['quotas'] if q['team'] == '$1'), '')"
}
running_gpus() { # GPUs of vision's jobs RUNNING or ASSIGNED, by the job list
    ok mlq list --json
    json "sum(j.get('gpus', 0) for j in d['jobs'] if j['state'] in ('RUNNING', 'ASSIGNED')
              and j.get('team') == 'vision')" <<<"$OUT"
}
gpu_job() { # gpu_job CLI [ARGS...]: a 1-GPU job that sleeps until cancelled
    "$@" submit --gpus 1 --cpus 0.1 --mem 16M -- sleep 300
}

log "bad input"
# --- bad input: exit codes, named, nothing stored ---------------------------
expect_rc 5 dmn admin quota set nlp --gpus 2
assert_contains "$ERR" "only admins may manage quotas" "a user sets a quota"
expect_rc 4 adm quota set nosuch --gpus 2
assert_contains "$ERR" "no team named nosuch" "unknown team"
for bad in 0.001 -1 1.234 abc 1e3 h100:0.001 h100:1,h100:2 'h@:1' h100; do
    expect_rc 6 adm quota set vision --gpus "$bad"
    assert_contains "$ERR" "$bad" "message for --gpus $bad"
done
expect_rc 6 adm quota set vision --borrow-gpus x1
assert_contains "$ERR" "--borrow-gpus" "message names --borrow-gpus"
expect_rc 6 adm quota set vision --cpus -2
expect_rc 6 adm quota set vision --mem 12Q
expect_rc 6 adm quota set vision --user-max-running -3
expect_rc 6 adm quota set 'bad team!' --gpus 1
expect_rc 2 adm quota set
expect_rc 4 adm quota rm vision
assert_eq 0 "$(quotas | json "len(d['quotas'])")" "quotas stored after refusals"

log "nominal, borro"
# --- nominal, borrow cap, and other teams behind a waiting job -------------
ok adm quota set vision --gpus 1 --borrow-gpus 1
ok adm quota set nlp --gpus 2 --json
assert_eq 2.0 "$(json "d['quotas'][0]['nominal']['gpus']" <<<"$OUT")" "set --json"
V=()
for i in 1 2 3; do
    ok gpu_job mlq
    V+=("$OUT")
done
wait_state "${V[0]}" RUNNING 30
wait_state "${V[1]}" RUNNING 30
ok mlq why "${V[2]}"
assert_contains "$OUT" "team vision uses 2/1 GPUs of its quota in pool default" "why at cap"
assert_contains "$OUT" "borrowing 1 of 1 allowed: its borrow cap is reached" "why names the cap"
assert_eq 1.0 "$(quota_field vision "q['borrowed']['gpus']")" "vision borrows one GPU"
# nlp's jobs, behind vision's waiting one, start within nlp's quota
N=()
for i in 1 2; do
    ok gpu_job dmn
    N+=("$OUT")
done
wait_state "${N[0]}" RUNNING 30
wait_state "${N[1]}" RUNNING 30
assert_eq PENDING "$(job_state "${V[2]}")" "vision's third job"

# a raised cap: still waits, now because nlp uses its quota (4 of 4 GPUs)
ok adm quota set vision --gpus 1 --borrow-gpus 3
sleep 1
assert_eq PENDING "$(job_state "${V[2]}")" "vision's third job after the raise"
ok mlq why "${V[2]}"
assert_contains "$OUT" "borrowing 1 of 3 allowed because other teams use their quotas" \
    "why names the cohort"
ok mlq submit --dry-run --json --gpus 1 -- true
assert_eq vision "$(json "d['quota']['team']" <<<"$OUT")" "dry run's quota team"
assert_eq false "$(json "d['quota']['within_quota']" <<<"$OUT")" "dry run: held by the quota"
ok mlq submit --dry-run --gpus 1 -- true
assert_contains "$OUT" "quota: team vision uses 2/1 GPUs" "dry run's quota line"
# nlp's jobs end: vision borrows nlp's idle quota
ok mlq cancel "${N[@]}"
wait_state "${V[2]}" RUNNING 30
assert_eq 2.0 "$(quota_field vision "q['borrowed']['gpus']")" "vision borrows two"
assert_eq 3 "$(quota_field vision "q['running']")" "vision runs three"
ok dmn submit --dry-run --json --gpus 1 -- true
assert_eq true "$(json "d['quota']['within_quota'] and not d['quota']['borrows']" <<<"$OUT")" \
    "nlp's dry run: within its quota"

log "per-user"
# --- GET /api/v1/quotas: admins only, the same document ----------------------
ok adm token create quota-admin --admin
ADM_TOKEN=$(grep -oE 'mlq_[0-9a-f]{64}' <<<"$OUT" | head -1)
ok adm token create quota-user --user daemon
USR_TOKEN=$(grep -oE 'mlq_[0-9a-f]{64}' <<<"$OUT" | head -1)
hget() { curl -s -o "$T/resp" -w '%{http_code}' -H "Authorization: Bearer $1" \
    "http://127.0.0.1:$HTTP_PORT/api/v1/quotas"; }
assert_eq 200 "$(hget "$ADM_TOKEN")" "GET /api/v1/quotas as an admin"
python3 "$MLQ_SRC_DIR/tests/integration/openapi_check.py" "$MLQ_SRC_DIR/docs/openapi.yaml" \
    "GET /api/v1/quotas 200" <"$T/resp" || fail "quotas document: $(cat "$T/resp")"
assert_eq 2.0 "$(json "[q for q in d['quotas'] if q['team'] == 'vision'][0]['borrowed']['gpus']" \
    <"$T/resp")" "borrowed over HTTP"
assert_eq 403 "$(hget "$USR_TOKEN")" "GET /api/v1/quotas as a user"

# --- per-user limits ----------------------------------------------------------
ok adm quota set nlp --gpus 2 --user-max-running 1
ok gpu_job dmn
N1=$OUT
ok gpu_job dmn
N2=$OUT
wait_state "$N1" RUNNING 30
sleep 1
assert_eq PENDING "$(job_state "$N2")" "daemon's second job"
ok mlq why "$N2"
assert_contains "$OUT" "user daemon runs 1/1 jobs allowed by team nlp" "why names the user limit"
ok mlq cancel "$N1" "$N2"

log "SIGKILL"
# --- SIGKILL and restart: in use = what runs --------------------------------
kill -KILL "$SCHED_PID"
wait "$SCHED_PID" 2>/dev/null || true
start_scheduler "$STATE" "${SCHED_ARGS[@]}"
wait_until 'worker_up g1' 30 || fail "worker did not come back"
wait_until '[ "$(quota_field vision "q[\"used\"][\"gpus\"]")" = 3.0 ]' 20 ||
    fail "vision's use after the restart: $(quotas)"
assert_eq 3 "$(quota_field vision "q['running']")" "vision's running after the restart"
assert_eq "$(running_gpus)" 3 "jobs running after the restart"
assert_eq 0.0 "$(quota_field nlp "q['used']['gpus']")" "nlp's use after the restart"
ok adm metrics
assert_contains "$OUT" 'mlq_quota_gpus_used{team="vision",pool="default"} 3' "used gauge"
assert_contains "$OUT" 'mlq_quota_gpus_borrowed{team="vision",pool="default"} 2' "borrowed gauge"
assert_contains "$OUT" 'mlq_quota_gpus_nominal{team="nlp",pool="default"} 2' "nominal gauge"
ok mlq cancel "${V[@]}"
wait_until '[ "$(quota_field vision "q[\"used\"][\"gpus\"]")" = 0.0 ]' 20 ||
    fail "use left after the jobs ended: $(quotas)"

log "quota changes"
# --- quota changes under load -----------------------------------------------
ok adm quota rm nlp
ok adm quota set vision --gpus 2
ok mlq submit --array 1-50 --gpus 1 --cpus 0.1 --mem 16M -- sleep 0.3
# each phase: set the quota, let jobs started before it end (0.3 s), then
# sample: never more GPUs in use than the quota allows
for cap in 3 1 4 1; do
    ok adm quota set vision --gpus "$cap"
    sleep 0.8
    for s in 1 2 3; do
        used=$(quota_field vision "int(q['used']['gpus'])")
        [ "$used" -le "$cap" ] || fail "quota $cap: $used GPUs in use (sample $s)"
        run_now=$(running_gpus)
        [ "$run_now" -le "$cap" ] || fail "quota $cap: $run_now GPU jobs running (sample $s)"
        sleep 0.2
    done
done
ok adm quota set vision --gpus 4
wait_until '[ "$(mlq list --state PENDING --json | json "len(d[\"jobs\"])")" = 0 ]' 60 ||
    fail "jobs left pending under the raised quota"

log "per GPU type"
# --- caps per GPU type --------------------------------------------------------
ok adm quota set vision --gpus fake:1,h100:2.5 --json
assert_eq '{"fake": 1.0, "h100": 2.5}' "$(json "d['quotas'][0]['gpu_types']" <<<"$OUT")" "gpu_types"
assert_eq 3.5 "$(json "d['quotas'][0]['nominal']['gpus']" <<<"$OUT")" "typed GPUs sum up"
ok mlq submit --gpus fake:1 --cpus 0.1 --mem 16M -- sleep 300
F1=$OUT
ok mlq submit --gpus fake:1 --cpus 0.1 --mem 16M -- sleep 300
F2=$OUT
wait_state "$F1" RUNNING 30
ok mlq why "$F2"
assert_contains "$OUT" "team vision uses 1/1 fake GPUs of its quota in pool default" "why per type"
ok mlq submit --gpus 1 --cpus 0.1 --mem 16M -- true # any type: the total (3.5) allows it
wait_state "$OUT" SUCCEEDED 30
ok mlq cancel "$F1" "$F2"

log "a team"
# --- a team's removal takes its quotas --------------------------------------
ok adm user set daemon --no-team
ok adm quota set nlp --gpus 1
ok adm team rm nlp
assert_eq "" "$(quota_field nlp "q['team']")" "nlp's quota after the team's removal"
ok adm quota show vision
assert_contains "$OUT" "vision" "quota show TEAM"
# show TEAM: an unknown team is exit 4 naming it; an existing team without
# a quota is exit 0 with an empty list (and a line on stderr saying so).
expect_rc 4 adm quota show nosuch
assert_contains "$ERR" "no team named nosuch" "quota show of an unknown team names it"
ok adm team add bare
ok adm quota show bare --json
assert_eq "[]" "$(json "d['quotas']" <<<"$OUT")" "quota show of a team without a quota"
ok adm quota show bare
assert_eq "" "$OUT" "no table for a team without a quota"
assert_contains "$ERR" "team bare has no quota" "quota show says the team has none"
log "ok"
