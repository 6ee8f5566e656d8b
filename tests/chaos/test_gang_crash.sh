#!/usr/bin/env bash
# Chaos part 8, the scheduler SIGKILLed while it places and runs gangs: 4
# workers on loopback, gangs of 2 to 4 nodes (tests/chaos/gang_job.py: each
# rank stamps its start, waits at a file barrier until every rank of its
# attempt has started, sleeps, exits as told) submitted while the scheduler
# is killed at random moments and restarted on the same state dir: during
# the submissions and placements (all-or-nothing bookings, ASSIGNs leaving)
# and then during the gangs' runs. Afterwards (tests/chaos/check_gangs.py):
#   - every gang is terminal with the state its script implies, a failing
#     one after RETRIES + 1 attempts, a succeeding one after exactly one
#     attempt in which every rank exited 0;
#   - no node left running alone: no rank waited at its barrier past the
#     limit, and every rank of an attempt that not all ranks reached was
#     stopped;
#   - no gang attempt started twice (one START per attempt and rank), and
#     no rank of a later attempt started before those of the earlier one
#     had ended;
#   - no resources leaked: `mlq workers` shows no CPU used and nothing
#     running on any worker; PRAGMA integrity_check passes.
# Then one gang loses a node while the scheduler is down (the scheduler
# killed, then the whole tree of one worker): after the restart the lost
# part's peers are stopped and the gang runs again as one elsewhere.
#
# CI variant: 40 gangs, 6 kills or more (up to 24 while submissions go on)
# then 3 kills during runs. MLQ_CHAOS_FULL=1: 200 gangs, 20 kills or more,
# then 10. MLQ_CHAOS_SEED fixes the workload and the kill moments.
IT_DEADLINE=${IT_DEADLINE:-$([ "${MLQ_CHAOS_FULL:-0}" = 1 ] && echo 1200 || echo 300)}
# shellcheck source=tests/chaos/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

if [ "$CHAOS_FULL" = 1 ]; then
    NGANGS=${MLQ_CHAOS_JOBS:-200} KILLS=${MLQ_CHAOS_KILLS:-20} RUN_KILLS=10 GAP_S=3
else
    NGANGS=${MLQ_CHAOS_JOBS:-40} KILLS=${MLQ_CHAOS_KILLS:-6} RUN_KILLS=3 GAP_S=2
fi
SEED=${MLQ_CHAOS_SEED:-$RANDOM}
RANDOM=$SEED
log "seed $SEED: $NGANGS gangs, at least $KILLS scheduler kills, then $RUN_KILLS during runs"

STATE=$T/state
STAMPS=$T/stamps
GANG_JOB=$CHAOS_LIB_DIR/gang_job.py
mkdir -p "$STAMPS"
SCHED_ARGS=(--heartbeat 1s --lease 4s --kill-grace 1s)
start_scheduler "$STATE" "${SCHED_ARGS[@]}"
# All workers share the loopback: each offers its own rendezvous ports.
worker() { # worker N: starts (or starts again) worker wN on its spool
    start_worker "w$1" "$T/spool-w$1" --cpus 4 --mem 4G --gpus 0 --heartbeat 1s \
        --rendezvous-ports "$((30000 + 100 * $1))-$((30099 + 100 * $1))"
    eval "PID_w$1=$WORKER_PID"
}
for i in 1 2 3 4; do worker "$i"; done

# --- the workload: NAME NODES DURATION_MS MODE RETRIES, and what it implies
python3 - "$SEED" "$NGANGS" "$T/plan" "$T/expect" <<'EOF'
import random, sys
rng = random.Random(int(sys.argv[1]))
with open(sys.argv[3], "w") as plan, open(sys.argv[4], "w") as exp:
    for i in range(int(sys.argv[2])):
        name, nodes, dur = "g%d" % i, rng.randint(2, 4), rng.randint(300, 2500)
        if rng.random() < 0.75:
            mode, retries, want = "ok", 0, "SUCCEEDED"
        else:
            mode = "fail:%d:%d" % (rng.randrange(nodes), rng.randint(1, 9))
            retries, want = rng.randint(0, 1), "FAILED"
        plan.write("%s %d %d %s %d\n" % (name, nodes, dur, mode, retries))
        exp.write("%s %d %s %s %d\n" % (name, nodes, want, mode, retries))
EOF

# --- the submitter: every gang until its submit is acknowledged ------------
submitter() {
    local name nodes dur mode retries extra
    while read -r name nodes dur mode retries; do
        extra=()
        [ "$retries" = 0 ] || extra=(--retries "$retries" --retry-backoff 200ms)
        submit_acked "$name" --nodes "$nodes" --cpus 1 --mem 32M "${extra[@]+"${extra[@]}"}" -- \
            python3 -S "$GANG_JOB" "$STAMPS" "$dur" "$mode" || return 1
        # a little air between gangs, so that kills fall between placements
        sleep "0.0$((RANDOM % 10))"
    done <"$T/plan"
}
start_submitter submitter

# --- kills during submissions and placements -------------------------------
kill_while_submitting "$NGANGS"
submitter_done "$NGANGS" $((NGANGS + 60))

# --- kills while gangs run --------------------------------------------------
running() { sql 'SELECT count(*) FROM jobs WHERE state = 2'; }
for ((r = 1; r <= RUN_KILLS; r++)); do
    wait_until "[ \"\$(running)\" -gt 0 ] || [ \"\$(sql 'SELECT count(*) FROM jobs WHERE state < 3')\" = 0 ]" 20 || true
    [ "$(running)" -gt 0 ] || break
    sleep "0.$((RANDOM % 10))"
    log "kill during runs $r ($(running) gangs RUNNING)"
    kill_and_restart
done

# --- a node lost while the scheduler is down ----------------------------------
# A gang of 3 runs (attempt 1 sleeps until stopped); the scheduler is
# killed, then the whole tree of the worker holding rank 1 (daemon, shims,
# job); the scheduler comes back without it: after the lease the part is
# lost, the two others are stopped, and the gang runs again as one on the
# three workers left. The lost worker comes back at the end.
log "a node lost while the scheduler is down"
ok mlq submit --name lost --nodes 3 --cpus 1 --mem 32M -- \
    python3 -S "$GANG_JOB" "$STAMPS" hold1:300 ok
LOST_JOB=$OUT
echo "lost 3 SUCCEEDED ok 0" >>"$T/expect"
wait_until "[ \"\$(grep -c '^ALL 1 ' $STAMPS/$LOST_JOB)\" = 3 ]" 30 ||
    fail "gang $LOST_JOB did not start ($(cat "$STAMPS/$LOST_JOB" 2>&1))"
ok mlq status "$LOST_JOB" --json
VICTIM=$(json "[p['worker'] for p in d['parts'] if p['rank'] == 1][0]" <<<"$OUT")
VPID=$(eval echo "\$PID_$VICTIM")
KILLED=$((KILLED + 1))
kill_scheduler
# shellcheck disable=SC2046 # one pid a line
kill -KILL $(proc_tree "$VPID" $(spool_shim_pids "$T/spool-$VICTIM")) 2>/dev/null || true
wait "$VPID" 2>/dev/null || true
log "scheduler and $VICTIM's whole tree killed; scheduler restarted without $VICTIM"
start_scheduler "$STATE" "${SCHED_ARGS[@]}"
wait_until "[ \"\$(grep -c '^END 2 ' $STAMPS/$LOST_JOB)\" = 3 ]" 40 ||
    fail "gang $LOST_JOB did not run again ($(cat "$STAMPS/$LOST_JOB"); $(mlq status "$LOST_JOB" 2>&1))"
assert_eq 2 "$(grep -c '^TERM 1 ' "$STAMPS/$LOST_JOB")" "ranks of attempt 1 stopped after the loss"
worker "${VICTIM#w}"

# --- everything ends ----------------------------------------------------------
all_ended gang $((NGANGS * 2 + 90))
sql 'SELECT id, name FROM jobs' | tr '|' ' ' >"$T/jobs"
mapfile -t IDS < <(awk '{ print $1 }' "$T/jobs")
save_statuses "${IDS[@]}"
integrity

# No resources leaked: every worker back to nothing used, nothing running
# (a lost part's booking lasts until its worker confirms: give them a few
# heartbeats).
leaked() {
    mlq workers --json | json "[(w['name'], w['cpus_used'], w['mem_used'], w['running'])
        for w in d['workers'] if w['cpus_used'] or w['mem_used'] or w['running']]"
}
wait_until "[ \"\$(leaked)\" = '[]' ]" 15 || fail "resources still booked after every gang ended: $(leaked)"

run python3 "$CHAOS_LIB_DIR/check_gangs.py" --stamps "$STAMPS" --expect "$T/expect" \
    --jobs "$T/jobs" --status "$T/status.jsonl"
printf '%s\n' "$ERR" >&2
FIG=$OUT
[ "$RC" = 0 ] || fail "the gangs' runs are wrong ($FIG)"
summary "gang-crash" "$FIG kills=$KILLED seed=$SEED"
