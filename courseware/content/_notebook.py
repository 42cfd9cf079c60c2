"""A module notebook as a learner meets it in JupyterLab: a link to the app first, code hidden.

In JupyterLab a module notebook is prose and one-line code cells whose widgets appear only once the
cells run. The first cell is therefore a Markdown link that opens the module as an app (the
courseware app in the learner's own server, where nothing needs running), and each code cell's
input is collapsed (Jupyter's own ``jupyter.source_hidden`` cell metadata), so a learner who stays
in JupyterLab sees prose and, after Run All, the exercises, not code.

``courseware check`` reports a module notebook that lacks either; ``courseware check --fix``
(:func:`prepare_module_notebook`) writes them. The module apps drop the link cell (a link to the
app has no place inside the app).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from ._errors import Problem, display_path

APP_PATH = "courseware/"
"""Where the courseware app lives in a learner's server (jupyter-server-proxy's name for it)."""


def app_module_path(module_id: str) -> str:
    """The app's page for a module, relative to the learner's server (``/user/<name>/``)."""
    return f"{APP_PATH}module/{quote(module_id)}"


def open_as_app_url(module_id: str) -> str:
    """A root-relative address that opens the module as an app in the server of whoever follows
    it (JupyterHub's ``user-redirect``)."""
    return f"/hub/user-redirect/{app_module_path(module_id)}"


OPEN_AS_APP_TAG = "courseware-open-as-app"
"""Tag of the first Markdown cell of a module notebook: the link that opens it as an app."""
OPEN_AS_APP_ID = "open-as-app"


def open_as_app_source(module_id: str) -> str:
    """The link cell's Markdown. The address is root-relative (``/hub/user-redirect/...``), which
    JupyterLab treats as an outside link and opens in a new tab: the app, in this learner's server."""
    return (
        f"**[Open this module as an app]({open_as_app_url(module_id)})**: its exercises are ready "
        "there, with nothing to run. To use them here instead, choose Run ▸ Run All Cells."
    )


def _is_link_cell(cell: Any) -> bool:
    return cell.get("cell_type") == "markdown" and OPEN_AS_APP_TAG in cell.get("metadata", {}).get(
        "tags", []
    )


def notebook_problems(nb: Any, module_id: str, path: Path, lines: list[int]) -> list[Problem]:
    """What keeps a learner in JupyterLab from meeting the module without code: a missing or
    stale open-as-app cell, code cells whose input shows."""
    name = display_path(path)
    problems: list[Problem] = []
    cells = nb.get("cells", [])
    first = cells[0] if cells else None
    if first is None or not _is_link_cell(first):
        problems.append(
            Problem(
                name,
                1,
                "the first cell must be the 'Open this module as an app' link; "
                "run `courseware check --fix` to add it",
            )
        )
    elif "".join(first.get("source", "")) != open_as_app_source(module_id):
        problems.append(
            Problem(
                name,
                lines[0] if lines else 1,
                f"cell 1: the 'Open this module as an app' link is not the one for module "
                f"{module_id!r}; run `courseware check --fix` to rewrite it",
            )
        )
    for index, cell in enumerate(cells):
        hidden = cell.get("metadata", {}).get("jupyter", {}).get("source_hidden") is True
        if cell.get("cell_type") == "code" and not hidden:
            problems.append(
                Problem(
                    name,
                    lines[index] if index < len(lines) else 1,
                    f"cell {index + 1}: code a learner would see in JupyterLab; hide its input "
                    "(`courseware check --fix` does)",
                )
            )
    return problems


def prepare_module_notebook(path: str | Path, module_id: str) -> bool:
    """Put the open-as-app link first and hide every code cell's input; ``True`` if it changed
    the file. Outputs and everything else are left as they are."""
    import nbformat  # only the fixer needs it

    path = Path(path)
    original = path.read_text(encoding="utf-8")
    nb = nbformat.reads(original, as_version=4)  # type: ignore[no-untyped-call]
    source = open_as_app_source(module_id)
    if nb.cells and _is_link_cell(nb.cells[0]):
        nb.cells[0].source = source
    else:
        nb.cells = [cell for cell in nb.cells if not _is_link_cell(cell)]
        cell = nbformat.v4.new_markdown_cell(source)  # type: ignore[no-untyped-call]
        cell.id = OPEN_AS_APP_ID
        cell.metadata["tags"] = [OPEN_AS_APP_TAG]
        nb.cells.insert(0, cell)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.metadata.setdefault("jupyter", {})["source_hidden"] = True
    text = nbformat.writes(nb) + "\n"  # type: ignore[no-untyped-call]
    if text == original:
        return False
    path.write_text(text, encoding="utf-8")
    return True


def drop_link_cell(nb: Any) -> None:
    """Remove the open-as-app cell (used when the notebook is served as the app itself)."""
    nb.cells = [cell for cell in nb.cells if not _is_link_cell(cell)]
