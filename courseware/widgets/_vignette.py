"""The branching case: shows the current node, offers its choices, gives feedback, resumes.

The widget only renders a :class:`~courseware.content.Walk` and forwards clicks to it; the walk
decides what is allowed, so a forged or stale click (Voila lets any browser send widget
messages, disabled or not) changes nothing.
"""

from __future__ import annotations

import logging
from typing import Any

import ipywidgets as w

from ..content import ChoiceNotOffered, Step, Vignette, Walk
from ..content._runs import RESTART, STEP, replay_walk
from ._common import Context, escape, heading, markdown

log = logging.getLogger(__name__)


def restore_walk(vignette: Vignette, context: Context) -> Walk:
    """Rebuild a learner's walk from stored events since their last restart."""
    return replay_walk(vignette, context.history(vignette.id, "vignette."))


class VignetteView(w.VBox):  # type: ignore[misc]
    """A virtual patient: node text, choice buttons, feedback after each choice, restart."""

    def __init__(self, vignette: Vignette, context: Context) -> None:
        self.vignette = vignette
        self.context = context
        self.walk = restore_walk(vignette, context)
        self.last_feedback: str | None = self._feedback_for_last_step()
        self.title = w.HTML(heading(vignette.title))
        self.scene = w.HTML()
        self.feedback = w.HTML()
        self.choices = w.VBox()
        self.restart_button = w.Button(
            description="Start the case again", tooltip="Start the case again from the beginning"
        )
        self.restart_button.on_click(lambda _: self.restart())
        self.progress = w.HTML()
        super().__init__(
            [
                self.title,
                self.progress,
                self.feedback,
                self.scene,
                self.choices,
                self.restart_button,
            ]
        )
        self.add_class("cw-vignette")
        self._render()

    def _feedback_for_last_step(self) -> str | None:
        if not self.walk.steps:
            return None
        step = self.walk.steps[-1]
        return self.vignette.node(step.node).choices[step.choice].feedback

    def choose(self, index: int, *, at: str) -> Step | None:
        """Take choice ``index`` at node ``at``; refused (and ignored) if not on offer there."""
        try:
            step = self.walk.choose(index, at=at)
        except ChoiceNotOffered as exc:
            log.warning("refused a choice: %s", exc)
            return None
        self.context.record(
            self.vignette.id, STEP, {"node": step.node, "choice": step.choice, "to": step.to}
        )
        self.last_feedback = self.vignette.node(step.node).choices[step.choice].feedback
        self._render()
        return step

    def restart(self) -> None:
        self.walk.restart()
        self.context.record(self.vignette.id, RESTART, {})
        self.last_feedback = None
        self._render()

    def _render(self) -> None:
        node_id = self.walk.node_id
        node = self.walk.node
        title = heading(node.title, 4) if node.title else ""
        ending = "<p class='cw-ending'><strong>This is an ending of the case.</strong></p>"
        self.scene.value = (
            f"<div class='cw-scene' data-node='{escape(node_id)}'>{title}{markdown(node.text)}"
            f"{ending if node.end else ''}</div>"
        )
        self.progress.value = (
            f"<p class='cw-progress'>Step {len(self.walk.steps) + 1} of your path</p>"
        )
        if self.last_feedback:
            self.feedback.value = (
                "<div class='cw-feedback' role='status' aria-live='polite'>"
                f"<p><strong>Feedback on your last choice:</strong></p>"
                f"{markdown(self.last_feedback)}</div>"
            )
        else:
            self.feedback.value = ""
        for old in self.choices.children:
            old.close()
        buttons: list[Any] = []
        for index, choice in self.walk.offered():
            button = w.Button(
                description=choice.label,
                tooltip=choice.label,
                layout=w.Layout(width="auto", height="auto", max_width="100%"),
            )
            button.add_class("cw-choice")
            button.on_click(lambda _b, i=index, at=node_id: self.choose(i, at=at))
            buttons.append(button)
        self.choices.children = buttons
