"""The reply coder's vocabulary and results, as the coder's modules name them.

The types themselves live in ``courseware.content`` (``_coding.py``): a learner's attempt checks a
stored coding against its reply, and content must not import feedback (feedback imports content).
"""

from __future__ import annotations

from ..content import (
    BLOCKING,
    CODES,
    NURSE_CODES,
    CodeResult,
    CoderUnavailable,
    Coding,
    Evidence,
    provides_space,
)
from ..content import CODING_SCHEMA as SCHEMA

__all__ = [
    "BLOCKING",
    "CODES",
    "NURSE_CODES",
    "SCHEMA",
    "CodeResult",
    "CoderUnavailable",
    "Coding",
    "Evidence",
    "provides_space",
]
