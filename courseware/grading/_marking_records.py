"""The marking book's records: a script, a mark, a re-mark, a tutor's confirmation, an agreed mark.

Plain frozen data, read and written by :class:`~._marking.MarkingBook`; the rules over them are in
``_marking_rules``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Script:
    script: str
    assignment: str
    student: str
    notebook: str
    cell: str
    rubric: str


@dataclass(frozen=True)
class Mark:
    script: str
    role: str
    marker: str
    levels: dict[str, str]
    comments: dict[str, str]
    comment: str
    total: float
    time: float
    overall: str | None = None  # rubrics by level: the overall level and, at the top, learning
    learning: str | None = None
    derived: bool = False  # the overall level was derived by rule when an old book was upgraded

    def all_levels(self) -> dict[str, str]:
        """The criteria's levels with ``overall`` and ``learning`` beside them, when given."""
        extra = {"overall": self.overall, "learning": self.learning}
        criteria = {k: v for k, v in self.levels.items() if k not in extra}  # an old learning row
        return {**criteria, **{k: v for k, v in extra.items() if v}}


@dataclass(frozen=True)
class Remark:
    """A marker changed their mark for a script: the grade (or total) before and after."""

    script: str
    role: str
    marker: str
    old_level: str
    new_level: str
    old_total: float
    new_total: float
    time: float


@dataclass(frozen=True)
class Confirmation:
    """A score a tutor confirmed by hand for one student's submission (a failed or skipped one
    marked from the original file, or one flagged for review): cell scores, why, who, and the
    digest of the submission it was given for (a new submission is not covered by it)."""

    assignment: str
    student: str
    cells: dict[str, float]
    reason: str
    by: str
    digest: str
    time: float


@dataclass(frozen=True)
class Agreed:
    script: str
    total: float
    comment: str
    method: str
    by: str
    level: str | None = None  # rubrics by level: the agreed grade
