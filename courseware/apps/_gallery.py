"""The gallery page: every module under the served folder, grouped by stream and stage, searchable.

Search and filters are a plain GET form, answered here on the server, so they work without
JavaScript; ``gallery.js`` only makes the same filter live as you type (progressive enhancement).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..content import (
    STREAM_TITLES,
    ContentError,
    ModuleContent,
    find_courses,
    load_course,
    loadable_modules,
)
from ._config import HubLinks
from ._links import app_module_path, pull_link
from ._pages import Site

log = logging.getLogger(__name__)

STAGE_TITLES: dict[str, str] = {
    "medical-foundation-year": "Medical Foundation Year",
    "undergraduate": "Undergraduate years",
    "foundation-doctor": "Foundation doctors",
    "specialty-training": "Specialty training",
    "cpd": "Continuing professional development",
    "all-stages": "All stages",
}


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
    stage: str = "all-stages"
    outcomes: tuple[str, ...] = ()
    content_warnings: tuple[str, ...] = ()
    notebook: str = ""

    @property
    def stream_title(self) -> str:
        return STREAM_TITLES.get(self.stream, self.stream)

    @property
    def stage_title(self) -> str:
        return STAGE_TITLES.get(self.stage, self.stage)

    @property
    def search_text(self) -> str:
        """Everything a search matches against, lower-cased."""
        parts = (self.title, self.summary, self.stream_title, self.stage_title, *self.outcomes)
        return " ".join(parts).lower()

    def matches(self, query: str = "", stream: str = "", stage: str = "") -> bool:
        """Every word of ``query`` appears somewhere, and the stream and stage match if given."""
        if stream and stream != self.stream:
            return False
        if stage and stage != self.stage:
            return False
        text = self.search_text
        return all(word in text for word in query.lower().split())


def entry_for(module: ModuleContent, root: Path, base_url: str = "/") -> GalleryEntry:
    """The gallery entry of a loaded module whose notebook lies under ``root``."""
    relative = module.notebook.resolve().relative_to(root.resolve()).as_posix()
    spec = module.spec
    return GalleryEntry(
        id=spec.id,
        title=spec.title,
        stream=spec.stream,
        minutes=spec.minutes,
        summary=spec.summary,
        cpd_hours=spec.cpd_hours,
        url=f"{base_url}voila/render/{relative}",
        stage=spec.stage,
        outcomes=tuple(str(o) for o in spec.outcomes),
        content_warnings=tuple(spec.content_warnings),
        notebook=relative,
    )


def gallery_entries(root: Path, base_url: str = "/") -> list[GalleryEntry]:
    """Modules under ``root`` that load cleanly; a broken module is logged, not shown."""
    entries = []

    def skipped(directory: Path, exc: ContentError) -> None:
        log.error("module in %s is not shown: %s", directory, exc)

    for module in loadable_modules(root, skipped=skipped):
        if not module.notebook.is_file():
            log.error("module in %s has no notebook and is not shown", module.directory)
            continue
        entries.append(entry_for(module, root, base_url))
    return entries


def group_entries(entries: list[GalleryEntry]) -> list[dict[str, Any]]:
    """Streams in curriculum order, each with its stages in training order, each with modules."""
    streams: list[dict[str, Any]] = []
    for stream_id, stream_title in STREAM_TITLES.items():
        in_stream = [e for e in entries if e.stream == stream_id]
        if not in_stream:
            continue
        stages = []
        for stage_id, stage_title in STAGE_TITLES.items():
            modules = sorted((e for e in in_stream if e.stage == stage_id), key=lambda e: e.title)
            if modules:
                stages.append({"id": stage_id, "title": stage_title, "modules": modules})
        streams.append({"id": stream_id, "title": stream_title, "stages": stages})
    return streams


AWARD_TITLES: dict[str, str] = {
    "undergraduate-thread": "Undergraduate empathy thread",
    "postgraduate-course": "Postgraduate course",
    "cpd-course": "CPD course",
    "msc-module": "CPD course and MSc module",
}


@dataclass(frozen=True)
class PathwayPart:
    """A part of a course (a year of a spiral thread): its steps are ``steps[start:stop]``."""

    title: str
    summary: str
    start: int
    stop: int


@dataclass(frozen=True)
class Pathway:
    """A course shown in the gallery: its modules in order, linked where they are served."""

    id: str
    title: str
    award: str
    summary: str
    notional_hours: int
    credits: int | None
    steps: tuple[tuple[str, str | None], ...]  # (title or id, url when the module is served)
    links: tuple[str | None, ...] = ()  # each step's hub link for learners, when configured
    parts: tuple[PathwayPart, ...] = ()  # the course's parts, when it has them
    hours: tuple[tuple[str, float], ...] = ()  # where the notional hours go, when stated

    @property
    def groups(self) -> tuple[PathwayPart, ...]:
        """The parts, or the whole course as one untitled part."""
        return self.parts or (PathwayPart("", "", 0, len(self.steps)),)


def course_files(root: Path) -> list[Path]:
    """Course files beside the served folder, in it, or in a course repository directly in it
    (a learner's home on the hub, where nbgitpuller puts each course in a folder of its own)."""
    root = root.resolve()
    folders = [root.parent, root]
    if root.is_dir():
        folders += sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    return [path for folder in folders for path in find_courses(folder)]


def course_pathways(
    root: Path, entries: list[GalleryEntry], hub: HubLinks | None = None
) -> list[Pathway]:
    """Courses found by :func:`course_files`; a broken course file is logged, not shown. With a
    hub address and repository (``hub:`` in courseware.yaml) each module gets its learners' link."""
    by_id = {e.id: e for e in entries}
    pathways = []
    for path in course_files(root):
        try:
            spec = load_course(path).spec
        except ContentError as exc:
            log.error("course %s is not shown: %s", path, exc)
            continue
        steps = tuple(
            (by_id[m].title, by_id[m].url) if m in by_id else (m, None) for m in spec.modules
        )
        links: tuple[str | None, ...] = ()
        if hub is not None and hub.url and hub.repository:
            links = tuple(
                pull_link(hub.url, hub.repository, app_module_path(m), hub.branch)
                if m in by_id
                else None
                for m in spec.modules
            )
        parts, start = [], 0
        for part in spec.parts:
            stop = start + len(part.modules)
            parts.append(PathwayPart(part.title, part.summary or "", start, stop))
            start = stop
        hours = spec.hours
        pathways.append(
            Pathway(
                spec.id,
                spec.title,
                AWARD_TITLES[spec.award],
                spec.summary,
                spec.notional_hours,
                spec.credits,
                steps,
                links,
                tuple(parts),
                (
                    ("module study", hours.module_study),
                    ("directed reading", hours.directed_reading),
                    ("seminars", hours.seminars),
                    ("assessment", hours.assessment),
                )
                if hours is not None
                else (),
            )
        )
    return pathways


def render_gallery(
    root: Path,
    *,
    base_url: str = "/",
    site: Site | None = None,
    query: str = "",
    stream: str = "",
    stage: str = "",
    entries: list[GalleryEntry] | None = None,
) -> str:
    """The gallery's HTML, filtered by ``query``, ``stream`` and ``stage`` (unknown values ignored)."""
    site = site or Site(base_url=base_url)
    every = entries if entries is not None else gallery_entries(root, site.base_url)
    stream = stream if stream in STREAM_TITLES else ""
    stage = stage if stage in STAGE_TITLES else ""
    query = " ".join(query.split())[:200]
    shown = [e for e in every if e.matches(query, stream, stage)]
    filtering = bool(query or stream or stage)
    progress = root / "my-progress.ipynb"
    return site.render(
        "gallery.html",
        title=site.config.branding.title,
        streams=group_entries(shown),
        pathways=[] if filtering else course_pathways(root, every, site.config.hub),
        progress_url=f"{site.base_url}voila/render/my-progress.ipynb" if progress.is_file() else "",
        total=len(every),
        shown=len(shown),
        query=query,
        stream=stream,
        stage=stage,
        stream_choices=[
            (k, v) for k, v in STREAM_TITLES.items() if any(e.stream == k for e in every)
        ],
        stage_choices=[(k, v) for k, v in STAGE_TITLES.items() if any(e.stage == k for e in every)],
    )
