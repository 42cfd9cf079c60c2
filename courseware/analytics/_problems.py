"""Bad data, reported one cell at a time: which source, which row, which column, what we did.

Nothing is dropped silently: every value treated as missing and every row left out produces a
:class:`DataProblem`, and the report lists them all. Messages never contain a learner's identity;
the row number is enough to find the record in the export.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..errors import CoursewareError

STORE_SOURCE = "store"

ProblemKind = Literal[
    "out-of-range",
    "not-a-number",
    "duplicate",
    "unknown-item",
    "unknown-column",
    "missing-column",
    "unknown-wave",
    "unknown-instrument",
    "missing-learner",
    "bad-event",
    "bad-level",
    "conflicting-attribute",
    "unreadable",
    "missing-header-rows",
    "empty",
]


@dataclass(frozen=True, order=True)
class DataProblem:
    """One problem in the data, printable as ``SOURCE row N, column 'C': message (action)``.

    ``row`` is the spreadsheet row (the header is row 1) for a CSV export, or the event id for the
    store; ``None`` when the problem is the whole file.
    """

    source: str
    row: int | None
    column: str
    kind: ProblemKind
    message: str
    action: str

    @property
    def where(self) -> str:
        if self.source == STORE_SOURCE:
            return f"store event {self.row}, field {self.column!r}"
        row = f" row {self.row}" if self.row is not None else ""
        column = f", column {self.column!r}" if self.column else ""
        return f"{self.source}{row}{column}"

    def __str__(self) -> str:
        return f"{self.where}: {self.message} ({self.action})"


class DataError(CoursewareError, ValueError):
    """Raised in strict mode when any data problem was found; carries every problem."""

    def __init__(self, problems: list[DataProblem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.source, p.row or 0, p.column))
        super().__init__("\n".join(str(p) for p in self.problems))


def shown(value: object, limit: int = 40) -> str:
    """A cell's value for a message: quoted, control characters visible, long text cut short."""
    text = str(value)
    cut = text[:limit] + ("…" if len(text) > limit else "")
    return repr(cut)


def row_problems(
    source: str,
    rows: np.ndarray,
    mask: np.ndarray,
    column: str,
    kind: ProblemKind,
    message: str | Callable[[int], str],
    action: str = "row excluded",
) -> list[DataProblem]:
    """A problem for each row flagged in ``mask`` (``rows`` holds their row numbers).

    ``message`` is the same for every row, or made from the row's position, so that it can quote
    the cell that was wrong (through :func:`shown`).
    """
    return [
        DataProblem(
            source,
            int(rows[i]),
            column,
            kind,
            message if isinstance(message, str) else message(int(i)),
            action,
        )
        for i in np.flatnonzero(mask)
    ]
