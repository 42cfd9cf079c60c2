"""The service's database: PostgreSQL in production, SQLite for a single-machine hub.

Both speak the same SQL here (``ON CONFLICT``, ``RETURNING``), so one set of queries serves both;
the only differences are the driver (psycopg's async pool, or stdlib ``sqlite3`` on one worker
thread) and how an auto-numbered key is spelled in the migrations.

The schema is versioned: ``courseware_schema`` records each applied step, and :data:`MIGRATIONS`
lists the steps in order. Step 1 is exactly the table the foundation's ``SQLAlchemyStore``
creates, so a deployment that began with a plain PostgreSQL URL is upgraded in place.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._private import private_sqlite

__all__ = [
    "MIGRATIONS",
    "Database",
    "EventRow",
    "KeyConflict",
    "NewEvent",
    "PollRow",
    "SchemaTooNew",
    "open_database",
]


@dataclass(frozen=True)
class Migration:
    """One ordered schema step; ``{serial}`` in a statement is the dialect's auto-numbered key."""

    version: int
    description: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "events: the append-only log (the foundation's SQLAlchemyStore table)",
        (
            """CREATE TABLE IF NOT EXISTS events (
                id {serial},
                learner TEXT NOT NULL,
                module TEXT NOT NULL,
                item TEXT NOT NULL,
                kind TEXT NOT NULL,
                value TEXT NOT NULL,
                time DOUBLE PRECISION NOT NULL,
                schema INTEGER NOT NULL
            )""",
            "CREATE INDEX IF NOT EXISTS events_lookup ON events (learner, module, item, kind)",
        ),
    ),
    Migration(
        2,
        "idempotency keys and receipt time, so a resent event is stored once",
        (
            "ALTER TABLE events ADD COLUMN idem_key TEXT",
            "ALTER TABLE events ADD COLUMN received DOUBLE PRECISION",
            "CREATE UNIQUE INDEX IF NOT EXISTS events_idem ON events (learner, idem_key)",
        ),
    ),
    Migration(
        3,
        "polls run by seminar leads for a hub group",
        (
            """CREATE TABLE IF NOT EXISTS polls (
                id {serial},
                grp TEXT NOT NULL,
                question TEXT NOT NULL,
                options TEXT NOT NULL,
                created_by TEXT NOT NULL,
                created DOUBLE PRECISION NOT NULL,
                closed DOUBLE PRECISION
            )""",
            "CREATE INDEX IF NOT EXISTS polls_group ON polls (grp)",
            "CREATE INDEX IF NOT EXISTS events_module_kind ON events (module, item, kind)",
        ),
    ),
)
"""Every schema step in order; append new steps, never edit a released one."""

_SERIAL = {
    "postgresql": "BIGSERIAL PRIMARY KEY",
    "sqlite": "INTEGER PRIMARY KEY AUTOINCREMENT",
}

_EVENT_COLUMNS = "id, learner, module, item, kind, value, time, schema, idem_key"


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer courseware than this one."""


class KeyConflict(Exception):
    """A request's event reuses an idempotency key for other content: none of it is stored."""

    def __init__(self, index: int) -> None:
        super().__init__(f"events[{index}].key: already used for a different event")
        self.index = index


class _Conflicts(Exception):
    """Raised inside a transaction to roll it back: these positions conflict."""

    def __init__(self, positions: list[int]) -> None:
        super().__init__(positions)
        self.positions = positions


@dataclass(frozen=True)
class NewEvent:
    """An event as a client sends it, already validated."""

    learner: str
    module: str
    item: str
    kind: str
    value: str  # JSON text
    time: float
    schema: int
    key: str | None


def _legacy_constant(name: str) -> None:
    """NaN or Infinity stored before the service refused them: read back as ``null``."""
    return None


@dataclass(frozen=True)
class EventRow:
    id: int
    learner: str
    module: str
    item: str
    kind: str
    value: str
    time: float
    schema: int
    key: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "learner": self.learner,
            "module": self.module,
            "item": self.item,
            "kind": self.kind,
            "value": json.loads(self.value, parse_constant=_legacy_constant),
            "time": self.time,
            "schema": self.schema,
            "key": self.key,
        }


@dataclass(frozen=True)
class PollRow:
    id: int
    group: str
    question: str
    options: list[str]
    created_by: str
    created: float
    closed: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "group": self.group,
            "question": self.question,
            "options": self.options,
            "created_by": self.created_by,
            "created": self.created,
            "open": self.closed is None,
        }


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
        for column, value in (("module", module), ("item", item), ("kind", kind)):
            if value is not None:
                where.append(f"{column} = %s")
                params.append(value)
        if kind_prefix is not None:
            where.append("substr(kind, 1, %s) = %s")
            params += [len(kind_prefix), kind_prefix]
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


_VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS courseware_schema"
    " (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied DOUBLE PRECISION NOT NULL)"
)


def _check_not_newer(current: int) -> None:
    known = MIGRATIONS[-1].version
    if current > known:
        raise SchemaTooNew(
            f"the database schema is at version {current}, but this courseware knows only up to"
            f" {known}: upgrade courseware before starting the service"
        )


class PostgresDatabase(Database):
    """PostgreSQL through psycopg 3's async connection pool."""

    dialect = "postgresql"

    def __init__(self, conninfo: str, *, min_size: int = 2, max_size: int = 8) -> None:
        from psycopg_pool import AsyncConnectionPool

        self.conninfo = conninfo
        self._pool = AsyncConnectionPool(
            conninfo, min_size=min_size, max_size=max_size, open=False, kwargs={"autocommit": True}
        )

    async def open(self) -> None:
        await self._pool.open(wait=True, timeout=30)

    async def close(self) -> None:
        await self._pool.close()

    def _in(self, column: str, values: Sequence[str]) -> tuple[str, list[Any]]:
        return f"{column} = ANY(%s)", [list(values)]

    async def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        async with self._pool.connection() as conn:
            cur = await conn.execute(sql, params)
            return list(await cur.fetchall()) if cur.description else []

    async def _migrate_steps(self, steps: Sequence[Migration]) -> int:
        async with self._pool.connection() as conn, conn.transaction():
            # One migrator at a time, even with several service replicas starting together.
            await conn.execute("SELECT pg_advisory_xact_lock(727011)")
            await conn.execute(_VERSION_TABLE)
            cur = await conn.execute("SELECT COALESCE(MAX(version), 0) FROM courseware_schema")
            row = await cur.fetchone()
            current = int(row[0]) if row else 0
            _check_not_newer(current)
            for step in steps:
                if step.version <= current:
                    continue
                for statement in step.statements:
                    await conn.execute(statement.format(serial=_SERIAL[self.dialect]))
                await conn.execute(
                    "INSERT INTO courseware_schema (version, description, applied)"
                    " VALUES (%s, %s, %s)",
                    (step.version, step.description, time.time()),
                )
                current = step.version
            return current

    async def _insert(self, events: Sequence[NewEvent], strict: bool = True) -> list[int | None]:
        received = time.time()
        ids: list[int | None] = []
        if not events:
            return ids
        async with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            await cur.executemany(
                _insert_sql(), [_insert_params(e, received) for e in events], returning=True
            )
            while True:
                row = await cur.fetchone()
                ids.append(int(row[0]) if row else None)
                if not cur.nextset():
                    break
            for index, found in enumerate(ids):
                if found is None:  # a resent event: the id it was stored under (if the same)
                    await cur.execute(_EXISTING, (events[index].learner, events[index].key))
                    row = await cur.fetchone()
                    assert row is not None
                    ids[index] = _same_event(row, events[index])
            conflicting = [i for i, found in enumerate(ids) if found is None]
            if strict and conflicting:
                raise _Conflicts(conflicting)  # leaving the block rolls the transaction back
        return ids


class SQLiteDatabase(Database):
    """SQLite for a single-machine hub: stdlib ``sqlite3`` on one worker thread (WAL mode)."""

    dialect = "sqlite"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="courseware-sqlite")
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)  # a deployment's folder: its mode
            private_sqlite(self.path)  # everyone's responses: the service's alone (0600)
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA busy_timeout = 30000")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            self._db = db
        return self._db

    async def _run(self, work: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, work)

    async def open(self) -> None:
        await self._run(self._connection)

    async def close(self) -> None:
        def close() -> None:
            if self._db is not None:
                self._db.close()
                self._db = None

        await self._run(close)
        self._executor.shutdown(wait=True)

    @staticmethod
    def _sql(sql: str) -> str:
        return sql.replace("%s", "?")

    async def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        def fetch() -> list[tuple[Any, ...]]:
            return list(self._connection().execute(self._sql(sql), tuple(params)).fetchall())

        result: list[tuple[Any, ...]] = await self._run(fetch)
        return result

    async def _migrate_steps(self, steps: Sequence[Migration]) -> int:
        def migrate() -> int:
            db = self._connection()
            db.execute("BEGIN IMMEDIATE")  # the write lock: one migrator at a time
            try:
                db.execute(_VERSION_TABLE)
                current = int(
                    db.execute(
                        "SELECT COALESCE(MAX(version), 0) FROM courseware_schema"
                    ).fetchone()[0]
                )
                _check_not_newer(current)
                for step in steps:
                    if step.version <= current:
                        continue
                    for statement in step.statements:
                        db.execute(statement.format(serial=_SERIAL[self.dialect]))
                    db.execute(
                        "INSERT INTO courseware_schema (version, description, applied)"
                        " VALUES (?, ?, ?)",
                        (step.version, step.description, time.time()),
                    )
                    current = step.version
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return current

        version: int = await self._run(migrate)
        return version

    async def _insert(self, events: Sequence[NewEvent], strict: bool = True) -> list[int | None]:
        received = time.time()
        sql = self._sql(_insert_sql())
        existing = self._sql(_EXISTING)

        def insert() -> list[int | None]:
            db = self._connection()
            ids: list[int | None] = []
            db.execute("BEGIN IMMEDIATE")
            try:
                for event in events:
                    row = db.execute(sql, _insert_params(event, received)).fetchone()
                    if row is not None:
                        ids.append(int(row[0]))
                    else:
                        found = db.execute(existing, (event.learner, event.key)).fetchone()
                        ids.append(_same_event(found, event))
                conflicting = [i for i, found in enumerate(ids) if found is None]
                if strict and conflicting:
                    raise _Conflicts(conflicting)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return ids

        result: list[int | None] = await self._run(insert)
        return result


def open_database(url: str) -> Database:
    """A :class:`Database` for ``postgresql://…`` (any ``+driver`` suffix ignored) or SQLite.

    SQLite is given as ``sqlite:///path`` or a plain file path.
    """
    if url.startswith(("postgresql://", "postgres://", "postgresql+")):
        _scheme, rest = url.split("://", 1)
        return PostgresDatabase("postgresql://" + rest)
    if url.startswith("sqlite:///"):
        return SQLiteDatabase(url.removeprefix("sqlite:///"))
    if "://" in url:
        raise ValueError(
            f"unsupported database URL {url.split('://', 1)[0]}://…:"
            " use postgresql://user:password@host/db or sqlite:///path"
        )
    return SQLiteDatabase(url)
