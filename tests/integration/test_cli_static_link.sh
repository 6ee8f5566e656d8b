#!/usr/bin/env bash
# test_cli_static_link: the default build links `mlq` against the static
# libzmq.a (MLQ_STATIC_ZMQ, when the archives are installed), so that a
# command loads libc and nothing else: no libzmq.so, no libstdc++, none of
# the PGM, NORM or Kerberos libraries libzmq.so drags in. The static mlq
# still submits over CURVE to a real scheduler, and refuses a scheduler
# address of a transport it leaves out with a clear message (exit 6), not
# a crash. With the option off, mlq links the shared libzmq again.
IT_DEADLINE=120
. "$(dirname "$0")/lib.sh" "$@"

cache=$MLQ_BIN_DIR/../CMakeCache.txt
[ -r "$cache" ] || fail "no CMakeCache.txt next to $MLQ_BIN_DIR"
opt=$(sed -n 's/^MLQ_STATIC_ZMQ:BOOL=//p' "$cache")
zmq_a=$(sed -n 's/^MLQ_STATIC_zmq:FILEPATH=//p' "$cache")
# A sanitizer build's runtimes (and the C++ runtime and libm they load)
# come on top of libc.
sanitize=$(sed -n 's/^MLQ_SANITIZE:BOOL=//p' "$cache")
san_libs=NONE
[ "$sanitize" != ON ] || san_libs='libasan|libubsan|libstdc\+\+|libm\.so|libgcc_s'
needed=$(readelf -d "$MLQ" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort | tr '\n' ' ')
log "MLQ_STATIC_ZMQ=$opt libzmq.a=$zmq_a; mlq needs: $needed"

start_scheduler "$T/state"

# pgm://, norm:// and the rest cannot carry a request (and the static mlq
# leaves them out): refused up front, whichever way mlq is linked.
expect_rc 6 "$MLQ" --scheduler "pgm://127.0.0.1;239.192.1.1:5555" submit -- true
assert_contains "$ERR" "expected tcp://HOST:PORT or ipc://PATH" "pgm:// refused"
expect_rc 6 env MLQ_SCHEDULER=norm://127.0.0.1:5555 "$MLQ" list
assert_contains "$ERR" "bad scheduler address 'norm://127.0.0.1:5555' from MLQ_SCHEDULER" \
    "norm:// refused"

if [ "$opt" != ON ] || [ ! -f "$zmq_a" ]; then
    # the fallback: the shared library, as before
    case " $needed " in *" libzmq.so."*) ;; *) fail "mlq links neither libzmq.a nor libzmq.so" ;; esac
    log "static libzmq off or not installed: mlq links the shared one"
    exit 0
fi

# What the ELF file asks for: libc only (the vdso and the loader aside).
for lib in $needed; do
    case "$lib" in
    libc.so.6 | ld-linux-*.so.*) ;; # the C library and its loader
    *) grep -Eq "^($san_libs)" <<<"$lib" ||
        fail "mlq needs $lib; the static build must need libc only" ;;
    esac
done
ldd "$MLQ" >"$T/ldd" || fail "ldd failed"
if grep -E 'libzmq|libstdc\+\+|libpgm|libnorm|libgssapi|libkrb5|libsodium' "$T/ldd" |
    grep -Ev "^[[:space:]]*($san_libs)"; then
    fail "ldd lists a library the static build leaves out"
fi

# What a real CURVE submit loads while it runs (the loader's own account).
LD_DEBUG=libs "$MLQ" submit --scheduler "$SCHED_ADDR" -- true >"$T/id" 2>"$T/ld.log" || {
    cat "$T/ld.log" >&2
    fail "a submit with the static mlq failed"
}
grep -Eq '^[0-9a-f-]{36}$' "$T/id" || fail "no job id printed: $(cat "$T/id")"
loaded=$(grep -o 'calling init: [^ ]*' "$T/ld.log" | sed 's/calling init: //' | sort -u | tr '\n' ' ')
log "libraries initialised during a submit: $loaded"
for lib in $loaded; do
    case "$lib" in
    */libc.so.6 | */ld-linux-x86-64.so.2 | *ld-linux*) ;;
    "$MLQ" | */mlq) ;;
    *) grep -Eq "/($san_libs)" <<<"$lib" || fail "a submit loaded $lib" ;;
    esac
done

