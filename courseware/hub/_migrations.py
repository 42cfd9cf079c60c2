"""The service's schema, versioned: each step applied once, in order, under a lock."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import CoursewareError


@dataclass(frozen=True)
class Migration:
    """One ordered schema step; ``{serial}`` in a statement is the dialect's auto-numbered key."""

    version: int
    description: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "events: the append-only log (the foundation's SQLAlchemyStore table)",
        (
            """CREATE TABLE IF NOT EXISTS events (
                id {serial},
                learner TEXT NOT NULL,
                module TEXT NOT NULL,
                item TEXT NOT NULL,
                kind TEXT NOT NULL,
                value TEXT NOT NULL,
                time DOUBLE PRECISION NOT NULL,
                schema INTEGER NOT NULL
            )""",
            "CREATE INDEX IF NOT EXISTS events_lookup ON events (learner, module, item, kind)",
        ),
    ),
    Migration(
        2,
        "idempotency keys and receipt time, so a resent event is stored once",
        (
            "ALTER TABLE events ADD COLUMN idem_key TEXT",
            "ALTER TABLE events ADD COLUMN received DOUBLE PRECISION",
            "CREATE UNIQUE INDEX IF NOT EXISTS events_idem ON events (learner, idem_key)",
        ),
    ),
    Migration(
        3,
        "polls run by seminar leads for a hub group",
        (
            """CREATE TABLE IF NOT EXISTS polls (
                id {serial},
                grp TEXT NOT NULL,
                question TEXT NOT NULL,
                options TEXT NOT NULL,
                created_by TEXT NOT NULL,
                created DOUBLE PRECISION NOT NULL,
                closed DOUBLE PRECISION
            )""",
            "CREATE INDEX IF NOT EXISTS polls_group ON polls (grp)",
            "CREATE INDEX IF NOT EXISTS events_module_kind ON events (module, item, kind)",
        ),
    ),
)
"""Every schema step in order; append new steps, never edit a released one."""

_SERIAL = {
    "postgresql": "BIGSERIAL PRIMARY KEY",
    "sqlite": "INTEGER PRIMARY KEY AUTOINCREMENT",
}

_VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS courseware_schema"
    " (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied DOUBLE PRECISION NOT NULL)"
)


class SchemaTooNew(CoursewareError, RuntimeError):
    """The database was migrated by a newer courseware than this one."""


def _check_not_newer(current: int) -> None:
    known = MIGRATIONS[-1].version
    if current > known:
        raise SchemaTooNew(
            f"the database schema is at version {current}, but this courseware knows only up to"
            f" {known}: upgrade courseware before starting the service"
        )
