"""The hub service's forwarder: every stored event, as a statement, to the institution's LRS.

Two steps, both restartable at any moment. *Feed*: events with an id above the outbox's cursor
are read from the service's database, oldest first, turned into statements and written to the
outbox with that cursor in one transaction. *Send*: the oldest pending statements go to the LRS
in one batch; only when it answers are they marked delivered. If the LRS is down, or the service
is killed between the LRS storing a batch and the outbox marking it, the batch is sent again with
the same statement ids, which an LRS stores once (xAPI: a statement id is unique). A batch the
LRS refuses (4xx) is sent one statement at a time and only the refused ones are set aside.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Sequence
from typing import Any, Protocol

from .._private import user_data_dir
from ..store import Event
from ._lrs import LRSClient, LRSRefused, LRSUnavailable
from ._outbox import StatementOutbox
from ._settings import XAPIError, XAPISettings
from ._statements import Mapper

log = logging.getLogger("courseware.xapi")

MAX_SEND_BYTES = 4 * 1024 * 1024
"""Most statement bytes in one request (with text on, one reflection can be a megabyte)."""


def _no_constant(name: str) -> None:
    """NaN or Infinity stored before the service refused them: sent as null (as the service reads
    them), never as JSON no LRS could parse."""
    return None


class EventSource(Protocol):
    """What the forwarder reads: the hub service's ``Database``."""

    async def events_after(self, after: int, limit: int = 500) -> Sequence[Any]: ...

    async def select_events(
        self,
        *,
        learners: Sequence[str] | None = ...,
        module: str | None = ...,
        item: str | None = ...,
        kind: str | None = ...,
        kind_prefix: str | None = ...,
        latest_only: bool = ...,
    ) -> Sequence[Any]: ...


class Forwarder:
    """Feeds statements from ``source`` into an outbox and sends them to the LRS, until stopped."""

    def __init__(
        self,
        source: EventSource,
        settings: XAPISettings,
        *,
        poll: float = 1.0,
        retry: float = 1.0,
        max_retry: float = 30.0,
    ) -> None:
        if not settings.lrs:
            raise XAPIError("no LRS: set COURSEWARE_XAPI_LRS to the LRS's xAPI endpoint")
        self.source = source
        self.settings = settings
        self.mapper = Mapper(settings)
        self.client = LRSClient(settings.lrs, settings.username, settings.password)
        path = settings.outbox or user_data_dir() / "xapi-outbox.sqlite"
        self.outbox = StatementOutbox(path, settings.lrs)
        self.poll, self.retry, self.max_retry = poll, retry, max_retry
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self.run())

    async def stop(self, timeout: float = 5.0) -> None:
        """Stop after the current step (a send under way is waited for up to ``timeout`` s; if
        it is cut off, its batch is simply sent again next time, with the same ids)."""
        self._stop.set()
        if self._task is not None:
            done, _ = await asyncio.wait({self._task}, timeout=timeout)
            if not done:
                return  # the process is ending; SQLite's journal keeps the outbox whole
        self.outbox.close()

    async def run(self) -> None:
        delay = self.retry
        while not self._stop.is_set():
            try:
                await self.feed()
                sent = await asyncio.to_thread(self.send_pending)
                delay = self.retry
                if sent:
                    continue
            except LRSUnavailable as e:
                log.warning("LRS unavailable, statements wait in the outbox: %s", e)
                delay = min(delay * 2, self.max_retry)
                await self._sleep(delay)
                continue
            except Exception:  # never let the forwarder die with the service still up
                log.exception("xAPI forwarding failed; retrying")
                await self._sleep(self.max_retry)
                continue
            await self._sleep(self.poll)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    async def feed(self, limit: int = 500) -> int:
        """Turn events newer than the cursor into statements in the outbox; how many."""
        total = 0
        while True:
            rows = await self.source.events_after(self.outbox.cursor(), limit)
            if not rows:
                return total
            statements = []
            for row in rows:
                event = Event(
                    row.learner,
                    row.module,
                    row.item,
                    row.kind,
                    json.loads(row.value, parse_constant=_no_constant),
                    row.time,
                )
                started = None
                if event.kind == "timed.submit":
                    found = await self.source.select_events(
                        learners=[event.learner], module=event.module, item=event.item,
                        kind="timed.start",
                    )  # fmt: skip
                    started = found[0].time if found else None
                statements.append((int(row.id), self.mapper.statement(event, started=started)))
            await asyncio.to_thread(self.outbox.add, statements)
            total += len(statements)

    def send_pending(self) -> int:
        """Send the oldest pending statements, batch by batch; how many were delivered.

        Raises :class:`LRSUnavailable` (the rest stay pending, in order) when the LRS is away.
        """
        sent = 0
        while batch := self.outbox.pending(self.settings.batch, MAX_SEND_BYTES):
            try:
                self.client.send([s for _, s in batch])
            except LRSRefused as refused:
                if refused.status in (401, 403):
                    raise LRSUnavailable(str(refused)) from None  # credentials: wait, keep order
                self._one_by_one(batch)
            else:
                self.outbox.delivered([seq for seq, _ in batch])
            sent += len(batch)
        return sent

    def _one_by_one(self, batch: list[tuple[int, dict[str, Any]]]) -> None:
        for seq, statement in batch:
            try:
                self.client.send([statement])
            except LRSRefused as refused:
                if refused.status in (401, 403):
                    raise LRSUnavailable(str(refused)) from None
                if refused.status == 409:  # the LRS holds this id already: it is there
                    log.warning("LRS already holds statement %s (409)", statement["id"])
                    self.outbox.delivered([seq])
                    continue
                log.error(
                    "LRS refused statement %s (kept in the outbox): %s", statement["id"], refused
                )
                self.outbox.refused(seq, str(refused))
            else:
                self.outbox.delivered([seq])


def forwarder_from_environment(source: EventSource) -> Forwarder | None:
    """The service's forwarder if ``COURSEWARE_XAPI_LRS`` is set, else ``None``.

    A wrong setting stops the service's start with a message naming it.
    """
    import os

    if not os.environ.get("COURSEWARE_XAPI_LRS", "").strip():
        return None
    return Forwarder(source, XAPISettings.from_environment())
