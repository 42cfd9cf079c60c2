"""Where learner responses go: one interface, SQLite by default, any SQLAlchemy URL for a shared store."""

from __future__ import annotations

import os
from pathlib import Path as _Path
from typing import TYPE_CHECKING

from .._lazy import lazy_getattr as _lazy_getattr
from .._private import data_location as _data_location
from ._base import EVENT_SCHEMA_VERSION, Event, Store, current_learner, sql_filters
from ._sqlite import SQLiteStore, connect_sqlite
from ._wire import (
    BIGINT_MAX,
    MAX_BATCH,
    MAX_FIELD,
    MAX_REQUEST_BYTES,
    MAX_VALUE_BYTES,
    check_key,
    check_text,
    check_value,
    event_fields,
)

if TYPE_CHECKING:
    from ._client import ServiceClient, ServiceError, ServiceRefused, ServiceUnavailable
    from ._outbox import Outbox
    from ._service import ServiceStore
    from ._transport import HTTPTransport, MockTransport, Request, Response, Transport

_LAZY = {  # the hub-service names load on first use (http.client stays out of a laptop's kernel)
    "HTTPTransport": "._transport",
    "MockTransport": "._transport",
    "Outbox": "._outbox",
    "Request": "._transport",
    "Response": "._transport",
    "ServiceClient": "._client",
    "ServiceError": "._client",
    "ServiceRefused": "._client",
    "ServiceStore": "._service",
    "ServiceUnavailable": "._client",
    "Transport": "._transport",
}


__getattr__ = _lazy_getattr(__name__, _LAZY)


__all__ = [
    "BIGINT_MAX",
    "EVENT_SCHEMA_VERSION",
    "MAX_BATCH",
    "MAX_FIELD",
    "MAX_REQUEST_BYTES",
    "MAX_VALUE_BYTES",
    "Event",
    "HTTPTransport",
    "MockTransport",
    "Outbox",
    "Request",
    "Response",
    "SQLiteStore",
    "ServiceClient",
    "ServiceError",
    "ServiceRefused",
    "ServiceStore",
    "ServiceUnavailable",
    "Store",
    "Transport",
    "check_key",
    "check_text",
    "check_value",
    "connect_sqlite",
    "current_learner",
    "default_store_location",
    "event_fields",
    "open_store",
    "sql_filters",
]

_STORE_ENV = "COURSEWARE_STORE"


def default_store_location() -> str:
    """``$COURSEWARE_STORE`` if set, else ``responses.sqlite`` in the user's data folder."""
    return _data_location(_STORE_ENV, "responses.sqlite")


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
        return SQLiteStore(_Path(where).expanduser())
    if where.startswith("sqlite:///"):
        return SQLiteStore(_Path(where.removeprefix("sqlite:///")).expanduser())
    from ._sql import SQLAlchemyStore  # heavy import, only for shared databases

    return SQLAlchemyStore(where)
