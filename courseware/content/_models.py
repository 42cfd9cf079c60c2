"""Pydantic models of the content an author writes: modules, reflection prompts and vignettes.

The models hold the rules (what a vignette allows from which node), so widgets, grading and
analytics share them and a unit test can exercise them without a kernel.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from ._conditions import When
from ._curriculum import OutcomeField, SelfCheckQuestion
from ._errors import ContentError, Problem
from ._techniques import TechniqueTag
from ._yaml import YamlDocument

SCHEMA_VERSION = 1
"""Version of the content schema; stored with every saved response."""

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$", max_length=80)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]

Stream = Literal[
    "foundation-year",
    "undergraduate",
    "postgraduate",
    "cpd",
    "creative-medicine",
    "medical-humanities",
    "walk-a-mile",
]
Stage = Literal[
    "medical-foundation-year",
    "undergraduate",
    "foundation-doctor",
    "specialty-training",
    "cpd",
    "all-stages",
]

STREAM_TITLES: dict[str, str] = {
    "foundation-year": "Medical Foundation Year",
    "undergraduate": "Undergraduate",
    "postgraduate": "Postgraduate",
    "cpd": "CPD and compassionate leadership",
    "creative-medicine": "Creative Medicine",
    "medical-humanities": "Medical Humanities",
    "walk-a-mile": "Walk a mile in your shoes",
}


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=False, defer_build=True
    )


class Reference(_Model):
    """A citation for an empirical claim: author, year, title, journal."""

    authors: Text
    year: int = Field(ge=1800, le=2100)
    title: Text
    journal: Text
    volume: str | None = None
    pages: str | None = None
    doi: str | None = None

    def citation(self) -> str:
        parts = [f"{self.authors} ({self.year}). {self.title}. {self.journal}"]
        if self.volume:
            parts.append(f" {self.volume}")
        if self.pages:
            parts.append(f":{self.pages}")
        parts.append(".")
        if self.doi:
            parts.append(f" doi:{self.doi}")
        return "".join(parts)


class ReflectionPart(_Model):
    """One box of a structured reflection, with its own prompt."""

    id: Slug
    title: Text
    prompt: Text


WHAT_SO_WHAT_NOW_WHAT = (
    ReflectionPart(
        id="what", title="What?", prompt="Describe what happened, and what you saw, heard and did."
    ),
    ReflectionPart(
        id="so-what",
        title="So what?",
        prompt="What did it mean? What did you feel and think, and what does it tell you?",
    ),
    ReflectionPart(
        id="now-what",
        title="Now what?",
        prompt="What will you do differently or keep doing, and how will you know it worked?",
    ),
)
"""The What? So what? Now what? frame used when a prompt sets ``structure: what-so-what-now-what``."""


class ReflectionPrompt(_Model):
    """A reflective-writing exercise; the learner's text is private and autosaved.

    ``min_words`` is the word-count target (shown, never enforced). ``structure`` or ``parts``
    split the writing into guided boxes.
    """

    id: Slug
    title: Text
    prompt: Text
    guidance: str | None = None
    min_words: int | None = Field(default=None, ge=1, le=10_000)
    structure: Literal["what-so-what-now-what"] | None = None
    parts: list[ReflectionPart] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_structure(self) -> ReflectionPrompt:
        if self.structure and self.parts:
            raise ValueError("give either 'structure' or 'parts', not both")
        ids = [p.id for p in self.parts]
        if len(ids) != len(set(ids)):
            raise ValueError("each part needs its own id")
        return self

    @property
    def sections(self) -> tuple[ReflectionPart, ...]:
        """The guided boxes, or none for a single free-text reflection."""
        if self.structure == "what-so-what-now-what":
            return WHAT_SO_WHAT_NOW_WHAT
        return tuple(self.parts)


class Module(_Model):
    """A module's metadata and the exercises it offers (``module.yaml``)."""

    id: Slug
    title: Text
    stream: Stream
    stage: Stage
    minutes: int = Field(gt=0, le=6000)
    summary: Text
    outcomes: list[OutcomeField] = Field(min_length=1)
    references: list[Reference] = Field(default_factory=list)
    reflections: list[ReflectionPrompt] = Field(default_factory=list)
    vignettes: list[str] = Field(default_factory=list)
    cpd_hours: float | None = Field(default=None, gt=0, le=100)
    prerequisites: list[Slug] = Field(default_factory=list)
    content_warnings: list[Text] = Field(default_factory=list)
    self_check: list[SelfCheckQuestion] = Field(default_factory=list)
    facilitator_notes: str | None = None

    @property
    def stream_title(self) -> str:
        return STREAM_TITLES[self.stream]

    def reflection(self, reflection_id: str) -> ReflectionPrompt:
        for prompt in self.reflections:
            if prompt.id == reflection_id:
                return prompt
        known = ", ".join(p.id for p in self.reflections) or "none"
        raise KeyError(f"module {self.id!r} has no reflection {reflection_id!r} (it has: {known})")


class Route(_Model):
    """Where a choice leads instead of its ``to`` when ``when`` holds (after the choice's effects)."""

    when: When = Field(min_length=1)
    to: str


class Choice(_Model):
    """One option at a vignette node: what the learner says or does, where it leads, and why.

    Optional parts: ``when`` (offered only if the conditions hold), ``effects`` (added to counters),
    ``routes`` (conditional destinations), ``techniques`` (tags naming what the reply does),
    ``expert: true`` (the expert's pick at this node) and ``comment`` (the expert's commentary).
    """

    label: Text
    to: str
    feedback: str | None = None
    when: When = Field(default_factory=list)
    effects: dict[str, int] = Field(default_factory=dict)
    routes: list[Route] = Field(default_factory=list)
    techniques: list[TechniqueTag] = Field(default_factory=list)
    expert: bool = False
    comment: str | None = None


class Variant(_Model):
    """Text shown instead of a node's own when ``when`` holds (e.g. an ending that depends on trust)."""

    when: When = Field(min_length=1)
    text: Text
    title: str | None = None


class Node(_Model):
    """A point in a vignette: Markdown text and either choices or ``end: true``.

    ``opportunity`` describes the empathic opportunity the patient offers here (Suchman's cue), so
    the debrief can count it as taken or missed; ``techniques`` tags what the story's clinician
    does at this node (in perspective mode, what the learner experiences).
    """

    text: Text
    title: str | None = None
    choices: list[Choice] = Field(default_factory=list)
    end: bool = False
    variants: list[Variant] = Field(default_factory=list)
    opportunity: str | None = None
    techniques: list[TechniqueTag] = Field(default_factory=list)


class Counter(_Model):
    """A number choices change (rapport, trust, the patient's anxiety), kept within min and max."""

    label: Text
    start: int = 0
    min: int | None = None
    max: int | None = None
    shown: bool = True
    description: str | None = None

    @model_validator(mode="after")
    def _bounds(self) -> Counter:
        low = self.min if self.min is not None else self.start
        high = self.max if self.max is not None else self.start
        if not low <= self.start <= high:
            raise ValueError(f"start {self.start} is outside min {self.min} and max {self.max}")
        return self

    def clamp(self, value: int) -> int:
        if self.min is not None:
            value = max(self.min, value)
        if self.max is not None:
            value = min(self.max, value)
        return value


class Perspective(_Model):
    """Perspective mode ("walk a mile in your shoes"): the learner plays the patient or carer."""

    role: Literal["patient", "carer"]
    character: Text
    intro: str | None = None


class VignetteSpec(_Model):
    """The authoring format of a branching case (a virtual patient).

    Everything after ``nodes`` is optional, so a plain graph of nodes and choices stays valid.
    """

    id: Slug
    title: Text
    summary: str | None = None
    start: str
    nodes: dict[str, Node] = Field(min_length=1)
    counters: dict[Slug, Counter] = Field(default_factory=dict)
    perspective: Perspective | None = None
    reflect: str | None = None


M = TypeVar("M", bound=BaseModel)


def _message(err: Any) -> str:
    kind = err["type"]
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field (check the spelling)"
    if kind == "literal_error":
        return str(err["msg"]).replace("Input should be", "must be one of")
    if kind == "value_error":
        return str(err["msg"]).removeprefix("Value error, ")
    return str(err["msg"])


def validate(doc: YamlDocument, model: type[M]) -> M:
    """Validate a parsed file against ``model``; every schema error names its line and field."""
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        problems: list[Problem] = []
        for err in exc.errors():
            loc = [p for p in err["loc"] if not (isinstance(p, str) and "[" in p)]
            problems.append(doc.problem(loc, _message(err)))
        raise ContentError(problems) from None
