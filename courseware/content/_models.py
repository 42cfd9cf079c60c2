"""The content an author writes, as frozen dataclasses: modules, reflection prompts and vignettes.

The models are plain data. The rules for a vignette (what it allows from which state) are in
:class:`~courseware.content.Rules` (``_engine``), so the walk, the widgets, the seminar and the
checker share them and a unit test can exercise them without a kernel. pydantic validates the
models when a file is read (see ``_schema``); a learner's kernel rebuilds them without it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Literal

from ._conditions import When
from ._curriculum import OutcomeField, SelfCheckQuestion
from ._order import Ordered
from ._schema import After, Data, Ge, Gt, Le, MinLen, Slug, Text
from ._techniques import TechniqueTag

SCHEMA_VERSION = 1
"""Version of the content files' format (what an author writes). Saved responses carry the store's
own version (``courseware.store.EVENT_SCHEMA_VERSION``), not this one."""


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

Setting = Literal[
    "general-practice",
    "community-and-home",
    "care-home",
    "emergency-department",
    "hospital-ward",
    "outpatient-clinic",
    "critical-care",
    "surgical-and-perioperative",
    "maternity",
    "mental-health",
    "palliative-and-hospice",
    "telephone-and-video",
    "education-and-training",
    "team-and-workplace",
]
"""Where a case takes place: the curriculum's spread of settings is reported from these."""

STREAM_TITLES: dict[str, str] = {
    "foundation-year": "Medical Foundation Year",
    "undergraduate": "Undergraduate",
    "postgraduate": "Postgraduate",
    "cpd": "CPD and compassionate leadership",
    "creative-medicine": "Creative Medicine",
    "medical-humanities": "Medical Humanities",
    "walk-a-mile": "Walk a mile in your shoes",
}


@dataclass(frozen=True, kw_only=True)
class Reference(Data):
    """A citation for an empirical claim: author, year, title, journal."""

    authors: Text
    year: Annotated[int, Ge(1800), Le(2100)]
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


@dataclass(frozen=True, kw_only=True)
class ReflectionPart(Data):
    """One box of guided writing with its own prompt: a part of a structured reflection, or a
    section of a parallel chart."""

    id: Slug
    title: Text
    prompt: Text


def _distinct_ids(parts: list[ReflectionPart]) -> list[ReflectionPart]:
    if len({p.id for p in parts}) != len(parts):
        raise ValueError("each box needs its own id (the learner's writing is saved under it)")
    return parts


ReflectionParts = Annotated[list[ReflectionPart], After(_distinct_ids)]
"""Guided writing boxes, each with its own id."""

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


@dataclass(frozen=True, kw_only=True)
class ReflectionPrompt(Data):
    """A reflective-writing exercise; the learner's text is private and autosaved.

    ``min_words`` is the word-count target (shown, never enforced). ``structure`` or ``parts``
    split the writing into guided boxes.
    """

    id: Slug
    title: Text
    prompt: Text
    guidance: str | None = None
    min_words: Annotated[int, Ge(1), Le(10_000)] | None = None
    structure: Literal["what-so-what-now-what"] | None = None
    parts: ReflectionParts = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.structure and self.parts:
            raise ValueError("give either 'structure' or 'parts', not both")

    @property
    def sections(self) -> tuple[ReflectionPart, ...]:
        """The guided boxes, or none for a single free-text reflection."""
        if self.structure == "what-so-what-now-what":
            return WHAT_SO_WHAT_NOW_WHAT
        return tuple(self.parts)


@dataclass(frozen=True, kw_only=True)
class Module(Data):
    """A module's metadata and the exercises it offers (``module.yaml``)."""

    id: Slug
    title: Text
    stream: Stream
    stage: Stage
    minutes: Annotated[int, Gt(0), Le(6000)]
    summary: Text
    outcomes: Annotated[list[OutcomeField], MinLen(1)]
    references: list[Reference] = field(default_factory=list)
    reflections: list[ReflectionPrompt] = field(default_factory=list)
    vignettes: list[str] = field(default_factory=list)
    cpd_hours: Annotated[float, Gt(0), Le(100)] | None = None
    prerequisites: list[Slug] = field(default_factory=list)
    content_warnings: list[Text] = field(default_factory=list)
    self_check: list[SelfCheckQuestion] = field(default_factory=list)
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


@dataclass(frozen=True, kw_only=True)
class Route(Data):
    """Where a choice leads instead of its ``to`` when ``when`` holds (after the choice's effects)."""

    when: Annotated[When, MinLen(1)]
    to: str


@dataclass(frozen=True, kw_only=True)
class Choice(Data):
    """One option at a vignette node: what the learner says or does, where it leads, and why.

    Optional parts: ``when`` (offered only if the conditions hold), ``effects`` (added to counters),
    ``routes`` (conditional destinations), ``techniques`` (tags naming what the reply does),
    ``expert: true`` (the expert's pick at this node) and ``comment`` (the expert's commentary).
    """

    label: Text
    to: str
    feedback: str | None = None
    when: When = field(default_factory=list)
    effects: dict[str, int] = field(default_factory=dict)
    routes: list[Route] = field(default_factory=list)
    techniques: list[TechniqueTag] = field(default_factory=list)
    expert: bool = False
    comment: str | None = None


@dataclass(frozen=True, kw_only=True)
class Variant(Data):
    """Text shown instead of a node's own when ``when`` holds (e.g. an ending that depends on trust)."""

    when: Annotated[When, MinLen(1)]
    text: Text
    title: str | None = None


MEDIA_TYPES: dict[str, str] = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".wav": "audio/wav",
    ".m4a": "audio/mp4",
}
"""File types a node may show or play, by suffix (embedded in the page: no network needed)."""
MAX_MEDIA_BYTES = 5_000_000
"""Largest media file: it is embedded in the page, so every learner downloads it with the case."""


@dataclass(frozen=True, kw_only=True)
class Image(Data):
    """A picture in a node: ``file`` inside the module folder, ``alt`` says what it shows."""

    file: Text
    alt: Text
    caption: str | None = None


@dataclass(frozen=True, kw_only=True)
class Audio(Data):
    """A recording in a node: ``file`` inside the module folder, and its full ``transcript``
    (always shown beside the player)."""

    file: Text
    transcript: Text


@dataclass(frozen=True, kw_only=True)
class Pause(Data):
    """A timed pause before the choices appear (silence on the telephone): announced, and
    skippable from the keyboard."""

    seconds: Annotated[int, Ge(1), Le(120)]
    text: Text = "A pause."


@dataclass(frozen=True, kw_only=True)
class Node(Ordered):
    """A point in a vignette: Markdown text and either choices or ``end: true``.

    ``opportunity`` describes the empathic opportunity the patient offers here (Suchman's cue), so
    the debrief can count it as taken or missed; ``techniques`` tags what the story's clinician
    does at this node (in perspective mode, what the learner experiences). ``compose_first: true``
    (write first): the learner writes what they would say, sees the reply coder's feedback, and
    only then sees the choices. The choices are shown in an order shuffled for each learner;
    ``order: fixed`` (with an ``order_reason``) keeps the written order.
    """

    text: Text
    title: str | None = None
    choices: list[Choice] = field(default_factory=list)
    end: bool = False
    variants: list[Variant] = field(default_factory=list)
    opportunity: str | None = None
    techniques: list[TechniqueTag] = field(default_factory=list)
    compose_first: bool = False
    stage: list[Text] = field(default_factory=list)
    image: Image | None = None
    audio: Audio | None = None
    pause: Pause | None = None


@dataclass(frozen=True, kw_only=True)
class Counter(Data):
    """A number choices change (rapport, trust, the patient's anxiety), kept within min and max."""

    label: Text
    start: int = 0
    min: int | None = None
    max: int | None = None
    shown: bool = True
    description: str | None = None

    def __post_init__(self) -> None:
        low = self.min if self.min is not None else self.start
        high = self.max if self.max is not None else self.start
        if not low <= self.start <= high:
            raise ValueError(f"start {self.start} is outside min {self.min} and max {self.max}")

    def clamp(self, value: int) -> int:
        if self.min is not None:
            value = max(self.min, value)
        if self.max is not None:
            value = min(self.max, value)
        return value


@dataclass(frozen=True, kw_only=True)
class Perspective(Data):
    """Perspective mode ("walk a mile in your shoes"): the learner plays the patient or carer."""

    role: Literal["patient", "carer"]
    character: Text
    intro: str | None = None


@dataclass(frozen=True, kw_only=True)
class VignetteSpec(Data):
    """The authoring format of a branching case (a virtual patient).

    Everything after ``nodes`` is optional, so a plain graph of nodes and choices stays valid.
    """

    id: Slug
    title: Text
    summary: str | None = None
    start: str
    nodes: Annotated[dict[str, Node], MinLen(1)]
    counters: dict[Slug, Counter] = field(default_factory=dict)
    perspective: Perspective | None = None
    setting: Setting | None = None
    reflect: str | None = None
