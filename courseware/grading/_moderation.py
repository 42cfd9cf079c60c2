"""Double marking and moderation as UK medical schools run it, over nbgrader's gradebook.

Rules (pure functions, tested without nbgrader):

* a rubric by level (REFLECT) is moderated on grades, not points: each grade is a band, so two
  marks agree only at the same grade, and the median of three marks is the middle grade (a level
  is ordinal: it is never averaged); a grade's points come from the course's standard (``_rubric``);
* every script gets a first marker; a **second-marking sample** is at least 10% of the cohort or 10
  scripts (whichever is more), spread across the range of first marks, plus every script marked as a
  fail; or every script when asked;
* two marks in the **same band** agree at their mean (rounded to the nearest half mark); marks in
  **different bands** go to a third marker, blind like the others, and the agreed mark is the median
  of the three;
* an unsampled script's agreed mark is its first mark.

Markers see a script by its anonymous id only, never the student's name or another marker's marks.
Agreed marks and the feedback comment are written into the gradebook with nbgrader's API, so
``nbgrader generate_feedback`` and ``nbgrader export`` show them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ._course import CourseFolder, GradingError
from ._marking import MarkingBook
from ._marking_records import Agreed, Mark, Remark, Script
from ._marking_rules import (
    Decision,
    decide,
    feedback_comment,
    mark_grade,
    mark_total,
    second_marking_sample,
)
from ._rubric import Rubric, Standard, course_standard, load_rubric


def marking_rubric(root: Any, book: MarkingBook, assignment: str) -> Rubric:
    """The rubric the assignment's scripts are marked with, under the standard recorded for it by
    :func:`prepare_scripts`; marks from before marking by level are upgraded on the way."""
    from pathlib import Path

    scripts = book.scripts(assignment)
    if not scripts:
        raise GradingError(f"no scripts for {assignment}: run `courseware grade scripts` first")
    rubric = load_rubric(Path(root) / "rubrics" / f"{scripts[0].rubric}.yaml")
    standard = book.standard(assignment)
    if standard is not None:
        try:
            rubric = rubric.for_standard(standard)
        except ValueError as exc:
            raise GradingError(str(exc)) from None
    elif rubric.by_level:
        raise GradingError(
            f"{assignment} is marked by level with rubric {rubric.id!r}, and the course's pass "
            "level is not recorded: run `courseware grade scripts` again with --course-file "
            "COURSE.yaml"
        )
    book.upgrade_marks(assignment, rubric)
    return rubric


# --- operations on a course --------------------------------------------------------------------------


@dataclass
class Prepared:
    """What ``prepare_scripts`` made: the assignment's scripts, and each student left out with why
    (``failed-to-grade`` and the next step, a deleted answer cell, a tutor-confirmed score…)."""

    scripts: list[Script]
    left_out: dict[str, str]


def _answer_present(
    course: CourseFolder, student: str, assignment: str, notebook: str, cell: str
) -> bool:
    """Whether the learner's submitted notebook still has the answer cell (a deleted one is put
    back by nbgrader with its "This cell was missing" text, which is no one's work)."""
    import json

    folder = course.folder(course.coursedir().submitted_directory, student, assignment)
    try:
        nb = json.loads((folder / f"{notebook}.ipynb").read_text(encoding="utf-8"))
        return any(
            isinstance(c, dict)
            and c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == cell
            for c in nb["cells"]
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def prepare_scripts(
    course: CourseFolder,
    book: MarkingBook,
    assignment: str,
    rubric: Rubric,
    notebook: str,
    cell: str,
    *,
    course_file: Any = None,
    progress: Callable[[int, int], None] | None = None,
) -> Prepared:
    """One anonymous script per submitted answer in ``cell`` that needs a marker.

    Left out: a submission autograde could not grade or skipped (its status, from
    :func:`~._standing.standings`, is ``failed-to-grade`` or ``not-submitted``: its gradebook row,
    if any, is not the learner's work as graded); an answer cell the learner deleted (a missing
    answer, scored 0); a cell a tutor confirmed a score for; and an answer nbgrader already scored
    (an untouched answer cell scores 0 automatically). By points, the cell's points must equal the
    rubric's maximum, so a rubric total is a gradebook score. ``course_file`` (``courses/<id>.yaml``)
    sets the standard: the pass mark from its FHEQ level and, for a rubric by level (required
    then), the pass level; it is recorded in the book for marking, moderation and exports.
    """
    from nbgrader.api import MissingEntry

    from ._standing import standings

    standing = standings(course, book, assignment)
    left_out: dict[str, str] = {}
    with course.gradebook() as gb:
        try:
            grade_cell = gb.find_grade_cell(cell, notebook, assignment)
        except MissingEntry:
            raise GradingError(f"{assignment}/{notebook} has no grade cell {cell!r}") from None
        standard: Standard | None = None
        if course_file is not None:
            try:
                standard = course_standard(
                    course_file,
                    assignment,
                    rubric,
                    float(grade_cell.max_score) if rubric.by_level else rubric.max_total,
                )
            except ValueError as exc:
                raise GradingError(str(exc)) from None
        elif rubric.by_level:
            raise GradingError(
                f"rubric {rubric.id!r} is marked by level: name the course file that sets the "
                "pass level (--course-file courses/COURSE.yaml)"
            )
        old = book.standard(assignment)
        if standard is not None and old not in (None, standard) and book.marks(assignment):
            raise GradingError(
                f"{assignment} already has marks under {old.course} (pass mark {old.pass_mark:g}%,"
                f" pass level {old.pass_level}); a different standard would change them"
            )
        if not rubric.by_level and abs(float(grade_cell.max_score) - rubric.max_total) > 1e-9:
            raise GradingError(
                f"cell {cell!r} is worth {grade_cell.max_score:g} points but rubric "
                f"{rubric.id!r} totals {rubric.max_total:g}"
            )
        other = {s.rubric for s in book.scripts(assignment)} - {rubric.id}
        if other:
            raise GradingError(f"{assignment} is already marked with rubric {sorted(other)[0]!r}")
        if standard is not None:
            book.set_standard(assignment, standard)
        submissions = gb.assignment_submissions(assignment)
        for done, submission in enumerate(submissions, 1):
            student = submission.student.id
            info = standing.get(student)
            grade = gb.find_grade(cell, notebook, assignment, student)
            if info is None or info.status in {"failed-to-grade", "not-submitted"}:
                status = info.status if info else "failed-to-grade"
                left_out[student] = f"{status}: {info.note if info else 'not autograded'}"
            elif info.confirmation is not None and f"{notebook}/{cell}" in info.confirmation.cells:
                left_out[student] = f"score confirmed by {info.confirmation.by}"
            elif not _answer_present(course, student, assignment, notebook, cell):
                left_out[student] = f"answer cell {cell!r} was deleted: a missing answer, scored 0"
            elif grade.auto_score is None:
                book.add_script(assignment, student, notebook, cell, rubric.id)
            else:
                left_out[student] = (
                    f"answer cell {cell!r} left as released (nothing written): "
                    f"nbgrader scored it {float(grade.auto_score):g}"
                )
            if progress:
                progress(done, len(submissions))
    return Prepared(book.scripts(assignment), left_out)


def _round_robin(
    scripts: Sequence[str], markers: Sequence[str], avoid: dict[str, set[str]]
) -> dict[str, str]:
    if not markers:
        raise GradingError("name at least one marker")
    given: dict[str, str] = {}
    load = dict.fromkeys(markers, 0)
    for script in scripts:
        allowed = [m for m in markers if m not in avoid.get(script, set())]
        if not allowed:
            raise GradingError(f"no marker left for {script} who has not already marked it")
        marker = min(allowed, key=lambda m: (load[m], markers.index(m)))
        given[script] = marker
        load[marker] += 1
    return given


def allocate(
    book: MarkingBook,
    assignment: str,
    rubric: Rubric,
    role: str,
    markers: Sequence[str],
    *,
    all_scripts: bool = False,
) -> dict[str, str]:
    """Allocate scripts for ``role``: every script (first); the sample (second); those whose two
    marks fall in different bands (third). A marker never gets a script they have already marked."""
    scripts = [s.script for s in book.scripts(assignment)]
    if not scripts:
        raise GradingError(f"no scripts for {assignment}: run `courseware grade scripts` first")
    allocations = book.allocations(assignment)
    marks = book.marks(assignment)
    if role == "first":
        wanted = [s for s in scripts if "first" not in allocations.get(s, {})]
    elif role == "second":
        missing = [s for s in scripts if "first" not in marks.get(s, {})]
        if missing and not all_scripts:
            raise GradingError(
                f"{len(missing)} scripts have no first mark yet; the sample is drawn across the "
                "range of first marks (or use --all to second-mark every script)"
            )
        if all_scripts:
            sample = scripts
        else:
            firsts = {s: mark_total(rubric, marks[s]["first"]) for s in scripts}
            sample = second_marking_sample(firsts, rubric)
        wanted = [s for s in sample if "second" not in allocations.get(s, {})]
    elif role == "third":
        wanted = [
            s
            for s, d in moderation_status(book, assignment, rubric).items()
            if d.status == "third" and "third" not in allocations.get(s, {})
        ]
    else:
        raise GradingError("role must be first, second or third")
    avoid = {s: set(allocations.get(s, {}).values()) for s in wanted}
    given = _round_robin(wanted, list(markers), avoid)
    for script, marker in given.items():
        book.allocate(script, role, marker)
    return given


def remark_roles(book: MarkingBook, script: str, marker: str) -> list[str]:
    """The roles ``script`` is allocated to ``marker`` in, marked already or not (so a marker can
    open a script again: the new mark replaces theirs, and the old one stays in the book)."""
    info = book.script(script)
    return sorted(
        (
            r
            for r, who in book.allocations(info.assignment).get(script, {}).items()
            if who == marker
        ),
        key=("first", "second", "third").index,
    )


def marking_queue(book: MarkingBook, assignment: str, marker: str) -> list[tuple[str, str]]:
    """(script, role) pairs allocated to ``marker`` and not yet marked by them."""
    allocations = book.allocations(assignment)
    marks = book.marks(assignment)
    return sorted(
        (script, role)
        for script, roles in allocations.items()
        for role, who in roles.items()
        if who == marker and role not in marks.get(script, {})
    )


def record_mark(
    book: MarkingBook,
    rubric: Rubric,
    script: str,
    marker: str,
    levels: dict[str, str],
    comments: dict[str, str] | None = None,
    comment: str = "",
) -> Mark:
    """Record ``marker``'s mark for a script allocated to them (a repeat replaces their earlier one,
    and the old and new level are recorded as a re-mark). By level, ``levels`` also holds
    ``overall`` (the marker's holistic level, no higher than the criteria support) and, for the top
    level, ``learning``."""
    info = book.script(script)
    if info.rubric != rubric.id:
        raise GradingError(f"{script} is marked with rubric {info.rubric!r}, not {rubric.id!r}")
    roles = [
        r for r, who in book.allocations(info.assignment).get(script, {}).items() if who == marker
    ]
    if not roles:
        raise GradingError(f"{script} is not allocated to {marker!r}")
    try:
        total = rubric.total(levels)
    except ValueError as exc:
        raise GradingError(f"{script}: {exc}") from None
    comments = {k: v for k, v in (comments or {}).items() if v.strip()}
    unknown = sorted(set(comments) - {c.id for c in rubric.criteria})
    if unknown:
        raise GradingError(f"{script}: comments for unknown criteria {unknown}")
    role = min(roles, key=("first", "second", "third").index)
    criteria = {k: v for k, v in levels.items() if k in {c.id for c in rubric.criteria}}
    overall = levels.get("overall") if rubric.by_level else None
    learning = (levels.get("learning") or None) if rubric.by_level else None
    mark = Mark(
        script, role, marker, criteria, comments, comment, total, time.time(), overall, learning
    )
    before = book.marks(info.assignment).get(script, {}).get(role)
    book.add_mark(mark)
    if before is not None and before.marker == marker:
        book.add_remark(
            Remark(
                script,
                role,
                marker,
                mark_grade(rubric, before),
                mark_grade(rubric, mark),
                mark_total(rubric, before),
                total,
                mark.time,
            )
        )
    return mark


def moderation_status(book: MarkingBook, assignment: str, rubric: Rubric) -> dict[str, Decision]:
    allocations = book.allocations(assignment)
    marks = book.marks(assignment)
    found = {}
    for script in book.scripts(assignment):
        roles = allocations.get(script.script, {})
        totals = {r: mark_total(rubric, m) for r, m in marks.get(script.script, {}).items()}
        found[script.script] = decide(rubric, totals, sampled="second" in roles)
    return found


def agree_marks(
    book: MarkingBook, assignment: str, rubric: Rubric, *, by: str = "moderation"
) -> dict[str, Agreed]:
    """Record an agreed mark for every script the rules can settle; return them all."""
    marks = book.marks(assignment)
    current = book.agreed(assignment)
    for script, decision in moderation_status(book, assignment, rubric).items():
        if decision.status != "agreed" or decision.total is None:
            continue
        given = marks[script]
        closest = min(
            (given[r] for r in ("first", "second", "third") if r in given),
            key=lambda m: abs(mark_total(rubric, m) - float(decision.total or 0)),
        )
        level = rubric.band(decision.total).id if rubric.by_level else None
        agreed = Agreed(
            script, decision.total, feedback_comment(rubric, closest), decision.method, by, level
        )
        old = current.get(script)
        if old is None or (old.total, old.comment, old.method, old.level) != (
            agreed.total,
            agreed.comment,
            agreed.method,
            agreed.level,
        ):
            book.add_agreed(agreed)
    return book.agreed(assignment)


def write_back(
    course: CourseFolder, book: MarkingBook, assignment: str
) -> tuple[int, dict[str, str]]:
    """Put each agreed mark and its comment into nbgrader's gradebook; return how many, and the
    scripts refused with why: one whose submission autograde could not grade or skipped (made
    before it failed, say) never reaches the gradebook, and a tutor-confirmed cell keeps its
    confirmed score."""
    from ._standing import UNMARKABLE, standings

    agreed = book.agreed(assignment)
    standing = standings(course, book, assignment)
    refused: dict[str, str] = {}
    written = 0
    with course.gradebook() as gb:
        for script, result in agreed.items():
            info = book.script(script)
            where = standing.get(info.student)
            if where is None or where.status in UNMARKABLE:
                refused[script] = (
                    f"{where.status if where else 'failed-to-grade'}: autograde could not grade "
                    "this submission, so it gets no mark from marking (see the registry export "
                    "for the next step)"
                )
                continue
            if (
                where.confirmation is not None
                and f"{info.notebook}/{info.cell}" in where.confirmation.cells
            ):
                refused[script] = f"a score was confirmed by {where.confirmation.by}; it stands"
                continue
            written += 1
            grade = gb.find_grade(info.cell, info.notebook, assignment, info.student)
            grade.manual_score = result.total
            grade.needs_manual_grade = False
            comment = gb.find_comment(info.cell, info.notebook, assignment, info.student)
            comment.manual_comment = result.comment
        gb.db.commit()
    return written, refused


def script_text(course: CourseFolder, script: Script) -> str:
    """The answer a marker reads: the cell's text from the autograded (else submitted) notebook."""
    import json

    coursedir = course.coursedir()
    for step in (coursedir.autograded_directory, coursedir.submitted_directory):
        path = course.folder(step, script.student, script.assignment) / f"{script.notebook}.ipynb"
        try:
            nb: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for cell in nb.get("cells", []):
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if isinstance(meta, dict) and meta.get("grade_id") == script.cell:
                source = cell.get("source", "")
                return "".join(source) if isinstance(source, list) else str(source)
    return ""
