"""Seminar polls as plain state: questions from a module, anonymous answers, moderation, results.

Nothing here knows about HTTP: :mod:`._seminar_room`, its pages and sockets put it on the network.
Every rule that keeps a poll honest and private lives here (and in :mod:`._seminar_results`, what
may be shown), so a unit test can check it without a server:

* a learner is an unguessable participant id handed out by :meth:`Seminar.join`; an answer can only
  be given for the open question of the current round, under one's own id, and replaces only one's
  own earlier answer to it. A free-text answer that changes goes back to the moderation queue, so an
  approved answer cannot be swapped for another;
* free text is kept exactly as typed (any Unicode, markup and all: pages escape it) and is shown to
  the room only once the presenter approves it;
* a question with fewer than ``min_group`` answers is not broken down (counts, approved answers),
  on screen or in the export, so no one's answer can be picked out of a tiny group;
* :meth:`Seminar.reset` starts a new round for the next group; earlier rounds stay for the export;
* a place in the room is held by a person, not a request: only once they connect or answer, and
  freed a short while after they leave without answering, so loading the join page costs nothing
  and a flood of page loads cannot fill the room;
* every change (question opened or closed, new round, answer, moderation) is written to the store
  (:class:`SeminarLog`) before it takes effect, so a crash or restart of the server loses nothing:
  :func:`open_session` replays the log into a fresh :class:`Seminar`. Participants appear there only
  as a hash of their id.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from typing import Any

from ..content import ModuleContent
from ..errors import CoursewareError
from ..store import Event, Store, check_value, current_learner
from ._seminar_log import KIND_PREFIX, SeminarLog, person_of
from ._seminar_questions import Question, seminar_questions
from ._seminar_results import SeminarResults, Status, TextAnswer, group_by_code

MAX_PEOPLE = 5000
"""Places in the room (people connected, recently connected, or with an answer this round)."""
PLACE_GRACE = 120.0
"""Seconds a place stays held after its person's last connection closed (a phone's wifi blip)."""
MAX_SOCKETS_PER_PERSON = 8
"""Live connections one person may hold at once (tabs, reconnects); more are refused."""
PARTICIPANT_ID = re.compile(r"^[A-Za-z0-9_-]{24}\.[0-9a-f]{16}$")


class SeminarError(CoursewareError, ValueError):
    """An answer or action that is refused; the message is safe to show to whoever sent it."""


def valid_text(text: str, what: str) -> None:
    """Refuse text that is not valid Unicode (lone surrogates) with a message for its sender; the
    store's own edge check (:func:`courseware.store.check_value`) decides."""
    try:
        check_value(text, what)
    except ValueError:
        raise SeminarError(
            f"Your {what} contains characters that are not valid text; please type it again."
        ) from None


class Seminar(SeminarResults):
    """One seminar session over one module's questions, held in memory by the server and, with a
    :class:`SeminarLog`, written to the store change by change."""

    def __init__(
        self,
        module: ModuleContent,
        *,
        min_group: int = 5,
        max_text: int = 280,
        max_people: int = MAX_PEOPLE,
        questions: list[Question] | None = None,
        log: SeminarLog | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.module_id = module.id
        self.title = module.spec.title
        self.min_group = min_group
        self.max_text = max_text
        self.max_people = max_people
        self.session = log.session if log is not None else secrets.token_urlsafe(16)
        """Seeds the options' order: shuffled once per session, the same for the whole room, and
        the same again when a restarted server carries on the stored session."""
        self.questions = {
            q.id: q.shuffled(self.session) for q in (questions or seminar_questions(module))
        }
        self.presenter_token = secrets.token_urlsafe(32)
        self.round = 1
        self.current: str | None = None
        self.accepting = False
        self.log = log
        self._clock = clock
        self._secret = secrets.token_bytes(32)
        self._known: set[str] = set()
        """People (hashed ids) who have answered in this session, also before a restart."""
        self._sockets: dict[str, int] = {}
        self._left: dict[str, float] = {}
        """People whose last connection closed, and when: their place is kept for a while."""
        self._round_people: set[str] = set()
        self._choices: dict[tuple[int, str], dict[str, int]] = {}
        self._texts: dict[tuple[int, str], dict[str, TextAnswer]] = {}
        self._text_index: dict[str, tuple[int, str, str]] = {}
        self._listeners: list[Callable[[str], None]] = []

    # -- observers -------------------------------------------------------------------------
    def subscribe(self, listener: Callable[[str], None]) -> None:
        """``listener(what)`` is called after every change; ``what`` is ``"question"`` when learners'
        pages must change (open, close, reset) and ``"answers"`` when only results did."""
        self._listeners.append(listener)

    def _changed(self, what: str) -> None:
        for listener in list(self._listeners):
            listener(what)

    # -- pages' states --------------------------------------------------------------------
    def learner_state(self, participant: str | None) -> dict[str, Any]:
        """What a learner's page shows: the open question (no results, no one else's words)."""
        question = self.questions.get(self.current) if self.current else None
        return {
            "type": "state",
            "title": self.title,
            "round": self.round,
            "question": question.public() if question else None,
            "accepting": self.accepting,
            "yours": self.answer_of(participant),
        }

    def presenter_state(self) -> dict[str, Any]:
        """Everything the presenter sees: the open question, its results and the moderation queue."""
        question = self.questions.get(self.current) if self.current else None
        return {
            "type": "state",
            "title": self.title,
            "round": self.round,
            "connected": self.connected,
            "question": question.public() if question else None,
            "accepting": self.accepting,
            "results": self.results(question.id).public() if question else None,
            "withdraw": self.results(question.id).approved_ids if question else None,
            "queue": [{"id": t.id, "text": t.text, "codes": list(t.codes)} for t in self.queue()],
            "groups": group_by_code(self.queue()),
            "codes": self.code_counts(question.id)
            if question and question.kind == "text"
            else None,
        }

    # -- the record ------------------------------------------------------------------------
    def _commit(self, kind: str, value: dict[str, Any]) -> None:
        """Write a change to the store (if any), then make it: nothing is shown that is not kept."""
        when = time.time()
        if self.log is not None:
            try:
                when = self.log.write(kind, value).time
            except Exception as exc:
                raise SeminarError(
                    "That could not be saved just now; please try again in a moment."
                ) from exc
        self._apply(kind, value, when)

    def _apply(self, kind: str, value: dict[str, Any], when: float) -> None:
        if kind in ("opened", "answered") and value.get("question") not in self.questions:
            return  # a question the module no longer has (edited between two runs)
        if kind == "opened":
            self.current = str(value["question"])
            self.accepting = True
        elif kind == "closed":
            self.accepting = False
        elif kind == "round":
            self.round = int(value["round"])
            self.current = None
            self.accepting = False
            self._round_people.clear()
        elif kind == "answered":
            self._apply_answer(value, when)
        elif kind == "moderated":
            where = self._text_index.get(str(value["answer"]))
            if where is not None:
                round_, question_id, person = where
                self._texts[(round_, question_id)][person].status = value["status"]

    def _apply_answer(self, value: dict[str, Any], when: float) -> None:
        round_, question_id, person = int(value["round"]), str(value["question"]), value["person"]
        key = (round_, question_id)
        self._known.add(person)
        if round_ == self.round:
            self._round_people.add(person)
        if "choice" in value:
            self._choices.setdefault(key, {})[person] = int(value["choice"])
            return
        answers = self._texts.setdefault(key, {})
        previous = answers.get(person)
        if previous is not None:
            self._text_index.pop(previous.id, None)
        entry = TextAnswer(str(value["answer"]), str(value["text"]), time=when)
        answers[person] = entry
        self._text_index[entry.id] = (round_, question_id, person)

    def restore(self, events: list[Event]) -> None:
        """Replay a session's stored events (oldest first) into this fresh seminar."""
        for event in events:
            kind = event.kind.removeprefix(KIND_PREFIX)
            if isinstance(event.value, dict):
                self._apply(kind, event.value, event.time)

    # -- places ----------------------------------------------------------------------------
    def new_participant(self) -> str:
        """A new anonymous participant id: unguessable, the only key to one's own answers. Costs
        the server nothing (it is signed, not stored): a place is taken only by :meth:`connect`
        or an answer."""
        token = secrets.token_urlsafe(18)
        return f"{token}.{self._sign(token)}"

    def _sign(self, token: str) -> str:
        return hmac.new(self._secret, token.encode(), hashlib.sha256).hexdigest()[:16]

    def knows(self, participant: str | None) -> bool:
        """Whether ``participant`` is an id this seminar gave out (or one that answered before a
        restart)."""
        if participant is None or not PARTICIPANT_ID.match(participant):
            return False
        token, signature = participant.split(".")
        if hmac.compare_digest(signature, self._sign(token)):
            return True
        return person_of(participant) in self._known

    def _places_taken(self) -> set[str]:
        now = self._clock()
        for person, left in list(self._left.items()):
            if now - left > PLACE_GRACE:
                del self._left[person]
        return self._round_people | self._sockets.keys() | self._left.keys()

    def holds_place(self, participant: str) -> bool:
        person = person_of(participant)
        return person in self._round_people or person in self._sockets or person in self._left

    def room_for(self, participant: str | None) -> bool:
        """Whether ``participant`` (``None``: a newcomer) has a place or could take one now."""
        if participant is not None and self.holds_place(participant):
            return True
        return len(self._places_taken()) < self.max_people

    def _take_place(self, participant: str) -> str:
        if not self.knows(participant):
            raise SeminarError("Please join the seminar again (reload the page).")
        if not self.room_for(participant):
            raise SeminarError("This seminar is full.")
        return person_of(participant)

    def connect(self, participant: str) -> None:
        """A learner's page connected: they hold a place while connected (and a while after)."""
        person = self._take_place(participant)
        if self._sockets.get(person, 0) >= MAX_SOCKETS_PER_PERSON:
            raise SeminarError("This seminar is open in too many of your tabs; close some.")
        self._sockets[person] = self._sockets.get(person, 0) + 1
        self._left.pop(person, None)

    def disconnect(self, participant: str) -> None:
        person = person_of(participant)
        left = self._sockets.get(person, 0) - 1
        if left > 0:
            self._sockets[person] = left
            return
        self._sockets.pop(person, None)
        self._left[person] = self._clock()

    @property
    def connected(self) -> int:
        """People with the seminar open now (however many tabs or connections each has)."""
        return len(self._sockets)

    @property
    def places_taken(self) -> int:
        return len(self._places_taken())

    # -- learners --------------------------------------------------------------------------
    def answer(
        self,
        participant: str,
        question_id: str,
        *,
        choice: int | None = None,
        text: str | None = None,
    ) -> None:
        """Record ``participant``'s answer to the open question (replacing their earlier one)."""
        person = self._take_place(participant)
        if question_id != self.current or not self.accepting:
            raise SeminarError("That question is not open for answers any more.")
        question = self.questions[question_id]
        key = (self.round, question_id)
        value: dict[str, Any] = {"round": self.round, "question": question_id, "person": person}
        if question.kind == "choice":
            if (
                not isinstance(choice, int)
                or isinstance(choice, bool)
                or not 0 <= choice < len(question.options)
            ):
                raise SeminarError("Please choose one of the options.")
            if self._choices.get(key, {}).get(person) == choice:
                return
            value["choice"] = choice
        else:
            if not isinstance(text, str):
                raise SeminarError("Please write an answer.")
            valid_text(text, "answer")
            line = " ".join(text.split())
            if not line:
                raise SeminarError("Please write an answer.")
            if len(line) > self.max_text:
                raise SeminarError(
                    f"Please keep your answer under {self.max_text} characters "
                    f"(it has {len(line)})."
                )
            previous = self._texts.get(key, {}).get(person)
            if previous is not None and previous.text == line:
                return
            value.update(answer=secrets.token_urlsafe(9), text=line)
        self._commit("answered", value)
        self._changed("answers")

    def answer_of(self, participant: str | None) -> dict[str, Any] | None:
        """The participant's own answer to the open question, to show back to them."""
        if participant is None or self.current is None:
            return None
        person = person_of(participant)
        key = (self.round, self.current)
        if person in self._choices.get(key, {}):
            return {"choice": self._choices[key][person]}
        entry = self._texts.get(key, {}).get(person)
        return {"text": entry.text} if entry is not None else None

    # -- presenter -------------------------------------------------------------------------
    def open(self, question_id: str) -> None:
        if question_id not in self.questions:
            raise SeminarError("No such question.")
        self._commit("opened", {"question": question_id})
        self._changed("question")

    def close(self) -> None:
        """Stop taking answers; the results stay on screen."""
        self._commit("closed", {})
        self._changed("question")

    def reset(self) -> None:
        """A new round for the next group: nothing open, no answers; earlier rounds are kept."""
        self._commit("round", {"round": self.round + 1})
        self._changed("question")

    def moderate(self, answer_id: str, *, approve: bool) -> None:
        """Approve or reject a written answer (either may be changed later)."""
        self._moderate(answer_id, "approved" if approve else "rejected")

    def withdraw(self, answer_id: str) -> None:
        """Take an approved answer off the room's screen; it waits for the presenter again."""
        where = self._text_index.get(answer_id)
        if where is None or self._texts[where[:2]][where[2]].status != "approved":
            raise SeminarError("That answer is not approved.")
        self._moderate(answer_id, "pending")

    def _moderate(self, answer_id: str, status: Status) -> None:
        if answer_id not in self._text_index:
            raise SeminarError("That answer is no longer waiting.")
        self._commit("moderated", {"answer": answer_id, "status": status})
        self._changed("answers")


def open_session(
    store: Store,
    module: ModuleContent,
    *,
    new: bool = False,
    owner: str | None = None,
    **options: Any,
) -> Seminar:
    """A seminar for ``module`` kept in ``store``: its latest session there, replayed (a restart
    after a crash carries on where it stopped), or a new session if there is none or ``new``.
    ``options`` are :class:`Seminar`'s."""
    owner = owner or current_learner()
    session = None
    if not new:
        started = store.events(
            learner=owner, module=f"seminar:{module.id}", kind=KIND_PREFIX + "started"
        )
        session = started[-1].item if started else None
    if session is None:
        session = time.strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)
        SeminarLog(store, module.id, session, owner).write("started", {"module": module.id})
    log = SeminarLog(store, module.id, session, owner)
    seminar = Seminar(module, log=log, **options)
    seminar.restore(log.read())
    return seminar
