"""Where the course repository's folders are when no path is given: the working folder, else the
source checkout (an editable install run from elsewhere)."""

from __future__ import annotations

from pathlib import Path


def repository_folder(*parts: str) -> Path:
    """``parts`` (e.g. ``"modules"`` or ``"corpus", "replies"``) under the working folder if it is
    there, else under the source checkout if it is there, else under the working folder."""
    for root in (Path.cwd(), Path(__file__).resolve().parent.parent):
        if root.joinpath(*parts).is_dir():
            return root.joinpath(*parts)
    return Path.cwd().joinpath(*parts)


def curriculum_root() -> Path:
    """The folder holding ``modules/`` (and ``assignments/``, ``courses/``)."""
    return repository_folder("modules").parent


def default_check_paths() -> list[Path]:
    root = curriculum_root()
    return [p for p in (root / "modules", root / "assignments", root / "courses") if p.is_dir()]
