#!/usr/bin/env bash
# Fuzzes every libFuzzer target (tests/fuzz/fuzz_*.c) for a bounded time.
#
# Builds the targets with clang, libFuzzer, ASan and UBSan in build-fuzz/
# (MLQ_FUZZ=ON MLQ_SANITIZE=ON), then runs each for MLQ_FUZZ_SECONDS
# (default 20) on a copy of its corpus, one after the other. Fails when any
# target crashes, leaks, trips a sanitizer, hangs or runs out of memory; the
# input that did it is kept and named, so it can be replayed:
#   build-fuzz/bin/fuzz_proto build-fuzz/fuzz-artifacts/DATE-TIME/fuzz_proto-crash-...
#
# Usage: tests/fuzz/run-fuzzers.sh [TARGET...]     (default: every target)
# Environment:
#   MLQ_FUZZ_SECONDS  seconds per target (default 20)
#   MLQ_FUZZ_BUILD    build directory (default build-fuzz in the source tree)
#   MLQ_FUZZ_KEEP=1   keep the grown corpus copies (their path is printed);
#                     copy new inputs worth keeping into tests/fuzz/corpus/
# Installs clang and its libFuzzer runtime with apt-get when they are
# missing (as root, or through sudo).
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${MLQ_FUZZ_BUILD:-$SRC/build-fuzz}
SECONDS_EACH=${MLQ_FUZZ_SECONDS:-20}
# Inputs that crashed (or leaked, hung...), one directory per run.
ARTIFACTS=$BUILD/fuzz-artifacts/$(date +%Y%m%d-%H%M%S)

say() { printf 'run-fuzzers: %s\n' "$*" >&2; }
die() {
    say "$*"
    exit 1
}

case "$SECONDS_EACH" in
'' | *[!0-9]*) die "MLQ_FUZZ_SECONDS must be a whole number of seconds, not '$SECONDS_EACH'" ;;
esac
[ "$SECONDS_EACH" -ge 1 ] && [ "$SECONDS_EACH" -le 604800 ] ||
    die "MLQ_FUZZ_SECONDS must be 1..604800"

# can_fuzz: true when clang can build and link a libFuzzer target.
can_fuzz() {
    local d rc=0
    command -v clang >/dev/null || return 1
    d=$(mktemp -d)
    printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
        'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
        >"$d/t.c"
    clang -fsanitize=fuzzer,address,undefined "$d/t.c" -o "$d/t" >/dev/null 2>&1 || rc=1
    rm -rf "$d"
    return "$rc"
}

install_clang() {
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    command -v apt-get >/dev/null || die "clang with libFuzzer is needed (install clang)"
    say "installing clang and its libFuzzer runtime (apt-get)"
    $sudo apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends \
        clang libclang-rt-dev >&2
}

can_fuzz || install_clang
can_fuzz || die "clang cannot build a libFuzzer target even after installing it"

# The targets: the arguments, or every tests/fuzz/fuzz_*.c.
TARGETS=("$@")
if [ "${#TARGETS[@]}" = 0 ]; then
    for f in "$SRC"/tests/fuzz/fuzz_*.c; do
        TARGETS+=("$(basename "$f" .c)")
    done
fi
for t in "${TARGETS[@]}"; do
    [ -f "$SRC/tests/fuzz/$t.c" ] || die "no such fuzz target: $t (tests/fuzz/$t.c)"
done

start=$(date +%s)
say "building ${TARGETS[*]} in $BUILD"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mlq-fuzz.XXXXXX")
if [ "${MLQ_FUZZ_KEEP:-0}" != 1 ]; then
    trap 'rm -rf "$WORK"' EXIT
fi
cmake -S "$SRC" -B "$BUILD" -DMLQ_FUZZ=ON -DMLQ_SANITIZE=ON -DCMAKE_C_COMPILER=clang \
    >"$WORK/cmake.log" 2>&1 || {
    cat "$WORK/cmake.log" >&2
    die "cmake failed"
}
cmake --build "$BUILD" --target "${TARGETS[@]}" -j"$(nproc)" >"$WORK/build.log" 2>&1 || {
    tail -n 60 "$WORK/build.log" >&2
    die "the build failed"
}
mkdir -p "$ARTIFACTS"

# Sanitizer settings for the runs: stop at the first report, with a stack.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=()
for t in "${TARGETS[@]}"; do
    corpus=$WORK/$t
    mkdir -p "$corpus"
    if [ -d "$SRC/tests/fuzz/corpus/$t" ]; then
        cp -R "$SRC/tests/fuzz/corpus/$t/." "$corpus/"
    fi
    before=$(find "$corpus" -type f | wc -l)
    rc=0
    # -timeout: one input taking 10 s is a hang; -rss_limit_mb: a leak or
    # an unbounded allocation.
    "$BUILD/bin/$t" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$ARTIFACTS/$t-" "$corpus" \
        >"$WORK/$t.log" 2>&1 || rc=$?
    after=$(find "$corpus" -type f | wc -l)
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$WORK/$t.log" | tail -n 1)
    if [ "$rc" = 0 ]; then
        say "$t: ok, ${runs:-?} runs in ${SECONDS_EACH} s, corpus $before -> $after"
    else
        failed+=("$t")
        say "$t: FAILED (exit $rc) after ${runs:-?} runs; the end of its log:"
        tail -n 60 "$WORK/$t.log" >&2
        for a in "$ARTIFACTS/$t-"*; do
            if [ -e "$a" ]; then
                say "  reproducer: $a (replay: $BUILD/bin/$t $a)"
            fi
        done
    fi
done

rmdir "$ARTIFACTS" 2>/dev/null || true # nothing to reproduce
[ "${MLQ_FUZZ_KEEP:-0}" != 1 ] || say "grown corpora and logs kept in $WORK"
say "total $(($(date +%s) - start)) s for ${#TARGETS[@]} targets"
[ "${#failed[@]}" = 0 ] || die "failed: ${failed[*]}"
say "every target ran clean"
