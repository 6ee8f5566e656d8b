#!/usr/bin/env bash
# A scheduler SIGKILL in the middle of a reclaim preemption, then a restart.
# Two teams with a nominal quota of 2 GPUs each on one worker with 4 fake
# GPUs; team A fills all 4 (borrowing 2), team B submits 2 jobs, the
# scheduler preempts two of A's jobs (one per waiting job, one after the
# other), and is killed right after the second decision, while that victim
# drains in its grace (it stamped its SIGTERM). After the restart:
#   - no job is ever both requeued (PENDING) and holding a live attempt, and
#     none has two live attempts;
#   - every job finishes exactly once; each victim ran twice (preempted,
#     then to the end), the others once; the runs of one job never overlap
#     in time, and no more than 4 GPU jobs ever ran together;
#   - `mlq admin quota show --json` is exact while B runs (A 2, B 2 in use,
#     nothing borrowed) and after (nothing in use or borrowed): the crash
#     leaked no quota; the worker's GPUs are booked exactly once.
IT_DEADLINE=150
. "$(dirname "$0")/lib.sh" "$@"

STATE=$T/state
SOPTS=(--heartbeat 1s --lease 4s --preempt-grace-default 4s)
start_scheduler "$STATE" "${SOPTS[@]}"
start_worker w1 "$T/spool" --cpus 4 --mem 2G --gpus 4
# a.sh jobs never preempted end after 25 s (so that only preemption frees
# GPUs for B); B's run 8 s.
. "$(dirname "$0")/quota_teams.sh"
quota_two_teams 250 8

A=()
for i in 1 2 3 4; do
    ok ua submit --gpus 1 --cpus 0.1 --mem 16M --workdir / -- "$T/a.sh" "$S" "A$i"
    A+=("$OUT")
done
for id in "${A[@]}"; do wait_state "$id" RUNNING 20; done
B=()
for i in 1 2; do
    ok ub submit --gpus 1 --cpus 0.1 --mem 16M --workdir / -- "$T/b.sh" "$S" "B$i"
    B+=("$OUT")
done

# A decision is stored before its KILL leaves; once the second victim
# stamped its SIGTERM it drains in its 4 s grace: kill the scheduler then.
wait_until "[ \$(cat $S/A? 2>/dev/null | grep -c ' sig ') -ge 2 ]" 20 ||
    fail "no two victims got their signal: $(cat "$S"/A?)"
kill -KILL "$SCHED_PID"
wait "$SCHED_PID" 2>/dev/null || true
log "scheduler killed during the victims' grace"
start_scheduler "$STATE" "${SOPTS[@]}"

# quota_gpus TEAM FIELD (used|borrowed): TEAM's GPUs in that figure.
quota_gpus() {
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
# Watch every job until all have succeeded: never requeued with a live
# attempt, never two live attempts.
ALL=("${A[@]}" "${B[@]}")
done_all=0 CHECKED_WHILE_B=""
for _ in $(seq 1 120); do
    n=0
    for id in "${ALL[@]}"; do
        s=$(ua status "$id" --json 2>/dev/null) || s=$(ub status "$id" --json 2>/dev/null) || continue
        python3 -c '
import json, sys
d = json.loads(sys.argv[1])
live = [a for a in d.get("attempts") or [] if a["state"] in ("ASSIGNED", "RUNNING")]
assert len(live) <= 1, "two live attempts"
if d["state"] == "PENDING":
    assert not live, "pending with a live attempt"
' "$s" || fail "job $id both preempted and running: $s"
        st=$(json "d['state']" <<<"$s")
        [ "$st" != SUCCEEDED ] || n=$((n + 1))
    done
    [ "$n" = "${#ALL[@]}" ] && done_all=1 && break
    # One snapshot of the quotas: never more than the 4 GPUs in use, and
    # while B runs both its jobs, A uses its nominal 2 and borrows nothing.
    q=$(adm quota show --json 2>/dev/null) || continue
    if python3 -c '
import json, sys
q = {t["team"]: t for t in json.loads(sys.argv[1])["quotas"]}
a, b = q["teama"], q["teamb"]
used = a["used"]["gpus"] + b["used"]["gpus"]
assert used <= 4, "%s GPUs in use on 4" % used
assert a["running"] + b["running"] <= 4, "more than 4 jobs booked"
if b["running"] == 2:
    assert (a["used"]["gpus"], b["used"]["gpus"]) == (2, 2), "used not 2/2"
    assert a["borrowed"]["gpus"] == 0 and b["borrowed"]["gpus"] == 0, "borrowing"
    sys.exit(0)
sys.exit(3)
' "$q"; then CHECKED_WHILE_B=1; elif [ $? != 3 ]; then fail "quota not exact: $q"; fi
    sleep 0.5
done
[ "$done_all" = 1 ] || fail "not every job finished after the restart"
[ -n "$CHECKED_WHILE_B" ] || fail "B's jobs were never seen running together"

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
count = {}
for r in runs:
    count[r[0]] = count.get(r[0], 0) + 1
pre = sorted(sigs)
assert len(pre) == 2 and all(t.startswith("A") for t in pre), "victims: %s" % pre
for t, n in count.items():
    assert n == (2 if t in sigs else 1), "%s ran %d times" % (t, n)
for t in count:
    mine = sorted(r for r in runs if r[0] == t)
    for a, b in zip(mine, mine[1:]):
        assert b[1] >= a[2], "%s ran twice at once: %s %s" % (t, a, b)
events = sorted([(r[1], 1) for r in runs] + [(r[2], -1) for r in runs])
live = peak = 0
for _, d in events:
    live += d
    peak = max(peak, live)
assert peak <= 4, "%d GPU jobs at once on 4 GPUs" % peak
PY
for id in "${A[@]}"; do
    s=$(ua status "$id" --json)
    case "$(json "[a['state'] for a in d['attempts']]" <<<"$s")" in
    '["SUCCEEDED"]' | '["PREEMPTED", "SUCCEEDED"]') ;;
    *) fail "job $id: unexpected attempts $(json "d['attempts']" <<<"$s")" ;;
    esac
done
for t in teama teamb; do
    assert_eq 0 "$(quota_gpus $t used)" "$t's GPUs in use after"
    assert_eq 0 "$(quota_gpus $t borrowed)" "$t's borrowed GPUs after"
done
ok mlq workers --json
assert_eq 0 "$(json "d['workers'][0]['gpus_used']" <<<"$OUT")" "the GPUs are free again, booked once"
log "ok"
