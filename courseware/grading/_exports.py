"""Marks leaving the course: registry/LMS CSV, pseudonymous research CSV, external examiner's pack.

``nbgrader export`` writes a submission that failed to autograde, or still awaits manual marking, as
a plain 0. The registry export says which it is, with the status vocabulary of ``_standing``
(``graded``: the score is real, even when 0; ``needs-manual-marking``; ``needs-review``;
``failed-to-grade``; ``not-submitted``), the score left empty unless it is final, and a flagged
submission's claimed and re-scored totals. Where ``courseware grade scripts`` recorded the course's
standard, ``result`` says pass or fail for a graded submission (its score against the pass mark of
the course's FHEQ level) and ``level`` gives the agreed grade of a rubric by level; a grade's points
reach the pass mark exactly when the level reaches the pass level, so the two always agree. The
research export gives the same status and score. Every text cell that a spreadsheet would run as a formula (leading ``=``, ``+``, ``-``, ``@``,
tab or carriage return) is prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._course import CourseFolder
from ._marking import MarkingBook
from ._moderation import moderation_status, script_text
from ._rubric import Rubric
from ._safe_html import markdown_literal
from ._standing import UNMARKABLE, standings

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
REGISTRY_COLUMNS = [
    "student_id",
    "assignment",
    "status",
    "score",
    "max_score",
    "note",
    "claimed_score",
    "rescored_score",
    "result",
    "level",
]


def neutralise(value: Any) -> Any:
    """Text a spreadsheet could run as a formula gets a leading apostrophe; numbers pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_csv(path: str | Path, columns: list[str], rows: list[dict[str, Any]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: neutralise(row.get(k, "")) for k in columns})
    Path(path).write_text(buffer.getvalue(), encoding="utf-8")


def registry_rows(
    course: CourseFolder,
    book: MarkingBook,
    assignment: str,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """One row per student known to the gradebook, the autograde runs or the confirmations; the
    status is the student's :func:`~._standing.standings` entry, as every export gives it."""
    all_standings = standings(course, book, assignment)
    standard = book.standard(assignment)
    agreed = book.agreed(assignment)
    levels: dict[str, list[tuple[str, float, str]]] = {}
    for script in book.scripts(assignment):
        found = agreed.get(script.script)
        if found is not None and found.level:
            levels.setdefault(script.student, []).append((script.cell, found.total, found.level))
    cells = _manual_scores(course, assignment, set(levels))
    rows = []
    for student, standing in all_standings.items():
        result = level = ""
        if standing.score is not None and standard is not None:
            passed = standing.score >= standing.max_score * standard.pass_mark / 100 - 1e-9
            result = "pass" if passed else "fail"
        if standing.status == "graded":
            # the agreed level, while the gradebook holds its points (not a score set since)
            level = "; ".join(
                lv
                for cell, total, lv in levels.get(student, [])
                if cells.get((student, cell)) == total
            )
        rows.append(
            {
                "student_id": student,
                "assignment": assignment,
                "status": standing.status,
                "score": "" if standing.score is None else standing.score,
                "max_score": standing.max_score,
                "note": standing.note,
                "claimed_score": "" if standing.claimed is None else standing.claimed,
                "rescored_score": "" if standing.rescored is None else standing.rescored,
                "result": result,
                "level": level,
            }
        )
        if progress:
            progress(len(rows), len(all_standings))
    return rows


def _manual_scores(
    course: CourseFolder, assignment: str, students: set[str]
) -> dict[tuple[str, str], float | None]:
    """``(student, cell) -> manual score`` of the students' rubric-marked cells."""
    from nbgrader.api import MissingEntry

    found: dict[tuple[str, str], float | None] = {}
    if not students:
        return found
    with course.gradebook() as gb:
        for student in students:
            try:
                submission = gb.find_submission(assignment, student)
            except MissingEntry:
                continue
            for nb in submission.notebooks:
                for grade in nb.grades:
                    score = grade.manual_score
                    found[(student, grade.name)] = None if score is None else float(score)
    return found


def export_registry(
    course: CourseFolder,
    book: MarkingBook,
    assignment: str,
    path: str | Path,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
    rows = registry_rows(course, book, assignment, progress=progress)
    write_csv(path, REGISTRY_COLUMNS, rows)
    return rows


def pseudonym(secret: str, student: str) -> str:
    """A stable research id that cannot be turned back into a student id without the course's secret."""
    return "P-" + hmac.new(secret.encode(), student.encode(), hashlib.sha256).hexdigest()[:12]


def export_research(
    course: CourseFolder,
    book: MarkingBook,
    assignment: str,
    path: str | Path,
    rubric: Rubric | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """Per-student scores by cell and agreed rubric levels, under pseudonyms; no names, no free text.
    ``progress(done, total)`` is called per student (the registry's rows come first)."""
    secret = book.secret("research-pseudonym-salt")
    registry = {r["student_id"]: r for r in registry_rows(course, book, assignment)}
    scripts = {s.student: s for s in book.scripts(assignment)}
    marks = book.marks(assignment)
    agreed = book.agreed(assignment)
    rows: list[dict[str, Any]] = []
    columns = [
        "pseudonym",
        "assignment",
        "status",
        "score",
        "max_score",
        "claimed_score",
        "rescored_score",
    ]
    with course.gradebook() as gb:
        for student, reg in sorted(registry.items(), key=lambda kv: pseudonym(secret, kv[0])):
            row: dict[str, Any] = {
                "pseudonym": pseudonym(secret, student),
                "assignment": assignment,
                "status": reg["status"],
                "score": reg["score"],
                "max_score": reg["max_score"],
                "claimed_score": reg["claimed_score"],
                "rescored_score": reg["rescored_score"],
            }
            if reg["status"] not in UNMARKABLE:
                submission = gb.find_submission(assignment, student)
                for nb in submission.notebooks:
                    for grade in nb.grades:
                        column = f"cell:{grade.name}"
                        if column not in columns:
                            columns.append(column)
                        row[column] = "" if grade.score is None else float(grade.score)
            script = scripts.get(student)
            if script is not None and rubric is not None:
                first = marks.get(script.script, {}).get("first")
                if first is not None:
                    given = first.all_levels()
                    ids = [c.id for c in rubric.criteria]
                    if rubric.by_level:
                        ids += ["overall", "learning"]
                    for key in ids:
                        column = f"first:{key}"
                        if column not in columns:
                            columns.append(column)
                        row[column] = given.get(key, "")
                if script.script in agreed and reg["status"] not in UNMARKABLE:
                    row["agreed_band"] = rubric.band(agreed[script.script].total).id
                    if "agreed_band" not in columns:
                        columns.append("agreed_band")
            rows.append(row)
            if progress:
                progress(len(rows), len(registry))
    write_csv(path, columns, rows)
    return rows


def examiner_pack(
    course: CourseFolder, book: MarkingBook, assignment: str, rubric: Rubric, folder: str | Path
) -> Path:
    """An anonymised pack for the external examiner: the double-marked scripts (by script id), every
    mark with markers shown as Marker A, B, C…, agreed marks and the agreement statistics."""
    from ._agreement import marker_agreement
    from ._marking_rules import mark_total

    out = Path(folder)
    (out / "scripts").mkdir(parents=True, exist_ok=True)
    marks = book.marks(assignment)
    agreed = book.agreed(assignment)
    status = moderation_status(book, assignment, rubric)
    markers: dict[str, str] = {}

    def alias(name: str) -> str:
        if name not in markers:
            markers[name] = (
                f"Marker {chr(ord('A') + len(markers))}"
                if len(markers) < 26
                else f"Marker {len(markers) + 1}"
            )
        return markers[name]

    rows = []
    level_keys = [c.id for c in rubric.criteria] + (
        ["overall", "learning"] if rubric.by_level else []
    )
    sampled = [s for s in book.scripts(assignment) if "second" in marks.get(s.script, {})]
    for script in sampled:
        text = script_text(course, script)
        (out / "scripts" / f"{script.script}.md").write_text(
            f"# Script {script.script}\n\n{markdown_literal(text)}", encoding="utf-8"
        )
        for role in ("first", "second", "third"):
            mark = marks[script.script].get(role)
            if mark is None:
                continue
            total = mark_total(rubric, mark)
            given = mark.all_levels()
            rows.append(
                {
                    "script": script.script,
                    "role": role,
                    "marker": alias(mark.marker),
                    "total": total,
                    "band": rubric.band(total).name,
                    **{f"level:{key}": given.get(key, "") for key in level_keys},
                    "derived": "yes" if mark.derived else "",
                }
            )
        result = agreed.get(script.script)
        rows.append(
            {
                "script": script.script,
                "role": "agreed",
                "marker": "",
                "total": "" if result is None else result.total,
                "band": "" if result is None else rubric.band(result.total).name,
            }
        )
    columns = [
        "script",
        "role",
        "marker",
        "total",
        "band",
        *(f"level:{key}" for key in level_keys),
        "derived",
    ]
    write_csv(out / "marks.csv", columns, rows)
    remarks = [
        {
            "script": r.script,
            "role": r.role,
            "marker": alias(r.marker),
            "old_level": r.old_level,
            "new_level": r.new_level,
            "old_total": r.old_total,
            "new_total": r.new_total,
        }
        for r in book.remarks(assignment)
    ]
    write_csv(out / "remarks.csv", [*remarks[0]] if remarks else ["script"], remarks)
    stats = marker_agreement(book, assignment, rubric)
    waiting = sorted(s for s, d in status.items() if d.status != "agreed")
    summary = {
        "assignment": assignment,
        "rubric": rubric.id,
        "scripts": len(status),
        "double_marked": len(sampled),
        "awaiting_marks": len(waiting),
        "remarks": len(remarks),
        "standard": None if rubric.standard is None else vars(rubric.standard),
        "agreement": stats.as_dict(),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    (out / "README.md").write_text(
        f"# External examiner's pack: {assignment}\n\n"
        "Scripts are identified by anonymous script ids; markers by letter. No student names or ids appear.\n\n"
        + "\n".join(f"- {line}" for line in stats.lines())
        + "\n\n`marks.csv` lists every mark of every double-marked script (`derived`: an overall "
        "level given by rule to a mark made before marking by level); `remarks.csv` lists every "
        "re-mark with its old and new level; `scripts/` holds the scripts.\n",
        encoding="utf-8",
    )
    return out
