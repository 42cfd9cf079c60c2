"""Group commit: the service's one writer, storing whatever arrived together in one transaction."""

from __future__ import annotations

import asyncio
import logging

from ._db import Database, KeyConflict, NewEvent

log = logging.getLogger("courseware.hub")


class BatchWriter:
    """Group commit: requests queue their events; one task stores each queue-full together."""

    def __init__(self, db: Database, *, max_batch: int = 2000) -> None:
        self.db = db
        self.max_batch = max_batch
        self._queue: asyncio.Queue[tuple[list[NewEvent], asyncio.Future[list[int]]]] = (
            asyncio.Queue()
        )
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def write(self, events: list[NewEvent]) -> list[int]:
        """Store ``events`` (in one transaction with others queued meanwhile); their ids.

        Each request is stored whole or not at all: :class:`KeyConflict` if one of its events
        reuses an idempotency key for different content (nothing of it is stored then). If
        the shared transaction fails, each request is stored alone, so one request's bad
        events fail only that request.
        """
        future: asyncio.Future[list[int]] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((events, future))
        return await future

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            count = len(batch[0][0])
            while count < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
                count += len(batch[-1][0])
            try:
                results = await self.db.insert_requests([events for events, _ in batch])
            except Exception as e:
                if len(batch) == 1:
                    log.error("storing %d events failed: %s", count, e)
                    self._settle(batch[0][1], error=e)
                else:  # one request's events broke the shared transaction: each on its own
                    log.warning(
                        "storing %d events together failed (%s); one request at a time", count, e
                    )
                    for events, future in batch:
                        await self._store_alone(events, future)
            else:
                for (_, future), result in zip(batch, results, strict=True):
                    self._settle(future, result)
            for _ in batch:
                self._queue.task_done()

    async def _store_alone(self, events: list[NewEvent], future: asyncio.Future[list[int]]) -> None:
        try:
            (result,) = await self.db.insert_requests([events])
        except Exception as e:
            log.error("storing %d events failed: %s", len(events), e)
            self._settle(future, error=e)
        else:
            self._settle(future, result)

    @staticmethod
    def _settle(
        future: asyncio.Future[list[int]],
        result: list[int] | KeyConflict | None = None,
        error: Exception | None = None,
    ) -> None:
        if future.done():
            return
        if error is None and isinstance(result, KeyConflict):
            error = result
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result if isinstance(result, list) else [])

    async def stop(self) -> None:
        """Store everything queued or being stored (their replies can still go out), then stop."""
        await self._queue.join()
        if self._task is not None:
            self._task.cancel()
