#!/usr/bin/env bash
# A shim the standby forks does per job only what the job needs: what is
# the same for every job was done once in the standby before the fork. The
# standby (and every shim it forks) is traced with strace over a few jobs:
#  - no shim reads /dev/urandom (jansson's hash seed, set in the standby),
#    and the worker's run-manifest settings, parsed in the standby, still
#    reach the manifest (its secret patterns redact a secret variable);
#  - a job without --image looks for no image digest note;
#  - no shim loads a library (the standby is linked and bound at its start:
#    -z now, nothing resolved lazily in a forked shim) nor execs mlq-shim.
IT_DEADLINE=120
. "$(dirname "$0")/lib.sh" "$@"
command -v strace >/dev/null || fail "strace is needed (deploy/install-deps.sh installs it)"
# LeakSanitizer cannot run under ptrace: in a sanitizer build the worker,
# and so the standby and the shims it forks, run without it.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"

start_scheduler "$T/state"
start_worker w1 "$T/spool" --cpus 8 --mem 4G --secret-env 'MY_*'
sb=""
wait_until 'sb=$(pgrep -P "$WORKER_PID" -f -- "--standby" | head -n1); [ -n "$sb" ]' 10 ||
    fail "no standby shim next to the worker"
strace -f -qq -e trace=openat,open,execve -o "$T/trace" -p "$sb" 2>"$T/strace.err" &
TRACER=$!
IT_PIDS+=("$TRACER")
wait_until "grep -q attached $T/strace.err || [ -s $T/trace ] || ! pid_alive $TRACER" 5 || true
sleep 0.3
pid_alive "$TRACER" || fail "strace could not attach: $(cat "$T/strace.err")"

ids=()
for i in 1 2 3; do
    ok mlq submit --cpus 0.1 --mem 16M --env MY_VALUE=hunter2 -- true
    ids+=("$OUT")
done
expect_rc 0 mlq wait "${ids[@]}" --timeout 60s
kill "$TRACER" 2>/dev/null || true
wait "$TRACER" 2>/dev/null || true

shims=$(awk '$2 ~ /^openat/ && /shim\.pid"/ {print $1}' "$T/trace" | sort -u | wc -l)
[ "$shims" -ge 3 ] || fail "the trace shows $shims forked shims, not 3: $(head -c 3000 "$T/trace")"
if grep -q '/dev/urandom' "$T/trace"; then
    fail "a forked shim read /dev/urandom: $(grep urandom "$T/trace")"
fi
if grep -q 'image_digest' "$T/trace"; then
    fail "a shim of a job without --image looked for its digest: $(grep image_digest "$T/trace")"
fi
if grep -E 'openat\(.*\.so[."]' "$T/trace" | grep -v '^[0-9]* *openat(AT_FDCWD, "/etc/ld.so.cache"' |
    grep -Ev 'libc\.so|libnss|libcap|libsystemd|ld-linux' >"$T/libs"; then
    # the job (true) loads libc in its own process after its exec; a shim
    # loads nothing: only processes that exec'd may open a library
    execd=$(awk '$2 ~ /^execve/ {print $1}' "$T/trace" | sort -u)
    while read -r pid rest; do
        grep -qx "$pid" <<<"$execd" || fail "forked shim $pid loaded a library: $rest"
    done <"$T/libs"
fi
if grep -E 'execve\(.*mlq-shim' "$T/trace"; then
    fail "mlq-shim was executed again during the burst"
fi
for id in "${ids[@]}"; do
    ok mlq manifest "$id" --json
    env_json=$(json "d.get('manifest', d).get('env', {}).get('MY_VALUE')" <<<"$OUT")
    [ "$env_json" != "hunter2" ] && [ -n "$env_json" ] ||
        fail "job $id: the manifest's MY_VALUE is '$env_json', not redacted by the worker's patterns"
done
log "ok: $shims forked shims, none read urandom, an image note or a library"
