# quota_teams.sh: the two-team set-up the quota reclaim tests share, for a
# test that sourced lib.sh and started a scheduler and one 4-GPU worker.
#
# quota_two_teams A_TICKS B_SECONDS: teams teama (user daemon) and teamb
# (user nobody), accounts every Debian system has, each with a nominal
# quota of 2 GPUs and a borrow cap of 2; defines adm, ua, ub (the admin,
# daemon and nobody CLIs) and S (the stamps folder), and writes:
#   a.sh S TAG: appends "TAG start NS"; on SIGTERM "TAG sig NS", then
#     ticks until SIGKILL; a run that finds its checkpoint ends after 1 s,
#     one never preempted after A_TICKS ticks of 0.1 s;
#   b.sh S TAG: "TAG start NS", B_SECONDS of sleep, "TAG end NS".

quota_two_teams() {
    local a_ticks=$1 b_secs=$2
    adm() { "$MLQ" --scheduler "$SCHED_ADDR" admin "$@"; }
    # Without the quota CLI these tests cannot run: say so and fail (never skip).
    adm quota --help >/dev/null 2>&1 ||
        fail "this build has no quota CLI (mlq admin quota): the test needs it"
    chmod 0711 "$T"
    mkdir -m 1777 "$T/stamps"
    for u in daemon nobody; do
        ok "$MLQ" keygen --out "$T/$u.key"
    done
    ok adm team add teama
    ok adm team add teamb
    ok adm user add daemon --key "$T/daemon.key.pub" --team teama
    ok adm user add nobody --key "$T/nobody.key.pub" --team teamb
    ok adm quota set teama --gpus 2 --borrow-gpus 2
    ok adm quota set teamb --gpus 2 --borrow-gpus 2
    ua() { env MLQ_KEY="$T/daemon.key" "$MLQ" "$1" --scheduler "$SCHED_ADDR" "${@:2}"; }
    ub() { env MLQ_KEY="$T/nobody.key" "$MLQ" "$1" --scheduler "$SCHED_ADDR" "${@:2}"; }
    cat >"$T/a.sh" <<SH
#!/bin/bash
S=\$1 TAG=\$2
now() { date +%s%N; }
echo "\$TAG start \$(now)" >>"\$S/\$TAG"
if [ -e "\$S/\$TAG.ckpt" ]; then sleep 1; echo "\$TAG end \$(now)" >>"\$S/\$TAG"; exit 0; fi
trap 'echo "\$TAG sig \$(now)" >>"\$S/\$TAG"; touch "\$S/\$TAG.ckpt"; while :; do echo "\$TAG tick \$(now)" >>"\$S/\$TAG"; sleep 0.1; done' TERM
for _ in \$(seq 1 $a_ticks); do echo "\$TAG tick \$(now)" >>"\$S/\$TAG"; sleep 0.1; done
echo "\$TAG end \$(now)" >>"\$S/\$TAG"
SH
    cat >"$T/b.sh" <<SH
#!/bin/bash
S=\$1 TAG=\$2
echo "\$TAG start \$(date +%s%N)" >>"\$S/\$TAG"
sleep $b_secs
echo "\$TAG end \$(date +%s%N)" >>"\$S/\$TAG"
SH
    chmod 0755 "$T/a.sh" "$T/b.sh"
    S=$T/stamps
}
