"""Shared fixtures: a private store per test, the repository's paths, a real Voila server."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any, TypeVar

import pytest
from fixtures.hub.hubtest import free_port

from courseware.store import SQLiteStore

T = TypeVar("T")
REPO = Path(__file__).resolve().parent.parent
MODULES = REPO / "modules"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def run_coroutine(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` on a fresh event loop in its own thread.

    Playwright's sync API leaves an event loop running in the main thread for the rest of the
    session, so ``asyncio.run`` there fails in any test that happens to run after a browser test.
    """
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


FIGURES: dict[str, str] = {}
"""Measurements tests make on the way (e.g. page load times), printed at the end of the run."""


LONGEST_FIRST = (
    "test_grading_pipeline.py",
    "test_apps_browser.py",
    "test_grading_html_safety.py",
    "test_deployment_guide.py",
    "test_hub_tutor_grading.py",
    "test_grading_guide.py",
    "test_hub_learner_browser.py",
    "test_hub_nbgrader.py",
    "test_lti.py",
    "test_grading_forkserver.py",
    "test_jupyterlab_browser.py",
)
"""The files that take minutes (from ``--durations``), started first so that ``./run test``'s
workers do not end with one long file running alone; every other file keeps its place."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: place for place, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: order within kept


def pytest_sessionfinish(session: pytest.Session) -> None:
    """In a pytest-xdist worker, hand this worker's figures to the controller, which prints them."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["courseware_figures"] = json.dumps(FIGURES)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist's controller: collect a finished worker's figures."""
    FIGURES.update(json.loads(getattr(node, "workeroutput", {}).get("courseware_figures", "{}")))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        terminalreporter.section("figures measured by the tests")
        for name, value in sorted(FIGURES.items()):
            terminalreporter.write_line(f"{name}: {value}")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    with SQLiteStore(tmp_path / "responses.sqlite") as s:
        yield s  # type: ignore[misc]


def server_environ() -> dict[str, str]:
    """This process's environment for a server the tests start, without the reply coder's address
    an in-process test may have advertised (each server hosts its own)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("COURSEWARE_CODER_")}


class ServerProcess:
    """A server the tests started: wait until it answers, stop it, keep its log."""

    process: subprocess.Popen[bytes]
    log: IO[str]

    def wait_until_answering(self, url: str, what: str, seconds: float = 90) -> None:
        from helpers import wait_until  # helpers imports this module's paths

        def answering() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"{what} exited: see {self.log.name}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    return bool(response.status == 200)
            except OSError:
                return False

        wait_until(answering, f"{what} to answer", seconds=seconds)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


class VoilaServer(ServerProcess):
    """``courseware serve`` running in a subprocess on a free loopback port.

    ``command`` replaces ``["serve", root]`` (e.g. ``["seminar", module_id, "--root", root]``) and
    ``args`` are added after the port; ``env`` adds to its environment; the server's output is in
    :attr:`log_path`.
    """

    def __init__(
        self,
        root: Path,
        store_path: Path,
        *,
        command: list[str] | None = None,
        args: list[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.store_path = store_path
        self.log_path = store_path.with_suffix(".log")
        env = {**server_environ(), "COURSEWARE_STORE": str(store_path), **(env or {})}
        self.log = self.log_path.open("w")
        words = command or ["serve", str(root)]
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "courseware.cli",
                *words,
                "--port",
                str(self.port),
                *(args or []),
            ],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
        self.wait_until_answering(self.url, "courseware serve")

    def status(self) -> dict[str, int]:
        """The server's kernel counts (``courseware/api/status``, loopback only)."""
        with urllib.request.urlopen(self.url + "courseware/api/status", timeout=5) as response:
            data: dict[str, int] = json.load(response)
            return data

    def wait_for_status(self, seconds: float, **wanted: int) -> None:
        """Wait until every count in ``wanted`` is as given (fails after ``seconds``)."""
        from helpers import wait_until

        wait_until(
            lambda: all(self.status().get(k) == v for k, v in wanted.items()),
            lambda: f"{wanted} (the server says {self.status()})",
            seconds=seconds,
            every=0.25,
        )


@pytest.fixture(scope="module")
def voila_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VoilaServer]:
    server = VoilaServer(MODULES, tmp_path_factory.mktemp("voila") / "responses.sqlite")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[Any]:
    """A private PostgreSQL server on loopback (Debian's package), stopped after the run.

    Runs as the ``postgres`` user when the tests run as root. Use ``postgres.url`` for its
    default database or ``postgres.create_database(name)`` for a fresh one per test.
    """
    from courseware.hub._pgtemp import TemporaryPostgres

    try:
        server = TemporaryPostgres(durable=False).start()
    except FileNotFoundError as e:
        pytest.fail(str(e))
    yield server
    server.stop()


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("Debian's chromium is not installed (./run test installs it)")
    return found


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    """Launch Debian's Chromium (never a downloaded browser), offline-friendly."""
    return {
        "executable_path": chromium_path(),
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ],
    }
