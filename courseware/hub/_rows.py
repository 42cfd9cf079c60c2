"""The rows the service stores and reads: events (new and stored) and polls."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..errors import CoursewareError


class KeyConflict(CoursewareError):
    """A request's event reuses an idempotency key for other content: none of it is stored."""

    def __init__(self, index: int) -> None:
        super().__init__(f"events[{index}].key: already used for a different event")
        self.index = index


@dataclass(frozen=True)
class NewEvent:
    """An event as a client sends it, already validated."""

    learner: str
    module: str
    item: str
    kind: str
    value: str  # JSON text
    time: float
    schema: int
    key: str | None


def _legacy_constant(name: str) -> None:
    """NaN or Infinity stored before the service refused them: read back as ``null``."""
    return None


@dataclass(frozen=True)
class EventRow:
    id: int
    learner: str
    module: str
    item: str
    kind: str
    value: str
    time: float
    schema: int
    key: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "learner": self.learner,
            "module": self.module,
            "item": self.item,
            "kind": self.kind,
            "value": json.loads(self.value, parse_constant=_legacy_constant),
            "time": self.time,
            "schema": self.schema,
            "key": self.key,
        }


@dataclass(frozen=True)
class PollRow:
    id: int
    group: str
    question: str
    options: list[str]
    created_by: str
    created: float
    closed: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "group": self.group,
            "question": self.question,
            "options": self.options,
            "created_by": self.created_by,
            "created": self.created,
            "open": self.closed is None,
        }
