"""Checks of a submission folder before nbgrader sees it, in plain language per student.

What the gradebook knows of the assignment (:class:`SourceNotebook`), and the checks
:func:`~._autograde.autograde_cohort` runs on every submission: a deleted or retyped cell, corrupted
metadata, a protected cell edited, a file that is not a notebook, a planted key file, answers for
items that do not exist.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from ._answers import ANSWERS_FILE, read_answers
from ._course import CourseFolder, GradingError


@dataclass
class SourceNotebook:
    """What the gradebook knows of one notebook of the assignment."""

    name: str
    cells: dict[str, str]  # grade_id -> cell type, for every cell nbgrader tracks
    graded: set[str]  # grade, solution and task cells (the ones deleting loses marks)
    max_score: float
    answers: set[str] = field(default_factory=set)  # manually graded answer cells (an essay)


def source_notebooks(course: CourseFolder, assignment: str) -> list[SourceNotebook]:
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


def _source(cell: object) -> str | None:
    if not isinstance(cell, dict):
        return None
    text = cell.get("source", "")
    return "".join(text) if isinstance(text, list) else text if isinstance(text, str) else None


def edited_cells(folder: Path, release: Path, notebooks: list[SourceNotebook]) -> list[str]:
    """Cells released as not editable whose text the submission changed. A graded cell is put
    back by nbgrader (noted, since someone changed it); any other protected cell (the one that
    opens the assessment, say) is not, so the tutor is told what it said."""
    found: list[str] = []
    for source in notebooks:
        try:
            given = json.loads((release / f"{source.name}.ipynb").read_text(encoding="utf-8"))
            sent = json.loads((folder / f"{source.name}.ipynb").read_text(encoding="utf-8"))
            given_cells, sent_cells = list(given["cells"]), list(sent["cells"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # no release to compare with, or not a notebook (reported already)
        by_id = {}
        for cell in sent_cells:
            info = cell.get("metadata", {}).get("nbgrader") if isinstance(cell, dict) else None
            if isinstance(info, dict) and isinstance(info.get("grade_id"), str):
                by_id[info["grade_id"]] = _source(cell)
        texts = {_source(cell) for cell in sent_cells}
        for index, cell in enumerate(given_cells):
            meta = cell.get("metadata", {}) if isinstance(cell, dict) else {}
            if meta.get("editable", True) is not False:
                continue
            text = _source(cell)
            grade_id = (meta.get("nbgrader") or {}).get("grade_id")
            if grade_id is not None:
                if grade_id in by_id and by_id[grade_id] != text:
                    found.append(
                        f"{source.name}.ipynb: cell '{grade_id}' was edited although it is not "
                        "editable (nbgrader puts the original back)"
                    )
            elif text not in texts:
                first = (text or "").strip().splitlines()[:1] or [""]
                found.append(
                    f"{source.name}.ipynb: released cell {index + 1} ({first[0][:60]!r}) was "
                    "edited or deleted although it is not editable; it ran as the learner left it"
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
