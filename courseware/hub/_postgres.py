"""The service's database on PostgreSQL, through psycopg 3's async connection pool."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from ._migrations import _SERIAL, _VERSION_TABLE, Migration, _check_not_newer
from ._queries import (
    _EXISTING,
    Database,
    _Conflicts,
    _insert_params,
    _insert_sql,
    _same_event,
)
from ._rows import NewEvent


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
