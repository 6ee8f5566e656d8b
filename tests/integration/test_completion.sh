#!/usr/bin/env bash
# bash completion (deploy/completion/mlq.bash) against a running cluster:
# commands and options come from the CLI's own help, job ids from `mlq list`,
# worker names from `mlq workers`; a scheduler that is down answers nothing
# within a couple of seconds instead of hanging the shell.
IT_DEADLINE=90
. "$(dirname "$0")/lib.sh" "$@"

# shellcheck source=/dev/null
. "$MLQ_SRC_DIR/deploy/completion/mlq.bash"

# comp WORD...: completes the last WORD of the command line `mlq WORD...`
# as bash would (COMP_WORDS, COMP_CWORD), as an interactive shell runs it
# (no -e, no -u); the candidates go to REPLY_WORDS, one a line.
comp() {
    COMP_WORDS=("$MLQ" "$@")
    COMP_CWORD=$#
    COMPREPLY=()
    set +eu
    _mlq
    set -eu
    REPLY_WORDS=$(printf '%s\n' "${COMPREPLY[@]+"${COMPREPLY[@]}"}")
}

# has WORD WHAT: the last completion offered WORD.
has() {
    grep -qxF -- "$1" <<<"$REPLY_WORDS" || fail "$2: [$1] not offered; got: ${REPLY_WORDS//$'\n'/ }"
}

complete -p mlq | grep -q -- '-F _mlq' || fail "the file does not register _mlq for mlq"

# --- without a scheduler: commands and options from the help texts ----------
comp su
assert_eq submit "$REPLY_WORDS" "mlq su<TAB>"
comp ""
for c in submit status list logs wait cancel why workers drain admin usage up down; do
    has "$c" "mlq <TAB>"
done
comp submit --time
has --time-limit "mlq submit --time<TAB>"
has --timeout "mlq submit --time<TAB>"
comp workers --
has --gpus "mlq workers --<TAB>"
has --json "mlq workers --<TAB>"
comp --sch
assert_eq --scheduler "$REPLY_WORDS" "mlq --sch<TAB>"
comp admin worker ""
has add "mlq admin worker <TAB>"
has rm "mlq admin worker <TAB>"
comp admin ""
has teams "mlq admin <TAB>"
comp admin team ""
has add "mlq admin team <TAB>"
comp admin user ""
has set "mlq admin user <TAB>"
comp usage --
has --by "mlq usage --<TAB>"
has --csv "mlq usage --<TAB>"

# --- job ids and worker names from a running cluster ------------------------
start_scheduler "$T/state"
start_worker gpu-node-7 "$T/spool"
J=$(mlq submit --cpus 0.5 --mem 64M -- true)
wait_state "$J" SUCCEEDED 30
for cmd in status cancel logs wait why; do
    comp --scheduler "$SCHED_ADDR" "$cmd" "${J:0:4}"
    has "$J" "mlq $cmd ${J:0:4}<TAB>"
done
comp status --scheduler="$SCHED_ADDR" --json ""
has "$J" "mlq status --scheduler=ADDR --json <TAB>"
comp --scheduler "$SCHED_ADDR" drain gpu
assert_eq gpu-node-7 "$REPLY_WORDS" "mlq drain gpu<TAB>"
comp --scheduler "$SCHED_ADDR" resume ""
has gpu-node-7 "mlq resume <TAB>"
comp --scheduler "$SCHED_ADDR" admin worker rm ""
has gpu-node-7 "mlq admin worker rm <TAB>"
comp --scheduler "$SCHED_ADDR" admin worker rm gpu-node-7 ""
assert_eq "" "$REPLY_WORDS" "mlq admin worker rm NAME <TAB>"
comp --scheduler "$SCHED_ADDR" logs --std
has --stderr "mlq logs --std<TAB>"

# --- a scheduler that does not answer ---------------------------------------
dead=$(free_port)
start=$(date +%s%N)
comp --scheduler "tcp://127.0.0.1:$dead" status ""
ms=$((($(date +%s%N) - start) / 1000000))
assert_eq "" "$REPLY_WORDS" "no job ids without a scheduler"
[ "$ms" -lt 4000 ] || fail "completion took $ms ms with the scheduler down"
log "ok (completion with the scheduler down: $ms ms)"
