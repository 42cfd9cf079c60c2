"""Offline feedback on what a learner writes to a patient: the reply coder (formative only).

    from courseware import feedback
    coding = feedback.code("I keep thinking it's cancer.", "That sounds frightening. What worries you most?")
    coding.names()  # ['naming', 'exploring']

The result types (defined in ``courseware.content``, which a learner's attempt needs without
feedback, and handed on here), the words shown about a coding and the kernel's HTTP client are
plain Python and import without numpy, so a learner's kernel can ask for and read a coding
cheaply; the coder itself (numpy, the packaged model) and the server side (tornado handlers) load
on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_getattr as _lazy_getattr
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
from ._client import UNAVAILABLE_MESSAGE, FeedbackUnavailable, request_coding, warm_coder
from ._words import CODE_TITLES, agreement, code_feedback, space_sentence

__all__ = [
    "BLOCKING",
    "CODES",
    "CODE_TITLES",
    "NURSE_CODES",
    "ROUTE",
    "SCHEMA",
    "UNAVAILABLE_MESSAGE",
    "CodeEndpoint",
    "CodeResult",
    "Coder",
    "CoderBusy",
    "CoderHost",
    "CoderUnavailable",
    "Coding",
    "Evidence",
    "FeedbackUnavailable",
    "TokenCodeHandler",
    "add_feedback_commands",
    "advertise",
    "agreement",
    "code",
    "code_csv",
    "code_feedback",
    "load_coder",
    "provides_space",
    "readvertise",
    "request_coding",
    "shared_host",
    "space_sentence",
    "warm_coder",
]

_LAZY = {
    "add_feedback_commands": "courseware.feedback._cli",
    "Coder": "courseware.feedback._coder",
    "code": "courseware.feedback._coder",
    "load_coder": "courseware.feedback._coder",
    "code_csv": "courseware.feedback._csv",
    # the server side (tornado): loaded by the servers that host the coder, never by a kernel
    "ROUTE": "courseware.feedback._web",
    "CodeEndpoint": "courseware.feedback._web",
    "CoderBusy": "courseware.feedback._web",
    "CoderHost": "courseware.feedback._web",
    "TokenCodeHandler": "courseware.feedback._web",
    "advertise": "courseware.feedback._web",
    "readvertise": "courseware.feedback._web",
    "shared_host": "courseware.feedback._web",
}

if TYPE_CHECKING:
    from ._cli import add_feedback_commands
    from ._coder import Coder, code, load_coder
    from ._csv import code_csv
    from ._web import (
        ROUTE,
        CodeEndpoint,
        CoderBusy,
        CoderHost,
        TokenCodeHandler,
        advertise,
        readvertise,
        shared_host,
    )


__getattr__ = _lazy_getattr(__name__, _LAZY)


def __dir__() -> list[str]:
    return sorted(__all__)
