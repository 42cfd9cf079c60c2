"""Parallel autograde of a cohort through nbgrader's own ``Autograde`` converter.

nbgrader autogrades one submission after another (its issue 174). Here ``jobs`` worker processes each
call nbgrader's API for one student at a time, so the gradebook receives exactly what
``nbgrader autograde`` writes. Four things are added:

* **a check of every submission before grading**, so a deleted or retyped cell, corrupted metadata, a
  file that is not a notebook, an empty folder or a missing answers file is reported by student with a
  plain reason, and one bad submission never stops the batch;
* **kernels on IPC sockets** (``KernelManager.transport = "ipc"``): each kernel's sockets are files
  named after its own connection file, so two workers can never pick the same TCP port (the
  ``ZMQError: Address already in use`` that failed a correct student when nbgrader processes ran side
  by side); a submission whose kernel still fails to start is retried once, with a kernel launched
  the ordinary way;
* **kernels forked, not started**: each worker runs a fork server (``_forkserver``) that has imported
  ipykernel and the grading code once; every notebook still gets a fresh kernel process of its own,
  but it costs a fork instead of a new interpreter (``_prestart`` also starts the next notebook's
  kernel early and shuts finished ones down in the background). The kernels' parent is the fork
  server, so a notebook that kills its parent kills that server: the worker notices, grades the
  submission again with a new server and, if it happens again, reports it;
* **re-scoring outside the kernel**: the widget items are scored again from the answers file with the
  same rules; a gradebook score that differs (a learner's cell patched the grading code, say) is
  reported for a human to look at.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import time
import warnings
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from ._answers import ANSWERS_FILE, read_answers
from ._course import Course, GradingError

WORKER_KILLED = "WorkerKilled"
RETRY_MARKERS = (  # the kernel never started: worth one more try
    "ZMQError",
    "Address already in use",
    "Kernel didn't respond",
    "Kernel died before replying",
)


@dataclass
class SourceNotebook:
    """What the gradebook knows of one notebook of the assignment."""

    name: str
    cells: dict[str, str]  # grade_id -> cell type, for every cell nbgrader tracks
    graded: set[str]  # grade, solution and task cells (the ones deleting loses marks)
    max_score: float
    answers: set[str] = field(default_factory=set)  # manually graded answer cells (an essay)


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


def source_notebooks(course: Course, assignment: str) -> list[SourceNotebook]:
    """The assignment's notebooks and tracked cells, from the gradebook (after generate_assignment)."""
    from nbgrader.api import MissingEntry

    with course.gradebook() as gb:
        try:
            found = gb.find_assignment(assignment)
        except MissingEntry:
            raise GradingError(
                f"the gradebook has no assignment {assignment!r}; "
                f"run `nbgrader generate_assignment {assignment}` first"
            ) from None
        notebooks = []
        for nb in found.notebooks:
            cells = {c.name: c.cell_type for c in nb.source_cells}
            graded = {c.name for c in nb.grade_cells} | {c.name for c in nb.task_cells}
            solutions = {c.name for c in nb.solution_cells}
            graded |= solutions
            answers = {c.name for c in nb.grade_cells} & solutions
            notebooks.append(SourceNotebook(nb.name, cells, graded, float(nb.max_score), answers))
    return notebooks


def submission_digest(folder: Path) -> str:
    """A fingerprint of every file in a submission folder (names and contents): a resubmission
    changes it, grading again does not. Empty for a missing folder."""
    if not folder.is_dir():
        return ""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode("utf-8", "surrogateescape") + b"\0")
        try:
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        except OSError:
            digest.update(b"unreadable")
    return digest.hexdigest()


def planted_files(folder: Path, assignment: str, released: set[str]) -> list[str]:
    """Key-like files in a submission: anything in a ``keys`` folder, or a YAML file the
    assignment did not release. They are never used (keys are read from the course folder
    only), but a tutor should know someone tried."""
    found = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if not path.is_file() or relative.as_posix() in released:
            continue
        if "keys" in relative.parts[:-1] or path.suffix.lower() in {".yaml", ".yml"}:
            found.append(
                f"{relative.as_posix()}: an answer-key file was planted in the submission "
                f"(ignored: keys/{assignment}.yaml is read from the course folder only)"
            )
    return found


def unknown_items(folder: Path, known: set[str]) -> list[str]:
    """Answers saved for items the assignment does not have (``bonus-question``): never scored."""
    answers = read_answers(folder / ANSWERS_FILE)
    extra = sorted({e["item"] for e in answers.entries} - known)
    if not extra:
        return []
    return [
        f"{ANSWERS_FILE}: answers for items that do not exist in this assignment "
        f"({', '.join(repr(i) for i in extra)}): ignored, never scored"
    ]


def check_submission(
    folder: Path, notebooks: list[SourceNotebook], *, widget_items: bool
) -> list[str]:
    """Plain-language problems with one submission folder, before nbgrader sees it."""
    from nbformat import from_dict
    from nbgrader.nbgraderformat import MetadataValidator

    if not folder.is_dir():
        return ["no submission folder"]
    files = sorted(p.name for p in folder.iterdir() if p.name != "timestamp.txt")
    if not files:
        return ["the submission folder is empty"]
    problems: list[str] = []
    validator = MetadataValidator()
    for source in notebooks:
        path = folder / f"{source.name}.ipynb"
        if not path.is_file():
            problems.append(f"no {source.name}.ipynb in the submission (found: {', '.join(files)})")
            continue
        try:
            nb = json.loads(path.read_text(encoding="utf-8"))
            cells = nb["cells"]
            if not isinstance(cells, list):
                raise TypeError("cells is not a list")
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
            problems.append(f"{path.name} is not a notebook ({type(exc).__name__}: {exc})")
            continue
        seen: dict[str, str] = {}
        for index, cell in enumerate(cells):
            meta = cell.get("metadata", {}) if isinstance(cell, dict) else {}
            info = meta.get("nbgrader") if isinstance(meta, dict) else None
            if info is None:
                continue
            if not isinstance(info, dict):
                problems.append(f"{path.name} cell {index + 1}: nbgrader metadata is corrupted")
                continue
            grade_id = info.get("grade_id")
            if isinstance(grade_id, str):
                seen[grade_id] = str(cell.get("cell_type"))
                expected = source.cells.get(grade_id)
                if expected is not None and seen[grade_id] != expected:
                    problems.append(
                        f"{path.name}: cell '{grade_id}' was changed from {expected} to "
                        f"{seen[grade_id]} (nbgrader changes it back)"
                    )
                    continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    validator.validate_cell(from_dict(cell))  # type: ignore[no-untyped-call]
                except Exception as exc:  # nbgrader's ValidationError and whatever bad data raises
                    reason = (str(exc).splitlines() or [type(exc).__name__])[0][:160]
                    problems.append(
                        f"{path.name} cell {index + 1}: nbgrader metadata is corrupted ({reason})"
                    )
        for grade_id in sorted(source.graded - set(seen)):
            if grade_id in source.answers:
                problems.append(
                    f"{path.name}: answer cell '{grade_id}' was deleted: a missing answer "
                    "(scored 0, never sent to markers)"
                )
            else:
                problems.append(
                    f"{path.name}: cell '{grade_id}' was deleted (nbgrader puts it back)"
                )
    has_notebook = any((folder / f"{nb.name}.ipynb").is_file() for nb in notebooks)
    if widget_items and has_notebook:
        answers = read_answers(folder / ANSWERS_FILE)
        problems += [f"{ANSWERS_FILE}: {p}" for p in answers.problems]
    return problems


# --- worker process -------------------------------------------------------------------------

_API: Any = None


def _init_worker(root: str, log_dir: str) -> None:
    """Set up one worker: its fork server, nbgrader's API on the course config, kernels on IPC
    sockets, quiet output. The fork server's socket and log live in ``log_dir``, which the batch
    removes; the server ends when this worker does, however it ends."""
    global _API
    fd = os.open(
        os.path.join(log_dir, f"worker-{os.getpid()}.log"), os.O_WRONLY | os.O_CREAT, 0o600
    )
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    warnings.simplefilter("ignore")
    from ._forkkernel import start_fork_server

    course = Course.open(root)  # (puts this venv's bin on PATH first, as kernels will see it)
    start_fork_server(log_dir)  # it preloads while this worker imports nbgrader
    from nbgrader.apps import NbGraderAPI

    config = course.config()
    config.KernelManager.transport = "ipc"
    # IPC socket files are "<ip>-<n>"; an absolute, per-worker prefix keeps workers apart and
    # does not depend on the folder the kernel starts in.
    config.KernelManager.ip = os.path.join(log_dir, f"kernel-{os.getpid()}")
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute

    from ._prestart import PrestartedExecute, use_folder

    use_folder(log_dir)

    configured = config.Autograde.get("autograde_preprocessors")
    chain = configured if configured is not None else Autograde.autograde_preprocessors.default()
    config.Autograde.autograde_preprocessors = [
        PrestartedExecute if p is Execute else p for p in chain
    ]
    db_url = str(course.coursedir(config).db_url)
    if db_url.startswith("sqlite:") and "timeout=" not in db_url:  # wait for the lock, never fail
        config.CourseDirectory.db_url = db_url + ("&" if "?" in db_url else "?") + "timeout=120"
    _API = NbGraderAPI(config=config)


def _grade_one(assignment: str, student: str) -> dict[str, Any]:
    from ._forkkernel import fork_server, launching_normally, restart_if_dead
    from ._prestart import discard_spares

    start = time.monotonic()
    attempts = 0
    forked = True
    result: dict[str, Any] = {}
    while attempts < 2:
        attempts += 1
        if restart_if_dead():  # its kernels, the spare among them, died with it
            discard_spares()
        server = fork_server() if forked else None
        if forked:
            result = dict(_API.autograde(assignment, student, force=True, create=True))
        else:
            discard_spares()  # they were forked
            with launching_normally():
                result = dict(_API.autograde(assignment, student, force=True, create=True))
        if server is not None and server.killed():
            # The kernels' parent is the fork server: a cell that kills its parent killed it (or
            # something else did; a second try, with a new server, tells which).
            result["success"] = False
            result["error"] = f"{WORKER_KILLED}: the fork server died grading {student}"
            continue
        text = str(result.get("error", "")) + str(result.get("log", ""))
        if result.get("success") or not any(m in text for m in RETRY_MARKERS):
            break
        forked = False  # the kernel did not start: try once more, launched the ordinary way
    result["attempts"] = attempts
    result["seconds"] = time.monotonic() - start
    return result


# --- the batch ---------------------------------------------------------------------------------


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


def _timeouts(notebook: Path) -> list[str]:
    """Cells nbgrader interrupted for running past ``Execute.timeout``."""
    try:
        nb = json.loads(notebook.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    found = []
    for index, cell in enumerate(nb.get("cells", [])):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" and output.get("ename") in {
                "CellTimeoutError",
                "KeyboardInterrupt",
            }:
                found.append(
                    f"{notebook.name} cell {index + 1} ran past the time limit and was "
                    "interrupted (an endless loop?)"
                )
                break
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
    course: Course, assignment: str, student: str, cells: dict[str, float]
) -> tuple[list[str], dict[str, float]]:
    """Score the widget items again outside the kernel; report any gradebook score that differs.
    Returns the problems and the re-scored points of each test cell that differs."""
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
        if got is not None and abs(got - expected) > 1e-6:
            differ[f"test-{item.id}"] = float(expected)
            problems.append(
                f"test-{item.id} scored {got:g} in the kernel but {expected:g} from the answers "
                "file: check this submission by hand (possible tampering)"
            )
    return problems, differ


def list_students(course: Course, assignment: str) -> list[str]:
    submitted = course.coursedir().submitted_directory
    pattern = Path(course.coursedir().format_path(submitted, "*", assignment))
    base = pattern.parent.parent
    return sorted(p.parent.name for p in base.glob(f"*/{assignment}") if p.is_dir())


STUDENTS_PER_JOB = 12  # below this a second worker costs more (its start-up) than it saves


def choose_jobs(students: int, cpus: int | None = None) -> int:
    """Workers for a class when ``--jobs`` is not given: one for a small class (a worker's start-up,
    importing nbgrader and preloading a fork server, outweighs what a second one saves), then one
    more per :data:`STUDENTS_PER_JOB` students, never more than the cores this process may use."""
    if cpus is None:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cpus or 1, students // STUDENTS_PER_JOB))


def autograde_cohort(
    course: Course,
    assignment: str,
    *,
    jobs: int | None = None,
    students: list[str] | None = None,
    progress: Callable[[StudentResult, int, int], None] | None = None,
) -> CohortReport:
    """Autograde every submission of ``assignment`` with ``jobs`` parallel workers.

    ``jobs=None`` chooses with :func:`choose_jobs`. ``progress(result, done, total)`` is called as
    each student finishes. Results come back in student order; every student appears, with a
    status and reasons.
    """
    if jobs is not None and jobs < 1:
        raise GradingError("--jobs must be at least 1")
    start = time.monotonic()
    names = students if students is not None else list_students(course, assignment)
    if jobs is None:
        jobs = choose_jobs(len(names))
    width = min(jobs, max(1, len(names)))
    with tempfile.TemporaryDirectory(prefix="cw-autograde-") as log_dir:
        pool = _new_pool(width, str(course.root), log_dir)
        try:
            # Workers start (and import nbgrader) while this process checks the submissions.
            warming = [pool.submit(os.getpid) for _ in range(width)]
            notebooks = source_notebooks(course, assignment)
            source_dir = course.root / "source" / assignment
            widget_items = (source_dir / "items.yaml").is_file()
            released = {
                p.relative_to(source_dir).as_posix() for p in source_dir.rglob("*") if p.is_file()
            } | {"timestamp.txt"}
            known_items: set[str] | None = None
            if widget_items:
                from ._items import load_items

                known_items = {i.id for i in load_items(source_dir / "items.yaml").items}
            submitted = course.coursedir().submitted_directory
            autograded = course.coursedir().autograded_directory
            results: dict[str, StudentResult] = {}
            todo: deque[str] = deque()
            max_score = sum(nb.max_score for nb in notebooks)
            done = 0
            for student in names:
                folder = course.folder(submitted, student, assignment)
                problems = check_submission(folder, notebooks, widget_items=widget_items)
                has_notebook = any((folder / f"{nb.name}.ipynb").is_file() for nb in notebooks)
                if folder.is_dir():
                    problems += planted_files(folder, assignment, released)
                    if known_items is not None and has_notebook:
                        problems += unknown_items(folder, known_items)
                results[student] = StudentResult(
                    student,
                    "pending",
                    max_score=max_score,
                    problems=problems,
                    digest=submission_digest(folder),
                )
                if has_notebook:
                    todo.append(student)
                else:  # nbgrader itself skips a folder with no notebook of the assignment
                    results[student].status = "skipped"
                    done += 1
                    if progress:
                        progress(results[student], done, len(names))
            kept = kept_scores(course, assignment, results)
            wait(warming)
            with course.gradebook() as gb:

                def record(student: str, outcome: dict[str, Any]) -> None:
                    nonlocal done
                    result = results[student]
                    result.seconds = float(outcome.get("seconds", 0.0))
                    result.attempts = int(outcome.get("attempts", 1))
                    _finish(
                        course,
                        gb,
                        assignment,
                        student,
                        result,
                        outcome,
                        notebooks,
                        autograded,
                        kept.get(student, {}),
                    )
                    done += 1
                    if progress:
                        progress(result, done, len(names))

                # A few submissions per worker in flight (the next is queued before the last one's
                # result is recorded, so workers never wait for this process); if a submission
                # kills its worker, only those in flight are suspects and the rest carry on.
                limit = 2 * width
                suspects: list[str] = []
                running: dict[Future[dict[str, Any]], str] = {}
                while todo or running:
                    while todo and len(running) < limit:
                        student = todo.popleft()
                        running[pool.submit(_grade_one, assignment, student)] = student
                    finished, _ = wait(running, return_when=FIRST_COMPLETED)
                    outcomes: list[tuple[str, dict[str, Any]]] = []
                    broken = False
                    for future in finished:
                        student = running.pop(future)
                        try:
                            outcomes.append((student, future.result()))
                        except BrokenProcessPool:
                            broken = True
                            suspects.append(student)
                        except Exception as exc:
                            error = f"{type(exc).__name__}: {exc}"
                            outcomes.append((student, {"success": False, "error": error}))
                    if broken:
                        suspects.extend(running.values())
                        running.clear()
                        pool.shutdown(wait=True, cancel_futures=True)
                        pool = _new_pool(width, str(course.root), log_dir)
                    while todo and len(running) < limit:
                        student = todo.popleft()
                        running[pool.submit(_grade_one, assignment, student)] = student
                    for student, outcome in outcomes:
                        record(student, outcome)
                for student in suspects:  # alone, each in a fresh worker, so a crash has one cause
                    solo = _new_pool(1, str(course.root), log_dir)
                    try:
                        outcome = solo.submit(_grade_one, assignment, student).result()
                    except BrokenProcessPool:
                        outcome = {"success": False, "error": f"{WORKER_KILLED}: {student}"}
                    finally:
                        solo.shutdown(wait=True, cancel_futures=True)
                    record(student, outcome)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    report = CohortReport(assignment, [results[s] for s in names], time.monotonic() - start, jobs)
    from ._marking import MarkingBook

    with MarkingBook(course.marking_db) as book:
        book.record_autograde(report)
    return report


def kept_scores(
    course: Course, assignment: str, results: dict[str, StudentResult]
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
    course: Course, gb: Any, assignment: str, student: str, notebooks: list[SourceNotebook]
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


def _finish(
    course: Course,
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
        result.problems += _timeouts(folder / f"{nb.name}.ipynb")
    problems, differ = _rescore(course, assignment, student, cells)
    result.problems += problems
    if differ:
        result.review = "possible tampering"
        result.rescored_cells = differ
        result.rescored = score + sum(points - cells[cell] for cell, points in differ.items())


def _new_pool(jobs: int, root: str, log_dir: str) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=get_context("spawn"),
        initializer=_init_worker,
        initargs=(root, log_dir),
    )
