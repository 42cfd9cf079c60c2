"""A marking rubric as validated data: criteria, ordered levels with descriptors, and how a script's
mark is reached.

Two kinds of rubric:

* **By points** (narrative-medicine): a marker's script mark is the sum of the points of the level
  chosen for each criterion; bands (fail / pass / merit / distinction) divide the total.
* **By level** (REFLECT, Wald et al. 2012): a holistic rubric. The marker chooses a level per
  criterion and an **overall level**, their holistic judgement, which may not exceed what the
  criteria support: no higher than the level that at least half of the criteria reach or exceed
  (the median criterion level). Learning (confirmatory or transformative) is judged only when the
  overall level is the top one. The ordered outcomes (each level, the top one split by learning)
  are the script's *grades*; they are the bands, and moderation, agreement and exports work on them.

A rubric never sets the pass mark. A course file does (:class:`Standard`): its FHEQ level gives
the pass mark (40% at levels 4-6, 50% at levels 7-8, UK practice) and, for a rubric by level, the
assessment's ``pass_level``. nbgrader still needs a score for the answer cell; a grade's points
are :meth:`Rubric.grade_points`: the pass level is worth exactly the pass mark, grades above it
rise evenly to full marks, grades below it sit evenly under the pass mark. A script therefore
reaches the pass mark in the gradebook exactly when its overall level reaches the pass level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field

from ..content import ContentError, Reference, Slug, Text, read_yaml, validate
from ..content import Model as _Model

OVERALL = "overall"  # the field names of the overall judgement beside the criteria's levels
LEARNING = "learning"


class Level(_Model):
    """One level of a criterion: its name, the points it earns (rubrics by points only), and what
    work at that level shows."""

    id: Slug
    name: Text
    points: float | None = Field(default=None, ge=0, le=100)
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


class OverallLevel(_Model):
    """One step of a rubric by level; ``reflective`` levels are writing that reflects (REFLECT's
    reflection and critical reflection), as opposed to action described."""

    id: Slug
    name: Text
    descriptor: Text
    reflective: bool = False


class LearningLevel(_Model):
    id: Slug
    name: Text
    descriptor: Text


class Overall(_Model):
    """The holistic judgement of a rubric by level: its levels (lowest first, the criteria use the
    same ids) and the kinds of learning judged within the top level."""

    name: Text
    levels: list[OverallLevel] = Field(min_length=2)
    learning: list[LearningLevel] = Field(min_length=2)


@dataclass(frozen=True)
class Standard:
    """What a course sets for one assessed assignment (from ``courses/<id>.yaml``): the academic
    level, the pass mark it implies (percent), the overall level a pass needs (rubrics by level),
    and the answer cell's points the grades map to."""

    course: str
    fheq_level: int
    pass_mark: float
    pass_level: str | None
    out_of: float


def pass_mark_for(fheq_level: int) -> float:
    """The UK pass mark, in percent, at an FHEQ level: 40 at levels 4-6, 50 at levels 7-8."""
    if not 4 <= fheq_level <= 8:
        raise ValueError(f"FHEQ levels run from 4 to 8, not {fheq_level}")
    return 40.0 if fheq_level <= 6 else 50.0


def _floor_half(value: float) -> float:
    return math.floor(value * 2 + 1e-9) / 2


def _ceil_half(value: float) -> float:
    return math.ceil(value * 2 - 1e-9) / 2


class Rubric(_Model):
    id: Slug
    title: Text
    summary: str | None = None
    criteria: list[Criterion] = Field(min_length=1)
    overall: Overall | None = None
    bands: list[Band] = Field(default_factory=list)
    references: list[Reference] = Field(default_factory=list)
    standard: Standard | None = Field(default=None, exclude=True)

    @property
    def by_level(self) -> bool:
        """Marked by level (holistic, REFLECT) rather than by summed points."""
        return self.overall is not None

    @property
    def max_total(self) -> float:
        if self.overall is not None:
            if self.standard is None:
                raise ValueError(
                    f"rubric {self.id!r} is marked by level: its points come from a course"
                )
            return self.standard.out_of
        return sum(max(level.points or 0 for level in c.levels) for c in self.criteria)

    @property
    def min_total(self) -> float:
        if self.overall is not None:
            return 0.0
        return sum(min(level.points or 0 for level in c.levels) for c in self.criteria)

    def criterion(self, criterion_id: str) -> Criterion:
        for criterion in self.criteria:
            if criterion.id == criterion_id:
                return criterion
        raise KeyError(f"rubric {self.id!r} has no criterion {criterion_id!r}")

    def _criteria_levels(self, levels: dict[str, str]) -> None:
        given = {k for k in levels if not (self.overall and k in (OVERALL, LEARNING))}
        missing = [c.id for c in self.criteria if c.id not in given]
        unknown = sorted(given - {c.id for c in self.criteria})
        if missing or unknown:
            raise ValueError(f"criteria missing: {missing or 'none'}; unknown: {unknown or 'none'}")
        for criterion in self.criteria:
            if not any(lv.id == levels[criterion.id] for lv in criterion.levels):
                names = ", ".join(lv.id for lv in criterion.levels)
                raise ValueError(
                    f"{criterion.id}: no level {levels[criterion.id]!r} (levels: {names})"
                )

    # -- rubrics by level --------------------------------------------------------------------------
    def ceiling(self, levels: dict[str, str]) -> str:
        """The highest overall level the criteria support: the median criterion level (the level
        at least half of the criteria reach or exceed)."""
        assert self.overall is not None
        order = [lv.id for lv in self.overall.levels]
        ranks = sorted(order.index(levels[c.id]) for c in self.criteria)
        return order[ranks[(len(ranks) - 1) // 2]]

    def grades(self) -> list[tuple[str, str, str | None]]:
        """The ordered outcomes of a rubric by level: ``(grade id, overall level, learning)``,
        lowest first; the top level is split by learning."""
        assert self.overall is not None
        *lower, top = self.overall.levels
        return [(lv.id, lv.id, None) for lv in lower] + [
            (f"{top.id}-{ln.id}", top.id, ln.id) for ln in self.overall.learning
        ]

    def grade_name(self, grade: str) -> str:
        assert self.overall is not None
        names = {lv.id: lv.name for lv in self.overall.levels}
        learning = {ln.id: ln.name for ln in self.overall.learning}
        for gid, level, ln in self.grades():
            if gid == grade:
                return names[level] + (f", {learning[ln].lower()}" if ln else "")
        raise KeyError(grade)

    def grade(self, levels: dict[str, str]) -> str:
        """The grade of one marker's levels (criteria, ``overall`` and ``learning`` for the top
        level); raises ``ValueError`` naming what is wrong, including an overall level above what
        the criteria support."""
        assert self.overall is not None
        self._criteria_levels(levels)
        order = [lv.id for lv in self.overall.levels]
        names = {lv.id: lv.name for lv in self.overall.levels}
        overall = levels.get(OVERALL) or ""
        if overall not in order:
            raise ValueError(f"choose an overall level ({', '.join(order)})")
        ceiling = self.ceiling(levels)
        if order.index(overall) > order.index(ceiling):
            raise ValueError(
                f"the overall level {names[overall]} is above what the criteria support: at "
                f"most {names[ceiling]} (the level at least half of the criteria reach)"
            )
        learning = levels.get(LEARNING) or ""
        kinds = [ln.id for ln in self.overall.learning]
        if overall == order[-1]:
            if learning not in kinds:
                raise ValueError(
                    f"{names[overall]} needs a judgement of learning ({', '.join(kinds)})"
                )
            return f"{overall}-{learning}"
        if learning:
            raise ValueError(
                f"learning ({learning}) is judged only within {names[order[-1]]}, not "
                f"{names[overall]}"
            )
        return overall

    def grade_points(self, standard: Standard) -> dict[str, float]:
        """Each grade's points in the answer cell under a course's standard (see the module
        docstring): the pass level is worth the pass mark; grades below it are spread evenly under
        it (rounded down to half marks), grades above it evenly up to full marks (rounded up)."""
        assert self.overall is not None and standard.pass_level is not None
        grades = [g for g, _, _ in self.grades()]
        k = [lv for _, lv, _ in self.grades()].index(standard.pass_level)
        top, pass_points = standard.out_of, standard.out_of * standard.pass_mark / 100
        above = len(grades) - 1 - k
        points = {}
        for i, grade in enumerate(grades):
            if i < k:
                points[grade] = _floor_half(pass_points * (i + 1) / (k + 1))
            elif above == 0:
                points[grade] = pass_points
            else:
                points[grade] = min(
                    top, _ceil_half(pass_points + (top - pass_points) * (i - k) / above)
                )
        return points

    def total(self, levels: dict[str, str]) -> float:
        """The mark for one level id per criterion (and, by level, the overall judgement); raises
        ``ValueError`` naming what is wrong."""
        if self.overall is not None:
            if self.standard is None:
                raise ValueError(
                    f"rubric {self.id!r} is marked by level; its points come from the course's "
                    "standard (courseware grade scripts --course-file)"
                )
            return self.grade_points(self.standard)[self.grade(levels)]
        self._criteria_levels(levels)
        total = 0.0
        for criterion in self.criteria:
            chosen = next(lv for lv in criterion.levels if lv.id == levels[criterion.id])
            total += chosen.points or 0
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

    def for_standard(self, standard: Standard) -> Rubric:
        """This rubric under a course's standard. By level: its bands are the grades at their
        points, those below the pass level failing. By points: the bands as written, except that
        the first passing band starts at the course's pass mark."""
        if self.overall is not None:
            if standard.pass_level not in [lv.id for lv in self.overall.levels]:
                known = ", ".join(lv.id for lv in self.overall.levels)
                raise ValueError(
                    f"rubric {self.id!r} needs the course's pass_level for this assessment, one "
                    f"of: {known}"
                )
            points = self.grade_points(standard)
            order = [lv.id for lv in self.overall.levels]
            pass_at = order.index(standard.pass_level)
            bands = [
                Band(
                    id=grade,
                    name=self.grade_name(grade),
                    min=points[grade],
                    fail=order.index(level) < pass_at,
                )
                for grade, level, _ in self.grades()
            ]
            return self.model_copy(update={"bands": bands, "standard": standard})
        pass_points = self.max_total * standard.pass_mark / 100
        bands = list(self.bands)
        first_pass = next((i for i, b in enumerate(bands) if not b.fail), None)
        if first_pass is not None:
            nxt = bands[first_pass + 1].min if first_pass + 1 < len(bands) else math.inf
            if not pass_points < nxt:
                raise ValueError(
                    f"the pass mark {pass_points:g} is not below the {bands[first_pass + 1].name} "
                    f"band ({nxt:g}) of rubric {self.id!r}"
                )
            bands[first_pass] = bands[first_pass].model_copy(update={"min": pass_points})
            for i in range(first_pass):
                if bands[i].min >= pass_points:
                    raise ValueError(f"band {bands[i].name!r} starts above the pass mark")
        return self.model_copy(update={"bands": bands, "standard": standard})


def load_rubric(path: str | Path) -> Rubric:
    """Read and check a rubric file; every problem names its line and field."""
    doc = read_yaml(Path(path))
    rubric = validate(doc, Rubric)
    problems = doc.id_problems(rubric.id)
    if "standard" in (doc.data or {}):
        problems.append(
            doc.problem(["standard"], "a rubric sets no standard: the course file does")
        )
    seen: set[str] = set()
    order = [lv.id for lv in rubric.overall.levels] if rubric.overall else []
    for i, criterion in enumerate(rubric.criteria):
        if criterion.id in seen:
            problems.append(
                doc.problem(["criteria", i, "id"], f"duplicate criterion {criterion.id!r}")
            )
        if criterion.id in (OVERALL, LEARNING) and rubric.overall is not None:
            problems.append(
                doc.problem(["criteria", i, "id"], f"{criterion.id!r} is the overall judgement")
            )
        seen.add(criterion.id)
        if len({level.id for level in criterion.levels}) != len(criterion.levels):
            problems.append(doc.problem(["criteria", i, "levels"], "duplicate level id"))
        if rubric.overall is not None:
            if [lv.id for lv in criterion.levels] != order:
                problems.append(
                    doc.problem(
                        ["criteria", i, "levels"],
                        f"a rubric by level uses the overall levels for each criterion, lowest "
                        f"first: {', '.join(order)}",
                    )
                )
            if any(lv.points is not None for lv in criterion.levels):
                problems.append(
                    doc.problem(
                        ["criteria", i, "levels"],
                        "a rubric by level gives no points per level (the course's standard does)",
                    )
                )
            continue
        points = [level.points for level in criterion.levels]
        if any(p is None for p in points):
            problems.append(
                doc.problem(["criteria", i, "levels"], "every level needs points (or an overall)")
            )
            continue
        if points != sorted(points) or len(set(points)) != len(points):  # type: ignore[type-var]
            problems.append(
                doc.problem(
                    ["criteria", i, "levels"],
                    "levels must be listed lowest first, with rising points",
                )
            )
    if rubric.overall is not None:
        if rubric.bands:
            problems.append(
                doc.problem(
                    ["bands"],
                    "a rubric by level has no bands: its grades are the bands, and the course "
                    "sets the pass",
                )
            )
        if problems:
            raise ContentError(problems)
        return rubric
    if not rubric.bands:
        problems.append(doc.problem(["bands"], "a rubric by points needs bands"))
        raise ContentError(problems)
    if problems:
        raise ContentError(problems)
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


def course_standard(
    course_file: str | Path, assignment: str, rubric: Rubric, out_of: float
) -> Standard:
    """The standard ``courses/<id>.yaml`` sets for ``assignment`` marked with ``rubric`` in a cell
    worth ``out_of`` points; raises ``ValueError`` saying what the course file lacks. At FHEQ level
    7 and above a rubric by level must set a reflective pass level (REFLECT: at least reflection)."""
    from ..content import load_course

    course = load_course(course_file).spec
    entry = next((a for a in course.assessment if a.assignment == assignment), None)
    where = f"{Path(course_file).name}"
    if entry is None:
        raise ValueError(f"{where} does not assess {assignment!r} (its assessment list)")
    if course.fheq_level is None:
        raise ValueError(f"{where} has no fheq_level, which sets the pass mark")
    standard = Standard(
        course.id, course.fheq_level, pass_mark_for(course.fheq_level), entry.pass_level, out_of
    )
    if rubric.overall is not None:
        levels = {lv.id: lv for lv in rubric.overall.levels}
        if entry.pass_level not in levels:
            raise ValueError(
                f"{where}: {assignment} is marked by level with rubric {rubric.id!r}: set its "
                f"pass_level to one of {', '.join(levels)}"
            )
        if course.fheq_level >= 7 and not levels[entry.pass_level].reflective:
            lowest = next(lv.id for lv in rubric.overall.levels if lv.reflective)
            raise ValueError(
                f"{where}: at FHEQ level {course.fheq_level} a pass needs reflective writing: "
                f"pass_level must be {lowest} or above, not {entry.pass_level}"
            )
    elif entry.pass_level is not None:
        raise ValueError(f"{where}: rubric {rubric.id!r} is marked by points: no pass_level")
    rubric.for_standard(standard)  # its bands must fit the pass mark
    return standard
