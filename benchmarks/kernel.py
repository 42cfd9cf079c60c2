"""What the courseware costs a learner's kernel: import time and memory.

* ``import_courseware``: wall time of ``import courseware`` in a fresh interpreter (median of
  several runs). The package is lazy, so this is what every kernel pays.
* ``import_courseware_widgets``: the same for ``courseware.widgets`` (content models, YAML,
  Markdown, the widgets): what a module notebook pays on its first line.
* ``kernel_rss_added_by_*``: what each layer would add (pydantic counts its first model), measured
  one after another in one interpreter, to show where the memory goes. pydantic and ruamel.yaml
  load only to validate content that is not compiled yet; a module kernel rebuilds checked
  content from its compiled form without them (the last line says which libraries it loaded).
* ``kernel_rss_ratio``: resident memory of a kernel that has run a module notebook (every code
  cell, in the module's folder, with a throw-away store), divided by that of a bare kernel that
  only imported ipywidgets, both measured in this run (medians). Goal: at most 1.15. The content
  is compiled first, as ``courseware check`` and ``courseware serve`` leave it.

* ``kernel_rss_ratio_after_coding``: the same for the widget gallery after the learner has also
  written, submitted and self-coded a reply in its compose exercise and had it coded by the reply
  coder. The coder runs in this benchmark's process (as in ``courseware serve``), never in the
  kernel, which only sends the reply over HTTP; the line says whether the reply was coded.

Linux only (reads ``/proc/self/statm`` inside the kernel).

    .venv/bin/python benchmarks/kernel.py [--runs N] [--module PATH ...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.manager import start_new_kernel

REPO = Path(__file__).resolve().parent.parent
LAST_OUTPUT: list[str] = []
"""What each cell printed, most recent last."""
GALLERY = REPO / "docs" / "widget-gallery"
DEFAULT_MODULES = [
    REPO / "modules" / "foundation-year" / "what-is-clinical-empathy",
    REPO / "docs" / "widget-gallery",
]
MEASURE = (
    "import gc, os\ngc.collect()\n"
    "print(int(open('/proc/self/statm').read().split()[1]) * os.sysconf('SC_PAGE_SIZE'))"
)
BREAKDOWN = r"""
import gc, os
def rss():
    gc.collect()
    return int(open('/proc/self/statm').read().split()[1]) * os.sysconf('SC_PAGE_SIZE')
import ipykernel.ipkernel, ipywidgets
steps = [
    ("sqlite3", "import sqlite3"),
    ("pydantic", "import pydantic\nclass _M(pydantic.BaseModel):\n    x: int\n_M(x=1)"),
    ("ruamel_yaml", "import ruamel.yaml"),
    ("markdown_it", "import markdown_it; markdown_it.MarkdownIt('commonmark').render('*x*')"),
    ("courseware", "import courseware.widgets\nfrom courseware.content import load_module\n"
     "load_module(MODULE)"),
]
for name, code in steps:
    before = rss()
    exec(code)
    print(name, rss() - before)
"""
USE_CODER = r"""
import courseware as cw
_module = cw.open_module()
_coded = []
for _id, _spec in _module.content.exercises.items():
    if _spec.kind != "compose-response":
        continue
    _view = _module.exercise(_id)
    _view.autosave_delay = 0
    _view.text.value = "That sounds exhausting. Don't worry, what does a normal week look like?"
    _view.submit()
    next(iter(_view.code_boxes.values())).value = True
    _view.code()
    _coded.append(_view.attempt.coding is not None)
print("coded" if _coded and all(_coded) else "NOT CODED")
"""
HEAVY = (
    "pandas",
    "numpy",
    "sqlalchemy",
    "scipy",
    "matplotlib",
    "nbgrader",
    "pydantic",
    "ruamel.yaml",
)


def import_ms(module: str, runs: int) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    times = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
        )
        times.append(float(out.stdout.strip()) * 1000)
    return statistics.median(times)


def breakdown(module: Path) -> list[tuple[str, int]]:
    """RSS each layer adds to a Python process that already has ipykernel and ipywidgets."""
    code = f"MODULE = {str(module)!r}\n" + BREAKDOWN
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    return [(name, int(size)) for name, size in (line.split() for line in out.stdout.splitlines())]


def run(kc: Any, code: str) -> str:
    """Execute ``code`` in the kernel; return what it printed, raise if it failed."""
    printed: list[str] = []

    def keep(msg: dict[str, Any]) -> None:
        if msg["msg_type"] == "stream":
            printed.append(msg["content"]["text"])

    reply = kc.execute_interactive(code, timeout=180, output_hook=keep)
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"kernel error: {reply['content'].get('ename')}: {code[:80]!r}")
    return "".join(printed)


def kernel_rss(cells: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, list[str]]:
    """RSS in bytes after running ``cells``, and which heavy libraries the kernel imported."""
    km, kc = start_new_kernel(
        kernel_name="python3", cwd=str(cwd), env=env, stderr=subprocess.DEVNULL
    )
    try:
        for code in cells:
            LAST_OUTPUT.append(run(kc, code))
        rss = int(run(kc, MEASURE).strip())
        loaded = run(kc, f"import sys; print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
        return rss, [m for m in loaded.strip().split(",") if m]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def notebook_cells(module: Path) -> list[str]:
    nb = nbformat.read(module / "module.ipynb", as_version=4)  # type: ignore[no-untyped-call]
    return [c.source for c in nb.cells if c.cell_type == "code"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="kernels per measurement")
    parser.add_argument("--module", type=Path, action="append", help="module folder(s)")
    args = parser.parse_args()
    modules = [m.resolve() for m in args.module] if args.module else DEFAULT_MODULES
    from courseware.content import load_module

    for module in modules:
        load_module(module)  # validate and compile, as `courseware check` does

    print(f"import_courseware: {import_ms('courseware', 7):.1f} ms (goal <= 50 ms)")
    print(
        f"import_courseware_widgets: {import_ms('courseware.widgets', 7):.0f} ms "
        "(goal <= 1000 ms; paid once per module kernel)"
    )
    for name, size in breakdown(modules[0]):
        print(f"kernel_rss_added_by_{name}: {size / 2**20:.1f} MB")
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "COURSEWARE_STORE": str(Path(folder) / "responses.sqlite")}
        bare = statistics.median(
            kernel_rss(["import ipywidgets"], REPO, env)[0] for _ in range(args.runs)
        )
        print(f"kernel_rss_bare_ipywidgets: {bare / 2**20:.1f} MB")
        for index, module in enumerate(modules):
            results = [kernel_rss(notebook_cells(module), module, env) for _ in range(args.runs)]
            rss = statistics.median(r[0] for r in results)
            heavy = sorted({m for r in results for m in r[1]})
            name = "" if index == 0 else "_" + module.name.replace("-", "_")
            print(f"kernel_rss_module{name}: {rss / 2**20:.1f} MB ({module.relative_to(REPO)})")
            print(
                f"kernel_rss_ratio{name}: {rss / bare:.3f} (goal <= 1.15; heavy imports in the"
                f" kernel: {', '.join(heavy) or 'none'})"
            )
        coding_rss(GALLERY, env, bare, args.runs)


def coding_rss(module: Path, env: dict[str, str], bare: float, runs: int) -> None:
    """The gallery kernel after a reply was coded by a coder hosted in this process."""
    import asyncio
    import secrets
    import threading

    from tornado import web

    from courseware.feedback._web import CoderHost, TokenCodeHandler

    host, token, port = CoderHost(), secrets.token_urlsafe(16), _free_port()
    ready = threading.Event()
    stop: list[Any] = []

    async def serve() -> None:
        app = web.Application(
            [(r"/api/feedback/code", TokenCodeHandler, {"host": host, "token": token})]
        )
        server = app.listen(port, "127.0.0.1")
        event = asyncio.Event()
        stop.append((asyncio.get_running_loop(), event))
        ready.set()
        await event.wait()
        server.stop()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    ready.wait(10)
    coder_env = {
        **env,
        "COURSEWARE_CODER_URL": f"http://127.0.0.1:{port}/api/feedback/code",
        "COURSEWARE_CODER_TOKEN": token,
    }
    try:
        results, coded = [], []
        for _ in range(runs):
            with tempfile.TemporaryDirectory() as folder:  # a fresh learner each time
                fresh = {**coder_env, "COURSEWARE_STORE": str(Path(folder) / "r.sqlite")}
                rss, heavy = kernel_rss([*notebook_cells(module), USE_CODER], module, fresh)
                results.append((rss, heavy))
                coded.append(LAST_OUTPUT[-1].strip() == "coded")
        rss = statistics.median(r[0] for r in results)
        heavy = sorted({m for r in results for m in r[1]})
        print(
            f"kernel_rss_ratio_after_coding: {rss / bare:.3f} (goal <= 1.15; "
            f"{module.relative_to(REPO)}, replies coded: {sum(coded)} of {len(coded)}; heavy "
            f"imports in the kernel: {', '.join(heavy) or 'none'})"
        )
    finally:
        loop, event = stop[0]
        loop.call_soon_threadsafe(event.set)
        thread.join(10)
        host.close()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


if __name__ == "__main__":
    main()
