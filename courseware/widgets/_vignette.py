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
from ._common import Context, escape, focus_soon, heading, markdown
from ._debrief import counters_html, debrief_html, feedback_html, perspective_html
from ._exercise import disclosure

log = logging.getLogger(__name__)


def restore_walk(vignette: Vignette, context: Context) -> Walk:
    """Rebuild a learner's walk from stored events since their last restart."""
    return replay_walk(vignette, context.history(vignette.id, "vignette."))


class VignetteView(w.VBox):  # type: ignore[misc]
    """A virtual patient: node text, choice buttons, feedback after each choice, counters the
    author shows, a debrief at an ending, and restart. Perspective vignettes say whose shoes the
    learner is in."""

    def __init__(self, vignette: Vignette, context: Context) -> None:
        self.vignette = vignette
        self.context = context
        self.walk = restore_walk(vignette, context)
        self.title = w.HTML(heading(vignette.title))
        self.perspective = w.HTML(perspective_html(vignette))
        self.counters = w.HTML()
        self.scene = w.HTML()
        self.feedback = w.HTML()
        self.choices = w.VBox()
        self.debrief = w.HTML()
        self.debrief_button = disclosure("Show the debrief", "Hide the debrief", self.debrief)
        self.restart_button = w.Button(
            description="Start the case again", tooltip="Start the case again from the beginning"
        )
        self.restart_button.on_click(lambda _: self.restart())
        self.progress = w.HTML()
        super().__init__(
            [
                self.title,
                self.perspective,
                self.progress,
                self.counters,
                self.feedback,
                self.scene,
                self.choices,
                self.debrief_button,
                self.debrief,
                self.restart_button,
            ]
        )
        self.add_class("cw-vignette")
        self._render()

    @property
    def last_feedback(self) -> str | None:
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
        self._render()
        self._focus_new_content()
        return step

    def restart(self) -> None:
        self.walk.restart()
        self.context.record(self.vignette.id, RESTART, {})
        self._render()
        self._focus_new_content()

    def _focus_new_content(self) -> None:
        if self.walk.finished:
            focus_soon(self.debrief_button)
        elif self.choices.children:
            focus_soon(self.choices.children[0])

    def _render(self) -> None:
        node_id = self.walk.node_id
        node = self.walk.node
        node_title, text = self.walk.text
        title = heading(node_title, 4) if node_title else ""
        ending = "<p class='cw-ending'><strong>This is an ending of the case.</strong></p>"
        self.scene.value = (
            f"<div class='cw-scene' data-node='{escape(node_id)}'>{title}{markdown(text)}"
            f"{ending if node.end else ''}</div>"
        )
        self.progress.value = (
            f"<p class='cw-progress'>Step {len(self.walk.steps) + 1} of your path</p>"
        )
        self.counters.value = counters_html(self.vignette, self.walk)
        self.feedback.value = feedback_html(self.vignette, self.walk)
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
        finished = self.walk.finished
        self.debrief.value = debrief_html(self.walk.debrief()) if finished else ""
        self.debrief_button.layout.display = None if finished else "none"
        self.debrief.layout.display = None if finished else "none"
        self.debrief_button.description = self.debrief_button.tooltip = "Hide the debrief"
