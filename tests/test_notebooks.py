"""Every module notebook runs top to bottom in a real kernel and shows its exercises."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import FIXTURES, MODULES

NOTEBOOKS = [*sorted(MODULES.rglob("*.ipynb")), FIXTURES / "modules" / "demo" / "module.ipynb"]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.parent.name)
def test_notebook_executes(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURSEWARE_STORE", str(tmp_path / "responses.sqlite"))
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, f"{path}: {errors}"
        calls_exercise = any(
            f"module.{name}(" in cell.source for name in ("vignette", "reflection", "overview")
        )
        if calls_exercise:
            shown = [o for o in cell.outputs if WIDGET_VIEW in o.get("data", {})]
            assert shown, f"{path}: cell {cell.source!r} displayed no widget"


def test_there_are_module_notebooks() -> None:
    assert any(p.name == "module.ipynb" for p in NOTEBOOKS if MODULES in p.parents)
