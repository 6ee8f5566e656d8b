#!/usr/bin/env bash
# run.sh [--quick] [mlq-bench options]: builds what the benchmark needs in
# build-bench (Release) and runs it twice: the default configuration, then
# the lab set (--lab). Figures go to stdout as `name: value unit` (lab.NAME
# for the lab set); progress notes and errors to stderr. See README.md,
# "Benchmarks".
#
#   MLQ_BENCH_BUILD=DIR   build dir to use instead of <repo>/build-bench
#   MLQ_BENCH_NO_BUILD=1  skip the build (binaries already in DIR/bin)
#
# Everything the run creates lives under one temp dir, removed on exit; the
# daemons the benchmark starts die with it (PR_SET_PDEATHSIG), also when it
# is killed.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${MLQ_BENCH_BUILD:-$SRC/build-bench}
TARGETS=(mlq-scheduler mlq-worker mlq-shim mlq-bench mlq-bench-stamp mlq-replay)

TMP=$(mktemp -d "${TMPDIR:-/tmp}/mlq-bench-run.XXXXXX")
keep=
for a in "$@"; do [ "$a" = --keep ] && keep=1; done
if [ -n "$keep" ]; then
    trap 'echo "# kept $TMP" >&2' EXIT
else
    trap 'rm -rf "$TMP"' EXIT
fi

if [ -z "${MLQ_BENCH_NO_BUILD:-}" ]; then
    echo "# building ${TARGETS[*]} in $BUILD (Release)" >&2
    if ! { cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release &&
        cmake --build "$BUILD" --target "${TARGETS[@]}" -j"$(nproc)"; } >"$TMP/build.log" 2>&1; then
        tail -n 40 "$TMP/build.log" >&2
        echo "run.sh: build failed (full log above)" >&2
        exit 1
    fi
fi

# Two sets: the default configuration (keys, log level info), then the lab
# set (--insecure, --log-level warn; figures named lab.NAME), so that what
# security and logging cost shows. Given --lab, only the lab set.
# Not exec: the EXIT trap must still run when the benchmark ends.
rc=0
lab_only=
for a in "$@"; do [ "$a" = --lab ] && lab_only=1; done
if [ -z "$lab_only" ]; then
    TMPDIR=$TMP "$BUILD/bin/mlq-bench" --bin-dir "$BUILD/bin" "$@" || rc=$?
    set -- "$@" --lab
fi
TMPDIR=$TMP "$BUILD/bin/mlq-bench" --bin-dir "$BUILD/bin" "$@" || rc=$?
exit "$rc"
