"""The public surface stays small and exact (httpx's habit)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import courseware


def test_all_is_exact() -> None:
    assert sorted(courseware.__all__) == [
        "ContentError",
        "__version__",
        "check_paths",
        "load_module",
        "load_vignette",
        "my_progress",
        "open_module",
        "open_store",
    ]
    assert dir(courseware) == sorted(courseware.__all__)


def test_each_name_is_the_one_its_package_defines() -> None:
    """The lazy top level hands out the packages' own objects, not copies or stand-ins."""
    import courseware.content
    import courseware.store
    import courseware.widgets

    project = (Path(__file__).parent.parent / "pyproject.toml").read_text(encoding="utf-8")
    assert f'\nversion = "{courseware.__version__}"\n' in project
    assert courseware.ContentError is courseware.content.ContentError
    assert courseware.check_paths is courseware.content.check_paths
    assert courseware.load_module is courseware.content.load_module
    assert courseware.load_vignette is courseware.content.load_vignette
    assert courseware.my_progress is courseware.widgets.my_progress
    assert courseware.open_module is courseware.widgets.open_module
    assert courseware.open_store is courseware.store.open_store
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        courseware.nothing_here  # noqa: B018


def test_import_is_light() -> None:
    """``import courseware`` must not drag widgets, pandas or SQLAlchemy into a kernel."""
    code = "import sys, courseware; print(sorted(m for m in ('ipywidgets', 'pandas', 'sqlalchemy', 'pydantic') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
