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

import os
import tempfile
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from ._course import CourseFolder, GradingError
from ._grade_outcome import CohortReport, StudentResult, finish_student, kept_scores
from ._grade_worker import WORKER_KILLED, grade_one, init_worker
from ._submissions import (
    check_submission,
    edited_cells,
    planted_files,
    source_notebooks,
    submission_digest,
    unknown_items,
)


def list_students(course: CourseFolder, assignment: str) -> list[str]:
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
    course: CourseFolder,
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
            release_dir = course.folder(course.coursedir().release_directory, ".", assignment)
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
                    if has_notebook:
                        problems += edited_cells(folder, release_dir, notebooks)
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
                    finish_student(
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

                def submit_more() -> None:
                    while todo and len(running) < limit:
                        student = todo.popleft()
                        running[pool.submit(grade_one, assignment, student)] = student

                submit_more()
                while running:
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
                    submit_more()  # before recording, so the workers never wait for this process
                    for student, outcome in outcomes:
                        record(student, outcome)
                for student in suspects:  # alone, each in a fresh worker, so a crash has one cause
                    solo = _new_pool(1, str(course.root), log_dir)
                    try:
                        outcome = solo.submit(grade_one, assignment, student).result()
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


def _new_pool(jobs: int, root: str, log_dir: str) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=get_context("spawn"),
        initializer=init_worker,
        initargs=(root, log_dir),
    )
