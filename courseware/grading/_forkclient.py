"""Stand-in for ``python -m ipykernel_launcher``: asks the fork server for a kernel, else starts one.

Run as ``python -I -S _forkclient.py SOCKET ARG...`` by :class:`ForkKernelManager` (standard library
only, so it starts in milliseconds). It is the process the kernel manager sees as the kernel:

* it sends its argv, folder and environment to the fork server on ``SOCKET`` and passes its own
  stdin/stdout/stderr along; the server forks a kernel with exactly those;
* it forwards SIGINT, SIGTERM and SIGHUP to the kernel's process group, so an interrupt on a cell
  timeout reaches the running code as it would a kernel the manager had started itself;
* it exits with the kernel's status (dying of the same signal, if the kernel did);
* when it is killed, the server sees its connection close and kills the kernel; when the server dies,
  it kills the kernel and dies of SIGKILL, so a kernel never outlives either.

When the server is missing, refuses (the kernel's environment differs from what it preloaded) or
fails before the kernel exists, this process becomes an ordinary kernel with ``exec``: same argv,
folder, environment and standard streams, so a student is never failed for a fork server problem.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import struct
import sys
import time
from typing import Any, NoReturn

REPLY_TIMEOUT = 15.0  # the server binds before it preloads; wait this long for its answer
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def launch_normally(args: list[str]) -> NoReturn:
    """Become ``python -m ipykernel_launcher ARG...`` (what the kernel spec asked for)."""
    os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", *args])


def signal_kernel(pid: int, signum: int) -> None:
    """Signal the kernel's process group (its subprocesses too), or the kernel alone if it has not
    made its group yet."""
    try:
        os.killpg(pid, signum)
    except OSError:
        with contextlib.suppress(OSError):
            os.kill(pid, signum)


def read_message(sock: socket.socket, buffer: bytearray) -> dict[str, Any] | None:
    """The next newline-terminated JSON message from the server, or None when it has gone."""
    while b"\n" not in buffer:
        chunk = sock.recv(4096)
        if not chunk:
            return None
        buffer += chunk
    line, _, rest = bytes(buffer).partition(b"\n")
    buffer[:] = rest
    message: dict[str, Any] = json.loads(line)
    return message


def exit_like(status: int) -> NoReturn:
    """Exit as the kernel did: with its exit code, or killed by the same signal."""
    sys.stdout.flush()
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        with contextlib.suppress(OSError, ValueError):  # SIGKILL and SIGSTOP have no handler
            signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
        os._exit(128 + sig)
    os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 1)


def main(argv: list[str]) -> None:
    path, args = argv[1], argv[2:]
    pending: list[int] = []
    kernel = 0

    def forward(signum: int, _frame: Any) -> None:
        if kernel:
            signal_kernel(kernel, signum)
        else:
            pending.append(signum)

    for sig in FORWARDED:
        signal.signal(sig, forward)
    buffer = bytearray()
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(REPLY_TIMEOUT)
        sock.connect(path)
        # ``sent`` lets the server refuse a request this process has stopped waiting for.
        request = {"argv": args, "cwd": os.getcwd(), "env": dict(os.environ), "sent": time.time()}
        data = json.dumps(request).encode()
        socket.send_fds(sock, [struct.pack("!I", len(data)) + data], [0, 1, 2])
        reply = read_message(sock, buffer)
    except (OSError, ValueError):
        reply = None
    if reply is None or "pid" not in reply:
        for sig in FORWARDED:
            signal.signal(sig, signal.SIG_DFL)
        # An interrupt that came before any kernel existed ends the launch, as it would have.
        for signum in pending:
            os.kill(os.getpid(), signum)
        launch_normally(args)
    kernel = int(reply["pid"])
    for signum in pending:
        forward(signum, None)
    sock.settimeout(None)
    try:
        message = read_message(sock, buffer)
    except (OSError, ValueError):
        message = None
    if message is None or "status" not in message:  # the server died: take the kernel with it
        signal_kernel(kernel, signal.SIGKILL)
        exit_like(signal.SIGKILL)  # a raw wait status: killed by SIGKILL
    exit_like(int(message["status"]))


if __name__ == "__main__":
    main(sys.argv)
