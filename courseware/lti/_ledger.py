"""The tool's ledger (SQLite): what each VLE course offers, which marks a tutor released, and a log
of every mark sent.

* ``contexts``: one row per VLE course (issuer, client, deployment, context), refreshed on each
  launch from it: its course slug and the service endpoints its launches carried (AGS line items,
  NRPS memberships), so ``send-marks`` and ``roster`` can run later from the command line.
* ``releases``: a tutor's word that a student's mark may go to the VLE, with the score released.
  A mark that changes afterwards is not sent until it is released again.
* ``members``: hub user name to the VLE's user id, from the course membership.
* ``sends``: every attempt to send a mark (who, what, when, the VLE's answer), kept forever.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._config import LtiError

__all__ = ["Context", "Ledger", "Release", "Send"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS contexts (
    course TEXT NOT NULL, issuer TEXT NOT NULL, client_id TEXT NOT NULL,
    deployment_id TEXT NOT NULL, context_id TEXT NOT NULL, title TEXT NOT NULL,
    lineitems TEXT, ags_scopes TEXT NOT NULL, memberships TEXT, updated REAL NOT NULL,
    PRIMARY KEY (issuer, client_id, deployment_id, context_id)
);
CREATE TABLE IF NOT EXISTS releases (
    course TEXT NOT NULL, assignment TEXT NOT NULL, student TEXT NOT NULL,
    score REAL NOT NULL, max_score REAL NOT NULL, by TEXT NOT NULL, at REAL NOT NULL,
    PRIMARY KEY (course, assignment, student)
);
CREATE TABLE IF NOT EXISTS members (
    course TEXT NOT NULL, name TEXT NOT NULL, user_id TEXT NOT NULL,
    PRIMARY KEY (course, name)
);
CREATE TABLE IF NOT EXISTS sends (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, by TEXT NOT NULL,
    course TEXT NOT NULL, assignment TEXT NOT NULL, student TEXT NOT NULL,
    score REAL, max_score REAL, lineitem TEXT, outcome TEXT NOT NULL, status INTEGER,
    response TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Context:
    """A VLE course the tool was launched from, with the services its launches offered."""

    course: str
    issuer: str
    client_id: str
    deployment_id: str
    context_id: str
    title: str
    lineitems: str | None
    ags_scopes: tuple[str, ...]
    memberships: str | None


@dataclass(frozen=True)
class Release:
    course: str
    assignment: str
    student: str
    score: float
    max_score: float
    by: str
    at: float


@dataclass(frozen=True)
class Send:
    """One attempt to send one mark: ``outcome`` is ``sent``, ``refused`` (by us, before sending:
    ``response`` says why) or ``error`` (the VLE's answer, with its HTTP status)."""

    at: float
    by: str
    course: str
    assignment: str
    student: str
    score: float | None
    max_score: float | None
    lineitem: str | None
    outcome: str
    status: int | None
    response: str


class Ledger:
    """The tool's SQLite file; one connection, used from one thread at a time."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- contexts ------------------------------------------------------------------------------
    def record_context(self, context: Context) -> None:
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO contexts VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    context.course,
                    context.issuer,
                    context.client_id,
                    context.deployment_id,
                    context.context_id,
                    context.title,
                    context.lineitems,
                    json.dumps(list(context.ags_scopes)),
                    context.memberships,
                    time.time(),
                ),
            )

    def contexts(self) -> list[Context]:
        rows = self._db.execute(
            "SELECT course, issuer, client_id, deployment_id, context_id, title, lineitems,"
            " ags_scopes, memberships FROM contexts ORDER BY course"
        ).fetchall()
        return [
            Context(r[0], r[1], r[2], r[3], r[4], r[5], r[6], tuple(json.loads(r[7])), r[8])
            for r in rows
        ]

    def context(self, course: str) -> Context:
        """The VLE course recorded for ``course`` (its slug), from its last launch."""
        found = [c for c in self.contexts() if c.course == course]
        if not found:
            known = ", ".join(sorted({c.course for c in self.contexts()})) or "none yet"
            raise LtiError(
                f"no VLE course {course!r} has launched the tool (known: {known}); "
                "open the tool once from that course in the VLE"
            )
        if len(found) > 1:
            raise LtiError(f"more than one VLE course is called {course!r}: rename one")
        return found[0]

    # -- members -------------------------------------------------------------------------------
    def record_members(self, course: str, members: dict[str, str]) -> None:
        """Hub user name -> the VLE's user id, from the course's membership (for AGS)."""
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO members VALUES (?,?,?)",
                [(course, name, user_id) for name, user_id in members.items()],
            )

    def members(self, course: str) -> dict[str, str]:
        rows = self._db.execute("SELECT name, user_id FROM members WHERE course = ?", (course,))
        return dict(rows.fetchall())

    # -- releases ------------------------------------------------------------------------------
    def release(self, release: Release) -> None:
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO releases VALUES (?,?,?,?,?,?,?)",
                (
                    release.course,
                    release.assignment,
                    release.student,
                    release.score,
                    release.max_score,
                    release.by,
                    release.at,
                ),
            )

    def releases(self, course: str, assignment: str) -> dict[str, Release]:
        rows = self._db.execute(
            "SELECT * FROM releases WHERE course = ? AND assignment = ?", (course, assignment)
        ).fetchall()
        return {r[2]: Release(*r) for r in rows}

    # -- sends ---------------------------------------------------------------------------------
    def log_send(self, send: Send) -> None:
        with self._db:
            self._db.execute(
                "INSERT INTO sends (at, by, course, assignment, student, score, max_score,"
                " lineitem, outcome, status, response) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    send.at,
                    send.by,
                    send.course,
                    send.assignment,
                    send.student,
                    send.score,
                    send.max_score,
                    send.lineitem,
                    send.outcome,
                    send.status,
                    send.response,
                ),
            )

    def sends(self, course: str | None = None, assignment: str | None = None) -> list[Send]:
        query = "SELECT at, by, course, assignment, student, score, max_score, lineitem, outcome,"
        query += " status, response FROM sends WHERE 1=1"
        args: list[Any] = []
        if course is not None:
            query += " AND course = ?"
            args.append(course)
        if assignment is not None:
            query += " AND assignment = ?"
            args.append(assignment)
        return [Send(*r) for r in self._db.execute(query + " ORDER BY id", args).fetchall()]
