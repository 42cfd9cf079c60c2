"""What a coding means in plain words, for a learner (formative: never a mark) and a presenter.

Light (no model, no numpy): widgets in a learner's kernel and the seminar pages read it.
Self-coding uses the curriculum's technique tags; :data:`TECHNIQUE_CODE` says which tag is which
coder code, so a learner's own coding can be set beside the coder's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..content import BLOCKING, CODES, CodeResult, Coding

__all__ = [
    "CODE_TITLES",
    "TECHNIQUE_CODE",
    "agreement",
    "code_feedback",
    "space_sentence",
]

CODE_TITLES = {
    "naming": "Naming",
    "understanding": "Understanding",
    "respecting": "Respecting",
    "supporting": "Supporting",
    "exploring": "Exploring",
    "reassurance": "Premature reassurance",
    "advice": "Advice before the concern is heard",
    "switching": "Switching topic",
    "minimising": "Minimising",
    "false_understanding": "Claiming to know how they feel",
}
"""How each code reads to a learner."""

TECHNIQUE_CODE = {
    "naming": "naming",
    "understanding": "understanding",
    "respecting": "respecting",
    "supporting": "supporting",
    "exploring": "exploring",
    "false-reassurance": "reassurance",
    "premature-advice": "advice",
    "terminator": "switching",
    "minimising": "minimising",
    "false-understanding": "false_understanding",
}
"""Technique tags (self-coding, content files) that mean the same as a coder code."""

_FEEDBACK = {
    "naming": "You named a feeling ({words}). Naming it shows you noticed, and lets them put "
    "you right if you guessed wrong.",
    "understanding": "You showed their reaction makes sense in their situation ({words}), "
    "which tells them it is all right to feel this way.",
    "respecting": "You recognised their effort or the way they are coping ({words}).",
    "supporting": "You made a concrete offer to help or stay alongside ({words}).",
    "exploring": "You invited them to say more ({words}), which leaves room for the worry "
    "underneath.",
    "reassurance": "You reassured before you asked what worries them; {words} often closes "
    "the door.",
    "advice": "You offered a fix ({words}) before hearing the concern; advice lands better once "
    "they feel heard.",
    "switching": "You moved on to another topic ({words}); the feeling they voiced was left "
    "behind.",
    "minimising": "{Words} makes the concern smaller, so they may feel it was not worth raising.",
    "false_understanding": "{Words} claims to know their experience; they may feel less heard, "
    "not more.",
}


def _words(result: CodeResult) -> str:
    quoted = [f"“{e.text}”" for e in result.evidence if e.text.strip()]
    return " and ".join(dict.fromkeys(quoted)) or "in your reply"


def code_feedback(result: CodeResult, *, unsure: bool = False) -> str:
    """One plain sentence on what a code does, quoting the words that carry it (plain text)."""
    words = _words(result)
    sentence = _FEEDBACK[result.code].format(words=words, Words=words[:1].upper() + words[1:])
    if unsure:
        return f"Perhaps: {sentence[:1].lower()}{sentence[1:]} (the coder is not sure)"
    return sentence


def space_sentence(coding: Coding) -> str:
    """Overall: does the reply give the person space to say more?"""
    if coding.provides_space is True:
        return "Overall, your reply gives them space to say more."
    if coding.provides_space is None:
        return "The coder cannot tell whether your reply gives them space to say more."
    if any(r.code in BLOCKING for r in coding.codes):
        return (
            "Overall, your reply takes some of their space away; try it without the part that "
            "closes the topic."
        )
    return (
        "The coder found none of the ways of giving space (naming, understanding, respecting, "
        "supporting, exploring) in your reply."
    )


def agreement(coding: Coding, self_codes: Iterable[str], offered: Sequence[str]) -> list[str]:
    """Sentences setting the learner's own coding (technique tags) beside the coder's codes.

    Only codes the learner could tick are compared; agreement is said in words.
    """
    found = {r.code for r in coding.codes}
    unsure = {r.code for r in coding.unsure}
    mine = {TECHNIQUE_CODE[t] for t in self_codes if t in TECHNIQUE_CODE}
    comparable = [c for c in CODES if c in {TECHNIQUE_CODE.get(t) for t in offered}]
    lines = []
    for code in comparable:
        title = CODE_TITLES[code]
        if code in mine and code in found:
            lines.append(f"{title}: you and the coder agree it is there.")
        elif code in found:
            lines.append(f"{title}: the coder found it; you did not tick it.")
        elif code in mine and code in unsure:
            lines.append(f"{title}: you ticked it; the coder is not sure.")
        elif code in mine:
            lines.append(f"{title}: you ticked it; the coder did not find it.")
    if comparable and not lines:
        lines.append("You and the coder agree: none of the codes you could tick is in your reply.")
    return lines
