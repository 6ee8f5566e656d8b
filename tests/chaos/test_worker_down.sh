#!/usr/bin/env bash
# Chaos part 6, a worker daemon that dies and stays down:
#   - SIGKILL of a worker daemon alone (its shims and jobs untouched), left
#     down past its lease with a second worker free: each shim fences on its
#     own when the worker's lease file runs out (SIGTERM, SIGKILL after the
#     kill grace, outcome lost "self-fenced"), and the scheduler starts the
#     jobs again on the free worker only after lease + fencing budget (shim
#     check + kill grace + margin). The jobs' own stamps (job.py) prove that
#     no run of a job overlapped another: the rerun finds the first run dead
#     as it starts.
#   - The killed daemon is restarted: it reports the fenced attempts, which
#     changes nothing (job states and attempt counts unchanged, no third
#     run).
#   - The same with SIGTERM (a stop for an upgrade that takes longer than
#     the lease): the daemon leaves its jobs under their shims, which fence.
#   - A late outcome: a worker stopped with SIGTERM while its job runs; the
#     job exits 0 under its shim, the worker stays down past its lease (the
#     attempt is LOST, its CPU still booked there), and comes back
#     before the job could start again: the real outcome is recorded, the
#     job SUCCEEDED after one run.
#
# MLQ_WORKER_DOWN_PARTS="KILL TERM late" (the default) picks the phases.
# CI variant: one round per signal, two jobs. MLQ_CHAOS_FULL=1: two rounds
# per signal, four jobs each.
IT_DEADLINE=${IT_DEADLINE:-$([ "${MLQ_CHAOS_FULL:-0}" = 1 ] && echo 400 || echo 180)}
# shellcheck source=tests/chaos/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

ROUNDS=$([ "$CHAOS_FULL" = 1 ] && echo 2 || echo 1)
NJOBS=$([ "$CHAOS_FULL" = 1 ] && echo 4 || echo 2)
HB=1 LEASE=3 GRACE=1 SLACK=5
# From the kill to the rerun: the lease (counted from the last heartbeat,
# up to one interval before the kill), the fencing budget (0.25 s shim
# check + kill grace + 1 s margin, scheduler/jobops.h), and slack for a
# loaded machine.
BOUND=$((HB + LEASE + GRACE + 2 + SLACK))

STATE=$T/state
STAMPS=$T/stamps
mkdir -p "$STAMPS"
: >"$T/acked"
: >"$T/expect"
start_scheduler "$STATE" --heartbeat "${HB}s" --lease "${LEASE}s" --kill-grace "${GRACE}s"

worker() { # worker NAME: starts (or restarts) it on its spool
    start_worker "$1" "$T/spool-$1" --cpus "$NJOBS" --mem 2G --gpus 0 --heartbeat "${HB}s"
    eval "PID_$1=$WORKER_PID"
}
worker_state() {
    mlq workers --json | json "[w['state'] for w in d['workers'] if w['name'] == '$1'][0]"
}
count_starts() { grep -c '^START ' "$STAMPS/$1" || true; }

FENCED=0 RERUN=0 MAXREC=0 MINREC=999999
round() { # round N SIGNAL
    local r=$1 sig=$2 a=down$1$2 b=free$1$2 i j ids=() t0 left rec st f
    worker "$a"
    for i in $(seq 1 "$NJOBS"); do
        ok mlq submit --name "r$r$sig-$i" --cpus 1 --mem 64M -- \
            python3 -S "$CHAOS_JOB" "$STAMPS" "go:$T/go-$r$sig" ok 0
        ids+=("$OUT")
        echo "r$r$sig-$i $OUT" >>"$T/acked"
        echo "r$r$sig-$i SUCCEEDED 0 2" >>"$T/expect"
    done
    for j in "${ids[@]}"; do
        wait_state "$j" RUNNING 30
        wait_until "[ -s $STAMPS/$j ]" 10 || fail "job $j did not start"
        assert_eq "$a" "$(job_field "$j" worker)" "job $j placed on $a"
    done
    worker "$b"

    t0=$(now_ms)
    kill "-$sig" "$(eval echo "\$PID_$a")"
    wait "$(eval echo "\$PID_$a")" 2>/dev/null || true
    log "worker daemon $a stopped with SIG$sig; its jobs stay under their shims"
    for j in "${ids[@]}"; do
        left=$((BOUND * 1000 - ($(now_ms) - t0)))
        wait_until "grep -q '^START 2 ' $STAMPS/$j" $(((left + 999) / 1000)) ||
            fail "job $j not run again ${BOUND} s after $a went down ($(job_state "$j"))"
        rec=$(($(now_ms) - t0))
        [ "$rec" -le "$MAXREC" ] || MAXREC=$rec
        [ "$rec" -ge "$MINREC" ] || MINREC=$rec
        RERUN=$((RERUN + 1))
        # The rerun stamped whether the first run was still alive as it began.
        if grep -q '^PREV .* alive' "$STAMPS/$j"; then
            fail "job $j: attempt 2 started while attempt 1 was still running ($(cat "$STAMPS/$j"))"
        fi
        log "job $j running again after $(secs "$rec") s, its first run gone"
    done
    # A SIGTERM is a clean stop: the worker said goodbye and stays DOWN; a
    # SIGKILLed one fell silent and is LOST.
    local gone=LOST
    [ "$sig" = TERM ] && gone=DOWN
    assert_eq "$gone" "$(worker_state "$a")" "worker $a after its lease"
    for f in "$T/spool-$a"/attempts/*/status; do
        grep -q 'self-fenced' "$f" || fail "attempt $(dirname "$f") not self-fenced: $(cat "$f")"
        FENCED=$((FENCED + 1))
    done

    # a comes back: its fenced attempts are reported and change nothing.
    worker "$a"
    for f in "$T/spool-$a"/attempts/*; do
        wait_until "[ -e $f/acked_finished ] || [ ! -e $f ]" 20 ||
            fail "the restarted $a never had attempt $(basename "$f")'s report acknowledged"
    done
    for j in "${ids[@]}"; do
        st=$(mlq status "$j" --json)
        assert_eq RUNNING "$(json "d['state']" <<<"$st")" "job $j after $a's stale report"
        assert_eq 2 "$(json "d['attempt']" <<<"$st")" "job $j attempt after $a's stale report"
        assert_eq '["LOST", "RUNNING"]' "$(json "[x['state'] for x in d.get('attempts', [])]" <<<"$st")" \
            "job $j attempts after $a's stale report"
        assert_eq "$b" "$(json "d['worker']" <<<"$st")" "job $j still on $b"
        assert_eq 2 "$(count_starts "$j")" "runs of job $j"
    done

    touch "$T/go-$r$sig"
    expect_rc 0 mlq wait "${ids[@]}" --timeout 60s
    for j in "${ids[@]}"; do
        assert_eq 2 "$(count_starts "$j")" "runs of job $j at the end"
    done
    # Both go for good before the next round places jobs.
    for w in "$a" "$b"; do
        stop_pid "$(eval echo "\$PID_$w")"
    done
    for w in "$a" "$b"; do
        wait_until "[ \"\$(worker_state $w)\" != UP ]" $((LEASE + 10)) ||
            fail "worker $w still UP after it stopped"
    done
}

# One worker, one CPU: the lost attempt's booking keeps the job off it until
# its report comes.
LATE_MS=0
late_outcome() {
    local w=late j t0 f
    worker_one() {
        start_worker "$w" "$T/spool-$w" --cpus 1 --mem 1G --gpus 0 --heartbeat "${HB}s"
        PID_late=$WORKER_PID
    }
    worker_one
    ok mlq submit --name late --cpus 1 --mem 64M -- \
        python3 -S "$CHAOS_JOB" "$STAMPS" "go:$T/go-late" ok 0
    j=$OUT
    echo "late $j" >>"$T/acked"
    echo "late SUCCEEDED 0 1" >>"$T/expect"
    wait_state "$j" RUNNING 30
    wait_until "[ -s $STAMPS/$j ]" 10 || fail "job $j did not start"
    kill -TERM "$PID_late"
    wait "$PID_late" 2>/dev/null || true
    touch "$T/go-late"
    wait_until "grep -q '^END ' $STAMPS/$j" 5 || fail "job $j did not end under its shim"
    t0=$(now_ms)
    wait_state "$j" PENDING $((HB + LEASE + 10))
    assert_eq '["LOST"]' "$(mlq status "$j" --json | json "[x['state'] for x in d.get('attempts', [])]")" \
        "job $j attempts while its worker is down"
    assert_eq 1.0 "$(mlq workers --json | json "[w['cpus_used'] for w in d['workers'] if w['name'] == '$w'][0]")" \
        "CPUs of $w still booked for the lost attempt"
    worker_one
    wait_state "$j" SUCCEEDED 20
    LATE_MS=$(($(now_ms) - t0))
    ok mlq status "$j" --json
    assert_eq '["SUCCEEDED"]' "$(json "[x['state'] for x in d.get('attempts', [])]" <<<"$OUT")" \
        "job $j attempts: its one run"
    assert_eq 0 "$(json "d.get('node_failures')" <<<"$OUT")" "job $j node failures"
    assert_eq 1 "$(count_starts "$j")" "runs of job $j"
    # (Its attempt ended SUCCEEDED, not self-fenced; its spool folder is
    # gone by now, removed once the outcome and logs reached the scheduler.)
    stop_pid "$PID_late"
}

for part in ${MLQ_WORKER_DOWN_PARTS:-KILL TERM late}; do
    case "$part" in
    KILL | TERM)
        for r in $(seq 1 "$ROUNDS"); do
            log "round $r/$ROUNDS, SIG$part"
            round "$r" "$part"
        done
        ;;
    late)
        log "late outcome"
        late_outcome
        ;;
    *) fail "unknown part $part" ;;
    esac
done
integrity
run python3 "$CHAOS_CHECK" --db "$STATE/mlq.db" --stamps "$STAMPS" --expect "$T/expect" --acked "$T/acked"
printf '%s\n' "$ERR" >&2
[ "$RC" = 0 ] || fail "outcomes are wrong ($OUT)"
[ "$RERUN" -gt 0 ] || MINREC=0
summary worker-down "$OUT fenced=$FENCED rerun=$RERUN" \
    "kill_to_rerun=$(secs "$MINREC")..$(secs "$MAXREC")s bound=${BOUND}s lease=${LEASE}s grace=${GRACE}s" \
    "late_outcome_after=$(secs "$LATE_MS")s"
