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
import json
import logging
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler, HubOAuthenticated
from jupyterhub.utils import url_path_join
from tornado import web

from ..feedback._web import CodeEndpoint, CoderHost, shared_host
from ..store._service import MAX_BATCH, event_fields
from ._db import Database, EventRow, NewEvent, PollRow
from ._hubapi import HubGroups
from ._roles import Permissions

__all__ = ["ROUTES", "BatchWriter", "ServiceState", "make_app", "visible_to_others"]

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
                ids = await self.db.insert_events([e for events, _ in batch for e in events])
            except Exception as e:
                log.error("storing %d events failed: %s", count, e)
                for _, future in batch:
                    if not future.done():
                        future.set_exception(e)
            else:
                start = 0
                for events, future in batch:
                    if not future.done():
                        future.set_result(ids[start : start + len(events)])
                    start += len(events)
            for _ in batch:
                self._queue.task_done()

    async def stop(self) -> None:
        """Store everything queued or being stored (their replies can still go out), then stop."""
        await self._queue.join()
        if self._task is not None:
            self._task.cancel()


@dataclass
class ServiceState:
    """What every handler shares."""

    db: Database
    writer: BatchWriter
    groups: HubGroups
    hub_auth: HubOAuth
    min_group_size: int = 5
    schema_version: int = 0
    coder: CoderHost | None = None
    """The reply coder's host (None: the process's shared one, loaded on first use)."""


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

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        message = self._reason
        exc = kwargs.get("exc_info")
        if exc and isinstance(exc[1], web.HTTPError) and exc[1].log_message:
            message = exc[1].log_message % exc[1].args if exc[1].args else exc[1].log_message
        self.finish({"status": status_code, "message": message})

    def send(self, data: Any) -> None:
        self.finish(json.dumps(data, ensure_ascii=False, separators=(",", ":")))


class HealthHandler(JSONHandler):
    """``GET /api/health``: unauthenticated liveness (for the hub and Kubernetes probes)."""

    def initialize(self, state: ServiceState) -> None:
        self.state = state

    def get(self) -> None:
        self.send({"ok": True, "schema": self.state.schema_version})


class APIHandler(HubOAuthenticated, JSONHandler):  # type: ignore[misc]
    """An authenticated API endpoint; ``self.perms`` says what the caller may do."""

    perms: Permissions

    def initialize(self, state: ServiceState) -> None:
        self.state = state
        self.hub_auth = state.hub_auth

    async def prepare(self) -> None:
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
        try:
            return json.loads(self.request.body or b"null")
        except ValueError as e:
            raise web.HTTPError(400, "the request body is not valid JSON: %s", e) from None

    def refuse(self, message: str, *args: Any) -> web.HTTPError:
        return web.HTTPError(403, message, *args)

    async def members(self, group: str) -> frozenset[str]:
        return await self.state.groups.members(group)

    async def may_read_learner(self, learner: str) -> bool:
        """Whether the caller reads ``learner``'s (non-private) responses: their tutor."""
        grant = self.perms.cohort_read
        if grant.everywhere or learner in grant.users:
            return True
        for group in grant.groups:
            if learner in await self.members(group):
                return True
        return False

    async def readable(
        self, learner: str | None, group: str | None
    ) -> tuple[list[str] | None, bool]:
        """Whose events the caller may read here, and whether private kinds are included."""
        me = self.perms.name
        if group is not None:
            if learner is not None:
                raise web.HTTPError(400, "give learner or group, not both")
            if not self.perms.cohort_read.covers_group(group):
                raise self.refuse("you may not read the responses of group %r", group)
            return sorted(await self.members(group)), False
        if learner is None:
            if self.perms.cohort_read.everywhere:
                return None, False
            raise web.HTTPError(403, "name a learner (yourself) or a group you may read")
        if learner == me and self.perms.learner:
            return [me], True
        if await self.may_read_learner(learner):
            return [learner], False
        raise self.refuse("you may not read the responses of %r", learner)

    async def tutor_view(self, rows: list[EventRow], learners: list[str] | None) -> list[EventRow]:
        if not any(r.kind == "reflection.shared" for r in rows):
            return visible_to_others(rows)
        withdrawals = await self.state.db.select_events(learners=learners, kind=WITHDRAWN)
        return visible_to_others(rows, withdrawals)

    async def poll(self, poll_id: str) -> PollRow:
        found = await self.state.db.polls(poll_id=int(poll_id))
        if not found:
            raise web.HTTPError(404, "no poll %s", poll_id)
        return found[0]

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
            value = json.dumps(fields.pop("value"), ensure_ascii=False, separators=(",", ":"))
            events.append(NewEvent(value=value, **fields))
        try:
            ids = await self.state.writer.write(events)
        except Exception:
            raise web.HTTPError(503, "the database is unavailable; try again") from None
        self.send({"ids": ids})

    async def get(self) -> None:
        arg = self.get_query_argument
        learners, private_ok = await self.readable(arg("learner", None), arg("group", None))
        rows = await self.state.db.select_events(
            learners=learners,
            module=arg("module", None),
            item=arg("item", None),
            kind=arg("kind", None),
            kind_prefix=arg("kind_prefix", None),
        )
        if not private_ok:
            rows = await self.tutor_view(rows, learners)
        self.send({"events": [r.to_json() for r in rows]})


class LatestHandler(APIHandler):
    """``GET /api/events/latest?learner&module&item&kind``: the current answer."""

    async def get(self) -> None:
        filters = {}
        for name in ("learner", "module", "item", "kind"):
            value = self.get_query_argument(name, None)
            if value is None:
                raise web.HTTPError(400, "%s: required", name)
            filters[name] = value
        learners, private_ok = await self.readable(filters.pop("learner"), None)
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
        for module, item, kind, count in await self.state.db.learners_by_item(
            members, self.get_query_argument("module", None)
        ):
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
        if key is not None and (not isinstance(key, str) or not 0 < len(key) <= 100):
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
        (stored,) = await self.state.writer.write([event])
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

    async def post(self) -> None:
        await self.answer()


ROUTES: list[tuple[str, type[web.RequestHandler]]] = [
    ("api/health", HealthHandler),
    ("api/me", MeHandler),
    ("api/events", EventsHandler),
    ("api/events/latest", LatestHandler),
    (r"api/groups/([^/]+)/aggregates", AggregatesHandler),
    (r"api/groups/([^/]+)/polls", GroupPollsHandler),
    (r"api/polls/(\d+)", PollHandler),
    (r"api/polls/(\d+)/answers", PollAnswerHandler),
    (r"api/polls/(\d+)/close", PollCloseHandler),
    (r"api/polls/(\d+)/results", PollResultsHandler),
    ("api/feedback/code", FeedbackCodeHandler),
]
"""Every endpoint, relative to the service prefix (the 403 test walks this list)."""


class OAuthCallbackHandler(HubOAuthCallbackHandler):  # type: ignore[misc]
    """Finishes JupyterHub's OAuth login for a browser (``<prefix>/oauth_callback``)."""

    def initialize(self, state: ServiceState) -> None:
        self.hub_auth = state.hub_auth


def _log_request(handler: web.RequestHandler) -> None:
    """Errors at INFO and above; successful requests only at DEBUG (hundreds a second)."""
    status = handler.get_status()
    level = logging.DEBUG if status < 400 else logging.WARNING if status < 500 else logging.ERROR
    if log.isEnabledFor(level):
        request = handler.request
        millis = 1000.0 * request.request_time()
        log.log(level, "%d %s %s %.1fms", status, request.method, request.path, millis)


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
        log_function=_log_request,
        cookie_secret=secret,
        hub_auth=state.hub_auth,
        max_body_size=64 * 1024 * 1024,
        xsrf_cookies=False,
    )
