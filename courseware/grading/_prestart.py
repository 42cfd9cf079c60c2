"""nbgrader's ``Execute`` with the next kernel already starting: used only by parallel autograde.

A fresh kernel for every notebook is what makes autograde fair, and starting one is most of what
grading an ordinary submission costs. This preprocessor keeps that rule (every notebook still gets a
kernel no other notebook has used) and takes kernel start-up and shut-down out of the way:

* kernels are forked by the worker's fork server (``_forkserver``) when it has one, so a kernel costs a
  fork rather than a new interpreter importing IPython and the grading code;
* the next notebook's kernel is launched as soon as the current one is set up, so it boots while the
  current notebook runs. It starts in a neutral folder with ``NBGRADER_EXECUTION=autograde`` (what
  nbgrader sets while autograding) and is moved to the notebook's folder before the first cell runs;
* a kernel is ready once it has answered ``kernel_info`` and its IOPub channel has delivered that
  request's idle status (jupyter_client also waits for 0.2 s of IOPub silence);
* when a notebook is done, its kernel is asked to shut down and left to exit while the next notebook
  runs; one that has not exited :data:`GRACE` seconds later is killed (ipykernel 7 can deadlock while
  shutting down, which costs jupyter_client's default 2.5 s wait before it sends SIGTERM).

Every kernel manager gets its own IPC socket prefix, so two kernels of one worker never share a socket.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import itertools
import os
import tempfile
import time
from collections.abc import Iterator
from queue import Empty
from typing import Any

from jupyter_core.utils import ensure_async, run_sync
from nbclient.util import run_hook
from nbgrader.preprocessors import Execute

from ._forkkernel import ForkKernelManager

KERNEL_DIED_IN = "kernel died in"

_counter = itertools.count()
_spares: list[Any] = []
_closing: list[tuple[float, Any]] = []  # (when asked to shut down, kernel manager)
_home = ""
HISTORY = "--HistoryManager.hist_file=:memory:"
SPARES = 1  # kernels started ahead per worker
GRACE = 2.0  # seconds a finished notebook's kernel has to exit before it is killed


def use_folder(folder: str) -> None:
    """Where spare kernels start and keep their sockets (the batch's own temporary folder, which the
    batch removes even when a worker is killed)."""
    global _home
    _home = folder


def _folder() -> str:
    global _home
    if not _home:
        _home = tempfile.mkdtemp(prefix="cw-spare-")
    return _home


class PrestartedExecute(Execute):  # type: ignore[misc]
    """Execute each notebook in a kernel started while the previous notebook was running (forked by
    the worker's fork server when it has one)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # nbgrader's Execute passes AsyncKernelManager the same way (which beats configuration).
        kwargs.setdefault("kernel_manager_class", ForkKernelManager)
        super().__init__(*args, **kwargs)

    def create_kernel_manager(self) -> Any:
        km = super().create_kernel_manager()
        if km.transport == "ipc":
            km.ip = os.path.join(_folder(), f"k{os.getpid()}-{next(_counter)}")
        return km

    def _start_spare(self) -> None:
        current: Any = getattr(self, "km", None)
        km = self.create_kernel_manager()  # nbclient's version also sets self.km
        self.km = current
        args = list(self.extra_arguments)
        if not any(a.startswith("--HistoryManager.hist_file") for a in args):
            args.append(HISTORY)
        env = {**os.environ, "NBGRADER_EXECUTION": "autograde"}
        run_sync(km.start_kernel)(extra_arguments=args, cwd=_folder(), env=env)
        _spares.append(km)

    def _take_spare(self) -> Any:
        while _spares:
            km = _spares.pop(0)  # the oldest: the most likely to be ready
            if run_sync(km.is_alive)():
                return km
            with contextlib.suppress(Exception):
                run_sync(km.cleanup_resources)()
        return None

    def preprocess_cell(
        self, cell: Any, resources: dict[str, Any], index: int
    ) -> tuple[Any, dict[str, Any]]:
        """nbclient's, with the cell named when the kernel dies in it (nbclient does not say)."""
        from nbclient.exceptions import DeadKernelError

        try:
            return super().preprocess_cell(cell, resources, index)  # type: ignore[no-any-return]
        except DeadKernelError as exc:
            notebook = resources.get("nbgrader", {}).get("notebook", "the notebook")
            raise DeadKernelError(
                f"{exc} [{KERNEL_DIED_IN} cell {index + 1} of {notebook}]"
            ) from exc

    @contextlib.contextmanager
    def setup_kernel(self, **kwargs: Any) -> Iterator[None]:
        kwargs.pop("cleanup_kc", None)
        finish_closing()
        spare = self._take_spare()
        if spare is None:
            self.km = self.create_kernel_manager()
            self.start_new_kernel(**kwargs)
        else:
            self.km = spare
        try:
            while len(_spares) < SPARES:
                self._start_spare()
        except Exception:  # no spare this time; the next notebook starts its own kernel
            self.log.warning("could not start a spare kernel", exc_info=True)
        try:
            self.start_new_kernel_client()
            if spare is not None:
                self._move_to_notebook_folder()
            yield
        finally:
            self._cleanup_kernel()

    async def async_start_new_kernel_client(self) -> Any:
        """nbclient's version, waiting for the kernel as :meth:`_until_ready` does."""
        assert self.km is not None
        try:
            self.kc = self.km.client()
            await ensure_async(self.kc.start_channels())
            await self._until_ready(self.kc, self.startup_timeout)
        except Exception:
            await self._async_cleanup_kernel()
            raise
        self.kc.allow_stdin = False
        await run_hook(self.on_notebook_start, notebook=self.nb)
        return self.kc

    start_new_kernel_client = run_sync(async_start_new_kernel_client)

    async def _until_ready(self, kc: Any, timeout: float | None) -> None:
        """Wait until the kernel answers ``kernel_info`` on its shell channel and IOPub delivers the
        idle status of that same request (so IOPub is connected and holds nothing older)."""
        deadline = time.monotonic() + (timeout if timeout is not None else 60.0)
        while True:
            msg_id = kc.kernel_info()
            try:
                reply = await self._message(kc.shell_channel, msg_id, deadline)
                await self._message(kc.iopub_channel, msg_id, deadline, idle=True)
            except Empty:
                if not await ensure_async(kc.is_alive()):
                    raise RuntimeError("Kernel died before replying to kernel_info") from None
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Kernel didn't respond in {timeout} seconds") from None
                continue
            handle = getattr(kc, "_handle_kernel_info_reply", None)
            if handle is not None:
                handle(reply)
            return

    @staticmethod
    async def _message(
        channel: Any, msg_id: str, deadline: float, *, idle: bool = False
    ) -> dict[str, Any]:
        """The first message on ``channel`` answering ``msg_id`` (with ``idle``, the idle status
        that ends it); ``Empty`` when the channel is quiet for a second or the deadline passes."""
        while True:
            wait = min(1.0, max(0.0, deadline - time.monotonic()))
            msg: dict[str, Any] = await ensure_async(channel.get_msg(timeout=wait))
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if not idle or (
                msg.get("msg_type") == "status"
                and msg.get("content", {}).get("execution_state") == "idle"
            ):
                return msg

    async def _async_cleanup_kernel(self) -> None:
        """Ask the kernel to shut down and let it exit on its own (see :func:`finish_closing`)."""
        km, kc = self.km, getattr(self, "kc", None)
        self.km = self.kc = None
        if kc is not None:
            await ensure_async(kc.stop_channels())
        if km is None:
            return
        try:
            if await ensure_async(km.is_alive()):
                km.stop_restarter()
                await ensure_async(km.request_shutdown())
                _closing.append((time.monotonic(), km))
                return
        except Exception:
            with contextlib.suppress(Exception):
                await ensure_async(km.shutdown_kernel(now=True))
        with contextlib.suppress(Exception):
            await ensure_async(km.cleanup_resources())

    _cleanup_kernel = run_sync(_async_cleanup_kernel)

    def _move_to_notebook_folder(self) -> None:
        path = self.resources.get("metadata", {}).get("path")
        if not path:
            return
        code = f"import os as _cw_os; _cw_os.chdir({os.path.abspath(path)!r}); del _cw_os"
        assert self.kc is not None
        reply = self.wait_for_reply(self.kc.execute(code, silent=True, store_history=False))
        if reply is None or reply["content"]["status"] != "ok":
            raise RuntimeError(f"could not move the kernel to {path}")


def finish_closing(*, wait: bool = False) -> None:
    """Clean up after the kernels of finished notebooks that have exited; kill those that have had
    :data:`GRACE` seconds (all of them, after up to that long, with ``wait``)."""
    run_sync(_finish_closing)(wait)


async def _finish_closing(wait: bool) -> None:
    while _closing:
        pending = []
        for asked, km in _closing:
            try:
                alive = await ensure_async(km.is_alive())
                if alive and time.monotonic() - asked >= GRACE:
                    await ensure_async(km.shutdown_kernel(now=True))
                    alive = False
                if not alive:
                    await ensure_async(km.cleanup_resources())
                    with contextlib.suppress(Exception):
                        await ensure_async(km.provisioner.wait())
            except Exception:
                alive = False
            if alive:
                pending.append((asked, km))
        _closing[:] = pending
        if not wait or not _closing:
            return
        await asyncio.sleep(0.05)


@atexit.register
def discard_spares() -> None:
    """Shut down the kernels started ahead (at exit, or when the fork server that made them died),
    and those still closing."""
    while _spares:
        km = _spares.pop()
        with contextlib.suppress(Exception):
            run_sync(km.shutdown_kernel)(now=True)
    with contextlib.suppress(Exception):
        finish_closing(wait=True)
