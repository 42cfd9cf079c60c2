"""Assessment over nbgrader: assessed widgets, rubric marking, double marking, parallel autograde.

Imported inside learners' and nbgrader's kernels (hidden test cells call :func:`grade_item`), so the
heavy parts (nbgrader's gradebook, SQLAlchemy, statistics) load only when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_getattr as _lazy_getattr

__all__ = [
    "ANSWERS_FILE",
    "REGISTRY_COLUMNS",
    "AnswersFile",
    "AssessedAnswers",
    "Assessment",
    "CourseFolder",
    "EscapeLearnerHTML",
    "FlagUnmarkedInFeedback",
    "GradingError",
    "HideTestsInFeedback",
    "InvalidAnswer",
    "ItemSet",
    "MarkingBook",
    "ReleaseFeedback",
    "Score",
    "add_grade_commands",
    "check_answer",
    "check_saved",
    "grade_item",
    "load_items",
    "load_key",
    "marking_view",
    "open_assessment",
    "read_answers",
    "registry_rows",
    "safe_markdown2html",
    "score_answer",
]

_LAZY = {
    "ANSWERS_FILE": "._answers",
    "AnswersFile": "._answers",
    "AssessedAnswers": "._answers",
    "read_answers": "._answers",
    "Assessment": "._assessment",
    "check_saved": "._assessment",
    "grade_item": "._assessment",
    "open_assessment": "._assessment",
    "GradingError": "._course",
    "HideTestsInFeedback": "._feedback",
    "REGISTRY_COLUMNS": "._exports",
    "FlagUnmarkedInFeedback": "._feedback",
    "ReleaseFeedback": "._feedback",
    "EscapeLearnerHTML": "._safe_html",
    "safe_markdown2html": "._safe_html",
    "InvalidAnswer": "._items",
    "ItemSet": "._items",
    "Score": "._items",
    "check_answer": "._items",
    "load_items": "._items",
    "load_key": "._items",
    "score_answer": "._items",
    "add_grade_commands": "._cli",
    "marking_view": "._marking_widget",
    "CourseFolder": "._course",
    "MarkingBook": "._marking",
    "registry_rows": "._exports",
}

if TYPE_CHECKING:
    from ._answers import ANSWERS_FILE, AnswersFile, AssessedAnswers, read_answers
    from ._assessment import Assessment, check_saved, grade_item, open_assessment
    from ._cli import add_grade_commands
    from ._course import CourseFolder, GradingError
    from ._exports import REGISTRY_COLUMNS, registry_rows
    from ._feedback import FlagUnmarkedInFeedback, HideTestsInFeedback, ReleaseFeedback
    from ._items import (
        InvalidAnswer,
        ItemSet,
        Score,
        check_answer,
        load_items,
        load_key,
        score_answer,
    )
    from ._marking import MarkingBook
    from ._marking_widget import marking_view
    from ._safe_html import EscapeLearnerHTML, safe_markdown2html


__getattr__ = _lazy_getattr(__name__, _LAZY)


def __dir__() -> list[str]:
    return sorted(__all__)
