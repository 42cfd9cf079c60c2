"""Kernels for module apps: a cap on live ones, preheated ones that wait for their learner, reclaiming.

Voila starts one kernel per page view and has no limit (Voila issue 617). The kernel manager here
counts *learner* kernels (started for a page, or taken from a preheated pool) and lets the page
handler refuse a view when the count reaches ``max_kernels``; a view is admitted with a
:class:`Ticket` before its kernel starts, so two views arriving together cannot both take the last
place. Preheated kernels waiting in a pool are not learner kernels: the pool is bounded on its own
(``pool_size`` per presented module).

Preheating (Voila's ``preheat_kernel``) runs a notebook before anyone asks for it. Our widgets read
the learner's saved answers when they are created, so a kernel that ran the module's cells in
advance would show whatever was saved at that moment (or, with per-request identity, someone else's
answers). :data:`PREHEAT_CELL` is put in front of the notebook of every preheated kernel: it imports
what the module needs (the slow part) and then blocks in ``voila.utils.wait_for_request()`` until a
page claims the kernel. No cell of the module runs before its learner's request.

Kernels of closed pages are reclaimed twice over: the page's shutdown beacon works again (see
:mod:`._serve`, Voila issue 1458), and jupyter_server's culler shuts down any kernel with no page
connected that has been idle for ``reclaim_after`` seconds (a phone that slept, a crashed tab).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import nbformat
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from traitlets import Integer
from voila.voila_kernel_manager import voila_kernel_manager_factory

from ..content import ContentError, load_module
from ..content._notebook import drop_link_cell

log = logging.getLogger(__name__)

PREHEAT_CELL = """\
import os as _cw_os
if _cw_os.environ.get("VOILA_PREHEAT") == "True":
    # Import what every module needs now, while no one is waiting ...
    import courseware.content, courseware.widgets
    from voila.utils import wait_for_request as _cw_wait_for_request
    # ... then run nothing of the module until a learner's request claims this kernel.
    _cw_wait_for_request()
    del _cw_wait_for_request
del _cw_os
"""
"""Put first in a preheated notebook: warm imports, then wait for the learner's request."""


@dataclass(eq=False)
class Ticket:
    """A page view admitted under the cap; it holds a place until its kernel is counted."""

    kernel_id: str | None = None


_TICKET: contextvars.ContextVar[Ticket | None] = contextvars.ContextVar(
    "courseware_ticket", default=None
)


@contextlib.contextmanager
def admitted_as(ticket: Ticket | None) -> Iterator[None]:
    """Within this block, a kernel started (or taken from the pool) belongs to ``ticket``."""
    token = _TICKET.set(ticket)
    try:
        yield
    finally:
        _TICKET.reset(token)


class CountingKernelManager(AsyncMappingKernelManager):
    """jupyter_server's kernel manager, knowing which kernels are pooled and which are learners'."""

    max_kernels = Integer(
        40, config=True, help="Live learner kernels at most; further page views get 'room is full'."
    )

    def __init__(self, **kwargs: Any) -> None:
        self._pool_ids: set[str] = set()
        self._tickets: set[Ticket] = set()
        super().__init__(**kwargs)  # type: ignore[no-untyped-call]

    async def start_kernel(  # type: ignore[override]
        self, *, kernel_id: str | None = None, **kwargs: Any
    ) -> str:
        """Start a kernel, noting whether it is for the preheated pool or a learner's page view."""
        kernel_id = kernel_id or str(uuid.uuid4())
        pooled = (kwargs.get("env") or {}).get("VOILA_PREHEAT") == "True"
        if pooled:
            self._pool_ids.add(kernel_id)
        else:
            ticket = _TICKET.get()
            if ticket is not None and ticket.kernel_id is None:
                ticket.kernel_id = kernel_id
        try:
            started: str = await super().start_kernel(kernel_id=kernel_id, **kwargs)
        except BaseException:
            self._pool_ids.discard(kernel_id)
            raise
        return started

    async def shutdown_kernel(  # type: ignore[override]
        self, kernel_id: str, *args: Any, **kwargs: Any
    ) -> None:
        self._pool_ids.discard(kernel_id)
        await super().shutdown_kernel(kernel_id, *args, **kwargs)  # type: ignore[no-untyped-call]

    def claimed_from_pool(self, kernel_id: str) -> None:
        """A pooled kernel now serves a page: it counts as a learner's from here on."""
        self._pool_ids.discard(kernel_id)
        ticket = _TICKET.get()
        if ticket is not None and ticket.kernel_id is None:
            ticket.kernel_id = kernel_id

    def pooled_kernel_count(self) -> int:
        return len(self._pool_ids & set(self.list_kernel_ids()))

    def learner_kernel_count(self) -> int:
        """Kernels serving pages, plus admitted views whose kernel has not started yet."""
        live = set(self.list_kernel_ids()) - self._pool_ids
        live |= {t.kernel_id for t in self._tickets if t.kernel_id is not None}
        waiting = sum(1 for t in self._tickets if t.kernel_id is None)
        return len(live) + waiting

    def admit(self) -> Ticket | None:
        """A ticket for one more page view, or ``None`` when the room is full."""
        if self.learner_kernel_count() >= self.max_kernels:
            return None
        ticket = Ticket()
        self._tickets.add(ticket)
        return ticket

    def release(self, ticket: Ticket) -> None:
        """The view's page has been sent; from now on its kernel (if any) is counted directly."""
        self._tickets.discard(ticket)

    def status(self) -> dict[str, int]:
        return {
            "kernels": len(self.list_kernel_ids()),
            "learner_kernels": self.learner_kernel_count(),
            "pooled_kernels": self.pooled_kernel_count(),
            "max_kernels": int(self.max_kernels),
        }


def kernel_manager_class(*, preheat: bool) -> type[CountingKernelManager]:
    """The kernel manager for a server: Voila's pooling layer (if preheating) over the counting one."""
    voila_layer: Any = voila_kernel_manager_factory(CountingKernelManager, preheat, 0)

    class CoursewareKernelManager(voila_layer):  # type: ignore[misc]
        async def get_rendered_notebook(self, *args: Any, **kwargs: Any) -> Any:
            result = await super().get_rendered_notebook(*args, **kwargs)
            self.claimed_from_pool(result[2])
            return result

    return CoursewareKernelManager


@lru_cache(maxsize=256)
def _module_title(directory: str, mtime_ns: int) -> str | None:
    try:
        return load_module(directory).spec.title
    except (ContentError, OSError) as exc:
        log.warning("no title for the page of %s: %s", directory, exc)
        return None


def module_title(directory: Path) -> str | None:
    """The module's title from its ``module.yaml`` (re-read when the file changes)."""
    try:
        mtime = (directory / "module.yaml").stat().st_mtime_ns
    except OSError:
        return None
    return _module_title(str(directory), mtime)


def make_prelaunch_hook(root: Path, preload: Sequence[str] = ()) -> Any:
    """Voila's ``prelaunch_hook``: title each page after its module, list the scripts to preload
    (``preload`` is read at each render: it may grow), preheat cell for pooled kernels.

    Voila calls the hook with the request handler for a page view and with ``None`` when it renders
    a notebook for the preheated pool, which is how the preheat cell goes only where it belongs.
    """

    def hook(handler: Any, notebook: Any, cwd: str) -> Any:
        title = module_title(root / cwd)
        if title and not notebook.metadata.get("title"):
            notebook.metadata["title"] = title
        notebook.metadata["courseware_preload"] = list(preload)
        drop_link_cell(notebook)  # the link to the app has no place inside it
        if handler is None:
            cell = nbformat.v4.new_code_cell(PREHEAT_CELL)  # type: ignore[no-untyped-call]
            cell.metadata["tags"] = ["courseware-preheat"]
            notebook.cells.insert(0, cell)
        return notebook

    return hook


def kernel_environment(ip: str) -> dict[str, str]:
    """Variables a preheated kernel needs to reach this server's request-info socket."""
    return {"VOILA_APP_IP": ip if ip not in ("", "0.0.0.0", "::") else "127.0.0.1"}
