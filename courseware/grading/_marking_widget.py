"""The marker's view in JupyterLab: one script at a time, blind, a labelled choice per criterion.

The same rules as the terminal view: the marker's own queue, the script by its anonymous id, the
rubric's levels and descriptors; never the student's name or another marker's marks. Saving goes
through :func:`record_mark`, so an incomplete or stale mark is refused with a message, not stored.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import ipywidgets as w

from ._course import CourseFolder, GradingError
from ._marking import MarkingBook
from ._marking_rules import mark_grade, mark_total
from ._moderation import marking_queue, marking_rubric, record_mark, script_text
from ._rubric import Rubric


def _levels(description: str, options: list[tuple[str, str]]) -> w.RadioButtons:
    """A labelled, full-width choice among a rubric's levels, none chosen until the marker picks."""
    return w.RadioButtons(
        options=options,
        value=None,
        description=description,
        layout=w.Layout(width="100%"),
        style={"description_width": "initial"},
    )


class MarkingView(w.VBox):  # type: ignore[misc]
    """Work through ``marker``'s queue for ``assignment``; each save moves on to the next script."""

    def __init__(
        self, course: CourseFolder, book: MarkingBook, rubric: Rubric, assignment: str, marker: str
    ):
        self.course, self.book, self.rubric = course, book, rubric
        self.assignment, self.marker = assignment, marker
        self.heading = w.HTML()
        self.script = w.HTML()
        self.choices = {
            c.id: _levels(
                c.name,
                [
                    (
                        f"{lv.name}{'' if lv.points is None else f' ({lv.points:g})'}: "
                        f"{lv.descriptor}",
                        lv.id,
                    )
                    for lv in c.levels
                ],
            )
            for c in rubric.criteria
        }
        self.comments = {
            c.id: w.Textarea(
                description=f"Comment on {c.name}",
                layout=w.Layout(width="100%", height="4em"),
                style={"description_width": "initial"},
            )
            for c in rubric.criteria
        }
        # by level (REFLECT): the overall level, and learning judged within the top level
        self.judgement: dict[str, w.RadioButtons] = {}
        if rubric.overall is not None:
            self.judgement["overall"] = _levels(
                f"{rubric.overall.name} (no higher than the criteria support)",
                [(f"{lv.name}: {lv.descriptor}", lv.id) for lv in rubric.overall.levels],
            )
            top = rubric.overall.levels[-1].name
            self.judgement["learning"] = _levels(
                f"Learning (only with {top})",
                [(f"{ln.name}: {ln.descriptor}", ln.id) for ln in rubric.overall.learning],
            )
        self.overall = w.Textarea(
            description="Overall comment",
            layout=w.Layout(width="100%", height="6em"),
            style={"description_width": "initial"},
        )
        self.save_button = w.Button(
            description="Save mark and show the next script", layout=w.Layout(width="auto")
        )
        self.save_button.on_click(lambda _: self.save())
        self.status = w.HTML()
        parts: list[Any] = [self.heading, self.script]
        for criterion in rubric.criteria:
            parts += [self.choices[criterion.id], self.comments[criterion.id]]
        parts += [*self.judgement.values(), self.overall, self.save_button, self.status]
        super().__init__(parts)
        self.add_class("cw-marking")
        self.current: str | None = None
        self._show_next()

    def _say(self, message: str) -> None:
        self.status.value = f"<span role='status' aria-live='polite'>{html.escape(message)}</span>"

    def _show_next(self) -> None:
        queue = marking_queue(self.book, self.assignment, self.marker)
        self.current = queue[0][0] if queue else None
        controls = [*self.choices.values(), *self.judgement.values()]
        for control in [*controls, *self.comments.values(), self.overall]:
            control.value = None if isinstance(control, w.RadioButtons) else ""
        if self.current is None:
            self.heading.value = "<h3>Nothing left to mark</h3>"
            self.script.value = ""
            self.save_button.disabled = True
            return
        text = script_text(self.course, self.book.script(self.current))
        self.heading.value = (
            f"<h3>Script {html.escape(self.current)} ({len(queue)} waiting for you)</h3>"
        )
        self.script.value = (
            "<div class='cw-script' style='white-space: pre-wrap; border: 1px solid #555;"
            f" padding: 0.5em'>{html.escape(text) or '<em>(empty)</em>'}</div>"
        )
        self.save_button.disabled = False

    def save(self) -> bool:
        """Record the mark on screen for the current script; say what is missing otherwise."""
        if self.current is None:
            return False
        levels = {cid: box.value for cid, box in self.choices.items() if box.value is not None}
        missing = [c.name for c in self.rubric.criteria if c.id not in levels]
        if missing:
            self._say(f"Not saved: choose a level for {', '.join(missing)}")
            return False
        comments = {cid: box.value for cid, box in self.comments.items()}
        levels.update({k: box.value for k, box in self.judgement.items() if box.value is not None})
        try:
            mark = record_mark(
                self.book,
                self.rubric,
                self.current,
                self.marker,
                levels,
                comments,
                self.overall.value,
            )
        except GradingError as exc:
            self._say(f"Not saved: {exc}")
            return False
        if self.rubric.by_level:
            outcome = self.rubric.grade_name(mark_grade(self.rubric, mark))
        else:
            outcome = self.rubric.band(mark.total).name
        self._say(f"Saved {mark.script}: {mark_total(self.rubric, mark):g} ({outcome})")
        self._show_next()
        return True


def marking_view(assignment: str, marker: str, course: str | Path | None = None) -> MarkingView:
    """``marking_view("reflective-essay", "alice")`` in a notebook opened in the course folder."""
    found = CourseFolder.open(course)
    book = MarkingBook(found.marking_db)
    rubric = marking_rubric(found.root, book, assignment)
    return MarkingView(found, book, rubric, assignment, marker)
