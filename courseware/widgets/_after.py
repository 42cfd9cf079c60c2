"""After-case material: shown only once the learner has reached an ending of the case.

A table of "what each moment was testing" under a case gives every answer away if it is on the
page before the case starts. The notebook asks for it with ``module.after_case("vignette-id")``;
the text lives in the module's ``after-case/<vignette-id>.md`` and is not even sent to the
browser until the learner has reached an ending, now or in an earlier session.
"""

from __future__ import annotations

import ipywidgets as w

from ..content import STEP, Vignette
from ._common import Context, escape, markdown


def reached_ending(vignette: Vignette, context: Context) -> bool:
    """Whether this learner has ever reached an ending of ``vignette`` (restarts do not undo it)."""
    endings = {node_id for node_id, node in vignette.spec.nodes.items() if node.end}
    for event in context.history(vignette.id, STEP):
        value = event.value
        if isinstance(value, dict) and value.get("to") in endings:
            return True
    return False


class AfterCase(w.VBox):  # type: ignore[misc]
    """A note saying the section opens at the end of the case, then (once it has) the section."""

    def __init__(self, vignette: Vignette, text: str, context: Context) -> None:
        self.vignette = vignette
        self.text = text
        self.note = w.HTML(
            "<p class='cw-after-note'><em>This section opens when you reach an ending of the "
            f"case “{escape(vignette.title)}” above, so that it does not give the case away."
            "</em></p>"
        )
        self.body = w.HTML()
        super().__init__([self.note, self.body])
        self.add_class("cw-after-case")
        if reached_ending(vignette, context):
            self.reveal()

    @property
    def revealed(self) -> bool:
        return bool(self.body.value)

    def reveal(self) -> None:
        """Show the section (called when the learner reaches an ending)."""
        if self.revealed:
            return
        self.body.value = f"<div class='cw-after-body'>{markdown(self.text)}</div>"
        self.note.layout.display = "none"
