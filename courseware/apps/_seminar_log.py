"""A seminar session in the courseware store: one event per change, participants only as hashes.

Every change is written here before it takes effect, so a crash or restart of the server loses
nothing: :func:`~._seminar.open_session` replays the log into a fresh seminar.
"""

from __future__ import annotations

import hashlib
from typing import Any

from ..store import Event, Store, current_learner

KIND_PREFIX = "seminar."


def person_of(participant: str) -> str:
    """The stored, unlinkable form of a participant id (the id itself is a bearer secret)."""
    return hashlib.sha256(participant.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class SeminarLog:
    """A seminar session in the courseware store: one event per change, replayed on restart.

    Events belong to whoever runs the seminar (``learner``, the presenter's own record, as on a
    hub the store accepts nothing else), under module ``seminar:<module id>`` (so they never count
    as the presenter's progress through the module) and item ``<session id>``.
    """

    def __init__(self, store: Store, module_id: str, session: str, owner: str | None = None):
        self.store = store
        self.module = f"seminar:{module_id}"
        self.session = session
        self.owner = owner or current_learner()

    def write(self, kind: str, value: dict[str, Any]) -> Event:
        event = Event(self.owner, self.module, self.session, KIND_PREFIX + kind, value)
        self.store.append(event)
        return event

    def read(self) -> list[Event]:
        return self.store.events(learner=self.owner, module=self.module, item=self.session)
