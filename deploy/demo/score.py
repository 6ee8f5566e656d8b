#!/usr/bin/env python3
"""A tiny batch-scoring job for the mlq demo, standard library only.

Reads model.json written by train.py, scores a few inputs and prints them.
Exits 1 when the model is missing or clearly wrong (w, b far from 3, 2).
"""
import argparse
import json
import os
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="model.json")
    ap.add_argument("inputs", nargs="*", type=float, default=None)
    args = ap.parse_args()
    if not args.inputs:
        # A task of a job array scores its own shard of the inputs.
        shard = int(os.environ.get("MLQ_ARRAY_INDEX", "0"))
        args.inputs = [shard * 10.0 + k for k in (0.0, 0.5, 1.0)]
        print(f"shard {shard} of {os.environ.get('MLQ_ARRAY_SIZE', '1')}")

    try:
        with open(args.model) as f:
            model = json.load(f)
        w, b = float(model["w"]), float(model["b"])
    except (OSError, ValueError, KeyError) as e:
        print(f"cannot read model {args.model}: {e}", file=sys.stderr)
        return 1

    print(f"model: y = {w:.4f} * x + {b:.4f}")
    for x in args.inputs:
        print(f"x = {x:8.3f}  ->  y = {w * x + b:9.4f}")
    if abs(w - 3.0) > 0.1 or abs(b - 2.0) > 0.1:
        print("model is far from the truth (w=3, b=2)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
