"""Seminar polls as plain state: questions from a module, anonymous answers, moderation, results.

Nothing here knows about HTTP: :mod:`._seminar_web` puts it on the network. Every rule that keeps a
poll honest and private lives here, so a unit test can check it without a server:

* a learner is an unguessable participant id handed out by :meth:`Seminar.join`; an answer can only
  be given for the open question of the current round, under one's own id, and replaces only one's
  own earlier answer to it. A free-text answer that changes goes back to the moderation queue, so an
  approved answer cannot be swapped for another;
* free text is kept exactly as typed (any Unicode, markup and all: pages escape it) and is shown to
  the room only once the presenter approves it;
* a question with fewer than ``min_group`` answers is not broken down (counts, approved answers),
  on screen or in the export, so no one's answer can be picked out of a tiny group;
* :meth:`Seminar.reset` starts a new round for the next group; earlier rounds stay for the export.
"""

from __future__ import annotations

import csv
import io
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from ..content import ModuleContent
from ..content._order import display_order, in_order

Kind = Literal["choice", "text"]
Status = Literal["pending", "approved", "rejected"]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MAX_PARTICIPANTS = 5000


class SeminarError(ValueError):
    """An answer or action that is refused; the message is safe to show to whoever sent it."""


@dataclass(frozen=True)
class Question:
    """Something the presenter can ask the room."""

    id: str
    kind: Kind
    prompt: str
    source: str
    context: str = ""
    """Markdown: the vignette scene the question is about, if any."""
    options: tuple[str, ...] = ()
    fixed: bool = False
    """The author pinned the options' order (``order: fixed``); otherwise each session shuffles it."""

    def shuffled(self, session: str) -> Question:
        """This question with its options in the session's order (the same for everyone in the
        room, so the presenter's chart and the learners' buttons agree)."""
        order = display_order(len(self.options), session, self.id, fixed=self.fixed)
        return replace(self, options=tuple(in_order(self.options, order)))

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "prompt": self.prompt,
            "source": self.source,
            "options": list(self.options),
        }


def seminar_questions(module: ModuleContent) -> list[Question]:
    """Every question a module offers: each vignette choice point (as a choice, and as "what would
    you say next?"), each self-check question, and an open "what would you say next?"."""
    questions: list[Question] = []
    for vignette in module.vignettes.values():
        for node_id, node in vignette.spec.nodes.items():
            offered = vignette.offered(node_id)
            if len(offered) < 2:
                continue
            where = f"{vignette.title}: {node.title or node_id}"
            questions.append(
                Question(
                    f"{vignette.id}.{node_id}",
                    "choice",
                    "Which would you choose here?",
                    where,
                    node.text,
                    tuple(choice.label for _, choice in offered),
                    fixed=node.order == "fixed",
                )
            )
            questions.append(
                Question(
                    f"{vignette.id}.{node_id}.say",
                    "text",
                    "What would you say next?",
                    where,
                    node.text,
                )
            )
    for check in module.spec.self_check:
        questions.append(
            Question(
                f"self-check.{check.id}",
                "choice",
                check.question,
                "Check your understanding",
                options=check.texts,
                fixed=check.order == "fixed",
            )
        )
    questions.append(
        Question("say-next", "text", "What would you say next?", "Open question for the room")
    )
    return questions


Coded = Literal["new", "waiting", "done", "unavailable"]


@dataclass
class TextAnswer:
    """A free-text answer, where it stands in moderation, and what the reply coder found in it."""

    id: str
    text: str
    status: Status = "pending"
    time: float = field(default_factory=time.time)
    coded: Coded = "new"
    codes: tuple[str, ...] = ()


NO_CODE = "none"
"""The group of answers in which the coder found none of the ten codes."""


def group_by_code(answers: list[TextAnswer]) -> list[dict[str, Any]]:
    """The moderation queue grouped by code, in the scheme's order: each answer under its first
    code (it lists all of them), then answers with no code, then those not (yet) coded. Only
    groups with answers; within a group, oldest first."""
    from ..feedback._types import CODES
    from ..feedback._words import CODE_TITLES

    def group_of(answer: TextAnswer) -> str:
        if answer.coded in ("new", "waiting"):
            return "waiting"
        if answer.coded == "unavailable":
            return "unavailable"
        return next((c for c in CODES if c in answer.codes), NO_CODE)

    titles = {
        **CODE_TITLES,
        NO_CODE: "None of the ten codes",
        "waiting": "Being coded",
        "unavailable": "Not coded (automatic coding is unavailable)",
    }
    groups = []
    for key in (*CODES, NO_CODE, "waiting", "unavailable"):
        members = [a for a in answers if group_of(a) == key]
        if members:
            items = [
                {"id": a.id, "text": a.text, "codes": [CODE_TITLES[c] for c in a.codes]}
                for a in members
            ]
            groups.append({"code": key, "title": titles[key], "answers": items})
    return groups


@dataclass
class Results:
    """What may be shown about one question in one round."""

    question: Question
    round: int
    total: int
    min_group: int
    counts: list[int] | None
    """Per option, or ``None`` while fewer than ``min_group`` have answered."""
    approved: list[str] | None
    """Approved free text, oldest first, or ``None`` while the group is too small."""
    pending: int = 0

    @property
    def suppressed(self) -> bool:
        return self.total < self.min_group

    def public(self) -> dict[str, Any]:
        return {
            "question": self.question.id,
            "round": self.round,
            "total": self.total,
            "min_group": self.min_group,
            "suppressed": self.suppressed,
            "counts": self.counts,
            "approved": self.approved,
            "pending": self.pending,
        }


def neutralise(cell: object) -> object:
    """A spreadsheet cannot run text beginning ``= + - @`` (or tab, CR) once it starts with ``'``."""
    if isinstance(cell, str) and cell.startswith(FORMULA_START):
        return "'" + cell
    return cell


class Seminar:
    """One seminar session over one module's questions, held in memory by the server."""

    def __init__(
        self,
        module: ModuleContent,
        *,
        min_group: int = 5,
        max_text: int = 280,
        questions: list[Question] | None = None,
    ) -> None:
        self.module_id = module.id
        self.title = module.spec.title
        self.min_group = min_group
        self.max_text = max_text
        self.session = secrets.token_urlsafe(16)
        """Seeds the options' order: shuffled once per session, the same for the whole room."""
        self.questions = {
            q.id: q.shuffled(self.session) for q in (questions or seminar_questions(module))
        }
        self.presenter_token = secrets.token_urlsafe(32)
        self.round = 1
        self.current: str | None = None
        self.accepting = False
        self.connected = 0
        self._participants: set[str] = set()
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

    # -- learners --------------------------------------------------------------------------
    def join(self) -> str:
        """A new anonymous participant id (unguessable; the only key to one's own answers)."""
        if len(self._participants) >= MAX_PARTICIPANTS:
            raise SeminarError("This seminar is full.")
        participant = secrets.token_urlsafe(18)
        self._participants.add(participant)
        return participant

    def knows(self, participant: str | None) -> bool:
        return participant is not None and participant in self._participants

    def answer(
        self,
        participant: str,
        question_id: str,
        *,
        choice: int | None = None,
        text: str | None = None,
    ) -> None:
        """Record ``participant``'s answer to the open question (replacing their earlier one)."""
        if not self.knows(participant):
            raise SeminarError("Please join the seminar again (reload the page).")
        if question_id != self.current or not self.accepting:
            raise SeminarError("That question is not open for answers any more.")
        question = self.questions[question_id]
        key = (self.round, question_id)
        if question.kind == "choice":
            if (
                not isinstance(choice, int)
                or isinstance(choice, bool)
                or not 0 <= choice < len(question.options)
            ):
                raise SeminarError("Please choose one of the options.")
            self._choices.setdefault(key, {})[participant] = choice
        else:
            if not isinstance(text, str):
                raise SeminarError("Please write an answer.")
            line = " ".join(text.split())
            if not line:
                raise SeminarError("Please write an answer.")
            if len(line) > self.max_text:
                raise SeminarError(
                    f"Please keep your answer under {self.max_text} characters "
                    f"(it has {len(line)})."
                )
            answers = self._texts.setdefault(key, {})
            previous = answers.get(participant)
            if previous is not None and previous.text == line:
                return
            if previous is not None:
                self._text_index.pop(previous.id, None)
            entry = TextAnswer(secrets.token_urlsafe(9), line)
            answers[participant] = entry
            self._text_index[entry.id] = (self.round, question_id, participant)
        self._changed("answers")

    def answer_of(self, participant: str | None) -> dict[str, Any] | None:
        """The participant's own answer to the open question, to show back to them."""
        if participant is None or self.current is None:
            return None
        key = (self.round, self.current)
        if participant in self._choices.get(key, {}):
            return {"choice": self._choices[key][participant]}
        entry = self._texts.get(key, {}).get(participant)
        return {"text": entry.text} if entry is not None else None

    # -- presenter -------------------------------------------------------------------------
    def open(self, question_id: str) -> None:
        if question_id not in self.questions:
            raise SeminarError("No such question.")
        self.current = question_id
        self.accepting = True
        self._changed("question")

    def close(self) -> None:
        """Stop taking answers; the results stay on screen."""
        self.accepting = False
        self._changed("question")

    def reset(self) -> None:
        """A new round for the next group: nothing open, no answers; earlier rounds are kept."""
        self.round += 1
        self.current = None
        self.accepting = False
        self._changed("question")

    def moderate(self, answer_id: str, *, approve: bool) -> None:
        where = self._text_index.get(answer_id)
        if where is None:
            raise SeminarError("That answer is no longer waiting.")
        round_, question_id, participant = where
        self._texts[(round_, question_id)][participant].status = (
            "approved" if approve else "rejected"
        )
        self._changed("answers")

    # -- results ---------------------------------------------------------------------------
    def results(self, question_id: str, round_: int | None = None) -> Results:
        """What may be shown for a question: suppressed while fewer than ``min_group`` answered."""
        question = self.questions[question_id]
        round_ = self.round if round_ is None else round_
        key = (round_, question_id)
        if question.kind == "choice":
            given = list(self._choices.get(key, {}).values())
            total = len(given)
            counts = [given.count(i) for i in range(len(question.options))]
            shown = None if total < self.min_group else counts
            return Results(question, round_, total, self.min_group, shown, None)
        texts = sorted(self._texts.get(key, {}).values(), key=lambda t: t.time)
        total = len(texts)
        approved = [t.text for t in texts if t.status == "approved"]
        pending = sum(1 for t in texts if t.status == "pending")
        return Results(
            question,
            round_,
            total,
            self.min_group,
            None,
            None if total < self.min_group else approved,
            pending,
        )

    def to_code(self) -> list[tuple[str, str, str]]:
        """``(answer id, statement, text)`` for each free-text answer not yet sent to the reply
        coder (now marked as sent). The statement is the scene the question is about."""
        wanted = []
        for (_, question_id), answers in self._texts.items():
            question = self.questions[question_id]
            for entry in answers.values():
                if entry.coded == "new":
                    entry.coded = "waiting"
                    wanted.append((entry.id, question.context, entry.text))
        return wanted

    def set_codes(self, answer_id: str, codes: list[str] | None) -> None:
        """The coder's codes for an answer (``None``: it could not code it). An answer replaced
        meanwhile is left alone."""
        where = self._text_index.get(answer_id)
        if where is None:
            return
        round_, question_id, participant = where
        entry = self._texts[(round_, question_id)][participant]
        entry.coded = "unavailable" if codes is None else "done"
        entry.codes = tuple(codes or ())
        self._changed("answers")

    def code_counts(self, question_id: str, round_: int | None = None) -> dict[str, Any] | None:
        """How many answers to a question carry each code (all answers, moderated or not), for
        the presenter; ``None`` while fewer than ``min_group`` have answered."""
        from ..feedback._types import CODES

        round_ = self.round if round_ is None else round_
        answers = list(self._texts.get((round_, question_id), {}).values())
        if len(answers) < self.min_group:
            return None
        done = [a for a in answers if a.coded == "done"]
        from ..feedback._words import CODE_TITLES

        return {
            "coded": len(done),
            "total": len(answers),
            "counts": [
                {"code": c, "title": CODE_TITLES[c], "count": n}
                for c in CODES
                if (n := sum(c in a.codes for a in done))
            ],
        }

    def queue(self) -> list[TextAnswer]:
        """Free-text answers to the current question waiting for the presenter, oldest first."""
        if self.current is None:
            return []
        texts = self._texts.get((self.round, self.current), {}).values()
        return sorted((t for t in texts if t.status == "pending"), key=lambda t: t.time)

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
            "queue": [{"id": t.id, "text": t.text, "codes": list(t.codes)} for t in self.queue()],
            "groups": group_by_code(self.queue()),
            "codes": self.code_counts(question.id)
            if question and question.kind == "text"
            else None,
        }

    def _answered(self) -> Iterator[tuple[int, str]]:
        keys = {k for k, v in self._choices.items() if v} | {k for k, v in self._texts.items() if v}
        order = {qid: i for i, qid in enumerate(self.questions)}
        yield from sorted(keys, key=lambda k: (k[0], order.get(k[1], 0)))

    def export_rows(self) -> list[list[object]]:
        """Aggregate results of every round: counts per option, approved answers; small groups blank."""
        rows: list[list[object]] = [
            [
                "module",
                "round",
                "question_id",
                "question",
                "kind",
                "answer",
                "count",
                "total",
                "note",
            ]
        ]
        small = f"fewer than {self.min_group} answers: not broken down"
        for round_, question_id in self._answered():
            result = self.results(question_id, round_)
            q = result.question
            head = [self.module_id, round_, q.id, q.prompt, q.kind]
            if q.kind == "choice":
                for i, option in enumerate(q.options):
                    count = "" if result.counts is None else result.counts[i]
                    note = small if result.counts is None else ""
                    rows.append([*head, option, count, result.total, note])
            else:
                note = small if result.approved is None else "all free-text answers"
                rows.append([*head, "(free text)", result.total, result.total, note])
                for text in result.approved or []:
                    rows.append([*head, text, 1, result.total, "approved by the presenter"])
        return [[neutralise(cell) for cell in row] for row in rows]

    def export_csv(self) -> str:
        out = io.StringIO()
        csv.writer(out).writerows(self.export_rows())
        return out.getvalue()
