"""Kernels for module apps: a cap on live ones, warm kernels for any module, reclaiming.

Voila starts one kernel per page view and has no limit (Voila issue 617). The kernel manager here
counts *learner* kernels (started for a page, or taken from a preheated pool) and lets the page
handler refuse a view when the count reaches ``max_kernels``; a view is admitted with a
:class:`Ticket` before its kernel starts, so two views arriving together cannot both take the last
place. Preheated kernels waiting in a pool are not learner kernels: the pool is bounded on its own
(``pool_size`` per presented module).

Warm kernels (``warm_kernels``, two by default) serve any module: started before anyone asks,
they import what every module needs (:data:`WARM_CODE`) and wait, not blocked, for a page view of
any notebook. A view that finds one ready takes it: the kernel moves to the notebook's folder and
takes on the request's environment (:func:`claim_code`), then Voila runs the notebook in it as in a
kernel of its own. A view that finds none starts a kernel at once, as plain Voila would: no view
ever waits for a warm kernel to finish starting. Refills wait until no view has arrived for
``warm_delay`` seconds and no admitted view is still starting its kernel, so a class arriving at
once is not slowed by kernels it cannot use. Modules preheated by Voila's pool (``serve.preheat``)
still take their own pool's kernels first. Preheated pools and hot modules (:mod:`._pools`)
refill the same way.

Kernels of closed pages are reclaimed twice over: the page's shutdown beacon works again (see
:mod:`._handlers`, Voila issue 1458), and jupyter_server's culler shuts down any kernel with no page
connected that has been idle for ``reclaim_after`` seconds (a phone that slept, a crashed tab).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from jupyter_server._tz import utcnow
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from traitlets import Float, Integer, TraitError, Unicode

log = logging.getLogger(__name__)


WARM_CODE = "import courseware, courseware.content, courseware.widgets, ipywidgets"
"""Run in a warm kernel before anyone asks: the imports every module's first cell pays for."""


def claim_code(path: str, env: dict[str, str]) -> str:
    """Code that turns a warm kernel into the kernel of a page view: its notebook's folder (where
    ``open_module()`` looks) and the request's environment (Voila's request variables, the hub
    identity and store the server was given)."""
    return (
        "import os as _cw_os, json as _cw_json\n"
        f"_cw_os.chdir({path!r})\n"
        f"_cw_os.environ.update(_cw_json.loads({json.dumps(env)!r}))\n"
        "del _cw_os, _cw_json\n"
    )


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

    warm_kernels = Integer(
        0, config=True, help="Kernels kept started, with the courseware imported, for any module."
    )
    warm_delay = Float(
        3.0, config=True, help="Seconds with no page view arriving before warm kernels refill."
    )
    warm_kernel_name = Unicode("python3", config=True, help="The kernel spec of warm kernels.")

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, **kwargs: Any) -> None:
        self.clock = clock
        """Seconds, for "no view has arrived for ``warm_delay``" (tests give their own)."""
        self._pool_ids: set[str] = set()
        self._tickets: set[Ticket] = set()
        self._warm_ready: list[str] = []  # started and imported, oldest first
        self._warm_starting: set[str] = set()
        self._claiming: set[str] = set()  # warm kernels being handed to a page view
        self._last_arrival = 0.0
        self._fill_task: asyncio.Task[None] | None = None
        self._fill_timer: asyncio.TimerHandle | None = None
        self._fill_again = False  # a fill ran when another was asked for: look again after
        self._closing = False
        super().__init__(**kwargs)  # type: ignore[no-untyped-call]

    async def start_kernel(  # type: ignore[override]
        self, *, kernel_id: str | None = None, **kwargs: Any
    ) -> str:
        """Start a kernel, noting whether it is for the preheated pool or a learner's page view;
        a learner's view takes a warm kernel when one is ready."""
        pooled = (kwargs.get("env") or {}).get("VOILA_PREHEAT") == "True"
        if not pooled and kernel_id is None:
            self._last_arrival = self.clock()
            warm = await self._claim_warm(kwargs)
            if warm is not None:
                return warm
        kernel_id = kernel_id or str(uuid.uuid4())
        if pooled:
            self._pool_ids.add(kernel_id)
        else:
            ticket = _TICKET.get()
            if ticket is not None and ticket.kernel_id is None:
                ticket.kernel_id = kernel_id
            self.schedule_warm_fill()
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
        with contextlib.suppress(ValueError):
            self._warm_ready.remove(kernel_id)
        await super().shutdown_kernel(kernel_id, *args, **kwargs)  # type: ignore[no-untyped-call]

    async def shutdown_all(self, now: bool = False) -> None:  # type: ignore[override]
        self._closing = True
        if self._fill_timer is not None:
            self._fill_timer.cancel()
        await super().shutdown_all(now=now)

    async def cull_kernel_if_idle(self, kernel_id: str) -> None:
        """The culler reclaims idle kernels of closed pages. A warm kernel waiting, or one being
        claimed by a page view this moment, is not one; nor is a kernel still starting (it has no
        activity time yet, which jupyter_server's culler would log as an error)."""
        if kernel_id in self._warm_ready or kernel_id in self._claiming:
            return
        kernel = self._kernels.get(kernel_id)
        if kernel is None:
            return
        try:
            kernel.last_activity  # noqa: B018 (reading it validates the trait)
        except TraitError:
            return
        await super().cull_kernel_if_idle(kernel_id)  # type: ignore[no-untyped-call]

    # -- warm kernels ----------------------------------------------------------------------------

    async def _claim_warm(self, kwargs: dict[str, Any]) -> str | None:
        """A ready warm kernel, made the kernel of this page view; ``None`` if there is none."""
        if kwargs.get("kernel_name", self.warm_kernel_name) != self.warm_kernel_name:
            return None
        live = set(self.list_kernel_ids())
        while self._warm_ready:
            kernel_id = self._warm_ready.pop(0)
            if kernel_id not in live:
                continue
            path = str(kwargs.get("path") or self.root_dir)
            env = {k: str(v) for k, v in (kwargs.get("env") or {}).items()}
            self.claimed_from_pool(kernel_id)
            self._claiming.add(kernel_id)
            try:
                cwd = self.cwd_for_path(path)  # type: ignore[no-untyped-call]
                await self._run(kernel_id, claim_code(cwd, env))
                # idle since it warmed up: now it is a page's kernel, active from this moment
                kernel: Any = self.get_kernel(kernel_id)
                kernel.last_activity = utcnow()
            except Exception as exc:  # a warm kernel that cannot take the view is not used
                self.log.warning("warm kernel %s could not be claimed: %s", kernel_id, exc)
                if kernel_id in self:
                    await self.shutdown_kernel(kernel_id, now=True)
                continue
            finally:
                self._claiming.discard(kernel_id)
            self.log.info("page view took warm kernel %s", kernel_id)
            self.schedule_warm_fill()
            return kernel_id
        return None

    async def _run(self, kernel_id: str, code: str, timeout: float = 60) -> None:
        """Run ``code`` in a kernel and wait for it to finish; raise if it failed."""
        client: Any = self.get_kernel(kernel_id).client()  # an AsyncKernelClient
        client.start_channels()
        try:
            await asyncio.wait_for(client.wait_for_ready(), timeout)
            reply = await client.execute(
                code, silent=True, store_history=False, reply=True, timeout=timeout
            )
            if reply["content"].get("status") != "ok":
                raise RuntimeError(
                    f"{reply['content'].get('ename')}: {reply['content'].get('evalue')}"
                )
        finally:
            client.stop_channels()

    def viewed(self, notebook: str) -> None:
        """A page view of ``notebook`` (relative to the root) was admitted: refills hold back."""
        self._last_arrival = self.clock()

    def _wants_fill(self) -> bool:
        return self.warm_kernels > 0

    async def _fill_pools(self) -> bool:
        """Refill preheated pools (none here); ``False`` if page views arriving stopped it."""
        return True

    def schedule_warm_fill(self, delay: float | None = None) -> None:
        """Refill the warm kernels (and preheated pools) once page views have stopped arriving for
        a while."""
        if not self._wants_fill() or self._closing:
            return
        if self._fill_timer is not None:
            self._fill_timer.cancel()
        loop = asyncio.get_event_loop()
        wait = self.warm_delay if delay is None else delay
        self._fill_timer = loop.call_later(wait, self._start_fill)

    def _start_fill(self) -> None:
        self._fill_timer = None
        if self._fill_task is None or self._fill_task.done():
            self._fill_task = asyncio.ensure_future(self._fill())
        elif not self._fill_again:
            # A fill is still running (starting a kernel): look again once it ends, or a pool
            # emptied meanwhile would wait for the next page view.
            self._fill_again = True
            self._fill_task.add_done_callback(self._refill_after)

    def _refill_after(self, _task: asyncio.Future[None]) -> None:
        self._fill_again = False
        self.schedule_warm_fill(0)

    def _arrivals_settled(self) -> bool:
        quiet = self.clock() - self._last_arrival >= self.warm_delay
        return quiet and not self._tickets  # no admitted view is still being rendered

    async def _fill(self) -> None:
        """Start warm kernels one at a time until there are ``warm_kernels``, backing off while
        page views arrive (a refill must never compete with a learner's own kernel). Preheated
        pools come first: a module's pooled kernel serves its next view fastest of all."""
        if not await self._fill_pools():
            return
        while not self._closing and len(self._warm_ready) < self.warm_kernels:
            if not await self._fill_pools():  # a pool emptied while a warm kernel started
                return
            if not self._arrivals_settled():
                self.schedule_warm_fill()
                return
            if self.learner_kernel_count() + len(self._warm_ready) >= self.max_kernels:
                return  # the room is full: warm kernels would only take memory
            kernel_id = str(uuid.uuid4())
            self._pool_ids.add(kernel_id)
            self._warm_starting.add(kernel_id)
            try:
                await super().start_kernel(
                    kernel_id=kernel_id,
                    kernel_name=self.warm_kernel_name,
                    path="",  # type: ignore[arg-type]
                    env=dict(os.environ),
                )
                await self._run(kernel_id, WARM_CODE)
            except Exception as exc:
                self.log.warning("could not start a warm kernel: %s", exc)
                self._pool_ids.discard(kernel_id)
                if kernel_id in self:
                    await super().shutdown_kernel(kernel_id, now=True)  # type: ignore[no-untyped-call]
                return
            finally:
                self._warm_starting.discard(kernel_id)
            if self._closing:
                return
            self._warm_ready.append(kernel_id)

    def claimed_from_pool(self, kernel_id: str) -> None:
        """A pooled kernel now serves a page: it counts as a learner's from here on."""
        self._pool_ids.discard(kernel_id)
        ticket = _TICKET.get()
        if ticket is not None and ticket.kernel_id is None:
            ticket.kernel_id = kernel_id

    def pooled_kernel_count(self) -> int:
        """Kernels in Voila's preheated pools (warm kernels are counted apart)."""
        warm = self._warm_starting | set(self._warm_ready)
        return len((self._pool_ids - warm) & set(self.list_kernel_ids()))

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
            "warm_kernels": len(self._warm_ready),
            "max_kernels": int(self.max_kernels),
        }
