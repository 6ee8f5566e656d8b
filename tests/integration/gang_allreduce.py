#!/usr/bin/env python3
"""One rank of a gang job: a rendezvous and an all-reduce over plain TCP.

usage: gang_allreduce.py STAMP_DIR MODE

Each rank reads what mlq gave it (MLQ_NNODES, MLQ_NODE_RANK,
MLQ_MASTER_ADDR, MLQ_MASTER_PORT, ...). Rank 0 listens on MLQ_MASTER_PORT;
the others connect to MLQ_MASTER_ADDR:MLQ_MASTER_PORT, retrying for up to
30 s, and send their value, (rank + 1) * 10; rank 0 adds them to its own
and sends the sum back to each. Every rank prints

    rank R sum S

and writes what it saw to STAMP_DIR/<job>.<attempt>.<rank>.json: the
environment, the hostfile's lines, the sum, and the address its end of the
rendezvous connection had (its host's address on the cluster's network).

Stamps (one O_APPEND write each, CLOCK_MONOTONIC in ns, the clock every
network namespace shares) go to STAMP_DIR/<job>:
    START attempt rank pid ns      as the rank starts
    PREV pid alive|dead ns         a rank of an earlier attempt with no END
                                   or TERM: was it still going as this began?
    END attempt rank pid ns rc     as it exits on its own
    TERM attempt rank pid ns       on SIGTERM (then it exits 143)

MODE, after the all-reduce:
    reduce     exit 0
    fail:R     rank R exits 1; the others sleep until they are stopped
    hold1      in attempt 1 every rank sleeps until stopped; later attempts
               exit 0
"""
import json
import os
import socket
import sys
import time

sys.dont_write_bytecode = True  # nothing left beside the script
from jobstamp import alive, read, stamp, term_stamps, unended  # noqa: E402 (beside this script)

CONNECT_FOR_S = 30.0
SLEEP_S = 600
# The stamp file is left writable by all: the ranks run as the jobs' owner
# (nobody in test_gang_netns.sh), not as the test.
STAMP_MODE = 0o666


def check_earlier_runs(path, job_id, attempt):
    """Stamps PREV for every rank of an earlier attempt with no END or TERM."""
    for p in unended(read(path), 3, ("END", "TERM"), before=int(attempt)):
        state = "alive" if alive(p[3], job_id) else "dead"
        stamp(path, "PREV %s %s %d" % (p[3], state, time.monotonic_ns()), STAMP_MODE)


def recv_line(sock):
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = sock.recv(64)
        if not chunk:
            raise ConnectionError("peer closed the rendezvous connection")
        buf += chunk
    return buf.decode().strip()


def master(port, nnodes, value):
    """Rank 0: accepts nnodes - 1 ranks, returns (sum, local address)."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", port))
    srv.listen(nnodes)
    conns, total, local = [], value, os.environ.get("MLQ_WORKER_ADDR", "")
    while len(conns) < nnodes - 1:
        c, _ = srv.accept()
        total += int(recv_line(c).split()[1])
        local = c.getsockname()[0]
        conns.append(c)
    for c in conns:
        c.sendall(b"%d\n" % total)
        c.close()
    srv.close()
    return total, local


def peer(addr, port, rank, value):
    """Rank > 0: connects (with retries), returns (sum, local address)."""
    deadline = time.monotonic() + CONNECT_FOR_S
    while True:
        try:
            s = socket.create_connection((addr, port), timeout=5)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    local = s.getsockname()[0]
    s.sendall(b"%d %d\n" % (rank, value))
    total = int(recv_line(s))
    s.close()
    return total, local


def hostfile_lines():
    try:
        with open(os.environ["MLQ_HOSTFILE"]) as f:
            return [line.rstrip("\n") for line in f]
    except (KeyError, OSError) as e:
        return ["unreadable: %s" % e]


def main():
    stamp_dir, mode = sys.argv[1], sys.argv[2]
    env = os.environ
    job, attempt = env["MLQ_JOB_ID"], env["MLQ_ATTEMPT"]
    rank, nnodes = int(env["MLQ_NODE_RANK"]), int(env["MLQ_NNODES"])
    path = os.path.join(stamp_dir, job)
    pid = os.getpid()
    term_stamps(path, attempt, rank, pid, STAMP_MODE)
    check_earlier_runs(path, job, attempt)
    stamp(path, "START %s %d %d %d" % (attempt, rank, pid, time.monotonic_ns()), STAMP_MODE)

    value = (rank + 1) * 10
    port = int(env["MLQ_MASTER_PORT"])
    if rank == 0:
        total, local = master(port, nnodes, value)
    else:
        total, local = peer(env["MLQ_MASTER_ADDR"], port, rank, value)
    print("rank %d sum %d" % (rank, total), flush=True)
    keys = ("MLQ_NNODES", "MLQ_NODE_RANK", "MLQ_MASTER_ADDR", "MLQ_MASTER_PORT", "MLQ_HOSTFILE",
            "MASTER_ADDR", "MASTER_PORT", "NODE_RANK", "WORLD_SIZE", "MLQ_WORKER",
            "MLQ_WORKER_ADDR", "MLQ_ATTEMPT", "CUDA_VISIBLE_DEVICES")
    seen = {"env": {k: env.get(k) for k in keys}, "hostfile": hostfile_lines(), "sum": total,
            "local_addr": local}
    tmp = os.path.join(stamp_dir, ".%s.%s.%d.tmp" % (job, attempt, rank))
    with open(tmp, "w") as f:
        json.dump(seen, f)
    os.rename(tmp, os.path.join(stamp_dir, "%s.%s.%d.json" % (job, attempt, rank)))

    rc = 0
    if mode.startswith("fail:"):
        if rank == int(mode[5:]):
            rc = 1
        else:
            time.sleep(SLEEP_S)
    elif mode == "hold1":
        if attempt == "1":
            time.sleep(SLEEP_S)
    elif mode != "reduce":
        sys.exit("gang_allreduce.py: unknown mode " + mode)
    stamp(path, "END %s %d %d %d %d" % (attempt, rank, pid, time.monotonic_ns(), rc), STAMP_MODE)
    sys.exit(rc)


if __name__ == "__main__":
    main()
