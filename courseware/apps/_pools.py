"""Voila's pools of preheated kernels, refilled by us, and hot modules.

Hot modules (``hot_modules``, two by default) are preheated without anyone configuring them: the
first page view of a module gives it a Voila pool of one preheated kernel (with :data:`PREHEAT_CELL`,
so it too runs nothing of the module before its learner's request), kept for as long as the module
stays among the ``hot_modules`` viewed most recently; the least recently viewed one loses its pool
and its waiting kernel is shut down. Pools, configured or hot, refill like warm kernels (only once
arrivals have settled, one kernel at a time, not past the cap), and a pooled kernel is offered to a
view only once it is *ready* (its imports done, waiting for a request): a view never waits behind a
kernel still starting, it takes a warm kernel or starts its own.

Where the server can read its learner's saved work (``saved_work``, a :class:`SavedWork`), pooled
kernels are *pre-run*: the module's cells run before anyone asks (see :mod:`._prelaunch`), and an
entry is ready only while the learner has saved nothing since its cells ran; an out-of-date one is
shut down (and replaced once arrivals settle), and the view takes another kernel.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from traitlets import Dict, Integer
from voila.request_info_handler import RequestInfoSocketHandler
from voila.voila_kernel_manager import voila_kernel_manager_factory

from ._kernels import CountingKernelManager
from ._saved_work import Revision, SavedWork


def kernel_manager_class(
    *, preheat: bool, saved_work: SavedWork | None = None
) -> type[CountingKernelManager]:
    """The kernel manager for a server: Voila's pooling layer (if preheating) over the counting one;
    with ``saved_work``, its pooled kernels are pre-run."""
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
            self._revisions: dict[asyncio.Future[Any], Revision | None] = {}
            self.saved_work = saved_work  # pre-run kernels: their revision is checked
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

        def _entry(
            self, task: asyncio.Future[Any], now: Revision | None = None
        ) -> tuple[str, str | None]:
            """A pool entry's state (``starting``, ``ready`` or ``dead``) and its kernel id.
            A pre-run entry whose learner saved something since its cells ran (``now``, the
            revision at this moment, differs from the one taken before) is dead."""
            if not task.done():
                return "starting", None
            if task.cancelled() or task.exception() is not None:
                return "dead", None
            content = task.result()
            kernel_id: str = content["kernel_id"]
            if kernel_id not in self or content["task"].done():
                return "dead", kernel_id  # gone, or its notebook ran on without a request
            if kernel_id not in RequestInfoSocketHandler._waiters:
                return "starting", kernel_id
            if self.saved_work is not None and (now is None or self._revisions.get(task) != now):
                return "dead", kernel_id  # built from saves that have changed since
            return "ready", kernel_id  # waiting for its learner's request

        def _now(self) -> Revision | None:
            return self.saved_work.revision() if self.saved_work is not None else None

        def get_pool_size(self, notebook_name: str) -> int:
            """Ready kernels only: a view never waits behind one still starting. Dead ones
            (gone, or out of date) are cleared away now, and a refill scheduled."""
            now = self._now()
            if self._clear_dead(notebook_name, now):
                self.schedule_warm_fill()
            pool = self._pools.get(notebook_name, ())
            return sum(1 for task in pool if self._entry(task, now)[0] == "ready")

        def _clear_dead(self, notebook: str, now: Revision | None) -> bool:
            """Take the pool's dead entries out (shutting their kernels down); whether any were."""
            pool = self._pools.get(notebook, [])
            cleared = False
            for task in list(pool):
                state, kernel_id = self._entry(task, now)
                if state != "dead":
                    continue
                pool.remove(task)
                self._revisions.pop(task, None)
                cleared = True
                if kernel_id is not None and kernel_id in self:
                    self.log.info(
                        "pooled kernel %s of %s is out of date or gone: shutting it down",
                        kernel_id,
                        notebook,
                    )
                    self._shut_down_later(task, notebook)
            return cleared

        async def get_rendered_notebook(self, notebook_name: str, **kwargs: Any) -> Any:
            pool = self._pools.get(notebook_name, [])
            now = self._now()
            pool.sort(key=lambda task: self._entry(task, now)[0] != "ready")  # ready ones first
            if pool:
                self._revisions.pop(pool[0], None)  # Voila takes the first
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
            now = self._now()
            for notebook, size in self._pool_sizes():
                self._clear_dead(notebook, now)
                pool = self._pools.setdefault(notebook, [])
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
            """Start the pool's missing kernels and wait until they are ready (or fail). The
            revision is taken before: a save after it makes the new kernels out of date."""
            before = set(self._pools.get(notebook, []))
            revision = self._now()
            super().fill_if_needed(delay=0, notebook_name=notebook)
            for task in self._pools.get(notebook, []):
                if task not in before:
                    self._revisions[task] = revision
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
                while self._starting(notebook, task, revision) and time.monotonic() < deadline:
                    await asyncio.sleep(0.1)
                if task not in self._pools.get(notebook, []):
                    continue  # a view took it (ready by then) or it was dropped
                if (
                    self._entry(task, revision)[0] != "ready"
                    and notebook in self.kernel_pools_config
                ):
                    self.log.warning("a preheated kernel for %s never became ready", notebook)
                    self._fill_failed.add(notebook)  # no retrying in a loop; its next view will
                    return

        def _starting(
            self, notebook: str, task: asyncio.Future[Any], revision: Revision | None
        ) -> bool:
            """Still in the pool (not yet taken by a view) and still starting."""
            in_pool = task in self._pools.get(notebook, [])
            return in_pool and self._entry(task, revision)[0] == "starting"

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
                self._revisions.pop(task, None)
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
