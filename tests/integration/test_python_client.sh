#!/usr/bin/env bash
# The Python client (cli/python) against a real scheduler and worker over
# HTTP:
#   - installs with pip into a fresh venv, offline (--no-index,
#     --no-build-isolation: Debian's python3-venv, python3-setuptools and
#     python3-wheel do the build), and is imported from there;
#   - docs/examples/batch_score.py, run as a user would: an array of scoring
#     tasks and a summary job after it, waits, logs, results checked
#     (it exits non-zero on any mismatch);
#   - errors carry the API's status, code and the CLI's one-line message:
#     a bad token (401), an unknown job (404), a bad submit (400), a role
#     that may not drain (403);
#   - wait() with a timeout raises a TimeoutError with the job's status;
#     cancel(); logs(follow=True) yields output while the job still runs;
#     jobs() follows the cursor across pages without losing or repeating;
#   - over TLS (--http-cert/--http-key) with the certificate given as
#     cafile=, and an unknown certificate refused;
#   - the Airflow example at least compiles.
IT_DEADLINE=240
. "$(dirname "$0")/lib.sh" "$@"

# Debian's interpreter (what CI has, with python3-venv); another python3
# only when there is none.
PY=${MLQ_PYTHON:-/usr/bin/python3}
[ -x "$PY" ] || PY=$(command -v python3)
"$PY" -c 'import venv, ensurepip, setuptools, wheel' 2>"$T/logs/py-probe.log" ||
    fail "$PY lacks venv/ensurepip/setuptools/wheel (deploy/install-deps.sh installs python3-venv, python3-setuptools, python3-wheel): $(cat "$T/logs/py-probe.log")"

HTTP_PORT=$(free_port)
URL=http://127.0.0.1:$HTTP_PORT
start_scheduler "$T/state" --http "127.0.0.1:$HTTP_PORT"
wait_until "port_open $HTTP_PORT" 15 || fail "the HTTP API does not listen on $HTTP_PORT"
start_worker w1 "$T/spool-w1" --cpus 4 --mem 4G

# token VAR NAME [OPTIONS]: a fresh token (the CLI prints it once) into VAR.
token() {
    local var=$1
    shift
    ok "$MLQ" --scheduler "$SCHED_ADDR" admin token create "$@"
    [[ "$OUT" =~ ^mlq_[0-9a-f]+$ ]] || fail "token create $* printed [$OUT]"
    printf -v "$var" '%s' "$OUT"
}
# Jobs run as the token's user: the one running the test (an account that
# exists); the second token is a plain user's.
token TOKEN py-admin --admin --user "$IT_ME"
token USER_TOKEN py-user

# --- install, offline, into a venv --------------------------------------------------
# A copy of the package, so the build writes nothing into the source tree.
cp -r "$MLQ_SRC_DIR/cli/python" "$T/pkg"
rm -rf "$T/pkg/build" "$T/pkg"/*.egg-info
"$PY" -m venv --system-site-packages "$T/venv" >"$T/logs/venv.log" 2>&1 ||
    fail "python3 -m venv: $(cat "$T/logs/venv.log")"
VPY=$T/venv/bin/python
# No pip configuration from the machine (a local index or wheel folder):
# what is installed here is what CI's plain Debian has.
env -u PIP_FIND_LINKS -u PIP_INDEX_URL -u PIP_EXTRA_INDEX_URL PIP_CONFIG_FILE=/dev/null \
    "$VPY" -m pip install --no-index --no-build-isolation --no-cache-dir "$T/pkg" \
    >"$T/logs/pip.log" 2>&1 || fail "pip install of the client: $(tail -20 "$T/logs/pip.log")"
where=$(cd "$T" && "$VPY" -c 'import mlq_client; print(mlq_client.__file__)')
assert_contains "$where" "$T/venv/" "mlq_client imported from the venv"
log "client installed: $where"

export MLQ_URL=$URL MLQ_TOKEN=$TOKEN

# --- the example, as CI runs it -------------------------------------------------------
ok "$VPY" "$MLQ_SRC_DIR/docs/examples/batch_score.py" --dir "$T/score" --shards 4 \
    --rows 300 --python "$PY" --timeout 120
log "batch_score.py: $(tail -1 <<<"$OUT")"
assert_contains "$OUT" "OK: 1200 rows scored" "the example's result"
[ -s "$T/score/summary.json" ] || fail "the summary job wrote no summary.json"
# The same work seen by the CLI: the array's tasks all succeeded.
arr=$(sed -n 's/^submitted array \([^ ]*\) .*/\1/p' <<<"$OUT")
[ -n "$arr" ] || fail "the example printed no array id: $OUT"
assert_eq true "$(mlq status "$arr" --json | json "d['succeeded']")" "the example's array, per the CLI"

# --- errors, waits, streaming, paging -------------------------------------------------
# The CLI's one-line message for the same bad array spec, to compare (the
# API names its JSON keys where the CLI names options, e.g. for --mem).
run mlq submit --array 9-1 -- true
[ "$RC" != 0 ] || fail "mlq submit --array 9-1 succeeded"
CLI_BAD_ARRAY=$ERR
SH=$(command -v sh)
export CLI_BAD_ARRAY USER_TOKEN SH
cat >"$T/checks.py" <<'EOF'
import os, sys, time
from mlq_client import (Client, InvalidRequest, MlqError, NotFound, PermissionDenied,
                        Unauthorized, WaitTimeout)

c = Client()
fails = []
def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        fails.append(what)

# Errors: class, HTTP status, mlq code, message.
try:
    Client(token="not-a-token").workers()
    check(False, "a bad token is refused")
except Unauthorized as e:
    check(e.status == 401 and isinstance(e.message, str) and e.message, "bad token: 401 %r" % e.message)
try:
    c.job("ffffffff").status()
    check(False, "an unknown job is refused")
except NotFound as e:
    check(e.status == 404 and e.code == -4, "unknown job: 404, code %r, %r" % (e.code, e.message))
try:
    c.submit(["true"], mem="lots")
    check(False, "a bad memory size is refused")
except InvalidRequest as e:
    check(e.status == 400 and e.code == -1 and e.message, "bad mem: 400, code %r, %r" % (e.code, e.message))
try:
    c.submit(["true"], array="9-1")
    check(False, "a reversed array range is refused")
except InvalidRequest as e:
    cli = os.environ["CLI_BAD_ARRAY"]
    check(e.status == 400 and e.code == -1 and e.message and e.message in cli,
          "bad array: 400, code %r, %r is in the CLI's message (%r)" % (e.code, e.message, cli))
try:
    Client(token=os.environ["USER_TOKEN"]).drain("w1")
    check(False, "a user may not drain")
except PermissionDenied as e:
    check(e.status == 403, "drain as a user: 403 %r" % e.message)

check(any(w["name"] == "w1" and w["state"] == "UP" for w in c.workers()), "workers() lists w1 UP")

# wait() runs out of time on a long job: a TimeoutError with its status.
sh = os.environ["SH"]
long = c.submit([sh, "-c", "sleep 60"], name="long", cpus=0.1, mem="16M")
t0 = time.monotonic()
try:
    long.wait(timeout=1.5)
    check(False, "wait(1.5) on a 60 s job times out")
except TimeoutError as e:
    took = time.monotonic() - t0
    check(isinstance(e, WaitTimeout) and 1.0 <= took < 10
          and e.job and e.job["state"] in ("PENDING", "ASSIGNED", "RUNNING"),
          "wait timed out after %.1fs, job %s" % (took, e.job and e.job["state"]))
long.cancel()
st = long.wait(timeout=30)
check(st["state"] == "CANCELLED", "cancelled job ends CANCELLED (%s)" % st["state"])

# logs(follow=True): the first line arrives while the job still runs.
talk = c.submit([sh, "-c", "echo first; sleep 2; echo second; echo err >&2"],
                name="talk", cpus=0.1, mem="16M")
chunks, t_first = [], None
for chunk in talk.logs(follow=True):
    if t_first is None:
        t_first = time.monotonic()
        first_state = talk.status()["state"]
    chunks.append(chunk)
t_end = time.monotonic()
text = "".join(chunks)
check(text == "first\nsecond\n", "followed stdout %r" % text)
check(t_first is not None and t_end - t_first >= 1.0 and first_state == "RUNNING",
      "first chunk %.1fs before the end, job then %s" % (t_end - (t_first or t_end), first_state))
check(talk.wait(timeout=30)["state"] == "SUCCEEDED", "talk succeeded")
check(talk.logs(stream="stderr") == "err\n", "stderr %r" % talk.logs(stream="stderr"))
check(talk.logs(offset=6) == "second\n", "logs from an offset")
check(talk.why()["job_id"] == talk.id, "why() names the job")

# jobs(): pages of 2 give the same jobs as one big page, none twice.
for i in range(5):
    c.submit(["true"], name="page-%d" % i, cpus=0.1, mem="16M")
small = [j["id"] for j in c.jobs(page_size=2)]
big = [j["id"] for j in c.jobs(page_size=1000)]
check(len(small) == len(set(small)) and sorted(small) == sorted(big) and len(big) >= 10,
      "paged listing: %d jobs in pages of 2, %d in one page" % (len(small), len(big)))
check(len(list(c.jobs(limit=3, page_size=2))) == 3, "jobs(limit=3)")
named = [j["name"] for j in c.jobs(name="page-3")]
check(named == ["page-3"], "jobs(name=) filter: %r" % named)

# The other listings come back as lists of the API's objects.
ev = c.events(job=talk, limit=50)
check(ev and all(e["job_id"] == talk.id for e in ev), "events(job=): %d events of talk" % len(ev))
check(isinstance(c.schedules(), list), "schedules() is a list")
use = c.usage()
check(isinstance(use, list) and all("user" in u for u in use), "usage(): %r" % use[:1])

# An idempotency key gives the first job back.
a = c.submit(["true"], idempotency_key="py-idem", cpus=0.1, mem="16M")
b = c.submit(["true"], idempotency_key="py-idem", cpus=0.1, mem="16M")
check(a.id == b.id, "same idempotency key, same job")

sys.exit(1 if fails else 0)
EOF
run "$VPY" "$T/checks.py"
printf '%s\n' "$OUT" >&2
[ "$RC" = 0 ] || fail "client checks failed (exit $RC): $ERR"

# --- the Airflow example compiles (Airflow itself is not installed) --------------------
ok "$PY" -c 'import sys; f = sys.argv[1]; compile(open(f).read(), f, "exec")' \
    "$MLQ_SRC_DIR/docs/examples/airflow_nightly_scoring.py"

# --- TLS: the scheduler's own certificate trusted with cafile= ---------------------------
# (as test_http_api.sh: the part needs openssl to make a certificate)
if command -v openssl >/dev/null; then
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/tls.key" -out "$T/tls.crt" -days 1 \
        -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >"$T/logs/openssl.log" 2>&1 ||
        fail "openssl could not make a certificate: $(cat "$T/logs/openssl.log")"
    stop_pid "$SCHED_PID"
    TLS_PORT=$(free_port)
    start_scheduler "$T/state" --http "127.0.0.1:$TLS_PORT" --http-cert "$T/tls.crt" \
        --http-key "$T/tls.key"
    wait_until "port_open $TLS_PORT" 15 || fail "the TLS port $TLS_PORT is not open"
    export MLQ_URL=https://127.0.0.1:$TLS_PORT TLS_CRT=$T/tls.crt
    ok "$VPY" - <<'PY'
import os
from mlq_client import Client, Unreachable

j = Client(cafile=os.environ["TLS_CRT"]).submit(["true"], name="over-tls", cpus=0.1, mem="16M")
st = j.wait(timeout=60)
assert st["state"] == "SUCCEEDED", st
try:
    Client().workers()  # the system's CAs do not know this certificate
    raise SystemExit("an unknown certificate was accepted")
except Unreachable as e:
    assert "CERTIFICATE_VERIFY_FAILED" in str(e) or "certificate" in str(e).lower(), e
print("tls ok")
PY
    assert_contains "$OUT" "tls ok" "the client over TLS"
else
    log "openssl missing: TLS part skipped"
fi
