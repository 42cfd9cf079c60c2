"""``courseware new module STREAM/ID``: a module that passes ``courseware check --strict`` at once,
runs in a kernel, and is never written over an existing folder."""

from __future__ import annotations

import subprocess
from pathlib import Path

import nbformat
from helpers import run_courseware

from courseware.content import load_module


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """``courseware ARGS…``; the caller checks its exit code."""
    return run_courseware(*args, expect_ok=False, timeout=120)


def test_new_module_passes_check_and_refuses_to_overwrite(tmp_path: Path) -> None:
    made = run("new", "module", "postgraduate/telephone-calls", "--root", str(tmp_path))
    assert made.returncode == 0, made.stdout + made.stderr
    folder = tmp_path / "postgraduate" / "telephone-calls"
    names = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert {"module.yaml", "vignettes/first-case.yaml", "facilitator.md", "module.ipynb"} <= set(
        names
    )
    strict = run("check", "--strict", str(folder))
    assert strict.returncode == 0, strict.stdout + strict.stderr
    assert "0 problems and 0 warnings" in strict.stderr
    module = load_module(folder)
    assert module.spec.id == "telephone-calls" and module.spec.stream == "postgraduate"
    assert module.spec.self_check[0].correct_option == 2
    nb = nbformat.read(folder / "module.ipynb", as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert code[0].startswith("import courseware as cw") and all(len(c) < 80 for c in code)
    assert nb.cells[0].metadata.tags == ["courseware-open-as-app"]
    # Never over an existing module: the author's edits survive.
    (folder / "module.yaml").write_text("edited", encoding="utf-8")
    again = run("new", "module", "postgraduate/telephone-calls", "--root", str(tmp_path))
    assert again.returncode == 1 and "already exists" in again.stderr
    assert (folder / "module.yaml").read_text(encoding="utf-8") == "edited"


def test_new_module_names_a_bad_stream_or_id(tmp_path: Path) -> None:
    bad = run("new", "module", "surgery/calls", "--root", str(tmp_path))
    assert bad.returncode == 1 and "unknown stream 'surgery'" in bad.stderr
    assert "postgraduate" in bad.stderr
    bad = run("new", "module", "postgraduate/Telephone Calls", "--root", str(tmp_path))
    assert bad.returncode == 1 and "lower-case" in bad.stderr
    assert list(tmp_path.iterdir()) == []
