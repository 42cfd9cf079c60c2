"""Where the curriculum lives when no path is given: the working folder, else the source checkout."""

from __future__ import annotations

from pathlib import Path


def curriculum_root() -> Path:
    """The folder holding ``modules/`` (and ``assignments/``, ``courses/``)."""
    for candidate in (Path.cwd(), Path(__file__).resolve().parent.parent):
        if (candidate / "modules").is_dir():
            return candidate
    return Path.cwd()


def default_check_paths() -> list[Path]:
    root = curriculum_root()
    return [p for p in (root / "modules", root / "assignments", root / "courses") if p.is_dir()]
