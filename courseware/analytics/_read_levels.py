"""REFLECT levels from marking (Wald et al. 2012): a CSV of one level per learner and assignment.

Two layouts are read: a hand-made file (``learner``, ``level``, optionally ``assignment``), and the
marking registry export (``courseware grade export ASSIGNMENT --registry``: ``student_id``, ``level`` and the
other registry columns), whose levels are the REFLECT rubric's grade ids (``critical-transformative``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ._problems import DataProblem, row_problems, shown
from ._pseudonym import Pseudonyms
from ._read_csv import header_problem, learner_ids, read_csv_file, source_name
from ._responses import LEVEL_COLUMNS, Responses

REFLECT_LEVELS = ("habitual action", "thoughtful action", "reflection", "critical reflection")
"""REFLECT rubric levels (Wald et al. 2012), lowest first."""

LEVEL_IDS = ("habitual", "thoughtful", "reflection", "critical")
"""The same levels by the ids of the REFLECT rubric (``assignments/rubrics/reflect.yaml``), as the
registry export writes them; the top level's grade id adds its learning (``critical-confirmatory``)."""
LEARNING_IDS = ("confirmatory", "transformative")


def _level_of(text: str) -> str | None:
    folded = " ".join(text.replace("-", " ").replace("_", " ").casefold().split())
    if folded in REFLECT_LEVELS:
        return folded
    if folded.isdigit() and 1 <= int(folded) <= len(REFLECT_LEVELS):
        return REFLECT_LEVELS[int(folded) - 1]
    head, _, learning = text.strip().casefold().partition("-")
    if head in LEVEL_IDS and (not learning or (head == LEVEL_IDS[-1] and learning in LEARNING_IDS)):
        return REFLECT_LEVELS[LEVEL_IDS.index(head)]
    return None


def read_levels(path: str | Path, pseudonyms: Pseudonyms) -> Responses:
    """REFLECT levels from marking: CSV with ``learner``, ``level`` and optionally ``assignment``,
    or the marking registry export (``student_id`` for ``learner``).

    A level is a name (``critical reflection``), its number, 1 (habitual action) to 4, or the
    REFLECT rubric's grade id (``habitual``, ``critical-transformative``). A registry row with no
    level (not graded yet, or not marked by level) is left out, and counted in a note.
    """
    from ..grading import REGISTRY_COLUMNS

    path = Path(path)
    name = source_name(path)
    frame, problems = read_csv_file(path, 0)
    registry = (
        frame is not None and "student_id" in frame.columns and "learner" not in frame.columns
    )
    learner = "student_id" if registry else "learner"
    known = set(REGISTRY_COLUMNS) if registry else {"learner", "level", "assignment"}
    result = Responses(problems=problems, learner_columns={name: learner})
    if frame is None:
        return result
    for column in (learner, "level"):
        if column not in frame.columns:
            problems.append(
                DataProblem(
                    name, 1, column, "missing-column", f"no {column} column", "file skipped"
                )
            )
    if problems and any(p.action == "file skipped" for p in problems):
        return result
    for column in frame.columns:
        if column not in known:
            problems.append(
                header_problem(
                    name,
                    str(column),
                    "unknown-column",
                    "not a registry export column"
                    if registry
                    else "not learner, level or assignment",
                    "column ignored",
                )
            )
    rows = np.arange(len(frame)) + 2
    pseudonym, keep, found = learner_ids(frame, learner, name, rows, pseudonyms)
    problems += found
    if registry:
        unlevelled = frame["level"].str.strip().eq("").to_numpy() & keep
        keep &= ~unlevelled
        if unlevelled.any():
            result.notes.append(
                f"{name}: {int(unlevelled.sum())} registry row(s) with no agreed level (not graded"
                " yet, or not marked by level) left out."
            )
    level = frame["level"].map(_level_of)
    bad = level.isna().to_numpy() & keep
    problems += row_problems(
        name,
        rows,
        bad,
        "level",
        "bad-level",
        lambda i: (
            f"{shown(frame['level'].iat[i])} is not a REFLECT level"
            f" ({', '.join(REFLECT_LEVELS)}, or 1-4)"
        ),
    )
    keep &= ~bad
    assignment = (
        frame["assignment"].str.strip()
        if "assignment" in frame.columns
        else pd.Series("", index=frame.index)
    )
    twice = np.zeros(len(frame), dtype=bool)
    twice[keep] = pd.DataFrame({"l": pseudonym, "a": assignment})[keep].duplicated(keep=False)
    problems += row_problems(
        name,
        rows,
        twice,
        learner,
        "duplicate",
        "the same learner has another level for this assignment",
        "row excluded, as are the learner's other rows for it",
    )
    keep &= ~twice
    result.levels = pd.DataFrame(
        {
            "learner": pseudonym[keep].to_numpy(),
            "level": level[keep].to_numpy(),
            "source": name,
            "row": rows[keep],
        },
        columns=LEVEL_COLUMNS,
    )
    return result
