"""An nbgrader course folder as nbgrader itself sees it: its config, paths and gradebook."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import CoursewareError

CONFIG_FILE = "nbgrader_config.py"
MARKING_DB = "marking.sqlite"


class GradingError(CoursewareError, RuntimeError):
    """A grading command cannot go on; the message says what to fix."""


def ensure_tools_on_path() -> None:
    """nbgrader runs ``alembic`` by name when it creates a gradebook: make the venv's copy findable."""
    bindir = str(Path(sys.executable).parent)
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if bindir not in parts:
        os.environ["PATH"] = os.pathsep.join([bindir, *parts])


@dataclass
class CourseFolder:
    """The course folder (holding ``nbgrader_config.py``, ``source/``, ``submitted/``, the gradebook)."""

    root: Path
    _cache: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def open(cls, root: str | Path | None = None) -> CourseFolder:
        path = Path(root) if root is not None else Path.cwd()
        path = path.resolve()
        if not (path / CONFIG_FILE).is_file() and not (path / "source").is_dir():
            raise GradingError(
                f"{path} is not an nbgrader course folder (no {CONFIG_FILE} or source/); "
                "run from the course folder or pass --course"
            )
        ensure_tools_on_path()
        return cls(path)

    @classmethod
    def of(cls, coursedir: Any) -> CourseFolder:
        """The course folder an nbgrader app is working on, with that app's own ``CourseDirectory``
        (so its paths and gradebook are the ones nbgrader uses, whatever config it was given)."""
        course = cls(Path(coursedir.root).resolve())
        course._cache["coursedir"] = coursedir
        return course

    def config(self) -> Any:
        """The traitlets config nbgrader would load here (``nbgrader_config.py``), rooted at the course.

        A fresh copy each call, so a caller may change it (the parallel workers do)."""
        import copy

        from traitlets.config import Config
        from traitlets.config.loader import PyFileConfigLoader

        if "config" not in self._cache:
            config = Config()
            if (self.root / CONFIG_FILE).is_file():
                config.merge(PyFileConfigLoader(CONFIG_FILE, path=str(self.root)).load_config())
            config.CourseDirectory.root = str(self.root)
            self._cache["config"] = config
        return copy.deepcopy(self._cache["config"])

    def coursedir(self, config: Any = None) -> Any:
        from nbgrader.coursedir import CourseDirectory

        if config is not None:
            return CourseDirectory(config=config)
        if "coursedir" not in self._cache:
            self._cache["coursedir"] = CourseDirectory(config=self.config())
        return self._cache["coursedir"]

    @property
    def db_url(self) -> str:
        return str(self.coursedir().db_url)

    def gradebook(self) -> Any:
        from nbgrader.api import Gradebook

        coursedir = self.coursedir()
        return Gradebook(coursedir.db_url, coursedir.course_id)

    def folder(self, step: str, student: str, assignment: str) -> Path:
        return Path(self.coursedir().format_path(step, student, assignment))

    @property
    def marking_db(self) -> Path:
        return self.root / MARKING_DB
