"""The seminar's websockets: a learner's (the open question out, answers in under its own id) and
the presenter's (commands in, the full state out).

Websockets only accept connections from pages of this server (tornado's same-origin check). A
message over :data:`MAX_MESSAGE` is refused by tornado from its frame header (close 1009) before it
is read; text that is not valid Unicode, JSON nested too deep or numbers out of range are refused
with the store's own edge check (:func:`courseware.store.check_value`) before anything is
kept. Learner text travels as JSON and is put on pages with ``textContent``.
"""

from __future__ import annotations

import json
from typing import Any

import tornado.websocket

from ..store import check_value
from ._seminar import SeminarError
from ._seminar_room import PARTICIPANT_COOKIE, PRESENTER_COOKIE, SeminarRoom, room_of

MAX_MESSAGE = 8 * 1024
"""Largest websocket message a seminar page sends (an answer of a few hundred characters)."""


class _Socket(tornado.websocket.WebSocketHandler):
    @property
    def room(self) -> SeminarRoom:
        return room_of(self)

    @property
    def max_message_size(self) -> int:
        """Tornado refuses a bigger message from its frame header (close 1009), unread."""
        return MAX_MESSAGE

    def send(self, text: str) -> None:
        try:
            self.write_message(text)
        except tornado.websocket.WebSocketClosedError:
            self.on_close()

    def error(self, message: str) -> None:
        self.send(json.dumps({"type": "error", "message": message}))

    def read(self, message: str | bytes) -> dict[str, Any] | None:
        """The message as a checked JSON object (valid Unicode, finite numbers in range, at most
        32 levels deep), or ``None`` after telling the sender what was wrong."""
        if isinstance(message, bytes) or len(message) > MAX_MESSAGE:
            self.error("Message too large.")
            return None
        try:
            data = json.loads(message)
        except (ValueError, RecursionError):
            data = None
        try:
            check_value(data, "message")
        except ValueError as exc:  # names the field and the problem, never echoes the text
            self.error(f"Refused: {exc}.")
            return None
        if not isinstance(data, dict):
            self.error("Not understood.")
            return None
        return data


class LearnerSocket(_Socket):
    """A learner's live connection: receives the open question, sends answers under its own id."""

    participant: str | None = None

    def open(self) -> None:
        participant = self.get_cookie(PARTICIPANT_COOKIE)
        if participant is None or not self.room.seminar.knows(participant):
            self.error("Please reload the page to join.")
            self.close(4401, "unknown participant")
            return
        try:
            self.room.seminar.connect(participant)
        except SeminarError as exc:
            self.error(str(exc))
            self.close(4429, "no place")
            return
        self.participant = participant
        self.room.learners.add(self)
        self.room.update_presenters_soon()
        self.send_state()

    def send_state(self) -> None:
        self.send(json.dumps(self.room.seminar.learner_state(self.participant)))

    def on_message(self, message: str | bytes) -> None:
        data = self.read(message)
        if data is None or self.participant is None:
            return
        if data.get("type") != "answer":
            self.error("Not understood.")
            return
        question = data.get("question")
        choice, text = data.get("choice"), data.get("text")
        try:
            if not isinstance(question, str):
                raise SeminarError("That question is not open for answers any more.")
            self.room.seminar.answer(self.participant, question, choice=choice, text=text)
        except SeminarError as exc:
            self.error(str(exc))
            return
        self.send(json.dumps({"type": "ack", "question": question}))
        self.send_state()

    def on_close(self) -> None:
        if self in self.room.learners:
            self.room.learners.discard(self)
            if self.participant is not None:
                self.room.seminar.disconnect(self.participant)
            self.room.update_presenters_soon()


class PresenterSocket(_Socket):
    """The presenter's live connection: commands in, the full state (throttled) out."""

    def open(self) -> None:
        if not self.room.is_presenter(self.get_cookie(PRESENTER_COOKIE)):
            self.close(4403, "presenter only")
            return
        self.room.presenters.add(self)
        self.send(json.dumps(self.room.seminar.presenter_state()))

    def on_message(self, message: str | bytes) -> None:
        if self not in self.room.presenters:
            return
        data = self.read(message)
        if data is None:
            return
        seminar = self.room.seminar
        action = data.get("type")
        target = data.get("answer") if action in ("approve", "reject", "withdraw") else None
        try:
            if action == "open":
                seminar.open(str(data.get("question", "")))
            elif action == "close":
                seminar.close()
            elif action == "reset":
                seminar.reset()
            elif action in ("approve", "reject"):
                seminar.moderate(str(target), approve=action == "approve")
            elif action == "withdraw":
                seminar.withdraw(str(target))
            else:
                raise SeminarError("Not understood.")
        except SeminarError as exc:
            self.error(str(exc))

    def on_close(self) -> None:
        self.room.presenters.discard(self)
