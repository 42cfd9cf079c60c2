"""What may be shown of a seminar's answers: results, the moderation queue, the pages' states, the export.

A question with fewer than ``min_group`` answers is not broken down (counts, approved answers), on
screen or in the export, so no one's answer can be picked out of a tiny group; free text reaches
the room only once the presenter approves it. :class:`SeminarResults` is the part of
:class:`~._seminar.Seminar` that reads its answers and never changes them (apart from noting which
written answers went to the reply coder).
"""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from ._seminar_questions import Question

Status = Literal["pending", "approved", "rejected"]

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
    from ..feedback import CODE_TITLES, CODES

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
    approved_ids: list[str] | None = None
    """The approved answers' ids (for the presenter's *Withdraw*), in the same order."""

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


SEPARATORS = ",;\t\r\n|"
"""Characters a spreadsheet may split a CSV line on, depending on the reader's locale."""
_FORMULA_AFTER_SEPARATOR = re.compile(r"(^|[" + re.escape(SEPARATORS) + r"])(\s*)([=+\-@])")


def neutralise(cell: object) -> object:
    """Text a spreadsheet cannot run as a formula, whatever separator its locale splits on.

    A ``'`` goes before every ``= + - @`` that starts the cell or follows a possible separator
    (``, ; | tab CR LF``, spaces between allowed): ``safe;=1+1`` becomes ``safe;'=1+1``, so even a
    semicolon-locale reader that splits it gets the text ``=1+1``. Nothing else changes: removing
    the added ``'`` gives the text back exactly.
    """
    if not isinstance(cell, str):
        return cell
    text = _FORMULA_AFTER_SEPARATOR.sub(r"\1\2'\3", cell)
    if text.startswith(("\t", "\r")):  # a leading tab or CR alone can also start a formula
        text = "'" + text
    return text


class SeminarResults:
    """Results, states and the export of a :class:`~._seminar.Seminar` (whose state it reads)."""

    module_id: str
    min_group: int
    questions: dict[str, Question]
    round: int
    current: str | None
    _choices: dict[tuple[int, str], dict[str, int]]
    _texts: dict[tuple[int, str], dict[str, TextAnswer]]
    _text_index: dict[str, tuple[int, str, str]]
    _changed: Callable[[str], None]

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
        approved = [t for t in texts if t.status == "approved"]
        pending = sum(1 for t in texts if t.status == "pending")
        small = total < self.min_group
        return Results(
            question,
            round_,
            total,
            self.min_group,
            None,
            None if small else [t.text for t in approved],
            pending,
            None if small else [t.id for t in approved],
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
        from ..feedback import CODE_TITLES, CODES

        round_ = self.round if round_ is None else round_
        answers = list(self._texts.get((round_, question_id), {}).values())
        if len(answers) < self.min_group:
            return None
        done = [a for a in answers if a.coded == "done"]
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
