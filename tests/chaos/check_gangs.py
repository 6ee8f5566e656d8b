#!/usr/bin/env python3
"""Checks a chaos workload of gangs after the fact, from the ranks' stamps
(tests/chaos/gang_job.py) and `mlq status --json`.

usage: check_gangs.py --stamps DIR --expect FILE --jobs FILE --status FILE

--expect  one line per gang name: NAME NODES STATE MODE RETRIES
          (MODE ok, or fail:R:CODE: rank R exits CODE on every attempt)
--jobs    one line per job in the database: ID NAME
--status  `mlq status --json` outputs, one JSON document per line

What must hold, for every gang:
  - its final state is the one its script implies; a failing gang ran
    RETRIES + 1 attempts in which its rank R exited CODE, a succeeding one
    exactly one attempt in which every rank exited 0, not counting attempts
    the scheduler recorded LOST although every rank exited 0 (a part whose
    report went down with its worker: figure rerun_after_lost_success), and
    a failing one likewise not counting attempts recorded LOST in which its
    rank R did exit CODE (figure rerun_after_lost_failure);
  - no (attempt, rank) started twice (a gang attempt started twice);
  - no rank ran alone: none hit its barrier's limit (ALONE), and every rank
    of an attempt that not every rank reached was stopped (TERM stamp, or
    dead by now);
  - no overlap between attempts: no rank of a later attempt found one of an
    earlier attempt alive (PREV alive), and every later START comes after
    every earlier END or TERM stamp.

Prints one line of figures on stdout, every problem on stderr; exit 1 when
there is any.
"""
import argparse
import json
import os
import sys


def read_status(path):
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            d = json.loads(line)
            for j in d.get("jobs", [d]) if isinstance(d, dict) else d:
                out[j["id"]] = j
    return out


def pid_alive(pid):
    try:
        with open("/proc/%s/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class Gang:
    def __init__(self, lines):
        self.starts = {}  # (attempt, rank) -> [(pid, ns)]
        self.ends = {}  # pid -> (kind, ns, rc)
        self.alone = []
        self.prev_alive = []
        for p in lines:
            if p[0] == "START" and len(p) >= 5:
                self.starts.setdefault((int(p[1]), int(p[2])), []).append((p[3], int(p[4])))
            elif p[0] == "END" and len(p) >= 6:
                self.ends[p[3]] = ("END", int(p[4]), int(p[5]))
            elif p[0] == "TERM" and len(p) >= 5:
                self.ends[p[3]] = ("TERM", int(p[4]), None)
            elif p[0] == "ALONE":
                self.alone.append(" ".join(p))
            elif p[0] == "PREV" and len(p) >= 6 and p[4] == "alive":
                self.prev_alive.append(" ".join(p))

    def attempts(self):
        return sorted({a for a, _ in self.starts})

    def ranks(self, att):
        return {r for a, r in self.starts if a == att}

    def runs(self, att):
        return [(r, pid, ns) for (a, r), v in self.starts.items() if a == att for pid, ns in v]


def check_gang(name, nodes, want, mode, retries, g, st, bad, fig):
    state = st.get("state")
    if state != want:
        bad("%s: state %s, expected %s (%s)" % (name, state, want, st.get("detail") or ""))
    for (att, rank), v in g.starts.items():
        if len(v) > 1:
            fig["duplicated"] += 1
            bad("%s: attempt %d rank %d started %d times" % (name, att, rank, len(v)))
    for a in g.alone:
        fig["alone"] += 1
        bad("%s: a rank ran alone: %s" % (name, a))
    for a in g.prev_alive:
        fig["overlaps"] += 1
        bad("%s: a later attempt started while an earlier rank was alive: %s" % (name, a))
    full_ok, failed_runs, ok_atts, failed_atts = 0, 0, [], []
    att_state = {a.get("num"): a.get("state") for a in st.get("attempts") or []}
    atts = g.attempts()
    for att in atts:
        fig["attempts"] += 1
        runs = g.runs(att)
        ends = [g.ends.get(pid) for _, pid, _ in runs]
        if len(g.ranks(att)) < nodes:
            fig["partial"] += 1
            for (r, pid, _), e in zip(runs, ends):
                if e is None and pid_alive(pid):
                    bad("%s: attempt %d rank %d (pid %s) still runs alone" % (name, att, r, pid))
                elif e is not None and e[0] == "END":
                    bad("%s: attempt %d rank %d ended on its own (rc %s) though not every rank "
                        "started" % (name, att, r, e[2]))
        fig["stopped"] += sum(1 for e in ends if e is not None and e[0] == "TERM")
        if len(runs) == nodes and all(e is not None and e[0] == "END" and e[2] == 0 for e in ends):
            full_ok += 1
            ok_atts.append(att)
        if mode.startswith("fail:"):
            _, fr, code = mode.split(":")
            for (r, pid, _), e in zip(runs, ends):
                if r == int(fr) and e is not None and e[0] == "END" and e[2] == int(code):
                    failed_runs += 1
                    failed_atts.append(att)
        # Every later attempt starts after this one's stamped ends.
        later = [ns for a2 in atts if a2 > att for _, _, ns in g.runs(a2)]
        stamped = [e[1] for e in ends if e is not None]
        if later and stamped and min(later) <= max(stamped):
            fig["overlaps"] += 1
            bad("%s: attempt %d ended after a later attempt began" % (name, att))
    # Counted apart: an attempt in which every rank exited 0 but one part's
    # report went down with its worker (the scheduler recorded the attempt
    # LOST) and the gang started again before that worker came back: the
    # late outcome is then only acknowledged, as for a single job
    # (docs/architecture.md, "The real outcome of a lost attempt").
    lost_ok = [a for a in ok_atts if att_state.get(a) == "LOST"]
    fig["rerun_after_lost_success"] += len(lost_ok)
    if want == "SUCCEEDED" and full_ok - len(lost_ok) != 1:
        bad("%s: %d attempts in which every rank exited 0 (%d of them recorded LOST), expected 1"
            % (name, full_ok, len(lost_ok)))
    # The same for a failure: the failing rank exited, but its report went
    # down with its worker (the attempt is recorded LOST, which uses no
    # retry), so the gang ran again; only failures the scheduler saw count
    # against the retries.
    lost_failed = [a for a in failed_atts if att_state.get(a) == "LOST"]
    fig["rerun_after_lost_failure"] += len(lost_failed)
    if mode.startswith("fail:") and failed_runs - len(lost_failed) != retries + 1:
        bad("%s: its failing rank failed in %d attempts (%d of them recorded LOST), expected %d"
            % (name, failed_runs, len(lost_failed), retries + 1))
    if atts and st.get("attempt") is not None and st["attempt"] < atts[-1]:
        bad("%s: status says attempt %s, the stamps show %d" % (name, st["attempt"], atts[-1]))


def main():
    ap = argparse.ArgumentParser()
    for a in ("--stamps", "--expect", "--jobs", "--status"):
        ap.add_argument(a, required=True)
    o = ap.parse_args()
    problems = []
    fig = {"gangs": 0, "attempts": 0, "partial": 0, "stopped": 0, "duplicated": 0, "alone": 0,
           "overlaps": 0, "rerun_after_lost_success": 0, "rerun_after_lost_failure": 0}
    expect = {}
    with open(o.expect) as f:
        for line in f:
            p = line.split()
            if len(p) == 5:
                expect[p[0]] = (int(p[1]), p[2], p[3], int(p[4]))
    status = read_status(o.status)
    with open(o.jobs) as f:
        jobs = [line.split() for line in f if line.strip()]
    for jid, name in jobs:
        if name not in expect:
            problems.append("job %s (%s) was never planned" % (jid, name))
            continue
        fig["gangs"] += 1
        lines = []
        path = os.path.join(o.stamps, jid)
        if os.path.exists(path):
            with open(path) as f:
                lines = [line.split() for line in f if line.strip()]
        nodes, want, mode, retries = expect[name]
        check_gang("%s (%s)" % (name, jid), nodes, want, mode, retries, Gang(lines),
                   status.get(jid, {}), problems.append, fig)
    for p in problems:
        print("check_gangs: " + p, file=sys.stderr)
    print(" ".join("%s=%d" % kv for kv in fig.items()))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
