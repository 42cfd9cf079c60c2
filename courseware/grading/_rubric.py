"""A marking rubric as validated data: criteria, ordered levels with descriptors, and mark bands.

A marker's script mark is the sum of the points of the level chosen for each criterion. Bands (for
example fail / pass / merit / distinction) divide the total; UK moderation sends a script to a third
marker when its two marks fall in different bands.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from ..content._errors import ContentError, Problem
from ..content._models import Reference
from ..content._pydantic import Model as _Model
from ..content._schema import Slug, Text, validate
from ..content._yaml import read_yaml


class Level(_Model):
    """One level of a criterion: its name, the points it earns, and what work at that level shows."""

    id: Slug
    name: Text
    points: float = Field(ge=0, le=100)
    descriptor: Text


class Criterion(_Model):
    id: Slug
    name: Text
    levels: list[Level] = Field(min_length=2)


class Band(_Model):
    """Scripts whose total is at least ``min`` (and below the next band's) fall in this band."""

    id: Slug
    name: Text
    min: float = Field(ge=0)
    fail: bool = False


class Rubric(_Model):
    id: Slug
    title: Text
    summary: str | None = None
    criteria: list[Criterion] = Field(min_length=1)
    bands: list[Band] = Field(min_length=1)
    references: list[Reference] = Field(default_factory=list)

    @property
    def max_total(self) -> float:
        return sum(max(level.points for level in c.levels) for c in self.criteria)

    @property
    def min_total(self) -> float:
        return sum(min(level.points for level in c.levels) for c in self.criteria)

    def criterion(self, criterion_id: str) -> Criterion:
        for criterion in self.criteria:
            if criterion.id == criterion_id:
                return criterion
        raise KeyError(f"rubric {self.id!r} has no criterion {criterion_id!r}")

    def total(self, levels: dict[str, str]) -> float:
        """The mark for one level id per criterion; raises ``ValueError`` naming what is wrong."""
        missing = [c.id for c in self.criteria if c.id not in levels]
        unknown = sorted(set(levels) - {c.id for c in self.criteria})
        if missing or unknown:
            raise ValueError(f"criteria missing: {missing or 'none'}; unknown: {unknown or 'none'}")
        total = 0.0
        for criterion in self.criteria:
            chosen = [lv for lv in criterion.levels if lv.id == levels[criterion.id]]
            if not chosen:
                names = ", ".join(lv.id for lv in criterion.levels)
                raise ValueError(
                    f"{criterion.id}: no level {levels[criterion.id]!r} (levels: {names})"
                )
            total += chosen[0].points
        return total

    def band(self, total: float) -> Band:
        """The band a total falls in (bands are checked to be in rising order of ``min``)."""
        found = self.bands[0]
        for band in self.bands:
            if total >= band.min:
                found = band
        return found

    def band_index(self, total: float) -> int:
        return self.bands.index(self.band(total))


def load_rubric(path: str | Path) -> Rubric:
    """Read and check a rubric file; every problem names its line and field."""
    doc = read_yaml(Path(path))
    rubric = validate(doc, Rubric)
    problems: list[Problem] = []
    if doc.path.stem != rubric.id:
        problems.append(
            doc.problem(["id"], f"id {rubric.id!r} differs from the file name {doc.path.stem!r}")
        )
    seen: set[str] = set()
    for i, criterion in enumerate(rubric.criteria):
        if criterion.id in seen:
            problems.append(
                doc.problem(["criteria", i, "id"], f"duplicate criterion {criterion.id!r}")
            )
        seen.add(criterion.id)
        points = [level.points for level in criterion.levels]
        if points != sorted(points) or len(set(points)) != len(points):
            problems.append(
                doc.problem(
                    ["criteria", i, "levels"],
                    "levels must be listed lowest first, with rising points",
                )
            )
        if len({level.id for level in criterion.levels}) != len(criterion.levels):
            problems.append(doc.problem(["criteria", i, "levels"], "duplicate level id"))
    mins = [band.min for band in rubric.bands]
    if mins != sorted(mins) or len(set(mins)) != len(mins):
        problems.append(
            doc.problem(["bands"], "bands must be listed lowest first, with rising min")
        )
    if mins and mins[0] > rubric.min_total:
        problems.append(
            doc.problem(
                ["bands", 0, "min"], f"the lowest band must start at or below {rubric.min_total:g}"
            )
        )
    if mins and mins[-1] > rubric.max_total:
        problems.append(
            doc.problem(["bands"], f"a band starts above the maximum mark {rubric.max_total:g}")
        )
    if problems:
        raise ContentError(problems)
    return rubric
