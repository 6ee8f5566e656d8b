#!/usr/bin/env python3
"""A chaos-test job: stamps its run, sleeps, exits as told.

usage: job.py STAMP_DIR DURATION MODE CODE

DURATION: milliseconds, or go:PATH (run until PATH exists).

Appends "START <attempt> <pid> <monotonic ns>" to STAMP_DIR/<MLQ_JOB_ID>
when it starts and "END <attempt> <pid> <monotonic ns> <exit code>" when
it ends (one O_APPEND write each, so concurrent runs never interleave
within a line). A run given GPUs also stamps "GPU <attempt> <pid> <worker>
<CUDA_VISIBLE_DEVICES> <share>" right after START (share: MLQ_GPU_FRACTION,
or 1 for whole GPUs), so that a checker can add up what shares one GPU. Before START it looks at every earlier run of the job that
has no END (nor a KILLED line a test added) and stamps "PREV <pid> alive"
or "PREV <pid> dead <ns>": a run killed by its worker has no END, and this
tells whether it was gone before the next one began. MODE says how it
exits:
  ok     exit 0
  fail   exit CODE on every attempt
  flaky  exit CODE on its first run, 0 afterwards (by runs, not by
         attempt number: an attempt lost before it ran is no run)
"""
import os
import sys
import time

# The stamp helpers live beside the integration tests' gang job; no
# bytecode is left in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from jobstamp import alive, read, stamp, unended  # noqa: E402


def check_earlier_runs(path, job_id):
    """Stamps "PREV pid dead|alive ns" for every earlier run with no END
    (START attempt pid ns): as this run starts, is that one still going?
    Returns how many runs came before this one."""
    rows = read(path)
    for p in unended(rows, 2, ("END", "KILLED")):
        state = "alive" if alive(p[2], job_id, "job.py") else "dead"
        stamp(path, "PREV %s %s %d" % (p[2], state, time.monotonic_ns()))
    return sum(1 for p in rows if len(p) >= 3 and p[0] == "START")


def main():
    stamp_dir, duration, mode, code = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    attempt = os.environ["MLQ_ATTEMPT"]
    path = os.path.join(stamp_dir, os.environ["MLQ_JOB_ID"])
    pid = os.getpid()
    earlier = check_earlier_runs(path, os.environ["MLQ_JOB_ID"])
    stamp(path, "START %s %d %d" % (attempt, pid, time.monotonic_ns()))
    cvd = os.environ.get("CUDA_VISIBLE_DEVICES", "")
    if cvd:
        stamp(path, "GPU %s %d %s %s %s" % (attempt, pid, os.environ.get("MLQ_WORKER", "?"), cvd,
                                            os.environ.get("MLQ_GPU_FRACTION", "1")))
    if duration.startswith("go:"):
        # Until the test says so (at most 10 minutes): no timing assumption.
        deadline = time.monotonic() + 600
        while not os.path.exists(duration[3:]) and time.monotonic() < deadline:
            time.sleep(0.05)
    else:
        time.sleep(int(duration) / 1000.0)
    if mode == "ok":
        rc = 0
    elif mode == "fail":
        rc = code
    elif mode == "flaky":
        rc = code if earlier == 0 else 0
    else:
        sys.exit("job.py: unknown mode " + mode)
    stamp(path, "END %s %d %d %d" % (attempt, pid, time.monotonic_ns(), rc))
    sys.exit(rc)


if __name__ == "__main__":
    main()
