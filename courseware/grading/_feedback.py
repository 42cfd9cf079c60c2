"""Feedback that never shows a learner the hidden tests, their output or an answer key.

nbgrader's ``generate_feedback`` renders the autograded notebook, in which every test cell has its
hidden tests restored and its output (tracebacks, printed reasons) kept. This preprocessor, added to
``GenerateFeedback.preprocessors`` in the course's ``nbgrader_config.py``, replaces each autograder
test cell's source with a one-line note and drops its outputs; any hidden-test region left anywhere
else is cut too. Scores and tutors' comments still show, since nbgrader reads them from the gradebook.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbconvert.preprocessors import Preprocessor
from nbgrader.exchange.default.release_feedback import ExchangeReleaseFeedback
from traitlets import Bool

if TYPE_CHECKING:
    from ._course import CourseFolder
    from ._standing import Standing

BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
TEST_NOTE = "# Automatic check: its code and output are not shown in feedback."


def _is_autograder_test(cell: Any) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(cell.get("cell_type") == "code" and meta.get("grade") and not meta.get("solution"))


def strip_hidden(source: str) -> str:
    """Remove every ``### BEGIN HIDDEN TESTS`` … ``### END HIDDEN TESTS`` region (an unclosed one
    runs to the end of the cell)."""
    kept: list[str] = []
    hidden = False
    for line in source.splitlines(keepends=True):
        if BEGIN_HIDDEN in line:
            hidden = True
        elif END_HIDDEN in line and hidden:
            hidden = False
        elif not hidden:
            kept.append(line)
    return "".join(kept)


class HideTestsInFeedback(Preprocessor):
    """Blank autograder test cells and cut hidden-test regions before feedback is rendered."""

    # nbconvert registers configured preprocessors disabled; this one must always run.
    enabled = Bool(True, help="Hide tests in feedback (leave on)").tag(config=True)

    def preprocess_cell(
        self, cell: Any, resources: dict[str, Any], index: int
    ) -> tuple[Any, dict[str, Any]]:
        if _is_autograder_test(cell):
            cell.source = TEST_NOTE
            cell.outputs = []
        elif BEGIN_HIDDEN in cell.get("source", ""):
            cell.source = strip_hidden(cell.source)
            if cell.get("cell_type") == "code":
                cell.outputs = []
        return cell, resources


REVIEW_NOTE = (
    "**Score under review:** the scores on this page are provisional. A tutor is checking how this "
    "submission was scored and will confirm them; your feedback will be updated then."
)
# Each note also leaves a marker in the page's <head>, as a CSS comment among the styles nbgrader
# inlines there, so a page made and released later can still be read for it, whatever the note's
# wording (nbgrader's feedback template drops a cell's tags and metadata). Nothing a learner writes
# reaches the head: their text is in the body, and any HTML in it is escaped.
REVIEW_TAG = "score-under-review"
UNMARKED_TAG = "not-marked-yet"
NOTE_TAGS = {REVIEW_TAG: "score under review", UNMARKED_TAG: "parts not marked yet"}
MARKER = "/* courseware feedback note: {tag} */"
_MARKER = re.compile(r"/\* courseware feedback note: ([a-z-]+) \*/")


def provisional_notes(page: str) -> list[str]:
    """What makes a rendered feedback page provisional (``"score under review"``, ``"parts not
    marked yet"``), from the markers :class:`FlagUnmarkedInFeedback` put in its head."""
    head = page.split("</head>", 1)[0] if "</head>" in page else ""
    found = set(_MARKER.findall(head))
    return [why for tag, why in NOTE_TAGS.items() if tag in found]


class FlagUnmarkedInFeedback(Preprocessor):
    """Say so when feedback is made before its score is final: parts not marked yet, or a
    submission flagged for review.

    nbgrader scores an unmarked cell 0, so a learner would read 0/4 for a part nobody has marked
    yet; and a submission autograde flagged (``needs-review``: its kernel's scores differ from its
    answers re-scored outside it) carries the score its own kernel claimed until a tutor confirms
    one. This preprocessor, after ``GetGrades``, logs a warning naming the student (the tutor sees
    it on ``nbgrader generate_feedback``'s output, with the next step) and puts a note at the top of
    that learner's feedback: which parts are not marked yet, or that the score is provisional. The
    review state is the submission's standing, from the course's ``marking.sqlite``, as the exports
    and ``courseware grade confirm`` read it; once a tutor confirms a score, feedback made again has
    no such note."""

    enabled = Bool(True, help="Flag unmarked cells in feedback (leave on)").tag(config=True)

    def _coursedir(self) -> Any:
        """The running nbgrader app's course directory (this preprocessor's exporter's parent)."""
        parent = self.parent
        while parent is not None and not hasattr(parent, "coursedir"):
            parent = parent.parent
        if parent is not None:
            return parent.coursedir
        from nbgrader.coursedir import CourseDirectory

        return CourseDirectory(config=self.config)

    def _under_review(self, assignment: str, student: str) -> Standing | None:
        """The submission's standing if it is ``needs-review``, else None."""
        from ._course import CourseFolder
        from ._marking import MarkingBook
        from ._standing import standings

        course = CourseFolder.of(self._coursedir())
        if not course.marking_db.is_file():  # never autograded by courseware: nothing flagged
            return None
        with MarkingBook(course.marking_db) as book:
            found = standings(course, book, assignment, only=student).get(student)
        return found if found is not None and found.status == "needs-review" else None

    def preprocess(self, nb: Any, resources: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        from nbformat.v4 import new_markdown_cell
        from nbgrader.api import Gradebook

        from ._standing import REVIEW_STEP

        info = resources.get("nbgrader", {})
        with Gradebook(info["db_url"]) as gb:
            notebook = gb.find_submission_notebook(
                info["notebook"], info["assignment"], info["student"]
            )
            unmarked = sorted(g.name for g in notebook.grades if g.needs_manual_grade)
        # nbgrader passes over feedback it has made unless forced, whatever has changed since
        again = (
            f"`nbgrader generate_feedback {info['assignment']} --student {info['student']} --force`"
        )
        notes: list[tuple[str, str]] = []
        review = self._under_review(info["assignment"], info["student"])
        if review is not None:
            self.log.warning(
                "feedback for student %s on %s/%s made while the submission is flagged for "
                "review (needs-review: the notebook claimed %g, re-scored %g): it shows the "
                "claimed score, marked provisional. %s, then %s.",
                info["student"],
                info["assignment"],
                info["notebook"],
                review.claimed,
                review.rescored,
                REVIEW_STEP.format(assignment=info["assignment"], student=info["student"]),
                again,
            )
            notes.append((REVIEW_TAG, REVIEW_NOTE))
        if unmarked:
            cells = ", ".join(unmarked)
            self.log.warning(
                "feedback for student %s on %s/%s made before marking: %s not marked yet "
                "(scored 0 for now). Mark them in the formgrader, then %s.",
                info["student"],
                info["assignment"],
                info["notebook"],
                cells,
                again,
            )
            notes.append(
                (
                    UNMARKED_TAG,
                    f"**Not marked yet:** {cells}. These parts count as 0 in the scores on this "
                    "page until a tutor has marked them; your feedback will be updated then.",
                )
            )
        styles = resources.setdefault("inlining", {}).setdefault("css", [])
        for index, (tag, note) in enumerate(notes):
            nb.cells.insert(index, new_markdown_cell(note))  # type: ignore[no-untyped-call]
            styles.append(MARKER.format(tag=tag))
        return nb, resources


@dataclass(frozen=True)
class MadeFeedback:
    """One feedback page nbgrader has made for a student (``feedback/<student>/<assignment>/``)."""

    path: Path
    notes: list[str]  # what it says is provisional (see :func:`provisional_notes`)
    released: Path | None  # its copy in the exchange, when found there


def _outbound(course: CourseFolder) -> Path | None:
    """Where ``release_feedback`` puts feedback, by the course's own ``nbgrader_config.py`` (or
    nbgrader's default exchange); None without a course id."""
    from nbgrader.exchange.default.exchange import Exchange

    config = course.config()
    root = config.Exchange.root if "root" in config.Exchange else Exchange.root.default_value
    course_id = course.coursedir().course_id
    return Path(root) / course_id / "feedback" if course_id else None


def made_feedback(course: CourseFolder, assignment: str, student: str) -> list[MadeFeedback]:
    """The feedback pages already made for one student's submission, with what each says is
    provisional and, when its released copy is in the exchange, that copy.

    ``courseware grade confirm`` names them: feedback made before a score is confirmed shows the old
    score, and nbgrader makes it again only with ``--force``. A released copy is found as nbgrader
    names it (a hash of the submission's ``submission_secret.txt`` and the notebook); one released
    through an exchange configured elsewhere is not found."""
    from nbgrader.utils import notebook_hash

    folder = course.folder(course.coursedir().feedback_directory, student, assignment)
    if not folder.is_dir():
        return []
    secret_file = folder / "submission_secret.txt"
    secret = secret_file.read_text() if secret_file.is_file() else ""
    outbound = _outbound(course) if secret else None
    found = []
    for page in sorted(folder.glob("*.html")):
        released = None
        if outbound is not None:
            copy = outbound / f"{notebook_hash(secret=secret, notebook_id=page.stem)}.html"
            released = copy if copy.is_file() else None
        notes = provisional_notes(page.read_text(encoding="utf-8", errors="replace"))
        found.append(MadeFeedback(page, notes, released))
    return found


class ReleaseFeedback(ExchangeReleaseFeedback):  # type: ignore[misc]
    """nbgrader's ``release_feedback``, passing over (with a warning) feedback for submissions placed
    in ``submitted/`` by hand: they have no ``submission_secret.txt``, so the exchange cannot match
    them to a learner (nbgrader itself stops there with a traceback). Feedback that is still
    provisional (a score under review, parts not marked yet) is released, since its page says so,
    with a warning naming the student and the steps to release it final. Set as
    ``c.ExchangeFactory.release_feedback`` in the course's ``nbgrader_config.py``."""

    def _warn_provisional(self, student: str, html_file: str) -> None:
        from ._standing import REVIEW_STEP

        with open(html_file, encoding="utf-8", errors="replace") as handle:
            notes = provisional_notes(handle.read())
        if not notes:
            return
        assignment = self.coursedir.assignment_id
        first = []
        if NOTE_TAGS[REVIEW_TAG] in notes:
            first.append(
                REVIEW_STEP.format(assignment=assignment, student=student).removeprefix("next: ")
            )
        if NOTE_TAGS[UNMARKED_TAG] in notes:
            first.append("mark the parts not marked yet in the formgrader")
        self.log.warning(
            "feedback for student %s on %s/%s released while provisional (%s): the learner's "
            "page says so. To release it final: %s; then `nbgrader generate_feedback %s "
            "--student %s --force` and `nbgrader release_feedback %s --student %s`.",
            student,
            assignment,
            os.path.splitext(os.path.basename(html_file))[0],
            ", ".join(notes),
            "; ".join(first),
            assignment,
            student,
            assignment,
            student,
        )

    def copy_files(self) -> None:
        coursedir = self.coursedir
        pattern = re.compile(
            coursedir.format_path(
                coursedir.feedback_directory,
                "(?P<student_id>.*)",
                coursedir.assignment_id,
                escape=True,
            )
            + "$"
        )
        unmatched: set[str] = set()
        for html_file in glob.glob(os.path.join(self.src_path, "*.html")):
            folder = os.path.dirname(html_file)
            found = pattern.match(folder)
            if found is not None and not all(
                os.path.isfile(os.path.join(folder, name))
                for name in ("timestamp.txt", "submission_secret.txt")
            ):
                unmatched.add(found.group("student_id"))
        for student in sorted(unmatched):
            self.log.warning(
                "feedback for student %s not released: the submission was placed in submitted/ "
                "by hand (no submission_secret.txt), so the exchange cannot deliver it. Give the "
                "learner the files in %s directly.",
                student,
                coursedir.format_path(
                    coursedir.feedback_directory, student, coursedir.assignment_id
                ),
            )
        excluded = coursedir.student_id_exclude
        passed_over = unmatched | {s for s in excluded.split(",") if s}
        for html_file in sorted(glob.glob(os.path.join(self.src_path, "*.html"))):
            found = pattern.match(os.path.dirname(html_file))
            if found is not None and found.group("student_id") not in passed_over:
                self._warn_provisional(found.group("student_id"), html_file)
        if unmatched:
            coursedir.student_id_exclude = ",".join(
                sorted(unmatched | {s for s in excluded.split(",") if s})
            )
        try:
            super().copy_files()
        finally:
            coursedir.student_id_exclude = excluded
