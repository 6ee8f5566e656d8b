#!/usr/bin/env bash
# The source tree holds no leftover merge-conflict markers: a marker line in
# a doc or a script can slip past the build (and did once).
IT_DEADLINE=30
. "$(dirname "$0")/lib.sh" "$@"

command -v git >/dev/null || fail "git is needed to list the tracked files"
cd "$MLQ_SRC_DIR" || fail "no source tree at $MLQ_SRC_DIR"
if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    log "SKIP: not a git checkout (a source tarball): no tracked files to check"
    exit 77
fi
hits=$(git ls-files -z | xargs -0 grep -nE '^(<<<<<<<|>>>>>>>) ' -- 2>/dev/null || true)
[ -z "$hits" ] || fail "merge-conflict markers in tracked files:
$hits"
log "ok"
