#!/usr/bin/env python3
"""Opens a report.html in headless Chromium with the network off and says whether it is whole.

    check_in_browser.py REPORT.html [--expect plot-roc,plot-pr] [--screenshot OUT.png]

It drives Chromium over the DevTools protocol on a pipe (--remote-debugging-pipe: JSON
messages ending in a NUL byte on file descriptors 3 and 4), so it needs nothing beyond
Python's standard library and Debian's chromium. It fails (exit 1) on any console error,
uncaught exception, log entry of level error, request for anything but the file itself
(or a data: URL) and failed load, and on any plot (window.reportPlots, see
src/report/assets/report.js) without data points or painted pixels, or an expected plot
missing. It prints the verdict as JSON. Exit 77 when no Chromium is installed.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import base64


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    def __init__(self, exe, profile):
        to_browser_r, self.to_browser = os.pipe()
        self.from_browser, from_browser_w = os.pipe()

        def wire():  # the child reads commands on fd 3 and writes replies on fd 4
            r, w = os.dup(to_browser_r), os.dup(from_browser_w)  # out of the way of 3 and 4 first
            os.dup2(r, 3)
            os.dup2(w, 4)

        args = [exe, "--headless=new", "--remote-debugging-pipe", "--no-first-run", "--no-default-browser-check",
                "--disable-gpu", "--disable-extensions", "--disable-background-networking", "--disable-sync",
                "--disable-component-update", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
                "--user-data-dir=" + profile, "about:blank"]
        if os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
        self.proc = subprocess.Popen(args, preexec_fn=wire, pass_fds=(3, 4),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.buf = b""
        self.next_id = 0
        self.events = []

    def _read_message(self, deadline):
        while b"\0" not in self.buf:
            if time.time() > deadline:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self.from_browser, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe (exit code %s)" % self.proc.poll())
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method, params=None, session=None, timeout=60):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.to_browser, json.dumps(msg).encode() + b"\0")
        deadline = time.time() + timeout
        while True:
            m = self._read_message(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            self.events.append(m)

    def wait_for(self, method, timeout=60):
        deadline = time.time() + timeout
        for i, m in enumerate(self.events):
            if m.get("method") == method:
                return m
        while True:
            m = self._read_message(deadline)
            self.events.append(m)
            if m.get("method") == method:
                return m

    def close(self):
        try:
            self.send("Browser.close", timeout=10)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def check(report, expect, screenshot, width, from_y=0, height=0):
    exe = find_chromium()
    if not exe:
        print(json.dumps({"skipped": "no chromium on PATH (scripts/install-deps.sh test installs Debian's)"}))
        return 77
    url = "file://" + os.path.abspath(report)
    with tempfile.TemporaryDirectory(prefix="automl-report-chromium-") as profile:
        b = Browser(exe, profile)
        try:
            target = b.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            s = b.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Runtime", "Log", "Network", "Page"):
                b.send(domain + ".enable", session=s)
            # The network is off: the report must need none of it.
            b.send("Network.emulateNetworkConditions", {"offline": True, "latency": 0, "downloadThroughput": -1,
                                                        "uploadThroughput": -1}, session=s)
            b.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": 900, "deviceScaleFactor": 1,
                                                          "mobile": False}, session=s)
            b.send("Page.navigate", {"url": url}, session=s)
            b.wait_for("Page.loadEventFired")
            ready = b.send("Runtime.evaluate", {"expression": "document.body.getAttribute('data-report-ready')",
                                                "returnByValue": True}, session=s)
            verdict = b.send("Runtime.evaluate", {
                "expression": "JSON.stringify(window.reportVerdict ? window.reportVerdict() : null)",
                "returnByValue": True}, session=s)["result"].get("value")
            if screenshot:
                size = b.send("Page.getLayoutMetrics", session=s)["cssContentSize"]
                shot = b.send("Page.captureScreenshot", {
                    "format": "png", "captureBeyondViewport": True,
                    "clip": {"x": 0, "y": from_y, "width": width,
                             "height": height or min(size["height"] - from_y, 16000), "scale": 1}},
                    session=s)
                with open(screenshot, "wb") as f:
                    f.write(base64.b64decode(shot["data"]))
            # Let late messages (a deferred error) arrive, then read every event so far.
            b.send("Runtime.evaluate", {"expression": "new Promise(r => setTimeout(r, 300))", "awaitPromise": True},
                   session=s)
        finally:
            b.close()
    problems = []
    for m in b.events:
        method, p = m.get("method"), m.get("params", {})
        if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            problems.append("console %s: %s" % (p["type"], " ".join(str(a.get("value", a.get("description", "")))
                                                                 for a in p.get("args", []))))
        elif method == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            problems.append("exception: %s" % (d.get("exception", {}).get("description") or d.get("text")))
        elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            problems.append("log error: %s" % p["entry"].get("text"))
        elif method == "Network.requestWillBeSent":
            u = p.get("request", {}).get("url", "")
            if u != url and not u.startswith("data:"):
                problems.append("request: %s" % u)
        elif method == "Network.loadingFailed":
            problems.append("failed load: %s" % p.get("errorText"))
    result = {"report": report, "ready": ready.get("result", {}).get("value") == "1"}
    if not result["ready"]:
        problems.append("the page's script did not finish (no data-report-ready)")
    v = json.loads(verdict) if verdict else None
    if v is None:
        problems.append("the page has no reportVerdict(): its script did not run")
        v = {"plots": [], "sections": []}
    result["plots"] = v["plots"]
    for p in v["plots"]:
        if p["points"] <= 0:
            problems.append("plot %s has no data points" % p["id"])
        if p["painted"] <= 0:
            problems.append("plot %s painted nothing" % p["id"])
    drawn = {p["id"] for p in v["plots"]}
    for e in expect:
        if e not in drawn:
            problems.append("plot %s is missing (drawn: %s)" % (e, ", ".join(sorted(drawn))))
    for sec in v["sections"]:
        if sec["text"] == 0:
            problems.append("section %s is empty" % sec["id"])
    result["problems"] = problems
    print(json.dumps(result, indent=1))
    return 1 if problems else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("report")
    ap.add_argument("--expect", default="", help="comma-separated ids of plots that must be drawn")
    ap.add_argument("--screenshot", help="also save a full-page PNG here")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--from-y", type=int, default=0, help="the screenshot starts this far down the page (CSS px)")
    ap.add_argument("--height", type=int, default=0, help="the screenshot's height (default: the whole page)")
    a = ap.parse_args()
    if not os.path.exists(a.report):
        print("no such file: " + a.report, file=sys.stderr)
        return 2
    return check(a.report, [e for e in a.expect.split(",") if e], a.screenshot, a.width, a.from_y, a.height)


if __name__ == "__main__":
    sys.exit(main())
