"""The worker's side of the fork server: start it, watch it, and launch kernels through it.

:class:`ForkKernelManager` is jupyter_client's kernel manager with one change: a kernel the spec
would start as ``<this python> -m ipykernel_launcher ARG...`` is started as ``<this python> -I -S
_forkclient.py SOCKET ARG...``, a small client that has the fork server (``_forkserver``) fork the
kernel from a process that has already imported ipykernel and the grading code. Any other kernel, or
any kernel when no server is running, starts as usual; the client itself starts an ordinary kernel
when the server is missing, broken or refuses.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager

from ._forkserver import fork_available

CLIENT = str(Path(__file__).with_name("_forkclient.py"))
MAX_SOCKET_PATH = 100  # AF_UNIX paths are limited to 108 bytes on Linux
MAX_RESTARTS = 4  # after this many servers have died, this worker launches kernels normally
BIND_TIMEOUT = 5.0

_counter = itertools.count()


class ForkServer:
    """One fork server process, started by (and ending with) the process that made it."""

    def __init__(self, folder: str) -> None:
        self.path = os.path.join(folder, f"fork-{os.getpid()}-{next(_counter)}.sock")
        if len(self.path) > MAX_SOCKET_PATH:
            raise OSError(f"socket path too long for AF_UNIX: {self.path}")
        with open(os.path.join(folder, f"forkserver-{os.getpid()}.log"), "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "courseware.grading._forkserver", self.path],
                stdin=subprocess.PIPE,  # its lifeline: EOF when this process ends, however it ends
                stdout=log,
                stderr=log,
                cwd=folder,
                start_new_session=True,  # a Ctrl-C at the terminal reaches the worker, not it
            )

    def alive(self) -> bool:
        return self.process.poll() is None

    def listening(self, timeout: float = BIND_TIMEOUT) -> bool:
        """Whether it is alive and has bound its socket (it does so within moments of starting,
        before it preloads; clients then wait in the socket's backlog until it is ready)."""
        deadline = time.monotonic() + timeout
        while self.alive():
            if os.path.exists(self.path):
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return False

    def killed(self) -> bool:
        """Whether it died of a signal (a learner's cell killing its parent, say)."""
        code = self.process.poll()
        return code is not None and code < 0

    def stop(self) -> None:
        """Close its lifeline and wait for it (it kills its kernels and removes its socket)."""
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


_server: ForkServer | None = None
_folder = ""
_restarts = 0
_bypass = False


def start_fork_server(folder: str) -> ForkServer | None:
    """Start this process's fork server, keeping its socket in ``folder`` (None where the platform
    cannot fork kernels or it would not start: kernels then launch normally)."""
    global _restarts
    _restarts = 0
    return _start(folder)


def _start(folder: str) -> ForkServer | None:
    global _server, _folder
    stop_fork_server()
    _folder = folder
    if not fork_available():
        return None
    try:
        _server = ForkServer(folder)
    except OSError:
        _server = None
    return _server


def fork_server() -> ForkServer | None:
    """The running fork server, if there is one (and it is not bypassed)."""
    if _bypass or _server is None or not _server.alive():
        return None
    return _server


@contextlib.contextmanager
def launching_normally() -> Iterator[None]:
    """Within the block, kernels start as the kernel spec says, without the fork server."""
    global _bypass
    before, _bypass = _bypass, True
    try:
        yield
    finally:
        _bypass = before


def restart_if_dead() -> bool:
    """Start a new server if the current one has died; True if it had (its kernels are gone)."""
    global _restarts
    if _server is None or _server.alive():
        return False
    if _restarts < MAX_RESTARTS:
        _restarts += 1
        _start(_folder)
    else:
        stop_fork_server()
    return True


@atexit.register
def stop_fork_server() -> None:
    global _server
    if _server is not None:
        _server.stop()
        _server = None


class ForkKernelManager(AsyncKernelManager):
    """A kernel manager whose Python kernels are forked by this process's fork server."""

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        cmd: list[str] = super().format_kernel_cmd(extra_arguments)
        server = fork_server()
        if server is not None and is_this_ipykernel(cmd) and server.listening():
            return [sys.executable, "-I", "-S", CLIENT, server.path, *cmd[3:]]
        return cmd


def is_this_ipykernel(cmd: list[str]) -> bool:
    """Whether ``cmd`` starts ipykernel in this very interpreter (what the server has preloaded)."""
    return (
        len(cmd) >= 3
        and os.path.abspath(cmd[0]) == os.path.abspath(sys.executable)
        and cmd[1:3] == ["-m", "ipykernel_launcher"]
    )


def launched_through_server(km: Any) -> bool:
    """Whether ``km``'s kernel was handed to the fork server (for tests and logs)."""
    provisioner = getattr(km, "provisioner", None)
    process = getattr(provisioner, "process", None)
    return process is not None and CLIENT in list(getattr(process, "args", []))
