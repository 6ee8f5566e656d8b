#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# End to end on a local cluster from `mlq up`: a job from submit to its exit
# code, logs, environment, listings, a failing job, id prefixes, `mlq down`.
# Every CLI call goes without --scheduler: the address must come from the
# client config that `mlq up` wrote.
IT_DEADLINE=200
. "$(dirname "$0")/lib.sh" "$@"

STATE=$T/state
mlq_up "$STATE" --workers 2 --cpus 1 --mem 1G --gpus 0
[ -s "$MLQ_CONFIG" ] || fail "mlq up wrote no client config at $MLQ_CONFIG"
assert_contains "$(cat "$MLQ_CONFIG")" "$UP_ADDR" "client config names the scheduler"
[ -s "$STATE/scheduler.pid" ] || fail "no $STATE/scheduler.pid"
SCHED=$(pidfile_pid "$STATE/scheduler.pid")
pid_alive "$SCHED" || fail "scheduler from mlq up not running"
mapfile -t WORKER_PIDFILES < <(find "$STATE" -name worker.pid)
assert_eq 2 "${#WORKER_PIDFILES[@]}" "worker pid files under the state dir"
DAEMONS=("$SCHED")
for f in "${WORKER_PIDFILES[@]}"; do
    DAEMONS+=("$(pidfile_pid "$f")")
done

# --- workers: two, UP, with the declared resources ------------------------
wait_until "[ \"\$(mlq workers --json | json \"len([w for w in d['workers'] if w['state'] == 'UP'])\")\" = 2 ]" 15 ||
    fail "2 workers not UP: $(mlq workers --json 2>&1)"
ok mlq workers --json
W=$OUT
assert_eq 2 "$(json "len(d['workers'])" <<<"$W")" "workers listed"
assert_eq true "$(json "all(float(w['cpus']) == 1.0 and w['mem'] == 1073741824 and w['gpus'] == 0 for w in d['workers'])" <<<"$W")" \
    "declared resources in workers --json: $W"
assert_eq true "$(json "all(k in w for w in d['workers'] for k in ['name','state','cpus','cpus_used','mem','mem_used','gpus','gpus_used','running','last_seen'])" <<<"$W")" \
    "workers --json fields: $W"
WORKER_NAMES=$(json "' '.join(sorted(w['name'] for w in d['workers']))" <<<"$W")
ok mlq workers
for n in $WORKER_NAMES; do assert_contains "$OUT" "$n" "mlq workers (text)"; done

# --- a job that shows its argv, environment and cwd ------------------------
mkdir -p "$T/wd"
# The script prints each argument between <>, the MLQ_* variables, FOO,
# the working directory, and one line to stderr.
SCRIPT='for a in "$@"; do printf "arg=<%s>\n" "$a"; done
printf "JOB=%s\nATTEMPT=%s\nCPUS=%s\nGPUS=%s\nCVD=<%s>\nFOO=<%s>\nPWD=%s\n" \
  "$MLQ_JOB_ID" "$MLQ_ATTEMPT" "$MLQ_CPUS" "$MLQ_GPUS" "${CUDA_VISIBLE_DEVICES-unset}" "$FOO" "$(pwd -P)"
echo "this-goes-to-stderr" >&2'
ARGS=("two words" "it's" 'say "hi"' '$HOME' '' 'back\slash' '*')
ok mlq submit --name envjob --cpus 0.5 --mem 64M --env "FOO=bar baz" --env MLQ_IT_X=1 \
    --workdir "$T/wd" -- sh -c "$SCRIPT" sh "${ARGS[@]}"
J1=$OUT
[[ "$J1" =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]] ||
    fail "submit must print the job id alone, got [$J1]"

expect_rc 0 mlq wait "$J1" --timeout 60s

# status, text
ok mlq status "$J1"
assert_contains "$OUT" SUCCEEDED "status text"
assert_contains "$OUT" "${J1:0:8}" "status text shows the short id"
assert_contains "$OUT" envjob "status text shows the name"

# status, JSON
ok mlq status "$J1" --json
S=$OUT
for k in id name owner state reason argv workdir cpus mem gpus submit_time start_time end_time \
    attempt attempt_id worker gpu_ids exit_code signal; do
    assert_eq true "$(json "'$k' in d" <<<"$S")" "status --json has field $k"
done
assert_eq "$J1" "$(json "d['id']" <<<"$S")" "status id"
assert_eq envjob "$(json "d['name']" <<<"$S")" "status name"
assert_eq "$(id -un)" "$(json "d['owner']" <<<"$S")" "status owner"
assert_eq SUCCEEDED "$(json "d['state']" <<<"$S")" "status state"
assert_eq 0 "$(json "d['exit_code']" <<<"$S")" "status exit_code"
assert_eq 1 "$(json "d['attempt']" <<<"$S")" "status attempt"
assert_eq "$T/wd" "$(json "d['workdir']" <<<"$S")" "status workdir"
assert_eq 0.5 "$(json "float(d['cpus'])" <<<"$S")" "status cpus"
assert_eq 67108864 "$(json "d['mem']" <<<"$S")" "status mem"
assert_eq 0 "$(json "d['gpus']" <<<"$S")" "status gpus"
want_argv=$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1:]))' sh -c "$SCRIPT" sh "${ARGS[@]}")
assert_eq "$want_argv" "$(json "d['argv']" <<<"$S")" "status argv"
WNAME=$(json "d['worker']" <<<"$S")
assert_contains " $WORKER_NAMES " " $WNAME " "status worker is one of ours"
assert_eq true "$(json "bool(d['start_time']) and bool(d['end_time']) and bool(d['submit_time'])" <<<"$S")" \
    "status times set"

# logs: stdout has exactly the arguments, in order
ok mlq logs "$J1"
LOG=$OUT
got_args=$(grep '^arg=' <<<"$LOG" || true)
want_args=$(printf 'arg=<%s>\n' "${ARGS[@]}")
assert_eq "$want_args" "$got_args" "arguments as the job saw them"
assert_contains "$LOG" "JOB=$J1" "MLQ_JOB_ID"
assert_contains "$LOG" "ATTEMPT=1" "MLQ_ATTEMPT"
assert_contains "$LOG" "FOO=<bar baz>" "--env FOO"
assert_contains "$LOG" "PWD=$T/wd" "working directory from --workdir"
assert_eq "GPUS=" "$(grep '^GPUS=' <<<"$LOG")" "MLQ_GPUS (the granted GPU ids) empty without GPUs"
assert_contains "$LOG" "CVD=<>" "CUDA_VISIBLE_DEVICES set and empty without GPUs"
cpus=$(sed -n 's/^CPUS=//p' <<<"$LOG")
assert_eq 0.5 "$(python3 -c "print(float('$cpus'))")" "MLQ_CPUS"
case "$LOG" in *this-goes-to-stderr*) fail "stderr line in stdout log" ;; esac
ok mlq logs --stderr "$J1"
assert_eq this-goes-to-stderr "$OUT" "logs --stderr"

# an 8-character prefix works like the full id
ok mlq status "${J1:0:8}" --json
assert_eq "$J1" "$(json "d['id']" <<<"$OUT")" "status by 8-char prefix"
ok mlq logs "${J1:0:8}"
assert_eq "$LOG" "$OUT" "logs by prefix"

# --- submit --json ----------------------------------------------------------
ok mlq submit --json --cpus 0.5 --mem 64M -- true
JJ=$(json "d['id']" <<<"$OUT")
[[ "$JJ" =~ ^[0-9a-f-]{36}$ ]] || fail "submit --json: $OUT"
expect_rc 0 mlq wait "$JJ" --timeout 60s

# --- default workdir is the submit directory -------------------------------
mkdir -p "$T/here"
J2=$(cd "$T/here" && mlq submit -- sh -c 'pwd -P')
expect_rc 0 mlq wait "$J2" --timeout 60s
ok mlq logs "$J2"
assert_eq "$T/here" "$OUT" "default working directory"

# --- a failing job ---------------------------------------------------------
ok mlq submit --name failer -- sh -c 'echo about to fail; exit 3'
J3=$OUT
expect_rc 1 mlq wait "$J3" --timeout 60s
ok mlq status "$J3" --json
assert_eq FAILED "$(json "d['state']" <<<"$OUT")" "failed job state"
assert_eq 3 "$(json "d['exit_code']" <<<"$OUT")" "failed job exit_code"
ok mlq status "$J3"
assert_contains "$OUT" FAILED "status text of the failed job"
# wait on several: one failed -> 1
expect_rc 1 mlq wait "$J1" "$J3" --timeout 60s
expect_rc 0 mlq wait "$J1" "$J2" --timeout 60s

# --- a running job, list filters, newest first ------------------------------
ok mlq submit --name sleeper -- sleep 120
J4=$OUT
wait_state "$J4" RUNNING 30
ok mlq list --json
L=$OUT
assert_eq "[\"$J4\", \"$J3\", \"$J2\", \"$JJ\", \"$J1\"]" "$(json "[j['id'] for j in d['jobs']]" <<<"$L")" \
    "list --json, newest first"
ok mlq list --state running --json
assert_eq "[\"$J4\"]" "$(json "[j['id'] for j in d['jobs']]" <<<"$OUT")" "list --state running"
ok mlq list --state succeeded --json
assert_eq "[\"$J2\", \"$JJ\", \"$J1\"]" "$(json "[j['id'] for j in d['jobs']]" <<<"$OUT")" "list --state succeeded"
ok mlq list --limit 2 --json
assert_eq "[\"$J4\", \"$J3\"]" "$(json "[j['id'] for j in d['jobs']]" <<<"$OUT")" "list --limit 2"
ok mlq list
for j in "$J1" "$J2" "$J3" "$J4"; do assert_contains "$OUT" "${j:0:8}" "list (text)"; done
# a running job holds its resources on its worker
ok mlq workers --json
assert_eq 1 "$(json "sum(w['running'] for w in d['workers'])" <<<"$OUT")" "running jobs in workers --json"
expect_rc 7 mlq wait "$J4" --timeout 1s
ok mlq cancel "$J4"
wait_state "$J4" CANCELLED 20
expect_rc 1 mlq wait "$J4" --timeout 20s

# --- down stops every daemon ------------------------------------------------
ok "$MLQ" down --state-dir "$STATE"
for p in "${DAEMONS[@]}"; do
    wait_until "! pid_alive $p" 15 || fail "daemon $p still running after mlq down"
done
expect_rc 3 "$MLQ" list --timeout 1s
