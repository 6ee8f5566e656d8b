#!/usr/bin/env python3
"""Drives the mlq dashboard in headless Chromium (Debian's chromium,
chromium-driver and python3-selenium), against a real scheduler.

    dashboard_browser.py check --url URL --token TOKEN --shots DIR
        logs in through the page (a wrong token first: refused), submits a
        job through the API, watches its row go from PENDING/ASSIGNED/RUNNING
        to SUCCEEDED on the queue page, opens the job and reads its log,
        checks that markup in a job name is shown as text, visits workers,
        usage and schedules; a screenshot of each page goes to DIR.

    dashboard_browser.py login --url URL --token TOKEN --shots DIR
        logs in through the page and waits for the queue and workers pages
        to show data (the URL and token `mlq up` prints).

    dashboard_browser.py loadtime --url URL --token TOKEN [--runs 3]
        times the queue's first render: from navigation start to the jobs
        table filled (its data-loaded attribute set by the page), in a fresh
        browser each run; prints one JSON object with each run and the median.

Exit status 0 on success; on failure it prints why (and saves a screenshot
of the page it failed on when --shots is given).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait


def browser(user_data_dir):
    opts = webdriver.ChromeOptions()
    for b in ("/usr/bin/chromium", "/usr/lib/chromium/chromium"):
        if os.path.exists(b):
            opts.binary_location = b
            break
    opts.add_argument("--headless=new")
    # Chromium refuses to start as root with its sandbox on (CI runs as
    # root); the page it loads is ours, on loopback, so dropping the sandbox
    # there is acceptable. Not done for other users.
    if os.geteuid() == 0:
        opts.add_argument("--no-sandbox")
    # /dev/shm is small in containers; Chromium crashes tabs when it fills.
    opts.add_argument("--disable-dev-shm-usage")
    opts.add_argument("--disable-gpu")
    opts.add_argument("--no-first-run")
    opts.add_argument("--disable-extensions")
    opts.add_argument("--disable-background-networking")
    opts.add_argument("--disable-sync")
    opts.add_argument("--disable-default-apps")
    opts.add_argument("--user-data-dir=" + user_data_dir)
    opts.add_argument("--window-size=1440,900")  # a laptop screen
    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    return webdriver.Chrome(service=Service(driver_path), options=opts)


def api(url, token, path, body=None, method=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + "/api/v1" + path, data=data, method=method)
    req.add_header("Authorization", "Bearer " + token)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


class Check:
    def __init__(self, args, d):
        self.a = args
        self.d = d
        self.n = 0

    def shot(self, name):
        if not self.a.shots:
            return
        self.n += 1
        path = os.path.join(self.a.shots, "%02d-%s.png" % (self.n, name))
        self.d.save_screenshot(path)
        print("screenshot", path, file=sys.stderr)

    def wait(self, what, cond, timeout=20):
        try:
            # The page re-renders its tables on every refresh: an element
            # found a moment ago may be gone; look again on the next poll.
            return WebDriverWait(self.d, timeout, poll_frequency=0.2,
                                 ignored_exceptions=(StaleElementReferenceException, NoSuchElementException)
                                 ).until(lambda d: cond())
        except TimeoutException:
            raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))

    def texts(self, sel):
        """textContent of every element matching sel, read in one script
        (no element handle outlives a re-render)."""
        return self.js("return Array.from(document.querySelectorAll(arguments[0]), e => e.textContent)", sel)

    def click(self, sel):
        """A real click on sel, found again if a refresh replaced it."""
        for _ in range(10):
            try:
                self.d.find_element(By.CSS_SELECTOR, sel).click()
                return
            except StaleElementReferenceException:
                time.sleep(0.1)
        raise AssertionError("could not click " + sel)

    def attrs(self, sel, name):
        return self.js("return Array.from(document.querySelectorAll(arguments[0]), e => e.getAttribute(arguments[1]))",
                       sel, name)

    def js(self, script, *args):
        return self.d.execute_script(script, *args)

    def visible(self, sel):
        els = self.d.find_elements(By.CSS_SELECTOR, sel)
        return els[0] if els and els[0].is_displayed() else None

    def login(self, token):
        tok = self.d.find_element(By.ID, "token")
        tok.clear()
        tok.send_keys(token)
        self.d.find_element(By.ID, "login-button").click()

    def run(self):
        d, a = self.d, self.a
        d.get(a.url + "/")
        self.wait("the login form", lambda: self.visible("#login"))
        # Nothing of the token in storage yet; the nav is hidden.
        assert not self.visible("#nav"), "nav shown before login"

        # A wrong token is refused by the page, which stays on the form.
        self.login("not-a-token")
        self.wait("the refusal", lambda: "refused" in d.find_element(By.ID, "login-error").text)
        self.shot("login-refused")

        self.login(a.token)
        self.wait("the queue after login", lambda: self.visible("#jobs"))
        assert self.js("return sessionStorage.getItem('mlq-token')") == a.token
        self.wait("the queue filled", lambda: d.find_element(By.ID, "jobs").get_attribute("data-loaded"))

        # A job submitted through the API; its name carries markup that must
        # show as text.
        evil = '<img src=x id=pwned onerror="window.pwned=1">'
        marker = "hello-from-the-dashboard-test"
        sub = api(a.url, a.token, "/jobs", {
            "argv": ["sh", "-c", "sleep 2; echo %s; echo to-stderr >&2; sleep 1; echo done" % marker],
            "name": evil, "cpus": 0.5, "mem": "64M"})
        jid = sub["id"]
        print("submitted", jid, file=sys.stderr)

        row = '#jobs tr[data-id="%s"]' % jid
        seen = set()

        def row_state():
            els = d.find_elements(By.CSS_SELECTOR, row)
            if not els:
                return None
            st = els[0].get_attribute("data-state")
            seen.add(st)
            return st

        self.wait("the job on the queue page", lambda: row_state() in ("PENDING", "ASSIGNED", "RUNNING"), 15)
        self.shot("queue-active")
        self.wait("the job SUCCEEDED on the queue page (seen %s)" % seen, lambda: row_state() == "SUCCEEDED", 30)
        self.shot("queue-succeeded")
        assert seen & {"PENDING", "ASSIGNED", "RUNNING"}, "never saw the job active: %s" % seen
        names = self.texts(row + " td.name")
        assert names == [evil], "name not shown as text: %r" % names
        assert not d.find_elements(By.ID, "pwned") and not self.js("return window.pwned"), "markup in a name ran"

        # Counts by state are live.
        self.wait("the counts bar", lambda: d.find_elements(By.CSS_SELECTOR, "#counts [data-count]") or
                  "not available" in d.find_element(By.ID, "counts").text)

        # Filters: by state, through the form; the job stays in the list.
        d.find_element(By.CSS_SELECTOR, '#filters select[name="state"] option[value="SUCCEEDED"]').click()
        d.find_element(By.CSS_SELECTOR, '#filters button[type="submit"]').click()
        self.wait("the SUCCEEDED filter in the URL", lambda: "state=SUCCEEDED" in d.current_url)
        self.wait("the filtered queue", lambda: d.find_elements(By.CSS_SELECTOR, row))
        states = self.attrs("#jobs tbody tr[data-state]", "data-state")
        assert states and all(x == "SUCCEEDED" for x in states), "filter let others through: %s" % states

        # The job page: spec, attempts, the log.
        self.click(row + " a[data-id]")
        self.wait("the job page", lambda: "#/job/" in d.current_url and self.visible("#log"))
        self.wait("the job page's state", lambda: d.find_element(By.CSS_SELECTOR, "#view h1").get_attribute("data-state") == "SUCCEEDED")
        self.wait("the log's text", lambda: marker in d.find_element(By.ID, "log").text, 15)
        assert "done" in d.find_element(By.ID, "log").text
        assert evil in d.find_element(By.ID, "spec").text, "spec lacks the name as text"
        assert "SUCCEEDED" in d.find_element(By.ID, "attempts").text, "attempts table lacks the attempt"
        assert not d.find_elements(By.ID, "cancel"), "cancel offered for an ended job"
        self.shot("job-log")
        # stderr is a choice of the same pane.
        d.find_element(By.CSS_SELECTOR, '#log-stream option[value="stderr"]').click()
        self.wait("stderr in the log pane", lambda: "to-stderr" in d.find_element(By.ID, "log").text, 10)

        # A log followed live: the first line shows while the job still runs.
        live = api(a.url, a.token, "/jobs", {"argv": ["sh", "-c", "echo first-line; sleep 4; echo second-line"],
                                             "name": "live", "cpus": 0.5, "mem": "64M"})["id"]
        d.get(a.url + "/#/job/" + live)
        self.wait("the first line while it runs", lambda: "first-line" in d.find_element(By.ID, "log").text, 15)
        st = d.find_element(By.CSS_SELECTOR, "#view h1").get_attribute("data-state")
        assert st in ("ASSIGNED", "RUNNING"), "first line seen only once the job was " + str(st)
        assert "second-line" not in d.find_element(By.ID, "log").text
        self.shot("job-log-live")
        self.wait("the second line", lambda: "second-line" in d.find_element(By.ID, "log").text, 15)
        self.wait("the end of the log", lambda: d.find_element(By.ID, "log").get_attribute("data-eof") == "1", 10)

        # A job that cannot start: why it waits, and the cancel button.
        stuck = api(a.url, a.token, "/jobs", {"argv": ["true"], "name": "too-big", "gpus": 64})["id"]
        d.get(a.url + "/#/job/" + stuck)
        self.wait("why it waits", lambda: d.find_element(By.ID, "why").text.strip(), 15)
        self.wait("the cancel button", lambda: self.visible("#cancel"))
        self.shot("job-pending-why")
        d.find_element(By.ID, "cancel").click()
        d.switch_to.alert.accept()
        self.wait("the job CANCELLED", lambda: d.find_element(By.CSS_SELECTOR, "#view h1").get_attribute("data-state") == "CANCELLED", 15)

        # An array's id shows the array: its tasks by state.
        arr = api(a.url, a.token, "/jobs", {"argv": ["true"], "name": "arr", "array": "0-2", "cpus": 0.1, "mem": "16M"})
        assert arr["is_array"], arr
        d.get(a.url + "/#/job/" + arr["id"])
        self.wait("the array's page", lambda: d.find_element(By.CSS_SELECTOR, "#view h1").text.startswith("Array"))
        self.wait("its three tasks", lambda: "Tasks\n3" in d.find_element(By.ID, "spec").text or
                  "Tasks 3" in d.find_element(By.ID, "spec").text)
        time.sleep(1.5)  # a log poll or two: an array has no log to ask for
        assert "error" not in (d.find_element(By.ID, "status").get_attribute("class") or ""), \
            "status shows an error: " + d.find_element(By.ID, "status").text
        assert not self.visible("#log"), "a log pane for an array"
        self.shot("array")

        # Workers, usage, schedules.
        d.find_element(By.CSS_SELECTOR, '#nav a[data-route="workers"]').click()
        self.wait("the worker row", lambda: d.find_elements(By.CSS_SELECTOR, '#workers tr[data-worker="%s"]' % a.worker))
        addr = self.texts('#workers tr[data-worker="%s"] td.addr' % a.worker)
        # the worker connects over loopback: that is the address it advertises
        assert addr == ["127.0.0.1"], "the worker's address cell: %s" % addr
        gpus = self.texts("#workers .gpu")
        assert len(gpus) == a.gpus, "expected %d GPU boxes, got %d" % (a.gpus, len(gpus))
        assert all("util not reported" in g for g in gpus), "a fake GPU shows a utilisation: %s" % gpus
        # Drained, with its reason, on the next refresh; then resumed.
        api(a.url, a.token, "/workers/%s/drain" % a.worker, {"reason": "<b>fan</b> check"}, "POST")
        wrow = '#workers tr[data-worker="%s"]' % a.worker
        self.wait("the drained flag", lambda: "draining: <b>fan</b> check" in " ".join(self.texts(wrow + " .flag.drain")), 10)
        self.shot("workers-drained")
        api(a.url, a.token, "/workers/%s/resume" % a.worker, {}, "POST")
        self.wait("the drained flag gone", lambda: not self.texts(wrow + " .flag.drain"), 10)
        d.find_element(By.CSS_SELECTOR, '#nav a[data-route="usage"]').click()
        self.wait("the usage chart", lambda: (d.find_element(By.ID, "usage-chart").get_attribute("data-samples") or "0") != "0")
        assert "sampled by this page" in d.find_element(By.ID, "usage-note").text
        self.shot("usage")
        d.find_element(By.CSS_SELECTOR, '#nav a[data-route="schedules"]').click()
        self.wait("the schedules table", lambda: d.find_elements(By.CSS_SELECTOR, "#schedules table"))
        if a.schedule:
            self.wait("the schedule's row", lambda: d.find_elements(By.CSS_SELECTOR, '#schedules tr[data-schedule="%s"]' % a.schedule))
        self.shot("schedules")

        # No errors from the page's own script in the console.
        try:
            logs = d.get_log("browser")
        except Exception:
            logs = []
        bad = [l for l in logs if l.get("level") == "SEVERE" and "app.js" in l.get("message", "")]
        assert not bad, "script errors: %s" % bad

        # Log out: the token leaves the tab.
        d.find_element(By.ID, "logout").click()
        self.wait("the login form again", lambda: self.visible("#login"))
        assert self.js("return sessionStorage.getItem('mlq-token')") is None

        if a.user_token:
            # Another user's token: the same permissions as the API. The
            # scheduler refuses to cancel someone else's job, and the page
            # says so and leaves it as it was.
            other = api(a.url, a.token, "/jobs", {"argv": ["true"], "name": "not-yours", "gpus": 64})["id"]
            self.login(a.user_token)
            self.wait("the user logged in", lambda: self.visible("#nav"))
            d.get(a.url + "/#/job/" + other)
            self.wait("the other user's job", lambda: d.find_element(By.CSS_SELECTOR, "#view h1").get_attribute("data-state") == "PENDING")
            self.wait("the cancel button", lambda: self.visible("#cancel"))
            d.find_element(By.ID, "cancel").click()
            d.switch_to.alert.accept()
            self.wait("the refusal", lambda: "cancel:" in d.find_element(By.ID, "status").text, 10)
            self.shot("cancel-refused")
            assert api(a.url, a.token, "/jobs/" + other)["state"] == "PENDING", "someone else's job was cancelled"
            if a.revoke_cmd:
                # The token revoked while the page is open: its next refresh
                # is refused and the page goes back to the login form.
                subprocess.run(a.revoke_cmd, shell=True, check=True, stdout=subprocess.DEVNULL)
                self.wait("the login form after the revocation", lambda: self.visible("#login"), 10)
                assert "refused" in d.find_element(By.ID, "login-error").text
                assert self.js("return sessionStorage.getItem('mlq-token')") is None
                self.shot("revoked")
            else:
                d.find_element(By.ID, "logout").click()
                self.wait("the login form after the user", lambda: self.visible("#login"))


def cmd_check(args):
    os.makedirs(args.shots, exist_ok=True) if args.shots else None
    prof = os.path.join(args.tmp, "chromium-profile")
    d = browser(prof)
    d.set_page_load_timeout(20)
    c = Check(args, d)
    try:
        c.run()
    except Exception as e:
        print("FAIL: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        try:
            c.shot("failure")
        except Exception:
            pass
        return 1
    finally:
        d.quit()
    print("dashboard check passed", file=sys.stderr)
    return 0


def cmd_login(args):
    d = browser(os.path.join(args.tmp, "chromium-profile-login"))
    d.set_page_load_timeout(20)
    c = Check(args, d)
    try:
        d.get(args.url)
        c.wait("the login form", lambda: c.visible("#login"))
        c.login(args.token)
        c.wait("the queue filled", lambda: d.find_elements(By.CSS_SELECTOR, "#jobs[data-loaded]"))
        d.find_element(By.CSS_SELECTOR, '#nav a[data-route="workers"]').click()
        c.wait("a worker UP", lambda: d.find_elements(By.CSS_SELECTOR, "#workers tr[data-worker] .st-up"))
        c.shot("up-workers")
    except Exception as e:
        print("FAIL: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        try:
            c.shot("up-failure")
        except Exception:
            pass
        return 1
    finally:
        d.quit()
    print("login check passed", file=sys.stderr)
    return 0


def cmd_loadtime(args):
    runs = []
    nexts = []
    for i in range(args.runs):
        prof = os.path.join(args.tmp, "chromium-profile-%d" % i)
        d = browser(prof)
        try:
            # Log in once (the token in sessionStorage of this tab), then a
            # fresh navigation to the queue is what is timed.
            d.get(args.url + "/")
            d.execute_script("sessionStorage.setItem('mlq-token', arguments[0])", args.token)
            d.get(args.url + "/?t=%d#/queue" % i)
            WebDriverWait(d, 60, poll_frequency=0.02).until(
                lambda d: d.execute_script("var t = document.getElementById('jobs');"
                                           "return t && t.getAttribute('data-loaded') && "
                                           "t.querySelectorAll('tbody tr[data-id]').length > 0"))
            ms = d.execute_script(
                "return Number(document.getElementById('jobs').getAttribute('data-first')) - "
                "performance.timeOrigin")
            rows = d.execute_script("return document.querySelectorAll('#jobs tbody tr[data-id]').length")
            runs.append(round(ms, 1))
            # The next page through the API's cursor ("Older"): click to rows.
            first = d.execute_script("return document.querySelector('#jobs tbody tr[data-id]').dataset.id")
            t = time.perf_counter()
            d.find_element(By.ID, "next").click()
            WebDriverWait(d, 60, poll_frequency=0.01).until(
                lambda d: d.execute_script("var r = document.querySelector('#jobs tbody tr[data-id]');"
                                           "return r && r.dataset.id !== arguments[0]", first))
            nexts.append(round((time.perf_counter() - t) * 1000, 1))
            if args.shots:
                os.makedirs(args.shots, exist_ok=True)
                d.save_screenshot(os.path.join(args.shots, "loadtime-%d.png" % i))
            print("run %d: %.1f ms to the table filled (%d rows)" % (i + 1, ms, rows), file=sys.stderr)
        finally:
            d.quit()
    print(json.dumps({"runs_ms": runs, "median_ms": statistics.median(runs),
                      "next_page_ms": nexts, "next_page_median_ms": statistics.median(nexts)}))
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["check", "login", "loadtime"])
    p.add_argument("--url", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--user-token", default="", help="a non-admin token of another user (check)")
    p.add_argument("--revoke-cmd", default="", help="shell command that revokes --user-token (check)")
    p.add_argument("--shots", default="")
    p.add_argument("--tmp", default=os.environ.get("TMPDIR", "/tmp"))
    p.add_argument("--worker", default="w1")
    p.add_argument("--gpus", type=int, default=0, help="GPUs the worker offers (check)")
    p.add_argument("--schedule", default="")
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()
    return {"check": cmd_check, "login": cmd_login, "loadtime": cmd_loadtime}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
