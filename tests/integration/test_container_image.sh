#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# submit --image: the job runs inside an image built here from busybox (no
# registry), through the worker's podman, with its working directory
# mounted at the same path; the exit code comes back; the image id the
# worker resolved is recorded in the attempt folder; a cancel's SIGTERM
# reaches the process inside; a worker without a runtime fails the start
# with a clear detail; GPUs go through CDI (a stand-in spec whose devices
# are marker files: the job sees only its own, CUDA_VISIBLE_DEVICES=0,
# NVIDIA_VISIBLE_DEVICES=void); a user's job runs inside as that user's uid and gid,
# and a working directory that user cannot enter is refused. Root only
# (podman as root, a throwaway account); its own podman storage under T, so
# the machine's podman state is never touched.
IT_DEADLINE=120
. "$(dirname "$0")/lib.sh" "$@"

[ "$(id -u)" = 0 ] || it_skip "podman jobs need root"
for tool in useradd userdel setpriv; do
    command -v "$tool" >/dev/null || it_skip "needs $tool"
done
PODMAN=$(command -v podman) || fail "podman not installed (deploy/install-deps.sh installs it)"
BUSYBOX=$(command -v busybox) || fail "busybox not installed (busybox-static)"

# --- podman state private to the test ------------------------------------------
mkdir -p "$T/podman"
cat >"$T/podman/storage.conf" <<EOF
[storage]
driver = "vfs"
graphroot = "$T/podman/root"
runroot = "$T/podman/run"
EOF
# Limits the container may get without CAP_SYS_RESOURCE (podman's own
# defaults as root raise them, which some sandboxes refuse).
cat >"$T/podman/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
tmp_dir = "$T/podman/tmp"
volume_path = "$T/podman/volumes"
EOF
export CONTAINERS_STORAGE_CONF=$T/podman/storage.conf CONTAINERS_CONF=$T/podman/containers.conf
pod() { "$PODMAN" "$@" 2>>"$T/logs/podman.log"; }
# Removes what podman made under T, whatever the test's outcome (vfs layers
# are plain folders, but podman's run state holds mounts and locks).
podman_cleanup() {
    local rc=$?
    set +e # a failing step here must not skip it_cleanup
    pod rm -a -f >/dev/null
    pod system reset -f >/dev/null
    [ -z "${USR:-}" ] || userdel -f "$USR" >/dev/null 2>&1 || log "warning: could not remove $USR"
    (exit "$rc")
    it_cleanup
}
trap podman_cleanup EXIT

# --- the image: busybox and a marker, nothing from this machine ---------------
R=$T/rootfs
mkdir -p "$R/bin" "$R/etc" "$R/tmp"
cp "$BUSYBOX" "$R/bin/busybox"
for a in sh cat echo sleep ls id touch true; do ln -s busybox "$R/bin/$a"; done
printf 'NAME="mlq-test-image"\nID=mlqtest\n' >"$R/etc/os-release"
echo "only-in-the-image" >"$R/marker"
tar -C "$R" -c . | pod import - localhost/mlqtest:1 >/dev/null || fail "podman import failed"
IMAGE_ID=$(pod image inspect --format '{{.Id}}' localhost/mlqtest:1)
[ -n "$IMAGE_ID" ] || fail "no image id"

# crun refuses a hybrid cgroup layout (v1 controllers plus a v2 mount that
# has controllers); the worker then runs in a mount namespace without the
# v2 mount, which crun reads as plain v1.
WRAP=$T/worker-ns.sh
cat >"$WRAP" <<EOF
#!/bin/sh
if grep -q . /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null; then
    exec unshare -m -- sh -c 'umount -l /sys/fs/cgroup/unified && exec "\$0" "\$@"' "$MLQ_WORKER_BIN" "\$@"
fi
exec "$MLQ_WORKER_BIN" "\$@"
EOF
chmod +x "$WRAP"

start_scheduler "$T/state"
MLQ_WORKER_BIN=$WRAP start_worker w1 "$T/spool-w1" --limits off --container-runtime "$PODMAN"

WD=$T/wd
mkdir -p "$WD"
echo "workdir-content" >"$WD/data.txt"

# --- it runs in the image, sees its workdir, and its exit code comes back -----
ok mlq submit --mem 64M --image localhost/mlqtest:1 --workdir "$WD" --env GREETING=hi -- \
    sh -c 'cat /etc/os-release; cat /marker; cat data.txt; echo "greeting=$GREETING";
           echo "path=$PATH"; echo written > out.txt; exit 3'
A=$OUT
expect_rc 1 mlq wait "$A" --timeout 60s
ok mlq logs "$A"
assert_eq 3 "$(job_field "$A" exit_code)" "exit code through podman (stderr: $(mlq logs "$A" --stderr))"
assert_eq FAILED "$(job_state "$A")" "state of the job that exited 3"
assert_contains "$OUT" 'NAME="mlq-test-image"' "the image's /etc/os-release"
assert_contains "$OUT" "only-in-the-image" "the image's marker file"
assert_contains "$OUT" "workdir-content" "the mounted workdir"
assert_contains "$OUT" "greeting=hi" "--env inside the container"
case "$OUT" in *"path=$PATH"*) fail "the worker's PATH leaked into the container" ;; esac
assert_eq written "$(cat "$WD/out.txt" 2>/dev/null)" "a file written in the workdir"
[ ! -e /marker ] || grep -qv only-in-the-image /marker || fail "the marker is on the host"

# The image the worker resolved: in the run manifest, and in its log.
DIGEST=$(pod image inspect --format '{{.Digest}}' localhost/mlqtest:1)
ok mlq manifest "$A" --json
assert_eq localhost/mlqtest:1 "$(json "d['image']['ref']" <<<"$OUT")" "manifest image ref"
assert_eq "$IMAGE_ID" "$(json "d['image']['id']" <<<"$OUT")" "manifest image id"
assert_eq "$DIGEST" "$(json "d['image']['digest']" <<<"$OUT")" "manifest image digest"
assert_eq '["sh", "-c"]' "$(json "d['argv'][:2]" <<<"$OUT")" "manifest argv is the job's, not podman's"
grep -q "image localhost/mlqtest:1 is $IMAGE_ID (digest $DIGEST)" "$T/logs/worker-w1.log" ||
    fail "the worker's log does not name the image's id and digest"

# A rerun runs in the same image.
ok mlq rerun "$A"
A2=$OUT
expect_rc 1 mlq wait "$A2" --timeout 60s
assert_eq "$IMAGE_ID" "$(mlq manifest "$A2" --json | json "d['image']['id']")" "the rerun's image"

# --- a job that succeeds --------------------------------------------------------
ok mlq submit --mem 64M --image localhost/mlqtest:1 --workdir "$WD" -- true
ok mlq wait "$OUT" --timeout 60s

# --- cancel: SIGTERM reaches the process in the container ----------------------
ok mlq submit --mem 64M --kill-grace 10s --image localhost/mlqtest:1 --workdir "$WD" -- \
    sh -c 'trap "echo got-term; exit 143" TERM; echo ready; sleep 300 & wait'
B=$OUT
wait_state "$B" RUNNING 30
wait_until "mlq logs $B | grep -q ready" 30 || fail "job B not ready: $(mlq logs "$B" 2>&1)"
ok mlq cancel "$B"
wait_state "$B" CANCELLED 20
wait_until "mlq logs $B | grep -q got-term" 15 || fail "job B never saw SIGTERM: $(mlq logs "$B" 2>&1)"

# --- a user's job: inside as the user's uid and gid ------------------------------
USR=mlqtest_$(printf '%04x%04x' $((RANDOM)) $((RANDOM)))
useradd -M -r "$USR" >/dev/null 2>&1 || fail "useradd $USR"
chmod 0711 "$T"
UD=$T/home-$USR
mkdir -p "$UD/work" "$T/closed"
chmod 0700 "$T/closed"
ok "$MLQ" keygen --out "$UD/key"
ok "$MLQ" --scheduler "$SCHED_ADDR" admin user add "$USR" --key "$UD/key.pub"
printf 'scheduler = %s\nkey = %s\nscheduler_key = %s\n' "$SCHED_ADDR" "$UD/key" \
    "$IT_KEYS/server.key.pub" >"$UD/config"
chown -R "$USR:" "$UD"
as_user() {
    run env -C "$UD" HOME="$UD" XDG_CONFIG_HOME="$UD" MLQ_CONFIG="$UD/config" \
        setpriv --reuid="$USR" --regid="$(id -g "$USR")" --init-groups "$@"
}
as_user "$MLQ" submit --mem 64M --image localhost/mlqtest:1 --workdir "$UD/work" -- \
    sh -c 'id -u > ids; id -g >> ids; echo "$USER $HOME"'
[ "$RC" = 0 ] || fail "submit as $USR: exit $RC: $ERR"
U=$OUT
ok mlq wait "$U" --timeout 60s
assert_eq "$(id -u "$USR") $(id -g "$USR")" "$(xargs <"$UD/work/ids")" "ids inside the container"
assert_eq "$USR:$(id -g "$USR")" "$(stat -c %U:%g "$UD/work/ids")" "owner of the file it wrote"
ok mlq logs "$U"
assert_contains "$OUT" "$USR " "USER inside the container"
as_user "$MLQ" submit --mem 64M --image localhost/mlqtest:1 --workdir "$T/closed" -- \
    sh -c 'touch ran.stamp'
[ "$RC" = 0 ] || fail "submit as $USR: exit $RC: $ERR"
U2=$OUT
expect_rc 1 mlq wait "$U2" --timeout 30s
assert_contains "$(mlq status "$U2" --json | json "d['attempts'][-1]['detail']")" \
    "not accessible to $USR" "detail for a working directory the user cannot enter"
[ ! -e "$T/closed/ran.stamp" ] || fail "the job ran in a folder its user cannot enter"

# --- GPUs through CDI: a worker with two fake GPUs and a CDI spec for them ----
# Each fake device of the spec mounts its own marker file; the spec lives in a
# tmpfs over /run inside the worker's mount namespace (podman reads
# /run/cdi), so the machine's /etc/cdi and /run/cdi stay untouched.
mkdir -p "$T/gpu"
for i in 0 1; do echo "fake-gpu-$i" >"$T/gpu/$i"; done
cat >"$T/gpu/spec.yaml" <<EOF
cdiVersion: "0.5.0"
kind: nvidia.com/gpu
devices:
  - name: "0"
    containerEdits:
      mounts: [{hostPath: "$T/gpu/0", containerPath: /fake-gpu0, options: [ro, bind]}]
  - name: "1"
    containerEdits:
      mounts: [{hostPath: "$T/gpu/1", containerPath: /fake-gpu1, options: [ro, bind]}]
EOF
RESOLV=$(readlink -f /etc/resolv.conf 2>/dev/null || true)
case "$RESOLV" in
/run/* | /var/run/*) cp "$RESOLV" "$T/gpu/resolv.conf" ;;
*) RESOLV="" ;;
esac
WRAP_GPU=$T/worker-ns-gpu.sh
cat >"$WRAP_GPU" <<EOF
#!/bin/sh
exec unshare -m -- sh -c '
    if grep -q . /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null; then
        umount -l /sys/fs/cgroup/unified || exit 1
    fi
    mount -t tmpfs mlq-cdi /run && mkdir /run/cdi && cp "$T/gpu/spec.yaml" /run/cdi/ || exit 1
    # a resolv.conf kept under /run (systemd-resolved) stays readable
    if [ -n "$RESOLV" ]; then
        mkdir -p "\$(dirname "$RESOLV")" && cp "$T/gpu/resolv.conf" "$RESOLV" || exit 1
    fi
    exec "\$0" "\$@"' "$MLQ_WORKER_BIN" "\$@"
EOF
chmod +x "$WRAP_GPU"
MLQ_WORKER_BIN=$WRAP_GPU start_worker w3 "$T/spool-w3" --limits off --container-runtime "$PODMAN" \
    --gpus 2 --pool gpu
ok mlq submit --mem 64M --gpus 1 --pool gpu --image localhost/mlqtest:1 --workdir "$WD" -- \
    sh -c 'echo "visible=$CUDA_VISIBLE_DEVICES nvidia=$NVIDIA_VISIBLE_DEVICES mlq=$MLQ_GPUS"
           ls / | grep fake-gpu; cat "/fake-gpu$MLQ_GPUS"'
G=$OUT
ok mlq wait "$G" --timeout 60s
ok mlq logs "$G"
GI=$(mlq status "$G" --json | json "','.join(str(i) for i in d['gpu_ids'])")
assert_eq "visible=0 nvidia=void mlq=$GI
fake-gpu$GI
fake-gpu-$GI" "$OUT" "what a one-GPU container job sees"

# --- a worker without a runtime refuses the start with a clear detail ---------
start_worker w2 "$T/spool-w2" --limits off --container-runtime none --pool norun
ok mlq submit --mem 64M --pool norun --image localhost/mlqtest:1 --workdir "$WD" -- \
    sh -c 'touch ran.stamp'
C=$OUT
expect_rc 1 mlq wait "$C" --timeout 30s
ok mlq status "$C" --json
assert_eq "could not start: no container runtime on worker w2" "$(json "d['reason']" <<<"$OUT")" \
    "reason without a runtime"
assert_contains "$(json "d['attempts'][-1]['detail']" <<<"$OUT")" \
    "no container runtime on worker w2" "detail without a runtime"
[ ! -e "$WD/ran.stamp" ] || fail "the command ran without a runtime"

# --- an image that is neither in the store nor pullable: a start failure ------
ok mlq submit --mem 64M --image localhost:1/mlq-no-such-image:1 --workdir "$WD" -- touch pulled.stamp
N=$OUT
expect_rc 1 mlq wait "$N" --timeout 60s
assert_contains "$(job_field "$N" reason)" \
    "could not start: image localhost:1/mlq-no-such-image:1: not in the runtime's store and could not be pulled" \
    "reason for an image that cannot be pulled"
[ ! -e "$WD/pulled.stamp" ] || fail "the command ran without its image"

# --- a bad reference is refused before it leaves the CLI -----------------------
expect_rc 6 mlq submit --image docker-archive:/etc/shadow -- true
assert_contains "$ERR" "transport" "message for a transport reference"

log "PASS"
