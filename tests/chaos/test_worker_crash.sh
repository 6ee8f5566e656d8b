#!/usr/bin/env bash
# Chaos part 3, worker crashes, mid-run:
#   - SIGKILL of a worker daemon alone, restarted on its spool at once: its
#     jobs keep running under their shims, are re-adopted and end in their
#     first attempt;
#   - SIGKILL of a whole worker process tree (the daemon, every shim named
#     by its spool's shim.pid files, and everything below them): the
#     scheduler sees the worker silent past its lease, marks the attempts
#     LOST and runs the jobs again elsewhere, within lease + the fencing
#     budget (shim check + kill grace + margin: the retry's not_before) + a
#     few seconds, without using up a retry; when the worker comes back
#     nothing changes.
# Every run stamps its start and end (job.py); no job runs twice at once.
#
# CI variant: one round. MLQ_CHAOS_FULL=1: three rounds.
IT_DEADLINE=${IT_DEADLINE:-$([ "${MLQ_CHAOS_FULL:-0}" = 1 ] && echo 600 || echo 240)}
# shellcheck source=tests/chaos/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

ROUNDS=$([ "$CHAOS_FULL" = 1 ] && echo 3 || echo 1)
HB=1 LEASE=4 GRACE=1 SLACK=4
BOUND=$((LEASE + GRACE + 2 * HB + SLACK)) # seconds from the kill to the rerun

STATE=$T/state
STAMPS=$T/stamps
mkdir -p "$STAMPS"
: >"$T/acked"
: >"$T/expect"
start_scheduler "$STATE" --heartbeat "${HB}s" --lease "${LEASE}s" --kill-grace "${GRACE}s"

worker() { # worker NAME: starts (or restarts) it on its spool
    start_worker "$1" "$T/spool-$1" --cpus 2 --mem 2G --gpus 0 --heartbeat "${HB}s"
    eval "PID_$1=$WORKER_PID"
}
worker_state() {
    mlq workers --json | json "[w['state'] for w in d['workers'] if w['name'] == '$1'][0]"
}
jobs_on() { # jobs_on WORKER ID...: the ids whose current attempt is on WORKER
    local w=$1 j
    shift
    for j in "$@"; do
        [ "$(job_field "$j" worker)" = "$w" ] && echo "$j"
    done
    return 0
}
run_pid() { # run_pid JOB ATTEMPT: the pid job.py stamped for that attempt
    awk -v a="$2" '$1 == "START" && $2 == a { print $3 }' "$STAMPS/$1" | tail -n 1
}

# kill_tree NAME: SIGKILL to the worker daemon, its shims and all their
# descendants at once: everything is stopped first (so that nobody reacts
# to the others dying, and no new child appears), then killed.
kill_tree() {
    local spool=$T/spool-$1 daemon pids p shims
    daemon=$(eval echo "\$PID_$1")
    mapfile -t shims < <(spool_shim_pids "$spool")
    pids=$(proc_tree "$daemon" "${shims[@]}")
    for p in $pids; do kill -STOP "$p" 2>/dev/null || true; done
    mapfile -t shims < <(spool_shim_pids "$spool")
    pids=$(proc_tree "$daemon" "${shims[@]}") # anything forked meanwhile
    for p in $pids; do kill -STOP "$p" 2>/dev/null || true; done
    for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
    wait "$daemon" 2>/dev/null || true
    for p in $pids; do
        wait_until "! pid_alive $p" 5 || fail "pid $p of $1's tree survived SIGKILL"
    done
    log "killed $1's whole tree: $(wc -w <<<"$pids") processes"
}

KILLS=0 MAXREC=0 READOPTED=0 RERUN=0
round() {
    local r=$1 a=a$1 b=b$1 c=c$1 i j ids=() on_a on_b t0 left rec p
    # Two workers get two jobs each (2 CPUs each, jobs take 1); the
    # spare joins once they are placed.
    worker "$a"
    worker "$b"
    # The jobs run until the round says go, whatever the machine's load.
    for i in 1 2 3 4; do
        ok mlq submit --name "r$r-$i" --cpus 1 --mem 64M -- \
            python3 -S "$CHAOS_JOB" "$STAMPS" "go:$T/go-r$r" ok 0
        ids+=("$OUT")
        echo "r$r-$i $OUT" >>"$T/acked"
    done
    for j in "${ids[@]}"; do
        wait_state "$j" RUNNING 30
        wait_until "[ -s $STAMPS/$j ]" 10 || fail "job $j did not start"
    done
    mapfile -t on_a < <(jobs_on "$a" "${ids[@]}")
    mapfile -t on_b < <(jobs_on "$b" "${ids[@]}")
    assert_eq "2 2" "${#on_a[@]} ${#on_b[@]}" "jobs placed on $a and $b"
    worker "$c"

    # The daemon alone: killed, restarted on its spool at once.
    kill -KILL "$(eval echo "\$PID_$a")"
    wait "$(eval echo "\$PID_$a")" 2>/dev/null || true
    KILLS=$((KILLS + 1))
    for j in "${on_a[@]}"; do
        pid_alive "$(run_pid "$j" 1)" || fail "job $j died with its worker daemon"
    done
    sleep 1
    worker "$a"

    # The whole tree.
    for j in "${on_b[@]}"; do
        grep -q '^END ' "$STAMPS/$j" && fail "job $j ended before its worker could be killed"
    done
    t0=$(now_ms)
    kill_tree "$b"
    KILLS=$((KILLS + 1))
    p=$(mono_ns)
    for j in "${on_b[@]}"; do
        echo "KILLED 1 $(run_pid "$j" 1) $p" >>"$STAMPS/$j"
    done

    # Reruns of b's jobs, within the bound.
    for j in "${on_b[@]}"; do
        left=$((BOUND * 1000 - ($(now_ms) - t0)))
        wait_until "grep -q '^START 2 ' $STAMPS/$j" $(((left + 999) / 1000)) ||
            fail "job $j not run again ${BOUND} s after its worker's tree was killed ($(job_state "$j"))"
        rec=$(($(now_ms) - t0))
        [ "$rec" -le "$MAXREC" ] || MAXREC=$rec
        log "job $j running again after $(secs "$rec") s"
        RERUN=$((RERUN + 1))
    done
    assert_eq LOST "$(worker_state "$b")" "worker $b after its lease"
    # a's jobs were re-adopted, not lost: still in attempt 1.
    for j in "${on_a[@]}"; do
        assert_eq 1 "$(job_field "$j" attempt)" "job $j on the restarted daemon"
        READOPTED=$((READOPTED + 1))
    done

    # b comes back: it finds its attempts dead, which changes nothing.
    worker "$b"
    touch "$T/go-r$r"
    expect_rc 0 mlq wait "${ids[@]}" --timeout 60s
    for j in "${ids[@]}"; do
        local name
        name=$(job_field "$j" name)
        case " ${on_b[*]} " in
        *" $j "*)
            echo "$name SUCCEEDED 0 2" >>"$T/expect"
            ok mlq status "$j" --json
            assert_eq 1 "$(json "d.get('node_failures')" <<<"$OUT")" "job $j node failures"
            assert_eq '["LOST", "SUCCEEDED"]' "$(json "[a['state'] for a in d.get('attempts', [])]" <<<"$OUT")" \
                "job $j attempts"
            ;;
        *) echo "$name SUCCEEDED 0 1" >>"$T/expect" ;;
        esac
    done
    assert_eq UP "$(worker_state "$b")" "worker $b back"
    # Gone for good: stopped, and DOWN before the next round places jobs (a
    # cleanly stopped worker says goodbye: DOWN at once, not at its lease).
    for w in "$a" "$b" "$c"; do
        stop_pid "$(eval echo "\$PID_$w")"
    done
    for w in "$a" "$b" "$c"; do
        wait_until "[ \"\$(worker_state $w)\" = DOWN ]" 10 ||
            fail "worker $w not DOWN after it stopped"
    done
}

for r in $(seq 1 "$ROUNDS"); do
    log "round $r/$ROUNDS"
    round "$r"
done
integrity
run python3 "$CHAOS_CHECK" --db "$STATE/mlq.db" --stamps "$STAMPS" --expect "$T/expect" --acked "$T/acked"
printf '%s\n' "$ERR" >&2
[ "$RC" = 0 ] || fail "outcomes are wrong ($OUT)"
summary worker-crash "$OUT kills=$KILLS readopted=$READOPTED rerun=$RERUN" \
    "max_recovery=$(secs "$MAXREC")s bound=${BOUND}s"
