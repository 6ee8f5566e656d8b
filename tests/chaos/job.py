#!/usr/bin/env python3
"""A chaos-test job: stamps its run, sleeps, exits as told.

usage: job.py STAMP_DIR DURATION MODE CODE

DURATION: milliseconds, or go:PATH (run until PATH exists).

Appends "START <attempt> <pid> <monotonic ns>" to STAMP_DIR/<MLQ_JOB_ID>
when it starts and "END <attempt> <pid> <monotonic ns> <exit code>" when
it ends (one O_APPEND write each, so concurrent runs never interleave
within a line). Before START it looks at every earlier run of the job that
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


def stamp(path, line):
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def alive(pid, job_id):
    """True when pid is a live run of job.py for job_id (not a reused pid)."""
    try:
        with open("/proc/%s/stat" % pid) as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                return False
        with open("/proc/%s/cmdline" % pid, "rb") as f:
            if b"job.py" not in f.read():
                return False
        with open("/proc/%s/environ" % pid, "rb") as f:
            return ("MLQ_JOB_ID=" + job_id).encode() in f.read().split(b"\0")
    except OSError:
        return False


def check_earlier_runs(path, job_id):
    """Stamps "PREV pid dead|alive ns" for every earlier run with no END:
    as this run starts, is that one still going? Returns how many runs
    came before this one."""
    started, ended = [], set()
    try:
        with open(path) as f:
            for line in f:
                p = line.split()
                if len(p) >= 3 and p[0] == "START":
                    started.append(p[2])
                elif len(p) >= 3 and p[0] in ("END", "KILLED"):
                    ended.add(p[2])
    except FileNotFoundError:
        return 0
    for pid in started:
        if pid not in ended:
            state = "alive" if alive(pid, job_id) else "dead"
            stamp(path, "PREV %s %s %d" % (pid, state, time.monotonic_ns()))
    return len(started)


def main():
    stamp_dir, duration, mode, code = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    attempt = os.environ["MLQ_ATTEMPT"]
    path = os.path.join(stamp_dir, os.environ["MLQ_JOB_ID"])
    pid = os.getpid()
    earlier = check_earlier_runs(path, os.environ["MLQ_JOB_ID"])
    stamp(path, "START %s %d %d" % (attempt, pid, time.monotonic_ns()))
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
