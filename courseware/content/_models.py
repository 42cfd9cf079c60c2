"""Pydantic models of the content an author writes: modules, reflection prompts and vignettes.

The models hold the rules (what a vignette allows from which node), so widgets, grading and
analytics share them and a unit test can exercise them without a kernel.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from ._curriculum import OutcomeField, SelfCheckQuestion
from ._errors import ContentError, Problem
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
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


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


class ReflectionPrompt(_Model):
    """A reflective-writing exercise; the learner's text is private and autosaved."""

    id: Slug
    title: Text
    prompt: Text
    guidance: str | None = None
    min_words: int | None = Field(default=None, ge=1, le=10_000)


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


class Choice(_Model):
    """One option at a vignette node: what the learner says or does, where it leads, and why."""

    label: Text
    to: str
    feedback: str | None = None


class Node(_Model):
    """A point in a vignette: Markdown text and either choices or ``end: true``."""

    text: Text
    title: str | None = None
    choices: list[Choice] = Field(default_factory=list)
    end: bool = False


class VignetteSpec(_Model):
    """The authoring format of a branching case (a virtual patient)."""

    id: Slug
    title: Text
    summary: str | None = None
    start: str
    nodes: dict[str, Node] = Field(min_length=1)


M = TypeVar("M", bound=BaseModel)


def _message(err: Any) -> str:
    kind = err["type"]
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field (check the spelling)"
    if kind == "literal_error":
        return str(err["msg"]).replace("Input should be", "must be one of")
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
