"""Courses: modules in order (optionally grouped into parts), with notional hours, credits,
outcomes and assessment.

A course is how the centre runs modules: an undergraduate year's empathy thread, a spiral thread
through the MBChB years, a postgraduate course, a CPD course, or a Creative Medicine / Medical
Humanities CPD or MSc course. UK credit: 1 credit = 10 notional learning hours. An MSc module says
where its hours go (module study, directed reading, seminars, assessment) and how big each
assessed component is, against the word tariff for its credits (:data:`WORD_TARIFF`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Literal

from ._curriculum import OutcomeField
from ._errors import ContentError, Problem, load_each
from ._schema import Data, FieldError, Ge, Gt, Le, MinLen, Slug, Text, validate
from ._yaml import YamlDocument, read_yaml

HOURS_PER_CREDIT = 10
COURSES_DIR = "courses"

Award = Literal["undergraduate-thread", "postgraduate-course", "cpd-course", "msc-module"]

WORD_TARIFF: dict[int, tuple[int, int]] = {7: (3000, 4000)}
"""Assessment size for 15 credits at each FHEQ level: (fewest, most) words or word equivalent,
across all of a course's components; a course of other credits scales it (30 credits: double)."""
TARIFF_CREDITS = 15
MSC_LEVEL = 7
"""An MSc module is at FHEQ level 7."""
WORDS_PER_PRESENTATION_MINUTE = 100
"""The documented equivalence for a presentation or performance: one minute counts as 100 words."""

Hours = Annotated[float, Ge(0), Le(2000)]
AssessmentForm = Literal["written", "portfolio", "presentation", "performance"]


@dataclass(frozen=True, kw_only=True)
class AssessmentSize(Data):
    """How big an assessed component is: ``words``, or for another form the word equivalence
    counted against the tariff, with ``equivalence`` saying how (and ``minutes`` when spoken)."""

    words: Annotated[int, Gt(0), Le(100_000)]
    form: AssessmentForm = "written"
    minutes: Annotated[int, Gt(0), Le(600)] | None = None
    equivalence: Text | None = None

    def __post_init__(self) -> None:
        if self.form != "written" and self.equivalence is None:
            raise FieldError(
                "equivalence",
                f"a {self.form} counts against the tariff as {self.words} words only with its "
                "equivalence stated (what is submitted, and how it adds up to that many words)",
            )
        spoken = self.form in {"presentation", "performance"}
        if spoken and self.minutes is None:
            raise FieldError("minutes", f"give the {self.form}'s length in minutes")
        if self.minutes is not None and not spoken:
            raise FieldError("minutes", "minutes are for a presentation or performance")


@dataclass(frozen=True, kw_only=True)
class Assessment(Data):
    """One assessed component: an nbgrader assignment in ``assignments/source``, or (without
    ``assignment``) work assessed elsewhere, such as a presentation in a seminar."""

    assignment: Slug | None = None
    title: Text
    weight: Annotated[int, Gt(0), Le(100)]  # percentage of the course mark
    size: AssessmentSize | None = None
    # the overall level a pass needs, for an assignment marked by a rubric by level (REFLECT)
    pass_level: Slug | None = None


@dataclass(frozen=True, kw_only=True)
class CourseHours(Data):
    """Where a course's notional hours go; together they make ``notional_hours``."""

    module_study: Hours  # the modules themselves, at least their minutes, with their exercises
    directed_reading: Hours
    seminars: Hours
    assessment: Hours  # preparing and completing the assessed work

    @property
    def total(self) -> float:
        return self.module_study + self.directed_reading + self.seminars + self.assessment


@dataclass(frozen=True, kw_only=True)
class Part(Data):
    """A group of a course's modules, in order: a year of a spiral thread, a block of a course."""

    title: Text
    summary: Text | None = None
    modules: Annotated[list[Slug], MinLen(1)]


@dataclass(frozen=True, kw_only=True)
class Course(Data):
    """A course file (``courses/<id>.yaml``)."""

    id: Slug
    title: Text
    award: Award
    summary: Text
    audience: Text
    modules: list[Slug] = field(default_factory=list)  # every module in order (from parts if given)
    notional_hours: Annotated[int, Gt(0), Le(2000)]
    credits: Annotated[int, Ge(0), Le(200)] | None = None
    # FHEQ level (4-8): sets the pass mark of assessed work (40% at 4-6, 50% at 7-8)
    fheq_level: Annotated[int, Ge(4), Le(8)] | None = None
    outcomes: Annotated[list[OutcomeField], MinLen(1)]
    assessment: list[Assessment] = field(default_factory=list)
    parts: list[Part] = field(default_factory=list)
    hours: CourseHours | None = None

    def __post_init__(self) -> None:
        grouped = [m for part in self.parts for m in part.modules]
        if self.parts and self.modules and self.modules != grouped:
            raise FieldError("parts", "list the modules in parts or in modules, not both")
        if self.parts:
            object.__setattr__(self, "modules", grouped)
        elif not self.modules:
            raise FieldError("modules", "list the course's modules (in modules, or in parts)")


@dataclass
class CourseContent:
    """A course as loaded, with the parsed file kept for pointing at lines."""

    spec: Course
    doc: YamlDocument

    @property
    def id(self) -> str:
        return self.spec.id


def module_locations(spec: Course) -> list[list[str | int]]:
    """Where each of ``spec.modules`` is written: ``modules.i`` or ``parts.j.modules.k``."""
    if not spec.parts:
        return [["modules", i] for i in range(len(spec.modules))]
    return [
        ["parts", j, "modules", k]
        for j, part in enumerate(spec.parts)
        for k in range(len(part.modules))
    ]


def tariff_words(credits: int, level: int) -> tuple[int, int] | None:
    """The (fewest, most) words of assessment for ``credits`` at ``level``, or None if no tariff."""
    if level not in WORD_TARIFF:
        return None
    low, high = WORD_TARIFF[level]
    return low * credits // TARIFF_CREDITS, high * credits // TARIFF_CREDITS


def _tariff_problems(doc: YamlDocument, spec: Course) -> list[Problem]:
    """The assessment adds up to the word tariff for the course's credits at its own FHEQ level,
    once the credits, the level and every component's size are stated (an MSc module must state
    them all; the problems of a missing one are reported where it is missing)."""
    sizes = [item.size.words for item in spec.assessment if item.size is not None]
    if spec.credits is None or spec.fheq_level is None or not sizes:
        return []
    tariff = tariff_words(spec.credits, spec.fheq_level)
    if tariff is None or len(sizes) != len(spec.assessment):
        return []
    low, high = tariff
    total = sum(sizes)
    if low <= total <= high:
        return []
    message = (
        f"the assessment adds up to {total:,} words or equivalent; the tariff for "
        f"{spec.credits} credits at level {spec.fheq_level} is {low:,} to {high:,}"
    )
    return [doc.problem(["assessment"], message)]


def _hours(value: float) -> str:
    return f"{value:g}"


def _hours_problems(doc: YamlDocument, spec: Course) -> list[Problem]:
    """The stated hours add up to the notional hours; an MSc module states them and its sizes."""
    problems = []
    if spec.award == "msc-module":
        if spec.credits is None:
            problems.append(doc.problem(["award"], "an MSc module states its credits (15 or 30)"))
        if spec.hours is None:
            problems.append(
                doc.problem(
                    ["notional_hours"],
                    "an MSc module says where its notional hours go: add hours: with "
                    "module_study, directed_reading, seminars and assessment",
                )
            )
        if not spec.assessment:
            problems.append(doc.problem(["award"], "an MSc module has assessment"))
        for i, item in enumerate(spec.assessment):
            if item.size is None:
                problems.append(
                    doc.problem(
                        ["assessment", i],
                        "state the component's size (size: words, or form and equivalence), "
                        "to compare with the tariff",
                    )
                )
    if spec.hours is not None and abs(spec.hours.total - spec.notional_hours) > 1e-9:
        h = spec.hours
        problems.append(
            doc.problem(
                ["hours"],
                f"module study {_hours(h.module_study)} + directed reading "
                f"{_hours(h.directed_reading)} + seminars {_hours(h.seminars)} + assessment "
                f"{_hours(h.assessment)} = {_hours(h.total)} hours, not the "
                f"{spec.notional_hours} notional hours",
            )
        )
    return problems


def load_course(path: str | Path) -> CourseContent:
    """Read and validate a course file; internal consistency problems raise :class:`ContentError`."""
    doc = read_yaml(Path(path))
    spec = validate(doc, Course)
    problems = doc.id_problems(spec.id)
    if spec.credits is not None and spec.credits * HOURS_PER_CREDIT != spec.notional_hours:
        problems.append(
            doc.problem(
                ["credits"],
                f"{spec.credits} credits means {spec.credits * HOURS_PER_CREDIT} notional hours "
                f"(1 credit = {HOURS_PER_CREDIT} hours), not {spec.notional_hours}",
            )
        )
    seen: set[str] = set()
    for module_id, loc in zip(spec.modules, module_locations(spec), strict=True):
        if module_id in seen:
            problems.append(doc.problem(loc, f"module {module_id!r} is listed twice"))
        seen.add(module_id)
    problems += _check_standard(doc, spec)
    if spec.assessment and sum(a.weight for a in spec.assessment) != 100:
        total = sum(a.weight for a in spec.assessment)
        problems.append(doc.problem(["assessment"], f"weights add up to {total}, not 100"))
    problems += _hours_problems(doc, spec)
    problems += _tariff_problems(doc, spec)
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
    if spec.award == "msc-module" and spec.fheq_level not in (None, MSC_LEVEL):
        problems.append(doc.problem(["fheq_level"], "an MSc module is at FHEQ level 7"))
    return problems


def check_course_links(
    course: CourseContent, module_minutes: dict[str, int], assignments: Path | None
) -> list[Problem]:
    """Problems linking a course to the curriculum: unknown modules or assignments, too few hours."""
    doc, spec = course.doc, course.spec
    problems = []
    for module_id, loc in zip(spec.modules, module_locations(spec), strict=True):
        if module_id not in module_minutes:
            problems.append(doc.problem(loc, f"no module with id {module_id!r}"))
    for i, item in enumerate(spec.assessment):
        if item.assignment is None:
            continue  # assessed outside nbgrader (a seminar, the VLE)
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
    elif spec.hours is not None and study_hours > spec.hours.module_study:
        problems.append(
            doc.problem(
                ["hours", "module_study"],
                f"the modules' minutes add up to {study_hours:.1f} hours, more than the "
                f"{_hours(spec.hours.module_study)} hours of module study",
            )
        )
    return problems


def find_courses(root: str | Path) -> list[Path]:
    folder = Path(root) / COURSES_DIR
    return sorted(folder.glob("*.yaml")) if folder.is_dir() else []


def loadable_courses(
    root: str | Path, *, skipped: Callable[[Path, ContentError], None] | None = None
) -> list[CourseContent]:
    """Every course in ``root/courses`` that loads, in file order. A broken one is left out
    (``courseware check`` names its problems), after ``skipped(file, error)`` when given."""
    return load_each(find_courses(root), load_course, skipped=skipped)


def modules_in_no_course(modules_root: str | Path) -> list[Problem]:
    """A warning at the ``module.yaml`` of each module under ``modules_root`` that no course of
    the curriculum (``courses/`` beside it) lists. Nothing when the curriculum has no courses, or
    when a course file does not load (its own check reports it; guessing would warn wrongly)."""
    from ._module import module_specs

    root = Path(modules_root)
    paths = find_courses(root.parent)
    if not paths:
        return []
    listed: set[str] = set()
    for path in paths:
        try:
            listed.update(load_course(path).spec.modules)
        except ContentError:
            return []
    problems = []
    for doc, module in module_specs(root):
        if module.id not in listed:
            problems.append(
                replace(
                    doc.problem(
                        ["id"],
                        f"module {module.id!r} belongs to no course: add it to a course in "
                        f"{COURSES_DIR}/ (under modules: or in one of its parts)",
                    ),
                    warning=True,
                )
            )
    return problems
