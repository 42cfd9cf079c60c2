"""Spotting text that looks like it could identify a patient, so a widget can warn (never block).

Reflections must be anonymised (GMC/AoMRC, *The reflective practitioner*, 2018). We look for an
NHS number whose Modulus 11 check digit is valid, a UK postcode, a full date (a date of birth, or
an exact date that pins an encounter down), and a title with a surname ("Mrs Patel"). False
alarms are expected and harmless: the learner's text is saved either way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NHS = re.compile(r"(?<![\d-])(\d{3})[ -]?(\d{3})[ -]?(\d{4})(?![\d-])")
_POSTCODE = re.compile(
    r"\b(?:GIR ?0AA|[A-PR-UWYZ][A-HK-Y]?[0-9][0-9A-HJKMNPR-Y]? ?[0-9][ABD-HJLNP-UW-Z]{2})\b",
    re.IGNORECASE,
)
_MONTHS = (
    "jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    "sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_DATES = [
    re.compile(r"\b(0?[1-9]|[12]\d|3[01])[/.-](0?[1-9]|1[0-2])[/.-]((?:19|20)?\d\d)\b"),
    re.compile(r"\b(?:19|20)\d\d-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])\b"),
    re.compile(
        rf"\b(0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTHS})\.?,?\s+(?:19|20)\d\d\b",
        re.IGNORECASE,
    ),
    re.compile(
        rf"\b({_MONTHS})\.?\s+(0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?,?\s+(?:19|20)\d\d\b",
        re.IGNORECASE,
    ),
    re.compile(r"\b(?:DOB|D\.O\.B\.?|date of birth)\b", re.IGNORECASE),
]
_NAME = re.compile(
    r"\b(Mr|Mrs|Ms|Miss|Mx|Dr)\.?\s+"
    r"([A-Z](?:[a-z]+|['\u2019][A-Z][a-z]+)(?:[-'\u2019][A-Z]?[a-z]+)*)\b"
)


@dataclass(frozen=True)
class Identifier:
    """One thing that looks identifying: what kind, the text found, and where."""

    kind: str
    text: str
    start: int

    @property
    def description(self) -> str:
        return {
            "nhs-number": "an NHS number",
            "postcode": "a postcode",
            "date": "a date that could be a date of birth",
            "name": "a name with a title",
        }[self.kind]


def nhs_number_valid(digits: str) -> bool:
    """The NHS number's Modulus 11 check: weights 10..2 on the first nine digits."""
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def find_identifiers(text: str) -> list[Identifier]:
    """Everything in ``text`` that looks patient-identifiable, in order of appearance."""
    found: list[Identifier] = []
    for match in _NHS.finditer(text):
        if nhs_number_valid("".join(match.groups())):
            found.append(Identifier("nhs-number", match.group(0), match.start()))
    for match in _POSTCODE.finditer(text):
        found.append(Identifier("postcode", match.group(0), match.start()))
    for pattern in _DATES:
        for match in pattern.finditer(text):
            found.append(Identifier("date", match.group(0), match.start()))
    for match in _NAME.finditer(text):
        found.append(Identifier("name", match.group(0), match.start()))
    unique = {(i.start, i.kind): i for i in found}
    return sorted(unique.values(), key=lambda i: (i.start, i.kind))


def privacy_warning(text: str, *, limit: int = 5) -> str | None:
    """A plain-words warning naming what was found, or ``None`` when nothing looks identifying."""
    found = find_identifiers(text)
    if not found:
        return None
    shown = "; ".join(f"{i.description} (“{i.text}”)" for i in found[:limit])
    more = f"; and {len(found) - limit} more" if len(found) > limit else ""
    return (
        f"This may identify a patient: {shown}{more}. Your writing is saved, but please change or "
        "remove details that could identify anyone before you share it."
    )
