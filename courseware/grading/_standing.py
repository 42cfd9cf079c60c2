"""Where each student's submission stands: one status, used by every export and by marking.

nbgrader's gradebook holds scores but not whether they can be trusted: a submission autograde could
not grade may still have a gradebook row (a notebook that is not JSON, a kernel that died), a
flagged one holds the score its own kernel claimed. Every consumer asks here instead, so the
registry export, the research export, ``prepare_scripts`` and ``moderate --write`` agree:

* ``graded``: the gradebook's score is final (a 0 is a real zero);
* ``needs-manual-marking``: graded, with answer cells still to mark;
* ``needs-review``: flagged ("possible tampering"): the score its kernel claimed and the score the
  widget items give when re-scored outside the kernel differ, until a tutor confirms one;
* ``failed-to-grade``: submitted, but autograde could not grade it (or has not yet);
* ``not-submitted``: nothing nbgrader would grade (no submission, an empty folder, no notebook).

A tutor settles a failed, skipped or flagged submission with :func:`confirm_score` (``courseware
grade confirm``): cell scores from marking the original file by hand, with a reason, written into
the gradebook as manual scores so ``nbgrader export`` agrees. A confirmation covers the submission
it was given for (by digest); a resubmission is graded afresh.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from ._course import CourseFolder, GradingError
from ._marking import MarkingBook
from ._marking_records import Confirmation
from ._submissions import submission_digest

UNMARKABLE = {"failed-to-grade", "not-submitted"}

NEXT_STEP = (
    "next: ask for a resubmission and autograde again, or mark the original file by hand with "
    "`courseware grade confirm {assignment} --student {student} --score CELL=POINTS ... "
    '--reason "..." --by NAME`'
)
REVIEW_STEP = (
    "next: compare the saved answers with the test scores in the formgrader, then "
    "`courseware grade confirm {assignment} --student {student} --rescored` (or --score "
    'CELL=POINTS, or --claimed) --reason "..." --by NAME'
)


@dataclass(frozen=True)
class Standing:
    """One student's submission of one assignment, as every export reports it."""

    student: str
    status: str
    score: float | None  # the final score, only when ``graded``
    max_score: float
    notes: list[str] = field(default_factory=list)
    claimed: float | None = None  # a flagged submission's score as its kernel gave it
    rescored: float | None = None  # ... and with the widget items re-scored outside the kernel
    confirmation: Confirmation | None = None

    @property
    def note(self) -> str:
        return "; ".join(self.notes)


def _has_notebook(course: CourseFolder, student: str, assignment: str) -> bool:
    folder = course.folder(course.coursedir().submitted_directory, student, assignment)
    return folder.is_dir() and any(p.suffix == ".ipynb" for p in folder.iterdir())


def standings(
    course: CourseFolder, book: MarkingBook, assignment: str, only: str | None = None
) -> dict[str, Standing]:
    """Every student known to the gradebook, the autograde runs or the confirmations (or the one
    student ``only``: feedback asks about one submission at a time)."""
    from nbgrader.api import MissingEntry

    runs = book.autograde_results(assignment)
    confirmations = book.confirmations(assignment)
    coursedir = course.coursedir()
    found: dict[str, Standing] = {}
    with course.gradebook() as gb:
        try:
            max_score = float(gb.find_assignment(assignment).max_score)
        except MissingEntry:
            raise GradingError(
                f"the gradebook has no assignment {assignment!r}; "
                f"run `nbgrader generate_assignment {assignment}` first"
            ) from None
        if only is not None:
            students = {only}
        else:
            students = {s.id for s in gb.students} | set(runs) | set(confirmations)
        for student in sorted(students):
            run = runs.get(student, {})
            notes = list(run.get("problems", []))
            folder = course.folder(coursedir.submitted_directory, student, assignment)
            confirmation = confirmations.get(student)
            if confirmation is not None and confirmation.digest != submission_digest(folder):
                notes.append(
                    f"a confirmation by {confirmation.by} was for an earlier submission: not used"
                )
                confirmation = None
            try:
                submission = gb.find_submission(assignment, student)
            except MissingEntry:
                submission = None
            autograded = course.folder(coursedir.autograded_directory, student, assignment)
            submitted = _has_notebook(course, student, assignment)
            claimed = run.get("claimed") if run.get("review") else None
            rescored = run.get("rescored") if run.get("review") else None
            step = {"assignment": assignment, "student": student}
            status: str
            if confirmation is not None and submission is not None:
                notes.insert(0, f"score confirmed by {confirmation.by}: {confirmation.reason}")
                status = "needs-manual-marking" if submission.needs_manual_grade else "graded"
            elif not submitted:
                status = "not-submitted"
                if folder.is_dir() and any(folder.iterdir()):
                    notes.append(NEXT_STEP.format(**step))
                elif not notes:
                    notes.append(f"nothing submitted for {assignment}")
            # nbgrader removes the autograded folder of a submission it could not grade, so the
            # folder as well as the last run's record says whether grading failed
            elif submission is None or not autograded.is_dir() or run.get("status") == "failed":
                status = "failed-to-grade"
                if not notes:
                    notes.append("not autograded yet")
                else:
                    notes.append(NEXT_STEP.format(**step))
            elif run.get("review"):
                status = "needs-review"
                notes.insert(
                    0,
                    f"{run['review']}: the notebook claimed {claimed:g}, re-scored "
                    f"{rescored:g}; a tutor must confirm a score",
                )
                notes.append(REVIEW_STEP.format(**step))
            elif submission.needs_manual_grade:
                status = "needs-manual-marking"
                notes.insert(0, f"marked so far {float(submission.score):g}/{max_score:g}")
            else:
                status = "graded"
            score = float(submission.score) if status == "graded" and submission else None
            found[student] = Standing(
                student, status, score, max_score, notes, claimed, rescored, confirmation
            )
    return found


def _cells(gb: Any, assignment: str) -> dict[str, tuple[str, float]]:
    """Every scored cell of the assignment, ``"notebook/cell" -> (cell, max points)``."""
    found = {}
    for nb in gb.find_assignment(assignment).notebooks:
        for cell in [*nb.grade_cells, *nb.task_cells]:
            found[f"{nb.name}/{cell.name}"] = (cell.name, float(cell.max_score))
    return found


def confirm_score(
    course: CourseFolder,
    book: MarkingBook,
    assignment: str,
    student: str,
    *,
    reason: str,
    by: str,
    scores: dict[str, float] | None = None,
    rescored: bool = False,
) -> Standing:
    """Record a tutor-confirmed score for one submission and put it into the gradebook.

    ``scores`` maps a cell (``essay`` or ``notebook/essay``) to its points, from marking the
    original file by hand; ``rescored`` takes a flagged submission's re-scored widget items. A
    submission autograde could not grade needs every cell; a flagged one may be confirmed as it
    stands (no scores: the claimed scores stand). Every earlier confirmation is kept.
    """
    if not reason.strip():
        raise GradingError("give a --reason: it is kept with the score and shown in the exports")
    if not by.strip():
        raise GradingError("say who confirms the score (--by NAME)")
    given = dict(scores or {})
    before = standings(course, book, assignment).get(student)
    run = book.autograde_results(assignment).get(student, {})
    if rescored:
        if not run.get("review"):
            raise GradingError(f"{student}'s submission was not flagged: nothing was re-scored")
        given = {**run.get("rescored_cells", {}), **given}
    folder = course.folder(course.coursedir().submitted_directory, student, assignment)
    with course.gradebook() as gb:
        cells = _cells(gb, assignment)
        named: dict[str, float] = {}
        for name, points in given.items():
            matches = [k for k in cells if k == name or cells[k][0] == name]
            if len(matches) != 1:
                known = ", ".join(sorted(cells[k][0] for k in cells))
                raise GradingError(
                    f"{assignment} has {'no' if not matches else 'more than one'} cell {name!r} "
                    f"(cells: {known})"
                )
            top = cells[matches[0]][1]
            if not 0 <= points <= top:
                raise GradingError(f"{name}: {points:g} is outside 0 to {top:g}")
            named[matches[0]] = float(points)
        unsettled = before is None or before.status in UNMARKABLE
        if unsettled:
            missing = sorted(cells[k][0] for k in cells if k not in named)
            if missing:
                raise GradingError(
                    f"{student}'s submission has no automatic scores: give every cell "
                    f"(--score CELL=POINTS), missing: {', '.join(missing)}"
                )
            gb.update_or_create_student(student)
            gb.update_or_create_submission(assignment, student)
        elif before is not None and before.status not in {"needs-review"} and not named:
            raise GradingError(
                f"{student}'s submission is {before.status}: give the cell scores to confirm"
            )
        for name, points in named.items():
            notebook, _, cell = name.partition("/")
            grade = gb.find_grade(cell, notebook, assignment, student)
            grade.manual_score = points
            grade.needs_manual_grade = False
        gb.db.commit()
    book.add_confirmation(
        Confirmation(
            assignment,
            student,
            named,
            reason.strip(),
            by.strip(),
            submission_digest(folder),
            time.time(),
        )
    )
    return standings(course, book, assignment)[student]
