"""The queries the service needs, written once for both dialects (``%s`` placeholders)."""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from ..errors import CoursewareError
from ..store import sql_filters
from ._migrations import MIGRATIONS, Migration
from ._rows import EventRow, KeyConflict, NewEvent, PollRow

_EVENT_COLUMNS = "id, learner, module, item, kind, value, time, schema, idem_key"


class _Conflicts(CoursewareError):
    """Raised inside a transaction to roll it back: these positions conflict."""

    def __init__(self, positions: list[int]) -> None:
        super().__init__(positions)
        self.positions = positions


class Database(ABC):
    """The queries the service needs, over one dialect's driver."""

    dialect: str

    @abstractmethod
    async def open(self) -> None:
        """Connect (and create the SQLite file if needed)."""

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement in its own transaction; return its rows."""

    @abstractmethod
    async def _migrate_steps(self, steps: Sequence[Migration]) -> int:
        """Apply ``steps`` not yet applied, each in one transaction, under a lock; new version."""

    async def insert_events(self, events: Sequence[NewEvent]) -> list[int | None]:
        """Store ``events`` in order in one transaction; their ids.

        A resent event (same learner and key, same content) returns the id it was stored under;
        a key already used for *different* content stores nothing and gives ``None`` (a
        conflict the caller reports), so a reused key never silently drops a write.
        """
        return await self._insert(events, strict=False)

    async def insert_requests(
        self, requests: Sequence[Sequence[NewEvent]]
    ) -> list[list[int] | KeyConflict]:
        """Store several requests' events in one transaction (group commit), each request whole
        or not at all: a request with a conflicting key (see :meth:`insert_events`) stores
        nothing and gets a :class:`KeyConflict` naming its first such event; the others are
        stored together. Their ids, or the conflict, per request."""
        owner = [r for r, events in enumerate(requests) for _ in events]
        offset = [0] * len(requests)
        for r in range(1, len(requests)):
            offset[r] = offset[r - 1] + len(requests[r - 1])
        left = list(range(len(owner)))  # positions (in all requests' events) still to store
        conflicts: dict[int, int] = {}
        while True:
            try:
                ids = await self._insert([_event_at(requests, owner, offset, i) for i in left])
                break
            except _Conflicts as found:  # rolled back: store the rest without those requests
                for position in sorted(found.positions):
                    where = left[position]
                    request = owner[where]
                    conflicts.setdefault(request, where - offset[request])
                left = [i for i in left if owner[i] not in conflicts]
        stored = {where: int(i or 0) for where, i in zip(left, ids, strict=True)}  # none is None
        return [
            KeyConflict(conflicts[r])
            if r in conflicts
            else [stored[offset[r] + k] for k in range(len(events))]
            for r, events in enumerate(requests)
        ]

    @abstractmethod
    async def _insert(self, events: Sequence[NewEvent], strict: bool = True) -> list[int | None]:
        """Store ``events`` in one transaction; ``strict``: roll it back and raise
        :class:`_Conflicts` if any key conflicts (else give ``None`` for each such event)."""

    def _in(self, column: str, values: Sequence[str]) -> tuple[str, list[Any]]:
        """``column IN (...)`` in this dialect, with its parameters."""
        marks = ", ".join(["%s"] * len(values))
        return f"{column} IN ({marks})", list(values)

    async def migrate(self) -> int:
        """Bring the schema up to date; return its version."""
        return await self._migrate_steps(MIGRATIONS)

    async def schema_version(self) -> int:
        rows = await self._fetch("SELECT MAX(version) FROM courseware_schema")
        return int(rows[0][0] or 0)

    async def select_events(
        self,
        *,
        learners: Sequence[str] | None = None,
        module: str | None = None,
        item: str | None = None,
        kind: str | None = None,
        kind_prefix: str | None = None,
        latest_only: bool = False,
    ) -> list[EventRow]:
        """Events matching every filter (``learners=None``: everyone), oldest first."""
        where: list[str] = []
        params: list[Any] = []
        if learners is not None:
            if not learners:
                return []
            if len(learners) == 1:
                where.append("learner = %s")
                params.append(learners[0])
            else:
                clause, values = self._in("learner", learners)
                where.append(clause)
                params += values
        conditions, values = sql_filters(
            "%s", module=module, item=item, kind=kind, kind_prefix=kind_prefix
        )
        where += conditions
        params += values
        sql = f"SELECT {_EVENT_COLUMNS} FROM events"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC LIMIT 1" if latest_only else " ORDER BY id"
        rows = await self._fetch(sql, params)
        return [EventRow(*row) for row in rows]

    async def events_after(self, after: int, limit: int = 500) -> list[EventRow]:
        """Everyone's events with an id above ``after``, oldest first (the xAPI forwarder's feed:
        the service's one writer commits in id order, so nothing is skipped)."""
        sql = f"SELECT {_EVENT_COLUMNS} FROM events WHERE id > %s ORDER BY id LIMIT %s"
        return [EventRow(*row) for row in await self._fetch(sql, (after, limit))]

    async def learners_by_item(
        self, learners: Sequence[str], module: str | None
    ) -> list[tuple[str, str, str, int]]:
        """(module, item, kind, distinct learners) among ``learners``."""
        if not learners:
            return []
        clause, params = self._in("learner", learners)
        sql = f"SELECT module, item, kind, COUNT(DISTINCT learner) FROM events WHERE {clause}"
        if module is not None:
            sql += " AND module = %s"
            params.append(module)
        sql += " GROUP BY module, item, kind ORDER BY module, item, kind"
        return [(str(m), str(i), str(k), int(n)) for m, i, k, n in await self._fetch(sql, params)]

    async def create_poll(self, group: str, question: str, options: list[str], by: str) -> int:
        rows = await self._fetch(
            "INSERT INTO polls (grp, question, options, created_by, created)"
            " VALUES (%s, %s, %s, %s, %s) RETURNING id",
            (group, question, json.dumps(options, ensure_ascii=False), by, time.time()),
        )
        return int(rows[0][0])

    async def polls(self, *, poll_id: int | None = None, group: str | None = None) -> list[PollRow]:
        sql = "SELECT id, grp, question, options, created_by, created, closed FROM polls"
        if poll_id is not None:
            rows = await self._fetch(sql + " WHERE id = %s", (poll_id,))
        else:
            rows = await self._fetch(sql + " WHERE grp = %s ORDER BY id", (group,))
        return [PollRow(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5], r[6]) for r in rows]

    async def close_poll(self, poll_id: int) -> None:
        await self._fetch(
            "UPDATE polls SET closed = %s WHERE id = %s AND closed IS NULL RETURNING id",
            (time.time(), poll_id),
        )


def _event_at(
    requests: Sequence[Sequence[NewEvent]], owner: list[int], offset: list[int], where: int
) -> NewEvent:
    return requests[owner[where]][where - offset[owner[where]]]


def _insert_sql() -> str:
    return (
        "INSERT INTO events (learner, module, item, kind, value, time, schema, idem_key, received)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (learner, idem_key) DO NOTHING RETURNING id"
    )


def _insert_params(event: NewEvent, received: float) -> tuple[Any, ...]:
    return (
        event.learner,
        event.module,
        event.item,
        event.kind,
        event.value,
        event.time,
        event.schema,
        event.key,
        received,
    )


_EXISTING = (
    "SELECT id, module, item, kind, value, time, schema FROM events"
    " WHERE learner = %s AND idem_key = %s"
)


def _same_event(row: Sequence[Any], event: NewEvent) -> int | None:
    """The stored row's id if it holds ``event``'s content, else ``None`` (a key conflict)."""
    stored = (row[1], row[2], row[3], row[4], float(row[5]), int(row[6]))
    sent = (event.module, event.item, event.kind, event.value, event.time, event.schema)
    return int(row[0]) if stored == sent else None
