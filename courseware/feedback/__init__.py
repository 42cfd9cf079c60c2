"""Offline feedback on what a learner writes to a patient: the reply coder (formative only)."""

from ._types import (
    BLOCKING,
    CODES,
    NURSE_CODES,
    CodeResult,
    Coding,
    Evidence,
    provides_space,
)

__all__ = [
    "BLOCKING",
    "CODES",
    "NURSE_CODES",
    "CodeResult",
    "Coding",
    "Evidence",
    "provides_space",
]
