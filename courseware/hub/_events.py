"""The events API: save your own events, read those you may, the current answer, aggregates."""

from __future__ import annotations

from typing import Any

from tornado import web

from ..store import (
    MAX_BATCH,
    event_fields,
)
from ._db import KeyConflict, NewEvent
from ._handlers import APIHandler
from ._visibility import RESERVED_PREFIXES


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
