"""Navigation to the first usable widget: plain ``voila MODULE.ipynb`` against ``courseware serve``.

Both servers run on loopback at the same time, serving the same module. Each measurement is a fresh
(cold: empty cache, no cookies) Chromium context that opens the module's page and waits until its
first vignette choice button is visible and enabled, that is, rendered by the widget manager and
connected to its kernel. Measurements alternate between the two servers so that load from anything
else on the machine falls on both alike. Before each one the servers are left to settle: plain Voila
until its last kernel is idle, courseware until its preheated pool is full again (the steady state
of a seminar room between arrivals).

    .venv/bin/python benchmarks/voila_start.py [--runs 7] [--module what-is-clinical-empathy]

Prints ``name: value unit (goal ...)`` lines; the ratio's goal is 0.5 or less.
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
from collections.abc import Callable
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


def settle_courseware(base: str, pool: int) -> None:
    """Wait until the preheated pool is full and its kernels have finished their imports."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and status(base)["pooled_kernels"] < pool:
        time.sleep(0.25)
    time.sleep(2.0)


SERVED = """() => {
  const all = [...performance.getEntriesByType('resource'), ...performance.getEntriesByType('navigation')];
  const served = all.filter(r => r.transferSize > 0);
  return [served.length, served.reduce((a, r) => a + r.transferSize, 0)];
}"""
"""Requests that reached the server (cache hits transfer nothing) and the bytes they carried."""

View = tuple[float, int, int]


def view(page: Page, url: str) -> View:
    """Seconds from navigation to a usable first widget, requests served, bytes transferred."""
    started = time.perf_counter()
    page.goto(url, wait_until="commit")
    page.wait_for_function(USABLE, timeout=120_000, polling="raf")
    elapsed = time.perf_counter() - started
    served, transferred = page.evaluate(SERVED)
    return elapsed, int(served), int(transferred)


def measure(browser: Browser, url: str, settle: Callable[[], None]) -> tuple[View, View]:
    """A cold view in a fresh context, then (after ``settle``) a second view in the same one."""
    context = browser.new_context()  # no request routing: it would switch off the HTTP cache
    cold = view(context.new_page(), url)
    settle()
    warm = view(context.new_page(), url)
    context.close()
    return cold, warm


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="cold contexts per server (>= 5)")
    parser.add_argument("--module", help="module id (default: the first under modules/)")
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
    ours = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "courseware.cli",
            "serve",
            str(REPO / "modules"),
            "--port",
            str(ours_port),
            "--preheat",
            module.id,
        ],
        env=env,
        cwd=REPO,
        stdout=(work / "courseware.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    plain_base = f"http://127.0.0.1:{plain_port}/"
    ours_base = f"http://127.0.0.1:{ours_port}/"
    results: dict[str, list[tuple[View, View]]] = {"plain": [], "courseware": []}
    try:
        wait_http(plain_base + "voila/static/voila.js")
        wait_http(ours_base + "courseware/api/status")
        pool = 2  # Serving.pool_size's default

        def settle_plain() -> None:
            time.sleep(2.0)

        def settle_ours() -> None:
            settle_courseware(ours_base, pool)

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
            for run in range(max(5, args.runs) + 1):  # the first pair warms the disk cache
                settle_plain()
                plain_result = measure(browser, plain_base, settle_plain)
                settle_ours()
                ours_result = measure(browser, ours_base + "voila/render/" + relative, settle_ours)
                if run:
                    results["plain"].append(plain_result)
                    results["courseware"].append(ours_result)
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

    def median(name: str, which: int, index: int) -> float:
        return statistics.median(r[which][index] for r in results[name])

    runs = len(results["plain"])
    plain_s, ours_s = median("plain", 0, 0), median("courseware", 0, 0)
    print(f"module: {module.id} ({runs} cold browser contexts per server)")
    print(f"voila_first_widget_plain: {plain_s:.2f} s (median; baseline: voila MODULE.ipynb)")
    print(f"voila_first_widget_courseware: {ours_s:.2f} s (median; courseware serve --preheat)")
    print(f"voila_first_widget_ratio: {ours_s / plain_s:.2f} (goal <= 0.5)")
    for name in ("plain", "courseware"):
        print(f"voila_server_requests_{name}: {median(name, 0, 1):.0f} requests (median, cold)")
        print(f"voila_transfer_{name}: {median(name, 0, 2) / 1e6:.2f} MB (median, cold)")
    warm_plain, warm_ours = median("plain", 1, 0), median("courseware", 1, 0)
    print(f"voila_first_widget_warm_plain: {warm_plain:.2f} s (median; second view, same browser)")
    print(f"voila_first_widget_warm_courseware: {warm_ours:.2f} s (median; second view)")
    print(f"voila_first_widget_warm_ratio: {warm_ours / warm_plain:.2f}")
    for name in ("plain", "courseware"):
        print(f"voila_server_requests_warm_{name}: {median(name, 1, 1):.0f} requests (median)")
    spread = {n: [round(r[0][0], 2) for r in results[n]] for n in results}
    print(f"voila_first_widget_samples: {json.dumps(spread)}")
    print(f"voila_kernels_after: {after['kernels']} kernels ({after['pooled_kernels']} pooled)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
