"""The public surface stays small and exact (httpx's habit)."""

from __future__ import annotations

import subprocess
import sys

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
    for name in courseware.__all__:
        assert getattr(courseware, name) is not None


def test_import_is_light() -> None:
    """``import courseware`` must not drag widgets, pandas or SQLAlchemy into a kernel."""
    code = "import sys, courseware; print(sorted(m for m in ('ipywidgets', 'pandas', 'sqlalchemy', 'pydantic') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
