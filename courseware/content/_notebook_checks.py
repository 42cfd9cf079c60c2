"""``courseware check`` of a notebook: valid, no saved outputs, no syntax errors, and (beside a
module.yaml) calls naming vignettes, reflections and exercises the module has."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from ._errors import ContentError, Problem, display_path
from ._exercise_checks import check_exercise_calls
from ._module import AFTER_CASE_DIR, MODULE_FILE, NOTEBOOK_FILE, ModuleContent, load_module
from ._notebook import notebook_problems

AFTER_CASE_HEADING = re.compile(r"\s*#+\s*After the case", re.IGNORECASE)
"""A notebook heading that starts after-case material (it belongs in ``after-case/``)."""


def _cell_lines(text: str) -> list[int]:
    """1-based line where each cell starts in the notebook's JSON text."""
    return [i for i, line in enumerate(text.splitlines(), 1) if '"cell_type":' in line]


def check_notebook(path: Path) -> list[Problem]:
    import nbformat  # only the checker needs it
    from IPython.core.inputtransformer2 import TransformerManager

    name = display_path(path)
    text = path.read_text(encoding="utf-8")
    try:
        nb = nbformat.reads(text, as_version=4)  # type: ignore[no-untyped-call]
    except (json.JSONDecodeError, nbformat.reader.NotJSONError) as exc:
        line = getattr(exc, "lineno", 1)
        return [Problem(name, line, f"not a valid notebook (JSON error: {exc})")]
    problems: list[Problem] = []
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as exc:
        problems.append(Problem(name, 1, f"notebook format: {exc.message}"))
    module: ModuleContent | None = None
    if (path.parent / MODULE_FILE).is_file() and path.name == NOTEBOOK_FILE:
        try:
            module = load_module(path.parent)
        except ContentError:
            module = None  # reported when module.yaml itself is checked
    starts = _cell_lines(text)
    if module is not None:
        problems.extend(notebook_problems(nb, module.spec.id, path, starts))
    transformer = TransformerManager()  # type: ignore[no-untyped-call]
    for index, cell in enumerate(nb.cells):
        line = starts[index] if index < len(starts) else 1
        if cell.cell_type == "markdown" and AFTER_CASE_HEADING.match(cell.source):
            problems.append(
                Problem(
                    name,
                    line,
                    f"cell {index + 1}: after-case material in a Markdown cell shows before the "
                    f"case starts; move it to {AFTER_CASE_DIR}/<vignette-id>.md and call "
                    "module.after_case('<vignette-id>') here",
                    warning=True,
                )
            )
        if cell.cell_type != "code":
            continue
        if cell.get("outputs"):
            problems.append(
                Problem(
                    name,
                    line,
                    f"cell {index + 1} has saved outputs; clear "
                    "them before committing (they may hold a learner's answers)",
                )
            )
        source = transformer.transform_cell(cell.source)
        try:
            tree = ast.parse(source)
        except SyntaxError as exc:
            problems.append(
                Problem(
                    name,
                    line,
                    f"cell {index + 1}: Python syntax error: {exc.msg} (cell line {exc.lineno})",
                )
            )
            continue
        if module is not None:
            problems.extend(_check_calls(tree, module, name, line, index))
            problems.extend(check_exercise_calls(tree, module, name, line, index))
    return problems


def _check_calls(
    tree: ast.AST, module: ModuleContent, name: str, line: int, index: int
) -> list[Problem]:
    """Catch ``module.vignette("x")``/``module.reflection("x")`` naming an exercise that does not exist."""
    known = {
        "vignette": set(module.vignettes),
        "after_case": set(module.vignettes),
        "reflection": {r.id for r in module.spec.reflections},
    }
    problems = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "self_check"
            and not module.spec.self_check
        ):
            problems.append(
                Problem(
                    name,
                    line,
                    f"cell {index + 1}: module {module.id!r} has no self_check questions",
                )
            )
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in known
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and node.args[0].value not in known[node.func.attr]
        ):
            problems.append(
                Problem(
                    name,
                    line,
                    f"cell {index + 1}: module {module.id!r} has no "
                    f"{node.func.attr.replace('_', ' ')} {node.args[0].value!r}",
                )
            )
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "after_case"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and not module.after_case_file(node.args[0].value).is_file()
        ):
            problems.append(
                Problem(
                    name,
                    line,
                    f"cell {index + 1}: module.after_case({node.args[0].value!r}) has no text: "
                    f"write it in {AFTER_CASE_DIR}/{node.args[0].value}.md",
                )
            )
    return problems
