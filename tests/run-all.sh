#!/usr/bin/env bash
# run-all.sh: the whole test suite on a fresh Debian 12 machine, from
# dependencies to results: installs what is missing, builds and runs every
# test (unit, fuzz-corpus replay, integration, chaos) twice, once plain and
# once with AddressSanitizer + UndefinedBehaviorSanitizer, then runs the
# libFuzzer targets for MLQ_FUZZ_SECONDS each (default 20).
#
# usage: bash tests/run-all.sh
# env:   MLQ_TEST_JOBS   tests run in parallel (default 2)
#        MLQ_BUILD_JOBS  compiler processes (default: number of CPUs)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

TEST_JOBS=${MLQ_TEST_JOBS:-2}
BUILD_JOBS=${MLQ_BUILD_JOBS:-$(nproc)}

bash deploy/install-deps.sh

# Plain build.
cmake -S . -B build -DCMAKE_BUILD_TYPE=Debug
cmake --build build -j "$BUILD_JOBS"
ctest --test-dir build --output-on-failure -j "$TEST_JOBS" --timeout 600

# ASan + UBSan build. Any sanitizer report fails the test that caused it
# (integration tests collect the reports of every daemon they start).
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DMLQ_SANITIZE=ON
cmake --build build-asan -j "$BUILD_JOBS"
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1} \
    ctest --test-dir build-asan --output-on-failure -j "$TEST_JOBS" --timeout 900

# libFuzzer targets (clang, ASan+UBSan), each for a bounded time; every
# crash they ever found is in tests/fuzz/corpus/ and replayed above.
MLQ_FUZZ_SECONDS=${MLQ_FUZZ_SECONDS:-20} bash tests/fuzz/run-fuzzers.sh

echo "run-all: every test passed, plain and under ASan+UBSan, and the fuzzers ran clean"
