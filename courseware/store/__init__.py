"""Where learner responses go: one interface, SQLite by default, any SQLAlchemy URL for a shared store."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._private import user_data_dir
from ._base import EVENT_SCHEMA_VERSION, Event, Store, current_learner
from ._sqlite import SQLiteStore

if TYPE_CHECKING:
    from ._service import (
        ServiceClient,
        ServiceError,
        ServiceRefused,
        ServiceStore,
        ServiceUnavailable,
        check_value,
    )

_SERVICE_NAMES = {
    "ServiceClient",
    "ServiceError",
    "ServiceRefused",
    "ServiceStore",
    "ServiceUnavailable",
    "check_value",
}


def __getattr__(name: str) -> Any:
    """The hub-service names load on first use (http.client stays out of a laptop's kernel)."""
    if name in _SERVICE_NAMES:
        from . import _service

        return getattr(_service, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "EVENT_SCHEMA_VERSION",
    "Event",
    "SQLiteStore",
    "ServiceClient",
    "ServiceError",
    "ServiceRefused",
    "ServiceStore",
    "ServiceUnavailable",
    "Store",
    "check_value",
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
    return str(user_data_dir() / "responses.sqlite")


def open_store(location: str | os.PathLike[str] | None = None) -> Store:
    """Open the store at a path or SQLAlchemy URL (default: :func:`default_store_location`).

    ``courseware+http(s)://…`` (or ``hub-service`` with ``$COURSEWARE_SERVICE_URL``) is the
    courseware service on a JupyterHub, reached with the kernel's own hub token.
    """
    where = str(location) if location is not None else default_store_location()
    if where.startswith("courseware+") or where == "hub-service":
        from ._service import ServiceStore

        return ServiceStore(where)
    if "://" not in where:
        return SQLiteStore(Path(where).expanduser())
    if where.startswith("sqlite:///"):
        return SQLiteStore(Path(where.removeprefix("sqlite:///")).expanduser())
    from ._sql import SQLAlchemyStore  # heavy import, only for shared databases

    return SQLAlchemyStore(where)
