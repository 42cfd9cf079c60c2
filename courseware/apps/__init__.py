"""Voila apps: the module gallery and each module served as a standalone app."""

from ._gallery import GalleryEntry, gallery_entries, render_gallery
from ._serve import CoursewareVoila, serve, serve_argv

__all__ = [
    "CoursewareVoila",
    "GalleryEntry",
    "gallery_entries",
    "render_gallery",
    "serve",
    "serve_argv",
]
