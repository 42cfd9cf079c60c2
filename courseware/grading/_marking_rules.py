"""The double-marking rules as pure functions (tested without nbgrader): the second-marking sample,
the agreed mark or a third marker, a mark's total and grade, the comment a learner sees.

The rules themselves are set out in ``_moderation``'s docstring.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from ._marking_records import Mark
from ._rubric import Rubric

SAMPLE_SHARE = 0.10
SAMPLE_MIN = 10


def round_half(value: float) -> float:
    return math.floor(value * 2 + 0.5) / 2


def second_marking_sample(
    first_totals: dict[str, float], rubric: Rubric, *, all_scripts: bool = False
) -> list[str]:
    """Scripts to second-mark: ``max(10%, 10)`` scripts spread evenly over the range of first marks
    (lowest and highest included), plus every fail; every script when there are no more than that,
    or when ``all_scripts``."""
    ordered = sorted(first_totals, key=lambda s: (first_totals[s], s))
    size = max(math.ceil(SAMPLE_SHARE * len(ordered)), SAMPLE_MIN)
    if all_scripts or size >= len(ordered):
        return ordered
    step = (len(ordered) - 1) / (size - 1)
    spread = [ordered[round(i * step)] for i in range(size)]
    fails = [s for s in ordered if rubric.band(first_totals[s]).fail]
    return sorted(set(fails) | set(spread), key=lambda s: (first_totals[s], s))


@dataclass(frozen=True)
class Decision:
    """Where a script stands: ``agreed`` (with total and method), or waiting for a ``first``,
    ``second`` or ``third`` mark."""

    status: str
    total: float | None = None
    method: str = ""


def decide(rubric: Rubric, marks: dict[str, float], *, sampled: bool) -> Decision:
    """The moderation rule for one script, given its totals by role."""
    first, second, third = (marks.get(r) for r in ("first", "second", "third"))
    if first is None:
        return Decision("first")
    if not sampled:
        return Decision("agreed", first, "first mark (not in the second-marking sample)")
    if second is None:
        return Decision("second")
    if rubric.band(first).id == rubric.band(second).id:
        if rubric.by_level:
            return Decision("agreed", first, "first and second marks at the same grade")
        return Decision(
            "agreed", round_half((first + second) / 2), "mean of first and second marks"
        )
    if third is None:
        return Decision("third")
    method = "the middle grade of three marks" if rubric.by_level else "median of three marks"
    return Decision("agreed", statistics.median([first, second, third]), method)


def mark_total(rubric: Rubric, mark: Mark) -> float:
    """A mark's points: by level, its grade's points under the course's standard (so an upgraded
    old mark counts by its level, not the points it was given); by points, as given."""
    if rubric.by_level:
        return rubric.total(mark.all_levels())
    return mark.total


def mark_grade(rubric: Rubric, mark: Mark) -> str:
    """A mark's grade (rubrics by level) or band (by points), as an id."""
    if rubric.by_level:
        return rubric.grade(mark.all_levels())
    return rubric.band(mark.total).id


def feedback_comment(rubric: Rubric, mark: Mark) -> str:
    """The comment a learner sees: the level reached on each criterion, with the marker's words
    (and, by level, the overall level first)."""
    lines = []
    if rubric.by_level and rubric.overall is not None:
        lines.append(f"- {rubric.overall.name}: {rubric.grade_name(mark_grade(rubric, mark))}")
    for criterion in rubric.criteria:
        level = next(lv for lv in criterion.levels if lv.id == mark.levels[criterion.id])
        note = mark.comments.get(criterion.id, "").strip()
        lines.append(f"- {criterion.name}: {level.name}" + (f". {note}" if note else ""))
    if mark.comment.strip():
        lines += ["", mark.comment.strip()]
    return "\n".join(lines)
