"""Curriculum metadata: outcome frameworks, learning outcomes mapped to them, self-check questions.

UK undergraduate outcomes map to the GMC's *Outcomes for graduates* (2018); postgraduate and CPD
outcomes to the domains of *Good medical practice* (2024). Codes are short and stable so authors can
write them in YAML and reports can group by them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Literal

from ._order import Ordered
from ._schema import Before, Data, FieldError, Ge, MaxLen, MinLen, Slug, Str, Text

FRAMEWORKS: dict[str, str] = {
    # GMC, Outcomes for graduates (2018)
    "ofg-values": "Outcomes for graduates: professional values and behaviours",
    "ofg-communication": "Outcomes for graduates: communication and interpersonal skills",
    "ofg-complexity": "Outcomes for graduates: dealing with complexity and uncertainty",
    "ofg-safeguarding": "Outcomes for graduates: safeguarding vulnerable patients",
    "ofg-leadership": "Outcomes for graduates: leadership and team working",
    "ofg-safety-quality": "Outcomes for graduates: patient safety and quality improvement",
    "ofg-psychology": "Outcomes for graduates: applying psychological principles",
    "ofg-social-science": "Outcomes for graduates: applying social science principles",
    "ofg-health-promotion": "Outcomes for graduates: health promotion and illness prevention",
    # GMC, Good medical practice (2024): its four domains
    "gmp-knowledge": "Good medical practice, domain 1: knowledge, skills and development",
    "gmp-patients": "Good medical practice, domain 2: patients, partnership and communication",
    "gmp-colleagues": "Good medical practice, domain 3: colleagues, culture and safety",
    "gmp-trust": "Good medical practice, domain 4: trust and professionalism",
}
FrameworkCode = Literal[
    "ofg-values",
    "ofg-communication",
    "ofg-complexity",
    "ofg-safeguarding",
    "ofg-leadership",
    "ofg-safety-quality",
    "ofg-psychology",
    "ofg-social-science",
    "ofg-health-promotion",
    "gmp-knowledge",
    "gmp-patients",
    "gmp-colleagues",
    "gmp-trust",
]


def _outcome_from_text(value: object) -> object:
    return {"text": value} if isinstance(value, str) else value


@dataclass(frozen=True, kw_only=True)
class Outcome(Data):
    """A learning outcome and the GMC framework areas it serves."""

    text: Text
    maps_to: list[FrameworkCode] = field(default_factory=list)

    def __str__(self) -> str:
        return self.text


OutcomeField = Annotated[Outcome, Before(_outcome_from_text)]
"""An outcome written either as plain text or as ``{text, maps_to}``."""


def _option_from_text(value: object) -> object:
    return {"text": value} if isinstance(value, str) else value


@dataclass(frozen=True, kw_only=True)
class SelfCheckOption(Data):
    """One option of a self-check question: its text, whether it is the right one, and why
    (the explanation shown when a learner picks it)."""

    text: Text
    correct: bool = False
    explanation: Annotated[str, Str(strip=True, min_length=1)] | None = None


SelfCheckOptionField = Annotated[SelfCheckOption, Before(_option_from_text)]
"""An option written either as plain text (the old format, with ``answer``) or as a mapping."""


@dataclass(frozen=True, kw_only=True)
class SelfCheckQuestion(Ordered):
    """A short multiple-choice question that checks understanding, with explanations.

    The right option is marked in the option itself (``correct: true``, exactly one), and each
    option may carry the explanation shown when it is chosen. The older format, options as plain
    text plus ``answer`` (a 0-based index), is still read; the two are never mixed.

    Options are shown shuffled for each learner unless ``order: fixed`` (with ``order_reason``).
    """

    id: Slug
    question: Text
    options: Annotated[list[SelfCheckOptionField], MinLen(2), MaxLen(6)]
    answer: Annotated[int, Ge(0)] | None = None  # old format: index of the correct option, from 0
    explanation: Annotated[str, Str(strip=True, min_length=1)] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        marked = [i for i, o in enumerate(self.options) if o.correct]
        if self.answer is not None:
            if marked:
                raise FieldError(
                    "answer",
                    "give either 'answer' or 'correct: true' on one option, not both "
                    "(delete 'answer' and keep 'correct: true' on the right option)",
                )
            if self.answer >= len(self.options):
                raise FieldError(
                    "answer",
                    f"answer {self.answer} is not an option (0 to {len(self.options) - 1}; "
                    "'answer' counts from 0, so better mark the option itself with "
                    "'correct: true')",
                )
        elif not marked:
            raise FieldError(
                "options",
                "no option is marked correct: add 'correct: true' to exactly one option",
            )
        elif len(marked) > 1:
            raise FieldError(
                f"options.{marked[1]}.correct",
                f"{len(marked)} options are marked 'correct: true' (options "
                f"{', '.join(str(i + 1) for i in marked)}); mark exactly one",
            )
        if self.explanation is None and any(o.explanation is None for o in self.options):
            missing = next(i for i, o in enumerate(self.options) if o.explanation is None)
            raise FieldError(
                "explanation"
                if all(o.explanation is None for o in self.options)
                else f"options.{missing}.explanation",
                "give an explanation: one for the whole question ('explanation'), "
                "or one on every option",
            )

    @property
    def correct_option(self) -> int:
        """Index of the right option (whichever format the file used)."""
        if self.answer is not None:
            return self.answer
        return next(i for i, o in enumerate(self.options) if o.correct)

    @property
    def texts(self) -> tuple[str, ...]:
        """The options' texts, in authored order."""
        return tuple(o.text for o in self.options)

    def is_correct(self, choice: int) -> bool:
        """Whether option ``choice`` is the right one; an index that is not an option is an error."""
        if not 0 <= choice < len(self.options):
            raise ValueError(f"question {self.id!r} has no option {choice}")
        return choice == self.correct_option
