"""What every exercise widget shares: an attempt restored from the store, actions forwarded to it.

A widget never decides what is allowed: :meth:`ExerciseView.act` asks the attempt (the rules in
:mod:`courseware.content`), stores the value it returns, and redraws. A refused action (a forged
or stale message from the browser) is logged and changes nothing.
"""

from __future__ import annotations

import copy
import logging
import time
from typing import Any

import ipywidgets as w

from ..content import Attempt, NotAllowed
from ._common import STYLE, Context, escape, heading, markdown, status

log = logging.getLogger(__name__)


class ExerciseView(w.VBox):  # type: ignore[misc]
    """Base of the exercise widgets: title, introduction, then the subclass's own parts."""

    def __init__(
        self, spec: Any, context: Context, attempt: Attempt, *, item: str | None = None
    ) -> None:
        self.spec = spec
        self.context = context
        self.attempt = attempt
        self.item = item or spec.id
        self.refused: list[str] = []
        self.rendering = False
        attempt.replay(context.history(self.item, attempt.prefix))
        intro = markdown(spec.intro) if spec.intro else ""
        self.header = w.HTML(STYLE + heading(spec.title) + intro)
        super().__init__([self.header, *self.build()])
        self.add_class("cw-exercise")
        self.add_class(f"cw-{spec.kind}")
        self.redraw()

    def build(self) -> list[Any]:
        """Create the exercise's controls (called once, before the first :meth:`render`)."""
        raise NotImplementedError

    def render(self) -> None:
        """Bring every control in line with the attempt."""
        raise NotImplementedError

    def redraw(self) -> None:
        """:meth:`render`, with control observers told to ignore the values it sets."""
        self.rendering = True
        try:
            self.render()
        finally:
            self.rendering = False

    def act(self, kind: str, value: Any) -> bool:
        """Ask the rules; if they allow it, store the action and redraw. Returns whether it did."""
        before = copy.deepcopy(self.attempt)
        try:
            stored = self.attempt.apply(kind, value, time.time())
        except NotAllowed as exc:
            log.warning("refused %s on %s: %s", kind, self.item, exc)
            self.refused.append(str(exc))
            return False
        try:
            self.context.record(self.item, kind, stored)
        except ValueError as exc:  # the store can never hold it (e.g. too long): nothing saved
            self.attempt = before  # and no redraw, so the learner's text stays in the boxes
            log.warning("could not save %s on %s: %s", kind, self.item, exc)
            self.refused.append(str(exc))
            shown = getattr(self, "status", None)
            if isinstance(shown, w.HTML):
                shown.value = status(
                    f"Not saved: {exc}. Your text is still here; shorten it or copy it somewhere safe."
                )
            return False
        self.redraw()
        return True


def disclosure(label_show: str, label_hide: str, panel: w.Widget) -> w.Button:
    """A button that shows and hides ``panel`` (hidden at first); its words say which it does."""
    button = w.Button(description=label_show, tooltip=label_show)
    button.add_class("cw-disclosure")
    panel.layout.display = "none"

    def toggle(_: Any) -> None:
        opening = panel.layout.display == "none"
        panel.layout.display = None if opening else "none"
        button.description = button.tooltip = label_hide if opening else label_show

    button.on_click(toggle)
    return button


def quote(speaker: str, text: str) -> str:
    """A patient's (or anyone's) words, with the speaker named."""
    return (
        f"<blockquote class='cw-statement'><p><strong>{escape(speaker)}:</strong></p>"
        f"{markdown(text)}</blockquote>"
    )
