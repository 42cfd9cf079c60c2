"""The branching case: shows the current node, offers its choices, gives feedback, resumes.

The widget only renders a :class:`~courseware.content.Walk` and forwards clicks to it; the walk
decides what is allowed, so a forged or stale click (Voila lets any browser send widget
messages, disabled or not) changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from ..content import (
    CODED,
    DRAFT,
    RESTART,
    STEP,
    WRITE,
    ChoiceNotOffered,
    Step,
    Vignette,
    Walk,
    display_order,
    replay_walk,
    words,
)
from ..feedback import Coding, warm_coder
from ._autosave import Autosave
from ._coding import auto_code, coding_html, unavailable_html
from ._common import (
    Context,
    escape,
    focus_soon,
    heading,
    markdown,
    status,
    typeset,
    writing_box,
)
from ._debrief import counters_html, debrief_html, feedback_html, perspective_html
from ._exercise import disclosure
from ._media import media_html, pause_html, stage_html

log = logging.getLogger(__name__)


def restore_walk(vignette: Vignette, context: Context) -> Walk:
    """Rebuild a learner's walk from stored events since their last restart; from here on a
    write-first node waits for the learner's words."""
    walk = replay_walk(vignette, context.history(vignette.id, "vignette."))
    walk.enforce_writing = True
    return walk


class VignetteView(w.VBox):  # type: ignore[misc]
    """A virtual patient: node text, choice buttons, feedback after each choice, counters the
    author shows, a debrief at an ending, and restart. Perspective vignettes say whose shoes the
    learner is in."""

    def __init__(
        self, vignette: Vignette, context: Context, *, autosave_delay: float = 0.8
    ) -> None:
        self.vignette = vignette
        self.context = context
        self.walk = restore_walk(vignette, context)
        self.autosave_delay = autosave_delay
        self.autosave = Autosave(self._save_draft, lambda: self.autosave_delay)
        self.unavailable: str | None = None
        self.shown: list[int] = []
        """The choices on screen, as their indices in the file, in the order shown (shuffled
        for each learner unless the node says ``order: fixed``)."""
        self.ending_listeners: list[Callable[[], None]] = []
        """Called when the learner reaches an ending (e.g. to reveal after-case material)."""
        self.write_intro = w.HTML(
            "<p><strong>Write first.</strong> Before you see the options, write the words you "
            "would say now. You will then see what your words do, and choose.</p>"
        )
        self.reply_box = writing_box(
            "What would you say next? Write the words you would use.",
            self._typed,
            placeholder="Write the words you would say.",
        )
        self.reply_submit = w.Button(
            description="Submit my reply", tooltip="Submit my reply, then see the options"
        )
        self.reply_submit.on_click(lambda _: self.write())
        self.reply_status = w.HTML()
        self.reply_feedback = w.HTML()
        self.writing = w.VBox(
            [self.write_intro, self.reply_box, self.reply_submit, self.reply_status]
        )
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
        self.pause = w.HTML()
        self.skip_pause = w.Button(
            description="Skip the pause", tooltip="Skip the pause and show the choices now"
        )
        self.skip_pause.on_click(lambda _: self.end_pause())
        self._paused: tuple[int, str] | None = None
        """(step, node) of the pause that is holding back the choices, if any."""
        self._pause_over: set[tuple[int, str]] = set()
        self._pause_timer: asyncio.TimerHandle | None = None
        super().__init__(
            [
                self.title,
                self.perspective,
                self.progress,
                self.counters,
                self.feedback,
                self.scene,
                self.writing,
                self.reply_feedback,
                self.pause,
                self.skip_pause,
                self.choices,
                self.debrief_button,
                self.debrief,
                self.restart_button,
            ]
        )
        self.add_class("cw-vignette")
        self._render()
        if any(node.compose_first for node in vignette.spec.nodes.values()):
            warm_coder()  # the server loads its model before the learner's words arrive

    def choose(self, index: int, *, at: str) -> Step | None:
        """Take choice ``index`` at node ``at``; refused (and ignored) if not on offer there, or
        while a pause holds the choices back."""
        if self._paused is not None:
            log.warning("refused a choice during a pause at %r", at)
            return None
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
        if self.walk.finished:
            for listener in list(self.ending_listeners):
                listener()
        return step

    def _typed(self) -> None:
        if self.walk.awaiting_reply:
            self.autosave.touch()

    def _save_draft(self) -> None:
        at = self.walk.node_id
        if not self.walk.awaiting_reply:
            return
        if self.reply_box.value == self.walk.drafts.get(len(self.walk.steps), ""):
            return
        try:
            text = self.walk.draft(self.reply_box.value, at=at)
        except ChoiceNotOffered as exc:
            log.warning("refused a draft: %s", exc)
            return
        self.context.record(self.vignette.id, DRAFT, {"node": at, "text": text})

    def write(self) -> bool:
        """Submit the reply written at a write-first node, have it coded, then offer the choices.

        The reply is kept even if the coder cannot be reached: the learner is told, and goes on.
        """
        self.autosave.flush()
        at = self.walk.node_id
        try:
            written = self.walk.write(self.reply_box.value, at=at)
        except ChoiceNotOffered as exc:
            log.warning("refused a reply: %s", exc)
            self.reply_status.value = status(str(exc)[:1].upper() + str(exc)[1:] + ".")
            return False
        self.context.record(
            self.vignette.id,
            WRITE,
            {"node": at, "text": written.text, "words": words(written.text)},
        )
        self._code_reply()
        self._render()
        focus_soon(self.choices.children[0] if self.choices.children else self.reply_box)
        return True

    def _code_reply(self) -> None:
        reply = self.walk.reply
        if reply is None or reply.coding is not None:
            return
        _, statement = self.walk.text
        coding, self.unavailable = auto_code(statement, reply.text)
        if coding is None:
            return
        at = self.walk.node_id
        try:
            self.walk.code_reply(coding, at=at)
        except ChoiceNotOffered as exc:
            log.warning("the coder's answer was refused: %s", exc)
            return
        self.context.record(self.vignette.id, CODED, {"node": at, "coding": coding})

    def _render_pause(self) -> None:
        """Start the node's pause on arrival (once per visit); hold back the choices until it
        ends on the kernel's clock, or the learner skips it."""
        node = self.walk.node
        key = (len(self.walk.steps), self.walk.node_id)
        if node.pause is None or self.walk.finished or key in self._pause_over:
            self._paused = None
        elif self._paused != key:
            self._paused = key
            if self._pause_timer is not None:
                self._pause_timer.cancel()
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # plain Python: the pause ends only when skipped
                loop = None
            if loop is not None:
                self._pause_timer = loop.call_later(node.pause.seconds, self.end_pause)
        showing = self._paused is not None
        self.pause.value = pause_html(node) if showing else ""
        self.pause.layout.display = None if showing else "none"
        self.skip_pause.layout.display = None if showing else "none"

    def end_pause(self) -> None:
        """The pause is over (its time is up, or the learner skipped it): show the choices."""
        if self._paused is None:
            return
        self._pause_over.add(self._paused)
        self._paused = None
        if self._pause_timer is not None:
            self._pause_timer.cancel()
            self._pause_timer = None
        self._render()
        self._focus_new_content()

    def restart(self) -> None:
        self.walk.restart()
        self.context.record(self.vignette.id, RESTART, {})
        self._render()
        self._focus_new_content()

    def _focus_new_content(self) -> None:
        if self.walk.finished:
            focus_soon(self.debrief_button)
        elif self.walk.awaiting_reply:
            focus_soon(self.reply_box)
        elif self.choices.children:
            focus_soon(self.choices.children[0])

    def _render_writing(self) -> None:
        walk = self.walk
        at_write_first = walk.node.compose_first and not walk.finished
        self.writing.layout.display = None if at_write_first else "none"
        self.reply_feedback.layout.display = None if at_write_first else "none"
        if not at_write_first:
            self.reply_feedback.value = ""
            return
        reply = walk.reply
        if reply is None:
            draft = walk.drafts.get(len(walk.steps), "")
            if self.reply_box.value != draft and not self.autosave.pending:
                self.reply_box.value = draft
            self.reply_box.disabled = self.reply_submit.disabled = False
            self.reply_submit.layout.display = None
            self.reply_status.value = status(
                "Your draft saves as you type. Submit it to see the options."
            )
            self.reply_feedback.value = ""
            return
        if self.reply_box.value != reply.text:
            self.reply_box.value = reply.text
        self.reply_box.disabled = self.reply_submit.disabled = True
        self.reply_submit.layout.display = "none"
        self.reply_status.value = status("Your reply is saved. Now choose what you would do.")
        if reply.coding is None and not self.unavailable:
            self._code_reply()
            reply = walk.reply or reply
        if reply.coding is not None:
            self.reply_feedback.value = coding_html(reply.text, Coding.from_dict(reply.coding))
        else:
            self.reply_feedback.value = unavailable_html(
                "Automatic feedback is unavailable right now. Your reply is saved; choose what "
                "you would do, and the debrief will show your words beside your choices."
            )

    def _render(self) -> None:
        node_id = self.walk.node_id
        node = self.walk.node
        node_title, text = self.walk.text
        title = heading(node_title, 4) if node_title else ""
        ending = "<p class='cw-ending'><strong>This is an ending of the case.</strong></p>"
        self.scene.value = (
            f"<div class='cw-scene' data-node='{escape(node_id)}'>{title}{stage_html(node)}"
            f"{markdown(text)}{media_html(node, self.vignette.source)}"
            f"{ending if node.end else ''}</div>"
        )
        self._render_pause()
        self.progress.value = (
            f"<p class='cw-progress'>Step {len(self.walk.steps) + 1} of your path</p>"
        )
        self.counters.value = counters_html(self.vignette, self.walk)
        self.feedback.value = feedback_html(self.vignette, self.walk)
        self._render_writing()
        for old in self.choices.children:
            old.close()
        buttons: list[Any] = []
        offered = dict(self.walk.offered())
        order = display_order(
            len(node.choices),
            self.context.learner,
            self.context.module,
            self.vignette.id,
            node_id,
            fixed=node.order == "fixed",
        )
        held = self.walk.awaiting_reply or self._paused is not None
        self.shown = [] if held else [i for i in order if i in offered]
        for index in self.shown:
            choice = offered[index]
            button = w.Button(
                description=typeset(choice.label),
                tooltip=typeset(choice.label),
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
