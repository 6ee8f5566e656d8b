#!/usr/bin/env bash
# The placement policy a scheduler uses without --placement is pack, and
# best-fit stays selectable: with one GPU job on an 8-GPU worker and an
# idle 4-GPU worker, the next 1-GPU job goes where the used worker has room
# under pack (an idle worker is opened last) and to the 4-GPU worker under
# best-fit (fewest GPUs left over). `mlq submit --dry-run` and `mlq why`
# name the worker the policy in force would choose.
IT_DEADLINE=120
. "$(dirname "$0")/lib.sh" "$@"

conf=$T/sched.conf
printf '# no placement key: the default\n' >"$conf"
start_scheduler "$T/state" --config "$conf"
start_worker big "$T/spool-big" --cpus 4 --mem 2G --gpus 8

# A sleeper on big makes it a used worker and puts a 1-GPU shape in the mix.
ok mlq submit --cpus 0.5 --mem 64M --gpus 1 -- sleep 300
A=$OUT
wait_state "$A" RUNNING 30
start_worker small "$T/spool-small" --cpus 4 --mem 2G --gpus 4

# Default (pack): the dry run and the real placement both take big.
ok mlq submit --dry-run --json --cpus 0.5 --mem 64M --gpus 1 -- true
assert_eq big "$(json "d['would_start']['worker']" <<<"$OUT")" "dry-run worker under the default"
ok mlq submit --cpus 0.5 --mem 64M --gpus 1 -- sleep 300
B=$OUT
wait_state "$B" RUNNING 30
assert_eq big "$(job_field "$B" worker)" "worker of a 1-GPU job under the default policy"
assert_eq 2 "$(mlq workers --json | json "[w['gpus_used'] for w in d['workers'] if w['name'] == 'big'][0]")" \
    "GPUs used on big under the default policy"

# best-fit on SIGHUP: the 4-GPU worker leaves fewer GPUs over.
printf 'placement = best-fit\n' >"$conf"
kill -HUP "$SCHED_PID"
wait_until "grep -q 'reload: read $conf; applied: placement' '$T/logs/scheduler.log'" 10 ||
    fail "placement = best-fit not applied on SIGHUP"
ok mlq submit --dry-run --json --cpus 0.5 --mem 64M --gpus 1 -- true
assert_eq small "$(json "d['would_start']['worker']" <<<"$OUT")" "dry-run worker under best-fit"
ok mlq submit --cpus 0.5 --mem 64M --gpus 1 -- sleep 300
C=$OUT
wait_state "$C" RUNNING 30
assert_eq small "$(job_field "$C" worker)" "worker of a 1-GPU job under best-fit"

ok mlq cancel "$A" "$B" "$C"
log "placement default: ok"
