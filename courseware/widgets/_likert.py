"""LikertScale: a questionnaire, one answer per item, saved as you go and submitted once.

Each item is a labelled drop-down list (a native ``<select>``): its accessible name is the item's
words, it works with the keyboard alone (arrow keys choose), and it suits a phone screen. The
submitted answers are stored as a ``likert.answer`` event, the one the evaluation code reads.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from ..content import NOT_APPLICABLE, LikertAttempt, LikertSpec
from ._common import Context, escape, focus_soon, status
from ._exercise import ExerciseView, disclosure


class LikertScale(ExerciseView):
    """Items with labelled answers; drafts restore on reload; submitting locks the wave."""

    spec: LikertSpec
    attempt: LikertAttempt

    def __init__(self, spec: LikertSpec, context: Context, *, wave: str | None = None) -> None:
        super().__init__(spec, context, LikertAttempt(spec, wave), item=spec.instrument)

    def build(self) -> list[Any]:
        response = self.spec.response
        options: list[tuple[str, int | str]] = [
            (response.label(p), p) for p in range(response.min, response.max + 1)
        ]
        if response.not_applicable:
            options.append((response.not_applicable, NOT_APPLICABLE))
        self.selects: dict[str, w.Dropdown] = {}
        for number, item in enumerate(self.spec.items, 1):
            select = w.Dropdown(
                options=options,
                value=None,
                description=f"{number}. {item.text}",
                style={"description_width": "initial"},
            )
            select.add_class("cw-stack")
            select.observe(lambda _c: self._changed(), names="value")
            self.selects[item.id] = select
        anchors = ", ".join(
            f"{p} = {escape(a)}" for p, a in sorted(self.spec.response.anchors.items())
        )
        self.progress = w.HTML()
        self.submit_button = w.Button(
            description="Submit my answers", tooltip="Submit my answers (they are then locked)"
        )
        self.submit_button.on_click(lambda _: self.submit())
        self.summary = w.HTML()
        self.review = disclosure("Show a summary of my answers", "Hide the summary", self.summary)
        self.review.layout.visibility = "hidden"
        return [
            w.HTML(f"<p class='cw-meta'>Answer every item. The scale: {anchors}.</p>"),
            *self.selects.values(),
            self.progress,
            self.submit_button,
            self.review,
            self.summary,
        ]

    def answers(self) -> dict[str, Any]:
        return {i: s.value for i, s in self.selects.items() if s.value is not None}

    def _changed(self) -> None:
        if (
            not self.rendering
            and not self.attempt.locked
            and self.answers() != self.attempt.answers
        ):
            self.act(LikertAttempt.DRAFT, self.attempt.value(self.answers()))

    def submit(self) -> bool:
        done = self.act(LikertAttempt.ANSWER, self.attempt.value(self.answers()))
        if done:
            focus_soon(self.review)
        return done

    def render(self) -> None:
        locked = self.attempt.locked
        for item_id, select in self.selects.items():
            wanted = self.attempt.answers.get(item_id)
            if select.value != wanted:
                select.value = wanted
            select.disabled = locked
        total = len(self.spec.items)
        self.submit_button.layout.display = "none" if locked else None
        if not locked:
            self.progress.value = status(
                f"{self.attempt.answered} of {total} answered; your answers save as you go."
            )
            return
        self.progress.value = status(f"Submitted: {self.attempt.answered} of {total} answered.")
        names = {value: label for label, value in self.selects[self.spec.items[0].id].options}
        rows = "".join(
            f"<tr><th scope='row'>{n}</th><td>{escape(item.text)}</td><td>"
            f"{escape(names.get(self.attempt.answers.get(item.id), 'not answered'))}</td></tr>"
            for n, item in enumerate(self.spec.items, 1)
        )
        score = self.attempt.total() if self.spec.show_total else None
        total_line = f"<p>Your total: <strong>{score}</strong>.</p>" if score is not None else ""
        self.summary.value = (
            "<table><caption>Your answers</caption><thead><tr><th scope='col'>Item</th>"
            "<th scope='col'>Statement</th><th scope='col'>Your answer</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>{total_line}"
        )
        self.review.layout.visibility = None
