"""Debounced autosave on the kernel's event loop, flushed when the kernel exits.

Text is synced to the kernel on every keystroke; saving waits until typing pauses so the store is
not written hundreds of times a minute. A kernel shut down mid-pause (Voila closes kernels when a
page closes) still keeps the last words, through an ``atexit`` flush.

The pause is timed by a :class:`Timer`: the kernel's running event loop by default, or any object
with the same ``call_later``, so a test drives time itself instead of sleeping against the clock.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import weakref
from collections.abc import Callable
from typing import Protocol


class Pending(Protocol):
    def cancel(self) -> None: ...


class Timer(Protocol):
    """What times the pause: ``call_later`` as on an asyncio event loop."""

    def call_later(self, delay: float, callback: Callable[[], object], /) -> Pending: ...


class Autosave:
    """Calls ``save`` once typing has paused for ``delay()`` seconds (at once without a loop).

    ``timer`` times the pause; without one, the running event loop does.
    """

    def __init__(
        self,
        save: Callable[[], object],
        delay: Callable[[], float],
        *,
        timer: Timer | None = None,
    ) -> None:
        self._save = save
        self._delay = delay
        self.timer = timer
        self._pending: Pending | None = None
        _live.add(self)

    @property
    def pending(self) -> bool:
        return self._pending is not None

    def touch(self) -> None:
        """Something changed: save after the pause (or now, with no timer, no loop or no delay)."""
        self.cancel()
        timer = self.timer
        if timer is None:
            try:
                timer = asyncio.get_running_loop()
            except RuntimeError:  # plain Python: no loop to wait on
                timer = None
        if timer is None or self._delay() <= 0:
            self._save()
            return
        self._pending = timer.call_later(self._delay(), self.flush)

    def cancel(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None

    def flush(self) -> None:
        """Save now (whatever is pending)."""
        self.cancel()
        self._save()


_live: weakref.WeakSet[Autosave] = weakref.WeakSet()


@atexit.register
def _flush_on_exit() -> None:
    for autosave in list(_live):
        with contextlib.suppress(Exception):
            autosave.flush()
