#!/usr/bin/env python3
"""Checks a chaos workload after the fact: outcomes, runs, overlaps.

usage: check_runs.py --db MLQ_DB --stamps DIR --expect FILE --acked FILE
                     [--status FILE] [--allow-extra]

--expect  one line per job name: NAME STATE EXIT_CODE RUNS (what the job's
          script implies: final state, exit code, how many times it ran)
--acked   one line per acknowledged submit: NAME JOB_ID [anything]
--status  `mlq status --json` outputs, one JSON document per line (a single
          job object or {"jobs": [...]})
--stamps  the files job.py wrote: STAMP_DIR/<job id>, lines
          "START attempt pid ns", "END attempt pid ns rc", "PREV pid
          dead|alive ns" (a later run found that earlier one gone or still
          going as it started) and the tests' "KILLED attempt pid ns" (the
          run was seen dead at ns); a run with none of these has no end;
          "GPU attempt pid worker devices share" (the run's GPUs: the
          shares on one GPU of one worker never add up beyond 1 at any
          moment, and a GPU held whole is never shared)

Every job in the database must be named in --expect; with --allow-extra
jobs that were committed but whose submit was not acknowledged (the reply
was lost in a crash) are allowed and checked like the others.

Prints one line of figures (key=value) on stdout and every problem on
stderr; exits 1 when there is any.
"""
import argparse
import json
import os
import sqlite3
import sys

JOB_STATES = ["PENDING", "ASSIGNED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"]
ATT_STATES = ["ASSIGNED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT", "LOST", "PREEMPTED"]
INF = float("inf")


class Checker:
    def __init__(self):
        self.problems = []
        self.gpu_runs = []
        self.fig = {"jobs": 0, "acked": 0, "extra": 0, "runs": 0, "lost": 0,
                    "duplicated": 0, "overlaps": 0, "unfinished": 0, "gpu_runs": 0,
                    "gpu_peak": 0}

    def bad(self, msg):
        self.problems.append(msg)


def read_expect(path):
    exp = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 4:
                exp[parts[0]] = (parts[1], int(parts[2]), int(parts[3]))
    return exp


def read_acked(path):
    acked = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2:
                acked[parts[1]] = parts[0]
    return acked


def read_status(path):
    jobs = {}
    if not path:
        return jobs
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            d = json.loads(line)
            for j in d.get("jobs", [d]) if isinstance(d, dict) else []:
                jobs[j["id"]] = j
    return jobs


def read_runs(stamp_dir, job_id):
    """Runs of one job: list of dicts attempt, pid, start, end (INF if none)."""
    path = os.path.join(stamp_dir, job_id)
    runs, ends, prev, seen_alive = [], {}, [], set()
    if not os.path.exists(path):
        return runs
    with open(path) as f:
        for line in f:
            p = line.split()
            if len(p) >= 4 and p[0] == "START":
                runs.append({"attempt": int(p[1]), "pid": p[2], "start": int(p[3]), "end": INF})
            elif len(p) >= 4 and p[0] in ("END", "KILLED"):
                ends.setdefault(p[2], int(p[3]))
            elif len(p) >= 4 and p[0] == "PREV":
                prev.append((p[1], p[2], int(p[3])))
            elif len(p) >= 6 and p[0] == "GPU" and runs and runs[-1]["pid"] == p[2]:
                runs[-1]["gpu"] = (p[3], p[4].split(","), float(p[5]))
    for pid, state, ns in prev:
        if state == "dead":
            ends.setdefault(pid, ns)
        else:
            seen_alive.add(pid)
    for r in runs:
        r["end"] = ends.get(r["pid"], INF)
        r["seen_alive"] = r["pid"] in seen_alive
    return runs


def check_runs(c, name, job_id, runs, want_runs):
    c.fig["runs"] += len(runs)
    if len(runs) > want_runs:
        c.fig["duplicated"] += len(runs) - want_runs
        c.bad("%s %s ran %d times, expected %d" % (name, job_id, len(runs), want_runs))
    elif len(runs) < want_runs:
        c.bad("%s %s ran %d times, expected %d" % (name, job_id, len(runs), want_runs))
    nums = [r["attempt"] for r in runs]
    if len(set(nums)) != len(nums):
        c.fig["duplicated"] += len(nums) - len(set(nums))
        c.bad("%s %s: an attempt number ran twice: %s" % (name, job_id, nums))
    runs = sorted(runs, key=lambda r: r["start"])
    for r in runs:
        if r["end"] == INF:
            c.fig["unfinished"] += 1
            c.bad("%s %s: run of attempt %d (pid %s) has no END" % (name, job_id, r["attempt"], r["pid"]))
    for a, b in zip(runs, runs[1:]):
        if a["seen_alive"] or b["start"] <= a["end"]:
            c.fig["overlaps"] += 1
            c.bad("%s %s: attempt %d started before attempt %d ended" % (name, job_id, b["attempt"], a["attempt"]))


def check_gpu_shares(c, gpu_runs):
    """gpu_runs: (job_id, run) with run["gpu"]. At any moment the shares on
    one GPU of one worker add up to 1 at most (in hundredths, exactly), and
    a GPU held whole is held by that run alone."""
    events = {}
    for job_id, r in gpu_runs:
        worker, devs, share = r["gpu"]
        h = int(round(share * 100))
        for d in devs:
            ev = events.setdefault((worker, d), [])
            ev.append((r["start"], 1, h, job_id))
            ev.append((r["end"], 0, h, job_id))  # ends sort before starts at the same ns
    for (worker, dev), ev in events.items():
        ev.sort()
        booked, whole, shares = 0, 0, 0
        for ns, is_start, h, job_id in ev:
            sign = 1 if is_start else -1
            booked += sign * h
            whole += sign * (h == 100)
            shares += sign * (h < 100)
            c.fig["gpu_peak"] = max(c.fig["gpu_peak"], booked)
            if is_start and (booked > 100 or (whole and shares)):
                c.bad("worker %s GPU %s: %d hundredths in use (%d whole, %d shares) as job %s "
                      "started" % (worker, dev, booked, whole, shares, job_id))


def check_attempts(c, name, job, atts, runs):
    """Attempt rows against the job row and the runs seen."""
    job_id, state = job["id"], JOB_STATES[job["state"]]
    nums = sorted(a["num"] for a in atts)
    if nums != list(range(1, len(atts) + 1)) or job["attempts"] != len(atts):
        c.bad("%s %s: attempt rows %s, job says %d attempts" % (name, job_id, nums, job["attempts"]))
    c.fig["lost"] += sum(1 for a in atts if ATT_STATES[a["state"]] == "LOST")
    by_num = {a["num"]: a for a in atts}
    ran = set(r["attempt"] for r in runs)
    for r in runs:
        if r["attempt"] not in by_num:
            c.bad("%s %s: attempt %d ran but has no attempt row" % (name, job_id, r["attempt"]))
    for a in atts:
        if ATT_STATES[a["state"]] != "LOST" and a["num"] not in ran:
            c.bad("%s %s: attempt %d is %s but never ran" % (name, job_id, a["num"], ATT_STATES[a["state"]]))
    if not atts:
        return
    last = by_num[max(by_num)]
    if ATT_STATES[last["state"]] != state:
        c.bad("%s %s: job %s but its last attempt is %s" % (name, job_id, state, ATT_STATES[last["state"]]))
    for a in atts:
        if a is not last and ATT_STATES[a["state"]] not in ("FAILED", "TIMED_OUT", "LOST"):
            c.bad("%s %s: earlier attempt %d is %s" % (name, job_id, a["num"], ATT_STATES[a["state"]]))


def check_status(c, name, job, st):
    """What `mlq status` said against the database."""
    for key, want in (("state", JOB_STATES[job["state"]]), ("exit_code", job["exit_code"]),
                      ("attempt", job["attempts"])):
        if st.get(key) != want:
            c.bad("%s %s: mlq status says %s=%r, database %r" % (name, job["id"], key, st.get(key), want))
    if "attempts" in st and len(st["attempts"]) != job["attempts"]:
        c.bad("%s %s: mlq status lists %d attempts, database %d" %
              (name, job["id"], len(st["attempts"]), job["attempts"]))


def check_job(c, args, exp, job, atts, st):
    name, job_id = job["name"], job["id"]
    if name not in exp:
        c.bad("job %s (%s) is not part of the workload" % (job_id, name))
        return
    want_state, want_code, want_runs = exp[name]
    state = JOB_STATES[job["state"]]
    if state != want_state or (state in ("SUCCEEDED", "FAILED") and job["exit_code"] != want_code):
        c.bad("%s %s: %s exit %d, expected %s exit %d" %
              (name, job_id, state, job["exit_code"], want_state, want_code))
    runs = read_runs(args.stamps, job_id)
    c.gpu_runs.extend((job_id, r) for r in runs if "gpu" in r)
    check_runs(c, name, job_id, runs, want_runs)
    check_attempts(c, name, job, atts, runs)
    if st is not None:
        check_status(c, name, job, st)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--stamps", required=True)
    ap.add_argument("--expect", required=True)
    ap.add_argument("--acked", required=True)
    ap.add_argument("--status")
    ap.add_argument("--allow-extra", action="store_true")
    args = ap.parse_args()

    c = Checker()
    exp, acked, status = read_expect(args.expect), read_acked(args.acked), read_status(args.status)
    db = sqlite3.connect("file:%s?mode=ro" % args.db, uri=True, timeout=10)
    db.row_factory = sqlite3.Row
    jobs = {r["id"]: dict(r) for r in db.execute("SELECT * FROM jobs")}
    atts = {}
    for r in db.execute("SELECT * FROM attempts"):
        atts.setdefault(r["job_id"], []).append(dict(r))

    for job_id, name in acked.items():
        if job_id not in jobs:
            c.bad("acknowledged job %s (%s) is not in the database" % (job_id, name))
        elif args.status and job_id not in status:
            c.bad("acknowledged job %s (%s) missing from mlq status" % (job_id, name))
    for job_id, job in jobs.items():
        c.fig["jobs"] += 1
        if job_id in acked:
            c.fig["acked"] += 1
        else:
            c.fig["extra"] += 1
            if not args.allow_extra:
                c.bad("job %s (%s) is in the database but its submit was never acknowledged" % (job_id, job["name"]))
        check_job(c, args, exp, job, atts.get(job_id, []), status.get(job_id) if job_id in acked else None)
    c.fig["gpu_runs"] = len(c.gpu_runs)
    check_gpu_shares(c, c.gpu_runs)
    stamped = set(os.listdir(args.stamps))
    for job_id in stamped - set(jobs):
        c.bad("a job %s ran but is not in the database" % job_id)

    for p in c.problems[:50]:
        print("check_runs: " + p, file=sys.stderr)
    if len(c.problems) > 50:
        print("check_runs: ... %d problems in all" % len(c.problems), file=sys.stderr)
    print(" ".join("%s=%s" % kv for kv in c.fig.items()))
    sys.exit(1 if c.problems else 0)


if __name__ == "__main__":
    main()
