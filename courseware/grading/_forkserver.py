"""A fork server ("zygote") for autograde kernels: each kernel costs a fork, not a new interpreter.

Started by each autograde worker (``python -m courseware.grading._forkserver SOCKET``), it imports
what every kernel of an assessed notebook imports anyway (:data:`PRELOAD`: ipykernel with IPython,
zmq, tornado and jupyter_client; ipywidgets; ``courseware.grading``), then waits on a
Unix socket. Before forking it has run no learner code, started no thread or event loop and created
no zmq context, so a forked child is in the state a new kernel process reaches by importing the same
modules.

**Every notebook still gets a fresh process that no other notebook has used**: one fork per kernel,
never reused, so one submission cannot see or change another's state, which is what keeps
autograde fair. Each child takes the requesting client's argv, folder, environment and standard
streams, becomes its own session (as ``start_new_session`` makes a launched kernel), restores the
signal handlers a new interpreter has and runs ``IPKernelApp`` as ``python -m ipykernel_launcher``
would, ending with a normal interpreter exit (so the kernel's ``atexit`` handlers run). What the
preloaded imports did to their own process is redone for the kernel: the environment variables they
set are set in its environment, ipykernel's ``JPY_PARENT_PID`` default is taken from the kernel's
environment, and ipywidgets registers its comm targets with the new kernel.

A kernel that a fork cannot make exactly is refused, and the client starts an ordinary one: one
whose environment differs from the server's in a variable the preloaded modules read at import (the
server records them: ``USER``, ``HOME``, ``PATH``, ``PYDEVD_*``…) or in an interpreter setting
fixed at start-up (``PYTHON*``, ``LANG``, ``LC_*``). Nothing ``courseware.grading`` reads per kernel
(``COURSEWARE_KEYS``, ``NBGRADER_EXECUTION``) is read at import. Two differences remain, both
harmless to grading: the kernels of one server share its string-hash seed (``random`` is reseeded
in every fork), and a module the server preloaded cannot be shadowed by a file of the same name in a
submission's folder. The kernels' parent is this server, so a cell that kills its parent kills it
(the worker notices).

The server is single-threaded: one ``selectors`` loop over the listening socket, each client's
connection (when it closes, the client was killed, so its kernel is killed), a self-pipe woken by
SIGCHLD (children are reaped and each client is told its kernel's wait status) and its stdin, a pipe
from the worker that started it: when the worker exits or is killed, the server kills its kernels,
removes its socket and exits. Its socket lives in the batch's temporary folder, readable by its
user only.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import os
import selectors
import signal
import socket
import struct
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PRELOAD = (
    # the kernel, and what IPKernelApp imports while it starts
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    "ipykernel.debugger",
    "IPython.core.debugger",
    "IPython.core.completerlib",
    "IPython.extensions.storemagic",
    "sqlite3",
    # what the assessed notebooks import
    "ipywidgets",
    "courseware.grading._assessment",
)
"""Modules imported before forking, in this order (ipykernel first: ipywidgets binds to its comms)."""

PASSED_EXPLICITLY = frozenset({"JPY_PARENT_PID", "JPY_INTERRUPT_EVENT"})
STALE_REQUEST = 10.0  # seconds; the client stops waiting at 15 and starts a kernel itself
MAX_REQUEST = 16 * 1024 * 1024


def kill(pid: int, signum: int) -> None:
    """Signal a kernel and its process group (it may not have made its own group yet)."""
    with contextlib.suppress(OSError):
        os.killpg(pid, signum)
    with contextlib.suppress(OSError):
        os.kill(pid, signum)


def startup_setting(name: str) -> bool:
    """Environment variables the interpreter reads once, when it starts."""
    return name.startswith(("PYTHON", "LC_")) or name == "LANG"


@contextlib.contextmanager
def environment_reads() -> Iterator[set[str]]:
    """Record the names of the environment variables read through ``os.environ`` (and so
    ``os.getenv``) while the block runs."""
    names: set[str] = set()
    environ_type: Any = type(os.environ)  # os.environb is one too: its names are bytes
    getitem, contains = environ_type.__getitem__, environ_type.__contains__

    def note(key: object) -> None:
        names.add(os.fsdecode(key) if isinstance(key, bytes) else str(key))

    def tracked_getitem(self: Any, key: Any) -> Any:
        note(key)
        return getitem(self, key)

    def tracked_contains(self: Any, key: object) -> bool:
        note(key)
        return bool(contains(self, key))

    environ_type.__getitem__, environ_type.__contains__ = tracked_getitem, tracked_contains
    try:
        yield names
    finally:
        environ_type.__getitem__, environ_type.__contains__ = getitem, contains


def preload(modules: tuple[str, ...] = PRELOAD) -> Preloaded:
    """Import ``modules``, noting the environment variables they read and those they set."""
    before = dict(os.environ)
    with environment_reads() as names:
        for name in modules:
            importlib.import_module(name)
    after = dict(os.environ)
    written = {
        n: after.get(n) for n in before.keys() | after.keys() if before.get(n) != after.get(n)
    }
    return Preloaded({n: before.get(n) for n in sorted(names | set(written))}, written)


@dataclass
class Preloaded:
    """What preloading depended on and did to the environment: ``seen`` holds each variable it read
    or set with its value beforehand (a kernel must have the same to be forked); ``written``, what
    it set (a forked kernel's environment gets the same, as its own imports would have done)."""

    seen: dict[str, str | None]
    written: dict[str, str | None]


def unclean() -> str:
    """Why forking now would not give a clean kernel ("" when it would)."""
    if threading.active_count() != 1:
        return f"{threading.active_count()} threads are running"
    zmq = sys.modules.get("zmq")
    if zmq is not None and getattr(zmq.Context, "_instance", None) is not None:
        return "a zmq context exists"
    import asyncio

    if asyncio._get_running_loop() is not None:
        return "an event loop is running"
    return ""


def refusal(request: dict[str, Any], preloaded: Preloaded, now: float) -> str:
    """Why this request must be launched normally ("" when a fork gives the same kernel)."""
    env = request.get("env")
    if not isinstance(env, dict) or not isinstance(request.get("argv"), list):
        return "malformed request"
    if not isinstance(request.get("cwd"), str) or not os.path.isdir(request["cwd"]):
        return "no such folder"
    if now - float(request.get("sent", 0)) > STALE_REQUEST:
        return "stale request"
    names = {n for n in preloaded.seen if n not in PASSED_EXPLICITLY}
    names |= {n for n in (*env, *os.environ) if startup_setting(n)}
    differ = sorted(n for n in names if env.get(n) != preloaded.seen.get(n, os.environ.get(n)))
    if differ:
        return "environment differs from the server's in " + ", ".join(differ)
    return ""


# --- the kernel, in the forked child -----------------------------------------------------------------


@dataclass
class Launch:
    """What a forked child is to run: ``python -m ipykernel_launcher`` with these."""

    argv: list[str]
    cwd: str
    env: dict[str, str]
    fds: list[int]


def run_kernel(launch: Launch, signals: dict[int, Any]) -> int:
    """Become the kernel (in the forked child, once the server's own sockets are closed)."""
    os.setsid()
    for signum, handler in signals.items():
        with contextlib.suppress(OSError, ValueError, TypeError):
            signal.signal(signum, handler)
    for target, fd in enumerate(launch.fds):
        if fd != target:
            os.dup2(fd, target)
    for fd in set(launch.fds):
        if fd > 2:
            os.close(fd)
    os.chdir(launch.cwd)
    os.environ.clear()
    os.environ.update(launch.env)
    spec = importlib.util.find_spec("ipykernel_launcher")  # as ``python -m`` sets sys.argv[0]
    sys.argv = [str(spec.origin if spec else "ipykernel_launcher"), *launch.argv]
    from ipykernel.kernelapp import IPKernelApp

    # The class-level defaults of these two were read from the server's environment at import.
    app = IPKernelApp.instance(
        parent_handle=int(launch.env.get("JPY_PARENT_PID") or 0),
        interrupt=int(launch.env.get("JPY_INTERRUPT_EVENT") or 0),
    )
    app.initialize()  # type: ignore[no-untyped-call]
    # ipywidgets registers its comm targets when it is first imported inside a kernel; it was
    # imported before this kernel existed, so do it now.
    widgets = sys.modules.get("ipywidgets")
    if widgets is not None:
        widgets.register_comm_target()
    app.start()  # type: ignore[no-untyped-call]
    return 0


# --- the server -------------------------------------------------------------------------------------


@dataclass
class Server:
    path: str
    preloaded: Preloaded
    signals: dict[int, Any]
    selector: selectors.BaseSelector = field(default_factory=selectors.DefaultSelector)
    wakeup: tuple[int, int] = (-1, -1)  # the self-pipe SIGCHLD writes to
    kernels: dict[int, socket.socket] = field(default_factory=dict)  # pid -> its client
    pid: int = field(default_factory=os.getpid)

    def log(self, message: str) -> None:
        print(f"forkserver {self.pid}: {message}", file=sys.stderr, flush=True)

    def serve(self, listener: socket.socket) -> Launch | None:
        """Run until the worker goes; in a forked child, return what the child is to run."""
        wakeup = self.wakeup[0]
        self.selector.register(listener, selectors.EVENT_READ, "accept")
        self.selector.register(wakeup, selectors.EVENT_READ, "reap")
        self.selector.register(sys.stdin.fileno(), selectors.EVENT_READ, "worker")
        while True:
            for key, _ in self.selector.select():
                if key.data == "accept":
                    launch = self.accept(listener)
                    if launch is not None:
                        return launch
                elif key.data == "reap":
                    with contextlib.suppress(BlockingIOError):
                        os.read(wakeup, 512)
                    self.reap()
                elif key.data == "worker":
                    if not os.read(sys.stdin.fileno(), 512):
                        return None
                else:  # a client's connection: it only ever closes
                    self.client_gone(key.data, key.fileobj)

    def accept(self, listener: socket.socket) -> Launch | None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return None
        fds: list[int] = []
        try:
            conn.settimeout(5)
            request, fds = self.read_request(conn)
            reason = refusal(request, self.preloaded, time.time()) or unclean()
            if reason or len(fds) != 3:
                self.log(f"launching normally: {reason or 'no standard streams'}")
                conn.sendall(json.dumps({"refused": reason}).encode() + b"\n")
                raise OSError(reason)
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
        except (OSError, ValueError, struct.error):
            conn.close()
            for fd in fds:
                os.close(fd)
            return None
        if pid == 0:
            self.close_all(listener, conn)
            env = dict(request["env"])
            for name, value in self.preloaded.written.items():
                if value is None:
                    env.pop(name, None)
                else:
                    env[name] = value
            return Launch(request["argv"], request["cwd"], env, fds)
        for fd in fds:
            os.close(fd)
        with contextlib.suppress(OSError):  # if the client is gone, its connection reads as closed
            conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
        self.kernels[pid] = conn
        conn.setblocking(False)
        self.selector.register(conn, selectors.EVENT_READ, pid)
        return None

    @staticmethod
    def read_request(conn: socket.socket) -> tuple[dict[str, Any], list[int]]:
        data, fds, _flags, _addr = socket.recv_fds(conn, 65536, 3)
        try:
            if len(data) < 4:
                raise ValueError("short request")
            (size,) = struct.unpack("!I", data[:4])
            if size > MAX_REQUEST:
                raise ValueError("request too large")
            body = bytearray(data[4:])
            while len(body) < size:
                chunk = conn.recv(size - len(body))
                if not chunk:
                    raise ValueError("truncated request")
                body += chunk
            request = json.loads(bytes(body))
            if not isinstance(request, dict):
                raise ValueError("malformed request")
        except (OSError, ValueError, struct.error):
            for fd in fds:
                os.close(fd)
            raise
        return request, list(fds)

    def client_gone(self, pid: int, conn: Any) -> None:
        with contextlib.suppress(OSError):
            if conn.recv(1):
                return  # clients send nothing after the request; ignore it
        self.forget(pid)
        kill(pid, signal.SIGKILL)

    def forget(self, pid: int) -> socket.socket | None:
        conn = self.kernels.pop(pid, None)
        if conn is not None:
            with contextlib.suppress(KeyError, ValueError):
                self.selector.unregister(conn)
        return conn

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            conn = self.forget(pid)
            if conn is not None:
                with contextlib.suppress(OSError):
                    conn.setblocking(True)
                    conn.sendall(json.dumps({"status": status}).encode() + b"\n")
                conn.close()

    def close_all(self, listener: socket.socket, conn: socket.socket) -> None:
        """In a forked child: let go of everything the server holds (the child keeps only the
        client's streams)."""
        signal.set_wakeup_fd(-1)
        for fd in self.wakeup:
            os.close(fd)
        self.selector.close()
        listener.close()
        conn.close()
        for other in self.kernels.values():
            other.close()
        self.kernels.clear()

    def shutdown(self) -> None:
        for pid in list(self.kernels):
            kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while self.kernels and time.monotonic() < deadline:
            self.reap()
            time.sleep(0.01)
        with contextlib.suppress(OSError):
            os.unlink(self.path)


def main(argv: list[str]) -> int:
    path = argv[1]
    # As ipykernel_launcher does: the folder the process started in is not on the import path.
    if sys.path and (sys.path[0] == "" or Path(sys.path[0]) == Path.cwd()):
        del sys.path[0]
    handled = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD, signal.SIGPIPE)
    signals: dict[int, Any] = {s: signal.getsignal(s) for s in handled}  # as a new interpreter has
    for s in (signal.SIGINT, signal.SIGHUP):  # the worker stops it by closing its stdin
        signal.signal(s, signal.SIG_IGN)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)  # bound first: clients wait in the backlog while the server preloads
    listener.listen(64)
    launch: Launch | None = None
    server: Server | None = None
    me = os.getpid()
    try:
        preloaded = preload()
        reason = unclean()
        if reason:
            print(f"forkserver: not serving: {reason}", file=sys.stderr, flush=True)
            return 1
        wake_read, wake_write = os.pipe()
        os.set_blocking(wake_read, False)
        os.set_blocking(wake_write, False)
        signal.set_wakeup_fd(wake_write)
        signal.signal(signal.SIGCHLD, _ignore)
        server = Server(path, preloaded, signals, wakeup=(wake_read, wake_write))
        launch = server.serve(listener)
    finally:
        if os.getpid() == me:  # the server itself, not a forked child
            if server is not None:
                server.shutdown()
            with contextlib.suppress(OSError):
                os.unlink(path)
    if launch is None:
        return 0
    return run_kernel(launch, signals)


def _ignore(*_: Any) -> None:
    """SIGCHLD's handler: the wakeup pipe does the work."""


def fork_available() -> bool:
    """Whether this platform can run the fork server (fork, Unix sockets, passing descriptors)."""
    return (
        hasattr(os, "fork")
        and hasattr(socket, "AF_UNIX")
        and hasattr(socket, "send_fds")
        and hasattr(os, "killpg")
        and sys.platform != "win32"
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv))
