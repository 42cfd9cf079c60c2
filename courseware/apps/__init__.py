"""Voila apps: the module gallery, each module served as a standalone app, and seminar mode.

Light to import (as ``courseware.grading`` is): the command line builds its parser from here, and
Voila, tornado and the rest load only when a name that needs them is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_getattr as _lazy_getattr

__all__ = [
    "DEFAULT_PORT",
    "AppConfig",
    "AppsError",
    "CoursewareVoila",
    "GalleryEntry",
    "ModuleLink",
    "Question",
    "Results",
    "Seminar",
    "SeminarError",
    "SeminarServer",
    "add_app_commands",
    "build_app",
    "build_seminar",
    "find_config",
    "gallery_entries",
    "load_config",
    "module_links",
    "render_gallery",
    "run_seminar",
    "seminar_questions",
    "serve",
    "serve_argv",
]

_LAZY = {
    "AppConfig": "._config",
    "AppsError": "._config",
    "find_config": "._config",
    "load_config": "._config",
    "GalleryEntry": "._gallery",
    "gallery_entries": "._gallery",
    "render_gallery": "._gallery",
    "ModuleLink": "._links",
    "module_links": "._links",
    "Seminar": "._seminar",
    "SeminarError": "._seminar",
    "Question": "._seminar_questions",
    "seminar_questions": "._seminar_questions",
    "Results": "._seminar_results",
    "SeminarServer": "._seminar_web",
    "DEFAULT_PORT": "._launch",
    "build_seminar": "._launch",
    "run_seminar": "._launch",
    "serve": "._launch",
    "CoursewareVoila": "._serve",
    "build_app": "._serve",
    "serve_argv": "._serve",
    "add_app_commands": "._cli",
}

if TYPE_CHECKING:
    from ._cli import add_app_commands
    from ._config import AppConfig, AppsError, find_config, load_config
    from ._gallery import GalleryEntry, gallery_entries, render_gallery
    from ._launch import DEFAULT_PORT, build_seminar, run_seminar, serve
    from ._links import ModuleLink, module_links
    from ._seminar import Seminar, SeminarError
    from ._seminar_questions import Question, seminar_questions
    from ._seminar_results import Results
    from ._seminar_web import SeminarServer
    from ._serve import CoursewareVoila, build_app, serve_argv


__getattr__ = _lazy_getattr(__name__, _LAZY)


def __dir__() -> list[str]:
    return sorted(__all__)
