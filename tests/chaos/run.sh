#!/usr/bin/env bash
# run.sh: the chaos suite, one part after the other, then one summary line
# of figures per part.
#
# usage: bash tests/chaos/run.sh [PART...]     PART: sched_crash, runaway,
#                                             worker_crash, partition, disk_full,
#                                             spool_full, worker_down, gang_crash
# env:   MLQ_BIN_DIR     the binaries (default: build/bin)
#        MLQ_CHAOS_FULL  1: the long variant (2,000 jobs and 25 scheduler
#                        kills, three rounds of worker kills, two rounds
#                        per signal of daemons left down, 200 gangs and
#                        30 or more scheduler kills); default: the short
#                        one CI runs
#        MLQ_CHAOS_SEED  fixes the workload and kill moments of parts 1
#                        and 8 (sched_crash, gang_crash)
#        MLQ_IT_KEEP     1: keep every temp dir (failed parts keep theirs)
# Parts 4, 5 and 6 need root (network namespaces, mounts) and are skipped
# without it (and fail when run as root but unable to set up). Exit status: 0 when no part failed.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
export MLQ_SRC_DIR=$src
export MLQ_BIN_DIR=${MLQ_BIN_DIR:-$src/build/bin}

parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(sched_crash runaway worker_crash partition disk_full spool_full worker_down gang_crash)

summary=$(mktemp "${TMPDIR:-/tmp}/mlq-chaos-summary.XXXXXX")
trap 'rm -f "$summary"' EXIT
export MLQ_CHAOS_SUMMARY=$summary

failed=0
results=()
for p in "${parts[@]}"; do
    script=$here/test_$p.sh
    [ -f "$script" ] || {
        echo "run.sh: no part $p ($script)" >&2
        exit 2
    }
    echo "=== chaos: $p" >&2
    start=$(date +%s)
    bash "$script"
    rc=$?
    took=$(($(date +%s) - start))
    case "$rc" in
    0) results+=("PASS $p (${took}s)") ;;
    77) results+=("SKIP $p") ;;
    *)
        results+=("FAIL $p (exit $rc, ${took}s)")
        failed=1
        ;;
    esac
done

echo >&2
echo "=== chaos suite$([ "${MLQ_CHAOS_FULL:-0}" = 1 ] && echo ' (full)'):" >&2
printf '%s\n' "${results[@]}" >&2
cat "$summary" >&2
exit "$failed"
