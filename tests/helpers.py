"""Helpers the test modules share (no test module imports another): waiting on a condition, driving
widgets in a plain kernel, running the ``courseware`` command line (and other programs) in a fresh
process, and small reference implementations."""

from __future__ import annotations

import asyncio
import math
import os
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest
from tornado import web

from courseware.content import ContentError, check_vignette
from courseware.feedback import CoderHost, TokenCodeHandler
from courseware.instruments import Instrument
from courseware.store import SQLiteStore
from courseware.widgets import ModuleView, open_module

from conftest import FIXTURES, REPO, free_port

T = TypeVar("T")
DEMO = FIXTURES / "modules" / "demo"


class ManualClock:
    """A timer for :class:`courseware.widgets._autosave.Autosave` (``call_later`` as on an event
    loop) whose time moves only when the test calls :meth:`advance`."""

    def __init__(self) -> None:
        self.now = 0.0
        self._due: list[_Due] = []

    def call_later(self, delay: float, callback: Callable[[], object], /) -> _Due:
        due = _Due(self.now + delay, callback)
        self._due.append(due)
        return due

    def advance(self, seconds: float) -> None:
        """Move time on by ``seconds``, running (in order) each callback that falls due."""
        self.now += seconds
        while ready := sorted(
            (d for d in self._due if d.at <= self.now and not d.cancelled), key=lambda d: d.at
        ):
            self._due.remove(ready[0])
            ready[0].callback()


class _Due:
    def __init__(self, at: float, callback: Callable[[], object]) -> None:
        self.at, self.callback, self.cancelled = at, callback, False

    def cancel(self) -> None:
        self.cancelled = True


def wait_until(
    check: Callable[[], T],
    what: str | Callable[[], str],
    *,
    seconds: float = 20,
    every: float = 0.2,
) -> T:
    """Poll ``check`` until it returns something true, and return that; fail after ``seconds``
    saying what never happened (``what``, or ``what()`` to describe the state it was left in).

    For waiting on another process (a server, a browser, a kernel), which only polling can see;
    code in this process is driven through an injected clock or an event instead.
    """
    deadline = time.monotonic() + seconds
    while not (found := check()):
        if time.monotonic() > deadline:
            said = what() if callable(what) else what
            raise AssertionError(f"timed out after {seconds:g} s waiting for {said}")
        time.sleep(every)
    return found


def view(store: SQLiteStore, learner: str = "ana") -> ModuleView:
    return open_module(DEMO, store=store, learner=learner)


def comm_message(widget: Any, data: dict[str, Any]) -> None:
    """Deliver a message as the kernel's comm layer does for a browser message.

    A live widget gets it through its comm; a closed one (its comm gone) through the handler the
    comm would have called, to prove the handler itself refuses it.
    """
    msg = {"content": {"data": data}, "buffers": []}
    if widget.comm is not None:
        msg["content"]["comm_id"] = widget.comm.comm_id
        widget.comm.handle_msg(msg)
    else:
        widget._handle_msg(msg)


def click(button: Any) -> None:
    comm_message(button, {"method": "custom", "content": {"event": "click"}})


def choice_button(vignette: Any, index: int) -> Any:
    """The button of the choice written ``index``-th in the file, wherever the learner's
    shuffled order put it on screen."""
    return vignette.choices.children[vignette.shown.index(index)]


VENV_BIN = Path(sys.executable).parent
"""The bin folder of the environment running the tests: ``nbgrader``, ``jupyter``, ``courseware``."""
COURSEWARE = (sys.executable, "-m", "courseware.cli")
"""How the tests start the ``courseware`` command: the installed script's code, in this environment."""
_SHOWN = 4000  # characters of each stream a failure shows (the end, where the error is)


def run_program(
    *command: str | Path,
    cwd: Path = REPO,
    env: Mapping[str, str] | None = None,
    expect_ok: bool = True,
    stdin: str | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` in a fresh process and return what it did, text captured.

    ``env`` is used as given; without it the process inherits this one's environment with
    :data:`VENV_BIN` first on ``PATH``, as in an activated environment (so a command that starts
    ``nbgrader`` or a kernel finds this environment's). With ``expect_ok`` a non-zero exit fails
    the test with the command, its exit code and the end of its stdout and stderr; without it the
    caller asserts on the result itself.
    """
    words = [str(word) for word in command]
    if env is None:
        env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(
        words, cwd=cwd, env=env, input=stdin, capture_output=True, text=True, timeout=timeout
    )
    if expect_ok and done.returncode != 0:
        raise AssertionError(
            f"{shlex.join(words)} (in {cwd}) exited {done.returncode}\n"
            f"--- stdout (end) ---\n{done.stdout[-_SHOWN:]}\n"
            f"--- stderr (end) ---\n{done.stderr[-_SHOWN:]}"
        )
    return done


def run_courseware(
    *args: str | Path,
    cwd: Path = REPO,
    env: Mapping[str, str] | None = None,
    expect_ok: bool = True,
    stdin: str | None = None,
    timeout: float = 300,
    via: Sequence[str] = COURSEWARE,
) -> subprocess.CompletedProcess[str]:
    """``courseware ARGS…`` in a fresh process, as :func:`run_program` runs a command.

    ``via`` is what starts the command line (default :data:`COURSEWARE`); a test that needs a
    different interpreter set-up passes its own, which must end ready for the CLI's arguments.
    """
    return run_program(
        *via, *args, cwd=cwd, env=env, expect_ok=expect_ok, stdin=stdin, timeout=timeout
    )


def run_check(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """``courseware check ARGS…`` from the repository's root; the caller checks its exit code."""
    return run_courseware("check", *args, expect_ok=False)


GOOD = """\
id: case
title: "A case"
start: a
nodes:
  a:
    text: "Start"
    choices:
      - label: "Go"
        to: b
        feedback: "Went"
  b:
    text: "End"
    end: true
"""


def problems_of(path: Path) -> list[str]:
    """Every problem the author's check finds in a vignette (a learner's load skips the lint)."""
    with pytest.raises(ContentError) as info:
        check_vignette(path)
    return [str(p) for p in info.value.problems]


def reference_score(instrument: Instrument, answers: dict[str, float | None]) -> dict[str, float]:
    """Score one form the slow, obvious way: key each answer, then impute per scale."""
    low, high = instrument.response.min, instrument.response.max
    keyed: dict[str, float | None] = {}
    for item in instrument.items:
        value = answers.get(item)
        if value is None:
            keyed[item] = None
        elif item in instrument.reverse:
            keyed[item] = (low + high) - value
        else:
            keyed[item] = value
    result: dict[str, float] = {}
    for scale in instrument.scales:
        given_values = [keyed[i] for i in scale.items if keyed[i] is not None]
        missing = len(scale.items) - len(given_values)
        if missing > scale.max_missing or not given_values:
            result[scale.id] = math.nan
            continue
        mean = sum(given_values) / len(given_values)  # type: ignore[arg-type]
        if instrument.spec.score == "mean":
            result[scale.id] = mean
        else:
            result[scale.id] = sum(given_values) + missing * mean  # type: ignore[arg-type]
    return result


TOKEN = "s3cret-token"


class CoderServer:
    """A tornado server in its own thread and loop, mounting the coder endpoint."""

    def __init__(self, host: CoderHost, token: str | None = TOKEN) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/api/feedback/code"
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(host, token),))
        self._thread.start()
        assert self._ready.wait(10)

    async def _main(self, host: CoderHost, token: str | None) -> None:
        app = web.Application(
            [(r"/api/feedback/code", TokenCodeHandler, {"host": host, "token": token})]
        )
        server = app.listen(self.port, "127.0.0.1")
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._ready.set()
        await self._stop.wait()
        server.stop()

    def close(self) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def env(self) -> dict[str, str]:
        return {"COURSEWARE_CODER_URL": self.url, "COURSEWARE_CODER_TOKEN": TOKEN}
