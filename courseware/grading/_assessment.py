"""What an assessed notebook calls: show an item, check it is saved, and (hidden) grade it.

Three modes, chosen by ``NBGRADER_EXECUTION`` (which nbgrader sets while it validates or autogrades):

* a learner's kernel: each item is an answering widget that saves to the sidecar answers file;
* nbgrader's kernel: each item is a read-only rendering of the saved answer, so the answer shows in
  the formgrader and in feedback, and re-running the notebook can never overwrite what was saved;
* hidden test cells call :func:`grade_item`, which scores the saved answer against the key file.

This module is imported in learners' and nbgrader's kernels, so it imports nothing heavy.
"""

from __future__ import annotations

import html
import os
import warnings
from pathlib import Path
from typing import Any

from ._answers import ANSWERS_FILE, AssessedAnswers, read_answers
from ._items import (
    ITEMS_FILE,
    ComposeResponse,
    CueSpotting,
    InvalidAnswer,
    ItemSet,
    ResponseChoice,
    check_answer,
    compose_problems,
    load_items,
    load_key,
    score_answer,
)

KEYS_ENV = "COURSEWARE_KEYS"
KEYS_FOLDER = "keys"


def grading_mode() -> str:
    """``""`` in a learner's kernel; ``"validate"`` or ``"autograde"`` under nbgrader."""
    return os.environ.get("NBGRADER_EXECUTION", "")


def find_key(assignment: str, start: str | Path | None = None) -> Path:
    """The key file for ``assignment``: ``$COURSEWARE_KEYS/<assignment>.yaml``, else a ``keys/``
    folder up to four folders above the notebook's (the nbgrader course root lies three above
    ``autograded/<student>/<assignment>/``). The notebook's own folder is never searched: a learner
    controls it and could submit a key of their own."""
    name = f"{assignment}.yaml"
    configured = os.environ.get(KEYS_ENV, "").strip()
    if configured:
        return Path(configured) / name
    here = Path(start) if start is not None else Path.cwd()
    for folder in list(here.resolve().parents)[:4]:
        candidate = folder / KEYS_FOLDER / name
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"no answer key {KEYS_FOLDER}/{name} above {here}")


def grade_item(assignment: str, item_id: str, folder: str | Path | None = None) -> float:
    """Score one item from the answers file; the value is nbgrader's partial credit.

    Prints the reason (for the tutor; feedback hides it). Never writes to stderr, since nbgrader gives
    zero to any test cell that does.
    """
    here = Path(folder) if folder is not None else Path.cwd()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        items = load_items(here / ITEMS_FILE)
        key = load_key(find_key(assignment, here), items)
        answers = read_answers(here / ANSWERS_FILE)
        item = items.item(item_id)
        score = score_answer(item, key.keys[item_id], answers.latest(item_id))
    print(f"{item.title}: {score.points:g}/{score.max_points:g} ({score.reason})")
    return score.points


def check_saved(item_id: str, folder: str | Path | None = None) -> None:
    """The visible test: says whether a valid answer for ``item_id`` is saved.

    It prints in a learner's kernel (so *Run All* carries on to the next widget) and in autograde
    (the hidden part scores the answer); under ``nbgrader validate`` a missing or invalid answer
    raises, so validation tells the learner before they submit.
    """
    here = Path(folder) if folder is not None else Path.cwd()
    item = load_items(here / ITEMS_FILE).item(item_id)
    value = read_answers(here / ANSWERS_FILE).latest(item_id)
    problem = ""
    if value is None:
        problem = f"No answer saved for '{item.title}' yet."
    else:
        try:
            check_answer(item, value)
        except InvalidAnswer as exc:
            problem = f"The saved answer for '{item.title}' is not valid: {exc}"
    if problem and grading_mode() == "validate":
        raise AssertionError(problem)
    print(problem or f"Your answer for '{item.title}' is saved.")


def render_answer(item: CueSpotting | ResponseChoice | ComposeResponse, value: Any) -> str:
    """HTML of a saved answer for the marker; learner text is escaped, never interpreted."""
    e = html.escape
    head = f"<div class='cw-saved-answer'><strong>{e(item.title)}</strong>"
    if value is None:
        return head + "<p><em>No answer saved.</em></p></div>"
    try:
        answer = check_answer(item, value)
    except InvalidAnswer as exc:
        return head + f"<p><em>Saved answer is not valid: {e(str(exc))}</em></p></div>"
    if isinstance(item, CueSpotting):
        rows = "".join(
            f"<li>{'&#9745;' if i in answer['lines'] else '&#9744;'} "
            f"line {i}: {e(line.speaker)}: {e(line.text)}</li>"
            for i, line in enumerate(item.transcript)
        )
        return head + f"<p>Lines selected: {answer['lines'] or 'none'}</p><ul>{rows}</ul></div>"
    if isinstance(item, ResponseChoice):
        chosen = answer["option"]
        return head + f"<p>Chose option {chosen}: {e(item.options[chosen])}</p></div>"
    text = answer["text"]
    notes = "".join(f"<li>{e(p)}</li>" for p in compose_problems(item, text))
    body = e(text).replace("\n", "<br>")
    return (
        head
        + f"<blockquote>{body}</blockquote>"
        + (f"<ul>{notes}</ul>" if notes else "")
        + "</div>"
    )


class Assessment:
    """The assessed items of the assignment in ``folder`` (the notebook's folder by default)."""

    def __init__(self, folder: str | Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else Path.cwd()
        self.items: ItemSet = load_items(self.folder / ITEMS_FILE)
        self.answers = AssessedAnswers(self.folder, assignment=self.items.assignment)

    def show(self, item_id: str) -> Any:
        """An answering widget in a learner's kernel; the saved answer under nbgrader."""
        item = self.items.item(item_id)
        if grading_mode():
            return self.saved(item_id)
        from ._widgets import widget_for

        return widget_for(item, self.answers)

    def saved(self, item_id: str | None = None) -> Any:
        """A rendering of the saved answer(s), as the formgrader shows them."""
        from IPython.display import HTML

        read = self.answers.read()
        wanted = [self.items.item(item_id)] if item_id else list(self.items.items)
        parts = [render_answer(item, read.latest(item.id)) for item in wanted]
        known = {item.id for item in self.items.items}
        odd = list(read.problems)
        extra = sorted({e["item"] for e in read.entries} - known)
        if extra:
            odd.append(f"answers for items that do not exist, ignored: {', '.join(extra)}")
        if item_id is None and odd:
            notes = "".join(f"<li>{html.escape(p)}</li>" for p in odd)
            parts.append(f"<div class='cw-answer-problems'><ul>{notes}</ul></div>")
        return HTML("".join(parts))  # type: ignore[no-untyped-call]


def open_assessment(folder: str | Path | None = None) -> Assessment:
    """``a = open_assessment()`` at the top of an assessed notebook."""
    return Assessment(folder)
