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

Warm kernels (``warm_kernels``, two by default) serve any module: started before anyone asks,
they import what every module needs (:data:`WARM_CODE`) and wait, not blocked, for a page view of
any notebook. A view that finds one ready takes it: the kernel moves to the notebook's folder and
takes on the request's environment (:func:`claim_code`), then Voila runs the notebook in it as in a
kernel of its own. A view that finds none starts a kernel at once, as plain Voila would: no view
ever waits for a warm kernel to finish starting. Refills wait until no view has arrived for
``warm_delay`` seconds and no admitted view is still starting its kernel, so a class arriving at
once is not slowed by kernels it cannot use. Modules preheated by Voila's pool (``serve.preheat``)
still take their own pool's kernels first.

Hot modules (``hot_modules``, two by default) are preheated without anyone configuring them: the
first page view of a module gives it a Voila pool of one preheated kernel (with :data:`PREHEAT_CELL`,
so it too runs nothing of the module before its learner's request), kept for as long as the module
stays among the ``hot_modules`` viewed most recently; the least recently viewed one loses its pool
and its waiting kernel is shut down. Pools, configured or hot, refill like warm kernels (only once
arrivals have settled, one kernel at a time, not past the cap), and a pooled kernel is offered to a
view only once it is *ready* (its imports done, waiting for a request): a view never waits behind a
kernel still starting, it takes a warm kernel or starts its own.

Kernels of closed pages are reclaimed twice over: the page's shutdown beacon works again (see
:mod:`._serve`, Voila issue 1458), and jupyter_server's culler shuts down any kernel with no page
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
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import nbformat
from jupyter_server._tz import utcnow
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from traitlets import Dict, Float, Integer, TraitError, Unicode
from voila.request_info_handler import RequestInfoSocketHandler
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

    def __init__(self, **kwargs: Any) -> None:
        self._pool_ids: set[str] = set()
        self._tickets: set[Ticket] = set()
        self._warm_ready: list[str] = []  # started and imported, oldest first
        self._warm_starting: set[str] = set()
        self._claiming: set[str] = set()  # warm kernels being handed to a page view
        self._last_arrival = 0.0
        self._fill_task: asyncio.Task[None] | None = None
        self._fill_timer: asyncio.TimerHandle | None = None
        self._closing = False
        super().__init__(**kwargs)  # type: ignore[no-untyped-call]

    async def start_kernel(  # type: ignore[override]
        self, *, kernel_id: str | None = None, **kwargs: Any
    ) -> str:
        """Start a kernel, noting whether it is for the preheated pool or a learner's page view;
        a learner's view takes a warm kernel when one is ready."""
        pooled = (kwargs.get("env") or {}).get("VOILA_PREHEAT") == "True"
        if not pooled and kernel_id is None:
            self._last_arrival = time.monotonic()
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
        self._last_arrival = time.monotonic()

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

    def _arrivals_settled(self) -> bool:
        quiet = time.monotonic() - self._last_arrival >= self.warm_delay
        return quiet and not self._tickets  # no admitted view is still being rendered

    async def _fill(self) -> None:
        """Start warm kernels one at a time until there are ``warm_kernels``, backing off while
        page views arrive (a refill must never compete with a learner's own kernel). Preheated
        pools come first: a module's pooled kernel serves its next view fastest of all."""
        if not await self._fill_pools():
            return
        while not self._closing and len(self._warm_ready) < self.warm_kernels:
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


def kernel_manager_class(*, preheat: bool) -> type[CountingKernelManager]:
    """The kernel manager for a server: Voila's pooling layer (if preheating) over the counting one."""
    voila_layer: Any = voila_kernel_manager_factory(CountingKernelManager, preheat, 0)
    if not preheat:
        manager: type[CountingKernelManager] = voila_layer
        return manager

    class CoursewareKernelManager(voila_layer):  # type: ignore[misc]
        """Voila's pools of preheated kernels, refilled when arrivals settle, offered only when
        ready, and made on the fly for the ``hot_modules`` viewed most recently."""

        hot_modules = Integer(
            0, config=True, help="Recently viewed modules that keep one preheated kernel each."
        )
        hot_env = Dict(config=True, help="Environment variables of hot modules' kernels.")

        def __init__(self, **kwargs: Any) -> None:
            self._hot: OrderedDict[str, None] = OrderedDict()  # least recently viewed first
            self._fill_failed: set[str] = set()
            self._dropping: set[asyncio.Future[None]] = set()
            super().__init__(**kwargs)
            self._configured = set(self.kernel_pools_config) - {"default"}

        # -- Voila's pool, refilled by us --------------------------------------------------

        def fill_if_needed(self, *args: Any, **kwargs: Any) -> None:
            """Voila asks at start and after every take; refills wait until arrivals settle."""
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                return  # at start: the server's first fill comes once the loop runs
            self.schedule_warm_fill()

        def _entry(self, task: asyncio.Future[Any]) -> tuple[str, str | None]:
            """A pool entry's state (``starting``, ``ready`` or ``dead``) and its kernel id."""
            if not task.done():
                return "starting", None
            if task.cancelled() or task.exception() is not None:
                return "dead", None
            content = task.result()
            kernel_id: str = content["kernel_id"]
            if kernel_id not in self or content["task"].done():
                return "dead", kernel_id  # gone, or its notebook ran on without a request
            if kernel_id in RequestInfoSocketHandler._waiters:
                return "ready", kernel_id  # imports done, waiting for its learner's request
            return "starting", kernel_id

        def get_pool_size(self, notebook_name: str) -> int:
            """Ready kernels only: a view never waits behind one still starting."""
            pool = self._pools.get(notebook_name, ())
            return sum(1 for task in pool if self._entry(task)[0] == "ready")

        async def get_rendered_notebook(self, notebook_name: str, **kwargs: Any) -> Any:
            pool = self._pools.get(notebook_name, [])
            pool.sort(key=lambda task: self._entry(task)[0] != "ready")  # ready ones first
            result = await super().get_rendered_notebook(notebook_name, **kwargs)
            self.claimed_from_pool(result[2])
            return result

        def _pool_sizes(self) -> list[tuple[str, int]]:
            """Pools wanted, hot modules most recently viewed first, then configured ones."""
            config = self.kernel_pools_config
            order = [*reversed(self._hot), *sorted(self._configured)]
            return [
                (name, int(config[name].get("pool_size", 1))) for name in order if name in config
            ]

        def _pool_wanting(self) -> str | None:
            """The first pool short of kernels (dead entries are cleared away first)."""
            for notebook, size in self._pool_sizes():
                pool = self._pools.setdefault(notebook, [])
                for task in list(pool):
                    state, kernel_id = self._entry(task)
                    if state == "dead":
                        pool.remove(task)
                        if kernel_id is not None and kernel_id in self:
                            self._shut_down_later(task, notebook)
                if len(pool) < size and notebook not in self._fill_failed:
                    return notebook
            return None

        def _wants_fill(self) -> bool:
            return super()._wants_fill() or self._pool_wanting() is not None

        async def _fill_pools(self) -> bool:
            while not self._closing and (notebook := self._pool_wanting()) is not None:
                if not self._arrivals_settled():
                    self.schedule_warm_fill()
                    return False
                if self.learner_kernel_count() >= self.max_kernels:
                    return True  # the room is full: a pooled kernel would only take memory
                await self._fill_pool(notebook)
            return True

        async def _fill_pool(self, notebook: str) -> None:
            """Start the pool's missing kernels and wait until they are ready (or fail)."""
            super().fill_if_needed(delay=0, notebook_name=notebook)
            for task in [t for t in self._pools.get(notebook, []) if not t.done()]:
                try:
                    await task
                except Exception as exc:
                    self.log.warning("could not preheat a kernel for %s: %s", notebook, exc)
                    with contextlib.suppress(ValueError):
                        self._pools.get(notebook, []).remove(task)
                    self._fill_failed.add(notebook)  # tried again at its next page view
                    return
                deadline = time.monotonic() + 120
                while self._entry(task)[0] == "starting" and time.monotonic() < deadline:
                    await asyncio.sleep(0.1)
                if self._entry(task)[0] != "ready" and notebook in self.kernel_pools_config:
                    self.log.warning("a preheated kernel for %s never became ready", notebook)
                    self._fill_failed.add(notebook)  # no retrying in a loop; its next view will
                    return

        # -- hot modules -------------------------------------------------------------------

        def viewed(self, notebook: str) -> None:
            """A view makes its module hot: a pool of one for its next view, while it stays
            among the ``hot_modules`` viewed most recently."""
            super().viewed(notebook)
            self._fill_failed.discard(notebook)
            if self.hot_modules <= 0 or notebook in self._configured:
                return
            if not self._is_module_notebook(notebook):
                return
            if notebook in self._hot:
                self._hot.move_to_end(notebook)
                return
            self._hot[notebook] = None
            self.kernel_pools_config[notebook] = {
                "pool_size": 1,
                "kernel_env_variables": dict(self.hot_env),
            }
            while len(self._hot) > self.hot_modules:
                dropped, _ = self._hot.popitem(last=False)
                self._drop_pool(dropped)
            self.schedule_warm_fill()

        def _is_module_notebook(self, notebook: str) -> bool:
            """Only a module's notebook, named as the pool names it, becomes hot (not any URL)."""
            root = Path(self.root_dir).resolve()
            path = (root / notebook).resolve()
            return (
                path.suffix == ".ipynb"
                and path.is_relative_to(root)
                and path.relative_to(root).as_posix() == notebook
                and path.is_file()
                and (path.parent / "module.yaml").is_file()
            )

        def _drop_pool(self, notebook: str) -> None:
            """No longer hot: no pool, and its waiting (or starting) kernel is shut down."""
            self.kernel_pools_config.pop(notebook, None)
            self._fill_failed.discard(notebook)
            for task in self._pools.pop(notebook, []):
                self._shut_down_later(task, notebook)

        def _shut_down_later(self, task: asyncio.Future[Any], notebook: str) -> None:
            future = asyncio.ensure_future(self._shut_down_pooled(task, notebook))
            self._dropping.add(future)
            future.add_done_callback(self._dropping.discard)

        async def _shut_down_pooled(self, task: asyncio.Future[Any], notebook: str) -> None:
            try:
                content = await task
            except Exception:
                return  # it never started
            content["task"].cancel()  # the render waiting for a request that will not come
            kernel_id = content["kernel_id"]
            if kernel_id in self:
                self.log.info("shutting down pooled kernel %s of %s", kernel_id, notebook)
                await self.shutdown_kernel(kernel_id, now=True)

        def pooled_kernel_count(self) -> int:
            """Pooled kernels ready for a page view."""
            return sum(self.get_pool_size(notebook) for notebook in list(self._pools))

        def status(self) -> dict[str, int]:
            return {**super().status(), "hot_modules": len(self._hot)}

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
