"""The autograde fork server with real kernels: what a forked kernel gets, signals, deaths, fallbacks.

Each test starts kernels through :class:`ForkKernelManager` with this test process as the "worker"
that owns the fork server, exactly as an autograde worker does.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import wait_until
from jupyter_client.manager import AsyncKernelManager

from courseware.grading import _forkkernel
from courseware.grading._forkkernel import (
    CLIENT,
    ForkKernelManager,
    ForkServer,
    launched_through_server,
    start_fork_server,
    stop_fork_server,
)
from courseware.grading._forkserver import fork_available

from conftest import FIXTURES, REPO, run_coroutine

pytestmark = [
    pytest.mark.skipif(not fork_available(), reason="the fork server needs fork and Unix sockets"),
    pytest.mark.timeout(180),
]

PROBE = textwrap.dedent(
    """
    import gc, json, os, signal, sys, threading
    def targets():
        found = set()
        for fd in os.listdir("/proc/self/fd"):
            try:
                found.add(os.readlink("/proc/self/fd/" + fd))
            except OSError:  # the listing's own descriptor
                pass
        return sorted(found)
    print(json.dumps({
        "pid": os.getpid(),
        "ppid": os.getppid(),
        "own_group": os.getpgid(0) == os.getpid(),
        "cwd": os.getcwd(),
        "env": dict(os.environ),
        "argv0": os.path.basename(sys.argv[0]),
        "path": sys.path,
        "signals": {s.name: repr(signal.getsignal(s)) for s in
                    (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE, signal.SIGCHLD)},
        "fds": targets(),
        "threads": threading.active_count(),
        "frozen": gc.get_freeze_count(),
        "modules": sorted(sys.modules),
    }))
    """
)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ForkServer]:
    started = start_fork_server(str(tmp_path))
    assert started is not None
    try:
        yield started
    finally:
        stop_fork_server()


class Kernel:
    """A kernel started by a kernel manager of the given class, with a client, for one test."""

    def __init__(self, km: AsyncKernelManager, folder: Path) -> None:
        self.km = km
        self.km.transport = "ipc"
        self.km.ip = str(folder / f"k{id(self)}")
        self.kc: Any = None

    async def start(self, cwd: Path, **env: str) -> None:
        await self.km.start_kernel(cwd=str(cwd), env={**os.environ, **env})
        self.kc = self.km.client()
        self.kc.start_channels()
        await self.kc.wait_for_ready(timeout=60)

    async def run(
        self, code: str, timeout: float = 30, **execute: Any
    ) -> tuple[str, dict[str, Any]]:
        out: list[str] = []

        def hook(msg: dict[str, Any]) -> None:
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])

        reply = await self.kc.execute_interactive(
            code, output_hook=hook, timeout=timeout, **execute
        )
        return "".join(out), reply

    async def probe(self, code: str = "") -> dict[str, Any]:
        text, reply = await self.run(code + "\n" + PROBE)
        assert reply["content"]["status"] == "ok", reply["content"]
        result: dict[str, Any] = json.loads(text.strip().splitlines()[-1])
        return result

    async def stop(self) -> None:
        if self.kc is not None:
            self.kc.stop_channels()
        if await self.km.is_alive():
            await self.km.shutdown_kernel(now=True)
        await self.km.cleanup_resources()

    @property
    def client_pid(self) -> int:
        assert self.km.provisioner is not None
        return int(self.km.provisioner.process.pid)  # type: ignore[attr-defined]


def gone(pid: int, within: float = 10.0) -> bool:
    """Whether process ``pid`` has ended within ``within`` seconds (a zombie has ended: whoever
    inherited it reaps it); fails saying so when it has not."""

    def ended() -> bool:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return True
        return state in {"Z", "X"}

    return wait_until(ended, f"process {pid} to end", seconds=within, every=0.05)


def probe_a_new_kernel(
    km: AsyncKernelManager, folder: Path, **env: str
) -> tuple[dict[str, Any], int, bool]:
    """Start a kernel with ``km`` in ``folder``: what it reports of itself, the pid of the process
    its manager launched, and whether that process was the fork server's client."""

    async def scenario() -> tuple[dict[str, Any], int, bool]:
        kernel = Kernel(km, folder)
        try:
            await kernel.start(folder, **env)
            return await kernel.probe(), kernel.client_pid, launched_through_server(kernel.km)
        finally:
            await kernel.stop()

    return run_coroutine(scenario())


def test_forked_kernel_runs_in_the_requested_folder_and_environment(
    server: ForkServer, tmp_path: Path
) -> None:
    work = tmp_path / "submission"
    work.mkdir()

    async def scenario() -> tuple[dict[str, Any], str, bool]:
        kernel = Kernel(ForkKernelManager(kernel_name="python3"), tmp_path)
        try:
            await kernel.start(work, NBGRADER_EXECUTION="autograde", CW_PROBE="per-kernel value")
            preloaded = await kernel.probe()
            text, _ = await kernel.run(
                "from courseware.grading._assessment import grading_mode; print(grading_mode())"
            )
            return preloaded, text.strip(), launched_through_server(kernel.km)
        finally:
            await kernel.stop()

    info, mode, through_server = run_coroutine(scenario())
    assert through_server
    assert info["ppid"] == server.process.pid  # forked by the server, not launched normally
    assert info["own_group"]  # its own session, as a kernel jupyter_client starts
    assert info["cwd"] == str(work)
    assert info["env"]["CW_PROBE"] == "per-kernel value"
    assert mode == "autograde"  # read when called, from this kernel's environment
    assert info["argv0"] == "ipykernel_launcher.py"
    assert "courseware.grading._assessment" in info["modules"]


def test_forked_kernel_is_what_a_normal_launch_gives(server: ForkServer, tmp_path: Path) -> None:
    """Same environment, import path, signal handlers, open files, threads and widget comms as a
    kernel launched the ordinary way; nothing preloaded that the assessed notebook would not load."""
    imports = "from courseware.grading import check_saved, open_assessment\nimport ipywidgets"
    comm = "\nprint(sorted(get_ipython().kernel.comm_manager.targets))"

    async def scenario() -> tuple[dict[str, Any], dict[str, Any], str, str]:
        forked = Kernel(ForkKernelManager(kernel_name="python3"), tmp_path)
        normal = Kernel(AsyncKernelManager(kernel_name="python3"), tmp_path)
        try:
            await forked.start(tmp_path)
            await normal.start(tmp_path)
            got = await forked.probe(imports), await normal.probe(imports)
            targets = (await forked.run(comm))[0], (await normal.run(comm))[0]
            assert launched_through_server(forked.km) and not launched_through_server(normal.km)
            return got[0], got[1], targets[0], targets[1]
        finally:
            await forked.stop()
            await normal.stop()

    forked, normal, forked_targets, normal_targets = run_coroutine(scenario())
    assert forked["ppid"] == server.process.pid and normal["ppid"] == os.getpid()
    assert forked["env"] == normal["env"]
    for key in ("cwd", "argv0", "path", "signals", "threads", "frozen", "own_group"):
        assert forked[key] == normal[key], key
    # nothing the server holds (its socket, its self-pipe, its pipe from the worker, its log)
    proc = Path(f"/proc/{server.process.pid}/fd")
    held = {os.readlink(fd) for fd in proc.iterdir()} - {"/dev/null"}
    held = {h for h in held if not h.startswith("anon_inode:")}  # these name no instance
    assert any(h.startswith("socket:") for h in held)
    assert not held & set(forked["fds"]), held & set(forked["fds"])
    assert "jupyter.widget" in forked_targets and forked_targets == normal_targets
    assert set(forked["modules"]) - set(normal["modules"]) == set()


def test_each_kernel_is_a_fresh_process(server: ForkServer, tmp_path: Path) -> None:
    first_code = "import random; left = 'by the first notebook'; print(random.random())"
    second_code = "import random; print(random.random(), 'left' in globals())"

    async def scenario() -> list[list[str]]:
        seen: list[list[str]] = []
        for code in (first_code, second_code):
            kernel = Kernel(ForkKernelManager(kernel_name="python3"), tmp_path)
            try:
                await kernel.start(tmp_path)
                seen.append((await kernel.run(code))[0].split())
            finally:
                await kernel.stop()
        return seen

    (first,), (second, left) = run_coroutine(scenario())
    assert first != second  # random is reseeded in every fork
    assert left == "False"


def test_interrupt_reaches_a_forked_kernel(server: ForkServer, tmp_path: Path) -> None:
    """nbclient interrupts a cell that runs past ``Execute.timeout`` with SIGINT to the process it
    started (the client), which passes it on."""

    async def scenario() -> tuple[str, str]:
        kernel = Kernel(ForkKernelManager(kernel_name="python3"), tmp_path)
        try:
            await kernel.start(tmp_path)
            loop = "import time\nprint('looping', flush=True)\nwhile True:\n    time.sleep(0.01)"
            # the interrupt ends this cell with an error: without stop_on_error=False the kernel
            # then aborts requests that reach it before it has settled, and the check below
            # would read "aborted" however alive the kernel is
            msg_id = kernel.kc.execute(loop, stop_on_error=False)
            while True:  # the interrupt goes once the kernel says the cell is running
                msg = await kernel.kc.get_iopub_msg(timeout=20)
                if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "stream":
                    assert msg["content"]["text"] == "looping\n"
                    break
            await kernel.km.interrupt_kernel()
            reply = await kernel.kc._async_get_shell_msg(timeout=20)
            while reply["parent_header"]["msg_id"] != msg_id:  # start's readiness checks first
                assert reply["msg_type"] == "kernel_info_reply", reply["msg_type"]
                reply = await kernel.kc._async_get_shell_msg(timeout=20)
            # the kernel still runs code: the answer comes in the reply itself (a stream
            # message on iopub may trail the reply under load, which proves nothing here)
            _, alive = await kernel.run("n = 6 * 7", user_expressions={"alive": "n"})
            assert alive["content"]["status"] == "ok", alive["content"]
            answer = alive["content"]["user_expressions"]["alive"]["data"]["text/plain"]
            return str(reply["content"].get("ename")), str(answer)
        finally:
            await kernel.stop()

    ename, after = run_coroutine(scenario())
    assert ename == "KeyboardInterrupt"
    assert after == "42"


def test_killing_the_client_kills_the_kernel(server: ForkServer, tmp_path: Path) -> None:
    """``shutdown_kernel(now=True)`` SIGKILLs the client; the server then kills the kernel."""

    async def scenario() -> tuple[int, int]:
        kernel = Kernel(ForkKernelManager(kernel_name="python3"), tmp_path)
        try:
            await kernel.start(tmp_path)
            pid = (await kernel.probe())["pid"]
            client = kernel.client_pid
            os.kill(client, signal.SIGKILL)
            return pid, client
        finally:
            await kernel.stop()

    kernel_pid, client_pid = run_coroutine(scenario())
    assert kernel_pid != client_pid
    assert gone(kernel_pid)
    assert server.alive()


def test_the_client_exits_as_its_kernel_did(server: ForkServer, tmp_path: Path) -> None:
    async def ending(code: str) -> int | None:
        kernel = Kernel(ForkKernelManager(kernel_name="python3"), tmp_path)
        try:
            await kernel.start(tmp_path)
            kernel.kc.execute(code)
            assert kernel.km.provisioner is not None
            process = kernel.km.provisioner.process  # type: ignore[attr-defined]
            return process.wait(timeout=20)  # type: ignore[no-any-return]
        finally:
            await kernel.stop()

    assert run_coroutine(ending("import os; os._exit(3)")) == 3
    assert run_coroutine(ending("import os, signal; os.kill(os.getpid(), signal.SIGKILL)")) == -9


def test_kernel_dies_when_the_server_is_killed(server: ForkServer, tmp_path: Path) -> None:
    """A learner's cell that kills its parent kills the fork server: its kernels go with it, and
    the worker can tell (that is how autograde reports the submission)."""

    async def scenario() -> int:
        kernel = Kernel(ForkKernelManager(kernel_name="python3"), tmp_path)
        try:
            await kernel.start(tmp_path)
            pid = int((await kernel.probe())["pid"])
            kernel.kc.execute("import os, signal; os.kill(os.getppid(), signal.SIGKILL)")
            server.process.wait(timeout=20)
            assert gone(pid)  # before the kernel manager is asked to stop it
            return pid
        finally:
            await kernel.stop()

    run_coroutine(scenario())
    assert server.killed()
    assert _forkkernel.restart_if_dead()  # the worker starts another
    replacement = _forkkernel.fork_server()
    assert replacement is not None and replacement is not server


def test_without_a_server_kernels_launch_normally(tmp_path: Path) -> None:
    stop_fork_server()
    info, launched, through_server = probe_a_new_kernel(
        ForkKernelManager(kernel_name="python3"), tmp_path
    )
    assert not through_server
    assert info["pid"] == launched and info["ppid"] == os.getpid()


class _MissingServer(ForkKernelManager):
    """Hands its kernels to a client whose server socket does not exist."""

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        cmd = AsyncKernelManager.format_kernel_cmd(self, extra_arguments)
        return [sys.executable, "-I", "-S", CLIENT, str(Path(self.ip).parent / "no.sock"), *cmd[3:]]


def test_the_client_starts_an_ordinary_kernel_when_the_server_is_missing(tmp_path: Path) -> None:
    info, client, _ = probe_a_new_kernel(
        _MissingServer(kernel_name="python3"), tmp_path, CW_PROBE="kept"
    )
    assert info["pid"] == client  # the client became the kernel (exec)
    assert info["ppid"] == os.getpid() and info["env"]["CW_PROBE"] == "kept"


def test_the_server_refuses_a_kernel_it_cannot_fork_faithfully(
    server: ForkServer, tmp_path: Path
) -> None:
    """An interpreter setting fixed at start-up (here the hash seed) cannot be changed after a
    fork, so that kernel is launched the ordinary way."""

    info, client, through_server = probe_a_new_kernel(
        ForkKernelManager(kernel_name="python3"), tmp_path, PYTHONHASHSEED="1234"
    )
    assert through_server  # handed to the client, which the server told to launch normally
    assert info["pid"] == client and info["ppid"] == os.getpid()
    assert server.alive()
    log = (tmp_path / f"forkserver-{os.getpid()}.log").read_text()
    assert "environment differs from the server's in PYTHONHASHSEED" in log


def test_preloading_reads_nothing_set_per_kernel() -> None:
    """What the server imports before forking must not read a per-kernel setting at import time
    (the grading code reads COURSEWARE_KEYS and NBGRADER_EXECUTION when it is called)."""
    code = (
        "import json; from courseware.grading._forkserver import preload, unclean; "
        "p = preload(); print(json.dumps({'seen': sorted(p.seen), 'unclean': unclean()}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["unclean"] == ""  # no thread, event loop or zmq context before forking
    per_kernel = [n for n in found["seen"] if n.startswith(("COURSEWARE_", "NBGRADER_"))]
    assert per_kernel == []
    assert "JPY_PARENT_PID" in found["seen"]  # read by ipykernel at import: passed explicitly


WORKER = textwrap.dedent(
    """
    import asyncio, os, sys, time
    from courseware.grading._forkkernel import ForkKernelManager, start_fork_server
    folder = sys.argv[1]
    server = start_fork_server(folder)

    async def main():
        km = ForkKernelManager(kernel_name="python3")
        km.transport = "ipc"
        km.ip = os.path.join(folder, "k")
        await km.start_kernel(cwd=folder)
        kc = km.client()
        kc.start_channels()
        await kc.wait_for_ready(timeout=60)
        out = []
        await kc.execute_interactive(
            "import os; print(os.getpid())",
            output_hook=lambda m: out.append(m["content"].get("text", "")),
        )
        print(server.process.pid, "".join(out).strip(), flush=True)
        time.sleep(600)

    asyncio.run(main())
    """
)


def test_a_killed_worker_takes_its_server_and_kernels_with_it(tmp_path: Path) -> None:
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert worker.stdout is not None
        server_pid, kernel_pid = (int(x) for x in worker.stdout.readline().split())
        assert os.path.exists(f"/proc/{kernel_pid}")
        worker.kill()
        worker.wait()
        assert gone(kernel_pid)
        assert gone(server_pid)
        assert not list(tmp_path.glob("*.sock"))
    finally:
        if worker.poll() is None:
            worker.kill()


def test_parallel_autograde_runs_notebooks_in_forked_kernels(tmp_path: Path) -> None:
    """End to end through nbgrader: the submissions' notebooks run in kernels forked by the
    workers' fork servers, and score as expected."""
    sys.path.insert(0, str(FIXTURES / "grading"))
    from cohort import COMM, build_comm_cohort

    from courseware.grading._autograde import autograde_cohort
    from courseware.grading._course import CourseFolder

    course = tmp_path / "course"
    shutil.copytree(REPO / "assignments", course)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run(
        [str(Path(sys.executable).parent / "nbgrader"), "generate_assignment", COMM],
        cwd=course,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    expected = build_comm_cohort(course, 4, bad=False)
    probe = "import os\nprint(open(f'/proc/{os.getppid()}/cmdline').read().replace(chr(0), ' '))"
    for student in expected:
        notebook = course / "submitted" / student / COMM / f"{COMM}.ipynb"
        nb = json.loads(notebook.read_text())
        nb["cells"].insert(
            1,
            {
                "cell_type": "code",
                "execution_count": None,
                "id": "parent",
                "metadata": {},
                "outputs": [],
                "source": probe,
            },
        )
        notebook.write_text(json.dumps(nb))
    report = autograde_cohort(CourseFolder.open(course), COMM, jobs=2)
    for result in report.results:
        assert result.status == "graded" and result.problems == [], result.summary()
        assert result.score == pytest.approx(expected[result.student]["score"])
        graded = course / "autograded" / result.student / COMM / f"{COMM}.ipynb"
        outputs = json.loads(graded.read_text())["cells"][1]["outputs"]
        assert "courseware.grading._forkserver" in "".join(outputs[0]["text"]), outputs
