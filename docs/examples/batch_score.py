#!/usr/bin/env python3
"""Batch scoring with mlq from Python: an array of scoring tasks and a job
that summarises them once they all succeeded.

    MLQ_URL=http://127.0.0.1:8080 MLQ_TOKEN=... \\
        python3 docs/examples/batch_score.py --dir /shared/scoring --shards 4

What it does (each step uses the mlq_client package, `pip install cli/python`):

1. writes N shards of input rows (x1, x2) under DIR/input/ (DIR must be a
   folder the workers see at the same path: a shared file system, or the
   same machine);
2. submits a job array with one task per shard: each task runs this very
   script as `batch_score.py score DIR`, scores its shard
   (MLQ_ARRAY_INDEX says which) with a small fixed logistic model and writes
   DIR/output/part-N.csv;
3. submits a summary job that runs only once every task succeeded
   (``after=[array]``) and writes DIR/summary.json;
4. waits for both (long polls), reads a task's log and follows the summary's
   log as it is written, and checks the results against the same scoring
   done here.

It exits 0 when everything matches, 1 otherwise (it is run in CI by
tests/integration/test_python_client.sh). The same script is a template for
a real job: replace ``score_row`` and the input.
"""

import argparse
import csv
import json
import math
import os
import random
import sys
import time

# The model: fixed weights, so the check below can recompute every score.
WEIGHTS = (1.5, -2.0)
BIAS = 0.25


def score_row(x1: float, x2: float) -> float:
    """The probability the toy model gives one row."""
    z = WEIGHTS[0] * x1 + WEIGHTS[1] * x2 + BIAS
    return 1.0 / (1.0 + math.exp(-z))


def make_input(folder: str, shards: int, rows: int, seed: int) -> None:
    """N shards of `rows` random rows each, under folder/input/."""
    rng = random.Random(seed)
    os.makedirs(os.path.join(folder, "input"), exist_ok=True)
    os.makedirs(os.path.join(folder, "output"), exist_ok=True)
    for i in range(shards):
        with open(os.path.join(folder, "input", "shard-%d.csv" % i), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["row", "x1", "x2"])
            for r in range(rows):
                w.writerow(["%d-%d" % (i, r), "%.6f" % rng.uniform(-2, 2),
                            "%.6f" % rng.uniform(-2, 2)])


# ------------------------------------------------------------------ task side

def task_score(folder: str) -> int:
    """Runs in an array task: scores the shard MLQ_ARRAY_INDEX names."""
    index = int(os.environ["MLQ_ARRAY_INDEX"])
    src = os.path.join(folder, "input", "shard-%d.csv" % index)
    dst = os.path.join(folder, "output", "part-%d.csv" % index)
    n = 0
    with open(src, newline="") as f, open(dst + ".tmp", "w", newline="") as out:
        w = csv.writer(out)
        w.writerow(["row", "score"])
        for row in csv.DictReader(f):
            w.writerow([row["row"], "%.6f" % score_row(float(row["x1"]), float(row["x2"]))])
            n += 1
    os.replace(dst + ".tmp", dst)  # a half-written part is never seen
    print("task %s scored %d rows of shard %d" % (os.environ.get("MLQ_JOB_ID"), n, index))
    return 0


def task_summarise(folder: str, shards: int) -> int:
    """Runs after every task succeeded: merges the parts."""
    scores = []
    for i in range(shards):
        with open(os.path.join(folder, "output", "part-%d.csv" % i), newline="") as f:
            scores += [float(r["score"]) for r in csv.DictReader(f)]
        print("merged part %d" % i, flush=True)
    summary = {
        "rows": len(scores),
        "mean_score": round(sum(scores) / len(scores), 6) if scores else None,
        "positives": sum(1 for s in scores if s >= 0.5),
    }
    with open(os.path.join(folder, "summary.json"), "w") as f:
        json.dump(summary, f, sort_keys=True)
    print("summary: %s" % json.dumps(summary, sort_keys=True))
    return 0


# ------------------------------------------------------------------ driver

def expected_summary(folder: str, shards: int) -> dict:
    """The summary computed here, from the input, to check the jobs' one."""
    scores = []
    for i in range(shards):
        with open(os.path.join(folder, "input", "shard-%d.csv" % i), newline="") as f:
            for row in csv.DictReader(f):
                scores.append(float("%.6f" % score_row(float(row["x1"]), float(row["x2"]))))
    return {
        "rows": len(scores),
        "mean_score": round(sum(scores) / len(scores), 6),
        "positives": sum(1 for s in scores if s >= 0.5),
    }


def run(args: argparse.Namespace) -> int:
    from mlq_client import Client, MlqError, WaitTimeout

    folder = os.path.abspath(args.dir)
    make_input(folder, args.shards, args.rows, args.seed)
    me = os.path.abspath(__file__)
    client = Client(args.url, args.token)
    small = {"cpus": 0.2, "mem": "64M", "workdir": folder, "retries": 1}

    # One task per shard. A rerun of this script with the same --key (an
    # Airflow retry, say) gets the same array back instead of a second one.
    key = args.key or "batch-score-%d" % int(time.time() * 1000)
    tasks = client.submit([args.python, me, "score", folder], name="score",
                          array="0-%d" % (args.shards - 1), max_running=args.max_running,
                          idempotency_key=key, **small)
    again = client.submit([args.python, me, "score", folder], name="score",
                          array="0-%d" % (args.shards - 1), idempotency_key=key, **small)
    summary = client.submit([args.python, me, "summarise", folder, str(args.shards)],
                            name="score-summary", after=[tasks], **small)
    print("submitted array %s (%d tasks) and summary job %s" % (tasks.id, args.shards,
                                                                 summary.id))
    failures = []
    if again.id != tasks.id:
        failures.append("the same idempotency key made a second array: %s" % again.id)

    try:
        st = tasks.wait(timeout=args.timeout)
        print("array: %s" % json.dumps(st["counts"], sort_keys=True))
        if not st.get("succeeded"):
            failures.append("not every task succeeded: %s" % st["counts"])
        # The summary's log, followed as it is written, until it ends.
        followed = "".join(summary.logs(follow=True))
        final = summary.wait(timeout=args.timeout)
    except WaitTimeout as e:
        print("timed out: %s (last status: %s)" % (e, e.job), file=sys.stderr)
        return 1
    except MlqError as e:
        print("mlq: %s" % e, file=sys.stderr)
        return 1

    if final["state"] != "SUCCEEDED":
        failures.append("summary job %s ended %s" % (summary.id, final["state"]))
    log0 = tasks.task(0).logs()
    print("task 0 said: %s" % log0.strip())
    if "scored %d rows of shard 0" % args.rows not in log0:
        failures.append("task 0's log does not say it scored its shard: %r" % log0)
    if "summary:" not in followed:
        failures.append("the followed log of the summary has no summary line: %r" % followed)
    try:
        with open(os.path.join(folder, "summary.json")) as f:
            got = json.load(f)
    except (OSError, ValueError) as e:
        got = None
        failures.append("no summary.json: %s" % e)
    want = expected_summary(folder, args.shards)
    if got is not None and got != want:
        failures.append("summary %s, expected %s" % (got, want))
    # The summary depended on the array: it must not have started before
    # the last task ended (ISO 8601 UTC times of one format compare as text).
    last_end = max(tasks.task(i).status()["end_time"] or "" for i in range(args.shards))
    if not final.get("start_time") or final["start_time"] < last_end:
        failures.append("the summary started at %s, before the last task ended at %s"
                        % (final.get("start_time"), last_end))
    for f in failures:
        print("FAIL: %s" % f, file=sys.stderr)
    if not failures:
        print("OK: %d rows scored, mean %.6f, %d positive" % (want["rows"], want["mean_score"],
                                                            want["positives"]))
    return 1 if failures else 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd")
    t = sub.add_parser("score", help="(run by a task) score one shard")
    t.add_argument("dir")
    s = sub.add_parser("summarise", help="(run by the summary job) merge the parts")
    s.add_argument("dir")
    s.add_argument("shards", type=int)
    p.add_argument("--dir", default=".", help="shared working folder (default: .)")
    p.add_argument("--shards", type=int, default=4)
    p.add_argument("--rows", type=int, default=1000, help="rows per shard")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--max-running", type=int, default=None)
    p.add_argument("--python", default=sys.executable,
                   help="the interpreter the jobs run on the workers (default: this one)")
    p.add_argument("--key", default=None, help="idempotency key of the array")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds to wait at most")
    p.add_argument("--url", default=None, help="default: $MLQ_URL")
    p.add_argument("--token", default=None, help="default: $MLQ_TOKEN")
    args = p.parse_args(argv)
    if args.cmd == "score":
        return task_score(args.dir)
    if args.cmd == "summarise":
        return task_summarise(args.dir, args.shards)
    if args.shards < 1:
        p.error("--shards must be at least 1")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
