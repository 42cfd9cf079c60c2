"""The forwarder's outbox: statements waiting for the LRS, in a private SQLite file.

The same pattern as the learner's outbox (``courseware.store``'s ``Outbox``): WAL, ``synchronous =
FULL``, rows kept in order by a sequence number, delivered rows marked (never deleted), a row the
LRS refuses set aside with its reason instead of blocking the rest. That class could not be used
as it is: its rows are a learner's events with a fresh random key each, where these are
statements keyed by their deterministic id, fed from the hub database by the id of the event each
came from. The source id is the feed's cursor, written in the same transaction as the statements,
so a kill between reading the database and writing here loses nothing and repeats nothing.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..store import connect_sqlite

_SCHEMA = """
CREATE TABLE IF NOT EXISTS statements (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    lrs TEXT NOT NULL,
    source_id INTEGER NOT NULL,
    statement_id TEXT NOT NULL,
    statement TEXT NOT NULL,
    delivered REAL,
    failed TEXT,
    UNIQUE (lrs, statement_id)
);
CREATE INDEX IF NOT EXISTS statements_pending ON statements (lrs, delivered, failed, seq);
"""


class StatementOutbox:
    """Statements for one LRS, oldest first; safe to kill at any moment."""

    def __init__(self, path: str | Path, lrs: str) -> None:
        self.path = Path(path)
        self.lrs = lrs
        self._db = connect_sqlite(self.path, synchronous="FULL", schema=_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def cursor(self) -> int:
        """The id of the newest hub event already turned into a statement here (0: none)."""
        with self._lock:
            row = self._db.execute(
                "SELECT MAX(source_id) FROM statements WHERE lrs = ?", (self.lrs,)
            ).fetchone()
        return int(row[0] or 0)

    def add(self, rows: Sequence[tuple[int, dict[str, Any]]]) -> int:
        """Keep (source event id, statement) rows in one transaction; a statement id already
        here is skipped. Returns how many were new."""
        with self._lock:
            before = self._db.total_changes
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT OR IGNORE INTO statements (lrs, source_id, statement_id, statement)"
                    " VALUES (?, ?, ?, ?)",
                    [
                        (self.lrs, source, s["id"], json.dumps(s, ensure_ascii=False))
                        for source, s in rows
                    ],
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            return self._db.total_changes - before

    def pending(self, limit: int, max_bytes: int | None = None) -> list[tuple[int, dict[str, Any]]]:
        """(seq, statement) of the oldest statements not yet delivered nor set aside: at most
        ``limit`` of them and about ``max_bytes`` of JSON (always at least one)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, statement FROM statements WHERE lrs = ? AND delivered IS NULL"
                " AND failed IS NULL ORDER BY seq LIMIT ?",
                (self.lrs, limit),
            ).fetchall()
        batch: list[tuple[int, dict[str, Any]]] = []
        size = 0
        for seq, text in rows:
            size += len(text.encode("utf-8", "surrogatepass"))
            if batch and max_bytes is not None and size > max_bytes:
                break
            batch.append((int(seq), json.loads(text)))
        return batch

    def pending_count(self) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*) FROM statements WHERE lrs = ? AND delivered IS NULL"
                " AND failed IS NULL",
                (self.lrs,),
            ).fetchone()
        return int(row[0])

    def delivered(self, seqs: Sequence[int]) -> None:
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(
                "UPDATE statements SET delivered = ? WHERE seq = ?", [(now, s) for s in seqs]
            )
            self._db.execute("COMMIT")

    def refused(self, seq: int, reason: str) -> None:
        """Set aside a statement the LRS will not take: kept here with the reason, never sent."""
        with self._lock:
            self._db.execute("UPDATE statements SET failed = ? WHERE seq = ?", (reason, seq))

    def set_aside(self) -> list[tuple[str, str]]:
        """(statement id, reason) of each statement set aside."""
        with self._lock:
            rows = self._db.execute(
                "SELECT statement_id, failed FROM statements WHERE lrs = ? AND failed IS NOT NULL"
                " ORDER BY seq",
                (self.lrs,),
            ).fetchall()
        return [(str(a), str(b)) for a, b in rows]
