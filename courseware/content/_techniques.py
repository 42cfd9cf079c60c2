"""The communication techniques a choice or reply can be tagged with, and what each means.

Tags name what the curriculum teaches: NURSE statements, the SPIKES steps (Baile 2000), ICE from
the Calgary-Cambridge guide, a few listening skills, and the responses that shut a patient's cue
down (Suchman 1997 calls them empathic opportunity *terminators*). A tag that is ``empathic``
takes up an empathic opportunity; a tag that is ``blocking`` lets it pass. Debriefs, feedback and
self-coding all read this one table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from ._schema import After


@dataclass(frozen=True)
class Technique:
    """One tag: its family (NURSE, SPIKES, ...), a readable name and a one-line meaning."""

    tag: str
    family: str
    title: str
    meaning: str
    empathic: bool = False
    blocking: bool = False

    @property
    def label(self) -> str:
        """How feedback names it, in words (never by colour alone)."""
        return f"{self.title} ({self.family})" if self.family != "other" else self.title


_TABLE = [
    Technique("naming", "NURSE", "Naming", "names the emotion the patient shows", empathic=True),
    Technique(
        "understanding", "NURSE", "Understanding", "says the emotion makes sense", empathic=True
    ),
    Technique(
        "respecting", "NURSE", "Respecting", "acknowledges the patient's effort", empathic=True
    ),
    Technique("supporting", "NURSE", "Supporting", "offers to stay alongside", empathic=True),
    Technique("exploring", "NURSE", "Exploring", "asks to hear more about it", empathic=True),
    Technique("spikes-setting", "SPIKES", "Setting", "privacy, time, sitting down, who is there"),
    Technique("spikes-perception", "SPIKES", "Perception", "asks what the patient already knows"),
    Technique("spikes-invitation", "SPIKES", "Invitation", "asks how much the patient wants"),
    Technique("spikes-knowledge", "SPIKES", "Knowledge", "gives information in small pieces"),
    Technique(
        "spikes-emotions", "SPIKES", "Emotions", "responds to emotion with empathy", empathic=True
    ),
    Technique("spikes-strategy", "SPIKES", "Strategy and summary", "agrees a plan together"),
    Technique("ice-ideas", "ICE", "Ideas", "asks what the patient thinks is wrong", empathic=True),
    Technique("ice-concerns", "ICE", "Concerns", "asks what worries the patient", empathic=True),
    Technique(
        "ice-expectations", "ICE", "Expectations", "asks what the patient hopes for", empathic=True
    ),
    Technique("open-question", "other", "Open question", "invites a full answer", empathic=True),
    Technique("reflecting", "other", "Reflecting", "gives back the patient's words", empathic=True),
    Technique("silence", "other", "Silence", "leaves room for the patient to go on", empathic=True),
    Technique("summarising", "other", "Summarising", "checks understanding by summing up"),
    Technique("repair", "other", "Repair", "owns a misstep and goes back to the cue"),
    Technique("closed-question", "other", "Closed question", "asks for a fact or a yes/no"),
    Technique(
        "terminator",
        "other",
        "Terminator",
        "shuts the patient's cue down and moves on",
        blocking=True,
    ),
    Technique(
        "false-reassurance",
        "other",
        "False reassurance",
        "promises what nobody knows yet",
        blocking=True,
    ),
    Technique(
        "premature-advice",
        "other",
        "Premature advice",
        "solves before understanding",
        blocking=True,
    ),
    Technique("minimising", "other", "Minimising", "makes the concern smaller", blocking=True),
    Technique(
        "false-understanding",
        "other",
        "False understanding",
        "claims to know exactly how the patient feels",
        blocking=True,
    ),
]

TECHNIQUES: dict[str, Technique] = {t.tag: t for t in _TABLE}
"""Every known tag, in teaching order."""

NURSE = ("naming", "understanding", "respecting", "supporting", "exploring")
"""The NURSE statements, in mnemonic order: the default self-coding list."""


def _known_technique(tag: str) -> str:
    if tag not in TECHNIQUES:
        raise ValueError(f"unknown technique {tag!r} (known: {', '.join(TECHNIQUES)})")
    return tag


TechniqueTag = Annotated[str, After(_known_technique)]
"""A technique tag in a content file, checked against :data:`TECHNIQUES`."""


def takes_opportunity(tags: list[str] | tuple[str, ...]) -> bool:
    """Whether a response with these tags takes up an empathic opportunity (and blocks none)."""
    found = [TECHNIQUES[t] for t in tags if t in TECHNIQUES]
    return any(t.empathic for t in found) and not any(t.blocking for t in found)


def describe_techniques(tags: list[str] | tuple[str, ...]) -> str:
    """``"Naming (NURSE), Exploring (NURSE)"``: how a set of tags reads in feedback."""
    return ", ".join(TECHNIQUES[t].label for t in tags if t in TECHNIQUES)
