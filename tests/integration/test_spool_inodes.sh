#!/usr/bin/env bash
# Inodes per job in the spool: a steady stream of jobs makes and frees
# (almost) no file in the worker's spool, because on a file system like ext4
# each inode made costs more the more were freed in the last seconds. A
# first burst fills the pool of recycled attempt folders; during a second
# burst of N jobs the worker and its shims (traced with strace from the
# worker's start) make and free a handful of inodes in all, not several
# per job as when each attempt had a folder and marker files of its own.
# SPOOL_INODES_JOBS sets N (default 50).
IT_DEADLINE=180
. "$(dirname "$0")/lib.sh" "$@"
command -v strace >/dev/null || fail "strace is needed (deploy/install-deps.sh installs it)"
N=${SPOOL_INODES_JOBS:-50}
SPOOL=$T/spool-w1
HERE=$MLQ_SRC_DIR/tests/integration

# The worker runs under strace, one trace file per process. (LeakSanitizer
# cannot run under ptrace: a sanitizer build's traced processes skip it.)
cat >"$T/traced-worker" <<WRAP
#!/bin/sh
export ASAN_OPTIONS="\${ASAN_OPTIONS:+\$ASAN_OPTIONS:}detect_leaks=0"
exec strace -f -ff -ttt -y -qq -o "$T/trace" \
    -e trace=open,openat,creat,mkdir,mkdirat,rename,renameat,renameat2,unlink,unlinkat,rmdir \
    "$MLQ_WORKER_BIN" "\$@"
WRAP
chmod +x "$T/traced-worker"
REAL_WORKER=$MLQ_WORKER_BIN
MLQ_WORKER_BIN=$T/traced-worker
start_scheduler "$T/state"
start_worker w1 "$SPOOL" --cpus 8 --mem 8G --gpus 0
MLQ_WORKER_BIN=$REAL_WORKER

attempt_dirs() {
    find "$SPOOL/attempts" -mindepth 1 -maxdepth 1 -type d \
        -regextype posix-extended -regex '.*/[0-9a-f]{8}-[0-9a-f-]{27}'
}

# burst: N held jobs released at once, all done, their folders recycled.
burst() {
    local ids=() i
    for ((i = 0; i < N; i++)); do
        ok mlq submit --hold --cpus 0.1 --mem 1M -- true
        ids+=("$OUT")
    done
    find "$SPOOL" >"$T/snapshot"
    T0=$(date +%s.%N)
    ok mlq release "${ids[@]}"
    expect_rc 0 mlq wait "${ids[@]}" --timeout 90s
    wait_until "[ -z \"\$(attempt_dirs)\" ]" 30 || fail "attempt folders left: $(attempt_dirs | head -3)"
}

burst
burst
WPID=$(pidfile_pid "$SPOOL/worker.pid")
[ -n "$WPID" ] || fail "no worker pid"
sleep 0.5 # the last records of the trace
python3 "$HERE/spoolcount.py" "$SPOOL" "$T/snapshot" "$T/trace" "$WPID" "$T0" "$N" >"$T/count"
cat "$T/count" >&2
read -r _ MADE _ FREED < <(tail -n 1 "$T/count")
[ $((MADE + FREED)) -le $((N / 10)) ] ||
    fail "$MADE inodes made and $FREED freed in the spool by a burst of $N jobs (at most $((N / 10)) in all)"
ok true
