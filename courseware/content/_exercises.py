"""Exercises as content files: one YAML file per exercise in a module's ``exercises/`` folder.

Each file has a ``type`` that picks its model (``response-choice``, ``compose-response``,
``cue-spotting``, ``likert``, ``timed-write``, ``close-reading``, ``parallel-chart``) and an ``id``
equal to its file name. Errors name the file, line and field like every other content file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from ._errors import ContentError, Problem, load_each
from ._models import ReflectionPart, ReflectionParts
from ._order import Ordered
from ._schema import (
    After,
    Before,
    Data,
    Ge,
    Gt,
    Le,
    MaxLen,
    MinLen,
    OneOf,
    Slug,
    Str,
    Text,
    load_validated,
    validate,
)
from ._techniques import NURSE, TechniqueTag, takes_opportunity
from ._yaml import YamlDocument

EXERCISES_DIR = "exercises"


def _as_text_id(value: object) -> object:
    """Item ids are strings; ``3`` in YAML is read as a number, so accept it as ``"3"``."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


ItemId = Annotated[
    str,
    Str(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=40),
    Before(_as_text_id),
]


# Checks of one field (each error is reported at that field's line).


def _has_best(options: list[ResponseOption]) -> list[ResponseOption]:
    if not any(o.best for o in options):
        raise ValueError("mark at least one option 'best: true'")
    return options


def _has_cue(transcript: list[TranscriptLine]) -> list[TranscriptLine]:
    if not any(line.cue for line in transcript):
        raise ValueError("the key is empty: give at least one line a 'cue' explanation")
    return transcript


def _unique_items(items: list[LikertItem]) -> list[LikertItem]:
    ids = [item.id for item in items]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"duplicate item id {duplicates[0]!r}")
    return items


def _unique_aspects(questions: list[ReadingQuestion]) -> list[ReadingQuestion]:
    aspects = [q.aspect for q in questions]
    if len(aspects) != len(set(aspects)):
        raise ValueError("each aspect can be asked about once")
    return questions


@dataclass(frozen=True, kw_only=True)
class _Exercise(Data):
    """What every exercise has: an id (its file name), a title and an optional introduction."""

    kind: ClassVar[str]
    id: Slug
    title: Text
    intro: str | None = None


@dataclass(frozen=True, kw_only=True)
class ResponseOption(Data):
    """A candidate reply: its words, feedback that names the technique, and whether it is best."""

    text: Text
    feedback: Text
    techniques: list[TechniqueTag] = field(default_factory=list)
    best: bool = False


@dataclass(frozen=True, kw_only=True)
class ResponseChoiceSpec(_Exercise, Ordered):
    """A patient's statement and candidate replies; the learner picks one (then it is locked).

    The replies are shown shuffled for each learner unless ``order: fixed`` (with ``order_reason``).
    """

    kind: ClassVar[str] = "response-choice"
    type: Literal["response-choice"]
    speaker: Text = "Patient"
    statement: Text
    context: str | None = None
    options: Annotated[list[ResponseOption], MinLen(2), MaxLen(8), After(_has_best)]


@dataclass(frozen=True, kw_only=True)
class ModelReply(Data):
    """A reply an experienced clinician might give, with the techniques it uses."""

    text: Text
    techniques: list[TechniqueTag] = field(default_factory=list)
    comment: str | None = None


@dataclass(frozen=True, kw_only=True)
class ComposeResponseSpec(_Exercise):
    """Write your own reply, code it against NURSE (or other tags), then see model replies."""

    kind: ClassVar[str] = "compose-response"
    type: Literal["compose-response"]
    speaker: Text = "Patient"
    statement: Text
    context: str | None = None
    prompt: Text = "What would you say next? Write the words you would use."
    codes: Annotated[list[TechniqueTag], MinLen(1)] = field(default_factory=lambda: list(NURSE))
    model_replies: Annotated[list[ModelReply], MinLen(1)]


@dataclass(frozen=True, kw_only=True)
class TranscriptLine(Data):
    """One turn of a consultation; ``cue`` (why it is an empathic opportunity) puts it in the key."""

    speaker: Text
    text: Text
    cue: str | None = None
    note: str | None = None


@dataclass(frozen=True, kw_only=True)
class CueSpottingSpec(_Exercise):
    """A transcript; the learner marks the lines where the patient offers an empathic opportunity."""

    kind: ClassVar[str] = "cue-spotting"
    type: Literal["cue-spotting"]
    transcript: Annotated[list[TranscriptLine], MinLen(2), After(_has_cue)]

    @property
    def key(self) -> frozenset[int]:
        """Line numbers (from 1) the author marked as empathic opportunities."""
        return frozenset(i for i, line in enumerate(self.transcript, 1) if line.cue)


@dataclass(frozen=True, kw_only=True)
class LikertItem(Data):
    """One statement to rate; ``reverse`` marks a reverse-keyed item for scoring."""

    id: ItemId
    text: Text
    reverse: bool = False


@dataclass(frozen=True, kw_only=True)
class LikertResponse(Data):
    """The answers each item allows: whole numbers min..max, labelled anchors, maybe "does not apply"."""

    min: Annotated[int, Ge(-10), Le(100)]
    max: Annotated[int, Ge(-10), Le(100)]
    anchors: dict[int, Text] = field(default_factory=dict)
    not_applicable: Text | None = None

    def __post_init__(self) -> None:
        if self.min >= self.max:
            raise ValueError("max must be greater than min")
        outside = [p for p in self.anchors if not self.min <= p <= self.max]
        if outside:
            raise ValueError(f"anchor {outside[0]} is outside {self.min}..{self.max}")
        for end in (self.min, self.max):
            if end not in self.anchors:
                raise ValueError(f"label both ends of the scale (anchor {end} is missing)")

    def label(self, point: int) -> str:
        anchor = self.anchors.get(point)
        return f"{point}: {anchor}" if anchor else str(point)


NOT_APPLICABLE = "na"
"""The stored answer for "does not apply" (as the evaluation code reads it)."""


@dataclass(frozen=True, kw_only=True)
class LikertSpec(_Exercise):
    """A questionnaire for self-rating or pre/post measures; one answer per item.

    ``instrument`` names the scoring key the evaluation code uses; ``wave`` (e.g. ``pre``,
    ``post``) tells answers to the same instrument apart and can be overridden in the notebook.
    """

    kind: ClassVar[str] = "likert"
    type: Literal["likert"]
    instrument: Slug
    wave: Slug = "once"
    response: LikertResponse
    items: Annotated[list[LikertItem], MinLen(1), After(_unique_items)]
    allow_skip: bool = False
    show_total: bool = False

    def allowed(self, value: object) -> bool:
        """Whether ``value`` is an answer an item accepts."""
        if value == NOT_APPLICABLE:
            return self.response.not_applicable is not None
        return (
            isinstance(value, int)
            and not isinstance(value, bool)
            and self.response.min <= value <= self.response.max
        )

    def total(self, answers: dict[str, Any]) -> int | None:
        """Sum with reverse keys applied, when every item has a number (a self-rating summary)."""
        low, high = self.response.min, self.response.max
        values = []
        for item in self.items:
            value = answers.get(item.id)
            if not isinstance(value, int):
                return None
            values.append(low + high - value if item.reverse else value)
        return sum(values)


@dataclass(frozen=True, kw_only=True)
class TimedWriteSpec(_Exercise):
    """Narrative medicine's timed writing: a prompt, a visible countdown, a word count."""

    kind: ClassVar[str] = "timed-write"
    type: Literal["timed-write"]
    prompt: Text
    minutes: Annotated[float, Gt(0), Le(60)]


Aspect = Literal["frame", "form", "time", "plot", "desire"]
ASPECT_QUESTIONS: dict[str, str] = {
    "frame": "Frame: where does the text come from, who is speaking, and to whom?",
    "form": "Form: what shape is it? Notice its genre, images, words and silences.",
    "time": "Time: how does time move? What is told quickly, what slowly, what left out?",
    "plot": "Plot: what happens, and what makes it happen?",
    "desire": "Desire: what does the text want from you? What did you want as you read it?",
}
"""The close-reading questions (after Charon's drill) used when an author gives none."""


@dataclass(frozen=True, kw_only=True)
class ReadingQuestion(Data):
    aspect: Aspect
    prompt: str | None = None

    @property
    def question(self) -> str:
        return self.prompt or ASPECT_QUESTIONS[self.aspect]


@dataclass(frozen=True, kw_only=True)
class CloseReadingSpec(_Exercise):
    """A short passage with guided questions (frame, form, time, plot, desire) and notes beside it."""

    kind: ClassVar[str] = "close-reading"
    type: Literal["close-reading"]
    passage: Text
    source: str | None = None
    questions: Annotated[list[ReadingQuestion], After(_unique_aspects)] = field(
        default_factory=lambda: [ReadingQuestion(aspect=a) for a in ASPECT_QUESTIONS]  # type: ignore[arg-type]
    )


PARALLEL_CHART_SECTIONS = (
    ReflectionPart(
        id="person", title="The person", prompt="Who is this patient, beyond the diagnosis?"
    ),
    ReflectionPart(
        id="encounter",
        title="What happened",
        prompt="Tell what happened today in your own words, as you would tell a friend.",
    ),
    ReflectionPart(id="felt", title="What I felt", prompt="What did you feel, then and now?"),
    ReflectionPart(
        id="unwritten",
        title="What the notes leave out",
        prompt="What did you notice that has no place in the clinical record?",
    ),
    ReflectionPart(
        id="forward",
        title="What I take forward",
        prompt="What will you carry into your next meeting with this patient, or another?",
    ),
)
"""The default parallel chart template (after Charon): the story the hospital chart leaves out."""


@dataclass(frozen=True, kw_only=True)
class ParallelChartSpec(_Exercise):
    """The narrative-medicine parallel chart: private writing in ordinary language about a patient."""

    kind: ClassVar[str] = "parallel-chart"
    type: Literal["parallel-chart"]
    sections: ReflectionParts = field(default_factory=lambda: list(PARALLEL_CHART_SECTIONS))


ExerciseSpec = (
    ResponseChoiceSpec
    | ComposeResponseSpec
    | CueSpottingSpec
    | LikertSpec
    | TimedWriteSpec
    | CloseReadingSpec
    | ParallelChartSpec
)
AnyExercise = Annotated[ExerciseSpec, OneOf("type")]
"""Any exercise, told apart by its ``type``."""

EXERCISE_TYPES: dict[str, type[_Exercise]] = {
    model.kind: model
    for model in (
        ResponseChoiceSpec,
        ComposeResponseSpec,
        CueSpottingSpec,
        LikertSpec,
        TimedWriteSpec,
        CloseReadingSpec,
        ParallelChartSpec,
    )
}
"""Each ``type:`` an exercise file may give, and its model."""

EXERCISE_OPTIONS: dict[str, frozenset[str]] = {"likert": frozenset({"wave"})}
"""Keyword options a notebook may pass to ``module.exercise(id, ...)``, by exercise type."""


def lint_exercise(spec: ExerciseSpec, doc: YamlDocument) -> list[Problem]:
    """Checks beyond the schema: the id matches the file name; compose codes can be self-coded."""
    problems = doc.id_problems(spec.id)
    if isinstance(spec, ComposeResponseSpec) and not any(
        takes_opportunity(r.techniques) for r in spec.model_replies
    ):
        problems.append(
            doc.problem(
                ["model_replies"],
                "no model reply is tagged with an empathic technique to learn from",
            )
        )
    return problems


def _validate_exercise(doc: YamlDocument) -> ExerciseSpec:
    kind = doc.data.get("type")
    model = EXERCISE_TYPES.get(kind) if isinstance(kind, str) else None
    if model is None:
        known = ", ".join(EXERCISE_TYPES)
        message = "required field is missing" if kind is None else f"must be one of: {known}"
        raise ContentError([doc.problem(["type"], f"{message} (exercise types: {known})")])
    return validate(doc, model)  # type: ignore[return-value]


def load_exercise(path: str | Path) -> ExerciseSpec:
    """Read and validate one exercise file; raise :class:`ContentError` listing every problem."""
    doc, spec = load_validated(Path(path), AnyExercise, _validate_exercise)
    problems = lint_exercise(spec, doc)
    if problems:
        raise ContentError(problems)
    return spec


def load_exercises(directory: Path) -> tuple[dict[str, ExerciseSpec], list[Problem]]:
    """Every ``exercises/*.yaml`` of a module folder, and the problems found in them."""
    found: dict[str, ExerciseSpec] = {}
    problems: list[Problem] = []
    folder = directory / EXERCISES_DIR
    if not folder.is_dir():
        return found, problems
    paths = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
    for spec in load_each(paths, load_exercise, problems=problems):
        found[spec.id] = spec
    return found, problems
