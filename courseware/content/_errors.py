"""Problems found in content files, each pointing at a file, a line and a field."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from ..errors import CoursewareError

S = TypeVar("S")
T = TypeVar("T")


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a content file, printable as ``FILE:LINE: message``."""

    file: str
    line: int
    message: str
    field: str = ""
    warning: bool = False
    """A warning (a teaching fault, e.g. the best reply always first) rather than an error: the
    content still loads; ``courseware check --strict`` fails on it."""

    def __str__(self) -> str:
        where = f"{self.field}: " if self.field else ""
        kind = "warning: " if self.warning else ""
        return f"{self.file}:{self.line}: {kind}{where}{self.message}"


class ContentError(CoursewareError, ValueError):
    """Raised when a content file cannot be used; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def display_path(path: Path) -> str:
    """A path relative to the working directory when it lies below it, so messages stay short."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def load_each(
    sources: Iterable[S],
    load: Callable[[S], T],
    *,
    problems: list[Problem] | None = None,
    skipped: Callable[[S, ContentError], None] | None = None,
) -> list[T]:
    """``load(source)`` for each source in turn, leaving out the ones that raise
    :class:`ContentError`: their problems are added to ``problems`` and ``skipped(source, error)``
    is told, when given. One broken file never hides the others or their problems."""
    found = []
    for source in sources:
        try:
            found.append(load(source))
        except ContentError as exc:
            if problems is not None:
                problems.extend(exc.problems)
            if skipped is not None:
                skipped(source, exc)
    return found
