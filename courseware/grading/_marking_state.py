"""Where a marker's own marks stand, so the browser view can open a marked script again.

A marker may change their mark for a script allocated to them (a new mark through
:func:`~._moderation.record_mark`: the earlier one stays in the book and the change is recorded as
a re-mark) until the script's marks are settled: agreed at moderation (an agreed mark the rules
still stand by) or written into nbgrader's gradebook. After that only the moderator changes it, on
the command line, so a marker's view shows the mark read-only and says why.
"""

from __future__ import annotations

from ._course import CourseFolder
from ._marking import MarkingBook
from ._marking_records import Agreed, Mark
from ._moderation import moderation_status, remark_roles
from ._rubric import Rubric


def own_mark(book: MarkingBook, assignment: str, script: str, marker: str) -> Mark | None:
    """``marker``'s latest mark for ``script`` in a role allocated to them, or None; never anyone
    else's mark (a role given to someone else since keeps their marks to them)."""
    given = book.marks(assignment).get(script)
    if not given:  # no mark at all (or no such script: a hand-typed id)
        return None
    for role in remark_roles(book, script, marker):
        mark = given.get(role)
        if mark is not None and mark.marker == marker:
            return mark
    return None


def marked_by(book: MarkingBook, assignment: str, marker: str) -> list[str]:
    """The scripts of ``assignment`` allocated to ``marker`` that have their mark (script ids)."""
    marks = book.marks(assignment)
    return sorted(
        script
        for script, roles in book.allocations(assignment).items()
        if any(
            who == marker
            and (mark := marks.get(script, {}).get(role)) is not None
            and mark.marker == marker
            for role, who in roles.items()
        )
    )


def _written(
    course: CourseFolder, book: MarkingBook, assignment: str, agreed: dict[str, Agreed]
) -> set[str]:
    """The agreed scripts whose agreed mark is the cell's manual score in the gradebook."""
    from nbgrader.api import MissingEntry

    found = set()
    with course.gradebook() as gb:
        for script, result in agreed.items():
            info = book.script(script)
            try:
                grade = gb.find_grade(info.cell, info.notebook, assignment, info.student)
            except MissingEntry:
                continue
            if grade.manual_score is not None and abs(grade.manual_score - result.total) < 1e-9:
                found.add(script)
    return found


def settled(
    course: CourseFolder, book: MarkingBook, assignment: str, rubric: Rubric
) -> dict[str, str]:
    """script -> why its marks can no longer be changed by a marker, for every settled script."""
    agreed = book.agreed(assignment)
    if not agreed:
        return {}
    status = moderation_status(book, assignment, rubric)
    written = _written(course, book, assignment, agreed)
    found = {}
    for script in agreed:
        if script in written:
            found[script] = f"the agreed mark for {script} has been written to the gradebook"
        elif script in status and status[script].status == "agreed":
            found[script] = f"the marks for {script} have been agreed at moderation"
    return found


def read_only_reason(why: str, assignment: str, script: str, marker: str) -> str:
    """The one sentence a marker reads on a settled script (also the refusal of a change)."""
    return (
        f"Your mark is read-only because {why}; only the moderator can change it now, on the "
        f"command line (courseware grade mark {assignment} --marker {marker} --script {script}, "
        f"then courseware grade moderate {assignment} --write)"
    )
