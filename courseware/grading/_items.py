"""Assessed items and their rules: what a valid answer is, and how it scores.

Everything here runs without a kernel and without widgets, so the same code scores an answer inside
nbgrader's hidden test cell, re-scores it outside the kernel to detect tampering, and is unit-tested
directly. The learner sees ``items.yaml`` (transcripts, options, prompts); the answer key lives in a
separate file that is never released (``keys/<assignment>.yaml`` in the course folder).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from ..content import (
    ContentError,
    Data,
    Ge,
    Gt,
    Le,
    MaxLen,
    MinLen,
    OneOf,
    Ordered,
    Problem,
    Slug,
    Text,
    load_validated,
)
from ..content import words as count_words
from ..errors import CoursewareError

ITEMS_FILE = "items.yaml"


@dataclass(frozen=True, kw_only=True)
class Line(Data):
    """One turn of a transcript."""

    speaker: Text
    text: Text


@dataclass(frozen=True, kw_only=True)
class CueSpotting(Data):
    """Select the lines of a consultation where the patient offers an empathic opportunity."""

    kind: Literal["cue-spotting"]
    id: Slug
    title: Text
    prompt: Text
    transcript: Annotated[list[Line], MinLen(2)]


@dataclass(frozen=True, kw_only=True)
class ResponseChoice(Ordered):
    """Choose the most empathic reply to what the patient has just said.

    The options are shown shuffled for each learner unless ``order: fixed`` (with
    ``order_reason``); the answer is saved as the option's index in this file, so the key and
    the grading never depend on the order shown.
    """

    kind: Literal["response-choice"]
    id: Slug
    title: Text
    prompt: Text
    patient_says: Text
    options: Annotated[list[Text], MinLen(2), MaxLen(8)]


@dataclass(frozen=True, kw_only=True)
class ComposeResponse(Data):
    """Write your own reply; marked by a tutor."""

    kind: Literal["compose-response"]
    id: Slug
    title: Text
    prompt: Text
    patient_says: Text
    min_words: Annotated[int, Ge(1), Le(1000)] = 1
    max_chars: Annotated[int, Ge(10), Le(100_000)] = 4000


Item = Annotated[CueSpotting | ResponseChoice | ComposeResponse, OneOf("kind")]


@dataclass(frozen=True, kw_only=True)
class ItemSet(Data):
    """``items.yaml``: what the learner is asked, released with the assignment (no answers)."""

    assignment: Slug
    items: Annotated[list[Item], MinLen(1)]

    def item(self, item_id: str) -> CueSpotting | ResponseChoice | ComposeResponse:
        for item in self.items:
            if item.id == item_id:
                return item
        known = ", ".join(i.id for i in self.items)
        raise KeyError(f"assignment {self.assignment!r} has no item {item_id!r} (it has: {known})")


@dataclass(frozen=True, kw_only=True)
class CueKey(Data):
    """Lines (0-based) that hold a cue; each found earns a share, each wrong line costs one."""

    cues: Annotated[list[int], MinLen(1)]
    points: Annotated[float, Gt(0), Le(100)]


@dataclass(frozen=True, kw_only=True)
class ChoiceKey(Data):
    """Points for each option, in the order of ``options`` in ``items.yaml``."""

    option_points: Annotated[list[float], MinLen(2)]
    points: Annotated[float, Gt(0), Le(100)]

    def __post_init__(self) -> None:
        if max(self.option_points) != self.points or min(self.option_points) < 0:
            raise ValueError("option_points must lie in 0..points and one option must earn points")


@dataclass(frozen=True, kw_only=True)
class KeyFile(Data):
    """``keys/<assignment>.yaml``: the answer key, kept in the course folder and never released."""

    assignment: Slug
    keys: dict[str, CueKey | ChoiceKey]


@dataclass(frozen=True)
class Score:
    """Points earned for one item, and a reason a tutor (not the learner) can read."""

    points: float
    max_points: float
    reason: str


class InvalidAnswer(CoursewareError, ValueError):
    """A saved answer that does not fit its item (wrong shape, out of range, forged)."""


def _int_list(value: Any, field: str) -> list[int]:
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        raise InvalidAnswer(f"{field} must be a list of whole numbers")
    return list(value)


def check_answer(
    item: CueSpotting | ResponseChoice | ComposeResponse, value: Any
) -> dict[str, Any]:
    """Return the answer in canonical form, or raise :class:`InvalidAnswer` saying what is wrong."""
    if not isinstance(value, dict):
        raise InvalidAnswer("an answer must be a mapping")
    if isinstance(item, CueSpotting):
        lines = _int_list(value.get("lines"), "lines")
        if len(set(lines)) != len(lines):
            raise InvalidAnswer("a line is selected twice")
        if any(not 0 <= n < len(item.transcript) for n in lines):
            raise InvalidAnswer(f"a selected line is outside 0..{len(item.transcript) - 1}")
        return {"lines": sorted(lines)}
    if isinstance(item, ResponseChoice):
        option = value.get("option")
        if not isinstance(option, int) or isinstance(option, bool):
            raise InvalidAnswer("option must be a whole number")
        if not 0 <= option < len(item.options):
            raise InvalidAnswer(f"option {option} is outside 0..{len(item.options) - 1}")
        return {"option": option}
    text = value.get("text")
    if not isinstance(text, str):
        raise InvalidAnswer("text must be a string")
    return {"text": text}


def compose_problems(item: ComposeResponse, text: str) -> list[str]:
    """What a marker should know about a composed reply (kept, never truncated)."""
    found = []
    words = count_words(text)
    if words < item.min_words:
        found.append(f"{words} words; the task asks for at least {item.min_words}")
    if len(text) > item.max_chars:
        found.append(f"{len(text)} characters; the limit is {item.max_chars}")
    return found


def score_answer(
    item: CueSpotting | ResponseChoice | ComposeResponse,
    key: CueKey | ChoiceKey,
    value: Any,
) -> Score:
    """Score one answer against its key; an absent or invalid answer scores 0 with the reason."""
    points = key.points
    if value is None:
        return Score(0.0, points, "no answer saved")
    try:
        answer = check_answer(item, value)
    except InvalidAnswer as exc:
        return Score(0.0, points, f"invalid answer: {exc}")
    if isinstance(item, CueSpotting) and isinstance(key, CueKey):
        chosen, cues = set(answer["lines"]), set(key.cues)
        hits, false_alarms = len(chosen & cues), len(chosen - cues)
        earned = max(0, hits - false_alarms) / len(cues) * points
        reason = f"{hits} of {len(cues)} cues found, {false_alarms} other lines selected"
        return Score(_round(earned), points, reason)
    if isinstance(item, ResponseChoice) and isinstance(key, ChoiceKey):
        earned = key.option_points[answer["option"]]
        return Score(_round(earned), points, f"option {answer['option']} chosen")
    raise TypeError(f"item {item.id!r} ({item.kind}) cannot be scored with a {type(key).__name__}")


def _round(value: float) -> float:
    return math.floor(value * 100 + 0.5) / 100


def load_items(path: str | Path) -> ItemSet:
    """Read and validate an ``items.yaml``; errors name the file, line and field."""
    doc, items = load_validated(Path(path), ItemSet)
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, item in enumerate(items.items):
        if item.id in seen:
            problems.append(doc.problem(["items", i, "id"], f"duplicate item id {item.id!r}"))
        seen.add(item.id)
    if problems:
        raise ContentError(problems)
    return items


def load_key(path: str | Path, items: ItemSet | None = None) -> KeyFile:
    """Read a key file and, given the items, check every key fits its item."""
    doc, keyfile = load_validated(Path(path), KeyFile)
    if items is None:
        return keyfile
    problems: list[Problem] = []
    if keyfile.assignment != items.assignment:
        problems.append(
            doc.problem(
                ["assignment"], f"key is for {keyfile.assignment!r}, items for {items.assignment!r}"
            )
        )
    by_id = {item.id: item for item in items.items}
    for item_id, key in keyfile.keys.items():
        item = by_id.get(item_id)
        where = ["keys", item_id]
        if item is None:
            problems.append(doc.problem(where, f"no item {item_id!r} in items.yaml"))
        elif isinstance(item, CueSpotting) and isinstance(key, CueKey):
            bad = [n for n in key.cues if not 0 <= n < len(item.transcript)]
            if bad:
                problems.append(
                    doc.problem([*where, "cues"], f"lines {bad} are not in the transcript")
                )
        elif isinstance(item, ResponseChoice) and isinstance(key, ChoiceKey):
            if len(key.option_points) != len(item.options):
                problems.append(
                    doc.problem(
                        [*where, "option_points"],
                        f"{len(key.option_points)} values for {len(item.options)} options",
                    )
                )
        else:
            problems.append(doc.problem(where, f"a {item.kind} item cannot take this kind of key"))
    for item in items.items:
        if not isinstance(item, ComposeResponse) and item.id not in keyfile.keys:
            problems.append(doc.problem(["keys"], f"no key for autograded item {item.id!r}"))
    if problems:
        raise ContentError(problems)
    return keyfile
