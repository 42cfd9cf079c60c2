"""Offline feedback on what a learner writes to a patient: the reply coder (formative only).

    from courseware import feedback
    coding = feedback.code("I keep thinking it's cancer.", "That sounds frightening. What worries you most?")
    coding.names()  # ['naming', 'exploring']

The result types are plain data and import without numpy, so a learner's kernel can read a coding
sent by the server cheaply; the coder itself (numpy, the packaged model) loads on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._types import (
    BLOCKING,
    CODES,
    NURSE_CODES,
    CodeResult,
    CoderUnavailable,
    Coding,
    Evidence,
    provides_space,
)

__all__ = [
    "BLOCKING",
    "CODES",
    "CODE_TITLES",
    "NURSE_CODES",
    "ROUTE",
    "CodeResult",
    "Coder",
    "CoderBusy",
    "CoderHost",
    "CoderUnavailable",
    "Coding",
    "Evidence",
    "TokenCodeHandler",
    "add_feedback_commands",
    "advertise",
    "code",
    "code_csv",
    "load_coder",
    "provides_space",
    "readvertise",
    "shared_host",
]

_LAZY = {
    "Coder": "courseware.feedback._coder",
    "code": "courseware.feedback._coder",
    "load_coder": "courseware.feedback._coder",
    "code_csv": "courseware.feedback._csv",
    "CODE_TITLES": "courseware.feedback._words",
    "ROUTE": "courseware.feedback._web",
    "CoderBusy": "courseware.feedback._web",
    "CoderHost": "courseware.feedback._web",
    "TokenCodeHandler": "courseware.feedback._web",
    "advertise": "courseware.feedback._web",
    "readvertise": "courseware.feedback._web",
    "shared_host": "courseware.feedback._web",
    "add_feedback_commands": "courseware.feedback._cli",
}

if TYPE_CHECKING:
    from ._cli import add_feedback_commands
    from ._coder import Coder, code, load_coder
    from ._csv import code_csv
    from ._web import (
        ROUTE,
        CoderBusy,
        CoderHost,
        TokenCodeHandler,
        advertise,
        readvertise,
        shared_host,
    )
    from ._words import CODE_TITLES


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'courseware.feedback' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
