#!/usr/bin/env bash
# build-deb.sh [BUILD_DIR]: configures (when needed) and builds BUILD_DIR
# (default build-deb, RelWithDebInfo), then makes the Debian package
# BUILD_DIR/mlq_VERSION_ARCH.deb with CPack. Needs help2man and dpkg-dev
# (deploy/install-deps.sh).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build-deb}
if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
cmake --build "$build" -j"${MLQ_BUILD_JOBS:-2}"
cmake --build "$build" --target package
ls "$build"/mlq_*.deb
