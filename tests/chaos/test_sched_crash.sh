#!/usr/bin/env bash
# Chaos part 1, scheduler crashes: a workload of short jobs (random
# durations 0-300 ms, some failing, some with retries, some failing only on
# their first run; some asking for a GPU or a share of one: 0.25 to 0.5)
# on 3 workers with 2 fake GPUs each, while the scheduler is SIGKILLed at
# random moments and restarted on the same state dir, submissions and jobs
# going on all the while. Afterwards every job whose id `mlq submit` printed
# is terminal with the state and exit code its script implies, ran as many
# times as that implies, never twice at once, and the database passes
# PRAGMA integrity_check. The shares on one GPU never add up beyond one
# GPU at any moment (from the runs' stamps), and once everything ended no
# GPU has anything booked.
#
# CI variant: 300 jobs, 8 kills or more (while submissions go on, up to 32).
# MLQ_CHAOS_FULL=1: 2,000 jobs, 25 kills or more (up to 100).
# MLQ_CHAOS_SEED fixes the workload and the kill moments.
IT_DEADLINE=${IT_DEADLINE:-$([ "${MLQ_CHAOS_FULL:-0}" = 1 ] && echo 1500 || echo 420)}
# shellcheck source=tests/chaos/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

# GAP_S: kills come up to GAP_S seconds apart, so that they spread over
# the submissions and the runs.
if [ "$CHAOS_FULL" = 1 ]; then
    NJOBS=${MLQ_CHAOS_JOBS:-2000} KILLS=${MLQ_CHAOS_KILLS:-25} GAP_S=4
else
    NJOBS=${MLQ_CHAOS_JOBS:-300} KILLS=${MLQ_CHAOS_KILLS:-8} GAP_S=2
fi
SEED=${MLQ_CHAOS_SEED:-$RANDOM}
RANDOM=$SEED
log "seed $SEED: $NJOBS jobs, at least $KILLS scheduler kills"

STATE=$T/state
STAMPS=$T/stamps
mkdir -p "$STAMPS"
SCHED_ARGS=(--heartbeat 1s --lease 4s --kill-grace 1s)
start_scheduler "$STATE" "${SCHED_ARGS[@]}"
for w in w1 w2 w3; do
    start_worker "$w" "$T/spool-$w" --cpus 4 --mem 4G --gpus 2 --heartbeat 1s
done

# --- the workload: NAME DURATION_MS MODE CODE RETRIES GPUS, and what it
# implies (GPUS: "-" none, 1 whole, or a share) --
python3 - "$SEED" "$NJOBS" "$T/plan" "$T/expect" <<'EOF'
import random, sys
rng = random.Random(int(sys.argv[1]))
with open(sys.argv[3], "w") as plan, open(sys.argv[4], "w") as exp:
    for i in range(int(sys.argv[2])):
        name, dur, code = "c%d" % i, rng.randint(0, 300), rng.randint(1, 9)
        r = rng.random()
        if r < 0.55:    # succeeds; a few carry retries they never use
            mode, retries = "ok", (rng.randint(1, 2) if rng.random() < 0.2 else 0)
            want = ("SUCCEEDED", 0, 1)
        elif r < 0.70:  # fails, no retries
            mode, retries = "fail", 0
            want = ("FAILED", code, 1)
        elif r < 0.85:  # always fails, retried 1-2 times
            mode, retries = "fail", rng.randint(1, 2)
            want = ("FAILED", code, retries + 1)
        else:           # fails on its first run only
            mode, retries = "flaky", rng.randint(1, 2)
            want = ("SUCCEEDED", 0, 2)
        g = rng.random()
        gpus = "-" if g < 0.7 else "1" if g < 0.75 else rng.choice(["0.25", "0.3", "0.5"])
        plan.write("%s %d %s %d %d %s\n" % (name, dur, mode, code, retries, gpus))
        exp.write("%s %s %d %d\n" % ((name,) + want))
EOF

# --- the submitter: every plan line until its submit is acknowledged -------
# A submit that finds no scheduler (exit 3) is tried again; only ids that
# were printed count as acknowledged (submit_acked in lib.sh).
submitter() {
    local name dur mode code retries gpus extra
    while read -r name dur mode code retries gpus; do
        extra=()
        [ "$retries" = 0 ] || extra=(--retries "$retries" --retry-backoff 200ms)
        [ "$gpus" = - ] || extra+=(--gpus "$gpus")
        submit_acked "$name" --cpus 0.5 --mem 32M "${extra[@]+"${extra[@]}"}" -- \
            python3 -S "$CHAOS_JOB" "$STAMPS" "$dur" "$mode" "$code" || return 1
    done <"$T/plan"
}
start_submitter submitter

# --- the killer: SIGKILL at random moments, restart on the same state dir --
kill_while_submitting "$NJOBS"
log "kills done; waiting for the submitter"
submitter_done "$NJOBS" $((NJOBS / 2 + 60))

# --- everything ends ----------------------------------------------------------
all_ended job $((NJOBS / 2 + 120))
mapfile -t IDS < <(awk '{ print $2 }' "$T/acked")
save_statuses --wait "${IDS[@]}"
integrity

# --- the checks -------------------------------------------------------------
run python3 "$CHAOS_CHECK" --db "$STATE/mlq.db" --stamps "$STAMPS" --expect "$T/expect" \
    --acked "$T/acked" --status "$T/status.jsonl" --allow-extra
printf '%s\n' "$ERR" >&2
FIG=$OUT
[ "$RC" = 0 ] || fail "the workload's outcomes are wrong ($FIG)"
# Every booking was given back: the rebuilt ones included.
ok mlq workers --json
assert_eq "[0]" "$(json "sorted(set(round(g.get('share', 0) * 100) for w in d['workers'] for g in w['gpu_list']))" <<<"$OUT")" \
    "GPU shares booked once every job ended"
assert_eq "[0]" "$(json "sorted(set(w['gpus_used'] for w in d['workers']))" <<<"$OUT")" \
    "GPUs in use once every job ended"

# Recovery: from each kill to the next acknowledged submit.
REC=$(python3 - "$T/kills" "$T/acked" <<'EOF'
import sys
kills = [int(l) for l in open(sys.argv[1]) if l.strip()]
acks = sorted(int(l.split()[2]) for l in open(sys.argv[2]) if len(l.split()) >= 3)
rec = [min((a for a in acks if a > k), default=None) for k in kills]
rec = [r - k for r, k in zip(rec, kills) if r is not None]
print("max=%.1fs mean=%.1fs measured=%d" % (max(rec) / 1000, sum(rec) / len(rec) / 1000, len(rec))
      if rec else "none")
EOF
)
RETRIED=$(wc -l <"$T/submit-retries")
summary "scheduler-crash" "$FIG kills=$KILLED submit_retries=$RETRIED submit_recovery=[$REC] seed=$SEED"
