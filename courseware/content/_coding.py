"""The reply coder's vocabulary and results: plain data shared by the coder, its servers and clients.

A reply to a patient's statement gets any number of codes (docs/coding-guide.md defines each):
five NURSE codes (Back et al. 2005) that give the patient space, and five blocking behaviours
(Maguire et al. 1996; VR-CoDES "reducing space") that take it away. ``provides_space`` is derived,
never coded by hand: at least one NURSE code and no blocking code.

The coder is formative only: a ``Coding`` carries confidences and evidence, never a mark. Kept free
of numpy and the model so a learner's kernel can import it to read a result sent over the wire.
Here in content, not in feedback, because an attempt checks a stored coding against its reply
(``coded_value``) and content never imports feedback; ``courseware.feedback`` re-exports it all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import CoursewareError

__all__ = [
    "BLOCKING",
    "CODES",
    "CODING_SCHEMA",
    "NURSE_CODES",
    "CodeResult",
    "CoderUnavailable",
    "Coding",
    "Evidence",
    "provides_space",
]

NURSE_CODES = ("naming", "understanding", "respecting", "supporting", "exploring")
BLOCKING = ("reassurance", "advice", "switching", "minimising", "false_understanding")
CODES = NURSE_CODES + BLOCKING
CODING_SCHEMA = 1  # version of the wire format below (Coding.to_dict)


class CoderUnavailable(CoursewareError):
    """The coder cannot run here (its model package is missing or unreadable); the message says
    how to install it. Hosts catch it and tell the learner automatic feedback is unavailable."""


def provides_space(codes: Iterable[str]) -> bool:
    """Yes when the reply has at least one NURSE code and no blocking code."""
    present = set(codes)
    return bool(present & set(NURSE_CODES)) and not present & set(BLOCKING)


@dataclass(frozen=True)
class Evidence:
    """Words of the reply that carry a code: ``reply[start:end] == text``."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class CodeResult:
    """One code with the coder's confidence (0-1) and the words that carry it."""

    code: str
    confidence: float
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class Coding:
    """What the coder says about one reply.

    ``codes`` are the codes it is confident are present; ``unsure`` the ones it cannot call either
    way (shown as "perhaps", never counted). ``provides_space`` is None when an unsure code could
    change it. ``model_version`` names the model and classifier, stored with every coded reply.
    """

    codes: tuple[CodeResult, ...]
    unsure: tuple[CodeResult, ...] = ()
    model_version: str = ""
    provides_space: bool | None = field(default=None)

    def names(self) -> list[str]:
        """The confident codes' names, in the scheme's order."""
        present = {c.code for c in self.codes}
        return [c for c in CODES if c in present]

    def to_dict(self) -> dict[str, Any]:
        """The JSON wire format (``CODING_SCHEMA``) used by every coder endpoint and stored events."""

        def result(r: CodeResult) -> dict[str, Any]:
            return {
                "code": r.code,
                "confidence": round(r.confidence, 4),
                "evidence": [{"start": e.start, "end": e.end, "text": e.text} for e in r.evidence],
            }

        return {
            "schema": CODING_SCHEMA,
            "codes": [result(r) for r in self.codes],
            "unsure": [result(r) for r in self.unsure],
            "provides_space": self.provides_space,
            "model_version": self.model_version,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Coding:
        """Read the wire format back; raises ValueError on anything malformed."""

        def result(item: Any) -> CodeResult:
            if not isinstance(item, Mapping) or item.get("code") not in CODES:
                raise ValueError(f"not a code result: {item!r:.80}")
            evidence = tuple(
                Evidence(int(e["start"]), int(e["end"]), str(e["text"]))
                for e in item.get("evidence", [])
            )
            return CodeResult(str(item["code"]), float(item["confidence"]), evidence)

        space = data.get("provides_space")
        if space is not None and not isinstance(space, bool):
            raise ValueError("provides_space must be true, false or null")
        return cls(
            codes=tuple(result(i) for i in data.get("codes", [])),
            unsure=tuple(result(i) for i in data.get("unsure", [])),
            model_version=str(data.get("model_version", "")),
            provides_space=space,
        )
