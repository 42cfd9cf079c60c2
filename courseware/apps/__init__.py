"""Voila apps: the module gallery, each module served as a standalone app, and seminar mode."""

from ._config import AppConfig, AppsError, find_config, load_config
from ._gallery import GalleryEntry, gallery_entries, render_gallery
from ._links import ModuleLink, module_links
from ._seminar import Seminar, SeminarError
from ._seminar_questions import Question, seminar_questions
from ._seminar_results import Results
from ._seminar_web import SeminarServer, build_seminar, run_seminar
from ._serve import CoursewareVoila, build_app, serve, serve_argv

__all__ = [
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
