#!/usr/bin/env bash
# mlq-shim starts once per job: it must not load libzmq (and the libraries
# libzmq pulls in: libstdc++, krb5, ...), which it never uses; their
# loading tripled the CPU of each start.
IT_DEADLINE=30
. "$(dirname "$0")/lib.sh" "$@"

command -v ldd >/dev/null || fail "no ldd (libc-bin)"
SHIM=$MLQ_BIN_DIR/mlq-shim
[ -x "$SHIM" ] || fail "no $SHIM"
run ldd "$SHIM"
[ "$RC" = 0 ] || fail "ldd $SHIM failed: $ERR"
case "$OUT" in
*libzmq* | *libstdc++*) fail "mlq-shim loads libraries it does not use: $OUT" ;;
esac
# the worker, which talks to the scheduler, still does
run ldd "$MLQ_BIN_DIR/mlq-worker"
assert_contains "$OUT" "libzmq" "the worker links libzmq"
log "ok"
