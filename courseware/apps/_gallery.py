"""The gallery page: every module under the served folder, grouped by stream."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from ..content import STREAM_TITLES, ContentError, find_modules, load_module

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class GalleryEntry:
    """What the gallery shows of a module, and where its app lives."""

    id: str
    title: str
    stream: str
    minutes: int
    summary: str
    cpd_hours: float | None
    url: str


def gallery_entries(root: Path, base_url: str = "/") -> list[GalleryEntry]:
    """Modules under ``root`` that load cleanly; a broken module is logged, not shown."""
    entries = []
    for directory in find_modules(root):
        try:
            module = load_module(directory)
        except ContentError as exc:
            log.error("module in %s is not shown: %s", directory, exc)
            continue
        if not module.notebook.is_file():
            log.error("module in %s has no notebook and is not shown", directory)
            continue
        relative = module.notebook.relative_to(root).as_posix()
        spec = module.spec
        entries.append(
            GalleryEntry(
                spec.id,
                spec.title,
                spec.stream,
                spec.minutes,
                spec.summary,
                spec.cpd_hours,
                f"{base_url}voila/render/{relative}",
            )
        )
    return entries


def render_gallery(
    root: Path,
    *,
    base_url: str = "/",
    title: str = "Clinical empathy modules",
    institution: str = "Empathy courseware",
) -> str:
    """The gallery's HTML: accessible, self-contained, with every string escaped."""
    entries = gallery_entries(root, base_url)
    streams: list[dict[str, Any]] = []
    for stream_id, stream_title in STREAM_TITLES.items():
        modules = [e for e in entries if e.stream == stream_id]
        if modules:
            streams.append({"id": stream_id, "title": stream_title, "modules": modules})
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    return env.get_template("gallery.html").render(
        streams=streams, title=title, institution=institution
    )
