"""The service's request handling: JSON answers and refusals, authentication, the body limit,
each user's share, and what the caller may read.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from dataclasses import dataclass, field
from typing import Any

from jupyterhub.services.auth import HubOAuth, HubOAuthenticated
from tornado import web
from tornado.http1connection import HTTP1Connection

from ..feedback import CoderHost
from ..store import (
    BIGINT_MAX,
    MAX_FIELD,
    MAX_REQUEST_BYTES,
    MAX_VALUE_BYTES,
)
from ._db import Database, EventRow, PollRow
from ._fairshare import FairShare
from ._hubapi import HubGroups, check_group_name
from ._roles import Permissions
from ._visibility import WITHDRAWN, visible_to_others
from ._writer import BatchWriter

log = logging.getLogger("courseware.hub")


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
