#!/usr/bin/env bash
# Every program answers --version with its name, the project's release (the
# one in CMakeLists.txt), the git description it was built from and the wire
# protocol, and exits 0 without starting anything.
IT_DEADLINE=30
. "$(dirname "$0")/lib.sh" "$@"

release=$(sed -n 's/^project(mlq VERSION \([0-9.]*\).*/\1/p' "$MLQ_SRC_DIR/CMakeLists.txt")
[ -n "$release" ] || fail "no release in CMakeLists.txt"
for prog in mlq mlq-scheduler mlq-worker mlq-shim; do
    out=$("$MLQ_BIN_DIR/$prog" --version) || fail "$prog --version exited $?"
    first=$(printf '%s\n' "$out" | head -n 1)
    case "$first" in
    "$prog $release (git "?*")") ;;
    *) fail "$prog --version: first line [$first], want [$prog $release (git ...)]" ;;
    esac
    assert_contains "$out" "wire protocol 1" "$prog --version"
done
log "ok"
