"""A seminar room under load, without a browser: 100 learners join, answer and leave at once.

Starts ``courseware seminar`` on loopback, opens a question as the presenter (through the
presenter's websocket, with the cookie the secret link sets), then runs the learners concurrently:
each loads the join page (which gives it its anonymous id), opens the learner websocket, waits for
the question, answers, waits for the server's acknowledgement, and leaves. Learners hold no kernel
(see docs/seminar.md), so afterwards the server should hold only its preheated pool.

    .venv/bin/python benchmarks/seminar_load.py [--learners 100]

Prints ``name: value unit (goal ...)`` lines.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request
from pathlib import Path
from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from courseware.apps import seminar_questions  # noqa: E402
from courseware.content import find_modules, load_module  # noqa: E402

TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cookie_from(headers: Any, name: str) -> str:
    for value in headers.get_list("Set-Cookie"):
        if value.startswith(name + "="):
            return value.split(";", 1)[0]
    raise RuntimeError(f"no {name} cookie")


async def next_message(ws: WebSocketClientConnection, kind: str) -> dict[str, Any]:
    while True:
        text = await asyncio.wait_for(ws.read_message(), TIMEOUT)
        if text is None:
            raise RuntimeError("socket closed")
        data: dict[str, Any] = json.loads(text)
        if data.get("type") == "error":
            raise RuntimeError(data.get("message"))
        if data.get("type") == kind:
            return data


async def learner(base: str, ws_base: str, question: str, option: int) -> float:
    """Join, answer, leave; seconds from the first request to the server's acknowledgement."""
    client = AsyncHTTPClient()
    started = time.perf_counter()
    page = await client.fetch(base + "join", request_timeout=TIMEOUT)
    cookie = cookie_from(page.headers, "cw_participant")
    ws = await websocket_connect(
        HTTPRequest(
            ws_base + "seminar/ws/learner", headers={"Cookie": cookie}, connect_timeout=TIMEOUT
        )
    )
    try:
        state = await next_message(ws, "state")
        if (state.get("question") or {}).get("id") != question:
            raise RuntimeError("the open question did not arrive")
        await ws.write_message(
            json.dumps({"type": "answer", "question": question, "choice": option})
        )
        await next_message(ws, "ack")
        return time.perf_counter() - started
    finally:
        ws.close()


async def run(base: str, presenter_url: str, question: str, options: int, count: int) -> Any:
    AsyncHTTPClient.configure(None, max_clients=count)
    client = AsyncHTTPClient()
    ws_base = base.replace("http://", "ws://", 1)
    entry = await client.fetch(presenter_url, follow_redirects=False, raise_error=False)
    presenter_cookie = cookie_from(entry.headers, "cw_presenter")
    presenter = await websocket_connect(
        HTTPRequest(ws_base + "seminar/ws/presenter", headers={"Cookie": presenter_cookie})
    )
    await next_message(presenter, "state")
    await presenter.write_message(json.dumps({"type": "open", "question": question}))
    started = time.perf_counter()
    outcomes = await asyncio.gather(
        *(learner(base, ws_base, question, i % options) for i in range(count)),
        return_exceptions=True,
    )
    wall = time.perf_counter() - started
    await asyncio.sleep(1.0)  # let the presenter's throttled update and the disconnects land
    final: dict[str, Any] = {}
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        state = await next_message(presenter, "state")
        final = state
        if state["connected"] == 0 and state["results"]["total"] >= count - sum(
            isinstance(o, BaseException) for o in outcomes
        ):
            break
    presenter.close()
    return outcomes, wall, final


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=100)
    parser.add_argument("--module", help="module id (default: the first under modules/)")
    args = parser.parse_args()
    modules = [load_module(d) for d in find_modules(REPO / "modules")]
    module = next((m for m in modules if m.id == args.module), None) if args.module else modules[0]
    if module is None:
        parser.error(f"no module {args.module!r}")
    question = next(q for q in seminar_questions(module) if q.kind == "choice")

    work = Path(tempfile.mkdtemp(prefix="seminar-load-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    log = work / "seminar.log"
    server = subprocess.Popen(
        [sys.executable, "-m", "courseware.cli", "seminar", module.id, "--port", str(port)],
        cwd=REPO,
        env={**os.environ, "COURSEWARE_STORE": str(work / "responses.sqlite")},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90
        presenter_url = None
        while time.monotonic() < deadline and presenter_url is None:
            found = re.search(r"Presenter view.*?(http://\S+)", log.read_text("utf-8"))
            if found:
                try:
                    urllib.request.urlopen(base + "courseware/api/status", timeout=2).close()
                    presenter_url = found.group(1)
                except OSError:
                    pass
            time.sleep(0.25)
        if presenter_url is None:
            raise RuntimeError(
                f"courseware seminar did not start: {log.read_text('utf-8')[-2000:]}"
            )
        outcomes, wall, final = asyncio.run(
            run(base, presenter_url, question.id, len(question.options), args.learners)
        )
        with urllib.request.urlopen(base + "courseware/api/status", timeout=5) as response:
            kernels = json.load(response)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(work, ignore_errors=True)

    times = sorted(o for o in outcomes if isinstance(o, float))
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    p95 = times[max(0, round(0.95 * len(times)) - 1)] if times else float("nan")
    print(f"module: {module.id}; question: {question.id} ({len(question.options)} options)")
    print(f"seminar_learners: {args.learners} learners (all at once)")
    p50 = statistics.median(times) if times else float("nan")
    print(f"seminar_join_to_answer_p50: {p50:.3f} s (median)")
    print(f"seminar_join_to_answer_p95: {p95:.3f} s (goal <= 3)")
    print(f"seminar_errors: {len(errors)} errors (goal 0)")
    for error in errors[:3]:
        where = traceback.extract_tb(error.__traceback__)[-1]
        print(
            f"seminar_error_example: {type(error).__name__}: {error} ({where.filename}:{where.lineno})"
        )
    print(f"seminar_answers_counted: {final['results']['total']} answers (goal {len(times)})")
    print(f"seminar_connected_after: {final['connected']} learners (goal 0)")
    print(f"seminar_wall_time: {wall:.2f} s (all learners joined, answered and left)")
    print(
        f"seminar_live_kernels_after: {kernels['kernels']} kernels "
        f"(goal: the preheated pool, {kernels['pooled_kernels']}; learner kernels "
        f"{kernels['learner_kernels']})"
    )
    return 0 if not errors else 1


if __name__ == "__main__":
    raise SystemExit(main())
