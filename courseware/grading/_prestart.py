"""nbgrader's ``Execute`` with the next kernel already starting: used only by parallel autograde.

A fresh kernel for every notebook is what makes autograde fair, and starting one (a new Python
process importing IPython) is most of what grading an ordinary submission costs. This preprocessor
keeps that rule (every notebook still gets a kernel no other notebook has used) but launches the next
notebook's kernel as soon as the current one is set up, so it boots while the current notebook runs.

The spare kernel starts in a neutral folder with ``NBGRADER_EXECUTION=autograde`` (what nbgrader
sets while autograding) and is moved to the notebook's folder before the first cell runs. Every
kernel manager gets its own IPC socket prefix, so two kernels of one worker never share a socket.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import tempfile
from collections.abc import Iterator
from typing import Any

from jupyter_core.utils import run_sync
from nbgrader.preprocessors import Execute

_counter = itertools.count()
_spares: list[Any] = []
_home = ""
HISTORY = "--HistoryManager.hist_file=:memory:"
SPARES = 1  # kernels started ahead per worker


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
    """Execute each notebook in a kernel started while the previous notebook was running."""

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

    @contextlib.contextmanager
    def setup_kernel(self, **kwargs: Any) -> Iterator[None]:
        kwargs.pop("cleanup_kc", None)
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

    def _move_to_notebook_folder(self) -> None:
        path = self.resources.get("metadata", {}).get("path")
        if not path:
            return
        code = f"import os as _cw_os; _cw_os.chdir({os.path.abspath(path)!r}); del _cw_os"
        assert self.kc is not None
        reply = self.wait_for_reply(self.kc.execute(code, silent=True, store_history=False))
        if reply is None or reply["content"]["status"] != "ok":
            raise RuntimeError(f"could not move the kernel to {path}")


@atexit.register
def _shutdown_spares() -> None:
    for km in _spares:
        with contextlib.suppress(Exception):
            run_sync(km.shutdown_kernel)(now=True)
