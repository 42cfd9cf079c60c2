"""The ``analytics`` extra: without it, importing the package says which extra to install.

scipy (like scikit-learn and pingouin, which grading and the reply coder's training use) is not a
dependency of the courseware itself, so that a learner's image stays small (see the README's
extras). An evaluation lead who runs ``courseware report`` without it gets one sentence naming the
extra, through the CLI's :class:`~courseware.errors.CoursewareError` path, not a traceback.
"""

from __future__ import annotations

from ..errors import CoursewareError

INSTALL = "pip install 'courseware[analytics]'"


class MissingExtra(CoursewareError, ImportError):
    """A package of the ``analytics`` extra is not installed (an ``ImportError`` too, as before)."""

    def __init__(self, package: str) -> None:
        super().__init__(
            f"the evaluation (courseware report, the dashboard) needs the analytics extra, and"
            f" {package} is not installed: {INSTALL}",
            name=package,
        )
