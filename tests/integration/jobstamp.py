"""Stamps of the test jobs: lines that say when a run of a job started and
ended, appended by every run of it (every attempt, every rank) to one file
per job, and how a run tells whether an earlier one that never stamped its
end is still going. tests/chaos/job.py, tests/chaos/gang_job.py and
tests/integration/gang_allreduce.py write them (each in its own line
format), the tests' checkers read them.
"""
import os
import signal
import time


def stamp(path, line, mode=0o644):
    """Appends line to path in one O_APPEND write, so that runs writing at
    the same time never interleave within a line."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, mode)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def read(path):
    """The lines of path split into fields; none while nothing was stamped."""
    try:
        with open(path) as f:
            return [line.split() for line in f]
    except FileNotFoundError:
        return []


def alive(pid, job_id, script=None):
    """True when pid is a live run of job_id: not a zombie, and its
    environment names the job (so not a reused pid); with script, its
    command line must name that too."""
    try:
        with open("/proc/%s/stat" % pid) as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                return False
        if script is not None:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                if script.encode() not in f.read():
                    return False
        with open("/proc/%s/environ" % pid, "rb") as f:
            return ("MLQ_JOB_ID=" + job_id).encode() in f.read().split(b"\0")
    except OSError:
        return False


def unended(rows, pid_at, ends, before=None):
    """The START rows (fields: START attempt ...) whose run, named by the
    pid in field pid_at, has no row of a kind in ends; with before, only
    those of attempts before it. Rows too short to hold a pid are passed
    over."""
    started, ended = [], set()
    for p in rows:
        if len(p) <= pid_at:
            continue
        if p[0] == "START" and (before is None or int(p[1]) < before):
            started.append(p)
        elif p[0] in ends:
            ended.add(p[pid_at])
    return [p for p in started if p[pid_at] not in ended]


def term_stamps(path, attempt, rank, pid, mode=0o644):
    """On SIGTERM: stamps "TERM attempt rank pid ns" and exits 143 at once,
    as a rank stopped by its shim."""

    def on_term(_sig, _frame):
        stamp(path, "TERM %s %d %d %d" % (attempt, rank, pid, time.monotonic_ns()), mode)
        os._exit(143)

    signal.signal(signal.SIGTERM, on_term)
