#!/usr/bin/env python3
"""Synthetic trace for mlq-replay (README.md, "Placement and fragmentation").

Writes NODES.csv (name,cpus,mem,gpus,gpu_type) and TASKS.csv
(name,arrival_s,duration_s,cpus,mem,gpus,gpu_types): heterogeneous nodes
with 1, 2, 4 or 8 GPUs of several types, and a task mix of whole, multi-GPU,
fractional and CPU-only requests, some restricted to GPU types. The same
arguments and seed always give the same files (Python 3 stdlib only).
"""
import argparse
import random
import sys

TYPES = ["a100", "h100", "v100", "t4"]
TYPE_WEIGHTS = [40, 25, 20, 15]
NODE_GPUS = [1, 2, 4, 8]
NODE_WEIGHTS = [5, 10, 20, 65]
# (kind, gpus, weight): the task mix
MIX = [("whole", 1, 40), ("whole", 2, 12), ("whole", 4, 8), ("whole", 8, 5),
       ("share", 0.25, 8), ("share", 0.5, 12), ("share", 0.1, 5), ("share", 0.75, 2),
       ("cpu", 0, 8)]
TYPED = [("a100", 40), ("h100", 20), ("a100|h100", 30), ("v100|t4", 10)]

# --mix sharing: the shape of a GPU-sharing cluster (Weng et al., ATC'23, on
# Alibaba's trace): mostly 8-GPU nodes with few CPUs per GPU, most GPU
# tasks asking for a fraction of a GPU of varied sizes, CPU-heavy CPU-only
# tasks, and a third of the GPU tasks restricted to a type.
SHARING = {
    "node_gpus": ([2, 4, 8], [5, 15, 80]),
    "node_cpus_per_gpu": ([8, 12], [50, 50]),
    "node_mem_per_gpu": ([64, 96], [50, 50]),
    "mix": [("whole", 1, 18), ("whole", 2, 4), ("whole", 4, 2), ("whole", 8, 1),
            ("share", 0.1, 6), ("share", 0.2, 6), ("share", 0.25, 10), ("share", 0.3, 8),
            ("share", 0.5, 16), ("share", 0.6, 5), ("share", 0.75, 6), ("cpu", 0, 12)],
    "typed_pct": 33,
    "cpu_only": ([4, 8, 16, 24], [2, 4, 8, 16]),
    "share_cpus": [1, 2, 4],
    "whole_cpus_per_gpu": [2, 4, 6],
}


def pick(rng, items, weights):
    return rng.choices(items, weights=weights, k=1)[0]


def nodes(rng, n, mix):
    rows = []
    for i in range(n):
        if mix == "sharing":
            g = pick(rng, *SHARING["node_gpus"])
            cpus = g * pick(rng, *SHARING["node_cpus_per_gpu"])
            mem = g * pick(rng, *SHARING["node_mem_per_gpu"])
        else:
            g = pick(rng, NODE_GPUS, NODE_WEIGHTS)
            cpus = g * pick(rng, [8, 12, 16], [50, 30, 20])
            mem = g * pick(rng, [64, 96, 128], [50, 30, 20])
        rows.append(("node-%05d" % i, cpus, "%dG" % mem, g, pick(rng, TYPES, TYPE_WEIGHTS)))
    return rows


def task_resources(rng, kind, g):
    if kind == "cpu":
        return rng.choice([1, 2, 4, 8]), rng.choice([2, 4, 8, 16]), "0", ""
    typed = rng.random() < 0.25
    types = pick(rng, [t for t, _ in TYPED], [w for _, w in TYPED]) if typed else ""
    if kind == "share":
        return rng.choice([1, 2, 4]), rng.choice([4, 8, 16]), "%g" % g, types
    return g * rng.choice([2, 4, 8]), g * rng.choice([16, 32, 64]), str(g), types


def sharing_resources(rng, kind, g):
    if kind == "cpu":
        cpus, mem = SHARING["cpu_only"]
        return rng.choice(cpus), rng.choice(mem), "0", ""
    typed = rng.random() * 100 < SHARING["typed_pct"]
    types = pick(rng, [t for t, _ in TYPED], [w for _, w in TYPED]) if typed else ""
    if kind == "share":
        return rng.choice(SHARING["share_cpus"]), rng.choice([4, 8, 16]), "%g" % g, types
    return (g * rng.choice(SHARING["whole_cpus_per_gpu"]), g * rng.choice([16, 32, 48]), str(g),
            types)


def tasks(rng, n, total_gpus, load, mean_dur, mix):
    table = SHARING["mix"] if mix == "sharing" else MIX
    resources = sharing_resources if mix == "sharing" else task_resources
    kinds = [(k, g) for k, g, _ in table]
    weights = [w for _, _, w in table]
    mean_gpus = sum(g * w for _, g, w in table) / sum(weights)
    # arrivals so that GPU demand averages load x the cluster
    rate = load * total_gpus / (mean_gpus * mean_dur)
    t = 0.0
    rows = []
    for i in range(n):
        t += rng.expovariate(rate)
        kind, g = pick(rng, kinds, weights)
        # log-normal around the mean, cut at 8 times it (a replay ends with its longest task)
        dur = min(8 * mean_dur, max(1.0, rng.lognormvariate(0, 1) * mean_dur / 1.6487))
        cpus, mem, gpus, types = resources(rng, kind, g)
        rows.append(("task-%07d" % i, "%.3f" % t, "%.1f" % dur, cpus, "%dG" % mem, gpus, types))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=1000, help="number of nodes (default 1000)")
    ap.add_argument("--tasks", type=int, default=20000, help="number of tasks (default 20000)")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--load", type=float, default=0.9,
                    help="mean GPU demand over the cluster's GPUs (replay; default 0.9)")
    ap.add_argument("--mean-duration", type=float, default=600.0,
                    help="mean task duration in seconds (default 600)")
    ap.add_argument("--mix", choices=["default", "sharing"], default="default",
                    help="task and node mix: default, or sharing (mostly 8-GPU nodes with "
                    "8-12 CPUs per GPU; 70%% of GPU tasks ask for a share, 0.1-0.75; CPU-heavy "
                    "CPU-only tasks; a third of GPU tasks typed; README.md)")
    ap.add_argument("--nodes-out", required=True, help="NODES.csv to write")
    ap.add_argument("--tasks-out", required=True, help="TASKS.csv to write")
    a = ap.parse_args()
    if not 1 <= a.nodes <= 10000 or not 1 <= a.tasks <= 2000000:
        sys.exit("gen_trace.py: --nodes 1..10000, --tasks 1..2000000")
    if a.load <= 0 or a.mean_duration <= 0:
        sys.exit("gen_trace.py: --load and --mean-duration must be positive")
    rng = random.Random(a.seed)
    nrows = nodes(rng, a.nodes, a.mix)
    total = sum(r[3] for r in nrows)
    trows = tasks(rng, a.tasks, total, a.load, a.mean_duration, a.mix)
    with open(a.nodes_out, "w") as f:
        f.write("name,cpus,mem,gpus,gpu_type\n")
        for r in nrows:
            f.write("%s,%d,%s,%d,%s\n" % r)
    with open(a.tasks_out, "w") as f:
        f.write("name,arrival_s,duration_s,cpus,mem,gpus,gpu_types\n")
        for r in trows:
            f.write("%s,%s,%s,%d,%s,%s,%s\n" % r)


if __name__ == "__main__":
    main()
