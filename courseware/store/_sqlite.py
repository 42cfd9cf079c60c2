"""The embedded default store: one SQLite file per user, safe for several kernels at once.

Uses the standard library's ``sqlite3`` rather than SQLAlchemy so a learner's kernel stays light.
WAL mode lets readers and a writer work together; ``busy_timeout`` makes concurrent writers wait
their turn instead of failing, so two kernels of the same learner never lose a save.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any, Literal

from .._private import private_sqlite, private_umask
from ._base import ROW_COLUMNS, Event, Filters, Store, sql_filters

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    learner TEXT NOT NULL,
    module TEXT NOT NULL,
    item TEXT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    time REAL NOT NULL,
    schema INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS events_lookup ON events (learner, module, item, kind);
"""


def connect_sqlite(
    path: Path,
    *,
    synchronous: Literal["NORMAL", "FULL"],
    timeout: float = 30.0,
    schema: str = "",
) -> sqlite3.Connection:
    """Open (or create) a SQLite file the way courseware keeps every one; run ``schema`` on it.

    The file, its WAL and shared-memory files and any folder created for it are private to their
    owner (``0600``/``0700``, looser modes tightened); the journal is WAL, so readers and a writer
    work together; a writer waits up to ``timeout`` seconds for another instead of failing; and
    ``synchronous`` is ``FULL`` where a commit must survive a power cut, else ``NORMAL``. The
    connection is in autocommit mode (``BEGIN`` is explicit) and may be shared by threads that
    hold the caller's lock.
    """
    private_sqlite(path)
    with private_umask():
        db = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
        db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute(f"PRAGMA synchronous = {synchronous}")
        db.executescript(schema)
    return db


class SQLiteStore(Store):
    """A :class:`Store` in a local SQLite file (created with its folder on first use).

    The file, its WAL and shared-memory files and any folder created for it are private to their
    owner (``0600``/``0700``; looser modes left by older versions are tightened on open).
    """

    def __init__(self, path: str | Path, *, timeout: float = 30.0) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db = connect_sqlite(self.path, synchronous="NORMAL", timeout=timeout, schema=SCHEMA)

    def append(self, event: Event) -> int:
        with self._lock:
            cur = self._db.execute(
                f"INSERT INTO events ({ROW_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)", event.row()
            )
            assert cur.lastrowid is not None
            return cur.lastrowid

    def _select(self, filters: Filters) -> list[Event]:
        where, args = sql_filters("?", **filters)
        sql = "SELECT id, learner, module, item, kind, value, time, schema FROM events"
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY id", args).fetchall()
        return [_event(row) for row in rows]

    def revision(self, learner: str) -> tuple[int, int]:
        with self._lock:
            count, newest = self._db.execute(
                "SELECT count(*), coalesce(max(id), 0) FROM events WHERE learner = ?", (learner,)
            ).fetchone()
        return int(count), int(newest)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r})"


def _event(row: tuple[Any, ...]) -> Event:
    id_, learner, module, item, kind, value, time, schema = row
    return Event(learner, module, item, kind, json.loads(value), time, id_, schema)
