"""Curriculum metadata: outcome frameworks, learning outcomes mapped to them, self-check questions.

UK undergraduate outcomes map to the GMC's *Outcomes for graduates* (2018); postgraduate and CPD
outcomes to the domains of *Good medical practice* (2024). Codes are short and stable so authors can
write them in YAML and reports can group by them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]

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


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _outcome_from_text(value: object) -> object:
    return {"text": value} if isinstance(value, str) else value


class Outcome(_Model):
    """A learning outcome and the GMC framework areas it serves."""

    text: Text
    maps_to: list[FrameworkCode] = Field(default_factory=list)

    def __str__(self) -> str:
        return self.text


OutcomeField = Annotated[Outcome, BeforeValidator(_outcome_from_text)]
"""An outcome written either as plain text or as ``{text, maps_to}``."""


class SelfCheckQuestion(_Model):
    """A short multiple-choice question that checks understanding, with an explanation."""

    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")]
    question: Text
    options: list[Text] = Field(min_length=2, max_length=6)
    answer: int = Field(ge=0, description="index of the correct option, from 0")
    explanation: Text

    def is_correct(self, choice: int) -> bool:
        """Whether option ``choice`` is the right one; an index that is not an option is an error."""
        if not 0 <= choice < len(self.options):
            raise ValueError(f"question {self.id!r} has no option {choice}")
        return choice == self.answer

    @field_validator("answer")
    @classmethod
    def _answer_is_an_option(cls, answer: int, info: ValidationInfo) -> int:
        options = info.data.get("options")
        if options is not None and answer >= len(options):
            raise ValueError(f"answer {answer} is not an option (0 to {len(options) - 1})")
        return answer
