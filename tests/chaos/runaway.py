#!/usr/bin/env python3
"""A job that tries hard to outlive its cancel or time limit.

usage: runaway.py PID_FILE

Ignores SIGTERM (and so do all its descendants: SIG_IGN survives fork and
exec), starts a plain child, and double-forks a grandchild into a new
session (setsid) that then execs `sleep`, so the grandchild is neither in
the job's process group nor in its session, and its parent is gone. Each
process appends "PID STARTTIME" (STARTTIME from /proc/PID/stat, which
tells a pid reused later apart) to PID_FILE. Then everybody sleeps.
"""
import os
import signal
import sys
import time


def record(path):
    with open("/proc/self/stat") as f:
        start = f.read().rsplit(")", 1)[1].split()[19]
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(fd, ("%d %s\n" % (os.getpid(), start)).encode())
    os.close(fd)


def sleep_forever():
    while True:
        time.sleep(3600)


def main():
    path = sys.argv[1]
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    record(path)
    if os.fork() == 0:  # a plain child, same group and session
        record(path)
        sleep_forever()
    middle = os.fork()
    if middle == 0:
        os.setsid()
        if os.fork() == 0:  # the grandchild, orphaned in its own session
            record(path)
            os.execvp("sleep", ["sleep", "100000"])
        os._exit(0)
    os.waitpid(middle, 0)
    sleep_forever()


if __name__ == "__main__":
    main()
