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
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from ._base import Event, Filters, Store
from ._client import ServiceClient, ServiceError, ServiceRefused, ServiceUnavailable, service_url
from ._outbox import Outbox, default_outbox_path
from ._transport import Transport
from ._wire import event_fields, event_from_json, event_to_json

log = logging.getLogger("courseware.store")


class ServiceStore(Store):
    """A :class:`Store` backed by the courseware hub service, with a local outbox.

    ``append`` never fails because the service is away: the event is durably in the outbox before
    it returns. It waits up to ``wait`` seconds for delivery and returns the service's id, or a
    negative id (minus the outbox sequence number) if the event is still queued. A background
    thread keeps delivering, retrying every ``retry`` seconds (doubling up to ``max_retry``).
    Reads go to the service (which applies the roles); while it is away, the learner's own events
    are read from the outbox's copy. ``transport`` carries the requests (default: HTTP; a
    :class:`~courseware.store.MockTransport` in tests).
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
        transport: Transport | None = None,
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
        # Two clients, so a read never waits behind a large batch being sent.
        self._reader = ServiceClient(self.url, token, timeout=timeout, transport=transport)
        self._sender = ServiceClient(self.url, token, timeout=timeout, transport=transport)
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
    def _select(self, filters: Filters) -> list[Event]:
        learner = filters["learner"]
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

    def _local(self, learner: str | None, filters: Filters) -> list[Event]:
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
