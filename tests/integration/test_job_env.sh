#!/usr/bin/env bash
# The job's environment: `mlq submit` sends the submitter's environment
# (--export ALL by default), so a job submitted from an activated virtualenv
# runs the venv's python and sees PYTHONPATH; --export NONE leaves the base
# PATH only; --export A,B passes exactly those; --env VAR passes the
# submitter's value; the user's MLQ_* and CUDA_VISIBLE_DEVICES are replaced
# by mlq's; a variable set only in the worker daemon's environment never
# reaches a job; bad names are invalid requests (exit 6); an array's tasks
# all get the environment. A schedule's run
# sees MLQ_SCHEDULE and MLQ_SCHEDULED_TIME(_UTC) of the fire it is for (the
# scheduler runs with MLQ_TEST_TIME_SCALE=60: '* * * * *' fires about every
# second).
IT_DEADLINE=150
. "$(dirname "$0")/lib.sh" "$@"

export MLQ_TEST_TIME_SCALE=60
start_scheduler "$T/state"
unset MLQ_TEST_TIME_SCALE
WORKER_ONLY_VAR=from-the-worker start_worker w1 "$T/spool-w1" --cpus 4 --mem 4G --gpus 2
small=(--cpus 0.1 --mem 16M)
BASE_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# run_job ARGS...: submits (mlq submit ARGS...), waits for success, and
# leaves the job's stdout in OUT and its id in J.
run_job() {
    ok mlq submit "${small[@]}" "$@"
    J=$OUT
    ok mlq wait "$J" --timeout 30s
    ok mlq logs "$J"
}

# names_of: the variable names of `env` output on stdin, sorted, one line.
names_of() { sed -n 's/=.*//p' | sort | tr '\n' ' '; }

# value_of NAME: the value of NAME in the `env` output held in OUT.
value_of() { printf '%s\n' "$OUT" | sed -n "s/^$1=//p"; }

# --- an activated virtualenv, PYTHONPATH ------------------------------------------
python3 -m venv --without-pip "$T/venv" || fail "python3 -m venv failed (python3-venv)"
mkdir -p "$T/pylib"
echo 'WHERE = "pythonpath reached the job"' >"$T/pylib/envprobe.py"
OUT=$(
    # shellcheck source=/dev/null
    . "$T/venv/bin/activate"
    export PYTHONPATH=$T/pylib
    mlq submit "${small[@]}" -- python -c 'import sys, envprobe; print(sys.prefix); print(envprobe.WHERE)'
) || fail "submit from the venv"
J=$OUT
ok mlq wait "$J" --timeout 30s
ok mlq logs "$J"
assert_eq "$T/venv
pythonpath reached the job" "$OUT" "the venv's python and PYTHONPATH in the job"

# --- --export NONE: the base PATH and what mlq sets, nothing of the worker's -------
run_job --export NONE -- /usr/bin/env
assert_eq "$BASE_PATH" "$(value_of PATH)" "PATH with --export NONE"
want="CUDA_VISIBLE_DEVICES HOME LOGNAME MLQ_ATTEMPT MLQ_CPUS MLQ_GPUS MLQ_JOB_ID MLQ_WORKER NVIDIA_VISIBLE_DEVICES PATH SHELL USER "
got=$(printf '%s\n' "$OUT" | grep -v '^MLQ_WORKER_ADDR=' | names_of)
assert_eq "$want" "$got" "variable names with --export NONE"
assert_eq w1 "$(value_of MLQ_WORKER)" "MLQ_WORKER"
assert_eq "$(id -un)" "$(value_of USER)" "USER"
assert_eq "$(getent passwd "$(id -un)" | cut -d: -f6)" "$(value_of HOME)" "HOME"

# --- the default: the submitter's environment, not the worker's ----------------------
export SUBMITTER_VAR=from-the-submitter
run_job -- /usr/bin/env
assert_eq from-the-submitter "$(value_of SUBMITTER_VAR)" "a submitter's variable (--export ALL)"
assert_eq "$PATH" "$(value_of PATH)" "the submitter's PATH"
assert_eq "" "$(value_of WORKER_ONLY_VAR)" "a variable of the worker daemon's environment"
grep -q WORKER_ONLY_VAR=from-the-worker "/proc/$WORKER_PID/environ" ||
    fail "the worker does not have WORKER_ONLY_VAR: the check above proves nothing"

# --- an array's tasks all get the environment (kept once, for the array) ----------------
ok mlq submit "${small[@]}" --array 0-2 -- sh -c 'echo "$SUBMITTER_VAR/$MLQ_ARRAY_INDEX"'
ARR=$OUT
ok mlq wait "$ARR" --timeout 30s
for i in 0 1 2; do
    ok mlq logs "$ARR/$i"
    assert_eq "from-the-submitter/$i" "$OUT" "the environment of task $i"
done

# --- --export A,B: exactly those --------------------------------------------------------
export ENV_A=a ENV_B=b ENV_C=c
run_job --export ENV_A,ENV_B,ENV_NOT_SET -- /usr/bin/env
got=$(printf '%s\n' "$OUT" | grep -E '^(ENV_|SUBMITTER_VAR=|IT_JOB_TAG=)' | names_of)
assert_eq "ENV_A ENV_B " "$got" "variables sent with --export ENV_A,ENV_B"
assert_eq "$BASE_PATH" "$(value_of PATH)" "PATH when the list leaves it out"

# --- --env VAR, --env KEY=VALUE winning over an export ----------------------------------
run_job --export ENV_A --env ENV_C --env ENV_A=given -- /usr/bin/env
assert_eq c "$(value_of ENV_C)" "--env ENV_C (the submitter's value)"
assert_eq given "$(value_of ENV_A)" "--env ENV_A=given over the exported value"

# --- the user's MLQ_* and GPU variables are mlq's to set --------------------------------
export CUDA_VISIBLE_DEVICES=7 MLQ_JOB_ID=forged
run_job --gpus 1 --env MLQ_ATTEMPT=9 --env NVIDIA_VISIBLE_DEVICES=all --env MLQ_SCHEDULE=forged -- /usr/bin/env
unset CUDA_VISIBLE_DEVICES MLQ_JOB_ID
assert_eq "$J" "$(value_of MLQ_JOB_ID)" "MLQ_JOB_ID"
assert_eq 1 "$(value_of MLQ_ATTEMPT)" "MLQ_ATTEMPT"
gpu=$(value_of MLQ_GPUS)
case "$gpu" in 0 | 1) ;; *) fail "MLQ_GPUS is [$gpu], not one of the worker's GPUs" ;; esac
assert_eq "$gpu" "$(value_of CUDA_VISIBLE_DEVICES)" "CUDA_VISIBLE_DEVICES"
assert_eq "$gpu" "$(value_of NVIDIA_VISIBLE_DEVICES)" "NVIDIA_VISIBLE_DEVICES"
assert_eq "" "$(printf '%s\n' "$OUT" | grep '^MLQ_SCHEDULE')" "a forged MLQ_SCHEDULE"

# --- bad names, an unset --env VAR -----------------------------------------------------
expect_rc 6 mlq submit --env 1BAD=x -- true
assert_contains "$ERR" "'1BAD'" "the bad --env name named"
expect_rc 6 mlq submit --export ENV_A,BAD-NAME -- true
assert_contains "$ERR" "'BAD-NAME'" "the bad --export name named"
expect_rc 6 mlq submit --env ENV_NOT_SET_ANYWHERE -- true
assert_contains "$ERR" "ENV_NOT_SET_ANYWHERE is not set" "an unset --env VAR named"
BIG=$(head -c 40000 /dev/zero | tr '\0' x) expect_rc 6 mlq submit -- true
assert_contains "$ERR" "--export" "a too large environment points at --export"

# --- a schedule's runs know their schedule and fire time -----------------------------------
ok mlq schedule add nightly --cron '* * * * *' --timezone Europe/Paris --env MLQ_SCHEDULE=forged \
    "${small[@]}" -- /usr/bin/env
wait_until "[ \"\$(mlq schedule show nightly --json | json 'len(d[\"runs\"])')\" -ge 1 ]" 20 ||
    fail "the schedule never fired"
ok mlq schedule pause nightly
ok mlq schedule show nightly --json
RUN_JOB=$(json "d['runs'][-1]['job_id']" <<<"$OUT")
FIRE=$(json "d['runs'][-1]['fire_time']" <<<"$OUT")
ok mlq wait "$RUN_JOB" --timeout 30s
ok mlq logs "$RUN_JOB"
assert_eq nightly "$(value_of MLQ_SCHEDULE)" "MLQ_SCHEDULE"
utc=$(value_of MLQ_SCHEDULED_TIME_UTC)
assert_eq "${FIRE%.*}Z" "$utc" "MLQ_SCHEDULED_TIME_UTC is the run's fire time"
want=$(TZ=Europe/Paris date -d "$utc" +%Y-%m-%dT%H:%M:%S%:z)
assert_eq "$want" "$(value_of MLQ_SCHEDULED_TIME)" "MLQ_SCHEDULED_TIME in the schedule's zone"
ok mlq schedule rm nightly
log "ok"
