"""REFLECT levels from marking (Wald et al. 2012): a CSV of one level per learner and assignment."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ._problems import DataProblem, shown
from ._pseudonym import Pseudonyms
from ._read_csv import _header, _learners, _read_csv, _row_problems, source_name
from ._responses import LEVEL_COLUMNS, Responses

REFLECT_LEVELS = ("habitual action", "thoughtful action", "reflection", "critical reflection")
"""REFLECT rubric levels (Wald et al. 2012), lowest first."""


def _level_of(text: str) -> str | None:
    folded = " ".join(text.replace("-", " ").replace("_", " ").casefold().split())
    if folded in REFLECT_LEVELS:
        return folded
    if folded.isdigit() and 1 <= int(folded) <= len(REFLECT_LEVELS):
        return REFLECT_LEVELS[int(folded) - 1]
    return None


def read_levels(path: str | Path, pseudonyms: Pseudonyms) -> Responses:
    """REFLECT levels from marking: CSV with ``learner``, ``level`` and optionally ``assignment``.

    A level is a name (``critical reflection``) or its number, 1 (habitual action) to 4.
    """
    path = Path(path)
    name = source_name(path)
    frame, problems = _read_csv(path, 0)
    result = Responses(problems=problems, learner_columns={name: "learner"})
    if frame is None:
        return result
    for column in ("learner", "level"):
        if column not in frame.columns:
            problems.append(
                DataProblem(
                    name, 1, column, "missing-column", f"no {column} column", "file skipped"
                )
            )
    if problems and any(p.action == "file skipped" for p in problems):
        return result
    for column in frame.columns:
        if column not in ("learner", "level", "assignment"):
            problems.append(
                _header(
                    name,
                    str(column),
                    "unknown-column",
                    "not learner, level or assignment",
                    "column ignored",
                )
            )
    rows = np.arange(len(frame)) + 2
    pseudonym, keep, found = _learners(frame, "learner", name, rows, pseudonyms)
    problems += found
    level = frame["level"].map(_level_of)
    bad = level.isna().to_numpy() & keep
    for i in np.flatnonzero(bad):
        problems.append(
            DataProblem(
                name,
                int(rows[i]),
                "level",
                "bad-level",
                f"{shown(frame['level'].iat[i])} is not a REFLECT level ({', '.join(REFLECT_LEVELS)}, or 1-4)",
                "row excluded",
            )
        )
    keep &= ~bad
    assignment = (
        frame["assignment"].str.strip()
        if "assignment" in frame.columns
        else pd.Series("", index=frame.index)
    )
    twice = np.zeros(len(frame), dtype=bool)
    twice[keep] = pd.DataFrame({"l": pseudonym, "a": assignment})[keep].duplicated(keep=False)
    problems += _row_problems(
        name,
        rows,
        twice,
        "learner",
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
