"""The courseware service: a tornado app the hub runs, owning the shared store.

Every request is authenticated by JupyterHub (``HubOAuthenticated``: a token in the
``Authorization`` header, or the OAuth cookie in a browser); what the token may do comes from its
custom scopes (:mod:`._roles`), enforced by each handler here. Writes go through a
:class:`BatchWriter` that commits whatever arrived together in one transaction (group commit),
so many learners autosaving at once cost few database round trips, and each reply is sent only
after its events are durably stored.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import math
import os
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler, HubOAuthenticated
from jupyterhub.utils import url_path_join
from tornado import web
from tornado.http1connection import HTTP1Connection

from ..feedback._web import CodeEndpoint, CoderHost, shared_host
from ..store import (
    BIGINT_MAX,
    MAX_BATCH,
    MAX_FIELD,
    MAX_REQUEST_BYTES,
    MAX_VALUE_BYTES,
    event_fields,
)
from ._db import Database, EventRow, KeyConflict, NewEvent, PollRow
from ._hubapi import HubGroups, check_group_name
from ._roles import Permissions

__all__ = [
    "RATE_LIMIT_ENV",
    "ROUTES",
    "BatchWriter",
    "FairShare",
    "ServiceState",
    "cohort_page",
    "make_app",
    "shared_reflections",
    "visible_to_others",
]

log = logging.getLogger("courseware.hub")

PRIVATE_PREFIXES = ("reflection.", "poll.")
"""Kinds only their learner reads: reflection drafts and poll answers (polls are anonymous)."""

SHARED_KINDS = ("reflection.shared", "reflection.submitted")
"""A snapshot the learner chose to show (``shared``, withdrawable) or handed in (``submitted``)."""

WITHDRAWN = "reflection.unshared"

RESERVED_PREFIXES = ("poll.",)
"""Kinds only the service writes (through the poll endpoints, which check the poll)."""

POLL_MODULE = "polls"
POLL_ANSWER = "poll.answer"


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


class FairShare:
    """Each user's share of the service: a token bucket per user, refilled at ``rate`` a second
    up to ``burst``.

    A request costs one token, plus one per :data:`BYTES_PER_TOKEN` of body, plus
    :data:`REFUSAL_COST` more when it is refused (4xx), so a client sending garbage runs dry
    long before an honest one (an autosave a second, an outbox catching up after an outage:
    a few 3 MB batches). A user out of tokens gets 429 at once, before the body is read or
    parsed, so one user's flood costs the service a cheap refusal per request, and everyone
    else's saves still find the service free. Keeps at most ``max_users`` buckets (the least
    recently used go first: a forgotten bucket was full anyway, or soon would be). A 429 is
    sent after holding the request up to a second, so a flood slows itself down.
    """

    BYTES_PER_TOKEN = 256 * 1024
    REFUSAL_COST = 5
    HELD = 8
    """Most of one user's refused requests held before their 429 (the rest answered at once)."""

    def __init__(self, rate: float = 20.0, burst: float = 120.0, max_users: int = 20_000) -> None:
        self.rate = rate
        self.burst = burst
        self.max_users = max_users
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self.refused = 0
        """Requests answered 429 (for the service's health figures)."""
        self.held: dict[str, int] = {}
        """Requests of each user being held before their 429."""

    @classmethod
    def parse(cls, text: str) -> FairShare | None:
        """``RATE/BURST`` (e.g. ``20/120``); ``off`` or ``0``: no limit (``None``)."""
        text = text.strip()
        if text in ("off", "0"):
            return None
        rate, sep, burst = text.partition("/")
        try:
            share = cls(float(rate), float(burst) if sep else float(rate) * 6)
        except ValueError:
            raise ValueError(f"{RATE_LIMIT_ENV}: {text!r} is not RATE/BURST, e.g. 20/120") from None
        if not (share.rate > 0 and share.burst >= 1 + MAX_REQUEST_BYTES // cls.BYTES_PER_TOKEN):
            raise ValueError(
                f"{RATE_LIMIT_ENV}: the rate must be above 0 and the burst at least"
                f" {1 + MAX_REQUEST_BYTES // cls.BYTES_PER_TOKEN} (the largest request's cost)"
            )
        return share

    def cost(self, body_bytes: int) -> float:
        return 1.0 + body_bytes // self.BYTES_PER_TOKEN

    def _level(self, user: str, now: float) -> float:
        level, when = self._buckets.get(user, (self.burst, now))
        return min(self.burst, level + (now - when) * self.rate)

    def take(self, user: str, cost: float) -> float:
        """Spend ``cost`` of ``user``'s tokens: 0 if there were enough, else the seconds until
        there will be (nothing is spent then)."""
        now = time.monotonic()
        level = self._level(user, now)
        if level < cost:
            self._store(user, level, now)
            self.refused += 1
            return (cost - level) / self.rate
        self._store(user, level - cost, now)
        return 0.0

    def charge(self, user: str, cost: float) -> None:
        """Spend ``cost`` more (a refusal, or a body longer than declared): may go below 0."""
        now = time.monotonic()
        self._store(user, self._level(user, now) - cost, now)

    def _store(self, user: str, level: float, now: float) -> None:
        self._buckets[user] = (level, now)
        self._buckets.move_to_end(user)
        while len(self._buckets) > self.max_users:
            self._buckets.popitem(last=False)

    def __len__(self) -> int:
        return len(self._buckets)


RATE_LIMIT_ENV = "COURSEWARE_RATE_LIMIT"
"""``RATE/BURST``: each user's share of the service (:class:`FairShare`); ``off``: none."""


@dataclass
class ServiceState:
    """What every handler shares."""

    db: Database
    writer: BatchWriter
    groups: HubGroups
    hub_auth: HubOAuth
    min_group_size: int = 5
    schema_version: int = 0
    course_modules: dict[str, frozenset[str]] = field(default_factory=dict)
    """Modules of each course, by the course's learner group (``nbgrader-<course>``): a read
    through that group sees only those modules' events. A course not listed: any module."""
    coder: CoderHost | None = None
    """The reply coder's host (None: the process's shared one, loaded on first use)."""
    fair_share: FairShare | None = field(default_factory=FairShare)
    """Each user's share of the service (``None``: unlimited)."""


def visible_to_others(
    rows: Sequence[EventRow], withdrawals: Iterable[EventRow] = ()
) -> list[EventRow]:
    """The rows a tutor may see: no private kinds, except shared snapshots not since withdrawn.

    ``withdrawals`` are ``reflection.unshared`` rows for the same learners (a withdrawal hides
    the ``reflection.shared`` snapshots before it, never a ``reflection.submitted`` one).
    """
    last_withdrawal: dict[tuple[str, str, str], int] = {}
    for row in withdrawals:
        key = (row.learner, row.module, row.item)
        last_withdrawal[key] = max(last_withdrawal.get(key, 0), row.id)
    shown = []
    for row in rows:
        if row.kind.startswith(PRIVATE_PREFIXES):
            if row.kind not in SHARED_KINDS:
                continue
            if row.kind == "reflection.shared" and row.id < last_withdrawal.get(
                (row.learner, row.module, row.item), 0
            ):
                continue
        shown.append(row)
    return shown


class JSONHandler(web.RequestHandler):
    """JSON errors, no caching."""

    _retry_after = 0
    """Seconds a 429 asks the client to wait (``Retry-After``)."""

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        if status_code == 429 and self._retry_after:
            self.set_header("Retry-After", str(self._retry_after))
        self.send({"status": status_code, "message": self.error_message(**kwargs)})

    def error_message(self, **kwargs: Any) -> str:
        """The refusal's reason as written by the handler (``HTTPError``'s message)."""
        exc = kwargs.get("exc_info")
        if exc and isinstance(exc[1], web.HTTPError) and exc[1].log_message:
            message = exc[1].log_message % exc[1].args if exc[1].args else exc[1].log_message
            return _cut(str(message), MAX_MESSAGE)
        return str(self._reason)

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """Log a refusal with the path cut short (tornado's own line quotes the whole URI)."""
        if isinstance(value, web.HTTPError):
            if value.log_message and value.status_code != 429:  # a flood: counted, not logged
                message = value.log_message % value.args if value.args else value.log_message
                log.info("%d %s: %s", value.status_code, _short(self.request.path), message[:500])
            return
        super().log_exception(typ, value, tb)

    def send(self, data: Any) -> None:
        """Finish with ``data`` as strict JSON (NaN or Infinity would be a bug: never sent)."""
        self.finish(json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False))


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


class HealthHandler(JSONHandler):
    """``GET /api/health``: unauthenticated liveness (for the hub and Kubernetes probes)."""

    def initialize(self, state: ServiceState) -> None:
        self.state = state

    def get(self) -> None:
        self.send({"ok": True, "schema": self.state.schema_version})


@web.stream_request_body
class APIHandler(HubOAuthenticated, JSONHandler):  # type: ignore[misc]
    """An authenticated API endpoint; ``self.perms`` says what the caller may do.

    The body is read only after the headers pass: a body declared longer than
    :data:`MAX_REQUEST_BYTES` gets 413 and the connection is closed unread, so no request can
    make the service buffer more than that (the HTTP server's own limit catches a chunked one).
    """

    perms: Permissions

    def initialize(self, state: ServiceState) -> None:
        self.state = state
        self.hub_auth = state.hub_auth
        self._body = bytearray()
        self._discard = False
        self._charged: str | None = None

    def data_received(self, chunk: bytes) -> None:
        if not self._discard:  # a body after a refusal is read (small) but never kept
            self._body += chunk

    async def prepare(self) -> None:
        declared = self.request.headers.get("Content-Length", "").strip()
        if declared.isdigit() and int(declared) > MAX_REQUEST_BYTES:
            self.set_status(413)
            await self.finish(
                json.dumps(
                    {
                        "status": 413,
                        "message": f"the request body is larger than {MAX_REQUEST_BYTES:,}"
                        f" bytes (an event's value may be up to {MAX_VALUE_BYTES:,};"
                        " send fewer events at a time)",
                    }
                )
            )
            if isinstance(self.request.connection, HTTP1Connection):
                self.request.connection.close()  # the reply is out: never read the rest
            return
        model = await self.hub_auth.get_user(self, sync=False)
        if not model:
            if self.request.method == "GET" and "text/html" in self.request.headers.get(
                "Accept", ""
            ):  # a browser: sign in through the hub (OAuth), then come back here
                self.redirect(self.get_login_url())
                return
            raise web.HTTPError(401, "a JupyterHub token (Authorization: token …) is required")
        self._hub_auth_user_cache = self.check_hub_user_or_403(model)
        self.current_user = self._hub_auth_user_cache
        self.perms = Permissions.from_model(model)
        await self.take_share(int(declared) if declared.isdigit() else 0)

    async def take_share(self, declared: int) -> None:
        """429 (with ``Retry-After``) for a user who has used up their share of the service.

        The body is never kept or parsed. The request is refused once its body has gone by
        (at most :data:`MAX_REQUEST_BYTES`): refusing before would make tornado close the
        connection unread, and the client could lose the answer saying why.
        """
        share = self.state.fair_share
        if share is None:
            return
        wait = share.take(self.perms.name, share.cost(declared))
        if wait <= 0:
            self._charged = self.perms.name
            return
        self._discard = True
        self._retry_after = max(1, math.ceil(wait))
        # Refused in place of the method, which tornado calls once the request is read:
        # refusing in prepare() would make it close the connection.
        setattr(self, self.request.method.lower(), self._refuse_share)

    def _share_refusal(self) -> web.HTTPError:
        return web.HTTPError(
            429,
            "too many requests from %s at once: wait %d s (each user has a share of the"
            " service, so no one user can slow everyone else's saves)",
            self.perms.name,
            self._retry_after,
        )

    async def _refuse_share(self, *args: Any, **kwargs: Any) -> None:
        """Answer 429 after holding the request up to a second (a tarpit): a client that
        floods on a few connections then sends a few requests a second, not hundreds, while
        the event loop stays free. At most :data:`FairShare.HELD` requests a user are held."""
        share = self.state.fair_share
        assert share is not None
        name = self.perms.name
        if share.held.get(name, 0) < share.HELD:
            share.held[name] = share.held.get(name, 0) + 1
            try:
                await asyncio.sleep(min(1.0, self._retry_after))
            finally:
                share.held[name] -= 1
                if not share.held[name]:
                    del share.held[name]
        raise self._share_refusal()

    def on_finish(self) -> None:
        """A refused request costs its user more of their share (garbage runs dry first)."""
        share = self.state.fair_share
        if share is not None and self._charged is not None:
            extra = share.cost(len(self._body)) - share.cost(0)  # a body longer than declared
            if 400 <= self.get_status() < 500:
                extra += share.REFUSAL_COST
            if extra > 0:
                share.charge(self._charged, extra)

    def check_hub_user_or_403(self, model: dict[str, Any]) -> dict[str, Any]:
        from jupyterhub.services.auth import UserNotAllowed

        try:
            allowed: dict[str, Any] = self.check_hub_user(model)
        except UserNotAllowed:
            raise web.HTTPError(
                403, "%s has no access:services scope for this service", model.get("name")
            ) from None
        return allowed

    def body_json(self) -> Any:
        """The request body as JSON; 400 for anything else (NaN and Infinity included)."""
        try:
            return json.loads(bytes(self._body) or b"null", parse_constant=_no_constant)
        except RecursionError:
            raise web.HTTPError(400, "the request body is nested too deeply") from None
        except ValueError as e:
            raise web.HTTPError(400, "the request body is not valid JSON: %s", e) from None

    def refuse(self, message: str, *args: Any) -> web.HTTPError:
        """403, with any name from the request cut short (a 30 KB name is not echoed back)."""
        return web.HTTPError(403, message, *(_cut(a) if isinstance(a, str) else a for a in args))

    async def members(self, group: str) -> frozenset[str]:
        """The group's members, from the hub (cached); 400 for a name the hub could not hold."""
        problem = check_group_name(group)
        if problem:
            raise web.HTTPError(400, "group: %s", problem)
        return await self.state.groups.members(group)

    async def may_read_learner(self, learner: str) -> tuple[bool, frozenset[str] | None]:
        """Whether the caller reads ``learner``'s (non-private) responses, and of which modules.

        A tutor reads a learner through the course groups they hold a grant on; where those
        courses list their modules, only events of those modules (``None``: any module).
        """
        grant = self.perms.cohort_read
        if grant.everywhere or learner in grant.users:
            return True, None
        modules: set[str] = set()
        allowed = False
        for group in sorted(grant.groups):
            if learner in await self.members(group):
                allowed = True
                scope = self.state.course_modules.get(group)
                if scope is None:
                    return True, None
                modules |= scope
        return allowed, frozenset(modules) if allowed else None

    async def readable(
        self, learner: str | None, group: str | None
    ) -> tuple[list[str] | None, bool, frozenset[str] | None]:
        """Whose events the caller may read here, whether private kinds are included, and of
        which modules (``None``: any; a course's module list when read through its group)."""
        me = self.perms.name
        if group is not None:
            if learner is not None:
                raise web.HTTPError(400, "give learner or group, not both")
            if not self.perms.cohort_read.covers_group(group):
                raise self.refuse("you may not read the responses of group %r", group)
            scope = None if self.perms.cohort_read.everywhere else self.course_modules(group)
            return sorted(await self.members(group)), False, scope
        if learner is None:
            if self.perms.cohort_read.everywhere:
                return None, False, None
            raise web.HTTPError(403, "name a learner (yourself) or a group you may read")
        if learner == me and self.perms.learner:
            return [me], True, None
        allowed, scope = await self.may_read_learner(learner)
        if allowed:
            return [learner], False, scope
        raise self.refuse("you may not read the responses of %r", learner)

    def course_modules(self, group: str) -> frozenset[str] | None:
        """The modules of the course whose learner group is ``group``, if its list is set."""
        return self.state.course_modules.get(group)

    async def tutor_view(self, rows: list[EventRow], learners: list[str] | None) -> list[EventRow]:
        if not any(r.kind == "reflection.shared" for r in rows):
            return visible_to_others(rows)
        withdrawals = await self.state.db.select_events(learners=learners, kind=WITHDRAWN)
        return visible_to_others(rows, withdrawals)

    async def poll(self, poll_id: str) -> PollRow:
        number = (
            int(poll_id) if len(poll_id) <= 19 else 0
        )  # ASCII digits only (the route's pattern)
        found = await self.state.db.polls(poll_id=number) if 0 < number <= BIGINT_MAX else []
        if not found:
            raise web.HTTPError(404, "no poll %s", _short(poll_id))
        return found[0]

    def text_argument(self, name: str) -> str | None:
        """A query filter (``module``, ``item``, …): 400 for one no event could have.

        (Tornado has already replaced control characters, NUL included, with spaces.)"""
        value = self.get_query_argument(name, None)
        if value is not None and len(value) > MAX_FIELD:
            raise web.HTTPError(400, "%s: at most %d characters", name, MAX_FIELD)
        return value

    async def may_see_poll(self, poll: PollRow) -> bool:
        if self.perms.polls_run.covers_group(poll.group):
            return True
        return self.perms.learner and self.perms.name in await self.members(poll.group)


class EventsHandler(APIHandler):
    """``POST /api/events``: save your own events. ``GET``: read events you may read."""

    async def post(self) -> None:
        if not self.perms.learner:
            raise self.refuse("%s may not save responses", self.perms.name)
        body = self.body_json()
        raw = body.get("events") if isinstance(body, dict) else None
        if not isinstance(raw, list) or not raw:
            raise web.HTTPError(400, "events: must be a non-empty list")
        if len(raw) > MAX_BATCH:
            raise web.HTTPError(400, "events: at most %d per request", MAX_BATCH)
        events = []
        for index, data in enumerate(raw):
            try:
                fields = event_fields(data, f"events[{index}]")
            except ValueError as e:
                raise web.HTTPError(400, "%s", e) from None
            if fields["learner"] != self.perms.name:
                raise self.refuse("events[%d].learner: you may save only your own responses", index)
            if fields["kind"].startswith(RESERVED_PREFIXES):
                raise web.HTTPError(
                    400, "events[%d].kind: poll answers go to api/polls/<id>/answers", index
                )
            fields.pop("value")
            events.append(NewEvent(value=fields.pop("value_json"), **fields))
        try:
            ids = await self.state.writer.write(events)
        except KeyConflict as conflict:
            raise web.HTTPError(
                409,
                "events[%d].key: already used for a different event (an idempotency key"
                " names one event; use a new key for new content); none of these events"
                " was stored",
                conflict.index,
            ) from None
        except Exception:
            raise web.HTTPError(503, "the database is unavailable; try again") from None
        self.send({"ids": ids})

    async def get(self) -> None:
        arg = self.text_argument
        learners, private_ok, modules = await self.readable(
            arg("learner"), self.get_query_argument("group", None)
        )
        rows = await self.state.db.select_events(
            learners=learners,
            module=arg("module"),
            item=arg("item"),
            kind=arg("kind"),
            kind_prefix=arg("kind_prefix"),
        )
        if not private_ok:
            rows = await self.tutor_view(rows, learners)
        if modules is not None:
            rows = [r for r in rows if r.module in modules]
        self.send({"events": [r.to_json() for r in rows]})


class LatestHandler(APIHandler):
    """``GET /api/events/latest?learner&module&item&kind``: the current answer."""

    async def get(self) -> None:
        filters = {}
        for name in ("learner", "module", "item", "kind"):
            value = self.text_argument(name)
            if value is None:
                raise web.HTTPError(400, "%s: required", name)
            filters[name] = value
        learners, private_ok, modules = await self.readable(filters.pop("learner"), None)
        if modules is not None and filters["module"] not in modules:
            self.send({"event": None})  # another course's module: nothing to see through yours
            return
        rows = await self.state.db.select_events(
            learners=learners, latest_only=private_ok, **filters
        )
        if not private_ok:
            rows = await self.tutor_view(rows, learners)
        self.send({"event": rows[-1].to_json() if rows else None})


class MeHandler(APIHandler):
    """``GET /api/me``: who the token belongs to and what it may do here."""

    def get(self) -> None:
        self.send(self.perms.summary() | {"minimum_group_size": self.state.min_group_size})


class AggregatesHandler(APIHandler):
    """``GET /api/groups/<group>/aggregates?module=``: learners per item, small numbers hidden."""

    async def get(self, group: str) -> None:
        if not self.perms.cohort_aggregates.covers_group(group):
            raise self.refuse("you may not read the aggregates of group %r", group)
        minimum = self.state.min_group_size
        members = sorted(await self.members(group))
        answer: dict[str, Any] = {"group": group, "minimum": minimum}
        if len(members) < minimum:
            answer |= {
                "suppressed": True,
                "message": f"groups smaller than {minimum} learners are not reported",
            }
            self.send(answer)
            return
        items = []
        scope = None if self.perms.cohort_aggregates.everywhere else self.course_modules(group)
        for module, item, kind, count in await self.state.db.learners_by_item(
            members, self.get_query_argument("module", None)
        ):
            if scope is not None and module not in scope:
                continue  # another course's module (its learners may be in both courses)
            small = count < minimum
            items.append(
                {
                    "module": module,
                    "item": item,
                    "kind": kind,
                    "learners": None if small else count,
                    "suppressed": small,
                }
            )
        self.send(answer | {"suppressed": False, "learners": len(members), "items": items})


class GroupPollsHandler(APIHandler):
    """``POST /api/groups/<group>/polls``: start a poll. ``GET``: the group's polls."""

    async def post(self, group: str) -> None:
        if not self.perms.polls_run.covers_group(group):
            raise self.refuse("you may not run polls for group %r", group)
        body = self.body_json()
        question = body.get("question") if isinstance(body, dict) else None
        options = body.get("options") if isinstance(body, dict) else None
        if not isinstance(question, str) or not 0 < len(question) <= 2000:
            raise web.HTTPError(400, "question: must be text of 1 to 2000 characters")
        if (
            not isinstance(options, list)
            or not 2 <= len(options) <= 12
            or not all(isinstance(o, str) and 0 < len(o) <= 500 for o in options)
        ):
            raise web.HTTPError(400, "options: must be 2 to 12 texts of 1 to 500 characters")
        for where, text in (
            ("question", question),
            *((f"options[{i}]", o) for i, o in enumerate(options)),
        ):
            if "\0" in text or not _valid_unicode(text):
                raise web.HTTPError(400, "%s: must be valid Unicode without NUL", where)
        poll_id = await self.state.db.create_poll(group, question, options, self.perms.name)
        self.set_status(201)
        self.send({"poll": (await self.poll(str(poll_id))).to_json()})

    async def get(self, group: str) -> None:
        lead = self.perms.polls_run.covers_group(group)
        if not lead and not (self.perms.learner and self.perms.name in await self.members(group)):
            raise self.refuse("you are not in group %r", group)
        polls = await self.state.db.polls(group=group)
        self.send({"polls": [p.to_json() for p in polls]})


class PollHandler(APIHandler):
    """``GET /api/polls/<id>``: the question and options (members and leads of its group)."""

    async def get(self, poll_id: str) -> None:
        poll = await self.poll(poll_id)
        if not await self.may_see_poll(poll):
            raise self.refuse("poll %s is not for you", poll_id)
        self.send({"poll": poll.to_json()})


class PollAnswerHandler(APIHandler):
    """``POST /api/polls/<id>/answers {"choice": i, "key": …}``: answer (latest answer counts)."""

    async def post(self, poll_id: str) -> None:
        poll = await self.poll(poll_id)
        me = self.perms.name
        if not (self.perms.learner and me in await self.members(poll.group)):
            raise self.refuse("poll %s is not for you", poll_id)
        if poll.closed is not None:
            raise web.HTTPError(409, "poll %s is closed", poll_id)
        body = self.body_json()
        choice = body.get("choice") if isinstance(body, dict) else None
        if isinstance(choice, bool) or not isinstance(choice, int):
            raise web.HTTPError(400, "choice: must be an option number")
        if not 0 <= choice < len(poll.options):
            raise web.HTTPError(400, "choice: must be 0 to %d", len(poll.options) - 1)
        key = body.get("key")
        if key is not None and (
            not isinstance(key, str)
            or not 0 < len(key) <= 100
            or "\0" in key
            or not _valid_unicode(key)
        ):
            raise web.HTTPError(400, "key: must be a string of 1 to 100 characters")
        event = NewEvent(
            me,
            POLL_MODULE,
            str(poll.id),
            POLL_ANSWER,
            json.dumps({"choice": choice}),
            time.time(),
            1,
            key,
        )
        try:
            (stored,) = await self.state.writer.write([event])
        except KeyConflict:
            raise web.HTTPError(409, "key: already used for a different answer") from None
        except Exception:
            raise web.HTTPError(503, "the database is unavailable; try again") from None
        self.send({"id": stored})


class PollCloseHandler(APIHandler):
    """``POST /api/polls/<id>/close``: stop taking answers (the poll's leads)."""

    async def post(self, poll_id: str) -> None:
        poll = await self.poll(poll_id)
        if not self.perms.polls_run.covers_group(poll.group):
            raise self.refuse("you may not run polls for group %r", poll.group)
        await self.state.db.close_poll(poll.id)
        self.send({"poll": (await self.poll(poll_id)).to_json()})


class PollResultsHandler(APIHandler):
    """``GET /api/polls/<id>/results``: counts per option, once enough have answered."""

    async def get(self, poll_id: str) -> None:
        poll = await self.poll(poll_id)
        if not self.perms.polls_run.covers_group(poll.group):
            raise self.refuse("you may not see the results of poll %s", poll_id)
        members = sorted(await self.members(poll.group))
        rows = await self.state.db.select_events(
            learners=members, module=POLL_MODULE, item=str(poll.id), kind=POLL_ANSWER
        )
        choices = {row.learner: json.loads(row.value).get("choice") for row in rows}
        latest = {
            learner: choice
            for learner, choice in choices.items()
            if isinstance(choice, int) and 0 <= choice < len(poll.options)
        }
        minimum = self.state.min_group_size
        answer: dict[str, Any] = {"poll": poll.to_json(), "minimum": minimum}
        if len(latest) < minimum:
            answer |= {
                "suppressed": True,
                "message": f"results show once {minimum} learners have answered",
            }
        else:
            counts = [0] * len(poll.options)
            for choice in latest.values():
                counts[choice] += 1
            answer |= {"suppressed": False, "answered": len(latest), "counts": counts}
        self.send(answer)


def shared_reflections(rows: Iterable[EventRow]) -> list[EventRow]:
    """The reflections to show a tutor: per learner, module, reflection and kind (shared or
    submitted), the newest of the rows already filtered by :func:`visible_to_others`."""
    newest: dict[tuple[str, str, str, str], EventRow] = {}
    for row in rows:
        if row.kind in SHARED_KINDS:
            newest[(row.learner, row.module, row.item, row.kind)] = row
    return sorted(newest.values(), key=lambda r: (r.learner, r.module, r.item, r.id))


def _when(seconds: float) -> str:
    moment = time.localtime(seconds)
    return f"{moment.tm_mday} {time.strftime('%b %Y at %H:%M', moment)}"


PAGE_STYLE = """
body { font-family: system-ui, sans-serif; margin: 0; color: #111; background: #fff;
  line-height: 1.5; }
main { max-width: 50em; margin: 0 auto; padding: 1em; }
.skip { position: absolute; left: -999em; }
.skip:focus { left: 1em; top: 1em; background: #fff; padding: 0.3em; }
a:focus-visible { outline: 3px solid #ffbf47; outline-offset: 2px; }
article { border-left: 4px solid #1d4f91; padding: 0 1em; margin: 1em 0; }
.meta { color: #333; }
.text { white-space: pre-wrap; overflow-wrap: anywhere; }
"""


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html><html lang='en-GB'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{PAGE_STYLE}</style></head><body>"
        "<a class='skip' href='#main'>Skip to the reflections</a>"
        f"<main id='main'>{body}</main></body></html>"
    )


def cohort_page(group: str, members: Sequence[str], rows: Sequence[EventRow]) -> str:
    """The tutor's page of reflections ``group``'s learners shared or submitted (all escaped)."""
    esc = html.escape
    by_learner: dict[str, list[EventRow]] = {}
    for row in shared_reflections(rows):
        by_learner.setdefault(row.learner, []).append(row)
    parts = [
        f"<h1>Reflections shared by {esc(group)}</h1>",
        "<p>You see only what a learner chose to share with you or submitted, as it was at "
        "that moment. Drafts, later edits and reflections a learner stopped sharing are never "
        f"shown. {len(by_learner)} of {len(members)} learners have shared or submitted a "
        "reflection.</p>",
    ]
    if not by_learner:
        parts.append("<p>No learner in this group has shared a reflection yet.</p>")
    for learner, found in by_learner.items():
        articles = []
        for row in found:
            try:
                value = json.loads(row.value)
            except ValueError:
                value = {}
            value = value if isinstance(value, dict) else {}
            title = str(value.get("title") or row.item)
            text = value.get("text")
            text = text if isinstance(text, str) else ""
            state = "Submitted" if row.kind == "reflection.submitted" else "Shared"
            articles.append(
                f"<li><article><h3>{esc(title)}</h3><p class='meta'>Module "
                f"{esc(row.module)} · {state} on {esc(_when(row.time))}</p>"
                f"<div class='text'>{esc(text)}</div></article></li>"
            )
        parts.append(
            f"<section><h2>{esc(learner)}</h2>"
            f"<ul class='reflections' role='list'>{''.join(articles)}</ul></section>"
        )
    return _page(f"Reflections shared by {group}", "".join(parts))


class CohortPageHandler(APIHandler):
    """``GET /cohort/<group>``: a tutor's HTML page of the group's shared and submitted
    reflections (the ``cohort:read`` scope for the group; the same visibility rule as the API)."""

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.set_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
        self.set_header("X-Content-Type-Options", "nosniff")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        if "text/html" not in self.request.headers.get("Accept", ""):
            self.set_header("Content-Type", "application/json; charset=utf-8")
            super().write_error(status_code, **kwargs)
            return
        message = html.escape(self.error_message(**kwargs))
        self.finish(
            _page(
                f"{status_code}: not available",
                f"<h1>Not available ({status_code})</h1><p>{message}</p>",
            )
        )

    async def get(self, group: str) -> None:
        if not self.perms.cohort_read.covers_group(group):
            raise self.refuse("you may not read the reflections of group %r", group)
        members = sorted(await self.members(group))
        rows = []
        for kind in SHARED_KINDS:
            rows += await self.state.db.select_events(learners=members, kind=kind)
        scope = None if self.perms.cohort_read.everywhere else self.course_modules(group)
        if scope is not None:  # the course's own modules only (a learner may be in two courses)
            rows = [r for r in rows if r.module in scope]
        rows.sort(key=lambda r: r.id)
        visible = await self.tutor_view(rows, members)
        self.finish(cohort_page(group, members, visible))


class FeedbackCodeHandler(APIHandler, CodeEndpoint):
    """``POST /api/feedback/code {"statement", "reply"}``: the reply coder for every learner's
    kernel on the hub (one model in this service; see :mod:`courseware.feedback._web`)."""

    def initialize(self, state: ServiceState) -> None:
        super().initialize(state)
        self.host = state.coder if state.coder is not None else shared_host()

    def authorised(self) -> bool:
        return self.perms.learner

    def get(self) -> None:
        self.warm()

    def request_body(self) -> bytes:
        return bytes(self._body)  # APIHandler streams the body in (after its size check)

    async def post(self) -> None:
        await self.answer()


ROUTES: list[tuple[str, type[web.RequestHandler]]] = [
    ("api/health", HealthHandler),
    ("api/me", MeHandler),
    ("api/events", EventsHandler),
    ("api/events/latest", LatestHandler),
    (r"api/groups/([^/]+)/aggregates", AggregatesHandler),
    (r"api/groups/([^/]+)/polls", GroupPollsHandler),
    (r"api/polls/([0-9]+)", PollHandler),
    (r"api/polls/([0-9]+)/answers", PollAnswerHandler),
    (r"api/polls/([0-9]+)/close", PollCloseHandler),
    (r"api/polls/([0-9]+)/results", PollResultsHandler),
    (r"cohort/([^/]+)", CohortPageHandler),
    ("api/feedback/code", FeedbackCodeHandler),
]
"""Every endpoint, relative to the service prefix (the 403 test walks this list)."""


class OAuthCallbackHandler(HubOAuthCallbackHandler):  # type: ignore[misc]
    """Finishes JupyterHub's OAuth login for a browser (``<prefix>/oauth_callback``)."""

    def initialize(self, state: ServiceState) -> None:
        self.hub_auth = state.hub_auth


def _valid_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


MAX_MESSAGE = 600
"""Longest error message: a reason, never a long echo of what was sent."""


def _cut(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


class NotFoundHandler(JSONHandler):
    """Any path no endpoint serves: a JSON 404 naming it (cut short), like every refusal."""

    def prepare(self) -> None:
        raise web.HTTPError(404, "no such endpoint: %s", _short(self.request.path))


def _short(path: str) -> str:
    return path if len(path) <= 200 else path[:200] + "…"


def _log_request(handler: web.RequestHandler) -> None:
    """Errors at INFO and above; successful requests only at DEBUG (hundreds a second).

    A path is cut at 200 characters, so a hostile 30 KB URL cannot flood the log."""
    status = handler.get_status()
    level = (
        logging.DEBUG
        if status < 400 or status == 429  # 429: a flood, counted by FairShare, not logged
        else logging.WARNING
        if status < 500
        else logging.ERROR
    )
    if log.isEnabledFor(level):
        request = handler.request
        millis = 1000.0 * request.request_time()
        log.log(level, "%d %s %s %.1fms", status, request.method, _short(request.path), millis)


def make_app(state: ServiceState, prefix: str = "/services/courseware/") -> web.Application:
    """The tornado application serving :data:`ROUTES` under ``prefix``."""
    handlers: list[Any] = [
        (url_path_join(prefix, path), handler, {"state": state}) for path, handler in ROUTES
    ]
    handlers.append(
        (url_path_join(prefix, "oauth_callback"), OAuthCallbackHandler, {"state": state})
    )
    secret = os.environ.get("COURSEWARE_COOKIE_SECRET", "").encode() or os.urandom(32)
    return web.Application(
        handlers,
        default_handler_class=NotFoundHandler,
        log_function=_log_request,
        cookie_secret=secret,
        hub_auth=state.hub_auth,
        xsrf_cookies=False,
    )
