"""``courseware check`` for assessment files: rubrics, assessed items and answer keys.

Beyond each file's schema, a key is checked against its items (every autograded item has a key that
fits it) and against the source notebook: each ``test-<item>`` cell must be worth exactly the key's
points, since nbgrader fails a whole submission whose partial credit exceeds a cell's points. A
rubric named after an assignment (``rubrics/<assignment>.yaml``) is checked against that
assignment's notebook: each manually graded answer cell must be worth the rubric's maximum, since a
rubric total becomes that cell's score (``courseware grade scripts`` refuses otherwise). A rubric by
level fits any cell: its grades' points come from the course's standard and the cell's points.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..content import ContentError, Problem, display_path, register_checker
from ._items import ITEMS_FILE, ComposeResponse, load_items, load_key
from ._rubric import load_rubric

YAML = {".yaml", ".yml"}


def is_grading_file(path: Path) -> bool:
    if path.suffix not in YAML:
        return False
    if path.parent.name in {"rubrics", "keys"}:
        return True
    return path.name == ITEMS_FILE and path.parent.parent.name == "source"


def check_grading_file(path: Path) -> list[Problem]:
    try:
        if path.parent.name == "rubrics":
            rubric = load_rubric(path)
            if rubric.by_level:  # any cell fits: a grade's points scale with the cell's
                return []
            return _check_rubric_cells(path, rubric.max_total)
        if path.name == ITEMS_FILE:
            load_items(path)
            return []
        return _check_key(path)
    except ContentError as exc:
        return exc.problems


def _graded_points(notebook: Path, *, answers_only: bool = False) -> dict[str, float] | None:
    """Points of each graded cell of a source notebook, by ``grade_id`` (only manually graded answer
    cells with ``answers_only``); None if it is not a notebook (reported when it is checked)."""
    try:
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    except (ValueError, KeyError):
        return None
    points = {}
    for cell in cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if not (meta.get("grade") and isinstance(meta.get("grade_id"), str)):
            continue
        if meta.get("solution") or not answers_only:
            points[meta["grade_id"]] = float(meta.get("points", 0))
    return points


def _check_rubric_cells(path: Path, max_total: float) -> list[Problem]:
    notebook = path.parent.parent / "source" / path.stem / f"{path.stem}.ipynb"
    if not notebook.is_file():
        return []  # not named after an assignment (reflect): linked by `grade scripts --rubric`
    answers = _graded_points(notebook, answers_only=True) or {}
    return [
        Problem(
            display_path(notebook),
            1,
            f"answer cell {cell!r} is worth {points:g} points but rubric {path.stem!r} totals "
            f"{max_total:g}",
        )
        for cell, points in answers.items()
        if abs(points - max_total) > 1e-9
    ]


def _check_key(path: Path) -> list[Problem]:
    assignment = path.stem
    source = path.parent.parent / "source" / assignment
    items_path = source / ITEMS_FILE
    if not items_path.is_file():
        return [
            Problem(display_path(path), 1, f"no {ITEMS_FILE} in source/{assignment}/ for this key")
        ]
    try:
        items = load_items(items_path)
    except ContentError:
        return []  # reported when items.yaml itself is checked
    key = load_key(path, items)
    notebook = source / f"{assignment}.ipynb"
    if not notebook.is_file():
        return [
            Problem(display_path(path), 1, f"no notebook source/{assignment}/{assignment}.ipynb")
        ]
    points = _graded_points(notebook)
    if points is None:
        return []
    problems = []
    for item in items.items:
        if isinstance(item, ComposeResponse):
            continue
        cell = f"test-{item.id}"
        if cell not in points:
            problems.append(
                Problem(display_path(notebook), 1, f"no test cell {cell!r} for item {item.id!r}")
            )
        elif abs(points[cell] - key.keys[item.id].points) > 1e-9:
            problems.append(
                Problem(
                    display_path(notebook),
                    1,
                    f"cell {cell!r} is worth {points[cell]:g} points but the key gives "
                    f"{key.keys[item.id].points:g}",
                )
            )
    return problems


register_checker("assessment file", is_grading_file, check_grading_file)  # see courseware._plugins
