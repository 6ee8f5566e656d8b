#!/usr/bin/env bash
# What the package ships besides the programs, checked without installing
# it: the default configs change nothing (every line a comment or blank)
# and name only real long options of their program; the units start the
# programs with options they have; the man pages built by help2man hold
# every command of `mlq --help` with its own help, and render.
IT_DEADLINE=60
. "$(dirname "$0")/lib.sh" "$@"

DEPLOY=$MLQ_SRC_DIR/deploy
MAN_DIR=$(cd "$MLQ_BIN_DIR/.." && pwd)/deploy/man

# --- configs ----------------------------------------------------------------
for pair in scheduler.conf:mlq-scheduler worker.conf:mlq-worker; do
    conf=$DEPLOY/config/${pair%%:*} prog=${pair#*:}
    live=$(grep -v -E '^[[:space:]]*(#|$)' "$conf" || true)
    assert_eq "" "$live" "$conf: lines that are not comments"
    help=$("$MLQ_BIN_DIR/$prog" --help)
    keys=$(sed -n 's/^#\([a-z][a-z0-9-]*\) = .*/\1/p' "$conf")
    [ -n "$keys" ] || fail "$conf: no example settings"
    for k in $keys; do
        grep -qE -- "--$k( |$)" <<<"$help" || fail "$conf: $k is no option of $prog"
    done
done

# --- units --------------------------------------------------------------------
for unit in "$DEPLOY"/systemd/*.service; do
    eval "$(python3 "$MLQ_SRC_DIR/tests/package/unit_exec.py" "$unit")"
    prog=$(basename "${UNIT_ARGV[0]}")
    help=$("$MLQ_BIN_DIR/$prog" --help)
    for a in "${UNIT_ARGV[@]:1}"; do
        case "$a" in --*) grep -qE -- "$a( |$)" <<<"$help" || fail "$unit: $prog has no $a" ;; esac
    done
    assert_eq notify "$UNIT_TYPE" "$unit Type="
done

# --- man pages ----------------------------------------------------------------
# help2man reads --help from stdout and needs exit 0 from every program.
for prog in mlq mlq-scheduler mlq-worker mlq-shim; do
    expect_rc 0 "$MLQ_BIN_DIR/$prog" --help
    assert_contains "$OUT" "--version" "$prog --help on stdout"
done
for page in mlq.1 mlq-scheduler.8 mlq-worker.8 mlq-shim.8; do
    [ -s "$MAN_DIR/$page.gz" ] || fail "man page $page.gz not built in $MAN_DIR"
done
command -v man >/dev/null || fail "man is missing (deploy/install-deps.sh installs man-db)"
text=$(MANWIDTH=120 man -l "$MAN_DIR/mlq.1.gz" 2>"$T/logs/man.log")
# the readers read all of their input: one that stops early can kill the
# writer with SIGPIPE, which pipefail makes the test's failure
cmds=$("$MLQ" --help | awk '/^commands:/ { on = 1; next } on && /^$/ { on = 0 } on && /^  [a-z]/ { print $1 }')
for c in $cmds; do
    [ "$c" = help ] && continue
    usage=$("$MLQ" "$c" --help | awk 'NR == 1')
    assert_contains "$text" "$usage" "mlq(1), command $c"
done
assert_contains "$text" "SEE ALSO" "mlq(1)"
text=$(MANWIDTH=120 man -l "$MAN_DIR/mlq-worker.8.gz")
assert_contains "$text" "--drain-and-exit" "mlq-worker(8) options"
assert_contains "$text" "/etc/mlq/worker.conf" "mlq-worker(8) files"
log "ok"
