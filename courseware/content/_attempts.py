"""A learner's attempt at an exercise: the rules for what they may do next, with no widget involved.

Every action is an event kind and a value (the same pair the store keeps). :meth:`Attempt.apply`
checks it against the exercise and the attempt so far and returns the clean value to store, or
raises :class:`NotAllowed`: a forged widget message cannot pick an option that is not offered,
change an answer that was submitted and locked, or code a reply before writing it. Reloading
replays the stored events through the same rules, so a resumed attempt is exactly the one saved.
"""

from __future__ import annotations

import logging
import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Protocol

from ..errors import Refused
from ._coding import Coding
from ._exercises import (
    ComposeResponseSpec,
    CueSpottingSpec,
    LikertSpec,
    ResponseChoiceSpec,
    ResponseOption,
    TimedWriteSpec,
)

log = logging.getLogger(__name__)

MAX_TEXT = 2_000_000
"""Longest text an action may carry (a 1 MB paste fits; anything bigger is refused, not cut)."""


class NotAllowed(Refused):
    """An action the exercise does not allow now; nothing was changed."""


class Recorded(Protocol):
    """Anything with an event's ``kind``, ``value`` and ``time`` (a store
    :class:`~courseware.store.Event`): what exercises, vignette runs and the portfolio replay."""

    @property
    def kind(self) -> str: ...

    @property
    def value(self) -> Any: ...

    @property
    def time(self) -> float: ...


def words(text: str) -> int:
    """Words as a learner counts them: runs of non-space characters (the one word count, used by
    the widgets, progress and the marking of composed replies)."""
    return len(text.split())


def _text(value: Any, key: str = "text") -> str:
    if not isinstance(value, Mapping) or not isinstance(value.get(key), str):
        raise NotAllowed(f"expected {{{key!r}: text}}")
    text: str = value[key]
    if len(text) > MAX_TEXT:
        raise NotAllowed(f"text longer than {MAX_TEXT} characters")
    return text


def _ints(value: Any, key: str) -> list[int]:
    items = value.get(key) if isinstance(value, Mapping) else None
    if not isinstance(items, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in items
    ):
        raise NotAllowed(f"expected {{{key!r}: [numbers]}}")
    return sorted(set(items))


class Attempt(ABC):
    """The rules of one exercise for one learner. Subclasses name their event ``prefix``."""

    prefix: ClassVar[str]

    def apply(self, kind: str, value: Any, at: float) -> dict[str, Any]:
        """Check an action and make it; return the value to store. Raises :class:`NotAllowed`."""
        if not kind.startswith(self.prefix):
            raise NotAllowed(f"{kind!r} is not an action of this exercise")
        return self._apply(kind, value, at)

    @abstractmethod
    def _apply(self, kind: str, value: Any, at: float) -> dict[str, Any]: ...

    def belongs(self, event: Recorded) -> bool:
        """Whether a stored event is part of this attempt (e.g. the same questionnaire wave)."""
        return True

    def replay(self, events: Iterable[Recorded]) -> None:
        """Re-apply stored events, oldest first; one the rules refuse is logged and skipped."""
        for event in events:
            if not self.belongs(event):
                continue
            try:
                self.apply(event.kind, event.value, event.time)
            except NotAllowed as exc:
                log.warning("ignoring a stored %s event: %s", event.kind, exc)

    @property
    @abstractmethod
    def locked(self) -> bool:
        """Whether the answer is submitted and can no longer change."""


class ResponseChoiceAttempt(Attempt):
    """Pick one reply; the first pick is the answer and is locked."""

    prefix = "choice."
    PICK = "choice.pick"

    def __init__(self, spec: ResponseChoiceSpec) -> None:
        self.spec = spec
        self.picked: int | None = None

    def _apply(self, kind: str, value: Any, at: float) -> dict[str, Any]:
        if kind != self.PICK:
            raise NotAllowed(f"unknown action {kind!r}")
        option = value.get("option") if isinstance(value, Mapping) else None
        if not isinstance(option, int) or isinstance(option, bool):
            raise NotAllowed("expected {'option': number}")
        if self.picked is not None:
            raise NotAllowed("the answer is already given and locked")
        if not 0 <= option < len(self.spec.options):
            raise NotAllowed(f"option {option} is not offered")
        self.picked = option
        return {"option": option, "best": self.spec.options[option].best}

    @property
    def locked(self) -> bool:
        return self.picked is not None

    @property
    def choice(self) -> ResponseOption | None:
        return None if self.picked is None else self.spec.options[self.picked]


def coded_value(value: Any, reply: str) -> dict[str, Any]:
    """Check a stored reply coding (the coder's wire format) against the reply it is about.

    Evidence must be words of that reply, so a coding can never put words in a learner's mouth.
    """
    if not isinstance(value, Mapping):
        raise NotAllowed("expected a coding (the reply coder's wire format)")
    try:
        coding = Coding.from_dict(value)
    except (ValueError, TypeError, KeyError) as exc:
        raise NotAllowed(f"not a coding: {exc}") from None
    for result in (*coding.codes, *coding.unsure):
        for e in result.evidence:
            if not (0 <= e.start <= e.end <= len(reply) and reply[e.start : e.end] == e.text):
                raise NotAllowed(f"evidence for {result.code} is not words of the reply")
    return coding.to_dict()


class ComposeAttempt(Attempt):
    """Write a reply (drafts autosave), submit it, code it against the offered tags, then review.

    ``compose.coded`` keeps the automatic coding of the submitted reply (at most one), whenever
    the coder was reachable; the exercise never waits for it.
    """

    prefix = "compose."
    DRAFT, SUBMIT, CODE = "compose.draft", "compose.submit", "compose.code"
    CODED = "compose.coded"

    def __init__(self, spec: ComposeResponseSpec) -> None:
        self.spec = spec
        self.text = ""
        self.submitted = False
        self.codes: list[str] | None = None
        self.coding: dict[str, Any] | None = None

    @property
    def stage(self) -> str:
        """``write``, then ``code``, then ``review``."""
        if not self.submitted:
            return "write"
        return "code" if self.codes is None else "review"

    def _apply(self, kind: str, value: Any, at: float) -> dict[str, Any]:
        if kind in (self.DRAFT, self.SUBMIT):
            text = _text(value)
            if self.submitted:
                raise NotAllowed("the reply is submitted and locked")
            if kind == self.SUBMIT:
                if not text.strip():
                    raise NotAllowed("write a reply before submitting it")
                self.submitted = True
            self.text = text
            return {"text": text, "words": words(text)}
        if kind == self.CODE:
            codes = value.get("codes") if isinstance(value, Mapping) else None
            if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
                raise NotAllowed("expected {'codes': [tags]}")
            if not self.submitted:
                raise NotAllowed("submit the reply before coding it")
            if self.codes is not None:
                raise NotAllowed("the coding is saved and locked")
            offered = self.spec.codes
            unknown = [c for c in codes if c not in offered]
            if unknown:
                raise NotAllowed(f"{unknown[0]!r} is not one of the codes offered")
            self.codes = [c for c in offered if c in codes]
            return {"codes": self.codes}
        if kind == self.CODED:
            if not self.submitted:
                raise NotAllowed("only a submitted reply is coded")
            if self.coding is not None:
                raise NotAllowed("the reply is already coded")
            self.coding = coded_value(value, self.text)
            return self.coding
        raise NotAllowed(f"unknown action {kind!r}")

    @property
    def locked(self) -> bool:
        return self.submitted


class CueAttempt(Attempt):
    """Mark transcript lines (saved as you go), then submit the marks to compare with the key."""

    prefix = "cues."
    MARKS, SUBMIT = "cues.marks", "cues.submit"

    def __init__(self, spec: CueSpottingSpec) -> None:
        self.spec = spec
        self.marked: frozenset[int] = frozenset()
        self.submitted = False

    def _apply(self, kind: str, value: Any, at: float) -> dict[str, Any]:
        if kind not in (self.MARKS, self.SUBMIT):
            raise NotAllowed(f"unknown action {kind!r}")
        lines = _ints(value, "lines")
        if self.submitted:
            raise NotAllowed("the marks are submitted and locked")
        outside = [n for n in lines if not 1 <= n <= len(self.spec.transcript)]
        if outside:
            raise NotAllowed(f"there is no line {outside[0]}")
        self.marked = frozenset(lines)
        self.submitted = kind == self.SUBMIT
        return {"lines": lines}

    @property
    def locked(self) -> bool:
        return self.submitted

    @property
    def hits(self) -> list[int]:
        return sorted(self.marked & self.spec.key)

    @property
    def misses(self) -> list[int]:
        return sorted(self.spec.key - self.marked)

    @property
    def false_alarms(self) -> list[int]:
        return sorted(self.marked - self.spec.key)


class LikertAttempt(Attempt):
    """One questionnaire wave: answers save as drafts (``likert.draft``) and are submitted once
    as ``likert.answer`` (the event the evaluation code reads), after which they are locked."""

    prefix = "likert."
    DRAFT, ANSWER = "likert.draft", "likert.answer"

    def __init__(self, spec: LikertSpec, wave: str | None = None) -> None:
        self.spec = spec
        self.wave = wave or spec.wave
        self.answers: dict[str, int | str] = {}
        self.submitted = False

    def value(self, answers: Mapping[str, Any]) -> dict[str, Any]:
        """The stored value: ``{"instrument", "wave", "answers"}``, exactly as documented."""
        return {"instrument": self.spec.instrument, "wave": self.wave, "answers": dict(answers)}

    def belongs(self, event: Recorded) -> bool:
        value = event.value
        return (
            isinstance(value, Mapping)
            and value.get("instrument") == self.spec.instrument
            and value.get("wave") == self.wave
        )

    def _apply(self, kind: str, value: Any, at: float) -> dict[str, Any]:
        if kind not in (self.DRAFT, self.ANSWER):
            raise NotAllowed(f"unknown action {kind!r}")
        if not isinstance(value, Mapping) or not isinstance(value.get("answers"), Mapping):
            raise NotAllowed("expected {'instrument', 'wave', 'answers'}")
        if value.get("instrument") != self.spec.instrument or value.get("wave") != self.wave:
            raise NotAllowed(f"this form is {self.spec.instrument!r}, wave {self.wave!r}")
        if self.submitted:
            raise NotAllowed("the answers are submitted and locked")
        known = {item.id for item in self.spec.items}
        answers: dict[str, int | str] = {}
        for item, answer in value["answers"].items():
            if item not in known:
                raise NotAllowed(f"there is no item {item!r}")
            if answer is None:
                continue
            if not self.spec.allowed(answer):
                raise NotAllowed(f"{answer!r} is not an answer item {item!r} allows")
            answers[item] = answer
        if kind == self.ANSWER:
            missing = [i.id for i in self.spec.items if i.id not in answers]
            if missing and not self.spec.allow_skip:
                raise NotAllowed(f"item {missing[0]!r} has no answer yet")
            self.submitted = True
            self.answers = answers
            return self.value({i.id: answers.get(i.id) for i in self.spec.items})
        self.answers = answers
        return self.value(answers)

    @property
    def locked(self) -> bool:
        return self.submitted

    @property
    def answered(self) -> int:
        return len(self.answers)

    def total(self) -> int | None:
        return self.spec.total(dict(self.answers))


class TimedAttempt(Attempt):
    """Start the clock, write (drafts autosave), submit. The clock runs from the stored start."""

    prefix = "timed."
    START, DRAFT, SUBMIT = "timed.start", "timed.draft", "timed.submit"

    def __init__(self, spec: TimedWriteSpec) -> None:
        self.spec = spec
        self.started_at: float | None = None
        self.text = ""
        self.submitted = False

    def _apply(self, kind: str, value: Any, at: float) -> dict[str, Any]:
        if kind == self.START:
            if self.started_at is not None:
                raise NotAllowed("the timer has already started")
            self.started_at = at
            return {"minutes": self.spec.minutes}
        if kind in (self.DRAFT, self.SUBMIT):
            text = _text(value)
            if self.started_at is None:
                raise NotAllowed("start the timer first")
            if self.submitted:
                raise NotAllowed("the writing is submitted and locked")
            self.text = text
            self.submitted = kind == self.SUBMIT
            return {"text": text, "words": words(text), "title": self.spec.title}
        raise NotAllowed(f"unknown action {kind!r}")

    @property
    def locked(self) -> bool:
        return self.submitted

    def remaining(self, now: float) -> float:
        """Seconds left on the clock (the full time before it starts, 0 once it has run out)."""
        total = self.spec.minutes * 60
        if self.started_at is None:
            return total
        return max(0.0, total - (now - self.started_at))

    def time_up(self, now: float) -> bool:
        return self.started_at is not None and self.remaining(now) <= 0


class NotesAttempt(Attempt):
    """Notes in named boxes (close reading, parallel chart), saved whole each time; never locked."""

    def __init__(self, prefix: str, labels: Mapping[str, str], title: str) -> None:
        self.prefix = prefix  # type: ignore[misc]
        self.kind = prefix + "saved"
        self.labels = dict(labels)
        self.title = title
        self.notes: dict[str, str] = {}

    def _apply(self, kind: str, value: Any, at: float) -> dict[str, Any]:
        if kind != self.kind:
            raise NotAllowed(f"unknown action {kind!r}")
        notes = value.get("notes") if isinstance(value, Mapping) else None
        if not isinstance(notes, Mapping):
            raise NotAllowed("expected {'notes': {box: text}}")
        clean: dict[str, str] = {}
        for field, text in notes.items():
            if field not in self.labels:
                raise NotAllowed(f"there is no box {field!r}")
            clean[field] = _text({"text": text})
        self.notes = clean
        return {
            "notes": clean,
            "labels": {k: self.labels[k] for k in clean},
            "words": sum(words(t) for t in clean.values()),
            "title": self.title,
        }

    @property
    def locked(self) -> bool:
        return False


def format_clock(seconds: float) -> str:
    """``m:ss``, rounding up so the clock shows 0:00 only when time is really up."""
    whole = max(0, math.ceil(seconds))
    return f"{whole // 60}:{whole % 60:02d}"
