"""Unit tests of mlq_client against a tiny in-process HTTP server.

The fake server answers what each test tells it to and records every
request, so these check what the client sends (paths, queries, bodies, the
token) and how it reads answers (errors, cursors, long polls, chunked logs)
without a scheduler. The integration test (tests/integration/
test_python_client.sh) runs the client against a real one.

Run: python3 -m unittest discover -s cli/python/tests
"""

import json
import os
import socket
import sys
import threading
import time
import unittest
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import mlq_client  # noqa: E402
from mlq_client import (  # noqa: E402
    Array,
    Client,
    Conflict,
    InvalidRequest,
    Job,
    MlqError,
    NotFound,
    Overloaded,
    PermissionDenied,
    TooLarge,
    Unauthorized,
    Unreachable,
    WaitTimeout,
)

TOKEN = "tok-123"


class Fake:
    """The fake API: ``routes[(METHOD, PATH)]`` is a function of the request
    returning ``(status, body[, headers])`` (body: dict/list -> JSON, str/bytes -> as
    is, a generator -> a chunked response, one chunk per item)."""

    def __init__(self):
        self.routes = {}
        self.requests = []
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        fake = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _do(self):
                u = urllib.parse.urlsplit(self.path)
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n) if n else b""
                req = {
                    "method": self.command,
                    "path": urllib.parse.unquote(u.path),
                    "raw_path": self.path,
                    "query": dict(urllib.parse.parse_qsl(u.query)),
                    "headers": dict(self.headers),
                    "body": json.loads(raw) if raw else None,
                }
                fake.requests.append(req)
                route = fake.routes.get((self.command, urllib.parse.unquote(u.path)))
                if route is None:
                    status, body, extra = 404, {"error": {"code": -4, "message": "no route"}}, []
                else:
                    status, body, *extra = route(req)
                if hasattr(body, "__next__"):
                    self.send_response(status)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for chunk in body:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        self.wfile.flush()
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                    return
                if isinstance(body, (dict, list)):
                    data, ctype = json.dumps(body).encode(), "application/json"
                elif isinstance(body, str):
                    data, ctype = body.encode(), "text/plain"
                else:
                    data, ctype = body or b"", "text/plain"
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                for k, v in (extra[0] if extra else {}).items():
                    self.send_header(k, v)
                if status in (301, 302, 307):
                    self.send_header("Location", fake.url + "/elsewhere")
                self.end_headers()
                self.wfile.write(data)

            do_GET = _do
            do_POST = _do

        return H


def job_doc(job_id, state, **kw):
    d = {"id": job_id, "state": state, "name": None, "attempts": []}
    d.update(kw)
    return d


class Base(unittest.TestCase):
    def setUp(self):
        self.fake = Fake()
        self.addCleanup(self.fake.close)
        self.c = Client(self.fake.url, TOKEN, timeout=5)

    def route(self, method, path, fn):
        self.fake.routes[(method, path)] = fn

    def answer(self, method, path, status, body):
        self.route(method, path, lambda req: (status, body))


class TestClientBasics(Base):
    def test_token_sent_as_bearer(self):
        self.answer("GET", "/api/v1/workers", 200, {"workers": [{"name": "w1"}]})
        self.assertEqual(self.c.workers(), [{"name": "w1"}])
        self.assertEqual(self.fake.requests[0]["headers"]["Authorization"], "Bearer " + TOKEN)

    def test_no_token_no_header(self):
        self.answer("GET", "/api/v1/workers", 200, {"workers": []})
        old = os.environ.pop("MLQ_TOKEN", None)
        try:
            Client(self.fake.url).workers()
        finally:
            if old is not None:
                os.environ["MLQ_TOKEN"] = old
        self.assertNotIn("Authorization", self.fake.requests[0]["headers"])

    def test_env_defaults_and_url_forms(self):
        env = {"MLQ_URL": self.fake.url + "/api/v1/", "MLQ_TOKEN": "from-env"}
        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            c = Client()
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        self.assertEqual(c.url, self.fake.url)
        self.answer("GET", "/api/v1/workers", 200, {"workers": []})
        c.workers()
        self.assertEqual(self.fake.requests[0]["headers"]["Authorization"], "Bearer from-env")
        with self.assertRaises(ValueError):
            Client("127.0.0.1:8080", "t")

    def test_unreachable(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        with self.assertRaises(Unreachable) as cm:
            Client("http://127.0.0.1:%d" % port, "t", timeout=2).workers()
        self.assertIsInstance(cm.exception, ConnectionError)
        self.assertIsNone(cm.exception.status)

    def test_redirect_not_followed(self):
        self.answer("GET", "/api/v1/workers", 302, "")
        with self.assertRaises(MlqError) as cm:
            self.c.workers()
        self.assertEqual(cm.exception.status, 302)
        self.assertEqual(len(self.fake.requests), 1)


class TestBrokenAnswers(Base):
    def _raw(self, payload):
        # A server that writes `payload` and hangs up, whatever was asked.
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        self.addCleanup(srv.close)

        def serve():
            conn, _ = srv.accept()
            conn.recv(65536)
            conn.sendall(payload)
            conn.close()

        threading.Thread(target=serve, daemon=True).start()
        return Client("http://127.0.0.1:%d" % srv.getsockname()[1], "t", timeout=5)

    def test_body_cut_short(self):
        c = self._raw(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"workers\": [")
        with self.assertRaises(Unreachable):
            c.workers()

    def test_follow_cut_short(self):
        c = self._raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                      b"6\r\nhello\n\r\n40\r\nonly a bit")
        it = Job(c, "j1").logs(follow=True)
        with self.assertRaises(Unreachable):
            "".join(it)

    def test_not_json(self):
        self.answer("GET", "/api/v1/workers", 200, "<html>")
        with self.assertRaises(MlqError):
            self.c.workers()


class TestErrors(Base):
    CASES = [
        (400, InvalidRequest, "invalid memory \"lots\""),
        (401, Unauthorized, "invalid token"),
        (403, PermissionDenied, "permission denied: only admins may drain"),
        (404, NotFound, "no such job: abc"),
        (409, Conflict, "job already ended"),
        (413, TooLarge, "request body too big"),
        (429, Overloaded, "too many requests"),
        (503, Overloaded, "scheduler busy"),
        (500, MlqError, "internal error"),
    ]

    def test_mapping(self):
        for status, cls, msg in self.CASES:
            with self.subTest(status=status):
                self.answer("GET", "/api/v1/jobs/abc", status,
                            {"error": {"code": -status, "message": msg}})
                with self.assertRaises(cls) as cm:
                    self.c.job("abc")
                e = cm.exception
                self.assertIsInstance(e, MlqError)
                self.assertEqual((e.status, e.code, e.message), (status, -status, msg))
                self.assertIn(msg, str(e))

    def test_body_not_json(self):
        self.answer("POST", "/api/v1/jobs", 400, "garbage <html>")
        with self.assertRaises(InvalidRequest) as cm:
            self.c.submit(["true"])
        self.assertIsNone(cm.exception.code)
        self.assertTrue(cm.exception.message)

    def test_cancel_state_conflict(self):
        self.answer("POST", "/api/v1/jobs/j1/cancel", 409,
                    {"error": {"code": -10, "message": "job j1 already ended"}})
        with self.assertRaises(Conflict):
            Job(self.c, "j1").cancel()


class TestSubmit(Base):
    def test_body_and_job(self):
        self.answer("POST", "/api/v1/jobs", 201, {"id": "0123abcd", "is_array": False})
        dep = Job(self.c, "dep1")
        job = self.c.submit(
            ["python3", "-c", "print(1)"], name="n", cpus=0.5, mem="512M", gpus="h100:2",
            after=[dep, "dep2"], idempotency_key="k1", env={"A": "1"}, workdir="/tmp",
            retries=2, time_limit=90, retry_backoff=1.5, kill_grace="10s", priority=5,
            pool="gpu", labels={"zone": "a"}, signal="USR1@5m")
        self.assertIsInstance(job, Job)
        self.assertNotIsInstance(job, Array)
        self.assertEqual(job.id, "0123abcd")
        self.assertEqual(job.info["is_array"], False)
        b = self.fake.requests[0]["body"]
        self.assertEqual(b["argv"], ["python3", "-c", "print(1)"])
        self.assertEqual(b["name"], "n")
        self.assertEqual(b["cpus"], 0.5)
        self.assertEqual(b["mem"], "512M")
        self.assertEqual((b["gpus"], b["gpu_type"]), (2, "h100"))
        self.assertEqual(b["after"], ["dep1", "dep2"])
        self.assertEqual(b["idempotency_key"], "k1")
        self.assertEqual(b["env"], {"A": "1"})
        self.assertEqual(b["workdir"], "/tmp")
        self.assertEqual(b["retries"], 2)
        self.assertEqual(b["time_limit"], "90s")
        self.assertEqual(b["retry_backoff"], "1500ms")
        self.assertEqual(b["kill_grace"], "10s")
        self.assertEqual(b["priority"], 5)
        self.assertEqual(b["pool"], "gpu")
        self.assertEqual(b["require"], ["zone=a"])
        self.assertEqual((b["warn_signal"], b["warn_before"]), (10, "5m"))
        self.assertNotIn("array", b)
        self.assertNotIn("signal", b)
        self.assertEqual(self.fake.requests[0]["headers"]["Content-Type"], "application/json")

    def test_preemption_keywords(self):
        self.answer("POST", "/api/v1/jobs", 201, {"id": "0123abcd", "is_array": False})
        self.c.submit(["true"], preempt_grace=90, min_runtime="10m", no_preempt=True,
                      signal="USR1")
        b = self.fake.requests[0]["body"]
        self.assertEqual(b["preempt_grace"], "90s")
        self.assertEqual(b["min_runtime"], "10m")
        self.assertIs(b["no_preempt"], True)
        self.assertEqual(b["warn_signal"], 10)
        self.assertNotIn("warn_before", b)
        self.assertNotIn("time_limit", b)
        with self.assertRaises(ValueError):
            self.c.submit(["true"], no_preempt="yes")
        with self.assertRaises(ValueError):
            self.c.submit(["true"], signal="USR1@")

    def test_export(self):
        # export= picks variables of os.environ; env= wins; what the worker
        # sets itself (MLQ_*, HOME, CUDA_VISIBLE_DEVICES) is never sent.
        saved = dict(os.environ)
        os.environ.update({"EXP_A": "a", "EXP_B": "b", "MLQ_JOB_ID": "parent",
                           "CUDA_VISIBLE_DEVICES": "3"})
        try:
            for _ in range(4):
                self.answer("POST", "/api/v1/jobs", 201, {"id": "0123abcd", "is_array": False})
            self.c.submit(["true"])
            self.assertNotIn("env", self.fake.requests[-1]["body"])
            self.c.submit(["true"], export=["EXP_A", "EXP_UNSET"], env={"X": "1"})
            self.assertEqual(self.fake.requests[-1]["body"]["env"], {"EXP_A": "a", "X": "1"})
            self.c.submit(["true"], export="ALL", env={"EXP_B": "given"})
            sent = self.fake.requests[-1]["body"]["env"]
            self.assertEqual((sent["EXP_A"], sent["EXP_B"]), ("a", "given"))
            for gone in ("MLQ_JOB_ID", "CUDA_VISIBLE_DEVICES", "HOME"):
                self.assertNotIn(gone, sent)
            self.c.submit(["true"], export="NONE", env=["Y=2"])
            self.assertEqual(self.fake.requests[-1]["body"]["env"], {"Y": "2"})
            with self.assertRaises(ValueError):
                self.c.submit(["true"], export=["BAD-NAME"])
            with self.assertRaises(ValueError):
                self.c.submit(["true"], export="SOME")
        finally:
            os.environ.clear()
            os.environ.update(saved)

    def test_array(self):
        self.answer("POST", "/api/v1/jobs", 201, {"id": "arr1", "is_array": True})
        arr = self.c.submit(["true"], array="0-9", max_running=2)
        self.assertIsInstance(arr, Array)
        b = self.fake.requests[0]["body"]
        self.assertEqual((b["array"], b["max_running"]), ("0-9", 2))
        # Tasks are found in the job list, by the array's name, by index.
        self.answer("GET", "/api/v1/jobs/arr1", 200,
                    {"id": "arr1", "name": "n", "size": 3, "counts": {}, "done": False})
        listed = [job_doc("t%d" % i, "PENDING", array_id="arr1", array_index=i, name="n")
                  for i in (2, 1, 0)] + [job_doc("x", "PENDING", name="n")]
        self.answer("GET", "/api/v1/jobs", 200, {"jobs": listed, "next": None})
        self.assertEqual(arr.task(1).id, "t1")
        self.assertEqual(self.fake.requests[-1]["query"]["name"], "n")
        self.assertEqual([t.id for t in arr.tasks()], ["t0", "t1", "t2"])
        with self.assertRaises(NotFound):
            arr.task(7)
        self.answer("GET", "/api/v1/jobs/t2", 200, listed[0])
        self.assertEqual(self.c.job("arr1/2").id, "t2")

    def test_submit_many(self):
        self.answer("POST", "/api/v1/jobs:batch", 201, {"ids": ["j1", "j2"]})
        jobs = self.c.submit_many([{"argv": ["true"], "env": ["X=1"]},
                                   {"argv": ["false"], "gpus": 1}])
        self.assertEqual([(type(j).__name__, j.id) for j in jobs], [("Job", "j1"), ("Job", "j2")])
        self.assertEqual(self.fake.requests[0]["body"],
                         [{"argv": ["true"], "env": {"X": "1"}},
                          {"argv": ["false"], "gpus": 1}])

    def test_submit_many_takes_no_arrays(self):
        with self.assertRaises(ValueError):
            self.c.submit_many([{"argv": ["true"], "array": "1,2"}])
        self.assertEqual(self.fake.requests, [])

    def test_submit_many_answer_must_match(self):
        self.answer("POST", "/api/v1/jobs:batch", 201, {"ids": ["j1"]})
        with self.assertRaises(MlqError):
            self.c.submit_many([{"argv": ["true"]}, {"argv": ["false"]}])

    def test_argv_must_be_a_list(self):
        with self.assertRaises(TypeError):
            self.c.submit("echo hi")
        self.assertEqual(self.fake.requests, [])

    def test_job_lookup_array(self):
        self.answer("GET", "/api/v1/jobs/ab", 200,
                    {"id": "abcdef", "size": 3, "counts": {"PENDING": 3}, "done": False})
        a = self.c.job("ab")
        self.assertIsInstance(a, Array)
        self.assertEqual(a.id, "abcdef")


class TestJobs(Base):
    def test_cursor_pages(self):
        pages = {None: (["a", "b"], "c1"), "c1": (["c", "d"], "c2"), "c2": (["e"], None)}

        def listing(req):
            ids, nxt = pages[req["query"].get("cursor")]
            return 200, {"jobs": [{"id": i} for i in ids], "next": nxt}

        self.route("GET", "/api/v1/jobs", listing)
        got = [j["id"] for j in self.c.jobs(state="PENDING", user="ann")]
        self.assertEqual(got, ["a", "b", "c", "d", "e"])
        self.assertEqual(len(self.fake.requests), 3)
        q = self.fake.requests[0]["query"]
        self.assertEqual((q["state"], q["user"]), ("PENDING", "ann"))
        self.assertNotIn("cursor", q)
        self.assertEqual(self.fake.requests[1]["query"]["cursor"], "c1")

    def test_limit_stops_early(self):
        def listing(req):
            lim = int(req["query"]["limit"])
            start = int(req["query"].get("cursor") or 0)
            return 200, {"jobs": [{"id": str(start + i)} for i in range(lim)],
                         "next": str(start + lim)}

        self.route("GET", "/api/v1/jobs", listing)
        got = [j["id"] for j in self.c.jobs(limit=5, page_size=2)]
        self.assertEqual(got, ["0", "1", "2", "3", "4"])
        self.assertEqual([r["query"]["limit"] for r in self.fake.requests], ["2", "2", "1"])

    def test_empty(self):
        self.answer("GET", "/api/v1/jobs", 200, {"jobs": [], "next": None})
        self.assertEqual(list(self.c.jobs()), [])


class TestJob(Base):
    def test_status_why_cancel(self):
        self.answer("GET", "/api/v1/jobs/j1", 200, job_doc("j1", "RUNNING"))
        self.answer("GET", "/api/v1/jobs/j1/why", 200, {"id": "j1", "reasons": []})
        self.answer("POST", "/api/v1/jobs/j1/cancel", 200, {"cancelled": 1})
        j = Job(self.c, "j1")
        self.assertEqual(j.status()["state"], "RUNNING")
        self.assertEqual(j.info["state"], "RUNNING")
        self.assertEqual(j.why()["id"], "j1")
        self.answer("GET", "/api/v1/jobs/j1/manifest", 200, {"argv": ["python", "train.py"]})
        self.assertEqual(j.manifest()["argv"], ["python", "train.py"])
        self.assertEqual(j.manifest(attempt=2)["argv"], ["python", "train.py"])
        self.assertEqual(self.fake.requests[-1]["query"]["attempt"], "2")
        self.assertEqual(j.cancel(), {"cancelled": 1})
        # A POST without a body still says how long it is (0).
        self.assertEqual(self.fake.requests[-1]["headers"].get("Content-Length"), "0")

    def test_wait_long_polls_until_done(self):
        answers = [(408, job_doc("j1", "PENDING")), (408, job_doc("j1", "RUNNING")),
                   (200, job_doc("j1", "SUCCEEDED", exit_code=0))]
        self.route("GET", "/api/v1/jobs/j1/wait", lambda req: answers.pop(0))
        st = Job(self.c, "j1").wait(timeout=60, poll=5)
        self.assertEqual(st["state"], "SUCCEEDED")
        self.assertEqual([r["query"]["timeout"] for r in self.fake.requests][0], "5s")
        self.assertEqual(len(self.fake.requests), 3)

    def test_wait_timeout(self):
        def slow(req):
            time.sleep(0.2)
            return 408, job_doc("j1", "RUNNING")

        self.route("GET", "/api/v1/jobs/j1/wait", slow)
        t0 = time.monotonic()
        with self.assertRaises(TimeoutError) as cm:
            Job(self.c, "j1").wait(timeout=0.5, poll=0.3)
        self.assertLess(time.monotonic() - t0, 3)
        e = cm.exception
        self.assertIsInstance(e, WaitTimeout)
        self.assertIsInstance(e, MlqError)
        self.assertEqual(e.job["state"], "RUNNING")
        # The last poll asks for what is left, not a whole poll.
        last = self.fake.requests[-1]["query"]["timeout"]
        self.assertTrue(last.endswith("ms"), last)

    def test_wait_zero_looks_once(self):
        self.answer("GET", "/api/v1/jobs/j1/wait", 200, job_doc("j1", "FAILED", exit_code=3))
        self.assertEqual(Job(self.c, "j1").wait(timeout=0)["exit_code"], 3)
        self.answer("GET", "/api/v1/jobs/j2/wait", 408, job_doc("j2", "PENDING"))
        with self.assertRaises(WaitTimeout) as cm:
            Job(self.c, "j2").wait(timeout=0)
        self.assertEqual(cm.exception.job["state"], "PENDING")

    def test_wait_array_done_flag(self):
        self.answer("GET", "/api/v1/jobs/a1/wait", 200,
                    {"id": "a1", "size": 2, "counts": {"SUCCEEDED": 2}, "done": True,
                     "succeeded": True})
        self.assertTrue(Array(self.c, "a1").wait(timeout=5)["succeeded"])

    def test_wait_not_found(self):
        with self.assertRaises(NotFound):
            Job(self.c, "nope").wait(timeout=5)

    def test_logs_plain(self):
        self.answer("GET", "/api/v1/jobs/j1/logs", 200, "line 1\nline 2\n")
        self.assertEqual(Job(self.c, "j1").logs(stream="stderr", offset=3, max_bytes=100),
                         "line 1\nline 2\n")
        q = self.fake.requests[0]["query"]
        self.assertEqual(q, {"stream": "stderr", "offset": "3", "max": "100"})
        with self.assertRaises(ValueError):
            Job(self.c, "j1").logs(stream="both")

    def test_logs_pages(self):
        # Without max_bytes the client reads on, page by page, from the
        # offset the server names, until a short page.
        from mlq_client import client as cmod

        page = cmod._LOG_PAGE
        data = b"x" * page + b"tail"

        def logs(req):
            off, n = int(req["query"].get("offset") or 0), int(req["query"]["max"])
            out = data[off:off + n]
            return 200, out, {"X-Mlq-Next-Offset": str(off + len(out))}

        self.route("GET", "/api/v1/jobs/j1/logs", logs)
        text = Job(self.c, "j1").logs()
        self.assertEqual(len(text), page + 4)
        self.assertEqual([r["query"].get("offset") for r in self.fake.requests], [None, str(page)])

    def test_logs_follow_streams(self):
        # The server sends its second chunk only once the client has the
        # first: a client that buffered the whole response would hang here.
        got_first = threading.Event()
        snow = "\u2603".encode()  # three bytes, split across chunks

        def chunks():
            yield b"first\n" + snow[:1]
            if not got_first.wait(5):
                yield b"TIMEOUT"
                return
            yield snow[1:] + b"\nsecond\n"

        self.route("GET", "/api/v1/jobs/j1/logs", lambda req: (200, chunks()))
        it = Job(self.c, "j1").logs(follow=True)
        self.assertEqual(next(it), "first\n")
        got_first.set()
        rest = "".join(it)
        self.assertEqual(rest, "\u2603\nsecond\n")
        self.assertEqual(self.fake.requests[0]["query"]["follow"], "1")

    def test_logs_follow_error(self):
        self.answer("GET", "/api/v1/jobs/j9/logs", 404,
                    {"error": {"code": -4, "message": "no such job: j9"}})
        with self.assertRaises(NotFound):
            Job(self.c, "j9").logs(follow=True)


class TestPackage(unittest.TestCase):
    def test_exports(self):
        for name in mlq_client.__all__:
            self.assertTrue(hasattr(mlq_client, name), name)
        self.assertTrue(issubclass(mlq_client.WaitTimeout, TimeoutError))


if __name__ == "__main__":
    unittest.main()
