"""Live polls: a seminar lead starts one for a hub group, members answer, results once enough have."""

from __future__ import annotations

import json
import time
from typing import Any

from tornado import web

from ..store import check_key, check_text
from ._db import KeyConflict, NewEvent
from ._handlers import APIHandler
from ._visibility import POLL_ANSWER, POLL_MODULE


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
            try:
                check_text(text, where)
            except ValueError as e:
                raise web.HTTPError(400, "%s", e) from None
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
        try:
            key = check_key(body.get("key"))
        except ValueError as e:
            raise web.HTTPError(400, "%s", e) from None
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
