#!/usr/bin/env bash
# demo.sh: brings up a local mlq cluster (a scheduler and two workers), runs
# a small training job and then a scoring job that uses its model, shows
# what the CLI reports about them, and takes the cluster down again.
#
# usage: deploy/demo.sh [BUILD_DIR]      (default: ./build; BUILD_DIR/bin/mlq)
#
# Everything lives in a fresh temp dir (state, spools, client config, the
# jobs' shared work dir), so the demo never touches ~/.config/mlq or a
# cluster you already run. Set MLQ_DEMO_KEEP=1 to keep that dir afterwards.
# Exits non-zero when any step fails.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$ROOT/build}
[ -d "$BUILD" ] || {
    echo "demo: no build dir $BUILD (build first: cmake -S . -B build && cmake --build build -j)" >&2
    exit 2
}
BIN=$(cd "$BUILD" && pwd)/bin
for b in mlq mlq-scheduler mlq-worker; do
    [ -x "$BIN/$b" ] || {
        echo "demo: $BIN/$b is missing; build first" >&2
        exit 2
    }
done
export PATH=$BIN:$PATH

DEMO=$(mktemp -d "${TMPDIR:-/tmp}/mlq-demo.XXXXXX")
STATE=$DEMO/state
WORK=$DEMO/work
mkdir -p "$WORK"
cp "$ROOT/deploy/demo/train.py" "$ROOT/deploy/demo/score.py" "$WORK/"
# The client config `mlq up` writes, kept inside the demo dir.
export MLQ_CONFIG=$DEMO/config
unset MLQ_SCHEDULER
# Jobs get the interpreter by absolute path: a job's PATH need not be ours.
PY=$(python3 -c 'import sys; print(sys.executable)')

UP=0
FAILED=0
cleanup() {
    local rc=$?
    if [ "$UP" = 1 ]; then
        mlq down --state-dir "$STATE" --kill-jobs >/dev/null 2>&1 || true
    fi
    if [ "$rc" -ne 0 ] || [ "$FAILED" = 1 ]; then
        echo "demo: FAILED (exit $rc); state and logs kept in $DEMO" >&2
        find "$STATE" -name '*.log' 2>/dev/null | while read -r f; do
            echo "----- $f" >&2
            tail -n 20 "$f" >&2
        done
    elif [ -n "${MLQ_DEMO_KEEP:-}" ]; then
        echo "demo: kept $DEMO"
    else
        rm -rf "$DEMO"
    fi
}
trap cleanup EXIT

if [ -t 1 ]; then
    step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
else
    step() { printf '\n==> %s\n' "$*"; }
fi
show() {
    printf '$ %s\n' "$*"
    "$@"
}

# A free loopback port, so that a cluster already on the default port 7710
# does not get in the way.
PORT=${MLQ_DEMO_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}

step "Bring up a local cluster: one scheduler, two workers"
show mlq up --workers 2 --cpus 2 --mem 1G --listen "tcp://127.0.0.1:$PORT" --state-dir "$STATE"
UP=1
show mlq workers

step "Submit the training job (stdlib Python linear regression)"
printf '$ mlq submit --name train --cpus 1 --mem 256M --workdir %s -- %s train.py --epochs 30\n' "$WORK" "$PY"
TRAIN=$(mlq submit --name train --cpus 1 --mem 256M --workdir "$WORK" -- "$PY" train.py --epochs 30)
echo "$TRAIN"
show mlq status "$TRAIN"

step "Submit a 4-task scoring array that starts once training has succeeded"
printf '$ mlq submit --name score --array 0-3 --after %s --cpus 0.5 --mem 128M --workdir %s -- %s score.py\n' \
    "${TRAIN:0:8}" "$WORK" "$PY"
SCORE=$(mlq submit --name score --array 0-3 --after "$TRAIN" --cpus 0.5 --mem 128M \
    --workdir "$WORK" -- "$PY" score.py)
echo "$SCORE"
show mlq status "$SCORE"

step "Wait for the whole pipeline"
show mlq wait "$TRAIN" "$SCORE" --timeout 5m
[ -s "$WORK/model.json" ] || {
    echo "demo: the training job wrote no model.json" >&2
    exit 1
}

step "What mlq knows about them"
show mlq list
show mlq status "$TRAIN" "$SCORE"
show mlq logs "$TRAIN"
show mlq logs "$SCORE/0"
show mlq logs "$SCORE/3"
show mlq workers

# Each scoring task must have printed its predictions (a task exits 1 itself
# when the model is off, which `mlq wait` above already turned into a failure).
for i in 0 1 2 3; do
    mlq logs "$SCORE/$i" | grep '^x = .* ->  y = ' >/dev/null || {
        FAILED=1
        echo "demo: scoring task $i printed no predictions" >&2
        exit 1
    }
done
st=$(mlq status "$TRAIN" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')
[ "$st" = SUCCEEDED ] || {
    echo "demo: training job is $st" >&2
    exit 1
}

step "Take the cluster down"
show mlq down --state-dir "$STATE"
UP=0
printf '\ndemo: OK\n'
