#!/usr/bin/env python3
"""API submissions per second: CLIENTS threads, each with one keep-alive
HTTP/1.1 connection, POSTing one job per request to /api/v1/jobs and
waiting for its 201 before the next, for JOBS jobs in all; REPS runs; prints
each run and the median.

usage: http_submit.py BASE_URL TOKEN [JOBS] [CLIENTS] [REPS]
"""
import http.client
import json
import statistics
import sys
import threading
import time
import urllib.parse

base, token = sys.argv[1], sys.argv[2]
jobs = int(sys.argv[3]) if len(sys.argv) > 3 else 4000
clients = int(sys.argv[4]) if len(sys.argv) > 4 else 8
reps = int(sys.argv[5]) if len(sys.argv) > 5 else 5
u = urllib.parse.urlparse(base)
HEAD = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
BODY = json.dumps({"argv": ["true"], "cpus": 0.1, "mem": "16M"}).encode()


def client(n, errors):
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    for _ in range(n):
        c.request("POST", "/api/v1/jobs", body=BODY, headers=HEAD)
        r = c.getresponse()
        r.read()
        if r.status != 201:
            errors.append(r.status)
    c.close()


rates = []
for rep in range(reps):
    errors = []
    per = jobs // clients
    ts = [threading.Thread(target=client, args=(per, errors)) for _ in range(clients)]
    t0 = time.monotonic()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    dt = time.monotonic() - t0
    if errors:
        print(f"run {rep + 1}: {len(errors)} errors, e.g. {errors[0]}", file=sys.stderr)
        sys.exit(1)
    rates.append(per * clients / dt)
    print(f"# run {rep + 1}: {per * clients} jobs in {dt:.2f} s = {rates[-1]:.0f}/s",
          file=sys.stderr)
print(f"api_submit_per_s: {statistics.median(rates):.0f} jobs/s "
      f"(median of {reps}, {clients} keep-alive clients, one job per request)")
