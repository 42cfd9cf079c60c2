"""docs/authoring.md is followed literally: its worked example becomes a module that works."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from helpers import run_courseware
from nbclient import NotebookClient

from courseware.content import load_module

from conftest import REPO

GUIDE = REPO / "docs" / "authoring.md"
BLOCK = re.compile(r"^```(\w+) (file|cells)=(\S+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def build_example(folder: Path) -> Path:
    """Write each file the guide names; the ``cells=`` block becomes the notebook's code cells."""
    blocks = BLOCK.findall(GUIDE.read_text(encoding="utf-8"))
    assert blocks, "the worked example is missing from docs/authoring.md"
    module = folder / "first-steps"
    for _language, kind, name, body in blocks:
        target = module / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if kind == "file":
            target.write_text(body, encoding="utf-8")
        else:
            nb = nbformat.v4.new_notebook()
            nb.cells = [nbformat.v4.new_markdown_cell("# First steps with a worried patient")]
            nb.cells += [nbformat.v4.new_code_cell(c.strip()) for c in body.split("\n\n")]
            nb.metadata["kernelspec"] = {
                "name": "python3",
                "display_name": "Python 3",
                "language": "python",
            }
            nbformat.write(nb, target)
    return module


def test_worked_example_checks_runs_and_walks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COURSEWARE_STORE", str(tmp_path / "responses.sqlite"))
    module = build_example(tmp_path)
    check = run_courseware("check", "--fix", module, timeout=120)
    assert "0 problems" in check.stderr
    content = load_module(module)
    walk = content.vignette("waiting-for-results").walk()
    walk.choose(0)
    assert walk.finished and walk.path == ["arrival", "opens-up"]
    nb = nbformat.read(module / "module.ipynb", as_version=4)
    NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(module)}},
    ).execute()
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]
    assert errors == []
    assert len([c for c in nb.cells if c.cell_type == "code"]) == 6
    assert nb.cells[0].metadata.tags == ["courseware-open-as-app"]
    assert "/hub/user-redirect/courseware/module/first-steps" in nb.cells[0].source
    assert all(c.metadata.jupyter.source_hidden for c in nb.cells if c.cell_type == "code")
