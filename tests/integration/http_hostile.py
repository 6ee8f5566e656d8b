#!/usr/bin/env python3
"""Hostile HTTP clients against mlq-scheduler --http, while a legitimate
client keeps asking. usage: http_hostile.py BASE_URL TOKEN SCHED_PID SECONDS

Throws, from many threads at once: malformed JSON, bodies over the limit
(announced and not), bad UTF-8, wrong types, deep nesting, garbage request
lines, unknown paths, bad tokens; holds idle ("slow") connections open; and
floods connects. Checks that every hostile request gets a 4xx (or the
connection closed on it), never a 5xx other than 503, that the legitimate
client is answered (200) throughout, and prints the scheduler's peak RSS.
Exit 1 on any failure.
"""
import http.client
import json
import socket
import sys
import threading
import time
import urllib.parse

base, token, pid, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
u = urllib.parse.urlparse(base)
HOST, PORT = u.hostname, u.port
AUTH = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
stop = time.time() + secs
problems = []
counts = {"hostile": 0, "legit_ok": 0, "legit_fail": 0}
lock = threading.Lock()


def note(msg):
    with lock:
        if len(problems) < 20:
            problems.append(msg)


def rss_kb():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


BODIES = [
    b'{"argv": ["true"',                       # truncated
    b'{"argv": "true"}',                       # wrong type
    b'{"argv": [1, 2]}',                       # wrong item type
    b'{"argv": ["true"], "cpus": -1}',         # out of range
    b'{"argv": ["true"], "mem": "lots"}',      # bad size
    b'{"argv": ["\xff\xfe"]}',                 # bad UTF-8
    b'{"argv": ["a\\u0000b"]}',                # NUL inside
    b'[' * 100000 + b']' * 100000,             # deep nesting (under the size limit)
    b'{"argv": ["true"], "env": {"A": 5}}',    # wrong env type
    b'[]',                                     # empty array
    b'"just a string"',
    b'{"argv": ["true"], "after": ["zz"]}',    # bad dependency
    b'\x00' * 1000,
]


def hostile_requests():
    i = 0
    while time.time() < stop:
        i += 1
        try:
            c = http.client.HTTPConnection(HOST, PORT, timeout=10)
            kind = i % 6
            if kind == 0:
                c.request("POST", "/api/v1/jobs", body=BODIES[i % len(BODIES)], headers=AUTH)
            elif kind == 1:  # over the limit, announced
                c.request("POST", "/api/v1/jobs", body=b"x" * (2 * 1024 * 1024), headers=AUTH)
            elif kind == 2:  # over the limit, chunked (not announced)
                def gen():
                    for _ in range(40):
                        yield b"y" * 65536
                c.request("POST", "/api/v1/jobs", body=gen(), headers=AUTH,
                          encode_chunked=True)
            elif kind == 3:
                c.request("GET", "/api/v1/jobs", headers={"Authorization": "Bearer " + "z" * 5000})
            elif kind == 4:
                c.request("GET", "/api/v1/jobs/%s/../../etc/passwd" % ("a" * 300), headers=AUTH)
            else:
                c.request("GET", "/../../../etc/passwd")
            r = c.getresponse()
            r.read()
            if r.status >= 500 and r.status != 503:
                note(f"hostile kind {kind} got {r.status}")
            elif r.status < 400:
                note(f"hostile kind {kind} got {r.status}")
            c.close()
        except (ConnectionError, socket.timeout, http.client.HTTPException, OSError):
            pass  # the server may close a connection it refuses
        with lock:
            counts["hostile"] += 1


def garbage_lines():
    while time.time() < stop:
        try:
            s = socket.create_connection((HOST, PORT), timeout=5)
            s.sendall(b"\x16\x03\x01 NOT HTTP \r\n\r\n" + b"A" * 10000 + b"\r\n\r\n")
            s.recv(1024)
            s.close()
        except OSError:
            pass


def slow_clients(n):
    held = []
    for _ in range(n):
        try:
            s = socket.create_connection((HOST, PORT), timeout=5)
            s.sendall(b"GET /api/v1/jobs HTTP/1.1\r\nHost: x\r\n")  # never finished
            held.append(s)
        except OSError:
            pass
    while time.time() < stop:
        time.sleep(0.2)
    for s in held:
        s.close()


def legit():
    while time.time() < stop:
        try:
            c = http.client.HTTPConnection(HOST, PORT, timeout=15)
            c.request("GET", "/api/v1/jobs?limit=5", headers=AUTH)
            r = c.getresponse()
            body = r.read()
            ok = r.status == 200 and "jobs" in json.loads(body)
            c.close()
        except Exception as e:  # noqa: BLE001
            ok = False
            note(f"legit client: {e!r}")
        with lock:
            counts["legit_ok" if ok else "legit_fail"] += 1
        time.sleep(0.1)


rss0 = rss_kb()
peak = [rss0]


def watch():
    while time.time() < stop:
        peak[0] = max(peak[0], rss_kb())
        time.sleep(0.2)


threads = [threading.Thread(target=hostile_requests) for _ in range(24)]
threads += [threading.Thread(target=garbage_lines) for _ in range(4)]
threads += [threading.Thread(target=slow_clients, args=(60,)), threading.Thread(target=legit),
            threading.Thread(target=watch)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps({"rss_start_kb": rss0, "rss_peak_kb": peak[0], **counts, "problems": problems}))
bad = problems or counts["legit_fail"] > 0 or counts["legit_ok"] < secs * 2
sys.exit(1 if bad else 0)
