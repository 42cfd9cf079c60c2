"""The service's database on SQLite, for a single-machine hub: stdlib ``sqlite3`` on one thread."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ..store import connect_sqlite
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
            # everyone's responses: the service's alone (0600)
            self._db = connect_sqlite(self.path, synchronous="NORMAL")
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
