#!/usr/bin/env python3
"""One node part of a chaos-test gang: stamps its run, waits at a barrier
for every rank of its attempt, sleeps, exits as told.

usage: gang_job.py STAMP_DIR DURATION_MS MODE [BARRIER_S]

DURATION_MS: milliseconds, or hold1:MS (attempt 1 sleeps until it is
stopped, later attempts MS).

Stamps (one O_APPEND write each, CLOCK_MONOTONIC ns) go to
STAMP_DIR/<MLQ_JOB_ID>:
    PREV attempt rank pid alive|dead ns
                            a rank of an earlier attempt with no END or TERM
                            stamp: was it still going as this one began?
    START attempt rank pid ns
    ALL attempt rank ns     every rank of this attempt has stamped START
    ALONE attempt rank ns   BARRIER_S (default 30) passed without every rank
                            of its attempt starting: a node left running
                            alone; it exits 99
    END attempt rank pid ns rc
    TERM attempt rank pid ns  on SIGTERM (then exit 143)
MODE: ok (exit 0) or fail:R:CODE (rank R exits CODE after a fifth of the
sleep, on every attempt; the other ranks, still sleeping, must be stopped).
"""
import os
import sys
import time

# The stamp helpers live beside the integration tests' gang job; no
# bytecode is left in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from jobstamp import alive, read, stamp, term_stamps, unended  # noqa: E402


def check_earlier(path, job_id, attempt):
    """Stamps PREV for every rank of an earlier attempt with no END or TERM
    (START attempt rank pid ns)."""
    for p in unended(read(path), 3, ("END", "TERM"), before=attempt):
        state = "alive" if alive(p[3], job_id) else "dead"
        stamp(path, "PREV %s %s %s %s %d" % (p[1], p[2], p[3], state, time.monotonic_ns()))


def barrier(path, attempt, nnodes, limit_s):
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        ranks = {p[2] for p in read(path) if len(p) >= 5 and p[0] == "START" and p[1] == attempt}
        if len(ranks) >= nnodes:
            return True
        time.sleep(0.02)
    return False


def main():
    stamp_dir, dur, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    limit_s = float(sys.argv[4]) if len(sys.argv) > 4 else 30.0
    job = os.environ["MLQ_JOB_ID"]
    attempt = os.environ["MLQ_ATTEMPT"]
    if dur.startswith("hold1:"):
        dur_ms = 600000 if attempt == "1" else int(dur[6:])
    else:
        dur_ms = int(dur)
    rank = int(os.environ["MLQ_NODE_RANK"])
    nnodes = int(os.environ["MLQ_NNODES"])
    path = os.path.join(stamp_dir, job)
    pid = os.getpid()
    term_stamps(path, attempt, rank, pid)
    check_earlier(path, job, int(attempt))
    stamp(path, "START %s %d %d %d" % (attempt, rank, pid, time.monotonic_ns()))
    if not barrier(path, attempt, nnodes, limit_s):
        stamp(path, "ALONE %s %d %d" % (attempt, rank, time.monotonic_ns()))
        stamp(path, "END %s %d %d %d 99" % (attempt, rank, pid, time.monotonic_ns()))
        sys.exit(99)
    stamp(path, "ALL %s %d %d" % (attempt, rank, time.monotonic_ns()))
    rc, sleep_ms = 0, dur_ms
    if mode.startswith("fail:"):
        _, r, code = mode.split(":")
        if int(r) == rank:
            rc, sleep_ms = int(code), dur_ms // 5
    elif mode != "ok":
        sys.exit("gang_job.py: unknown mode " + mode)
    time.sleep(sleep_ms / 1000.0)
    stamp(path, "END %s %d %d %d %d" % (attempt, rank, pid, time.monotonic_ns(), rc))
    sys.exit(rc)


if __name__ == "__main__":
    main()
