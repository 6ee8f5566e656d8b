#!/usr/bin/env bash
# realpath.sh [--quick] [--slurm] [N]: the Slurm peer's benchmark
# (../shared/peers/slurm/bench.sh, phases 0 a c b h d e) run through the
# real path of mlq: the `mlq` CLI, a real mlq-scheduler and one real
# mlq-worker (64 CPUs, 64G, 4 fake GPUs), CURVE on, default log levels, on
# free loopback ports, in a temp dir removed on exit (tests/integration/lib.sh).
#
#   (0) cost of one `mlq submit -- true`: each of BENCH_CALLS calls timed
#       (median / p90 / min / max) and their mean wall, user and sys CPU
#   (a) N sequential `mlq submit -- true`: wall time and jobs/s
#   (c) the same N jobs: first submit -> all done (`mlq wait`), jobs/s
#   (b) one `mlq submit --array 0-(N-1)`: the call, then -> all tasks done
#   (h) N held submits (`--hold`), then `mlq release` of all (1000 ids a
#       call) -> all done
#   (d) idle-cluster latency, BENCH_LAT_SAMPLES samples after a random
#       0.2-1.2 s pause: submit -> the job's first command, submit -> the job
#       is ended (`mlq status` polled every 5 ms), and `mlq submit` + `mlq
#       wait` (the nearest thing to `srun true`); a sample over a second is
#       logged with its submit call's time and its job's log lines
#   (e) the same with --gpus 1, then BENCH_GPU_N sequential --gpus 1 jobs
#       -> all done (4 GPUs, so 4 run at a time)
#   CPU seconds of the scheduler and the worker (and the worker's reaped
#   children: its shims) for each phase, host CPU busy, scheduler peak RSS.
#
# --quick: tiny N (20), 10 calls, 3 latency samples, 8 GPU jobs (the CI
#   test of this tool, tests/integration/test_bench_realpath.sh).
# --slurm: also runs ../shared/peers/slurm/bench.sh N with the same phases
#   and sample counts in this invocation (it starts the Slurm peer when
#   needed; stop it with stop.sh) and prints both columns with ratios.
#
# Knobs: MLQ_BIN_DIR (default build/bin; use a Release build for figures;
#   a copy of this script run from elsewhere finds lib.sh at
#   MLQ_BIN_DIR/../../tests/integration, or under MLQ_SRC_DIR),
#   BENCH_PHASES ("a b h d e"), BENCH_LAT_SAMPLES (20), BENCH_GPU_N
#   (min(N,200)), BENCH_CALLS (100), BENCH_TIMEOUT (900 s a drain),
#   SLURMPEER_DIR (the Slurm peer scripts).
# Example: MLQ_BIN_DIR=build-rel/bin tests/bench/realpath.sh --slurm 1000

QUICK=0 SLURM=0 N=""
for a in "$@"; do
    case "$a" in
    --quick) QUICK=1 ;;
    --slurm) SLURM=1 ;;
    --help | -h)
        sed -n '2,38p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *[!0-9]* | "") echo "usage: $0 [--quick] [--slurm] [N]" >&2 && exit 2 ;;
    *) N=$a ;;
    esac
done
if [ "$QUICK" = 1 ]; then
    : "${N:=20}" "${BENCH_CALLS:=10}" "${BENCH_LAT_SAMPLES:=3}" "${BENCH_GPU_N:=8}"
fi
N=${N:-1000}
[ "$N" -ge 1 ] || { echo "usage: N >= 1" >&2 && exit 2; }
CALLS=${BENCH_CALLS:-100}
LAT_SAMPLES=${BENCH_LAT_SAMPLES:-20}
GPU_N=${BENCH_GPU_N:-$((N < 200 ? N : 200))}
TIMEOUT=${BENCH_TIMEOUT:-900}
PHASES=${BENCH_PHASES:-a b h d e}
export BENCH_LAT_SAMPLES=$LAT_SAMPLES BENCH_GPU_N=$GPU_N BENCH_PHASES=$PHASES
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SLURMPEER_DIR=${SLURMPEER_DIR:-$HERE/../../../shared/peers/slurm}
[ -d "$SLURMPEER_DIR" ] || SLURMPEER_DIR=/work/shared/peers/slurm
if [ "$QUICK" = 1 ]; then
    IT_DEADLINE=${IT_DEADLINE:-150}
else
    IT_DEADLINE=${IT_DEADLINE:-7200}
fi
# lib.sh beside this script, or, for a copy run from elsewhere, the one of
# the checkout whose binaries it measures (MLQ_SRC_DIR, else MLQ_BIN_DIR/../..).
LIB=$HERE/../integration/lib.sh
[ -f "$LIB" ] || LIB=${MLQ_SRC_DIR:-$(cd "${MLQ_BIN_DIR:-.}/../.." && pwd)}/tests/integration/lib.sh
[ -f "$LIB" ] || { echo "realpath.sh: no tests/integration/lib.sh (set MLQ_SRC_DIR)" >&2 && exit 2; }
. "$LIB" "$@"
set +e

declare -A R # mlq results
now() { echo "$EPOCHREALTIME"; }
calc() { awk "BEGIN { printf \"%.${2:-3}f\", $1 }"; }
CLK_TCK=$(getconf CLK_TCK)
# cpu_secs PID [all]: utime+stime (with "all": + its reaped children's)
cpu_secs() {
    [ -r "/proc/$1/stat" ] || { echo 0 && return; }
    awk -v t="$CLK_TCK" -v all="${2:-}" '{ sub(/^.*\) /, "");
        c = $12 + $13; if (all != "") c += $14 + $15; print c / t }' "/proc/$1/stat"
}
sys_busy() { awk '/^cpu / { print $2+$3+$4+$7+$8, $5+$6 }' /proc/stat; }
stats() { # numbers (ms) on stdin -> "median p90 min max"
    sort -n | awk '{a[NR]=$1} END { if (NR==0) {print "n/a n/a n/a n/a"; exit}
        m = (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2
        p = a[int(0.9*NR + 0.999)]; printf "%.1f %.1f %.1f %.1f", m, p, a[1], a[NR] }'
}
pause() { sleep "$(awk -v r="$RANDOM" 'BEGIN { printf "%.3f", 0.2 + r / 32768 }')"; }

# ---------------------------------------------------------------- cluster
start_scheduler "$T/state"
start_worker w1 "$T/spool-w1" --cpus 64 --mem 64G --gpus 4
# The CLI finds the scheduler as a user's would: MLQ_SCHEDULER, and the
# keys from the client config (lib.sh's admin key); no wrapper around it.
export MLQ_SCHEDULER=$SCHED_ADDR
WPID=$WORKER_PID SPID=$SCHED_PID
SUB=("$MLQ" submit --name realpath-bench)
mkdir -p "$T/lat"

phase_begin() {
    P_T0=$(now)
    P_S0=$(cpu_secs "$SPID")
    P_W0=$(cpu_secs "$WPID")
    P_WA0=$(cpu_secs "$WPID" all)
    read -r P_B0 P_I0 < <(sys_busy)
}
phase_end() { # KEY
    local b1 i1
    R[$1_sched_cpu]=$(calc "$(cpu_secs "$SPID") - $P_S0" 2)
    R[$1_sched_pct]=$(calc "100 * ${R[$1_sched_cpu]} / ($(now) - $P_T0)" 0)
    R[$1_worker_cpu]=$(calc "$(cpu_secs "$WPID") - $P_W0" 2)
    R[$1_worker_all]=$(calc "$(cpu_secs "$WPID" all) - $P_WA0" 2)
    read -r b1 i1 < <(sys_busy)
    R[$1_sys_util]=$(calc "100 * ($b1 - $P_B0) / (($b1 - $P_B0) + ($i1 - $P_I0) + 1e-9)" 0)
}
# wait_all KEY ID...: `mlq wait` for every id (an array id: its tasks);
# sets R[KEY_ok] (succeeded) and R[KEY_bad] (the rest) from its summary.
wait_all() {
    local key=$1 rc=0 ids i
    shift
    ids=("$@")
    : >"$T/wait.err"
    # mlq wait takes at most 1,024 ids a call: wait for them 1,000 at a time
    for ((i = 0; i < ${#ids[@]}; i += 1000)); do
        "$MLQ" wait --timeout "${TIMEOUT}s" "${ids[@]:i:1000}" 2>>"$T/wait.err" >/dev/null || rc=$?
    done
    R[${key}_ok]=$(grep -o '[0-9]* succeeded' "$T/wait.err" | awk '{s+=$1} END {print s+0}')
    R[${key}_bad]=$(grep -o '[0-9]* \(failed\|timed out\|cancelled\)' "$T/wait.err" | awk '{s+=$1} END {print s+0}')
    [ "$rc" = 0 ] || log "mlq wait exited $rc: $(tail -n 3 "$T/wait.err")"
    return "$rc"
}
log "mlq $("$MLQ" --version 2>&1 | head -1), bin dir $MLQ_BIN_DIR; N=$N, calls=$CALLS," \
    "latency samples=$LAT_SAMPLES, gpu N=$GPU_N, phases: $PHASES"

# ---------------------------------------------------------------- (0)
log "(0) per-call cost of mlq submit -- true ($CALLS calls)"
if [ -x /usr/bin/time ]; then
    /usr/bin/time -f '%e %U %S %M' -o "$T/time1" "${SUB[@]}" -- true >/dev/null
    read -r _ R[call_user] R[call_sys] R[call_rss] <"$T/time1"
fi
: >"$T/call.raw"
TIMEFORMAT='%R %U %S'
{ time for ((i = 0; i < CALLS; i++)); do
    t0=$EPOCHREALTIME
    "${SUB[@]}" -- true >>"$T/call.ids" || echo "submit failed" >&2
    echo "$t0 $EPOCHREALTIME" >>"$T/call.raw" # builtins only: the loop's CPU is the CLI's
done; } 2>"$T/call.time"
read -r w u s < <(tail -n 1 "$T/call.time")
awk '{ printf "%.3f\n", 1000 * ($2 - $1) }' "$T/call.raw" >"$T/call.ms"
R[call_ms]=$(stats <"$T/call.ms")
R[call_mean]=$(calc "1000 * $w / $CALLS" 2)
R[call_mean_user]=$(calc "1000 * $u / $CALLS" 2)
R[call_mean_sys]=$(calc "1000 * $s / $CALLS" 2)
R[call_n]=$(grep -c . "$T/call.ms")
# shellcheck disable=SC2046 # one id a word
wait_all call $(cat "$T/call.ids")

# ---------------------------------------------------------------- (a)+(c)
if [[ " $PHASES " == *" a "* ]]; then
    log "(a)/(c) submitting $N jobs sequentially"
    phase_begin
    fail=0 ids=()
    for ((i = 0; i < N; i++)); do
        id=$("${SUB[@]}" -- true) && ids+=("$id") || fail=$((fail + 1))
    done
    t_sub=$(now)
    wait_all seq "${ids[@]}"
    t_done=$(now)
    phase_end seq
    R[seq_submit_s]=$(calc "$t_sub - $P_T0")
    R[seq_submit_rate]=$(calc "$N / ($t_sub - $P_T0)" 1)
    R[seq_e2e_s]=$(calc "$t_done - $P_T0")
    R[seq_e2e_rate]=$(calc "$N / ($t_done - $P_T0)" 1)
    R[seq_fail]=$fail
    log "    submitted in ${R[seq_submit_s]} s, all done in ${R[seq_e2e_s]} s"
fi

# ---------------------------------------------------------------- (b)
if [[ " $PHASES " == *" b "* ]]; then
    log "(b) one array --array 0-$((N - 1))"
    phase_begin
    aid=$("${SUB[@]}" --array "0-$((N - 1))" -- true)
    arc=$?
    t_sub=$(now)
    wait_all arr "$aid"
    t_done=$(now)
    phase_end arr
    R[arr_submit_s]=$(calc "$t_sub - $P_T0")
    [ "$arc" = 0 ] || R[arr_submit_s]="FAILED(rc=$arc)"
    R[arr_e2e_s]=$(calc "$t_done - $P_T0")
    R[arr_e2e_rate]=$(calc "$N / ($t_done - $P_T0)" 1)
    log "    submit ${R[arr_submit_s]} s, all done in ${R[arr_e2e_s]} s"
fi

# ---------------------------------------------------------------- (h)
if [[ " $PHASES " == *" h "* ]]; then
    log "(h) $N held submits, then one release of all"
    phase_begin
    fail=0 ids=()
    for ((i = 0; i < N; i++)); do
        id=$("${SUB[@]}" --hold -- true) && ids+=("$id") || fail=$((fail + 1))
    done
    t_sub=$(now)
    R[held_submit_s]=$(calc "$t_sub - $P_T0")
    R[held_submit_rate]=$(calc "$N / ($t_sub - $P_T0)" 1)
    R[held_fail]=$fail
    phase_begin
    for ((i = 0; i < ${#ids[@]}; i += 1000)); do
        "$MLQ" release "${ids[@]:i:1000}" 2>/dev/null || log "mlq release failed"
    done
    wait_all held "${ids[@]}"
    t_done=$(now)
    phase_end held
    R[held_e2e_s]=$(calc "$t_done - $P_T0")
    R[held_e2e_rate]=$(calc "$N / ($t_done - $P_T0)" 1)
    log "    submit ${R[held_submit_s]} s, release -> all done ${R[held_e2e_s]} s"
fi

# ---------------------------------------------------------------- (d), (e)
job_ended() { # ID: true once the job is in a terminal state
    "$MLQ" status "$1" --json 2>/dev/null |
        grep -qm1 '"state": *"\(SUCCEEDED\|FAILED\|CANCELLED\|TIMED_OUT\)"'
}
# slow_sample N ID T0 T1 TSTART: a sample over a second says where its time
# went: the submit call (T0 -> T1) or after it, and what the scheduler's and
# the worker's logs say about the job, with their times.
slow_sample() {
    local ms
    ms=$(calc "1000 * ($5 - $3)" 0)
    [ "$ms" -ge 1000 ] || return 0
    log "    sample $1: ${ms} ms to the job's first command (submit call $(calc "1000 * ($4 - $3)" 1) ms," \
        "submit at $(date -u -d "@$3" +%T.%N | cut -c1-12), job $2):"
    grep -h "${2:0:8}" "$T/logs/scheduler.log" "$T"/logs/worker-*.log 2>/dev/null | sort | head -n 20 |
        while read -r line; do log "      $line"; done
}

# latency KEY [submit options...]
latency() {
    local key=$1 s id t0 t1 f st deadline
    shift
    : >"$T/$key-start.ms" && : >"$T/$key-gone.ms" && : >"$T/$key-rt.ms"
    for ((s = 0; s < LAT_SAMPLES; s++)); do
        pause
        t0=$(now)
        # shellcheck disable=SC2016 # expanded by the job's shell
        id=$("${SUB[@]}" "$@" -- sh -c 'date +%s.%N >"$0/$MLQ_JOB_ID"' "$T/lat") ||
            { log "submit failed" && continue; }
        t1=$(now)
        f=$T/lat/$id
        deadline=$(($(date +%s) + 120))
        while [ ! -s "$f" ] && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.002; done
        st=$(cat "$f" 2>/dev/null)
        [ -n "$st" ] && calc "1000 * ($st - $t0)" 1 >>"$T/$key-start.ms" && echo >>"$T/$key-start.ms"
        [ -n "$st" ] && slow_sample "$s" "$id" "$t0" "$t1" "$st"
        while ! job_ended "$id" && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.005; done
        calc "1000 * ($(now) - $t0)" 1 >>"$T/$key-gone.ms" && echo >>"$T/$key-gone.ms"
    done
    for ((s = 0; s < LAT_SAMPLES; s++)); do
        pause
        t0=$(now)
        id=$("${SUB[@]}" "$@" -- true) && "$MLQ" wait "$id" 2>/dev/null || log "submit+wait failed"
        t1=$(now)
        calc "1000 * ($t1 - $t0)" 1 >>"$T/$key-rt.ms" && echo >>"$T/$key-rt.ms"
    done
    R[${key}_start]=$(stats <"$T/$key-start.ms")
    R[${key}_gone]=$(stats <"$T/$key-gone.ms")
    R[${key}_rt]=$(stats <"$T/$key-rt.ms")
    R[${key}_n]=$(grep -c . "$T/$key-start.ms")
}
if [[ " $PHASES " == *" d "* ]]; then
    log "(d) single-job latency, $LAT_SAMPLES samples"
    latency lat
    log "    submit->start median/p90/min/max ms: ${R[lat_start]}"
fi
if [[ " $PHASES " == *" e "* ]]; then
    log "(e) single-job latency with --gpus 1, $LAT_SAMPLES samples"
    latency glat --gpus 1
    log "    submit->start median/p90/min/max ms: ${R[glat_start]}"
    if [ "$GPU_N" -gt 0 ]; then
        log "(e) $GPU_N sequential --gpus 1 jobs"
        phase_begin
        fail=0 ids=()
        for ((i = 0; i < GPU_N; i++)); do
            id=$("${SUB[@]}" --gpus 1 -- true) && ids+=("$id") || fail=$((fail + 1))
        done
        t_sub=$(now)
        wait_all gpu "${ids[@]}"
        t_done=$(now)
        phase_end gpu
        R[gpu_submit_s]=$(calc "$t_sub - $P_T0")
        R[gpu_submit_rate]=$(calc "$GPU_N / ($t_sub - $P_T0)" 1)
        R[gpu_e2e_s]=$(calc "$t_done - $P_T0")
        R[gpu_e2e_rate]=$(calc "$GPU_N / ($t_done - $P_T0)" 1)
        R[gpu_fail]=$fail
    fi
fi

# ---------------------------------------------------------------- table
g() { echo "${R[$1]:-n/a}"; }
fmt4() { local v=${R[$1]:-"n/a n/a n/a n/a"}; set -- $v; echo "$1 / $2 / $3 / $4"; }
cpu_line() { # KEY LABEL
    printf '%-58s %s s scheduler (avg %s%% of a core), %s s worker (+shims %s s), host CPU %s%% busy\n' \
        "    CPU used during $2" "$(g "$1_sched_cpu")" "$(g "$1_sched_pct")" "$(g "$1_worker_cpu")" \
        "$(g "$1_worker_all")" "$(g "$1_sys_util")"
}
SUMMARY=$T/summary.txt
{
    echo "================ mlq real-path benchmark summary ================"
    echo "host: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg); $("$MLQ" --version 2>&1 | head -1)"
    echo "binaries: $MLQ_BIN_DIR; one worker: 64 CPUs, 64G, 4 fake GPUs; CURVE on"
    echo "job = mlq submit --name realpath-bench -- true   (N=$N)"
    echo
    printf '%-58s %s\n' "metric" "value"
    printf '%-58s %s\n' "------" "-----"
    printf '%-58s %s ms wall, %s ms user, %s ms sys (n=%s)\n' "(0) mean of $CALLS sequential 'mlq submit' calls" \
        "$(g call_mean)" "$(g call_mean_user)" "$(g call_mean_sys)" "$(g call_n)"
    printf '%-58s %s\n' "(0) one call, ms  median / p90 / min / max" "$(fmt4 call_ms)"
    printf '%-58s %s KB maxrss\n' "(0) one call under /usr/bin/time" "$(g call_rss)"
    printf '%-58s %s / %s\n' "    jobs ok/failed" "$(g call_ok)" "$(g call_bad)"
    if [[ " $PHASES " == *" a "* ]]; then
        printf '%-58s %s s  -> %s jobs/s  (%s failed)\n' "(a) submit N jobs, sequential mlq submit" \
            "$(g seq_submit_s)" "$(g seq_submit_rate)" "$(g seq_fail)"
        printf '%-58s %s s  -> %s jobs/s\n' "(c) first submit -> all N done (sequential submit)" \
            "$(g seq_e2e_s)" "$(g seq_e2e_rate)"
        printf '%-58s %s / %s\n' "    jobs ok/failed" "$(g seq_ok)" "$(g seq_bad)"
        cpu_line seq "(a)+(c)"
    fi
    if [[ " $PHASES " == *" b "* ]]; then
        printf '%-58s %s s\n' "(b) submit one array --array 0-$((N - 1))" "$(g arr_submit_s)"
        printf '%-58s %s s  -> %s jobs/s\n' "(b) array submit -> all N tasks done" \
            "$(g arr_e2e_s)" "$(g arr_e2e_rate)"
        printf '%-58s %s / %s\n' "    jobs ok/failed" "$(g arr_ok)" "$(g arr_bad)"
        cpu_line arr "(b)"
    fi
    if [[ " $PHASES " == *" h "* ]]; then
        printf '%-58s %s s  -> %s jobs/s  (%s failed)\n' "(h) submit N held jobs (--hold), sequential" \
            "$(g held_submit_s)" "$(g held_submit_rate)" "$(g held_fail)"
        printf '%-58s %s s  -> %s jobs/s\n' "(h) release all N at once -> all done" \
            "$(g held_e2e_s)" "$(g held_e2e_rate)"
        printf '%-58s %s / %s\n' "    jobs ok/failed" "$(g held_ok)" "$(g held_bad)"
        cpu_line held "release->done"
    fi
    if [[ " $PHASES " == *" d "* ]]; then
        printf '%-58s %s\n' "(d) latency, idle cluster, ms  median / p90 / min / max" "(n=$(g lat_n))"
        printf '%-58s %s\n' "    submit -> job's first command" "$(fmt4 lat_start)"
        printf '%-58s %s\n' "    submit -> job ended (mlq status)" "$(fmt4 lat_gone)"
        printf '%-58s %s\n' "    'mlq submit' + 'mlq wait' round trip" "$(fmt4 lat_rt)"
    fi
    if [[ " $PHASES " == *" e "* ]]; then
        printf '%-58s %s\n' "(e) latency with --gpus 1, ms  median / p90 / min / max" "(n=$(g glat_n))"
        printf '%-58s %s\n' "    submit -> job's first command" "$(fmt4 glat_start)"
        printf '%-58s %s\n' "    submit -> job ended (mlq status)" "$(fmt4 glat_gone)"
        printf '%-58s %s\n' "    'mlq submit --gpus 1' + 'mlq wait' round trip" "$(fmt4 glat_rt)"
        if [ "$GPU_N" -gt 0 ]; then
            printf '%-58s %s s  -> %s jobs/s  (%s failed)\n' "(e) submit $GPU_N gpus:1 jobs, sequential" \
                "$(g gpu_submit_s)" "$(g gpu_submit_rate)" "$(g gpu_fail)"
            printf '%-58s %s s  -> %s jobs/s\n' "(e) first submit -> all $GPU_N gpus:1 jobs done (4 GPUs)" \
                "$(g gpu_e2e_s)" "$(g gpu_e2e_rate)"
            printf '%-58s %s / %s\n' "    jobs ok/failed" "$(g gpu_ok)" "$(g gpu_bad)"
        fi
    fi
    printf '%-58s %s MB peak RSS (VmHWM), %s threads\n' "mlq-scheduler memory" \
        "$(awk '/^VmHWM/ {printf "%.1f", $2/1024}' "/proc/$SPID/status")" \
        "$(awk '/^Threads/ {print $2}' "/proc/$SPID/status")"
    printf '%-58s %s s CPU since start\n' "mlq-scheduler total CPU" "$(cpu_secs "$SPID")"
    echo "================================================================="
} | tee "$SUMMARY"

# ---------------------------------------------------------------- --slurm
[ "$SLURM" = 1 ] || exit 0
# (0) once more, the two CLIs taking turns call by call, so that both meet
# the same load from whatever else runs on the machine: held jobs on both
# sides (nothing runs meanwhile), cancelled afterwards. Each call's wall
# time and its user+sys CPU (bash's `time`, 1 ms resolution, summed).
"$SLURMPEER_DIR/start.sh" 2>"$T/logs/slurm-start.log" || fail "the Slurm peer did not start"
export SLURM_CONF=${SLURMPEER_BASE:-/var/tmp/slurmpeer}/etc/slurm.conf
log "(0) $CALLS calls each, mlq submit --hold and sbatch -H taking turns"
TIMEFORMAT='%3R %3U %3S'
: >"$T/turns.mlq" && : >"$T/turns.slurm"
for ((i = 0; i < CALLS; i++)); do
    { time "${SUB[@]}" --hold -- true >>"$T/turns.ids"; } 2>>"$T/turns.mlq"
    { time sbatch -H -Q -J realpath-turns -o /dev/null -e /dev/null --wrap=true >/dev/null; } \
        2>>"$T/turns.slurm"
done
"$MLQ" cancel $(cat "$T/turns.ids") 2>/dev/null
scancel -n realpath-turns 2>/dev/null
for k in mlq slurm; do
    R[turns_$k]=$(awk '{ print 1000 * $1 }' "$T/turns.$k" | stats)
    R[turns_cpu_$k]=$(awk '{ c += $2 + $3; n++ } END { printf "%.2f", 1000 * c / n }' "$T/turns.$k")
done
# Our daemons are stopped first: the Slurm run gets the machine to itself,
# as ours did.
for p in "$WPID" "$SPID"; do stop_pid "$p"; done
log "running the Slurm peer's bench.sh $N ($SLURMPEER_DIR)"
"$SLURMPEER_DIR/bench.sh" "$N" >"$T/slurm.txt" 2>"$T/logs/slurm-bench.log" ||
    fail "the Slurm peer's bench.sh failed"
# sval LABEL FIELD [OCCURRENCE]: the FIELD-th number of the value column of
# the Slurm summary line that starts with LABEL.
sval() {
    awk -v l="$1" -v k="$2" -v o="${3:-1}" 'index($0, l) == 1 && ++n == o {
        s = substr($0, 60); gsub(/[^0-9.]+/, " ", s); split(s, a, " ");
        print a[k]; exit }' "$T/slurm.txt"
}
mval() { # KEY FIELD: the FIELD-th word of an mlq result
    awk -v k="$2" '{ print $k }' <<<"${R[$1]:-}"
}
# row LABEL MLQ SLURM HIGHER_IS_BETTER(1|0)
row() {
    local r="" better=""
    if [[ "$2" =~ ^[0-9.]+$ && "$3" =~ ^[0-9.]+$ ]] && awk "BEGIN {exit !($3 > 0)}"; then
        r=$(calc "$2 / $3" 2)
        if awk "BEGIN {exit !(($2 > $3) == $4)}"; then better=mlq; else better=slurm; fi
    fi
    printf '%-50s %12s %12s %10s  %s\n' "$1" "${2:-n/a}" "${3:-n/a}" "${r:-n/a}" "$better"
}
{
    echo
    echo "================ mlq vs Slurm, same machine, same run ================"
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores; load now $(cut -d' ' -f1-3 /proc/loadavg)"
    printf '%-50s %12s %12s %10s  %s\n' "metric" "mlq" "slurm" "mlq/slurm" "better"
    row "(0) one submit call, mean ms" "${R[call_mean]:-}" "$(sval "(0) mean of 100" 1)" 0
    row "(0) taking turns: one call, median ms" "$(mval turns_mlq 1)" "$(mval turns_slurm 1)" 0
    row "(0) taking turns: one call, p90 ms" "$(mval turns_mlq 2)" "$(mval turns_slurm 2)" 0
    row "(0) taking turns: one call, min ms" "$(mval turns_mlq 3)" "$(mval turns_slurm 3)" 0
    row "(0) taking turns: user+sys CPU per call, ms" "${R[turns_cpu_mlq]:-}" "${R[turns_cpu_slurm]:-}" 0
    row "(0) one submit call, user+sys CPU ms" \
        "$(calc "${R[call_mean_user]:-0} + ${R[call_mean_sys]:-0}" 2)" \
        "$(calc "$(sval "(0) mean of 100" 2) + $(sval "(0) mean of 100" 3)" 2)" 0
    if [[ " $PHASES " == *" a "* ]]; then
        row "(a) sequential submits, jobs/s" "${R[seq_submit_rate]:-}" "$(sval "(a) submit N jobs" 2)" 1
        row "(c) first submit -> all done, jobs/s" "${R[seq_e2e_rate]:-}" "$(sval "(c) first submit" 2)" 1
    fi
    if [[ " $PHASES " == *" b "* ]]; then
        row "(b) one array submit call, s" "${R[arr_submit_s]:-}" "$(sval "(b) submit one array" 1)" 0
        row "(b) array submit -> all done, jobs/s" "${R[arr_e2e_rate]:-}" "$(sval "(b) array submit" 2)" 1
    fi
    if [[ " $PHASES " == *" h "* ]]; then
        row "(h) held submits, jobs/s" "${R[held_submit_rate]:-}" "$(sval "(h) submit N held" 2)" 1
        row "(h) release all -> all done, jobs/s" "${R[held_e2e_rate]:-}" "$(sval "(h) release all" 2)" 1
    fi
    if [[ " $PHASES " == *" d "* ]]; then
        row "(d) idle submit -> start, median ms" "$(mval lat_start 1)" "$(sval "    sbatch -> batch script" 1 1)" 0
        row "(d) idle submit -> start, p90 ms" "$(mval lat_start 2)" "$(sval "    sbatch -> batch script" 2 1)" 0
        row "(d) idle submit -> ended, median ms" "$(mval lat_gone 1)" "$(sval "    sbatch -> job gone" 1 1)" 0
        row "(d) mlq submit+wait vs srun true, median ms" "$(mval lat_rt 1)" "$(sval "    'srun true'" 1)" 0
    fi
    if [[ " $PHASES " == *" e "* ]]; then
        row "(e) gpu:1 submit -> start, median ms" "$(mval glat_start 1)" "$(sval "    sbatch -> batch script" 1 2)" 0
        row "(e) gpu:1 submit -> ended, median ms" "$(mval glat_gone 1)" "$(sval "    sbatch -> job gone" 1 2)" 0
        [ "$GPU_N" -gt 0 ] &&
            row "(e) $GPU_N gpu:1 jobs -> all done, jobs/s" "${R[gpu_e2e_rate]:-}" "$(sval "(e) first submit" 2)" 1
    fi
    echo "======================================================================"
    echo "Slurm's own summary:"
    cat "$T/slurm.txt"
} | tee -a "$SUMMARY"
