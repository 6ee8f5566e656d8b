#!/usr/bin/env python3
"""How far behind the trace `mlq-replay --mode replay` submitted its tasks.

usage: replay_lag.py TASKS.csv STATE_DIR/mlq.db

Reads a scheduler's database kept with `mlq-replay --keep` (TMP/run-N/state)
and the trace it replayed, and prints the lag of each submission behind the
task's arrival, in trace seconds (the scheduler's clock runs --time-scale
times faster, as the trace's does): median, 99th percentile and maximum.
The tool submits one task at a time and waits for the answer, so a busy
scheduler delays the arrivals; queue waits are counted from the submission,
and the means of a replay cover the trace up to its last arrival, so a large
lag makes the figures of that run describe less load than the trace asks.
"""
import csv
import sqlite3
import sys


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[2])
    trace, db = sys.argv[1], sys.argv[2]
    with open(trace) as f:
        arr = {r["name"]: float(r["arrival_s"])
               for r in csv.DictReader(line for line in f if not line.startswith("#"))}
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    rows = [r for r in con.execute("SELECT name, submit_ms FROM jobs ORDER BY seq") if r[0] in arr]
    if not rows:
        sys.exit("replay_lag.py: no job of %s in %s" % (trace, db))
    t0, a0 = rows[0][1], arr[rows[0][0]]
    lags = sorted((s - t0) / 1000.0 - (arr[n] - a0) for n, s in rows)
    n = len(lags)
    print("jobs=%d lag_p50_s=%.1f lag_p99_s=%.1f lag_max_s=%.1f" %
          (n, lags[n // 2], lags[min(n - 1, int(n * 0.99))], lags[-1]))


if __name__ == "__main__":
    main()
