"""The store interface: learner responses as an append-only log of events.

Every save appends an :class:`Event` (who, which module, which item, what kind, the value, when), in the
spirit of xAPI statements. The "current answer" is the latest event for an item, so nothing a learner
typed is destroyed by a later save.
"""

from __future__ import annotations

import getpass
import json
import os
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

EVENT_SCHEMA_VERSION = 1
"""Version of the event row layout; stored on every row so later readers can migrate old data."""


@dataclass(frozen=True)
class Event:
    """One thing a learner did: ``kind`` names it (e.g. ``reflection.saved``), ``value`` carries it."""

    learner: str
    module: str
    item: str
    kind: str
    value: Any
    time: float = field(default_factory=time.time)
    id: int | None = None
    schema: int = EVENT_SCHEMA_VERSION

    def value_json(self) -> str:
        return json.dumps(self.value, ensure_ascii=False, separators=(",", ":"))

    def row(self) -> tuple[str, str, str, str, str, float, int]:
        """The stored columns, in ``ROW_COLUMNS`` order (the value as JSON text)."""
        return (
            self.learner,
            self.module,
            self.item,
            self.kind,
            self.value_json(),
            self.time,
            self.schema,
        )


ROW_COLUMNS = "learner, module, item, kind, value, time, schema"
"""Column names matching :meth:`Event.row`, for SQL written against the events layout."""


Filters = dict[str, str | None]
""":meth:`Store.events`'s filters by name (``learner``, ``module``, ``item``, ``kind``,
``kind_prefix``); ``None`` means "any"."""


class Store(ABC):
    """Where learner responses go. Implementations must make :meth:`append` atomic and durable.

    An implementation provides :meth:`append` and :meth:`_select`; the filters of :meth:`events`
    are named here once, and every backend receives them as one :data:`Filters` mapping.
    """

    @abstractmethod
    def append(self, event: Event) -> int:
        """Durably record ``event``; return its id (ids increase in the order events were stored)."""

    def events(
        self,
        *,
        learner: str | None = None,
        module: str | None = None,
        item: str | None = None,
        kind: str | None = None,
        kind_prefix: str | None = None,
    ) -> list[Event]:
        """Events matching every filter given, oldest first."""
        return self._select(
            {
                "learner": learner,
                "module": module,
                "item": item,
                "kind": kind,
                "kind_prefix": kind_prefix,
            }
        )

    @abstractmethod
    def _select(self, filters: Filters) -> list[Event]:
        """The events matching every filter that is not ``None`` (``kind_prefix``: the kinds
        starting with it), oldest first."""

    def latest(self, *, learner: str, module: str, item: str, kind: str) -> Event | None:
        """The current answer: the most recent event of ``kind`` for one learner's item."""
        found = self.events(learner=learner, module=module, item=item, kind=kind)
        return found[-1] if found else None

    def revision(self, learner: str) -> tuple[int, int] | None:
        """A value that changes whenever ``learner``'s saved events change (their number and the
        newest id), or ``None`` where the store cannot tell cheaply. A server compares it to know
        whether widgets built earlier from this learner's saves still show them as they are."""
        return None

    def delivery_note(self) -> str | None:
        """A sentence for the learner if some saves could not be delivered (kept locally)."""
        return None

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the store must not be used afterwards."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def sql_filters(mark: str = "?", **filters: str | None) -> tuple[list[str], list[Any]]:
    """SQL conditions (``mark``: the driver's placeholder) and their parameters for
    :meth:`Store.events`'s filters: each column given equals its value; ``kind_prefix`` matches
    the kinds starting with it. One spelling for the SQLite store, the outbox and the hub's
    database (column names come from the keywords, never from a request)."""
    prefix = filters.pop("kind_prefix", None)
    where: list[str] = []
    args: list[Any] = []
    for column, value in filters.items():
        if value is not None:
            where.append(f"{column} = {mark}")
            args.append(value)
    if prefix is not None:
        where.append(f"substr(kind, 1, {mark}) = {mark}")
        args += [len(prefix), prefix]
    return where, args


def current_learner() -> str:
    """The learner's identity: JupyterHub's user name on a hub, else the operating-system user."""
    hub_user = os.environ.get("JUPYTERHUB_USER", "").strip()
    if hub_user:
        return hub_user
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "anonymous"
