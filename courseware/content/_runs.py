"""A vignette run as stored events, and its replay: shared by the widget, progress and analytics.

A run is the sequence of ``vignette.step`` events (``{"node", "choice", "to"}``) since the last
``vignette.restart``. Replaying goes through :class:`Walk`, so a stored step the vignette no longer
allows (content edited since) is skipped rather than trusted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, Protocol

from ._vignette import ChoiceNotOffered, Vignette, Walk

STEP = "vignette.step"
RESTART = "vignette.restart"
log = logging.getLogger(__name__)


class Recorded(Protocol):
    """Anything with an event's ``kind`` and ``value`` (a store :class:`~courseware.store.Event`)."""

    @property
    def kind(self) -> str: ...

    @property
    def value(self) -> Any: ...


def replay_walk(vignette: Vignette, events: Iterable[Recorded]) -> Walk:
    """Rebuild a learner's walk from their stored events, oldest first."""
    walk = vignette.walk()
    for event in events:
        if event.kind == RESTART:
            walk.restart()
        elif event.kind == STEP:
            value = event.value
            try:
                walk.choose(int(value["choice"]), at=str(value["node"]))
            except (ChoiceNotOffered, KeyError, TypeError, ValueError):
                log.warning("ignoring a stored step that the vignette no longer allows: %r", value)
    return walk
