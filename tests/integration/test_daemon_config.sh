#!/usr/bin/env bash
# Daemon config files, SIGHUP reload, the log file, versions between
# processes:
#   - a config file's keys apply, and a flag on the command line wins;
#   - an unknown key, a bad value, a key twice, an overlong line: exit 2
#     with FILE:LINE (scheduler and worker);
#   - SIGHUP applies a new log level (debug lines appear), new authorize
#     keys and retention, logs a change that needs a restart, and a bad file
#     changes nothing and is logged;
#   - the log file is reopened after a rename (logrotate's postrotate);
#   - the start line and `mlq workers` show the versions;
#   - a peer of another wire protocol version gets an answer it can read,
#     and the CLI and the worker (exit 2) stop on it.
IT_DEADLINE=120
. "$(dirname "$0")/lib.sh" "$@"

release=$(sed -n 's/^project(mlq VERSION \([0-9.]*\).*/\1/p' "$MLQ_SRC_DIR/CMakeLists.txt")
[ -n "$release" ] || fail "no release in CMakeLists.txt"
WIREVER=$MLQ_BIN_DIR/mlq-wirever
[ -x "$WIREVER" ] || fail "missing $WIREVER"

# ---- strict parsing: exit 2 with FILE:LINE, for both daemons
bad_conf() { # PROG CONTENT WANT
    local prog=$1 conf=$T/bad.conf
    printf '%b' "$2" >"$conf"
    expect_rc 2 "$MLQ_BIN_DIR/$prog" --config "$conf"
    assert_contains "$ERR" "$conf:$3" "$prog with [$2]"
}
for prog in mlq-scheduler mlq-worker; do
    bad_conf "$prog" '# comment\n\nbogus = 1\n' '3: unknown key "bogus"'
    bad_conf "$prog" 'heartbeat = 1s\nheartbeat = 2s\n' '2: heartbeat: already set on line 1'
    bad_conf "$prog" 'heartbeat = soon\n' '1: heartbeat: invalid duration'
    bad_conf "$prog" 'insecure = maybe\n' '1: insecure: expected true or false'
    bad_conf "$prog" 'help = true\n' '1: unknown key "help"'
    bad_conf "$prog" "log-level = $(head -c 5000 /dev/zero | tr '\0' x)\n" '1: line longer than'
    bad_conf "$prog" 'just some words\n' '1: expected "key = value"'
done
bad_conf mlq-scheduler 'retain-logs-size = lots\n' '1: retain-logs-size:'
bad_conf mlq-scheduler 'placement = tightest\n' '1: placement: expected best-fit, pack or spread'
bad_conf mlq-worker 'label = gpu=a100\nlabel = nope\n' '2: label:'
bad_conf mlq-worker 'drain-and-exit = true\n' '1: unknown key "drain-and-exit"'
expect_rc 2 "$MLQ_SCHEDULER_BIN" --config "$T/missing.conf"
assert_contains "$ERR" "missing.conf: no such file" "a missing --config"
log "strict parsing: ok"

# ---- every option --help lists is a config key (the same table), except
# the ones that are not keys
for prog in mlq-scheduler mlq-worker; do
    opts=$("$MLQ_BIN_DIR/$prog" --help | grep -oE '^ +(-h, )?--[a-z-]+' | sed 's/.*--//' | sort -u)
    [ "$(printf '%s\n' "$opts" | wc -l)" -gt 10 ] || fail "$prog --help lists too few options"
    for key in $opts; do
        # Line 2 makes every file bad, so that no daemon ever starts here:
        # the whole file is checked before any value is used.
        printf '%s = x\nzz-no-key = 1\n' "$key" >"$T/key.conf"
        expect_rc 2 "$MLQ_BIN_DIR/$prog" --config "$T/key.conf"
        case "$key" in
        help | version | config | restore | drain-and-exit | list-gpus)
            assert_contains "$ERR" "key.conf:1: unknown key \"$key\"" "$prog: $key is no config key" ;;
        *) # refused for line 2, or (a flag) for "x" not being true or false
            case "$ERR" in
            *"key.conf:2: unknown key \"zz-no-key\""* | *"key.conf:1: $key: expected true or false"*) ;;
            *) fail "$prog --help lists --$key, which is no config key: $ERR" ;;
            esac
            ;;
        esac
    done
done
log "--help and the config keys: ok"

# ---- a scheduler from a config file; the command line's --log-file wins
conf=$T/scheduler.conf
cat >"$conf" <<EOF
# the scheduler's config, as /etc/mlq/scheduler.conf would hold it
heartbeat = 1s
lease = 6s
log-level = info
log-file = $T/logs/from-file.log
retain-jobs = 2d
EOF
slog=$T/logs/sched-file.log
start_scheduler "$T/state" --config "$conf" --log-file "$slog"
[ -s "$slog" ] || fail "--log-file $slog was not written"
[ ! -e "$T/logs/from-file.log" ] || fail "the file's log-file won over the command line's"
start_line=$(grep -m1 'listening on' "$slog") || fail "no start line in $slog"
assert_contains "$start_line" "mlq-scheduler $release (git " "start line"
assert_contains "$start_line" "wire protocol 1..1" "start line"
assert_contains "$start_line" "config $conf" "start line"
assert_contains "$start_line" " INFO " "start line"
# The line format: UTC timestamp, program[pid], level, message.
grep -qE "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}Z mlq-scheduler\[$SCHED_PID\] INFO " "$slog" ||
    fail "log lines do not have the documented format: $(head -n 2 "$slog")"

# ---- a worker says its version; mlq workers shows it
start_worker w1 "$T/spool-w1"
ok mlq workers
assert_contains "$OUT" "VERSION" "mlq workers header"
assert_contains "$OUT" "$release+" "mlq workers row"
ok mlq workers --json
assert_eq "$release" "$(printf '%s' "$OUT" | json "d['workers'][0]['version']")" "--json version"
[ -n "$(printf '%s' "$OUT" | json "d['workers'][0]['git']")" ] || fail "--json git is empty"
grep -q "worker w1 up: .*version $release (git " "$slog" || fail "no worker version in the log"
log "versions: ok"

# ---- SIGHUP: debug lines appear; a change needing a restart is named
! grep -q ' DEBUG ' "$slog" || fail "debug lines before log-level = debug"
sed -i 's/^log-level = info/log-level = debug/; s/^heartbeat = 1s/heartbeat = 2s/' "$conf"
kill -HUP "$SCHED_PID"
wait_until "grep -q 'reload: read $conf; applied: log-level' '$slog'" 10 ||
    fail "no reload line after SIGHUP"
grep -q 'WARN reload: needs a restart: heartbeat' "$slog" || fail "heartbeat not named"
ok mlq list
wait_until "grep -q ' DEBUG request jobs' '$slog'" 5 || fail "no debug line after the reload"
pid_alive "$SCHED_PID" || fail "the scheduler died on SIGHUP"

# ---- a bad file on SIGHUP changes nothing and is logged with FILE:LINE
cp "$conf" "$T/good.conf"
printf 'log-level = loud\n' >>"$conf" # line 7, and log-level twice
kill -HUP "$SCHED_PID"
wait_until "grep -q 'ERROR reload: $conf:7: log-level: already set on line 4; nothing changed' '$slog'" 10 ||
    fail "the bad file was not logged"
sed -i 's/^log-level = debug/log-level = loud/; $d' "$conf"
kill -HUP "$SCHED_PID"
wait_until "grep -q 'ERROR reload: $conf:4: log-level: expected debug, info, warn or error' '$slog'" 10 ||
    fail "the bad value was not logged"
n=$(grep -c ' DEBUG request workers' "$slog" || true)
ok mlq workers
wait_until "[ \$(grep -c ' DEBUG request workers' '$slog') -gt $n ]" 5 ||
    fail "a bad file changed the log level"
cp "$T/good.conf" "$conf"

# ---- logrotate: rename, SIGHUP, the daemon writes to a fresh file
mv "$slog" "$slog.1"
kill -HUP "$SCHED_PID"
wait_until "[ -s '$slog' ]" 10 || fail "the log file was not reopened"
ok mlq list
wait_until "grep -q ' DEBUG request jobs' '$slog'" 5 || fail "no line in the reopened log"
before=$(wc -l <"$slog.1")
ok mlq list
sleep 0.3
assert_eq "$before" "$(wc -l <"$slog.1")" "lines still going to the rotated file"
# Until a restart, every reload names the key that needs one.
grep -q 'WARN reload: needs a restart: heartbeat' "$slog" || fail "heartbeat not named again"
# The placement policy changes live (to best-fit: pack is the default).
printf 'placement = best-fit\n' >>"$conf"
kill -HUP "$SCHED_PID"
wait_until "grep -q 'reload: read $conf; applied: placement' '$slog'" 10 ||
    fail "placement not applied on SIGHUP"
cp "$T/good.conf" "$conf"
log "SIGHUP: ok"

# ---- a worker reopens its log file and takes a new level on SIGHUP
wconf=$T/worker.conf
wlog=$T/logs/w2-file.log
printf 'log-file = %s\nlog-level = warn\nlabel = zone=a\n' "$wlog" >"$wconf"
start_worker w2 "$T/spool-w2" --config "$wconf"
ok mlq workers --json
assert_eq '["zone=a"]' "$(printf '%s' "$OUT" | json "[w['labels'] for w in d['workers'] if w['name'] == 'w2'][0]")" \
    "the worker's labels from its config file"
! grep -q ' INFO ' "$wlog" || fail "worker INFO lines at log-level = warn"
W2=$WORKER_PID
mv "$wlog" "$wlog.1"
sed -i 's/^log-level = warn/log-level = info/' "$wconf"
kill -HUP "$W2"
wait_until "grep -q 'INFO reload: read $wconf; applied: log-level' '$wlog'" 10 ||
    fail "the worker did not reload: $(cat "$wlog" "$wlog.1" 2>/dev/null)"
log "worker SIGHUP: ok"

# ---- a scheduler configured by its file alone; authorize and retention
# change live on SIGHUP, a removed key stays registered
port2=$(free_port)
aconf=$T/alone.conf
cat >"$aconf" <<EOF
listen = tcp://127.0.0.1:$port2
state-dir = $T/state2
key = $IT_KEYS/server.key
authorize = admin:$IT_ME:$IT_KEYS/admin.key.pub
log-file = $T/logs/sched2.log
insecure = false
EOF
"$MLQ_SCHEDULER_BIN" --config "$aconf" >>"$T/logs/sched2-stderr.log" 2>&1 &
S2=$!
IT_PIDS+=("$S2")
wait_until "port_open $port2 || ! pid_alive $S2" 15 && pid_alive "$S2" ||
    fail "the scheduler configured by its file alone did not start"
A2=tcp://127.0.0.1:$port2
ok "$MLQ" list --scheduler "$A2" # admin, from the file's authorize
"$MLQ" keygen --out "$T/carol.key" >/dev/null 2>>"$T/logs/cli.log"
run env MLQ_KEY="$T/carol.key" "$MLQ" list --scheduler "$A2"
assert_eq 5 "$RC" "carol before her key is in the config"
printf 'authorize = user:carol:%s\nretain-jobs = 1d\n' "$T/carol.key.pub" >>"$aconf"
kill -HUP "$S2"
wait_until "grep -q 'reload: read $aconf; applied: authorize, retain-jobs' '$T/logs/sched2.log'" 10 ||
    fail "authorize and retain-jobs not applied: $(cat "$T/logs/sched2.log")"
ok env MLQ_KEY="$T/carol.key" "$MLQ" list --scheduler "$A2"
sed -i '/carol/d' "$aconf"
kill -HUP "$S2"
wait_until "grep -q 'authorize user:carol:.* is no longer in the config; its key stays registered' '$T/logs/sched2.log'" 10 ||
    fail "a removed authorize key was not reported"
ok env MLQ_KEY="$T/carol.key" "$MLQ" list --scheduler "$A2"
stop_pid "$S2"
log "authorize and retention on SIGHUP: ok"

# ---- another wire protocol version
run "$WIREVER" --ask 2 --scheduler "$SCHED_ADDR" --scheduler-key "$IT_KEYS/server.key.pub" \
    --key "$IT_KEYS/admin.key"
[ "$RC" = 0 ] || fail "a version-2 request got no readable refusal: $OUT $ERR"
assert_contains "$OUT" "scheduler $release speaks wire protocol 1..1; this client speaks 2" "refusal"
grep -q 'refused a request in wire protocol 2' "$slog" || fail "the refusal was not logged"
ok mlq list # the scheduler goes on

# A scheduler that speaks only version 2: the CLI and the worker stop.
vport=$(free_port)
"$WIREVER" --serve 2 --listen "tcp://127.0.0.1:$vport" --key "$IT_KEYS/server.key" \
    >>"$T/logs/wirever.log" 2>&1 &
IT_PIDS+=("$!")
wait_until "port_open $vport" 10 || fail "mlq-wirever did not listen"
run "$MLQ" list --scheduler "tcp://127.0.0.1:$vport"
assert_eq 1 "$RC" "mlq against a version-2 scheduler"
assert_contains "$ERR" "speaks wire protocol 2..2; this client speaks 1" "mlq's message"
worker_keys w3
run timeout 20 "$MLQ_WORKER_BIN" --config none --scheduler "tcp://127.0.0.1:$vport" --name w3 \
    --spool "$T/spool-w3" --cpus 1 --mem 1G --gpus 0 "${IT_WORKER_KEYS[@]}"
assert_eq 2 "$RC" "mlq-worker against a version-2 scheduler"
assert_contains "$ERR" "speaks wire protocol 2..2; this client speaks 1" "the worker's message"
log "wire versions: ok"
