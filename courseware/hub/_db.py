"""The service's database: PostgreSQL in production, SQLite for a single-machine hub.

Both speak the same SQL here (``ON CONFLICT``, ``RETURNING``), so one set of queries serves both;
the only differences are the driver (psycopg's async pool, or stdlib ``sqlite3`` on one worker
thread) and how an auto-numbered key is spelled in the migrations.

The schema is versioned: ``courseware_schema`` records each applied step, and :data:`MIGRATIONS`
lists the steps in order. Step 1 is exactly the table the foundation's ``SQLAlchemyStore``
creates, so a deployment that began with a plain PostgreSQL URL is upgraded in place.
"""

from __future__ import annotations

from ._migrations import MIGRATIONS, SchemaTooNew
from ._postgres import PostgresDatabase
from ._queries import Database
from ._rows import EventRow, KeyConflict, NewEvent, PollRow
from ._sqlitedb import SQLiteDatabase

__all__ = [
    "MIGRATIONS",
    "Database",
    "EventRow",
    "KeyConflict",
    "NewEvent",
    "PollRow",
    "SchemaTooNew",
    "open_database",
]


def open_database(url: str) -> Database:
    """A :class:`Database` for ``postgresql://…`` (any ``+driver`` suffix ignored) or SQLite.

    SQLite is given as ``sqlite:///path`` or a plain file path.
    """
    if url.startswith(("postgresql://", "postgres://", "postgresql+")):
        _scheme, rest = url.split("://", 1)
        return PostgresDatabase("postgresql://" + rest)
    if url.startswith("sqlite:///"):
        return SQLiteDatabase(url.removeprefix("sqlite:///"))
    if "://" in url:
        raise ValueError(
            f"unsupported database URL {url.split('://', 1)[0]}://…:"
            " use postgresql://user:password@host/db or sqlite:///path"
        )
    return SQLiteDatabase(url)
