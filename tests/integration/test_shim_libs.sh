#!/usr/bin/env bash
# mlq-shim starts once per job: it must not load libzmq (and the libraries
# libzmq pulls in: libstdc++, krb5, ...), which it never uses; their
# loading tripled the CPU of each start. Each job's shim is a fork of the
# standby: it is bound at its start (-z now, nothing left to resolve lazily
# in every forked shim) and, with the static archives of its libraries
# installed (MLQ_STATIC_SHIM), needs libc only.
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
run readelf -d "$SHIM"
[ "$RC" = 0 ] || fail "readelf -d $SHIM failed: $ERR"
grep -Eq 'BIND_NOW|FLAGS_1.*NOW' <<<"$OUT" || fail "mlq-shim is bound lazily (no -z now): $OUT"
cache=$MLQ_BIN_DIR/../CMakeCache.txt
opt=$(sed -n 's/^MLQ_STATIC_SHIM:BOOL=//p' "$cache" 2>/dev/null)
static=yes
for lib in msgpackc jansson uuid sodium; do
    [ -f "$(sed -n "s/^MLQ_SHIM_STATIC_$lib:FILEPATH=//p" "$cache" 2>/dev/null)" ] || static=no
done
needed=$(sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' <<<"$OUT" | sort | tr '\n' ' ')
if [ "$opt" = ON ] && [ "$static" = yes ]; then
    for lib in $needed; do
        case "$lib" in
        libc.so.6 | ld-linux-*.so.*) ;;
        libasan* | libubsan* | libstdc++* | libm.so* | libgcc_s*) ;; # a sanitizer build's runtimes
        *) fail "mlq-shim needs $lib; linked with the static archives it needs libc only" ;;
        esac
    done
else
    log "MLQ_STATIC_SHIM=${opt:-?}, archives found: $static: the shared libraries ($needed)"
fi
# the worker, which talks to the scheduler, still does
run ldd "$MLQ_BIN_DIR/mlq-worker"
assert_contains "$OUT" "libzmq" "the worker links libzmq"
log "ok"
