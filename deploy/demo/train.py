#!/usr/bin/env python3
"""A tiny "training" job for the mlq demo, standard library only.

Fits y = w*x + b by full-batch gradient descent on synthetic data drawn
around y = 3x + 2, prints the loss every epoch, and writes the model to
model.json (in the working directory unless --out says otherwise).
Exits 1 when the fit does not converge, so that the demo notices.
"""
import argparse
import json
import os
import random
import sys


def make_data(n, seed):
    rng = random.Random(seed)
    xs = [rng.uniform(-1.0, 1.0) for _ in range(n)]
    ys = [3.0 * x + 2.0 + rng.gauss(0.0, 0.05) for x in xs]
    return xs, ys


def mse(w, b, xs, ys):
    return sum((w * x + b - y) ** 2 for x, y in zip(xs, ys)) / len(xs)


def train(xs, ys, epochs, lr):
    w, b = 0.0, 0.0
    n = len(xs)
    for epoch in range(1, epochs + 1):
        gw = sum(2.0 * (w * x + b - y) * x for x, y in zip(xs, ys)) / n
        gb = sum(2.0 * (w * x + b - y) for x, y in zip(xs, ys)) / n
        w -= lr * gw
        b -= lr * gb
        print(f"epoch {epoch:3d}  loss {mse(w, b, xs, ys):.6f}", flush=True)
    return w, b


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--lr", type=float, default=0.3)
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", default="model.json")
    args = ap.parse_args()

    print(f"job {os.environ.get('MLQ_JOB_ID', '?')} attempt "
          f"{os.environ.get('MLQ_ATTEMPT', '?')} on {os.environ.get('MLQ_CPUS', '?')} CPUs",
          flush=True)
    xs, ys = make_data(args.samples, args.seed)
    w, b = train(xs, ys, args.epochs, args.lr)
    loss = mse(w, b, xs, ys)

    # Write then rename, so a reader never sees half a model.
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"w": w, "b": b, "loss": loss, "epochs": args.epochs}, f)
        f.write("\n")
    os.replace(tmp, args.out)
    print(f"model w={w:.4f} b={b:.4f} loss={loss:.6f} -> {os.path.abspath(args.out)}")
    if loss > 0.01:
        print("training did not converge", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
