#!/usr/bin/env bash
# mlq-shim starts once per job: it must not load libzmq (and the libraries
# libzmq pulls in: libstdc++, krb5, ...), which it never uses; their
# loading tripled the CPU of each start.
IT_DEADLINE=30
. "$(dirname "$0")/lib.sh" "$@"

command -v ldd >/dev/null || fail "no ldd (libc-bin)"
SHIM=$MLQ_BIN_DIR/mlq-shim
[ -x "$SHIM" ] || fail "no $SHIM"
command -v nm >/dev/null || fail "no nm (binutils)"
# It calls nothing of libzmq, in every build.
run nm -D --undefined-only "$SHIM"
[ "$RC" = 0 ] || fail "nm $SHIM failed: $ERR"
case "$OUT" in
*zmq_*) fail "mlq-shim calls into libzmq: $(grep zmq_ <<<"$OUT")" ;;
esac
run ldd "$SHIM"
[ "$RC" = 0 ] || fail "ldd $SHIM failed: $ERR"
case "$OUT" in
*libasan*)
    # A sanitizer build links with --no-as-needed (the compiler's spec for
    # -fsanitize puts it before the runtime), so every library named on the
    # link line is loaded whether used or not; the symbol check above is
    # what holds there, the plain build's run checks the loading.
    log "sanitizer build: libraries on the link line load unused; not checked here"
    ;;
*libzmq* | *libstdc++*) fail "mlq-shim loads libraries it does not use: $OUT" ;;
esac
# the worker, which talks to the scheduler, still does
run ldd "$MLQ_BIN_DIR/mlq-worker"
assert_contains "$OUT" "libzmq" "the worker links libzmq"
log "ok"
