"""Where learner responses go: one interface, SQLite by default, any SQLAlchemy URL for a shared store."""

from __future__ import annotations

import os
from pathlib import Path

from ._base import EVENT_SCHEMA_VERSION, Event, Store, current_learner
from ._sqlite import SQLiteStore

__all__ = [
    "EVENT_SCHEMA_VERSION",
    "Event",
    "SQLiteStore",
    "Store",
    "current_learner",
    "default_store_location",
    "open_store",
]

STORE_ENV = "COURSEWARE_STORE"


def default_store_location() -> str:
    """``$COURSEWARE_STORE`` if set, else ``responses.sqlite`` in the user's data folder."""
    configured = os.environ.get(STORE_ENV, "").strip()
    if configured:
        return configured
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return str(Path(data_home) / "courseware" / "responses.sqlite")


def open_store(location: str | os.PathLike[str] | None = None) -> Store:
    """Open the store at a path or SQLAlchemy URL (default: :func:`default_store_location`)."""
    where = str(location) if location is not None else default_store_location()
    if "://" not in where:
        return SQLiteStore(Path(where).expanduser())
    if where.startswith("sqlite:///"):
        return SQLiteStore(Path(where.removeprefix("sqlite:///")).expanduser())
    from ._sql import SQLAlchemyStore  # heavy import, only for shared databases

    return SQLAlchemyStore(where)
