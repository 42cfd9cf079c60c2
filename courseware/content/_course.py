"""Courses: modules in order, with notional hours, credits, outcomes and assessment.

A course is how the centre runs modules: an undergraduate year's empathy thread, a postgraduate
course, a CPD course, or a Creative Medicine / Medical Humanities CPD or MSc course. UK credit:
1 credit = 10 notional learning hours.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

from ._curriculum import OutcomeField
from ._errors import ContentError, Problem
from ._schema import Data, Ge, Gt, Le, MinLen, Slug, Text, validate
from ._yaml import YamlDocument, read_yaml

HOURS_PER_CREDIT = 10
COURSES_DIR = "courses"

Award = Literal["undergraduate-thread", "postgraduate-course", "cpd-course", "msc-module"]


@dataclass(frozen=True, kw_only=True)
class Assessment(Data):
    """One assessed component, linked to an nbgrader assignment in ``assignments/source``."""

    assignment: Slug
    title: Text
    weight: Annotated[int, Gt(0), Le(100)]  # percentage of the course mark
    # the overall level a pass needs, for an assignment marked by a rubric by level (REFLECT)
    pass_level: Slug | None = None


@dataclass(frozen=True, kw_only=True)
class Course(Data):
    """A course file (``courses/<id>.yaml``)."""

    id: Slug
    title: Text
    award: Award
    summary: Text
    audience: Text
    modules: Annotated[list[Slug], MinLen(1)]
    notional_hours: Annotated[int, Gt(0), Le(2000)]
    credits: Annotated[int, Ge(0), Le(200)] | None = None
    # FHEQ level (4-8): sets the pass mark of assessed work (40% at 4-6, 50% at 7-8)
    fheq_level: Annotated[int, Ge(4), Le(8)] | None = None
    outcomes: Annotated[list[OutcomeField], MinLen(1)]
    assessment: list[Assessment] = field(default_factory=list)


@dataclass
class CourseContent:
    """A course as loaded, with the parsed file kept for pointing at lines."""

    spec: Course
    doc: YamlDocument

    @property
    def id(self) -> str:
        return self.spec.id


def load_course(path: str | Path) -> CourseContent:
    """Read and validate a course file; internal consistency problems raise :class:`ContentError`."""
    doc = read_yaml(Path(path))
    spec = validate(doc, Course)
    problems: list[Problem] = []
    if doc.path.stem != spec.id:
        problems.append(
            doc.problem(["id"], f"id {spec.id!r} differs from the file name {doc.path.stem!r}")
        )
    if spec.credits is not None and spec.credits * HOURS_PER_CREDIT != spec.notional_hours:
        problems.append(
            doc.problem(
                ["credits"],
                f"{spec.credits} credits means {spec.credits * HOURS_PER_CREDIT} notional hours "
                f"(1 credit = {HOURS_PER_CREDIT} hours), not {spec.notional_hours}",
            )
        )
    seen: set[str] = set()
    for i, module_id in enumerate(spec.modules):
        if module_id in seen:
            problems.append(doc.problem(["modules", i], f"module {module_id!r} is listed twice"))
        seen.add(module_id)
    problems += _check_standard(doc, spec)
    if spec.assessment and sum(a.weight for a in spec.assessment) != 100:
        total = sum(a.weight for a in spec.assessment)
        problems.append(doc.problem(["assessment"], f"weights add up to {total}, not 100"))
    if problems:
        raise ContentError(problems)
    return CourseContent(spec, doc)


def _check_standard(doc: YamlDocument, spec: Course) -> list[Problem]:
    """Assessed work needs the academic level its pass mark comes from; an MSc module is level 7."""
    problems = []
    if spec.assessment and spec.fheq_level is None:
        problems.append(
            doc.problem(
                ["assessment"],
                "assessed work needs the course's academic level: add fheq_level (4-6: pass "
                "mark 40%; 7-8: 50%)",
            )
        )
    if spec.award == "msc-module" and spec.fheq_level not in (None, 7):
        problems.append(doc.problem(["fheq_level"], "an MSc module is at FHEQ level 7"))
    return problems


def check_course_links(
    course: CourseContent, module_minutes: dict[str, int], assignments: Path | None
) -> list[Problem]:
    """Problems linking a course to the curriculum: unknown modules or assignments, too few hours."""
    doc, spec = course.doc, course.spec
    problems = []
    for i, module_id in enumerate(spec.modules):
        if module_id not in module_minutes:
            problems.append(doc.problem(["modules", i], f"no module with id {module_id!r}"))
    for i, item in enumerate(spec.assessment):
        if assignments is None or not (assignments / item.assignment).is_dir():
            problems.append(
                doc.problem(
                    ["assessment", i, "assignment"],
                    f"no assignment {item.assignment!r} in assignments/source",
                )
            )
    study_hours = sum(module_minutes.get(m, 0) for m in spec.modules) / 60
    if study_hours > spec.notional_hours:
        problems.append(
            doc.problem(
                ["notional_hours"],
                f"the modules alone take {study_hours:.1f} hours, more than the "
                f"{spec.notional_hours} notional hours",
            )
        )
    return problems


def find_courses(root: str | Path) -> list[Path]:
    folder = Path(root) / COURSES_DIR
    return sorted(folder.glob("*.yaml")) if folder.is_dir() else []
