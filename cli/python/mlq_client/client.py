"""The mlq HTTP API client: ``Client``, ``Job`` and ``Array``.

Standard library only (``urllib.request``, ``json``). Every call is one HTTP
request with ``Authorization: Bearer TOKEN``; the JSON bodies are returned as
the API gives them (the same objects ``mlq ... --json`` prints).
"""

import codecs
import http.client
import json
import os
import re
import signal as _signal
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Union

from .errors import MlqError, NotFound, Unreachable, WaitTimeout, error_for

__all__ = ["Client", "Job", "Array", "TERMINAL_STATES"]

#: Job states after which nothing more happens to a job.
TERMINAL_STATES = frozenset({"SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"})

# One long poll of /wait asks the server for at most this long; wait() with a
# longer timeout polls again. Short enough for proxies and the server's own
# cap, long enough not to spin.
_WAIT_POLL_S = 30.0
# The longest long poll the API accepts (its `timeout` is at most 5m).
_WAIT_MAX_S = 300.0
# A page of `jobs()`: the server may send fewer (its own cap); the cursor
# carries on from there.
_PAGE_SIZE = 500
# What a broken, refused or stalled connection raises (socket.timeout is
# an OSError too; http.client's errors cover truncated or garbled answers).
# HTTPError is a URLError but is caught before these.
_NET_ERRORS = (urllib.error.URLError, OSError, http.client.HTTPException)
# The most the API sends of a log per request (its `max` limit).
_LOG_PAGE = 1 << 20
# Error bodies are one line; never read more than this of one.
_MAX_ERROR_BODY = 64 * 1024

Duration = Union[int, float, str]
JobRef = Union[str, "Job"]


def _duration(value: Duration) -> str:
    """A duration for the API: numbers are seconds ("1.5" -> "1500ms"),
    strings ("30s", "2h") are passed on as they are."""
    if isinstance(value, bool):
        raise TypeError("a duration is a number of seconds or a string like '30s'")
    if isinstance(value, (int, float)):
        ms = int(round(value * 1000))
        if ms <= 0:
            raise ValueError("a duration must be at least 1ms")
        return "%ds" % (ms // 1000) if ms % 1000 == 0 else "%dms" % ms
    return str(value)


def _signal_number(sig: Union[int, str]) -> int:
    """"USR1", "SIGUSR1", "usr1" or 10 -> 10."""
    if isinstance(sig, int) and not isinstance(sig, bool):
        return sig
    s = str(sig).strip().upper()
    if s.isdigit():
        return int(s)
    if not s.startswith("SIG"):
        s = "SIG" + s
    try:
        return int(getattr(_signal.Signals, s))
    except AttributeError:
        raise ValueError("unknown signal %r (a name like USR1 or a number)" % sig) from None


def _job_id(ref: JobRef) -> str:
    return ref.id if isinstance(ref, Job) else str(ref)


def _quote(job_id: str) -> str:
    # An id is one path segment whatever it holds.
    return urllib.parse.quote(job_id, safe="")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Never follow redirects: the token must not be sent anywhere else."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[override]
        return None


class Client:
    """A connection to an mlq scheduler's HTTP API.

    Args:
        url: the scheduler's HTTP address, e.g. ``http://127.0.0.1:8080``
            (``$MLQ_URL`` when not given; a trailing ``/api/v1`` is allowed).
        token: a token from ``mlq admin token create`` (``$MLQ_TOKEN`` when
            not given).
        timeout: seconds to wait for an answer to an ordinary request (long
            polls and followed logs add their own time on top).
        cafile: for an ``https://`` URL, the certificate (PEM) to trust, e.g.
            the scheduler's own ``--http-cert`` when it is self-signed
            (``$MLQ_CAFILE`` when not given; default: the system's CAs).
        ssl_context: an ``ssl.SSLContext`` to use instead (client
            certificates, pinning, ...).

    Example::

        c = Client("http://127.0.0.1:8080", token)
        job = c.submit(["python3", "train.py"], cpus=4, mem="8G", gpus=1)
        print(job.wait(timeout=3600)["state"])
    """

    def __init__(
        self,
        url: Optional[str] = None,
        token: Optional[str] = None,
        timeout: float = 30.0,
        cafile: Optional[str] = None,
        ssl_context: Optional[ssl.SSLContext] = None,
    ) -> None:
        url = url or os.environ.get("MLQ_URL")
        if not url:
            raise ValueError("no scheduler URL: pass url= or set MLQ_URL")
        token = token if token is not None else os.environ.get("MLQ_TOKEN")
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("bad scheduler URL %r: expected http(s)://HOST:PORT" % url)
        base = url.rstrip("/")
        if base.endswith("/api/v1"):
            base = base[: -len("/api/v1")]
        self.url = base
        self.token = token
        self.timeout = float(timeout)
        handlers: List[Any] = [_NoRedirect]
        cafile = cafile or os.environ.get("MLQ_CAFILE") or None
        if ssl_context is None and cafile:
            ssl_context = ssl.create_default_context(cafile=cafile)
        if ssl_context is not None:
            handlers.append(urllib.request.HTTPSHandler(context=ssl_context))
        self._opener = urllib.request.build_opener(*handlers)

    def __repr__(self) -> str:
        return "Client(%r)" % self.url

    # ------------------------------------------------------------ transport

    def _open(
        self,
        method: str,
        path: str,
        query: Optional[Mapping[str, Any]] = None,
        body: Any = None,
        timeout: Optional[float] = None,
        accept: Sequence[int] = (),
    ):
        """Sends one request; returns the open response. Statuses in
        ``accept`` are returned like successes, other errors are raised."""
        url = self.url + path
        if query:
            q = {k: v for k, v in query.items() if v is not None}
            if q:
                url += "?" + urllib.parse.urlencode(q, doseq=True)
        data = None
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        elif method == "POST":
            data = b""  # Content-Length: 0, not a body of unknown length
        req = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            return self._opener.open(req, timeout=timeout or self.timeout)
        except urllib.error.HTTPError as e:
            if e.code in accept:
                return e
            raise self._error(e) from None
        except _NET_ERRORS as e:
            raise self._unreachable(e) from None

    def _unreachable(self, e: BaseException) -> Unreachable:
        reason = getattr(e, "reason", None) or e
        return Unreachable(None, None, "cannot reach %s: %s" % (self.url, reason))

    def _read(self, resp: Any) -> bytes:
        """Reads a whole response body; a connection that breaks or stalls
        mid-body is ``Unreachable`` like one that never answered."""
        try:
            return resp.read()
        except _NET_ERRORS as e:
            raise self._unreachable(e) from None

    @staticmethod
    def _error(e: urllib.error.HTTPError) -> MlqError:
        code: Any = None
        message = e.reason if isinstance(e.reason, str) else "HTTP error"
        try:
            raw = e.read(_MAX_ERROR_BODY)
            doc = json.loads(raw.decode("utf-8", "replace"))
            err = doc.get("error") if isinstance(doc, dict) else None
            if isinstance(err, dict):
                code = err.get("code")
                if isinstance(err.get("message"), str):
                    message = err["message"]
        except (ValueError, OSError):
            pass
        finally:
            e.close()
        return error_for(e.code, code, message)

    def _json(
        self,
        method: str,
        path: str,
        query: Optional[Mapping[str, Any]] = None,
        body: Any = None,
        timeout: Optional[float] = None,
        accept: Sequence[int] = (),
    ) -> Any:
        """One request whose answer is JSON (``None`` for an empty body)."""
        with self._open(method, path, query, body, timeout, accept) as resp:
            raw = self._read(resp)
        if not raw.strip():
            return None
        try:
            return json.loads(raw.decode("utf-8"))
        except ValueError:
            raise MlqError(getattr(resp, "status", None), None, "the server sent bad JSON") from None

    # ------------------------------------------------------------ jobs

    def submit(
        self,
        argv: Sequence[str],
        *,
        name: Optional[str] = None,
        cpus: Optional[float] = None,
        mem: Union[int, str, None] = None,
        gpus: Union[int, str, None] = None,
        gpu_type: Optional[str] = None,
        array: Optional[str] = None,
        max_running: Optional[int] = None,
        after: Optional[Iterable[JobRef]] = None,
        after_any: Optional[Iterable[JobRef]] = None,
        after_failed: Optional[Iterable[JobRef]] = None,
        idempotency_key: Optional[str] = None,
        env: Union[Mapping[str, str], Sequence[str], None] = None,
        export: Union[str, Sequence[str], None] = None,
        workdir: Optional[str] = None,
        retries: Optional[int] = None,
        retry_backoff: Optional[Duration] = None,
        time_limit: Optional[Duration] = None,
        kill_grace: Optional[Duration] = None,
        signal: Optional[str] = None,
        warn_signal: Union[int, str, None] = None,
        warn_before: Optional[Duration] = None,
        preempt_grace: Optional[Duration] = None,
        min_runtime: Optional[Duration] = None,
        no_preempt: Optional[bool] = None,
        priority: Optional[int] = None,
        pool: Optional[str] = None,
        labels: Union[Mapping[str, str], Sequence[str], None] = None,
        **extra: Any
    ) -> "Job":
        """Submits a job (or, with ``array=``, a job array); the same options
        as ``mlq submit``.

        Args:
            argv: the command and its arguments, e.g. ``["python3", "x.py"]``.
            name: a name for the job.
            cpus: CPUs, may be fractional (server default 1).
            mem: memory, bytes (int) or a size like ``"4G"`` (default 1G).
            gpus: GPUs, a count or ``"TYPE:N"`` (e.g. ``"h100:2"``).
            gpu_type: the GPU type (``"h100"``; the same as ``"h100:N"``).
            array: an index spec (``"0-999"``, ``"0-99:10"``, ``"1,5,7"``):
                returns an ``Array``.
            max_running: at most this many tasks of the array at once.
            after: jobs/arrays (ids or ``Job`` objects) that must succeed first.
            after_any: jobs that must have ended, however.
            after_failed: run only if one of these did not succeed.
            idempotency_key: submitting again with the same key (within 7
                days) returns the first job and creates nothing.
            env: environment variables for the job (a dict or ``KEY=VALUE``s);
                they win over exported ones.
            export: which variables of this process's environment
                (``os.environ``) the job gets, like the CLI's ``--export``:
                ``"ALL"``, ``"NONE"`` or a list of names. The default is
                ``None``, the same as ``"NONE"``: unlike ``mlq submit``
                (whose default is ALL), a program sends only what it says,
                since its own environment (a web server's, a pipeline
                runner's) is rarely the job's. Variables mlq sets on the
                worker (``MLQ_*``, ``HOME``, ``CUDA_VISIBLE_DEVICES``...) and
                names that are not variable names are left out.
            workdir: the job's working directory, an absolute path on the
                worker (the API's default is ``/``: unlike the CLI, the
                client's own directory means nothing to the scheduler).
            retries: run again up to N times after a failure.
            retry_backoff, time_limit, kill_grace: seconds or ``"30s"``-like.
            signal: ``"SIG@DUR"`` (the CLI's ``--signal``, e.g. ``"USR1@5m"``):
                SIG is sent DUR before the time limit; ``"SIG"`` alone: the
                signal of a preemption or a cancel only (no time limit
                needed); or give ``warn_signal`` (name or number) and
                ``warn_before``.
            preempt_grace: when preempted, the time between the signal and
                SIGKILL (``--preempt-grace``; seconds or ``"30s"``).
            min_runtime: not preempted before it ran this long
                (``--min-runtime``).
            no_preempt: ``True``: not preempted while its team stays within
                its nominal quota (``--no-preempt``).
            priority: -1000..1000, higher runs first.
            pool: run only on workers of this pool.
            labels: run only on workers with these labels (the CLI's
                ``--require``; a dict or ``KEY=VALUE``s).
            extra: further fields passed on in the request body as they are,
                e.g. ``image="ghcr.io/team/train:1.2"`` (the CLI's ``--image``).

        Returns:
            A ``Job`` (an ``Array`` for an array submit) whose ``info`` holds
            the API's answer.

        Raises:
            InvalidRequest: a bad option (the CLI's one-line message).
        """
        body = _submit_body(
            argv, name=name, cpus=cpus, mem=mem, gpus=gpus, gpu_type=gpu_type, array=array,
            max_running=max_running, after=after, after_any=after_any,
            after_failed=after_failed, idempotency_key=idempotency_key, env=env,
            export=export, workdir=workdir, retries=retries, retry_backoff=retry_backoff,
            time_limit=time_limit, kill_grace=kill_grace, signal=signal,
            warn_signal=warn_signal, warn_before=warn_before, preempt_grace=preempt_grace,
            min_runtime=min_runtime, no_preempt=no_preempt, priority=priority, pool=pool,
            labels=labels, **extra)
        info = self._json("POST", "/api/v1/jobs", body=body)
        return self._submitted(info)

    def submit_many(self, specs: Sequence[Mapping[str, Any]]) -> List["Job"]:
        """Submits many different jobs in one request, all or none
        (POST /api/v1/jobs:batch): at most 100,000 jobs; when one is
        refused, none is stored and the error names it ("job N: ...",
        counting from 1).

        Args:
            specs: one dict per job with ``submit()``'s arguments, e.g.
                ``{"argv": ["true"], "name": "a", "after": [job]}``; not
                ``array`` (submit arrays with ``submit(array=...)``).

        Returns:
            One ``Job`` per spec, in the same order.
        """
        bodies = []
        for spec in specs:
            spec = dict(spec)
            if spec.get("array") is not None:
                raise ValueError("submit_many takes no arrays; use submit(array=...)")
            argv = spec.pop("argv")
            bodies.append(_submit_body(argv, **spec))
        answer = self._json("POST", "/api/v1/jobs:batch", body=bodies)
        ids = answer.get("ids") if isinstance(answer, dict) else None
        if not isinstance(ids, list) or len(ids) != len(bodies):
            raise MlqError(None, None, "the server's answer to a bulk submit does not match it")
        return [self._submitted({"id": i, "is_array": False}) for i in ids]

    def _submitted(self, info: Any) -> "Job":
        if not isinstance(info, dict) or not isinstance(info.get("id"), str):
            raise MlqError(None, None, "the server's answer to a submit has no id")
        if info.get("is_array"):
            return Array(self, info["id"], info)
        return Job(self, info["id"], info)

    def job(self, job_id: str) -> "Job":
        """The job (or array) ``job_id`` names: any unique prefix, or
        ``ARRAY/N`` for one task. Fetches its status once (raises
        ``NotFound`` when there is no such job)."""
        array_ref, slash, index = job_id.partition("/")
        if slash:
            arr = self.job(array_ref)
            if not isinstance(arr, Array):
                raise NotFound(404, -4, "%s is not an array" % array_ref)
            task = arr.task(int(index))
            task.status()
            return task
        st = self._json("GET", "/api/v1/jobs/" + _quote(job_id))
        if isinstance(st, dict) and "size" in st and "counts" in st:
            return Array(self, st.get("id", job_id), st)
        return Job(self, st.get("id", job_id) if isinstance(st, dict) else job_id, st)

    def jobs(
        self,
        state: Optional[str] = None,
        user: Optional[str] = None,
        name: Optional[str] = None,
        pool: Optional[str] = None,
        limit: Optional[int] = None,
        page_size: int = _PAGE_SIZE,
    ) -> Iterator[Dict[str, Any]]:
        """Iterates over the jobs the API lists (dicts as in ``mlq list
        --json``), following the cursor from page to page.

        Args:
            state, user, name, pool: the API's filters.
            limit: stop after this many jobs (``None``: all of them).
            page_size: jobs asked for per request.
        """
        if limit is not None and limit <= 0:
            return
        cursor: Optional[str] = None
        seen = 0
        while True:
            want = page_size if limit is None else min(page_size, limit - seen)
            page = self._json("GET", "/api/v1/jobs", query={
                "state": state, "user": user, "name": name, "pool": pool,
                "limit": want, "cursor": cursor})
            if not isinstance(page, dict):
                raise MlqError(None, None, "the server's job list is not an object")
            for j in page.get("jobs") or []:
                yield j
                seen += 1
                if limit is not None and seen >= limit:
                    return
            nxt = page.get("next")
            if not nxt or nxt == cursor:
                return
            cursor = nxt

    def cancel(self, job: JobRef) -> Any:
        """Cancels a job or a whole array; returns the API's answer."""
        return self._json("POST", "/api/v1/jobs/%s/cancel" % _quote(_job_id(job)))

    # ------------------------------------------------------------ cluster

    def workers(self) -> List[Dict[str, Any]]:
        """The workers (dicts as in ``mlq workers --json``)."""
        return _unwrap(self._json("GET", "/api/v1/workers"), "workers")

    def drain(self, worker: str, reason: Optional[str] = None) -> Any:
        """Drains a worker (admin): it takes no new jobs."""
        body = {"reason": reason} if reason else None
        return self._json("POST", "/api/v1/workers/%s/drain" % _quote(worker), body=body)

    def resume(self, worker: str) -> Any:
        """Resumes a drained worker (admin)."""
        return self._json("POST", "/api/v1/workers/%s/resume" % _quote(worker))

    def schedules(self) -> List[Dict[str, Any]]:
        """The cron schedules (as in ``mlq schedule list --json``)."""
        return _unwrap(self._json("GET", "/api/v1/schedules"), "schedules")

    def events(
        self, job: Optional[JobRef] = None, since_ms: Optional[int] = None,
        limit: Optional[int] = None
    ) -> List[Dict[str, Any]]:
        """The event log, oldest first (as in ``mlq events --json``).

        Args:
            job: only this job's events.
            since_ms: only events after this time (ms since the epoch).
            limit: at most this many (the API's default is 100).
        """
        return _unwrap(self._json("GET", "/api/v1/events", query={
            "job": None if job is None else _job_id(job), "since_ms": since_ms,
            "limit": limit}), "events")

    def usage(self) -> List[Dict[str, Any]]:
        """Fair-share usage, one dict per user (user, usage, running,
        pending, cpus, gpus)."""
        return _unwrap(self._json("GET", "/api/v1/usage"), "users")


def _unwrap(doc: Any, key: str) -> List[Dict[str, Any]]:
    """``{"workers": [...]}`` -> the list."""
    if isinstance(doc, dict) and isinstance(doc.get(key), list):
        return doc[key]
    raise MlqError(None, None, "the server's answer has no %r list" % key)


def _kv_list(value: Union[Mapping[str, str], Sequence[str], None], what: str) -> Optional[List[str]]:
    """``{"K": "V"}`` or ``["K=V"]`` -> ``["K=V"]`` (the CLI's form)."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return ["%s=%s" % (k, v) for k, v in value.items()]
    if isinstance(value, (str, bytes)):
        raise TypeError("%s is a dict or a list of KEY=VALUE strings" % what)
    return [str(v) for v in value]


def _kv_dict(value: Union[Mapping[str, str], Sequence[str], None], what: str) -> Optional[Dict[str, str]]:
    """``["K=V"]`` or ``{"K": "V"}`` -> ``{"K": "V"}`` (the API's form)."""
    if value is None:
        return None
    out: Dict[str, str] = {}
    for kv in _kv_list(value, what) or []:
        k, eq, v = kv.partition("=")
        if not eq or not k:
            raise ValueError("bad %s entry %r (expected KEY=VALUE)" % (what, kv))
        out[k] = v
    return out


# What the worker sets or drops itself (common/envname.c): never exported.
_ENV_DROPPED = frozenset((
    "CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES", "HOME", "USER", "LOGNAME", "SHELL",
    "NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "INVOCATION_ID",
    "JOURNAL_STREAM"))
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _env_exportable(name: str) -> bool:
    return bool(_ENV_NAME.match(name)) and not name.startswith("MLQ_") and name not in _ENV_DROPPED


def _exported_env(export: Union[str, Sequence[str], None]) -> Dict[str, str]:
    """``export=`` (``"ALL"``, ``"NONE"``, names) -> the variables sent."""
    keyword = export.upper() if isinstance(export, str) else None
    if export is None or keyword == "NONE":
        return {}
    if keyword == "ALL":
        names: Iterable[str] = os.environ.keys()
    elif isinstance(export, str):
        raise ValueError("bad export %r (expected \"ALL\", \"NONE\" or a list of names)" % export)
    else:
        names = list(export)
        for n in names:
            if not isinstance(n, str) or not _ENV_NAME.match(n):
                raise ValueError("bad export name %r (letters, digits and _, not starting "
                                 "with a digit)" % (n,))
    return {n: os.environ[n] for n in names if n in os.environ and _env_exportable(n)}


def _submit_body(
    argv: Sequence[str],
    *,
    gpus: Union[int, str, None] = None,
    gpu_type: Optional[str] = None,
    after: Optional[Iterable[JobRef]] = None,
    after_any: Optional[Iterable[JobRef]] = None,
    after_failed: Optional[Iterable[JobRef]] = None,
    env: Union[Mapping[str, str], Sequence[str], None] = None,
    export: Union[str, Sequence[str], None] = None,
    retry_backoff: Optional[Duration] = None,
    time_limit: Optional[Duration] = None,
    kill_grace: Optional[Duration] = None,
    signal: Optional[str] = None,
    warn_signal: Union[int, str, None] = None,
    warn_before: Optional[Duration] = None,
    preempt_grace: Optional[Duration] = None,
    min_runtime: Optional[Duration] = None,
    no_preempt: Optional[bool] = None,
    labels: Union[Mapping[str, str], Sequence[str], None] = None,
    require: Union[Mapping[str, str], Sequence[str], None] = None,
    **plain: Any
) -> Dict[str, Any]:
    """The JSON body of one submission (the API's JobSubmit) from
    ``submit()``'s arguments; ``plain`` ones go in as they are."""
    if isinstance(argv, (str, bytes)) or not argv:
        raise TypeError("argv is a non-empty list of words, e.g. ['sh', '-c', 'echo hi']")
    body: Dict[str, Any] = {"argv": [str(a) for a in argv]}
    body.update({k: v for k, v in plain.items() if v is not None})
    if isinstance(gpus, str):
        # "h100:2" as on the command line; "2" alone is a count.
        t, colon, n = gpus.rpartition(":")
        if colon:
            gpu_type = gpu_type or t
        gpus = int(n)
    if gpus is not None:
        body["gpus"] = gpus
    if gpu_type:
        body["gpu_type"] = gpu_type
    for key, refs in (("after", after), ("after_any", after_any), ("after_failed", after_failed)):
        if refs is not None:
            if isinstance(refs, (str, Job)):
                refs = [refs]
            body[key] = [_job_id(r) for r in refs]
    sent = _exported_env(export)
    sent.update(_kv_dict(env, "env") or {})
    if env is not None or sent:
        body["env"] = sent
    for key, dur in (("retry_backoff", retry_backoff), ("time_limit", time_limit),
                     ("kill_grace", kill_grace), ("warn_before", warn_before),
                     ("preempt_grace", preempt_grace), ("min_runtime", min_runtime)):
        if dur is not None:
            body[key] = _duration(dur)
    if signal is not None:
        # "SIG@DUR": SIG that long before the time limit; "SIG" alone: the
        # signal of preemption and cancel only (no time limit needed).
        sig, at, before = str(signal).partition("@")
        if not sig or (at and not before):
            raise ValueError("bad signal %r (expected SIG or SIG@DUR, e.g. USR1 or USR1@5m)"
                             % signal)
        warn_signal = sig
        if at:
            body["warn_before"] = before
    if warn_signal is not None:
        body["warn_signal"] = _signal_number(warn_signal)
    if no_preempt is not None:
        if not isinstance(no_preempt, bool):
            raise ValueError("no_preempt must be True or False, not %r" % (no_preempt,))
        body["no_preempt"] = no_preempt
    req = _kv_list(labels if labels is not None else require, "labels")
    if req is not None:
        body["require"] = req
    return body


class Job:
    """A handle on one job (or one task of an array).

    Attributes:
        id: the job's full id.
        info: the last JSON object the API sent about it (the submit answer,
            then each ``status()``).
    """

    def __init__(self, client: Client, job_id: str, info: Optional[Dict[str, Any]] = None) -> None:
        self.client = client
        self.id = job_id
        self.info: Dict[str, Any] = info or {}

    def __repr__(self) -> str:
        return "%s(%r)" % (type(self).__name__, self.id)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Job) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    @property
    def _path(self) -> str:
        return "/api/v1/jobs/" + _quote(self.id)

    def status(self) -> Dict[str, Any]:
        """The job as ``mlq status ID --json`` shows it (with its attempts)."""
        self.info = self.client._json("GET", self._path)
        return self.info

    @staticmethod
    def ended(status: Mapping[str, Any]) -> bool:
        """True when a status (of a job or an array) says it is over."""
        if "done" in status and "counts" in status:
            return bool(status["done"])
        return status.get("state") in TERMINAL_STATES

    def wait(self, timeout: Optional[float] = None, poll: float = _WAIT_POLL_S) -> Dict[str, Any]:
        """Waits until the job ends (long-polling the API's /wait) and
        returns its final status.

        Args:
            timeout: seconds to wait at most (``None``: as long as it takes).
            poll: the longest single long poll, in seconds.

        Raises:
            WaitTimeout: (a ``TimeoutError``) the job had not ended in time;
                its ``job`` attribute holds the last status.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        last: Optional[Dict[str, Any]] = None
        poll = min(poll, _WAIT_MAX_S)
        polled = False
        while True:
            step = poll
            if deadline is not None:
                left = deadline - time.monotonic()
                # At least one look, so that wait(0) says whether it ended.
                if left <= 0 and polled:
                    raise WaitTimeout("job %s did not end within %gs" % (self.id, timeout), last)
                step = min(step, left)
            step = max(step, 0.001)
            with self.client._open("GET", self._path + "/wait",
                                   query={"timeout": _duration(step)},
                                   timeout=self.client.timeout + step,
                                   accept=(408,)) as resp:
                status = getattr(resp, "status", None) or resp.getcode()
                raw = self.client._read(resp)
            polled = True
            try:
                doc = json.loads(raw.decode("utf-8")) if raw.strip() else None
            except ValueError:
                raise MlqError(status, None, "the server sent bad JSON") from None
            if isinstance(doc, dict):
                # A 408 may wrap the job; take the job either way.
                job = doc.get("job") if isinstance(doc.get("job"), dict) else doc
                if "error" not in job:
                    last = job
                    self.info = job
            if status != 408 and last is not None and self.ended(last):
                return last
            if status != 408 and last is None:
                raise MlqError(status, None, "the server's answer to wait has no job")
            if status != 408:
                time.sleep(0.2)  # answered early without an end: never spin

    def logs(
        self,
        stream: str = "stdout",
        follow: bool = False,
        offset: Optional[int] = None,
        max_bytes: Optional[int] = None,
        encoding: str = "utf-8",
    ) -> Union[str, Iterator[str]]:
        """The job's output.

        Args:
            stream: ``"stdout"`` or ``"stderr"``.
            follow: when true, return an iterator of chunks (str) that yields
                the output as the job writes it and ends when the job does.
            offset: start at this byte of the log.
            max_bytes: at most this many bytes (without ``follow``); without
                it, the whole log, fetched a page (1 MiB) at a time.
            encoding: how to decode the bytes (invalid ones are replaced).

        Returns:
            The text (``follow=False``), or an iterator of text chunks.
        """
        if stream not in ("stdout", "stderr"):
            raise ValueError("stream is 'stdout' or 'stderr'")
        query: Dict[str, Any] = {"stream": stream, "offset": offset, "max": max_bytes}
        if not follow:
            if max_bytes is not None:
                return self._log_range(query)[0].decode(encoding, "replace")
            # The API sends at most a page per request: read on from where
            # it says the next read starts until a short page.
            query["max"] = _LOG_PAGE
            parts = []
            while True:
                data, nxt = self._log_range(query)
                parts.append(data)
                if len(data) < _LOG_PAGE or nxt is None:
                    break
                query["offset"] = nxt
            return b"".join(parts).decode(encoding, "replace")
        query["max"] = None
        query["follow"] = 1
        # Opened here, not on the first next(): a bad job or token raises
        # at the call. The connection stays open while the job runs, with a
        # generous read timeout per chunk (the server sends as it gets).
        resp = self.client._open("GET", self._path + "/logs", query=query,
                                 timeout=max(self.client.timeout, 300.0))
        return self._follow(resp, encoding)

    def _log_range(self, query: Dict[str, Any]) -> "tuple[bytes, Optional[int]]":
        """One range of the log and the offset the next read starts at."""
        with self.client._open("GET", self._path + "/logs", query=query) as resp:
            data = self.client._read(resp)
            nxt = resp.headers.get("X-Mlq-Next-Offset")
        try:
            return data, int(nxt) if nxt is not None else None
        except ValueError:
            return data, None

    def _follow(self, resp: Any, encoding: str) -> Iterator[str]:
        dec = codecs.getincrementaldecoder(encoding)("replace")
        read = getattr(resp, "read1", None) or resp.read
        try:
            while True:
                try:
                    chunk = read(65536)
                except _NET_ERRORS as e:
                    raise self.client._unreachable(e) from None
                if not chunk:
                    break
                text = dec.decode(chunk)
                if text:
                    yield text
            tail = dec.decode(b"", final=True)
            if tail:
                yield tail
        finally:
            resp.close()

    def cancel(self) -> Any:
        """Cancels the job (every task, for an array)."""
        return self.client.cancel(self.id)

    def why(self) -> Dict[str, Any]:
        """Why the job waits (``mlq why ID --json``)."""
        return self.client._json("GET", self._path + "/why")

    def manifest(self, attempt: Optional[int] = None) -> Dict[str, Any]:
        """What an attempt ran, its run manifest (``mlq manifest ID --json``):
        the latest attempt, or attempt number ``attempt``."""
        query = {"attempt": attempt} if attempt is not None else None
        return self.client._json("GET", self._path + "/manifest", query=query)


class Array(Job):
    """A job array: ``status()`` gives its size and its tasks' counts per
    state; ``wait()`` returns once every task ended; ``task(i)`` is one task.
    """

    def __init__(self, client: Client, job_id: str, info: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(client, job_id, info)
        self._tasks: Optional[Dict[int, Job]] = None

    def task(self, index: int) -> Job:
        """Task ``index`` of the array (the CLI's ``ARRAY/index``).

        Raises:
            NotFound: the array has no such index.
        """
        index = int(index)
        if self._tasks is None or index not in self._tasks:
            self._tasks = self._find_tasks()
        try:
            return self._tasks[index]
        except KeyError:
            raise NotFound(404, -4, "array %s has no task %d" % (self.id, index)) from None

    def tasks(self) -> List[Job]:
        """Every task of the array as a ``Job``, by index."""
        self._tasks = self._find_tasks()
        return [self._tasks[i] for i in sorted(self._tasks)]

    def _find_tasks(self) -> Dict[int, Job]:
        # The API names a task by its own id: find the ids in the job list,
        # narrowed to the array's name (tasks carry it), and stop once all
        # `size` tasks are found.
        st = self.info if "size" in self.info else self.status()
        size = st.get("size")
        found: Dict[int, Job] = {}
        for j in self.client.jobs(name=st.get("name") or None):
            if j.get("array_id") == self.id and isinstance(j.get("array_index"), int):
                found[j["array_index"]] = Job(self.client, j["id"], j)
                if size is not None and len(found) >= size:
                    break
        return found

    def succeeded(self) -> bool:
        """True once every task succeeded (fetches the status)."""
        return bool(self.status().get("succeeded"))
