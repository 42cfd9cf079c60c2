"""What one student's autograde came to: the reason it failed, or its scores checked and kept.

Run in the batch's own process after a worker returns: failure reasons in plain language, cells that
ran past the time limit or raised, widget items re-scored outside the kernel, agreed and confirmed marks kept
through grading again.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ._answers import ANSWERS_FILE, read_answers
from ._course import CourseFolder, GradingError
from ._grade_worker import RETRY_MARKERS, WORKER_KILLED
from ._submissions import SourceNotebook


@dataclass
class StudentResult:
    """One student's outcome: ``graded``, ``failed`` (nbgrader could not grade it) or ``skipped``
    (nothing nbgrader would grade: an empty folder, no notebook)."""

    student: str
    status: str
    score: float | None = None
    max_score: float = 0.0
    needs_manual: bool = False
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    attempts: int = 0
    digest: str = ""  # of the submission folder as graded (see ``submission_digest``)
    review: str = ""  # why a tutor must confirm the score (possible tampering), if they must
    rescored: float | None = None  # the total with widget items re-scored outside the kernel
    rescored_cells: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        if self.status == "graded":
            what = f"{self.score:g}/{self.max_score:g}"
            if self.review:
                what += f" NEEDS REVIEW (re-scored {self.rescored:g}/{self.max_score:g})"
            if self.needs_manual:
                what += " + manual marking"
        else:
            what = self.status.upper()
        reasons = f" — {'; '.join(self.problems)}" if self.problems else ""
        return f"{self.student}: {what}{reasons}"


@dataclass
class CohortReport:
    assignment: str
    results: list[StudentResult]
    seconds: float
    jobs: int

    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for r in self.results:
            found[r.status] = found.get(r.status, 0) + 1
        return found

    def to_json(self) -> str:
        return json.dumps(
            {
                "assignment": self.assignment,
                "seconds": self.seconds,
                "jobs": self.jobs,
                "results": [asdict(r) for r in self.results],
            },
            indent=1,
        )


def _failure_reason(result: dict[str, Any]) -> str:
    text = str(result.get("error", "")) + "\n" + str(result.get("log", ""))
    if WORKER_KILLED in text:
        return (
            "the grading process was killed while running this notebook (does it end its parent?)"
        )
    if "DeadKernelError" in text:
        from ._prestart import KERNEL_DIED_IN

        where = re.search(re.escape(KERNEL_DIED_IN) + r" cell (\d+) of ([^\]\n]+)\]", text)
        if where:
            return (
                f"the kernel died while running {where.group(2)}.ipynb cell {where.group(1)} "
                "(that cell ended or crashed it)"
            )
        return "the kernel died while running the notebook (a cell ended or crashed it)"
    if "metadata may be corrupted" in text:
        return "nbgrader could not grade it: its nbgrader metadata is corrupted"
    if (
        "NotJSONError" in text
        or "JSONDecodeError" in text
        or "Notebook does not appear to be JSON" in text
    ):
        return "nbgrader could not grade it: the notebook file is not valid JSON"
    if "UnresponsiveKernelError" in text or "became unresponsive" in text:
        return "the kernel stopped responding and could not be interrupted (runaway code?)"
    if any(m in text for m in RETRY_MARKERS):
        return "the kernel failed to start twice"
    return "nbgrader could not grade it: " + _last_exception(text)


def _last_exception(text: str) -> str:
    """The first ``SomeError: message`` line of the first traceback in nbgrader's log (the cause)."""
    for line in text.splitlines():
        match = re.match(r"^\s*([A-Za-z_][\w.]*(?:Error|Exception)): (.+)$", line)
        if match and "Please see the" not in line:
            return f"{match.group(1).rsplit('.', 1)[-1]}: {match.group(2)[:200]}"
    return "unknown error (see nbgrader's log)"


def _cell_errors(notebook: Path) -> list[str]:
    """Cells of the graded notebook that ended in an error, in plain words: one nbgrader
    interrupted for running past ``Execute.timeout``, a test cell that failed (it scores nothing)
    and a learner's cell that raised (nbgrader carries on, so the score alone would not say)."""
    try:
        nb = json.loads(notebook.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    found = []
    for index, cell in enumerate(nb.get("cells", [])):
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if not errors:
            continue
        where = f"{notebook.name} cell {index + 1}"
        ename = str(errors[0].get("ename", "an error"))
        if ename in {"CellTimeoutError", "KeyboardInterrupt"}:
            found.append(f"{where} ran past the time limit and was interrupted (an endless loop?)")
            continue
        evalue = (str(errors[0].get("evalue", "")).splitlines() or [""])[0][:160]
        error = f"{ename}: {evalue}" if evalue else ename
        info = cell.get("metadata", {}).get("nbgrader", {})
        if isinstance(info, dict) and info.get("grade") and cell.get("cell_type") == "code":
            found.append(
                f"{where} ('{info.get('grade_id')}') failed with {error}: no points for it"
            )
        else:
            found.append(f"{where} raised {error} (grading went on; see the autograded notebook)")
    return found


def _scores(gb: Any, assignment: str, student: str) -> tuple[float, float, bool, dict[str, float]]:
    gb.db.expire_all()  # the workers have written since the last read
    submission = gb.find_submission(assignment, student)
    cells: dict[str, float] = {}
    for nb in submission.notebooks:
        for grade in nb.grades:
            if grade.auto_score is not None:
                cells[grade.name] = float(grade.auto_score)
    return (
        float(submission.score),
        float(submission.max_score),
        bool(submission.needs_manual_grade),
        cells,
    )


def _rescore(
    course: CourseFolder,
    assignment: str,
    student: str,
    cells: dict[str, float],
    settled: frozenset[str] = frozenset(),
) -> tuple[list[str], dict[str, float]]:
    """Score the widget items again outside the kernel; report any gradebook score that differs.
    Returns the problems and the re-scored points of each test cell that differs, except the
    ``settled`` cells a tutor has confirmed a score for: their difference is noted, not flagged."""
    from ._assessment import find_key
    from ._items import ComposeResponse, load_items, load_key, score_answer

    items_path = course.root / "source" / assignment / "items.yaml"
    if not items_path.is_file():
        return [], {}
    cached = course._cache.get(("rescore", assignment))
    if cached is None:  # parsed once per batch
        items = load_items(items_path)
        try:
            key = load_key(find_key(assignment, course.root / "source" / assignment), items)
        except FileNotFoundError:
            key = None
        cached = course._cache[("rescore", assignment)] = (items, key)
    items, key = cached
    if key is None:
        return [f"no answer key for {assignment}: widget items were not re-scored"], {}
    answers = read_answers(
        course.folder(course.coursedir().submitted_directory, student, assignment) / ANSWERS_FILE
    )
    problems = []
    differ: dict[str, float] = {}
    for item in items.items:
        if isinstance(item, ComposeResponse):
            continue
        expected = score_answer(item, key.keys[item.id], answers.latest(item.id)).points
        got = cells.get(f"test-{item.id}")
        if got is not None and abs(got - expected) > 1e-6 and f"test-{item.id}" in settled:
            problems.append(
                f"test-{item.id} scored {got:g} in the kernel but {expected:g} from the answers "
                "file: the score a tutor confirmed stands"
            )
        elif got is not None and abs(got - expected) > 1e-6:
            differ[f"test-{item.id}"] = float(expected)
            problems.append(
                f"test-{item.id} scored {got:g} in the kernel but {expected:g} from the answers "
                "file: check this submission by hand (possible tampering)"
            )
    return problems, differ


def kept_scores(
    course: CourseFolder, assignment: str, results: dict[str, StudentResult]
) -> dict[str, dict[tuple[str, str], float]]:
    """Scores to keep through this run, per student: agreed rubric marks and tutor-confirmed cell
    scores, ``(notebook, cell) -> points``. nbgrader keeps a manual score when it grades again but
    flags the cell for manual grading, which would send a moderated student back to
    ``needs-manual-marking``; these cells are settled again after grading.

    Refuses (``GradingError``) when a student with agreed marks has a different submission from
    the one graded when they were marked: the marks belong to work the new file replaced."""
    from ._marking import MarkingBook

    kept: dict[str, dict[tuple[str, str], float]] = {}
    changed: list[str] = []
    with MarkingBook(course.marking_db) as book:
        runs = book.autograde_results(assignment)
        scripts = {s.script: s for s in book.scripts(assignment)}
        confirmations = book.confirmations(assignment)
        agreed_by_student: dict[str, dict[tuple[str, str], float]] = {}
        for script_id, agreed in book.agreed(assignment).items():
            info = scripts.get(script_id)
            if info is not None:
                where = (info.notebook, info.cell)
                agreed_by_student.setdefault(info.student, {})[where] = agreed.total
    for student, result in results.items():
        scores = dict(agreed_by_student.get(student, {}))
        before = runs.get(student, {}).get("digest")
        if scores and before and before != result.digest:
            changed.append(student)
            continue
        confirmation = confirmations.get(student)
        if confirmation is not None and confirmation.digest == result.digest:
            for name, points in confirmation.cells.items():
                notebook, _, cell_id = name.partition("/")
                scores[(notebook, cell_id)] = points
        if scores:
            kept[student] = scores
    if changed:
        raise GradingError(
            f"the submission of {', '.join(changed)} changed since it was graded and its marks "
            "were agreed: grading it again would leave those marks on work nobody marked, so "
            "nothing was graded. Put back the submission that was marked (a graded copy is in "
            f"autograded/<student>/{assignment}/), or leave the student out with --student and "
            "mark the new work by hand with `courseware grade confirm` (docs/grading.md, "
            '"When autograde cannot grade a submission")'
        )
    return kept


def _missing_answers(
    course: CourseFolder, gb: Any, assignment: str, student: str, notebooks: list[SourceNotebook]
) -> None:
    """An answer cell deleted from the submitted notebook is a missing answer: nbgrader put back an
    empty cell ("This cell was missing …"), which is no one's work. Score it 0 with a comment, as
    nbgrader scores an untouched answer, so it never becomes a marking script."""
    folder = course.folder(course.coursedir().submitted_directory, student, assignment)
    for source in notebooks:
        if not source.answers:
            continue
        try:
            nb = json.loads((folder / f"{source.name}.ipynb").read_text(encoding="utf-8"))
            present = {
                c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                for c in nb["cells"]
                if isinstance(c, dict) and isinstance(c.get("metadata", {}).get("nbgrader"), dict)
            }
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue
        for cell in sorted(source.answers - present):
            grade = gb.find_grade(cell, source.name, assignment, student)
            grade.manual_score = 0.0
            grade.needs_manual_grade = False
            comment = gb.find_comment(cell, source.name, assignment, student)
            comment.manual_comment = "No answer: this cell was deleted from the submitted notebook."
    gb.db.commit()


def _keep(
    gb: Any, assignment: str, student: str, scores: dict[tuple[str, str], float]
) -> list[str]:
    """Settle again the cells whose agreed or confirmed score nbgrader kept but flagged."""
    notes = []
    for (notebook, cell), points in sorted(scores.items()):
        grade = gb.find_grade(cell, notebook, assignment, student)
        if grade.manual_score is not None and abs(float(grade.manual_score) - points) < 1e-9:
            grade.needs_manual_grade = False
            notes.append(f"{cell} {points:g}")
    gb.db.commit()
    return [f"kept the marks already agreed or confirmed: {', '.join(notes)}"] if notes else []


def finish_student(
    course: CourseFolder,
    gb: Any,
    assignment: str,
    student: str,
    result: StudentResult,
    outcome: dict[str, Any],
    notebooks: list[SourceNotebook],
    autograded: str,
    kept: dict[tuple[str, str], float],
) -> None:
    if not outcome.get("success"):
        result.status = "failed"
        reason = _failure_reason(outcome)
        said = any(" is not a notebook (" in p for p in result.problems)
        if not (said and reason.endswith("is not valid JSON")):  # the check said it already
            result.problems.append(reason)
        return
    result.status = "graded"
    _missing_answers(course, gb, assignment, student, notebooks)
    result.problems += _keep(gb, assignment, student, kept)
    score, max_score, manual, cells = _scores(gb, assignment, student)
    result.score, result.max_score, result.needs_manual = score, max_score, manual
    folder = course.folder(autograded, student, assignment)
    for nb in notebooks:
        result.problems += _cell_errors(folder / f"{nb.name}.ipynb")
        for cell in sorted(nb.answers & set(cells)):  # nbgrader scores an untouched answer itself
            if not any(f"answer cell '{cell}' was deleted" in p for p in result.problems):
                result.problems.append(
                    f"{nb.name}.ipynb: answer cell '{cell}' left as released (nothing written): "
                    f"scored {cells[cell]:g}"
                )
    settled = frozenset(cell for _, cell in kept)
    problems, differ = _rescore(course, assignment, student, cells, settled)
    result.problems += problems
    if differ:
        result.review = "possible tampering"
        result.rescored_cells = differ
        result.rescored = score + sum(points - cells[cell] for cell, points in differ.items())
