#!/usr/bin/env bash
# Reclaiming borrowed quota by preemption (needs the quota CLI, `mlq admin
# quota`): two teams with a nominal quota of 2 GPUs each on one worker with
# 4 fake GPUs; team A fills all 4 (borrowing 2), then team B submits 2 jobs:
#   - two of A's jobs get their signal (SIGTERM: they name no --signal) and
#     their grace (their stamps show the signal, then ticks until SIGKILL
#     near the grace), and are requeued;
#   - B's jobs run, A's preempted jobs run again once B's have ended, and
#     every job finishes; none ran twice at once, no more than 4 GPU jobs
#     ever ran together, each preempted job ran exactly twice and the
#     others once;
#   - `mlq admin quota show --json` is exact while B runs (A 2, B 2 in use,
#     nothing borrowed) and after (nothing in use).
# Jobs run as the users who submit them when the worker runs as root: the
# two users are named after accounts every Debian system has (daemon,
# nobody).
IT_DEADLINE=180
. "$(dirname "$0")/lib.sh" "$@"

STATE=$T/state
start_scheduler "$STATE" --heartbeat 1s --lease 4s --preempt-grace-default 2s
start_worker w1 "$T/spool" --cpus 4 --mem 2G --gpus 4
# a.sh jobs never preempted end after 16 s (longer than B's jobs take to
# start and end, so that A's preempted jobs can run again only on B's
# GPUs). B's run 6 s: the scheduler preempts for one waiting job at a time,
# so the second starts a grace (2 s) after the first, and both must still
# run when the quota is read.
. "$(dirname "$0")/quota_teams.sh"
quota_two_teams 160 6

A=()
for i in 1 2 3 4; do
    ok ua submit --gpus 1 --cpus 0.1 --mem 16M --preempt-grace 2s --workdir / -- "$T/a.sh" "$S" "A$i"
    A+=("$OUT")
done
for id in "${A[@]}"; do wait_state "$id" RUNNING 20; done
B=()
for i in 1 2; do
    ok ub submit --gpus 1 --cpus 0.1 --mem 16M --workdir / -- "$T/b.sh" "$S" "B$i"
    B+=("$OUT")
done
for id in "${B[@]}"; do wait_state "$id" RUNNING 30; done

# quota show while B runs: A 2 and B 2 GPUs in use, nothing borrowed.
quota_gpus() { # TEAM FIELD (used|borrowed): TEAM's GPUs in that figure, as a whole number
    adm quota show --json | python3 -c '
import json, sys
team, field = sys.argv[1], sys.argv[2]
for q in json.load(sys.stdin)["quotas"]:
    if q["team"] == team:
        v = q[field]["gpus"]
        print(int(v) if v is not None else "none")
        sys.exit(0)
sys.exit(1)
' "$1" "$2"
}
assert_eq 2 "$(quota_gpus teama used)" "team A's GPUs in use while B runs"
assert_eq 2 "$(quota_gpus teamb used)" "team B's GPUs in use while B runs"
assert_eq 0 "$(quota_gpus teama borrowed)" "team A borrows nothing while B runs"

for id in "${B[@]}" "${A[@]}"; do wait_state "$id" SUCCEEDED 60; done

python3 - "$S" <<'PY' || fail "wrong runs: $(cat "$S"/A? "$S"/B?)"
import glob, os, sys
runs, sigs = [], {}
for f in sorted(glob.glob(os.path.join(sys.argv[1], "[AB][0-9]"))):
    tag = os.path.basename(f)
    cur = None
    for line in open(f):
        w = line.split()
        if len(w) < 3 or not w[-1].isdigit():
            continue  # a stamp cut short: the signal killed its `date`
        ns = int(w[-1])
        if w[1] == "start":
            cur = [tag, ns, ns]
            runs.append(cur)
        else:
            cur[2] = ns
        if w[1] == "sig":
            sigs[tag] = ns
            cur.append(ns)
count = {}
for r in runs:
    count[r[0]] = count.get(r[0], 0) + 1
pre = sorted(sigs)
assert len(pre) == 2, "two of A's jobs get the signal, not %s" % pre
assert all(t.startswith("A") for t in pre), pre
for t, n in count.items():
    assert n == (2 if t in sigs else 1), "%s ran %d times" % (t, n)
for r in runs:
    if len(r) > 3:  # the preempted run: ticks through the grace, then killed
        grace = (r[2] - r[3]) / 1e9
        assert 1.2 <= grace <= 4.0, "%s ticked %.2f s after its signal" % (r[0], grace)
events = sorted([(r[1], 1) for r in runs] + [(r[2], -1) for r in runs])
live = peak = 0
for _, d in events:
    live += d
    peak = max(peak, live)
assert peak <= 4, "%d GPU jobs at once on 4 GPUs" % peak
# the preempted jobs ran again only once B's had ended
b_end = max(r[2] for r in runs if r[0].startswith("B"))
for t in pre:
    second = [r for r in runs if r[0] == t][1]
    assert second[1] >= min(r[2] for r in runs if r[0].startswith("B")), t
PY
for id in "${A[@]}"; do
    s=$(ua status "$id" --json)
    case "$(json "[a['state'] for a in d['attempts']]" <<<"$s")" in
    '["SUCCEEDED"]') ;;
    '["PREEMPTED", "SUCCEEDED"]')
        assert_contains "$(json "d['attempts'][0]['detail'] or ''" <<<"$s")$(ua events --job "$id" --json)" \
            "to reclaim borrowed quota" "the preempted job's history says why"
        ;;
    *) fail "job $id: unexpected attempts $(json "d['attempts']" <<<"$s")" ;;
    esac
done
assert_eq 0 "$(quota_gpus teama used)" "team A's GPUs in use after"
assert_eq 0 "$(quota_gpus teamb used)" "team B's GPUs in use after"
log "ok"
