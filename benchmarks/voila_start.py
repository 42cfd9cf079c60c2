"""A class arriving: plain ``voila MODULE.ipynb`` against ``courseware serve`` as ``./run serve``
starts it (no flags: its warm kernels take any module, and a module once viewed keeps a preheated
kernel for its next learner).

Both servers run on loopback at the same time, serving the same module. A view is a fresh (cold:
empty cache, no cookies) Chromium context that opens the module's page and waits until its first
vignette choice button is visible and enabled, that is, rendered by the widget manager and
connected to its kernel. Two arrival patterns, each alternating between the servers so that load
from anything else on the machine falls on both alike:

* spaced: one learner at a time, arrivals 8 s apart;
* burst: five learners back to back (all five pages opened at once); the figure is the median of
  the five, and each burst starts after 8 s quiet.

Before measuring, both servers get view pairs until courseware has learned its module pages'
scripts and joined their chunks into one (about 20 s after its first module page), as on a server
up a minute. Pages are closed as a learner closes a tab (``beforeunload`` runs): courseware shuts the kernel
down, plain Voila keeps it (Voila issue 1458), which costs it memory but no processor time.

    .venv/bin/python benchmarks/voila_start.py [--runs 7] [--module what-is-clinical-empathy]

Prints ``name: value unit (goal ...)`` lines: the spaced ratio's goal is 0.5 or less, the burst's
1.0 or less.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, sync_playwright

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from courseware.content import find_modules, load_module  # noqa: E402

FIRST_WIDGET = ".cw-choice"
USABLE = (
    "() => { const b = document.querySelector('.cw-choice button, button.cw-choice');"
    " return !!b && !b.disabled && b.offsetParent !== null; }"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.25)
    raise RuntimeError(f"{url} did not answer")


def status(base: str) -> dict[str, Any]:
    with urllib.request.urlopen(base + "courseware/api/status", timeout=5) as response:
        data: dict[str, Any] = json.load(response)
        return data


SERVED = """() => {
  const all = [...performance.getEntriesByType('resource'), ...performance.getEntriesByType('navigation')];
  const served = all.filter(r => r.transferSize > 0);
  return [served.length, served.reduce((a, r) => a + r.transferSize, 0)];
}"""
"""Requests that reached the server (cache hits transfer nothing) and the bytes they carried."""

View = tuple[float, int, int]

PAGES: dict[str, list[int]] = {}
"""Per server (its URL up to the path): [page views, views that loaded themselves again]."""


def count_loads(page: Page, url: str) -> None:
    """Count the view, and once more if its page reloads itself (widgets that gave up)."""
    server = url.split("/voila/")[0].rstrip("/")
    counts = PAGES.setdefault(server, [0, 0])
    counts[0] += 1
    loads: list[str] = []

    def navigated(frame: Any) -> None:
        if frame == page.main_frame:
            loads.append(frame.url)
            if len(loads) == 2:
                counts[1] += 1

    page.on("framenavigated", navigated)


def view(page: Page, url: str) -> View:
    """Seconds from navigation to a usable first widget, requests served, bytes transferred."""
    count_loads(page, url)
    started = time.perf_counter()
    page.goto(url, wait_until="commit")
    page.wait_for_function(USABLE, timeout=120_000, polling="raf")
    elapsed = time.perf_counter() - started
    served, transferred = page.evaluate(SERVED)
    return elapsed, int(served), int(transferred)


def burst(browser: Browser, url: str, size: int) -> list[float]:
    """``size`` learners opening the page at once, each in a cold context: seconds for each."""
    contexts = [browser.new_context() for _ in range(size)]
    pages = [c.new_page() for c in contexts]
    started: list[float] = []
    for page in pages:
        count_loads(page, url)
        started.append(time.perf_counter())
        page.goto(url, wait_until="commit")
    times = []
    for page, began in zip(pages, started, strict=True):
        page.wait_for_function(USABLE, timeout=180_000, polling="raf")
        times.append(time.perf_counter() - began)
    for page, context in zip(pages, contexts, strict=True):
        close(page)
        context.close()
    return times


def close(page: Page) -> None:
    """Close the tab as a learner does: the page's beforeunload handler runs (shutdown beacon)."""
    page.close(run_before_unload=True)
    time.sleep(0.2)


def spaced(browser: Browser, url: str) -> View:
    context = browser.new_context()  # no request routing: it would switch off the HTTP cache
    page = context.new_page()
    result = view(page, url)
    close(page)
    context.close()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="views per server and pattern (>= 5)")
    parser.add_argument("--module", help="module id (default: the first under modules/)")
    parser.add_argument("--gap", type=float, default=8.0, help="seconds between arrivals")
    args = parser.parse_args()
    modules = [load_module(d) for d in find_modules(REPO / "modules")]
    module = next((m for m in modules if m.id == args.module), None) if args.module else modules[0]
    if module is None:
        parser.error(f"no module {args.module!r}")
    notebook = module.notebook.resolve()
    relative = notebook.relative_to((REPO / "modules").resolve()).as_posix()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        parser.error("Debian's chromium is needed (./run test installs it)")

    work = Path(tempfile.mkdtemp(prefix="voila-start-"))
    env = {**os.environ, "COURSEWARE_STORE": str(work / "responses.sqlite")}
    plain_port, ours_port = free_port(), free_port()
    bin_dir = Path(sys.executable).parent
    plain = subprocess.Popen(
        [
            str(bin_dir / "voila"),
            str(notebook),
            f"--port={plain_port}",
            "--Voila.ip=127.0.0.1",
            "--no-browser",
        ],
        env=env,
        stdout=(work / "plain.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    ours = subprocess.Popen(  # as ./run serve starts it
        [sys.executable, "-m", "courseware.cli", "serve", "--port", str(ours_port)],
        env=env,
        cwd=REPO,
        stdout=(work / "courseware.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    plain_url = f"http://127.0.0.1:{plain_port}/"
    ours_base = f"http://127.0.0.1:{ours_port}/"
    ours_url = ours_base + "voila/render/" + relative
    spaced_views: dict[str, list[View]] = {"plain": [], "courseware": []}
    bursts: dict[str, list[float]] = {"plain": [], "courseware": []}
    try:
        wait_http(plain_url + "voila/static/voila.js")
        wait_http(ours_base + "courseware/api/status")
        deadline = time.monotonic() + 120  # let the warm kernels start, as on a server up a while
        while time.monotonic() < deadline and status(ours_base).get("warm_kernels", 0) < 1:
            time.sleep(0.5)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=chromium,
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    # Plain Voila links Font Awesome from a CDN: no name resolves but loopback,
                    # so nothing leaves the machine and the failed link costs no waiting.
                    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                ],
            )
            # Warm-up, as on a server up a minute: the disk cache, and the views after which
            # courseware has learned the module pages' scripts and joined their chunks.
            warm_until = time.monotonic() + 120
            while True:
                spaced(browser, plain_url)
                time.sleep(args.gap)
                spaced(browser, ours_url)
                time.sleep(args.gap)
                if status(ours_base).get("scripts_joined") or time.monotonic() > warm_until:
                    break
            for _ in range(max(5, args.runs)):
                spaced_views["plain"].append(spaced(browser, plain_url))
                time.sleep(args.gap)
                spaced_views["courseware"].append(spaced(browser, ours_url))
                time.sleep(args.gap)
            for _ in range(max(5, args.runs) // 2):
                bursts["plain"].append(statistics.median(burst(browser, plain_url, 5)))
                time.sleep(args.gap)
                bursts["courseware"].append(statistics.median(burst(browser, ours_url, 5)))
                time.sleep(args.gap)
            browser.close()
        after = status(ours_base)
    finally:
        for process in (plain, ours):
            process.terminate()
        for process in (plain, ours):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(work, ignore_errors=True)

    def median(name: str, index: int) -> float:
        return statistics.median(r[index] for r in spaced_views[name])

    runs = len(spaced_views["plain"])
    plain_s, ours_s = median("plain", 0), median("courseware", 0)
    print(f"module: {module.id} ({runs} spaced views and {len(bursts['plain'])} bursts per server)")
    print(f"voila_first_widget_plain: {plain_s:.2f} s (median; baseline: voila MODULE.ipynb)")
    print(f"voila_first_widget_courseware: {ours_s:.2f} s (median; courseware serve, no flags)")
    print(
        f"voila_first_widget_ratio: {ours_s / plain_s:.2f} (goal <= 0.5; arrivals {args.gap:g} s apart)"
    )
    burst_plain, burst_ours = (
        statistics.median(bursts["plain"]),
        statistics.median(bursts["courseware"]),
    )
    print(f"voila_burst5_plain: {burst_plain:.2f} s (median of five arriving at once; baseline)")
    print(f"voila_burst5_courseware: {burst_ours:.2f} s (median of five arriving at once)")
    print(f"voila_burst5_ratio: {burst_ours / burst_plain:.2f} (goal <= 1.0)")
    for name in ("plain", "courseware"):
        print(f"voila_server_requests_{name}: {median(name, 1):.0f} requests (median, cold)")
        print(f"voila_transfer_{name}: {median(name, 2) / 1e6:.2f} MB (median, cold)")
    samples = {n: [round(r[0], 2) for r in spaced_views[n]] for n in spaced_views}
    print(f"voila_first_widget_samples: {json.dumps(samples)}")
    print(
        f"voila_burst5_samples: {json.dumps({n: [round(b, 2) for b in v] for n, v in bursts.items()})}"
    )
    print(
        f"voila_kernels_after: {after['kernels']} kernels ({after.get('warm_kernels', 0)} warm,"
        f" {after.get('pooled_kernels', 0)} preheated for {after.get('hot_modules', 0)} hot modules)"
    )
    print(f"voila_scripts_joined: {after.get('scripts_joined', 0)} scripts (in one, courseware)")
    for name, server in (("plain", plain_url), ("courseware", ours_base)):
        views, reloaded = PAGES.get(server.rstrip("/"), [0, 0])
        print(
            f"voila_pages_reloaded_{name}: {reloaded} of {views} page views"
            " (loaded themselves again after their widgets gave up; goal: few)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
