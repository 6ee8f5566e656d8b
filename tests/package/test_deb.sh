#!/usr/bin/env bash
# The Debian package, installed for real: cpack builds the .deb from the
# current build, dpkg installs it; the programs, man pages, completion,
# units and commented-out configs are where they belong; the daemons start
# exactly as their units' ExecStart= lines say (the unit's User= and
# Environment=, with a drop-in-like override that puts the scheduler on a
# free loopback port), report READY=1 over the notify protocol, serve the
# installed dashboard and run a job to success through the installed mlq.
# Then dpkg -r keeps /var/lib/mlq and /etc/mlq; dpkg --purge removes the
# configs but keeps the job database and the user mlq; MLQ_PURGE_DATA=yes
# on a purge removes those too. Needs root (dpkg, a system user); leaves the
# system as it found it, even on failure.
IT_DEADLINE=180
. "$(dirname "$0")/../integration/lib.sh" "$@"

[ "$(id -u)" = 0 ] || it_skip "installs a package and adds a system user: needs root"
MLQ_BUILD_DIR=${MLQ_BUILD_DIR:-$MLQ_SRC_DIR/build}
PKG_LIB=$MLQ_SRC_DIR/tests/package
LISTEN=$MLQ_SRC_DIR/tests/integration/notify_listen.py
for tool in dpkg cpack setpriv; do
    command -v "$tool" >/dev/null || fail "$tool is missing"
done

# Refuse to touch a machine that has mlq (or its user) already.
if dpkg-query -W -f='${Status}' mlq 2>/dev/null | grep -q installed; then
    fail "package mlq is installed on this machine: the test would replace it"
fi
getent passwd mlq >/dev/null && fail "a user mlq exists already: the test would take it over"
[ ! -e /var/lib/mlq ] || fail "/var/lib/mlq exists already: the test would take it over"
[ ! -e /etc/mlq ] || fail "/etc/mlq exists already: the test would take it over"

PKG_PIDS=()
# Runs before lib.sh's cleanup: stop our daemons (userdel refuses a user
# with processes), then remove everything the package or the test added.
deb_cleanup() {
    set +e
    local pid
    for pid in "${PKG_PIDS[@]+"${PKG_PIDS[@]}"}"; do stop_pid "$pid" 5; done
    if dpkg-query -W -f='${Status}' mlq 2>/dev/null | grep -q -v not-installed; then
        MLQ_PURGE_DATA=yes dpkg --purge mlq >>"$T/logs/dpkg.log" 2>&1 ||
            log "cleanup: dpkg --purge mlq failed"
    fi
    getent passwd mlq >/dev/null && userdel mlq
    getent group mlq >/dev/null && groupdel mlq
    rm -rf /var/lib/mlq
    rmdir /etc/mlq 2>/dev/null
}
trap 'rc=$?; deb_cleanup; (exit $rc); it_cleanup' EXIT

# --- build and install -------------------------------------------------------
mkdir -p "$T/deb"
(cd "$MLQ_BUILD_DIR" && cpack -B "$T/deb") >"$T/logs/cpack.log" 2>&1 || fail "cpack failed"
release=$(sed -n 's/^project(mlq VERSION \([0-9.]*\).*/\1/p' "$MLQ_SRC_DIR/CMakeLists.txt")
deb=$T/deb/mlq_${release}_$(dpkg --print-architecture).deb
[ -s "$deb" ] || fail "cpack made no $deb: $(ls "$T/deb")"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libzmq5 libsqlite3-0 libmicrohttpd12 passwd; do
    assert_contains "$depends" "$lib" "Depends of the .deb"
done
if ! dpkg -i "$deb" >>"$T/logs/dpkg.log" 2>&1; then
    log "dpkg -i failed; installing missing dependencies"
    apt-get install -f -y -q >>"$T/logs/dpkg.log" 2>&1 || fail "dpkg -i $deb failed"
fi

# --- what is installed ---------------------------------------------------------
out=$(/usr/bin/mlq --version) || fail "mlq --version"
assert_contains "$out" "mlq $release" "installed mlq --version"
for b in mlq-scheduler mlq-worker mlq-shim; do
    /usr/bin/$b --version >/dev/null || fail "$b --version"
done
for page in man1/mlq.1.gz man8/mlq-scheduler.8.gz man8/mlq-worker.8.gz man8/mlq-shim.8.gz; do
    [ -s "/usr/share/man/$page" ] || fail "man page $page not installed"
done
if command -v man >/dev/null; then
    page=$(MANWIDTH=100 man -l /usr/share/man/man1/mlq.1.gz 2>&1) || fail "man -l mlq.1: $page"
    assert_contains "$page" "COMMANDS" "mlq(1)"
    assert_contains "$page" "mlq submit [options]" "mlq(1) holds mlq submit --help"
    page=$(MANWIDTH=100 man -l /usr/share/man/man8/mlq-scheduler.8.gz 2>&1)
    assert_contains "$page" "--state-dir" "mlq-scheduler(8) options"
    assert_contains "$page" "/etc/mlq/scheduler.conf" "mlq-scheduler(8) FILES"
fi
comp=/usr/share/bash-completion/completions/mlq
[ -s "$comp" ] || fail "bash completion not installed"
bash -c ". $comp && complete -p mlq" | grep -q -- '-F _mlq' || fail "completion does not register"
[ -s /usr/share/mlq/web/index.html ] || fail "dashboard not installed"
(cd / && env -u PYTHONPATH /usr/bin/python3 -c 'import mlq_client, sys; print(mlq_client.__file__)') \
    >"$T/py.out" 2>&1 || fail "the installed Python client does not import: $(cat "$T/py.out")"
assert_contains "$(cat "$T/py.out")" /usr/lib/python3/dist-packages/mlq_client "Python client path (Debian's python3)"
for conf in /etc/mlq/scheduler.conf /etc/mlq/worker.conf; do
    [ -s "$conf" ] || fail "$conf not installed"
    live=$(grep -v -E '^[[:space:]]*(#|$)' "$conf" || true)
    assert_eq "" "$live" "$conf must have every setting commented out"
done
conffiles=$(dpkg-query -W -f='${Conffiles}' mlq)
assert_contains "$conffiles" "/etc/mlq/scheduler.conf" "conffiles"
assert_contains "$conffiles" "/etc/mlq/worker.conf" "conffiles"
getent passwd mlq >/dev/null || fail "postinst made no user mlq"
assert_eq "mlq mlq 700" "$(stat -c '%U %G %a' /var/lib/mlq)" "/var/lib/mlq owner and mode"
UNITS=/lib/systemd/system
[ -s $UNITS/mlq-scheduler.service ] && [ -s $UNITS/mlq-worker.service ] || fail "units not installed"
if command -v systemd-analyze >/dev/null; then
    run systemd-analyze verify $UNITS/mlq-scheduler.service $UNITS/mlq-worker.service
    [ "$RC" = 0 ] && [ -z "$ERR" ] || fail "systemd-analyze verify: rc $RC: $ERR $OUT"
else
    log "systemd-analyze is not installed (package systemd): unit files not verified"
fi

# --- start the daemons as their units would ---------------------------------
# What the mlq user must read (its admin key, the notify sockets) lives in
# $T/pub; T itself only lets it pass.
chmod 711 "$T"
mkdir -m 755 "$T/pub"
"$MLQ" keygen --out "$T/pub/admin.key" >/dev/null 2>>"$T/logs/cli.log"
chmod 644 "$T/pub/admin.key.pub"
PORT=$(free_port)
ADDR=tcp://127.0.0.1:$PORT
cat >"$T/scheduler-override.conf" <<CONF
[Service]
Environment="MLQ_SCHEDULER_OPTS=--listen $ADDR --http 127.0.0.1:0 --authorize admin:root:$T/pub/admin.key.pub --allow-root-jobs"
CONF

# start_unit NAME UNIT DROPIN: eval's unit_exec.py's view of UNIT, checks
# the unit's Type, starts ExecStart as User= with Environment= and a notify
# socket of its own; waits for READY=1. Sets UNIT_PID.
start_unit() {
    local name=$1 unit=$2 dropin=$3 sock=$T/pub/$1.notify
    eval "$(python3 "$PKG_LIB/unit_exec.py" "$unit" "$dropin")" || fail "cannot read $unit"
    assert_eq notify "$UNIT_TYPE" "$name: Type="
    python3 "$LISTEN" "$sock" "${4:-0}" "$T/$name.msgs" &
    PKG_PIDS+=("$!")
    wait_until "grep -qx bound $T/$name.msgs" 10 || fail "$name: notify listener did not start"
    chmod 666 "$sock"
    # systemd's environment for a service: PATH, the account's USER,
    # LOGNAME, HOME, SHELL, Environment=, NOTIFY_SOCKET (and the test's tag).
    local home shell
    home=$(getent passwd "$UNIT_USER" | cut -d: -f6)
    shell=$(getent passwd "$UNIT_USER" | cut -d: -f7)
    setpriv --reuid="$UNIT_USER" --regid="$(id -g "$UNIT_USER")" --init-groups \
        env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        USER="$UNIT_USER" LOGNAME="$UNIT_USER" HOME="$home" SHELL="$shell" \
        NOTIFY_SOCKET="$sock" MLQ_IT_TAG="$T" "${UNIT_ENV[@]}" "${UNIT_ARGV[@]}" \
        >>"$T/logs/$name.log" 2>&1 &
    UNIT_PID=$!
    PKG_PIDS+=("$UNIT_PID")
    IT_PIDS+=("$UNIT_PID")
    wait_until "grep -q READY=1 $T/$name.msgs || ! pid_alive $UNIT_PID" 20 || true
    grep -q READY=1 "$T/$name.msgs" || fail "$name sent no READY=1 ($(cat "$T/$name.msgs"))"
}

start_unit scheduler $UNITS/mlq-scheduler.service "$T/scheduler-override.conf" "$PORT"
SCHED=$UNIT_PID
assert_eq mlq "$(ps -o user= -p "$SCHED")" "the scheduler's account"
assert_contains "$(grep READY=1 "$T/scheduler.msgs")" port_open=1 "READY=1 after the port is open"
[ -s /var/lib/mlq/keys/server.key.pub ] || fail "the scheduler made no key in /var/lib/mlq/keys"

# The dashboard, from /usr/share/mlq/web.
wait_until "[ -s /var/lib/mlq/http.url ]" 10 || fail "no /var/lib/mlq/http.url"
url=$(cat /var/lib/mlq/http.url)
case "$url" in http://127.0.0.1:*) ;; *) fail "HTTP on [$url], want loopback" ;; esac
page=$(curl -fsS --max-time 5 "$url/") || fail "GET $url/ failed"
assert_contains "$page" "<title>mlq" "the installed dashboard"
grep -q "dashboard: /usr/share/mlq/web)" "$T/logs/scheduler.log" ||
    fail "the scheduler did not serve /usr/share/mlq/web: $(grep dashboard "$T/logs/scheduler.log")"

# The installed CLI, as the admin the override registered.
printf 'scheduler = %s\nkey = %s\nscheduler_key = /var/lib/mlq/keys/server.key.pub\n' \
    "$ADDR" "$T/pub/admin.key" >"$MLQ_CONFIG"
/usr/bin/mlq keygen --out "$T/keys/worker.key" >/dev/null 2>>"$T/logs/cli.log" ||
    fail "installed mlq keygen"
/usr/bin/mlq admin worker add pkgtest --key "$T/keys/worker.key.pub" >/dev/null 2>>"$T/logs/cli.log" ||
    fail "installed mlq admin worker add"
cat >"$T/worker-override.conf" <<CONF
[Service]
Environment="MLQ_WORKER_OPTS=--scheduler $ADDR --name pkgtest --key $T/keys/worker.key --scheduler-key /var/lib/mlq/keys/server.key.pub --spool $T/spool --cpus 1 --mem 256M --gpus 0"
CONF
start_unit worker $UNITS/mlq-worker.service "$T/worker-override.conf"
WORKER=$UNIT_PID
assert_eq process "$UNIT_KILLMODE" "mlq-worker.service KillMode="
assert_eq root "$(ps -o user= -p "$WORKER")" "the worker's account"

# --- a job through the installed CLI (the worker finds /usr/bin/mlq-shim) --
wait_until "/usr/bin/mlq workers --json --timeout 2s | grep -q '\"state\": \"UP\"'" 20 ||
    fail "worker pkgtest not UP"
J=$(/usr/bin/mlq submit --cpus 0.5 --mem 64M -- sh -c 'echo installed-ok') || fail "submit"
expect_rc 0 /usr/bin/mlq wait --timeout 30s "$J"
ok /usr/bin/mlq logs "$J"
assert_eq installed-ok "$OUT" "the job's output"

# --- stop as systemd would (SIGTERM to the main process) -------------------
stop_pid "$WORKER" 10
stop_pid "$SCHED" 10
for n in worker scheduler; do
    wait_until "grep -q STOPPING=1 $T/$n.msgs" 5 || fail "$n sent no STOPPING=1"
done

# --- remove, purge, purge with the data --------------------------------------
dpkg -r mlq >>"$T/logs/dpkg.log" 2>&1 || fail "dpkg -r mlq"
[ ! -e /usr/bin/mlq ] || fail "dpkg -r left /usr/bin/mlq"
[ -s /var/lib/mlq/mlq.db ] || fail "dpkg -r removed the job database"
[ -s /etc/mlq/scheduler.conf ] && [ -s /etc/mlq/worker.conf ] || fail "dpkg -r removed the configs"
getent passwd mlq >/dev/null || fail "dpkg -r removed the user mlq"

dpkg --purge mlq >>"$T/logs/dpkg.log" 2>&1 || fail "dpkg --purge mlq"
[ ! -e /etc/mlq/scheduler.conf ] || fail "dpkg --purge left /etc/mlq/scheduler.conf"
[ -s /var/lib/mlq/mlq.db ] || fail "a plain purge removed the job database"
getent passwd mlq >/dev/null || fail "a plain purge removed the user owning the job database"
grep -q "kept the job database in /var/lib/mlq" "$T/logs/dpkg.log" || fail "purge did not say what it kept"

# Installing again adopts the kept user and data.
dpkg -i "$deb" >>"$T/logs/dpkg.log" 2>&1 || fail "dpkg -i over kept data"
[ -s /var/lib/mlq/mlq.db ] || fail "reinstall lost the job database"
assert_eq "mlq 700" "$(stat -c '%U %a' /var/lib/mlq)" "/var/lib/mlq after reinstall"
MLQ_PURGE_DATA=yes dpkg --purge mlq >>"$T/logs/dpkg.log" 2>&1 || fail "dpkg --purge with MLQ_PURGE_DATA=yes"
[ ! -e /var/lib/mlq ] || fail "MLQ_PURGE_DATA=yes left /var/lib/mlq"
getent passwd mlq >/dev/null && fail "MLQ_PURGE_DATA=yes left the user mlq"
getent group mlq >/dev/null && fail "MLQ_PURGE_DATA=yes left the group mlq"
[ ! -e /etc/mlq ] || fail "purge left /etc/mlq: $(ls -A /etc/mlq)"
log "ok"
