"""A vignette run as stored events, and its replay: shared by the widget, progress and analytics.

A run is the sequence of ``vignette.step`` events (``{"node", "choice", "to"}``) since the last
``vignette.restart``. Replaying goes through :class:`Walk`, so a stored step the vignette no longer
allows (content edited since) is skipped rather than trusted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from ._attempts import Recorded
from ._vignette import ChoiceNotOffered, Vignette, Walk

STEP = "vignette.step"
RESTART = "vignette.restart"
DRAFT = "vignette.draft"
WRITE = "vignette.write"
CODED = "vignette.coded"
"""Write first: ``{"node", "text"}`` (autosaved draft), ``{"node", "text", "words"}`` (the reply,
submitted before choosing), ``{"node", "coding"}`` (the reply coder's wire format)."""
log = logging.getLogger(__name__)


def replay_walk(vignette: Vignette, events: Iterable[Recorded]) -> Walk:
    """Rebuild a learner's walk from their stored events, oldest first (written replies too)."""
    walk = vignette.walk()
    for event in events:
        if event.kind == RESTART:
            walk.restart()
            continue
        value = event.value
        try:
            if event.kind == STEP:
                walk.choose(int(value["choice"]), at=str(value["node"]))
            elif event.kind == DRAFT:
                walk.draft(value["text"], at=str(value["node"]))
            elif event.kind == WRITE:
                walk.write(value["text"], at=str(value["node"]))
            elif event.kind == CODED:
                walk.code_reply(value["coding"], at=str(value["node"]))
        except (ChoiceNotOffered, KeyError, TypeError, ValueError):
            log.warning(
                "ignoring a stored %s the vignette no longer allows: %.200r", event.kind, value
            )
    return walk
