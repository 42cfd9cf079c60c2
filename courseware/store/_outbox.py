"""The learner's outbox: events waiting for the courseware service, in a local SQLite file.

Events wait here until delivered, and a copy of those delivered stays, which answers the learner's
own reads while the service is away.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .._private import data_location, private_file
from ._base import ROW_COLUMNS, Event, sql_filters
from ._sqlite import connect_sqlite
from ._wire import MAX_BATCH, event_fields

log = logging.getLogger("courseware.store")

MAX_SEND_BYTES = 3 * 1024 * 1024
"""Most value bytes the outbox puts in one request (a batch stays under the body limit)."""


_OUTBOX_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    service TEXT NOT NULL,
    key TEXT NOT NULL UNIQUE,
    learner TEXT NOT NULL,
    module TEXT NOT NULL,
    item TEXT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    time REAL NOT NULL,
    schema INTEGER NOT NULL,
    server_id INTEGER,
    delivered REAL,
    failed TEXT
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (service, server_id, seq);
CREATE INDEX IF NOT EXISTS outbox_lookup ON outbox (service, learner, module, item, kind);
"""


def default_outbox_path() -> Path:
    """``$COURSEWARE_OUTBOX``, else ``outbox.sqlite`` in the learner's data folder (their home)."""
    return Path(data_location("COURSEWARE_OUTBOX", "outbox.sqlite")).expanduser()


class Outbox:
    """Events waiting for the service, and a copy of those delivered, in a local SQLite file.

    The file, its WAL and shared-memory files and the send lock are private to the learner.
    """

    def __init__(self, path: str | Path, service: str) -> None:
        self.path = Path(path)
        self.service = service
        # drafts wait here: a saved reflection survives a power cut
        self._db = connect_sqlite(self.path, synchronous="FULL", schema=_OUTBOX_SCHEMA)
        self._lock = threading.Lock()
        self._lock_file = private_file(self.path.with_name(self.path.name + ".send-lock"))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def add(self, event: Event) -> tuple[int, str]:
        """Keep ``event`` until delivered; return its sequence number and idempotency key."""
        key = uuid.uuid4().hex
        with self._lock:
            cur = self._db.execute(
                f"INSERT INTO outbox (service, key, {ROW_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (self.service, key, *event.row()),
            )
        assert cur.lastrowid is not None
        return cur.lastrowid, key

    def pending(
        self, limit: int = MAX_BATCH, max_bytes: int = MAX_SEND_BYTES
    ) -> list[tuple[int, dict[str, Any]]]:
        """The oldest undelivered events (skipping any set aside), in order.

        At most ``limit`` events and about ``max_bytes`` of values (always at least one event),
        so a batch fits the service's body limit. A row the service could never store (written
        before the checks in :func:`event_fields` existed, or unreadable) is set aside here,
        with the reason, instead of blocking every save behind it.
        """
        while True:
            batch, set_aside = self._read_pending(limit, max_bytes)
            if batch or not set_aside:
                return batch

    def _read_pending(
        self, limit: int, max_bytes: int
    ) -> tuple[list[tuple[int, dict[str, Any]]], bool]:
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, key, learner, module, item, kind, value, time, schema FROM outbox"
                " WHERE service = ? AND server_id IS NULL AND failed IS NULL ORDER BY seq LIMIT ?",
                (self.service, limit),
            ).fetchall()
        batch: list[tuple[int, dict[str, Any]]] = []
        size = 0
        set_aside = False
        for seq, key, learner, module, item, kind, value, when, schema in rows:
            size += len(value.encode("utf-8", "surrogatepass"))
            if batch and size > max_bytes:
                break
            try:
                event = {
                    "learner": learner,
                    "module": module,
                    "item": item,
                    "kind": kind,
                    "value": json.loads(value),
                    "time": when,
                    "schema": schema,
                    "key": key,
                }
                event_fields(event, "event")
            except (ValueError, RecursionError) as e:
                reason = str(e) if isinstance(e, ValueError) else "event.value: nested too deeply"
                log.error("an outbox event can never be sent (kept locally): %s", reason)
                self.refused(seq, f"refused before sending: {reason}")
                set_aside = True
                continue
            batch.append((seq, event))
        return batch, set_aside

    def pending_count(self) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*) FROM outbox WHERE service = ? AND server_id IS NULL"
                " AND failed IS NULL",
                (self.service,),
            ).fetchone()
        return int(row[0])

    def delivered(self, seqs: Sequence[int], ids: Sequence[int]) -> None:
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(
                "UPDATE outbox SET server_id = ?, delivered = ? WHERE seq = ?",
                [(sid, now, seq) for seq, sid in zip(seqs, ids, strict=True)],
            )
            self._db.execute("COMMIT")

    def refused(self, seq: int, reason: str) -> None:
        """Set aside an event the service will never accept; it stays here, never deleted."""
        with self._lock:
            self._db.execute("UPDATE outbox SET failed = ? WHERE seq = ?", (reason, seq))

    def set_aside(self) -> list[tuple[int, str]]:
        """(sequence number, reason) of each event set aside: kept here, never sent."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, failed FROM outbox WHERE service = ? AND failed IS NOT NULL"
                " AND server_id IS NULL ORDER BY seq",
                (self.service,),
            ).fetchall()
        return [(int(seq), str(reason)) for seq, reason in rows]

    def server_id(self, seq: int) -> int | None:
        with self._lock:
            row = self._db.execute("SELECT server_id FROM outbox WHERE seq = ?", (seq,)).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def events(self, *, pending_only: bool, **filters: str | None) -> list[tuple[str, Event]]:
        """(key, event) rows kept here matching ``filters``; ids are the service's, or ``-seq``."""
        conditions, args = sql_filters("?", **filters)
        where = ["service = ?", *conditions]
        args = [self.service, *args]
        if pending_only:
            where.append("server_id IS NULL")
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, key, learner, module, item, kind, value, time, schema, server_id"
                f" FROM outbox WHERE {' AND '.join(where)} ORDER BY seq",
                args,
            ).fetchall()
        found = []
        for seq, key, learner, module, item, kind, value, when, schema, sid in rows:
            ident = int(sid) if sid is not None else -int(seq)
            try:
                decoded = json.loads(value)
            except (ValueError, RecursionError):  # an unreadable legacy row (kept, set aside)
                continue
            event = Event(learner, module, item, kind, decoded, when, ident, schema)
            found.append((str(key), event))
        return found

    @contextlib.contextmanager
    def sending(self) -> Iterator[bool]:
        """Hold the outbox's send lock if free (one sender at a time keeps events in order)."""
        with private_file(self._lock_file).open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
