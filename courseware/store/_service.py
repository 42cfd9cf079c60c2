"""The store on a JupyterHub: the courseware service over HTTP, with a local outbox.

On a hub the learner's kernel runs the learner's own code, so it must never hold credentials to a
database of everyone's answers. It holds only its JupyterHub token (``JUPYTERHUB_API_TOKEN``), and
the courseware service, which owns the database, decides what that token may read and write.

Nothing is lost when the service is down or slow: :meth:`ServiceStore.append` first writes the
event to an outbox, a SQLite file in the learner's home, and a delivery thread sends it on. Each
event carries an idempotency key, so a resend after a lost reply is stored once; events are sent
one batch at a time under a file lock, oldest first, so they arrive in the order they were saved.
Delivered events stay in the outbox as a local copy, which answers the learner's own reads while
the service is away.

Uses only the standard library (``http.client``, ``sqlite3``), so a kernel stays light.
"""

from __future__ import annotations

import contextlib
import fcntl
import http.client
import json
import logging
import math
import os
import sqlite3
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from .._private import private_file, private_sqlite, private_umask, user_data_dir
from ._base import EVENT_SCHEMA_VERSION, ROW_COLUMNS, Event, Store

log = logging.getLogger("courseware.store")

SERVICE_PREFIX = "courseware+"
"""``courseware+http://host:port/services/courseware/`` names the service as a store location."""

HUB_SERVICE = "hub-service"
"""``COURSEWARE_STORE=hub-service``: the service at ``$COURSEWARE_SERVICE_URL``."""

MAX_BATCH = 200
"""Most events sent (and accepted by the service) in one request."""

MAX_FIELD = 200
"""Longest learner, module, item or kind name, in characters."""


class ServiceError(RuntimeError):
    """The service could not be used."""


class ServiceUnavailable(ServiceError):
    """The service did not answer (down, restarting or too slow); try again later.

    ``status`` is the HTTP status of a 5xx or 429 answer, or ``None`` if nothing answered.
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ServiceRefused(ServiceError):
    """The service answered with an error status (403: not allowed; 400: bad request)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


MAX_DEPTH = 32
"""Deepest nesting of lists and objects in an event's value."""

MAX_VALUE_BYTES = 2 * 1024 * 1024
"""Largest event value, as UTF-8 JSON: room for a 1 MB reflection pasted in, plus escaping."""

MAX_REQUEST_BYTES = 4 * 1024 * 1024
"""Largest request body the service reads (one largest event fits with room to spare)."""

MAX_SEND_BYTES = 3 * 1024 * 1024
"""Most value bytes the outbox puts in one request (a batch stays under the body limit)."""

INT_MIN, INT_MAX = -(2**31), 2**31 - 1
"""PostgreSQL ``INTEGER``: the ``schema`` column."""

BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1
"""PostgreSQL ``BIGINT``: any integer inside a value (also the most a JavaScript reader could
round-trip is smaller, 2**53, but a value is stored as text, so the database range is the limit)."""


def _check_text(text: str, where: str, what: str = "") -> None:
    """Refuse text UTF-8 (and so PostgreSQL) cannot hold: lone surrogates."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError(
            f"{where}: {what}is not valid Unicode (a lone surrogate at character {e.start})"
        ) from None


def check_value(value: Any, where: str) -> str:
    """Check an event's value; return it as compact UTF-8 JSON text, or raise ``ValueError``.

    JSON types only (objects with text keys, lists, text, finite numbers, booleans, null);
    integers within PostgreSQL's BIGINT; valid Unicode everywhere, keys included; at most
    :data:`MAX_DEPTH` levels deep and :data:`MAX_VALUE_BYTES` long. Walks without recursion, so
    a hostile depth is refused rather than crashing the checker.
    """
    stack: list[tuple[Any, str, int]] = [(value, where, 0)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, str):
            _check_text(item, path)
        elif item is None or isinstance(item, bool):
            continue
        elif isinstance(item, int):
            if not BIGINT_MIN <= item <= BIGINT_MAX:
                raise ValueError(f"{path}: integer out of range (-2**63 to 2**63-1)")
        elif isinstance(item, float):
            if item != item or item in (float("inf"), float("-inf")):
                raise ValueError(f"{path}: must be a finite number (not NaN or Infinity)")
        elif isinstance(item, Mapping | list | tuple):
            if depth >= MAX_DEPTH:
                raise ValueError(f"{where}: nested deeper than {MAX_DEPTH} levels")
            if isinstance(item, Mapping):
                for key, child in item.items():
                    if not isinstance(key, str):
                        raise ValueError(f"{path}: object keys must be text, not {key!r}")
                    _check_text(key, path, "a key ")
                    stack.append((child, f"{path}.{key[:40]}", depth + 1))
            else:
                stack.extend((child, f"{path}[{i}]", depth + 1) for i, child in enumerate(item))
        else:
            raise ValueError(f"{path}: {type(item).__name__} is not a JSON value")
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    size = len(text.encode("utf-8"))
    if size > MAX_VALUE_BYTES:
        raise ValueError(
            f"{where}: {size:,} bytes as JSON, more than the {MAX_VALUE_BYTES:,} allowed"
        )
    return text


def event_fields(data: Any, where: str) -> dict[str, Any]:
    """Check one event as sent over the wire; return its fields or raise ``ValueError``.

    Shared by the client (before an event enters the outbox) and the service (before it is
    stored), so an event the database could never hold is refused at once, naming the field,
    rather than failing a shared transaction or blocking the outbox later. ``where`` names the
    event in messages, e.g. ``events[3]``. The fields include ``value_json``: the value as the
    compact JSON text that is stored.
    """
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: must be an object")
    fields: dict[str, Any] = {}
    for name in ("learner", "module", "item", "kind"):
        value = data.get(name)
        if not isinstance(value, str):
            raise ValueError(f"{where}.{name}: must be a string")
        if len(value) > MAX_FIELD:
            raise ValueError(f"{where}.{name}: longer than {MAX_FIELD} characters")
        if "\0" in value:
            raise ValueError(f"{where}.{name}: contains a NUL character")
        _check_text(value, f"{where}.{name}")
        fields[name] = value
    if not fields["learner"] or not fields["kind"]:
        raise ValueError(f"{where}.{'learner' if not fields['learner'] else 'kind'}: is empty")
    if "value" not in data:
        raise ValueError(f"{where}.value: missing")
    fields["value"] = data["value"]
    fields["value_json"] = check_value(data["value"], f"{where}.value")
    when = data.get("time")
    if (
        isinstance(when, bool)
        or not isinstance(when, int | float)
        or not math.isfinite(when)
        or not -1e11 < when < 1e11
    ):
        raise ValueError(f"{where}.time: must be a number (seconds since 1970)")
    fields["time"] = float(when)
    schema = data.get("schema", EVENT_SCHEMA_VERSION)
    if isinstance(schema, bool) or not isinstance(schema, int):
        raise ValueError(f"{where}.schema: must be an integer")
    if not 0 <= schema <= INT_MAX:
        raise ValueError(f"{where}.schema: must be 0 to {INT_MAX}")
    fields["schema"] = schema
    key = data.get("key")
    if key is not None and (not isinstance(key, str) or not 0 < len(key) <= 100):
        raise ValueError(f"{where}.key: must be a string of 1 to 100 characters")
    if key is not None:
        if "\0" in key:
            raise ValueError(f"{where}.key: contains a NUL character")
        _check_text(key, f"{where}.key")
    fields["key"] = key
    return fields


def event_to_json(event: Event, key: str | None = None) -> dict[str, Any]:
    return {
        "learner": event.learner,
        "module": event.module,
        "item": event.item,
        "kind": event.kind,
        "value": event.value,
        "time": event.time,
        "schema": event.schema,
        "key": key,
    }


def event_from_json(data: Mapping[str, Any]) -> Event:
    return Event(
        data["learner"],
        data["module"],
        data["item"],
        data["kind"],
        data["value"],
        float(data["time"]),
        data.get("id"),
        int(data.get("schema", EVENT_SCHEMA_VERSION)),
    )


def service_url(location: str) -> str:
    """The service's base URL (ending in ``/``) for a store location."""
    if location == HUB_SERVICE:
        configured = os.environ.get("COURSEWARE_SERVICE_URL", "").strip()
        if not configured:
            raise ServiceError(
                "COURSEWARE_STORE=hub-service needs COURSEWARE_SERVICE_URL, e.g."
                " http://127.0.0.1:10101/services/courseware/"
            )
        location = configured
    url = location.removeprefix(SERVICE_PREFIX)
    if not url.startswith(("http://", "https://")):
        raise ServiceError(f"not an http(s) URL for the courseware service: {location!r}")
    return url if url.endswith("/") else url + "/"


class ServiceClient:
    """A small JSON-over-HTTP client for the courseware service, authenticated by a hub token.

    Keeps one connection open (keep-alive); thread-safe (one request at a time per client).
    """

    def __init__(self, base_url: str, token: str, *, timeout: float = 10.0) -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ServiceError(f"not an http(s) URL: {base_url!r}")
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._path = parts.path if parts.path.endswith("/") else parts.path + "/"
        self._token = token
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()

    def _connect(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            self._conn = cls(self._host, self._port, timeout=self.timeout)
        return self._conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | None] | None = None,
        body: Any = None,
    ) -> Any:
        """Send a request; return the decoded JSON answer or raise a :class:`ServiceError`."""
        query = urllib.parse.urlencode({k: v for k, v in (params or {}).items() if v is not None})
        target = self._path + path.lstrip("/") + (f"?{query}" if query else "")
        payload = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers = {"Authorization": f"token {self._token}", "Accept": "application/json"}
        if payload is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        with self._lock:
            for attempt in (1, 2):  # a kept-alive connection the server closed is retried once
                conn = self._connect()
                try:
                    conn.request(method, target, body=payload, headers=headers)
                    response = conn.getresponse()
                    data = response.read()
                    break
                except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as e:
                    conn.close()
                    self._conn = None
                    if attempt == 2:
                        raise ServiceUnavailable(f"{self.base_url}: {e}") from e
                except (OSError, http.client.HTTPException) as e:  # refused, timed out
                    conn.close()
                    self._conn = None
                    raise ServiceUnavailable(f"{self.base_url}: {e}") from e
        if response.status >= 500 or response.status == 429:
            raise ServiceUnavailable(f"{self.base_url}: HTTP {response.status}", response.status)
        try:
            answer = json.loads(data) if data else None
        except ValueError as e:
            raise ServiceRefused(
                response.status, "the service sent something other than JSON"
            ) from e
        if response.status >= 400:
            message = answer.get("message", "") if isinstance(answer, dict) else ""
            raise ServiceRefused(response.status, message or response.reason)
        return answer


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
    configured = os.environ.get("COURSEWARE_OUTBOX", "").strip()
    if configured:
        return Path(configured).expanduser()
    return user_data_dir() / "outbox.sqlite"


class Outbox:
    """Events waiting for the service, and a copy of those delivered, in a local SQLite file.

    The file, its WAL and shared-memory files and the send lock are private to the learner.
    """

    def __init__(self, path: str | Path, service: str) -> None:
        self.path = Path(path)
        private_sqlite(self.path)  # drafts wait here: 0600, and so its WAL and SHM files
        self.service = service
        with private_umask():
            self._db = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA busy_timeout = 30000")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = FULL")  # a saved reflection survives a power cut
            self._db.executescript(_OUTBOX_SCHEMA)
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
        where = ["service = ?"]
        args: list[Any] = [self.service]
        if pending_only:
            where.append("server_id IS NULL")
        prefix = filters.pop("kind_prefix", None)
        for column, value in filters.items():
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if prefix is not None:
            where.append("substr(kind, 1, ?) = ?")
            args += [len(prefix), prefix]
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


class ServiceStore(Store):
    """A :class:`Store` backed by the courseware hub service, with a local outbox.

    ``append`` never fails because the service is away: the event is durably in the outbox before
    it returns. It waits up to ``wait`` seconds for delivery and returns the service's id, or a
    negative id (minus the outbox sequence number) if the event is still queued. A background
    thread keeps delivering, retrying every ``retry`` seconds (doubling up to ``max_retry``).
    Reads go to the service (which applies the roles); while it is away, the learner's own events
    are read from the outbox's copy.
    """

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        user: str | None = None,
        outbox: str | Path | None = None,
        wait: float = 0.5,
        timeout: float = 10.0,
        retry: float = 1.0,
        max_retry: float = 15.0,
    ) -> None:
        self.url = service_url(url)
        token = token or os.environ.get("JUPYTERHUB_API_TOKEN") or os.environ.get("JPY_API_TOKEN")
        if not token:
            raise ServiceError(
                "the courseware service needs a JupyterHub token: JUPYTERHUB_API_TOKEN is not set"
            )
        self.user = user or os.environ.get("JUPYTERHUB_USER", "").strip() or None
        self.wait = wait
        self.retry = retry
        self.max_retry = max_retry
        self._reader = ServiceClient(self.url, token, timeout=timeout)
        self._sender = ServiceClient(self.url, token, timeout=timeout)
        self.outbox = Outbox(outbox or default_outbox_path(), self.url)
        self._wake = threading.Event()
        self._delivered = threading.Condition()
        self._closed = threading.Event()
        self._slow = False  # set while the service is down or slow: saves then only queue
        self._server_errors = (0, 0)  # (first seq of the failing batch, 5xx answers in a row)
        self._thread = threading.Thread(
            target=self._deliver_forever, name="courseware-outbox", daemon=True
        )
        self._thread.start()

    # -- writing ---------------------------------------------------------------------------------
    def append(self, event: Event) -> int:
        """Keep ``event`` in the outbox and send it on.

        Raises ``ValueError`` naming the field (e.g. ``event.value: … bytes as JSON, more than
        the … allowed``) for an event the service could never store; nothing is kept then, so
        the caller must keep the learner's text and say why it was not saved.
        """
        if self.user is not None and event.learner != self.user:
            raise PermissionError(
                f"this kernel belongs to {self.user!r} and cannot save for {event.learner!r}"
            )
        event_fields(event_to_json(event), "event")
        seq, _key = self.outbox.add(event)
        self._wake.set()
        if self.wait > 0 and not self._slow:
            deadline = time.monotonic() + self.wait
            with self._delivered:
                while (found := self.outbox.server_id(seq)) is None:
                    left = deadline - time.monotonic()
                    if left <= 0 or self._slow:
                        break
                    self._delivered.wait(left)
            if found is not None:
                return found
            self._slow = True  # not delivered in time: don't make the next save wait too
        return -seq

    def pending(self) -> int:
        """How many events are waiting in the outbox for the service."""
        return self.outbox.pending_count()

    def set_aside(self) -> int:
        """How many events the service refused or kept failing on: kept here, never sent."""
        return len(self.outbox.set_aside())

    def delivery_note(self) -> str | None:
        """A sentence for the learner when some saves could not be sent, else ``None``."""
        count = self.set_aside()
        if not count:
            return None
        saves = "save" if count == 1 else "saves"
        return (
            f"{count} {saves} could not be sent to the course server; they are kept on this"
            f" computer ({self.outbox.path}). Please tell your tutor."
        )

    def flush(self, timeout: float = 10.0) -> bool:
        """Try to deliver everything queued within ``timeout`` s; return whether none is left."""
        deadline = time.monotonic() + timeout
        while self.pending():
            if time.monotonic() >= deadline:
                return False
            self._send_once()
            if self.pending():
                time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
        return True

    SERVER_ERRORS_BEFORE_SPLIT = 3
    """5xx answers in a row to the same batch before it is split to find the event at fault."""

    def _send_once(self) -> bool:
        """Send the oldest batches until none is left or the service fails; True if all sent."""
        with self.outbox.sending() as mine:
            if not mine:
                return False  # another kernel of this learner is sending, in order
            while batch := self.outbox.pending():
                error = self._try_post(batch)
                if error is not None:
                    first, count = self._server_errors
                    count = count + 1 if first == batch[0][0] else 1
                    self._server_errors = (batch[0][0], count)
                    if count < self.SERVER_ERRORS_BEFORE_SPLIT:
                        raise error  # back off, then retry the same batch
                    self._split(batch)  # it keeps failing on this batch: find the event at fault
                self._server_errors = (0, 0)
        return True

    def _try_post(self, batch: list[tuple[int, dict[str, Any]]]) -> ServiceUnavailable | None:
        """Deliver ``batch``; on a 4xx, one event at a time setting aside those refused.

        Returns the error of a 5xx answer (the batch is still pending); raises if the service
        did not answer, was busy (429) or refused the token (401, 403).
        """
        try:
            answer = self._sender.request(
                "POST", "api/events", body={"events": [e for _, e in batch]}
            )
        except ServiceRefused as refused:
            if refused.status in (401, 403):
                raise
            if len(batch) == 1:
                log.error("the courseware service refused an event (kept locally): %s", refused)
                self.outbox.refused(batch[0][0], str(refused))
                return None
        except ServiceUnavailable as e:
            if e.status is None or e.status == 429:
                raise
            return e
        else:
            self.outbox.delivered([seq for seq, _ in batch], answer["ids"])
            with self._delivered:
                self._delivered.notify_all()
            return None
        for one in batch:  # refused: find which, one at a time
            if (error := self._try_post([one])) is not None:
                return error
        return None

    def _split(self, batch: list[tuple[int, dict[str, Any]]]) -> None:
        """Deliver a batch the service keeps failing on in halves, in order, down to one event.

        An event that alone still gets a 5xx, twice, while the service answers its health
        check, is set aside (kept, never deleted); if the service is down, this stops and the
        delivery thread backs off as usual.
        """
        if len(batch) > 1:
            half = len(batch) // 2
            for part in (batch[:half], batch[half:]):
                if self._try_post(part) is not None:
                    self._split(part)
            return
        error = self._try_post(batch)
        if error is not None:
            error = self._try_post(batch)
        if error is None:
            return
        try:
            self._reader.request("GET", "api/health")
        except ServiceError:
            raise error from None  # the service itself is failing, not this event
        seq = batch[0][0]
        log.error("the courseware service keeps failing on one event (kept locally): %s", error)
        self.outbox.refused(seq, f"the service failed on this event repeatedly ({error})")

    def _deliver_forever(self) -> None:
        delay = self.retry
        failing = False
        while not self._closed.is_set():
            if failing:  # back off; saves meanwhile only queue
                self._closed.wait(delay)
            else:
                self._wake.wait(timeout=self.retry if self.outbox.pending_count() else None)
                self._wake.clear()
            if self._closed.is_set():
                return
            try:
                self._send_once()
            except ServiceError as e:
                delay = min(delay * 2, self.max_retry) if failing else self.retry
                failing = self._slow = True
                log.warning("courseware service unavailable, keeping events locally: %s", e)
                with self._delivered:
                    self._delivered.notify_all()
                continue
            except Exception:  # never let the delivery thread die
                log.exception("courseware outbox delivery failed")
                failing = True
                continue
            failing = self._slow = False
            delay = self.retry

    # -- reading ---------------------------------------------------------------------------------
    def events(
        self,
        *,
        learner: str | None = None,
        module: str | None = None,
        item: str | None = None,
        kind: str | None = None,
        kind_prefix: str | None = None,
    ) -> list[Event]:
        filters = {
            "learner": learner,
            "module": module,
            "item": item,
            "kind": kind,
            "kind_prefix": kind_prefix,
        }
        try:
            answer = self._reader.request("GET", "api/events", params=filters)
        except ServiceUnavailable:
            return self._local(learner, filters)
        found = [event_from_json(e) for e in answer["events"]]
        stored_keys = {e.get("key") for e in answer["events"]}
        if learner is None or learner == self.user:
            pending = self.outbox.events(pending_only=True, **filters)
            found += [event for key, event in pending if key not in stored_keys]
        return found

    def latest(self, *, learner: str, module: str, item: str, kind: str) -> Event | None:
        filters = {"learner": learner, "module": module, "item": item, "kind": kind}
        pending = []
        if learner == self.user:
            pending = self.outbox.events(pending_only=True, **filters)
            if pending:
                return pending[-1][1]  # queued events are newer than anything stored
        try:
            answer = self._reader.request("GET", "api/events/latest", params=filters)
        except ServiceUnavailable:
            local = self._local(learner, dict(filters))
            return local[-1] if local else None
        return None if answer["event"] is None else event_from_json(answer["event"])

    def _local(self, learner: str | None, filters: dict[str, str | None]) -> list[Event]:
        if learner is None or learner != self.user:
            raise ServiceUnavailable(
                "the courseware service is unavailable; only your own saved work can be read now"
            )
        return [event for _, event in self.outbox.events(pending_only=False, **filters)]

    def close(self) -> None:
        """Try briefly to deliver what is queued (the rest stays in the outbox), then stop."""
        if self._closed.is_set():
            return
        with contextlib.suppress(ServiceError):
            if not self._slow:
                self.flush(timeout=min(2.0, self.wait * 4 + 1))
        self._closed.set()
        self._wake.set()
        self._thread.join(timeout=5)
        self._reader.close()
        self._sender.close()
        self.outbox.close()

    def __repr__(self) -> str:
        return f"ServiceStore({self.url!r}, outbox={str(self.outbox.path)!r})"
