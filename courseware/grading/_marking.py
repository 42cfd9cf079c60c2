"""The marking book: what nbgrader's gradebook has no place for, in SQLite beside it.

nbgrader's ``Grade`` row holds an auto score and one manual score; it knows nothing of who marked,
by which rubric, or of second and third markers. This file (``marking.sqlite`` in the course folder)
keeps scripts (an anonymous id per student's piece of work), allocations of scripts to markers, every
mark a marker gives (append-only: a corrected mark is a new row, and a re-mark's old and new level
are recorded in ``remarks``), agreed marks, the course's standard for each rubric-marked assignment
(pass mark, pass level, the cell's points), and the outcome of each autograde run. Agreed marks go
back into the gradebook through nbgrader's API.

A book made by an earlier version is upgraded when opened: missing columns are added and nothing
is removed. Marks given with the REFLECT rubric by points (a ``learning`` row, no overall level)
keep their criterion levels and points; :meth:`MarkingBook.upgrade_marks` then fills in the
overall level the rule allows (see ``_rubric``), flagged as derived, so a marker can confirm it.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from pathlib import Path
from typing import Any

from ._marking_records import Agreed, Confirmation, Mark, Remark, Script

SCHEMA = """
CREATE TABLE IF NOT EXISTS autograde_results (
    assignment TEXT NOT NULL, student TEXT NOT NULL, status TEXT NOT NULL, score REAL,
    max_score REAL, needs_manual INTEGER NOT NULL, problems TEXT NOT NULL, seconds REAL,
    time REAL NOT NULL, PRIMARY KEY (assignment, student));
CREATE TABLE IF NOT EXISTS scripts (
    script TEXT PRIMARY KEY, assignment TEXT NOT NULL, student TEXT NOT NULL,
    notebook TEXT NOT NULL, cell TEXT NOT NULL, rubric TEXT NOT NULL, time REAL NOT NULL,
    UNIQUE (assignment, student, notebook, cell));
CREATE TABLE IF NOT EXISTS allocations (
    script TEXT NOT NULL REFERENCES scripts(script), role TEXT NOT NULL, marker TEXT NOT NULL,
    time REAL NOT NULL, PRIMARY KEY (script, role));
CREATE TABLE IF NOT EXISTS marks (
    id INTEGER PRIMARY KEY AUTOINCREMENT, script TEXT NOT NULL REFERENCES scripts(script),
    role TEXT NOT NULL, marker TEXT NOT NULL, levels TEXT NOT NULL, comments TEXT NOT NULL,
    comment TEXT NOT NULL, total REAL NOT NULL, time REAL NOT NULL);
CREATE TABLE IF NOT EXISTS agreed (
    id INTEGER PRIMARY KEY AUTOINCREMENT, script TEXT NOT NULL REFERENCES scripts(script),
    total REAL NOT NULL, comment TEXT NOT NULL, method TEXT NOT NULL, by TEXT NOT NULL,
    time REAL NOT NULL);
CREATE TABLE IF NOT EXISTS remarks (
    id INTEGER PRIMARY KEY AUTOINCREMENT, script TEXT NOT NULL REFERENCES scripts(script),
    role TEXT NOT NULL, marker TEXT NOT NULL, old_level TEXT NOT NULL, new_level TEXT NOT NULL,
    old_total REAL NOT NULL, new_total REAL NOT NULL, time REAL NOT NULL);
CREATE TABLE IF NOT EXISTS standards (
    assignment TEXT PRIMARY KEY, course TEXT NOT NULL, fheq_level INTEGER NOT NULL,
    pass_mark REAL NOT NULL, pass_level TEXT, out_of REAL NOT NULL, time REAL NOT NULL);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS confirmations (
    id INTEGER PRIMARY KEY AUTOINCREMENT, assignment TEXT NOT NULL, student TEXT NOT NULL,
    cells TEXT NOT NULL, reason TEXT NOT NULL, by TEXT NOT NULL, digest TEXT NOT NULL,
    time REAL NOT NULL);
"""
# Columns added to autograde_results after its first release (a book made earlier gains them).
AUTOGRADE_COLUMNS = {
    "digest": "TEXT",
    "claimed": "REAL",
    "rescored": "REAL",
    "review": "TEXT",
    "rescored_cells": "TEXT",
}

# Columns added to marks and agreed when marking by level arrived (rubrics by level: REFLECT).
MARK_COLUMNS = {"overall": "TEXT", "learning": "TEXT", "derived": "INTEGER NOT NULL DEFAULT 0"}
AGREED_COLUMNS = {"level": "TEXT"}

ROLES = ("first", "second", "third")


class MarkingBook:
    """Marking data in one SQLite file (WAL, busy timeout: several markers may work at once)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        self._db.execute("PRAGMA busy_timeout = 60000")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.executescript(SCHEMA)
        have = {row[1] for row in self._db.execute("PRAGMA table_info(autograde_results)")}
        for column, kind in AUTOGRADE_COLUMNS.items():
            if column not in have:
                self._db.execute(f"ALTER TABLE autograde_results ADD COLUMN {column} {kind}")
        for table, columns in (("marks", MARK_COLUMNS), ("agreed", AGREED_COLUMNS)):
            have = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            for column, kind in columns.items():
                if column not in have:
                    self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> MarkingBook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # settings ---------------------------------------------------------------------------------
    def secret(self, key: str) -> str:
        """A random value made once and kept (e.g. the salt for research pseudonyms)."""
        row = self._db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        if row:
            return str(row[0])
        value = secrets.token_hex(32)
        self._db.execute("INSERT OR IGNORE INTO settings VALUES (?, ?)", (key, value))
        return self.secret(key)

    # autograde ---------------------------------------------------------------------------------
    def record_autograde(self, report: Any) -> None:
        now = time.time()
        with self._db:
            for r in report.results:
                self._db.execute(
                    "INSERT OR REPLACE INTO autograde_results (assignment, student, status, score,"
                    " max_score, needs_manual, problems, seconds, time, digest, claimed, rescored,"
                    " review, rescored_cells) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        report.assignment,
                        r.student,
                        r.status,
                        r.score,
                        r.max_score,
                        int(r.needs_manual),
                        json.dumps(r.problems, ensure_ascii=False),
                        r.seconds,
                        now,
                        r.digest,
                        r.score if r.review else None,
                        r.rescored,
                        r.review,
                        json.dumps(r.rescored_cells),
                    ),
                )

    def autograde_results(self, assignment: str) -> dict[str, dict[str, Any]]:
        """student -> the last run's outcome: status, score, problems, the submission's digest and,
        for a submission flagged for review, the claimed (gradebook) and re-scored totals."""
        rows = self._db.execute(
            "SELECT student, status, score, problems, digest, claimed, rescored, review,"
            " rescored_cells"
            " FROM autograde_results WHERE assignment = ?",
            (assignment,),
        ).fetchall()
        return {
            s: {
                "status": st,
                "score": sc,
                "problems": json.loads(p),
                "digest": d,
                "claimed": c,
                "rescored": r,
                "review": rv or "",
                "rescored_cells": json.loads(rc or "{}"),
            }
            for s, st, sc, p, d, c, r, rv, rc in rows
        }

    # confirmations -------------------------------------------------------------------------------
    def add_confirmation(self, confirmation: Confirmation) -> None:
        self._db.execute(
            "INSERT INTO confirmations (assignment, student, cells, reason, by, digest, time)"
            " VALUES (?,?,?,?,?,?,?)",
            (
                confirmation.assignment,
                confirmation.student,
                json.dumps(confirmation.cells),
                confirmation.reason,
                confirmation.by,
                confirmation.digest,
                confirmation.time,
            ),
        )

    def confirmations(self, assignment: str) -> dict[str, Confirmation]:
        """student -> their latest confirmation (every earlier one is kept in the book)."""
        rows = self._db.execute(
            "SELECT assignment, student, cells, reason, by, digest, time FROM confirmations"
            " WHERE assignment = ? ORDER BY id",
            (assignment,),
        ).fetchall()
        return {row[1]: Confirmation(row[0], row[1], json.loads(row[2]), *row[3:]) for row in rows}

    # scripts and allocation ------------------------------------------------------------------------
    def add_script(
        self, assignment: str, student: str, notebook: str, cell: str, rubric: str
    ) -> str:
        row = self._db.execute(
            "SELECT script FROM scripts WHERE assignment=? AND student=? AND notebook=? AND cell=?",
            (assignment, student, notebook, cell),
        ).fetchone()
        if row:
            return str(row[0])
        script = "S-" + secrets.token_hex(4).upper()
        self._db.execute(
            "INSERT INTO scripts VALUES (?,?,?,?,?,?,?)",
            (script, assignment, student, notebook, cell, rubric, time.time()),
        )
        return script

    def scripts(self, assignment: str) -> list[Script]:
        rows = self._db.execute(
            "SELECT script, assignment, student, notebook, cell, rubric FROM scripts"
            " WHERE assignment = ? ORDER BY script",
            (assignment,),
        ).fetchall()
        return [Script(*row) for row in rows]

    def assignments(self) -> list[str]:
        """Assignments that have scripts to mark."""
        rows = self._db.execute("SELECT DISTINCT assignment FROM scripts ORDER BY assignment")
        return [str(row[0]) for row in rows.fetchall()]

    def script(self, script: str) -> Script:
        row = self._db.execute(
            "SELECT script, assignment, student, notebook, cell, rubric FROM scripts WHERE script = ?",
            (script,),
        ).fetchone()
        if row is None:
            raise KeyError(f"no script {script!r}")
        return Script(*row)

    def allocate(self, script: str, role: str, marker: str) -> None:
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}")
        self._db.execute(
            "INSERT OR REPLACE INTO allocations VALUES (?,?,?,?)",
            (script, role, marker, time.time()),
        )

    def allocations(self, assignment: str) -> dict[str, dict[str, str]]:
        """script -> {role: marker}."""
        rows = self._db.execute(
            "SELECT a.script, a.role, a.marker FROM allocations a JOIN scripts s USING (script)"
            " WHERE s.assignment = ?",
            (assignment,),
        ).fetchall()
        found: dict[str, dict[str, str]] = {}
        for script, role, marker in rows:
            found.setdefault(script, {})[role] = marker
        return found

    # marks -----------------------------------------------------------------------------------------
    def add_mark(self, mark: Mark) -> None:
        self._db.execute(
            "INSERT INTO marks (script, role, marker, levels, comments, comment, total, time,"
            " overall, learning, derived) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                mark.script,
                mark.role,
                mark.marker,
                json.dumps(mark.levels, ensure_ascii=False),
                json.dumps(mark.comments, ensure_ascii=False),
                mark.comment,
                mark.total,
                mark.time,
                mark.overall,
                mark.learning,
                int(mark.derived),
            ),
        )

    def marks(self, assignment: str) -> dict[str, dict[str, Mark]]:
        """script -> {role: latest mark of that role}."""
        rows = self._db.execute(
            "SELECT m.script, m.role, m.marker, m.levels, m.comments, m.comment, m.total, m.time,"
            " m.overall, m.learning, m.derived"
            " FROM marks m JOIN scripts s USING (script) WHERE s.assignment = ? ORDER BY m.id",
            (assignment,),
        ).fetchall()
        found: dict[str, dict[str, Mark]] = {}
        for script, role, marker, levels, comments, comment, total, when, ov, ln, dv in rows:
            found.setdefault(script, {})[role] = Mark(
                script,
                role,
                marker,
                json.loads(levels),
                json.loads(comments),
                comment,
                total,
                when,
                ov,
                ln,
                bool(dv),
            )
        return found

    def upgrade_marks(self, assignment: str, rubric: Any) -> int:
        """Give every mark of a rubric by level made before marking by level (no overall level)
        the overall level its criteria allow, flagged as derived; return how many. Its criterion
        levels, comments and points stay as given; a ``learning`` row it had is read as the
        learning judgement when the derived level is the top one (a top level with "no learning
        stated" is read as the level below it, since the top level needs a learning judgement)."""
        if not getattr(rubric, "by_level", False):
            return 0
        order = [lv.id for lv in rubric.overall.levels]
        kinds = {ln.id for ln in rubric.overall.learning}
        rows = self._db.execute(
            "SELECT m.id, m.levels FROM marks m JOIN scripts s USING (script)"
            " WHERE s.assignment = ? AND s.rubric = ? AND m.overall IS NULL",
            (assignment, rubric.id),
        ).fetchall()
        done = 0
        with self._db:
            for row_id, levels_json in rows:
                levels = json.loads(levels_json)
                try:
                    overall = rubric.ceiling(levels)
                except (KeyError, ValueError):
                    continue  # not this rubric's criteria: left for a marker to see
                learning = levels.get("learning")
                if overall == order[-1] and learning not in kinds:
                    overall = order[-2]
                self._db.execute(
                    "UPDATE marks SET overall = ?, learning = ?, derived = 1 WHERE id = ?",
                    (overall, learning if overall == order[-1] else None, row_id),
                )
                done += 1
        return done

    # re-marks --------------------------------------------------------------------------------------
    def add_remark(self, remark: Remark) -> None:
        self._db.execute(
            "INSERT INTO remarks (script, role, marker, old_level, new_level, old_total,"
            " new_total, time) VALUES (?,?,?,?,?,?,?,?)",
            (
                remark.script,
                remark.role,
                remark.marker,
                remark.old_level,
                remark.new_level,
                remark.old_total,
                remark.new_total,
                remark.time,
            ),
        )

    def remarks(self, assignment: str) -> list[Remark]:
        """Every re-mark of the assignment's scripts, oldest first."""
        rows = self._db.execute(
            "SELECT r.script, r.role, r.marker, r.old_level, r.new_level, r.old_total,"
            " r.new_total, r.time FROM remarks r JOIN scripts s USING (script)"
            " WHERE s.assignment = ? ORDER BY r.id",
            (assignment,),
        ).fetchall()
        return [Remark(*row) for row in rows]

    # standards -------------------------------------------------------------------------------------
    def set_standard(self, assignment: str, standard: Any) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO standards VALUES (?,?,?,?,?,?,?)",
            (
                assignment,
                standard.course,
                standard.fheq_level,
                standard.pass_mark,
                standard.pass_level,
                standard.out_of,
                time.time(),
            ),
        )

    def standard(self, assignment: str) -> Any:
        """The course's :class:`~._rubric.Standard` recorded for ``assignment``, or None."""
        from ._rubric import Standard

        row = self._db.execute(
            "SELECT course, fheq_level, pass_mark, pass_level, out_of FROM standards"
            " WHERE assignment = ?",
            (assignment,),
        ).fetchone()
        return None if row is None else Standard(*row)

    # agreed ------------------------------------------------------------------------------------------
    def add_agreed(self, agreed: Agreed) -> None:
        self._db.execute(
            "INSERT INTO agreed (script, total, comment, method, by, time, level)"
            " VALUES (?,?,?,?,?,?,?)",
            (
                agreed.script,
                agreed.total,
                agreed.comment,
                agreed.method,
                agreed.by,
                time.time(),
                agreed.level,
            ),
        )

    def agreed(self, assignment: str) -> dict[str, Agreed]:
        rows = self._db.execute(
            "SELECT a.script, a.total, a.comment, a.method, a.by, a.level FROM agreed a"
            " JOIN scripts s USING (script) WHERE s.assignment = ? ORDER BY a.id",
            (assignment,),
        ).fetchall()
        return {row[0]: Agreed(*row) for row in rows}
