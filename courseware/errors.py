"""One exception tree for the whole package.

Every error the courseware raises on purpose derives from :class:`CoursewareError`, so a caller (the
CLI above all) catches one class and shows its message, while a bug (anything else) still shows its
traceback. Each package keeps its own subclass (content, apps, grading, service, data errors);
:class:`Refused` is the one kind meaning "the learner asked for something not allowed here".
"""

from __future__ import annotations

__all__ = ["CoursewareError", "Refused"]


class CoursewareError(Exception):
    """An error with a message meant for the person who caused it (an author, tutor, learner or
    the IT team), not a bug: the CLI prints it without a traceback."""


class Refused(CoursewareError, ValueError):
    """A learner's action the rules do not allow (a choice not offered, an attempt not allowed).

    A ``ValueError`` too, as the classes beneath it always were.
    """
